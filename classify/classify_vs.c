/*
 * classify_vs.c - VS markings (VS-NfD, VS-Nur für den Dienstgebrauch,
 * VS-VERTRAULICH) in written form: any case; blanks, dashes, line breaks,
 * NBSP, soft hyphens and zero-width characters between the words; ü as ü,
 * ue or u. Found only in the marking positions (issue 14): the subject
 * (classify_label.c, anywhere), the first and last lines of a message body
 * or a text attachment (text, HTML, RTF), a document's header/footer parts
 * (anywhere in them), the top of a document's first page (Word, ODF, first
 * slide), and the top and bottom lines of every PDF page (its running header
 * and footer). In a line position the marking must be the
 * stamp: at the start of its line after blanks and decoration, after a tab
 * (a layout column) or after a label such as "Einstufung:"; prose such as
 * "keine VS-NfD per Mail" or a marking in the middle of a text is not.
 * Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include <string.h>

#define CLS_VS_LINES 3      /* non-blank lines at the top / bottom that are marking positions */
#define CLS_VS_GAP 8        /* separators allowed between two words of a marking */

/* a byte length of a character that may sit inside a word of a marking
 * (soft hyphen, zero-width space/joiners, word joiner, BOM), else 0 */
static size_t
cls_vs_ignorable(const unsigned char *s, size_t n, size_t i)
{
	if (i + 1 < n && s[i] == 0xC2 && s[i + 1] == 0xAD)
		return 2;
	if (i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x80 && s[i + 2] >= 0x8B && s[i + 2] <= 0x8D)
		return 3;
	if (i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x81 && s[i + 2] == 0xA0)
		return 3;
	if (i + 2 < n && s[i] == 0xEF && s[i + 1] == 0xBB && s[i + 2] == 0xBF)
		return 3;
	return 0;
}

/* a byte length of a separator between the words of a marking, else 0 */
static size_t
cls_vs_sep(const unsigned char *s, size_t n, size_t i)
{
	size_t k = cls_vs_ignorable(s, n, i);

	if (k > 0)
		return k;
	if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == '-')
		return 1;
	if (i + 1 < n && s[i] == 0xC2 && s[i + 1] == 0xA0)   /* NBSP */
		return 2;
	if (i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x80 && ((s[i + 2] >= 0x90 && s[i + 2] <= 0x95) ||
							       s[i + 2] == 0xAF))   /* dashes, NNBSP */
		return 3;
	if (i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x88 && s[i + 2] == 0x92)   /* minus sign */
		return 3;
	return 0;
}

/* one word of a marking at s[i]: the index after it, or 0 ('\1' in word is ü / ue / u) */
static size_t
cls_vs_word(const unsigned char *s, size_t n, size_t i, const char *word)
{
	for (; *word != '\0'; word++) {
		size_t k;

		while (i < n && (k = cls_vs_ignorable(s, n, i)) > 0)
			i += k;
		if (i >= n)
			return 0;
		if (*word == '\1') {
			if (i + 1 < n && s[i] == 0xC3 && (s[i + 1] == 0xBC || s[i + 1] == 0x9C))
				i += 2;
			else if (i + 1 < n && cls_lc(s[i]) == 'u' && cls_lc(s[i + 1]) == 'e')
				i += 2;
			else if (cls_lc(s[i]) == 'u')
				i++;
			else
				return 0;
		} else if (cls_lc(s[i]) == (unsigned char)*word) {
			i++;
		} else {
			return 0;
		}
	}
	return i;
}

/* the marking's words at s[i]: the index after them, or 0 */
static size_t
cls_vs_phrase(const unsigned char *s, size_t n, size_t i, const char *const *words)
{
	size_t w;

	for (w = 0; words[w] != NULL; w++) {
		size_t gap = 0, k;

		while (w > 0 && i < n && gap <= CLS_VS_GAP && (k = cls_vs_sep(s, n, i)) > 0) {
			i += k;
			gap++;
		}
		if (gap > CLS_VS_GAP || (w == 1 && gap == 0))   /* "VS" stands apart: no "VSNFD" */
			return 0;
		i = cls_vs_word(s, n, i, words[w]);
		if (i == 0)
			return 0;
	}
	return i;
}

