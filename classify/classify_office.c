/*
 * classify_office.c - what the classifier reads inside office documents
 * (ZIP members): which OOXML (docx/xlsx/pptx) and ODF parts hold text and by
 * which XML rules, embedded objects, and the sensitivity labels of
 * docProps/custom.xml (MSIP_Label_*) and docMetadata/LabelInfo.xml.
 * Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include <string.h>

static const char *const cls_docx_text[] = { "t", "delText", NULL };
static const char *const cls_docx_nl[] = { "p", "tr", NULL };
static const char *const cls_docx_cell[] = { "tc", NULL };
static const char *const cls_xlsx_text[] = { "t", "v", NULL };
static const char *const cls_xlsx_nl[] = { "row", "si", NULL };
static const char *const cls_xlsx_cell[] = { "c", NULL };
static const char *const cls_pptx_text[] = { "t", NULL };
static const char *const cls_odf_nl[] = { "p", "h", "table-row", NULL };
static const char *const cls_odf_cell[] = { "table-cell", NULL };

static const struct cls_xml_rules cls_rules_docx = { cls_docx_text, cls_docx_nl, cls_docx_cell, false, false };
static const struct cls_xml_rules cls_rules_xlsx = { cls_xlsx_text, cls_xlsx_nl, cls_xlsx_cell, false, true };
static const struct cls_xml_rules cls_rules_pptx = { cls_pptx_text, cls_docx_nl, cls_docx_cell, false, false };
static const struct cls_xml_rules cls_rules_odf = { NULL, cls_odf_nl, cls_odf_cell, true, false };

static bool
cls_glob(const char *name, const char *prefix, const char *suffix)
{
	return g_str_has_prefix(name, prefix) && g_str_has_suffix(name, suffix);
}

/* cls_member_rules - the XML rules of a text part of a kind of archive, else NULL and what it is */
const struct cls_xml_rules *
cls_member_rules(enum cls_zkind kind, const char *m, bool *custom, bool *labelinfo, bool *embedded)
{
	*custom = *labelinfo = *embedded = false;
	if (kind == CLS_Z_OOXML) {
		if (strcmp(m, "docProps/custom.xml") == 0) {
			*custom = true;
			return NULL;
		}
		if (strcmp(m, "docMetadata/LabelInfo.xml") == 0) {
			*labelinfo = true;
			return NULL;
		}
		if (strstr(m, "/embeddings/") != NULL) {
			*embedded = true;
			return NULL;
		}
		if (strcmp(m, "word/document.xml") == 0 || cls_glob(m, "word/header", ".xml") ||
		    cls_glob(m, "word/footer", ".xml") || strcmp(m, "word/footnotes.xml") == 0 ||
		    strcmp(m, "word/endnotes.xml") == 0 || strcmp(m, "word/comments.xml") == 0)
			return &cls_rules_docx;
		if (strcmp(m, "xl/sharedStrings.xml") == 0 || cls_glob(m, "xl/worksheets/sheet", ".xml") ||
		    cls_glob(m, "xl/comments", ".xml"))
			return &cls_rules_xlsx;
		if (cls_glob(m, "ppt/slides/slide", ".xml") || cls_glob(m, "ppt/notesSlides/", ".xml"))
			return &cls_rules_pptx;
		return NULL;
	}
	if (kind == CLS_Z_ODF) {
		if (strcmp(m, "content.xml") == 0 || strcmp(m, "styles.xml") == 0)
			return &cls_rules_odf;
		if (g_str_has_prefix(m, "Object") && g_str_has_suffix(m, "/content.xml"))
			return &cls_rules_odf;
		return NULL;
	}
	*embedded = true;   /* generic zip: every member */
	return NULL;
}

/* cls_member_vs - the VS marking position of a text part: OOXML headers and
 * footers all of them, the top of the first page (Word body, first slide,
 * ODF body); nothing else (footnotes, comments, sheets, later slides; ODF
 * styles.xml is read for its master pages only, by cls_vs_odf_styles) */
