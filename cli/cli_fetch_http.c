/*
 * cli_fetch_http.c - the HTTP client of `offloadctl fetch` (cli_fetch.c):
 * one curl handle per run, reset for every request; captures the headers
 * it needs (Retry-After, Content-Range) and streams a body either into a
 * capped memory buffer (page and unlock answers) or into the .part file of
 * a download, deciding on the first body bytes whether the server resumed
 * at our offset (206 with the matching Content-Range) or sent the whole
 * file again (200: the .part starts over). Redirects are not followed and
 * download URLs must stay on the page's origin. Single-threaded.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli_fetch.h"

/* fetch_status_exit - an HTTP status of the portal -> sysexits code */
int
fetch_status_exit(long code)
{
	if (code == 401 || code == 403)
		return EX_DATAERR;
	if (code == 404)
		return EX_NOINPUT;
	if (code == 410)
		return EX_UNAVAILABLE;
	if (code == 408 || code == 429 || code >= 500)
		return EX_TEMPFAIL;
	return EX_PROTOCOL;
}

void
fetch_status_report(const char *what, const struct resp *r, long code)
{
	switch (code) {
	case 404:
		fprintf(stderr, "offloadctl fetch: %s: not found (HTTP 404): unknown transfer or link\n", what);
		break;
	case 410:
		fprintf(stderr, "offloadctl fetch: %s: gone (HTTP 410): the transfer expired or was revoked\n", what);
		break;
	case 429:
		fprintf(stderr, "offloadctl fetch: %s: too many attempts (HTTP 429), retry after %s s\n",
			what, r->retry_after[0] ? r->retry_after : "?");
		break;
	default:
		fprintf(stderr, "offloadctl fetch: %s: HTTP %ld\n", what, code);
	}
}

static size_t
resp_header(char *buf, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n, vlen;
	const char *v;
	char *dst;
	size_t cap;

	if (len >= 5 && g_ascii_strncasecmp(buf, "HTTP/", 5) == 0) {
		/* a new response (e.g. after 100 Continue): forget the previous headers */
		r->retry_after[0] = r->content_range[0] = '\0';
		return len;
	}
	if (len > 12 && g_ascii_strncasecmp(buf, "Retry-After:", 12) == 0) {
		v = buf + 12, dst = r->retry_after, cap = sizeof r->retry_after;
	} else if (len > 14 && g_ascii_strncasecmp(buf, "Content-Range:", 14) == 0) {
		v = buf + 14, dst = r->content_range, cap = sizeof r->content_range;
	} else {
		return len;
	}
	while (v < buf + len && (*v == ' ' || *v == '\t'))
		v++;
	vlen = (size_t)(buf + len - v);
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (vlen >= cap)
		vlen = cap - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return len;
}

/* file_start - first body bytes of a download: decide resume vs restart */
static int
file_start(struct resp *r)
{
	long code = 0;
	char want[48];

	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
	r->started = true;
	if (code == 206) {
		/* Content-Range: bytes <offset>-<last>/<total> (RFC 9110 §14.4) */
		snprintf(want, sizeof want, "bytes %llu-", (unsigned long long)r->offset);
		if (strncmp(r->content_range, want, strlen(want)) != 0) {
			r->bad_range = true;
			return -1;
		}
		return 0;
	}
	if (code == 200 && r->offset > 0) {
		/* the server sent the whole file: start the .part over */
		if (fflush(r->out) != 0 || ftruncate(fileno(r->out), 0) != 0 ||
		    fseek(r->out, 0, SEEK_SET) != 0) {
			r->write_failed = true;
			return -1;
		}
		crypto_sha256_free(r->sha);
		r->sha = crypto_sha256_new();
		r->offset = 0;
		r->restarted = true;
	}
	return 0;
}

static size_t
resp_body(char *buf, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;
	long code = 0;

	if (r->body == NULL) {
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code != 200 && code != 206)
			return len;     /* an error body of a download: not wanted */
		if (!r->started && file_start(r) != 0)
			return 0;
		if (r->offset + r->received + len > r->expect) {
			r->too_long = true;
			return 0;
		}
		if (fwrite(buf, 1, len, r->out) != len) {
			r->write_failed = true;
			return 0;
		}
		crypto_sha256_update(r->sha, buf, len);
		r->received += len;
		return len;
	}
	if (r->body->len + len > FETCH_JSON_MAX) {
		r->overflow = true;
		return 0;
	}
	g_byte_array_append(r->body, (const guint8 *)buf, (guint)len);
	return len;
}

/* fetch_perform - one request; 0 with *code, or EX_TEMPFAIL (printed) on a
 * transport error that is not one of our own write aborts */
int
fetch_perform(struct fetch *f, const char *url, const char *post, struct curl_slist *hdrs,
	struct resp *r, const char *range, long *code)
{
	CURL *c = f->curl;
	CURLcode cc;

	curl_easy_reset(c);
	r->curl = c;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, FETCH_UA);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled download: less than 1 byte/s for 60 s */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	if (f->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, f->ca_file);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, resp_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, resp_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (post) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
	}
	if (range)
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	cc = curl_easy_perform(c);
	*code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	if (cc == CURLE_WRITE_ERROR && (r->overflow || r->bad_range || r->too_long || r->write_failed))
		return 0;       /* our own abort: the caller looks at the flags */
	if (cc != CURLE_OK) {
		fprintf(stderr, "offloadctl fetch: %s\n", curl_easy_strerror(cc));
		return EX_TEMPFAIL;
	}
	return 0;
}

/* fetch_resolve - absolute URL of a download path from the unlock answer,
 * which must stay on the page's origin; NULL if not */
char *
fetch_resolve(struct fetch *f, const char *rel)
{
	CURLU *u = curl_url_dup(f->page);
	char *full = NULL, *out = NULL, *org = NULL;

	if (u == NULL || rel == NULL || rel[0] != '/' || rel[1] == '/')
		goto out;
	if (curl_url_set(u, CURLUPART_URL, rel, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
		goto out;
	org = g_strconcat(f->origin, "/", NULL);
	if (g_str_has_prefix(full, org))
		out = g_strdup(full);
out:
	g_free(org);
	curl_free(full);
	curl_url_cleanup(u);
	return out;
}

/* fetch_page_setup - parse the link: page URL without the fragment, and origin */
int
fetch_page_setup(struct fetch *f, const char *link)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;

	f->page = curl_url();
	if (f->page == NULL ||
	    curl_url_set(f->page, CURLUPART_URL, link, 0) != CURLUE_OK ||
	    curl_url_set(f->page, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_set(f->page, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl_url_get(f->page, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(f->page, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
		goto out;
	if (curl_url_get(f->page, CURLUPART_PORT, &port, 0) == CURLUE_OK)
		f->origin = g_strdup_printf("%s://%s:%s", scheme, host, port);
	else
		f->origin = g_strdup_printf("%s://%s", scheme, host);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return rc;
}
