/*
 * portal_http.c - request handling of offload-portal (see portal_http.h).
 *
 *   GET|HEAD /t/<id>            page: expiry from the MAC-verified clear header only
 *   POST     /t/<id>/unlock     JSON {secret, password?} -> file list + ticket URLs
 *   GET|HEAD /d/<ticket>        download (Range), or the ZIP of all files
 *   GET|HEAD /r/<id>            the sender's revoke confirmation page (no side effect)
 *   POST     /r/<id>/revoke     JSON {secret} (the revoke secret) -> tombstone, then delete
 *   GET|HEAD /static/portal.js, /static/revoke.js, /static/portal.css
 *
 * A GET never changes state and never returns file data. Downloads stream:
 * segments are read from storage in batches and released only after their
 * GCM tag verified (transfer_stream); a failure ends the response with an
 * error, which makes MHD close the connection, and is logged and audited.
 * Memory: per download one stream (~0.6 MiB); request bodies capped at
 * PORTAL_MAX_BODY. Thread safety: see portal_http.h.
 */
#include "portal_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <microhttpd.h>

#include "audit.h"
#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "portal_pages.h"
#include "portal_range.h"
#include "portal_ticket.h"
#include "portal_zip.h"
#include "storage.h"
#include "storage_keyid.h"
#include "transfer.h"
#include "transfer_password.h"
#include "transfer_revoke.h"
#include "transfer_stream.h"

#define PORTAL_MAX_BODY 4096u
#define PORTAL_BUF (256u * 1024)
#define CSP_PAGE "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " \
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
#define CSP_DOWNLOAD "sandbox; default-src 'none'"
#define RL_IP_WINDOW 600
#define RL_PW_WINDOW 3600

struct portal {
	struct conf *c;
	struct storage *st;
	struct audit *audit;
	struct key32 dk;
	struct portal_ticket_keys tkeys;
	struct MHD_Daemon *d;
	char *origin;            /* scheme://host[:port] of [portal] url */
	GMutex rl_lock;
	GHashTable *rl;          /* char * -> struct rl_entry * */
	gint kdf_running;
};

struct rl_entry {
	int64_t start;
	unsigned count;
};

struct req {
	GByteArray *body;
	gboolean too_big;
};

enum tstate { TS_LIVE = 200, TS_NOTFOUND = 404, TS_GONE = 410, TS_ERROR = 503 };

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- small helpers ------------------------------------------------------ */

gboolean
portal_cidr_match(const char *addr, char **cidrs)
{
	unsigned char a[16], n[16];
	int fam, alen;
	size_t i;

	if (addr == NULL || cidrs == NULL)
		return FALSE;
	if (inet_pton(AF_INET, addr, a) == 1) {
		fam = AF_INET;
		alen = 4;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		fam = AF_INET6;
		alen = 16;
	} else {
		return FALSE;
	}
	for (i = 0; cidrs[i] != NULL; i++) {
		char buf[INET6_ADDRSTRLEN + 8];
		char *slash;
		long bits = alen * 8;
		int b;

		g_strlcpy(buf, cidrs[i], sizeof buf);
		slash = strchr(buf, '/');
		if (slash != NULL) {
			*slash = '\0';
			bits = strtol(slash + 1, NULL, 10);
		}
		if (inet_pton(fam, buf, n) != 1 || bits < 0 || bits > alen * 8)
			continue;
		for (b = 0; b < bits; b++) {
			int byte = b / 8, bit = 7 - b % 8;

			if (((a[byte] >> bit) & 1) != ((n[byte] >> bit) & 1))
				break;
		}
		if (b == bits)
			return TRUE;
	}
	return FALSE;
}

/* client_addr - the peer, or the last X-Forwarded-For hop when the peer is
 * a trusted proxy; g_malloc'ed */
static char *
client_addr(struct portal *p, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char buf[INET6_ADDRSTRLEN] = "unknown";
	const char *xff;

	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf, sizeof buf);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf, sizeof buf);
	}
	xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (xff != NULL && portal_cidr_match(buf, p->c->trusted_proxy)) {
		const char *last = strrchr(xff, ',');
		char *hop = g_strstrip(g_strdup(last ? last + 1 : xff));
		unsigned char tmp[16];

		if (inet_pton(AF_INET, hop, tmp) == 1 || inet_pton(AF_INET6, hop, tmp) == 1)
			return hop;
		g_free(hop);
	}
	return g_strdup(buf);
}

char *
portal_content_disposition(const char *name)
{
	static const char attr[] = "!#$&+-.^_`|~";
	GString *o = g_string_new("attachment; filename=\"");
	const unsigned char *s;

	for (s = (const unsigned char *)name; *s; s++) {
		if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\' && *s != '%')
			g_string_append_c(o, (char)*s);
		else if (*s < 0x80 || (*s & 0xC0) == 0xC0)
			g_string_append_c(o, '_'); /* one '_' per non-ASCII character */
	}
	g_string_append(o, "\"; filename*=UTF-8''");
	for (s = (const unsigned char *)name; *s; s++) {
		if (g_ascii_isalnum(*s) || strchr(attr, *s) != NULL)
			g_string_append_c(o, (char)*s);
		else
			g_string_append_printf(o, "%%%02X", *s);
	}
	return g_string_free(o, FALSE);
}

