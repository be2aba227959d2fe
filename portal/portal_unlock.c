/*
 * portal_unlock.c - GET /t/<id> (the transfer page) and POST /t/<id>/unlock
 * (secret and password -> file list with download tickets).
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <microhttpd.h>

#include "crypto.h"
#include "log.h"
#include "portal_int.h"
#include "portal_zip.h"
#include "transfer.h"
#include "transfer_password.h"

/* ---- GET /t/<id> ----------------------------------------------------------- */

enum MHD_Result
portal_handle_page(struct portal *p, struct MHD_Connection *conn, const char *id)
{
	enum portal_lang lang = portal_req_lang(conn);
	struct envelope_header h;
	char self[64];
	enum tstate ts;
	enum MHD_Result rc;
	char *page;

	if (!transfer_valid_id(id))
		return portal_send_page(p, conn, 404, lang, NULL);
	snprintf(self, sizeof self, "/t/%s", id);
	ts = portal_transfer_state(p, id, &h, NULL);
	if (ts != TS_LIVE)
		return portal_send_page(p, conn, ts, lang, self);
	page = portal_page_transfer(p->c, lang, id, h.expires, h.password);
	rc = portal_send_buf(conn, 200, "text/html; charset=utf-8", page, strlen(page), NULL, NULL);
	g_free(page);
	return rc;
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
unlock_json(struct portal *p, const struct transfer *t, const unsigned char tk[32], int64_t expires)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	struct portal_ticket tk_all;
	int64_t not_after = portal_now() + (int64_t)p->c->ticket_lifetime;
	char *s, *ex = portal_rfc3339(expires), *tx;
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

enum MHD_Result
portal_handle_unlock(struct portal *p, struct MHD_Connection *conn, const char *id, struct req *rq)
{
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	char *client = portal_client_addr(p, conn), *ipkey = NULL, *pwkey = NULL, *pwip = NULL;
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

	if (!portal_origin_ok(p, conn)) {
		rc = portal_send_json_error(conn, 403, "origin", 0);
		goto out;
	}
	if (rq->too_big) {
		rc = portal_send_json_error(conn, 413, "request", 0);
		goto out;
	}
	if (ctype == NULL || g_ascii_strncasecmp(ctype, "application/json", 16) != 0) {
		rc = portal_send_json_error(conn, 415, "request", 0);
		goto out;
	}
	ipkey = g_strdup_printf("ip:%s", client);
	if (portal_rl_count(p, ipkey, RL_IP_WINDOW, &retry) >= p->c->unlock_failures_per_ip) {
		rc = portal_send_json_error(conn, 429, "rate", retry);
		goto out;
	}
	if (!transfer_valid_id(id)) {
		rc = portal_send_json_error(conn, 404, "not-found", 0);
		goto out;
	}
	ts = portal_transfer_state(p, id, &h, &obj);
	if (ts != TS_LIVE) {
		rc = portal_send_json_error(conn, ts, ts == TS_GONE ? "gone" : ts == TS_NOTFOUND ? "not-found" :
			"unavailable", 0);
		goto out;
	}
	jp = json_parser_new();
	if (rq->body == NULL || !json_parser_load_from_data(jp, (const char *)rq->body->data,
		(gssize)rq->body->len, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		rc = portal_send_json_error(conn, 400, "request", 0);
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
		portal_rl_fail(p, ipkey, RL_IP_WINDOW);
		audit_unlock(p, id, "secret", client);
		rc = portal_send_json_error(conn, 403, "secret", 0);
		goto out;
	}
	if (h.password) {
		pwkey = g_strdup_printf("pw:%s", id);
		pwip = g_strdup_printf("pwip:%s", client);
		if (password == NULL) {
			rc = portal_send_json_error(conn, 401, "password", 0);
			goto out;
		}
		if (portal_rl_count(p, pwkey, RL_PW_WINDOW, &retry) >= p->c->password_failures ||
		    portal_rl_count(p, pwip, RL_PW_WINDOW, &retry) >= p->c->password_failures) {
			audit_unlock(p, id, "password-rate-limited", client);
			rc = portal_send_json_error(conn, 429, "rate", retry);
			goto out;
		}
		if (g_atomic_int_add(&p->kdf_running, 1) >= (gint)p->c->max_kdf_concurrency) {
			g_atomic_int_add(&p->kdf_running, -1);
			rc = portal_send_json_error(conn, 429, "busy", 2);
			goto out;
		}
	}
	if (transfer_derive_key(&h, secret, password, tk) != 0) {
		if (h.password)
			g_atomic_int_add(&p->kdf_running, -1);
		rc = portal_send_json_error(conn, 503, "unavailable", 0);
		goto out;
	}
	if (h.password)
		g_atomic_int_add(&p->kdf_running, -1);
	t = transfer_open_obj(p->st, &p->dk, id, obj->data, obj->len, tk, &err);
	if (t == NULL) {
		if (h.password) {
			portal_rl_fail(p, pwkey, RL_PW_WINDOW);
			portal_rl_fail(p, pwip, RL_PW_WINDOW);
			portal_rl_fail(p, ipkey, RL_IP_WINDOW);
			audit_unlock(p, id, "password", client);
			rc = portal_send_json_error(conn, 401, "password", 0);
		} else {
			log_error("portal: transfer %s: manifest does not open with a verified secret: %s",
				id, err ? err->message : "?");
			rc = portal_send_json_error(conn, 403, "secret", 0);
		}
		goto out;
	}
	json = unlock_json(p, t, tk, h.expires);
	rc = portal_send_buf(conn, 200, "application/json", json, strlen(json), "no-store", NULL);
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

