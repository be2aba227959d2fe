/*
 * test_early_cls.c - the classification of the early-offloaded leaf in the
 * worker's stream (pipeline/early_cls.c, early.c; docs/ARCHITECTURE.md
 * "Early offload"):
 *  1. early_cls_job names and types a leaf from its header block as the
 *     classification at end of message names the deferred part (GMime's
 *     parse of a whole message, classify_message_gmime_defer):
 *     classify_pending_match holds for quoted, RFC 2231 (also continued),
 *     RFC 2047, folded, Content-Type name only, no Content-Type, raw 8-bit;
 *     no file name gives no job; a job for another part does not match.
 *  2. a job's result does not depend on how its bytes are cut into feeds
 *     (the worker feeds the decode of each spool read; end of message fed
 *     the decode of 256 KiB reads): every classify test file, a long text
 *     with planted IBANs, a PDF, opaque bytes over CLS_MAGIC_BYTES, each
 *     with the default max_text and with 64 KiB (windows, not-inspectable),
 *     fed whole and in pieces of several sizes, feeding stopped at a piece's
 *     end once classify_job_done says more cannot change the result.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "classify.h"
#include "conf.h"
#include "early.h"
#include "unit.h"

/* ---- 1. names ---------------------------------------------------------- */

static const char *const blocks[] = {
	"Content-Type: text/csv; name=\"ledger.csv\"\nContent-Disposition: attachment; filename=\"ledger.csv\"\n"
	"Content-Transfer-Encoding: base64\n",
	"Content-Type: text/csv\nContent-Disposition: attachment;\n filename*=UTF-8''Geb%C3%BChren%20%C3%BCbersicht.csv\n"
	"Content-Transfer-Encoding: base64\n",
	"Content-Type: application/pdf\nContent-Disposition: attachment;\n filename*0*=UTF-8''Sehr%20lange%20;\n"
	" filename*1*=Datei%C3%A4.pdf\nContent-Transfer-Encoding: base64\n",
	"Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"=?UTF-8?B?w5xiZXJzaWNodC5wZGY=?=\"\n"
	"Content-Transfer-Encoding: base64\n",
	"Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;\n\tname=\"Bericht 2026.docx\"\n"
	"Content-Transfer-Encoding: base64\n",
	"Content-Disposition: attachment;\n\tfilename=\"ohne typ.txt\"\nContent-Transfer-Encoding: base64\n",
	"Content-Type: text/plain; charset=iso-8859-1\nContent-Disposition: attachment; filename=\"Gr\xfc\xdf" "e.txt\"\n"
	"Content-Transfer-Encoding: base64\n",
	"Content-Type: Application/PDF; name=a.pdf\nContent-Disposition: inline; filename=b.pdf\n"
	"Content-Transfer-Encoding: base64\n",
};

/* deferred - the defer function: the second leaf, "1.2" */
static bool
deferred(GMimeObject *part, const char *path, void *arg)
{
	(void)part;
	(void)arg;
	return strcmp(path, "1.2") == 0;
}

/* message_with - a message whose second part has the header block hdr (CRLF, as spooled) */
static GMimeMessage *
message_with(const char *hdr)
{
	GString *m = g_string_new("From: a@example.org\r\nTo: b@example.net\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhallo\r\n--b\r\n");
	char **lines = g_strsplit(hdr, "\n", -1);
	GMimeStream *st;
	GMimeParser *ps;
	GMimeMessage *msg;

	for (char **l = lines; *l != NULL && **l != '\0'; l++)
		g_string_append_printf(m, "%s\r\n", *l);
	g_string_append(m, "\r\nSGFsbG8gV2VsdA==\r\n--b--\r\n");
	g_strfreev(lines);
	st = g_mime_stream_mem_new_with_buffer(m->str, m->len);
	ps = g_mime_parser_new_with_stream(st);
	msg = g_mime_parser_construct_message(ps, NULL);
	g_object_unref(ps);
	g_object_unref(st);
	g_string_free(m, TRUE);
	return msg;
}

