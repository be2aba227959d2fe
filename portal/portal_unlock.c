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
#include "portal_letter.h"
#include "portal_zip.h"
#include "transfer.h"
#include "transfer_agreed.h"
#include "transfer_password.h"
#include "transfer_reply.h"

/* ---- GET /t/<id> ----------------------------------------------------------- */

enum MHD_Result
portal_handle_page(struct portal *p, struct MHD_Connection *conn, const char *id)
{
	enum portal_lang lang = portal_req_lang(conn);
	struct envelope_header h;
	struct transfer_info info = { 0 };
	int pw = PORTAL_PASSWORD_ASK;
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
	/* how the password arrives, before unlock (FORMATS.md §6.2); no or a
	 * forged info object: "ask the sender" */
	if (h.password && transfer_info_read(p->st, &p->dk, id, &info) == 1)
		pw = (int)info.delivery;
	page = portal_page_transfer(p->c, lang, id, h.expires, h.password ? pw : TRANSFER_DELIVERY_NONE);
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

/* unlock_urls - "url" (/d/<ticket>) and, for an offloaded message, "letter":
 * the same ticket read by GET /l/ to show it in the page (FORMATS.md §4.5) */
static void
unlock_urls(JsonBuilder *b, const char *ticket, bool eml)
{
	char *u = g_strdup_printf("/d/%s", ticket ? ticket : "invalid");

	json_builder_set_member_name(b, "url");
	json_builder_add_string_value(b, u);
	g_free(u);
	if (ticket != NULL && eml) {
		u = g_strdup_printf("/l/%s", ticket);
		json_builder_set_member_name(b, "letter");
		json_builder_add_string_value(b, u);
		g_free(u);
	}
}

/* unlock_reply - "reply": {"to", "url"} when uploads are on and the
 * transfer has a reply object (FORMATS.md §6.5): the token is derived from
 * the link secret the page just presented, so nothing new is stored */
static void
unlock_reply(struct portal *p, JsonBuilder *b, const char *id, const char *secret)
{
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN];
	char *to = NULL, *link;

	if (!p->c->upload_enabled || transfer_reply_token(id, secret, tok) != 0)
		return;
	if (transfer_reply_to(p->st, id, tok, &to) == STORAGE_OK &&
	    (link = transfer_reply_link(p->c->portal_url, id, secret)) != NULL) {
		json_builder_set_member_name(b, "reply");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "to");
		json_builder_add_string_value(b, to);
		json_builder_set_member_name(b, "url");
		json_builder_add_string_value(b, link);
		json_builder_end_object(b);
		crypto_free_string(link);
	}
	crypto_wipe(tok, sizeof tok);
	g_free(to);
}

static char *
unlock_json(struct portal *p, const struct transfer *t, const unsigned char tk[32], int64_t expires,
	const char *secret)
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
		char *safe = portal_zip_safe_name(f->name, i);
		const char *end = safe;
		bool eml;

		memcpy(tkt.id, t->id, sizeof tkt.id);
		tkt.index = f->index;
		tkt.size = f->size;
		tkt.not_after = not_after;
		memcpy(tkt.key, f->key, sizeof tkt.key);
		g_utf8_validate(safe, MIN(strlen(safe), PORTAL_TICKET_NAME_MAX), &end);
		memcpy(tkt.name, safe, (size_t)(end - safe));
		eml = portal_letter_is_eml(tkt.name);
		tx = portal_ticket_seal(&p->tkeys, &tkt);
		portal_ticket_wipe(&tkt);
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
		unlock_urls(b, tx, eml);
		json_builder_end_object(b);
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
	unlock_reply(p, b, t->id, secret);
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

/* one unlock request: what the steps of portal_handle_unlock share */
struct unlock {
	struct portal *p;
	struct MHD_Connection *conn;
	const char *id;
	char *client, *ipkey, *pwkey, *pwip;
	char *secret, *password;
	GByteArray *obj;             /* the manifest object */
	struct envelope_header h;    /* its MAC-verified clear header */
	unsigned char tk[32];
	bool wrong_password;         /* no agreed-secret wrap opened */
	struct transfer_agreed_use use; /* which wrap opened (entry -1: none) */
};

