/*
 * classify_part.c - one attachment or container member: its true type
 * (libmagic, serialised by ctx->magic_mu), the executable and type-mismatch
 * findings, the nesting limit, and the hand-over of its bytes to the
 * extractor or the detectors its kind calls for.
 * Memory: see classify.h. Thread safety: libmagic calls are serialised by
 * ctx->magic_mu.
 */
#include "classify_int.h"
#include "classify_simd.h"

#include <string.h>

void
cls_bomb(struct cls_scan *scan, struct classify_result *res, const char *where, const char *why)
{
	if (!scan->bomb)
		cls_add(res, "bomb-limit", 1, where, why);
	scan->bomb = true;
}

static const char *const cls_exe_ext[] = {
	"exe", "com", "scr", "bat", "cmd", "pif", "vbs", "vbe", "js", "jse", "wsf", "wsh", "ps1", "msi",
	"dll", "jar", "lnk", "hta", "cpl", "msc", "reg", "sys", NULL,
};

static bool
cls_exe_type(const char *t)
{
	return t != NULL && (strstr(t, "executable") != NULL || strstr(t, "x-dosexec") != NULL ||
		strstr(t, "x-sharedlib") != NULL || strstr(t, "x-mach-binary") != NULL ||
		strstr(t, "x-msdownload") != NULL || strstr(t, "x-msi") != NULL);
}

/* coarse type families for the mismatch finding; NULL = unknown/generic */
static const char *
cls_family(const char *t)
{
	static const struct { const char *prefix, *family; } fam[] = {
		{ "text/", "text" }, { "application/xml", "text" }, { "application/json", "text" },
		{ "application/csv", "text" }, { "application/pdf", "pdf" }, { "application/x-pdf", "pdf" },
		{ "application/zip", "zip" }, { "application/x-zip", "zip" }, { "application/vnd.openxmlformats", "zip" },
		{ "application/vnd.oasis.opendocument", "zip" }, { "application/java-archive", "zip" },
		{ "application/epub", "zip" }, { "application/msword", "ole" }, { "application/vnd.ms-tnef", "tnef" },
		{ "application/ms-tnef", "tnef" }, { "application/vnd.ms-", "ole" },
		{ "application/x-ole-storage", "ole" }, { "application/cdfv2", "ole" }, { "application/CDFV2", "ole" },
		{ "image/", "image" }, { "audio/", "audio" }, { "video/", "video" }, { "message/", "message" },
		{ "application/gzip", "gzip" }, { "application/x-gzip", "gzip" },
		{ "application/x-7z", "7z" }, { "application/x-rar", "rar" }, { "application/vnd.rar", "rar" },
	};
	size_t i;

	if (t == NULL)
		return NULL;
	if (cls_exe_type(t))
		return "executable";
	for (i = 0; i < G_N_ELEMENTS(fam); i++)
		if (g_ascii_strncasecmp(t, fam[i].prefix, strlen(fam[i].prefix)) == 0)
			return fam[i].family;
	return NULL;
}

static const char *
cls_ext_family(const char *name)
{
	static const struct { const char *ext, *family; } ext[] = {
		{ "txt", "text" }, { "csv", "text" }, { "htm", "text" }, { "html", "text" }, { "xml", "text" },
		{ "pdf", "pdf" }, { "zip", "zip" }, { "docx", "zip" }, { "xlsx", "zip" }, { "pptx", "zip" },
		{ "docm", "zip" }, { "xlsm", "zip" }, { "odt", "zip" }, { "ods", "zip" }, { "odp", "zip" },
		{ "doc", "ole" }, { "xls", "ole" }, { "ppt", "ole" }, { "msg", "ole" }, { "jpg", "image" },
		{ "jpeg", "image" }, { "png", "image" }, { "gif", "image" }, { "eml", "message" },
		{ "gz", "gzip" }, { "7z", "7z" }, { "rar", "rar" },
	};
	const char *dot = name != NULL ? strrchr(name, '.') : NULL;
	size_t i;

	if (dot == NULL)
		return NULL;
	for (i = 0; cls_exe_ext[i] != NULL; i++)
		if (g_ascii_strcasecmp(dot + 1, cls_exe_ext[i]) == 0)
			return "executable";
	for (i = 0; i < G_N_ELEMENTS(ext); i++)
		if (g_ascii_strcasecmp(dot + 1, ext[i].ext) == 0)
			return ext[i].family;
	return NULL;
}

/* interned MIME type names (results point at them for the process lifetime) */
const char *
cls_intern(const char *s)
{
	return s != NULL ? g_intern_string(s) : NULL;
}

