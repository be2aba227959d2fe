/*
 * cli_revoke.c - `offloadctl revoke ID|LINK|REVOKE-LINK [--config FILE]`
 * (DECISIONS.md §6): writes the MACed tombstone "<id>/t" first (the portal
 * answers 410 from then on and every live download ticket dies with it),
 * then deletes the manifest and the file objects (transfer_revoke(), the
 * same code the portal's revoke link runs). Idempotent: revoking again
 * finishes an interrupted deletion. Given the sender's revoke link
 * ".../r/<id>#<revoke secret>", the secret must match the hash in the
 * MAC-verified manifest header (exit 65 otherwise, nothing changed).
 * Audit event "revoke".
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <gio/gio.h>

#include "audit.h"
#include "cli.h"
#include "crypto.h"
#include "keys.h"
#include "storage.h"
#include "storage_keyid.h"
#include "transfer.h"
#include "transfer_revoke.h"

static char *
rv_time(int64_t t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ");

	g_date_time_unref(d);
	return s;
}

int
cli_revoke(const char *conf_path, int argc, char **argv)
{
	const char *arg = NULL;
	char id[ENVELOPE_ID_TEXT_LEN + 1] = "", rsecret[ENVELOPE_SECRET_TEXT_LEN + 1] = "", *exp_s = NULL;
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct audit *au = NULL;
	struct key32 dk = { 0 };
	struct envelope_header h;
	enum transfer_revoke_step step;
	unsigned deleted = 0;
	GByteArray *obj = NULL;
	GError *err = NULL;
	int64_t expires = 0;
	int rc = EX_USAGE, r, already;
	bool by_link = false;
	guint i;

	for (i = 0; i < (guint)argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < (guint)argc)
			conf_path = argv[++i];
		else if (argv[i][0] != '-' && arg == NULL)
			arg = argv[i];
		else
			goto usage;
	}
	if (arg == NULL)
		goto usage;
	if (strstr(arg, "/r/") != NULL) {
		if (transfer_parse_revoke_link(arg, id, rsecret) != 0) {
			fprintf(stderr, "offloadctl revoke: '%s' is not a revoke link\n", arg);
			rc = EX_DATAERR;
			goto out;
		}
		by_link = true;
	} else {
		const char *s = strstr(arg, "/t/");

		s = s ? s + 3 : arg;
		if (strlen(s) >= ENVELOPE_ID_TEXT_LEN)
			memcpy(id, s, ENVELOPE_ID_TEXT_LEN);
		id[ENVELOPE_ID_TEXT_LEN] = '\0';
		if (!transfer_valid_id(id) || (s[ENVELOPE_ID_TEXT_LEN] != '\0' && s[ENVELOPE_ID_TEXT_LEN] != '#')) {
			fprintf(stderr, "offloadctl revoke: '%s' is not a transfer id or link\n", arg);
			rc = EX_DATAERR;
			goto out;
		}
	}
	c = cli_load_conf(conf_path);
	if (c == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (keys_load(c->deployment_key_file, &dk, &err) != 0 || (st = storage_open_checked(c, &dk, false, &err)) == NULL ||
	    (au = audit_open(c, &err)) == NULL) {
		fprintf(stderr, "offloadctl revoke: %s\n", err->message);
		if (g_error_matches(err, STORAGE_ERROR, STORAGE_KEYID_EMISMATCH))
			rc = EX_CONFIG; /* another deployment's store */
		goto out;
	}
	already = transfer_tombstone_read(st, &dk, id, NULL, &expires);
	if (already < 0) {
		fprintf(stderr, "offloadctl revoke: %s: cannot read the store (%s)\n", id, storage_strerror(already));
		goto out;
	}
	r = transfer_get_manifest(st, id, &obj);
	if (r == STORAGE_OK) {
		if (envelope_manifest_header(obj->data, obj->len, dk.key, &h) != ENVELOPE_OK) {
			fprintf(stderr, "offloadctl revoke: %s: manifest header does not verify with this deployment key\n", id);
			rc = EX_DATAERR;
			goto out;
		}
		expires = h.expires;
		if (by_link && !transfer_revoke_check(&h, rsecret)) {
			fprintf(stderr, "offloadctl revoke: %s: the revoke secret does not match; nothing changed\n", id);
			rc = EX_DATAERR;
			goto out;
		}
	} else if (r == STORAGE_ENOENT && !already) {
		fprintf(stderr, "offloadctl revoke: %s: no such transfer\n", id);
		rc = EX_NOINPUT;
		goto out;
	} else if (r != STORAGE_ENOENT) {
		fprintf(stderr, "offloadctl revoke: %s: cannot read the manifest (%s)\n", id, storage_strerror(r));
		goto out;
	}
	r = transfer_revoke(st, &dk, id, already == 1, (int64_t)time(NULL), expires, &step, &deleted);
	if (r != STORAGE_OK) {
		if (step == TRANSFER_REVOKE_TOMBSTONE)
			fprintf(stderr, "offloadctl revoke: %s: cannot write the tombstone (%s); nothing deleted\n",
				id, storage_strerror(r));
		else
			fprintf(stderr, "offloadctl revoke: %s: revoked, but deleting the %s failed (%s); run again\n",
				id, step == TRANSFER_REVOKE_MANIFEST ? "manifest" : "files", storage_strerror(r));
		goto out;
	}
	exp_s = rv_time(expires);
	{
		struct audit_event ev = { 0 };

		ev.event = "revoke";
		ev.size = -1;
		ev.action = already ? "revoke-again" : by_link ? "revoke-link" : "revoke";
		ev.transfer = id;
		ev.expires = exp_s;
		audit_write(au, &ev);
	}
	printf("%s revoked%s; %u object(s) deleted\n", id, already ? " (again)" : "", deleted);
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: offloadctl revoke ID|LINK|REVOKE-LINK [--config FILE]\n");
out:
	crypto_wipe(rsecret, sizeof rsecret);
	if (obj)
		g_byte_array_free(obj, TRUE);
	g_free(exp_s);
	audit_close(au);
	storage_free(st);
	keys_wipe(&dk);
	conf_free(c);
	g_clear_error(&err);
	return rc;
}
