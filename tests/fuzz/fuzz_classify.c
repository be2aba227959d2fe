/*
 * fuzz_classify.c - the classification extractors and label parsers on
 * hostile bytes: the first byte picks the file name (and so the path: zip /
 * OOXML / ODF / PDF / HTML / MIME / text / TNEF / RTF; TNEF and PDF are also
 * found by content under any name); the rest is classified as an
 * attachment, as header values and as text. Any input must end in a result,
 * never a crash, an over-read or an unbounded loop.
 */
#include <string.h>
#include <glib.h>

#include "classify.h"
#include "conf.h"
#include "fuzz.h"
#include "log.h"

static struct conf *fz_conf;
static struct classify_ctx *fz_ctx;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", false, false);
	fz_conf = conf_load(NULL, NULL);
	conf_set(fz_conf, "classify.max_inflated", "8M", NULL);
	conf_set(fz_conf, "classify.max_text", "1M", NULL);
	fz_ctx = classify_new(fz_conf, NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"a.docx", "a.xlsx", "a.pptx", "a.odt", "a.pdf", "a.zip", "a.eml", "a.html", "a.txt", "a.csv", "a",
		"winmail.dat", "a.rtf",
	};
	static const char *const headers[] = { "msip_labels", "Subject", "Sensitivity", "SIO-Label" };
	struct classify_result r;
	const char *name;
	char *text;
	size_t i;

	if (fz_ctx == NULL || size == 0)
		return 0;
	name = names[data[0] % G_N_ELEMENTS(names)];
	classify_result_init(&r);
	classify_buffer(fz_ctx, name, strcmp(name, "winmail.dat") == 0 ? "application/ms-tnef" : NULL, data + 1,
		size - 1, &r);
	classify_finish(fz_ctx, &r, true);
	classify_result_clear(&r);
	if (size > 65536)
		return 0;
	text = g_strndup((const char *)data + 1, size - 1);
	classify_result_init(&r);
	for (i = 0; i < G_N_ELEMENTS(headers); i++)
		classify_header(fz_ctx, headers[i], text, &r);
	classify_text(fz_ctx, "fuzz", (const char *)data + 1, size - 1, &r);
	classify_finish(fz_ctx, &r, false);
	classify_result_clear(&r);
	g_free(text);
	return 0;
}
