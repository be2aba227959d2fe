/*
 * test_classify_xml.c - the XML text reader of office parts
 * (classify_markup.c cls_xml_text) at the edges of its buffer (issue 14,
 * found by fuzz_zip/fuzz_ooxml/fuzz_odf): a part that ends inside a tag
 * ("<", "</", "<w:t") is read up to its last byte and never past it. Each
 * case is an exactly sized heap copy, so the ASan build (make asan) sees a
 * one-byte over-read.
 */
#include "classify_extract.h"

#include <string.h>

#include "unit.h"

static const char *const docx_text[] = { "t", NULL };
static const char *const docx_nl[] = { "p", NULL };
static const struct cls_xml_rules docx = { docx_text, docx_nl, NULL, false, false };
static const struct cls_xml_rules odf = { NULL, docx_nl, NULL, true, false };

static void
xml_case(const struct cls_xml_rules *r, const char *xml, const char *want)
{
	size_t n = strlen(xml);
	char *x = g_memdup2(xml, n ? n : 1);   /* no NUL after the part */
	GString *out = g_string_new("");
	bool ok = cls_xml_text(x, n, r, 1 << 20, out);

	CHECK(ok && strcmp(out->str, want) == 0, "'%s' reads as '%s' (got '%s')", xml, want, out->str);
	g_string_free(out, TRUE);
	g_free(x);
}

int
main(void)
{
	xml_case(&docx, "<w:p><w:t>Hallo</w:t></w:p><", "Hallo\n");
	xml_case(&docx, "<w:p><w:t>Hallo</w:t></w:p></", "Hallo\n");
	xml_case(&docx, "<w:p><w:t>Hallo</w:t></w:p><w:t", "Hallo\n");
	xml_case(&docx, "<", "");
	xml_case(&docx, "</", "");
	xml_case(&odf, "<text:p>VS-NfD</text:p><", "VS-NfD\n");
	xml_case(&odf, "Text<", "Text");
	return unit_done();
}
