/*
 * test_portal_letter.c - portal/portal_letter.c and portal_letter_text.c:
 * the n-th leaf of FORMATS.md §4.5 (depth-first, multiparts walked, an
 * attached message one leaf), names, types, listed leaves, the shown text
 * (plain before HTML, charsets), the limits (max_parts, max_mime_depth),
 * decoded leaf data, and HTML to text.
 */
#include "portal_letter.h"

#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "unit.h"

static const char letter[] =
	"From: =?utf-8?q?Amt_M=C3=BCnster?= <a@example.org>\r\n"
	"To: b@example.net\r\nSubject: Bescheid\r\nDate: Tue, 05 May 2026 10:15:00 +0200\r\n"
	"Content-Language: de\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
	"--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
	"--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	"Gr=FC=DFe\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>HTML</p>\r\n--a--\r\n"
	"--m\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\nContent-Disposition: attachment; filename=\"../a\xe2\x80\xae.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\nSGFsbG8=\r\n"
	"--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: Innen\r\nContent-Type: multipart/mixed; boundary=\"i\"\r\n\r\n"
	"--i\r\nContent-Type: text/plain\r\n\r\ninner\r\n--i--\r\n"
	"--m\r\nContent-Type: text/plain\r\n\r\nFusszeile\r\n"
	"--m\r\nContent-Type: BAD TYPE\r\n\r\nx\r\n--m--\r\n";

static struct portal_letter *
parse(const char *s, uint64_t parts, uint64_t depth, int *rc)
{
	GByteArray *b = g_byte_array_new();
	struct portal_letter *l = NULL;

	g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s));
	*rc = portal_letter_parse(b, parts, depth, &l);
	return l;
}

static void
test_leaves(void)
{
	static const struct { unsigned n; const char *name, *type; bool listed; } want[] = {
		{ 1, "part-1.txt", "text/plain", false }, { 2, "part-2.html", "text/html", false },
		{ 3, "a_.pdf", "application/pdf", true }, { 4, "Innen.eml", "message/rfc822", true },
		{ 5, "part-5.txt", "text/plain", true }, { 6, "part-6.bin", "application/octet-stream", true },
	};
	struct portal_letter *l;
	GByteArray *d;
	size_t i;
	int rc;

	l = parse(letter, 1000, 32, &rc);
	CHECK(rc == PORTAL_LETTER_OK && l != NULL, "the letter parses");
	if (l == NULL)
		return;
	CHECK(l->leaves->len == G_N_ELEMENTS(want), "6 leaves (the attached message is one), got %u", l->leaves->len);
	for (i = 0; i < G_N_ELEMENTS(want) && i < l->leaves->len; i++) {
		const struct portal_letter_leaf *lf = g_ptr_array_index(l->leaves, i);

		CHECK(lf->n == want[i].n && strcmp(lf->name, want[i].name) == 0 && strcmp(lf->type, want[i].type) == 0 &&
			lf->listed == want[i].listed, "leaf %u: %s %s listed=%d (got %s %s %d)", want[i].n, want[i].name,
			want[i].type, want[i].listed, lf->name, lf->type, lf->listed);
	}
	CHECK(l->shown == 1 && !l->text_html && strcmp(l->text, "Grüße") == 0,
		"shown: leaf 1, latin-1 QP as UTF-8 (got %u '%s')", l->shown, l->text);
	CHECK(strcmp(l->from, "Amt Münster <a@example.org>") == 0 && strcmp(l->subject, "Bescheid") == 0 &&
		strcmp(l->date, "2026-05-05T10:15:00+02:00") == 0 && l->lang && strcmp(l->lang, "de") == 0,
		"header fields (got '%s' '%s' '%s')", l->from, l->subject, l->date);
	d = portal_letter_leaf_data(l, 3);
	CHECK(d && d->len == 5 && memcmp(d->data, "Hallo", 5) == 0, "leaf 3 decoded from base64");
	if (d)
		g_byte_array_free(d, TRUE);
	d = portal_letter_leaf_data(l, 4);
	CHECK(d && g_strstr_len((const char *)d->data, d->len, "Subject: Innen") != NULL, "leaf 4: the attached message");
	if (d)
		g_byte_array_free(d, TRUE);
	CHECK(portal_letter_leaf_data(l, 0) == NULL && portal_letter_leaf_data(l, 7) == NULL, "no leaf 0 or 7");
	portal_letter_free(l);
	l = parse(letter, 7, 32, &rc);
	CHECK(rc == PORTAL_LETTER_ELIMIT && l == NULL, "max_parts 7 < 8 nodes: ELIMIT");
	l = parse(letter, 8, 32, &rc);
	CHECK(rc == PORTAL_LETTER_OK, "max_parts 8 = 8 nodes (multiparts count, the attached message's parts do not): ok");
	portal_letter_free(l);
	l = parse(letter, 1000, 2, &rc);
	CHECK(rc == PORTAL_LETTER_ELIMIT, "max_mime_depth 2 < 3: ELIMIT");
	l = parse(letter, 1000, 3, &rc);
	CHECK(rc == PORTAL_LETTER_OK, "max_mime_depth 3: ok");
	portal_letter_free(l);
	l = parse("Subject: s\r\nContent-Type: text/html\r\n\r\n<b>fett</b> &amp; <i>x</i>\r\n", 1000, 32, &rc);
	CHECK(rc == PORTAL_LETTER_OK && l->leaves->len == 1 && l->shown == 1 && l->text_html &&
		strcmp(l->text, "fett & x ") == 0, "single-part HTML: one leaf, shown as text (got '%s')", l ? l->text : "");
	portal_letter_free(l);
}

static void
html_case(const char *in, const char *want)
{
	bool cut;
	char *got = portal_letter_html_text(in, strlen(in), 1000, &cut);

	CHECK(strcmp(got, want) == 0, "html_text('%s') = '%s' (got '%s')", in, want, got);
	g_free(got);
}

static void
test_html(void)
{
	bool cut = false;
	char *t;

	html_case("<p>a</p><p>b</p>", "a\n\nb\n");
	html_case("<script>x<p>y</p></script>z", "z");
	html_case("<SCRIPT type=a>x</Script >z", "z");
	html_case("<head><title>t</title></head>a<br>b", "a\nb");
	html_case("a&nbsp;&lt;&#228;&#x20ac;&bogus;&#0;&#xD800;", "a <ä€&bogus;\xef\xbf\xbd\xef\xbf\xbd");
	html_case("a<!-- <p>x</p> -->b<!-- open", "ab");
	html_case("1 < 2 <a href=\"x>y\">l</a>", "1 < 2 l");
	html_case("<script>never closed", "");
	t = portal_letter_html_text("<p>aaaa</p>", 11, 3, &cut);
	CHECK(strlen(t) <= 3 && cut, "cut at max (got '%s')", t);
	g_free(t);
	t = portal_letter_tidy("a\r\nb\rc\x01\td\xff", 10, 100, &cut);
	CHECK(strcmp(t, "a\nb\nc\td\xef\xbf\xbd") == 0 && !cut, "tidy: CRLF, CR, controls, invalid UTF-8 (got '%s')", t);
	g_free(t);
	CHECK(portal_letter_is_eml("a.EML") && !portal_letter_is_eml(".eml") && !portal_letter_is_eml("a.emlx"),
		"is_eml");
}

int
main(void)
{
	g_mime_init();
	test_leaves();
	test_html();
	return unit_done();
}
