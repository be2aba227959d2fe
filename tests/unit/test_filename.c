/*
 * test_filename.c - common/filename.c: invisible and reordering characters
 * (bidi controls, zero-width and other format characters, C0/C1 controls,
 * separators, fillers) become '_' in shown and written names; visible text of
 * any script stays; filename_safe keeps its path and dot rules.
 */
#include "filename.h"

#include <string.h>
#include <glib.h>

#include "unit.h"

static void
display_case(const char *in, const char *want)
{
	char *got = filename_display(in), *shown = g_strescape(in, NULL);

	CHECK(strcmp(got, want) == 0, "filename_display('%s') = '%s' (got '%s')", shown, want, got);
	g_free(got);
	g_free(shown);
}

static void
test_display(void)
{
	static const unsigned int invisible[] = {
		0x0000 + 1, 0x001F, 0x007F, 0x0080, 0x0085, 0x009F, 0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x180E,
		0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
		0x2060, 0x2061, 0x2064, 0x2066, 0x2067, 0x2068, 0x2069, 0x206A, 0x206F, 0x2800, 0x3164, 0xFEFF,
		0xFFA0, 0xFFF9, 0xFFFB, 0xE0001, 0xE0041, 0xE007F,
	};
	size_t i;

	display_case("Rechnung\xE2\x80\xAE" "fdp.exe", "Rechnung_fdp.exe");
	display_case("Bericht M\xC3\xA4rz 2026.pdf", "Bericht M\xC3\xA4rz 2026.pdf");
	display_case("\xD8\xAA\xD9\x82\xD8\xB1\xD9\x8A\xD8\xB1.pdf", "\xD8\xAA\xD9\x82\xD8\xB1\xD9\x8A\xD8\xB1.pdf");
	display_case("\xE6\x8A\xA5\xE5\x91\x8A \xF0\x9F\x93\x84.txt", "\xE6\x8A\xA5\xE5\x91\x8A \xF0\x9F\x93\x84.txt");
	display_case("a\nb\rc\td", "a_b_c_d");
	display_case("bad\xFF" "byte", "bad\xEF\xBF\xBD" "byte");
	for (i = 0; i < G_N_ELEMENTS(invisible); i++) {
		char in[16], want[8] = "x_y", *got;
		int n = g_unichar_to_utf8(invisible[i], in + 1);

		in[0] = 'x';
		in[n + 1] = 'y';
		in[n + 2] = '\0';
		got = filename_display(in);
		CHECK(strcmp(got, want) == 0 && filename_invisible(invisible[i]), "U+%04X is replaced (got '%s')",
			invisible[i], got);
		g_free(got);
	}
}

static void
test_safe(void)
{
	char *s = filename_safe("../dir\\Rechnung\xE2\x80\xAE" "fdp.exe", 0);

	CHECK(strcmp(s, "Rechnung_fdp.exe") == 0, "filename_safe: last component, bidi replaced (got '%s')", s);
	g_free(s);
	s = filename_safe("\xE2\x80\x8B.bashrc", 0);
	CHECK(strcmp(s, "_.bashrc") == 0, "filename_safe: a leading zero-width space is visible (got '%s')", s);
	g_free(s);
	s = filename_safe(". .", 2);
	CHECK(strcmp(s, "file-3") == 0, "filename_safe: nothing left -> file-N (got '%s')", s);
	g_free(s);
	s = filename_safe("a:b\"c", 0);
	CHECK(strcmp(s, "a_b_c") == 0, "filename_safe: ':' and '\"' replaced (got '%s')", s);
	g_free(s);
}

int
main(void)
{
	test_display();
	test_safe();
	return unit_done();
}
