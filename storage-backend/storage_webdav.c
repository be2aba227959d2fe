/*
 * storage_webdav.c - the "webdav" backend (DECISIONS.md §7): any WebDAV server
 * (nginx + dav-ext, Apache mod_dav, Nextcloud/ownCloud's
 * remote.php/dav/files/<user>/) below the base URL [storage] url, with
 * basic auth from credentials_file ([credentials] username, password);
 * TLS verified (system CAs or [storage] ca_file), TLS 1.2 at least.
 *
 * Layout: like the file backend, sharded by the first two characters of
 * the key's first segment: key "abcdef/m" is BASE/ab/abcdef/m, so no
 * collection grows past ~1024 entries per shard level.
 *
 * Put: MKCOL of the missing collections at begin (RFC 4918 §9.3: 405 =
 * exists, 409 = parent missing; wrong credentials show before any data).
 * The body is kept in memory up to 1 MiB, beyond that in an unnamed spool
 * file (O_TMPFILE in [milter] spool_dir, else $TMPDIR): memory stays flat,
 * the PUT has a Content-Length (no chunked bodies, which PHP-FPM setups such
 * as Nextcloud's may refuse) and can be retried. Commit = PUT of a hidden
 * temporary ".<leaf>.<random>" in the same collection, then MOVE to the final
 * name with Overwrite: T (nginx answers 204, RFC 4918 says 201), so readers
 * see the whole object or nothing; a collection removed meanwhile is made
 * again and the round repeated; a failed MOVE DELETEs the temp. Abort only
 * drops the spool (nothing was sent). A crash between PUT and MOVE leaves a
 * hidden temp that no reader or lister sees.
 * Get: GET with Range (a server that ignores Range is trimmed here). Stat:
 * PROPFIND Depth 0. List: PROPFIND Depth 1 walk (207 multistatus parsed
 * with GMarkup by local element name, so any namespace prefix works),
 * hidden names skipped. Delete: DELETE of the object only; collections are
 * purge's business (prune), not delete's: a collection DELETE is recursive,
 * WebDAV has no "delete if empty", and nginx dav-ext hides dot-files from
 * PROPFIND (a put in flight looks empty), so a check-then-delete on every
 * delete would race with puts of the same or another id.
 * Prune (purge, after it deleted every object of an id): the id's
 * collection is deleted without a lock, because the caller guarantees no
 * put to that id runs or will (ids are random and never reused; hidden temps
 * of a crashed put go with it); then its shard, if PROPFIND shows it empty:
 * under an exclusive depth-infinity LOCK of the base collection, a second
 * PROPFIND and the DELETE (If: (<token>)), then UNLOCK. A put that arrives
 * meanwhile gets 423, retries, and after the DELETE makes the shard again
 * (MKCOL 409 -> parents, repeated if a parent vanishes again). The base,
 * not the shard, is locked because nginx dav-ext 3.0 keeps a lock taken on a
 * URL that has just vanished (LOCK 409, no token) until its zone timeout,
 * blocking puts there; the base always exists. The lock is held for two
 * requests and only for shards that looked empty. A server without LOCK
 * (405/501) keeps its shards, at most 36 + 36 * 36 empty collections; a
 * shard locked by someone else (another purge node) is left to them.
 * Abort_stale: hidden temps listed by servers that show dot-files and are
 * older than the cutoff are deleted; an id collection with nothing visible
 * whose getlastmodified (nginx: the directory's mtime, which every temp PUT
 * updates) is older than the cutoff holds at most temps of a crashed put
 * and is deleted whole; then its shard as in prune.
 *
 * Errors: 401/403 and other 4xx -> EPERM, 404 -> ENOENT, 408/423/429/5xx
 * and network errors -> ETEMP; idempotent requests are retried with
 * exponential backoff and jitter, the PUT too (its body is spooled). The
 * password is never logged; URLs in logs carry no credentials.
 *
 * Memory: struct webdav_store (base URL, credentials, wiped on close) is
 * owned by the storage; struct webdav_put by its caller until commit/abort.
 * Threads: the store is read-only after open; every operation uses its own
 * curl handle (CURLOPT_NOSIGNAL), so calls may run on many threads.
 */
#include "storage_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "log.h"

#define WEBDAV_ATTEMPTS 4            /* tries of an idempotent request */
#define WEBDAV_LOCKED_ATTEMPTS 10    /* tries while the server answers 423 Locked */
#define WEBDAV_BACKOFF_MS 200        /* first backoff, doubled each retry up to 1.6 s, +-50% jitter */
#define WEBDAV_CONNECT_TIMEOUT 10L   /* seconds */
#define WEBDAV_REQUEST_TIMEOUT 120L  /* seconds, requests without a body stream */
#define WEBDAV_STALL_TIME 60L        /* seconds below 1 byte/s abort a transfer */
#define WEBDAV_UPLOAD_BUFFER (512L * 1024)
#define WEBDAV_MEM_MAX (1024u * 1024) /* a put body up to this stays in memory */
#define WEBDAV_MKCOL_ROUNDS 4         /* MKCOL, parents on 409, again: this often */

static const char webdav_propfind_body[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<D:propfind xmlns:D=\"DAV:\"><D:prop><D:resourcetype/><D:getcontentlength/>"
	"<D:getlastmodified/></D:prop></D:propfind>\n";

struct webdav_store {
	char *base;      /* URL, ends in '/' */
	char *base_path; /* its path, percent-decoded, ends in '/' */
	char *user;      /* NULL = no auth */
	char *password;
	char *spool_dir; /* put bodies above WEBDAV_MEM_MAX */
	char *ca_file;   /* NULL = system CAs */
	long prune_pause_ms; /* test knob: shard removal waits this long before its DELETE */
};

struct webdav_put {
	struct webdav_store *ws;
	char *url;      /* final object */
	char *tmp_url;  /* hidden temporary in the same collection */
	char *coll_url; /* its collection, ends in '/' */
	CURL *h;
	struct curl_slist *hdrs;
	GByteArray *mem; /* the body while it is at most WEBDAV_MEM_MAX */
	int fd;          /* else an unnamed spool file, -1 = none */
	uint64_t size;   /* bytes written */
	uint64_t rpos;   /* upload read position */
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- helpers ---- */

/* webdav_shard_len - the shard is at most 2 characters of the first segment */
static size_t
webdav_shard_len(const char *key)
{
	return key[1] == '/' || key[1] == '\0' ? 1 : 2;
}

/* webdav_url - BASE<shard>/<rel> for a key-space path rel ("" = the shard) */
static char *
webdav_url(const struct webdav_store *ws, const char *shard_key, const char *rel)
{
	size_t n = webdav_shard_len(shard_key);

	return g_strdup_printf("%s%.*s/%s", ws->base, (int)n, shard_key, rel);
}

static bool
webdav_retryable_code(long code)
{
	return code == 408 || code == 423 || code == 425 || code == 429 || code >= 500;
}

static bool
webdav_retryable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_LOGIN_DENIED:
	case CURLE_WRITE_ERROR:          /* our sink stopped */
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_OUT_OF_MEMORY:
		return false;
	default:
		return true;
	}
}

/* webdav_curl_class - permanent for configuration and TLS trust, temporary otherwise */
static int
webdav_curl_class(CURLcode cc)
{
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_LOGIN_DENIED:
		return STORAGE_EPERM;
	default:
		return STORAGE_ETEMP;
	}
}

/* webdav_code_class - the storage error of an HTTP status outside 2xx */
static int
webdav_code_class(long code)
{
	if (code == 404 || code == 410)
		return STORAGE_ENOENT;
	if (webdav_retryable_code(code) || code == 507)
		return STORAGE_ETEMP;
	return STORAGE_EPERM;
}

