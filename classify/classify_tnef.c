/*
 * classify_tnef.c - TNEF (winmail.dat, application/ms-tnef; standards.md §4,
 * MS-OXTNEF) for the classifier: an own bounded parser of the attribute
 * stream instead of libytnef (docs/ARCHITECTURE.md says why); the RTF body
 * is read by classify_rtf.c.
 *
 * Walk: signature, legacy key, then level/attribute/length/data/checksum
 * records, every length checked against the bytes left. Attachments are
 * collected per attAttachRendData group (the name may follow the data) and
 * each one (attAttachData, or a PT_OBJECT PR_ATTACH_DATA_OBJ which then wins
 * over the placeholder text in attAttachData) goes through cls_part() like a
 * zip member, one nesting level
 * deeper, named "winmail.dat > Gehalt.docx": libmagic type, mismatch and
 * executable findings, detectors, nested containers; an embedded message
 * (PR_ATTACH_DATA_OBJ with IID_IMessage) is itself a TNEF stream and
 * recurses through cls_part() under the depth limit. Every attachment counts
 * as an entry and its bytes as inflated bytes of the shared budget.
 * The message body is scanned once, from the richest source present:
 * PR_RTF_COMPRESSED (LZFu, MS-OXRTFCP) > PR_BODY_HTML > PR_BODY > attBody.
 * Truncated or garbled streams (and trailing bytes other than a newline or
 * NUL padding) are a `not-inspectable` finding; whatever was read before is
 * still classified. A stream cut exactly between two attributes cannot be
 * told from a complete one (TNEF has no end marker). Checksums are verified, a mismatch is
 * tolerated (real writers get them wrong on attMsgProps; the data is still
 * inspected in full). Nothing is copied except names and the body text.
 * Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include <string.h>

#define TNEF_SIGNATURE 0x223E9F78u
#define TNEF_LVL_MESSAGE 1
#define TNEF_LVL_ATTACHMENT 2
/* attribute ids: low 16 bits of the attribute tag (the type half is not trusted) */
#define ATT_BODY 0x800C
#define ATT_MSG_PROPS 0x9003
#define ATT_OEM_CODEPAGE 0x9007
#define ATT_ATTACH_REND_DATA 0x9002
#define ATT_ATTACH_TITLE 0x8010
#define ATT_ATTACH_DATA 0x800F
#define ATT_ATTACHMENT 0x9005
/* MAPI property ids and types */
#define PR_BODY 0x1000
#define PR_RTF_COMPRESSED 0x1009
#define PR_BODY_HTML 0x1013
#define PR_DISPLAY_NAME 0x3001
#define PR_ATTACH_DATA 0x3701
#define PR_ATTACH_FILENAME 0x3704
#define PR_ATTACH_LONG_FILENAME 0x3707
#define PR_ATTACH_MIME_TAG 0x370E
#define PT_STRING8 0x001E
#define PT_UNICODE 0x001F
#define PT_BINARY 0x0102
#define PT_OBJECT 0x000D
#define PT_MV 0x1000
#define CLS_TNEF_NAME_MAX 255

/* ---- MAPI property lists (MS-OXTNEF 2.1.3.4) ---- */

typedef void (*cls_mapi_fn)(void *ud, unsigned type, unsigned id, const unsigned char *v, size_t n);

/* width of a fixed-size value, -1 variable (count + length-prefixed, padded), -2 unknown */
static int
cls_mapi_width(unsigned type)
{
	switch (type) {
	case 0x0001: return 0;                                    /* PT_NULL */
	case 0x0002: case 0x0003: case 0x0004: case 0x000A: case 0x000B: return 4;
	case 0x0005: case 0x0006: case 0x0007: case 0x0014: case 0x0040: return 8;
	case 0x0048: return 16;                                   /* PT_CLSID */
	case PT_STRING8: case PT_UNICODE: case PT_BINARY: case PT_OBJECT: return -1;
	default: return -2;
	}
}

