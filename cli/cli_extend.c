/*
 * cli_extend.c - `offloadctl extend ID DURATION` and `offloadctl status ID
 * [--json]`: the admin's view of a transfer's lifecycle (FORMATS.md §6.3).
 * Neither needs the link or revoke secret: they read the MAC-verified clear
 * header and the state object "<id>/x", never names or addresses.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "audit.h"
#include "cli.h"
#include "keys.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_revoke.h"
#include "transfer_state.h"

struct ext_job {
	const char *cmd;
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	struct envelope_header h;
	int64_t expires;   /* effective */
	int64_t now;
	bool json;
	const char *duration;
};

/* ext_args - ID [DURATION] [--config FILE] [--json]; -1 on usage */
static int
ext_args(int argc, char **argv, const char **conf_path, struct ext_job *j, bool want_duration)
{
	const char *id = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*conf_path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0 && !want_duration)
			j->json = true;
		else if (argv[i][0] != '-' && id == NULL)
			id = argv[i];
		else if (argv[i][0] != '-' && want_duration && j->duration == NULL)
			j->duration = argv[i];
		else
			return -1;
	}
	if (id == NULL || (want_duration && j->duration == NULL))
		return -1;
	if (!transfer_valid_id(id)) {
		fprintf(stderr, "offloadctl %s: '%s' is not a transfer id\n", j->cmd, id);
		return EX_DATAERR;
	}
	g_strlcpy(j->id, id, sizeof j->id);
	return 0;
}

/* ext_lookup - tombstone, MAC-verified header, effective expiry; 0 or an
 * exit status (printed) */
static int
ext_lookup(struct storage *st, const struct key32 *dk, struct ext_job *j)
{
	GByteArray *obj = NULL;
	int r, rc = 0;

	r = transfer_tombstone_read(st, dk, j->id, NULL, NULL);
	if (r == 1) {
		fprintf(stderr, "offloadctl %s: %s: revoked\n", j->cmd, j->id);
		return EX_UNAVAILABLE;
	}
	r = r < 0 ? r : transfer_get_manifest(st, j->id, &obj);
	if (r == STORAGE_ENOENT) {
		fprintf(stderr, "offloadctl %s: %s: no such transfer\n", j->cmd, j->id);
		return EX_NOINPUT;
	}
	if (r == STORAGE_OK && envelope_manifest_header(obj->data, obj->len, dk->key, &j->h) != ENVELOPE_OK) {
		fprintf(stderr, "offloadctl %s: %s: manifest header does not verify with this deployment key\n",
			j->cmd, j->id);
		rc = EX_DATAERR;
	} else if (r == STORAGE_OK) {
		r = transfer_effective_expiry(st, dk, j->id, j->h.expires, &j->expires);
	}
	if (rc == 0 && r != STORAGE_OK) {
		fprintf(stderr, "offloadctl %s: %s: cannot read the store (%s)\n", j->cmd, j->id,
			storage_strerror(r));
		rc = EX_TEMPFAIL;
	}
	if (obj != NULL)
		g_byte_array_free(obj, TRUE);
	return rc;
}

/* ext_open - config, store, lookup; 0 or an exit status */
static int
ext_open(const char *conf_path, struct ext_job *j, struct conf **c, struct key32 *dk,
	struct storage **st)
{
	int rc;

	*c = cli_load_conf(conf_path);
	if (*c == NULL)
		return EX_CONFIG;
	rc = cli_open_store(j->cmd, *c, dk, st);
	if (rc != 0)
		return rc;
	j->now = (int64_t)time(NULL);
	return ext_lookup(*st, dk, j);
}

static void
ext_audit(struct audit *au, const char *id, int64_t expires, const char *action)
{
	struct audit_event ev = { 0 };
	char *ex = cli_time_iso(expires);

	ev.event = "extend";
	ev.size = -1;
	ev.action = action;
	ev.transfer = id;
	ev.expires = ex;
	audit_write(au, &ev);
	g_free(ex);
}

/* ext_do - the extension itself, audited; an exit status */
static int
ext_do(const struct conf *c, struct storage *st, const struct key32 *dk, struct ext_job *j,
	uint64_t by)
{
	struct audit *au;
	GError *err = NULL;
	int64_t nx = 0, lim = 0;
	char *a, *b;
	int r;

	au = audit_open(c, &err);
	if (au == NULL) {
		fprintf(stderr, "offloadctl extend: %s\n", err->message);
		g_error_free(err);
		return EX_TEMPFAIL;
	}
	r = transfer_extend(st, dk, &j->h, by, c->max_retention, &nx, &lim);
	if (r == TRANSFER_EXTEND_ELIMIT) {
		a = cli_time_iso(j->expires + (int64_t)by);
		b = cli_time_iso(lim);
		fprintf(stderr, "offloadctl extend: %s: refused: %s would end at %s, beyond the maximum "
			"retention (latest expiry %s); nothing changed\n", j->id, j->duration, a ? a : "?",
			b ? b : "?");
		g_free(a);
		g_free(b);
		ext_audit(au, j->id, j->expires, "extend-refused");
	} else if (r != STORAGE_OK) {
		fprintf(stderr, "offloadctl extend: %s: cannot write the state object (%s)\n", j->id,
			storage_strerror(r));
	} else {
		a = cli_time_iso(nx);
		b = cli_time_iso(j->expires);
		printf("%s expires %s (was %s)\n", j->id, a, b);
		g_free(a);
		g_free(b);
		ext_audit(au, j->id, nx, "extend");
	}
	audit_close(au);
	return r == STORAGE_OK ? 0 : r == TRANSFER_EXTEND_ELIMIT ? EX_UNAVAILABLE : EX_TEMPFAIL;
}

