/*
 * classify_pdf.c - PDF text (standards.md §3): objects and their
 * dictionaries, FlateDecode streams under the scan budget, /ObjStm object
 * streams (objects keep their numbers), pages and their content streams, the
 * text operators (Tj, TJ, ', ") through the fonts of classify_pdf_font.c;
 * `/Encrypt` -> `encrypted`. Findings name the page and object.
 * Memory: buffers are freed before return. Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include <stdlib.h>
#include <string.h>

/* a /Type /Page dictionary: count the page, remember its /Contents objects */
static void
cls_pdf_page(struct cls_pdf *pdf, const char *dict)
{
	const char *t = strstr(dict, "/Type"), *c;

	if (t == NULL)
		return;
	t += 5;
	while (*t == ' ' || *t == '\r' || *t == '\n')
		t++;
	if (strncmp(t, "/Page", 5) != 0 || g_ascii_isalpha(t[5]))
		return;
	pdf->pages++;
	c = strstr(dict, "/Contents");
	if (c == NULL)
		return;
	c += 9;
	while (*c == ' ' || *c == '\r' || *c == '\n' || *c == '[')
		c++;
	while (g_ascii_isdigit(*c)) {
		int ref = atoi(c);

		if (ref > 0 && !g_hash_table_contains(pdf->content_page, GINT_TO_POINTER(ref)))
			g_hash_table_insert(pdf->content_page, GINT_TO_POINTER(ref), GINT_TO_POINTER(pdf->pages));
		/* "N G R" then maybe the next reference of an array */
		while (*c && *c != 'R' && *c != ']' && *c != '>')
			c++;
		if (*c != 'R')
			break;
		c++;
		while (*c == ' ' || *c == '\r' || *c == '\n')
			c++;
	}
}

/* decode #xx in names of a dictionary text */
static char *
cls_pdf_names(const char *s, size_t n)
{
	GString *o = g_string_sized_new(n);
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '#' && i + 2 < n && g_ascii_isxdigit(s[i + 1]) && g_ascii_isxdigit(s[i + 2])) {
			g_string_append_c(o, (char)(g_ascii_xdigit_value(s[i + 1]) * 16 + g_ascii_xdigit_value(s[i + 2])));
			i += 2;
		} else {
			g_string_append_c(o, s[i]);
		}
	}
	return g_string_free(o, FALSE);
}

/* literal string (...) at s[0]=='('; returns end index after ')' */
static size_t
cls_pdf_literal(const char *s, size_t n, GByteArray *o)
{
	size_t i = 1;
	int depth = 1;

	while (i < n && depth > 0) {
		unsigned char c = (unsigned char)s[i++];

		if (c == '\\' && i < n) {
			unsigned char e = (unsigned char)s[i++];

			switch (e) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '\r': case '\n': continue;
			default:
				if (e >= '0' && e <= '7') {
					unsigned v = e - '0';
					int k;

					for (k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
						v = v * 8 + (unsigned)(s[i++] - '0');
					c = (unsigned char)v;
				} else {
					c = e;
				}
			}
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (--depth == 0)
				break;
		}
		g_byte_array_append(o, &c, 1);
	}
	return i;
}

