/*
 * fuzz_ooxml.c - the OOXML reader (classify_zip.c, classify_office.c,
 * classify_markup.c): an input starting "PK" is a whole .docx/.xlsx/.pptx
 * through the ZIP reader; any other input is one member's XML, its first
 * byte picking the member (document, header, footer, shared strings, sheet,
 * slide, custom properties with MSIP labels, LabelInfo, an embedding).
 * Any input must end in a result, never a crash, an over-read or a leak.
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
	static const char *const members[] = {
		"word/document.xml", "word/header1.xml", "word/footer2.xml", "word/footnotes.xml",
		"word/comments.xml", "xl/sharedStrings.xml", "xl/worksheets/sheet1.xml", "xl/comments1.xml",
		"ppt/slides/slide1.xml", "ppt/slides/slide2.xml", "ppt/notesSlides/notesSlide1.xml",
		"docProps/custom.xml", "docMetadata/LabelInfo.xml", "word/embeddings/oleObject1.bin",
	};
	struct classify_result r;

	if (fz_ctx == NULL || size == 0)
		return 0;
	if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
		fz_archive("a.docx", data, size);
		return 0;
	}
	classify_result_init(&r);
	fz_member(CLS_Z_OOXML, members[data[0] % G_N_ELEMENTS(members)], (const char *)data + 1, size - 1, &r);
	classify_finish(fz_ctx, &r, true);
	classify_result_clear(&r);
	return 0;
}
