/*
 * classify_tnef_walk.c - the TNEF attribute stream (MS-OXTNEF) walked for classify_tnef.c and
 * pipeline/tnef_convert.c (see classify_tnef.h): an own bounded parser instead of libytnef
 * (docs/ARCHITECTURE.md says why).
 *
 * Walk: signature, legacy key, then level/attribute/length/data/checksum records, every length
 * checked against the bytes left. Attachments are collected per attAttachRendData group (the
 * name may follow the data); each one (attAttachData, or a PT_OBJECT PR_ATTACH_DATA_OBJ which
 * then wins over the placeholder text in attAttachData) goes to the caller's function. The
 * message's body sources, subject, sender and date are kept. Truncated or garbled streams (and
 * trailing bytes other than a newline or NUL padding) set info->broken; a stream cut exactly
 * between two attributes cannot be told from a complete one (TNEF has no end marker). Checksums
 * are verified, a mismatch is counted and tolerated (real writers get them wrong on
 * attMsgProps). Nothing is copied except names, the header strings and the body text.
 */
#include "classify_extract.h"
#include "classify_tnef.h"

#include <string.h>

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
#define ATT_SUBJECT 0x8004
#define ATT_DATE_SENT 0x8005
/* MAPI property ids and types */
#define PR_BODY 0x1000
#define PR_SUBJECT 0x0037
#define PR_CLIENT_SUBMIT_TIME 0x0039
#define PR_SENDER_NAME 0x0C1A
#define PR_SENDER_EMAIL_ADDRESS 0x0C1F
#define PT_SYSTIME 0x0040
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
			if (id < 0x8000)
				fn(ud, base, id, d + p, (size_t)w);
			p += (size_t)w;
			continue;
		}
		if (!cls_mapi_values(d, n, &p, base, id, w, fn, ud))
			return false;
	}
	return true;
}

/* cls_tnef_string - see classify_tnef.h */
char *
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

static const unsigned char cls_iid_imessage[16] = {
	0x07, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46
};

struct cls_tnef_att {
	bool present;
	const unsigned char *data, *obj;   /* attAttachData; PR_ATTACH_DATA_OBJ/BIN */
	size_t len, objlen;
	bool object;                        /* obj is PT_OBJECT (16-byte IID first) */
	char *title, *longname, *display, *mime;
};

struct cls_tnef {
	cls_tnef_file_fn fn;
	void *ud;
	bool stop;                 /* fn said stop */
	unsigned index;
	struct cls_tnef_att att;
	struct cls_tnef_info *info;
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
	unsigned cp = t->info->cp;

	if (id == PR_ATTACH_LONG_FILENAME && str)
		cls_tnef_setname(&t->att.longname, type, v, n, cp);
	else if (id == PR_DISPLAY_NAME && str)
		cls_tnef_setname(&t->att.display, type, v, n, cp);
	else if (id == PR_ATTACH_FILENAME && str)
		cls_tnef_setname(&t->att.title, type, v, n, cp);
	else if (id == PR_ATTACH_MIME_TAG && str)
		cls_tnef_setname(&t->att.mime, type, v, n, cp);
	else if (id == PR_ATTACH_DATA && (type == PT_BINARY || type == PT_OBJECT) && t->att.obj == NULL) {
		t->att.obj = v;
		t->att.objlen = n;
		t->att.object = type == PT_OBJECT;
	}
}

/* a FILETIME (100 ns since 1601) as Unix seconds */
static int64_t
cls_filetime(const unsigned char *v)
{
	uint64_t ft = (uint64_t)cls_le32(v) | ((uint64_t)cls_le32(v + 4) << 32);

	return (int64_t)(ft / 10000000u) - INT64_C(11644473600);
}

