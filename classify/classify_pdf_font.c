/*
 * classify_pdf_font.c - the font side of PDF text: simple-font encodings
 * (WinAnsi, MacRoman, Standard with /Differences decoded by glyph name, an
 * Adobe Glyph List subset), ToUnicode CMaps (bfchar, bfrange), the decoders
 * of a font resource and the shown bytes to UTF-8. ToUnicode keeps priority;
 * the encoding only fills the 1-byte codes a CMap leaves out.
 * Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include <stdlib.h>
#include <string.h>

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
void
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
void
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
void
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
void
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

void
cls_cmap_clear(gpointer p)
{
	struct cls_cmap *cm = p;

	g_hash_table_destroy(cm->map);
}
