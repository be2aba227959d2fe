/*
 * portal_sender.c - the sender page behind the revoke link /r/<id>#<revoke
 * secret> (FORMATS.md §6.4): GET shows only the page and its script; the
 * script POSTs the revoke secret (from the fragment, never sent by the
 * browser on its own) to /r/<id>/view for files, sizes, SHA-256, download
 * counts and times and the expiry, and to /r/<id>/extend to extend by N days.
 * Both need the same proof of origin as the revoke itself and share its
 * failure budget. Also the download counter of portal_download.c: a file
 * counts once every byte of it was served with verified tags under the
 * tickets of one unlock, in one response or several Range requests.
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
#include "transfer_sender.h"
#include "transfer_state.h"

#define SENDER_MAX_DAYS 3650

static void
sender_audit(struct portal *p, const char *event, const char *id, const char *action,
	const char *reason, int64_t expires, const char *client)
{
	struct audit_event ev = { 0 };
	char *ex = expires != 0 ? portal_rfc3339(expires) : NULL;

	ev.event = event;
	ev.size = -1;
	ev.action = action;
	ev.reasons = reason;
	ev.transfer = id;
	ev.expires = ex;
	ev.client = client;
	audit_write(p->audit, &ev);
	g_free(ex);
}

/* sender_body - the revoke secret (g_malloc'ed, caller wipes) matching the
 * revoke hash of h, and "days" (0 when absent); NULL when answered (*rc) */
static char *
sender_body(struct portal *p, struct MHD_Connection *conn, const char *id, const char *what,
	const struct envelope_header *h, const struct req *rq, const char *ipkey, const char *client,
	gint64 *days, enum MHD_Result *rc)
{
	JsonParser *jp = portal_post_json(rq);
	char *secret;

	if (jp == NULL) {
		*rc = portal_send_json_error(conn, 400, "request", 0);
		return NULL;
	}
	*days = 0;
	portal_post_int(jp, "days", days);
	secret = portal_post_string(jp, "secret");
	g_object_unref(jp);
	if (!transfer_revoke_check(h, secret)) {
		crypto_free_string(secret);
		portal_rl_fail(p, ipkey, RL_IP_WINDOW);
		sender_audit(p, strcmp(what, "view") == 0 ? "sender-view" : "extend", id, "denied",
			"secret", 0, client);
		*rc = portal_send_json_error(conn, 403, "secret", 0);
		return NULL;
	}
	return secret;
}

static void
add_time(JsonBuilder *b, const char *name, int64_t t)
{
	char *s = t > 0 ? portal_rfc3339(t) : NULL;

	json_builder_set_member_name(b, name);
	if (s != NULL)
		json_builder_add_string_value(b, s);
	else
		json_builder_add_null_value(b);
	g_free(s);
}

static void
add_copy(JsonBuilder *b, JsonObject *v, const char *name)
{
	json_builder_set_member_name(b, name);
	if (v != NULL && json_object_has_member(v, name))
		json_builder_add_value(b, json_node_copy(json_object_get_member(v, name)));
	else
		json_builder_add_null_value(b);
}

/* sender_files - the view's files with the state's download counts */
static void
sender_files(JsonBuilder *b, JsonObject *v, const struct transfer_state *s)
{
	JsonArray *fa = v != NULL && json_object_has_member(v, "files") ?
		json_object_get_array_member(v, "files") : NULL;
	guint i, n = fa ? json_array_get_length(fa) : s->nfiles;

	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (i = 0; i < n; i++) {
		JsonObject *f = fa ? json_array_get_object_element(fa, i) : NULL;
		gint64 ix = f && json_object_has_member(f, "index") ? json_object_get_int_member(f, "index") : i;
		const struct transfer_state_file *sf = ix >= 0 && (guint64)ix < s->nfiles ? &s->files[ix] : NULL;

		json_builder_begin_object(b);
		add_copy(b, f, "name");
		add_copy(b, f, "size");
		add_copy(b, f, "sha256");
		json_builder_set_member_name(b, "downloads");
		json_builder_add_int_value(b, sf ? sf->count : 0);
		add_time(b, "first", sf ? sf->first : 0);
		add_time(b, "last", sf ? sf->last : 0);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static enum MHD_Result
sender_send(struct MHD_Connection *conn, JsonBuilder *b)
{
	JsonGenerator *g = json_generator_new();
	JsonNode *root = json_builder_get_root(b);
	enum MHD_Result rc;
	gsize len = 0;
	char *s;

	json_generator_set_root(g, root);
	s = json_generator_to_data(g, &len);
	rc = portal_send_buf(conn, 200, "application/json", s, len, "no-store", NULL);
	g_free(s);
	json_node_unref(root);
	g_object_unref(g);
	return rc;
}

/* sender_view - POST /r/<id>/view: the sender view (if stored) and the state */
static enum MHD_Result
sender_view(struct portal *p, struct MHD_Connection *conn, const struct envelope_header *h,
	const char *secret, const char *client)
{
	JsonParser *jp = NULL;
	JsonObject *v = NULL;
	struct transfer_state s;
	JsonBuilder *b;
	enum MHD_Result rc;
	char *json = NULL;

	if (transfer_sender_read(p->st, h->id, secret, &json) == 1) {
		jp = json_parser_new();
		if (json_parser_load_from_data(jp, json, -1, NULL) && json_parser_get_root(jp) != NULL &&
		    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp)))
			v = json_node_get_object(json_parser_get_root(jp));
	}
	if (transfer_state_read(p->st, &p->dk, h->id, &s) < 0) {
		rc = portal_send_json_error(conn, 503, "unavailable", 0);
		goto out;
	}
	b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, h->id);
	add_time(b, "created", h->created);
	add_time(b, "expires", h->expires);
	add_time(b, "max_expires", s.limit);
	add_copy(b, v, "subject");
	add_copy(b, v, "class");
	add_copy(b, v, "recipients");
	sender_files(b, v, &s);
	json_builder_end_object(b);
	rc = sender_send(conn, b);
	g_object_unref(b);
	sender_audit(p, "sender-view", h->id, "view", NULL, h->expires, client);
