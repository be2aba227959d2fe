/*
 * portal_request.c - what every handler of offload-portal shares: response
 * headers and bodies, the Origin check, the state of a transfer (tombstone,
 * manifest, header MAC, expiry). See portal_int.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <microhttpd.h>

#include "log.h"
#include "portal_int.h"
#include "transfer.h"
#include "transfer_revoke.h"
#include "transfer_state.h"

/* ---- responses ------------------------------------------------------------- */

void
portal_header(struct MHD_Response *r, const char *name, const char *value)
{
	MHD_add_response_header(r, name, value);
}

void
portal_common_headers(struct MHD_Response *r)
{
	portal_header(r, "Referrer-Policy", "no-referrer");
	portal_header(r, "X-Content-Type-Options", "nosniff");
	portal_header(r, "X-Frame-Options", "DENY");
	portal_header(r, "Cross-Origin-Resource-Policy", "same-origin");
}

enum MHD_Result
portal_send_buf(struct MHD_Connection *conn, unsigned status, const char *ctype, const char *body,
	size_t len, const char *cache, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	portal_common_headers(r);
	portal_header(r, "Content-Security-Policy", CSP_PAGE);
	portal_header(r, "Content-Type", ctype);
	portal_header(r, "Cache-Control", cache ? cache : "no-store");
	if (retry_after != NULL)
		portal_header(r, "Retry-After", retry_after);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

enum MHD_Result
portal_send_page(struct portal *p, struct MHD_Connection *conn, unsigned status, enum portal_lang lang,
	const char *self)
{
	char *page = portal_page_error(p->c, lang, status, self);
	enum MHD_Result rc = portal_send_buf(conn, status, "text/html; charset=utf-8", page, strlen(page), NULL, NULL);

	g_free(page);
	return rc;
}

enum MHD_Result
portal_send_json_error(struct MHD_Connection *conn, unsigned status, const char *error, int64_t retry)
{
	char *body = g_strdup_printf("{\"error\":\"%s\"}", error);
	char ra[32];
	enum MHD_Result rc;

	snprintf(ra, sizeof ra, "%" PRId64, retry > 0 ? retry : 1);
	rc = portal_send_buf(conn, status, "application/json", body, strlen(body), NULL,
		status == 429 ? ra : NULL);
	g_free(body);
	return rc;
}

enum MHD_Result
portal_send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	return portal_send_buf(conn, status, "text/plain; charset=utf-8", text, strlen(text), NULL, NULL);
}

enum portal_lang
portal_req_lang(struct MHD_Connection *conn)
{
	return portal_lang_pick(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "lang"),
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Language"));
}

/* ---- transfer state -------------------------------------------------------- */

/* portal_transfer_state - tombstone, manifest presence, header MAC, expiry.
 * On TS_LIVE *h is the verified clear header, with h->expires replaced by
 * the effective expiry (an extension in the state object, FORMATS.md §6.3),
 * and *objp (if not NULL) the manifest object (caller frees). */
enum tstate
portal_transfer_state(struct portal *p, const char *id, struct envelope_header *h, GByteArray **objp)
{
	GByteArray *obj = NULL;
	enum tstate ts = TS_ERROR;
	int rc;

	rc = transfer_tombstone_read(p->st, &p->dk, id, NULL, NULL);
	if (rc == 1) {
		ts = TS_GONE;
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = transfer_get_manifest(p->st, id, &obj);
	if (rc == STORAGE_ENOENT) {
		ts = TS_NOTFOUND;
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	rc = envelope_manifest_header(obj->data, obj->len, p->dk.key, h);
	if (rc != ENVELOPE_OK || strcmp(h->id, id) != 0) {
		log_warning("portal: transfer %s: manifest header does not verify (%s); answering 404",
			id, envelope_strerror(rc));
		ts = TS_NOTFOUND;
		goto out;
	}
	if (transfer_effective_expiry(p->st, &p->dk, id, h->expires, &h->expires) != STORAGE_OK)
		goto out;
	ts = h->expires <= portal_now() ? TS_GONE : TS_LIVE;
out:
	if (ts == TS_LIVE && objp != NULL) {
		*objp = obj;
		obj = NULL;
	}
	if (obj != NULL)
		g_byte_array_free(obj, TRUE);
	return ts;
}

/* ---- JSON POSTs (unlock, revoke) ------------------------------------------ */

gboolean
portal_origin_ok(struct portal *p, struct MHD_Connection *conn)
{
	const char *o = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	gboolean ok;
	char *a, *b;

	if (o == NULL)
		return TRUE;
	if (p->origin != NULL && g_ascii_strcasecmp(o, p->origin) == 0)
		return TRUE;
	if (host == NULL)
		return FALSE;
	a = g_strdup_printf("http://%s", host);
	b = g_strdup_printf("https://%s", host);
	ok = g_ascii_strcasecmp(o, a) == 0 || g_ascii_strcasecmp(o, b) == 0;
	g_free(a);
	g_free(b);
	return ok;
}

char *
portal_rfc3339(int64_t t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ");

	g_date_time_unref(d);
	return s;
}


gboolean
portal_post_check(struct portal *p, struct MHD_Connection *conn, const char *id,
	const struct req *rq, const char *ipkey, enum MHD_Result *rc)
{
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	int64_t retry = 0;

	if (rq->too_big)
		*rc = portal_send_json_error(conn, 413, "request", 0);
	else if (ctype == NULL || g_ascii_strncasecmp(ctype, "application/json", 16) != 0)
		*rc = portal_send_json_error(conn, 415, "request", 0);
	else if (portal_rl_count(p, ipkey, RL_IP_WINDOW, &retry) >= p->c->unlock_failures_per_ip)
		*rc = portal_send_json_error(conn, 429, "rate", retry);
	else if (!transfer_valid_id(id))
		*rc = portal_send_json_error(conn, 404, "not-found", 0);
	else
		return TRUE;
	return FALSE;
}

JsonParser *
portal_post_json(const struct req *rq)
{
	JsonParser *jp = json_parser_new();

	/* an empty or blank body parses to no root at all */
	if (rq->body == NULL || rq->body->len == 0 || !json_parser_load_from_data(jp, (const char *)rq->body->data,
		(gssize)rq->body->len, NULL) || json_parser_get_root(jp) == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		g_object_unref(jp);
		return NULL;
	}
	return jp;
}

char *
portal_post_string(JsonParser *jp, const char *name)
{
	JsonObject *o = json_node_get_object(json_parser_get_root(jp));
	JsonNode *n = json_object_get_member(o, name);

	if (n == NULL || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return g_strdup(json_node_get_string(n));
}

gboolean
portal_post_int(JsonParser *jp, const char *name, gint64 *out)
{
	JsonObject *o = json_node_get_object(json_parser_get_root(jp));
	JsonNode *n = json_object_get_member(o, name);

	/* a JSON integer only: json_object_get_int_member() warns (CRITICAL) on
	 * an object or array and truncates a float */
	if (n == NULL || json_node_get_value_type(n) != G_TYPE_INT64)
		return FALSE;
	*out = json_node_get_int(n);
	return TRUE;
}