static void
test_names(const struct classify_ctx *ctx)
{
	for (size_t i = 0; i < G_N_ELEMENTS(blocks); i++) {
		GMimeMessage *msg = message_with(blocks[i]);
		struct classify_result r;
		struct classify_job *job = early_cls_job(ctx, blocks[i]);

		classify_result_init(&r);
		classify_message_gmime_defer(ctx, msg, true, deferred, NULL, &r);
		CHECK(job != NULL && classify_pending_count(&r) == 1 && classify_pending_match(&r, "1.2", job),
			"header block %zu: the early job is named and typed as the deferred part", i);
		CHECK(job == NULL || !classify_pending_match(&r, "1.1", job), "block %zu: not another part", i);
		classify_job_discard(job);
		classify_result_clear(&r);
		g_object_unref(msg);
	}
	CHECK(early_cls_job(ctx, "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n") == NULL,
		"no file name: no early job (the part's name would be its MIME path)");
	{
		struct classify_job *a = early_cls_job(ctx, blocks[0]);
		GMimeMessage *msg = message_with(blocks[1]);
		struct classify_result r;

		classify_result_init(&r);
		classify_message_gmime_defer(ctx, msg, true, deferred, NULL, &r);
		CHECK(a != NULL && !classify_pending_match(&r, "1.2", a), "a job named for another file does not match");
		classify_job_discard(a);
		classify_result_clear(&r);
		g_object_unref(msg);
	}
}

/* ---- 2. feeds ---------------------------------------------------------- */

/* result_text - everything of a part result that reaches a header, the log or the audit */
static void
result_text(GString *s, const struct classify_result *r)
{
	g_string_append_printf(s, "level=%d vs=%d action=%d body=%d pw=%d names=%d type=%s name=%s decl=%s\n",
		r->level_index, r->vs, r->action, r->body_action, r->password, r->notice_filenames,
		r->true_type ? r->true_type : "-", r->name ? r->name : "-", r->declared_type ? r->declared_type : "-");
	for (guint i = 0; r->reason_list != NULL && i < r->reason_list->len; i++) {
		const struct classify_reason *x = &g_array_index(r->reason_list, struct classify_reason, i);

		g_string_append_printf(s, "reason %s:%u\n", x->name, x->count);
	}
	for (guint i = 0; r->findings != NULL && i < r->findings->len; i++) {
		const struct classify_finding *f = g_ptr_array_index(r->findings, i);

		g_string_append_printf(s, "finding %s|%s|%s\n", f->reason, f->where ? f->where : "",
			f->masked ? f->masked : "");
	}
	for (guint i = 0; r->parts != NULL && i < r->parts->len; i++)
		result_text(s, g_ptr_array_index(r->parts, i));
}

/* fed - the result of data fed in pieces of step bytes (0: whole), stopped at a
 * piece's end once the job is done, as the early worker and leaf_stream do */
static char *
fed(const struct classify_ctx *ctx, const char *name, const char *type, const guint8 *data, size_t len,
	size_t step)
{
	struct classify_job *job = classify_job_new(ctx, name, type);
	struct classify_result r;
	GString *s = g_string_new(NULL);
	size_t at = 0;

	while (at < len && !classify_job_done(job)) {
		size_t n = step == 0 ? len : MIN(step, len - at);

		classify_job_feed(job, data + at, n);
		at += n;
	}
	classify_result_init(&r);
	classify_job_finish(job, &r);
	result_text(s, &r);
	classify_result_clear(&r);
	return g_string_free(s, FALSE);
}

