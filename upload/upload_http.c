/*
 * upload_http.c - offload-upload's HTTP side: routing, request bodies,
 * responses, client address, rate limits, the reply token check, life
 * cycle (see upload_int.h). Handlers: upload_tus.c, upload_finish.c,
 * upload_page.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "transfer.h"
#include "transfer_revoke.h"
#include "upload_int.h"

enum MHD_Result
upload_send(struct MHD_Connection *conn, unsigned status, const char *ctype, const char *body,
	size_t len, const char *const *headers)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Tus-Resumable", "1.0.0");
	MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; script-src 'self'; "
		"style-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
	if (ctype != NULL)
		MHD_add_response_header(r, "Content-Type", ctype);
	for (size_t i = 0; headers && headers[i]; i += 2)
		MHD_add_response_header(r, headers[i], headers[i + 1]);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

enum MHD_Result
upload_json_error(struct MHD_Connection *conn, unsigned status, const char *code, const char *text)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	char *s;
	enum MHD_Result rc;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_add_string_value(b, code);
	if (text != NULL) {
		json_builder_set_member_name(b, "message");
		json_builder_add_string_value(b, text);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, NULL);
	rc = upload_send(conn, status, "application/json", s, strlen(s), NULL);
	g_free(s);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return rc;
}

bool
upload_rl_take(struct upload *u, const char *key, unsigned limit)
{
	int64_t now = (int64_t)time(NULL);
	struct upload_rl *e;
	bool ok;

	g_mutex_lock(&u->rl_lock);
	if (g_hash_table_size(u->rl) > 100000)
		g_hash_table_remove_all(u->rl);
	e = g_hash_table_lookup(u->rl, key);
	if (e == NULL) {
		e = g_new0(struct upload_rl, 1);
		g_hash_table_insert(u->rl, g_strdup(key), e);
	}
	if (now - e->start >= UPLOAD_RL_WINDOW) {
		e->start = now;
		e->count = 0;
	}
	ok = e->count < limit;
	if (ok)
		e->count++;
	g_mutex_unlock(&u->rl_lock);
	return ok;
}

void
upload_rl_return(struct upload *u, const char *key)
{
	struct upload_rl *e;

	g_mutex_lock(&u->rl_lock);
	e = g_hash_table_lookup(u->rl, key);
	if (e != NULL && e->count > 0)
		e->count--;
	g_mutex_unlock(&u->rl_lock);
}

int
upload_auth(struct upload *u, struct MHD_Connection *conn, const char *src, int64_t *expires,
	enum MHD_Result *rc)
{
	const char *t = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Offload-Reply-Token");
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN];
	struct envelope_header h;
	GByteArray *obj = NULL;
	int st, status = 0;

	if (!transfer_valid_id(src)) {
		status = 404;
		goto out;
	}
	if (t == NULL || enc_b64url_decode(t, tok, sizeof tok) != (long)sizeof tok) {
		status = 403;
		goto out;
	}
	st = transfer_tombstone_read(u->st, &u->dk, src, NULL, NULL);
	if (st == 1) {
		status = 410;
		goto out;
	}
	st = st < 0 ? st : transfer_get_manifest(u->st, src, &obj);
	if (st == STORAGE_ENOENT) { /* no transfer: a standalone upload link? */
		status = upload_link_auth(u, src, tok, expires);
		goto out;
	}
	if (st != STORAGE_OK) {
		status = st == STORAGE_ENOENT ? 404 : 503;
		goto out;
	}
	if (envelope_manifest_header(obj->data, obj->len, u->dk.key, &h) != ENVELOPE_OK ||
	    strcmp(h.id, src) != 0) {
		status = 404;
		goto out;
	}
	if (h.expires <= (int64_t)time(NULL)) {
		status = 410;
		goto out;
	}
	if (transfer_reply_check(obj->data, obj->len, src, tok) != ENVELOPE_OK)
		status = 403;
	*expires = h.expires;
out:
	crypto_wipe(tok, sizeof tok);
	if (obj)
		g_byte_array_free(obj, TRUE);
	if (status == 403)
		*rc = upload_json_error(conn, 403, "token", "This reply link is not valid.");
	else if (status == 404)
		*rc = upload_json_error(conn, 404, "not-found", "There is no such transfer.");
	else if (status == 410)
		*rc = upload_json_error(conn, 410, "gone", "The transfer has expired or was revoked.");
	else if (status == 503)
		*rc = upload_json_error(conn, 503, "unavailable", "The store is not available; try again later.");
	return status;
}

