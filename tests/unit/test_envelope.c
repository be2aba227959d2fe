/*
 * test_envelope.c - the v1 transfer format (transfer/envelope.c): round trips
 * with odd chunkings, the byte-exact test vectors of docs/FORMATS.md
 * (generated independently by tests/data/envelope-vectors/make_vectors.py),
 * every fail-closed rule of the file reader, the manifest checks
 * (MAC, key commitment, GCM, verifier), garbage input, and an informational
 * throughput line.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"
#include "envelope.h"
#include "envelope_test.h"
#include "log.h"
#include "unit.h"

#define SEG ENVELOPE_SEGMENT_SIZE
#define SEGCT (ENVELOPE_SEGMENT_SIZE + ENVELOPE_TAG_LEN)

/* quiet - silence the expected per-object warnings of the bulk loops */
static void
quiet(bool on)
{
	log_init("test_envelope", !on, false);
}

static const char vec_id[] = "offloadtestvectorid23456";
static const uint32_t vec_index = 3;

/* growing byte buffer used as output sink */
struct sink {
	unsigned char *p;
	size_t len, cap;
	size_t stop_after; /* nonzero: ask to stop after this many calls */
	size_t calls;
};

static int
sink_out(void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;

	s->calls++;
	if (s->stop_after != 0 && s->calls >= s->stop_after)
		return 1;
	if (s->len + len > s->cap) {
		s->cap = MAX(s->cap * 2, s->len + len + 1024);
		s->p = g_realloc(s->p, s->cap);
	}
	if (len > 0)
		memcpy(s->p + s->len, buf, len);
	s->len += len;
	return 0;
}

static void
sink_reset(struct sink *s)
{
	g_free(s->p);
	memset(s, 0, sizeof *s);
}

static void
vec_key(unsigned char key[32])
{
	int i;

	for (i = 0; i < 32; i++)
		key[i] = (unsigned char)i;
}

static unsigned char *
pattern(size_t n)
{
	unsigned char *p = g_malloc(n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i % 251);
	return p;
}

/* encrypt - whole plaintext through a writer in chunks of `chunk` bytes */
static int
encrypt(const unsigned char key[32], const unsigned char *prefix, const unsigned char *pt,
	size_t n, size_t chunk, struct sink *obj)
{
	struct envelope_writer *w;
	size_t off = 0;
	int rc = 0;

	w = prefix ? envelope_writer_new_fixed(key, vec_id, vec_index, prefix, sink_out, obj)
		: envelope_writer_new(key, vec_id, vec_index, sink_out, obj);
	if (w == NULL)
		return -100;
	while (rc == 0 && off < n) {
		size_t k = MIN(chunk, n - off);

		rc = envelope_writer_update(w, pt + off, k);
		off += k;
	}
	if (rc == 0)
		rc = envelope_writer_finish(w);
	envelope_writer_free(w);
	return rc;
}

/* decrypt - whole object through a reader; returns the first error */
static int
decrypt_as(const unsigned char key[32], const char *id, uint32_t index,
	const unsigned char *obj, size_t n, size_t chunk, struct sink *pt)
{
	struct envelope_reader *r = envelope_reader_new(key, id, index, sink_out, pt);
	size_t off = 0;
	int rc = 0;

	if (r == NULL)
		return -100;
	while (rc == 0 && off < n) {
		size_t k = MIN(chunk, n - off);

		rc = envelope_reader_update(r, obj + off, k);
		off += k;
	}
	if (rc == 0)
		rc = envelope_reader_finish(r);
	envelope_reader_free(r);
	return rc;
}

static int
decrypt(const unsigned char key[32], const unsigned char *obj, size_t n, size_t chunk,
	struct sink *pt)
{
	return decrypt_as(key, vec_id, vec_index, obj, n, chunk, pt);
}

static void
test_roundtrip(void)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 3 * 65536 + 5 };
	static const size_t chunks[] = { 1, 7777, (size_t)-1 };
	unsigned char key[32];
	size_t i, j;

	crypto_random(key, sizeof key);
	for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
		size_t n = sizes[i];
		unsigned char *pt = g_malloc(n + 1);

		crypto_random(pt, n);
		for (j = 0; j < G_N_ELEMENTS(chunks); j++) {
			struct sink obj = { 0 }, back = { 0 };
			int rc_w, rc_r;
			/* the reader uses a different chunking than the writer */
			size_t rchunk = chunks[(j + 1) % G_N_ELEMENTS(chunks)];

			rc_w = encrypt(key, NULL, pt, n, chunks[j], &obj);
			CHECK(rc_w == 0 && obj.len == envelope_file_size(n),
				"size %zu, write chunk %zd: object is %zu bytes = envelope_file_size",
				n, (ssize_t)chunks[j], obj.len);
			rc_r = decrypt(key, obj.p, obj.len, rchunk, &back);
			CHECK(rc_r == 0 && back.len == n && (n == 0 || memcmp(back.p, pt, n) == 0),
				"size %zu, read chunk %zd: round trip (rc %d, %zu bytes)", n,
				(ssize_t)rchunk, rc_r, back.len);
			sink_reset(&obj);
			sink_reset(&back);
		}
		g_free(pt);
	}
	/* two writers with the same key use different random prefixes */
	{
		struct sink a = { 0 }, b = { 0 };

		encrypt(key, NULL, (const unsigned char *)"x", 1, 1, &a);
		encrypt(key, NULL, (const unsigned char *)"x", 1, 1, &b);
		CHECK(a.len == b.len && memcmp(a.p + 38, b.p + 38, 7) != 0,
			"nonce prefix is random per writer");
		sink_reset(&a);
		sink_reset(&b);
	}
}

struct file_vec {
	size_t size;
	const char *sha256;
	const char *head; /* hex of the first bytes */
};

static const struct file_vec file_vecs[] = {
	{ 0, "c67c5340dc257d3584957bb96faf523fc1654623ffe8f26506d74d9ac30a5e08",
	  "4f464c4446016f66666c6f616474657374766563746f72696432333435360000000300010000"
	  "a0a1a2a3a4a5a64631c87aa641e2d8821ca1dd5ad1edbe" },
	{ 10, "b264eee721148a779271bcb6dd6337b715d313739e474c32787a742f379e8976",
	  "4f464c4446016f66666c6f616474657374766563746f72696432333435360000000300010000"
	  "a0a1a2a3a4a5a677604b1dbc03e6c70b6cc5dcf02401bb8b56ea0eeabb12ddb22b" },
	{ 65536, "66ec5b616e33952c51e9ede9bdc5de7fae5952dae893ab5d2909b873307ffd76",
	  "4f464c4446016f66666c6f616474657374766563746f72696432333435360000000300010000"
	  "a0a1a2a3a4a5a677604b1dbc03e6c70b6cd224c383b557171a39" },
	{ 65537, "a6f75822213e19f48905fa73778403bc26e22f9c85d76de3de6df7aa65091689",
	  "4f464c4446016f66666c6f616474657374766563746f72696432333435360000000300010000"
	  "a0a1a2a3a4a5a60ad01eaa9251433a642ace8b950d5864c2d05d" },
};

