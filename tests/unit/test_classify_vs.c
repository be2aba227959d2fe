/*
 * test_classify_vs.c - VS markings (issue 14): the written forms (case,
 * blanks, dashes, NBSP, soft hyphens, line breaks, ü/ue) in the marking
 * positions (subject, first and last lines of a body, a stamp on its line),
 * and prose that mentions "VS-NfD" elsewhere (must stay without VS: a false
 * reject stops an authority's mail). Documents (header/footer parts, the top
 * of the first page, PDF pages) are in tests/data/classify (gen.py, vs_*).
 */
#include "classify_int.h"

#include <string.h>

#include "cls_check.h"
#include "unit.h"

static struct classify_ctx *ctx_g;

/* a body of 12 lines with line (0-based) at (a VS-free line otherwise) */
static char *
body_with(const char *line, int at)
{
	GString *s = g_string_new("");
	int i;

	for (i = 0; i < 12; i++)
		g_string_append_printf(s, "%s\n", i == at ? line : "Die Sitzung beginnt um zehn Uhr im Raum 3.");
	return g_string_free(s, FALSE);
}

static void
body_case(const char *text, const char *want)
{
	struct classify_result r;
	char *shown = g_strescape(text, "\xC2\xA0\xC3\x9C\xC3\xBC\xE2\x80\x93");

	classify_result_init(&r);
	classify_text(ctx_g, "body", text, strlen(text), &r);
	classify_finish(ctx_g, &r, true);
	if (want != NULL)
		CHECK(r.vs && has_reason(&r, want) && r.action == CLASSIFY_REJECT, "'%.70s' is %s, reject (got '%s')",
			shown, want, r.reasons);
	else
		CHECK(!r.vs && r.action != CLASSIFY_REJECT, "'%.70s' is no VS marking (got '%s')", shown, r.reasons);
	classify_result_clear(&r);
	g_free(shown);
}

static void
test_forms(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "VS-Nur für den Dienstgebrauch\nBericht", "vs:VS-NfD" },
		{ "VS - NUR FÜR DEN DIENSTGEBRAUCH\nBericht", "vs:VS-NfD" },
		{ "vs-nur fuer den dienstgebrauch\nBericht", "vs:VS-NfD" },
		{ "VS-NUR FUR DEN DIENSTGEBRAUCH\nBericht", "vs:VS-NfD" },
		{ "Vs-NfD\nBericht", "vs:VS-NfD" },
		{ "vs-nfd\nBericht", "vs:VS-NfD" },
		{ "VS NfD\nBericht", "vs:VS-NfD" },
		{ "VS-\nNfD\nBericht", "vs:VS-NfD" },
		{ "VS - NUR FÜR DEN\r\nDIENSTGEBRAUCH\r\nBericht", "vs:VS-NfD" },
		{ "VS-Nur für den Dienst-\ngebrauch\nBericht", "vs:VS-NfD" },
		{ "VS\xC2\xA0\xE2\x80\x93\xC2\xA0NfD\nBericht", "vs:VS-NfD" },          /* NBSP, en dash */
		{ "VS-N\xC2\xAD" "fD\nBericht", "vs:VS-NfD" },                          /* soft hyphen */
		{ "V\xE2\x80\x8BS-NfD\nBericht", "vs:VS-NfD" },                         /* zero-width space */
		{ "  [VS-NfD]  \nBericht", "vs:VS-NfD" },
		{ "– VS-NfD –\nBericht", "vs:VS-NfD" },
		{ "Einstufung: VS-NfD\nBericht", "vs:VS-NfD" },
		{ "Referat 12\tVS-NfD\nBericht", "vs:VS-NfD" },
		{ "VS-Vertraulich\nBericht", "vs:VS-VERTRAULICH" },
		{ "VS-NfD", "vs:VS-NfD" },
		/* not a marking */
		{ "Bitte keine VS-NfD Dokumente per Mail senden", NULL },
		{ "VS-NfD-Dokumente gehen nicht per Mail.\nBericht", NULL },
		{ "VSNfD\nBericht", NULL },
		{ "CVS-NfD\nBericht", NULL },
		{ "VS-NfDx\nBericht", NULL },
		{ "Versand: VS-NfD\nBericht", NULL },
		{ "Schulung zu VS - Nur für den Dienstgebrauch\nBericht", NULL },
		{ "VS-Nummer 12\nBericht", NULL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++)
		body_case(cases[i].text, cases[i].want);
}

/* the first and last three non-blank lines are marking positions, the middle is not */
static void
test_positions(void)
{
	static const struct { int at; bool vs; } pos[] = {
		{ 0, true }, { 1, true }, { 2, true }, { 3, false }, { 5, false }, { 8, false }, { 9, true }, { 11, true },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(pos); i++) {
		char *t = body_with("VS-NfD", pos[i].at);
		struct classify_result r;

		classify_result_init(&r);
		classify_text(ctx_g, "body", t, strlen(t), &r);
		CHECK(r.vs == pos[i].vs, "VS-NfD alone on line %d of 12: %s (got '%s')", pos[i].at + 1,
			pos[i].vs ? "marking" : "middle, no marking", r.reasons);
		classify_result_clear(&r);
		g_free(t);
	}
	{
		/* blank lines do not count: the marking after 5 blank lines is still the top */
		char *b = body_with("x", -1), *t = g_strconcat("\n\n \n\n\t\nVS-NfD\n", b, NULL);

		body_case(t, "vs:VS-NfD");
		g_free(t);
		g_free(b);
	}
	{
		/* a marking split over the third and fourth line begins in the top */
		char *b = body_with("x", -1), *t = g_strconcat("Amt\nReferat\nVS - NUR FÜR DEN\nDIENSTGEBRAUCH\n", b, NULL);

		body_case(t, "vs:VS-NfD");
		g_free(t);
		g_free(b);
	}
}

static void
subject_case(const char *subject, bool vs)
{
	struct classify_result r;

	classify_result_init(&r);
	classify_header(ctx_g, "Subject", subject, &r);
	classify_finish(ctx_g, &r, true);
	CHECK(r.vs == vs && (!vs || r.action == CLASSIFY_REJECT), "Subject '%s': %s (got '%s')", subject,
		vs ? "VS, reject" : "no VS", r.reasons);
	classify_result_clear(&r);
}

static void
test_subject(void)
{
	subject_case("vs-nfd: Lagebericht", true);
	subject_case("AW: VS - NUR FÜR DEN DIENSTGEBRAUCH - Lage", true);
	subject_case("Vs-Nur für den Dienstgebrauch", true);
	subject_case("Lage (VS-\r\n NfD)", true);
	subject_case("[vs - vertraulich] Lage", true);
	subject_case("Lagebericht VS NfD", true);
	subject_case("Ausschreibung VS-Nummer 12", false);
	subject_case("Fragen zu VSA-Regeln", false);
}

int
main(void)
{
	GError *err = NULL;
	struct conf *c;

	g_mime_init();
	c = conf_load(NULL, NULL);
	ctx_g = classify_new(c, &err);
	CHECK(ctx_g != NULL, "classify_new with defaults (%s)", err ? err->message : "ok");
	if (ctx_g == NULL)
		return unit_done();
	test_forms();
	test_positions();
	test_subject();
	classify_free(ctx_g);
	conf_free(c);
	return unit_done();
}
