/*
 * classify_extract.h - internals shared by the extractors of classify/:
 * the bounded inflate, markup text, office parts, PDF objects and fonts.
 * Not for use outside classify/ (the extractors' entry points are in
 * classify_int.h).
 */
#ifndef OFFLOAD_CLASSIFY_EXTRACT_H
#define OFFLOAD_CLASSIFY_EXTRACT_H

#include <string.h>

#include "classify_int.h"

static inline uint16_t
cls_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
cls_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* memmem of a C string; NULL for an empty or absent haystack */
static inline const char *
cls_memmem(const char *h, size_t hl, const char *n)
{
	return h != NULL && hl > 0 ? memmem(h, hl, n, strlen(n)) : NULL;
}

/* classify_inflate.c */
/*
 * cls_inflate - zlib (raw for ZIP) into out, at most max_out bytes kept;
 * 0 ok, 1 truncated at max_out, -1 broken data, -2 limit hit (bomb-limit set)
 */
int cls_inflate(struct cls_scan *scan, struct classify_result *res, const char *where, bool raw,
	const unsigned char *in, size_t inlen, size_t max_out, GByteArray *out);

/* classify_markup.c */
struct cls_xml_rules {
	const char *const *text;  /* elements whose character data is text */
	const char *const *nl;    /* end tag -> newline: paragraph, table row (ends every number) */
	const char *const *cell;  /* end tag -> tab: table cell (only an IBAN continues across it) */
	bool all;                 /* all character data is text */
	bool sheet;               /* <c t="s"><v> is a shared-string index */
};

/* cls_xml_chars - append character data with entities decoded */
void cls_xml_chars(GString *out, const char *p, size_t n);
/* cls_xml_text - text of an XML part by rules; false if a DOCTYPE declares entities */
bool cls_xml_text(const char *x, size_t n, const struct cls_xml_rules *r, size_t max, GString *out);

/* classify_office.c */
enum cls_zkind { CLS_Z_GENERIC, CLS_Z_OOXML, CLS_Z_ODF };

/* cls_member_vs - the VS marking position of a text part (ODF styles.xml: CLS_VS_NONE, see below) */
enum cls_vs_pos cls_member_vs(enum cls_zkind kind, const char *m);
/* classify_vs.c: the header/footer text of the master pages in an ODF styles.xml */
void cls_vs_odf_styles(struct cls_scan *scan, const char *where, const char *xml, size_t n,
	const struct cls_xml_rules *rules, struct classify_result *res);

/* cls_member_rules - the XML rules of a text part of a kind of archive, else NULL and what it is */
const struct cls_xml_rules *cls_member_rules(enum cls_zkind kind, const char *m, bool *custom, bool *labelinfo,
	bool *embedded);
/* docProps/custom.xml: MSIP_Label_* properties */
void cls_custom_props(const struct classify_ctx *ctx, const char *x, size_t n, struct classify_result *res);
/* docMetadata/LabelInfo.xml: enabled label ids */
void cls_label_info(const struct classify_ctx *ctx, const char *x, size_t n, struct classify_result *res);

/* classify_pdf_font.c */
struct cls_cmap {
	int obj;
	int width;   /* code bytes: 1 or 2 */
	GHashTable *map;   /* code -> UTF-8 string */
};

struct cls_enc;   /* a simple font's code -> text table */

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
	GPtrArray *streams;     /* struct cls_pdf_stream * (classify_pdf.c) */
	size_t kept;            /* stream bytes kept, at most [classify] max_text */
};

/* /Encoding of a font object (name or reference) and /Differences of a font or encoding object */
void cls_pdf_encoding(struct cls_pdf *pdf, int obj, const char *dict, size_t n);
/* parse bfchar / bfrange of a ToUnicode CMap */
void cls_cmap_parse(struct cls_pdf *pdf, int obj, const char *s, size_t n);
/* the decoders of font resource "/F1": ToUnicode CMap (wins) and simple-font encoding */
void cls_pdf_font(struct cls_pdf *pdf, const char *font, const struct cls_cmap **cm, const struct cls_enc **enc);
/* a shown string's bytes to UTF-8 */
void cls_pdf_show(GString *out, const struct cls_cmap *cm, const struct cls_enc *enc, const unsigned char *b,
	size_t n);
void cls_cmap_clear(gpointer p);

#endif
