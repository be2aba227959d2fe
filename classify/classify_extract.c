/*
 * classify_extract.c - bounded text extraction (standards.md §3): ZIP
 * (central directory, raw inflate, overlap/ratio/size/entry/depth limits),
 * OOXML docx/xlsx/pptx with docProps/custom.xml and LabelInfo.xml labels,
 * ODF, generic zip members, PDF (FlateDecode streams, /ObjStm, text
 * operators, ToUnicode CMaps, simple-font encodings with /Differences by
 * glyph name), HTML, and MIME messages via GMime (nested
 * message/rfc822 included). Every limit hit is a `bomb-limit` finding and
 * stops the extraction of that attachment; nothing here loops unbounded.
 * Memory: buffers are freed before return. Thread-safe (no shared state).
 */
#include "classify_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CLS_GRACE (100u * 1024u)   /* ratio checked once output exceeds this */

/* ---- inflate with limits ---- */

/*
 * cls_inflate - zlib (raw for ZIP) into out, at most max_out bytes kept;
 * 0 ok, 1 truncated at max_out, -1 broken data, -2 limit hit (bomb-limit set)
 */
static int
cls_inflate(struct cls_scan *scan, struct classify_result *res, const char *where, bool raw,
	const unsigned char *in, size_t inlen, size_t max_out, GByteArray *out)
{
	const struct classify_ctx *ctx = scan->ctx;
	z_stream z;
	unsigned char buf[16384];
	int rc = 0, zr;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, raw ? -MAX_WBITS : MAX_WBITS + 32) != Z_OK)
		return -1;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)MIN(inlen, (size_t)UINT_MAX);
	for (;;) {
		size_t got;

		z.next_out = buf;
		z.avail_out = sizeof buf;
		zr = inflate(&z, Z_NO_FLUSH);
		got = sizeof buf - z.avail_out;
		scan->inflated += got;
		if (scan->inflated > ctx->max_inflated) {
			cls_bomb(scan, res, where, "total inflated bytes over [classify] max_inflated");
			rc = -2;
			break;
		}
		if (z.total_out > CLS_GRACE && z.total_out > ctx->max_ratio * (z.total_in + 1)) {
			cls_bomb(scan, res, where, "compression ratio over [classify] max_ratio");
			rc = -2;
			break;
		}
		if (got > 0 && out->len < max_out)
			g_byte_array_append(out, buf, (guint)MIN(got, max_out - out->len));
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = out->len > 0 ? 0 : -1;
			break;
		}
		if (zr == Z_BUF_ERROR && z.avail_in == 0)
			break;   /* truncated input: keep what we have */
		if (out->len >= max_out && got > 0) {
			rc = 1;
			break;
		}
	}
	inflateEnd(&z);
	return rc;
}

/* ---- XML text ---- */

struct cls_xml_rules {
	const char *const *text;  /* elements whose character data is text */
	const char *const *nl;    /* end tag -> newline: paragraph, table row (ends every number) */
	const char *const *cell;  /* end tag -> tab: table cell (only an IBAN continues across it) */
	bool all;                 /* all character data is text */
	bool sheet;               /* <c t="s"><v> is a shared-string index */
};

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
cls_in_list(const char *const *list, const char *name, size_t n)
{
	for (; list != NULL && *list != NULL; list++) {
		const char *l = *list;
		size_t k = 0;

		while (k < n && l[k] != '\0' && l[k] == name[k])
			k++;
		if (k == n && l[k] == '\0')
			return true;
	}
	return false;
}

/* memchr for the short distances of XML markup: a few bytes inline, then memchr */
static inline const char *
cls_chr(const char *p, char c, size_t n)
{
	size_t k;

	for (k = 0; k < n && k < 32; k++)
		if (p[k] == c)
			return p + k;
	return n > 32 ? memchr(p + 32, c, n - 32) : NULL;
}

/* append character data with entities decoded */
static void
cls_xml_chars(GString *out, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (p[i] != '&') {
			size_t j = i;

			while (j < n && p[j] != '&')
				j++;
			g_string_append_len(out, p + i, (gssize)(j - i));
			i = j;
			continue;
		}
		{
			const char *semi = memchr(p + i, ';', MIN(n - i, (size_t)12));
			size_t el = semi != NULL ? (size_t)(semi - (p + i)) : 0;
			const char *e = p + i + 1;

			if (semi == NULL) {
				g_string_append_c(out, '&');
				i++;
				continue;
			}
			if (el == 3 && strncmp(e, "lt", 2) == 0)
				g_string_append_c(out, '<');
			else if (el == 3 && strncmp(e, "gt", 2) == 0)
				g_string_append_c(out, '>');
			else if (el == 4 && strncmp(e, "amp", 3) == 0)
				g_string_append_c(out, '&');
			else if (el == 5 && strncmp(e, "quot", 4) == 0)
				g_string_append_c(out, '"');
			else if (el == 5 && strncmp(e, "apos", 4) == 0)
				g_string_append_c(out, '\'');
			else if (el == 5 && strncmp(e, "nbsp", 4) == 0)
				g_string_append(out, "\xC2\xA0");
			else if (el >= 3 && e[0] == '#') {
				char num[12] = { 0 };
				unsigned long v;

				memcpy(num, e + 1, MIN(el - 2, sizeof num - 1));
				v = (num[0] == 'x' || num[0] == 'X') ? strtoul(num + 1, NULL, 16) : strtoul(num, NULL, 10);
				if (v > 0 && v < 0x110000 && g_unichar_validate((gunichar)v))
					g_string_append_unichar(out, (gunichar)v);
			} else
				g_string_append_c(out, ' ');
			i += el + 1;
		}
	}
}

/* cls_xml_text - text of an XML part by rules; false if a DOCTYPE declares entities */
static bool
cls_xml_text(const char *x, size_t n, const struct cls_xml_rules *r, size_t max, GString *out)
{
	size_t i = 0;
	int in_text = 0;
	size_t cell_at = 0;   /* output length where the innermost open cell began */
	bool skip_v = false, in_v = false;

	while (i < n && out->len < max) {
		const char *lt = cls_chr(x + i, '<', n - i);
		size_t tag = lt != NULL ? (size_t)(lt - x) : n;

		if (tag > i && (r->all || in_text > 0) && !(in_v && skip_v))
			cls_xml_chars(out, x + i, tag - i);
		if (lt == NULL)
			break;
		i = tag;
		if (n - i >= 4 && memcmp(x + i, "<!--", 4) == 0) {
			const char *e = g_strstr_len(x + i, (gssize)(n - i), "-->");

			i = e != NULL ? (size_t)(e - x) + 3 : n;
			continue;
		}
		if (n - i >= 9 && memcmp(x + i, "<![CDATA[", 9) == 0) {
			const char *e = g_strstr_len(x + i, (gssize)(n - i), "]]>");
			size_t end = e != NULL ? (size_t)(e - x) : n;

			if (r->all || in_text > 0)
				g_string_append_len(out, x + i + 9, (gssize)(end - i - 9));
			i = e != NULL ? end + 3 : n;
			continue;
		}
		if (n - i >= 9 && x[i + 1] == '!' && g_ascii_strncasecmp(x + i, "<!DOCTYPE", 9) == 0) {
			const char *e = memchr(x + i, '>', n - i);
			size_t end = e != NULL ? (size_t)(e - x) : n;

			if (g_strstr_len(x + i, (gssize)MIN(n - i, (size_t)1 << 20), "<!ENTITY") != NULL)
				return false;
			i = end + 1;
			continue;
		}
		{
			const char *gt = cls_chr(x + i, '>', n - i);
			size_t end = gt != NULL ? (size_t)(gt - x) : n;
			bool close = i + 1 < n && x[i + 1] == '/';
			bool self = end > i && x[end - 1] == '/';
			size_t ns = i + (close ? 2 : 1), ne = ns, ln;
			const char *local;

			if (x[ns] == '?' || x[ns] == '!') {
				i = end + 1;
				continue;
			}
			while (ne < end && !g_ascii_isspace(x[ne]) && x[ne] != '/' && x[ne] != '>')
				ne++;
			local = x + ns;
			ln = ne - ns;
			{
				const char *colon = cls_chr(local, ':', ln);

				if (colon != NULL) {
					ln -= (size_t)(colon + 1 - local);
					local = colon + 1;
				}
			}
			if (!close) {
				if (cls_in_list(r->text, local, ln) && !self)
					in_text++;
				if (cls_in_list(r->cell, local, ln) && !self)
					cell_at = out->len;
				if (r->sheet && ln == 1 && local[0] == 'c')
					skip_v = g_strstr_len(x + ne, (gssize)(end - ne), "t=\"s\"") != NULL;
				if (r->sheet && ln == 1 && local[0] == 'v' && !self)
					in_v = true;
				if ((ln == 3 && memcmp(local, "tab", 3) == 0))
					g_string_append_c(out, '\t');
				else if ((ln == 2 && (memcmp(local, "br", 2) == 0 || memcmp(local, "cr", 2) == 0)) ||
					 (ln == 10 && memcmp(local, "line-break", 10) == 0))
					g_string_append_c(out, '\n');
				else if (ln == 1 && local[0] == 's' && r->all)
					g_string_append_c(out, ' ');
			} else {
				if (cls_in_list(r->text, local, ln) && in_text > 0)
					in_text--;
				if (r->sheet && ln == 1 && local[0] == 'v')
					in_v = false;
				if (cls_in_list(r->nl, local, ln))
					g_string_append_c(out, '\n');
				if (cls_in_list(r->cell, local, ln)) {
					/* the end of the cell's last paragraph becomes the cell boundary */
					if (out->len > cell_at && out->str[out->len - 1] == '\n')
						out->str[out->len - 1] = '\t';
					else
						g_string_append_c(out, '\t');
				}
			}
			i = end + 1;
		}
	}
	return true;
}

