/*
 * fuzz_b64dec.c - differential: the fast base64 decoder (common/b64dec.c,
 * through pipeline/b64stream.c) against GMime's base64 filter on any bytes.
 * Different output, or flags that call clean input lossy, abort.
 */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "b64dec.h"
#include "b64stream.h"
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_mime_init();
	return 0;
}

/* drain - everything s yields, read rd bytes at a time */
static GByteArray *
drain(GMimeStream *s, size_t rd)
{
	GByteArray *out = g_byte_array_new();
	char buf[8192];
	ssize_t n;

	while ((n = g_mime_stream_read(s, buf, MIN(rd, sizeof buf))) > 0)
		g_byte_array_append(out, (guint8 *)buf, (guint)n);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GMimeStream *m1 = g_mime_stream_mem_new_with_buffer(size ? (const char *)data : "", size);
	GMimeStream *m2 = g_mime_stream_mem_new_with_buffer(size ? (const char *)data : "", size);
	GMimeStream *f = g_mime_stream_filter_new(m1), *o = b64stream_new(m2);
	GMimeFilter *dec = g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_BASE64, FALSE);
	GByteArray *want, *got;

	g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), dec);
	want = drain(f, sizeof(char[8192]));
	got = drain(o, size % 2 ? 8192 : 5); /* large reads and the short-read path */
	if (want->len != got->len || (want->len > 0 && memcmp(want->data, got->data, want->len) != 0))
		abort();
	g_byte_array_unref(want);
	g_byte_array_unref(got);
	g_object_unref(dec);
	g_object_unref(f);
	g_object_unref(o);
	g_object_unref(m1);
	g_object_unref(m2);
	return 0;
}
