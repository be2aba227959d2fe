/*
 * fuzz_b64dec.c - differential: the fast base64 decoder (common/b64dec.c,
 * through pipeline/b64stream.c) against GMime's base64 filter on any bytes
 * (different output aborts), and each SIMD path this CPU has (SSSE3, AVX2;
 * common/b64dec_simd.c) against the scalar path, in steps cut where the input
 * says, each step's input and output room an allocation of its own (ASan sees
 * a byte past either): different output, flags, counts or end state abort.
 */
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "b64dec.h"
#include "b64dec_simd.h"
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

/* steps - data decoded by path level in steps whose lengths come from the data's bytes (a
 * 1-in-4 long step, else 1-64 bytes); the output and the end state (flags in d) */
static GByteArray *
steps(unsigned level, const uint8_t *data, size_t size, struct b64dec *d)
{
	GByteArray *out = g_byte_array_new();
	size_t off = 0, i = 0;

	b64dec_simd_use(level);
	b64dec_init(d);
	while (off < size) {
		uint8_t c = data[(i++ * 7919) % size];
		size_t k = MIN(c % 4 == 0 ? size : (size_t)(c / 4 + 1), size - off);
		uint8_t *in = g_memdup2(data + off, k), *o = g_malloc(B64DEC_OUTLEN(k));
		size_t n = b64dec_step(d, in, k, o);

		g_byte_array_append(out, o, (guint)n);
		g_free(in);
		g_free(o);
		off += k;
	}
	d->flags = b64dec_finish(d);
	return out;
}

/* paths - every SIMD path against the scalar one */
static void
paths(const uint8_t *data, size_t size)
{
	struct b64dec ds, dv;
	GByteArray *ref = steps(B64DEC_SCALAR, data, size, &ds), *got;
	unsigned level, best = b64dec_simd_best();

	for (level = B64DEC_SSSE3; level <= best; level++) {
		got = steps(level, data, size, &dv);
		if (got->len != ref->len || (ref->len > 0 && memcmp(got->data, ref->data, ref->len) != 0) ||
			ds.bits != dv.bits || ds.n != dv.n || ds.ended != dv.ended || ds.flags != dv.flags ||
			ds.garbage != dv.garbage || ds.after != dv.after)
			abort();
		g_byte_array_unref(got);
	}
	g_byte_array_unref(ref);
	b64dec_simd_use(best);
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
	paths(data, size);
	return 0;
}