/* docProps/custom.xml: <property name="MSIP_Label_..._Name"><vt:lpwstr>X</vt:lpwstr> */
static void
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
static void
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

/* ---- ZIP ---- */

struct cls_zent {
	char *name;
	uint32_t lho, csize, usize;
	uint16_t method, flags;
};

static uint16_t
cls_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
cls_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int
cls_zent_cmp(const void *a, const void *b)
{
	const struct cls_zent *x = a, *y = b;

	return x->lho < y->lho ? -1 : x->lho > y->lho;
}

static bool
cls_glob(const char *name, const char *prefix, const char *suffix)
{
	return g_str_has_prefix(name, prefix) && g_str_has_suffix(name, suffix);
}

enum cls_zkind { CLS_Z_GENERIC, CLS_Z_OOXML, CLS_Z_ODF };

static const struct cls_xml_rules *
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

void
cls_extract_zip(struct cls_scan *scan, const char *name, const unsigned char *d, size_t len,
	struct classify_result *res)
{
	const struct classify_ctx *ctx = scan->ctx;
	struct cls_zent *ents = NULL;
	size_t nents = 0, i, eocd = 0, cdoff, cdsize, count, p;
	enum cls_zkind kind = CLS_Z_GENERIC;
	bool found = false, enc_noted = false;
	GByteArray *buf = NULL;

	if (len < 22)
		goto broken;
	for (i = len - 22 + 1; i-- > 0 && len - i <= 65557;)
		if (cls_le32(d + i) == 0x06054b50) {
			eocd = i;
			found = true;
			break;
		}
	if (!found)
		goto broken;
	count = cls_le16(d + eocd + 10);
	cdsize = cls_le32(d + eocd + 12);
	cdoff = cls_le32(d + eocd + 16);
	if (cdoff == 0xFFFFFFFF || count == 0xFFFF) {
		cls_add(res, "not-inspectable", 1, name, "ZIP64 archive");
		goto out;
	}
	if (cdoff > len || cdsize > len - cdoff)
		goto broken;
	scan->entries += count;
	if (scan->entries > ctx->max_entries) {
		cls_bomb(scan, res, name, "entries over [classify] max_entries");
		goto out;
	}
	ents = g_new0(struct cls_zent, count + 1);
	for (p = cdoff; nents < count && p + 46 <= cdoff + cdsize; nents++) {
		size_t nl, el, cl;

		if (cls_le32(d + p) != 0x02014b50)
			break;
		nl = cls_le16(d + p + 28);
		el = cls_le16(d + p + 30);
		cl = cls_le16(d + p + 32);
		if (p + 46 + nl > len)
			break;
		ents[nents].flags = cls_le16(d + p + 8);
		ents[nents].method = cls_le16(d + p + 10);
		ents[nents].csize = cls_le32(d + p + 20);
		ents[nents].usize = cls_le32(d + p + 24);
		ents[nents].lho = cls_le32(d + p + 42);
		ents[nents].name = g_strndup((const char *)d + p + 46, nl);
		if (strcmp(ents[nents].name, "[Content_Types].xml") == 0)
			kind = CLS_Z_OOXML;
		else if (strcmp(ents[nents].name, "mimetype") == 0 && kind == CLS_Z_GENERIC)
			kind = CLS_Z_ODF;
		p += 46 + nl + el + cl;
	}
	/* overlapping local records (non-recursive zip bombs) */
	{
		struct cls_zent *sorted = g_memdup2(ents, sizeof *ents * (nents ? nents : 1));

		qsort(sorted, nents, sizeof *sorted, cls_zent_cmp);
		for (i = 0; i + 1 < nents; i++) {
			uint64_t start = sorted[i].lho, end = start + 30 + sorted[i].csize;

			if (start + 30 <= len)
				end += cls_le16(d + start + 26) + cls_le16(d + start + 28);
			if (end > sorted[i + 1].lho) {
				g_free(sorted);
				cls_bomb(scan, res, name, "overlapping ZIP entries");
				goto out;
			}
		}
		g_free(sorted);
	}
	for (i = 0; i < nents && !scan->bomb; i++) {
		struct cls_zent *e = &ents[i];
		bool custom, labelinfo, embedded;
		const struct cls_xml_rules *rules;
		size_t data, lnl, lel;
		char *where;
		int rc;

		if (g_str_has_suffix(e->name, "/"))
			continue;
		rules = cls_member_rules(kind, e->name, &custom, &labelinfo, &embedded);
		if (rules == NULL && !custom && !labelinfo && !embedded)
			continue;
		if (e->flags & 1) {
			if (!enc_noted)
				cls_add(res, "encrypted", 1, name, "encrypted ZIP member");
			enc_noted = true;
			continue;
		}
		if ((size_t)e->lho + 30 > len || cls_le32(d + e->lho) != 0x04034b50)
			continue;
		lnl = cls_le16(d + e->lho + 26);
		lel = cls_le16(d + e->lho + 28);
		data = (size_t)e->lho + 30 + lnl + lel;
		if (data > len || e->csize > len - data)
			continue;
		if (lnl != strlen(e->name) || memcmp(d + e->lho + 30, e->name, lnl) != 0)
			continue;   /* local and central names differ */
		where = g_strdup_printf("%s: %s", name, e->name);
		buf = g_byte_array_new();
		if (e->method == 0) {
			scan->inflated += e->csize;
			if (scan->inflated > ctx->max_inflated)
				cls_bomb(scan, res, where, "total bytes over [classify] max_inflated");
			else
				g_byte_array_append(buf, d + data, (guint)MIN((size_t)e->csize, (size_t)ctx->max_text));
			rc = 0;
		} else if (e->method == 8) {
			rc = cls_inflate(scan, res, where, true, d + data, e->csize, (size_t)ctx->max_text, buf);
			if (rc >= 0 && buf->len > (size_t)e->usize + 0 && e->usize != 0 && !(e->flags & 8)) {
				cls_bomb(scan, res, where, "member larger than declared");
				rc = -2;
			}
		} else {
			cls_add(res, "not-inspectable", 1, where, "unsupported ZIP method");
			rc = -1;
		}
		if (rc == 1)
			cls_add(res, "not-inspectable", 1, where, "member truncated at [classify] max_text");
		if (rc >= 0 && !scan->bomb) {
			if (custom) {
				cls_custom_props(ctx, (const char *)buf->data, buf->len, res);
			} else if (labelinfo) {
				cls_label_info(ctx, (const char *)buf->data, buf->len, res);
			} else if (embedded) {
				scan->depth++;
				cls_part(scan, where, NULL, buf->data, buf->len, res);
				scan->depth--;
			} else {
				GString *text = g_string_new("");

				if (!cls_xml_text((const char *)buf->data, buf->len, rules, (size_t)ctx->max_text, text))
					cls_bomb(scan, res, where, "XML entity declarations");
				else
					cls_detect(ctx, where, text->str, text->len, res);
				g_string_free(text, TRUE);
			}
		}
		g_byte_array_unref(buf);
		buf = NULL;
		g_free(where);
	}
	goto out;
broken:
	cls_add(res, "not-inspectable", 1, name, "broken ZIP");
out:
	for (i = 0; i < nents; i++)
		g_free(ents[i].name);
	g_free(ents);
}

/* ---- PDF ---- */

struct cls_cmap {
	int obj;
	int width;   /* code bytes: 1 or 2 */
	GHashTable *map;   /* code -> UTF-8 string */
};

