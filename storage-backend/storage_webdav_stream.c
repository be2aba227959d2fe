/*
 * storage_webdav_stream.c - the webdav put's streamed PUT: a body larger
 * than the in-memory head (storage_webdav_put.c) goes up while it is being
 * written, as one PUT with a chunked body (Transfer-Encoding: chunked, no
 * Content-Length) to the hidden temporary name; commit then MOVEs it as for
 * a spooled body. Nothing of the object is spooled.
 *
 * A curl worker thread per stream runs curl_easy_perform(); its read
 * callback takes the head, then the bytes the writer puts into a bounded
 * ring buffer (WEBDAV_RING bytes): the writer blocks while the ring is full
 * and is woken when half of it is free, the callback blocks until it can
 * fill curl's upload buffer (or a quarter ring, or the body ended); each
 * side signals the other only when that one waits (a wake per 256 KiB,
 * not a futex call per copy). One thread per stream rather than curl
 * multi driven from the writer: the writer (decode, hash, encrypt) and the
 * sending then run on two cores, and the put API stays a blocking push
 * API; a put is one thread's anyway. The writer waits at start until the
 * server has accepted the request headers (the first read, after its
 * "100 Continue") or answered: a refusal of the chunked body (411, 501),
 * a missing collection (404, 409, 500 from nginx) or any other early
 * answer arrives while the whole body is still in the head, so the put can
 * make the collection and start again, or fall back to its spool.
 * After that a failure ends the put (the caller's retry streams again).
 *
 * Memory: the stream is its put's; webdav_stream_finish/kill free it. The
 * head is the put's and must stay unchanged until then. Threads: the
 * writer side (write/finish/kill) is one thread; the curl handle belongs to
 * the worker from start to finish/kill.
 */
#include "storage_webdav.h"

#include <string.h>

#include "log.h"

#define WEBDAV_RING (1024u * 1024)           /* bytes between encryptor and curl */
#define WEBDAV_STREAM_BUFFER (256L * 1024)   /* curl's upload buffer */

struct webdav_stream {
	const struct webdav_store *ws;
	CURL *h;
	struct curl_slist *hdrs;
	char *url;
	const GByteArray *head;  /* the body's first bytes, sent first */
	GThread *worker;
	GMutex mu;
	GCond cond;              /* reading or done (start) */
	GCond rcond;             /* the callback waits: enough bytes, eof or kill */
	GCond wcond;             /* the writer waits: room or done */
	bool rwait, wwait;       /* a side waits on its condition */
	size_t rwant;            /* the waiting callback wakes at this many bytes */
	unsigned char *ring;
	size_t rhead, rlen;      /* ring: start of the data, its length */
	uint64_t hpos;           /* bytes of head sent */
	bool reading;            /* curl asked for the body: the headers were accepted */
	bool ring_read;          /* bytes beyond the head went: no rewind */
	bool eof;                /* writer: no more data */
	bool killed;             /* writer: abort the PUT */
	bool done;               /* worker: curl_easy_perform returned */
	CURLcode cc;
	long code;
	char errbuf[CURL_ERROR_SIZE];
};

/* webdav_stream_read - curl read callback: head, then the ring; blocks
 * while the ring is empty and the writer has not finished */
