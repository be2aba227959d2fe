/*
 * cli_fetch.h - offloadctl fetch internals: the HTTP client side
 * (cli_fetch_http.c) used by the download and unlock logic (cli_fetch.c).
 */
#ifndef OFFLOAD_CLI_FETCH_H
#define OFFLOAD_CLI_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include <glib.h>

#include "crypto.h"

#define FETCH_JSON_MAX (4u << 20)  /* cap on page and unlock answers */
#define FETCH_UA "offloadctl-fetch/1"

struct fetch {
	CURL *curl;
	CURLU *page;          /* the page URL; relative download URLs resolve against it */
	char *origin;         /* scheme://host[:port] of the page */
	const char *ca_file;
	bool verbose;
};

/* one HTTP exchange: captured headers and a body sink (memory or file) */
struct resp {
	CURL *curl;
	char retry_after[32];
	char content_range[96];
	GByteArray *body;     /* memory sink (NULL: file sink) */
	bool overflow;
	/* file sink */
	FILE *out;
	struct crypto_sha256_ctx *sha;
	uint64_t offset;      /* bytes already in the .part (0 if restarted) */
	uint64_t expect;      /* the file's size from the unlock answer */
	uint64_t received;    /* body bytes written in this exchange */
	bool started, restarted, bad_range, too_long, write_failed;
};

/* fetch_status_exit - an HTTP status of the portal -> sysexits code */
int fetch_status_exit(long code);

/* fetch_status_report - say what an unwanted HTTP status of WHAT means */
void fetch_status_report(const char *what, const struct resp *r, long code);

/* fetch_perform - one request; 0 with *code, or EX_TEMPFAIL (printed) on a
 * transport error that is not one of our own write aborts */
int fetch_perform(struct fetch *f, const char *url, const char *post, struct curl_slist *hdrs,
	struct resp *r, const char *range, long *code);

/* fetch_resolve - absolute URL of a download path from the unlock answer,
 * which must stay on the page's origin; NULL if not */
char *fetch_resolve(struct fetch *f, const char *rel);

/* fetch_page_setup - parse the link: page URL without the fragment, and origin */
int fetch_page_setup(struct fetch *f, const char *link);

#endif