struct cls_pdf {
	struct cls_scan *scan;
	struct classify_result *res;
	const char *name;
	GArray *cmaps;          /* struct cls_cmap */
	GHashTable *font_cmap;  /* font object number -> cmap object number */
	GHashTable *res_font;   /* "/F1" -> font object number (first seen) */
	GHashTable *content_page; /* content stream object number -> page number */
	int pages;
	GHashTable *encs;       /* object number -> struct cls_enc *: simple-font encodings */
	GHashTable *cmap_idx;   /* CMap object number -> index + 1 in cmaps */
	GHashTable *font_enc;   /* font object number -> encoding object number */
};

static const char *cls_memmem(const char *h, size_t hl, const char *n);

/* a simple font's code -> text table (base encoding + /Differences) */
struct cls_enc {
	int obj;
	char map[256][8];   /* UTF-8, "" = no text */
};

enum cls_base_enc { CLS_ENC_WINANSI, CLS_ENC_MACROMAN, CLS_ENC_STANDARD };

/* MacRomanEncoding 0x80..0xFF */
static const uint16_t cls_macroman_hi[128] = {
	0x00C4, 0x00C5, 0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00DC, 0x00E1, 0x00E0, 0x00E2, 0x00E4, 0x00E3, 0x00E5, 0x00E7,
	0x00E9, 0x00E8, 0x00EA, 0x00EB, 0x00ED, 0x00EC, 0x00EE, 0x00EF, 0x00F1, 0x00F3, 0x00F2, 0x00F4, 0x00F6, 0x00F5,
	0x00FA, 0x00F9, 0x00FB, 0x00FC, 0x2020, 0x00B0, 0x00A2, 0x00A3, 0x00A7, 0x2022, 0x00B6, 0x00DF, 0x00AE, 0x00A9,
	0x2122, 0x00B4, 0x00A8, 0x2260, 0x00C6, 0x00D8, 0x221E, 0x00B1, 0x2264, 0x2265, 0x00A5, 0x00B5, 0x2202, 0x2211,
	0x220F, 0x03C0, 0x222B, 0x00AA, 0x00BA, 0x03A9, 0x00E6, 0x00F8, 0x00BF, 0x00A1, 0x00AC, 0x221A, 0x0192, 0x2248,
	0x2206, 0x00AB, 0x00BB, 0x2026, 0x00A0, 0x00C0, 0x00C3, 0x00D5, 0x0152, 0x0153, 0x2013, 0x2014, 0x201C, 0x201D,
	0x2018, 0x2019, 0x00F7, 0x25CA, 0x00FF, 0x0178, 0x2044, 0x20AC, 0x2039, 0x203A, 0xFB01, 0xFB02, 0x2021, 0x00B7,
	0x201A, 0x201E, 0x2030, 0x00C2, 0x00CA, 0x00C1, 0x00CB, 0x00C8, 0x00CD, 0x00CE, 0x00CF, 0x00CC, 0x00D3, 0x00D4,
	0xF8FF, 0x00D2, 0x00DA, 0x00DB, 0x00D9, 0x0131, 0x02C6, 0x02DC, 0x00AF, 0x02D8, 0x02D9, 0x02DA, 0x00B8, 0x02DD,
	0x02DB, 0x02C7,
};

/* StandardEncoding 0xA0..0xFF (0 = unused); below 0xA0 it is ASCII except ' and ` */
static const uint16_t cls_standard_hi[96] = {
	0, 0x00A1, 0x00A2, 0x00A3, 0x2044, 0x00A5, 0x0192, 0x00A7, 0x00A4, 0x0027, 0x201C, 0x00AB, 0x2039, 0x203A, 0xFB01, 0xFB02,
	0, 0x2013, 0x2020, 0x2021, 0x00B7, 0, 0x00B6, 0x2022, 0x201A, 0x201E, 0x201D, 0x00BB, 0x2026, 0x2030, 0, 0x00BF,
	0, 0x0060, 0x00B4, 0x02C6, 0x02DC, 0x00AF, 0x02D8, 0x02D9, 0x00A8, 0, 0x02DA, 0x00B8, 0, 0x02DD, 0x02DB, 0x02C7,
	0x2014, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0x00C6, 0, 0x00AA, 0, 0, 0, 0, 0x0141, 0x00D8, 0x0152, 0x00BA, 0, 0, 0, 0,
	0, 0x00E6, 0, 0, 0, 0x0131, 0, 0, 0x0142, 0x00F8, 0x0153, 0x00DF, 0, 0, 0, 0,
};