bool
upload_group(struct upload *u, struct MHD_Connection *conn, const char *src, const char *id,
	struct tus_group *g, enum MHD_Result *rc)
{
	int st = transfer_valid_id(id) ? transfer_tus_group_get(u->st, &u->dk, id, g) : STORAGE_ENOENT;

	if (st == STORAGE_OK && strcmp(g->src, src) == 0)
		return true;
	if (st == STORAGE_OK)
		transfer_tus_group_clear(g);
	*rc = st == STORAGE_ETEMP ? upload_json_error(conn, 503, "unavailable", NULL) :
		upload_json_error(conn, 404, "not-found", "There is no such upload (sent already, or expired).");
	return false;
}

/* ---- routing ------------------------------------------------------------ */

/* split_path - "/u/<a>[/<b>[/<c>]]" into parts; the number of parts */
static int
split_path(const char *url, char **a, char **b, char **c)
{
	char **v;
	int n;

	*a = *b = *c = NULL;
	if (!g_str_has_prefix(url, "/u/") || strlen(url) > 256)
		return 0;
	v = g_strsplit(url + 3, "/", 4);
	n = (int)g_strv_length(v);
	if (n >= 1 && n <= 3) {
		*a = g_strdup(v[0]);
		*b = n > 1 ? g_strdup(v[1]) : NULL;
		*c = n > 2 ? g_strdup(v[2]) : NULL;
	} else {
		n = 0;
	}
	g_strfreev(v);
	return n;
}

static bool
parse_index(const char *s, uint32_t *n)
{
	char *end = NULL;
	guint64 v;

	if (s == NULL || !g_ascii_isdigit(*s) || strlen(s) > 6)
		return false;
	v = g_ascii_strtoull(s, &end, 10);
	*n = (uint32_t)v;
	return *end == '\0';
}

static enum MHD_Result
route(struct upload *u, struct MHD_Connection *conn, struct ureq *rq, const char *method,
	int n, const char *a, const char *b, const char *c)
{
	uint32_t idx = 0;

	if (strcmp(method, "OPTIONS") == 0) {
		char max[32];
		const char *h[] = { "Tus-Version", "1.0.0", "Tus-Extension", "creation,termination",
			"Tus-Max-Size", max, NULL };

		snprintf(max, sizeof max, "%" PRIu64, u->c->upload_max_size);
		return upload_send(conn, 204, NULL, "", 0, h);
	}
	if (n == 2 && strcmp(a, "static") == 0 && strcmp(method, "GET") == 0)
		return upload_handle_static(conn, b);
	if (n == 1 && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
		return upload_handle_page(u, conn, a);
	if (n == 1 && strcmp(method, "POST") == 0)
		return upload_handle_start(u, conn, rq, a);
	if (n == 2 && strcmp(method, "POST") == 0)
		return upload_handle_create(u, conn, a, b);
	if (n == 3 && strcmp(method, "POST") == 0 && strcmp(c, "commit") == 0)
		return upload_handle_commit(u, conn, a, b);
	if (n == 3 && strcmp(method, "HEAD") == 0 && parse_index(c, &idx))
		return upload_handle_head(u, conn, a, b, idx);
	if (n == 3 && strcmp(method, "PATCH") == 0 && rq->kind == UR_PATCH)
		return upload_patch_end(u, conn, rq);
	if (n == 3 && strcmp(method, "DELETE") == 0 && parse_index(c, &idx))
		return upload_handle_delete(u, conn, a, b, false, idx);
	if (n == 2 && strcmp(method, "DELETE") == 0)
		return upload_handle_delete(u, conn, a, b, true, 0);
	return upload_json_error(conn, n == 0 ? 404 : 405, n == 0 ? "not-found" : "method", NULL);
}

/* first_call - what a request needs before its body; MHD_YES to go on,
 * or an answer (*answered) */
static enum MHD_Result
first_call(struct upload *u, struct MHD_Connection *conn, struct ureq *rq, const char *method,
	int n, const char *a, const char *b, const char *c, bool *answered)
{
	uint32_t idx;

	*answered = false;
	if (strcmp(method, "PATCH") == 0 && n == 3 && parse_index(c, &idx)) {
		g_strlcpy(rq->src, a, sizeof rq->src);
		g_strlcpy(rq->id, b, sizeof rq->id);
		return upload_patch_begin(u, conn, rq, idx, answered);
	}
	if (strcmp(method, "POST") == 0) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

		rq->kind = UR_JSON;
		if (cl != NULL && g_ascii_strtoull(cl, NULL, 10) > UPLOAD_MAX_JSON) {
			*answered = true;
			return upload_json_error(conn, 413, "request", NULL);
		}
	}
	return MHD_YES;
}

