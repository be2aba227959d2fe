/*
 * test_classify_empty.c - empty inputs through the classifier (a possibly
 * NULL GByteArray->data must never reach memcpy/memcmp/memchr or a function
 * that rejects NULL; UBSan in the ASan build, make asan, reports it): a part
 * of no bytes under every declared type and name that picks a reader (EML,
 * HTML, TNEF, PDF, ZIP, RTF, text), fed through a job with no data at all
 * and as a buffer of length 0; a ZIP whose members (stored and deflated)
 * are all empty, one per reader; a PDF with empty streams (plain, an empty
 * FlateDecode object stream) and an empty string shown in its content.
 */
#include <string.h>
#include <glib.h>

#include "classify.h"
#include "conf.h"
#include "encoding.h"
#include "unit.h"

/* a.txt stored, b.eml c.pdf winmail.dat d.html e.rtf f.zip deflated, each 0 bytes (Python zipfile) */
static const char zip_hex[] =
	"504b03041400000000000000210000000000000000000000000005000000612e747874504b0304140000000800000021"
	"0000000000020000000000000005000000622e656d6c0300504b03041400000008000000210000000000020000000000"
	"000005000000632e7064660300504b0304140000000800000021000000000002000000000000000b00000077696e6d61"
	"696c2e6461740300504b03041400000008000000210000000000020000000000000006000000642e68746d6c0300504b"
	"03041400000008000000210000000000020000000000000005000000652e7274660300504b0304140000000800000021"
	"0000000000020000000000000005000000662e7a69700300504b01021403140000000000000021000000000000000000"
	"00000000050000000000000000000000800100000000612e747874504b01021403140000000800000021000000000002"
	"00000000000000050000000000000000000000800123000000622e656d6c504b01021403140000000800000021000000"
	"00000200000000000000050000000000000000000000800148000000632e706466504b01021403140000000800000021"
	"000000000002000000000000000b000000000000000000000080016d00000077696e6d61696c2e646174504b01021403"
	"14000000080000002100000000000200000000000000060000000000000000000000800198000000642e68746d6c504b"
	"01021403140000000800000021000000000002000000000000000500000000000000000000008001be000000652e7274"
	"66504b01021403140000000800000021000000000002000000000000000500000000000000000000008001e300000066"
	"2e7a6970504b050600000000070007006c010000080100000000";

static const char pdf[] =
	"%PDF-1.4\n"
	"1 0 obj<</Length 0>>stream\nendstream\nendobj\n"
	"2 0 obj<</Length 11>>stream\nBT () Tj ET\nendstream\nendobj\n"
	"3 0 obj<</Length 0/Filter/FlateDecode/Type/ObjStm/N 1/First 0>>stream\nendstream\nendobj\n"
	"4 0 obj<</Length 2/Filter/FlateDecode>>stream\n\x03\x00\nendstream\nendobj\n"
	"trailer<</Root 1 0 R>>\n%%EOF\n";

static const char *const empties[][2] = {
	{ "leer.txt", "text/plain" }, { "leer.eml", NULL }, { NULL, "message/rfc822" },
	{ "leer.html", "text/html" }, { "winmail.dat", "application/ms-tnef" },
	{ "leer.pdf", "application/pdf" }, { "leer.zip", "application/zip" },
	{ "leer.rtf", "application/rtf" }, { NULL, NULL },
};

static void
test_empty_parts(const struct classify_ctx *ctx)
{
	for (size_t i = 0; i < G_N_ELEMENTS(empties); i++) {
		const char *name = empties[i][0], *type = empties[i][1];
		struct classify_result r;
		struct classify_job *job = classify_job_new(ctx, name, type);
		bool ok;

		classify_result_init(&r);
		classify_job_finish(job, &r);   /* nothing fed: its buffer has no data pointer */
		ok = g_strcmp0(r.true_type, "application/x-empty") == 0 && r.reasons != NULL &&
		    strstr(r.reasons, "bomb") == NULL;
		classify_result_clear(&r);
		CHECK(ok, "an empty part %s (%s), no data fed: true type application/x-empty, no bomb",
			name ? name : "-", type ? type : "-");
		classify_result_init(&r);
		ok = classify_buffer(ctx, name, type, "", 0, &r) == 0 &&
		    g_strcmp0(r.true_type, "application/x-empty") == 0;
		classify_result_clear(&r);
		CHECK(ok, "the same as a buffer of 0 bytes");
	}
}

static void
test_empty_members(const struct classify_ctx *ctx)
{
	size_t n = sizeof zip_hex / 2;
	unsigned char *zip = g_malloc(n);
	struct classify_result r;
	bool ok;

	CHECK(enc_hex_decode(zip_hex, zip, n) == 0, "the ZIP decodes (%zu bytes)", n);
	classify_result_init(&r);
	ok = classify_buffer(ctx, "leer.zip", "application/zip", zip, n, &r) == 0 &&
	    g_strcmp0(r.true_type, "application/zip") == 0 && strstr(r.reasons, "bomb") == NULL;
	classify_result_clear(&r);
	CHECK(ok, "a ZIP of empty members (stored, deflated; .eml .pdf .dat .html .rtf .zip) is read");
	g_free(zip);
	classify_result_init(&r);
	ok = classify_buffer(ctx, "leer.pdf", "application/pdf", pdf, sizeof pdf - 1, &r) == 0 &&
	    g_strcmp0(r.true_type, "application/pdf") == 0 && strstr(r.reasons, "bomb") == NULL;
	classify_result_clear(&r);
	CHECK(ok, "a PDF with empty streams and an empty shown string is read");
}

int
main(void)
{
	struct conf *c;
	struct classify_ctx *ctx;

	/* a NULL buffer handed to GMime is a critical warning, not a crash: make it one */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	c = conf_load(NULL, NULL);
	ctx = classify_new(c, NULL);
	CHECK(ctx != NULL, "classify_new");
	if (ctx != NULL) {
		test_empty_parts(ctx);
		test_empty_members(ctx);
		classify_free(ctx);
	}
	conf_free(c);
	return unit_done();
}
