/*
 * cli_storage.c - `offloadctl storage check [--config FILE] [--json] [--verbose]`
 * (issue 5, DECISIONS.md §7, §13): opens the configured store, writes a probe
 * object under a random key, reads it back whole and as a range, lists it,
 * deletes it and makes sure it is gone, then prints ONE line saying what
 * works and what does not, with a diagnosis taken from the backends' failure
 * detail (storage.h): DNS, connection refused, timeout, TLS certificate or
 * handshake, authentication, permission (naming the operation), missing
 * bucket, clock skew, full storage. It also compares the server's Date
 * header with this clock (warning above CHECK_SKEW_WARN), warns when an S3
 * bucket has versioning enabled and when a WebDAV store is Nextcloud or
 * ownCloud (trash bin and versions keep deleted files).
 *
 * The probe key "storagecheck/<16 hex>" can never be a transfer's key (ids
 * are 24 base32 characters); all probes share one first segment, so the
 * WebDAV backend (which keeps emptied collections) keeps just one; a probe
 * left behind by a failed delete is a manifest-less object that
 * `offloadctl purge` removes after --orphan-age.
 * Exit 0: every operation works (warnings possible); 1: something failed;
 * 64 usage; 78 the configuration cannot be read. Backend log lines are
 * silenced unless --verbose (the one line carries the detail). Credentials
 * never appear: the backends refuse URLs with user info, their messages
 * carry none, and the location shown is rebuilt from scheme, host, port
 * and path only. Single-threaded.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <curl/curl.h>
#include <json-glib/json-glib.h>

#include "cli.h"
#include "log.h"
#include "storage.h"
#include "storage_keyid.h"
#include "keys.h"

#define CHECK_PROBE_SIZE 3000u
#define CHECK_RANGE_OFF 1234u
#define CHECK_RANGE_LEN 1000u
#define CHECK_SKEW_WARN 300   /* seconds: S3 refuses at 900 */

enum check_op { OP_OPEN, OP_WRITE, OP_READ, OP_RANGE, OP_LIST, OP_DELETE, OP_KEYID, OP_N };
static const char *const check_op_names[OP_N] = {
	"open", "write", "read", "range read", "list", "delete", "deployment key",
};
static const char *const check_op_keys[OP_N] = {
	"open", "write", "read", "range", "list", "delete", "keyid",
};

enum check_state { CK_NOT_TRIED, CK_OK, CK_FAILED };

struct check_result {
	enum check_state state;
	const char *cause;  /* storage_cause_name() or "config" / "data" */
	char *detail;       /* what the backend said (g_free) */
};

struct check_run {
	struct check_result op[OP_N];
	GPtrArray *warnings;     /* char * */
	int64_t server_date, local_date;
	bool owncloud_seen;
	char *versioning;        /* S3: "Enabled", "Suspended", "", NULL = not asked/unknown */
	const struct conf *c;
	struct storage *st;
	char key[64];            /* the probe object */
	unsigned char probe[CHECK_PROBE_SIZE];
	bool written;            /* the probe was stored */
};

/* check_location - where the store is, without user info, query or fragment */
static char *
check_url_clean(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *out = NULL;

	if (url == NULL || url[0] == '\0') {
		out = g_strdup("(no URL configured)");
		goto done;
	}
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		out = g_strdup("(unparsable URL)");
		goto done;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	out = g_strdup_printf("%s://%s%s%s%s", scheme, host, port != NULL ? ":" : "",
		port != NULL ? port : "", path != NULL && strcmp(path, "/") != 0 ? path : "");
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return out;
}

/* check_plain_http - a warning for http:// to anything but loopback, or NULL */
static char *
check_plain_http(const char *backend, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *w = NULL;

	if (u != NULL && url != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && strcmp(scheme, "http") == 0 &&
		strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0 && strcmp(host, "[::1]") != 0)
		w = g_strdup_printf("plain http to %s: %s; use https", host, strcmp(backend, "webdav") == 0 ?
			"the WebDAV password travels in clear" : "anyone on the path sees and can replay requests");
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return w;
}