/* ---- rate limits ----------------------------------------------------------- */

/* rl_count - failures recorded for key in the current window */
static unsigned
rl_count(struct portal *p, const char *key, int64_t window, int64_t *retry)
{
	struct rl_entry *e;
	unsigned n = 0;
	int64_t now = now_s();

	g_mutex_lock(&p->rl_lock);
	e = g_hash_table_lookup(p->rl, key);
	if (e != NULL && now - e->start < window) {
		n = e->count;
		*retry = e->start + window - now;
	}
	g_mutex_unlock(&p->rl_lock);
	return n;
}

static gboolean
rl_expired(gpointer k, gpointer v, gpointer now)
{
	const struct rl_entry *e = v;

	(void)k;
	return *(int64_t *)now - e->start >= RL_PW_WINDOW;
}

static void
rl_fail(struct portal *p, const char *key, int64_t window)
{
	struct rl_entry *e;
	int64_t now = now_s();

	g_mutex_lock(&p->rl_lock);
	if (g_hash_table_size(p->rl) > 100000)
		g_hash_table_foreach_remove(p->rl, rl_expired, &now);
	e = g_hash_table_lookup(p->rl, key);
	if (e == NULL) {
		e = g_new0(struct rl_entry, 1);
		g_hash_table_insert(p->rl, g_strdup(key), e);
	}
	if (now - e->start >= window) {
		e->start = now;
		e->count = 0;
	}
	e->count++;
	g_mutex_unlock(&p->rl_lock);
}

/* ---- responses ------------------------------------------------------------- */

static void
hdr(struct MHD_Response *r, const char *name, const char *value)
{
	MHD_add_response_header(r, name, value);
}

static void
common_headers(struct MHD_Response *r)
{
	hdr(r, "Referrer-Policy", "no-referrer");
	hdr(r, "X-Content-Type-Options", "nosniff");
	hdr(r, "X-Frame-Options", "DENY");
	hdr(r, "Cross-Origin-Resource-Policy", "same-origin");
}

static enum MHD_Result
send_buf(struct MHD_Connection *conn, unsigned status, const char *ctype, const char *body,
	size_t len, const char *cache, const char *retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	common_headers(r);
	hdr(r, "Content-Security-Policy", CSP_PAGE);
	hdr(r, "Content-Type", ctype);
	hdr(r, "Cache-Control", cache ? cache : "no-store");
	if (retry_after != NULL)
		hdr(r, "Retry-After", retry_after);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
send_page(struct portal *p, struct MHD_Connection *conn, unsigned status, enum portal_lang lang,
	const char *self)
{
	char *page = portal_page_error(p->c, lang, status, self);
	enum MHD_Result rc = send_buf(conn, status, "text/html; charset=utf-8", page, strlen(page), NULL, NULL);

	g_free(page);
	return rc;
}

static enum MHD_Result
send_json_error(struct MHD_Connection *conn, unsigned status, const char *error, int64_t retry)
{
	char *body = g_strdup_printf("{\"error\":\"%s\"}", error);
	char ra[32];
	enum MHD_Result rc;

	snprintf(ra, sizeof ra, "%" PRId64, retry > 0 ? retry : 1);
	rc = send_buf(conn, status, "application/json", body, strlen(body), NULL,
		status == 429 ? ra : NULL);
	g_free(body);
	return rc;
}

static enum MHD_Result
send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	return send_buf(conn, status, "text/plain; charset=utf-8", text, strlen(text), NULL, NULL);
}

static enum portal_lang
req_lang(struct MHD_Connection *conn)
{
	return portal_lang_pick(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "lang"),
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Language"));
}

/* ---- transfer state -------------------------------------------------------- */

/* transfer_state - tombstone, manifest presence, header MAC, expiry.
 * On TS_LIVE *h is the verified clear header and *objp (if not NULL) the
 * manifest object (caller frees). */
static enum tstate
transfer_state(struct portal *p, const char *id, struct envelope_header *h, GByteArray **objp)
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
	ts = h->expires <= now_s() ? TS_GONE : TS_LIVE;
out:
	if (ts == TS_LIVE && objp != NULL) {
		*objp = obj;
		obj = NULL;
	}
	if (obj != NULL)
		g_byte_array_free(obj, TRUE);
	return ts;
}

/* ---- GET /t/<id> ----------------------------------------------------------- */

static enum MHD_Result
handle_page(struct portal *p, struct MHD_Connection *conn, const char *id)
{
	enum portal_lang lang = req_lang(conn);
	struct envelope_header h;
	char self[64];
	enum tstate ts;
	enum MHD_Result rc;
	char *page;

	if (!transfer_valid_id(id))
		return send_page(p, conn, 404, lang, NULL);
	snprintf(self, sizeof self, "/t/%s", id);
	ts = transfer_state(p, id, &h, NULL);
	if (ts != TS_LIVE)
		return send_page(p, conn, ts, lang, self);
	page = portal_page_transfer(p->c, lang, id, h.expires, h.password);
	rc = send_buf(conn, 200, "text/html; charset=utf-8", page, strlen(page), NULL, NULL);
	g_free(page);
	return rc;
}

/* ---- POST /t/<id>/unlock ------------------------------------------------- */

static gboolean
origin_ok(struct portal *p, struct MHD_Connection *conn)
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