/* vec_prefix - the nonce prefix of the published vectors */
static void
vec_prefix(unsigned char prefix[7])
{
	int i;

	for (i = 0; i < 7; i++)
		prefix[i] = (unsigned char)(0xa0 + i);
}

/* doc_has - docs/FORMATS.md contains the string (keeps doc and test in step) */
static bool
doc_has(const char *doc, const char *s)
{
	return doc != NULL && strstr(doc, s) != NULL;
}

static void
test_file_vectors(void)
{
	unsigned char key[32], prefix[7], sha[32];
	char *path = g_build_filename(unit_srcdir(), "docs", "FORMATS.md", NULL);
	char *doc = NULL;
	size_t i;

	vec_key(key);
	vec_prefix(prefix);
	if (!g_file_get_contents(path, &doc, NULL, NULL))
		doc = NULL;
	CHECK(doc != NULL, "docs/FORMATS.md is readable (%s)", path);
	for (i = 0; i < G_N_ELEMENTS(file_vecs); i++) {
		const struct file_vec *v = &file_vecs[i];
		unsigned char *pt = pattern(v->size);
		struct sink obj = { 0 }, back = { 0 };
		char *hex, *head;
		int rc;

		rc = encrypt(key, prefix, pt, v->size, 4096, &obj);
		crypto_sha256(obj.p, obj.len, sha);
		hex = enc_hex(sha, 32);
		head = enc_hex(obj.p, MIN(obj.len, strlen(v->head) / 2));
		CHECK(rc == 0 && strcmp(hex, v->sha256) == 0,
			"vector size %zu: SHA-256 of object %s", v->size, hex);
		CHECK(strcmp(head, v->head) == 0, "vector size %zu: leading bytes match", v->size);
		CHECK(doc_has(doc, v->sha256), "vector size %zu: SHA-256 is documented in FORMATS.md",
			v->size);
		rc = decrypt(key, obj.p, obj.len, 1000, &back);
		CHECK(rc == 0 && back.len == v->size &&
			(v->size == 0 || memcmp(back.p, pt, v->size) == 0),
			"vector size %zu: decrypts to the pattern", v->size);
		g_free(hex);
		g_free(head);
		g_free(pt);
		sink_reset(&obj);
		sink_reset(&back);
	}
	g_free(doc);
	g_free(path);
}

/* make_obj - object for n pattern bytes under key (fixed prefix) */
static void
make_obj(const unsigned char key[32], size_t n, struct sink *obj)
{
	unsigned char prefix[7];
	unsigned char *pt = pattern(n);

	vec_prefix(prefix);
	memset(obj, 0, sizeof *obj);
	if (encrypt(key, prefix, pt, n, 65536, obj) != 0)
		printf("# make_obj failed\n");
	g_free(pt);
}

/* emitted_ok - the reader released exactly `want` bytes and they are the
 * pattern's prefix (no plaintext of an unverified segment escaped) */
static bool
emitted_ok(const struct sink *s, size_t want)
{
	unsigned char *pt;
	bool ok;

	if (s->len != want)
		return false;
	pt = pattern(want);
	ok = want == 0 || memcmp(s->p, pt, want) == 0;
	g_free(pt);
	return ok;
}

static void
test_truncation(void)
{
	unsigned char key[32];
	struct sink obj, full, back = { 0 };
	size_t hl = envelope_file_header_len();
	int rc;

	vec_key(key);
	make_obj(key, 3 * SEG + 5, &obj); /* segments: 3 full + 5 bytes */
	CHECK(obj.len == hl + 3 * SEGCT + 5 + 16, "4-segment object has the expected size");

	rc = decrypt(key, obj.p, hl + 2 * SEGCT, 65536, &back);
	CHECK(rc == ENVELOPE_ETRUNC, "truncated after segment 2 (boundary): ETRUNC (rc %d)", rc);
	CHECK(emitted_ok(&back, SEG), "  only segment 1 (verified) was released (%zu bytes)",
		back.len);
	sink_reset(&back);
	rc = decrypt(key, obj.p, hl + 3 * SEGCT, 1, &back);
	CHECK(rc == ENVELOPE_ETRUNC, "last segment dropped (boundary), byte-wise feed: ETRUNC");
	CHECK(emitted_ok(&back, 2 * SEG), "  segments 1-2 released, segment 3 withheld");
	sink_reset(&back);
	rc = decrypt(key, obj.p, hl + SEGCT, (size_t)-1, &back);
	CHECK(rc == ENVELOPE_ETRUNC && back.len == 0,
		"only first segment left: ETRUNC and nothing released");
	sink_reset(&back);
	rc = decrypt(key, obj.p, hl, 7, &back);
	CHECK(rc == ENVELOPE_ETRUNC && back.len == 0, "header only: ETRUNC");
	sink_reset(&back);
	rc = decrypt(key, obj.p, hl - 1, 7, &back);
	CHECK(rc == ENVELOPE_ETRUNC, "ends inside the header: ETRUNC");
	rc = decrypt(key, obj.p, 0, 7, &back);
	CHECK(rc == ENVELOPE_ETRUNC, "empty object: ETRUNC");
	rc = decrypt(key, obj.p, hl + 15, 7, &back);
	CHECK(rc == ENVELOPE_ETRUNC, "15 bytes of a segment (shorter than a tag): ETRUNC");

	rc = decrypt(key, obj.p, hl + SEGCT + 1000, 7777, &back);
	CHECK(rc == ENVELOPE_EAUTH, "truncated in the middle of segment 2: EAUTH (rc %d)", rc);
	CHECK(emitted_ok(&back, SEG), "  only segment 1 released");
	sink_reset(&back);
	rc = decrypt(key, obj.p, obj.len - 1, 7777, &back);
	CHECK(rc == ENVELOPE_EAUTH, "last byte of the tag missing: EAUTH");
	CHECK(emitted_ok(&back, 3 * SEG), "  the short last segment was not released");
	sink_reset(&back);

	/* a file of exactly 2 full segments: dropping the last full segment */
	make_obj(key, 2 * SEG, &full);
	rc = decrypt(key, full.p, hl + SEGCT, 7777, &back);
	CHECK(rc == ENVELOPE_ETRUNC && back.len == 0,
		"2 full segments, last dropped: ETRUNC, nothing released (rc %d)", rc);
	sink_reset(&back);
	sink_reset(&full);
	sink_reset(&obj);
}