static char *
check_location(const struct conf *c)
{
	const char *b = c->backend != NULL && c->backend[0] != '\0' ? c->backend : "file";
	char *u, *out;

	if (strcmp(b, "s3") == 0) {
		u = check_url_clean(c->endpoint);
		out = g_strdup_printf("s3 %s bucket %s%s%s", u, c->bucket != NULL && c->bucket[0] != '\0' ?
			c->bucket : "(none)", c->prefix != NULL && c->prefix[0] != '\0' ? " prefix " : "",
			c->prefix != NULL ? c->prefix : "");
		g_free(u);
	} else if (strcmp(b, "webdav") == 0) {
		u = check_url_clean(c->url);
		out = g_strdup_printf("webdav %s", u);
		g_free(u);
	} else if (strcmp(b, "file") == 0) {
		out = g_strdup_printf("file %s", c->path != NULL ? c->path : "");
	} else {
		out = g_strdup(b);
	}
	return out;
}

/* check_scrub - a message that quotes a configured URL with user info (the
 * backends refuse those, some quoting them) gets the URL without it */
static char *
check_scrub(const struct conf *c, const char *text)
{
	const char *urls[2] = { c->url, c->endpoint };
	char *out = g_strdup(text), *clean, *t;
	GString *g;
	const char *p, *hit;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(urls); i++) {
		if (urls[i] == NULL || urls[i][0] == '\0' || strchr(urls[i], '@') == NULL ||
			strstr(out, urls[i]) == NULL)
			continue;
		clean = check_url_clean(urls[i]);
		g = g_string_new(NULL);
		for (p = out; (hit = strstr(p, urls[i])) != NULL; p = hit + strlen(urls[i])) {
			g_string_append_len(g, p, hit - p);
			g_string_append(g, clean);
		}
		g_string_append(g, p);
		t = g_string_free(g, FALSE);
		g_free(out);
		out = t;
		g_free(clean);
	}
	return out;
}

/* check_note - after a call: keep the newest server Date; on failure, the diagnosis */
static void
check_note(struct check_run *r, enum check_op op, int rc, const char *fallback)
{
	struct storage_detail d;
	struct check_result *o = &r->op[op];

	storage_detail_get(&d);
	if (d.server_date > 0) {
		r->server_date = d.server_date;
		r->local_date = d.local_date;
	}
	if (d.dav_owncloud)
		r->owncloud_seen = true;
	if (rc == STORAGE_OK) {
		o->state = CK_OK;
		return;
	}
	o->state = CK_FAILED;
	if (d.failed) {
		o->cause = storage_cause_name(storage_detail_cause(&d));
		o->detail = check_scrub(r->c, d.text[0] != '\0' ? d.text : storage_strerror(rc));
	} else {
		/* nothing noted: a configuration error found before any request */
		o->cause = rc == STORAGE_ENOENT ? "data" : "config";
		o->detail = check_scrub(r->c, fallback != NULL ? fallback : storage_strerror(rc));
	}
}

/* check_fail_data - the operation "worked" but returned the wrong thing */
static void
check_fail_data(struct check_run *r, enum check_op op, char *detail)
{
	r->op[op].state = CK_FAILED;
	r->op[op].cause = "data";
	g_free(r->op[op].detail);
	r->op[op].detail = detail;
}

static int
check_sink(void *arg, const void *buf, size_t len)
{
	GByteArray *b = arg;

	if (b->len + len > 4 * CHECK_PROBE_SIZE)
		return 1;
	g_byte_array_append(b, buf, (guint)len);
	return 0;
}

struct check_list {
	const char *key;
	bool found;
	uint64_t size;
	unsigned n;
};

static int
check_list_cb(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct check_list *l = arg;

	(void)mtime;
	l->n++;
	if (strcmp(key, l->key) == 0) {
		l->found = true;
		l->size = size;
	}
	return 0;
}