/* skip a length-prefixed, 4-byte padded value at *p; false if it runs past n */
static bool
cls_mapi_skip_counted(const unsigned char *d, size_t n, size_t *p)
{
	size_t l;

	if (n - *p < 4)
		return false;
	l = cls_le32(d + *p);
	*p += 4;
	if (l > n - *p)
		return false;
	*p += l;
	*p += MIN((4 - (l & 3)) & 3, n - *p);
	return true;
}

/* skip the name of a named property at *p: GUID, kind, then an id or a counted name */
static bool
cls_mapi_skip_name(const unsigned char *d, size_t n, size_t *p)
{
	uint32_t kind;

	if (n - *p < 20)
		return false;
	kind = cls_le32(d + *p + 16);
	*p += 20;
	if (kind != 0)
		return cls_mapi_skip_counted(d, n, p);
	if (n - *p < 4)
		return false;
	*p += 4;
	return true;
}

/* the values of one multi-valued or variable-size property at *p (fixed width w >= 0, or -1) */
static bool
cls_mapi_values(const unsigned char *d, size_t n, size_t *p, unsigned type, unsigned id, int w, cls_mapi_fn fn,
	void *ud)
{
	size_t nv, k;

	if (n - *p < 4)
		return false;
	nv = cls_le32(d + *p);
	*p += 4;
	if (nv > n - *p)   /* every value takes at least one byte (four for variable ones) */
		return false;
	for (k = 0; k < nv; k++) {
		size_t l;

		if (w >= 0) {
			if ((size_t)w > n - *p)
				return false;
			*p += (size_t)w;
			continue;
		}
		if (n - *p < 4)
			return false;
		l = cls_le32(d + *p);
		*p += 4;
		if (l > n - *p)
			return false;
		if (id < 0x8000)
			fn(ud, type, id, d + *p, l);
		*p += l;
		*p += MIN((4 - (l & 3)) & 3, n - *p);
	}
	return true;
}

/* cls_mapi_walk - every value of a property list; false if it ends early or is malformed */
static bool
cls_mapi_walk(const unsigned char *d, size_t n, cls_mapi_fn fn, void *ud)
{
	size_t p = 4, count, i;

	if (n < 4)
		return false;
	count = cls_le32(d);
	if (count > (n - 4) / 4)
		return false;
	for (i = 0; i < count; i++) {
		unsigned type, id, base;
		int w;

		if (n - p < 4)
			return false;
		type = cls_le16(d + p);
		id = cls_le16(d + p + 2);
		p += 4;
		if (id >= 0x8000 && !cls_mapi_skip_name(d, n, &p))
			return false;
		base = type & ~(unsigned)PT_MV;
		w = cls_mapi_width(base);
		if (w == -2)
			return false;
		if (w >= 0 && !(type & PT_MV)) {
			if ((size_t)w > n - p)
				return false;
			p += (size_t)w;
			continue;
		}
		if (!cls_mapi_values(d, n, &p, base, id, w, fn, ud))
			return false;
	}
	return true;
}

/* a PT_STRING8 (code page cp) or PT_UNICODE value as UTF-8, at most max bytes of input */
static char *
cls_tnef_string(unsigned type, const unsigned char *v, size_t n, unsigned cp)
{
	char *out = NULL;

	if (type == PT_UNICODE) {
		size_t k;

		for (k = 0; k + 1 < n; k += 2)
			if (v[k] == 0 && v[k + 1] == 0)
				break;
		out = g_convert((const char *)v, (gssize)k, "UTF-8", "UTF-16LE", NULL, NULL, NULL);
	} else {
		size_t k = strnlen((const char *)v, n);

		if (cp >= 1250 && cp <= 1258 && cp != 1252 && !g_utf8_validate((const char *)v, (gssize)k, NULL)) {
			char cs[16];

			g_snprintf(cs, sizeof cs, "WINDOWS-%u", cp);
			out = g_convert_with_fallback((const char *)v, (gssize)k, "UTF-8", cs, "?", NULL, NULL, NULL);
		}
		if (out == NULL) {
			size_t ol = 0;

			out = cls_text_utf8((const char *)v, k, &ol);
		}
	}
	return out != NULL ? out : g_strdup("");
}

