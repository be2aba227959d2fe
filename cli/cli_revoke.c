/*
 * cli_revoke.c - `offloadctl revoke ID|LINK|REVOKE-LINK [--config FILE]`
 * (DECISIONS.md §6): writes the MACed tombstone "<id>/t" first (the portal
 * answers 410 from then on and every live download ticket dies with it),
 * then deletes the manifest and the file objects (transfer_revoke(), the
 * same code the portal's revoke link runs). Idempotent: revoking again
 * finishes an interrupted deletion. Given the sender's revoke link
 * ".../r/<id>#<revoke secret>", the secret must match the hash in the
 * MAC-verified manifest header (exit 65 otherwise, nothing changed).
 * An id (or link .../u/<id>#...) of a standalone upload link (FORMATS.md
 * §6.11) deletes the link and its use markers.
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
#include "transfer.h"
#include "transfer_revoke.h"
#include "transfer_state.h"
#include "transfer_uplink.h"

struct revoke_job {
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	char rsecret[ENVELOPE_SECRET_TEXT_LEN + 1]; /* from a revoke link (wiped) */
	bool by_link;
	bool uplink;      /* a standalone upload link "<id>/l" (FORMATS.md §6.11) */
	int already;      /* 1: a valid tombstone exists (revoking again) */
	int64_t expires;  /* from the manifest header, else the tombstone */
	unsigned deleted; /* objects transfer_revoke() deleted */
};

/* revoke_parse_args - ID|LINK|REVOKE-LINK [--config FILE]; -1 on usage */
static int
revoke_parse_args(int argc, char **argv, const char **conf_path, const char **arg)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*conf_path = argv[++i];
		else if (argv[i][0] != '-' && *arg == NULL)
			*arg = argv[i];
		else
			return -1;
	}
	return *arg != NULL ? 0 : -1;
}

/* revoke_target - the transfer id from an id, a download link or a revoke
 * link (which also gives the revoke secret); 0 or EX_DATAERR (printed) */
static int
revoke_target(const char *arg, struct revoke_job *j)
{
	const char *s;

	if (strstr(arg, "/r/") != NULL) {
		if (transfer_parse_revoke_link(arg, j->id, j->rsecret) != 0) {
			fprintf(stderr, "offloadctl revoke: '%s' is not a revoke link\n", arg);
			return EX_DATAERR;
		}
		j->by_link = true;
		return 0;
	}
	s = strstr(arg, "/t/");
	if (s == NULL)
		s = strstr(arg, "/u/"); /* an upload link */
	s = s ? s + 3 : arg;
	if (strlen(s) >= ENVELOPE_ID_TEXT_LEN)
		memcpy(j->id, s, ENVELOPE_ID_TEXT_LEN);
	j->id[ENVELOPE_ID_TEXT_LEN] = '\0';
	if (!transfer_valid_id(j->id) || (s[ENVELOPE_ID_TEXT_LEN] != '\0' && s[ENVELOPE_ID_TEXT_LEN] != '#')) {
		fprintf(stderr, "offloadctl revoke: '%s' is not a transfer id or link\n", arg);
		return EX_DATAERR;
	}
	return 0;
}

/* revoke_is_uplink - id has an upload link object (valid or not: revoke deletes it) */
static bool
revoke_is_uplink(struct storage *st, const struct key32 *dk, const char *id)
{
	struct transfer_uplink l;
	int r = transfer_uplink_read(st, dk, id, NULL, &l);

	return r == STORAGE_OK || r == STORAGE_EPERM;
}

/* revoke_lookup - tombstone and manifest header: does the transfer exist,
 * when does it expire, does the revoke secret match; 0 or an exit status */
