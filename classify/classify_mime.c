/*
 * classify_mime.c - MIME messages via GMime (nested message/rfc822
 * included): each leaf part gets its own result in `parts`, text parts are
 * read directly, the others streamed and decoded through a classify job
 * (memory bounded by max_text); limits on parts and nesting are `bomb-limit`.
 * Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include "b64dec.h"
#include "mime_read.h"

#include <string.h>

/* cls_gmime_b64 - a base64 leaf's raw stream decoded by b64dec (the bytes of GMime's decoder, a
 * table-driven four characters at a time instead of GMime's byte-at-a-time filter) into job, in the
 * pieces GMime's filter stream gives (the decode of each 4096 raw bytes, its READ_SIZE), so the
 * job sees the same feeds */
static void
cls_gmime_b64(GMimeStream *raw, struct classify_job *job)
{
	char in[4096];
	unsigned char out[B64DEC_OUTLEN(sizeof in)];
	struct b64dec dec;

	b64dec_init(&dec);
	for (;;) {
		ssize_t n = g_mime_stream_read(raw, in, sizeof in);
		size_t m;

		if (n <= 0)
			break;
		m = b64dec_step(&dec, in, (size_t)n, out);
		if (m == 0)
			continue; /* characters base64 ignores: more may follow (mime_read.h) */
		classify_job_feed(job, out, m);
		if (classify_job_done(job))
			break;
	}
}

/* cls_gmime_stream - a non-text leaf, streamed and decoded through a job: memory bounded by
 * max_text */
static void
cls_gmime_stream(struct cls_scan *scan, GMimeDataWrapper *dw, const char *pname, const char *type,
	struct classify_result *child)
{
	GMimeStream *raw = g_mime_data_wrapper_get_stream(dw);
	GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(dw);
	struct classify_job *job = classify_job_new(scan->ctx, pname, type);
	GMimeStream *in;
	char buf[65536];

	cls_job_set_depth(job, scan->depth);
	g_mime_stream_reset(raw);
	if (enc == GMIME_CONTENT_ENCODING_BASE64) {
		cls_gmime_b64(raw, job);
		g_mime_stream_reset(raw);
		classify_job_finish(job, child);
		return;
	}
	in = g_mime_stream_filter_new(raw);
	if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE || enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeFilter *dec = g_mime_filter_basic_new(enc, FALSE);

		g_mime_stream_filter_add(GMIME_STREAM_FILTER(in), dec);
		g_object_unref(dec);
	}
	for (;;) {
		ssize_t n = mime_read(in, buf, sizeof buf);

		if (n <= 0)
			break;
		classify_job_feed(job, buf, (size_t)n);
		if (classify_job_done(job))
			break;
	}
	g_mime_stream_reset(raw);
	classify_job_finish(job, child);
	g_object_unref(in);
}

static void
cls_gmime_leaf(struct cls_scan *scan, GMimePart *part, const char *path, struct classify_result *res)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *type = ct != NULL ? g_mime_content_type_get_mime_type(ct) : g_strdup("text/plain");
	const char *fname = g_mime_part_get_filename(part);
	char *pname = fname != NULL ? g_strdup(fname) : g_strdup_printf("part %s (%s)", path, type);
	struct classify_result *child = g_new0(struct classify_result, 1);
	struct cls_scan sub = *scan;
	GMimeDataWrapper *dw = g_mime_part_get_content(part);

	classify_result_init(child);
	child->name = g_utf8_make_valid(pname, -1);
	child->path = g_strdup(path);
	child->declared_type = g_utf8_make_valid(type, -1);
	sub.inflated = 0;
	sub.entries = 0;
	sub.bomb = false;
	if (scan->defer != NULL && scan->depth == 0 && scan->defer(obj, path, scan->defer_arg)) {
		/* the caller decodes this part anyway and classifies it in that
		 * stream (classify_pending_job): recorded, not read here */
		child->pending = true;
		if (res->parts == NULL)
			res->parts = g_ptr_array_new_with_free_func(cls_result_free);
		g_ptr_array_add(res->parts, child);
		g_free(pname);
		g_free(type);
		return;
	}
	if (GMIME_IS_TEXT_PART(part) && fname == NULL) {
		char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(part));

		if (t != NULL) {
			child->true_type = g_intern_string(type);
			sub.vs_pos = CLS_VS_EDGES;   /* a body: its first and last lines */
			if (g_ascii_strcasecmp(type, "text/html") == 0) {
				cls_extract_html(&sub, pname, t, strlen(t), child);
			} else {
				cls_detect(scan->ctx, pname, t, strlen(t), child);
				cls_vs_marking(pname, t, strlen(t), CLS_VS_EDGES, child);
			}
		}
		g_free(t);
	} else if (dw != NULL) {
		cls_gmime_stream(scan, dw, pname, type, child);
	}
	cls_policy(scan->ctx, child, child->level_index);
	classify_combine(scan->ctx, res, child);
	if (res->parts == NULL)
		res->parts = g_ptr_array_new_with_free_func(cls_result_free);
	g_ptr_array_add(res->parts, child);
	g_free(pname);
	g_free(type);
}