/* webdav_fail - log a failed request once and classify it */
static int
webdav_fail(const char *method, const char *url, CURLcode cc, long code, const char *errbuf)
{
	char *msg;
	int rc;

	if (cc != CURLE_OK) {
		msg = g_strdup_printf("%s %s: %s", method, url,
			errbuf != NULL && errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
		rc = webdav_curl_class(cc);
	} else {
		msg = g_strdup_printf("%s %s: HTTP %ld%s", method, url, code,
			code == 401 ? " (wrong credentials?)" : code == 403 ? " (forbidden)" :
			code == 507 ? " (server storage full)" : "");
		rc = webdav_code_class(code);
	}
	log_error("storage webdav: %s", msg);
	storage_detail_fail(method, (int)cc, 0, cc != CURLE_OK ? 0 : code, NULL, msg);
	g_free(msg);
	return rc;
}

/* webdav_again - should attempt number attempt (1-based) be followed by
 * another? 423 Locked (someone else's WebDAV lock) waits longer */
static bool
webdav_again(CURLcode cc, long code, int attempt)
{
	if (cc == CURLE_OK ? !webdav_retryable_code(code) : !webdav_retryable_curl(cc))
		return false;
	return attempt < (cc == CURLE_OK && code == 423 ? WEBDAV_LOCKED_ATTEMPTS : WEBDAV_ATTEMPTS);
}

/* webdav_backoff - sleep before retry number attempt (1-based) */
static void
webdav_backoff(int attempt)
{
	long ms = WEBDAV_BACKOFF_MS << (attempt < 4 ? attempt - 1 : 3);
	struct timespec ts;

	ms = ms / 2 + g_random_int_range(0, (gint32)ms + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static size_t
webdav_discard(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

/* webdav_setup - a handle (new or reset) with the options every request shares */
static void
webdav_setup(const struct webdav_store *ws, CURL *h, char *errbuf)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* never send credentials elsewhere */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, WEBDAV_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, WEBDAV_STALL_TIME);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "offload-storage/1");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, webdav_discard);
	/* Date and ownCloud headers for storage check (storage_detail.c) */
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, storage_detail_header);
	storage_detail_begin(h);
	if (ws->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, ws->ca_file);
	if (ws->user != NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, ws->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, ws->password);
	}
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

/* webdav_simple - one bodiless request (MKCOL, MOVE, DELETE) with retries;
 * *code = the final HTTP status (0 after a network error) */
static CURLcode
webdav_simple(const struct webdav_store *ws, CURL *h, const char *method,
	const char *url, struct curl_slist *hdrs, long *code, char *errbuf)
{
	CURLcode cc = CURLE_OK;
	int attempt;

	for (attempt = 1;; attempt++) {
		if (attempt > 1)
			webdav_backoff(attempt - 1);
		webdav_setup(ws, h, errbuf);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_TIMEOUT, WEBDAV_REQUEST_TIMEOUT);
		if (hdrs != NULL)
			curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		*code = 0;
		cc = curl_easy_perform(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
		if (!webdav_again(cc, *code, attempt))
			break;
	}
	return cc;
}

/* ---- PROPFIND and its 207 multistatus ---- */

struct webdav_entry {
	char *href;      /* percent-decoded path */
	bool collection;
	uint64_t size;
	int64_t mtime;
};

struct webdav_ms {
	CURL *h;
	GMarkupParseContext *ctx;
	GPtrArray *entries;    /* struct webdav_entry * */
	struct webdav_entry *cur;
	GString *text;
	int field;             /* 0 none, 1 href, 2 length, 3 lastmodified */
	bool checked, is207, parse_failed;
	char *parse_error;
};

static void
webdav_entry_free(gpointer p)
{
	struct webdav_entry *e = p;

	if (e == NULL)
		return;
	g_free(e->href);
	g_free(e);
}

/* webdav_local - element name without its namespace prefix */
static const char *
webdav_local(const char *name)
{
	const char *c = strrchr(name, ':');

	return c != NULL ? c + 1 : name;
}

static void
webdav_ms_start(GMarkupParseContext *ctx, const char *name, const char **an, const char **av,
	gpointer arg, GError **err)
{
	struct webdav_ms *ms = arg;
	const char *l = webdav_local(name);

	(void)ctx;
	(void)an;
	(void)av;
	(void)err;
	if (strcmp(l, "response") == 0) {
		webdav_entry_free(ms->cur);
		ms->cur = g_new0(struct webdav_entry, 1);
		return;
	}
	if (ms->cur == NULL)
		return;
	ms->field = strcmp(l, "href") == 0 ? 1 : strcmp(l, "getcontentlength") == 0 ? 2 :
		strcmp(l, "getlastmodified") == 0 ? 3 : 0;
	g_string_truncate(ms->text, 0);
	if (strcmp(l, "collection") == 0)
		ms->cur->collection = true;
}

/* webdav_href_path - the decoded path of an href (absolute URL or absolute path) */
static char *
webdav_href_path(const char *href)
{
	const char *p = href, *s = strstr(href, "://");

	if (s != NULL) {
		p = strchr(s + 3, '/');
		if (p == NULL)
			p = "/";
	}
	return g_uri_unescape_string(p, NULL);
}

static void
webdav_ms_end(GMarkupParseContext *ctx, const char *name, gpointer arg, GError **err)
{
	struct webdav_ms *ms = arg;
	const char *l = webdav_local(name);
	char *t;

	(void)ctx;
	(void)err;
	if (ms->cur == NULL)
		return;
	if (strcmp(l, "response") == 0) {
		if (ms->cur->href != NULL)
			g_ptr_array_add(ms->entries, ms->cur);
		else
			webdav_entry_free(ms->cur);
		ms->cur = NULL;
		return;
	}
	if (ms->field == 0)
		return;
	t = g_strstrip(ms->text->str);
	if (ms->field == 1 && ms->cur->href == NULL && t[0] != '\0')
		ms->cur->href = webdav_href_path(t);
	else if (ms->field == 2 && t[0] != '\0')
		ms->cur->size = g_ascii_strtoull(t, NULL, 10);
	else if (ms->field == 3 && t[0] != '\0')
		ms->cur->mtime = (int64_t)curl_getdate(t, NULL);
	ms->field = 0;
}

static void
webdav_ms_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer arg, GError **err)
{
	struct webdav_ms *ms = arg;

	(void)ctx;
	(void)err;
	if (ms->field != 0 && ms->text->len < 4096)
		g_string_append_len(ms->text, text, (gssize)len);
}

static const GMarkupParser webdav_ms_parser = {
	webdav_ms_start, webdav_ms_end, webdav_ms_text, NULL, NULL,
};

/* webdav_ms_write - curl write callback: parse a 207 body as it arrives */
static size_t
webdav_ms_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct webdav_ms *ms = arg;
	GError *err = NULL;
	long code = 0;

	if (!ms->checked) {
		curl_easy_getinfo(ms->h, CURLINFO_RESPONSE_CODE, &code);
		ms->is207 = code == 207;
		ms->checked = true;
	}
	if (!ms->is207 || ms->parse_failed)
		return size * n;
	if (!g_markup_parse_context_parse(ms->ctx, ptr, (gssize)(size * n), &err)) {
		ms->parse_failed = true;
		ms->parse_error = g_strdup(err->message);
		g_error_free(err);
	}
	return size * n;
}