out:
	transfer_state_clear(&s);
	if (jp != NULL)
		g_object_unref(jp);
	crypto_free_string(json);
	return rc;
}

/* sender_extend - POST /r/<id>/extend {secret, days} */
static enum MHD_Result
sender_extend(struct portal *p, struct MHD_Connection *conn, const struct envelope_header *h,
	gint64 days, const char *client)
{
	int64_t nx = 0, lim = 0;
	char *body, *a;
	enum MHD_Result rc;
	int r;

	if (days < 1 || days > SENDER_MAX_DAYS)
		return portal_send_json_error(conn, 400, "days", 0);
	r = transfer_extend(p->st, &p->dk, h, (uint64_t)days * 86400, p->c->max_retention, &nx, &lim);
	if (r == TRANSFER_EXTEND_ELIMIT) {
		sender_audit(p, "extend", h->id, "extend-refused", "limit", h->expires, client);
		a = portal_rfc3339(lim);
		body = g_strdup_printf("{\"error\":\"limit\",\"max_expires\":\"%s\"}", a);
		rc = portal_send_buf(conn, 409, "application/json", body, strlen(body), "no-store", NULL);
		g_free(a);
		g_free(body);
		return rc;
	}
	if (r != STORAGE_OK)
		return portal_send_json_error(conn, 503, "unavailable", 0);
	sender_audit(p, "extend", h->id, "extend-link", NULL, nx, client);
	log_info("portal: transfer %s extended by %" G_GINT64_FORMAT " day(s) by the sender's link from %s",
		h->id, days, client);
	a = portal_rfc3339(nx);
	body = g_strdup_printf("{\"expires\":\"%s\"}", a);
	rc = portal_send_buf(conn, 200, "application/json", body, strlen(body), "no-store", NULL);
	g_free(a);
	g_free(body);
	return rc;
}

enum MHD_Result
portal_handle_sender(struct portal *p, struct MHD_Connection *conn, const char *id,
	const char *what, struct req *rq)
{
	char *client = portal_client_addr(p, conn);
	char *ipkey = g_strdup_printf("ip:%s", client); /* one failure budget with unlock and revoke */
	struct envelope_header h;
	enum MHD_Result rc;
	gint64 days = 0;
	char *secret;

	if (!portal_revoke_origin_ok(p, conn))
		rc = portal_send_json_error(conn, 403, "origin", 0);
	else if (portal_post_check(p, conn, id, rq, ipkey, &rc) &&
	    portal_revoke_live(p, conn, id, &h, &rc) &&
	    (secret = sender_body(p, conn, id, what, &h, rq, ipkey, client, &days, &rc)) != NULL) {
		rc = strcmp(what, "view") == 0 ? sender_view(p, conn, &h, secret, client) :
			sender_extend(p, conn, &h, days, client);
		crypto_free_string(secret);
	}
	g_free(ipkey);
	g_free(client);
	return rc;
}

/* ---- download coverage: a file counts once every byte was served ---------- */

/* Served ranges per (transfer, file, ticket not_after, file key): the tickets
 * of one unlock for one file. Held in this process only: a download resumed
 * on another portal node does not combine with the part served here. */
struct cov {
	int64_t not_after;
	GArray *iv;            /* uint64_t pairs [a, b), sorted, disjoint */
};

#define COV_MAX 20000u
G_LOCK_DEFINE_STATIC(cov);
static GHashTable *cov_table;

