/*
 * test_classify_edges.c - classifier inputs at the edges of their buffers
 * (issue 14, found by the fuzz targets), each an exactly sized heap copy so
 * the ASan build (make asan) sees an over-read:
 * - the XML text reader of office parts (classify_markup.c cls_xml_text;
 *   fuzz_zip, fuzz_ooxml, fuzz_odf): a part that ends inside a tag ("<",
 *   "</", "<w:t") is read up to its last byte and never past it;
 * - label headers with invalid UTF-8 (classify_conf.c cls_map_find;
 *   fuzz_label): a value ending in a UTF-8 lead byte is still a label value
 *   (reported, its level looked up) and never read past its end;
 * - the UTF-8 check of text parts (classify_part.c cls_utf8_valid, 8 ASCII
 *   bytes at a time): the same answer as g_utf8_validate for every edge
 *   (NUL, overlong forms, surrogates, beyond U+10FFFF, cut sequences) at
 *   every offset of a copy sized exactly, so no read past its end.
 */
#include "classify_extract.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

static void
label_case(const struct classify_ctx *ctx, const char *name, const char *value, const char *want)
{
	struct classify_result r;
	char *v = g_strdup(value);

	classify_result_init(&r);
	classify_header(ctx, name, v, &r);
	classify_finish(ctx, &r, true);
	CHECK(strstr(r.reasons, want) != NULL, "%s with invalid UTF-8: reason %s (got '%s')", name, want, r.reasons);
	classify_result_clear(&r);
	g_free(v);
}

/* cls_map_find of text placed right before an unreadable page: reading past
 * its NUL is a crash in any build */
static void
map_find_guarded(const struct classify_ctx *ctx, const char *text, int want)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = strlen(text) + 1;
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *t;

	if (m == MAP_FAILED || mprotect(m + pg, pg, PROT_NONE) != 0) {
		CHECK(false, "mmap a guard page");
		return;
	}
	t = memcpy(m + pg - n, text, n);
	CHECK(cls_map_find(ctx->labels, t) == want, "label lookup of %zu bytes of invalid UTF-8 before a guard page",
		n - 1);
	munmap(m, 2 * pg);
}

static void
utf8_valid_cases(void)
{
	static const char *const seq[] = { "a", "\xC3\xBC", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF",
		"\x00", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80",
		"\xFF", "\xFE", "\x80", "\xBF", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "\xC3" "A", "\x7F" };
	unsigned bad = 0, n = 0;
	size_t k, pre, post;

	for (k = 0; k < G_N_ELEMENTS(seq); k++)
		for (pre = 0; pre < 18; pre++)
			for (post = 0; post < 10; post++) {
				size_t sl = seq[k][0] == '\0' ? 1 : strlen(seq[k]), len = pre + sl + post;
				char *t = g_malloc(len);

				memset(t, 'x', len);
				memcpy(t + pre, seq[k], sl);
				bad += cls_utf8_valid(t, len) != (bool)g_utf8_validate(t, (gssize)len, NULL);
				n++;
				g_free(t);
			}
	CHECK(bad == 0 && n > 0, "cls_utf8_valid == g_utf8_validate on %u texts (%u differ)", n, bad);
}

int
main(void)
{
	struct conf *c = conf_load(NULL, NULL);
	struct classify_ctx *ctx = classify_new(c, NULL);

	map_find_guarded(ctx, "Vertraulich\xfc", -1);
	map_find_guarded(ctx, "\xf8", -1);
	map_find_guarded(ctx, "Company-Confidential", 2);
	label_case(ctx, "Sensitivity", "Vertraulich\xfc", "label:sensitivity=Vertraulich_");
	label_case(ctx, "Sensitivity", "\xf0", "label:sensitivity=_");
	label_case(ctx, "SIO-Label", "marking=\"VS-NfD\xfb\"", "vs:VS-NfD");
	label_case(ctx, "msip_labels", "MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Enabled=true; "
		"MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Name=Vertraulich\xfd", "label:msip=Vertraulich_");
	classify_free(ctx);
	conf_free(c);
	xml_case(&docx, "<w:p><w:t>Hallo</w:t></w:p><", "Hallo\n");
	xml_case(&docx, "<w:p><w:t>Hallo</w:t></w:p></", "Hallo\n");
	xml_case(&docx, "<w:p><w:t>Hallo</w:t></w:p><w:t", "Hallo\n");
	xml_case(&docx, "<", "");
	xml_case(&docx, "</", "");
	xml_case(&odf, "<text:p>VS-NfD</text:p><", "VS-NfD\n");
	xml_case(&odf, "Text<", "Text");
	utf8_valid_cases();
	return unit_done();
}
