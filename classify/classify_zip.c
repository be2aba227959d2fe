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
