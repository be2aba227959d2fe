/*
 * storage_s3_http.c - one S3 request over libcurl for the s3 backend: SigV4
 * signing (CURLOPT_AWS_SIGV4), bodies streamed from the spool file or memory,
 * a GET streamed into the caller's sink (Range, resumed after a break),
 * retries with exponential backoff and full jitter, classification of
 * failures (temporary/permanent/missing) with a hint for the admin, and a
 * GMarkup reader for error documents, InitiateMultipartUpload and
 * ListObjectsV2 answers. See storage_s3.c for the libcurl 7.88 gotchas.
 *
 * Memory: a struct s3_req owns its path, response buffer and messages until
 * s3_req_clear(). Threads: a request and its handle belong to one thread;
 * the store is only read. Credentials go to curl only, never into messages.
 */
#include "storage_s3.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* ---- small helpers ---- */

bool
s3_unreserved(unsigned char c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* s3_qenc - SigV4 URI encoding of a query value: all but unreserved, upper-case hex */
void
s3_qenc(GString *out, const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (s3_unreserved(c))
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "%%%02X", c);
	}
}

void
s3_hex(const unsigned char *md, unsigned len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
}

/* ---- XML (GMarkup): error documents, InitiateMultipartUpload, ListObjectsV2,
 * ListMultipartUploads ---- */

/* s3_xml_entry_el - an element whose children make one struct s3_list_entry */
static bool
s3_xml_entry_el(const char *name)
{
	return strcmp(name, "Contents") == 0 || strcmp(name, "Upload") == 0;
}

static void
s3_xml_start(GMarkupParseContext *ctx, const char *name, const char **an, const char **av,
	gpointer ud, GError **err)
{
	struct s3_xml *x = ud;

	(void)ctx;
	(void)an;
	(void)av;
	(void)err;
	if (x->root == NULL)
		x->root = g_strdup(name);
	if (x->stack->len == 1 && s3_xml_entry_el(name)) {
		g_free(x->cur.key);
		g_free(x->cur.upload_id);
		memset(&x->cur, 0, sizeof x->cur);
	}
	g_ptr_array_add(x->stack, g_strdup(name));
}

static void
s3_xml_end(GMarkupParseContext *ctx, const char *name, gpointer ud, GError **err)
{
	struct s3_xml *x = ud;

	(void)ctx;
	(void)err;
	if (x->stack->len == 2 && s3_xml_entry_el(name) && x->cur.key != NULL) {
		g_array_append_val(x->entries, x->cur);
		memset(&x->cur, 0, sizeof x->cur);
	}
	if (x->stack->len > 0)
		g_ptr_array_remove_index(x->stack, x->stack->len - 1);
}

static void
s3_xml_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer ud, GError **err)
{
	struct s3_xml *x = ud;
	const char *el;
	char *t;

	(void)ctx;
	(void)err;
	if (x->stack->len == 0)
		return;
	el = g_ptr_array_index(x->stack, x->stack->len - 1);
	t = g_strndup(text, len);
	if (x->stack->len == 2) {
		if (strcmp(el, "Code") == 0)
			g_free(x->code), x->code = g_steal_pointer(&t);
		else if (strcmp(el, "Message") == 0)
			g_free(x->message), x->message = g_steal_pointer(&t);
		else if (strcmp(el, "UploadId") == 0)
			g_free(x->upload_id), x->upload_id = g_steal_pointer(&t);
		else if (strcmp(el, "NextContinuationToken") == 0)
			g_free(x->token), x->token = g_steal_pointer(&t);
		else if (strcmp(el, "IsTruncated") == 0)
			x->truncated = strcmp(t, "true") == 0;
		else if (strcmp(el, "NextKeyMarker") == 0)
			g_free(x->next_key_marker), x->next_key_marker = g_steal_pointer(&t);
		else if (strcmp(el, "NextUploadIdMarker") == 0)
			g_free(x->next_upload_id_marker), x->next_upload_id_marker = g_steal_pointer(&t);
	} else if (x->stack->len == 3 && s3_xml_entry_el(g_ptr_array_index(x->stack, 1))) {
		if (strcmp(el, "Key") == 0) {
			g_free(x->cur.key);
			x->cur.key = g_steal_pointer(&t);
		} else if (strcmp(el, "Size") == 0) {
			x->cur.size = g_ascii_strtoull(t, NULL, 10);
		} else if (strcmp(el, "UploadId") == 0) {
			g_free(x->cur.upload_id);
			x->cur.upload_id = g_steal_pointer(&t);
		} else if (strcmp(el, "LastModified") == 0 || strcmp(el, "Initiated") == 0) {
			GDateTime *dt = g_date_time_new_from_iso8601(t, NULL);

			if (dt != NULL) {
				x->cur.mtime = g_date_time_to_unix(dt);
				g_date_time_unref(dt);
			}
		}
	}
	g_free(t);
}