/* decrypt_sized - as decrypt_as, with envelope_reader_set_size(size); the
 * bytes released after the first chunk in *first */
static int
decrypt_sized(const unsigned char key[32], const unsigned char *obj, size_t n, uint64_t size,
	size_t chunk, struct sink *pt, size_t *first)
{
	struct envelope_reader *r = envelope_reader_new(key, vec_id, vec_index, sink_out, pt);
	size_t off = 0;
	int rc = 0;

	if (r == NULL)
		return -100;
	envelope_reader_set_size(r, size);
	while (rc == 0 && off < n) {
		size_t k = MIN(chunk, n - off);

		rc = envelope_reader_update(r, obj + off, k);
		off += k;
		if (off == k)
			*first = pt->len;
	}
	if (rc == 0)
		rc = envelope_reader_finish(r);
	envelope_reader_free(r);
	return rc;
}

/* test_known_size - a reader told the object's size releases a whole
 * segment as soon as it has it, and still fails closed */
static void
test_known_size(void)
{
	unsigned char key[32];
	struct sink obj, full, back = { 0 };
	size_t hl = envelope_file_header_len(), first = 0;
	int rc;

	vec_key(key);
	make_obj(key, 3 * SEG + 5, &obj); /* 3 full segments + 5 bytes */
	rc = decrypt_sized(key, obj.p, obj.len, obj.len, hl + SEGCT, &back, &first);
	CHECK(rc == ENVELOPE_OK && emitted_ok(&back, 3 * SEG + 5) && first == SEG,
		"known size: segment 1 released with its last byte (%zu), the rest verified", first);
	sink_reset(&back);
	rc = decrypt_sized(key, obj.p, obj.len, obj.len, 1, &back, &first);
	CHECK(rc == ENVELOPE_OK && emitted_ok(&back, 3 * SEG + 5), "known size, byte-wise feed: ok");
	sink_reset(&back);
	rc = decrypt(key, obj.p, hl + SEGCT, hl + SEGCT, &back);
	CHECK(rc == ENVELOPE_ETRUNC && back.len == 0, "unknown size: segment 1 held back");
	sink_reset(&back);
	rc = decrypt_sized(key, obj.p, hl + 2 * SEGCT, obj.len, SEGCT, &back, &first);
	CHECK(rc == ENVELOPE_ETRUNC && emitted_ok(&back, 2 * SEG),
		"known size, truncated at a boundary: the verified segments, then ETRUNC (rc %d)", rc);
	sink_reset(&back);
	rc = decrypt_sized(key, obj.p, obj.len, hl + 2 * SEGCT, SEGCT, &back, &first);
	CHECK(rc == ENVELOPE_OK && emitted_ok(&back, 3 * SEG + 5), "size claimed too small: still ok");
	sink_reset(&back);
	/* 2 full segments: a larger claim takes the last for not last */
	make_obj(key, 2 * SEG, &full);
	rc = decrypt_sized(key, full.p, full.len, full.len + SEGCT, SEGCT, &back, &first);
	CHECK(rc == ENVELOPE_EAUTH && emitted_ok(&back, SEG),
		"size claimed too large: the last segment fails its tag, not released (rc %d)", rc);
	sink_reset(&back);
	sink_reset(&full);
	sink_reset(&obj);
}