static void
audit_unlock(struct portal *p, const char *id, const char *reason, const char *client)
{
	struct audit_event ev = { 0 };

	ev.event = "unlock";
	ev.size = -1;
	ev.action = "denied";
	ev.reasons = reason;
	ev.transfer = id;
	ev.client = client;
	audit_write(p->audit, &ev);
}

static char *
rfc3339(int64_t t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ");

	g_date_time_unref(d);
	return s;
}

static char *
unlock_json(struct portal *p, const struct transfer *t, const unsigned char tk[32], int64_t expires)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	struct portal_ticket tk_all;
	int64_t not_after = now_s() + (int64_t)p->c->ticket_lifetime;
	char *s, *ex = rfc3339(expires), *tx;
	guint i;

	if (not_after > expires)
		not_after = expires;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, t->id);
	json_builder_set_member_name(b, "sender");
	json_builder_add_string_value(b, t->sender ? t->sender : "");
	json_builder_set_member_name(b, "expires");
	json_builder_add_string_value(b, ex);
	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (i = 0; i < t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(t->files, i);
		struct portal_ticket tkt = { 0 };
		char *url, *safe = portal_zip_safe_name(f->name, i);
		const char *end = safe;

		memcpy(tkt.id, t->id, sizeof tkt.id);
		tkt.index = f->index;
		tkt.size = f->size;
		tkt.not_after = not_after;
		memcpy(tkt.key, f->key, sizeof tkt.key);
		g_utf8_validate(safe, MIN(strlen(safe), PORTAL_TICKET_NAME_MAX), &end);
		memcpy(tkt.name, safe, (size_t)(end - safe));
		tx = portal_ticket_seal(&p->tkeys, &tkt);
		portal_ticket_wipe(&tkt);
		url = g_strdup_printf("/d/%s", tx ? tx : "invalid");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "index");
		json_builder_add_int_value(b, f->index);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, safe);
		json_builder_set_member_name(b, "size");
		json_builder_add_int_value(b, (gint64)f->size);
		json_builder_set_member_name(b, "type");
		json_builder_add_string_value(b, f->type ? f->type : "application/octet-stream");
		json_builder_set_member_name(b, "sha256");
		json_builder_add_string_value(b, f->sha256);
		json_builder_set_member_name(b, "url");
		json_builder_add_string_value(b, url);
		json_builder_end_object(b);
		g_free(url);
		g_free(tx);
		g_free(safe);
	}
	json_builder_end_array(b);
	memset(&tk_all, 0, sizeof tk_all);
	memcpy(tk_all.id, t->id, sizeof tk_all.id);
	tk_all.index = PORTAL_TICKET_ALL;
	tk_all.not_after = not_after;
	memcpy(tk_all.key, tk, 32);
	tx = portal_ticket_seal(&p->tkeys, &tk_all);
	portal_ticket_wipe(&tk_all);
	s = g_strdup_printf("/d/%s", tx ? tx : "invalid");
	json_builder_set_member_name(b, "all");
	json_builder_add_string_value(b, s);
	g_free(s);
	g_free(tx);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	g_free(ex);
	return s;
}