static enum MHD_Result
upload_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	const char *version, const char *data, size_t *data_size, void **con_cls)
{
	struct upload *u = cls;
	struct ureq *rq = *con_cls;
	char *a, *b, *c;
	int n = split_path(url, &a, &b, &c);
	enum MHD_Result rc = MHD_YES;
	bool answered = false;

	(void)version;
	if (rq == NULL) {
		rq = g_new0(struct ureq, 1);
		*con_cls = rq;
		rc = first_call(u, conn, rq, method, n, a, b, c, &answered);
		if (answered || rc == MHD_NO || rq->kind != UR_NONE)
			goto out;
	}
	if (*data_size > 0) {
		if (rq->kind == UR_PATCH) {
			upload_patch_data(rq, data, *data_size);
		} else if (rq->kind == UR_JSON && !rq->too_big) {
			if (rq->body == NULL)
				rq->body = g_byte_array_new();
			if (rq->body->len + *data_size > UPLOAD_MAX_JSON)
				rq->too_big = true;
			else
				g_byte_array_append(rq->body, (const guint8 *)data, (guint)*data_size);
		}
		*data_size = 0;
		goto out;
	}
	if (rq->kind == UR_JSON && rq->too_big)
		rc = upload_json_error(conn, 413, "request", NULL);
	else
		rc = route(u, conn, rq, method, n, a, b, c);
out:
	g_free(a);
	g_free(b);
	g_free(c);
	return rc;
}

static void
req_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct ureq *rq = *con_cls;

	(void)cls;
	(void)conn;
	if (rq == NULL)
		return;
	/* a chunk whose client went away: what was stored of it stays for the resume; the line
	 * tells the operator (and a test) that the daemon is done with that request */
	if (rq->kind == UR_PATCH && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
	    toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
		log_info("upload %s: file %u: the client went away during a chunk (at offset %" PRIu64 ")",
			rq->id, rq->file.index, rq->file.offset);
	if (rq->body != NULL) {
		crypto_wipe(rq->body->data, rq->body->len);
		g_byte_array_free(rq->body, TRUE);
	}
	transfer_tus_chunk_abort(rq->chunk);
	transfer_tus_file_clear(&rq->file);
	g_free(rq->client);
	g_free(rq);
	*con_cls = NULL;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *s = g_strdup_vprintf(fmt, ap);

	(void)cls;
	log_warning("upload: libmicrohttpd: %s", g_strchomp(s));
	g_free(s);
}

int
upload_start(struct upload *u, GError **err)
{
	const char *listen = u->c->upload_listen, *colon = strrchr(listen, ':');
	struct sockaddr_in sa;
	char host[64];
	unsigned long port;

	memset(&sa, 0, sizeof sa);
	if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
		goto bad;
	g_strlcpy(host, listen, (size_t)(colon - listen) + 1);
	port = strtoul(colon + 1, NULL, 10);
	if (port == 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		goto bad;
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	u->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, upload_handler, u,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, u,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)u->c->max_connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)UPLOAD_CONN_TIMEOUT,
		MHD_OPTION_NOTIFY_COMPLETED, req_done, u,
		MHD_OPTION_END);
	if (u->d == NULL) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot listen on %s: %s", listen,
			g_strerror(errno));
		return -1;
	}
	log_info("upload: listening on %s, reply links under %s/u/", listen, u->c->portal_url);
	return 0;
bad:
	g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		"[upload] listen: '%s' is not IPv4-ADDRESS:PORT", listen);
	return -1;
}
