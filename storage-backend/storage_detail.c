/*
 * storage_detail.c - what the last failed storage request on this thread
 * ran into (storage.h "Failure detail"), for `offloadctl storage check`: the
 * backends note curl's error code and the socket's errno, the HTTP status,
 * S3's error <Code> and their own message where they detect a failure, and
 * the Date header of every HTTP answer; storage_detail_cause() turns that
 * into one diagnosis (DNS, refused, TLS, authentication, permission, ...).
 *
 * Memory: a fixed struct, no allocation. Threads: the detail is
 * thread-local (like errno), so a struct storage shared by threads keeps
 * working; a multipart part sent by an uploader thread notes its failure on
 * that thread (the put's commit still fails; the check uses small probes).
 * Credentials: the backends pass messages without them, and curl's header
 * callback sees only response headers.
 */
#include "storage_backend.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

static _Thread_local struct storage_detail storage_tl_detail;
static _Thread_local CURL *storage_tl_curl;

void
storage_detail_clear(void)
{
	memset(&storage_tl_detail, 0, sizeof storage_tl_detail);
	storage_tl_curl = NULL;
}

void
storage_detail_get(struct storage_detail *out)
{
	*out = storage_tl_detail;
}

void
storage_detail_begin(void *curl)
{
	storage_tl_curl = curl;
}

void
storage_detail_fail(const char *op, int curl_code, int os_errno, long http_status,
	const char *s3_code, const char *text)
{
	struct storage_detail *d = &storage_tl_detail;
	long oe = 0;

	/* curl knows the errno of a failed connect (ECONNREFUSED, ENETUNREACH, ...) */
	if (curl_code != 0 && os_errno == 0 && storage_tl_curl != NULL &&
		curl_easy_getinfo(storage_tl_curl, CURLINFO_OS_ERRNO, &oe) == CURLE_OK)
		os_errno = (int)oe;
	d->failed = true;
	g_strlcpy(d->op, op != NULL ? op : "", sizeof d->op);
	d->curl_code = curl_code;
	d->os_errno = os_errno;
	d->http_status = http_status;
	g_strlcpy(d->s3_code, s3_code != NULL ? s3_code : "", sizeof d->s3_code);
	g_strlcpy(d->text, text != NULL ? text : "", sizeof d->text);
}

/* storage_detail_header - curl header callback: Date (clock check) and the
 * headers ownCloud and Nextcloud add (OC-FileId, OC-ETag, X-NC-*, X-Nextcloud-*) */
size_t
storage_detail_header(char *buf, size_t size, size_t n, void *unused)
{
	size_t len = size * n;
	time_t t;
	char *v;

	(void)unused;
	if (len > 5 && g_ascii_strncasecmp(buf, "date:", 5) == 0 && len < 128) {
		v = g_strstrip(g_strndup(buf + 5, len - 5));
		t = curl_getdate(v, NULL);
		if (t > 0) {
			storage_tl_detail.server_date = (int64_t)t;
			storage_tl_detail.local_date = (int64_t)time(NULL);
		}
		g_free(v);
	} else if ((len > 3 && g_ascii_strncasecmp(buf, "oc-", 3) == 0) ||
		(len > 5 && g_ascii_strncasecmp(buf, "x-nc-", 5) == 0) ||
		(len > 12 && g_ascii_strncasecmp(buf, "x-nextcloud-", 12) == 0)) {
		storage_tl_detail.dav_owncloud = true;
	}
	return len;
}

/* storage_s3_cause - S3 error codes (AWS S3 API reference, "Error responses") */
static enum storage_cause
storage_s3_cause(const char *code)
{
	static const struct { const char *code; enum storage_cause cause; } map[] = {
		{ "InvalidAccessKeyId", STORAGE_CAUSE_AUTH },
		{ "SignatureDoesNotMatch", STORAGE_CAUSE_AUTH },
		{ "AuthorizationHeaderMalformed", STORAGE_CAUSE_AUTH },
		{ "InvalidToken", STORAGE_CAUSE_AUTH },
		{ "ExpiredToken", STORAGE_CAUSE_AUTH },
		{ "AccessDenied", STORAGE_CAUSE_DENIED },
		{ "AllAccessDisabled", STORAGE_CAUSE_DENIED },
		{ "AccountProblem", STORAGE_CAUSE_DENIED },
		{ "NoSuchBucket", STORAGE_CAUSE_NO_BUCKET },
		{ "RequestTimeTooSkewed", STORAGE_CAUSE_SKEW },
		{ "QuotaExceeded", STORAGE_CAUSE_SPACE },
		{ "EntityTooLarge", STORAGE_CAUSE_SPACE },
		{ "InternalError", STORAGE_CAUSE_SERVER },
		{ "ServiceUnavailable", STORAGE_CAUSE_SERVER },
		{ "SlowDown", STORAGE_CAUSE_SERVER },
		{ "RequestTimeout", STORAGE_CAUSE_TIMEOUT },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(map); i++) {
		if (strcmp(code, map[i].code) == 0)
			return map[i].cause;
	}
	return STORAGE_CAUSE_NONE;
}