static int
revoke_lookup(struct storage *st, const struct key32 *dk, struct revoke_job *j)
{
	const char *id = j->id;
	struct envelope_header h;
	GByteArray *obj = NULL;
	int r, rc = 0;

	j->already = transfer_tombstone_read(st, dk, id, NULL, &j->expires);
	if (j->already < 0) {
		fprintf(stderr, "offloadctl revoke: %s: cannot read the store (%s)\n", id, storage_strerror(j->already));
		return EX_TEMPFAIL;
	}
	r = transfer_get_manifest(st, id, &obj);
	if (r == STORAGE_OK) {
		if (envelope_manifest_header(obj->data, obj->len, dk->key, &h) != ENVELOPE_OK) {
			fprintf(stderr, "offloadctl revoke: %s: manifest header does not verify with this deployment key\n", id);
			rc = EX_DATAERR;
			goto out;
		}
		/* the tombstone keeps the effective expiry: the state object goes with the files */
		if (transfer_effective_expiry(st, dk, id, h.expires, &j->expires) != STORAGE_OK) {
			fprintf(stderr, "offloadctl revoke: %s: cannot read the state object\n", id);
			rc = EX_TEMPFAIL;
			goto out;
		}
		if (j->by_link && !transfer_revoke_check(&h, j->rsecret)) {
			fprintf(stderr, "offloadctl revoke: %s: the revoke secret does not match; nothing changed\n", id);
			rc = EX_DATAERR;
		}
	} else if (r == STORAGE_ENOENT && !j->already && (j->uplink = revoke_is_uplink(st, dk, id))) {
		rc = 0; /* a standalone upload link: deleted whole */
	} else if (r == STORAGE_ENOENT && !j->already) {
		fprintf(stderr, "offloadctl revoke: %s: no such transfer\n", id);
		rc = EX_NOINPUT;
	} else if (r != STORAGE_ENOENT) {
		fprintf(stderr, "offloadctl revoke: %s: cannot read the manifest (%s)\n", id, storage_strerror(r));
		rc = EX_TEMPFAIL;
	}
out:
	if (obj)
		g_byte_array_free(obj, TRUE);
	return rc;
}

/* revoke_delete - tombstone, manifest, files (transfer_revoke); 0 or EX_TEMPFAIL */
static int
revoke_delete(struct storage *st, const struct key32 *dk, struct revoke_job *j)
{
	enum transfer_revoke_step step;
	int r;

	r = transfer_revoke(st, dk, j->id, j->already == 1, (int64_t)time(NULL), j->expires, &step,
		&j->deleted);
	if (r == STORAGE_OK)
		return 0;
	if (step == TRANSFER_REVOKE_TOMBSTONE)
		fprintf(stderr, "offloadctl revoke: %s: cannot write the tombstone (%s); nothing deleted\n",
			j->id, storage_strerror(r));
	else
		fprintf(stderr, "offloadctl revoke: %s: revoked, but deleting the %s failed (%s); run again\n",
			j->id, step == TRANSFER_REVOKE_MANIFEST ? "manifest" : "files", storage_strerror(r));
	return EX_TEMPFAIL;
}

static void
revoke_audit(struct audit *au, const struct revoke_job *j)
{
	struct audit_event ev = { 0 };
	char *exp_s = cli_time_iso(j->expires);

	ev.event = "revoke";
	ev.size = -1;
	ev.action = j->uplink ? "revoke-upload-link" : j->already ? "revoke-again" :
		j->by_link ? "revoke-link" : "revoke";
	ev.transfer = j->id;
	ev.expires = exp_s;
	audit_write(au, &ev);
	g_free(exp_s);
}

int
cli_revoke(const char *conf_path, int argc, char **argv)
{
	struct revoke_job j = { 0 };
	const char *arg = NULL;
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct audit *au = NULL;
	struct key32 dk = { 0 };
	GError *err = NULL;
	int rc;

	if (revoke_parse_args(argc, argv, &conf_path, &arg) != 0) {
		fprintf(stderr, "usage: offloadctl revoke ID|LINK|REVOKE-LINK [--config FILE]\n");
		return EX_USAGE;
	}
	rc = revoke_target(arg, &j);
	if (rc != 0)
		goto out;
	c = cli_load_conf(conf_path);
	if (c == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	rc = cli_open_store("revoke", c, &dk, &st);
	if (rc != 0)
		goto out;
	au = audit_open(c, &err);
	if (au == NULL) {
		fprintf(stderr, "offloadctl revoke: %s\n", err->message);
		rc = EX_TEMPFAIL;
		goto out;
	}
	rc = revoke_lookup(st, &dk, &j);
	if (rc == 0 && j.uplink && transfer_uplink_delete(st, j.id, &j.deleted) != STORAGE_OK) {
		fprintf(stderr, "offloadctl revoke: upload link %s: deleting failed; run again\n", j.id);
		rc = EX_TEMPFAIL;
	} else if (rc == 0 && !j.uplink) {
		rc = revoke_delete(st, &dk, &j);
	}
	if (rc != 0)
		goto out;
	revoke_audit(au, &j);
	printf("%s%s revoked%s; %u object(s) deleted\n", j.uplink ? "upload link " : "", j.id,
		j.already ? " (again)" : "", j.deleted);
out:
	crypto_wipe(j.rsecret, sizeof j.rsecret);
	audit_close(au);
	storage_free(st);
	keys_wipe(&dk);
	conf_free(c);
	g_clear_error(&err);
	return rc;
}