/* a letter or digit ends at s[i - 1] (ASCII, or a Latin-1 letter in UTF-8) */
static bool
cls_vs_alnum_before(const unsigned char *s, size_t i)
{
	if (i == 0)
		return false;
	if (g_ascii_isalnum(s[i - 1]))
		return true;
	return i >= 2 && s[i - 1] >= 0x80 && s[i - 1] <= 0xBF && s[i - 2] == 0xC3;
}

/* the first marking that starts in s[from..to) (it may go on up to n) */
static int
cls_vs_find_to(const char *text, size_t n, size_t from, size_t to, size_t *at, size_t *end)
{
	static const char *const nfd[] = { "vs", "nfd", NULL };
	static const char *const nur[] = { "vs", "nur", "f\1r", "den", "dienst", "gebrauch", NULL };
	static const char *const vertr[] = { "vs", "vertraulich", NULL };
	static const char *const *const phrases[] = { nfd, nur, vertr };
	const unsigned char *s = (const unsigned char *)text;
	size_t i;

	for (i = from; i + 1 < n && i < to; i++) {
		size_t k, e;

		if ((s[i] | 0x20) != 'v' || cls_vs_alnum_before(s, i))   /* v or V */
			continue;
		for (k = 0; k < G_N_ELEMENTS(phrases); k++) {
			e = cls_vs_phrase(s, n, i, phrases[k]);
			/* a whole word: no letter after it, no compound ("VS-NfD-Dokumente") */
			if (e == 0 || (e < n && (g_ascii_isalnum(s[e]) || s[e] == 0xC3)) ||
			    (e + 1 < n && s[e] == '-' && g_ascii_isalpha(s[e + 1])))
				continue;
			*at = i;
			*end = e;
			return k == 2 ? 2 : 1;
		}
	}
	return 0;
}

/* cls_vs_find - the first marking in s[from..n): 0 none, 1 VS-NfD, 2 VS-VERTRAULICH; its bytes */
int
cls_vs_find(const char *text, size_t n, size_t from, size_t *at, size_t *end)
{
	return cls_vs_find_to(text, n, from, n, at, end);
}

/* decoration before a stamp ending at s[p] (blank, bracket, dash, bullet, quote): its length, else 0 */
static size_t
cls_vs_deco_before(const unsigned char *s, size_t b, size_t p)
{
	if (p > b && strchr(" []()*-=#>\"'_|.", s[p - 1]) != NULL && s[p - 1] != '\0')
		return 1;
	if (p >= b + 2 && s[p - 2] == 0xC2 && (s[p - 1] == 0xA0 || s[p - 1] == 0xAB || s[p - 1] == 0xBB))
		return 2;
	if (p >= b + 3 && s[p - 3] == 0xE2 && s[p - 2] == 0x80 &&
	    ((s[p - 1] >= 0x8B && s[p - 1] <= 0x9F) || s[p - 1] == 0xA2 || s[p - 1] == 0xAF))
		return 3;
	return 0;
}

/* the marking at s[at] is a stamp: only decoration, a tab or a label before it on its line */
static bool
cls_vs_stamp(const char *text, size_t at)
{
	static const char *const labels[] = {
		"einstufung", "geheimhaltungsgrad", "klassifizierung", "klassifikation", "classification",
		"kennzeichnung", "vs-grad", NULL,
	};
	const unsigned char *s = (const unsigned char *)text;
	size_t b = at, p = at, k, w;

	while (b > 0 && s[b - 1] != '\n' && s[b - 1] != '\r')
		b--;
	while (p > b && s[p - 1] != '\t' && (k = cls_vs_deco_before(s, b, p)) > 0)
		p -= k;
	if (p == b || s[p - 1] == '\t')
		return true;
	if (s[p - 1] != ':')
		return false;
	for (k = 0; labels[k] != NULL; k++) {
		size_t l = strlen(labels[k]);

		if (p - 1 - b < l || g_ascii_strncasecmp(text + p - 1 - l, labels[k], l) != 0)
			continue;
		for (w = p - 1 - l; w > b && cls_vs_deco_before(s, b, w) > 0; w -= cls_vs_deco_before(s, b, w))
			;
		if (w == b || g_ascii_isspace(s[w - 1]))
			return true;
	}
	return false;
}