/* ---- the attribute stream ---- */

struct cls_tnef_att {
	bool present;
	const unsigned char *data, *obj;   /* attAttachData; PR_ATTACH_DATA_OBJ/BIN */
	size_t len, objlen;
	bool object;                        /* obj is PT_OBJECT (16-byte IID first) */
	char *title, *longname, *display, *mime;
};

struct cls_tnef {
	struct cls_scan *scan;
	struct classify_result *res;
	const char *name;
	unsigned cp;
	unsigned index;
	struct cls_tnef_att att;
	/* message body sources */
	const unsigned char *rtf, *html, *plain, *attbody;
	size_t rtflen, htmllen, plainlen, attbodylen;
	unsigned htmltype, plaintype;
	/* the walk */
	unsigned attrs, badsum;   /* attributes read, checksum mismatches */
	const char *broken;       /* why the stream is not-inspectable, or NULL */
};

static void
cls_tnef_setname(char **dst, unsigned type, const unsigned char *v, size_t n, unsigned cp)
{
	char *s, *p;

	if (*dst != NULL)
		return;
	s = cls_tnef_string(type, v, MIN(n, (size_t)4 * CLS_TNEF_NAME_MAX), cp);
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7F)
			*p = '_';
	g_strstrip(s);
	if (*s == '\0' || g_utf8_strlen(s, -1) > CLS_TNEF_NAME_MAX) {
		if (*s != '\0')
			*g_utf8_offset_to_pointer(s, CLS_TNEF_NAME_MAX) = '\0';
		else {
			g_free(s);
			return;
		}
	}
	*dst = s;
}

static void
cls_tnef_att_prop(void *ud, unsigned type, unsigned id, const unsigned char *v, size_t n)
{
	struct cls_tnef *t = ud;
	bool str = type == PT_STRING8 || type == PT_UNICODE;

	if (id == PR_ATTACH_LONG_FILENAME && str)
		cls_tnef_setname(&t->att.longname, type, v, n, t->cp);
	else if (id == PR_DISPLAY_NAME && str)
		cls_tnef_setname(&t->att.display, type, v, n, t->cp);
	else if (id == PR_ATTACH_FILENAME && str)
		cls_tnef_setname(&t->att.title, type, v, n, t->cp);
	else if (id == PR_ATTACH_MIME_TAG && str)
		cls_tnef_setname(&t->att.mime, type, v, n, t->cp);
	else if (id == PR_ATTACH_DATA && (type == PT_BINARY || type == PT_OBJECT) && t->att.obj == NULL) {
		t->att.obj = v;
		t->att.objlen = n;
		t->att.object = type == PT_OBJECT;
	}
}

static void
cls_tnef_msg_prop(void *ud, unsigned type, unsigned id, const unsigned char *v, size_t n)
{
	struct cls_tnef *t = ud;

	if (id == PR_RTF_COMPRESSED && type == PT_BINARY && t->rtf == NULL) {
		t->rtf = v;
		t->rtflen = n;
	} else if (id == PR_BODY_HTML && (type == PT_BINARY || type == PT_STRING8 || type == PT_UNICODE) &&
		   t->html == NULL) {
		t->html = v;
		t->htmllen = n;
		t->htmltype = type;
	} else if (id == PR_BODY && (type == PT_STRING8 || type == PT_UNICODE) && t->plain == NULL) {
		t->plain = v;
		t->plainlen = n;
		t->plaintype = type;
	}
}

static void
cls_tnef_att_clear(struct cls_tnef_att *a)
{
	g_free(a->title);
	g_free(a->longname);
	g_free(a->display);
	g_free(a->mime);
	memset(a, 0, sizeof *a);
}

