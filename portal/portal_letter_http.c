/*
 * portal_letter_http.c - reading an offloaded message in the portal page
 * (issue 11, docs/FORMATS.md §4.5):
 *
 *   GET /l/<ticket>   the letter of a file ticket (part 0, a ".eml" name) as
 *                     JSON: from, to, date, subject, lang, text, and its
 *                     listed leaves with part tickets (/d/<ticket>)
 *   GET /d/<ticket>   with part n >= 1: the decoded n-th leaf, as a download
 *                     (portal_download.c hands such tickets over here)
 *
 * Both re-check the transfer and the object like a download, decrypt the
 * .eml (at most PORTAL_LETTER_MAX_SIZE bytes, every segment verified) into
 * memory and parse it with [policy] max_parts and max_mime_depth
 * (portal_letter.c). At most PORTAL_LETTER_CONCURRENCY requests hold a
 * letter at a time (429 otherwise); a served leaf keeps its slot until its
 * response is freed. The ticket of a part keeps the .eml's name, size, key
 * and not-after; only part differs.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <microhttpd.h>

#include "crypto.h"
#include "log.h"
#include "portal_int.h"
#include "portal_letter.h"
#include "transfer_stream.h"

/* answer - a JSON error for /l/, a text one for a part */
static enum MHD_Result
answer(struct MHD_Connection *conn, bool json, unsigned status, const char *error, const char *text)
{
	return json ? portal_send_json_error(conn, status, error, status == 429 ? 2 : 0) :
		portal_send_text(conn, status, text);
}

/* letter_read - the verified plaintext of the ticket's file; NULL on failure
 * (logged; *status 503 for storage, 500 for verification) */
static GByteArray *
letter_read(struct portal *p, const struct portal_ticket *t, unsigned *status)
{
	struct transfer_stream *s = transfer_stream_new(p->st, t->id, t->index, t->key, t->size, 0,
		t->size);
	GByteArray *b = g_byte_array_sized_new((guint)t->size + 1);
	long n = 0;
	int serr = 0;

	while (s != NULL && b->len < t->size) {
		guint at = b->len;
		size_t want = MIN((size_t)(t->size - at), (size_t)PORTAL_BUF);

		g_byte_array_set_size(b, at + (guint)want);
		n = transfer_stream_read(s, b->data + at, want, &serr);
		g_byte_array_set_size(b, at + (guint)(n > 0 ? n : 0));
		if (n <= 0)
			break;
	}
	transfer_stream_free(s);
	if (s != NULL && b->len == t->size)
		return b;
	log_error("portal: transfer %s file %u: letter not read: %s", t->id, t->index,
		s == NULL ? "stream" : n == TRANSFER_STREAM_ESTORAGE ? storage_strerror(serr) :
		n < 0 ? envelope_strerror((int)n) : "object shorter than expected");
	*status = s == NULL || n == TRANSFER_STREAM_ESTORAGE ? 503 : 500;
	crypto_wipe(b->data, b->len);
	g_byte_array_free(b, TRUE);
	return NULL;
}

/* letter_check - the transfer live and the object as the ticket says; FALSE when answered */
static gboolean
letter_check(struct portal *p, struct MHD_Connection *conn, const struct portal_ticket *t,
	bool json, enum MHD_Result *rc)
{
	struct envelope_header h;
	enum tstate ts = portal_transfer_state(p, t->id, &h, NULL);
	uint64_t osize = 0;
	char key[64];
	int sr;

	if (ts != TS_LIVE) {
		*rc = answer(conn, json, ts == TS_ERROR ? 503 : 410, ts == TS_ERROR ? "unavailable" : "gone",
			ts == TS_ERROR ? "Storage temporarily unavailable.\n" :
			"This transfer has expired or was revoked.\n");
		return FALSE;
	}
	snprintf(key, sizeof key, "%s/%u", t->id, t->index);
	sr = storage_stat(p->st, key, &osize, NULL);
	if (sr != STORAGE_OK || osize != envelope_file_size(t->size)) {
		*rc = answer(conn, json, sr == STORAGE_ETEMP ? 503 : 410, "gone",
			"This file is no longer available.\n");
		return FALSE;
	}
	if (t->size > PORTAL_LETTER_MAX_SIZE) {
		*rc = answer(conn, json, 413, "too-large", "Not found.\n");
		return FALSE;
	}
	return TRUE;
}

/* letter_open - check, take a slot, read, parse; NULL when answered (*rc);
 * else the caller releases the slot (letter_release) */
