/*
 * classify_tnef.c - TNEF (winmail.dat, application/ms-tnef; standards.md §4, MS-OXTNEF) for the
 * classifier. The walk of the attribute stream is classify_tnef_walk.c (classify_tnef.h); here
 * each attachment goes through cls_part() like a zip member, one nesting level deeper, named
 * "winmail.dat > Gehalt.docx": libmagic type, mismatch and executable findings, detectors,
 * nested containers; an embedded message (PR_ATTACH_DATA_OBJ with IID_IMessage) is itself a TNEF
 * stream and recurses through cls_part() under the depth limit. Every attachment counts as an
 * entry and its bytes as inflated bytes of the shared budget.
 * The message body is scanned once, from the richest source present:
 * PR_RTF_COMPRESSED (LZFu, MS-OXRTFCP) > PR_BODY_HTML > PR_BODY > attBody.
 * Truncated or garbled streams (and trailing bytes other than a newline or NUL padding) are a
 * `not-inspectable` finding; whatever was read before is still classified. Checksum
 * mismatches are tolerated and only counted in that finding's detail.
 * Thread-safe (no shared state).
 */
#include "classify_extract.h"
#include "classify_tnef.h"

#include <string.h>

#define PT_UNICODE 0x001F
#define PT_STRING8 0x001E

struct cls_tnef {
	struct cls_scan *scan;
	struct classify_result *res;
	const char *name;
	struct cls_tnef_info info;
};

/* one attachment into cls_part; false when the budget is spent */
static bool
cls_tnef_file(void *ud, const struct cls_tnef_file *f)
{
	struct cls_tnef *t = ud;
	struct cls_scan *scan = t->scan;
	const struct classify_ctx *ctx = scan->ctx;
	char *where, *fallback = NULL;
	const char *nm = f->name;

	if (scan->bomb)
		return false;
	if (f->len == 0)
		return true;   /* nothing attached (e.g. a link or a deleted file) */
	scan->entries++;
	if (scan->entries > ctx->max_entries) {
		cls_bomb(scan, t->res, t->name, "entries over [classify] max_entries");
		return false;
	}
	scan->inflated += f->len;
	if (scan->inflated > ctx->max_inflated) {
		cls_bomb(scan, t->res, t->name, "total bytes over [classify] max_inflated");
		return false;
	}
	if (nm == NULL)
		nm = fallback = g_strdup_printf("attachment %u", f->index);
	where = g_strdup_printf("%s > %s", t->name, nm);
	scan->depth++;
	cls_part(scan, where, f->mime, f->data, f->len, t->res);
	scan->depth--;
	g_free(where);
	g_free(fallback);
	return !scan->bomb;
}

/* the message body, once, from the richest source */
static void
cls_tnef_body(struct cls_tnef *t)
{
	const struct classify_ctx *ctx = t->scan->ctx;
	char *where = g_strdup_printf("%s > message body", t->name);
	GString *text = g_string_new("");

	if (t->info.rtf != NULL) {
		GByteArray *raw = g_byte_array_new();

		if (cls_lzfu(t->info.rtf, t->info.rtflen, (size_t)ctx->max_text, raw)) {
			t->scan->inflated += raw->len;
			if (t->scan->inflated > ctx->max_inflated)
				cls_bomb(t->scan, t->res, where, "total bytes over [classify] max_inflated");
			else
				cls_rtf_text((const char *)raw->data, raw->len, (size_t)ctx->max_text, text);
		} else {
			cls_add(t->res, "not-inspectable", 1, where, "unknown compressed RTF format");
		}
		g_byte_array_unref(raw);
	}
	if (text->len == 0 && t->info.html != NULL && !t->scan->bomb) {
		const struct cls_tnef_info *in = &t->info;
		char *h = in->htmltype == PT_UNICODE ? cls_tnef_string(PT_UNICODE, in->html, in->htmllen, in->cp) :
			g_strndup((const char *)in->html, in->htmllen);

		enum cls_vs_pos pos = t->scan->vs_pos;

		t->scan->vs_pos = CLS_VS_EDGES;   /* the message body */
		cls_extract_html(t->scan, where, h, strlen(h), t->res);
		t->scan->vs_pos = pos;
		g_free(h);
		goto out;
	}
	if (text->len == 0 && (t->info.plain != NULL || t->info.attbody != NULL)) {
		const struct cls_tnef_info *in = &t->info;
		char *s = in->plain != NULL ? cls_tnef_string(in->plaintype, in->plain, in->plainlen, in->cp) :
			cls_tnef_string(PT_STRING8, in->attbody, in->attbodylen, in->cp);

		g_string_append(text, s);
		g_free(s);
	}
	if (text->len > 0) {
		cls_detect(ctx, where, text->str, text->len, t->res);
		cls_vs_marking(where, text->str, text->len, CLS_VS_EDGES, t->res);
	}
out:
	g_string_free(text, TRUE);
	g_free(where);
}

void
cls_extract_tnef(struct cls_scan *scan, const char *name, const unsigned char *d, size_t len,
	struct classify_result *res)
{
	struct cls_tnef t;

	memset(&t, 0, sizeof t);
	t.scan = scan;
	t.res = res;
	t.name = name != NULL ? name : "winmail.dat";
	if (!cls_tnef_walk(d, len, cls_tnef_file, &t, &t.info)) {
		cls_add(res, "not-inspectable", 1, t.name, "declared TNEF, no TNEF signature");
		cls_tnef_info_clear(&t.info);
		return;
	}
	if (!scan->bomb)
		cls_tnef_body(&t);
	if (t.info.broken != NULL) {
		char *detail = g_strdup_printf("%s (attribute %u, offset %zu, %u checksum errors)", t.info.broken,
			t.info.attrs, t.info.offset, t.info.badsum);

		cls_add(res, "not-inspectable", 1, t.name, detail);
		g_free(detail);
	}
	cls_tnef_info_clear(&t.info);
}