static enum MHD_Result
handle_unlock(struct portal *p, struct MHD_Connection *conn, const char *id, struct req *rq)
{
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	char *client = client_addr(p, conn), *ipkey = NULL, *pwkey = NULL, *pwip = NULL;
	char *secret = NULL, *password = NULL, *json = NULL;
	JsonParser *jp = NULL;
	JsonObject *o;
	JsonNode *n;
	GByteArray *obj = NULL;
	struct envelope_header h;
	struct transfer *t = NULL;
	GError *err = NULL;
	unsigned char tk[32] = { 0 };
	int64_t retry = 0;
	enum tstate ts;
	enum MHD_Result rc;

	if (!origin_ok(p, conn)) {
		rc = send_json_error(conn, 403, "origin", 0);
		goto out;
	}
	if (rq->too_big) {
		rc = send_json_error(conn, 413, "request", 0);
		goto out;
	}
	if (ctype == NULL || g_ascii_strncasecmp(ctype, "application/json", 16) != 0) {
		rc = send_json_error(conn, 415, "request", 0);
		goto out;
	}
	ipkey = g_strdup_printf("ip:%s", client);
	if (rl_count(p, ipkey, RL_IP_WINDOW, &retry) >= p->c->unlock_failures_per_ip) {
		rc = send_json_error(conn, 429, "rate", retry);
		goto out;
	}
	if (!transfer_valid_id(id)) {
		rc = send_json_error(conn, 404, "not-found", 0);
		goto out;
	}
	ts = transfer_state(p, id, &h, &obj);
	if (ts != TS_LIVE) {
		rc = send_json_error(conn, ts, ts == TS_GONE ? "gone" : ts == TS_NOTFOUND ? "not-found" :
			"unavailable", 0);
		goto out;
	}
	jp = json_parser_new();
	if (rq->body == NULL || !json_parser_load_from_data(jp, (const char *)rq->body->data,
		(gssize)rq->body->len, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		rc = send_json_error(conn, 400, "request", 0);
		goto out;
	}
	o = json_node_get_object(json_parser_get_root(jp));
	n = json_object_get_member(o, "secret");
	if (n != NULL && json_node_get_value_type(n) == G_TYPE_STRING)
		secret = g_strdup(json_node_get_string(n));
	n = json_object_get_member(o, "password");
	if (n != NULL && json_node_get_value_type(n) == G_TYPE_STRING && *json_node_get_string(n) != '\0')
		password = g_strdup(json_node_get_string(n));
	if (secret == NULL || envelope_manifest_check_secret(obj->data, obj->len, secret) != ENVELOPE_OK) {
		rl_fail(p, ipkey, RL_IP_WINDOW);
		audit_unlock(p, id, "secret", client);
		rc = send_json_error(conn, 403, "secret", 0);
		goto out;
	}
	if (h.password) {
		pwkey = g_strdup_printf("pw:%s", id);
		pwip = g_strdup_printf("pwip:%s", client);
		if (password == NULL) {
			rc = send_json_error(conn, 401, "password", 0);
			goto out;
		}
		if (rl_count(p, pwkey, RL_PW_WINDOW, &retry) >= p->c->password_failures ||
		    rl_count(p, pwip, RL_PW_WINDOW, &retry) >= p->c->password_failures) {
			audit_unlock(p, id, "password-rate-limited", client);
			rc = send_json_error(conn, 429, "rate", retry);
			goto out;
		}
		if (g_atomic_int_add(&p->kdf_running, 1) >= (gint)p->c->max_kdf_concurrency) {
			g_atomic_int_add(&p->kdf_running, -1);
			rc = send_json_error(conn, 429, "busy", 2);
			goto out;
		}
	}
	if (transfer_derive_key(&h, secret, password, tk) != 0) {
		if (h.password)
			g_atomic_int_add(&p->kdf_running, -1);
		rc = send_json_error(conn, 503, "unavailable", 0);
		goto out;
	}
	if (h.password)
		g_atomic_int_add(&p->kdf_running, -1);
	t = transfer_open_obj(p->st, &p->dk, id, obj->data, obj->len, tk, &err);
	if (t == NULL) {
		if (h.password) {
			rl_fail(p, pwkey, RL_PW_WINDOW);
			rl_fail(p, pwip, RL_PW_WINDOW);
			rl_fail(p, ipkey, RL_IP_WINDOW);
			audit_unlock(p, id, "password", client);
			rc = send_json_error(conn, 401, "password", 0);
		} else {
			log_error("portal: transfer %s: manifest does not open with a verified secret: %s",
				id, err ? err->message : "?");
			rc = send_json_error(conn, 403, "secret", 0);
		}
		goto out;
	}
	json = unlock_json(p, t, tk, h.expires);
	rc = send_buf(conn, 200, "application/json", json, strlen(json), "no-store", NULL);
	log_info("portal: transfer %s unlocked by %s", id, client);
out:
	crypto_wipe(tk, sizeof tk);
	crypto_free_string(secret);
	crypto_free_string(password);
	crypto_free_string(json);
	if (jp)
		g_object_unref(jp);
	if (obj)
		g_byte_array_free(obj, TRUE);
	transfer_free(t);
	g_clear_error(&err);
	g_free(ipkey);
	g_free(pwkey);
	g_free(pwip);
	g_free(client);
	return rc;
}

/* ---- GET /r/<id>, POST /r/<id>/revoke (DECISIONS.md §6) ----------------------- */

static enum MHD_Result
handle_revoke_page(struct portal *p, struct MHD_Connection *conn, const char *id)
{
	enum portal_lang lang = req_lang(conn);
	struct envelope_header h;
	char self[64];
	enum tstate ts;
	enum MHD_Result rc;
	char *page;

	if (!transfer_valid_id(id))
		return send_page(p, conn, 404, lang, NULL);
	snprintf(self, sizeof self, "/r/%s", id);
	ts = transfer_state(p, id, &h, NULL);
	if (ts != TS_LIVE && ts != TS_GONE)
		return send_page(p, conn, ts, lang, self);
	page = portal_page_revoke(p->c, lang, id, ts == TS_LIVE ? h.created : 0,
		ts == TS_LIVE ? h.expires : 0, ts == TS_LIVE ? PORTAL_REVOKE_LIVE :
		transfer_tombstone_read(p->st, &p->dk, id, NULL, NULL) == 1 ? PORTAL_REVOKE_REVOKED :
		PORTAL_REVOKE_EXPIRED);
	rc = send_buf(conn, ts, "text/html; charset=utf-8", page, strlen(page), NULL, NULL);
	g_free(page);
	return rc;
}

/* revoke_origin_ok - the revoke changes state, so unlike unlock it needs a
 * browser's proof of origin: Origin present and ours, and Sec-Fetch-Site
 * (when sent) same-origin. Non-browser clients send Origin themselves or
 * use `offloadctl revoke`. */
static gboolean
revoke_origin_ok(struct portal *p, struct MHD_Connection *conn)
{
	const char *sfs = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");

	if (sfs != NULL && strcmp(sfs, "same-origin") != 0)
		return FALSE;
	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin") == NULL)
		return FALSE;
	return origin_ok(p, conn);
}

static void
audit_revoke(struct portal *p, const char *id, const char *action, const char *reason,
	int64_t expires, const char *client)
{
	struct audit_event ev = { 0 };
	char *ex = expires != 0 ? rfc3339(expires) : NULL;

	ev.event = "revoke";
	ev.size = -1;
	ev.action = action;
	ev.reasons = reason;
	ev.transfer = id;
	ev.expires = ex;
	ev.client = client;
	audit_write(p->audit, &ev);
	g_free(ex);
}

static enum MHD_Result
handle_revoke(struct portal *p, struct MHD_Connection *conn, const char *id, struct req *rq)
{
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	char *client = client_addr(p, conn), *ipkey = NULL, *secret = NULL;
	JsonParser *jp = NULL;
	JsonNode *n;
	struct envelope_header h;
	enum transfer_revoke_step step;
	unsigned deleted = 0;
	int64_t retry = 0;
	enum tstate ts;
	enum MHD_Result rc;
	int r;

	if (!revoke_origin_ok(p, conn)) {
		rc = send_json_error(conn, 403, "origin", 0);
		goto out;
	}
	if (rq->too_big) {
		rc = send_json_error(conn, 413, "request", 0);
		goto out;
	}
	if (ctype == NULL || g_ascii_strncasecmp(ctype, "application/json", 16) != 0) {
		rc = send_json_error(conn, 415, "request", 0);
		goto out;
	}
	ipkey = g_strdup_printf("ip:%s", client); /* one failure budget with unlock */
	if (rl_count(p, ipkey, RL_IP_WINDOW, &retry) >= p->c->unlock_failures_per_ip) {
		rc = send_json_error(conn, 429, "rate", retry);
		goto out;
	}
	if (!transfer_valid_id(id)) {
		rc = send_json_error(conn, 404, "not-found", 0);
		goto out;
	}
	/* a tombstone: already revoked (idempotent; `offloadctl revoke` or purge
	 * finish a deletion that was cut short) */
	ts = transfer_state(p, id, &h, NULL);
	if (ts != TS_LIVE) {
		rc = send_json_error(conn, ts, ts == TS_NOTFOUND ? "not-found" : ts == TS_ERROR ? "unavailable" :
			transfer_tombstone_read(p->st, &p->dk, id, NULL, NULL) == 1 ? "revoked" : "gone", 0);
		goto out;
	}
	jp = json_parser_new();
	if (rq->body == NULL || !json_parser_load_from_data(jp, (const char *)rq->body->data,
		(gssize)rq->body->len, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		rc = send_json_error(conn, 400, "request", 0);
		goto out;
	}
	n = json_object_get_member(json_node_get_object(json_parser_get_root(jp)), "secret");
	if (n != NULL && json_node_get_value_type(n) == G_TYPE_STRING)
		secret = g_strdup(json_node_get_string(n));
	/* h is the MAC-verified clear header: its revoke hash is the deployment's */
	if (!transfer_revoke_check(&h, secret)) {
		rl_fail(p, ipkey, RL_IP_WINDOW);
		audit_revoke(p, id, "denied", "secret", 0, client);
		rc = send_json_error(conn, 403, "secret", 0);
		goto out;
	}
	r = transfer_revoke(p->st, &p->dk, id, false, now_s(), h.expires, &step, &deleted);
	if (r != STORAGE_OK && step == TRANSFER_REVOKE_TOMBSTONE) {
		log_error("portal: transfer %s: revoke by link failed, nothing changed (%s)", id,
			storage_strerror(r));
		rc = send_json_error(conn, 503, "unavailable", 0);
		goto out;
	}
	/* the tombstone stands: revoked for every reader; leftovers (a failed
	 * delete) go with the next `offloadctl purge` */
	audit_revoke(p, id, "revoke-link", r == STORAGE_OK ? NULL : "incomplete-delete", h.expires, client);
	log_info("portal: transfer %s revoked by the sender's link from %s (%u object(s) deleted%s)", id,
		client, deleted, r == STORAGE_OK ? "" : ", deletion incomplete");
	{
		char *body = g_strdup_printf("{\"state\":\"revoked\",\"id\":\"%s\"}", id);

		rc = send_buf(conn, 200, "application/json", body, strlen(body), "no-store", NULL);
		g_free(body);
	}
out:
	crypto_free_string(secret);
	if (jp)
		g_object_unref(jp);
	g_free(ipkey);
	g_free(client);
	return rc;
}

/* ---- GET /d/<ticket> ------------------------------------------------------- */

struct dl {
	struct portal *p;
	struct portal_ticket tkt;
	char *client;
	char *name;              /* shown/audited name ("" for all) */
	uint64_t start, len, sent, skip;
	struct transfer_stream *fs;
	struct portal_zip *zip;
	struct transfer *t;      /* for the ZIP: file keys */
	unsigned char *scratch;
	gboolean failed, head;
};

struct zsrc {
	struct transfer_stream *s;
	struct dl *d;
};

static void *
zsrc_open(void *arg, uint32_t index, uint64_t size)
{
	struct dl *d = arg;
	struct transfer_file *f = g_ptr_array_index(d->t->files, index);
	struct zsrc *z = g_new0(struct zsrc, 1);

	z->d = d;
	z->s = transfer_stream_new(d->p->st, d->t->id, index, f->key, size, 0, size);
	if (z->s == NULL) {
		g_free(z);
		return NULL;
	}
	return z;
}

static long
zsrc_read(void *h, void *buf, size_t max)
{
	struct zsrc *z = h;
	int serr;
	long n = transfer_stream_read(z->s, buf, max, &serr);

	if (n < 0)
		log_error("portal: transfer %s: ZIP member fails (%s); aborting the download",
			z->d->t->id, n == TRANSFER_STREAM_ESTORAGE ? storage_strerror(serr) :
			envelope_strerror((int)n));
	return n;
}

static void
zsrc_close(void *h)
{
	struct zsrc *z = h;

	transfer_stream_free(z->s);
	g_free(z);
}

static ssize_t
dl_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct dl *d = cls;
	long n;
	int serr = 0;

	(void)pos;
	if (d->failed)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (d->sent >= d->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > d->len - d->sent)
		max = (size_t)(d->len - d->sent);
	if (d->tkt.index != PORTAL_TICKET_ALL) {
		if (d->fs == NULL)
			d->fs = transfer_stream_new(d->p->st, d->tkt.id, d->tkt.index, d->tkt.key, d->tkt.size,
				d->start, d->len);
		n = d->fs ? transfer_stream_read(d->fs, buf, max, &serr) : -1;
		if (n < 0 || (n == 0 && d->sent < d->len)) {
			log_error("portal: transfer %s file %u: download aborted after %" PRIu64 " bytes: %s",
				d->tkt.id, d->tkt.index, d->sent,
				n == TRANSFER_STREAM_ESTORAGE ? storage_strerror(serr) :
				n < 0 ? envelope_strerror((int)n) : "object shorter than expected");
			d->failed = TRUE;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	} else {
		while (d->skip > 0) {
			size_t k = d->skip < PORTAL_BUF ? (size_t)d->skip : PORTAL_BUF;

			if (d->scratch == NULL)
				d->scratch = g_malloc(PORTAL_BUF);
			n = portal_zip_read(d->zip, d->scratch, k);
			if (n <= 0)
				break;
			d->skip -= (uint64_t)n;
		}
		n = d->skip > 0 ? -1 : portal_zip_read(d->zip, buf, max);
		if (n <= 0) {
			log_error("portal: transfer %s: ZIP download aborted after %" PRIu64 " bytes",
				d->tkt.id, d->sent);
			d->failed = TRUE;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
	}
	d->sent += (uint64_t)n;
	return (ssize_t)n;
}

static void
dl_free(void *cls)
{
	struct dl *d = cls;
	struct audit_event ev = { 0 };
	char reasons[96];

	if (!d->head) {
		if (d->tkt.index == PORTAL_TICKET_ALL)
			snprintf(reasons, sizeof reasons, "index=all,range=%" PRIu64 "-%" PRIu64 "%s",
				d->start, d->start + d->len, d->failed ? ",error=verification" : "");
		else
			snprintf(reasons, sizeof reasons, "index=%u,range=%" PRIu64 "-%" PRIu64 "%s",
				d->tkt.index, d->start, d->start + d->len, d->failed ? ",error=verification" : "");
		ev.event = "download";
		ev.file = d->name;
		ev.size = (int64_t)d->sent;
		ev.action = d->sent == d->len && !d->failed ? "complete" : "partial";
		ev.reasons = reasons;
		ev.transfer = d->tkt.id;
		ev.client = d->client;
		audit_write(d->p->audit, &ev);
	}
	transfer_stream_free(d->fs);
	portal_zip_free(d->zip);
	transfer_free(d->t);
	g_free(d->scratch);
	g_free(d->client);
	g_free(d->name);
	portal_ticket_wipe(&d->tkt);
	g_free(d);
}

static enum MHD_Result
handle_download(struct portal *p, struct MHD_Connection *conn, const char *text, gboolean head)
{
	struct dl *d = g_new0(struct dl, 1);
	struct envelope_header h;
	GByteArray *obj = NULL;
	struct MHD_Response *r = NULL;
	GError *err = NULL;
	uint64_t size = 0, osize = 0;
	char key[64], cr[96], *cd = NULL;
	unsigned status = 200;
	enum tstate ts;
	enum MHD_Result rc;
	int rr;

	d->p = p;
	d->head = head;
	if (portal_ticket_open(&p->tkeys, text, now_s(), &d->tkt) != PORTAL_TICKET_OK) {
		rc = send_text(conn, 403, "This download link is invalid or has expired. Open the transfer page again.\n");
		goto fail;
	}
	ts = transfer_state(p, d->tkt.id, &h, d->tkt.index == PORTAL_TICKET_ALL ? &obj : NULL);
	if (ts != TS_LIVE) {
		rc = send_text(conn, ts == TS_ERROR ? 503 : 410, ts == TS_ERROR ?
			"Storage temporarily unavailable.\n" : "This transfer has expired or was revoked.\n");
		goto fail;
	}
	if (d->tkt.index != PORTAL_TICKET_ALL) {
		snprintf(key, sizeof key, "%s/%u", d->tkt.id, d->tkt.index);
		rr = storage_stat(p->st, key, &osize, NULL);
		if (rr != STORAGE_OK || osize != envelope_file_size(d->tkt.size)) {
			rc = send_text(conn, rr == STORAGE_ETEMP ? 503 : 410, "This file is no longer available.\n");
			goto fail;
		}
		size = d->tkt.size;
		d->name = g_strdup(d->tkt.name);
	} else {
		struct portal_zip_source src = { zsrc_open, zsrc_read, zsrc_close, d };
		const char **names;
		uint64_t *sizes;
		guint i;

		d->t = transfer_open_obj(p->st, &p->dk, d->tkt.id, obj->data, obj->len, d->tkt.key, &err);
		if (d->t == NULL) {
			log_error("portal: %s", err ? err->message : "manifest does not open");
			rc = send_text(conn, 403, "This download link is invalid.\n");
			goto fail;
		}
		names = g_new0(const char *, d->t->files->len + 1);
		sizes = g_new0(uint64_t, d->t->files->len + 1);
		for (i = 0; i < d->t->files->len; i++) {
			const struct transfer_file *f = g_ptr_array_index(d->t->files, i);

			names[i] = f->name;
			sizes[i] = f->size;
		}
		d->zip = portal_zip_new(names, sizes, d->t->files->len, d->t->created, &src);
		g_free(names);
		g_free(sizes);
		size = portal_zip_size(d->zip);
		d->name = g_strdup_printf("transfer-%s.zip", d->tkt.id);
	}
	switch (portal_range_parse(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Range"),
		size, &d->start, &d->len)) {
	case PORTAL_RANGE_OK:
		status = 206;
		snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, d->start,
			d->start + d->len - 1, size);
		break;
	case PORTAL_RANGE_UNSAT: {
		struct MHD_Response *u = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);

		snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
		common_headers(u);
		hdr(u, "Content-Range", cr);
		hdr(u, "Content-Security-Policy", CSP_DOWNLOAD);
		hdr(u, "Cache-Control", "no-store");
		rc = MHD_queue_response(conn, 416, u);
		MHD_destroy_response(u);
		d->head = TRUE; /* nothing sent: no audit event */
		goto fail;
	}
	default:
		d->start = 0;
		d->len = size;
		break;
	}
	d->skip = d->tkt.index == PORTAL_TICKET_ALL ? d->start : 0;
	d->client = client_addr(p, conn);
	r = MHD_create_response_from_callback(d->len, PORTAL_BUF, dl_read, d, dl_free);
	if (r == NULL) {
		rc = MHD_NO;
		goto fail;
	}
	cd = portal_content_disposition(d->name);
	common_headers(r);
	hdr(r, "Content-Type", "application/octet-stream");
	hdr(r, "Content-Disposition", cd);
	hdr(r, "Content-Security-Policy", CSP_DOWNLOAD);
	hdr(r, "Cache-Control", "no-store");
	hdr(r, "Accept-Ranges", "bytes");
	if (status == 206)
		hdr(r, "Content-Range", cr);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r); /* dl_free runs when MHD is done with it */
	g_free(cd);
	if (obj)
		g_byte_array_free(obj, TRUE);
	return rc;
fail:
	d->head = TRUE;
	dl_free(d);
	if (obj)
		g_byte_array_free(obj, TRUE);
	g_clear_error(&err);
	return rc;
}