/* check_cause_text - the diagnosis in words */
static const char *
check_cause_text(const char *cause, const char *backend)
{
	static const struct { const char *cause, *text; } t[] = {
		{ "dns", "DNS: the host name does not resolve" },
		{ "connection-refused", "connection refused: nothing listens there (host, port, service down?)" },
		{ "network", "network error" },
		{ "timeout", "timed out (firewall, routing, overloaded server?)" },
		{ "tls-certificate", "TLS certificate not trusted or not for this host name (ca_file?)" },
		{ "tls", "TLS handshake failed (is the port https? TLS 1.2 or newer?)" },
		{ "clock-skew", "clock skew: the server refuses this host's time (NTP?)" },
		{ "space", "storage full or quota exceeded" },
		{ "server", "server error" },
		{ "config", "configuration" },
		{ "data", "wrong data" },
	};
	size_t i;

	if (strcmp(cause, "auth") == 0)
		return strcmp(backend, "s3") == 0 ?
			"authentication failed: wrong access_key or secret_key (or region)" :
			"authentication failed: wrong username or password";
	if (strcmp(cause, "permission") == 0)
		return "permission denied";
	if (strcmp(cause, "missing-bucket") == 0)
		return strcmp(backend, "s3") == 0 ? "the bucket does not exist" :
			strcmp(backend, "webdav") == 0 ? "the collection does not exist" :
			"the directory does not exist";
	for (i = 0; i < G_N_ELEMENTS(t); i++) {
		if (strcmp(cause, t[i].cause) == 0)
			return t[i].text;
	}
	return "failed";
}

/* check_line - the one line */
static char *
check_line(const struct check_run *r, const char *where, const char *backend, int64_t offset,
	bool *ok)
{
	GString *s = g_string_new(NULL);
	GString *okl = g_string_new(NULL), *skipped = g_string_new(NULL);
	bool any_failed = false;
	int i;
	guint w;

	for (i = 0; i < OP_N; i++)
		any_failed = any_failed || r->op[i].state == CK_FAILED;
	*ok = !any_failed;
	g_string_append_printf(s, "storage check: %s: %s: ", any_failed ? "PROBLEM" :
		r->warnings->len > 0 ? "OK with warnings" : "OK", where);
	for (i = 0; i < OP_N; i++) {
		const struct check_result *o = &r->op[i];

		if (o->state == CK_OK && i != OP_OPEN)
			g_string_append_printf(okl, "%s%s", okl->len ? ", " : "", check_op_names[i]);
		else if (o->state == CK_NOT_TRIED && i != OP_KEYID) /* no key file yet: nothing to say */
			g_string_append_printf(skipped, "%s%s", skipped->len ? ", " : "", check_op_names[i]);
	}
	for (i = 0; i < OP_N; i++) {
		const struct check_result *o = &r->op[i];

		if (o->state != CK_FAILED)
			continue;
		g_string_append_printf(s, "%s FAILED: %s (%s); ", check_op_names[i],
			check_cause_text(o->cause, backend), o->detail);
	}
	if (okl->len > 0)
		g_string_append_printf(s, "%s work%s", okl->str, strchr(okl->str, ',') != NULL ? "" : "s");
	if (skipped->len > 0)
		g_string_append_printf(s, "%s%s not tried", okl->len > 0 ? "; " : "", skipped->str);
	if (r->server_date > 0)
		g_string_append_printf(s, "; clock %+" G_GINT64_FORMAT " s against the server", offset);
	for (w = 0; w < r->warnings->len; w++)
		g_string_append_printf(s, "; warning: %s", (const char *)g_ptr_array_index(r->warnings, w));
	/* one line, whatever the backends' texts hold */
	g_strdelimit(s->str, "\r\n", ' ');
	g_string_free(okl, TRUE);
	g_string_free(skipped, TRUE);
	return g_string_free(s, FALSE);
}

