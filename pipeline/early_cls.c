/*
 * early_cls.c - the classification of the early leaf in the worker's
 * stream (early.h; issue 15, "classification of a streamed leaf stays in
 * that stream"): the classify job the worker feeds the decoded bytes it
 * hashes and encrypts, made with the name and declared type the
 * classification at end of message gives the part (classify_mime.c,
 * cls_gmime_leaf), so that end of message only finishes it.
 */
#include "early.h"

#include <string.h>
#include <gmime/gmime.h>

#include "classify.h"

/* part_of_block - GMime's parse of a part's header block (an empty body) */
static GMimeObject *
part_of_block(const char *hdr)
{
	GString *s = g_string_new(hdr);
	GMimeStream *st;
	GMimeParser *ps;
	GMimeObject *o;

	g_string_append_c(s, '\n'); /* the blank line that ends the headers */
	st = g_mime_stream_mem_new_with_buffer(s->str, s->len);
	ps = g_mime_parser_new_with_stream(st);
	o = g_mime_parser_construct_part(ps, NULL);
	g_object_unref(ps);
	g_object_unref(st);
	g_string_free(s, TRUE);
	return o;
}

struct classify_job *
early_cls_job(const struct classify_ctx *ctx, const char *hdr)
{
	GMimeObject *o;
	GMimeContentType *ct;
	const char *fname;
	char *type, *name, *vtype;
	struct classify_job *job = NULL;

	if (ctx == NULL || hdr == NULL || (o = part_of_block(hdr)) == NULL)
		return NULL;
	fname = GMIME_IS_PART(o) ? g_mime_part_get_filename(GMIME_PART(o)) : NULL;
	if (fname != NULL) {
		/* as cls_gmime_leaf: both made valid UTF-8 */
		ct = g_mime_object_get_content_type(o);
		type = ct != NULL ? g_mime_content_type_get_mime_type(ct) : g_strdup("text/plain");
		name = g_utf8_make_valid(fname, -1);
		vtype = g_utf8_make_valid(type, -1);
		job = classify_job_new(ctx, name, vtype);
		g_free(name);
		g_free(vtype);
		g_free(type);
	}
	g_object_unref(o);
	return job;
}