static void
test_tamper(void)
{
	unsigned char key[32], other[32];
	struct sink obj, back = { 0 };
	size_t hl = envelope_file_header_len();
	unsigned char *copy;
	int rc;
	size_t i;
	struct { size_t off; int want; const char *what; } flips[] = {
		{ 0, ENVELOPE_EINVAL, "magic" },
		{ 5, ENVELOPE_EINVAL, "version" },
		{ 6, ENVELOPE_EAUTH, "transfer id" },
		{ 29, ENVELOPE_EAUTH, "transfer id (last char)" },
		{ 33, ENVELOPE_EAUTH, "file index" },
		{ 36, ENVELOPE_EINVAL, "segment size" },
		{ 38, ENVELOPE_EAUTH, "nonce prefix" },
		{ 44, ENVELOPE_EAUTH, "nonce prefix (last byte)" },
		{ 45, ENVELOPE_EAUTH, "segment 1 first byte" },
		{ 45 + 40000, ENVELOPE_EAUTH, "segment 1 middle" },
		{ 45 + SEG, ENVELOPE_EAUTH, "segment 1 tag" },
		{ 45 + SEGCT + SEG + 15, ENVELOPE_EAUTH, "segment 2 tag last byte" },
		{ 45 + 2 * SEGCT + 3, ENVELOPE_EAUTH, "segment 3 data" },
		{ 45 + 3 * SEGCT + 2, ENVELOPE_EAUTH, "last segment data" },
		{ 45 + 3 * SEGCT + 5 + 3, ENVELOPE_EAUTH, "last segment tag" },
	};

	vec_key(key);
	make_obj(key, 3 * SEG + 5, &obj);
	copy = g_malloc(obj.len + SEGCT + 16);
	for (i = 0; i < G_N_ELEMENTS(flips); i++) {
		size_t seg_start;

		memcpy(copy, obj.p, obj.len);
		copy[flips[i].off] ^= 0x10;
		rc = decrypt(key, copy, obj.len, 7777, &back);
		CHECK(rc == flips[i].want, "flipped bit in %s: %s (rc %d)", flips[i].what,
			envelope_strerror(flips[i].want), rc);
		/* plaintext released: only segments before the damaged one */
		seg_start = flips[i].off < hl ? 0 : (flips[i].off - hl) / SEGCT * SEG;
		CHECK(emitted_ok(&back, seg_start), "  released %zu bytes, all verified",
			back.len);
		sink_reset(&back);
	}

	/* sweep: a flipped bit anywhere fails and never leaks later plaintext */
	{
		int bad = 0, n = 0;

		quiet(true);
		for (i = 0; i < obj.len; i += (i < hl || i > obj.len - 40) ? 1 : 1531) {
			size_t seg_start = i < hl ? 0 : (i - hl) / SEGCT * SEG;

			memcpy(copy, obj.p, obj.len);
			copy[i] ^= (unsigned char)(1u << (i % 8));
			rc = decrypt(key, copy, obj.len, 65536, &back);
			if (rc == 0 || !emitted_ok(&back, seg_start))
				bad++;
			n++;
			sink_reset(&back);
		}
		quiet(false);
		CHECK(bad == 0, "bit-flip sweep over %d positions: all fail closed (%d bad)", n,
			bad);
	}

	/* swapped and duplicated segments */
	memcpy(copy, obj.p, obj.len);
	memcpy(copy + hl, obj.p + hl + SEGCT, SEGCT);
	memcpy(copy + hl + SEGCT, obj.p + hl, SEGCT);
	rc = decrypt(key, copy, obj.len, 7777, &back);
	CHECK(rc == ENVELOPE_EAUTH && back.len == 0, "segments 1 and 2 swapped: EAUTH, nothing released");
	sink_reset(&back);
	memcpy(copy, obj.p, obj.len);
	memcpy(copy + hl + 2 * SEGCT, obj.p + hl + SEGCT, SEGCT);
	rc = decrypt(key, copy, obj.len, 7777, &back);
	CHECK(rc == ENVELOPE_EAUTH && emitted_ok(&back, 2 * SEG),
		"segment 2 repeated in place of 3: EAUTH after 2 good segments");
	sink_reset(&back);

	/* extra bytes after the last segment */
	memcpy(copy, obj.p, obj.len);
	copy[obj.len] = 0;
	rc = decrypt(key, copy, obj.len + 1, 7777, &back);
	CHECK(rc != 0 && emitted_ok(&back, 3 * SEG), "one byte appended: fails (rc %d)", rc);
	sink_reset(&back);
	memcpy(copy + obj.len, obj.p + obj.len - 16, 16);
	rc = decrypt(key, copy, obj.len + 16, 7777, &back);
	CHECK(rc != 0, "tag duplicated at the end: fails (rc %d)", rc);
	sink_reset(&back);
	sink_reset(&obj);
	{
		struct sink one;

		make_obj(key, SEG, &one); /* exactly one full (last) segment */
		memcpy(copy, one.p, one.len);
		copy[one.len] = 'x';
		rc = decrypt(key, copy, one.len + 1, 1, &back);
		CHECK(rc == ENVELOPE_EAUTH && back.len == 0,
			"full last segment + 1 byte: EAUTH, nothing released (rc %d)", rc);
		sink_reset(&back);
		memcpy(copy + one.len, one.p + hl, SEGCT);
		rc = decrypt(key, copy, one.len + SEGCT, 7777, &back);
		CHECK(rc == ENVELOPE_EAUTH && back.len == 0,
			"file with its own segment appended again: EAUTH");
		sink_reset(&back);
		sink_reset(&one);
	}
	{
		struct sink e;

		make_obj(key, 0, &e);
		memcpy(copy, e.p, e.len);
		memcpy(copy + e.len, e.p + hl, 16);
		rc = decrypt(key, copy, e.len + 16, 7, &back);
		CHECK(rc == ENVELOPE_EAUTH && back.len == 0, "empty file + extra empty segment: EAUTH");
		sink_reset(&back);
		sink_reset(&e);
	}

	/* wrong expectations */
	make_obj(key, 100, &obj);
	rc = decrypt_as(key, "offloadtestvectorid23457", vec_index, obj.p, obj.len, 7, &back);
	CHECK(rc == ENVELOPE_EAUTH && back.len == 0, "reader expects another transfer id: EAUTH");
	rc = decrypt_as(key, vec_id, vec_index + 1, obj.p, obj.len, 7, &back);
	CHECK(rc == ENVELOPE_EAUTH && back.len == 0, "reader expects another file index: EAUTH");
	memcpy(other, key, 32);
	other[0] ^= 1;
	rc = decrypt(other, obj.p, obj.len, 7, &back);
	CHECK(rc == ENVELOPE_EAUTH && back.len == 0, "wrong file key: EAUTH");
	/* header of file 3 re-labelled as file 4 (as if an attacker renamed objects) */
	memcpy(copy, obj.p, obj.len);
	copy[33] = 4;
	rc = decrypt_as(key, vec_id, 4, copy, obj.len, 7, &back);
	CHECK(rc == ENVELOPE_EAUTH && back.len == 0,
		"header index rewritten to match the reader: EAUTH (header is AAD)");
	CHECK(envelope_reader_new(key, "short", 0, sink_out, &back) == NULL,
		"reader refuses a malformed transfer id");
	CHECK(envelope_writer_new(key, "OFFLOADTESTVECTORID23456", 0, sink_out, &back) == NULL,
		"writer refuses an upper-case transfer id");
	sink_reset(&obj);
	g_free(copy);
}

static void
test_api_edges(void)
{
	unsigned char key[32];
	struct sink obj = { 0 }, back = { 0 };
	struct envelope_writer *w;
	struct envelope_reader *r;
	unsigned char *pt = pattern(3 * SEG);
	int rc;

	vec_key(key);
	CHECK(envelope_file_size(0) == 61, "file_size(0) = 45 + 16");
	CHECK(envelope_file_size(1) == 62, "file_size(1) = 45 + 1 + 16");
	CHECK(envelope_file_size(65536) == 45 + 65536 + 16, "file_size(65536): one segment");
	CHECK(envelope_file_size(65537) == 45 + 65537 + 32, "file_size(65537): two segments");
	CHECK(envelope_file_size(200000000) == 45 + 200000000ull + 16 * 3052,
		"file_size(200 MB)");
	CHECK(envelope_file_size((uint64_t)1 << 48) != 0 &&
		envelope_file_size(((uint64_t)1 << 48) + 1) == 0,
		"file_size: 2^32 segments is the limit");
	CHECK(envelope_file_header_len() == 45, "header is 45 bytes");

	/* writer: sink refuses -> ESINK, sticky */
	obj.stop_after = 3;
	w = envelope_writer_new(key, vec_id, 1, sink_out, &obj);
	rc = envelope_writer_update(w, pt, 3 * SEG);
	CHECK(rc == ENVELOPE_ESINK, "writer: sink stops -> ESINK (rc %d)", rc);
	CHECK(envelope_writer_update(w, pt, 1) == ENVELOPE_ESINK &&
		envelope_writer_finish(w) == ENVELOPE_ESINK, "writer: error is sticky");
	envelope_writer_free(w);
	sink_reset(&obj);
	w = envelope_writer_new(key, vec_id, 1, sink_out, &obj);
	CHECK(envelope_writer_finish(w) == 0 && envelope_writer_finish(w) == ENVELOPE_EINVAL &&
		envelope_writer_update(w, pt, 1) == ENVELOPE_EINVAL,
		"writer: finish twice / update after finish refused");
	envelope_writer_free(w);
	envelope_writer_free(NULL);
	sink_reset(&obj);
	obj.stop_after = 1;
	CHECK(envelope_writer_new(key, vec_id, 1, sink_out, &obj) == NULL,
		"writer_new fails when the header cannot be written");
	sink_reset(&obj);

	/* reader: sink refuses -> ESINK */
	make_obj(key, 3 * SEG, &obj);
	back.stop_after = 2;
	rc = decrypt(key, obj.p, obj.len, 7777, &back);
	CHECK(rc == ENVELOPE_ESINK, "reader: sink stops -> ESINK (rc %d)", rc);
	sink_reset(&back);
	r = envelope_reader_new(key, vec_id, vec_index, sink_out, &back);
	rc = envelope_reader_update(r, obj.p, obj.len);
	CHECK(rc == 0 && back.len == 2 * SEG, "reader holds back the final segment until finish");
	CHECK(envelope_reader_finish(r) == 0 && back.len == 3 * SEG, "finish releases it");
	CHECK(envelope_reader_finish(r) == ENVELOPE_EINVAL &&
		envelope_reader_update(r, obj.p, 1) == ENVELOPE_EINVAL,
		"reader: finish twice / update after finish refused");
	envelope_reader_free(r);
	envelope_reader_free(NULL);
	sink_reset(&back);
	sink_reset(&obj);
	g_free(pt);
	CHECK(strcmp(envelope_strerror(ENVELOPE_EAUTH), "authentication failed") == 0 &&
		envelope_strerror(42) != NULL, "envelope_strerror");
}