static void
check_json(const struct check_run *r, const char *backend, const char *where, const char *key,
	int64_t offset, bool ok, const char *line)
{
	JsonBuilder *b = json_builder_new();
	guint w;
	int i;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, ok);
	json_builder_set_member_name(b, "backend");
	json_builder_add_string_value(b, backend);
	json_builder_set_member_name(b, "location");
	json_builder_add_string_value(b, where);
	json_builder_set_member_name(b, "probe_key");
	json_builder_add_string_value(b, key);
	json_builder_set_member_name(b, "operations");
	json_builder_begin_object(b);
	for (i = 0; i < OP_N; i++) {
		const struct check_result *o = &r->op[i];

		json_builder_set_member_name(b, check_op_keys[i]);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "result");
		json_builder_add_string_value(b, o->state == CK_OK ? "ok" : o->state == CK_FAILED ?
			"failed" : "not tried");
		if (o->state == CK_FAILED) {
			json_builder_set_member_name(b, "cause");
			json_builder_add_string_value(b, o->cause);
			json_builder_set_member_name(b, "detail");
			json_builder_add_string_value(b, o->detail);
		}
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
	json_builder_set_member_name(b, "clock_offset_seconds");
	if (r->server_date > 0)
		json_builder_add_int_value(b, offset);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "versioning");
	if (r->versioning != NULL)
		json_builder_add_string_value(b, r->versioning);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "warnings");
	json_builder_begin_array(b);
	for (w = 0; w < r->warnings->len; w++)
		json_builder_add_string_value(b, g_ptr_array_index(r->warnings, w));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "summary");
	json_builder_add_string_value(b, line);
	json_builder_end_object(b);
	cli_print_json(b);
	g_object_unref(b);
}

/* check_versioning - S3: a bucket that keeps old versions keeps deleted transfers */
static void
check_versioning(struct check_run *r, struct storage *st)
{
	struct storage_detail d;
	char *status = NULL;
	int rc;

	storage_detail_clear();
	rc = storage_versioning(st, &status);
	storage_detail_get(&d);
	if (rc == STORAGE_OK) {
		r->versioning = status;
		if (status != NULL && strcmp(status, "Enabled") == 0)
			g_ptr_array_add(r->warnings, g_strdup("bucket versioning is Enabled: deleted, purged "
				"and revoked transfers stay retrievable as old versions (add a lifecycle rule "
				"that expires noncurrent versions soon, or suspend versioning)"));
		else if (status != NULL && strcmp(status, "Suspended") == 0)
			g_ptr_array_add(r->warnings, g_strdup("bucket versioning is Suspended: versions made "
				"while it was enabled stay retrievable (expire noncurrent versions)"));
		return;
	}
	g_free(status);
	/* a store without the versioning API cannot keep versions */
	if (d.http_status == 501 || strcmp(d.s3_code, "NotImplemented") == 0)
		return;
	g_ptr_array_add(r->warnings, g_strdup_printf("cannot read the bucket's versioning state "
		"(%s: %s): make sure it is not Enabled", storage_cause_name(storage_detail_cause(&d)),
		d.failed ? d.text : storage_strerror(rc)));
}

/* check_keyid - does the store's keyid object (storage_keyid.h) name this
 * node's deployment key? Not tried when the key file does not exist yet
 * (the check never creates keys or the object). */
static void
check_keyid(struct check_run *r, struct storage *st, const struct conf *c)
{
	struct key32 dk;
	GError *err = NULL;
	int rc;

	if (c->deployment_key_file == NULL || !g_file_test(c->deployment_key_file, G_FILE_TEST_EXISTS))
		return;
	if (keys_load(c->deployment_key_file, &dk, &err) != 0) {
		r->op[OP_KEYID].state = CK_FAILED;
		r->op[OP_KEYID].cause = "config";
		r->op[OP_KEYID].detail = g_strdup(err->message);
		g_error_free(err);
		return;
	}
	storage_detail_clear();
	rc = storage_keyid_check(st, &dk, false, &err);
	keys_wipe(&dk);
	if (rc == STORAGE_OK) {
		r->op[OP_KEYID].state = CK_OK;
	} else if (err != NULL && err->code == STORAGE_KEYID_EMISMATCH) {
		r->op[OP_KEYID].state = CK_FAILED;
		r->op[OP_KEYID].cause = "config";
		r->op[OP_KEYID].detail = g_strdup(err->message);
	} else {
		check_note(r, OP_KEYID, rc, err ? err->message : NULL);
	}
	g_clear_error(&err);
}