static size_t
webdav_stream_read(char *dst, size_t size, size_t n, void *arg)
{
	struct webdav_stream *s = arg;
	size_t want = size * n, k = 0, c;

	g_mutex_lock(&s->mu);
	if (!s->reading) {
		s->reading = true;
		g_cond_broadcast(&s->cond);
	}
	if (s->hpos < s->head->len) {
		k = MIN(want, (size_t)(s->head->len - s->hpos));
		memcpy(dst, s->head->data + s->hpos, k);
		s->hpos += k;
		goto out;
	}
	/* wake when curl's buffer can be filled (or a quarter of the ring) */
	s->rwant = MIN(want, WEBDAV_RING / 4);
	while (s->rlen < s->rwant && !s->eof && !s->killed) {
		s->rwait = true;
		g_cond_wait(&s->rcond, &s->mu);
		s->rwait = false;
	}
	if (s->killed) {
		g_mutex_unlock(&s->mu);
		return CURL_READFUNC_ABORT;
	}
	while (k < want && s->rlen > 0) {
		c = MIN(MIN(want - k, s->rlen), WEBDAV_RING - s->rhead);
		memcpy(dst + k, s->ring + s->rhead, c);
		s->rhead = (s->rhead + c) % WEBDAV_RING;
		s->rlen -= c;
		k += c;
	}
	s->ring_read = s->ring_read || k > 0;
	if (s->wwait && WEBDAV_RING - s->rlen >= WEBDAV_RING / 2)
		g_cond_signal(&s->wcond); /* the writer waits for half the ring */
out:
	g_mutex_unlock(&s->mu);
	return k;
}

/* webdav_stream_seek - curl may rewind only while nothing but the head went */
static int
webdav_stream_seek(void *arg, curl_off_t off, int origin)
{
	struct webdav_stream *s = arg;
	int rc = CURL_SEEKFUNC_CANTSEEK;

	g_mutex_lock(&s->mu);
	if (origin == SEEK_SET && off >= 0 && (uint64_t)off <= s->hpos && !s->ring_read) {
		s->hpos = (uint64_t)off;
		rc = CURL_SEEKFUNC_OK;
	}
	g_mutex_unlock(&s->mu);
	return rc;
}

/* webdav_stream_progress - a killed stream stops even while curl waits on the socket */
static int
webdav_stream_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct webdav_stream *s = arg;
	bool k;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	g_mutex_lock(&s->mu);
	k = s->killed;
	g_mutex_unlock(&s->mu);
	return k ? 1 : 0;
}

static gpointer
webdav_stream_main(gpointer arg)
{
	struct webdav_stream *s = arg;
	CURLcode cc;
	long code = 0;

	cc = curl_easy_perform(s->h);
	if (cc == CURLE_OK)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	g_mutex_lock(&s->mu);
	s->cc = cc;
	s->code = code;
	s->done = true;
	g_cond_broadcast(&s->cond);
	g_cond_signal(&s->wcond);
	g_mutex_unlock(&s->mu);
	return NULL;
}

static void
webdav_stream_free(struct webdav_stream *s)
{
	if (s->worker != NULL)
		g_thread_join(s->worker);
	curl_slist_free_all(s->hdrs);
	g_free(s->ring);
	g_free(s->url);
	g_mutex_clear(&s->mu);
	g_cond_clear(&s->cond);
	g_cond_clear(&s->rcond);
	g_cond_clear(&s->wcond);
	g_free(s);
}