static void
test_garbage_file(void)
{
	unsigned char key[32], buf[300];
	struct sink back = { 0 };
	int i, bad = 0;

	vec_key(key);
	quiet(true);
	for (i = 0; i < 300; i++) {
		size_t n = (size_t)i;
		int rc;

		crypto_random(buf, n);
		if (n >= 6 && i % 2 == 0) { /* plausible header to reach deeper code */
			memcpy(buf, "OFLDF\001", 6);
			if (n >= 45) {
				memcpy(buf + 6, vec_id, 24);
				memcpy(buf + 30, "\0\0\0\003\0\001\0\0", 8);
			}
		}
		rc = decrypt(key, buf, n, 1 + (size_t)i % 13, &back);
		if (rc == 0 || back.len != 0)
			bad++;
		sink_reset(&back);
	}
	quiet(false);
	CHECK(bad == 0, "300 garbage objects (0-299 bytes): all rejected, nothing released");
}

/* ---- ids, TK, manifest ----------------------------------------------- */

static void
test_ids(void)
{
	char id[25], secret[23], id2[25], secret2[23];
	unsigned char raw[20], tk1[32], tk2[32], tk3[32], pw[32];
	int rc;

	rc = envelope_new_ids(id, secret);
	CHECK(rc == 0 && strlen(id) == 24 && strlen(secret) == 22, "new ids: 24 + 22 characters");
	CHECK(strspn(id, "abcdefghijklmnopqrstuvwxyz234567") == 24, "id is lower-case base32");
	CHECK(enc_base32_decode(id, raw, sizeof raw) == 15, "id decodes to 15 bytes");
	CHECK(enc_b64url_decode(secret, raw, sizeof raw) == 16, "secret decodes to 16 bytes");
	envelope_new_ids(id2, secret2);
	CHECK(strcmp(id, id2) != 0 && strcmp(secret, secret2) != 0, "ids are random");

	CHECK(envelope_derive_tk(id, secret, NULL, 0, tk1) == 0, "derive TK");
	CHECK(envelope_derive_tk(id2, secret, NULL, 0, tk2) == 0 && memcmp(tk1, tk2, 32) != 0,
		"TK depends on the id");
	memset(pw, 7, sizeof pw);
	CHECK(envelope_derive_tk(id, secret, pw, sizeof pw, tk3) == 0 && memcmp(tk1, tk3, 32) != 0,
		"TK depends on the password hash");
	CHECK(envelope_derive_tk(id, "EBESExQVFhcYGRobHB0eH", NULL, 0, tk2) == ENVELOPE_EINVAL,
		"secret of 21 characters refused");
	CHECK(envelope_derive_tk(id, "EBESExQVFhcYGRobHB0eHx", NULL, 0, tk2) == ENVELOPE_EINVAL,
		"secret with non-zero trailing bits refused (one text per secret)");
	CHECK(envelope_derive_tk(id, "EBESExQVFhcYGRobHB0e+w", NULL, 0, tk2) == ENVELOPE_EINVAL,
		"secret with a non-base64url character refused");
	CHECK(envelope_derive_tk("notanid", secret, NULL, 0, tk2) == ENVELOPE_EINVAL,
		"malformed id refused");
	CHECK(envelope_derive_tk(id, secret, pw, 0, tk2) == ENVELOPE_EINVAL,
		"empty password hash refused");
}

/* the published manifest vector (docs/FORMATS.md §2.5) */
#define MV_SECRET "EBESExQVFhcYGRobHB0eHw"
#define MV_KEYID "397ad72805226887"
#define MV_JSON "{\"v\":1,\"files\":[{\"name\":\"report.pdf\",\"size\":10}]}"
#define MV_TK_NOPW "0bab218b9319b8aaba51a080213830d01af9456ff1a9c0aec2e9a74803d05927"
#define MV_TK "1aa9847b8c343429ebee52fba7998c5b27ff6494ae92eeb082b2bb11835a6dd4"
#define MV_SHA "2d3dad1f9fa03b45ab4a2448cfc64c7dcfebace7db525e1b682da9a7d8b15fe7"
#define MV_REVOKE "ICEiIyQlJicoKSorLC0uLw" /* base64url of bytes 20..2f */
#define MV_REVOKE_HASH "d4811e44e728387bac904ced06f21e635a074fff6df1a5e0a6ca4da454b005b2"
#define MV_HDR_MAC "a8a2c3b4f27b8ba8eefcd74d93cf4f64e8a58ce4632e5014981ce598a9013213"

static void
mv_header(struct envelope_header *h)
{
	memset(h, 0, sizeof *h);
	h->version = 1;
	memcpy(h->id, vec_id, sizeof vec_id);
	h->created = 1700000000;
	h->expires = 1702592000;
	h->password = true;
	h->kdf_m_kib = 65536;
	h->kdf_t = 3;
	h->kdf_p = 1;
	memcpy(h->key_id, MV_KEYID, 17);
	envelope_revoke_hash(h->id, MV_REVOKE, h->revoke_hash);
}

static void
mv_keys(unsigned char dk[32], unsigned char pwhash[32])
{
	int i;

	for (i = 0; i < 32; i++) {
		dk[i] = (unsigned char)(0x40 + i);
		pwhash[i] = (unsigned char)(0x70 + i);
	}
}

/* remac - recompute the header MAC as FORMATS.md specifies (independent of
 * envelope.c's code path) */