void
s3_xml_clear(struct s3_xml *x)
{
	guint i;

	if (x->stack != NULL)
		g_ptr_array_free(x->stack, TRUE);
	if (x->entries != NULL) {
		for (i = 0; i < x->entries->len; i++) {
			g_free(g_array_index(x->entries, struct s3_list_entry, i).key);
			g_free(g_array_index(x->entries, struct s3_list_entry, i).upload_id);
		}
		g_array_free(x->entries, TRUE);
	}
	g_free(x->cur.key);
	g_free(x->cur.upload_id);
	g_free(x->next_key_marker);
	g_free(x->next_upload_id_marker);
	g_free(x->root);
	g_free(x->code);
	g_free(x->message);
	g_free(x->upload_id);
	g_free(x->token);
	memset(x, 0, sizeof *x);
}

/* s3_xml_parse - false if the text is not well-formed XML */
bool
s3_xml_parse(const GString *text, struct s3_xml *x)
{
	static const GMarkupParser parser = { s3_xml_start, s3_xml_end, s3_xml_text, NULL, NULL };
	GMarkupParseContext *ctx;
	const char *p = text != NULL ? text->str : "";
	bool ok;

	memset(x, 0, sizeof *x);
	x->stack = g_ptr_array_new_with_free_func(g_free);
	x->entries = g_array_new(FALSE, TRUE, sizeof(struct s3_list_entry));
	/* GMarkup takes the <?xml ...?> declaration; it refuses leading blanks */
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	ctx = g_markup_parse_context_new(&parser, 0, x, NULL);
	ok = g_markup_parse_context_parse(ctx, p, -1, NULL) &&
		g_markup_parse_context_end_parse(ctx, NULL);
	g_markup_parse_context_free(ctx);
	return ok && x->root != NULL;
}

/* ---- HTTP ---- */

static size_t
s3_read_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t want = size * n;
	ssize_t got;

	if (r->body_pos >= r->body_len)
		return 0;
	if (want > r->body_len - r->body_pos)
		want = (size_t)(r->body_len - r->body_pos);
	if (r->body_fd < 0) {
		memcpy(buf, r->body_mem + r->body_pos, want);
		r->body_pos += want;
		return want;
	}
	do {
		got = pread(r->body_fd, buf, want, (off_t)r->body_pos);
	} while (got < 0 && errno == EINTR);
	if (got <= 0) {
		log_error("storage s3: %s: reading the spool file: %s", r->what,
			got < 0 ? g_strerror(errno) : "unexpected end of file");
		return CURL_READFUNC_ABORT;
	}
	r->body_pos += (uint64_t)got;
	return (size_t)got;
}

static int
s3_seek_cb(void *ud, curl_off_t off, int origin)
{
	struct s3_req *r = ud;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->body_pos = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t
s3_header_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t len = size * n;

	storage_detail_header(buf, size, n, NULL); /* Date, for storage check's clock test */
	if (len >= 5 && g_ascii_strncasecmp(buf, "etag:", 5) == 0) {
		g_free(r->etag);
		r->etag = g_strstrip(g_strndup(buf + 5, len - 5));
	}
	return len;
}