/* unlock_load - a live transfer's manifest and the secret and password
 * (a non-empty string) from the body; FALSE when answered (*rc) */
static gboolean
unlock_load(struct unlock *u, struct req *rq, enum MHD_Result *rc)
{
	enum tstate ts = portal_transfer_state(u->p, u->id, &u->h, &u->obj);
	JsonParser *jp;

	if (ts != TS_LIVE) {
		*rc = portal_send_json_error(u->conn, ts, ts == TS_GONE ? "gone" :
			ts == TS_NOTFOUND ? "not-found" : "unavailable", 0);
		return FALSE;
	}
	jp = portal_post_json(rq);
	if (jp == NULL) {
		*rc = portal_send_json_error(u->conn, 400, "request", 0);
		return FALSE;
	}
	u->secret = portal_post_string(jp, "secret");
	u->password = portal_post_string(jp, "password");
	if (u->password != NULL && *u->password == '\0') {
		crypto_free_string(u->password);
		u->password = NULL;
	}
	g_object_unref(jp);
	return TRUE;
}

/* unlock_password_gate - a password transfer: a password given (401),
 * within the failure budgets of the transfer and of the address (429), and
 * a free KDF slot (429 busy). TRUE: the caller holds a KDF slot */
static gboolean
unlock_password_gate(struct unlock *u, enum MHD_Result *rc)
{
	struct portal *p = u->p;
	int64_t retry = 0;

	u->pwkey = g_strdup_printf("pw:%s", u->id);
	u->pwip = g_strdup_printf("pwip:%s", u->client);
	if (u->password == NULL) {
		*rc = portal_send_json_error(u->conn, 401, "password", 0);
		return FALSE;
	}
	if (portal_rl_count(p, u->pwkey, RL_PW_WINDOW, &retry) >= p->c->password_failures ||
	    portal_rl_count(p, u->pwip, RL_PW_WINDOW, &retry) >= p->c->password_failures) {
		audit_unlock(p, u->id, "password-rate-limited", u->client);
		*rc = portal_send_json_error(u->conn, 429, "rate", retry);
		return FALSE;
	}
	if (g_atomic_int_add(&p->kdf_running, 1) >= (gint)p->c->max_kdf_concurrency) {
		g_atomic_int_add(&p->kdf_running, -1);
		*rc = portal_send_json_error(u->conn, 429, "busy", 2);
		return FALSE;
	}
	return TRUE;
}

/* unlock_key - check the secret (403, a failure), pass the password gate,
 * derive TK; FALSE when answered (*rc) */
static gboolean
unlock_key(struct unlock *u, enum MHD_Result *rc)
{
	int r;

	if (u->secret == NULL ||
	    envelope_manifest_check_secret(u->obj->data, u->obj->len, u->secret) != ENVELOPE_OK) {
		portal_rl_fail(u->p, u->ipkey, RL_IP_WINDOW);
		audit_unlock(u->p, u->id, "secret", u->client);
		*rc = portal_send_json_error(u->conn, 403, "secret", 0);
		return FALSE;
	}
	if (u->h.password && !unlock_password_gate(u, rc))
		return FALSE;
	/* "agreed" (FORMATS.md §6.9): at most TRANSFER_AGREED_MAX Argon2id runs */
	r = transfer_unlock_key_use(u->p->st, &u->p->dk, &u->h, u->secret, u->password, u->tk, &u->use);
	if (u->h.password)
		g_atomic_int_add(&u->p->kdf_running, -1);
	u->wrong_password = r == TRANSFER_AGREED_EAUTH;
	if (r != 0 && !u->wrong_password) {
		*rc = portal_send_json_error(u->conn, 503, "unavailable", 0);
		return FALSE;
	}
	return TRUE;
}