/* ---- dispatch ---------------------------------------------------------- */

static enum MHD_Result
portal_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct portal *p = cls;
	struct req *rq = *con_cls;
	gboolean get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;
	gboolean post = strcmp(method, "POST") == 0;

	(void)version;
	if (rq == NULL) {
		rq = g_new0(struct req, 1);
		*con_cls = rq;
		if (post) {
			const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

			if (cl != NULL && g_ascii_strtoull(cl, NULL, 10) > PORTAL_MAX_BODY)
				return send_json_error(conn, 413, "request", 0);
			return MHD_YES;
		}
	}
	if (post && *upload_data_size > 0) {
		if (!rq->too_big) {
			if (rq->body == NULL)
				rq->body = g_byte_array_new();
			if (rq->body->len + *upload_data_size > PORTAL_MAX_BODY)
				rq->too_big = TRUE;
			else
				g_byte_array_append(rq->body, (const guint8 *)upload_data, (guint)*upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strlen(url) > 1024)
		return send_page(p, conn, 404, req_lang(conn), NULL);
	if (g_str_has_prefix(url, "/t/") && g_str_has_suffix(url, "/unlock")) {
		char id[ENVELOPE_ID_TEXT_LEN + 1] = "";
		size_t l = strlen(url) - 3 - 7;

		if (!post)
			return send_json_error(conn, 405, "method", 0);
		if (l == ENVELOPE_ID_TEXT_LEN)
			memcpy(id, url + 3, l);
		return handle_unlock(p, conn, id, rq);
	}
	if (g_str_has_prefix(url, "/r/") && g_str_has_suffix(url, "/revoke")) {
		char id[ENVELOPE_ID_TEXT_LEN + 1] = "";
		size_t l = strlen(url) - 3 - 7;

		if (!post)
			return send_json_error(conn, 405, "method", 0);
		if (l == ENVELOPE_ID_TEXT_LEN)
			memcpy(id, url + 3, l);
		return handle_revoke(p, conn, id, rq);
	}
	if (!get && !head)
		return send_text(conn, 405, "Method not allowed.\n");
	if (strcmp(url, "/static/portal.js") == 0)
		return send_buf(conn, 200, "text/javascript; charset=utf-8", portal_js, strlen(portal_js),
			"no-cache", NULL);
	if (strcmp(url, "/static/revoke.js") == 0)
		return send_buf(conn, 200, "text/javascript; charset=utf-8", portal_revoke_js,
			strlen(portal_revoke_js), "no-cache", NULL);
	if (strcmp(url, "/static/portal.css") == 0)
		return send_buf(conn, 200, "text/css; charset=utf-8", portal_css, strlen(portal_css),
			"no-cache", NULL);
	if (strcmp(url, "/static/favicon.svg") == 0)
		return send_buf(conn, 200, "image/svg+xml", portal_favicon_svg, strlen(portal_favicon_svg),
			"max-age=86400", NULL);
	if (strcmp(url, "/favicon.ico") == 0) /* browsers ask without looking at the page */
		return send_buf(conn, 204, "image/x-icon", "", 0, "max-age=86400", NULL);
	if (g_str_has_prefix(url, "/t/"))
		return handle_page(p, conn, url + 3);
	if (g_str_has_prefix(url, "/d/"))
		return handle_download(p, conn, url + 3, head);
	if (g_str_has_prefix(url, "/r/"))
		return handle_revoke_page(p, conn, url + 3);
	return send_page(p, conn, 404, req_lang(conn), NULL);
}

static void
req_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rq == NULL)
		return;
	if (rq->body != NULL) {
		crypto_wipe(rq->body->data, rq->body->len);
		g_byte_array_free(rq->body, TRUE);
	}
	g_free(rq);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *s = g_strdup_vprintf(fmt, ap);

	(void)cls;
	g_strchomp(s);
	log_warning("portal: libmicrohttpd: %s", s);
	g_free(s);
}