static void
webdav_ms_reset(struct webdav_ms *ms)
{
	if (ms->ctx != NULL)
		g_markup_parse_context_free(ms->ctx);
	ms->ctx = g_markup_parse_context_new(&webdav_ms_parser, 0, ms, NULL);
	if (ms->entries != NULL)
		g_ptr_array_set_size(ms->entries, 0);
	else
		ms->entries = g_ptr_array_new_with_free_func(webdav_entry_free);
	webdav_entry_free(ms->cur);
	ms->cur = NULL;
	if (ms->text == NULL)
		ms->text = g_string_new(NULL);
	ms->field = 0;
	ms->checked = ms->is207 = ms->parse_failed = false;
	g_free(ms->parse_error);
	ms->parse_error = NULL;
}

static void
webdav_ms_clear(struct webdav_ms *ms)
{
	if (ms->ctx != NULL)
		g_markup_parse_context_free(ms->ctx);
	if (ms->entries != NULL)
		g_ptr_array_unref(ms->entries);
	webdav_entry_free(ms->cur);
	if (ms->text != NULL)
		g_string_free(ms->text, TRUE);
	g_free(ms->parse_error);
	memset(ms, 0, sizeof *ms);
}

/* webdav_propfind - PROPFIND url at depth ("0" or "1") into ms->entries, with
 * retries; STORAGE_OK, ENOENT (404/409/301: no such collection) or logged error */
static int
webdav_propfind(const struct webdav_store *ws, CURL *h, const char *url, const char *depth,
	struct webdav_ms *ms)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char *dh = g_strdup_printf("Depth: %s", depth);
	CURLcode cc = CURLE_OK;
	long code = 0;
	int attempt, rc = STORAGE_OK;

	hdrs = curl_slist_append(hdrs, dh);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/xml; charset=utf-8");
	ms->h = h;
	for (attempt = 1;; attempt++) {
		if (attempt > 1)
			webdav_backoff(attempt - 1);
		webdav_ms_reset(ms);
		webdav_setup(ws, h, errbuf);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PROPFIND");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, webdav_propfind_body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(sizeof webdav_propfind_body - 1));
		curl_easy_setopt(h, CURLOPT_TIMEOUT, WEBDAV_REQUEST_TIMEOUT);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, webdav_ms_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, ms);
		code = 0;
		cc = curl_easy_perform(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (!webdav_again(cc, code, attempt))
			break;
	}
	if (cc != CURLE_OK || (code != 207 && code != 404 && code != 409 && code != 301)) {
		rc = webdav_fail("PROPFIND", url, cc, code, errbuf);
		goto out;
	}
	if (code != 207) {
		rc = STORAGE_ENOENT;
		goto out;
	}
	if (!ms->parse_failed) {
		GError *err = NULL;

		if (!g_markup_parse_context_end_parse(ms->ctx, &err)) {
			ms->parse_failed = true;
			ms->parse_error = g_strdup(err->message);
			g_error_free(err);
		}
	}
	if (ms->parse_failed) {
		log_error("storage webdav: PROPFIND %s: unreadable 207 multistatus: %s", url,
			ms->parse_error);
		rc = STORAGE_EPERM;
	}
out:
	curl_slist_free_all(hdrs);
	g_free(dh);
	return rc;
}

/* ---- open / close ---- */

/* webdav_read_credentials - [credentials] username, password; 0 or EPERM with *err */
static int
webdav_read_credentials(struct webdav_store *ws, const char *path, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	GError *e = NULL;
	int rc = STORAGE_EPERM;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] credentials_file %s: %s",
			path, e->message);
		goto out;
	}
	ws->user = g_key_file_get_string(kf, "credentials", "username", NULL);
	ws->password = g_key_file_get_string(kf, "credentials", "password", NULL);
	if (ws->user == NULL || ws->user[0] == '\0' || ws->password == NULL) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] credentials_file %s: needs [credentials] username and password", path);
		goto out;
	}
	rc = STORAGE_OK;
out:
	g_clear_error(&e);
	g_key_file_free(kf); /* GKeyFile does not wipe: the file's text lived in its buffers */
	return rc;
}

static void webdav_close(void *be);

static void *
webdav_open(const struct conf *conf, GError **err)
{
	struct webdav_store *ws = g_new0(struct webdav_store, 1);
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *path = NULL, *user = NULL, *query = NULL;
	bool ok = false;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		g_set_error(err, STORAGE_ERROR, STORAGE_ETEMP, "webdav: curl_global_init failed");
		goto out;
	}
	if (conf->url == NULL || conf->url[0] == '\0') {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] url: empty (the webdav backend needs the collection URL)");
		goto out;
	}
	u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, conf->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] url = %s: not an http:// or https:// URL", conf->url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK || strchr(conf->url, '#') != NULL) {
		/* do not echo the URL: it may hold a password */
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] url: no user, password, query or fragment allowed in it "
			"(credentials belong in credentials_file)");
		goto out;
	}
	ws->base = g_str_has_suffix(conf->url, "/") ? g_strdup(conf->url) :
		g_strconcat(conf->url, "/", NULL);
	ws->base_path = g_uri_unescape_string(path, NULL);
	if (ws->base_path == NULL) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] url = %s: bad percent-encoding",
			conf->url);
		goto out;
	}
	if (!g_str_has_suffix(ws->base_path, "/")) {
		char *t = g_strconcat(ws->base_path, "/", NULL);

		g_free(ws->base_path);
		ws->base_path = t;
	}
	ws->spool_dir = g_strdup(conf->spool_dir != NULL && g_file_test(conf->spool_dir,
		G_FILE_TEST_IS_DIR) && access(conf->spool_dir, W_OK) == 0 ? conf->spool_dir :
		g_get_tmp_dir());
	if (conf->ca_file != NULL && conf->ca_file[0] != '\0')
		ws->ca_file = g_strdup(conf->ca_file);
	/* test knob (the race in tests/unit/test_storage.c): widens the window in
	 * which a shard removal without its lock would lose a racing put */
	if (getenv("OFFLOAD_WEBDAV_TEST_PRUNE_PAUSE_MS") != NULL)
		ws->prune_pause_ms = CLAMP(atol(getenv("OFFLOAD_WEBDAV_TEST_PRUNE_PAUSE_MS")), 0, 5000);
	if (conf->credentials_file != NULL && conf->credentials_file[0] != '\0' &&
	    webdav_read_credentials(ws, conf->credentials_file, err) != STORAGE_OK)
		goto out;
	if (ws->user != NULL && strcmp(scheme, "http") == 0 && strcmp(host, "127.0.0.1") != 0 &&
	    strcmp(host, "localhost") != 0 && strcmp(host, "[::1]") != 0)
		log_warning("storage webdav: %s: basic auth over plain http sends the password "
			"in clear; use https", ws->base);
	ok = true;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_free(user);
	curl_free(query);
	curl_url_cleanup(u);
	if (!ok) {
		webdav_close(ws);
		ws = NULL;
	}
	return ws;
}

static void
webdav_close(void *be)
{
	struct webdav_store *ws = be;

	if (ws == NULL)
		return;
	if (ws->password != NULL) {
		OPENSSL_cleanse(ws->password, strlen(ws->password));
		g_free(ws->password);
	}
	g_free(ws->user);
	g_free(ws->spool_dir);
	g_free(ws->ca_file);
	g_free(ws->base_path);
	g_free(ws->base);
	g_free(ws);
}

/* ---- put ---- */

/* webdav_mkcol - make collection url (ends in '/'); on 409 (parent missing)
 * make the parents first, up to the server's root. A parent can vanish
 * again before the retry (purge prunes an empty shard collection): the
 * climb is repeated a few times. */