static size_t
s3_write_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t len = size * n, give = len;
	const char *p = buf;
	long code = 0;

	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code);
	if (r->sink != NULL && (code == 200 || code == 206)) {
		if (code == 200 && r->ranged) {
			/* the server ignored our Range: cut the range out ourselves */
			uint64_t drop = r->skip < give ? r->skip : give;

			p += drop;
			give -= (size_t)drop;
			r->skip -= drop;
			if (give > r->left)
				give = (size_t)r->left;
			r->left -= give;
		}
		if (give > 0) {
			if (r->sink(r->arg, p, give) != 0) {
				r->stopped = true;
				return 0;
			}
			r->delivered += give;
		}
		return len;
	}
	if (r->resp->len + len > S3_RESP_MAX) {
		r->resp_overflow = true;
		return 0;
	}
	g_string_append_len(r->resp, buf, (gssize)len);
	return len;
}

/* s3_attempt_reset - forget what the previous attempt of r received */
static void
s3_attempt_reset(struct s3_req *r, char *errbuf)
{
	r->status = 0;
	g_string_truncate(r->resp, 0);
	r->resp_overflow = false;
	g_clear_pointer(&r->etag, g_free);
	r->body_pos = 0;
	r->clen = 0;
	r->mtime = 0;
	errbuf[0] = '\0';
}

/* s3_headers - the payload hash, a Range resuming after what the sink
 * already has, the Content-Type of a body; range and sha hold the text */
static struct curl_slist *
s3_headers(struct s3_req *r, char *range, size_t range_size, const char *sha)
{
	struct curl_slist *hd = curl_slist_append(NULL, sha);

	r->ranged = false;
	if (r->sink != NULL) {
		uint64_t off = r->offset + r->delivered;
		bool open_end = r->length == STORAGE_TO_END || r->length > UINT64_MAX - r->offset;

		r->skip = off;
		r->left = open_end ? UINT64_MAX : r->length - r->delivered;
		if (off > 0 || !open_end) {
			if (open_end)
				snprintf(range, range_size, "Range: bytes=%" PRIu64 "-", off);
			else
				snprintf(range, range_size, "Range: bytes=%" PRIu64 "-%" PRIu64, off,
					off + r->left - 1);
			hd = curl_slist_append(hd, range);
			r->ranged = true;
		}
	}
	if (r->if_none_match)
		hd = curl_slist_append(hd, "If-None-Match: *");
	if (strcmp(r->method, "PUT") == 0)
		hd = curl_slist_append(hd, "Content-Type: application/octet-stream");
	else if (strcmp(r->method, "POST") == 0)
		hd = curl_slist_append(hd, "Content-Type: application/xml");
	return hd;
}

/* s3_setopt_common - signing, credentials, timeouts, TLS and the callbacks */
static void
s3_setopt_common(const struct s3_store *s, struct s3_req *r, const char *url,
	struct curl_slist *hd, char *errbuf)
{
	CURL *h = r->h;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
	/* not CURLOPT_USERPWD: Swift access keys contain ':' */
	curl_easy_setopt(h, CURLOPT_USERNAME, s->access_key);
	curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret_key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	/* a stalled transfer (no byte for 60 s) is a timeout; no cap on the total */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
	/* TLS per BSI TR-02102-2: 1.2 or newer; verification stays on */
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
}

/* s3_setopt_method - HEAD without body, PUT/POST with one read from r, DELETE */
static void
s3_setopt_method(const struct s3_store *s, struct s3_req *r)
{
	CURL *h = r->h;

	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0) {
		if (strcmp(r->method, "PUT") == 0) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
		} else {
			curl_easy_setopt(h, CURLOPT_POST, 1L);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		}
		curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, r);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, s3_seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
		if (s->max_send_speed > 0)
			curl_easy_setopt(h, CURLOPT_MAX_SEND_SPEED_LARGE, s->max_send_speed);
	} else if (strcmp(r->method, "DELETE") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
}