/* ---- life cycle ---------------------------------------------------------- */

static char *
url_origin(const char *url)
{
	const char *s = strstr(url, "://"), *e;

	if (s == NULL)
		return NULL;
	e = strchr(s + 3, '/');
	return e ? g_strndup(url, (size_t)(e - url)) : g_strdup(url);
}

struct portal *
portal_new(struct conf *conf, GError **err)
{
	struct portal *p = g_new0(struct portal, 1);
	struct key32 tcur, tprev;
	gboolean have_prev = FALSE;

	p->c = conf;
	g_mutex_init(&p->rl_lock);
	p->rl = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	p->origin = url_origin(conf->portal_url);
	if (keys_load(conf->deployment_key_file, &p->dk, err) != 0)
		goto fail;
	if (keys_load(conf->ticket_key_file, &tcur, err) != 0)
		goto fail;
	if (conf->ticket_key_previous_file && *conf->ticket_key_previous_file) {
		if (!g_file_test(conf->ticket_key_previous_file, G_FILE_TEST_EXISTS)) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: previous ticket key missing",
				conf->ticket_key_previous_file);
			keys_wipe(&tcur);
			goto fail;
		}
		if (keys_load(conf->ticket_key_previous_file, &tprev, err) != 0) {
			keys_wipe(&tcur);
			goto fail;
		}
		have_prev = TRUE;
	}
	portal_ticket_keys_init(&p->tkeys, &tcur, have_prev ? &tprev : NULL);
	keys_wipe(&tcur);
	if (have_prev)
		keys_wipe(&tprev);
	p->st = storage_open_checked(conf, &p->dk, false, err);
	if (p->st == NULL)
		goto fail;
	p->audit = audit_open(conf, err);
	if (p->audit == NULL)
		goto fail;
	return p;