/* one attachment (collected over its attribute group) into cls_part */
static void
cls_tnef_flush(struct cls_tnef *t)
{
	struct cls_tnef_att *a = &t->att;
	struct cls_scan *scan = t->scan;
	const struct classify_ctx *ctx = scan->ctx;
	const unsigned char *data = a->data;
	size_t len = a->len;
	char *where, *fallback = NULL;
	const char *nm;

	if (!a->present || scan->bomb)
		goto out;
	/* a PT_OBJECT PR_ATTACH_DATA_OBJ (embedded message, OLE object) is the content; attAttachData
	 * then only holds "This attachment is a MAPI 1.0 embedded object" */
	if (a->obj != NULL && (a->object || len == 0)) {
		data = a->obj;
		len = a->objlen;
		if (a->object) {   /* interface IID first (IID_IMessage, IID_IStorage ...) */
			size_t skip = MIN(len, (size_t)16);

			data += skip;
			len -= skip;
		}
	}
	t->index++;
	if (len == 0)
		goto out;   /* nothing attached (e.g. a link or a deleted file) */
	scan->entries++;
	if (scan->entries > ctx->max_entries) {
		cls_bomb(scan, t->res, t->name, "entries over [classify] max_entries");
		goto out;
	}
	scan->inflated += len;
	if (scan->inflated > ctx->max_inflated) {
		cls_bomb(scan, t->res, t->name, "total bytes over [classify] max_inflated");
		goto out;
	}
	nm = a->longname != NULL ? a->longname : a->title != NULL ? a->title : a->display;
	if (nm == NULL)
		nm = fallback = g_strdup_printf("attachment %u", t->index);
	where = g_strdup_printf("%s > %s", t->name, nm);
	scan->depth++;
	cls_part(scan, where, a->mime, data, len, t->res);
	scan->depth--;
	g_free(where);
	g_free(fallback);
out:
	cls_tnef_att_clear(a);
}