int
cli_extend(const char *conf_path, int argc, char **argv)
{
	struct ext_job j = { .cmd = "extend" };
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct key32 dk = { 0 };
	uint64_t by = 0;
	int rc;

	rc = ext_args(argc, argv, &conf_path, &j, true);
	if (rc != 0 || conf_parse_duration(j.duration, &by) != 0 || by == 0) {
		fprintf(stderr, "usage: offloadctl extend ID DURATION [--config FILE]  (DURATION e.g. 7d)\n");
		return rc > 0 ? rc : EX_USAGE;
	}
	rc = ext_open(conf_path, &j, &c, &dk, &st);
	if (rc == 0)
		rc = ext_do(c, st, &dk, &j, by);
	storage_free(st);
	keys_wipe(&dk);
	conf_free(c);
	return rc;
}

/* ---- status ------------------------------------------------------------ */

static int
status_count(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	const char *n = strchr(key, '/');

	(void)size;
	(void)mtime;
	if (n != NULL && n[1] != '\0' && strspn(n + 1, "0123456789") == strlen(n + 1))
		(*(unsigned *)arg)++;
	return 0;
}

static void
status_time(JsonBuilder *b, const char *name, int64_t t)
{
	char *s = t > 0 ? cli_time_iso(t) : NULL;

	json_builder_set_member_name(b, name);
	if (s != NULL)
		json_builder_add_string_value(b, s);
	else
		json_builder_add_null_value(b);
	g_free(s);
}

/* status_build - the status document: id, state, created, expires (the
 * effective one), header_expires, max_expires, files with download counts */
static JsonBuilder *
status_build(const struct ext_job *j, const struct transfer_state *s, unsigned nfiles)
{
	JsonBuilder *b = json_builder_new();
	unsigned i;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, j->id);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, j->expires <= j->now ? "expired" : "live");
	status_time(b, "created", j->h.created);
	status_time(b, "expires", j->expires);
	status_time(b, "header_expires", j->h.expires);
	status_time(b, "max_expires", s->limit);
	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (i = 0; i < nfiles; i++) {
		const struct transfer_state_file *f = i < s->nfiles ? &s->files[i] : NULL;

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "index");
		json_builder_add_int_value(b, i);
		json_builder_set_member_name(b, "downloads");
		json_builder_add_int_value(b, f ? f->count : 0);
		status_time(b, "first", f ? f->first : 0);
		status_time(b, "last", f ? f->last : 0);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	return b;
}

static void
status_print_text(JsonBuilder *b)
{
	JsonNode *root = json_builder_get_root(b);
	JsonObject *o = json_node_get_object(root);
	JsonArray *files = json_object_get_array_member(o, "files");
	static const char *const keys[] = { "id", "state", "created", "expires", "header_expires",
		"max_expires" };
	guint i;

	for (i = 0; i < G_N_ELEMENTS(keys); i++) {
		const char *v = json_object_get_string_member_with_default(o, keys[i], NULL);

		printf("%-15s %s\n", keys[i], v ? v : "-");
	}
	for (i = 0; i < json_array_get_length(files); i++) {
		JsonObject *f = json_array_get_object_element(files, i);
		const char *first = json_object_get_string_member_with_default(f, "first", NULL);
		const char *last = json_object_get_string_member_with_default(f, "last", NULL);

		printf("file %-10u downloads %" G_GINT64_FORMAT ", first %s, last %s\n", i,
			json_object_get_int_member(f, "downloads"), first ? first : "-", last ? last : "-");
	}
	json_node_unref(root);
}

int
cli_status(const char *conf_path, int argc, char **argv)
{
	struct ext_job j = { .cmd = "status" };
	struct transfer_state s = { 0 };
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct key32 dk = { 0 };
	JsonBuilder *b;
	unsigned nfiles = 0;
	char prefix[64];
	int rc;

	rc = ext_args(argc, argv, &conf_path, &j, false);
	if (rc != 0) {
		fprintf(stderr, "usage: offloadctl status ID [--json] [--config FILE]\n");
		return rc > 0 ? rc : EX_USAGE;
	}
	rc = ext_open(conf_path, &j, &c, &dk, &st);
	snprintf(prefix, sizeof prefix, "%s/", j.id);
	if (rc == 0 && (transfer_state_read(st, &dk, j.id, &s) < 0 ||
	    storage_list(st, prefix, status_count, &nfiles) != STORAGE_OK)) {
		fprintf(stderr, "offloadctl status: %s: cannot read the store\n", j.id);
		rc = EX_TEMPFAIL;
	}
	if (rc == 0) {
		b = status_build(&j, &s, nfiles);
		if (j.json)
			cli_print_json(b);
		else
			status_print_text(b);
		g_object_unref(b);
	}
	transfer_state_clear(&s);
	storage_free(st);
	keys_wipe(&dk);
	conf_free(c);
	return rc;
}