/* audit_agreed - an unlock with a recipient's agreed password (issue 12):
 * which recipient (the address of the record whose wrap opened, found among
 * the manifest's recipients; [audit] personal applies) and which wrap;
 * never the password */
static void
audit_agreed(struct unlock *u, const struct transfer *t)
{
	struct audit_event ev = { 0 };
	char *addr = NULL, *wrap = g_strdup_printf("wrap-%d", u->use.entry);

	if (transfer_recipient_find(u->p->st, &u->p->dk, t->rcpts, 2 * TRANSFER_AGREED_MAX, u->use.salt,
		&addr) != 1)
		log_info("portal: transfer %s: the agreed secret of wrap %d belongs to no current "
			"recipient secret", u->id, u->use.entry);
	ev.event = "unlock";
	ev.size = -1;
	ev.action = "agreed-secret";
	ev.reasons = wrap;
	ev.rcpt = addr;
	ev.transfer = u->id;
	ev.client = u->client;
	audit_write(u->p->audit, &ev);
	g_free(addr);
	g_free(wrap);
}

/* unlock_open - open the manifest with TK and answer the file list; a
 * wrong password counts against every budget */
static enum MHD_Result
unlock_open(struct unlock *u)
{
	struct portal *p = u->p;
	GError *err = NULL;
	struct transfer *t;
	enum MHD_Result rc;
	char *json;

	t = u->wrong_password ? NULL :
		transfer_open_obj(p->st, &p->dk, u->id, u->obj->data, u->obj->len, u->tk, &err);
	if (t == NULL && u->h.password) {
		portal_rl_fail(p, u->pwkey, RL_PW_WINDOW);
		portal_rl_fail(p, u->pwip, RL_PW_WINDOW);
		portal_rl_fail(p, u->ipkey, RL_IP_WINDOW);
		audit_unlock(p, u->id, "password", u->client);
		if (portal_rl_count(p, u->pwkey, RL_PW_WINDOW, &(int64_t){ 0 }) >= p->c->password_failures)
			portal_notify_bruteforce(p, u->id, u->client); /* the limit tripped: once (§6.8) */
		rc = portal_send_json_error(u->conn, 401, "password", 0);
	} else if (t == NULL) {
		log_error("portal: transfer %s: manifest does not open with a verified secret: %s",
			u->id, err ? err->message : "?");
		rc = portal_send_json_error(u->conn, 403, "secret", 0);
	} else {
		json = unlock_json(p, t, u->tk, u->h.expires, u->secret);
		rc = portal_send_buf(u->conn, 200, "application/json", json, strlen(json), "no-store",
			NULL);
		log_info("portal: transfer %s unlocked by %s", u->id, u->client);
		if (u->use.entry >= 0)
			audit_agreed(u, t);
		crypto_free_string(json);
	}
	transfer_free(t);
	g_clear_error(&err);
	return rc;
}

enum MHD_Result
portal_handle_unlock(struct portal *p, struct MHD_Connection *conn, const char *id, struct req *rq)
{
	struct unlock u = { .p = p, .conn = conn, .id = id, .use = { .entry = -1 } };
	enum MHD_Result rc;

	u.client = portal_client_addr(p, conn);
	u.ipkey = g_strdup_printf("ip:%s", u.client);
	if (!portal_origin_ok(p, conn))
		rc = portal_send_json_error(conn, 403, "origin", 0);
	else if (portal_post_check(p, conn, id, rq, u.ipkey, &rc) && unlock_load(&u, rq, &rc) &&
	    unlock_key(&u, &rc))
		rc = unlock_open(&u);
	crypto_wipe(u.tk, sizeof u.tk);
	crypto_free_string(u.secret);
	crypto_free_string(u.password);
	if (u.obj)
		g_byte_array_free(u.obj, TRUE);
	g_free(u.ipkey);
	g_free(u.pwkey);
	g_free(u.pwip);
	g_free(u.client);
	return rc;
}