static int
webdav_mkcol(const struct webdav_store *ws, CURL *h, const char *url, int depth)
{
	char errbuf[CURL_ERROR_SIZE];
	const char *root = strstr(url, "://");
	CURLcode cc;
	long code = 0;
	int round, rc = STORAGE_OK;

	root = root != NULL ? strchr(root + 3, '/') : NULL; /* the path's first '/' */
	for (round = 0;; round++) {
		cc = webdav_simple(ws, h, "MKCOL", url, NULL, &code, errbuf);
		if (cc == CURLE_OK && (code == 201 || code == 405 || code == 200 || code == 204))
			goto out;
		if (cc == CURLE_OK && code == 409 && depth < 16 && round < WEBDAV_MKCOL_ROUNDS &&
		    root != NULL && strlen(root) > 1) {
			/* parent: url up to the '/' before its last segment */
			char *parent = g_strdup(url);
			char *s;

			parent[strlen(parent) - 1] = '\0';
			s = strrchr(parent, '/');
			s[1] = '\0';
			rc = webdav_mkcol(ws, h, parent, depth + 1);
			g_free(parent);
			if (rc != STORAGE_OK)
				goto out;
			continue;
		}
		break;
	}
	rc = webdav_fail("MKCOL", url, cc, code, errbuf);
out:
	return rc;
}

/* webdav_spool_open - an unnamed temp file (O_TMPFILE: nothing left after a crash) */
static int
webdav_spool_open(const struct webdav_store *ws)
{
	int fd = open(ws->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		log_error("storage webdav: spool file in %s: %s", ws->spool_dir, g_strerror(errno));
	return fd;
}

static int
webdav_put_write(void *put, const void *buf, size_t len)
{
	struct webdav_put *p = put;
	const char *c = buf;
	ssize_t n;

	if (p->fd < 0 && p->mem->len + len <= WEBDAV_MEM_MAX) {
		g_byte_array_append(p->mem, buf, (guint)len);
		p->size += len;
		return STORAGE_OK;
	}
	if (p->fd < 0) {
		/* too big for memory: spill to a spool file, memory stays flat */
		p->fd = webdav_spool_open(p->ws);
		if (p->fd < 0)
			return STORAGE_ETEMP;
		if (p->mem->len > 0 && write(p->fd, p->mem->data, p->mem->len) != (ssize_t)p->mem->len) {
			log_error("storage webdav: spool write: %s", g_strerror(errno));
			return STORAGE_ETEMP;
		}
		g_byte_array_set_size(p->mem, 0);
	}
	while (len > 0) {
		n = write(p->fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("storage webdav: spool write: %s", g_strerror(n < 0 ? errno : EIO));
			return STORAGE_ETEMP;
		}
		c += n;
		len -= (size_t)n;
		p->size += (uint64_t)n;
	}
	return STORAGE_OK;
}

/* webdav_put_read - curl read callback: the next bytes of memory or spool */
static size_t
webdav_put_read(char *dst, size_t size, size_t n, void *arg)
{
	struct webdav_put *p = arg;
	size_t k = size * n;
	ssize_t r;

	if (p->rpos >= p->size)
		return 0;
	if (k > p->size - p->rpos)
		k = (size_t)(p->size - p->rpos);
	if (p->fd < 0) {
		memcpy(dst, p->mem->data + p->rpos, k);
	} else {
		do
			r = pread(p->fd, dst, k, (off_t)p->rpos);
		while (r < 0 && errno == EINTR);
		if (r <= 0) {
			log_error("storage webdav: spool read: %s", g_strerror(r < 0 ? errno : EIO));
			return CURL_READFUNC_ABORT;
		}
		k = (size_t)r;
	}
	p->rpos += k;
	return k;
}

/* webdav_put_once - PUT the spooled body to the temp name, with retries;
 * *code = the last HTTP status */
static CURLcode
webdav_put_once(struct webdav_put *p, long *code)
{
	CURLcode cc = CURLE_OK;
	int attempt;

	for (attempt = 1;; attempt++) {
		if (attempt > 1) {
			webdav_backoff(attempt - 1);
			/* nginx answers a PUT into a collection deleted meanwhile with 500 */
			if (webdav_mkcol(p->ws, p->h, p->coll_url, 0) == STORAGE_EPERM)
				break;
		}
		p->rpos = 0;
		webdav_setup(p->ws, p->h, p->errbuf);
		curl_easy_setopt(p->h, CURLOPT_URL, p->tmp_url);
		curl_easy_setopt(p->h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(p->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)p->size);
		curl_easy_setopt(p->h, CURLOPT_READFUNCTION, webdav_put_read);
		curl_easy_setopt(p->h, CURLOPT_READDATA, p);
		curl_easy_setopt(p->h, CURLOPT_UPLOAD_BUFFERSIZE, WEBDAV_UPLOAD_BUFFER);
		curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, p->hdrs);
		*code = 0;
		cc = curl_easy_perform(p->h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, code);
		if (!webdav_again(cc, *code, attempt))
			break;
	}
	return cc;
}

static void
webdav_put_free(struct webdav_put *p)
{
	if (p == NULL)
		return;
	if (p->h != NULL)
		curl_easy_cleanup(p->h);
	if (p->fd >= 0)
		close(p->fd);
	if (p->mem != NULL)
		g_byte_array_unref(p->mem);
	curl_slist_free_all(p->hdrs);
	g_free(p->coll_url);
	g_free(p->tmp_url);
	g_free(p->url);
	g_free(p);
}

static void *
webdav_put_begin(void *be, const char *key, uint64_t size_hint, int *errp)
{
	struct webdav_store *ws = be;
	struct webdav_put *p = g_new0(struct webdav_put, 1);
	const char *leaf = strrchr(key, '/');
	char *coll_rel = NULL, *tmp_rel = NULL;
	int rc = STORAGE_OK;

	(void)size_hint;
	p->ws = ws;
	p->fd = -1;
	p->mem = g_byte_array_new();
	p->url = webdav_url(ws, key, key);
	coll_rel = leaf != NULL ? g_strndup(key, (gsize)(leaf - key + 1)) : g_strdup("");
	leaf = leaf != NULL ? leaf + 1 : key;
	tmp_rel = g_strdup_printf("%s.%s.%08x%08x", coll_rel, leaf, g_random_int(), g_random_int());
	p->tmp_url = webdav_url(ws, key, tmp_rel);
	p->coll_url = webdav_url(ws, key, coll_rel);
	p->hdrs = curl_slist_append(p->hdrs, "Content-Type: application/octet-stream");
	p->h = curl_easy_init();
	if (p->h == NULL) {
		log_error("storage webdav: cannot create a curl handle");
		rc = STORAGE_ETEMP;
		goto out;
	}
	/* early: wrong credentials or a missing share show here, before any data */
	rc = webdav_mkcol(ws, p->h, p->coll_url, 0);
out:
	g_free(tmp_rel);
	g_free(coll_rel);
	if (rc != STORAGE_OK) {
		webdav_put_free(p);
		p = NULL;
	}
	*errp = rc;
	return p;
}

/* webdav_delete_url - DELETE with retries; OK, ENOENT or a logged error */
static int
webdav_delete_url(const struct webdav_store *ws, CURL *h, const char *url, bool quiet)
{
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	long code = 0;

	cc = webdav_simple(ws, h, "DELETE", url, NULL, &code, errbuf);
	if (cc == CURLE_OK && (code == 200 || code == 204 || code == 202))
		return STORAGE_OK;
	if (cc == CURLE_OK && (code == 404 || code == 410))
		return STORAGE_ENOENT;
	if (quiet)
		return cc != CURLE_OK ? webdav_curl_class(cc) : webdav_code_class(code);
	return webdav_fail("DELETE", url, cc, code, errbuf);
}

