/*
 * fuzz_odf.c - the ODF reader (classify_zip.c, classify_office.c,
 * classify_vs.c): an input starting "PK" is a whole .odt/.ods/.odp through
 * the ZIP reader; any other input is one member's XML, its first byte
 * picking the member (content.xml, styles.xml with the master pages'
 * header/footer markings, an embedded object's content.xml).
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
	static const char *const members[] = { "content.xml", "styles.xml", "Object 1/content.xml" };
	struct classify_result r;

	if (fz_ctx == NULL || size == 0)
		return 0;
	if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
		fz_archive("a.odt", data, size);
		return 0;
	}
	classify_result_init(&r);
	fz_member(CLS_Z_ODF, members[data[0] % G_N_ELEMENTS(members)], (const char *)data + 1, size - 1, &r);
	classify_finish(fz_ctx, &r, true);
	classify_result_clear(&r);
	return 0;
}