/* check_parse_args - check [--config FILE] [--json] [--verbose]; -1 on usage */
static int
check_parse_args(int argc, char **argv, const char **conf_path, bool *json, bool *verbose)
{
	int i;

	if (argc < 1 || strcmp(argv[0], "check") != 0)
		return -1;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*conf_path = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
			*verbose = true;
		else
			return -1;
	}
	return 0;
}

/* check_open - open the store: S3 lists the bucket here (reachability,
 * credentials, bucket); false if it cannot be opened */
static bool
check_open(struct check_run *r)
{
	GError *err = NULL;

	storage_detail_clear();
	r->st = storage_open(r->c, &err);
	check_note(r, OP_OPEN, r->st != NULL ? STORAGE_OK : err != NULL ? err->code : STORAGE_EPERM,
		err != NULL ? err->message : NULL);
	g_clear_error(&err);
	return r->st != NULL;
}

/* check_write - store the random probe under its random key */
static void
check_write(struct check_run *r)
{
	struct storage_put *p;
	int rc;

	storage_detail_clear();
	p = storage_put_begin(r->st, r->key, sizeof r->probe, &rc);
	if (p != NULL) {
		rc = storage_put_write(p, r->probe, sizeof r->probe);
		if (rc == STORAGE_OK)
			rc = storage_put_commit(p);
		else
			storage_put_abort(p);
	}
	check_note(r, OP_WRITE, rc, NULL);
	r->written = rc == STORAGE_OK;
}

/* check_read - read the probe back whole, then a range as the portal asks for one */
static void
check_read(struct check_run *r)
{
	GByteArray *got = g_byte_array_new();
	int rc;

	storage_detail_clear();
	rc = storage_get(r->st, r->key, 0, STORAGE_TO_END, check_sink, got);
	check_note(r, OP_READ, rc, NULL);
	if (rc == STORAGE_OK && (got->len != sizeof r->probe || memcmp(got->data, r->probe, sizeof r->probe) != 0))
		check_fail_data(r, OP_READ, g_strdup_printf("read back %u bytes that differ from the "
			"%zu written", got->len, sizeof r->probe));
	g_byte_array_set_size(got, 0);
	storage_detail_clear();
	rc = storage_get(r->st, r->key, CHECK_RANGE_OFF, CHECK_RANGE_LEN, check_sink, got);
	check_note(r, OP_RANGE, rc, NULL);
	if (rc == STORAGE_OK && (got->len != CHECK_RANGE_LEN ||
		memcmp(got->data, r->probe + CHECK_RANGE_OFF, CHECK_RANGE_LEN) != 0))
		check_fail_data(r, OP_RANGE, g_strdup_printf("bytes %u-%u came back as %u wrong bytes",
			CHECK_RANGE_OFF, CHECK_RANGE_OFF + CHECK_RANGE_LEN - 1, got->len));
	g_byte_array_free(got, TRUE);
}

/* check_list - list with the probe key as prefix: just the probe; also
 * when the write failed (says whether listing itself works) */
static void
check_list(struct check_run *r)
{
	struct check_list l = { 0 };
	int rc;

	l.key = r->key;
	storage_detail_clear();
	rc = storage_list(r->st, r->key, check_list_cb, &l);
	check_note(r, OP_LIST, rc, NULL);
	if (rc == STORAGE_OK && r->written && (!l.found || l.size != sizeof r->probe))
		check_fail_data(r, OP_LIST, l.found ? g_strdup_printf("the probe is listed with %" G_GUINT64_FORMAT
			" bytes, not %zu", l.size, sizeof r->probe) : g_strdup_printf("the probe is missing from "
			"the listing (%u other entries)", l.n));
}

/* check_delete - delete the probe and make sure it is gone */
static void
check_delete(struct check_run *r)
{
	uint64_t size = 0;
	int64_t mtime = 0;
	int rc;

	storage_detail_clear();
	rc = storage_delete(r->st, r->key);
	check_note(r, OP_DELETE, rc, NULL);
	if (rc == STORAGE_OK) {
		rc = storage_stat(r->st, r->key, &size, &mtime);
		if (rc != STORAGE_ENOENT)
			check_fail_data(r, OP_DELETE, g_strdup_printf("the probe is still there after "
				"DELETE (%s)", rc == STORAGE_OK ? "stat finds it" : storage_strerror(rc)));
	} else {
		g_ptr_array_add(r->warnings, g_strdup_printf("the probe object %s stays in the store "
			"(offloadctl purge removes it after --orphan-age)", r->key));
	}
}