/* webdav_put_commit - PUT the temp, MOVE it over the final name. A collection
 * removed meanwhile (409/404) is made again and the round repeated. */
static int
webdav_put_commit(void *put)
{
	struct webdav_put *p = put;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char *dest = g_strdup_printf("Destination: %s", p->url);
	CURLcode cc;
	long code = 0;
	int round, rc = STORAGE_ETEMP;

	hdrs = curl_slist_append(hdrs, dest);
	hdrs = curl_slist_append(hdrs, "Overwrite: T");
	for (round = 0; round < 3; round++) {
		if (round > 0) {
			rc = webdav_mkcol(p->ws, p->h, p->coll_url, 0);
			if (rc != STORAGE_OK)
				goto out;
		}
		cc = webdav_put_once(p, &code);
		if (cc == CURLE_OK && (code == 404 || code == 409))
			continue; /* the collection vanished */
		if (cc != CURLE_OK || (code != 201 && code != 204 && code != 200)) {
			rc = webdav_fail("PUT", p->tmp_url, cc, code, p->errbuf);
			goto out;
		}
		cc = webdav_simple(p->ws, p->h, "MOVE", p->tmp_url, hdrs, &code, errbuf);
		if (cc == CURLE_OK && (code == 201 || code == 204)) {
			rc = STORAGE_OK;
			goto out;
		}
		if (cc == CURLE_OK && (code == 404 || code == 409))
			continue; /* the temp or the collection vanished */
		rc = webdav_fail("MOVE", p->tmp_url, cc, code, errbuf);
		webdav_delete_url(p->ws, p->h, p->tmp_url, true);
		goto out;
	}
	log_error("storage webdav: PUT %s: its collection keeps disappearing", p->url);
	rc = STORAGE_ETEMP;
out:
	curl_slist_free_all(hdrs);
	g_free(dest);
	webdav_put_free(p);
	return rc;
}

/* webdav_put_abort - nothing reached the server yet (the PUT runs at commit) */
static void
webdav_put_abort(void *put)
{
	webdav_put_free(put);
}

/* ---- get / stat ---- */

struct webdav_get {
	CURL *h;
	storage_sink_fn sink;
	void *arg;
	uint64_t skip;      /* bytes to drop first (server ignored Range) */
	uint64_t want;      /* bytes still to deliver; UINT64_MAX = to the end */
	uint64_t delivered;
	bool checked, deliver, stopped;
	long code;
};

static size_t
webdav_get_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct webdav_get *g = arg;
	size_t total = size * n, k;
	const char *p = ptr;

	if (!g->checked) {
		curl_easy_getinfo(g->h, CURLINFO_RESPONSE_CODE, &g->code);
		g->deliver = g->code == 200 || g->code == 206;
		if (g->code == 206)
			g->skip = 0;
		g->checked = true;
	}
	if (!g->deliver)
		return total;
	k = total;
	if (g->skip > 0) {
		size_t s = g->skip < k ? (size_t)g->skip : k;

		g->skip -= s;
		p += s;
		k -= s;
	}
	if (g->want != UINT64_MAX && k > g->want)
		k = (size_t)g->want;
	while (k > 0) {
		size_t c = k < STORAGE_CHUNK ? k : STORAGE_CHUNK;

		if (g->sink(g->arg, p, c) != 0) {
			g->stopped = true;
			return 0; /* CURLE_WRITE_ERROR */
		}
		p += c;
		k -= c;
		g->delivered += c;
		if (g->want != UINT64_MAX)
			g->want -= c;
	}
	if (g->want == 0)
		return 0; /* done: stop the transfer (server ignored Range) */
	return total;
}

static int
webdav_stat_h(const struct webdav_store *ws, CURL *h, const char *key, uint64_t *size,
	int64_t *mtime)
{
	struct webdav_ms ms = { 0 };
	char *url = webdav_url(ws, key, key);
	int rc;

	rc = webdav_propfind(ws, h, url, "0", &ms);
	if (rc != STORAGE_OK)
		goto out;
	if (ms.entries->len < 1 || ((struct webdav_entry *)g_ptr_array_index(ms.entries, 0))->collection) {
		rc = STORAGE_ENOENT; /* a collection is not an object */
		goto out;
	}
	*size = ((struct webdav_entry *)g_ptr_array_index(ms.entries, 0))->size;
	*mtime = ((struct webdav_entry *)g_ptr_array_index(ms.entries, 0))->mtime;
out:
	webdav_ms_clear(&ms);
	g_free(url);
	return rc;
}

static int
webdav_get(void *be, const char *key, uint64_t offset, uint64_t length,
	storage_sink_fn sink, void *arg)
{
	struct webdav_store *ws = be;
	struct webdav_get g = { 0 };
	char errbuf[CURL_ERROR_SIZE];
	char *url = webdav_url(ws, key, key);
	char range[64];
	CURL *h = curl_easy_init();
	CURLcode cc = CURLE_OK;
	uint64_t size, pos;
	int64_t mtime;
	int attempt, rc = STORAGE_OK;

	if (h == NULL) {
		log_error("storage webdav: cannot create a curl handle");
		rc = STORAGE_ETEMP;
		goto out;
	}
	if (length == 0) {
		rc = webdav_stat_h(ws, h, key, &size, &mtime);
		goto out;
	}
	g.h = h;
	g.sink = sink;
	g.arg = arg;
	for (attempt = 1;; attempt++) {
		if (attempt > 1)
			webdav_backoff(attempt - 1);
		/* a retry resumes after what the sink already has */
		pos = offset + g.delivered;
		if (length != STORAGE_TO_END && g.delivered >= length)
			break;
		g.want = length == STORAGE_TO_END || length - g.delivered > UINT64_MAX - pos ?
			UINT64_MAX : length - g.delivered;
		g.skip = pos;
		g.checked = g.deliver = false;
		g.code = 0;
		webdav_setup(ws, h, errbuf);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, webdav_get_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
		if (pos > 0 || g.want != UINT64_MAX) {
			if (g.want == UINT64_MAX)
				g_snprintf(range, sizeof range, "%" G_GUINT64_FORMAT "-", pos);
			else
				g_snprintf(range, sizeof range, "%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
					pos, pos + g.want - 1);
			curl_easy_setopt(h, CURLOPT_RANGE, range);
		}
		cc = curl_easy_perform(h);
		if (g.stopped) {
			rc = STORAGE_ESTOP;
			goto out;
		}
		if (cc == CURLE_WRITE_ERROR && g.want == 0)
			cc = CURLE_OK; /* we stopped a whole-object answer after the range */
		if (cc == CURLE_OK && g.code == 0)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &g.code);
		if (!webdav_again(cc, g.code, attempt))
			break;
	}
	if (cc == CURLE_OK && (g.code == 200 || g.code == 206 || g.code == 416)) {
		/* 416: offset at or past the end of an existing object -> empty; a
		 * server that ignored Range and had less than the offset: also empty */
		goto out;
	}
	if (cc == CURLE_OK && (g.code == 404 || g.code == 410 || g.code == 301 || g.code == 302)) {
		rc = STORAGE_ENOENT; /* 301: a collection (nginx redirects to "name/") */
		goto out;
	}
	rc = webdav_fail("GET", url, cc, g.code, errbuf);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	g_free(url);
	return rc;
}

