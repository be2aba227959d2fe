/*
 * notify_lifecycle.h - the short mails to the sender over the life of a
 * transfer (issue 12): a download receipt, a reminder before expiry when
 * nothing was downloaded, and the notice that the transfer's password limit
 * tripped. The address comes from the notify object "<id>/n" (FORMATS.md
 * §6.7); none of these mails carries a link (the link and revoke secrets are
 * never stored). German first, English second; submitted like the other
 * notices ([notify] sendmail, null envelope sender, X-Offload-Notice).
 * Used by the portal (receipt, brute force) and `offloadctl purge`
 * (reminder). Thread-safe: everything is per call.
 */
#ifndef OFFLOAD_NOTIFY_LIFECYCLE_H
#define OFFLOAD_NOTIFY_LIFECYCLE_H

#include <stdint.h>
#include <glib.h>

#include "conf.h"
#include "keys.h"

/* notify_client_network - what a mail may say of a client: with [audit]
 * personal = plain its network (IPv4 /24, IPv6 /48, e.g. "192.0.2.0/24"),
 * else NULL (g_malloc'ed) */
char *notify_client_network(const struct conf *c, const char *client);
/* notify_when - "DD.MM.YYYY, HH:MM Uhr (MEZ)" and "YYYY-MM-DD HH:MM CET" in
 * Europe/Berlin (g_malloc'ed) */
void notify_when(int64_t t, char **de, char **en);

/* the bodies (UTF-8, LF), exposed for the unit tests. file: the file's name
 * (or "all files" of a ZIP), client: notify_client_network() or NULL */
char *notify_receipt_text(const char *id, const char *file, int64_t when, const char *client);
char *notify_reminder_text(const char *id, int64_t created, int64_t expires);
char *notify_bruteforce_text(const char *id, int64_t when, const char *client);

/* submit one of them to TO; 0 or -1 with *err */
int notify_receipt_send(const struct conf *c, const struct key32 *dk, const char *id, const char *to,
	const char *file, int64_t when, const char *client, char **err);
int notify_reminder_send(const struct conf *c, const struct key32 *dk, const char *id, const char *to,
	int64_t created, int64_t expires, char **err);
int notify_bruteforce_send(const struct conf *c, const struct key32 *dk, const char *id,
	const char *to, int64_t when, const char *client, char **err);

#endif
