/*
 * fuzz_label.c - the label parsers (classify_label.c, classify_vs.c): the
 * first byte picks a header (Sensitivity, msip_labels, Subject, SIO-Label,
 * X-Protective-Marking, X-Classification) whose value is the rest (also
 * unfolded over line breaks); the rest is also searched for VS markings
 * (cls_vs_find to the end) and read in each marking position.
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
	static const char *const headers[] = {
		"Sensitivity", "msip_labels", "Subject", "SIO-Label", "X-Protective-Marking", "X-Classification",
	};
	const char *text = (const char *)data + 1;
	size_t n = size - 1, at = 0, end = 0, from;
	struct classify_result r;
	char *value;

	if (fz_ctx == NULL || size == 0 || size > 65536)
		return 0;
	value = g_strndup(text, n);
	classify_result_init(&r);
	classify_header(fz_ctx, headers[data[0] % G_N_ELEMENTS(headers)], value, &r);
	cls_msip(fz_ctx, "msip", value, &r);
	for (from = 0; from <= n && cls_vs_find(text, n, from, &at, &end) != 0; from = end) {
		g_assert(at < end && end <= n && at >= from);
	}
	cls_vs_marking("fuzz", text, n, (enum cls_vs_pos)(data[0] % (CLS_VS_NONE + 1)), &r);
	classify_finish(fz_ctx, &r, data[0] & 0x80);
	classify_result_clear(&r);
	g_free(value);
	return 0;
}