static int
webdav_stat(void *be, const char *key, uint64_t *size, int64_t *mtime)
{
	CURL *h = curl_easy_init();
	int rc;

	if (h == NULL) {
		log_error("storage webdav: cannot create a curl handle");
		return STORAGE_ETEMP;
	}
	rc = webdav_stat_h(be, h, key, size, mtime);
	curl_easy_cleanup(h);
	return rc;
}

/* ---- delete ---- */

static int
webdav_del(void *be, const char *key)
{
	struct webdav_store *ws = be;
	char *url = webdav_url(ws, key, key);
	CURL *h = curl_easy_init();
	int rc;

	if (h == NULL) {
		log_error("storage webdav: cannot create a curl handle");
		rc = STORAGE_ETEMP;
	} else {
		rc = webdav_delete_url(ws, h, url, false);
		curl_easy_cleanup(h);
	}
	g_free(url);
	return rc;
}

/* ---- list ---- */

struct webdav_walk {
	const struct webdav_store *ws;
	CURL *h;
	const char *prefix;
	size_t plen;
	storage_list_fn fn;
	void *arg;
};

/* webdav_name_ok - a visible key segment: [a-z0-9]+ (skips temps and junk) */
static bool
webdav_name_ok(const char *name)
{
	const char *c;

	if (name[0] == '\0')
		return false;
	for (c = name; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			return false;
	return true;
}

/* webdav_may_match - can a key starting with s (len bytes) start with the prefix, or vice versa? */
static bool
webdav_may_match(const struct webdav_walk *w, const char *s, size_t len)
{
	size_t n = len < w->plen ? len : w->plen;

	return strncmp(s, w->prefix, n) == 0;
}

/* webdav_child - the name of an entry directly below collection path dir
 * (decoded, ends in '/'), or NULL for the collection itself and others */
static const char *
webdav_child(const char *dir, char *href)
{
	size_t n = strlen(dir), l;
	char *name;

	if (strncmp(href, dir, n) != 0)
		return NULL;
	name = href + n;
	l = strlen(name);
	if (l > 0 && name[l - 1] == '/')
		name[--l] = '\0';
	if (l == 0 || strchr(name, '/') != NULL)
		return NULL;
	return name;
}

/* webdav_walk_dir - list collection shard/rel (rel "" or ending '/') */
static int
webdav_walk_dir(struct webdav_walk *w, const char *shard, const char *rel)
{
	struct webdav_ms ms = { 0 };
	GPtrArray *subdirs = g_ptr_array_new_with_free_func(g_free);
	char *url = g_strdup_printf("%s%s/%s", w->ws->base, shard, rel);
	char *dir = g_strdup_printf("%s%s/%s", w->ws->base_path, shard, rel);
	guint i;
	int rc;

	rc = webdav_propfind(w->ws, w->h, url, "1", &ms);
	if (rc == STORAGE_ENOENT) {
		rc = STORAGE_OK;
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	for (i = 0; i < ms.entries->len; i++) {
		struct webdav_entry *e = g_ptr_array_index(ms.entries, i);
		const char *name = webdav_child(dir, e->href);
		char *key;
		size_t sl;

		if (name == NULL || !webdav_name_ok(name))
			continue;
		key = g_strconcat(rel, name, NULL);
		sl = webdav_shard_len(key);
		/* a key in the wrong shard could never be read: not listed */
		if (strlen(shard) != sl || strncmp(key, shard, sl) != 0 ||
		    strlen(key) > STORAGE_KEY_MAX) {
			g_free(key);
			continue;
		}
		if (e->collection) {
			char *sub = g_strconcat(key, "/", NULL);

			g_free(key);
			if (webdav_may_match(w, sub, strlen(sub)))
				g_ptr_array_add(subdirs, sub);
			else
				g_free(sub);
			continue;
		}
		if (strncmp(key, w->prefix, w->plen) == 0 && w->fn(w->arg, key, e->size, e->mtime) != 0) {
			g_free(key);
			rc = STORAGE_ESTOP;
			goto out;
		}
		g_free(key);
	}
	webdav_ms_clear(&ms);
	for (i = 0; i < subdirs->len; i++) {
		rc = webdav_walk_dir(w, shard, g_ptr_array_index(subdirs, i));
		if (rc != STORAGE_OK)
			goto out;
	}
out:
	webdav_ms_clear(&ms);
	g_ptr_array_unref(subdirs);
	g_free(dir);
	g_free(url);
	return rc;
}

static int
webdav_list(void *be, const char *prefix, storage_list_fn fn, void *arg)
{
	struct webdav_store *ws = be;
	struct webdav_walk w = { ws, NULL, prefix, strlen(prefix), fn, arg };
	struct webdav_ms ms = { 0 };
	GPtrArray *shards = g_ptr_array_new_with_free_func(g_free);
	const char *slash;
	char *rel = NULL;
	guint i;
	int rc = STORAGE_OK;

	w.h = curl_easy_init();
	if (w.h == NULL) {
		log_error("storage webdav: cannot create a curl handle");
		rc = STORAGE_ETEMP;
		goto out;
	}
	if (w.plen >= 2) {
		/* the shard is known; start at the deepest collection the prefix names */
		char *shard = g_strndup(prefix, webdav_shard_len(prefix));

		slash = strrchr(prefix, '/');
		rel = slash != NULL ? g_strndup(prefix, (gsize)(slash - prefix + 1)) : g_strdup("");
		rc = webdav_walk_dir(&w, shard, rel);
		g_free(shard);
		goto out;
	}
	/* "" or one character: the matching shards of the base collection */
	rc = webdav_propfind(ws, w.h, ws->base, "1", &ms);
	if (rc == STORAGE_ENOENT) {
		rc = STORAGE_OK; /* nothing stored yet */
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	for (i = 0; i < ms.entries->len; i++) {
		struct webdav_entry *e = g_ptr_array_index(ms.entries, i);
		const char *name = webdav_child(ws->base_path, e->href);

		if (name != NULL && e->collection && webdav_name_ok(name) && strlen(name) <= 2 &&
		    strncmp(name, prefix, w.plen) == 0)
			g_ptr_array_add(shards, g_strdup(name));
	}
	for (i = 0; i < shards->len; i++) {
		rc = webdav_walk_dir(&w, g_ptr_array_index(shards, i), "");
		if (rc != STORAGE_OK)
			goto out;
	}
out:
	webdav_ms_clear(&ms);
	g_ptr_array_unref(shards);
	g_free(rel);
	if (w.h != NULL)
		curl_easy_cleanup(w.h);
	return rc;
}

/* ---- maintenance (purge): stale temporaries, empty collections ---- */

#define WEBDAV_LOCK_TIMEOUT "Second-10" /* a purge that dies holding a lock blocks puts this long */

static const char webdav_lock_body[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
	"<D:locktype><D:write/></D:locktype><D:owner>offloadctl purge</D:owner></D:lockinfo>\n";

/* webdav_lock_hdr - curl header callback: keep the Lock-Token value */
static size_t
webdav_lock_hdr(char *buf, size_t size, size_t n, void *arg)
{
	char **tok = arg;
	size_t len = size * n;

	if (len > 11 && g_ascii_strncasecmp(buf, "Lock-Token:", 11) == 0 && *tok == NULL) {
		char *v = g_strstrip(g_strndup(buf + 11, len - 11));

		*tok = v;
	}
	return len;
}

/* webdav_lock - exclusive depth-infinity write LOCK of collection url: 1 and
 * *token (the "<...>" coded URL) when held, 0 when the server has no locking
 * (405/501/400...) or someone else holds a lock there (423), STORAGE_ENOENT,
 * or an error. */
static int
webdav_lock(const struct webdav_store *ws, CURL *h, const char *url, char **token)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char *tok = NULL;
	CURLcode cc;
	long code = 0;
	int rc;

	*token = NULL;
	hdrs = curl_slist_append(hdrs, "Depth: infinity");
	hdrs = curl_slist_append(hdrs, "Timeout: " WEBDAV_LOCK_TIMEOUT);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/xml; charset=utf-8");
	webdav_setup(ws, h, errbuf);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "LOCK");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, webdav_lock_body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(sizeof webdav_lock_body - 1));
	curl_easy_setopt(h, CURLOPT_TIMEOUT, WEBDAV_REQUEST_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, webdav_lock_hdr);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &tok);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	if (cc == CURLE_OK && (code == 200 || code == 201) && tok != NULL && tok[0] == '<') {
		*token = tok;
		return 1;
	}
	g_free(tok);
	if (cc == CURLE_OK && (code == 404 || code == 409))
		return STORAGE_ENOENT;
	/* no locking (2xx without a token: none usable), or 423: someone else
	 * (another purge node) holds a lock there: leave it to them */
	if (cc == CURLE_OK && (code == 400 || code == 403 || code == 405 || code == 501 ||
	    code == 200 || code == 201 || code == 423))
		return 0;
	rc = webdav_fail("LOCK", url, cc, code, errbuf);
	return rc;
}