void
cls_extract_gmime(struct cls_scan *scan, GMimeObject *obj, const char *prefix, struct classify_result *res)
{
	char *path = g_strdup(prefix != NULL ? prefix : "1");

	if (res->parts != NULL && res->parts->len > 1000) {
		cls_bomb(scan, res, path, "too many parts");
		goto out;
	}
	if (GMIME_IS_MESSAGE(obj)) {
		GMimeObject *body = g_mime_message_get_mime_part(GMIME_MESSAGE(obj));

		if (body != NULL)
			cls_extract_gmime(scan, body, prefix, res);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (scan->depth + 1 > scan->ctx->max_depth) {
			cls_bomb(scan, res, path, "nesting depth");
			goto out;
		}
		if (m != NULL) {
			scan->depth++;
			classify_headers_gmime(scan->ctx, GMIME_OBJECT(m), res);
			cls_extract_gmime(scan, GMIME_OBJECT(m), path, res);
			scan->depth--;
		}
	} else if (GMIME_IS_MULTIPART_ENCRYPTED(obj)) {
		cls_add(res, "encrypted", 1, path, "multipart/encrypted");
	} else if (GMIME_IS_MULTIPART(obj)) {
		int i, n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		if (scan->depth + 1 > scan->ctx->max_depth + 32) {
			cls_bomb(scan, res, path, "MIME nesting depth");
			goto out;
		}
		for (i = 0; i < n; i++) {
			char *sub = g_strdup_printf("%s.%d", path, i + 1);

			cls_extract_gmime(scan, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), sub, res);
			g_free(sub);
		}
	} else if (GMIME_IS_PART(obj)) {
		cls_gmime_leaf(scan, GMIME_PART(obj), path, res);
	}
out:
	g_free(path);
}

void
cls_extract_eml(struct cls_scan *scan, const char *name, const unsigned char *data, size_t len,
	struct classify_result *res)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer((const char *)data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	struct classify_result inner;

	if (msg == NULL) {
		cls_add(res, "not-inspectable", 1, name, "unparsable message");
		goto out;
	}
	classify_result_init(&inner);
	scan->depth++;
	classify_headers_gmime(scan->ctx, GMIME_OBJECT(msg), &inner);
	cls_extract_gmime(scan, GMIME_OBJECT(msg), NULL, &inner);
	scan->depth--;
	/* contained parts stay visible: move them over, combine the rest */
	classify_combine(scan->ctx, res, &inner);
	if (inner.parts != NULL) {
		guint i;

		if (res->parts == NULL)
			res->parts = g_ptr_array_new_with_free_func(cls_result_free);
		for (i = inner.parts->len; i > 0; i--)
			g_ptr_array_add(res->parts, g_ptr_array_steal_index(inner.parts, 0));
	}
	classify_result_clear(&inner);
	g_object_unref(msg);
out:
	g_object_unref(parser);
	g_object_unref(st);
}
