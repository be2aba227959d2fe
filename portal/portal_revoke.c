/*
 * portal_revoke.c - GET /r/<id> (the sender's revoke confirmation page, no
 * side effect) and POST /r/<id>/revoke (DECISIONS.md §6).
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <microhttpd.h>

#include "crypto.h"
#include "log.h"
#include "portal_int.h"
#include "transfer.h"
#include "transfer_revoke.h"

/* ---- GET /r/<id>, POST /r/<id>/revoke (DECISIONS.md §6) ----------------------- */

enum MHD_Result
portal_handle_revoke_page(struct portal *p, struct MHD_Connection *conn, const char *id)
{
	enum portal_lang lang = portal_req_lang(conn);
	struct envelope_header h;
	char self[64];
	enum tstate ts;
	enum MHD_Result rc;
	char *page;

	if (!transfer_valid_id(id))
		return portal_send_page(p, conn, 404, lang, NULL);
	snprintf(self, sizeof self, "/r/%s", id);
	ts = portal_transfer_state(p, id, &h, NULL);
	if (ts != TS_LIVE && ts != TS_GONE)
		return portal_send_page(p, conn, ts, lang, self);
	page = portal_page_revoke(p->c, lang, id, ts == TS_LIVE ? h.created : 0,
		ts == TS_LIVE ? h.expires : 0, ts == TS_LIVE ? PORTAL_REVOKE_LIVE :
		transfer_tombstone_read(p->st, &p->dk, id, NULL, NULL) == 1 ? PORTAL_REVOKE_REVOKED :
		PORTAL_REVOKE_EXPIRED);
	rc = portal_send_buf(conn, ts, "text/html; charset=utf-8", page, strlen(page), NULL, NULL);
	g_free(page);
	return rc;
}

/* portal_revoke_origin_ok - the revoke changes state, so unlike unlock it needs a
 * browser's proof of origin: Origin present and ours, and Sec-Fetch-Site
 * (when sent) same-origin. Non-browser clients send Origin themselves or
 * use `offloadctl revoke`. */
gboolean
portal_revoke_origin_ok(struct portal *p, struct MHD_Connection *conn)
{
	const char *sfs = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");

	if (sfs != NULL && strcmp(sfs, "same-origin") != 0)
		return FALSE;
	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin") == NULL)
		return FALSE;
	return portal_origin_ok(p, conn);
}

static void
audit_revoke(struct portal *p, const char *id, const char *action, const char *reason,
	int64_t expires, const char *client)
{
	struct audit_event ev = { 0 };
	char *ex = expires != 0 ? portal_rfc3339(expires) : NULL;

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

/* portal_revoke_live - the MAC-verified clear header of a live transfer; FALSE
 * when answered (*rc): a tombstone says revoked (idempotent: `offloadctl
 * revoke` or purge finish a deletion that was cut short) */
gboolean
portal_revoke_live(struct portal *p, struct MHD_Connection *conn, const char *id,
	struct envelope_header *h, enum MHD_Result *rc)
{
	enum tstate ts = portal_transfer_state(p, id, h, NULL);

	if (ts == TS_LIVE)
		return TRUE;
	*rc = portal_send_json_error(conn, ts, ts == TS_NOTFOUND ? "not-found" :
		ts == TS_ERROR ? "unavailable" :
		transfer_tombstone_read(p->st, &p->dk, id, NULL, NULL) == 1 ? "revoked" : "gone", 0);
	return FALSE;
}

/* revoke_secret_ok - the body's secret matches the revoke hash of h (the
 * MAC-verified clear header: the deployment's own); a failure counts
 * against ipkey. FALSE when answered (*rc) */
static gboolean
revoke_secret_ok(struct portal *p, struct MHD_Connection *conn, const char *id,
	const struct envelope_header *h, struct req *rq, const char *ipkey, const char *client,
	enum MHD_Result *rc)
{
	JsonParser *jp = portal_post_json(rq);
	char *secret;
	gboolean ok;

	if (jp == NULL) {
		*rc = portal_send_json_error(conn, 400, "request", 0);
		return FALSE;
	}
	secret = portal_post_string(jp, "secret");
	g_object_unref(jp);
	ok = transfer_revoke_check(h, secret);
	crypto_free_string(secret);
	if (!ok) {
		portal_rl_fail(p, ipkey, RL_IP_WINDOW);
		audit_revoke(p, id, "denied", "secret", 0, client);
		*rc = portal_send_json_error(conn, 403, "secret", 0);
	}
	return ok;
}

/* revoke_run - tombstone first, then delete; once the tombstone stands the
 * transfer is revoked for every reader and leftovers (a failed delete) go
 * with the next `offloadctl purge` */
static enum MHD_Result
revoke_run(struct portal *p, struct MHD_Connection *conn, const char *id,
	const struct envelope_header *h, const char *client)
{
	enum transfer_revoke_step step;
	unsigned deleted = 0;
	enum MHD_Result rc;
	char *body;
	int r;

	r = transfer_revoke(p->st, &p->dk, id, false, portal_now(), h->expires, &step, &deleted);
	if (r != STORAGE_OK && step == TRANSFER_REVOKE_TOMBSTONE) {
		log_error("portal: transfer %s: revoke by link failed, nothing changed (%s)", id,
			storage_strerror(r));
		return portal_send_json_error(conn, 503, "unavailable", 0);
	}
	audit_revoke(p, id, "revoke-link", r == STORAGE_OK ? NULL : "incomplete-delete", h->expires,
		client);
	log_info("portal: transfer %s revoked by the sender's link from %s (%u object(s) deleted%s)", id,
		client, deleted, r == STORAGE_OK ? "" : ", deletion incomplete");
	body = g_strdup_printf("{\"state\":\"revoked\",\"id\":\"%s\"}", id);
	rc = portal_send_buf(conn, 200, "application/json", body, strlen(body), "no-store", NULL);
	g_free(body);
	return rc;
}

enum MHD_Result
portal_handle_revoke(struct portal *p, struct MHD_Connection *conn, const char *id, struct req *rq)
{
	char *client = portal_client_addr(p, conn);
	char *ipkey = g_strdup_printf("ip:%s", client); /* one failure budget with unlock */
	struct envelope_header h;
	enum MHD_Result rc;

	if (!portal_revoke_origin_ok(p, conn))
		rc = portal_send_json_error(conn, 403, "origin", 0);
	else if (portal_post_check(p, conn, id, rq, ipkey, &rc) &&
	    portal_revoke_live(p, conn, id, &h, &rc) &&
	    revoke_secret_ok(p, conn, id, &h, rq, ipkey, client, &rc))
		rc = revoke_run(p, conn, id, &h, client);
	g_free(ipkey);
	g_free(client);
	return rc;
}
