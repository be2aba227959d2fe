/*
 * portal_http.c - offload-portal's daemon: routing, request bodies, peer
 * address, rate limits, life cycle (see portal_http.h). The handlers live
 * in portal_unlock.c, portal_revoke.c and portal_download.c.
 *
 *   GET|HEAD /t/<id>            page: expiry from the MAC-verified clear header only
 *   POST     /t/<id>/unlock     JSON {secret, password?} -> file list + ticket URLs
 *   GET|HEAD /d/<ticket>        download (Range), or the ZIP of all files, or a
 *                               leaf of an offloaded .eml (part >= 1)
 *   GET|HEAD /l/<ticket>        an offloaded .eml as a letter to read (JSON)
 *   GET|HEAD /r/<id>            the sender's revoke confirmation page (no side effect)
 *   POST     /r/<id>/revoke     JSON {secret} (the revoke secret) -> tombstone, then delete
 *   POST     /r/<id>/view       JSON {secret} -> the sender view with download counts (portal_sender.c)
 *   POST     /r/<id>/extend     JSON {secret, days} -> the new expiry (portal_sender.c)
 *   GET|HEAD /static/portal.js, /static/revoke.js, /static/sender.js, /static/portal.css
 *
 * A GET never changes state and never returns file data. Downloads stream:
 * segments are read from storage in batches and released only after their
 * GCM tag verified (transfer_stream); a failure ends the response with an
 * error, which makes MHD close the connection, and is logged and audited.
 * Memory: per download one stream (~0.6 MiB), its read-ahead (1.5 MiB,
 * portal_prefetch.c) and MHD's 512 KiB block; request bodies capped at
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
#include <microhttpd.h>

#include "audit.h"
#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "portal_int.h"
#include "portal_pages.h"
#include "portal_ticket.h"
#include "storage.h"
#include "storage_keyid.h"

int64_t
portal_now(void)
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

/* portal_client_addr - the peer, or the last X-Forwarded-For hop when the peer is
 * a trusted proxy; g_malloc'ed */
char *
portal_client_addr(struct portal *p, struct MHD_Connection *conn)
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

/* ---- rate limits ----------------------------------------------------------- */

