/*
 * test_prefetch.c - the portal's download read path (issue 15): the stream
 * reader decrypting straight into the caller's buffer and the read-ahead
 * thread. Whole files and ranges come back byte for byte; a tampered
 * segment is never visible: the bytes before it come out, then the error
 * (and again at every later read), and the caller's buffer holds no
 * plaintext of it.
 */
#include <string.h>
#include <glib.h>

#include "conf.h"
#include "crypto.h"
#include "envelope.h"
#include "portal_prefetch.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_stream.h"
#include "unit.h"

#define SEG 65536u
#define NSEG 21u
#define FSIZE ((size_t)NSEG * SEG + 777)
#define BAD_SEG 12u

static int
grab(void *arg, const void *buf, size_t len)
{
	g_byte_array_append(arg, buf, (guint)len);
	return 0;
}

/* read_all - everything a prefetch gives in reads of max bytes; the last
 * return value in *last */
static GByteArray *
read_all(struct portal_prefetch *pf, size_t max, long *last)
{
	GByteArray *b = g_byte_array_new();
	unsigned char *buf = g_malloc(max);
	int serr;
	long n;

	while ((n = portal_prefetch_read(pf, buf, max, &serr)) > 0)
		g_byte_array_append(b, buf, (guint)n);
	*last = n;
	g_free(buf);
	return b;
}

static void
test_ranges(struct storage *st, struct transfer *t, const unsigned char *data)
{
	static const struct { uint64_t off, len; size_t max; } rg[] = {
		{ 0, FSIZE, 1u << 19 }, { 0, FSIZE, 100000 }, { 70000, 1000000, 1u << 19 },
		{ 3 * SEG, 5 * SEG, 4 * SEG }, { FSIZE - 1, 1, 4096 }, { 5, 0, 4096 },
	};
	const struct transfer_file *f = g_ptr_array_index(t->files, 0);
	size_t i, good = 0;

	for (i = 0; i < G_N_ELEMENTS(rg); i++) {
		struct portal_prefetch *pf = portal_prefetch_new(st, t->id, 0, f->key, FSIZE, rg[i].off,
			rg[i].len);
		long last = -1;
		GByteArray *b = pf ? read_all(pf, rg[i].max, &last) : NULL;
		int serr;
		unsigned char c;

		if (b && last == 0 && b->len == rg[i].len &&
			(b->len == 0 || memcmp(b->data, data + rg[i].off, b->len) == 0) &&
			portal_prefetch_read(pf, &c, 1, &serr) == 0)
			good++;
		else
			CHECK(0, "range %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT ": %u bytes, last %ld",
				rg[i].off, rg[i].len, b ? b->len : 0, last);
		if (b)
			g_byte_array_free(b, TRUE);
		portal_prefetch_free(pf);
	}
	CHECK(good == G_N_ELEMENTS(rg), "read-ahead: %zu whole-file and range reads byte for byte", good);
}

/* test_seek - a stream goes on with another range only once it gave its
 * own whole, and then gives that one byte for byte */
static void
test_seek(struct storage *st, struct transfer *t, const unsigned char *data)
{
	const struct transfer_file *f = g_ptr_array_index(t->files, 0);
	struct transfer_stream *s = transfer_stream_new(st, t->id, 0, f->key, FSIZE, 100, 2 * SEG - 100);
	unsigned char *buf = g_malloc(4 * SEG);
	size_t got = 0;
	long n = 1;
	int serr;

	CHECK(s && transfer_stream_read(s, buf, 1000, &serr) == 1000 &&
		transfer_stream_seek(s, 5 * SEG, SEG) == -1, "stream: no seek in the middle of a range");
	got = 1000;
	while (s && got < 2 * SEG - 100 && (n = transfer_stream_read(s, buf + got, 4 * SEG, &serr)) > 0)
		got += (size_t)n;
	CHECK(got == 2 * SEG - 100 && memcmp(buf, data + 100, got) == 0, "stream: first range whole");
	CHECK(s && transfer_stream_seek(s, 8 * SEG, 2 * SEG + 5) == 0, "stream: then seeks on");
	for (got = 0; s && got < 2 * SEG + 5 && (n = transfer_stream_read(s, buf + got, 4 * SEG, &serr)) > 0;)
		got += (size_t)n;
	CHECK(got == 2 * SEG + 5 && memcmp(buf, data + 8 * SEG, got) == 0,
		"stream: the second range (ends mid-segment) byte for byte");
	CHECK(s && transfer_stream_seek(s, FSIZE - 10, 10) == 0 &&
		transfer_stream_read(s, buf, 4 * SEG, &serr) == 10 && memcmp(buf, data + FSIZE - 10, 10) == 0 &&
		transfer_stream_read(s, buf, 4 * SEG, &serr) == 0 && transfer_stream_seek(s, 0, 10) == -1,
		"stream: the file's last 10 bytes (last segment verified); no seek after the end");
	transfer_stream_free(s);
	g_free(buf);
}

/* tamper - flip one ciphertext byte of segment BAD_SEG of file 0 */
static void
tamper(struct storage *st, struct transfer *t)
{
	GByteArray *obj = g_byte_array_new();
	char key[64];

	snprintf(key, sizeof key, "%s/0", t->id);
	CHECK(storage_get(st, key, 0, STORAGE_TO_END, grab, obj) == STORAGE_OK, "object read back");
	obj->data[envelope_segment_offset(BAD_SEG) + 100] ^= 0x01;
	CHECK(storage_put_buffer(st, key, obj->data, obj->len) == STORAGE_OK, "object tampered");
	g_byte_array_free(obj, TRUE);
}

