/*
 * storage_webdav_http.c - the webdav backend's request layer: URLs of keys,
 * the options every request shares (TLS 1.2+, basic auth, no redirects),
 * retries with exponential backoff and jitter (longer while the server
 * answers 423 Locked), classification of failures into STORAGE_* with one
 * log line, and the bodiless requests built on it (MKCOL with its parents,
 * DELETE). The password goes to curl only, never into messages.
 *
 * Threads: a handle belongs to one thread; the store is only read.
 */
#include "storage_webdav.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define WEBDAV_ATTEMPTS 4            /* tries of an idempotent request */
#define WEBDAV_LOCKED_ATTEMPTS 10    /* tries while the server answers 423 Locked */
#define WEBDAV_BACKOFF_MS 200        /* first backoff, doubled each retry up to 1.6 s, +-50% jitter */
#define WEBDAV_CONNECT_TIMEOUT 10L   /* seconds */
#define WEBDAV_REQUEST_TIMEOUT 120L  /* seconds, requests without a body stream */
#define WEBDAV_STALL_TIME 60L        /* seconds below 1 byte/s abort a transfer */
#define WEBDAV_MKCOL_ROUNDS 4         /* MKCOL, parents on 409, again: this often */

/* webdav_shard_len - the shard is at most 2 characters of the first segment */
size_t
webdav_shard_len(const char *key)
{
	return key[1] == '/' || key[1] == '\0' ? 1 : 2;
}

/* webdav_url - BASE<shard>/<rel> for a key-space path rel ("" = the shard) */
char *
webdav_url(const struct webdav_store *ws, const char *shard_key, const char *rel)
{
	size_t n = webdav_shard_len(shard_key);

	return g_strdup_printf("%s%.*s/%s", ws->base, (int)n, shard_key, rel);
}

/* webdav_handle - a new curl handle, logged NULL on failure */
CURL *
webdav_handle(void)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		log_error("storage webdav: cannot create a curl handle");
	return h;
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
int
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
int
webdav_code_class(long code)
{
	if (code == 404 || code == 410)
		return STORAGE_ENOENT;
	if (webdav_retryable_code(code) || code == 507)
		return STORAGE_ETEMP;
	return STORAGE_EPERM;
}

/* webdav_fail - log a failed request once and classify it */
int
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
bool
webdav_again(CURLcode cc, long code, int attempt)
{
	if (cc == CURLE_OK ? !webdav_retryable_code(code) : !webdav_retryable_curl(cc))
		return false;
	return attempt < (cc == CURLE_OK && code == 423 ? WEBDAV_LOCKED_ATTEMPTS : WEBDAV_ATTEMPTS);
}

/* webdav_backoff - sleep before retry number attempt (1-based) */
void
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
void
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

/* webdav_setup_xml - webdav_setup() for method on url with an XML body */
void
webdav_setup_xml(const struct webdav_store *ws, CURL *h, char *errbuf, const char *method,
	const char *url, struct curl_slist *hdrs, const char *body, size_t len)
{
	webdav_setup(ws, h, errbuf);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, WEBDAV_REQUEST_TIMEOUT);
}

/* webdav_simple - one bodiless request (MKCOL, MOVE, DELETE) with retries;
 * *code = the final HTTP status (0 after a network error) */
CURLcode
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

/* webdav_delete_url - DELETE with retries; OK, ENOENT or a logged error */
int
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

/* webdav_mkcol - make collection url (ends in '/'); on 409 (parent missing)
 * make the parents first, up to the server's root. A parent can vanish
 * again before the retry (purge prunes an empty shard collection): the
 * climb is repeated a few times. */
int
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