/* Adobe Glyph List subset: Latin text (German, Western and Central European), digits, punctuation */
static const struct { const char *name; uint16_t u; } cls_glyphs[] = {
	{ "space", 0x20 }, { "exclam", 0x21 }, { "quotedbl", 0x22 }, { "numbersign", 0x23 }, { "dollar", 0x24 },
	{ "percent", 0x25 }, { "ampersand", 0x26 }, { "quotesingle", 0x27 }, { "quoteright", 0x2019 },
	{ "parenleft", 0x28 }, { "parenright", 0x29 }, { "asterisk", 0x2A }, { "plus", 0x2B }, { "comma", 0x2C },
	{ "hyphen", 0x2D }, { "minus", 0x2212 }, { "period", 0x2E }, { "slash", 0x2F }, { "zero", 0x30 }, { "one", 0x31 },
	{ "two", 0x32 }, { "three", 0x33 }, { "four", 0x34 }, { "five", 0x35 }, { "six", 0x36 }, { "seven", 0x37 },
	{ "eight", 0x38 }, { "nine", 0x39 }, { "colon", 0x3A }, { "semicolon", 0x3B }, { "less", 0x3C }, { "equal", 0x3D },
	{ "greater", 0x3E }, { "question", 0x3F }, { "at", 0x40 }, { "bracketleft", 0x5B }, { "backslash", 0x5C },
	{ "bracketright", 0x5D }, { "asciicircum", 0x5E }, { "underscore", 0x5F }, { "grave", 0x60 },
	{ "quoteleft", 0x2018 }, { "braceleft", 0x7B }, { "bar", 0x7C }, { "braceright", 0x7D }, { "asciitilde", 0x7E },
	{ "nbspace", 0xA0 }, { "nonbreakingspace", 0xA0 }, { "exclamdown", 0xA1 }, { "cent", 0xA2 }, { "sterling", 0xA3 },
	{ "currency", 0xA4 }, { "yen", 0xA5 }, { "brokenbar", 0xA6 }, { "section", 0xA7 }, { "dieresis", 0xA8 },
	{ "copyright", 0xA9 }, { "ordfeminine", 0xAA }, { "guillemotleft", 0xAB }, { "guillemetleft", 0xAB },
	{ "logicalnot", 0xAC }, { "sfthyphen", 0xAD }, { "softhyphen", 0xAD }, { "registered", 0xAE }, { "macron", 0xAF },
	{ "degree", 0xB0 }, { "plusminus", 0xB1 }, { "twosuperior", 0xB2 }, { "threesuperior", 0xB3 }, { "acute", 0xB4 },
	{ "mu", 0xB5 }, { "micro", 0xB5 }, { "paragraph", 0xB6 }, { "periodcentered", 0xB7 }, { "middot", 0xB7 },
	{ "cedilla", 0xB8 }, { "onesuperior", 0xB9 }, { "ordmasculine", 0xBA }, { "guillemotright", 0xBB },
	{ "guillemetright", 0xBB }, { "onequarter", 0xBC }, { "onehalf", 0xBD }, { "threequarters", 0xBE },
	{ "questiondown", 0xBF }, { "Agrave", 0xC0 }, { "Aacute", 0xC1 }, { "Acircumflex", 0xC2 }, { "Atilde", 0xC3 },
	{ "Adieresis", 0xC4 }, { "Aring", 0xC5 }, { "AE", 0xC6 }, { "Ccedilla", 0xC7 }, { "Egrave", 0xC8 },
	{ "Eacute", 0xC9 }, { "Ecircumflex", 0xCA }, { "Edieresis", 0xCB }, { "Igrave", 0xCC }, { "Iacute", 0xCD },
	{ "Icircumflex", 0xCE }, { "Idieresis", 0xCF }, { "Eth", 0xD0 }, { "Ntilde", 0xD1 }, { "Ograve", 0xD2 },
	{ "Oacute", 0xD3 }, { "Ocircumflex", 0xD4 }, { "Otilde", 0xD5 }, { "Odieresis", 0xD6 }, { "multiply", 0xD7 },
	{ "Oslash", 0xD8 }, { "Ugrave", 0xD9 }, { "Uacute", 0xDA }, { "Ucircumflex", 0xDB }, { "Udieresis", 0xDC },
	{ "Yacute", 0xDD }, { "Thorn", 0xDE }, { "germandbls", 0xDF }, { "agrave", 0xE0 }, { "aacute", 0xE1 },
	{ "acircumflex", 0xE2 }, { "atilde", 0xE3 }, { "adieresis", 0xE4 }, { "aring", 0xE5 }, { "ae", 0xE6 },
	{ "ccedilla", 0xE7 }, { "egrave", 0xE8 }, { "eacute", 0xE9 }, { "ecircumflex", 0xEA }, { "edieresis", 0xEB },
	{ "igrave", 0xEC }, { "iacute", 0xED }, { "icircumflex", 0xEE }, { "idieresis", 0xEF }, { "eth", 0xF0 },
	{ "ntilde", 0xF1 }, { "ograve", 0xF2 }, { "oacute", 0xF3 }, { "ocircumflex", 0xF4 }, { "otilde", 0xF5 },
	{ "odieresis", 0xF6 }, { "divide", 0xF7 }, { "oslash", 0xF8 }, { "ugrave", 0xF9 }, { "uacute", 0xFA },
	{ "ucircumflex", 0xFB }, { "udieresis", 0xFC }, { "yacute", 0xFD }, { "thorn", 0xFE }, { "ydieresis", 0xFF },
	{ "Amacron", 0x100 }, { "amacron", 0x101 }, { "Abreve", 0x102 }, { "abreve", 0x103 }, { "Aogonek", 0x104 },
	{ "aogonek", 0x105 }, { "Cacute", 0x106 }, { "cacute", 0x107 }, { "Ccaron", 0x10C }, { "ccaron", 0x10D },
	{ "Dcaron", 0x10E }, { "dcaron", 0x10F }, { "Dcroat", 0x110 }, { "dcroat", 0x111 }, { "Emacron", 0x112 },
	{ "emacron", 0x113 }, { "Edotaccent", 0x116 }, { "edotaccent", 0x117 }, { "Eogonek", 0x118 }, { "eogonek", 0x119 },
	{ "Ecaron", 0x11A }, { "ecaron", 0x11B }, { "Gbreve", 0x11E }, { "gbreve", 0x11F }, { "Gcommaaccent", 0x122 },
	{ "gcommaaccent", 0x123 }, { "Imacron", 0x12A }, { "imacron", 0x12B }, { "Iogonek", 0x12E }, { "iogonek", 0x12F },
	{ "Idotaccent", 0x130 }, { "dotlessi", 0x131 }, { "Kcommaaccent", 0x136 }, { "kcommaaccent", 0x137 },
	{ "Lacute", 0x139 }, { "lacute", 0x13A }, { "Lcommaaccent", 0x13B }, { "lcommaaccent", 0x13C }, { "Lcaron", 0x13D },
	{ "lcaron", 0x13E }, { "Lslash", 0x141 }, { "lslash", 0x142 }, { "Nacute", 0x143 }, { "nacute", 0x144 },
	{ "Ncommaaccent", 0x145 }, { "ncommaaccent", 0x146 }, { "Ncaron", 0x147 }, { "ncaron", 0x148 },
	{ "Ohungarumlaut", 0x150 }, { "ohungarumlaut", 0x151 }, { "OE", 0x152 }, { "oe", 0x153 }, { "Racute", 0x154 },
	{ "racute", 0x155 }, { "Rcommaaccent", 0x156 }, { "rcommaaccent", 0x157 }, { "Rcaron", 0x158 }, { "rcaron", 0x159 },
	{ "Sacute", 0x15A }, { "sacute", 0x15B }, { "Scedilla", 0x15E }, { "scedilla", 0x15F }, { "Scaron", 0x160 },
	{ "scaron", 0x161 }, { "Tcommaaccent", 0x162 }, { "tcommaaccent", 0x163 }, { "Tcaron", 0x164 }, { "tcaron", 0x165 },
	{ "Umacron", 0x16A }, { "umacron", 0x16B }, { "Uring", 0x16E }, { "uring", 0x16F }, { "Uhungarumlaut", 0x170 },
	{ "uhungarumlaut", 0x171 }, { "Uogonek", 0x172 }, { "uogonek", 0x173 }, { "Ydieresis", 0x178 }, { "Zacute", 0x179 },
	{ "zacute", 0x17A }, { "Zdotaccent", 0x17B }, { "zdotaccent", 0x17C }, { "Zcaron", 0x17D }, { "zcaron", 0x17E },
	{ "florin", 0x192 }, { "Scommaaccent", 0x218 }, { "scommaaccent", 0x219 }, { "circumflex", 0x2C6 },
	{ "caron", 0x2C7 }, { "breve", 0x2D8 }, { "dotaccent", 0x2D9 }, { "ring", 0x2DA }, { "ogonek", 0x2DB },
	{ "tilde", 0x2DC }, { "hungarumlaut", 0x2DD }, { "endash", 0x2013 }, { "emdash", 0x2014 },
	{ "quotesinglbase", 0x201A }, { "quotedblleft", 0x201C }, { "quotedblright", 0x201D }, { "quotedblbase", 0x201E },
	{ "dagger", 0x2020 }, { "daggerdbl", 0x2021 }, { "bullet", 0x2022 }, { "ellipsis", 0x2026 },
	{ "perthousand", 0x2030 }, { "guilsinglleft", 0x2039 }, { "guilsinglright", 0x203A }, { "fraction", 0x2044 },
	{ "Euro", 0x20AC }, { "euro", 0x20AC }, { "trademark", 0x2122 }, { "numero", 0x2116 },
};

/* one code point into an 8-byte map slot; ligature code points as letters */
static void
cls_enc_put(char *slot, size_t used, gunichar u)
{
	char b[8];
	const char *t = b;
	int n;

	if (u == 0xFB00)
		t = "ff";
	else if (u == 0xFB01)
		t = "fi";
	else if (u == 0xFB02)
		t = "fl";
	else if (u == 0xFB03)
		t = "ffi";
	else if (u == 0xFB04)
		t = "ffl";
	else if (u < 0x20 && u != '\t')
		t = " ";
	else if (u == 0 || !g_unichar_validate(u))
		return;
	else {
		n = g_unichar_to_utf8(u, b);
		b[n] = '\0';
	}
	if (used + strlen(t) < 8)
		memcpy(slot + used, t, strlen(t) + 1);
}

static gunichar
cls_enc_base(enum cls_base_enc base, unsigned c)
{
	if (base == CLS_ENC_MACROMAN)
		return c >= 0x80 ? cls_macroman_hi[c - 0x80] : c == 0x7F ? 0 : c;
	if (base == CLS_ENC_STANDARD) {
		if (c == 0x27)
			return 0x2019;
		if (c == 0x60)
			return 0x2018;
		return c >= 0xA0 ? cls_standard_hi[c - 0xA0] : c >= 0x7F ? 0 : c;
	}
	return c == 0x7F ? 0 : cls_cp1252((unsigned char)c);   /* WinAnsiEncoding */
}

/* cls_glyph_text - text of a glyph name (AGL rules: suffix after '.', '_' ligatures, uniXXXX, uXXXX[XX]) */
static void
cls_glyph_text(const char *name, size_t n, char *slot)
{
	size_t i = 0;

	slot[0] = '\0';
	{
		const char *dot = memchr(name, '.', n);

		if (dot != NULL)
			n = (size_t)(dot - name);
	}
	while (i < n) {
		const char *us = memchr(name + i, '_', n - i);
		size_t e = us != NULL ? (size_t)(us - name) : n, l = e - i, k;
		const char *c = name + i;
		bool done = false;

		if (l == 2 && memcmp(c, "ff", 2) == 0)
			cls_enc_put(slot, strlen(slot), 0xFB00), done = true;
		else if (l == 2 && memcmp(c, "fi", 2) == 0)
			cls_enc_put(slot, strlen(slot), 0xFB01), done = true;
		else if (l == 2 && memcmp(c, "fl", 2) == 0)
			cls_enc_put(slot, strlen(slot), 0xFB02), done = true;
		else if (l == 3 && memcmp(c, "ffi", 3) == 0)
			cls_enc_put(slot, strlen(slot), 0xFB03), done = true;
		else if (l == 3 && memcmp(c, "ffl", 3) == 0)
			cls_enc_put(slot, strlen(slot), 0xFB04), done = true;
		else if (l == 1 && g_ascii_isalpha(c[0]))
			cls_enc_put(slot, strlen(slot), (gunichar)c[0]), done = true;
		for (k = 0; !done && k < G_N_ELEMENTS(cls_glyphs); k++)
			if (cls_glyphs[k].name[0] == c[0] && strlen(cls_glyphs[k].name) == l &&
			    memcmp(cls_glyphs[k].name, c, l) == 0) {
				cls_enc_put(slot, strlen(slot), cls_glyphs[k].u);
				done = true;
			}
		if (!done && l >= 7 && (l - 3) % 4 == 0 && memcmp(c, "uni", 3) == 0) {
			for (k = 3; k + 4 <= l; k += 4) {
				size_t h;
				gunichar u = 0;

				for (h = 0; h < 4 && g_ascii_isxdigit(c[k + h]); h++)
					u = u * 16 + (gunichar)g_ascii_xdigit_value(c[k + h]);
				if (h < 4 || (u >= 0xD800 && u < 0xE000))
					break;
				cls_enc_put(slot, strlen(slot), u);
			}
			done = true;
		}
		if (!done && l >= 5 && l <= 7 && c[0] == 'u') {
			gunichar u = 0;

			for (k = 1; k < l && g_ascii_isxdigit(c[k]); k++)
				u = u * 16 + (gunichar)g_ascii_xdigit_value(c[k]);
			if (k == l && !(u >= 0xD800 && u < 0xE000) && u < 0x110000)
				cls_enc_put(slot, strlen(slot), u);
		}
		i = e + 1;
	}
}

