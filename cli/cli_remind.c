/*
 * cli_remind.c - the reminder to the sender that `offloadctl purge` sends
 * for a live transfer of which nothing was downloaded [notify] reminder
 * before it expires (issue 12). The address is in the notify object
 * "<id>/n" (FORMATS.md §6.7); "once" across purge runs and nodes is the
 * marker "<id>/oreminder" (§6.8), released again when the mail fails. The
 * revoke link is never stored, so the mail points to the confirmation mail.
 */
#include <string.h>
#include <glib.h>

#include "audit.h"
#include "cli.h"
#include "log.h"
#include "notify_lifecycle.h"
#include "storage.h"
#include "transfer_notify.h"
#include "transfer_state.h"

/* remind_downloaded - 1 something was downloaded (or no state to tell), 0
 * nothing. The state's "reminder sent" flag is not written here: a
 * read-modify-write could lose a download the portal counts meanwhile; the
 * marker is what makes the reminder go out once. */
static int
remind_downloaded(struct storage *st, const struct key32 *dk, const char *id)
{
	struct transfer_state s;
	int r = transfer_state_read(st, dk, id, &s), any = r != 1;

	for (uint32_t i = 0; r == 1 && i < s.nfiles; i++)
		if (s.files[i].count > 0)
			any = 1;
	transfer_state_clear(&s); /* read leaves an empty state when it finds none */
	return any;
}

bool
cli_remind(const struct conf *c, struct storage *st, const struct key32 *dk, struct audit *au,
	const char *id, int64_t created, int64_t expires, int64_t now)
{
	struct transfer_notify n;
	struct audit_event ev = { 0 };
	char *err = NULL;
	int r;

	if (c->notify_reminder == 0 || now >= expires || now < expires - (int64_t)c->notify_reminder ||
	    transfer_once_exists(st, id, "reminder") != 0 || remind_downloaded(st, dk, id) != 0)
		return false;
	if (transfer_notify_read(st, dk, id, &n) != 1)
		return false;
	r = transfer_once_claim(st, dk, id, "reminder", now);
	if (r == 1 && notify_reminder_send(c, dk, id, n.to, created, expires, &err) != 0) {
		log_warning("purge: transfer %s: reminder not sent: %s", id, err);
		transfer_once_release(st, id, "reminder");
		r = 0;
	}
	if (r == 1) {
		ev.event = "notify";
		ev.size = -1;
		ev.action = "reminder";
		ev.transfer = id;
		audit_write(au, &ev);
		log_info("purge: transfer %s: reminder sent to the sender", id);
	}
	g_free(err);
	transfer_notify_clear(&n);
	return r == 1;
}
