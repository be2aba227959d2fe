/*
 * classify_markup.c - visible text of markup: XML parts by element rules
 * (the OOXML/ODF rules live in classify_office.c; character data with
 * entities decoded, comments and CDATA handled, a DOCTYPE declaring entities
 * refused) and HTML (script/style skipped, block tags as newlines, table
 * cells as tabs). Output bounded by the caller's max. Thread-safe.
 */
#include "classify_extract.h"
#include "classify_simd.h"

#include <stdlib.h>
#include <string.h>

static inline bool
cls_in_list(const char *const *list, const char *name, size_t n)
{
	for (; list != NULL && *list != NULL; list++) {
		const char *l = *list;
		size_t k = 0;

		if (n > 0 && l[0] != name[0])
			continue;
		while (k < n && l[k] != '\0' && l[k] == name[k])
			k++;
		if (k == n && l[k] == '\0')
			return true;
	}
	return false;
}

/* memchr for the short distances of XML markup: 32 bytes inline, 8 at a time (the first byte
 * equal to c: the lowest zero byte of the word xor c, exact), then memchr */
static inline const char *
cls_chr(const char *p, char c, size_t n)
{
	const guint64 ones = 0x0101010101010101ULL;
	size_t k = 0;

#ifdef CLS_SIMD
	for (; k + 16 <= n && k < 48; k += 16) {
		unsigned m = cls_m16_eq(cls_v16(p + k), c);

		if (m != 0)
			return p + k + __builtin_ctz(m);
	}
#endif
	for (; k + 8 <= n && k < 32; k += 8) {
		guint64 w;

		memcpy(&w, p + k, 8);
		w ^= ones * (unsigned char)c;
		w = (w - ones) & ~w & (ones << 7);
		if (w != 0) {
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
			return p + k + (__builtin_ctzll(w) >> 3);
#else
			break;
#endif
		}
	}
	for (; k < n && k < 56; k++)
		if (p[k] == c)
			return p + k;
	return n > k ? memchr(p + k, c, n - k) : NULL;
}

/* the bytes that end an element name: white space (as g_ascii_isspace, which has no VT), "/", ">" */
static const bool cls_name_end[256] = {
	['\t'] = true, ['\n'] = true, ['\f'] = true, ['\r'] = true, [' '] = true, ['/'] = true,
	['>'] = true,
};