static struct portal_letter *
letter_open(struct portal *p, struct MHD_Connection *conn, const struct portal_ticket *t,
	bool json, enum MHD_Result *rc)
{
	struct portal_letter *l = NULL;
	unsigned status = 500;
	GByteArray *b;
	int r;

	if (!letter_check(p, conn, t, json, rc))
		return NULL;
	if (g_atomic_int_add(&p->letter_running, 1) >= PORTAL_LETTER_CONCURRENCY) {
		g_atomic_int_add(&p->letter_running, -1);
		*rc = answer(conn, json, 429, "busy", "Busy, please try again.\n");
		return NULL;
	}
	b = letter_read(p, t, &status);
	if (b == NULL) {
		g_atomic_int_add(&p->letter_running, -1);
		*rc = answer(conn, json, status, status == 503 ? "unavailable" : "verification",
			"This file cannot be read.\n");
		return NULL;
	}
	r = portal_letter_parse(b, p->c->max_parts, p->c->max_mime_depth, &l);
	if (r != PORTAL_LETTER_OK) {
		g_atomic_int_add(&p->letter_running, -1);
		log_warning("portal: transfer %s file %u: letter not shown: %s", t->id, t->index,
			r == PORTAL_LETTER_ELIMIT ? "more parts or deeper nesting than max_parts/max_mime_depth" :
			"not a message");
		*rc = answer(conn, json, json ? 422 : 404, "unreadable", "Not found.\n");
		return NULL;
	}
	return l;
}

static void
letter_release(struct portal *p)
{
	g_atomic_int_add(&p->letter_running, -1);
}

static void
audit_letter(struct portal *p, struct MHD_Connection *conn, const struct portal_ticket *t,
	const char *file, int64_t size, const char *action, const char *reasons)
{
	struct audit_event ev = { 0 };
	char *client = portal_client_addr(p, conn);

	ev.event = "download";
	ev.file = file;
	ev.size = size;
	ev.action = action;
	ev.reasons = reasons;
	ev.transfer = t->id;
	ev.client = client;
	audit_write(p->audit, &ev);
	g_free(client);
}

/* ---- GET /l/<ticket> ------------------------------------------------------- */

static void
json_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	if (v != NULL)
		json_builder_add_string_value(b, v);
	else
		json_builder_add_null_value(b);
}

static void
json_leaves(JsonBuilder *b, struct portal *p, const struct portal_ticket *t,
	const struct portal_letter *l)
{
	guint i;

	json_builder_set_member_name(b, "attachments");
	json_builder_begin_array(b);
	for (i = 0; i < l->leaves->len; i++) {
		const struct portal_letter_leaf *lf = g_ptr_array_index(l->leaves, i);
		struct portal_ticket pt = *t;
		char *tx, *url;

		if (!lf->listed)
			continue;
		pt.part = (uint16_t)lf->n;
		tx = portal_ticket_seal(&p->tkeys, &pt);
		portal_ticket_wipe(&pt);
		url = g_strdup_printf("/d/%s", tx ? tx : "invalid");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "part");
		json_builder_add_int_value(b, lf->n);
		json_str(b, "name", lf->name);
		json_str(b, "type", lf->type);
		json_builder_set_member_name(b, "size");
		json_builder_add_int_value(b, (gint64)lf->size);
		json_str(b, "url", url);
		json_builder_end_object(b);
		g_free(url);
		g_free(tx);
	}
	json_builder_end_array(b);
}

static char *
letter_json(struct portal *p, const struct portal_ticket *t, const struct portal_letter *l)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	char *s;

	json_builder_begin_object(b);
	json_str(b, "from", l->from);
	json_str(b, "to", l->to);
	json_str(b, "date", l->date);
	json_str(b, "subject", l->subject);
	json_str(b, "lang", l->lang);
	json_str(b, "text", l->text);
	json_builder_set_member_name(b, "html");
	json_builder_add_boolean_value(b, l->text_html);
	json_builder_set_member_name(b, "truncated");
	json_builder_add_boolean_value(b, l->text_truncated);
	json_leaves(b, p, t, l);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return s;
}

/* ticket_open - a valid ticket of a whole .eml file (403 / 404 otherwise) */
static gboolean
ticket_open(struct portal *p, struct MHD_Connection *conn, const char *text,
	struct portal_ticket *t, bool json, enum MHD_Result *rc)
{
	if (portal_ticket_open(&p->tkeys, text, portal_now(), t) != PORTAL_TICKET_OK) {
		*rc = answer(conn, json, 403, "ticket",
			"This download link is invalid or has expired. Open the transfer page again.\n");
		return FALSE;
	}
	if (t->index == PORTAL_TICKET_ALL || !portal_letter_is_eml(t->name) || (json && t->part != 0)) {
		*rc = answer(conn, json, 404, "not-found", "Not found.\n");
		return FALSE;
	}
	return TRUE;
}

