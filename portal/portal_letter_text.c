/*
 * portal_letter_text.c - the text of a letter's body as it is shown in the
 * portal page (see portal_letter.h): an HTML body converted to plain text
 * (nothing of it is ever rendered as HTML: the page puts the text in with
 * textContent), and every text made valid, tidy UTF-8 with a size cap.
 * One linear pass each; output g_malloc'ed; pure functions, thread-safe.
 */
#include "portal_letter.h"

#include <stdlib.h>
#include <string.h>

/* elements whose content is not text */
static const char *const skip_tags[] = { "script", "style", "head", "title", "template", "noscript",
	"object", "svg", "math", NULL };
/* elements that start or end a line */
static const char *const block_tags[] = { "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5",
	"h6", "table", "ul", "ol", "blockquote", "pre", "hr", "section", "article", "header", "footer",
	"dd", "dt", "dl", "address", "center", NULL };

struct html {
	const char *s;
	size_t n, i, max;
	GString *o;
	bool cut;
};

static bool
in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static void
put_space(struct html *h)
{
	if (h->o->len > 0 && h->o->str[h->o->len - 1] != ' ' && h->o->str[h->o->len - 1] != '\n')
		g_string_append_c(h->o, ' ');
}

/* put_newline - end the line (trailing blank dropped), at most one empty line */
static void
put_newline(struct html *h)
{
	GString *o = h->o;

	if (o->len > 0 && o->str[o->len - 1] == ' ')
		g_string_truncate(o, o->len - 1);
	if (o->len == 0 || (o->len >= 2 && o->str[o->len - 1] == '\n' && o->str[o->len - 2] == '\n'))
		return;
	g_string_append_c(o, '\n');
}

/* tag_end - index after the '>' that ends the tag at i (quotes respected) */
static size_t
tag_end(const struct html *h, size_t i)
{
	char q = 0;

	for (; i < h->n; i++) {
		if (q != 0) {
			if (h->s[i] == q)
				q = 0;
		} else if (h->s[i] == '"' || h->s[i] == '\'') {
			q = h->s[i];
		} else if (h->s[i] == '>') {
			return i + 1;
		}
	}
	return h->n;
}

/* skip_element - past "</name ...>" from i, or the end */
static size_t
skip_element(const struct html *h, size_t i, const char *name)
{
	size_t l = strlen(name);

	for (; i + 2 + l <= h->n; i++)
		if (h->s[i] == '<' && h->s[i + 1] == '/' &&
		    g_ascii_strncasecmp(h->s + i + 2, name, l) == 0 &&
		    (i + 2 + l == h->n || !g_ascii_isalnum(h->s[i + 2 + l])))
			return tag_end(h, i + 2 + l);
	return h->n;
}

static void
tag(struct html *h)
{
	size_t i = h->i + 1, k = 0;
	bool closing = false;
	char name[16];

	if (h->n - h->i >= 4 && memcmp(h->s + h->i, "<!--", 4) == 0) {
		const char *e = g_strstr_len(h->s + h->i + 4, (gssize)(h->n - h->i - 4), "-->");

		h->i = e ? (size_t)(e - h->s) + 3 : h->n;
		return;
	}
	if (i < h->n && h->s[i] == '/') {
		closing = true;
		i++;
	}
	while (i < h->n && g_ascii_isalnum(h->s[i]) && k < sizeof name - 1)
		name[k++] = g_ascii_tolower(h->s[i++]);
	name[k] = '\0';
	if (k == 0 && !closing && (i >= h->n || h->s[i] != '!')) {
		g_string_append_c(h->o, '<'); /* a lone '<' is text */
		h->i++;
		return;
	}
	h->i = tag_end(h, i);
	if (!closing && in_list(skip_tags, name) && h->s[h->i - 1] == '>' &&
	    !(h->i >= 2 && h->s[h->i - 2] == '/'))
		h->i = skip_element(h, h->i, name);
	else if (in_list(block_tags, name))
		put_newline(h);
	else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0 || strcmp(name, "img") == 0)
		put_space(h);
}

/* entity - a character reference at h->i ("&amp;", "&#228;", "&#xe4;") */
static void
entity(struct html *h)
{
	static const struct { const char *name; gunichar c; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
		{ "nbsp", ' ' }, { "auml", 0xe4 }, { "ouml", 0xf6 }, { "uuml", 0xfc }, { "Auml", 0xc4 },
		{ "Ouml", 0xd6 }, { "Uuml", 0xdc }, { "szlig", 0xdf }, { "euro", 0x20ac }, { "shy", 0 },
	};
	const char *p = h->s + h->i + 1, *semi = memchr(p, ';', MIN((size_t)12, h->n - h->i - 1));
	char buf[12];
	size_t l, k;
	gunichar c = 0xfffd;
	char *end;

	if (semi == NULL) {
		g_string_append_c(h->o, '&');
		h->i++;
		return;
	}
	l = (size_t)(semi - p);
	memcpy(buf, p, l);
	buf[l] = '\0';
	if (buf[0] == '#') {
		unsigned long v = (buf[1] == 'x' || buf[1] == 'X') ? strtoul(buf + 2, &end, 16) :
			strtoul(buf + 1, &end, 10);

		if (*end == '\0' && v > 0 && v <= 0x10ffff && !(v >= 0xd800 && v <= 0xdfff))
			c = (gunichar)v;
	} else {
		for (k = 0; k < G_N_ELEMENTS(named); k++)
			if (strcmp(named[k].name, buf) == 0)
				break;
		if (k == G_N_ELEMENTS(named)) {
			g_string_append_c(h->o, '&');
			h->i++;
			return;
		}
		c = named[k].c;
	}
	if (c != 0)
		g_string_append_unichar(h->o, c);
	h->i += l + 2;
}

char *
portal_letter_html_text(const char *html, size_t len, size_t max, bool *cut)
{
	struct html h = { html, len, 0, max, g_string_sized_new(MIN(len, max) + 1), false };
	char *r;

	while (h.i < h.n) {
		if (h.o->len >= max) {
			h.cut = true;
			break;
		}
		if (h.s[h.i] == '<')
			tag(&h);
		else if (h.s[h.i] == '&')
			entity(&h);
		else if (g_ascii_isspace(h.s[h.i])) {
			put_space(&h);
			h.i++;
		} else
			g_string_append_c(h.o, h.s[h.i++]);
	}
	r = portal_letter_tidy(h.o->str, h.o->len, max, cut);
	if (cut != NULL)
		*cut = *cut || h.cut;
	g_string_free(h.o, TRUE);
	return r;
}

char *
portal_letter_tidy(const char *s, size_t len, size_t max, bool *cut)
{
	char *v = g_utf8_make_valid(s, (gssize)len);
	GString *o = g_string_sized_new(MIN(len, max) + 1);
	const char *p;

	if (cut != NULL)
		*cut = false;
	for (p = v; *p; p = g_utf8_next_char(p)) {
		size_t cl = (size_t)(g_utf8_next_char(p) - p);

		if (o->len + cl > max) {
			if (cut != NULL)
				*cut = true;
			break;
		}
		if (*p == '\r' && p[1] != '\n')
			g_string_append_c(o, '\n');
		else if ((unsigned char)*p >= 0x20 || *p == '\t' || *p == '\n')
			g_string_append_len(o, p, (gssize)cl);
	}
	g_free(v);
	return g_string_free(o, FALSE);
}
