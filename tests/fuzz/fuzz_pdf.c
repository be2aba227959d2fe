/*
 * fuzz_pdf.c - the PDF text extractor (classify_pdf.c, classify_pdf_font.c):
 * objects, object streams, Flate streams, ToUnicode CMaps, simple-font
 * encodings with /Differences, content stream operators, page tops.
 * Any input must end in a result, never a crash, an over-read, a leak or an
 * unbounded loop.
 */
#include "fuzz_cls.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_cls_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct classify_result r;
	struct cls_scan scan;

	if (fz_ctx == NULL)
		return 0;
	fz_scan(&scan);
	classify_result_init(&r);
	cls_extract_pdf(&scan, "a.pdf", data, size, &r);
	classify_finish(fz_ctx, &r, true);
	classify_result_clear(&r);
	return 0;
}