/* the offset after the first CLS_VS_LINES non-blank lines (top) and where the last ones begin */
static void
cls_vs_edges(const char *s, size_t n, size_t *top_end, size_t *bottom)
{
	size_t i, lines = 0, start;
	bool blank = true;

	*top_end = n;
	for (i = 0; i < n && lines < CLS_VS_LINES; i++) {
		if (s[i] == '\n') {
			lines += blank ? 0 : 1;
			blank = true;
			*top_end = i + 1;
		} else if (!g_ascii_isspace(s[i])) {
			blank = false;
		}
	}
	if (lines < CLS_VS_LINES)
		*top_end = n;
	lines = 0;
	blank = true;
	start = n;
	for (i = n; i > 0 && lines < CLS_VS_LINES; i--) {
		if (s[i - 1] == '\n') {
			lines += blank ? 0 : 1;
			blank = true;
			start = i;
		} else if (!g_ascii_isspace(s[i - 1])) {
			blank = false;
		}
	}
	*bottom = lines < CLS_VS_LINES ? 0 : start;
}

void
cls_vs_marking(const char *where, const char *text, size_t len, enum cls_vs_pos pos, struct classify_result *res)
{
	static const char *const reason[] = { NULL, "vs:VS-NfD", "vs:VS-VERTRAULICH" };
	size_t top_end = len, bottom = 0, from = 0, at = 0, end = 0;
	int kind;

	if (pos == CLS_VS_NONE || text == NULL || len == 0)
		return;
	if (pos != CLS_VS_ALL)
		cls_vs_edges(text, len, &top_end, &bottom);
	if (pos == CLS_VS_TOP)
		bottom = len;
	if (pos == CLS_VS_BOTTOM)
		top_end = 0;
	for (;;) {
		size_t to = len;   /* markings are looked for where they may start */

		if (pos != CLS_VS_ALL && top_end < bottom) {   /* the middle is no marking position */
			if (from >= top_end && from < bottom) {
				if (bottom >= len)
					break;
				from = bottom;
			}
			if (from < top_end)
				to = top_end;
		}
		kind = cls_vs_find_to(text, len, from, to, &at, &end);
		if (kind == 0) {
			if (to == len)
				break;
			from = top_end;
			continue;
		}
		if (pos == CLS_VS_ALL || cls_vs_stamp(text, at)) {
			char *w = g_strdup_printf("%s offset %zu", where, at);
			char *shown = g_strndup(text + at, MIN(end - at, (size_t)48));

			g_strdelimit(shown, "\r\n\t", ' ');
			cls_add(res, reason[kind], 1, w, shown);
			res->vs = true;
			g_free(shown);
			g_free(w);
			return;
		}
		from = end;
	}
}

/* cls_vs_odf_styles - the header/footer text of the master pages in an ODF styles.xml */
void
cls_vs_odf_styles(struct cls_scan *scan, const char *where, const char *xml, size_t n,
	const struct cls_xml_rules *rules, struct classify_result *res)
{
	const char *m = cls_memmem(xml, n, "<office:master-styles"), *e;
	GString *text;

	if (m == NULL)
		return;
	e = cls_memmem(m, n - (size_t)(m - xml), "</office:master-styles>");
	text = g_string_new("");
	if (cls_xml_text(m, e != NULL ? (size_t)(e - m) : n - (size_t)(m - xml), rules, (size_t)scan->ctx->max_text,
		    text))
		cls_vs_marking(where, text->str, text->len, CLS_VS_ALL, res);
	g_string_free(text, TRUE);
}
