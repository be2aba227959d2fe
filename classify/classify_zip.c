/*
 * classify_zip.c - ZIP containers (standards.md §3): the central directory,
 * overlap/declared size/ratio/total bytes/entries/depth limits (each a
 * `bomb-limit` finding that stops the attachment), encrypted members
 * (`encrypted`), stored and deflated members; office parts go to
 * classify_office.c, every other member through cls_part() one level deeper.
 * Memory: buffers are freed before return. Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include <stdlib.h>
#include <string.h>

struct cls_zent {
	char *name;
	uint32_t lho, csize, usize;
	uint16_t method, flags;
};

static int
cls_zent_cmp(const void *a, const void *b)
{
	const struct cls_zent *x = a, *y = b;

	return x->lho < y->lho ? -1 : x->lho > y->lho;
}

/* cls_zip_eocd - offset of the end of central directory record (in the last 64 KiB + 22) */
static bool
cls_zip_eocd(const unsigned char *d, size_t len, size_t *eocd)
{
	size_t i;

	if (len < 22)
		return false;
	for (i = len - 22 + 1; i-- > 0 && len - i <= 65557;)
		if (cls_le32(d + i) == 0x06054b50) {
			*eocd = i;
			return true;
		}
	return false;
}

/* cls_zip_directory - up to count central directory entries into ents; the number read */
static size_t
cls_zip_directory(const unsigned char *d, size_t len, size_t cdoff, size_t cdsize, size_t count,
	struct cls_zent *ents, enum cls_zkind *kind)
{
	size_t nents, p;

	for (p = cdoff, nents = 0; nents < count && p + 46 <= cdoff + cdsize; nents++) {
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
			*kind = CLS_Z_OOXML;
		else if (strcmp(ents[nents].name, "mimetype") == 0 && *kind == CLS_Z_GENERIC)
			*kind = CLS_Z_ODF;
		p += 46 + nl + el + cl;
	}
	return nents;
}

/* cls_zip_overlap - local records that overlap (non-recursive zip bombs) */
static bool
cls_zip_overlap(const struct cls_zent *ents, size_t nents, const unsigned char *d, size_t len)
{
	struct cls_zent *sorted = g_memdup2(ents, sizeof *ents * (nents ? nents : 1));
	bool overlap = false;
	size_t i;

	qsort(sorted, nents, sizeof *sorted, cls_zent_cmp);
	for (i = 0; i + 1 < nents && !overlap; i++) {
		uint64_t start = sorted[i].lho, end = start + 30 + sorted[i].csize;

		if (start + 30 <= len)
			end += cls_le16(d + start + 26) + cls_le16(d + start + 28);
		overlap = end > sorted[i + 1].lho;
	}
	g_free(sorted);
	return overlap;
}

/* cls_zip_data - offset of a member's data behind a local header that agrees with the directory */
static bool
cls_zip_data(const struct cls_zent *e, const unsigned char *d, size_t len, size_t *data)
{
	size_t lnl, lel;

	if ((size_t)e->lho + 30 > len || cls_le32(d + e->lho) != 0x04034b50)
		return false;
	lnl = cls_le16(d + e->lho + 26);
	lel = cls_le16(d + e->lho + 28);
	*data = (size_t)e->lho + 30 + lnl + lel;
	if (*data > len || e->csize > len - *data)
		return false;
	return lnl == strlen(e->name) && memcmp(d + e->lho + 30, e->name, lnl) == 0;   /* names agree */
}

/* cls_zip_read - a member's bytes (stored or deflated) into buf; rc as cls_inflate() */
static int
cls_zip_read(struct cls_scan *scan, struct classify_result *res, const char *where, const struct cls_zent *e,
	const unsigned char *data, GByteArray *buf)
{
	const struct classify_ctx *ctx = scan->ctx;
	int rc;

	if (e->method == 0) {
		scan->inflated += e->csize;
		if (scan->inflated > ctx->max_inflated)
			cls_bomb(scan, res, where, "total bytes over [classify] max_inflated");
		else
			g_byte_array_append(buf, data, (guint)MIN((size_t)e->csize, (size_t)ctx->max_text));
		return 0;
	}
	if (e->method != 8) {
		cls_add(res, "not-inspectable", 1, where, "unsupported ZIP method");
		return -1;
	}
	rc = cls_inflate(scan, res, where, true, data, e->csize, (size_t)ctx->max_text, buf);
	if (rc >= 0 && buf->len > (size_t)e->usize + 0 && e->usize != 0 && !(e->flags & 8)) {
		cls_bomb(scan, res, where, "member larger than declared");
		rc = -2;
	}
	return rc;
}