static enum cls_base_enc
cls_enc_name(const char *p, const char *end, bool *known)
{
	size_t n = (size_t)(end - p);

	*known = true;
	if (n >= 16 && memcmp(p, "/WinAnsiEncoding", 16) == 0)
		return CLS_ENC_WINANSI;
	if (n >= 17 && memcmp(p, "/MacRomanEncoding", 17) == 0)
		return CLS_ENC_MACROMAN;
	if (n >= 17 && memcmp(p, "/StandardEncoding", 17) == 0)
		return CLS_ENC_STANDARD;
	*known = false;
	return CLS_ENC_WINANSI;
}

/* cls_enc_add - the encoding of object obj: base table, then the /Differences array at dif (or NULL) */
static void
cls_enc_add(struct cls_pdf *pdf, int obj, enum cls_base_enc base, const char *dif, const char *end)
{
	struct cls_enc *e = g_new0(struct cls_enc, 1);
	unsigned c;

	e->obj = obj;
	for (c = 0; c < 256; c++)
		cls_enc_put(e->map[c], 0, cls_enc_base(base, c));
	if (dif != NULL) {
		const char *p = dif;
		long code = -1;

		while (p < end && g_ascii_isspace(*p))
			p++;
		if (p < end && *p == '[') {
			for (p++; p < end && *p != ']';) {
				if (g_ascii_isdigit(*p)) {
					code = 0;
					while (p < end && g_ascii_isdigit(*p)) {
						code = MIN(code * 10 + (*p - '0'), 100000L);
						p++;
					}
				} else if (*p == '/') {
					const char *s = ++p;

					while (p < end && !g_ascii_isspace(*p) && strchr("/[]()<>{}%", *p) == NULL)
						p++;
					if (code >= 0 && code < 256)
						cls_glyph_text(s, (size_t)(p - s), e->map[code]);
					if (code >= 0)
						code++;
				} else {
					p++;
				}
			}
		}
	}
	if (g_hash_table_size(pdf->encs) >= 4096 && !g_hash_table_contains(pdf->encs, GINT_TO_POINTER(obj))) {
		g_free(e);
		return;
	}
	g_hash_table_replace(pdf->encs, GINT_TO_POINTER(obj), e);
}

static const struct cls_enc *
cls_enc_find(const struct cls_pdf *pdf, int obj)
{
	return obj > 0 ? g_hash_table_lookup(pdf->encs, GINT_TO_POINTER(obj)) : NULL;
}

/* /Encoding of a font object (name or reference) and /Differences of a font or encoding object */
static void
cls_pdf_encoding(struct cls_pdf *pdf, int obj, const char *dict, size_t n)
{
	const char *end = dict + n, *enc = cls_memmem(dict, n, "/Encoding"), *dif = cls_memmem(dict, n, "/Differences");
	enum cls_base_enc base = CLS_ENC_WINANSI;
	bool known = false;

	if (obj <= 0 || (enc == NULL && dif == NULL))
		return;
	if (dif != NULL) {
		const char *be = cls_memmem(dict, n, "/BaseEncoding");

		if (be != NULL) {
			be += 13;
			while (be < end && g_ascii_isspace(*be))
				be++;
			base = cls_enc_name(be, end, &known);
		}
		cls_enc_add(pdf, obj, base, dif + 12, end);
		return;
	}
	enc += 9;
	while (enc < end && g_ascii_isspace(*enc))
		enc++;
	if (enc < end && *enc == '/') {
		base = cls_enc_name(enc, end, &known);
		if (known)
			cls_enc_add(pdf, obj, base, NULL, end);
	} else if (enc < end && g_ascii_isdigit(*enc)) {
		int ref = atoi(enc);

		if (ref > 0)
			g_hash_table_replace(pdf->font_enc, GINT_TO_POINTER(obj), GINT_TO_POINTER(ref));
	}
}

/* a /Type /Page dictionary: count the page, remember its /Contents objects */
static void
cls_pdf_page(struct cls_pdf *pdf, const char *dict)
{
	const char *t = strstr(dict, "/Type"), *c;

	if (t == NULL)
		return;
	t += 5;
	while (*t == ' ' || *t == '\r' || *t == '\n')
		t++;
	if (strncmp(t, "/Page", 5) != 0 || g_ascii_isalpha(t[5]))
		return;
	pdf->pages++;
	c = strstr(dict, "/Contents");
	if (c == NULL)
		return;
	c += 9;
	while (*c == ' ' || *c == '\r' || *c == '\n' || *c == '[')
		c++;
	while (g_ascii_isdigit(*c)) {
		int ref = atoi(c);

		if (ref > 0 && !g_hash_table_contains(pdf->content_page, GINT_TO_POINTER(ref)))
			g_hash_table_insert(pdf->content_page, GINT_TO_POINTER(ref), GINT_TO_POINTER(pdf->pages));
		/* "N G R" then maybe the next reference of an array */
		while (*c && *c != 'R' && *c != ']' && *c != '>')
			c++;
		if (*c != 'R')
			break;
		c++;
		while (*c == ' ' || *c == '\r' || *c == '\n')
			c++;
	}
}

static const char *
cls_memmem(const char *h, size_t hl, const char *n)
{
	return h != NULL && hl > 0 ? memmem(h, hl, n, strlen(n)) : NULL;
}

/* decode #xx in names of a dictionary text */
static char *
cls_pdf_names(const char *s, size_t n)
{
	GString *o = g_string_sized_new(n);
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '#' && i + 2 < n && g_ascii_isxdigit(s[i + 1]) && g_ascii_isxdigit(s[i + 2])) {
			g_string_append_c(o, (char)(g_ascii_xdigit_value(s[i + 1]) * 16 + g_ascii_xdigit_value(s[i + 2])));
			i += 2;
		} else {
			g_string_append_c(o, s[i]);
		}
	}
	return g_string_free(o, FALSE);
}

static unsigned
cls_hex_val(const char *s, size_t n)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (g_ascii_isxdigit(s[i]))
			v = v * 16 + (unsigned)g_ascii_xdigit_value(s[i]);
	return v;
}

/* hex string <...> of UTF-16BE to UTF-8 */
static char *
cls_utf16hex(const char *s, size_t n)
{
	GString *o = g_string_new("");
	unsigned units[64];
	size_t nu = 0, i, digits = 0;
	unsigned cur = 0;

	for (i = 0; i < n && nu < G_N_ELEMENTS(units); i++) {
		if (!g_ascii_isxdigit(s[i]))
			continue;
		cur = cur * 16 + (unsigned)g_ascii_xdigit_value(s[i]);
		if (++digits == 4) {
			units[nu++] = cur;
			cur = 0;
			digits = 0;
		}
	}
	for (i = 0; i < nu; i++) {
		gunichar c = units[i];

		if (c >= 0xD800 && c < 0xDC00 && i + 1 < nu) {
			c = 0x10000 + ((c - 0xD800) << 10) + (units[i + 1] - 0xDC00);
			i++;
		}
		if (g_unichar_validate(c))
			g_string_append_unichar(o, c);
	}
	return g_string_free(o, FALSE);
}