/* portal_rl_count - failures recorded for key in the current window */
unsigned
portal_rl_count(struct portal *p, const char *key, int64_t window, int64_t *retry)
{
	struct rl_entry *e;
	unsigned n = 0;
	int64_t now = portal_now();

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

void
portal_rl_fail(struct portal *p, const char *key, int64_t window)
{
	struct rl_entry *e;
	int64_t now = portal_now();

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

/* ---- dispatch ---------------------------------------------------------- */

/* post_id - the transfer id of "/X/<id>/<what>": copied into id when the length fits, else
 * id stays empty (the handlers answer an empty id like any unknown one) */
static void
post_id(const char *url, const char *what, char id[ENVELOPE_ID_TEXT_LEN + 1])
{
	id[0] = '\0';
	if (strlen(url) == 3 + ENVELOPE_ID_TEXT_LEN + 1 + strlen(what)) {
		memcpy(id, url + 3, ENVELOPE_ID_TEXT_LEN);
		id[ENVELOPE_ID_TEXT_LEN] = '\0';
	}
}

/* route_post - the JSON actions (unlock, sender view/extend, revoke); no match: -1 */
static int
route_post(struct portal *p, struct MHD_Connection *conn, const char *url, gboolean post,
	struct req *rq)
{
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	const char *what = NULL;

	if (g_str_has_prefix(url, "/t/") && g_str_has_suffix(url, "/unlock"))
		what = "unlock";
	else if (g_str_has_prefix(url, "/r/") && g_str_has_suffix(url, "/view"))
		what = "view";
	else if (g_str_has_prefix(url, "/r/") && g_str_has_suffix(url, "/extend"))
		what = "extend";
	else if (g_str_has_prefix(url, "/r/") && g_str_has_suffix(url, "/revoke"))
		what = "revoke";
	if (what == NULL)
		return -1;
	if (!post)
		return portal_send_json_error(conn, 405, "method", 0);
	post_id(url, what, id);
	if (strcmp(what, "unlock") == 0)
		return portal_handle_unlock(p, conn, id, rq);
	if (strcmp(what, "revoke") == 0)
		return portal_handle_revoke(p, conn, id, rq);
	return portal_handle_sender(p, conn, id, what, rq);
}

/* route_static - scripts, style sheet and icons compiled into the portal; no match: -1 */
static int
route_static(struct MHD_Connection *conn, const char *url)
{
	static const struct {
		const char *url, *type, *cache;
		const char *body;
	} files[] = {
		{ "/static/portal.js", "text/javascript; charset=utf-8", "no-cache", portal_js },
		{ "/static/letter.js", "text/javascript; charset=utf-8", "no-cache", portal_letter_js },
		{ "/static/revoke.js", "text/javascript; charset=utf-8", "no-cache", portal_revoke_js },
		{ "/static/sender.js", "text/javascript; charset=utf-8", "no-cache", portal_sender_js },
		{ "/static/portal.css", "text/css; charset=utf-8", "no-cache", portal_css },
		{ "/static/favicon.svg", "image/svg+xml", "max-age=86400", portal_favicon_svg },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(files); i++)
		if (strcmp(url, files[i].url) == 0)
			return portal_send_buf(conn, 200, files[i].type, files[i].body,
				strlen(files[i].body), files[i].cache, NULL);
	if (strcmp(url, "/favicon.ico") == 0) /* browsers ask without looking at the page */
		return portal_send_buf(conn, 204, "image/x-icon", "", 0, "max-age=86400", NULL);
	return -1;
}

/* request_body - the first call of a request (framing check, size limit) and the calls that
 * hand over a POST body; -1: go on to the routes, else the MHD result to return (MHD_YES
 * to wait for more of the body) */
static int
request_body(struct MHD_Connection *conn, gboolean post, const char *upload_data,
	size_t *upload_data_size, void **con_cls)
{
	struct req *rq = *con_cls;

	if (rq == NULL) {
		rq = g_new0(struct req, 1);
		*con_cls = rq;
		if (!portal_framing_ok(conn, post))
			return portal_send_text(conn, 400, "Bad request.\n");
		if (post) {
			const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

			if (cl != NULL && g_ascii_strtoull(cl, NULL, 10) > PORTAL_MAX_BODY)
				return portal_send_json_error(conn, 413, "request", 0);
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
	return -1;
}

static enum MHD_Result
portal_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct portal *p = cls;
	gboolean get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;
	gboolean post = strcmp(method, "POST") == 0;
	int rc;

	(void)version;
	rc = request_body(conn, post, upload_data, upload_data_size, con_cls);
	if (rc >= 0)
		return (enum MHD_Result)rc;
	if (strlen(url) > 1024)
		return portal_send_page(p, conn, 404, portal_req_lang(conn), NULL);
	rc = route_post(p, conn, url, post, *con_cls);
	if (rc >= 0)
		return (enum MHD_Result)rc;
	if (!get && !head)
		return portal_send_text(conn, 405, "Method not allowed.\n");
	rc = route_static(conn, url);
	if (rc >= 0)
		return (enum MHD_Result)rc;
	if (g_str_has_prefix(url, "/t/"))
		return portal_handle_page(p, conn, url + 3);
	if (g_str_has_prefix(url, "/d/") || g_str_has_prefix(url, "/l/"))
		return portal_handle_ticket(p, conn, url, head);
	if (g_str_has_prefix(url, "/r/"))
		return portal_handle_revoke_page(p, conn, url + 3);
	return portal_send_page(p, conn, 404, portal_req_lang(conn), NULL);
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

/* portal_log_redact - msg with every download ticket ("/d/<ticket>" or
 * "/l/<ticket>": all up to the next space, quote or end) replaced by
 * "/d/[ticket]" ("/l/[ticket]"); g_malloc'ed.
 * libmicrohttpd names the request URL in its messages (e.g. a failed send
 * when a client disconnects), and a logged ticket is a download URL. */
char *
portal_log_redact(const char *msg)
{
	GString *o = g_string_sized_new(strlen(msg));
	const char *p = msg, *d, *l;

	for (;;) {
		d = strstr(p, "/d/");
		l = strstr(p, "/l/");
		if (d == NULL || (l != NULL && l < d))
			d = l;
		if (d == NULL)
			break;
		g_string_append_len(o, p, d - p);
		g_string_append(o, d[1] == 'd' ? "/d/[ticket]" : "/l/[ticket]");
		p = d + 3;
		while (*p != '\0' && !g_ascii_isspace(*p) && strchr("'\"`<>", *p) == NULL)
			p++;
	}
	g_string_append(o, p);
	return g_string_free(o, FALSE);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *s = g_strdup_vprintf(fmt, ap), *r;

	(void)cls;
	g_strchomp(s);
	r = portal_log_redact(s);
	log_warning("portal: libmicrohttpd: %s", r);
	crypto_free_string(s);
	g_free(r);
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
	unsigned per_ip;
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
	/* exposed directly (no trusted proxy): one address may hold at most an
	 * eighth of the connections, so slow clients from one place cannot starve
	 * everybody; behind a proxy every connection comes from it and the proxy
	 * limits per client (docs/nginx-portal.conf: limit_conn) */
	per_ip = p->c->trusted_proxy == NULL || p->c->trusted_proxy[0] == NULL ?
		MAX(2u, (unsigned)p->c->max_connections / 8) : 0;
	p->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0), (uint16_t)port, NULL, NULL,
		portal_handler, p,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, p,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)p->c->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PORTAL_CONN_TIMEOUT,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
		MHD_OPTION_NOTIFY_COMPLETED, req_done, p,
		MHD_OPTION_END);
	if (p->d == NULL) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot listen on %s: %s", listen,
			g_strerror(errno));
		return -1;
	}
	log_info("portal: listening on %s, public URL %s%s", listen, p->c->portal_url,
		per_ip ? "" : " (behind trusted_proxy: no per-address connection limit)");
	if (per_ip)
		log_info("portal: at most %u connections per client address (no trusted_proxy)", per_ip);
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
