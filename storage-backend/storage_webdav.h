/*
 * storage_webdav.h - private to the webdav backend (storage_webdav*.c): the
 * store, the HTTP request layer with retries and error classification
 * (storage_webdav_http.c), PROPFIND and its 207 multistatus
 * (storage_webdav_propfind.c), the put stream (storage_webdav_put.c) and
 * purge's maintenance (storage_webdav_prune.c). The design is described at
 * the top of storage_webdav.c.
 * Memory and threads: see storage_webdav.c; a curl handle belongs to one
 * thread, the store is read-only after open.
 */
#ifndef OFFLOAD_STORAGE_WEBDAV_H
#define OFFLOAD_STORAGE_WEBDAV_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "storage_backend.h"

struct webdav_store {
	char *base;      /* URL, ends in '/' */
	char *base_path; /* its path, percent-decoded, ends in '/' */
	char *user;      /* NULL = no auth */
	char *password;
	char *spool_dir; /* put bodies above WEBDAV_MEM_MAX */
	char *ca_file;   /* NULL = system CAs */
	long prune_pause_ms; /* test knob: shard removal waits this long before its DELETE */
	gint no_chunked;     /* atomic: the server refused a chunked PUT body (411/501) */
};

/* one <response> of a 207 multistatus */
struct webdav_entry {
	char *href;      /* percent-decoded path */
	bool collection;
	uint64_t size;
	int64_t mtime;
};

/* a PROPFIND answer being parsed; { 0 } to start, webdav_ms_clear() after */
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

/* ---- storage_webdav_http.c ---- */
/* webdav_shard_len - the shard is at most 2 characters of the first segment */
size_t webdav_shard_len(const char *key);
/* webdav_url - BASE<shard>/<rel> for a key-space path rel ("" = the shard) */
char *webdav_url(const struct webdav_store *ws, const char *shard_key, const char *rel);
/* webdav_handle - a new curl handle, logged NULL on failure */
CURL *webdav_handle(void);
int webdav_curl_class(CURLcode cc);
int webdav_code_class(long code);
/* webdav_fail - log a failed request once and classify it */
int webdav_fail(const char *method, const char *url, CURLcode cc, long code, const char *errbuf);
/* webdav_again - should attempt number attempt (1-based) be followed by another? */
bool webdav_again(CURLcode cc, long code, int attempt);
/* webdav_backoff - sleep before retry number attempt (1-based) */
void webdav_backoff(int attempt);
/* webdav_setup - a handle (new or reset) with the options every request shares */
void webdav_setup(const struct webdav_store *ws, CURL *h, char *errbuf);
/* webdav_setup_xml - webdav_setup() for method on url with an XML body */
void webdav_setup_xml(const struct webdav_store *ws, CURL *h, char *errbuf, const char *method,
	const char *url, struct curl_slist *hdrs, const char *body, size_t len);
/* webdav_simple - one bodiless request with retries; *code = the final HTTP status */
CURLcode webdav_simple(const struct webdav_store *ws, CURL *h, const char *method,
	const char *url, struct curl_slist *hdrs, long *code, char *errbuf);
/* webdav_delete_url - DELETE with retries; OK, ENOENT or a logged error (quiet: not logged) */
int webdav_delete_url(const struct webdav_store *ws, CURL *h, const char *url, bool quiet);
/* webdav_mkcol - make collection url (ends in '/'), its parents on 409 */
int webdav_mkcol(const struct webdav_store *ws, CURL *h, const char *url, int depth);

/* ---- storage_webdav_propfind.c ---- */
/* webdav_propfind - PROPFIND url at depth ("0" or "1") into ms->entries, with
 * retries; STORAGE_OK, ENOENT (404/409/301: no such collection) or logged error */
int webdav_propfind(const struct webdav_store *ws, CURL *h, const char *url, const char *depth,
	struct webdav_ms *ms);
void webdav_ms_clear(struct webdav_ms *ms);
/* webdav_ms_reset - ready for a new 207 body (entries emptied, parser new) */
void webdav_ms_reset(struct webdav_ms *ms);
/* webdav_ms_feed - the next bytes of a 207 body; the first error is kept in
 * ms->parse_failed / parse_error and the rest ignored */
void webdav_ms_feed(struct webdav_ms *ms, const char *buf, size_t len);
/* webdav_ms_finish - the end of the body: false when it was not well-formed */
bool webdav_ms_finish(struct webdav_ms *ms);
/* webdav_href_path - the decoded path of an href (absolute URL or absolute path) */
char *webdav_href_path(const char *href);
/* webdav_child - the name of an entry directly below collection path dir
 * (decoded, ends in '/'), or NULL for the collection itself and others;
 * may cut a trailing '/' off href */
const char *webdav_child(const char *dir, char *href);
/* webdav_name_ok - a visible key segment: [a-z0-9]+ (skips temps and junk) */
bool webdav_name_ok(const char *name);
/* webdav_shards - the shard collections of the base whose names start with
 * prefix[0, plen) into shards (g_free'd strings); ENOENT = no base yet */
int webdav_shards(const struct webdav_store *ws, CURL *h, const char *prefix, size_t plen,
	GPtrArray *shards);

/* ---- storage_webdav_put.c ---- */
void *webdav_put_begin(void *be, const char *key, uint64_t size_hint, int *errp);
int webdav_put_write(void *put, const void *buf, size_t len);
int webdav_put_commit(void *put);
int webdav_put_commit_new(void *put);
void webdav_put_abort(void *put);

/* ---- storage_webdav_stream.c: a put's body streamed as a chunked PUT ---- */
struct webdav_stream;
int webdav_stream_start(const struct webdav_store *ws, CURL *h, const char *url, const GByteArray *head,
	struct webdav_stream **sp, CURLcode *cc, long *code, char *errbuf);
int webdav_stream_write(struct webdav_stream *s, const void *buf, size_t len);
CURLcode webdav_stream_finish(struct webdav_stream *s, long *code, char *errbuf);
void webdav_stream_kill(struct webdav_stream *s);

/* ---- storage_webdav_prune.c ---- */
int webdav_abort_stale(void *be, int64_t before, bool dry, storage_stale_fn fn, void *arg);
int webdav_prune(void *be, const char *id);

#endif