/* parse bfchar / bfrange of a ToUnicode CMap */
static void
cls_cmap_parse(struct cls_pdf *pdf, int obj, const char *s, size_t n)
{
	struct cls_cmap cm = { obj, 1, g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free) };
	const char *p = s, *end = s + n, *cs;

	cs = cls_memmem(s, n, "begincodespacerange");
	if (cs != NULL) {
		const char *lt = memchr(cs, '<', (size_t)(end - cs)), *gt = lt ? memchr(lt, '>', (size_t)(end - lt)) : NULL;

		if (lt != NULL && gt != NULL && gt - lt - 1 >= 4)
			cm.width = 2;
	}
	while ((p = cls_memmem(p, (size_t)(end - p), "beginbf")) != NULL) {
		bool range = strncmp(p + 7, "range", 5) == 0;
		const char *stop = cls_memmem(p, (size_t)(end - p), range ? "endbfrange" : "endbfchar");
		const char *q = p + 7;

		if (stop == NULL)
			break;
		while (q < stop && g_hash_table_size(cm.map) < 65536) {
			const char *a[3], *b[3];
			int k, want = range ? 3 : 2;

			for (k = 0; k < want; k++) {
				a[k] = memchr(q, '<', (size_t)(stop - q));
				if (a[k] == NULL)
					break;
				if (range && k == 2 && memchr(q, '[', (size_t)(a[k] - q)) != NULL)
					break;   /* array form: not supported, skip */
				b[k] = memchr(a[k], '>', (size_t)(stop - a[k]));
				if (b[k] == NULL)
					break;
				q = b[k] + 1;
			}
			if (k < want)
				break;
			if (!range) {
				g_hash_table_replace(cm.map, GUINT_TO_POINTER(cls_hex_val(a[0] + 1, (size_t)(b[0] - a[0] - 1)) + 1),
					cls_utf16hex(a[1] + 1, (size_t)(b[1] - a[1] - 1)));
			} else {
				unsigned lo = cls_hex_val(a[0] + 1, (size_t)(b[0] - a[0] - 1));
				unsigned hi = cls_hex_val(a[1] + 1, (size_t)(b[1] - a[1] - 1));
				char *first = cls_utf16hex(a[2] + 1, (size_t)(b[2] - a[2] - 1));
				gunichar base = g_utf8_get_char_validated(first, -1);
				unsigned c;

				for (c = lo; c <= hi && c - lo < 4096 && base != (gunichar)-1 && base != (gunichar)-2; c++) {
					char u[8] = { 0 };

					g_unichar_to_utf8(base + (c - lo), u);
					g_hash_table_replace(cm.map, GUINT_TO_POINTER(c + 1), g_strdup(u));
				}
				g_free(first);
			}
		}
		p = stop + 8;
	}
	g_array_append_val(pdf->cmaps, cm);
	if (!g_hash_table_contains(pdf->cmap_idx, GINT_TO_POINTER(obj)))
		g_hash_table_insert(pdf->cmap_idx, GINT_TO_POINTER(obj), GUINT_TO_POINTER(pdf->cmaps->len));
}

/* the decoders of font resource "/F1": ToUnicode CMap (wins) and simple-font encoding */
static void
cls_pdf_font(struct cls_pdf *pdf, const char *font, const struct cls_cmap **cm, const struct cls_enc **enc)
{
	gpointer fobj = g_hash_table_lookup(pdf->res_font, font), cobj;
	guint i;

	*cm = NULL;
	*enc = NULL;
	if (fobj == NULL)
		return;
	*enc = cls_enc_find(pdf, GPOINTER_TO_INT(fobj));
	if (*enc == NULL)
		*enc = cls_enc_find(pdf, GPOINTER_TO_INT(g_hash_table_lookup(pdf->font_enc, fobj)));
	cobj = g_hash_table_lookup(pdf->font_cmap, fobj);
	if (cobj == NULL)
		return;
	i = GPOINTER_TO_UINT(g_hash_table_lookup(pdf->cmap_idx, cobj));
	if (i > 0 && i <= pdf->cmaps->len)
		*cm = &g_array_index(pdf->cmaps, struct cls_cmap, i - 1);
}

/* a shown string's bytes to UTF-8: ToUnicode CMap first (the font's encoding for 1-byte codes
 * it leaves out), else the encoding (/Differences over a base), else WinAnsi */
static void
cls_pdf_show(GString *out, const struct cls_cmap *cm, const struct cls_enc *enc, const unsigned char *b, size_t n)
{
	size_t i;

	if (cm != NULL) {
		for (i = 0; i + (size_t)cm->width <= n; i += (size_t)cm->width) {
			unsigned code = cm->width == 2 ? (unsigned)(b[i] << 8 | b[i + 1]) : b[i];
			const char *u = g_hash_table_lookup(cm->map, GUINT_TO_POINTER(code + 1));

			if (u != NULL)
				g_string_append(out, u);
			else if (enc != NULL && cm->width == 1)
				g_string_append(out, enc->map[code]);
		}
		return;
	}
	if (enc != NULL) {
		for (i = 0; i < n; i++)
			g_string_append(out, enc->map[b[i]]);
		return;
	}
	for (i = 0; i < n; i++) {
		gunichar u = b[i] < 0x80 ? b[i] : cls_cp1252(b[i]);

		if (u < 0x20 && u != '\t')
			g_string_append_c(out, ' ');
		else if (u == 0x7F)
			continue;
		else if (u != 0)
			g_string_append_unichar(out, u);
	}
}

/* literal string (...) at s[0]=='('; returns end index after ')' */
static size_t
cls_pdf_literal(const char *s, size_t n, GByteArray *o)
{
	size_t i = 1;
	int depth = 1;

	while (i < n && depth > 0) {
		unsigned char c = (unsigned char)s[i++];

		if (c == '\\' && i < n) {
			unsigned char e = (unsigned char)s[i++];

			switch (e) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '\r': case '\n': continue;
			default:
				if (e >= '0' && e <= '7') {
					unsigned v = e - '0';
					int k;

					for (k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
						v = v * 8 + (unsigned)(s[i++] - '0');
					c = (unsigned char)v;
				} else {
					c = e;
				}
			}
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (--depth == 0)
				break;
		}
		g_byte_array_append(o, &c, 1);
	}
	return i;
}

