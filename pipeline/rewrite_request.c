/*
 * rewrite_request.c - the body of a mail with the upload-request subject
 * marker and nothing to offload (issue 13, [upload] request_marker): the
 * request notice ("please send your files here" and the sender's standalone
 * upload link) goes into the text bodies like the offload notice, or into a
 * part of its own. See rewrite.h.
 */
#include <string.h>

#include "crypto.h"
#include "notice.h"
#include "rewrite_int.h"

/* request_wrap - a top level that is no text body: multipart/mixed of the notice and it */
static void
request_wrap(struct rewrite *rw, GMimeObject *top, const char *text)
{
	GMimeObject *np = rw_notice_part(text);
	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");

	g_mime_multipart_add(mixed, np);
	g_mime_multipart_add(mixed, top);
	g_mime_message_set_mime_part(rw->message, GMIME_OBJECT(mixed));
	g_free(rw->new_top_ct);
	rw->new_top_ct = g_strdup_printf("multipart/mixed; boundary=\"%s\"", g_mime_multipart_get_boundary(mixed));
	g_object_unref(np);
	g_object_unref(mixed);
}

/* request_top_headers - Content-Type and -Transfer-Encoding of a changed top-level part */
static void
request_top_headers(struct rewrite *rw, GMimePart *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));

	g_free(rw->new_top_ct);
	g_free(rw->new_top_cte);
	rw->new_top_ct = g_mime_content_type_encode(ct, NULL);
	g_strstrip(rw->new_top_ct);
	rw->new_top_cte = g_strdup(g_mime_content_encoding_to_string(g_mime_part_get_content_encoding(part)));
}

int
rewrite_request(struct rewrite *rw, int *body_fd, char **body_path, char **err)
{
	GMimeObject *top = g_mime_message_get_mime_part(rw->message);
	GMimePart *plain = NULL, *html = NULL;
	char *text = notice_request(rw->request_link, rw->request_for);
	char *htm = notice_request_html_only(rw->request_link, rw->request_for);
	bool placed = false;
	int rc;

	if (GMIME_IS_MULTIPART(top)) {
		rw_find_bodies(top, &plain, &html);
		placed = plain ? rw_insert_notice(rw, plain, false, text, htm) : html != NULL;
		if (placed && html)
			placed = rw_insert_notice(rw, html, true, text, htm) || plain != NULL;
		if (!placed)
			rw_add_notice_part(rw, top, text);
	} else if (GMIME_IS_PART(top) && (rw_is_body_text(top, "plain") || rw_is_body_text(top, "html"))) {
		placed = rw_insert_notice(rw, GMIME_PART(top), rw_is_body_text(top, "html"), text, htm);
		if (placed) /* the message's own headers describe the top part */
			request_top_headers(rw, GMIME_PART(top));
	}
	if (!placed && !GMIME_IS_MULTIPART(top))
		request_wrap(rw, top, text);
	rc = rewrite_write(rw, body_fd, body_path, err);
	crypto_free_string(text); /* the link's token */
	crypto_free_string(htm);
	return rc;
}