/* cls_token - n bytes of a token (not NUL-terminated in the stream) into dst, truncated to fit */
static void
cls_token(char *dst, size_t size, const char *src, size_t n)
{
	n = MIN(n, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* the text state of one content stream */
struct cls_pdf_ts {
	struct cls_pdf *pdf;
	GString *out;
	GByteArray *str;        /* the last string operand */
	const struct cls_cmap *cm;
	const struct cls_enc *enc;
	double nums[8];         /* the last numeric operands */
	int nn;
	bool in_array;
	char lastname[64];      /* the last name operand */
};

/* hex string <...> at s[i]; returns the index after it (shown at once inside a TJ array) */
static size_t
cls_pdf_hexstr(struct cls_pdf_ts *ts, const char *s, size_t i, size_t n)
{
	const char *gt = memchr(s + i, '>', n - i);
	size_t e = gt != NULL ? (size_t)(gt - s) : n, k;
	int half = -1;

	g_byte_array_set_size(ts->str, 0);
	for (k = i + 1; k < e; k++) {
		if (!g_ascii_isxdigit(s[k]))
			continue;
		if (half < 0) {
			half = g_ascii_xdigit_value(s[k]);
		} else {
			unsigned char b = (unsigned char)(half * 16 + g_ascii_xdigit_value(s[k]));

			g_byte_array_append(ts->str, &b, 1);
			half = -1;
		}
	}
	if (ts->in_array)
		cls_pdf_show(ts->out, ts->cm, ts->enc, ts->str->data, ts->str->len);
	return e + 1;
}

/* a number operand at s[i] (a large negative kerning in a TJ array is a space); returns its length */
static size_t
cls_pdf_number(struct cls_pdf_ts *ts, const char *s, size_t i)
{
	char *e = NULL;
	double v = g_ascii_strtod(s + i, &e);
	size_t used = e != NULL ? (size_t)(e - (s + i)) : 0;

	if (used == 0)
		used = 1;
	if (ts->in_array && v < -200)
		g_string_append_c(ts->out, ' ');
	if (ts->nn < 8)
		ts->nums[ts->nn++] = v;
	else {
		memmove(ts->nums, ts->nums + 1, sizeof ts->nums[0] * 7);
		ts->nums[7] = v;
	}
	return used;
}

/* operator op, its operands read; i is the index after it, returned (moved past inline images) */
static size_t
cls_pdf_operator(struct cls_pdf_ts *ts, const char *op, const char *s, size_t i, size_t n)
{
	GString *out = ts->out;

	if (strcmp(op, "Tf") == 0) {
		cls_pdf_font(ts->pdf, ts->lastname, &ts->cm, &ts->enc);
	} else if (strcmp(op, "Tj") == 0) {
		cls_pdf_show(out, ts->cm, ts->enc, ts->str->data, ts->str->len);
	} else if (strcmp(op, "'") == 0 || strcmp(op, "\"") == 0) {
		g_string_append_c(out, '\n');
		cls_pdf_show(out, ts->cm, ts->enc, ts->str->data, ts->str->len);
	} else if (strcmp(op, "TJ") == 0) {
		/* shown while parsing the array */
	} else if (strcmp(op, "T*") == 0 || strcmp(op, "ET") == 0) {
		g_string_append_c(out, '\n');
	} else if (strcmp(op, "Td") == 0 || strcmp(op, "TD") == 0) {
		g_string_append_c(out, ts->nn >= 1 && ts->nums[ts->nn - 1] != 0 ? '\n' : ' ');
	} else if (strcmp(op, "Tm") == 0) {
		g_string_append_c(out, '\n');
	} else if (strcmp(op, "BI") == 0) {
		const char *ei = cls_memmem(s + i, n - i, "EI");

		i = ei != NULL ? (size_t)(ei - s) + 2 : n;
	}
	if (strcmp(op, "TJ") != 0)
		g_byte_array_set_size(ts->str, 0);
	ts->nn = 0;
	return i;
}

/* the token at s[i] (not white space or a comment); returns the index after it */
static size_t
cls_pdf_token(struct cls_pdf_ts *ts, const char *s, size_t i, size_t n)
{
	unsigned char c = (unsigned char)s[i];
	size_t k;

	if (c == '(') {
		g_byte_array_set_size(ts->str, 0);
		i += cls_pdf_literal(s + i, n - i, ts->str);
		if (ts->in_array)
			cls_pdf_show(ts->out, ts->cm, ts->enc, ts->str->data, ts->str->len);
		return i;
	}
	if ((c == '<' || c == '>') && i + 1 < n && s[i + 1] == (char)c)
		return i + 2;   /* dictionary delimiters */
	if (c == '<')
		return cls_pdf_hexstr(ts, s, i, n);
	if (c == '[' || c == ']') {
		ts->in_array = c == '[';
		return i + 1;
	}
	if (c == '/') {
		for (k = i + 1; k < n && !g_ascii_isspace(s[k]) && strchr("/[]()<>{}%", s[k]) == NULL; k++)
			;
		cls_token(ts->lastname, sizeof ts->lastname, s + i, k - i);
		return k;
	}
	if (g_ascii_isdigit(c) || c == '-' || c == '+' || c == '.')
		return i + cls_pdf_number(ts, s, i);
	if (g_ascii_isalpha(c) || c == '\'' || c == '"' || c == '*') {
		char op[8] = "";

		k = i;
		while (k < n && (g_ascii_isalpha(s[k]) || s[k] == '*' || s[k] == '\'' || s[k] == '"') && k - i < 6)
			k++;
		cls_token(op, sizeof op, s + i, k - i);
		return cls_pdf_operator(ts, op, s, k == i ? k + 1 : k, n);
	}
	return i + 1;
}

/* text operators of one content stream */
static void
cls_pdf_content(struct cls_pdf *pdf, const char *s, size_t n, GString *out, size_t max)
{
	struct cls_pdf_ts ts = { .pdf = pdf, .out = out, .str = g_byte_array_new() };
	size_t i = 0;

	while (i < n && out->len < max) {
		if (g_ascii_isspace(s[i])) {
			i++;
		} else if (s[i] == '%') {
			while (i < n && s[i] != '\n' && s[i] != '\r')
				i++;
		} else {
			i = cls_pdf_token(&ts, s, i, n);
		}
	}
	g_byte_array_unref(ts.str);
}

struct cls_pdf_stream {
	int obj;
	bool content;
	GByteArray *data;
};

/* record "/ToUnicode N 0 R" of font objects and "/F1 N 0 R" in /Font dicts */
static void
cls_pdf_dicts(struct cls_pdf *pdf, int obj, const char *dict, size_t n)
{
	const char *tu = cls_memmem(dict, n, "/ToUnicode"), *f;

	cls_pdf_encoding(pdf, obj, dict, n);
	if (tu != NULL && obj > 0) {
		int ref = atoi(tu + 10);

		if (ref > 0)
			g_hash_table_replace(pdf->font_cmap, GINT_TO_POINTER(obj), GINT_TO_POINTER(ref));
	}
	for (f = cls_memmem(dict, n, "/Font"); f != NULL; f = cls_memmem(f + 5, n - (size_t)(f + 5 - dict), "/Font")) {
		const char *p = f + 5, *end;

		while (p < dict + n && g_ascii_isspace(*p))
			p++;
		if (p + 1 >= dict + n || p[0] != '<' || p[1] != '<')
			continue;
		end = cls_memmem(p, (size_t)(dict + n - p), ">>");
		if (end == NULL)
			break;
		p += 2;
		while (p < end) {
			const char *sl = memchr(p, '/', (size_t)(end - p));
			size_t k;
			char key[64];
			int ref;

			if (sl == NULL)
				break;
			k = 1;
			while (sl + k < end && !g_ascii_isspace(sl[k]) && sl[k] != '/')
				k++;
			cls_token(key, sizeof key, sl, k);
			ref = atoi(sl + k);
			if (ref > 0 && !g_hash_table_contains(pdf->res_font, key))
				g_hash_table_insert(pdf->res_font, g_strdup(key), GINT_TO_POINTER(ref));
			p = sl + k;
		}
	}
}

/* integer value of key in a dictionary text, -1 if absent */
static long
cls_dict_int(const char *dict, const char *key)
{
	size_t kl = strlen(key);
	const char *p = dict;

	while ((p = strstr(p, key)) != NULL) {
		const char *q = p + kl;

		if (!g_ascii_isalnum(*q)) {
			while (*q == ' ' || *q == '\r' || *q == '\n' || *q == '\t')
				q++;
			if (g_ascii_isdigit(*q))
				return strtol(q, NULL, 10);
		}
		p += kl;
	}
	return -1;
}

/* objects of an /ObjStm: "num offset" pairs before /First, then each object's text */
static void
cls_pdf_objstm(struct cls_pdf *pdf, const char *dict, const char *d, size_t n)
{
	long cnt = cls_dict_int(dict, "/N"), first = cls_dict_int(dict, "/First"), k;
	long *num, *off;
	size_t p = 0, got = 0;

	if (cnt <= 0 || first <= 0 || (size_t)first > n || cnt > first / 2 + 1) {
		char *inner = cls_pdf_names(d, n);   /* no usable header: dictionaries without numbers */

		cls_pdf_dicts(pdf, 0, inner, strlen(inner));
		g_free(inner);
		return;
	}
	num = g_new(long, (size_t)cnt);
	off = g_new(long, (size_t)cnt);
	while (got < (size_t)cnt) {
		long v[2];
		int j;

		for (j = 0; j < 2; j++) {
			while (p < (size_t)first && !g_ascii_isdigit(d[p]))
				p++;
			if (p >= (size_t)first)
				break;
			v[j] = 0;
			while (p < (size_t)first && g_ascii_isdigit(d[p]))
				v[j] = MIN(v[j] * 10 + (d[p++] - '0'), (long)INT_MAX);
		}
		if (j < 2)
			break;
		num[got] = v[0];
		off[got] = v[1];
		got++;
	}
	for (k = 0; k < (long)got; k++) {
		size_t a = (size_t)first + (size_t)MIN(off[k], (long)n), b = k + 1 < (long)got ?
			(size_t)first + (size_t)MIN(off[k + 1], (long)n) : n;
		char *inner;

		a = MIN(a, n);
		b = MIN(b, n);
		if (b <= a || num[k] <= 0)
			continue;
		inner = cls_pdf_names(d + a, b - a);
		cls_pdf_dicts(pdf, (int)num[k], inner, strlen(inner));
		cls_pdf_page(pdf, inner);
		g_free(inner);
	}
	g_free(num);
	g_free(off);
}

static void
cls_pdf_stream_free(gpointer p)
{
	struct cls_pdf_stream *ps = p;

	g_byte_array_unref(ps->data);
	g_free(ps);
}

static void
cls_pdf_init(struct cls_pdf *pdf, struct cls_scan *scan, struct classify_result *res, const char *name)
{
	memset(pdf, 0, sizeof *pdf);
	pdf->scan = scan;
	pdf->res = res;
	pdf->name = name;
	pdf->cmaps = g_array_new(FALSE, FALSE, sizeof(struct cls_cmap));
	g_array_set_clear_func(pdf->cmaps, cls_cmap_clear);
	pdf->font_cmap = g_hash_table_new(g_direct_hash, g_direct_equal);
	pdf->res_font = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	pdf->content_page = g_hash_table_new(g_direct_hash, g_direct_equal);
	pdf->encs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	pdf->cmap_idx = g_hash_table_new(g_direct_hash, g_direct_equal);
	pdf->font_enc = g_hash_table_new(g_direct_hash, g_direct_equal);
	pdf->streams = g_ptr_array_new_with_free_func(cls_pdf_stream_free);
}

static void
cls_pdf_clear(struct cls_pdf *pdf)
{
	g_ptr_array_free(pdf->streams, TRUE);
	g_array_free(pdf->cmaps, TRUE);
	g_hash_table_destroy(pdf->font_cmap);
	g_hash_table_destroy(pdf->res_font);
	g_hash_table_destroy(pdf->content_page);
	g_hash_table_destroy(pdf->encs);
	g_hash_table_destroy(pdf->cmap_idx);
	g_hash_table_destroy(pdf->font_enc);
}

/* cls_pdf_objnum - the number of the object whose " obj" keyword is at o ("N G obj") */
static int
cls_pdf_objnum(const char *s, const char *o)
{
	const char *back = o;

	while (back > s && g_ascii_isspace(back[-1]))
		back--;
	while (back > s && g_ascii_isdigit(back[-1]))
		back--;   /* generation */
	while (back > s && g_ascii_isspace(back[-1]))
		back--;
	while (back > s && g_ascii_isdigit(back[-1]))
		back--;
	return atoi(back);
}

/* cls_pdf_readable - a stream we can read: FlateDecode (*flate) or no filter, and not an image/xref */
static bool
cls_pdf_readable(const char *dict, bool *flate)
{
	bool other = strstr(dict, "/DCTDecode") != NULL || strstr(dict, "/JBIG2") != NULL ||
		strstr(dict, "/JPX") != NULL || strstr(dict, "/CCITT") != NULL ||
		strstr(dict, "/ASCII85") != NULL || strstr(dict, "/LZW") != NULL ||
		strstr(dict, "/Predictor") != NULL || strstr(dict, "/Image") != NULL ||
		strstr(dict, "/XRef") != NULL;
	bool hasfilter = strstr(dict, "/Filter") != NULL;

	*flate = strstr(dict, "/FlateDecode") != NULL || strstr(dict, "/Fl ") != NULL ||
		strstr(dict, "/Fl]") != NULL || strstr(dict, "/Fl/") != NULL;
	return !other && (*flate || !hasfilter);
}

/* cls_pdf_stream - keep the decoded bytes b..es of object obj; false once max_text is reached */
static bool
cls_pdf_stream(struct cls_pdf *pdf, int obj, const char *dict, bool flate, const char *b, const char *es)
{
	struct cls_scan *scan = pdf->scan;
	const struct classify_ctx *ctx = scan->ctx;
	struct cls_pdf_stream *ps = g_new0(struct cls_pdf_stream, 1);
	size_t room = (size_t)ctx->max_text - pdf->kept;
	int rc = 0;

	ps->obj = obj;
	ps->data = g_byte_array_new();
	if (flate) {
		const unsigned char *zb = (const unsigned char *)b;
		size_t zl = (size_t)(es - b);

		rc = cls_inflate(scan, pdf->res, pdf->name, false, zb, zl, room, ps->data);
		if (rc == -1 && zl > 2 && (zb[0] == '\r' || zb[0] == '\n'))
			rc = cls_inflate(scan, pdf->res, pdf->name, false, zb + 1, zl - 1, room, ps->data);
	} else {
		scan->inflated += (uint64_t)(es - b);
		g_byte_array_append(ps->data, (const guint8 *)b, (guint)MIN((size_t)(es - b), room));
	}
	pdf->kept += ps->data->len;
	if (rc == 1 || pdf->kept >= ctx->max_text)
		cls_add(pdf->res, "not-inspectable", 1, pdf->name, "PDF text truncated at [classify] max_text");
	if (rc >= 0 && ps->data->len > 0 && strstr(dict, "/ObjStm") != NULL)
		cls_pdf_objstm(pdf, dict, (const char *)ps->data->data, ps->data->len);
	ps->content = rc >= 0 && strstr(dict, "/ObjStm") == NULL && strstr(dict, "/Type/XObject") == NULL;
	g_ptr_array_add(pdf->streams, ps);
	return pdf->kept < ctx->max_text;
}

/* cls_pdf_object - the object at o: its dictionary, its stream; where to go on, NULL to stop */
static const char *
cls_pdf_object(struct cls_pdf *pdf, const char *s, const char *end, const char *o)
{
	int obj = cls_pdf_objnum(s, o);
	const char *eo = cls_memmem(o + 4, (size_t)(end - o - 4), "endobj");
	const char *st = cls_memmem(o + 4, (size_t)((eo != NULL ? eo : end) - o - 4), "stream");
	size_t dl = (size_t)((st != NULL ? st : (eo != NULL ? eo : end)) - o);
	char *dict = cls_pdf_names(o, MIN(dl, (size_t)65536));
	const char *next = eo != NULL ? eo + 6 : o + 4;

	cls_pdf_dicts(pdf, obj, dict, strlen(dict));
	cls_pdf_page(pdf, dict);
	if (st != NULL) {
		const char *b = st + 6, *es;
		bool flate;

		if (b < end && *b == '\r')
			b++;
		if (b < end && *b == '\n')
			b++;
		es = cls_memmem(b, (size_t)(end - b), "endstream");
		if (es == NULL)
			es = end;
		next = es + 9 < end ? es + 9 : end;
		if (cls_pdf_readable(dict, &flate) && !cls_pdf_stream(pdf, obj, dict, flate, b, es))
			next = NULL;
	}
	g_free(dict);
	return next;
}

/* pass 2 first: ToUnicode CMaps (not content) */
static void
cls_pdf_cmaps(struct cls_pdf *pdf)
{
	guint i;

	for (i = 0; i < pdf->streams->len; i++) {
		struct cls_pdf_stream *ps = g_ptr_array_index(pdf->streams, i);

		if (cls_memmem((const char *)ps->data->data, ps->data->len, "begincmap") != NULL) {
			cls_cmap_parse(pdf, ps->obj, (const char *)ps->data->data, ps->data->len);
			ps->content = false;
		}
	}
}

/* then the text of each content stream through the detectors, named by page and object */
static void
cls_pdf_text(struct cls_pdf *pdf)
{
	const struct classify_ctx *ctx = pdf->scan->ctx;
	GString *text = g_string_new("");
	guint i;

	for (i = 0; i < pdf->streams->len && !pdf->scan->bomb; i++) {
		struct cls_pdf_stream *ps = g_ptr_array_index(pdf->streams, i);
		size_t before = text->len;

		if (ps->content && cls_memmem((const char *)ps->data->data, ps->data->len, "BT") != NULL)
			cls_pdf_content(pdf, (const char *)ps->data->data, ps->data->len, text, (size_t)ctx->max_text);
		if (text->len > before) {
			int page = GPOINTER_TO_INT(g_hash_table_lookup(pdf->content_page, GINT_TO_POINTER(ps->obj)));
			char *where = page > 0 ? g_strdup_printf("%s: page %d (obj %d)", pdf->name, page, ps->obj) :
				g_strdup_printf("%s: obj %d", pdf->name, ps->obj);
			size_t ul = 0;
			bool utf8;
			char *u = cls_text_utf8_v(text->str + before, text->len - before, &ul, &utf8);

			if (utf8)
				cls_detect_utf8(ctx, where, u, ul, pdf->res);
			else
				cls_detect(ctx, where, u, ul, pdf->res);
			/* a page's top and bottom lines: its running header and footer */
			cls_vs_marking(where, u, ul, CLS_VS_EDGES, pdf->res);
			g_free(u);
			g_free(where);
		}
	}
	g_string_free(text, TRUE);
}

void
cls_extract_pdf(struct cls_scan *scan, const char *name, const unsigned char *data, size_t len,
	struct classify_result *res)
{
	const char *s = (const char *)data, *end = s + len, *p = s;
	struct cls_pdf pdf;

	cls_pdf_init(&pdf, scan, res, name);
	if (cls_memmem(s, len, "/Encrypt") != NULL)
		cls_add(res, "encrypted", 1, name, "encrypted PDF");
	/* pass 1: objects; dictionaries; decoded streams */
	while (p != NULL && p < end && !scan->bomb) {
		const char *o = cls_memmem(p, (size_t)(end - p), " obj");

		if (o == NULL)
			break;
		p = cls_pdf_object(&pdf, s, end, o);
	}
	/* pass 2: ToUnicode CMaps, then content streams */
	cls_pdf_cmaps(&pdf);
	cls_pdf_text(&pdf);
	cls_pdf_clear(&pdf);
}