static void
check_feeds(const struct classify_ctx *ctx, const char *label, const char *name, const char *type,
	const guint8 *data, size_t len)
{
	static const size_t steps[] = { 1000003, 262144, 196605, 65536, 4093, 1 };
	char *whole = fed(ctx, name, type, data, len, 0);
	bool same = true;

	for (size_t i = 0; i < G_N_ELEMENTS(steps) && same; i++) {
		char *p;

		if (steps[i] == 1 && len > 200000)
			continue; /* byte by byte only for the small files */
		p = fed(ctx, name, type, data, len, steps[i]);
		same = strcmp(whole, p) == 0;
		if (!same)
			fprintf(stderr, "# %s in pieces of %zu:\n%s# whole:\n%s", label, steps[i], p, whole);
		g_free(p);
	}
	CHECK(same, "%s (%zu bytes): the same result fed whole and in pieces", label, len);
	g_free(whole);
}

/* long_text - n bytes of ledger lines, with phone numbers and now and then a valid IBAN
 * (DE89 3704 0044 0532 0130 00) only between 200 and 400 kB: with max_text 64K the findings
 * kept come from windows in the middle (named "from byte N") */
static GByteArray *
long_text(size_t n)
{
	GByteArray *b = g_byte_array_new();
	unsigned i = 0;

	while (b->len < n) {
		char line[160];
		int k = b->len < 200000 || b->len >= 400000 ? snprintf(line, sizeof line, "%u;Schmidt;Rechnung vom 3. Mai;%u,50\r\n", i, i * 7) :
			snprintf(line, sizeof line, i % 97 == 5 ? "%u;Müller;Zahlung;DE89370400440532013000;%u,00\r\n" :
			"%u;Schmidt;Rechnung vom 3. Mai;Tel. 0301234%04u;%u,50\r\n", i, i % 10000, i * 7);

		g_byte_array_append(b, (const guint8 *)line, (guint)k);
		i++;
	}
	return b;
}

static void
test_feeds(const struct classify_ctx *ctx, const char *cfg)
{
	const char *dir = "tests/data/classify";
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *f;
	GByteArray *t = long_text(3 * 1024 * 1024 + 777);
	guint8 *opaque = g_malloc(2 * 1024 * 1024 + 5);
	GRand *rnd = g_rand_new_with_seed(15);
	char *label;

	CHECK(d != NULL, "%s: open %s", cfg, dir);
	while (d != NULL && (f = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, f, NULL), *data = NULL;
		gsize len = 0;

		if (g_str_has_suffix(f, ".py") || g_str_has_suffix(f, ".tsv") ||
		    !g_file_get_contents(path, &data, &len, NULL)) {
			g_free(path);
			continue;
		}
		label = g_strdup_printf("%s: %s", cfg, f);
		check_feeds(ctx, label, f, NULL, (const guint8 *)data, len);
		g_free(label);
		g_free(data);
		g_free(path);
	}
	if (d != NULL)
		g_dir_close(d);
	label = g_strdup_printf("%s: a 3 MiB ledger with IBANs", cfg);
	check_feeds(ctx, label, "ledger.csv", "text/csv", t->data, t->len);
	g_free(label);
	for (size_t i = 0; i < 2 * 1024 * 1024 + 5; i++)
		opaque[i] = (guint8)g_rand_int(rnd);
	label = g_strdup_printf("%s: 2 MiB of random bytes", cfg);
	check_feeds(ctx, label, "p.bin", "application/octet-stream", opaque, 2 * 1024 * 1024 + 5);
	g_free(label);
	g_rand_free(rnd);
	g_free(opaque);
	g_byte_array_unref(t);
}

int
main(void)
{
	struct conf *c;
	struct classify_ctx *ctx;

	g_mime_init();
	c = conf_load(NULL, NULL);
	ctx = classify_new(c, NULL);
	CHECK(ctx != NULL, "classify_new");
	test_names(ctx);
	test_feeds(ctx, "max_text 16M");
	classify_free(ctx);
	CHECK(conf_set(c, "classify.max_text", "64K", NULL) == 0, "max_text 64K");
	ctx = classify_new(c, NULL);
	test_feeds(ctx, "max_text 64K");
	classify_free(ctx);
	conf_free(c);
	g_mime_shutdown();
	return unit_done();
}