/* the message body, once, from the richest source */
static void
cls_tnef_body(struct cls_tnef *t)
{
	const struct classify_ctx *ctx = t->scan->ctx;
	char *where = g_strdup_printf("%s > message body", t->name);
	GString *text = g_string_new("");

	if (t->rtf != NULL) {
		GByteArray *raw = g_byte_array_new();

		if (cls_lzfu(t->rtf, t->rtflen, (size_t)ctx->max_text, raw)) {
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
	if (text->len == 0 && t->html != NULL && !t->scan->bomb) {
		char *h = t->htmltype == PT_UNICODE ? cls_tnef_string(PT_UNICODE, t->html, t->htmllen, t->cp) :
			g_strndup((const char *)t->html, t->htmllen);

		enum cls_vs_pos pos = t->scan->vs_pos;

		t->scan->vs_pos = CLS_VS_EDGES;   /* the message body */
		cls_extract_html(t->scan, where, h, strlen(h), t->res);
		t->scan->vs_pos = pos;
		g_free(h);
		goto out;
	}
	if (text->len == 0 && (t->plain != NULL || t->attbody != NULL)) {
		char *s = t->plain != NULL ? cls_tnef_string(t->plaintype, t->plain, t->plainlen, t->cp) :
			cls_tnef_string(PT_STRING8, t->attbody, t->attbodylen, t->cp);

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

/*
 * cls_tnef_record - the attribute record at d[p]: level, id, data; false at the end of the
 * stream (trailing newline or NUL padding ignored, other bytes break it) or when it is broken
 */
static bool
cls_tnef_record(struct cls_tnef *t, const unsigned char *d, size_t len, size_t p, unsigned *lvl, unsigned *id,
	size_t *alen)
{
	size_t avail;
	const unsigned char *v;

	if (len - p < 9) {
		size_t k;

		for (k = p; k < len && (d[k] == 0 || g_ascii_isspace(d[k])); k++)
			;
		if (k < len)
			t->broken = "TNEF truncated or trailing bytes";
		return false;   /* a trailing newline or NUL padding (seen from real writers): ignored */
	}
	*lvl = d[p];
	*id = cls_le32(d + p + 1) & 0xFFFF;
	*alen = cls_le32(d + p + 5);
	if (*lvl != TNEF_LVL_MESSAGE && *lvl != TNEF_LVL_ATTACHMENT) {
		t->broken = "broken TNEF: bad attribute level";
		return false;
	}
	v = d + p + 9;
	avail = len - p - 9;
	if (*alen > avail) {
		t->broken = "TNEF truncated";
		*alen = avail;   /* what is there is still classified */
	} else if (avail - *alen < 2) {
		t->broken = "TNEF truncated";
	} else {
		unsigned sum = 0;
		size_t k;

		for (k = 0; k < *alen; k++)
			sum += v[k];
		if ((sum & 0xFFFF) != cls_le16(v + *alen))
			t->badsum++;   /* tolerated, see above; told when the stream is broken */
	}
	t->attrs++;
	return true;
}

/* cls_tnef_attr - what one attribute adds: an attachment's parts, the code page, body sources */
static void
cls_tnef_attr(struct cls_tnef *t, unsigned lvl, unsigned id, const unsigned char *v, size_t alen)
{
	if (lvl == TNEF_LVL_ATTACHMENT && id == ATT_ATTACH_REND_DATA) {
		cls_tnef_flush(t);
		t->att.present = true;
	} else if (lvl == TNEF_LVL_ATTACHMENT) {
		t->att.present = true;   /* tolerate a group without attAttachRendData */
		if (id == ATT_ATTACH_TITLE)
			cls_tnef_setname(&t->att.title, PT_STRING8, v, alen, t->cp);
		else if (id == ATT_ATTACH_DATA && t->att.data == NULL) {
			t->att.data = v;
			t->att.len = alen;
		} else if (id == ATT_ATTACHMENT) {
			if (!cls_mapi_walk(v, alen, cls_tnef_att_prop, t) && t->broken == NULL)
				t->broken = "broken TNEF attachment properties";
		}
	} else if (id == ATT_OEM_CODEPAGE && alen >= 4) {
		t->cp = cls_le32(v);
	} else if (id == ATT_BODY && t->attbody == NULL) {
		t->attbody = v;
		t->attbodylen = alen;
	} else if (id == ATT_MSG_PROPS) {
		if (!cls_mapi_walk(v, alen, cls_tnef_msg_prop, t) && t->broken == NULL)
			t->broken = "broken TNEF message properties";
	}
}

void
cls_extract_tnef(struct cls_scan *scan, const char *name, const unsigned char *d, size_t len,
	struct classify_result *res)
{
	struct cls_tnef t;
	size_t p = 6;

	memset(&t, 0, sizeof t);
	t.scan = scan;
	t.res = res;
	t.name = name != NULL ? name : "winmail.dat";
	t.cp = 1252;
	if (len < 6 || cls_le32(d) != TNEF_SIGNATURE) {
		cls_add(res, "not-inspectable", 1, t.name, "declared TNEF, no TNEF signature");
		return;
	}
	while (p < len && !scan->bomb) {
		unsigned lvl, id;
		size_t alen;

		if (!cls_tnef_record(&t, d, len, p, &lvl, &id, &alen))
			break;
		cls_tnef_attr(&t, lvl, id, d + p + 9, alen);
		if (t.broken != NULL && strcmp(t.broken, "TNEF truncated") == 0)
			break;
		p += 9 + alen + 2;
	}
	if (t.attrs == 0 && t.broken == NULL)
		t.broken = "broken TNEF: no attribute";
	cls_tnef_flush(&t);
	cls_tnef_att_clear(&t.att);
	if (!scan->bomb)
		cls_tnef_body(&t);
	if (t.broken != NULL) {
		char *detail = g_strdup_printf("%s (attribute %u, offset %zu, %u checksum errors)", t.broken, t.attrs, p,
			t.badsum);

		cls_add(res, "not-inspectable", 1, t.name, detail);
		g_free(detail);
	}
}
