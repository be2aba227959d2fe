/*
 * storage_webdav_prune.c - the webdav backend's maintenance for purge:
 * prune (an id's collection after purge deleted its objects, then its shard
 * if empty) and abort_stale (stale hidden temps of crashed puts, id
 * collections holding nothing visible, empty shards). A shard is deleted
 * under an exclusive depth-infinity LOCK of the base collection, so a put
 * arriving meanwhile gets 423, retries and makes the shard again; why the
 * base and not the shard: see storage_webdav.c and webdav_rmcol_if_empty().
 *
 * Threads: every call uses its own curl handle; the store is only read.
 */
#include "storage_webdav.h"

#include <string.h>

#include "log.h"

#define WEBDAV_REQUEST_TIMEOUT 120L  /* seconds */
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
	webdav_setup_xml(ws, h, errbuf, "LOCK", url, hdrs, webdav_lock_body,
		sizeof webdav_lock_body - 1);
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

int
webdav_abort_stale(void *be, int64_t before, bool dry, storage_stale_fn fn, void *arg)
{
	struct webdav_store *ws = be;
	struct webdav_sweep sw = { ws, NULL, before, dry, fn, arg, 0, STORAGE_OK };
	GPtrArray *shards = g_ptr_array_new_with_free_func(g_free);
	guint i;
	int rc;

	sw.h = webdav_handle();
	if (sw.h == NULL) {
		rc = STORAGE_ETEMP;
		goto out;
	}
	rc = webdav_shards(ws, sw.h, "", 0, shards);
	if (rc == STORAGE_ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	for (i = 0; i < shards->len; i++)
		webdav_sweep_shard(&sw, g_ptr_array_index(shards, i));
	rc = sw.rc != STORAGE_OK ? sw.rc : sw.n;
out:
	g_ptr_array_unref(shards);
	if (sw.h != NULL)
		curl_easy_cleanup(sw.h);
	return rc;
}

/* webdav_prune - the purged id's collection (nobody writes there: no lock
 * needed; hidden temps of a crashed put go with it), then its shard if it is
 * empty, under a LOCK; a server without locking keeps its shards (at most
 * 36 + 36*36 collections) */
int
webdav_prune(void *be, const char *id)
{
	struct webdav_store *ws = be;
	char *shard = webdav_url(ws, id, "");
	char *iurl = g_strconcat(shard, id, "/", NULL);
	CURL *h = webdav_handle();
	int rc;

	if (h == NULL) {
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