enum MHD_Result
portal_handle_letter(struct portal *p, struct MHD_Connection *conn, const char *text)
{
	struct portal_ticket t = { 0 };
	struct portal_letter *l;
	enum MHD_Result rc;
	char reasons[48];
	char *json;

	if (!ticket_open(p, conn, text, &t, true, &rc))
		goto out;
	l = letter_open(p, conn, &t, true, &rc);
	if (l == NULL)
		goto out;
	json = letter_json(p, &t, l);
	portal_letter_free(l);
	letter_release(p);
	rc = portal_send_buf(conn, 200, "application/json", json, strlen(json), "no-store", NULL);
	crypto_free_string(json);
	snprintf(reasons, sizeof reasons, "index=%u,view=letter", t.index);
	audit_letter(p, conn, &t, t.name, (int64_t)t.size, "read", reasons);
out:
	portal_ticket_wipe(&t);
	return rc;
}

/* ---- GET /d/<ticket> with part n >= 1 -------------------------------------- */

struct part_dl {
	struct portal *p;
	GByteArray *b;
	uint64_t start, len, sent; /* the answered bytes [start, start + len) of b */
	char *client, *name, *reasons;
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	gboolean head;
};

static ssize_t
part_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct part_dl *d = cls;

	if (pos >= d->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (max > d->len - pos)
		max = (size_t)(d->len - pos);
	memcpy(buf, d->b->data + d->start + pos, max);
	d->sent = pos + max;
	return (ssize_t)max;
}

static void
part_free(void *cls)
{
	struct part_dl *d = cls;
	struct audit_event ev = { 0 };

	if (!d->head) {
		ev.event = "download";
		ev.file = d->name;
		ev.size = (int64_t)d->sent;
		ev.action = d->sent == d->len ? "complete" : "partial";
		ev.reasons = d->reasons;
		ev.transfer = d->id;
		ev.client = d->client;
		audit_write(d->p->audit, &ev);
	}
	g_free(d->client);
	g_free(d->name);
	g_free(d->reasons);
	crypto_wipe(d->b->data, d->b->len);
	g_byte_array_free(d->b, TRUE);
	letter_release(d->p);
	g_free(d);
}

/* part_respond - queue the leaf lf of d (the whole leaf or a 206 range with
 * Content-Range cr); d belongs to the response from here */
static enum MHD_Result
part_respond(struct part_dl *d, struct MHD_Connection *conn, const struct portal_ticket *t,
	const struct portal_letter_leaf *lf, unsigned status, const char *cr, gboolean head)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	char *cd;

	r = MHD_create_response_from_callback(d->len, PORTAL_BUF, part_read, d, part_free);
	if (r == NULL) {
		part_free(d);
		return MHD_NO;
	}
	cd = portal_content_disposition(lf->name);
	portal_common_headers(r);
	portal_header(r, "Content-Type", lf->type);
	portal_header(r, "Content-Disposition", cd);
	portal_header(r, "Content-Security-Policy", CSP_DOWNLOAD);
	portal_header(r, "Cache-Control", "no-store");
	portal_header(r, "Accept-Ranges", "bytes");
	if (status == 206)
		portal_header(r, "Content-Range", cr);
	d->head = head;
	d->client = portal_client_addr(d->p, conn);
	d->name = g_strdup(lf->name);
	d->reasons = status == 206 ? g_strdup_printf("index=%u,part=%u,range=%" PRIu64 "-%" PRIu64,
		t->index, (unsigned)t->part, d->start, d->start + d->len) :
		g_strdup_printf("index=%u,part=%u", t->index, (unsigned)t->part);
	memcpy(d->id, t->id, sizeof d->id);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	g_free(cd);
	return rc;
}

enum MHD_Result
portal_letter_send_part(struct portal *p, struct MHD_Connection *conn,
	const struct portal_ticket *t, gboolean head)
{
	struct portal_letter *l;
	struct part_dl *d;
	enum MHD_Result rc;
	unsigned status = 200;
	char cr[96];

	if (!portal_letter_is_eml(t->name) || t->index == PORTAL_TICKET_ALL)
		return portal_send_text(conn, 404, "Not found.\n");
	l = letter_open(p, conn, t, false, &rc);
	if (l == NULL)
		return rc;
	if (t->part > l->leaves->len) {
		portal_letter_free(l);
		letter_release(p);
		return portal_send_text(conn, 404, "Not found.\n");
	}
	d = g_new0(struct part_dl, 1);
	d->p = p;
	d->b = portal_letter_leaf_data(l, t->part);
	d->head = TRUE; /* no audit event unless queued for a GET */
	if (!portal_download_range(conn, d->b->len, &d->start, &d->len, &status, cr, &rc)) {
		part_free(d); /* answered with 416 */
		portal_letter_free(l);
		return rc;
	}
	rc = part_respond(d, conn, t, g_ptr_array_index(l->leaves, t->part - 1), status, cr, head);
	portal_letter_free(l);
	return rc;
}

enum MHD_Result
portal_handle_ticket(struct portal *p, struct MHD_Connection *conn, const char *url, gboolean head)
{
	if (url[1] == 'l')
		return portal_handle_letter(p, conn, url + 3);
	return portal_handle_download(p, conn, url + 3, head);
}