static void
cov_free(gpointer p)
{
	struct cov *c = p;

	g_array_free(c->iv, TRUE);
	g_free(c);
}

static gboolean
cov_stale(gpointer k, gpointer v, gpointer now)
{
	(void)k;
	return ((struct cov *)v)->not_after < *(int64_t *)now;
}

/* cov_add - merge [a, b) into c; true when c now covers [0, total) */
static bool
cov_add(struct cov *c, uint64_t a, uint64_t b, uint64_t total)
{
	GArray *n = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	guint i;
	bool done;

	for (i = 0; i < c->iv->len; i += 2) {
		uint64_t x = g_array_index(c->iv, uint64_t, i), y = g_array_index(c->iv, uint64_t, i + 1);

		if (y < a || x > b) {  /* disjoint and not touching: keep */
			g_array_append_val(n, x);
			g_array_append_val(n, y);
		} else {               /* overlapping or adjacent: absorb */
			a = MIN(a, x);
			b = MAX(b, y);
		}
	}
	g_array_append_val(n, a);
	g_array_append_val(n, b);
	done = a == 0 && b >= total;
	g_array_free(c->iv, TRUE);
	c->iv = n;
	return done;
}

/* cov_complete - record the served range; true when the file (or ZIP) is now
 * complete under these tickets (the entry is dropped then) */
static bool
cov_complete(const struct portal_ticket *tkt, uint64_t start, uint64_t len, uint64_t total,
	int64_t now)
{
	unsigned char h[32];
	char key[65];
	struct cov *c;
	bool done;
	int i;
	GString *in = g_string_new(NULL);

	g_string_append_printf(in, "%s/%u/%" G_GINT64_FORMAT "/", tkt->id, tkt->index, tkt->not_after);
	g_string_append_len(in, (const char *)tkt->key, sizeof tkt->key);
	crypto_sha256(in->str, in->len, h);
	crypto_wipe(in->str, in->len);
	g_string_free(in, TRUE);
	for (i = 0; i < 32; i++)
		snprintf(key + 2 * i, 3, "%02x", h[i]);
	G_LOCK(cov);
	if (cov_table == NULL)
		cov_table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cov_free);
	if (g_hash_table_size(cov_table) >= COV_MAX)
		g_hash_table_foreach_remove(cov_table, cov_stale, &now);
	c = g_hash_table_lookup(cov_table, key);
	if (c == NULL && g_hash_table_size(cov_table) < COV_MAX) {
		c = g_new0(struct cov, 1);
		c->not_after = tkt->not_after;
		c->iv = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		g_hash_table_insert(cov_table, g_strdup(key), c);
	}
	done = c != NULL ? cov_add(c, start, start + len, total) : start == 0 && len >= total;
	if (done && c != NULL)
		g_hash_table_remove(cov_table, key);
	G_UNLOCK(cov);
	return done;
}

void
portal_count_download(struct portal *p, const struct portal_ticket *tkt, uint64_t start,
	uint64_t len, uint64_t total, uint32_t nfiles, const char *client)
{
	bool all = tkt->index == PORTAL_TICKET_ALL;
	int r;

	if ((all && nfiles == 0) || !cov_complete(tkt, start, len, total, portal_now()))
		return;
	r = transfer_state_count_download(p->st, &p->dk, tkt->id, all ? UINT32_MAX : tkt->index,
		nfiles, portal_now());
	if (r != STORAGE_OK)
		log_warning("portal: transfer %s: download not counted (%s)", tkt->id, storage_strerror(r));
	portal_notify_download(p, tkt->id, tkt->index, nfiles, tkt->name, client);
}

/* ---- the page part and its script ----------------------------------------- */

void
portal_sender_section(GString *o, enum portal_lang lang)
{
	bool de = lang == PORTAL_LANG_DE;

	g_string_append_printf(o,
		"<section id=\"sender\" hidden>\n<h2>%s</h2>\n<p id=\"s-subject\" class=\"meta\"></p>\n"
		"<p>%s <strong id=\"s-expires\"></strong></p>\n"
		"<table id=\"s-files\">\n<thead><tr><th scope=\"col\">%s</th><th scope=\"col\">%s</th>"
		"<th scope=\"col\">SHA-256</th><th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr></thead>\n"
		"<tbody></tbody>\n</table>\n",
		de ? "Ihre Übertragung" : "Your transfer", de ? "Verfügbar bis" : "Available until",
		de ? "Datei" : "File", de ? "Größe" : "Size", de ? "Downloads" : "Downloads",
		de ? "Zuletzt heruntergeladen" : "Last downloaded");
	g_string_append_printf(o,
		"<form id=\"extend\" action=\"#\" method=\"post\">\n<label for=\"days\">%s</label>\n"
		"<input id=\"days\" name=\"days\" type=\"number\" min=\"1\" max=\"365\" value=\"7\" required>\n"
		"<button id=\"extend-btn\" type=\"submit\">%s</button>\n</form>\n"
		"<p id=\"s-status\" role=\"status\" aria-live=\"polite\"></p>\n</section>\n",
		de ? "Verlängern um (Tage)" : "Extend by (days)", de ? "Verlängern" : "Extend");
}

