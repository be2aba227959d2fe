/*
 * storage_webdav_propfind.c - PROPFIND (Depth 0 or 1) with retries and its
 * 207 multistatus, parsed with GMarkup as it arrives, by local element name
 * (so any namespace prefix works): per <response> the decoded href, whether
 * it is a collection, getcontentlength and getlastmodified. Plus the
 * helpers that read the listing: an entry's name below a collection, and
 * which names are key segments.
 *
 * Memory: struct webdav_ms owns its entries until webdav_ms_clear().
 * Threads: a struct webdav_ms and its handle belong to one thread.
 */
#include "storage_webdav.h"

#include <string.h>

#include "log.h"

static const char webdav_propfind_body[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<D:propfind xmlns:D=\"DAV:\"><D:prop><D:resourcetype/><D:getcontentlength/>"
	"<D:getlastmodified/></D:prop></D:propfind>\n";


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
char *
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
	long code = 0;

	if (!ms->checked) {
		curl_easy_getinfo(ms->h, CURLINFO_RESPONSE_CODE, &code);
		ms->is207 = code == 207;
		ms->checked = true;
	}
	if (ms->is207)
		webdav_ms_feed(ms, ptr, size * n);
	return size * n;
}

void
webdav_ms_feed(struct webdav_ms *ms, const char *buf, size_t len)
{
	GError *err = NULL;

	if (ms->parse_failed)
		return;
	if (!g_markup_parse_context_parse(ms->ctx, buf, (gssize)len, &err)) {
		ms->parse_failed = true;
		ms->parse_error = g_strdup(err->message);
		g_error_free(err);
	}
}

bool
webdav_ms_finish(struct webdav_ms *ms)
{
	GError *err = NULL;

	if (!ms->parse_failed && !g_markup_parse_context_end_parse(ms->ctx, &err)) {
		ms->parse_failed = true;
		ms->parse_error = g_strdup(err->message);
		g_error_free(err);
	}
	return !ms->parse_failed;
}

void
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

void
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
int
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
		webdav_setup_xml(ws, h, errbuf, "PROPFIND", url, hdrs, webdav_propfind_body,
			sizeof webdav_propfind_body - 1);
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
	if (!webdav_ms_finish(ms)) {
		log_error("storage webdav: PROPFIND %s: unreadable 207 multistatus: %s", url,
			ms->parse_error);
		rc = STORAGE_EPERM;
	}
out:
	curl_slist_free_all(hdrs);
	g_free(dh);
	return rc;
}

/* webdav_name_ok - a visible key segment: [a-z0-9]+ (skips temps and junk) */
bool
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

/* webdav_child - the name of an entry directly below collection path dir
 * (decoded, ends in '/'), or NULL for the collection itself and others */
const char *
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

/* webdav_shards - the shard collections of the base whose names start with
 * prefix[0, plen) into shards; ENOENT = no base collection yet */
int
webdav_shards(const struct webdav_store *ws, CURL *h, const char *prefix, size_t plen,
	GPtrArray *shards)
{
	struct webdav_ms ms = { 0 };
	guint i;
	int rc;

	rc = webdav_propfind(ws, h, ws->base, "1", &ms);
	for (i = 0; rc == STORAGE_OK && i < ms.entries->len; i++) {
		struct webdav_entry *e = g_ptr_array_index(ms.entries, i);
		const char *name = webdav_child(ws->base_path, e->href);

		if (name != NULL && e->collection && webdav_name_ok(name) && strlen(name) <= 2 &&
		    strncmp(name, prefix, plen) == 0)
			g_ptr_array_add(shards, g_strdup(name));
	}
	webdav_ms_clear(&ms);
	return rc;
}
