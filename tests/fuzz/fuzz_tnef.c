/*
 * fuzz_tnef.c - the TNEF reader (classify_tnef.c): winmail.dat records,
 * MAPI property blocks, attachment names and bodies (plain, HTML,
 * compressed RTF), every attachment through cls_part() one level deeper.
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
	struct classify_result r;
	struct cls_scan scan;

	if (fz_ctx == NULL)
		return 0;
	fz_scan(&scan);
	classify_result_init(&r);
	cls_extract_tnef(&scan, "winmail.dat", data, size, &r);
	classify_finish(fz_ctx, &r, true);
	classify_result_clear(&r);
	return 0;
}