/* webdav_stream_setup - the chunked PUT of url on h */
static void
webdav_stream_setup(struct webdav_stream *s)
{
	webdav_setup(s->ws, s->h, s->errbuf);
	curl_easy_setopt(s->h, CURLOPT_URL, s->url);
	curl_easy_setopt(s->h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1); /* chunked */
	curl_easy_setopt(s->h, CURLOPT_READFUNCTION, webdav_stream_read);
	curl_easy_setopt(s->h, CURLOPT_READDATA, s);
	curl_easy_setopt(s->h, CURLOPT_SEEKFUNCTION, webdav_stream_seek);
	curl_easy_setopt(s->h, CURLOPT_SEEKDATA, s);
	curl_easy_setopt(s->h, CURLOPT_XFERINFOFUNCTION, webdav_stream_progress);
	curl_easy_setopt(s->h, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(s->h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s->h, CURLOPT_UPLOAD_BUFFERSIZE, WEBDAV_STREAM_BUFFER);
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
}

/*
 * webdav_stream_start - start the chunked PUT of url on handle h with head
 * as the body's first bytes; wait until the server takes the body or
 * answers. STORAGE_OK with *sp = the running stream; otherwise *sp = NULL,
 * nothing of the body went beyond the head, and *cc, *code, errbuf tell the
 * early answer (*code 411/501: chunked bodies refused).
 */
int
webdav_stream_start(const struct webdav_store *ws, CURL *h, const char *url, const GByteArray *head,
	struct webdav_stream **sp, CURLcode *cc, long *code, char *errbuf)
{
	struct webdav_stream *s = g_new0(struct webdav_stream, 1);
	bool done;

	s->ws = ws;
	s->h = h;
	s->url = g_strdup(url);
	s->head = head;
	s->ring = g_malloc(WEBDAV_RING);
	g_mutex_init(&s->mu);
	g_cond_init(&s->cond);
	g_cond_init(&s->rcond);
	g_cond_init(&s->wcond);
	s->hdrs = curl_slist_append(s->hdrs, "Content-Type: application/octet-stream");
	s->hdrs = curl_slist_append(s->hdrs, "Expect: 100-continue");
	webdav_stream_setup(s);
	*sp = NULL;
	s->worker = g_thread_try_new("webdav-put", webdav_stream_main, s, NULL);
	if (s->worker == NULL) {
		log_error("storage webdav: PUT %s: no thread for the upload", url);
		webdav_stream_free(s);
		*cc = CURLE_FAILED_INIT;
		*code = 0;
		g_strlcpy(errbuf, "no thread for the upload", CURL_ERROR_SIZE);
		return STORAGE_ETEMP;
	}
	g_mutex_lock(&s->mu);
	while (!s->reading && !s->done)
		g_cond_wait(&s->cond, &s->mu);
	done = s->done;
	g_mutex_unlock(&s->mu);
	if (!done) {
		*sp = s;
		return STORAGE_OK;
	}
	*cc = s->cc;
	*code = s->code;
	memcpy(errbuf, s->errbuf, CURL_ERROR_SIZE);
	webdav_stream_free(s);
	return STORAGE_ETEMP;
}

/* webdav_stream_write - hand len bytes to the PUT, blocking while the ring
 * is full; STORAGE_ETEMP if the PUT has ended (finish tells why) */
int
webdav_stream_write(struct webdav_stream *s, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t c, tail;

	g_mutex_lock(&s->mu);
	while (len > 0) {
		while (s->rlen == WEBDAV_RING && !s->done) {
			s->wwait = true;
			g_cond_wait(&s->wcond, &s->mu);
			s->wwait = false;
		}
		if (s->done) {
			g_mutex_unlock(&s->mu);
			return STORAGE_ETEMP;
		}
		tail = (s->rhead + s->rlen) % WEBDAV_RING;
		c = MIN(MIN(len, WEBDAV_RING - s->rlen), WEBDAV_RING - tail);
		memcpy(s->ring + tail, b, c);
		s->rlen += c;
		b += c;
		len -= c;
		if (s->rwait && s->rlen >= s->rwant)
			g_cond_signal(&s->rcond);
	}
	g_mutex_unlock(&s->mu);
	return STORAGE_OK;
}

/* webdav_stream_finish - end the body, wait for the answer, free the
 * stream; *code = the HTTP status (0 after a network error) */
CURLcode
webdav_stream_finish(struct webdav_stream *s, long *code, char *errbuf)
{
	CURLcode cc;

	g_mutex_lock(&s->mu);
	s->eof = true;
	g_cond_signal(&s->rcond);
	g_mutex_unlock(&s->mu);
	g_thread_join(s->worker);
	s->worker = NULL;
	cc = s->cc;
	*code = s->code;
	memcpy(errbuf, s->errbuf, CURL_ERROR_SIZE);
	webdav_stream_free(s);
	return cc;
}

/* webdav_stream_kill - abort the PUT (the server drops the partial body), free the stream */
void
webdav_stream_kill(struct webdav_stream *s)
{
	if (s == NULL)
		return;
	g_mutex_lock(&s->mu);
	s->killed = true;
	g_cond_signal(&s->rcond);
	g_mutex_unlock(&s->mu);
	webdav_stream_free(s);
}