const char *
cls_magic(const struct classify_ctx *ctx, const unsigned char *data, size_t len)
{
	const char *t;
	const char *out;

	if (len == 0)
		return cls_intern("application/x-empty");
	pthread_mutex_lock((pthread_mutex_t *)&ctx->magic_mu);
	t = magic_buffer(ctx->magic, data, len < CLS_MAGIC_BYTES ? len : CLS_MAGIC_BYTES);
	out = cls_intern(t != NULL ? t : "application/octet-stream");
	pthread_mutex_unlock((pthread_mutex_t *)&ctx->magic_mu);
	return out;
}

bool
cls_utf8_valid(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)data[i];
		size_t cl;

#ifdef CLS_SIMD
		if (i + 16 <= len) {   /* 16 ASCII bytes without NUL at a time, else on to the first other */
			__m128i x = cls_v16(data + i);
			unsigned m = cls_m16_high(x) | cls_m16_eq(x, '\0');

			if (m == 0) {
				i += 16;
				continue;
			}
			i += (size_t)__builtin_ctz(m);
			c = (unsigned char)data[i];
		}
#endif
		if (i + 8 <= len) {   /* 8 ASCII bytes without NUL at a time */
			guint64 w;

			memcpy(&w, data + i, 8);
			if (!((w | ((w - 0x0101010101010101ULL) & ~w)) & 0x8080808080808080ULL)) {
				i += 8;
				continue;
			}
		}
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF && i + 1 < len && ((unsigned char)data[i + 1] & 0xC0) == 0x80) {
			i += 2;   /* U+0080..U+07FF (ü, ß ...): always valid, no call */
			continue;
		}
		/* one sequence: glib's rules (no overlong forms, surrogates or beyond U+10FFFF) */
		cl = (size_t)g_utf8_skip[c];
		if (cl > len - i || !g_utf8_validate(data + i, (gssize)cl, NULL))
			return false;
		i += cl;
	}
	return true;
}

char *
cls_text_utf8(const char *data, size_t len, size_t *out_len)
{
	bool utf8;

	return cls_text_utf8_v(data, len, out_len, &utf8);
}

char *
cls_text_utf8_v(const char *data, size_t len, size_t *out_len, bool *utf8)
{
	char *out;

	*utf8 = false;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (len >= 2 && ((unsigned char)data[0] == 0xFF || (unsigned char)data[0] == 0xFE) &&
	    ((unsigned char)data[1] == 0xFE || (unsigned char)data[1] == 0xFF)) {
		gsize w = 0;

		out = g_convert(data + 2, (gssize)(len - 2), "UTF-8",
			(unsigned char)data[0] == 0xFF ? "UTF-16LE" : "UTF-16BE", NULL, &w, NULL);
		if (out != NULL) {
			*out_len = w;
			return out;
		}
	}
	if (cls_utf8_valid(data, len)) {
		out = g_strndup(data, len);
		*out_len = len;
		*utf8 = true;
		return out;
	}
	{
		gsize w = 0;

		out = g_convert_with_fallback(data, (gssize)len, "UTF-8", "WINDOWS-1252", "?", NULL, &w, NULL);
		if (out == NULL)
			out = g_convert_with_fallback(data, (gssize)len, "UTF-8", "ISO-8859-1", "?", NULL, &w, NULL);
		if (out == NULL) {
			out = g_strdup("");
			w = 0;
		}
		*out_len = w;
	}
	return out;
}

static bool
cls_has_prefix(const unsigned char *d, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(d, p, n) == 0;
}

static bool
cls_is_tnef_type(const char *t)
{
	return t != NULL && (g_ascii_strcasecmp(t, "application/ms-tnef") == 0 ||
		g_ascii_strcasecmp(t, "application/vnd.ms-tnef") == 0);
}

enum cls_kind
cls_kind(const char *t, const char *name, const char *declared_type, const unsigned char *data, size_t len)
{
	const char *fam_true = cls_family(t);

	if (cls_has_prefix(data, len, "PK\x03\x04") || cls_has_prefix(data, len, "PK\x05\x06"))
		return CLS_K_ZIP;
	if (cls_has_prefix(data, len, "\x78\x9f\x3e\x22") ||
	    (t != NULL && strcmp(t, "application/vnd.ms-tnef") == 0) || cls_is_tnef_type(declared_type))
		return CLS_K_TNEF;
	if (cls_has_prefix(data, len, "{\\rtf"))
		return CLS_K_RTF;
	if (cls_has_prefix(data, len, "%PDF") || (t != NULL && strcmp(t, "application/pdf") == 0))
		return CLS_K_PDF;
	if ((t != NULL && strcmp(t, "message/rfc822") == 0) ||
	    (declared_type != NULL && g_ascii_strcasecmp(declared_type, "message/rfc822") == 0) ||
	    (name != NULL && g_str_has_suffix(name, ".eml")))
		return CLS_K_EML;
	if ((t != NULL && (strcmp(t, "text/html") == 0 || strcmp(t, "text/xml") == 0 ||
			   strcmp(t, "image/svg+xml") == 0)) ||
	    (declared_type != NULL && g_ascii_strcasecmp(declared_type, "text/html") == 0))
		return CLS_K_HTML;
	if (fam_true != NULL && strcmp(fam_true, "text") == 0)
		return CLS_K_TEXT;
	if (t != NULL && strcmp(t, "application/x-empty") == 0)
		return CLS_K_EMPTY;
	if (t != NULL && (strncmp(t, "image/", 6) == 0 || strncmp(t, "audio/", 6) == 0 ||
			  strncmp(t, "video/", 6) == 0 || cls_exe_type(t)))
		return CLS_K_MEDIA;
	return CLS_K_OPAQUE;
}