static void
webdav_unlock(const struct webdav_store *ws, CURL *h, const char *url, const char *token)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char *lt = g_strdup_printf("Lock-Token: %s", token);
	long code = 0;
	CURLcode cc;

	hdrs = curl_slist_append(hdrs, lt);
	cc = webdav_simple(ws, h, "UNLOCK", url, hdrs, &code, errbuf);
	/* a lock we cannot release expires after WEBDAV_LOCK_TIMEOUT */
	if (cc != CURLE_OK || (code != 204 && code != 200 && code != 404 && code != 409))
		log_warning("storage webdav: UNLOCK %s: %s (the lock expires by itself)", url,
			cc != CURLE_OK ? curl_easy_strerror(cc) : "unexpected HTTP status");
	curl_slist_free_all(hdrs);
	g_free(lt);
}

/*
 * webdav_rmcol_if_empty - DELETE collection url (ends in '/') if PROPFIND
 * Depth 1 shows no member; hidden members (".name": temporaries of a put)
 * count as empty when hidden_ok. A collection DELETE is recursive and
 * WebDAV has no "delete if empty", so with lock_url (an ancestor that always
 * exists: the base collection) the second look and the DELETE run under an
 * exclusive depth-infinity LOCK of lock_url: a put that arrives meanwhile
 * gets 423 and retries, then finds the collection gone and makes it again.
 * Not a LOCK of url itself: nginx dav-ext 3.0 keeps a lock taken on a URL
 * that has just vanished (LOCK answers 409, no token to release it) until
 * its zone timeout, which two purges pruning one shard hit under load.
 * Without lock_url the caller vouches that nobody writes below url. A server
 * without locking keeps what needs a lock. 1 = deleted (or already gone),
 * 0 = kept, < 0 error.
 */
/* webdav_col_empty - PROPFIND Depth 1: 1 if collection url has no member
 * (hidden non-collection members allowed when hidden_ok), 0 if it has,
 * STORAGE_ENOENT if it is gone, or an error */
static int
webdav_col_empty(const struct webdav_store *ws, CURL *h, const char *url, bool hidden_ok)
{
	struct webdav_ms ms = { 0 };
	char *path = NULL;
	guint i;
	int rc;

	rc = webdav_propfind(ws, h, url, "1", &ms);
	if (rc != STORAGE_OK)
		goto out;
	rc = 1;
	path = webdav_href_path(url);
	for (i = 0; i < ms.entries->len && rc == 1; i++) {
		struct webdav_entry *e = g_ptr_array_index(ms.entries, i);
		const char *name = webdav_child(path, e->href);

		if (name != NULL && !(hidden_ok && name[0] == '.' && !e->collection))
			rc = 0;
	}
out:
	webdav_ms_clear(&ms);
	g_free(path);
	return rc;
}

static int
webdav_rmcol_if_empty(const struct webdav_store *ws, CURL *h, const char *url,
	const char *lock_url, bool hidden_ok)
{
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char *token = NULL, *ifh = NULL;
	CURLcode cc;
	long code = 0;
	int rc;

	/* first a look without a lock: a shard in use (the usual case) costs one request */
	rc = webdav_col_empty(ws, h, url, hidden_ok);
	if (rc != 1)
		return rc == STORAGE_ENOENT ? 1 : rc;
	if (lock_url != NULL) {
		rc = webdav_lock(ws, h, lock_url, &token);
		if (rc <= 0)
			return rc == STORAGE_ENOENT ? 1 : rc; /* 0: no locking, or another purge's */
		/* again, now that nobody else can add a member */
		rc = webdav_col_empty(ws, h, url, hidden_ok);
		if (rc != 1) {
			rc = rc == STORAGE_ENOENT ? 1 : rc;
			goto out;
		}
	}
	if (ws->prune_pause_ms > 0 && !hidden_ok) /* a shard (hidden_ok: an id) */
		g_usleep((gulong)ws->prune_pause_ms * 1000);
	hdrs = curl_slist_append(hdrs, "Depth: infinity");
	if (token != NULL) {
		ifh = g_strdup_printf("If: (%s)", token);
		hdrs = curl_slist_append(hdrs, ifh);
	}
	cc = webdav_simple(ws, h, "DELETE", url, hdrs, &code, errbuf);
	if (cc == CURLE_OK && (code == 200 || code == 204 || code == 202 || code == 404))
		rc = 1;
	else
		rc = webdav_fail("DELETE", url, cc, code, errbuf);
out:
	if (token != NULL)
		webdav_unlock(ws, h, lock_url, token);
	curl_slist_free_all(hdrs);
	g_free(token);
	g_free(ifh);
	return rc;
}

/* webdav_temp_key - the key a hidden temp ".<leaf>.<16 hex>" in collection
 * rel (ends in '/' or "") was for (owned), or NULL if it is not one of ours */
static char *
webdav_temp_key(const char *rel, const char *name)
{
	const char *dot;
	char *leaf, *key = NULL;

	if (name[0] != '.' || (dot = strrchr(name, '.')) == name || strlen(dot + 1) != 16)
		return NULL;
	leaf = g_strndup(name + 1, (gsize)(dot - name - 1));
	if (webdav_name_ok(leaf))
		key = g_strconcat(rel, leaf, NULL);
	g_free(leaf);
	return key;
}

struct webdav_sweep {
	const struct webdav_store *ws;
	CURL *h;
	int64_t before;
	bool dry;
	storage_stale_fn fn;
	void *arg;
	int n;
	int rc; /* first error */
};

static void
webdav_sweep_err(struct webdav_sweep *sw, int rc)
{
	if (rc < 0 && (sw->rc == STORAGE_OK || rc == STORAGE_ETEMP))
		sw->rc = rc;
}

/* webdav_sweep_temps - DELETE the stale hidden temps among ms's children of
 * collection path dir (key-space rel); false if a member remains (an object,
 * a collection, a fresh temp) */
