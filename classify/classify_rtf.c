/*
 * classify_rtf.c - RTF for the classifier: compressed RTF (LZFu/MELA,
 * MS-OXRTFCP) as found in TNEF bodies, and the visible text of an RTF
 * document (control words, groups, ignorable destinations skipped, \'xx as
 * windows-1252, \uN with \ucN fallback skipping). Output bounded by max.
 * Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include <string.h>

/* windows-1252 bytes 0x80..0x9F (0 = unassigned); the rest is Latin-1 */
static const uint16_t cls_cp1252_hi[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

gunichar
cls_cp1252(unsigned char b)
{
	if (b >= 0x80 && b < 0xA0)
		return cls_cp1252_hi[b - 0x80];
	return b;
}

/* ---- compressed RTF (MS-OXRTFCP) ---- */

static const char cls_rtf_prebuf[] =
	"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
	"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
	"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
G_STATIC_ASSERT(sizeof cls_rtf_prebuf - 1 == 207);

/* cls_lzfu - decompress into out (at most max bytes); false if not compressed RTF */
bool
cls_lzfu(const unsigned char *in, size_t n, size_t max, GByteArray *out)
{
	unsigned char dict[4096];
	size_t wp = sizeof cls_rtf_prebuf - 1, p = 16, end;
	uint32_t csize, rsize, type;

	if (n < 16)
		return false;
	csize = cls_le32(in);
	rsize = cls_le32(in + 4);
	type = cls_le32(in + 8);
	if (csize < 12)
		return false;
	end = MIN(n, (size_t)csize + 4);
	max = MIN(max, (size_t)rsize);
	if (type == 0x414C454Du) {   /* "MELA": stored */
		g_byte_array_append(out, in + 16, (guint)MIN(end - 16, max));
		return true;
	}
	if (type != 0x75465A4Cu)     /* "LZFu" */
		return false;
	memcpy(dict, cls_rtf_prebuf, wp);
	memset(dict + wp, 0, sizeof dict - wp);
	while (p < end && out->len < max) {
		unsigned ctl = in[p++], bit;

		for (bit = 0; bit < 8 && p < end && out->len < max; bit++) {
			if (!(ctl & (1u << bit))) {
				dict[wp] = in[p++];
				g_byte_array_append(out, &dict[wp], 1);
				wp = (wp + 1) & 4095;
			} else {
				unsigned v, off, l, k;

				if (end - p < 2)
					return true;
				v = (unsigned)(in[p] << 8 | in[p + 1]);
				p += 2;
				off = v >> 4;
				l = (v & 15) + 2;
				if (off == wp)
					return true;   /* end marker */
				for (k = 0; k < l && out->len < max; k++) {
					dict[wp] = dict[(off + k) & 4095];
					g_byte_array_append(out, &dict[wp], 1);
					wp = (wp + 1) & 4095;
				}
			}
		}
	}
	return true;
}

/* ---- RTF to text ---- */

static const char *const cls_rtf_skip[] = {
	"fonttbl", "colortbl", "stylesheet", "info", "pict", "objdata", "themedata", "colorschememapping",
	"datastore", "latentstyles", "listtable", "listoverridetable", "rsidtbl", "generator", "xmlnstbl",
	"filetbl", "revtbl", "pgdsctbl", "mmathPr", "fldinst", NULL,
};

static void
cls_rtf_char(GString *out, gunichar c)
{
	if (c == 0)
		return;
	if (c < 0x20 && c != '\t' && c != '\n')
		c = ' ';
	if (g_unichar_validate(c))
		g_string_append_unichar(out, c);
}

/* the reading state of one RTF document */
struct cls_rtf_group {
	bool skip;   /* inside an ignorable destination */
	int uc;      /* \ucN: fallback characters after \u */
};

struct cls_rtf {
	GString *out;
	struct cls_rtf_group st[64], cur;
	int sp, deep;       /* groups saved; groups deeper than st */
	int ucskip;         /* fallback characters still to skip */
	bool group_start;   /* right after '{': a destination word may follow */
};

/* a control word \word[-]N at s[*i] (after the backslash): name and parameter, *i moved past */
static void
cls_rtf_word_read(const char *s, size_t *i, size_t n, char *word, size_t wsize, long *param, bool *has)
{
	size_t k = 0;
	bool neg = false;

	*param = 0;
	*has = false;
	while (*i < n && g_ascii_isalpha(s[*i])) {
		if (k < wsize - 1)
			word[k++] = s[*i];
		(*i)++;
	}
	word[k] = '\0';
	if (*i < n && s[*i] == '-') {
		neg = true;
		(*i)++;
	}
	for (k = 0; *i < n && g_ascii_isdigit(s[*i]); (*i)++, k++)
		if (k < 10) {
			*param = *param * 10 + (s[*i] - '0');
			*has = true;
		}
	if (neg)
		*param = -*param;
	if (*i < n && s[*i] == ' ')
		(*i)++;
}

/* what a control word does; \binN skips N bytes of s at *i */
static void
cls_rtf_word(struct cls_rtf *rs, const char *word, long param, bool has, size_t *i, size_t n)
{
	GString *out = rs->out;

	if (strcmp(word, "bin") == 0 && has && param > 0) {
		*i += MIN((size_t)param, n - *i);
	} else if (rs->group_start && g_strv_contains(cls_rtf_skip, word)) {
		rs->cur.skip = true;
	} else if (strcmp(word, "uc") == 0 && has) {
		rs->cur.uc = (int)CLAMP(param, 0, 8);
	} else if (rs->cur.skip) {
		/* inside an ignored destination */
	} else if (strcmp(word, "u") == 0 && has) {
		cls_rtf_char(out, (gunichar)(param < 0 ? param + 65536 : param));
		rs->ucskip = rs->cur.uc;
	} else if (strcmp(word, "par") == 0 || strcmp(word, "line") == 0 || strcmp(word, "row") == 0 ||
		   strcmp(word, "sect") == 0 || strcmp(word, "page") == 0) {
		g_string_append_c(out, '\n');
	} else if (strcmp(word, "tab") == 0 || strcmp(word, "cell") == 0) {
		g_string_append_c(out, '\t');
	} else if (strcmp(word, "emdash") == 0 || strcmp(word, "endash") == 0) {
		g_string_append_c(out, '-');
	} else if (strcmp(word, "lquote") == 0 || strcmp(word, "rquote") == 0) {
		g_string_append_c(out, '\'');
	} else if (strcmp(word, "ldblquote") == 0 || strcmp(word, "rdblquote") == 0) {
		g_string_append_c(out, '"');
	}
}

/* a control symbol \e (\'xx reads two hex digits at s[*i]) */
static void
cls_rtf_symbol(struct cls_rtf *rs, unsigned char e, const char *s, size_t *i, size_t n)
{
	GString *out = rs->out;

	if (e == '\'') {
		unsigned char b;

		if (*i + 2 > n || !g_ascii_isxdigit(s[*i]) || !g_ascii_isxdigit(s[*i + 1]))
			return;
		b = (unsigned char)(g_ascii_xdigit_value(s[*i]) * 16 + g_ascii_xdigit_value(s[*i + 1]));
		*i += 2;
		if (rs->ucskip > 0)
			rs->ucskip--;
		else if (!rs->cur.skip)
			cls_rtf_char(out, cls_cp1252(b));
	} else if (e == '*') {
		rs->cur.skip = true;
	} else if (rs->cur.skip) {
		/* nothing */
	} else if (e == '\\' || e == '{' || e == '}') {
		g_string_append_c(out, (char)e);
	} else if (e == '~') {
		g_string_append(out, "\xC2\xA0");
	} else if (e == '_') {
		g_string_append_c(out, '-');
	} else if (e == '\n' || e == '\r') {
		g_string_append_c(out, '\n');
	}
}

/* the backslash sequence at s[i]; returns the index after it */
static size_t
cls_rtf_control(struct cls_rtf *rs, const char *s, size_t i, size_t n)
{
	unsigned char e = (unsigned char)s[i + 1];

	if (g_ascii_isalpha(e)) {
		char word[33];
		long param;
		bool has;

		i++;
		cls_rtf_word_read(s, &i, n, word, sizeof word, &param, &has);
		cls_rtf_word(rs, word, param, has, &i, n);
		rs->group_start = false;
		return i;
	}
	rs->group_start = false;
	i += 2;
	cls_rtf_symbol(rs, e, s, &i, n);
	return i;
}

static void
cls_rtf_group_open(struct cls_rtf *rs)
{
	if (rs->sp < (int)G_N_ELEMENTS(rs->st))
		rs->st[rs->sp++] = rs->cur;
	else
		rs->deep++;
	rs->group_start = true;
}

static void
cls_rtf_group_close(struct cls_rtf *rs)
{
	if (rs->deep > 0)
		rs->deep--;
	else if (rs->sp > 0)
		rs->cur = rs->st[--rs->sp];
	rs->ucskip = 0;
	rs->group_start = false;
}

/* cls_rtf_text - visible text of RTF (control words, groups, \'xx as windows-1252, \uN) */
void
cls_rtf_text(const char *s, size_t n, size_t max, GString *out)
{
	struct cls_rtf rs = { .out = out, .cur = { false, 1 } };
	size_t i = 0;

	while (i < n && out->len < max) {
		unsigned char c = (unsigned char)s[i];

		if (c == '{' || c == '}') {
			if (c == '{')
				cls_rtf_group_open(&rs);
			else
				cls_rtf_group_close(&rs);
			i++;
			continue;
		}
		if (c == '\\' && i + 1 < n) {
			i = cls_rtf_control(&rs, s, i, n);
			continue;
		}
		rs.group_start = false;
		i++;
		if (c == '\r' || c == '\n')
			continue;
		if (rs.ucskip > 0) {
			rs.ucskip--;
			continue;
		}
		if (!rs.cur.skip)
			cls_rtf_char(out, cls_cp1252(c));
	}
}