static void
test_tampered(struct storage *st, struct transfer *t, const unsigned char *data)
{
	const struct transfer_file *f = g_ptr_array_index(t->files, 0);
	struct transfer_stream *s = transfer_stream_new(st, t->id, 0, f->key, FSIZE, 0, FSIZE);
	struct portal_prefetch *pf;
	unsigned char *buf = g_malloc(5 * SEG), *zero = g_malloc0(SEG), *a5 = g_malloc(SEG);
	size_t got = 0, at;
	long n = 0, last;
	int serr;
	GByteArray *b;

	memset(a5, 0xA5, SEG);
	/* straight into the caller's buffer: the bad segment is wiped there
	 * (reads of 5 segments: segment 12 is the third of the third read) */
	while (got < BAD_SEG * SEG) {
		memset(buf, 0xA5, 5 * SEG);
		n = transfer_stream_read(s, buf, 5 * SEG, &serr);
		if (n <= 0 || memcmp(buf, data + got, (size_t)n) != 0)
			break;
		got += (size_t)n;
	}
	at = (size_t)n;
	CHECK(got == BAD_SEG * SEG && n > 0 && at <= 4 * SEG &&
		(memcmp(buf + at, zero, SEG) == 0 || memcmp(buf + at, a5, SEG) == 0),
		"stream: %zu verified bytes before the bad segment; no plaintext of it in the reader's "
		"buffer", got);
	n = transfer_stream_read(s, buf, 5 * SEG, &serr);
	CHECK(n == ENVELOPE_EAUTH, "stream: then the error (%ld)", n);
	transfer_stream_free(s);

	pf = portal_prefetch_new(st, t->id, 0, f->key, FSIZE, 0, FSIZE);
	b = pf ? read_all(pf, 1u << 19, &last) : NULL;
	CHECK(b && b->len == BAD_SEG * SEG && memcmp(b->data, data, b->len) == 0 && last == ENVELOPE_EAUTH,
		"read-ahead: the verified bytes before the bad segment, then EAUTH (%u bytes, %ld)",
		b ? b->len : 0, b ? last : 0);
	CHECK(pf && portal_prefetch_read(pf, buf, SEG, &serr) == ENVELOPE_EAUTH &&
		portal_prefetch_read(pf, buf, 1, &serr) == ENVELOPE_EAUTH, "read-ahead: the error stays");
	if (b)
		g_byte_array_free(b, TRUE);
	portal_prefetch_free(pf);
	/* a short range is read when asked (no thread): the same rules */
	pf = portal_prefetch_new(st, t->id, 0, f->key, FSIZE, BAD_SEG * SEG - 50, 100);
	b = pf ? read_all(pf, 4096, &last) : NULL;
	CHECK(b && b->len == 50 && memcmp(b->data, data + BAD_SEG * SEG - 50, 50) == 0 &&
		last == ENVELOPE_EAUTH, "short range across the bad segment: its first 50 bytes, then EAUTH "
		"(%u bytes, %ld)", b ? b->len : 0, b ? last : 0);
	if (b)
		g_byte_array_free(b, TRUE);
	portal_prefetch_free(pf);
	/* freed while the thread is still reading ahead: no leak, no hang */
	pf = portal_prefetch_new(st, t->id, 0, f->key, FSIZE, 0, FSIZE);
	CHECK(pf && portal_prefetch_read(pf, buf, 1, &serr) == 1 && buf[0] == data[0],
		"read-ahead: a first byte");
	portal_prefetch_free(pf);
	g_free(buf);
	g_free(zero);
	g_free(a5);
}

/* test_store - all of the above on one backend: "memory" hands the reader
 * 64 KiB chunks (segments straddle them), "file" whole batches in one read */
static void
test_store(char *backend, const unsigned char *data)
{
	struct conf c = { 0 };
	GError *err = NULL;
	struct storage *st;
	struct transfer *t;
	struct transfer_upload *u;
	char *root = g_strdup_printf("%s/%s", unit_tmpdir(), backend);
	int e = 0;

	c.backend = backend;
	c.path = root;
	st = storage_open(&c, &err);
	CHECK(st != NULL, "%s store", backend);
	g_clear_error(&err);
	if (st == NULL) {
		g_free(root);
		return;
	}
	t = transfer_new(st, 1700000000, 3600);
	u = transfer_upload_begin(t, "big.bin", NULL, &e);
	CHECK(u && transfer_upload_write(u, data, FSIZE) == 0 && transfer_upload_commit(u) == 0,
		"%s: file of %zu bytes uploaded", backend, FSIZE);
	test_ranges(st, t, data);
	test_seek(st, t, data);
	tamper(st, t);
	test_tampered(st, t, data);
	transfer_free(t);
	storage_free(st);
	g_free(root);
}

int
main(void)
{
	unsigned char *data = g_malloc(FSIZE);

	crypto_random(data, FSIZE);
	test_store("memory", data);
	test_store("file", data);
	g_free(data);
	return unit_done();
}
