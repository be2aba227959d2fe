/*
 * cli_uplink.c - `offloadctl upload-link --for ADDRESS [--note TEXT]
 * [--expires DURATION] [--config FILE]`: a standalone upload link (issue 13,
 * FORMATS.md §6.11) a clerk sends to a citizen; files uploaded through it
 * (the page or `offloadctl upload LINK FILE...`) become a new transfer and
 * ADDRESS gets the "sent by an unverified person" mail. Prints the link on
 * stdout (the token is in it and nowhere else), its id and expiry on stderr.
 * DURATION defaults to [policy] retention and may not pass [policy]
 * max_retention. `offloadctl revoke ID|LINK` deletes a link; purge deletes it
 * after its expiry. Audit event "upload-link" (action create).
 * Exit 0, 64 usage, 78 configuration, 75 store unavailable.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "crypto.h"
#include "keys.h"
#include "storage.h"
#include "transfer_uplink.h"

struct uplink_args {
	const char *conf_path, *to, *note, *expires;
};

static int
uplink_parse(int argc, char **argv, struct uplink_args *a)
{
	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v != NULL && strcmp(argv[i], "--for") == 0)
			a->to = v;
		else if (v != NULL && strcmp(argv[i], "--note") == 0)
			a->note = v;
		else if (v != NULL && strcmp(argv[i], "--expires") == 0)
			a->expires = v;
		else if (v != NULL && strcmp(argv[i], "--config") == 0)
			a->conf_path = v;
		else
			return -1;
		i++;
	}
	return a->to != NULL ? 0 : -1;
}

/* uplink_address_ok - one plain address: local@domain, printable ASCII, no space */
static bool
uplink_address_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL || strlen(s) > 254)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || strchr("<>,;\"()[]\\", *s) != NULL)
			return false;
	return true;
}

/* uplink_lifetime - seconds from --expires or [policy] retention; 0 = refused (printed) */
static uint64_t
uplink_lifetime(const struct conf *c, const char *expires)
{
	uint64_t d = c->retention;

	if (expires != NULL && (conf_parse_duration(expires, &d) != 0 || d == 0)) {
		fprintf(stderr, "offloadctl upload-link: --expires '%s' is not a duration (14d, 12h, 30m)\n", expires);
		return 0;
	}
	if (c->max_retention > 0 && d > c->max_retention) {
		fprintf(stderr, "offloadctl upload-link: --expires %s is longer than [policy] max_retention\n",
			expires);
		return 0;
	}
	return d;
}

static void
uplink_audit(const struct conf *c, const char *id, const char *to, int64_t expires)
{
	GError *err = NULL;
	struct audit *au = audit_open(c, &err);
	char *ex = cli_time_iso(expires);
	struct audit_event ev = { .event = "upload-link", .action = "create", .transfer = id,
		.rcpt = to, .expires = ex, .size = -1 };

	if (au != NULL)
		audit_write(au, &ev);
	else
		fprintf(stderr, "offloadctl upload-link: audit log: %s\n", err->message);
	audit_close(au);
	g_clear_error(&err);
	g_free(ex);
}

int
cli_uplink(const char *conf_path, int argc, char **argv)
{
	struct uplink_args a = { .conf_path = conf_path };
	char id[ENVELOPE_ID_TEXT_LEN + 1], *link = NULL, *ex;
	struct storage *st = NULL;
	struct key32 dk = { 0 };
	struct conf *c = NULL;
	uint64_t life;
	int64_t expires;
	int rc;

	if (uplink_parse(argc, argv, &a) != 0 || !uplink_address_ok(a.to)) {
		fprintf(stderr, "usage: offloadctl upload-link --for ADDRESS [--note TEXT] [--expires DURATION] "
			"[--config FILE]\n");
		return EX_USAGE;
	}
	c = cli_load_conf(a.conf_path);
	if (c == NULL)
		return EX_CONFIG;
	life = uplink_lifetime(c, a.expires);
	rc = life == 0 ? EX_USAGE : cli_open_store("upload-link", c, &dk, &st);
	if (rc != 0)
		goto out;
	expires = (int64_t)time(NULL) + (int64_t)life;
	rc = transfer_uplink_create(st, &dk, c->portal_url, a.to, a.note, expires, &link, id);
	if (rc != STORAGE_OK) {
		fprintf(stderr, "offloadctl upload-link: cannot store the link (%s)\n", storage_strerror(rc));
		rc = rc == STORAGE_EPERM ? EX_DATAERR : EX_TEMPFAIL;
		goto out;
	}
	uplink_audit(c, id, a.to, expires);
	ex = cli_time_iso(expires);
	printf("%s\n", link);
	fprintf(stderr, "upload link %s for %s, valid until %s\n", id, a.to, ex);
	g_free(ex);
	rc = 0;
out:
	crypto_free_string(link);
	storage_free(st);
	keys_wipe(&dk);
	conf_free(c);
	return rc;
}