/* s3_attempt - one try of request r; the CURLcode, r->status and friends */
static CURLcode
s3_attempt(const struct s3_store *s, struct s3_req *r, char *errbuf)
{
	struct curl_slist *hd;
	char *url = g_strconcat(s->base, r->path, NULL);
	char *sha = g_strdup_printf("x-amz-content-sha256: %s", r->sha256);
	char range[80];
	CURL *h = r->h;
	curl_off_t clen = -1, ftime = -1;
	CURLcode cc;

	curl_easy_reset(h);
	s3_attempt_reset(r, errbuf);
	hd = s3_headers(r, range, sizeof range, sha);
	s3_setopt_common(s, r, url, hd, errbuf);
	s3_setopt_method(s, r);

	storage_detail_begin(h);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (cc == CURLE_OK) {
		if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen) == CURLE_OK && clen > 0)
			r->clen = (uint64_t)clen;
		if (curl_easy_getinfo(h, CURLINFO_FILETIME_T, &ftime) == CURLE_OK && ftime > 0)
			r->mtime = (int64_t)ftime;
	}
	/* the handle keeps pointers to these until the next reset */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hd);
	g_free(sha);
	g_free(url);
	return cc;
}

/* s3_hint - what an S3 error code usually means, for the admin */
static const char *
s3_hint(const char *code)
{
	static const struct { const char *code, *hint; } hints[] = {
		{ "InvalidAccessKeyId", "access_key unknown to the server" },
		{ "SignatureDoesNotMatch", "wrong secret_key (or region)" },
		{ "AccessDenied", "the credentials lack permission for this bucket" },
		{ "NoSuchBucket", "the bucket does not exist" },
		{ "RequestTimeTooSkewed", "this clock differs from the server's by more than 15 minutes: check NTP" },
		{ "AuthorizationHeaderMalformed", "wrong region?" },
		{ "InvalidBucketName", "bucket names are 3-63 characters [a-z0-9.-]" },
		{ "PermanentRedirect", "the bucket lives in another region or needs addressing = virtual" },
	};
	size_t i;

	for (i = 0; code != NULL && i < G_N_ELEMENTS(hints); i++) {
		if (strcmp(code, hints[i].code) == 0)
			return hints[i].hint;
	}
	return NULL;
}

/* s3_classify - STORAGE_* for a finished attempt; *retry if another try may
 * help; *msg (g_free) describes a failure */
static int
s3_classify(struct s3_req *r, CURLcode cc, const char *errbuf, bool *retry, char **msg)
{
	struct s3_xml x;
	const char *hint;
	int rc;

	*retry = false;
	*msg = NULL;
	if (cc == CURLE_WRITE_ERROR && r->stopped)
		return STORAGE_ESTOP;
	if (cc != CURLE_OK) {
		const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);

		switch (cc) {
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
			rc = STORAGE_EPERM;
			*msg = g_strdup_printf("%s: %s%s", r->what, why,
				cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? "" :
				" (TLS: is the certificate trusted, see ca_file, and does the host name match?)");
			break;
		case CURLE_ABORTED_BY_CALLBACK:
		case CURLE_READ_ERROR:
			rc = STORAGE_ETEMP; /* the spool file failed; logged by the read callback */
			*msg = g_strdup_printf("%s: %s", r->what, why);
			break;
		case CURLE_WRITE_ERROR:
			rc = STORAGE_ETEMP;
			*msg = g_strdup_printf("%s: %s", r->what,
				r->resp_overflow ? "response larger than 4 MiB" : why);
			break;
		default:
			rc = STORAGE_ETEMP;
			*retry = true;
			*msg = g_strdup_printf("%s: %s%s", r->what, why,
				cc == CURLE_COULDNT_RESOLVE_HOST ? " (DNS)" : "");
			break;
		}
		storage_detail_fail(r->method, (int)cc, 0, 0, NULL, *msg);
		return rc;
	}
	if ((r->status >= 200 && r->status < 300) || (r->status == 416 && r->sink != NULL))
		return STORAGE_OK; /* 416: the object exists; nothing at or after offset */
	if (r->if_none_match && (r->status == 412 || r->status == 501))
		/* 412 PreconditionFailed: it exists; 501: no conditional PUTs (Swift s3api) */
		return r->status == 412 ? STORAGE_EEXIST : S3_ENOCOND;
	memset(&x, 0, sizeof x);
	if (!s3_xml_parse(r->resp, &x))
		s3_xml_clear(&x);
	if (r->status == 404 && (x.code == NULL || strcmp(x.code, "NoSuchBucket") != 0)) {
		rc = STORAGE_ENOENT;
		goto out;
	}
	if (r->status == 408 || r->status == 429 || r->status >= 500 ||
		(x.code != NULL && (strcmp(x.code, "RequestTimeout") == 0 || strcmp(x.code, "SlowDown") == 0 ||
			strcmp(x.code, "OperationAborted") == 0 || strcmp(x.code, "InternalError") == 0))) {
		rc = STORAGE_ETEMP;
		*retry = true;
	} else {
		rc = STORAGE_EPERM;
	}
	hint = s3_hint(x.code);
	if (x.code == NULL && r->status == 403)
		hint = "access denied (no error text: wrong credentials?)";
	*msg = g_strdup_printf("%s: HTTP %ld%s%s%s%s%s%s", r->what, r->status,
		x.code != NULL ? " " : "", x.code != NULL ? x.code : "",
		x.message != NULL ? ": " : "", x.message != NULL ? x.message : "",
		hint != NULL ? " - " : "", hint != NULL ? hint : "");
	storage_detail_fail(r->method, 0, 0, r->status, x.code, *msg);