/* what a member is to the classifier (cls_member_rules) */
struct cls_zuse {
	const struct cls_xml_rules *rules;
	bool custom, labelinfo, embedded;
	enum cls_vs_pos vs;   /* VS marking position of its text */
	bool odf_styles;      /* ODF styles.xml: markings in the master pages' header/footer */
};

/* cls_zip_use - a member's bytes to the reader its kind wants */
static void
cls_zip_use(struct cls_scan *scan, const char *where, const struct cls_zuse *u, GByteArray *buf,
	struct classify_result *res)
{
	const struct classify_ctx *ctx = scan->ctx;
	/* an empty member's array has no data (NULL): the readers get "" (NULL + 0 is undefined) */
	const char *data = buf->data != NULL ? (const char *)buf->data : "";
	GString *text;

	if (u->custom) {
		cls_custom_props(ctx, data, buf->len, res);
		return;
	}
	if (u->labelinfo) {
		cls_label_info(ctx, data, buf->len, res);
		return;
	}
	if (u->embedded) {
		scan->depth++;
		cls_part(scan, where, NULL, (const unsigned char *)data, buf->len, res);
		scan->depth--;
		return;
	}
	text = g_string_sized_new(buf->len + 1);   /* the text is at most the XML */
	if (!cls_xml_text(data, buf->len, u->rules, (size_t)ctx->max_text, text))
		cls_bomb(scan, res, where, "XML entity declarations");
	else
		cls_detect(ctx, where, text->str, text->len, res);
	cls_vs_marking(where, text->str, text->len, u->vs, res);
	if (u->odf_styles)
		cls_vs_odf_styles(scan, where, data, buf->len, u->rules, res);
	g_string_free(text, TRUE);
}

/* cls_zip_member - one member of interest: checks, bytes, reader; *enc_noted: encryption told once */
static void
cls_zip_member(struct cls_scan *scan, const char *name, enum cls_zkind kind, const struct cls_zent *e,
	const unsigned char *d, size_t len, bool *enc_noted, struct classify_result *res)
{
	struct cls_zuse u;
	GByteArray *buf;
	size_t data;
	char *where;
	int rc;

	if (g_str_has_suffix(e->name, "/"))
		return;
	u.rules = cls_member_rules(kind, e->name, &u.custom, &u.labelinfo, &u.embedded);
	if (u.rules == NULL && !u.custom && !u.labelinfo && !u.embedded)
		return;
	u.vs = cls_member_vs(kind, e->name);
	u.odf_styles = kind == CLS_Z_ODF && strcmp(e->name, "styles.xml") == 0;
	if (e->flags & 1) {
		if (!*enc_noted)
			cls_add(res, "encrypted", 1, name, "encrypted ZIP member");
		*enc_noted = true;
		return;
	}
	if (!cls_zip_data(e, d, len, &data))
		return;
	where = g_strdup_printf("%s: %s", name, e->name);
	/* sized once from the directory (bounded by max_text): no regrowing copies while inflating */
	buf = g_byte_array_sized_new((guint)MIN((size_t)e->usize, (size_t)scan->ctx->max_text));
	rc = cls_zip_read(scan, res, where, e, d + data, buf);
	if (rc == 1)
		cls_add(res, "not-inspectable", 1, where, "member truncated at [classify] max_text");
	if (rc >= 0 && !scan->bomb)
		cls_zip_use(scan, where, &u, buf, res);
	g_byte_array_unref(buf);
	g_free(where);
}

void
cls_extract_zip(struct cls_scan *scan, const char *name, const unsigned char *d, size_t len,
	struct classify_result *res)
{
	const struct classify_ctx *ctx = scan->ctx;
	struct cls_zent *ents = NULL;
	size_t nents = 0, i, eocd = 0, cdoff, cdsize, count;
	enum cls_zkind kind = CLS_Z_GENERIC;
	bool enc_noted = false;

	if (!cls_zip_eocd(d, len, &eocd))
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
	nents = cls_zip_directory(d, len, cdoff, cdsize, count, ents, &kind);
	if (cls_zip_overlap(ents, nents, d, len)) {
		cls_bomb(scan, res, name, "overlapping ZIP entries");
		goto out;
	}
	for (i = 0; i < nents && !scan->bomb; i++)
		cls_zip_member(scan, name, kind, &ents[i], d, len, &enc_noted, res);
	goto out;
broken:
	cls_add(res, "not-inspectable", 1, name, "broken ZIP");
out:
	for (i = 0; i < nents; i++)
		g_free(ents[i].name);
	g_free(ents);
}
