/*
 * portal_http.h - offload-portal's HTTP service on libmicrohttpd
 * (DECISIONS.md §8): pages, unlock, ticketed downloads with Range, the ZIP of
 * all files, rate limits, audit events. One thread per connection (MHD
 * THREAD_PER_CONNECTION): a download blocks on storage inside its own
 * thread. struct portal owns the config, storage, audit handle and keys;
 * it is shared read-only by the connection threads except for the
 * mutex-protected rate-limit table and the atomic KDF counter.
 */
#ifndef OFFLOAD_PORTAL_HTTP_H
#define OFFLOAD_PORTAL_HTTP_H

#include <glib.h>

#include "conf.h"

struct portal;

/* portal_new - takes ownership of conf; loads keys (created when
 * missing), opens storage and the audit log; NULL with *err */
struct portal *portal_new(struct conf *conf, GError **err);
/* portal_start - listen on [portal] listen; 0 or -1 with *err */
int portal_start(struct portal *p, GError **err);
void portal_free(struct portal *p); /* stops the daemon; NULL ok */

/* exposed for unit tests */
/* portal_content_disposition - RFC 6266 attachment header value */
char *portal_content_disposition(const char *name);
/* portal_cidr_match - addr (text) inside one of the CIDR list entries */
gboolean portal_cidr_match(const char *addr, char **cidrs);
/* portal_log_redact - msg with every "/d/<ticket>" made "/d/[ticket]"; g_malloc'ed */
char *portal_log_redact(const char *msg);

#endif
