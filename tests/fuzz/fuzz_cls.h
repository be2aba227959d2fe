/*
 * fuzz_cls.h - what the extractor and label fuzz targets share: a classify
 * context with the default settings (smaller [classify] max_inflated and
 * max_text so one input stays fast) and a fresh scan budget per input, as
 * classify_buffer() would start one. Included by one target each (static).
 */
#ifndef OFFLOAD_FUZZ_CLS_H
#define OFFLOAD_FUZZ_CLS_H

#include <string.h>
#include <glib.h>

#include "classify_extract.h"
#include "conf.h"
#include "fuzz.h"
#include "log.h"

static struct conf *fz_conf;
static struct classify_ctx *fz_ctx;

static void
fz_cls_init(void)
{
	log_init("fuzz", false, false); /* hostile input is expected to fail: keep it quiet */
	fz_conf = conf_load(NULL, NULL);
	conf_set(fz_conf, "classify.max_inflated", "8M", NULL);
	conf_set(fz_conf, "classify.max_text", "1M", NULL);
	fz_ctx = classify_new(fz_conf, NULL);
}

/* fz_scan - a new attachment's budget (depth 0, marking position: edges) */
static void
fz_scan(struct cls_scan *s)
{
	memset(s, 0, sizeof *s);
	s->ctx = fz_ctx;
	s->vs_pos = CLS_VS_EDGES;
}

/* fz_member - one archive member's bytes as the ZIP reader hands them on
 * (classify_zip.c cls_zip_use): custom properties, LabelInfo, an embedded
 * file, or XML text by the member's rules, detectors and VS markings */
G_GNUC_UNUSED static void
fz_member(enum cls_zkind kind, const char *m, const char *x, size_t n, struct classify_result *res)
{
	bool custom = false, labelinfo = false, embedded = false;
	const struct cls_xml_rules *rules = cls_member_rules(kind, m, &custom, &labelinfo, &embedded);
	struct cls_scan scan;
	GString *text;

	fz_scan(&scan);
	if (custom) {
		cls_custom_props(fz_ctx, x, n, res);
		return;
	}
	if (labelinfo) {
		cls_label_info(fz_ctx, x, n, res);
		return;
	}
	if (embedded) {
		scan.depth = 1;
		cls_part(&scan, m, NULL, (const unsigned char *)x, n, res);
		return;
	}
	if (rules == NULL)
		return;
	text = g_string_new("");
	if (cls_xml_text(x, n, rules, (size_t)fz_ctx->max_text, text))
		cls_detect(fz_ctx, m, text->str, text->len, res);
	cls_vs_marking(m, text->str, text->len, cls_member_vs(kind, m), res);
	if (kind == CLS_Z_ODF && strcmp(m, "styles.xml") == 0)
		cls_vs_odf_styles(&scan, m, x, n, rules, res);
	g_string_free(text, TRUE);
}

/* fz_archive - a whole archive through the ZIP reader, as an attachment named name */
G_GNUC_UNUSED static void
fz_archive(const char *name, const uint8_t *data, size_t size)
{
	struct classify_result r;
	struct cls_scan scan;

	fz_scan(&scan);
	classify_result_init(&r);
	cls_extract_zip(&scan, name, data, size, &r);
	classify_finish(fz_ctx, &r, true);
	classify_result_clear(&r);
}

#endif