static void
remac(unsigned char *obj, const unsigned char dk[32])
{
	unsigned char mkey[32];

	crypto_hkdf(dk, 32, NULL, 0, "offload v1 header mac", 21, mkey, 32);
	crypto_hmac_sha256(mkey, 32, obj, 177, obj + 177);
}

static void
test_manifest_vector(void)
{
	struct envelope_header h, got;
	unsigned char dk[32], pwhash[32], tk[32], nonce[12], sha[32], keyid_sha[32];
	unsigned char *obj = NULL;
	size_t len = 0, jl = 0;
	char *hex, *json = NULL, *doc = NULL;
	char *path = g_build_filename(unit_srcdir(), "docs", "FORMATS.md", NULL);
	unsigned char kid_in[14 + 32];
	int i, rc;

	mv_header(&h);
	mv_keys(dk, pwhash);
	for (i = 0; i < 12; i++)
		nonce[i] = (unsigned char)(0xc0 + i);
	if (!g_file_get_contents(path, &doc, NULL, NULL))
		doc = NULL;

	/* key id as keys.h defines it */
	memcpy(kid_in, "offload key id", 14);
	memcpy(kid_in + 14, dk, 32);
	crypto_sha256(kid_in, sizeof kid_in, keyid_sha);
	hex = enc_hex(keyid_sha, 8);
	CHECK(strcmp(hex, MV_KEYID) == 0, "vector key id = SHA-256(\"offload key id\" || dk)[0..8]");
	g_free(hex);

	CHECK(envelope_derive_tk(vec_id, MV_SECRET, NULL, 0, tk) == 0, "vector TK (no password)");
	hex = enc_hex(tk, 32);
	CHECK(strcmp(hex, MV_TK_NOPW) == 0 && doc_has(doc, MV_TK_NOPW),
		"vector TK without password matches and is documented");
	g_free(hex);
	CHECK(envelope_derive_tk(vec_id, MV_SECRET, pwhash, 32, tk) == 0, "vector TK (password)");
	hex = enc_hex(tk, 32);
	CHECK(strcmp(hex, MV_TK) == 0 && doc_has(doc, MV_TK),
		"vector TK with password hash matches and is documented");
	g_free(hex);

	/* revoke hash, computed here from its FORMATS.md definition */
	{
		unsigned char in[17 + 24 + 16], rh[32];

		memcpy(in, "offload v1 revoke", 17);
		memcpy(in + 17, vec_id, 24);
		for (i = 0; i < 16; i++)
			in[41 + i] = (unsigned char)(0x20 + i);
		crypto_sha256(in, sizeof in, rh);
		hex = enc_hex(rh, 32);
		CHECK(strcmp(hex, MV_REVOKE_HASH) == 0 && doc_has(doc, MV_REVOKE_HASH) &&
			memcmp(rh, h.revoke_hash, 32) == 0,
			"vector revoke hash = SHA-256(\"offload v1 revoke\" || id || secret_raw), documented");
		g_free(hex);
	}
	rc = envelope_manifest_seal_fixed(&h, dk, MV_SECRET, tk, MV_JSON, strlen(MV_JSON), nonce,
		&obj, &len);
	CHECK(rc == 0 && len == ENVELOPE_MANIFEST_HEADER_LEN + 12 + strlen(MV_JSON) + 16 &&
		ENVELOPE_MANIFEST_HEADER_LEN == 209, "vector manifest seals (%zu bytes)", len);
	if (obj != NULL) {
		hex = enc_hex(obj + 177, 32);
		CHECK(strcmp(hex, MV_HDR_MAC) == 0 && doc_has(doc, MV_HDR_MAC) &&
			memcmp(obj + 145, h.revoke_hash, 32) == 0,
			"vector: revoke hash at 145, header MAC at 177 (documented)");
		g_free(hex);
		crypto_sha256(obj, len, sha);
		hex = enc_hex(sha, 32);
		CHECK(strcmp(hex, MV_SHA) == 0, "vector manifest SHA-256 %s", hex);
		CHECK(doc_has(doc, MV_SHA), "vector manifest SHA-256 is documented");
		g_free(hex);
		rc = envelope_manifest_open(obj, len, dk, tk, &got, &json, &jl);
		CHECK(rc == 0 && jl == strlen(MV_JSON) && strcmp(json, MV_JSON) == 0 &&
			got.expires == h.expires && got.password && got.kdf_m_kib == 65536 &&
			memcmp(got.revoke_hash, h.revoke_hash, 32) == 0,
			"vector manifest opens (revoke hash read back)");
		CHECK(envelope_revoke_check(&got, MV_REVOKE) == 0 &&
			envelope_revoke_check(&got, MV_SECRET) == ENVELOPE_EAUTH &&
			envelope_revoke_check(&got, "ICEiIyQlJicoKSorLC0uLx") == ENVELOPE_EINVAL &&
			envelope_revoke_check(&got, "short") == ENVELOPE_EINVAL &&
			envelope_revoke_check(&got, NULL) == ENVELOPE_EINVAL,
			"revoke check: right secret 0, link secret EAUTH, malformed EINVAL");
	}
	g_free(json);
	g_free(obj);
	g_free(doc);
	g_free(path);
}