fail:
	portal_free(p);
	return NULL;
}

int
portal_start(struct portal *p, GError **err)
{
	struct sockaddr_storage ss;
	const char *listen = p->c->portal_listen, *colon = strrchr(listen, ':');
	char host[128];
	unsigned long port;
	gboolean v6 = FALSE;

	memset(&ss, 0, sizeof ss);
	if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
		goto bad;
	port = strtoul(colon + 1, NULL, 10);
	if (port == 0 || port > 65535)
		goto bad;
	if (listen[0] == '[' && colon[-1] == ']') {
		g_strlcpy(host, listen + 1, (size_t)(colon - listen) - 1);
		v6 = TRUE;
	} else {
		g_strlcpy(host, listen, (size_t)(colon - listen) + 1);
	}
	if (!v6 && inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		v6 = TRUE;
	} else {
		goto bad;
	}
	p->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), (uint16_t)port, NULL, NULL,
		portal_handler, p,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, p,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)p->c->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
		MHD_OPTION_NOTIFY_COMPLETED, req_done, p,
		MHD_OPTION_END);
	if (p->d == NULL) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot listen on %s: %s", listen,
			g_strerror(errno));
		return -1;
	}
	log_info("portal: listening on %s, public URL %s", listen, p->c->portal_url);
	return 0;
bad:
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		"[portal] listen: '%s' is not ADDRESS:PORT", listen);
	return -1;
}

void
portal_free(struct portal *p)
{
	if (p == NULL)
		return;
	if (p->d != NULL)
		MHD_stop_daemon(p->d);
	audit_close(p->audit);
	storage_free(p->st);
	keys_wipe(&p->dk);
	portal_ticket_keys_wipe(&p->tkeys);
	g_hash_table_destroy(p->rl);
	g_mutex_clear(&p->rl_lock);
	g_free(p->origin);
	conf_free(p->c);
	g_free(p);
}
