/*
 * test_b64dec.c - the fast base64 decoder (common/b64dec.c) and its stream
 * (pipeline/b64stream.c) decode every input exactly like GMime's base64
 * filter: every base64 part of tests/data/corpus, and random encodings with
 * any line length, LF or CRLF, blanks, missing or extra padding, garbage,
 * stray '=' and cuts, read in large and tiny pieces. The flags say what was
 * lost: clean encodings are clean, data after a pad and cut groups are not.
 */
#include "b64dec.h"
#include "b64stream.h"

#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "unit.h"

/* gmime_decode - the reference: GMime's filter stream over in */
static GByteArray *
gmime_decode(const unsigned char *in, size_t len)
{
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(len ? (const char *)in : "", len);
	GMimeStream *f = g_mime_stream_filter_new(mem);
	GMimeFilter *dec = g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_BASE64, FALSE);
	GByteArray *out = g_byte_array_new();
	char buf[4096];
	ssize_t n;

	g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), dec);
	while ((n = g_mime_stream_read(f, buf, sizeof buf)) > 0)
		g_byte_array_append(out, (guint8 *)buf, (guint)n);
	g_object_unref(dec);
	g_object_unref(f);
	g_object_unref(mem);
	return out;
}

/* ours_stream - b64stream over in, reading rd bytes at a time; *flags set */
static GByteArray *
ours_stream(const unsigned char *in, size_t len, size_t rd, unsigned *flags, bool *lost)
{
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(len ? (const char *)in : "", len);
	GMimeStream *s = b64stream_new(mem);
	GByteArray *out = g_byte_array_new();
	char *buf = g_malloc(rd);
	ssize_t n;

	while ((n = g_mime_stream_read(s, buf, rd)) > 0)
		g_byte_array_append(out, (guint8 *)buf, (guint)n);
	*flags = b64stream_flags(s);
	*lost = b64stream_lost(s);
	g_free(buf);
	g_object_unref(s);
	g_object_unref(mem);
	return out;
}

/* ours_steps - b64dec_step over in cut into random pieces */
static GByteArray *
ours_steps(const unsigned char *in, size_t len, GRand *r, unsigned *flags)
{
	struct b64dec d;
	GByteArray *out = g_byte_array_new();
	size_t off = 0;

	b64dec_init(&d);
	while (off < len) {
		size_t k = (size_t)g_rand_int_range(r, 1, 200);
		guint old = out->len;

		k = MIN(k, len - off); /* MIN evaluates its arguments twice */
		g_byte_array_set_size(out, old + B64DEC_OUTLEN(k));
		g_byte_array_set_size(out, old + b64dec_step(&d, in + off, k, out->data + old));
		off += k;
	}
	*flags = b64dec_finish(&d);
	return out;
}

static bool
same(const GByteArray *a, const GByteArray *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static unsigned n_compared, n_differ;
static char first_differ[256];

/* compare_done - one check for all compare() calls since the last */
static void
compare_done(const char *what)
{
	CHECK(n_differ == 0, "%s: %u inputs decode like GMime in every way (%u differ, first: %s)", what,
		n_compared, n_differ, n_differ ? first_differ : "-");
	n_compared = n_differ = 0;
}

/* compare - all our ways against GMime; returns the stream's flags */
static unsigned
compare(const unsigned char *in, size_t len, GRand *r, const char *what)
{
	static const size_t reads[] = { 256 * 1024, 4096, 63, 7, 1 };
	GByteArray *ref = gmime_decode(in, len), *got;
	unsigned flags = 0, f2;
	bool lost, ok = true;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(reads); i++) {
		if (reads[i] < 64 && len > 20000)
			continue; /* tiny reads of big inputs: slow, nothing new */
		got = ours_stream(in, len, reads[i], &f2, &lost);
		if (g_getenv("B64_DEBUG") && !same(ref, got))
			g_printerr("read %zu: got %u\n", reads[i], got->len);
		ok = ok && same(ref, got) && (i == 0 || f2 == flags);
		flags = f2;
		g_byte_array_unref(got);
	}
	got = ours_steps(in, len, r, &f2);
	if (g_getenv("B64_DEBUG") && (!same(ref, got) || f2 != flags))
		g_printerr("steps: got %u flags %u/%u\n", got->len, f2, flags);
	ok = ok && same(ref, got) && f2 == flags;
	g_byte_array_unref(got);
	n_compared++;
	if (!ok && g_getenv("B64_DEBUG"))
		g_printerr("DIFF %s ref=%u: %.*s\n", what, ref->len, (int)MIN(len, 300), in);
	if (!ok && n_differ++ == 0)
		g_snprintf(first_differ, sizeof first_differ, "%s (%zu bytes)", what, len);
	g_byte_array_unref(ref);
	return flags;
}