/* check_probe - every operation on the opened store, then the deployment
 * key and what the backend keeps after a delete */
static void
check_probe(struct check_run *r, const char *backend)
{
	const struct conf *c = r->c;
	int i;

	g_snprintf(r->key, sizeof r->key, "storagecheck/%08x%08x", g_random_int(), g_random_int());
	for (i = 0; i < (int)sizeof r->probe; i++)
		r->probe[i] = (unsigned char)g_random_int_range(0, 256);
	if (!check_open(r))
		return;
	check_write(r);
	if (r->written)
		check_read(r);
	check_list(r);
	if (r->written)
		check_delete(r);
	check_keyid(r, r->st, c);
	if (strcmp(backend, "s3") == 0)
		check_versioning(r, r->st);
	if (strcmp(backend, "webdav") == 0 && (r->owncloud_seen ||
		(c->url != NULL && strstr(c->url, "/remote.php/") != NULL)))
		g_ptr_array_add(r->warnings, g_strdup("Nextcloud/ownCloud: its trash bin and file versions "
			"keep deleted, purged and revoked files; disable them for this account "
			"(occ app:disable files_trashbin files_versions) or use a plain WebDAV server"));
}

/* check_clock - this clock minus the server's (0 if no Date seen); a
 * warning first in the list beyond CHECK_SKEW_WARN */
static int64_t
check_clock(struct check_run *r)
{
	int64_t offset;

	if (r->server_date <= 0)
		return 0;
	offset = r->local_date - r->server_date;
	if (offset > CHECK_SKEW_WARN || offset < -CHECK_SKEW_WARN)
		g_ptr_array_insert(r->warnings, 0, g_strdup_printf("this host's clock is %" G_GINT64_FORMAT
			" s %s the server's (Date header): fix NTP; S3 refuses requests beyond 15 minutes",
			offset > 0 ? offset : -offset, offset > 0 ? "ahead of" : "behind"));
	return offset;
}

int
cli_storage(const char *conf_path, int argc, char **argv)
{
	struct check_run r;
	struct conf *c = NULL;
	char *where = NULL, *line = NULL, *w;
	const char *backend;
	bool json = false, verbose = false, ok = false;
	int64_t offset;
	int i, ex;

	memset(&r, 0, sizeof r);
	r.warnings = g_ptr_array_new_with_free_func(g_free);
	if (check_parse_args(argc, argv, &conf_path, &json, &verbose) != 0) {
		fprintf(stderr, "usage: offloadctl storage check [--config FILE] [--json] [--verbose]\n");
		ex = EX_USAGE;
		goto out;
	}
	c = cli_load_conf(conf_path);
	if (c == NULL) {
		ex = EX_CONFIG;
		goto out;
	}
	/* the one line carries the backends' messages; their log lines only with -v */
	log_init("offloadctl", verbose, false);
	r.c = c;
	backend = c->backend != NULL && c->backend[0] != '\0' ? c->backend : "file";
	where = check_location(c);
	w = check_plain_http(backend, strcmp(backend, "s3") == 0 ? c->endpoint :
		strcmp(backend, "webdav") == 0 ? c->url : NULL);
	if (w != NULL)
		g_ptr_array_add(r.warnings, w);
	check_probe(&r, backend);
	offset = check_clock(&r);
	line = check_line(&r, where, backend, offset, &ok);
	if (json)
		check_json(&r, backend, where, r.key, offset, ok, line);
	else
		printf("%s\n", line);
	fflush(stdout);
	ex = ok ? 0 : 1;
out:
	for (i = 0; i < OP_N; i++)
		g_free(r.op[i].detail);
	g_free(r.versioning);
	g_ptr_array_free(r.warnings, TRUE);
	storage_free(r.st);
	g_free(line);
	g_free(where);
	conf_free(c);
	return ex;
}
