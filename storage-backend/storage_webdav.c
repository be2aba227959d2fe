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
 * The body is kept in memory up to 1 MiB and PUT with a Content-Length at
 * commit (retried). A larger body is streamed while it is written, as a
 * chunked PUT (storage_webdav_stream.c): memory flat, no spool, sending
 * overlaps encryption. Servers that refuse chunked bodies (411/501: PHP-FPM
 * setups; Nextcloud, whose chunked upload v2 is not implemented) get an
 * unnamed spool file (O_TMPFILE in [milter] spool_dir, else $TMPDIR) and a
 * Content-Length PUT at commit, from the first refusal on. Either way the
 * PUT goes to a hidden temporary ".<leaf>.<random>" in the same collection,
 * then commit MOVEs it to the final name with Overwrite: T (nginx answers
 * 204, RFC 4918 says 201), so readers see the whole object or nothing; a
 * collection removed meanwhile is made again and the round repeated while
 * the body can be resent; a failed PUT or MOVE DELETEs the temp. Abort kills
 * a streaming PUT and DELETEs the temp. A crash between PUT and MOVE leaves
 * a hidden temp that no reader or lister sees.
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
 * exponential backoff and jitter, the PUT too while its body can be resent
 * (in memory, spooled, or a stream not past its head); a streamed PUT that
 * breaks off later fails the put (ETEMP: the caller offloads again). The
 * password is never logged; URLs in logs carry no credentials.
 *
 * Memory: struct webdav_store (base URL, credentials, wiped on close) is
 * owned by the storage; struct webdav_put by its caller until commit/abort.
 * Threads: the store is read-only after open; every operation uses its own
 * curl handle (CURLOPT_NOSIGNAL), so calls may run on many threads.
 */
#include "storage_webdav.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "log.h"

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

	if (storage_curl_init_once() != CURLE_OK) {
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
	if (ws->user != NULL && strcmp(scheme, "http") == 0 && !storage_host_loopback(host))
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
	CURL *h = webdav_handle();
	CURLcode cc = CURLE_OK;
	uint64_t size, pos;
	int64_t mtime;
	int attempt, rc = STORAGE_OK;

	if (h == NULL) {
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
	CURL *h = webdav_handle();
	int rc;

	if (h == NULL)
		return STORAGE_ETEMP;
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
	CURL *h = webdav_handle();
	int rc;

	if (h == NULL) {
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

/* webdav_may_match - can a key starting with s (len bytes) start with the prefix, or vice versa? */
static bool
webdav_may_match(const struct webdav_walk *w, const char *s, size_t len)
{
	size_t n = len < w->plen ? len : w->plen;

	return strncmp(s, w->prefix, n) == 0;
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
	GPtrArray *shards = g_ptr_array_new_with_free_func(g_free);
	const char *slash;
	char *rel = NULL;
	guint i;
	int rc = STORAGE_OK;

	w.h = webdav_handle();
	if (w.h == NULL) {
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
	rc = webdav_shards(ws, w.h, prefix, w.plen, shards);
	if (rc == STORAGE_ENOENT) {
		rc = STORAGE_OK; /* nothing stored yet */
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	for (i = 0; i < shards->len; i++) {
		rc = webdav_walk_dir(&w, g_ptr_array_index(shards, i), "");
		if (rc != STORAGE_OK)
			goto out;
	}
out:
	g_ptr_array_unref(shards);
	g_free(rel);
	if (w.h != NULL)
		curl_easy_cleanup(w.h);
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
	.put_commit_new = webdav_put_commit_new,
	.get = webdav_get,
	.stat = webdav_stat,
	.del = webdav_del,
	.list = webdav_list,
	.abort_stale = webdav_abort_stale,
	.prune = webdav_prune,
};