enum storage_cause
storage_detail_cause(const struct storage_detail *d)
{
	enum storage_cause c;

	if (!d->failed)
		return STORAGE_CAUSE_NONE;
	if (d->curl_code != 0) {
		switch ((CURLcode)d->curl_code) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			return STORAGE_CAUSE_DNS;
		case CURLE_COULDNT_CONNECT:
			return d->os_errno == ECONNREFUSED ? STORAGE_CAUSE_REFUSED :
				d->os_errno == ETIMEDOUT ? STORAGE_CAUSE_TIMEOUT : STORAGE_CAUSE_CONNECT;
		case CURLE_OPERATION_TIMEDOUT:
			return STORAGE_CAUSE_TIMEOUT;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_CRL_BADFILE:
			return STORAGE_CAUSE_TLS_CERT;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_SSL_SHUTDOWN_FAILED:
		case CURLE_USE_SSL_FAILED:
			return STORAGE_CAUSE_TLS;
		case CURLE_LOGIN_DENIED:
			return STORAGE_CAUSE_AUTH;
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			return STORAGE_CAUSE_CONNECT;
		default:
			return STORAGE_CAUSE_OTHER;
		}
	}
	if (d->s3_code[0] != '\0') {
		c = storage_s3_cause(d->s3_code);
		if (c != STORAGE_CAUSE_NONE)
			return c;
	}
	if (d->http_status != 0) {
		if (d->http_status == 401 || d->http_status == 407)
			return STORAGE_CAUSE_AUTH;
		if (d->http_status == 403 || d->http_status == 405)
			return STORAGE_CAUSE_DENIED;
		if (d->http_status == 404 || d->http_status == 409 || d->http_status == 410)
			return STORAGE_CAUSE_NO_BUCKET; /* an object's 404 is ENOENT, never noted */
		if (d->http_status == 507 || d->http_status == 413)
			return STORAGE_CAUSE_SPACE;
		if (d->http_status == 408 || d->http_status == 504)
			return STORAGE_CAUSE_TIMEOUT;
		if (d->http_status >= 500)
			return STORAGE_CAUSE_SERVER;
		return STORAGE_CAUSE_OTHER;
	}
	switch (d->os_errno) {
	case EACCES:
	case EPERM:
	case EROFS:
		return STORAGE_CAUSE_DENIED;
	case ENOSPC:
	case EDQUOT:
		return STORAGE_CAUSE_SPACE;
	case ENOENT:
	case ENOTDIR:
		return STORAGE_CAUSE_NO_BUCKET;
	default:
		return STORAGE_CAUSE_OTHER;
	}
}

const char *
storage_cause_name(enum storage_cause c)
{
	static const char *const names[] = {
		[STORAGE_CAUSE_NONE] = "none",
		[STORAGE_CAUSE_DNS] = "dns",
		[STORAGE_CAUSE_REFUSED] = "connection-refused",
		[STORAGE_CAUSE_CONNECT] = "network",
		[STORAGE_CAUSE_TIMEOUT] = "timeout",
		[STORAGE_CAUSE_TLS_CERT] = "tls-certificate",
		[STORAGE_CAUSE_TLS] = "tls",
		[STORAGE_CAUSE_AUTH] = "auth",
		[STORAGE_CAUSE_DENIED] = "permission",
		[STORAGE_CAUSE_NO_BUCKET] = "missing-bucket",
		[STORAGE_CAUSE_SKEW] = "clock-skew",
		[STORAGE_CAUSE_SPACE] = "space",
		[STORAGE_CAUSE_SERVER] = "server",
		[STORAGE_CAUSE_OTHER] = "other",
	};

	return (unsigned)c < G_N_ELEMENTS(names) ? names[c] : "other";
}