static bool
webdav_sweep_temps(struct webdav_sweep *sw, struct webdav_ms *ms, const char *dir,
	const char *rel, const char *url, GPtrArray *subcols)
{
	bool empty = true;
	guint i;

	for (i = 0; i < ms->entries->len; i++) {
		struct webdav_entry *e = g_ptr_array_index(ms->entries, i);
		const char *name = webdav_child(dir, e->href);
		char *key, *turl;
		int rc;

		if (name == NULL)
			continue;
		if (e->collection && subcols != NULL && webdav_name_ok(name)) {
			g_ptr_array_add(subcols, g_strdup(name));
			continue;
		}
		key = e->collection ? NULL : webdav_temp_key(rel, name);
		if (key == NULL || e->mtime <= 0 || e->mtime >= sw->before) {
			empty = false;
			g_free(key);
			continue;
		}
		turl = g_strconcat(url, name, NULL);
		rc = sw->dry ? STORAGE_OK : webdav_delete_url(sw->ws, sw->h, turl, false);
		if (rc == STORAGE_OK || rc == STORAGE_ENOENT) {
			sw->n++;
			if (sw->fn != NULL)
				sw->fn(sw->arg, key, (int64_t)e->size, e->mtime);
		}
		webdav_sweep_err(sw, rc == STORAGE_ENOENT ? STORAGE_OK : rc);
		if (sw->dry || (rc != STORAGE_OK && rc != STORAGE_ENOENT))
			empty = false;
		g_free(turl);
		g_free(key);
	}
	return empty;
}

/*
 * webdav_sweep_shard - one shard collection: stale hidden temps in it; its
 * id collections last modified before the cutoff that hold nothing visible
 * (only hidden temps, which nginx dav-ext does not even list: a collection's
 * getlastmodified is its directory's mtime, which every temp PUT touches)
 * are deleted whole, since no put may run that long; then the shard if it
 * is empty (under a LOCK, see webdav_rmcol_if_empty).
 */
static void
webdav_sweep_shard(struct webdav_sweep *sw, const char *shard)
{
	struct webdav_ms ms = { 0 }, ims = { 0 };
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	char *url = g_strdup_printf("%s%s/", sw->ws->base, shard);
	char *dir = g_strdup_printf("%s%s/", sw->ws->base_path, shard);
	bool empty;
	guint i, kept = 0;
	int rc;

	rc = webdav_propfind(sw->ws, sw->h, url, "1", &ms);
	if (rc != STORAGE_OK) {
		webdav_sweep_err(sw, rc == STORAGE_ENOENT ? STORAGE_OK : rc);
		goto out;
	}
	empty = webdav_sweep_temps(sw, &ms, dir, "", url, ids);
	for (i = 0; i < ids->len; i++) {
		const char *id = g_ptr_array_index(ids, i);
		struct webdav_entry *e = NULL;
		char *iurl = g_strdup_printf("%s%s/", url, id);
		char *idir = g_strdup_printf("%s%s/", dir, id);
		char *irel = g_strdup_printf("%s/", id);
		guint j;

		for (j = 0; j < ms.entries->len && e == NULL; j++) {
			struct webdav_entry *c = g_ptr_array_index(ms.entries, j);
			const char *name = webdav_child(dir, c->href);

			if (name != NULL && strcmp(name, id) == 0)
				e = c;
		}
		/* a key in the wrong shard is not ours; a fresh collection is in use */
		if (webdav_shard_len(id) != strlen(shard) || strncmp(id, shard, strlen(shard)) != 0 ||
		    e == NULL || e->mtime <= 0 || e->mtime >= sw->before) {
			kept++;
			goto next;
		}
		rc = webdav_propfind(sw->ws, sw->h, iurl, "1", &ims);
		if (rc != STORAGE_OK) {
			webdav_sweep_err(sw, rc == STORAGE_ENOENT ? STORAGE_OK : rc);
			kept += rc != STORAGE_ENOENT;
			goto next;
		}
		if (!webdav_sweep_temps(sw, &ims, idir, irel, iurl, NULL)) {
			kept++;
			goto next;
		}
		if (sw->dry) {
			sw->n++;
			if (sw->fn != NULL)
				sw->fn(sw->arg, irel, -1, e->mtime);
			kept++;
			goto next;
		}
		rc = webdav_rmcol_if_empty(sw->ws, sw->h, iurl, NULL, true);
		if (rc == 1) {
			sw->n++;
			if (sw->fn != NULL)
				sw->fn(sw->arg, irel, -1, e->mtime);
		} else {
			kept++;
			webdav_sweep_err(sw, rc);
		}
next:
		webdav_ms_clear(&ims);
		g_free(irel);
		g_free(idir);
		g_free(iurl);
	}
	if (empty && kept == 0 && !sw->dry)
		webdav_sweep_err(sw, webdav_rmcol_if_empty(sw->ws, sw->h, url, sw->ws->base, false));
out:
	webdav_ms_clear(&ms);
	g_ptr_array_unref(ids);
	g_free(dir);
	g_free(url);
}

static int
webdav_abort_stale(void *be, int64_t before, bool dry, storage_stale_fn fn, void *arg)
{
	struct webdav_store *ws = be;
	struct webdav_sweep sw = { ws, NULL, before, dry, fn, arg, 0, STORAGE_OK };
	struct webdav_ms ms = { 0 };
	GPtrArray *shards = g_ptr_array_new_with_free_func(g_free);
	guint i;
	int rc;

	sw.h = curl_easy_init();
	if (sw.h == NULL) {
		log_error("storage webdav: cannot create a curl handle");
		rc = STORAGE_ETEMP;
		goto out;
	}
	rc = webdav_propfind(ws, sw.h, ws->base, "1", &ms);
	if (rc == STORAGE_ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	for (i = 0; i < ms.entries->len; i++) {
		struct webdav_entry *e = g_ptr_array_index(ms.entries, i);
		const char *name = webdav_child(ws->base_path, e->href);

		if (name != NULL && e->collection && webdav_name_ok(name) && strlen(name) <= 2)
			g_ptr_array_add(shards, g_strdup(name));
	}
	webdav_ms_clear(&ms);
	for (i = 0; i < shards->len; i++)
		webdav_sweep_shard(&sw, g_ptr_array_index(shards, i));
	rc = sw.rc != STORAGE_OK ? sw.rc : sw.n;
out:
	webdav_ms_clear(&ms);
	g_ptr_array_unref(shards);
	if (sw.h != NULL)
		curl_easy_cleanup(sw.h);
	return rc;
}

/* webdav_prune - the purged id's collection (nobody writes there: no lock
 * needed; hidden temps of a crashed put go with it), then its shard if it is
 * empty, under a LOCK; a server without locking keeps its shards (at most
 * 36 + 36*36 collections) */
static int
webdav_prune(void *be, const char *id)
{
	struct webdav_store *ws = be;
	char *shard = webdav_url(ws, id, "");
	char *iurl = g_strconcat(shard, id, "/", NULL);
	CURL *h = curl_easy_init();
	int rc;

	if (h == NULL) {
		log_error("storage webdav: cannot create a curl handle");
		rc = STORAGE_ETEMP;
		goto out;
	}
	rc = webdav_rmcol_if_empty(ws, h, iurl, NULL, true);
	if (rc == 1)
		rc = webdav_rmcol_if_empty(ws, h, shard, ws->base, false);
	if (rc >= 0 || rc == STORAGE_ENOENT)
		rc = STORAGE_OK;
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	g_free(iurl);
	g_free(shard);
	return rc;
}

const struct storage_ops storage_webdav_ops = {
	.name = "webdav",
	.open = webdav_open,
	.close = webdav_close,
	.put_begin = webdav_put_begin,
	.put_write = webdav_put_write,
	.put_commit = webdav_put_commit,
	.put_abort = webdav_put_abort,
	.get = webdav_get,
	.stat = webdav_stat,
	.del = webdav_del,
	.list = webdav_list,
	.abort_stale = webdav_abort_stale,
	.prune = webdav_prune,
};