out:
	s3_xml_clear(&x);
	return rc;
}

/* s3_perform - run r with retries; logs the final failure unless r->quiet */
int
s3_perform(const struct s3_store *s, struct s3_req *r)
{
	char errbuf[CURL_ERROR_SIZE];
	char *msg = NULL;
	bool retry;
	long attempt;
	int rc = STORAGE_ETEMP;

	if (r->resp == NULL)
		r->resp = g_string_new(NULL);
	for (attempt = 1;; attempt++) {
		CURLcode cc = s3_attempt(s, r, errbuf);
		unsigned exp, delay;

		g_free(msg);
		rc = s3_classify(r, cc, errbuf, &retry, &msg);
		if (!retry || attempt >= s->attempts)
			break;
		if (r->sink != NULL && r->length != STORAGE_TO_END && r->length <= UINT64_MAX - r->offset &&
			r->delivered >= r->length) {
			rc = STORAGE_OK; /* the break came after the last byte we wanted */
			break;
		}
		exp = S3_BACKOFF_MS << (attempt - 1 < 8 ? attempt - 1 : 8);
		if (exp > S3_BACKOFF_MAX_MS)
			exp = S3_BACKOFF_MAX_MS;
		delay = exp / 2 + (unsigned)g_random_int_range(0, (gint32)(exp / 2 + 1)); /* jitter */
		log_warning("storage s3: %s (attempt %ld of %ld; retrying in %u ms)", msg, attempt,
			s->attempts, delay);
		g_usleep((gulong)delay * 1000);
	}
	if (msg != NULL && rc != STORAGE_OK && rc != STORAGE_ENOENT && rc != STORAGE_ESTOP) {
		if (r->quiet) {
			g_free(r->errmsg);
			r->errmsg = g_steal_pointer(&msg);
		} else {
			log_error("storage s3: %s", msg);
		}
	}
	g_free(msg);
	return rc;
}

void
s3_req_clear(struct s3_req *r)
{
	g_free(r->path);
	if (r->resp != NULL)
		g_string_free(r->resp, TRUE);
	g_free(r->etag);
	g_free(r->errmsg);
	memset(r, 0, sizeof *r);
}

/* s3_req_init - a bodiless request on handle h */
void
s3_req_init(struct s3_req *r, CURL *h, const char *method, const char *what, char *path)
{
	memset(r, 0, sizeof *r);
	r->h = h;
	r->method = method;
	r->what = what;
	r->path = path;
	r->sha256 = S3_EMPTY_SHA256;
	r->body_fd = -1;
	r->resp = g_string_new(NULL);
}

CURL *
s3_handle(const char *what)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		log_error("storage s3: %s: curl_easy_init failed", what);
	return h;
}