/* encode - base64 of data in lines of ll characters (0: one line), CRLF or LF */
static GString *
encode(const unsigned char *data, size_t len, unsigned ll, bool crlf)
{
	gchar *b = g_base64_encode(data, len);
	GString *s = g_string_new(NULL);
	size_t i, n = strlen(b);

	for (i = 0; i < n; i += ll ? ll : n) {
		g_string_append_len(s, b + i, (gssize)MIN(ll ? ll : n, n - i));
		g_string_append(s, crlf ? "\r\n" : "\n");
	}
	g_free(b);
	return s;
}

static void
test_clean(GRand *r)
{
	unsigned i, bad = 0;

	for (i = 0; i < 300; i++) {
		size_t len = (size_t)g_rand_int_range(r, 0, i < 250 ? 600 : 70000);
		unsigned char *data = g_malloc(len + 1);
		unsigned ll = (unsigned)g_rand_int_range(r, 0, 120);
		GString *e;
		GByteArray *ref;
		size_t k;

		for (k = 0; k < len; k++)
			data[k] = (unsigned char)g_rand_int(r);
		e = encode(data, len, ll, g_rand_boolean(r));
		if (compare((unsigned char *)e->str, e->len, r, "clean") != 0)
			bad++;
		ref = gmime_decode((unsigned char *)e->str, e->len);
		if (ref->len != len || (len > 0 && memcmp(ref->data, data, len) != 0))
			bad++;
		g_byte_array_unref(ref);
		g_string_free(e, TRUE);
		g_free(data);
	}
	compare_done("clean encodings");
	CHECK(bad == 0, "300 clean encodings (any line length, LF/CRLF) decode whole with no flags (%u bad)",
		bad);
}

/* mangle - one random damage of the kind mail shows */
static void
mangle(GString *e, GRand *r)
{
	static const char *const junk[] = { "=", "==", "-", "!", "\t", " ", "\r\n", "\n\n", "=\n",
		"AB", "Q", "--boundary--", "\xff", "===", "\r" };
	int what = g_rand_int_range(r, 0, 4);
	gsize at = e->len ? (gsize)g_rand_int_range(r, 0, (gint32)e->len + 1) : 0;

	if (what == 0)
		g_string_insert(e, (gssize)at, junk[g_rand_int_range(r, 0, G_N_ELEMENTS(junk))]);
	else if (what == 1)
		g_string_truncate(e, at);
	else if (what == 2 && at < e->len)
		g_string_erase(e, (gssize)at, 1);
	else
		g_string_append(e, junk[g_rand_int_range(r, 0, G_N_ELEMENTS(junk))]);
}

static void
test_damaged(GRand *r)
{
	unsigned i;

	for (i = 0; i < 1500; i++) {
		size_t len = (size_t)g_rand_int_range(r, 0, 400);
		unsigned char *data = g_malloc(len + 1);
		GString *e;
		size_t k;
		int m, nm = g_rand_int_range(r, 1, 4);

		for (k = 0; k < len; k++)
			data[k] = (unsigned char)g_rand_int(r);
		e = encode(data, len, (unsigned)g_rand_int_range(r, 0, 100), g_rand_boolean(r));
		for (m = 0; m < nm; m++)
			mangle(e, r);
		compare((unsigned char *)e->str, e->len, r, "damaged");
		g_string_free(e, TRUE);
		g_free(data);
	}
	for (i = 0; i < 300; i++) { /* arbitrary bytes */
		size_t k, len = (size_t)g_rand_int_range(r, 0, 300);
		unsigned char *data = g_malloc(len + 1);

		for (k = 0; k < len; k++)
			data[k] = (unsigned char)g_rand_int(r);
		compare(data, len, r, "random bytes");
		g_free(data);
	}
	compare_done("damaged encodings and random bytes");
}

