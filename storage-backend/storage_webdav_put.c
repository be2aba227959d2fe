/*
 * storage_webdav_put.c - the webdav backend's put stream: MKCOL of the
 * missing collections at begin (wrong credentials show before any data).
 * A body up to WEBDAV_MEM_MAX stays in memory and goes up at commit as a
 * PUT with a Content-Length (retried). A larger one is streamed while it
 * is written (storage_webdav_stream.c): a chunked PUT whose first bytes
 * are the memory head, no spool; a server that refuses chunked bodies
 * (411/501 on the first try, remembered for the store) gets today's
 * spool instead: an unnamed spool file and a PUT with a Content-Length
 * at commit. Either way the PUT goes to a hidden temporary
 * ".<leaf>.<random>" in the same collection, and commit MOVEs it over the
 * final name (Overwrite: T). A collection removed meanwhile (purge pruning
 * an empty shard) is made again and the round repeated while the body can
 * still be sent again (memory, spool, or a stream that has not got past
 * its head); a failed PUT or MOVE DELETEs the temp. Abort kills a running
 * PUT and DELETEs the temp; a spooled body was not sent yet.
 *
 * Memory: struct webdav_put is its caller's until commit or abort, which
 * free it. Threads: a put and its curl handle belong to one thread (the
 * handle to the stream's worker while a PUT streams).
 */
#include "storage_webdav.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define WEBDAV_UPLOAD_BUFFER (512L * 1024)
#define WEBDAV_MEM_MAX (1024u * 1024) /* a put body up to this stays in memory */

struct webdav_put {
	struct webdav_store *ws;
	char *url;      /* final object */
	char *tmp_url;  /* hidden temporary in the same collection */
	char *coll_url; /* its collection, ends in '/' */
	CURL *h;
	struct curl_slist *hdrs;
	GByteArray *mem; /* the body while it is at most WEBDAV_MEM_MAX; a stream's head */
	struct webdav_stream *st; /* the PUT streaming the body, or NULL */
	bool streamed;   /* a stream was started: the temp may exist */
	int err;         /* the stream failed: this error */
	int fd;          /* else an unnamed spool file, -1 = none */
	uint64_t size;   /* bytes written */
	uint64_t rpos;   /* upload read position */
	char errbuf[CURL_ERROR_SIZE];
};

#define WEBDAV_SPOOL 1 /* webdav_put_stream_open: the server wants a Content-Length */

/* webdav_put_stream_fail - the stream ended early: its error, logged once */
static int
webdav_put_stream_fail(struct webdav_put *p, CURLcode cc, long code)
{
	p->err = webdav_fail("PUT", p->tmp_url, cc, code, p->errbuf);
	if (p->err == STORAGE_OK || p->err == STORAGE_ENOENT || (cc == CURLE_OK && code < 300))
		p->err = STORAGE_ETEMP; /* a 2xx before the end, or the collection vanished */
	return p->err;
}

/* webdav_put_stream_write - hand bytes to the running stream */
static int
webdav_put_stream_write(struct webdav_put *p, const void *buf, size_t len)
{
	CURLcode cc;
	long code;

	if (p->err != STORAGE_OK)
		return p->err;
	if (webdav_stream_write(p->st, buf, len) == STORAGE_OK) {
		p->size += len;
		return STORAGE_OK;
	}
	cc = webdav_stream_finish(p->st, &code, p->errbuf);
	p->st = NULL;
	return webdav_put_stream_fail(p, cc, code);
}

/* webdav_put_stream_open - start streaming the body (the head in p->mem);
 * a missing collection is made and the start repeated (the head can be
 * sent again); WEBDAV_SPOOL if the server refuses chunked bodies */
static int
webdav_put_stream_open(struct webdav_put *p)
{
	CURLcode cc;
	long code;
	int attempt, rc;

	for (attempt = 1;; attempt++) {
		if (attempt > 1) {
			webdav_backoff(attempt - 1);
			rc = webdav_mkcol(p->ws, p->h, p->coll_url, 0);
			if (rc != STORAGE_OK)
				return rc;
		}
		p->streamed = true;
		if (webdav_stream_start(p->ws, p->h, p->tmp_url, p->mem, &p->st, &cc, &code,
			p->errbuf) == STORAGE_OK)
			return STORAGE_OK;
		if (cc == CURLE_OK && (code == 411 || code == 501 || code == 417 ||
			(code >= 200 && code < 300))) {
			log_info("storage webdav: PUT %s: HTTP %ld to a chunked body: "
				"spooling bodies for a Content-Length from now on", p->tmp_url, code);
			g_atomic_int_set(&p->ws->no_chunked, 1);
			return WEBDAV_SPOOL;
		}
		if (!webdav_again(cc, code, attempt) &&
		    !(cc == CURLE_OK && (code == 404 || code == 409) && attempt < 3))
			return webdav_put_stream_fail(p, cc, code);
	}
}