/* the text of a part: valid UTF-8 (after a BOM) is scanned in place, other text as
 * cls_text_utf8 reads it */
static void
cls_part_text(struct cls_scan *scan, const char *where, const char *data, size_t len,
	struct classify_result *res)
{
	size_t lead = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0, n = 0;
	bool utf8;
	char *u;

	if (cls_utf8_valid(data + lead, len - lead)) {
		cls_detect_utf8(scan->ctx, where, data + lead, len - lead, res);
		cls_vs_marking(where, data + lead, len - lead, scan->vs_pos, res);
		return;
	}
	u = cls_text_utf8_v(data, len, &n, &utf8);
	if (utf8)
		cls_detect_utf8(scan->ctx, where, u, n, res);
	else
		cls_detect(scan->ctx, where, u, n, res);
	cls_vs_marking(where, u, n, scan->vs_pos, res);
	g_free(u);
}

/* cls_part - one attachment (or container member) into res */
void
cls_part(struct cls_scan *scan, const char *name, const char *declared_type, const unsigned char *data,
	size_t len, struct classify_result *res)
{
	const struct classify_ctx *ctx = scan->ctx;
	const char *t = scan->part_type != NULL ? scan->part_type : cls_magic(ctx, data, len);
	const char *fam_true = cls_family(t), *fam_decl = cls_family(declared_type), *fam_ext = cls_ext_family(name);
	const char *where = name != NULL ? name : "part";

	if (data == NULL)   /* an empty GByteArray (job, ZIP member) has none: readers want a pointer */
		data = (const unsigned char *)"";
	scan->part_type = NULL;   /* members and nested parts are typed on their own bytes */
	if (res->true_type == NULL)
		res->true_type = t;
	if (cls_exe_type(t) || (fam_ext != NULL && strcmp(fam_ext, "executable") == 0))
		cls_add(res, "executable", 1, where, t);
	if (fam_true != NULL && strcmp(fam_true, "text") != 0) {
		const char *bad = NULL;

		if (fam_decl != NULL && strcmp(fam_decl, fam_true) != 0 &&
		    !(strcmp(fam_decl, "zip") == 0 && strcmp(fam_true, "ole") == 0))
			bad = declared_type;
		else if (fam_ext != NULL && strcmp(fam_ext, fam_true) != 0)
			bad = strrchr(name, '.');
		if (bad != NULL) {
			char *detail = g_strdup_printf("declared %s, is %s", bad, t);

			cls_add(res, "type-mismatch", 1, where, detail);
			g_free(detail);
		}
	}
	if (scan->depth > ctx->max_depth) {
		cls_bomb(scan, res, where, "nesting depth");
		return;
	}
	switch (cls_kind(t, name, declared_type, data, len)) {
	case CLS_K_ZIP:
		cls_extract_zip(scan, where, data, len, res);
		break;
	case CLS_K_TNEF:
		cls_extract_tnef(scan, where, data, len, res);
		break;
	case CLS_K_RTF: {
		GString *text = g_string_new("");

		cls_rtf_text((const char *)data, len, (size_t)ctx->max_text, text);
		cls_detect(ctx, where, text->str, text->len, res);
		cls_vs_marking(where, text->str, text->len, scan->vs_pos, res);
		g_string_free(text, TRUE);
		break;
	}
	case CLS_K_PDF:
		cls_extract_pdf(scan, where, data, len, res);
		break;
	case CLS_K_EML:
		cls_extract_eml(scan, where, data, len, res);
		break;
	case CLS_K_HTML:
		cls_extract_html(scan, where, (const char *)data, len, res);
		break;
	case CLS_K_TEXT:
		cls_part_text(scan, where, (const char *)data, len, res);
		break;
	case CLS_K_EMPTY:
	case CLS_K_MEDIA:
		break; /* nothing to read: type findings only */
	case CLS_K_OPAQUE:
		cls_add(res, "not-inspectable", 1, where, t);
		break;
	}
}