static void
test_manifest(void)
{
	struct envelope_header h, got;
	unsigned char dk[32], dk2[32], pwhash[32], tk[32], tk_wrong[32], tk_nopw[32];
	unsigned char *obj = NULL, *obj2 = NULL, *copy = NULL;
	size_t len = 0, len2 = 0, jl = 0, i;
	char id[25], secret[23], id2[25], secret2[23];
	char *json = NULL;
	int rc;

	mv_keys(dk, pwhash);
	memcpy(dk2, dk, 32);
	dk2[31] ^= 0x80;
	envelope_new_ids(id, secret);
	envelope_new_ids(id2, secret2);
	mv_header(&h);
	memcpy(h.id, id, 25);
	envelope_derive_tk(id, secret, pwhash, 32, tk);
	envelope_derive_tk(id, secret2, pwhash, 32, tk_wrong);
	envelope_derive_tk(id, secret, NULL, 0, tk_nopw);

	rc = envelope_manifest_seal(&h, dk, secret, tk, MV_JSON, strlen(MV_JSON), &obj, &len);
	CHECK(rc == 0 && obj != NULL, "manifest seals");
	rc = envelope_manifest_header(obj, len, dk, &got);
	CHECK(rc == 0 && strcmp(got.id, id) == 0 && got.created == h.created &&
		got.expires == h.expires && got.password && got.kdf_m_kib == 65536 &&
		got.kdf_t == 3 && got.kdf_p == 1 && strcmp(got.key_id, MV_KEYID) == 0 &&
		got.version == 1, "clear header parses and MAC verifies");
	CHECK(memcmp(got.revoke_hash, h.revoke_hash, 32) == 0 &&
		envelope_revoke_check(&got, MV_REVOKE) == ENVELOPE_EAUTH,
		"revoke hash read back; it binds the id (the vector's secret under another id fails)");
	CHECK(envelope_manifest_check_secret(obj, len, secret) == 0, "verifier accepts the secret");
	CHECK(envelope_manifest_check_secret(obj, len, secret2) == ENVELOPE_EAUTH,
		"verifier rejects another secret");
	CHECK(envelope_manifest_check_secret(obj, len, "bogus") == ENVELOPE_EINVAL,
		"verifier: malformed secret -> EINVAL");
	rc = envelope_manifest_open(obj, len, dk, tk, &got, &json, &jl);
	CHECK(rc == 0 && jl == strlen(MV_JSON) && json != NULL && strcmp(json, MV_JSON) == 0,
		"manifest round trip");
	g_free(json);
	json = NULL;
	rc = envelope_manifest_open(obj, len, dk, tk_wrong, &got, &json, &jl);
	CHECK(rc == ENVELOPE_EAUTH && json == NULL, "wrong secret (TK): EAUTH");
	rc = envelope_manifest_open(obj, len, dk, tk_nopw, &got, &json, &jl);
	CHECK(rc == ENVELOPE_EAUTH && json == NULL, "missing password (TK): EAUTH");
	rc = envelope_manifest_open(obj, len, dk2, tk, &got, &json, &jl);
	CHECK(rc == ENVELOPE_EAUTH, "wrong deployment key: open EAUTH");
	CHECK(envelope_manifest_header(obj, len, dk2, &got) == ENVELOPE_EAUTH,
		"wrong deployment key: header EAUTH");

	/* the commitment is enforced on its own: seal under tk_wrong but claim
	 * commitment(tk) with a valid MAC -> tk passes commitment, fails GCM;
	 * tk_wrong would pass GCM but fails the commitment */
	rc = envelope_manifest_seal(&h, dk, secret, tk_wrong, MV_JSON, strlen(MV_JSON), &obj2, &len2);
	crypto_hkdf(tk, 32, NULL, 0, "offload v1 commit", 17, obj2 + 113, 32);
	remac(obj2, dk);
	CHECK(envelope_manifest_header(obj2, len2, dk, &got) == 0,
		"re-MACed header with a foreign commitment verifies (MAC as documented)");
	rc = envelope_manifest_open(obj2, len2, dk, tk_wrong, &got, &json, &jl);
	CHECK(rc == ENVELOPE_EAUTH && json == NULL,
		"key whose GCM would succeed is refused by the commitment");
	rc = envelope_manifest_open(obj2, len2, dk, tk, &got, &json, &jl);
	CHECK(rc == ENVELOPE_EAUTH && json == NULL, "commitment ok but GCM under the key fails");
	g_free(obj2);

	/* tampering */
	copy = g_malloc(len + 1);
	{
		struct { size_t off; const char *what; int want; } t[] = {
			{ 0, "magic", ENVELOPE_EINVAL },
			{ 5, "version", ENVELOPE_EINVAL },
			{ 7, "header length", ENVELOPE_EINVAL },
			{ 47, "expires (low byte)", ENVELOPE_EAUTH },
			{ 35, "created", ENVELOPE_EAUTH },
			{ 48, "password flag", ENVELOPE_EINVAL }, /* 1->0 with params set */
			{ 52, "Argon2 m", ENVELOPE_EAUTH },
			{ 56, "Argon2 t", ENVELOPE_EAUTH },
			{ 70, "key id", ENVELOPE_EAUTH },
			{ 80, "payload length", ENVELOPE_EINVAL },
			{ 90, "verifier", ENVELOPE_EAUTH },
			{ 120, "commitment", ENVELOPE_EAUTH },
			{ 150, "revoke hash", ENVELOPE_EAUTH },
			{ 176, "revoke hash (last byte)", ENVELOPE_EAUTH },
			{ 180, "header MAC", ENVELOPE_EAUTH },
			{ 212, "nonce", ENVELOPE_EAUTH },
			{ 225, "ciphertext", ENVELOPE_EAUTH },
			{ len - 1, "tag", ENVELOPE_EAUTH },
		};

		for (i = 0; i < G_N_ELEMENTS(t); i++) {
			memcpy(copy, obj, len);
			copy[t[i].off] ^= 0x01;
			rc = envelope_manifest_open(copy, len, dk, tk, &got, &json, &jl);
			CHECK(rc == t[i].want && json == NULL, "manifest: changed %s -> %s (rc %d)",
				t[i].what, envelope_strerror(t[i].want), rc);
		}
	}
	/* expires pushed out by 2^16 s: MAC catches it even in header-only mode */
	memcpy(copy, obj, len);
	copy[45] ^= 0x01; /* +2^16 s */
	CHECK(envelope_manifest_header(copy, len, dk, &got) == ENVELOPE_EAUTH,
		"extended expiry: header MAC fails");
	/* the password flag cleared together with its parameters */
	memcpy(copy, obj, len);
	memset(copy + 48, 0, 13);
	CHECK(envelope_manifest_header(copy, len, dk, &got) == ENVELOPE_EAUTH,
		"password requirement dropped: header MAC fails");
	/* flags with unknown bits */
	memcpy(copy, obj, len);
	copy[48] |= 0x80;
	CHECK(envelope_manifest_header(copy, len, dk, &got) == ENVELOPE_EINVAL,
		"unknown flag bits: EINVAL");
	/* structural */
	memcpy(copy, obj, len);
	copy[len] = 0;
	CHECK(envelope_manifest_open(copy, len + 1, dk, tk, &got, &json, &jl) == ENVELOPE_EINVAL,
		"one byte appended: EINVAL");
	{
		int bad = 0;

		quiet(true);
		for (i = 0; i < len; i++)
			if (envelope_manifest_open(obj, i, dk, tk, &got, &json, &jl) == 0 ||
				envelope_manifest_check_secret(obj, i, secret) == 0 ||
				envelope_manifest_header(obj, i, dk, &got) == 0)
				bad++;
		quiet(false);
		CHECK(bad == 0, "every truncation (0..%zu bytes) rejected", len - 1);
	}
	g_free(copy);

	/* seal argument checks */
	{
		struct envelope_header b = h;
		unsigned char *o = NULL;
		size_t ol = 0;

		b.password = false;
		CHECK(envelope_manifest_seal(&b, dk, secret, tk, "{}", 2, &o, &ol) == ENVELOPE_EINVAL,
			"seal refuses KDF parameters without password");
		b = h;
		b.kdf_t = 0;
		CHECK(envelope_manifest_seal(&b, dk, secret, tk, "{}", 2, &o, &ol) == ENVELOPE_EINVAL,
			"seal refuses password with t = 0");
		b = h;
		memcpy(b.key_id, "0123456789ABCDEF", 17);
		CHECK(envelope_manifest_seal(&b, dk, secret, tk, "{}", 2, &o, &ol) == ENVELOPE_EINVAL,
			"seal refuses an upper-case key id");
		b = h;
		memset(b.revoke_hash, 0, sizeof b.revoke_hash);
		CHECK(envelope_manifest_seal(&b, dk, secret, tk, "{}", 2, &o, &ol) == ENVELOPE_EINVAL,
			"seal refuses an all-zero revoke hash (caller forgot it)");
		b = h;
		b.version = 2;
		CHECK(envelope_manifest_seal(&b, dk, secret, tk, "{}", 2, &o, &ol) == ENVELOPE_EINVAL,
			"seal refuses version 2");
		b = h;
		b.password = false;
		b.kdf_m_kib = b.kdf_t = b.kdf_p = 0;
		b.created = -1;
		b.expires = INT64_MIN;
		CHECK(envelope_manifest_seal(&b, dk, secret, tk_nopw, "", 0, &o, &ol) == 0 &&
			envelope_manifest_open(o, ol, dk, tk_nopw, &got, &json, &jl) == 0 && jl == 0 &&
			json[0] == '\0' && got.created == -1 && got.expires == INT64_MIN &&
			!got.password, "empty JSON, no password, negative times round trip");
		g_free(json);
		json = NULL;
		g_free(o);
	}
	g_free(obj);
}