/* webdav_spool_open - the spool file of a body too big for memory */
static int
webdav_spool_open(const struct webdav_store *ws)
{
	int fd = storage_spool_open(ws->spool_dir);

	if (fd < 0)
		log_error("storage webdav: spool file in %s: %s", ws->spool_dir, g_strerror(errno));
	return fd;
}

int
webdav_put_write(void *put, const void *buf, size_t len)
{
	struct webdav_put *p = put;
	const char *c = buf;
	ssize_t n;
	int rc;

	if (p->err != STORAGE_OK || p->st != NULL)
		return webdav_put_stream_write(p, buf, len);
	if (p->fd < 0 && p->mem->len + len <= WEBDAV_MEM_MAX) {
		g_byte_array_append(p->mem, buf, (guint)len);
		p->size += len;
		return STORAGE_OK;
	}
	if (p->fd < 0 && !g_atomic_int_get(&p->ws->no_chunked)) {
		rc = webdav_put_stream_open(p);
		if (rc != WEBDAV_SPOOL)
			return rc == STORAGE_OK ? webdav_put_stream_write(p, buf, len) : rc;
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
	webdav_stream_kill(p->st); /* before the handle: its worker uses it */
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

void *
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
	p->h = webdav_handle();
	if (p->h == NULL) {
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

/* webdav_put_commit_stream - end the streamed PUT, MOVE the temp; the body
 * is gone, so no round is repeated: a failure DELETEs the temp */
static int
webdav_put_commit_stream(struct webdav_put *p, struct curl_slist *hdrs)
{
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	long code = 0;
	int rc = p->err;

	if (p->st != NULL) {
		cc = webdav_stream_finish(p->st, &code, p->errbuf);
		p->st = NULL;
		if (cc != CURLE_OK || (code != 201 && code != 204 && code != 200))
			rc = webdav_put_stream_fail(p, cc, code);
	}
	if (rc == STORAGE_OK) {
		cc = webdav_simple(p->ws, p->h, "MOVE", p->tmp_url, hdrs, &code, errbuf);
		if (cc == CURLE_OK && (code == 201 || code == 204))
			return STORAGE_OK;
		/* create-if-absent (Overwrite: F): the object exists */
		rc = cc == CURLE_OK && code == 412 ? STORAGE_EEXIST :
			webdav_fail("MOVE", p->tmp_url, cc, code, errbuf);
		if (rc == STORAGE_ENOENT)
			rc = STORAGE_ETEMP; /* the temp or its collection vanished */
	}
	webdav_delete_url(p->ws, p->h, p->tmp_url, true);
	return rc;
}

/* webdav_put_finish - PUT the temp, MOVE it over the final name (excl:
 * Overwrite: F, RFC 4918 §10.6, so an existing object answers 412 and stays;
 * the temp is deleted). A collection removed meanwhile (409/404) is made
 * again and the round repeated. */
static int
webdav_put_finish(void *put, bool excl)
{
	struct webdav_put *p = put;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	char *dest = g_strdup_printf("Destination: %s", p->url);
	CURLcode cc;
	long code = 0;
	int round, rc = STORAGE_ETEMP;

	hdrs = curl_slist_append(hdrs, dest);
	hdrs = curl_slist_append(hdrs, excl ? "Overwrite: F" : "Overwrite: T");
	if (p->streamed && p->fd < 0) {
		rc = webdav_put_commit_stream(p, hdrs);
		goto out;
	}
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
		if (excl && cc == CURLE_OK && code == 412) {
			rc = STORAGE_EEXIST;
			webdav_delete_url(p->ws, p->h, p->tmp_url, true);
			goto out;
		}
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

int
webdav_put_commit(void *put)
{
	return webdav_put_finish(put, false);
}

int
webdav_put_commit_new(void *put)
{
	return webdav_put_finish(put, true);
}

/* webdav_put_abort - kill a streaming PUT and DELETE its temp; a spooled
 * body has not been sent */
void
webdav_put_abort(void *put)
{
	struct webdav_put *p = put;

	if (p != NULL && p->streamed) {
		webdav_stream_kill(p->st);
		p->st = NULL;
		webdav_delete_url(p->ws, p->h, p->tmp_url, true);
	}
	webdav_put_free(p);
}