/* cls_token - n bytes of a token (not NUL-terminated in the stream) into dst, truncated to fit */
static void
cls_token(char *dst, size_t size, const char *src, size_t n)
{
	n = MIN(n, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* text operators of one content stream */
static void
cls_pdf_content(struct cls_pdf *pdf, const char *s, size_t n, GString *out, size_t max)
{
	GByteArray *str = g_byte_array_new();
	char font[64] = "";
	const struct cls_cmap *cm = NULL;
	const struct cls_enc *enc = NULL;
	double nums[8];
	int nn = 0;
	size_t i = 0;
	bool in_array = false;
	char lastname[64] = "";

	while (i < n && out->len < max) {
		unsigned char c = (unsigned char)s[i];

		if (g_ascii_isspace(c)) {
			i++;
		} else if (c == '%') {
			while (i < n && s[i] != '\n' && s[i] != '\r')
				i++;
		} else if (c == '(') {
			g_byte_array_set_size(str, 0);
			i += cls_pdf_literal(s + i, n - i, str);
			if (in_array)
				cls_pdf_show(out, cm, enc, str->data, str->len);
		} else if (c == '<' && i + 1 < n && s[i + 1] == '<') {
			i += 2;
		} else if (c == '>' && i + 1 < n && s[i + 1] == '>') {
			i += 2;
		} else if (c == '<') {
			const char *gt = memchr(s + i, '>', n - i);
			size_t e = gt != NULL ? (size_t)(gt - s) : n, k;
			int half = -1;

			g_byte_array_set_size(str, 0);
			for (k = i + 1; k < e; k++) {
				if (!g_ascii_isxdigit(s[k]))
					continue;
				if (half < 0) {
					half = g_ascii_xdigit_value(s[k]);
				} else {
					unsigned char b = (unsigned char)(half * 16 + g_ascii_xdigit_value(s[k]));

					g_byte_array_append(str, &b, 1);
					half = -1;
				}
			}
			if (in_array)
				cls_pdf_show(out, cm, enc, str->data, str->len);
			i = e + 1;
		} else if (c == '[') {
			in_array = true;
			i++;
		} else if (c == ']') {
			in_array = false;
			i++;
		} else if (c == '/') {
			size_t k = i + 1;

			while (k < n && !g_ascii_isspace(s[k]) && strchr("/[]()<>{}%", s[k]) == NULL)
				k++;
			cls_token(lastname, sizeof lastname, s + i, k - i);
			i = k;
		} else if (g_ascii_isdigit(c) || c == '-' || c == '+' || c == '.') {
			char *e = NULL;
			double v = g_ascii_strtod(s + i, &e);
			size_t used = e != NULL ? (size_t)(e - (s + i)) : 0;

			if (used == 0)
				used = 1;
			if (in_array && v < -200)
				g_string_append_c(out, ' ');
			if (nn < 8)
				nums[nn++] = v;
			else {
				memmove(nums, nums + 1, sizeof nums[0] * 7);
				nums[7] = v;
			}
			i += used;
		} else if (g_ascii_isalpha(c) || c == '\'' || c == '"' || c == '*') {
			size_t k = i;
			char op[8] = "";

			while (k < n && (g_ascii_isalpha(s[k]) || s[k] == '*' || s[k] == '\'' || s[k] == '"') && k - i < 6)
				k++;
			cls_token(op, sizeof op, s + i, k - i);
			if (k == i)
				k++;
			i = k;
			if (strcmp(op, "Tf") == 0) {
				g_strlcpy(font, lastname, sizeof font);
				cls_pdf_font(pdf, font, &cm, &enc);
			} else if (strcmp(op, "Tj") == 0) {
				cls_pdf_show(out, cm, enc, str->data, str->len);
			} else if (strcmp(op, "'") == 0 || strcmp(op, "\"") == 0) {
				g_string_append_c(out, '\n');
				cls_pdf_show(out, cm, enc, str->data, str->len);
			} else if (strcmp(op, "TJ") == 0) {
				/* shown while parsing the array */
			} else if (strcmp(op, "T*") == 0 || strcmp(op, "ET") == 0) {
				g_string_append_c(out, '\n');
			} else if (strcmp(op, "Td") == 0 || strcmp(op, "TD") == 0) {
				g_string_append_c(out, nn >= 1 && nums[nn - 1] != 0 ? '\n' : ' ');
			} else if (strcmp(op, "Tm") == 0) {
				g_string_append_c(out, '\n');
			} else if (strcmp(op, "BI") == 0) {
				const char *ei = cls_memmem(s + i, n - i, "EI");

				i = ei != NULL ? (size_t)(ei - s) + 2 : n;
			}
			if (strcmp(op, "TJ") != 0)
				g_byte_array_set_size(str, 0);
			nn = 0;
		} else {
			i++;
		}
	}
	g_byte_array_unref(str);
}

struct cls_pdf_stream {
	int obj;
	bool content;
	GByteArray *data;
};

/* record "/ToUnicode N 0 R" of font objects and "/F1 N 0 R" in /Font dicts */
static void
cls_pdf_dicts(struct cls_pdf *pdf, int obj, const char *dict, size_t n)
{
	const char *tu = cls_memmem(dict, n, "/ToUnicode"), *f;

	cls_pdf_encoding(pdf, obj, dict, n);
	if (tu != NULL && obj > 0) {
		int ref = atoi(tu + 10);

		if (ref > 0)
			g_hash_table_replace(pdf->font_cmap, GINT_TO_POINTER(obj), GINT_TO_POINTER(ref));
	}
	for (f = cls_memmem(dict, n, "/Font"); f != NULL; f = cls_memmem(f + 5, n - (size_t)(f + 5 - dict), "/Font")) {
		const char *p = f + 5, *end;

		while (p < dict + n && g_ascii_isspace(*p))
			p++;
		if (p + 1 >= dict + n || p[0] != '<' || p[1] != '<')
			continue;
		end = cls_memmem(p, (size_t)(dict + n - p), ">>");
		if (end == NULL)
			break;
		p += 2;
		while (p < end) {
			const char *sl = memchr(p, '/', (size_t)(end - p));
			size_t k;
			char key[64];
			int ref;

			if (sl == NULL)
				break;
			k = 1;
			while (sl + k < end && !g_ascii_isspace(sl[k]) && sl[k] != '/')
				k++;
			cls_token(key, sizeof key, sl, k);
			ref = atoi(sl + k);
			if (ref > 0 && !g_hash_table_contains(pdf->res_font, key))
				g_hash_table_insert(pdf->res_font, g_strdup(key), GINT_TO_POINTER(ref));
			p = sl + k;
		}
	}
}

/* integer value of key in a dictionary text, -1 if absent */
static long
cls_dict_int(const char *dict, const char *key)
{
	size_t kl = strlen(key);
	const char *p = dict;

	while ((p = strstr(p, key)) != NULL) {
		const char *q = p + kl;

		if (!g_ascii_isalnum(*q)) {
			while (*q == ' ' || *q == '\r' || *q == '\n' || *q == '\t')
				q++;
			if (g_ascii_isdigit(*q))
				return strtol(q, NULL, 10);
		}
		p += kl;
	}
	return -1;
}

/* objects of an /ObjStm: "num offset" pairs before /First, then each object's text */
static void
cls_pdf_objstm(struct cls_pdf *pdf, const char *dict, const char *d, size_t n)
{
	long cnt = cls_dict_int(dict, "/N"), first = cls_dict_int(dict, "/First"), k;
	long *num, *off;
	size_t p = 0, got = 0;

	if (cnt <= 0 || first <= 0 || (size_t)first > n || cnt > first / 2 + 1) {
		char *inner = cls_pdf_names(d, n);   /* no usable header: dictionaries without numbers */

		cls_pdf_dicts(pdf, 0, inner, strlen(inner));
		g_free(inner);
		return;
	}
	num = g_new(long, (size_t)cnt);
	off = g_new(long, (size_t)cnt);
	while (got < (size_t)cnt) {
		long v[2];
		int j;

		for (j = 0; j < 2; j++) {
			while (p < (size_t)first && !g_ascii_isdigit(d[p]))
				p++;
			if (p >= (size_t)first)
				break;
			v[j] = 0;
			while (p < (size_t)first && g_ascii_isdigit(d[p]))
				v[j] = MIN(v[j] * 10 + (d[p++] - '0'), (long)INT_MAX);
		}
		if (j < 2)
			break;
		num[got] = v[0];
		off[got] = v[1];
		got++;
	}
	for (k = 0; k < (long)got; k++) {
		size_t a = (size_t)first + (size_t)MIN(off[k], (long)n), b = k + 1 < (long)got ?
			(size_t)first + (size_t)MIN(off[k + 1], (long)n) : n;
		char *inner;

		a = MIN(a, n);
		b = MIN(b, n);
		if (b <= a || num[k] <= 0)
			continue;
		inner = cls_pdf_names(d + a, b - a);
		cls_pdf_dicts(pdf, (int)num[k], inner, strlen(inner));
		cls_pdf_page(pdf, inner);
		g_free(inner);
	}
	g_free(num);
	g_free(off);
}

static void
cls_cmap_clear(gpointer p)
{
	struct cls_cmap *cm = p;

	g_hash_table_destroy(cm->map);
}

void
cls_extract_pdf(struct cls_scan *scan, const char *name, const unsigned char *data, size_t len,
	struct classify_result *res)
{
	const struct classify_ctx *ctx = scan->ctx;
	const char *s = (const char *)data, *end = s + len, *p = s;
	struct cls_pdf pdf = { scan, res, name, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL };
	GPtrArray *streams = g_ptr_array_new();
	GString *text = g_string_new("");
	size_t kept = 0;
	guint i;

	pdf.cmaps = g_array_new(FALSE, FALSE, sizeof(struct cls_cmap));
	g_array_set_clear_func(pdf.cmaps, cls_cmap_clear);
	pdf.font_cmap = g_hash_table_new(g_direct_hash, g_direct_equal);
	pdf.res_font = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	pdf.content_page = g_hash_table_new(g_direct_hash, g_direct_equal);
	pdf.encs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	pdf.cmap_idx = g_hash_table_new(g_direct_hash, g_direct_equal);
	pdf.font_enc = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (cls_memmem(s, len, "/Encrypt") != NULL)
		cls_add(res, "encrypted", 1, name, "encrypted PDF");
	/* pass 1: objects; dictionaries; decoded streams */
	while (p < end && !scan->bomb) {
		const char *o = cls_memmem(p, (size_t)(end - p), " obj"), *st, *eo, *back;
		char *dict;
		int obj = 0;
		size_t dl;

		if (o == NULL)
			break;
		back = o;
		while (back > s && g_ascii_isspace(back[-1]))
			back--;
		while (back > s && g_ascii_isdigit(back[-1]))
			back--;   /* generation */
		while (back > s && g_ascii_isspace(back[-1]))
			back--;
		while (back > s && g_ascii_isdigit(back[-1]))
			back--;
		obj = atoi(back);
		eo = cls_memmem(o + 4, (size_t)(end - o - 4), "endobj");
		st = cls_memmem(o + 4, (size_t)((eo != NULL ? eo : end) - o - 4), "stream");
		dl = (size_t)((st != NULL ? st : (eo != NULL ? eo : end)) - o);
		dict = cls_pdf_names(o, MIN(dl, (size_t)65536));
		cls_pdf_dicts(&pdf, obj, dict, strlen(dict));
		cls_pdf_page(&pdf, dict);
		if (st != NULL) {
			const char *b = st + 6, *es;
			bool flate = strstr(dict, "/FlateDecode") != NULL || strstr(dict, "/Fl ") != NULL ||
				strstr(dict, "/Fl]") != NULL || strstr(dict, "/Fl/") != NULL;
			bool other = strstr(dict, "/DCTDecode") != NULL || strstr(dict, "/JBIG2") != NULL ||
				strstr(dict, "/JPX") != NULL || strstr(dict, "/CCITT") != NULL ||
				strstr(dict, "/ASCII85") != NULL || strstr(dict, "/LZW") != NULL ||
				strstr(dict, "/Predictor") != NULL || strstr(dict, "/Image") != NULL ||
				strstr(dict, "/XRef") != NULL;
			bool hasfilter = strstr(dict, "/Filter") != NULL;

			if (b < end && *b == '\r')
				b++;
			if (b < end && *b == '\n')
				b++;
			es = cls_memmem(b, (size_t)(end - b), "endstream");
			if (es == NULL)
				es = end;
			if (!other && (flate || !hasfilter)) {
				struct cls_pdf_stream *ps = g_new0(struct cls_pdf_stream, 1);
				int rc = 0;

				ps->obj = obj;
				ps->data = g_byte_array_new();
				if (flate) {
					const unsigned char *zb = (const unsigned char *)b;
					size_t zl = (size_t)(es - b);

					rc = cls_inflate(scan, res, name, false, zb, zl, (size_t)ctx->max_text - kept, ps->data);
					if (rc == -1 && zl > 2 && (zb[0] == '\r' || zb[0] == '\n'))
						rc = cls_inflate(scan, res, name, false, zb + 1, zl - 1,
							(size_t)ctx->max_text - kept, ps->data);
				} else {
					scan->inflated += (uint64_t)(es - b);
					g_byte_array_append(ps->data, (const guint8 *)b,
						(guint)MIN((size_t)(es - b), (size_t)ctx->max_text - kept));
				}
				kept += ps->data->len;
				if (rc == 1 || kept >= ctx->max_text)
					cls_add(res, "not-inspectable", 1, name, "PDF text truncated at [classify] max_text");
				if (rc >= 0 && ps->data->len > 0 && strstr(dict, "/ObjStm") != NULL) {
					cls_pdf_objstm(&pdf, dict, (const char *)ps->data->data, ps->data->len);
				}
				ps->content = rc >= 0 && strstr(dict, "/ObjStm") == NULL && strstr(dict, "/Type/XObject") == NULL;
				g_ptr_array_add(streams, ps);
				if (kept >= ctx->max_text) {
					g_free(dict);
					break;
				}
			}
			p = es + 9 < end ? es + 9 : end;
		} else {
			p = eo != NULL ? eo + 6 : o + 4;
		}
		g_free(dict);
	}
	/* pass 2: ToUnicode CMaps, then content streams */
	for (i = 0; i < streams->len; i++) {
		struct cls_pdf_stream *ps = g_ptr_array_index(streams, i);

		if (cls_memmem((const char *)ps->data->data, ps->data->len, "begincmap") != NULL) {
			cls_cmap_parse(&pdf, ps->obj, (const char *)ps->data->data, ps->data->len);
			ps->content = false;
		}
	}
	for (i = 0; i < streams->len && !scan->bomb; i++) {
		struct cls_pdf_stream *ps = g_ptr_array_index(streams, i);
		size_t before = text->len;

		if (ps->content && cls_memmem((const char *)ps->data->data, ps->data->len, "BT") != NULL)
			cls_pdf_content(&pdf, (const char *)ps->data->data, ps->data->len, text, (size_t)ctx->max_text);
		if (text->len > before) {
			int page = GPOINTER_TO_INT(g_hash_table_lookup(pdf.content_page, GINT_TO_POINTER(ps->obj)));
			char *where = page > 0 ? g_strdup_printf("%s: page %d (obj %d)", name, page, ps->obj) :
				g_strdup_printf("%s: obj %d", name, ps->obj);
			size_t ul = 0;
			char *u = cls_text_utf8(text->str + before, text->len - before, &ul);

			cls_detect(ctx, where, u, ul, res);
			g_free(u);
			g_free(where);
		}
	}
	for (i = 0; i < streams->len; i++) {
		struct cls_pdf_stream *ps = g_ptr_array_index(streams, i);

		g_byte_array_unref(ps->data);
		g_free(ps);
	}
	g_ptr_array_free(streams, TRUE);
	g_string_free(text, TRUE);
	g_array_free(pdf.cmaps, TRUE);
	g_hash_table_destroy(pdf.font_cmap);
	g_hash_table_destroy(pdf.res_font);
	g_hash_table_destroy(pdf.content_page);
	g_hash_table_destroy(pdf.encs);
	g_hash_table_destroy(pdf.cmap_idx);
	g_hash_table_destroy(pdf.font_enc);
}

/* ---- HTML ---- */

void
cls_extract_html(struct cls_scan *scan, const char *name, const char *data, size_t len,
	struct classify_result *res)
{
	static const char *const blocks[] = {
		"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", NULL,
	};
	size_t ul = 0, i = 0, n;
	char *u = cls_text_utf8(data, len, &ul);
	GString *out = g_string_new("");

	n = ul;
	while (i < n && out->len < scan->ctx->max_text) {
		const char *lt = memchr(u + i, '<', n - i), *gt;
		size_t tag = lt != NULL ? (size_t)(lt - u) : n, k;
		char nm[16] = "";
		bool close;

		cls_xml_chars(out, u + i, tag - i);
		if (lt == NULL)
			break;
		if (n - tag >= 4 && memcmp(u + tag, "<!--", 4) == 0) {
			const char *e = g_strstr_len(u + tag, (gssize)(n - tag), "-->");

			i = e != NULL ? (size_t)(e - u) + 3 : n;
			continue;
		}
		gt = memchr(u + tag, '>', n - tag);
		if (gt == NULL)
			break;
		close = u[tag + 1] == '/';
		for (k = 0; k < sizeof nm - 1 && tag + 1 + close + k < (size_t)(gt - u) &&
		     g_ascii_isalnum(u[tag + 1 + close + k]); k++)
			nm[k] = g_ascii_tolower(u[tag + 1 + close + k]);
		nm[k] = '\0';
		i = (size_t)(gt - u) + 1;
		if (!close && (strcmp(nm, "script") == 0 || strcmp(nm, "style") == 0)) {
			char endtag[16];
			const char *e;

			g_snprintf(endtag, sizeof endtag, "</%s", nm);
			e = NULL;
			for (k = i; k + strlen(endtag) <= n; k++)
				if (g_ascii_strncasecmp(u + k, endtag, strlen(endtag)) == 0) {
					e = u + k;
					break;
				}
			i = e != NULL ? (size_t)(e - u) : n;
			continue;
		}
		if (strcmp(nm, "td") == 0 || strcmp(nm, "th") == 0)
			g_string_append_c(out, close ? '\t' : ' ');
		else if (cls_in_list(blocks, nm, strlen(nm)))
			g_string_append_c(out, '\n');
	}
	cls_detect(scan->ctx, name, out->str, out->len, res);
	g_string_free(out, TRUE);
	g_free(u);
}

/* ---- MIME ---- */

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
			if (g_ascii_strcasecmp(type, "text/html") == 0)
				cls_extract_html(&sub, pname, t, strlen(t), child);
			else
				cls_detect(scan->ctx, pname, t, strlen(t), child);
		}
		g_free(t);
	} else if (dw != NULL) {
		/* streamed and decoded through a job: memory bounded by max_text */
		GMimeStream *raw = g_mime_data_wrapper_get_stream(dw);
		GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(dw);
		GMimeStream *in = g_mime_stream_filter_new(raw);
		struct classify_job *job = classify_job_new(scan->ctx, pname, type);
		char buf[65536];

		if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
		    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
			GMimeFilter *dec = g_mime_filter_basic_new(enc, FALSE);

			g_mime_stream_filter_add(GMIME_STREAM_FILTER(in), dec);
			g_object_unref(dec);
		}
		cls_job_set_depth(job, scan->depth);
		g_mime_stream_reset(raw);
		for (;;) {
			ssize_t n = g_mime_stream_read(in, buf, sizeof buf);

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