static void
flag_case(const char *in, unsigned want, bool lost, const char *what)
{
	GByteArray *got;
	unsigned f;
	bool l;

	got = ours_stream((const unsigned char *)in, strlen(in), 4096, &f, &l);
	CHECK(f == want && l == lost, "%s: flags %u (want %u), lost %d", what, f, want, lost);
	g_byte_array_unref(got);
}

static void
test_flags(void)
{
	flag_case("SGVsbG8=\r\n", 0, false, "padded");
	flag_case("SGVsbG8h\r\nSGk=\r\n\r\n", 0, false, "two lines");
	flag_case("SGVsbG8=\r\nSGVsbG8=\r\n", B64DEC_AFTER_END, true, "data after the pad");
	flag_case("SGVsbG8=\r\n-- \r\n", B64DEC_GARBAGE, false, "signature junk after the pad");
	flag_case("SGVsbG8", B64DEC_LOST_TAIL, true, "unpadded last group");
	flag_case("SGVsbG8h\r\nS", B64DEC_LOST_TAIL, true, "one dangling character (a cut)");
	flag_case("SGVs=bG8h", B64DEC_BAD_PAD | B64DEC_AFTER_END, true, "a pad inside");
	flag_case("SGV*sbG8h", B64DEC_GARBAGE, false, "garbage inside");
	flag_case("", 0, false, "empty");
}

/* corpus_part - every base64 leaf of a corpus message */
static void
corpus_part(GMimeObject *parent, GMimeObject *part, gpointer arg)
{
	GRand *r = arg;
	GMimeDataWrapper *w;
	GMimeStream *raw;
	GByteArray *bytes;

	(void)parent;
	if (!GMIME_IS_PART(part))
		return;
	w = g_mime_part_get_content(GMIME_PART(part));
	if (w == NULL || g_mime_data_wrapper_get_encoding(w) != GMIME_CONTENT_ENCODING_BASE64)
		return;
	raw = g_mime_data_wrapper_get_stream(w);
	g_mime_stream_reset(raw);
	bytes = g_byte_array_new();
	{
		char buf[4096];
		ssize_t n;

		while (!g_mime_stream_eos(raw) && (n = g_mime_stream_read(raw, buf, sizeof buf)) > 0)
			g_byte_array_append(bytes, (guint8 *)buf, (guint)n);
	}
	compare(bytes->data, bytes->len, r, "corpus part");
	g_byte_array_unref(bytes);
}

static void
test_corpus(GRand *r)
{
	char *dir = g_build_filename(unit_srcdir(), "tests", "data", "corpus", NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	unsigned files = 0;

	CHECK(d != NULL, "corpus directory %s", dir);
	while (d && (name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL);
		gchar *data = NULL;
		gsize len = 0;

		if (g_file_test(path, G_FILE_TEST_IS_REGULAR) && g_file_get_contents(path, &data, &len, NULL)) {
			GMimeStream *st = g_mime_stream_mem_new_with_buffer(data, len);
			GMimeParser *p = g_mime_parser_new_with_stream(st);
			GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

			if (m != NULL) {
				g_mime_message_foreach(m, corpus_part, r);
				g_object_unref(m);
			}
			/* the whole file as base64 input: headers, boundaries, anything */
			compare((unsigned char *)data, len, r, name);
			g_object_unref(p);
			g_object_unref(st);
			files++;
		}
		g_free(data);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
	compare_done("corpus: base64 parts and whole files");
	CHECK(files > 100, "corpus: %u files", files);
	g_free(dir);
}

int
main(void)
{
	GRand *r = g_rand_new_with_seed(15);

	g_mime_init();
	test_flags();
	test_clean(r);
	test_damaged(r);
	test_corpus(r);
	g_rand_free(r);
	g_mime_shutdown();
	return unit_done();
}