const char portal_sender_js[] =
	"/* offload-portal sender page: reads the revoke secret from the fragment (runs\n"
	"   before revoke.js removes it), POSTs it to /r/<id>/view for the files,\n"
	"   download counts and expiry, and to /r/<id>/extend. Text only via textContent. */\n"
	"'use strict';\n"
	"(function () {\n"
	"  var main = document.getElementById('main');\n"
	"  var sec = document.getElementById('sender');\n"
	"  if (!main || !sec || location.hash.length < 2) return;\n"
	"  var secret = decodeURIComponent(location.hash.substring(1));\n"
	"  var de = main.getAttribute('data-lang') === 'de';\n"
	"  var id = main.getAttribute('data-id');\n"
	"  var T = de ? { never: '–', ext: 'Verlängert bis ', limit: 'Nicht möglich: die Übertragung kann höchstens bis ',\n"
	"    limit2: ' verfügbar sein.', err: 'Fehler. Bitte später erneut versuchen.', wait: 'Bitte warten …' }\n"
	"    : { never: '–', ext: 'Extended until ', limit: 'Not possible: the transfer can stay available until ',\n"
	"    limit2: ' at most.', err: 'Error. Please try again later.', wait: 'Please wait …' };\n"
	"  function when(s) {\n"
	"    if (!s) return T.never;\n"
	"    return new Date(s).toLocaleString(de ? 'de-DE' : 'en-GB', { timeZone: 'Europe/Berlin',\n"
	"      dateStyle: 'medium', timeStyle: 'short' });\n"
	"  }\n"
	"  function size(n) {\n"
	"    if (n === null || n === undefined) return '';\n"
	"    var u = ['B', 'KB', 'MB', 'GB'], i = 0;\n"
	"    while (n >= 1024 && i < 3) { n /= 1024; i++; }\n"
	"    return (i ? n.toFixed(1) : n) + ' ' + u[i];\n"
	"  }\n"
	"  function post(what, body) {\n"
	"    body.secret = secret;\n"
	"    return fetch('/r/' + id + '/' + what, { method: 'POST', headers: { 'Content-Type': 'application/json' },\n"
	"      body: JSON.stringify(body), credentials: 'omit', cache: 'no-store' });\n"
	"  }\n"
	"  var status = document.getElementById('s-status');\n"
	"  function render(d) {\n"
	"    document.getElementById('s-subject').textContent = d.subject || '';\n"
	"    document.getElementById('s-expires').textContent = when(d.expires);\n"
	"    var tb = sec.querySelector('tbody');\n"
	"    while (tb.firstChild) tb.removeChild(tb.firstChild);\n"
	"    (d.files || []).forEach(function (f) {\n"
	"      var tr = document.createElement('tr');\n"
	"      [f.name || '', size(f.size), f.sha256 || '', String(f.downloads), when(f.last)].forEach(function (v, i) {\n"
	"        var td = document.createElement('td'); td.textContent = v;\n"
	"        if (i === 2) td.className = 'hash';\n"
	"        tr.appendChild(td);\n"
	"      });\n"
	"      tb.appendChild(tr);\n"
	"    });\n"
	"    sec.hidden = false;\n"
	"  }\n"
	"  function load() {\n"
	"    return post('view', {}).then(function (r) { return r.ok ? r.json().then(render) : null; })\n"
	"      .catch(function () {});\n"
	"  }\n"
	"  load();\n"
	"  document.getElementById('extend').addEventListener('submit', function (ev) {\n"
	"    ev.preventDefault();\n"
	"    var btn = document.getElementById('extend-btn');\n"
	"    var days = parseInt(document.getElementById('days').value, 10);\n"
	"    btn.disabled = true; status.textContent = T.wait; status.className = '';\n"
	"    post('extend', { days: days }).then(function (r) {\n"
	"      return r.json().catch(function () { return {}; }).then(function (j) {\n"
	"        btn.disabled = false;\n"
	"        if (r.ok) { status.textContent = T.ext + when(j.expires); return load(); }\n"
	"        status.className = 'error';\n"
	"        status.textContent = j.error === 'limit' ? T.limit + when(j.max_expires) + T.limit2 : T.err;\n"
	"      });\n"
	"    }).catch(function () { btn.disabled = false; status.className = 'error'; status.textContent = T.err; });\n"
	"  });\n"
	"})();\n";
