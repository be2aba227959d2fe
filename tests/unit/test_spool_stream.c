/*
 * test_spool_stream.c - the read-buffered spool stream (pipeline/spool_stream.c)
 * reads what GMimeStreamFs reads: every byte in order whatever the read sizes
 * (across buffer refills), after a seek, through a bounded substream, and GMime
 * parses a message from it into the same message as from GMimeStreamFs.
 */
#include "spool_stream.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "unit.h"

#define BIG (700u * 1024 + 77) /* more than two buffer fills */

static unsigned char data[BIG];

static int
open_ro(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* read_all - everything from st in reads of varied sizes */
static GByteArray *
read_all(GMimeStream *st)
{
	GByteArray *b = g_byte_array_new();
	char buf[70000];
	size_t sizes[] = { 1, 4096, 333, 65536, 70000, 17 };
	unsigned i = 0;
	ssize_t n;

	while ((n = g_mime_stream_read(st, buf, sizes[i++ % G_N_ELEMENTS(sizes)])) > 0)
		g_byte_array_append(b, (guint8 *)buf, (guint)n);
	return b;
}

/* written - a message parsed from st, written back */
static GByteArray *
written(GMimeStream *st)
{
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m;
	GMimeStream *out = g_mime_stream_mem_new();
	GByteArray *b = NULL;

	g_mime_parser_set_persist_stream(p, TRUE);
	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(p, NULL);
	if (m != NULL) {
		g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, out);
		b = g_byte_array_new();
		g_byte_array_append(b, g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out))->data,
			g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out))->len);
		g_object_unref(m);
	}
	g_object_unref(out);
	g_object_unref(p);
	return b;
}

static void
test_reads(const char *path)
{
	GMimeStream *st = spool_stream_new(open_ro(path)), *sub;
	GByteArray *b;
	char buf[100];

	b = read_all(st);
	CHECK(b->len == BIG && memcmp(b->data, data, BIG) == 0,
		"all %u bytes read in varied pieces, in order (%u)", BIG, b->len);
	CHECK(g_mime_stream_eos(st), "the stream is at its end");
	g_byte_array_unref(b);
	CHECK(g_mime_stream_seek(st, 300000, GMIME_STREAM_SEEK_SET) == 300000 &&
		g_mime_stream_read(st, buf, sizeof buf) == sizeof buf &&
		memcmp(buf, data + 300000, sizeof buf) == 0, "a read after a seek back");
	CHECK(g_mime_stream_seek(st, 5, GMIME_STREAM_SEEK_SET) == 5 &&
		g_mime_stream_read(st, buf, 10) == 10 && memcmp(buf, data + 5, 10) == 0 &&
		g_mime_stream_tell(st) == 15, "a read near the start after that, tell follows");
	sub = g_mime_stream_substream(st, 262140, 262150);
	b = read_all(sub);
	CHECK(b->len == 10 && memcmp(b->data, data + 262140, 10) == 0,
		"a substream across a buffer boundary reads its 10 bytes only");
	g_byte_array_unref(b);
	g_object_unref(sub);
	g_object_unref(st);
}

static void
test_parse(const char *name)
{
	char *path = g_build_filename(unit_srcdir(), "tests/data/corpus", name, NULL);
	GMimeStream *a = g_mime_stream_fs_new(open_ro(path)), *s = spool_stream_new(open_ro(path));
	GByteArray *wa = written(a), *ws = written(s);

	CHECK(wa != NULL && ws != NULL && wa->len == ws->len && memcmp(wa->data, ws->data, wa->len) == 0,
		"%s: the same message parsed from GMimeStreamFs and the spool stream", name);
	if (wa)
		g_byte_array_unref(wa);
	if (ws)
		g_byte_array_unref(ws);
	g_object_unref(a);
	g_object_unref(s);
	g_free(path);
}

int
main(void)
{
	char *path = g_build_filename(unit_tmpdir(), "spool", NULL);
	char *corpus = g_build_filename(unit_srcdir(), "tests/data/corpus", NULL);
	GDir *d;
	const char *n;
	unsigned i, parsed = 0;

	g_mime_init();
	for (i = 0; i < BIG; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	CHECK(g_file_set_contents(path, (const char *)data, BIG, NULL), "spool file written");
	test_reads(path);
	d = g_dir_open(corpus, 0, NULL);
	while (d != NULL && (n = g_dir_read_name(d)) != NULL && parsed < 40) {
		if (g_str_has_suffix(n, ".eml")) {
			test_parse(n);
			parsed++;
		}
	}
	CHECK(parsed >= 10, "%u corpus messages compared", parsed);
	if (d)
		g_dir_close(d);
	g_free(corpus);
	g_free(path);
	return unit_done();
}