static void
cls_tnef_msg_prop(void *ud, unsigned type, unsigned id, const unsigned char *v, size_t n)
{
	struct cls_tnef_info *in = ((struct cls_tnef *)ud)->info;
	bool str = type == PT_STRING8 || type == PT_UNICODE;

	if (id == PR_RTF_COMPRESSED && type == PT_BINARY && in->rtf == NULL) {
		in->rtf = v;
		in->rtflen = n;
	} else if (id == PR_BODY_HTML && (type == PT_BINARY || str) && in->html == NULL) {
		in->html = v;
		in->htmllen = n;
		in->htmltype = type;
	} else if (id == PR_BODY && str && in->plain == NULL) {
		in->plain = v;
		in->plainlen = n;
		in->plaintype = type;
	} else if (id == PR_SUBJECT && str && in->subject == NULL) {
		in->subject = cls_tnef_string(type, v, MIN(n, (size_t)4096), in->cp);
	} else if (id == PR_SENDER_NAME && str && in->sender_name == NULL) {
		in->sender_name = cls_tnef_string(type, v, MIN(n, (size_t)1024), in->cp);
	} else if (id == PR_SENDER_EMAIL_ADDRESS && str && in->sender_addr == NULL) {
		in->sender_addr = cls_tnef_string(type, v, MIN(n, (size_t)1024), in->cp);
	} else if (id == PR_CLIENT_SUBMIT_TIME && type == PT_SYSTIME && n == 8 && in->date == 0) {
		in->date = cls_filetime(v);
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

/* one attachment (collected over its attribute group) to the caller */
static void
cls_tnef_flush(struct cls_tnef *t)
{
	struct cls_tnef_att *a = &t->att;
	struct cls_tnef_file f = { 0 };

	if (!a->present || t->stop)
		goto out;
	f.data = a->data;
	f.len = a->len;
	/* a PT_OBJECT PR_ATTACH_DATA_OBJ (embedded message, OLE object) is the content; attAttachData
	 * then only holds "This attachment is a MAPI 1.0 embedded object" */
	if (a->obj != NULL && (a->object || f.len == 0)) {
		f.data = a->obj;
		f.len = a->objlen;
		if (a->object) {   /* interface IID first (IID_IMessage, IID_IStorage ...) */
			size_t skip = MIN(f.len, (size_t)16);

			f.message = skip == 16 && memcmp(f.data, cls_iid_imessage, 16) == 0;
			f.data += skip;
			f.len -= skip;
		}
	}
	f.index = ++t->index;
	f.name = a->longname != NULL ? a->longname : a->title != NULL ? a->title : a->display;
	f.mime = a->mime;
	if (!t->fn(t->ud, &f))
		t->stop = true;
out:
	cls_tnef_att_clear(a);
}

/*
 * cls_tnef_record - the attribute record at d[p]: level, id, data; false at the end of the
 * stream (trailing newline or NUL padding ignored, other bytes break it) or when it is broken
 */
static bool
cls_tnef_record(struct cls_tnef_info *in, const unsigned char *d, size_t len, size_t p, unsigned *lvl,
	unsigned *id, size_t *alen)
{
	size_t avail;
	const unsigned char *v;

	if (len - p < 9) {
		size_t k;

		for (k = p; k < len && (d[k] == 0 || g_ascii_isspace(d[k])); k++)
			;
		if (k < len)
			in->broken = "TNEF truncated or trailing bytes";
		return false;   /* a trailing newline or NUL padding (seen from real writers): ignored */
	}
	*lvl = d[p];
	*id = cls_le32(d + p + 1) & 0xFFFF;
	*alen = cls_le32(d + p + 5);
	if (*lvl != TNEF_LVL_MESSAGE && *lvl != TNEF_LVL_ATTACHMENT) {
		in->broken = "broken TNEF: bad attribute level";
		return false;
	}
	v = d + p + 9;
	avail = len - p - 9;
	if (*alen > avail) {
		in->broken = "TNEF truncated";
		*alen = avail;   /* what is there is still read */
	} else if (avail - *alen < 2) {
		in->broken = "TNEF truncated";
	} else {
		unsigned sum = 0;
		size_t k;

		for (k = 0; k < *alen; k++)
			sum += v[k];
		if ((sum & 0xFFFF) != cls_le16(v + *alen))
			in->badsum++;   /* tolerated, see above; told when the stream is broken */
	}
	in->attrs++;
	return true;
}

/* attDateSent: year, month, day, hour, minute, second, weekday as 16-bit values (UTC) */
static int64_t
cls_tnef_attdate(const unsigned char *v, size_t n)
{
	GDateTime *dt;
	int64_t s = 0;

	if (n < 12)
		return 0;
	dt = g_date_time_new_utc(cls_le16(v), cls_le16(v + 2), cls_le16(v + 4), cls_le16(v + 6), cls_le16(v + 8),
		cls_le16(v + 10));
	if (dt != NULL) {
		s = g_date_time_to_unix(dt);
		g_date_time_unref(dt);
	}
	return s;
}

/* cls_tnef_msgattr - a message-level attribute: code page, body sources, header facts */
static void
cls_tnef_msgattr(struct cls_tnef *t, unsigned id, const unsigned char *v, size_t alen)
{
	struct cls_tnef_info *in = t->info;

	if (id == ATT_OEM_CODEPAGE && alen >= 4) {
		in->cp = cls_le32(v);
	} else if (id == ATT_BODY && in->attbody == NULL) {
		in->attbody = v;
		in->attbodylen = alen;
	} else if (id == ATT_MSG_PROPS) {
		if (!cls_mapi_walk(v, alen, cls_tnef_msg_prop, t) && in->broken == NULL)
			in->broken = "broken TNEF message properties";
	} else if (id == ATT_SUBJECT && in->subject == NULL) {
		in->subject = cls_tnef_string(PT_STRING8, v, MIN(alen, (size_t)4096), in->cp);
	} else if (id == ATT_DATE_SENT && in->date == 0) {
		in->date = cls_tnef_attdate(v, alen);
	}
}

/* cls_tnef_attr - what one attribute adds: an attachment's parts or a message fact */
static void
cls_tnef_attr(struct cls_tnef *t, unsigned lvl, unsigned id, const unsigned char *v, size_t alen)
{
	if (lvl == TNEF_LVL_ATTACHMENT && id == ATT_ATTACH_REND_DATA) {
		cls_tnef_flush(t);
		t->att.present = true;
	} else if (lvl == TNEF_LVL_ATTACHMENT) {
		t->att.present = true;   /* tolerate a group without attAttachRendData */
		if (id == ATT_ATTACH_TITLE)
			cls_tnef_setname(&t->att.title, PT_STRING8, v, alen, t->info->cp);
		else if (id == ATT_ATTACH_DATA && t->att.data == NULL) {
			t->att.data = v;
			t->att.len = alen;
		} else if (id == ATT_ATTACHMENT) {
			if (!cls_mapi_walk(v, alen, cls_tnef_att_prop, t) && t->info->broken == NULL)
				t->info->broken = "broken TNEF attachment properties";
		}
	} else {
		cls_tnef_msgattr(t, id, v, alen);
	}
}

bool
cls_tnef_walk(const unsigned char *d, size_t len, cls_tnef_file_fn fn, void *ud, struct cls_tnef_info *info)
{
	struct cls_tnef t;
	size_t p = 6;

	memset(info, 0, sizeof *info);
	memset(&t, 0, sizeof t);
	t.fn = fn;
	t.ud = ud;
	t.info = info;
	info->cp = 1252;
	if (len < 6 || cls_le32(d) != CLS_TNEF_SIGNATURE)
		return false;
	while (p < len && !t.stop) {
		unsigned lvl, id;
		size_t alen;

		if (!cls_tnef_record(info, d, len, p, &lvl, &id, &alen))
			break;
		cls_tnef_attr(&t, lvl, id, d + p + 9, alen);
		if (info->broken != NULL && strcmp(info->broken, "TNEF truncated") == 0)
			break;
		p += 9 + alen + 2;
	}
	info->offset = p;
	if (info->attrs == 0 && info->broken == NULL)
		info->broken = "broken TNEF: no attribute";
	cls_tnef_flush(&t);
	cls_tnef_att_clear(&t.att);
	return true;
}

void
cls_tnef_info_clear(struct cls_tnef_info *info)
{
	g_free(info->subject);
	g_free(info->sender_name);
	g_free(info->sender_addr);
	memset(info, 0, sizeof *info);
}

/* the HTML body's bytes and their character set */
static GString *
cls_tnef_html(const struct cls_tnef_info *in, size_t max, const char **charset)
{
	GString *out;

	if (in->htmltype == PT_UNICODE) {
		char *s = cls_tnef_string(PT_UNICODE, in->html, in->htmllen, in->cp);

		out = g_string_new_len(s, (gssize)MIN(strlen(s), max));
		g_free(s);
		*charset = "utf-8";
		return out;
	}
	out = g_string_new_len((const char *)in->html, (gssize)strnlen((const char *)in->html, MIN(in->htmllen, max)));
	if (g_utf8_validate(out->str, (gssize)out->len, NULL))
		*charset = "utf-8";
	else if (in->cp >= 1250 && in->cp <= 1258) {
		static const char *const cs[] = { "windows-1250", "windows-1251", "windows-1252", "windows-1253",
			"windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258" };

		*charset = cs[in->cp - 1250];
	} else
		*charset = "windows-1252";
	return out;
}

GString *
cls_tnef_body_text(const struct cls_tnef_info *in, size_t max, bool *html, const char **charset)
{
	GString *out = NULL;

	*html = false;
	*charset = "utf-8";
	if (in->html != NULL && in->htmllen > 0) {
		*html = true;
		return cls_tnef_html(in, max, charset);
	}
	if (in->plain != NULL || in->attbody != NULL) {
		char *s = in->plain != NULL ? cls_tnef_string(in->plaintype, in->plain, MIN(in->plainlen, max), in->cp) :
			cls_tnef_string(PT_STRING8, in->attbody, MIN(in->attbodylen, max), in->cp);

		out = g_string_new(s);
		g_free(s);
	} else if (in->rtf != NULL) {
		GByteArray *raw = g_byte_array_new();

		out = g_string_new("");
		if (cls_lzfu(in->rtf, in->rtflen, max, raw))
			cls_rtf_text((const char *)raw->data, raw->len, max, out);
		g_byte_array_unref(raw);
	}
	if (out != NULL && out->len == 0) {
		g_string_free(out, TRUE);
		out = NULL;
	}
	return out;
}

/* rtf_fromtext - the RTF's first 4 KiB (its header) name \fromtext: Outlook's wrapper around a
 * plain-text body */
static bool
rtf_fromtext(const GByteArray *rtf)
{
	size_t n = MIN(rtf->len, (size_t)4096);
	const char *p = (const char *)rtf->data, *hit;

	hit = g_strstr_len(p, (gssize)n, "\\fromtext");
	return hit != NULL && (hit + 9 >= p + n || !g_ascii_isalpha(hit[9]));
}

GByteArray *
cls_tnef_rtf(const struct cls_tnef_info *in, size_t max)
{
	GByteArray *raw;

	/* whole or not at all: its declared size within max */
	if (in->rtf == NULL || in->rtflen < 16 || (in->html != NULL && in->htmllen > 0) ||
	    cls_le32(in->rtf + 4) > max)
		return NULL;
	raw = g_byte_array_new();
	if (!cls_lzfu(in->rtf, in->rtflen, max, raw) || raw->len < 6 ||
	    memcmp(raw->data, "{\\rtf", 5) != 0 || rtf_fromtext(raw)) {
		g_byte_array_unref(raw);
		return NULL;
	}
	return raw;
}

const char *
cls_tnef_type(const struct classify_ctx *ctx, const unsigned char *data, size_t len)
{
	const char *t = cls_magic(ctx, data, len);

	return t != NULL ? t : "application/octet-stream";
}
