/*
 * fuzz_zip.c - the ZIP reader of the classifier (classify_zip.c) on hostile
 * bytes: central directory, local headers, overlap and bomb limits, stored
 * and deflated members, every member through cls_part() one level deeper.
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
	if (fz_ctx != NULL)
		fz_archive("a.zip", data, size);
	return 0;
}