/* append character data with entities decoded */
void
cls_xml_chars(GString *out, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (p[i] != '&') {
			const char *amp = cls_chr(p + i, '&', n - i);
			size_t j = amp != NULL ? (size_t)(amp - p) : n;

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

/* what an element name is by the rules' lists */
enum { CLS_XML_TEXT = 1, CLS_XML_NL = 2, CLS_XML_CELL = 4 };

/* the state of one XML part's text */
struct cls_xml_st {
	const struct cls_xml_rules *r;
	GString *out;
	int in_text;
	size_t cell_at;   /* output length where the innermost open cell began */
	bool skip_v, in_v;
	struct { const char *s; size_t len; unsigned flag; } names[32];   /* the lists' names, once */
	size_t nnames;
	guint32 key[256];   /* bit k: names[k] has the key (cls_xml_key) */
};

/* a byte from the first and last byte and the length of a name (n > 0): equal names, equal keys */
static inline unsigned
cls_xml_key(const char *name, size_t n)
{
	return ((unsigned char)name[0] + 7u * (unsigned char)name[n - 1] + 13u * (unsigned)n) & 255u;
}

static void
cls_xml_names(struct cls_xml_st *st)
{
	const char *const *lists[3] = { st->r->text, st->r->nl, st->r->cell };
	static const unsigned flags[3] = { CLS_XML_TEXT, CLS_XML_NL, CLS_XML_CELL };
	size_t l, k;

	for (l = 0; l < 3; l++)
		for (k = 0; lists[l] != NULL && lists[l][k] != NULL; k++) {
			g_assert(st->nnames < G_N_ELEMENTS(st->names));
			st->names[st->nnames].s = lists[l][k];
			st->names[st->nnames].len = strlen(lists[l][k]);
			st->names[st->nnames].flag = flags[l];
			if (st->names[st->nnames].len > 0)
				st->key[cls_xml_key(lists[l][k], st->names[st->nnames].len)] |= 1u << st->nnames;
			st->nnames++;
		}
}

/* the lists an element name is in (cls_in_list of each): CLS_XML_* */
static unsigned
cls_xml_flags(const struct cls_xml_st *st, const char *name, size_t n)
{
	unsigned f = 0;
	guint32 m = n > 0 ? st->key[cls_xml_key(name, n)] : (guint32)((1ULL << st->nnames) - 1);

	for (; m != 0; m &= m - 1) {   /* only the names with its key */
		size_t k = (size_t)__builtin_ctz(m), b = 0;

		if (st->names[k].len != n)
			continue;
		while (b < n && st->names[k].s[b] == name[b])   /* short names: no call */
			b++;
		if (b == n)
			f |= st->names[k].flag;
	}
	return f;
}

/*
 * cls_xml_special - a comment, CDATA section or DOCTYPE at x[i]: *next set, true;
 * *refused when the DOCTYPE declares entities
 */
static bool
cls_xml_special(struct cls_xml_st *st, const char *x, size_t i, size_t n, size_t *next, bool *refused)
{
	if (n - i < 4 || x[i + 1] != '!')   /* all three begin with "<!" */
		return false;
	if (memcmp(x + i, "<!--", 4) == 0) {
		const char *e = g_strstr_len(x + i, (gssize)(n - i), "-->");

		*next = e != NULL ? (size_t)(e - x) + 3 : n;
		return true;
	}
	if (n - i >= 9 && memcmp(x + i, "<![CDATA[", 9) == 0) {
		const char *e = g_strstr_len(x + i, (gssize)(n - i), "]]>");
		size_t end = e != NULL ? (size_t)(e - x) : n;

		if (st->r->all || st->in_text > 0)
			g_string_append_len(st->out, x + i + 9, (gssize)(end - i - 9));
		*next = e != NULL ? end + 3 : n;
		return true;
	}
	if (n - i >= 9 && x[i + 1] == '!' && g_ascii_strncasecmp(x + i, "<!DOCTYPE", 9) == 0) {
		const char *e = memchr(x + i, '>', n - i);
		size_t end = e != NULL ? (size_t)(e - x) : n;

		*refused = g_strstr_len(x + i, (gssize)MIN(n - i, (size_t)1 << 20), "<!ENTITY") != NULL;
		*next = end + 1;
		return true;
	}
	return false;
}

/* a start (or empty) element: local name, attributes at attrs..attrs+al */
static void
cls_xml_open(struct cls_xml_st *st, const char *local, size_t ln, const char *attrs, size_t al, bool self)
{
	const struct cls_xml_rules *r = st->r;
	GString *out = st->out;
	unsigned f = cls_xml_flags(st, local, ln);

	if ((f & CLS_XML_TEXT) && !self)
		st->in_text++;
	if ((f & CLS_XML_CELL) && !self)
		st->cell_at = out->len;
	if (r->sheet && ln == 1 && local[0] == 'c')
		st->skip_v = g_strstr_len(attrs, (gssize)al, "t=\"s\"") != NULL;
	if (r->sheet && ln == 1 && local[0] == 'v' && !self)
		st->in_v = true;
	if ((ln == 3 && memcmp(local, "tab", 3) == 0))
		g_string_append_c(out, '\t');
	else if ((ln == 2 && (memcmp(local, "br", 2) == 0 || memcmp(local, "cr", 2) == 0)) ||
		 (ln == 10 && memcmp(local, "line-break", 10) == 0))
		g_string_append_c(out, '\n');
	else if (ln == 1 && local[0] == 's' && r->all)
		g_string_append_c(out, ' ');
}

/* an end tag */
static void
cls_xml_close(struct cls_xml_st *st, const char *local, size_t ln)
{
	const struct cls_xml_rules *r = st->r;
	GString *out = st->out;
	unsigned f = cls_xml_flags(st, local, ln);

	if ((f & CLS_XML_TEXT) && st->in_text > 0)
		st->in_text--;
	if (r->sheet && ln == 1 && local[0] == 'v')
		st->in_v = false;
	if (f & CLS_XML_NL)
		g_string_append_c(out, '\n');
	if (f & CLS_XML_CELL) {
		/* the end of the cell's last paragraph becomes the cell boundary */
		if (out->len > st->cell_at && out->str[out->len - 1] == '\n')
			out->str[out->len - 1] = '\t';
		else
			g_string_append_c(out, '\t');
	}
}

/* the tag at x[i] ('<'); returns the index after it */
static size_t
cls_xml_tag(struct cls_xml_st *st, const char *x, size_t i, size_t n)
{
	const char *gt = cls_chr(x + i, '>', n - i);
	size_t end = gt != NULL ? (size_t)(gt - x) : n;
	bool close = i + 1 < n && x[i + 1] == '/';
	bool self = end > i && x[end - 1] == '/';
	size_t ns = i + (close ? 2 : 1), ne = ns, ln;
	const char *local, *colon;

	if (ns >= n || x[ns] == '?' || x[ns] == '!')   /* "<" or "</" as the last bytes: nothing more */
		return end + 1;
	while (ne < end && !cls_name_end[(unsigned char)x[ne]])
		ne++;
	local = x + ns;
	ln = ne - ns;
	colon = cls_chr(local, ':', ln);
	if (colon != NULL) {   /* the local name after a namespace prefix */
		ln -= (size_t)(colon + 1 - local);
		local = colon + 1;
	}
	if (!close)
		cls_xml_open(st, local, ln, x + ne, end - ne, self);
	else
		cls_xml_close(st, local, ln);
	return end + 1;
}

/* cls_xml_text - text of an XML part by rules; false if a DOCTYPE declares entities */
bool
cls_xml_text(const char *x, size_t n, const struct cls_xml_rules *r, size_t max, GString *out)
{
	struct cls_xml_st st = { .r = r, .out = out };
	size_t i = 0;

	cls_xml_names(&st);
	while (i < n && out->len < max) {
		const char *lt = cls_chr(x + i, '<', n - i);
		size_t tag = lt != NULL ? (size_t)(lt - x) : n;
		bool refused = false;

		if (tag > i && (r->all || st.in_text > 0) && !(st.in_v && st.skip_v))
			cls_xml_chars(out, x + i, tag - i);
		if (lt == NULL)
			break;
		if (cls_xml_special(&st, x, tag, n, &i, &refused)) {
			if (refused)
				return false;
			continue;
		}
		i = cls_xml_tag(&st, x, tag, n);
	}
	return true;
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
	cls_vs_marking(name, out->str, out->len, scan->vs_pos, res);
	g_string_free(out, TRUE);
	g_free(u);
}
