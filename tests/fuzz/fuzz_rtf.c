/*
 * fuzz_rtf.c - RTF for the classifier (classify_rtf.c): the visible text of
 * an RTF document (groups, control words, ignorable destinations, \'xx,
 * \uN with \ucN) and compressed RTF (LZFu/MELA, as in TNEF bodies), whose
 * output is read as RTF in turn. Any input must end in text (bounded by
 * max), never a crash, an over-read or a leak.
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

static void
fz_rtf(const char *s, size_t n)
{
	struct classify_result r;
	GString *text = g_string_new("");

	cls_rtf_text(s, n, 1 << 20, text);
	g_assert(text->len <= (1 << 20) + 8);
	classify_result_init(&r);
	cls_detect(fz_ctx, "a.rtf", text->str, text->len, &r);
	cls_vs_marking("a.rtf", text->str, text->len, CLS_VS_EDGES, &r);
	classify_result_clear(&r);
	g_string_free(text, TRUE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GByteArray *out;

	if (fz_ctx == NULL)
		return 0;
	fz_rtf((const char *)data, size);
	out = g_byte_array_new();
	if (cls_lzfu(data, size, 1 << 20, out)) {
		g_assert(out->len <= 1 << 20);
		fz_rtf((const char *)out->data, out->len);
	}
	g_byte_array_unref(out);
	return 0;
}
