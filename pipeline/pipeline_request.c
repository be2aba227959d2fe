/*
 * pipeline_request.c - the upload-request subject marker (issue 13,
 * [upload] request_marker, default "[DATEIANFORDERUNG]"): an outgoing mail
 * whose subject carries it gets a standalone upload link for its sender
 * (FORMATS.md §6.11, transfer_uplink.h) in its notice ("please send your
 * files here"), with or without attachments to offload, and leaves with the
 * marker removed from the subject. Needs [upload] enabled (offload-upload
 * takes the files). The link lives [policy] retention; its note is the
 * subject without the marker, so the clerk's mail names the request.
 */
#include "pipeline_int.h"

#include <string.h>
#include <time.h>

#include "hdrops.h"
#include "log.h"
#include "notify.h"
#include "transfer_uplink.h"

/* marker_find - the first case-insensitive occurrence of m in s, or NULL */
static const char *
marker_find(const char *s, const char *m)
{
	size_t n = strlen(m);

	for (; s != NULL && *s; s++)
		if (g_ascii_strncasecmp(s, m, n) == 0)
			return s;
	return NULL;
}

/* marker_cut - s without the marker at p and the white space after it */
static char *
marker_cut(const char *s, const char *p, size_t n)
{
	const char *rest = p + n;
	char *head, *out;

	while (*rest == ' ' || *rest == '\t')
		rest++;
	head = g_strndup(s, (gsize)(p - s));
	out = g_strconcat(head, rest, NULL);
	g_free(head);
	return g_strstrip(out);
}

bool
run_upload_request(struct run *r)
{
	const struct conf *c = r->p->conf;
	const char *subj = r->message ? g_mime_message_get_subject(r->message) : NULL;
	const char *p = c->upload_enabled && r->outgoing && c->upload_request_marker &&
		*c->upload_request_marker ? marker_find(subj, c->upload_request_marker) : NULL;
	const char *to;
	char id[ENVELOPE_ID_TEXT_LEN + 1], *rest, *link = NULL;
	struct storage *st;
	int rc;

	if (p == NULL)
		return true;
	to = notify_sender_address(c, r->m->env.sender);
	if (to == NULL || *to == '\0') {
		log_warning("%s: upload request marker, but no sender address for the link; left as it is", r->qid);
		return true;
	}
	st = run_storage(r->p);
	rest = marker_cut(subj, p, strlen(c->upload_request_marker));
	rc = st == NULL ? STORAGE_ETEMP : transfer_uplink_create(st, &r->p->dk, c->portal_url, to, rest,
		(int64_t)time(NULL) + (int64_t)c->retention, &link, id);
	if (rc != STORAGE_OK) {
		g_free(rest);
		run_fail(r, "cannot store the upload link of the upload request");
		return false;
	}
	log_info("%s: upload request: upload link %s for %s", r->qid, id, to);
	r->rw->request_link = link;
	r->rw->request_for = g_strdup(to);
	g_mime_message_set_subject(r->message, rest, "utf-8"); /* the transfer's subject, too */
	g_free(rest);
	return true;
}

void
run_request_headers(struct run *r)
{
	const char *subj = g_mime_message_get_subject(r->message);
	char *enc, *v;

	if (r->rw == NULL || r->rw->request_link == NULL || msg_header_count(r->m, "Subject") == 0)
		return;
	enc = g_mime_utils_header_encode_text(NULL, subj ? subj : "", "utf-8");
	v = g_strconcat(" ", enc, NULL);
	hdrops_change(r->res->hdr_ops, "Subject", 1, v);
	g_free(v);
	g_free(enc);
}