static void
test_garbage_manifest(void)
{
	unsigned char dk[32], tk[32], pw[32], buf[400];
	struct envelope_header got;
	char *json = NULL;
	size_t jl;
	int i, bad = 0;

	mv_keys(dk, pw);
	memset(tk, 1, sizeof tk);
	quiet(true);
	for (i = 0; i < 2000; i++) {
		size_t n = (size_t)(i % 400);

		crypto_random(buf, n);
		if (i % 2 == 0 && n >= 81) { /* plausible structure to get past magic */
			memcpy(buf, "OFLDM\001\000\321", 8);
			memcpy(buf + 8, vec_id, 24);
			buf[48] = (unsigned char)(i % 4 == 0);
			memset(buf + 49, 0, 12);
			if (i % 4 == 0)
				memcpy(buf + 49, "\0\0\0\1\0\0\0\1\0\0\0\1", 12);
			memcpy(buf + 61, MV_KEYID, 16);
			buf[77] = buf[78] = 0;
			buf[79] = 0;
			buf[80] = (unsigned char)(n >= 237 ? n - 237 : 0);
		}
		if (envelope_manifest_open(buf, n, dk, tk, &got, &json, &jl) == 0 ||
			envelope_manifest_header(buf, n, dk, &got) == 0 || json != NULL)
			bad++;
		envelope_manifest_check_secret(buf, n, MV_SECRET);
	}
	quiet(false);
	CHECK(bad == 0, "2000 garbage manifests: all rejected without a crash");
	CHECK(envelope_manifest_open(NULL, 0, dk, tk, &got, &json, &jl) == ENVELOPE_EINVAL,
		"NULL manifest: EINVAL");
}

/* ---- throughput (informational) ---------------------------------------- */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct pipe_ctx {
	struct envelope_reader *r;
	uint64_t bytes;
	int rc;
};

static int
pipe_to_reader(void *arg, const void *buf, size_t len)
{
	struct pipe_ctx *p = arg;

	p->rc = envelope_reader_update(p->r, buf, len);
	return p->rc != 0;
}

static int
count_out(void *arg, const void *buf, size_t len)
{
	(void)buf;
	*(uint64_t *)arg += len;
	return 0;
}

static void
test_throughput(void)
{
	const size_t chunk = 1 << 20, total = (size_t)256 << 20;
	unsigned char key[32], nonce[12] = { 0 }, tag[16];
	unsigned char *pt = g_malloc(chunk), *ct = g_malloc(chunk);
	struct pipe_ctx p = { 0 };
	struct envelope_writer *w;
	uint64_t got = 0, wrote = 0;
	EVP_CIPHER_CTX *ctx;
	double t0, t_pipe, t_write, t_raw;
	size_t off;
	int rc = 0, n;

	crypto_random(key, sizeof key);
	crypto_random(pt, chunk);

	/* writer + reader in one pipeline */
	p.r = envelope_reader_new(key, vec_id, 0, count_out, &got);
	w = envelope_writer_new(key, vec_id, 0, pipe_to_reader, &p);
	t0 = now();
	for (off = 0; rc == 0 && off < total; off += chunk)
		rc = envelope_writer_update(w, pt, chunk);
	if (rc == 0)
		rc = envelope_writer_finish(w);
	if (rc == 0)
		rc = envelope_reader_finish(p.r);
	t_pipe = now() - t0;
	envelope_writer_free(w);
	envelope_reader_free(p.r);
	CHECK(rc == 0 && got == total, "256 MiB through writer+reader (rc %d)", rc);

	/* writer alone */
	w = envelope_writer_new(key, vec_id, 0, count_out, &wrote);
	t0 = now();
	for (off = 0; off < total; off += chunk)
		envelope_writer_update(w, pt, chunk);
	envelope_writer_finish(w);
	t_write = now() - t0;
	envelope_writer_free(w);

	/* raw OpenSSL AES-256-GCM, same segmenting, as the baseline */
	ctx = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce);
	t0 = now();
	for (off = 0; off < total; off += SEG) {
		nonce[11]++;
		EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce);
		EVP_EncryptUpdate(ctx, ct, &n, pt + off % chunk, SEG);
		EVP_EncryptFinal_ex(ctx, ct, &n);
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
	}
	t_raw = now() - t0;
	EVP_CIPHER_CTX_free(ctx);
	printf("# throughput: 256 MiB writer+reader %.0f MB/s (%.2f s); writer alone %.0f MB/s; "
		"raw OpenSSL AES-256-GCM encrypt %.0f MB/s\n", 256 * 1.048576 / t_pipe, t_pipe,
		256 * 1.048576 / t_write, 256 * 1.048576 / t_raw);
	g_free(pt);
	g_free(ct);
}

int
main(void)
{
	test_roundtrip();
	test_file_vectors();
	test_truncation();
	test_known_size();
	test_tamper();
	test_api_edges();
	test_garbage_file();
	test_ids();
	test_manifest_vector();
	test_manifest();
	test_garbage_manifest();
	test_throughput();
	return unit_done();
}