enum cls_vs_pos
cls_member_vs(enum cls_zkind kind, const char *m)
{
	if (kind == CLS_Z_OOXML) {
		if (cls_glob(m, "word/header", ".xml") || cls_glob(m, "word/footer", ".xml"))
			return CLS_VS_ALL;
		if (strcmp(m, "word/document.xml") == 0 || strcmp(m, "ppt/slides/slide1.xml") == 0)
			return CLS_VS_TOP;
	}
	if (kind == CLS_Z_ODF && strcmp(m, "content.xml") == 0)
		return CLS_VS_TOP;
	return CLS_VS_NONE;
}

/* docProps/custom.xml: <property name="MSIP_Label_..._Name"><vt:lpwstr>X</vt:lpwstr> */
void
cls_custom_props(const struct classify_ctx *ctx, const char *x, size_t n, struct classify_result *res)
{
	GString *pairs = g_string_new("");
	const char *p = x, *end = x + n;

	while (p < end) {
		const char *prop = g_strstr_len(p, end - p, "<property"), *nm, *q, *gt, *lt;
		char *name, *val;
		GString *v;

		if (prop == NULL)
			break;
		nm = g_strstr_len(prop, MIN(end - prop, 2048), " name=\"");
		gt = memchr(prop, '>', (size_t)(end - prop));
		if (nm == NULL || gt == NULL || nm > gt) {
			p = prop + 9;
			continue;
		}
		nm += 7;
		q = memchr(nm, '"', (size_t)(end - nm));
		if (q == NULL)
			break;
		name = g_strndup(nm, (size_t)(q - nm));
		/* first text inside the property's child */
		gt = memchr(gt + 1, '>', (size_t)(end - gt - 1));
		lt = gt != NULL ? memchr(gt, '<', (size_t)(end - gt)) : NULL;
		v = g_string_new("");
		if (gt != NULL && lt != NULL)
			cls_xml_chars(v, gt + 1, (size_t)(lt - gt - 1));
		val = g_string_free(v, FALSE);
		if (g_ascii_strncasecmp(name, "MSIP_Label_", 11) == 0 && strchr(val, ';') == NULL)
			g_string_append_printf(pairs, "%s=%s;", name, val);
		g_free(name);
		g_free(val);
		p = lt != NULL ? lt : end;
	}
	if (pairs->len > 0)
		cls_msip(ctx, "office", pairs->str, res);
	g_string_free(pairs, TRUE);
}

/* docMetadata/LabelInfo.xml: <clbl:label id="{guid}" enabled="1" .../> */
void
cls_label_info(const struct classify_ctx *ctx, const char *x, size_t n, struct classify_result *res)
{
	const char *p = x, *end = x + n;

	while (p < end) {
		const char *l = g_strstr_len(p, end - p, ":label "), *gt, *id;

		if (l == NULL)
			break;
		gt = memchr(l, '>', (size_t)(end - l));
		if (gt == NULL)
			break;
		id = g_strstr_len(l, gt - l, " id=\"");
		if (id != NULL && g_strstr_len(l, gt - l, "enabled=\"1\"") != NULL) {
			const char *s = id + 5, *q;
			char *guid, *reason;
			int level;

			if (*s == '{')
				s++;
			q = s;
			while (q < gt && (g_ascii_isxdigit(*q) || *q == '-'))
				q++;
			guid = g_ascii_strdown(s, q - s);
			level = cls_map_find(ctx->labels, guid);
			reason = g_strdup_printf("label:office=%s", guid);
			cls_add(res, reason, 1, "docMetadata/LabelInfo.xml", guid);
			if (level != -1 && level != CLS_REPORT)
				cls_raise(res, level);
			g_free(reason);
			g_free(guid);
		}
		p = gt + 1;
	}
}
