/*
 * cli_revoke.c - `offloadctl revoke ID|LINK [--config FILE]` (DESIGN.md §6):
 * writes the MACed tombstone "<id>/t" first (the portal answers 410 from
 * then on and every live download ticket dies with it), then deletes the
 * manifest and the file objects. Idempotent: revoking again finishes an
 * interrupted deletion. Audit event "revoke".
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <gio/gio.h>

#include "audit.h"
#include "cli.h"
#include "keys.h"
#include "storage.h"
#include "storage_keyid.h"
#include "transfer.h"

struct rv_list {
	GPtrArray *keys;
	const char *tomb;
};

static int
rv_collect(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct rv_list *l = arg;

	(void)size;
	(void)mtime;
	if (strcmp(key, l->tomb) != 0)
		g_ptr_array_add(l->keys, g_strdup(key));
	return 0;
}

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
	char id[ENVELOPE_ID_TEXT_LEN + 1] = "", tomb[64], prefix[64], mkey[64], *exp_s = NULL;
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct audit *au = NULL;
	struct key32 dk = { 0 };
	struct envelope_header h;
	struct rv_list l = { NULL, NULL };
	GByteArray *obj = NULL;
	GError *err = NULL;
	int64_t expires = 0;
	int rc = EX_USAGE, r, already;
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
	{
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
	} else if (r == STORAGE_ENOENT && !already) {
		fprintf(stderr, "offloadctl revoke: %s: no such transfer\n", id);
		rc = EX_NOINPUT;
		goto out;
	} else if (r != STORAGE_ENOENT) {
		fprintf(stderr, "offloadctl revoke: %s: cannot read the manifest (%s)\n", id, storage_strerror(r));
		goto out;
	}
	if (!already) {
		r = transfer_tombstone_write(st, &dk, id, (int64_t)time(NULL), expires);
		if (r != STORAGE_OK) {
			fprintf(stderr, "offloadctl revoke: %s: cannot write the tombstone (%s); nothing deleted\n",
				id, storage_strerror(r));
			goto out;
		}
	}
	/* manifest first: the transfer disappears before its files do */
	snprintf(tomb, sizeof tomb, "%s/t", id);
	snprintf(mkey, sizeof mkey, "%s/m", id);
	r = storage_delete(st, mkey);
	if (r != STORAGE_OK && r != STORAGE_ENOENT) {
		fprintf(stderr, "offloadctl revoke: %s: revoked, but deleting the manifest failed (%s); run again\n",
			id, storage_strerror(r));
		goto out;
	}
	snprintf(prefix, sizeof prefix, "%s/", id);
	l.keys = g_ptr_array_new_with_free_func(g_free);
	l.tomb = tomb;
	r = storage_list(st, prefix, rv_collect, &l);
	for (i = 0; r == STORAGE_OK && i < l.keys->len; i++) {
		r = storage_delete(st, g_ptr_array_index(l.keys, i));
		if (r == STORAGE_ENOENT)
			r = STORAGE_OK;
	}
	if (r != STORAGE_OK) {
		fprintf(stderr, "offloadctl revoke: %s: revoked, but deleting the files failed (%s); run again\n",
			id, storage_strerror(r));
		goto out;
	}
	exp_s = rv_time(expires);
	{
		struct audit_event ev = { 0 };

		ev.event = "revoke";
		ev.size = -1;
		ev.action = already ? "revoke-again" : "revoke";
		ev.transfer = id;
		ev.expires = exp_s;
		audit_write(au, &ev);
	}
	printf("%s revoked%s; %u object(s) deleted\n", id, already ? " (again)" : "", l.keys->len);
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: offloadctl revoke ID|LINK [--config FILE]\n");
out:
	if (l.keys)
		g_ptr_array_free(l.keys, TRUE);
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
