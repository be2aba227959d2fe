/*
 * test_storage.c - the storage backend conformance suite plus file-backend
 * specifics (layout on disk, temp files, permissions, full disk).
 *
 * run_conformance() only uses storage.h and keys made unique per run (a
 * random tag), and deletes what it wrote, so it can run unchanged against a
 * shared s3 bucket or webdav share: add a setup function beside
 * test_memory()/test_file(). (For stores whose listings lag writes, Swift,
 * the list checks would need a retry loop.)
 */
#include "storage_backend.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

#define MIB (1024 * 1024)
#define BIG_SIZE (50 * MIB)

static char run_tag[16]; /* random lower-case hex, unique per run */

/* ---- helpers ---- */

/* pattern - a byte that depends on its position, so misplaced chunks show */
static unsigned char
pattern(uint64_t pos, unsigned seed)
{
	uint32_t x = (uint32_t)pos * 0x9E3779B1u + seed * 0x85EBCA6Bu;

	x ^= x >> 15;
	return (unsigned char)(x ^ (uint32_t)(pos >> 24));
}

static void
pattern_fill(unsigned char *buf, size_t len, uint64_t pos, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(pos + i, seed);
}

struct collect {
	GByteArray *b;
	size_t calls;
	size_t maxchunk;
	size_t stop_after; /* return nonzero on this call (1-based), 0 = never */
};

static int
sink_collect(void *arg, const void *buf, size_t len)
{
	struct collect *c = arg;

	c->calls++;
	if (len > c->maxchunk)
		c->maxchunk = len;
	g_byte_array_append(c->b, buf, (guint)len);
	return c->stop_after != 0 && c->calls >= c->stop_after;
}

/* get_all - storage_get into a fresh array (*out, caller frees) */
static int
get_all(struct storage *st, const char *key, uint64_t off, uint64_t len, GByteArray **out,
	size_t *maxchunk)
{
	struct collect c = { g_byte_array_new(), 0, 0, 0 };
	int rc = storage_get(st, key, off, len, sink_collect, &c);

	*out = c.b;
	if (maxchunk != NULL)
		*maxchunk = c.maxchunk;
	return rc;
}

/* put_data - one put of data in pieces of chunk bytes */
static int
put_data(struct storage *st, const char *key, const void *data, size_t len, size_t chunk)
{
	struct storage_put *p;
	size_t off, n;
	int rc;

	p = storage_put_begin(st, key, len, &rc);
	if (p == NULL)
		return rc;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		rc = storage_put_write(p, (const char *)data + off, n);
		if (rc != STORAGE_OK) {
			storage_put_abort(p);
			return rc;
		}
	}
	return storage_put_commit(p);
}

static bool
bytes_eq(const GByteArray *b, const void *data, size_t len)
{
	return b->len == len && (len == 0 || memcmp(b->data, data, len) == 0);
}

/* key_of - "<tag><what>/<leaf>" (g_free) */
static char *
key_of(const char *what, const char *leaf)
{
	return g_strdup_printf("%s%s/%s", run_tag, what, leaf);
}

struct list_acc {
	GHashTable *seen;  /* key -> size */
	const char *must_contain;
	size_t calls, dups, stop_after;
	int64_t min_mtime, max_mtime;
};

static int
list_collect(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct list_acc *a = arg;

	a->calls++;
	if (a->must_contain == NULL || strstr(key, a->must_contain) != NULL) {
		if (g_hash_table_contains(a->seen, key))
			a->dups++;
		g_hash_table_insert(a->seen, g_strdup(key), g_memdup2(&size, sizeof size));
		if (mtime < a->min_mtime)
			a->min_mtime = mtime;
		if (mtime > a->max_mtime)
			a->max_mtime = mtime;
	}
	return a->stop_after != 0 && a->calls >= a->stop_after;
}

static void
list_acc_init(struct list_acc *a, const char *must_contain)
{
	memset(a, 0, sizeof *a);
	a->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	a->must_contain = must_contain;
	a->min_mtime = INT64_MAX;
	a->max_mtime = INT64_MIN;
}

/* list_count - objects under prefix whose key contains this run's tag (-1 on error) */
static long
list_count(struct storage *st, const char *prefix)
{
	struct list_acc a;
	long n;
	int rc;

	list_acc_init(&a, run_tag);
	rc = storage_list(st, prefix, list_collect, &a);
	n = rc == STORAGE_OK && a.dups == 0 ? (long)g_hash_table_size(a.seen) : -1;
	g_hash_table_destroy(a.seen);
	return n;
}

/* ---- conformance ---- */

static void
conf_roundtrip(struct storage *st, const char *label)
{
	const size_t size = 100000; /* more than one 64 KiB chunk */
	unsigned char *data = g_malloc(size);
	unsigned char *data2 = g_malloc(777);
	char *key = key_of("rt", "m");
	GByteArray *b;
	uint64_t sz = 0;
	int64_t mt = 0, now = (int64_t)time(NULL);
	size_t maxchunk;
	int rc;

	pattern_fill(data, size, 0, 1);
	CHECK(put_data(st, key, data, size, 4096) == STORAGE_OK, "%s: put+commit 100000 bytes", label);

	rc = get_all(st, key, 0, STORAGE_TO_END, &b, &maxchunk);
	CHECK(rc == STORAGE_OK && bytes_eq(b, data, size), "%s: get whole object", label);
	CHECK(maxchunk > 0 && maxchunk <= STORAGE_FILE_CHUNK, "%s: sink gets chunks of <= 1 MiB (max %zu)",
		label, maxchunk);
	g_byte_array_unref(b);

	rc = get_all(st, key, 0, 1, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, data, 1), "%s: get offset 0 length 1", label);
	g_byte_array_unref(b);

	rc = get_all(st, key, 60000, 10000, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, data + 60000, 10000),
		"%s: get middle range across a 64 KiB boundary", label);
	g_byte_array_unref(b);

	rc = get_all(st, key, 70000, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, data + 70000, size - 70000), "%s: get offset..TO_END", label);
	g_byte_array_unref(b);

	rc = get_all(st, key, 10, size - 11, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, data + 10, size - 11),
		"%s: range ending one byte before the end", label);
	g_byte_array_unref(b);

	rc = get_all(st, key, size - 10, 1000, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, data + size - 10, 10),
		"%s: range running past the end is cut at the end", label);
	g_byte_array_unref(b);

	rc = get_all(st, key, size, 10, &b, NULL);
	CHECK(rc == STORAGE_OK && b->len == 0, "%s: offset == size -> ok, empty", label);
	g_byte_array_unref(b);

	rc = get_all(st, key, size + 12345, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && b->len == 0, "%s: offset beyond end -> ok, empty", label);
	g_byte_array_unref(b);

	rc = get_all(st, key, 5, 0, &b, NULL);
	CHECK(rc == STORAGE_OK && b->len == 0, "%s: length 0 -> ok, empty", label);
	g_byte_array_unref(b);

	rc = get_all(st, key, 99990, UINT64_MAX - 5, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, data + 99990, 10), "%s: offset+length overflow is clamped", label);
	g_byte_array_unref(b);

	rc = storage_stat(st, key, &sz, &mt);
	CHECK(rc == STORAGE_OK && sz == size, "%s: stat size %llu", label, (unsigned long long)sz);
	CHECK(mt > now - 3600 && mt < now + 3600, "%s: stat mtime is about now", label);

	/* overwrite with a shorter object */
	pattern_fill(data2, 777, 0, 2);
	CHECK(put_data(st, key, data2, 777, 100) == STORAGE_OK, "%s: second put of the same key", label);
	rc = get_all(st, key, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, data2, 777), "%s: overwrite replaces the content", label);
	g_byte_array_unref(b);
	CHECK(storage_stat(st, key, &sz, NULL) == STORAGE_OK && sz == 777, "%s: stat after overwrite", label);

	/* empty object */
	g_free(key);
	key = key_of("rt", "0");
	CHECK(put_data(st, key, "", 0, 1) == STORAGE_OK, "%s: put empty object", label);
	rc = get_all(st, key, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && b->len == 0, "%s: get empty object", label);
	g_byte_array_unref(b);
	CHECK(storage_stat(st, key, &sz, NULL) == STORAGE_OK && sz == 0, "%s: stat empty object", label);

	/* delete */
	CHECK(storage_delete(st, key) == STORAGE_OK, "%s: delete", label);
	rc = get_all(st, key, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_ENOENT && b->len == 0, "%s: get after delete -> ENOENT", label);
	g_byte_array_unref(b);
	CHECK(storage_stat(st, key, &sz, NULL) == STORAGE_ENOENT, "%s: stat after delete -> ENOENT", label);
	CHECK(storage_delete(st, key) == STORAGE_ENOENT, "%s: second delete -> ENOENT", label);
	g_free(key);
	key = key_of("rt", "m");
	CHECK(storage_delete(st, key) == STORAGE_OK, "%s: delete the overwritten object", label);
	CHECK(list_count(st, run_tag) == 0, "%s: nothing of this run left listed", label);

	g_free(key);
	g_free(data);
	g_free(data2);
}

static void
conf_visibility(struct storage *st, const char *label)
{
	char *key = key_of("vis", "m");
	char *prefix = g_strdup_printf("%svis", run_tag);
	struct storage_put *p;
	GByteArray *b;
	uint64_t sz;
	int rc;

	/* abort: nothing visible */
	p = storage_put_begin(st, key, 5, &rc);
	CHECK(p != NULL && rc == STORAGE_OK, "%s: put_begin", label);
	CHECK(storage_put_write(p, "hello", 5) == STORAGE_OK, "%s: put_write", label);
	storage_put_abort(p);
	rc = get_all(st, key, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_ENOENT && b->len == 0, "%s: aborted put: get -> ENOENT", label);
	g_byte_array_unref(b);
	CHECK(storage_stat(st, key, &sz, NULL) == STORAGE_ENOENT, "%s: aborted put: stat -> ENOENT", label);
	CHECK(list_count(st, prefix) == 0, "%s: aborted put: not listed", label);
	storage_put_abort(NULL);

	/* in progress: invisible until commit */
	p = storage_put_begin(st, key, 0, &rc);
	CHECK(p != NULL && storage_put_write(p, "world", 5) == STORAGE_OK, "%s: put in progress", label);
	rc = get_all(st, key, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_ENOENT, "%s: uncommitted put: get -> ENOENT", label);
	g_byte_array_unref(b);
	CHECK(storage_stat(st, key, &sz, NULL) == STORAGE_ENOENT, "%s: uncommitted put: stat -> ENOENT", label);
	CHECK(list_count(st, prefix) == 0, "%s: uncommitted put: list empty", label);
	CHECK(list_count(st, "") == 0, "%s: uncommitted put: full list shows none of this run", label);
	CHECK(storage_delete(st, key) == STORAGE_ENOENT, "%s: uncommitted put: delete -> ENOENT", label);
	CHECK(storage_put_commit(p) == STORAGE_OK, "%s: commit", label);
	rc = get_all(st, key, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, "world", 5), "%s: visible after commit", label);
	g_byte_array_unref(b);
	CHECK(list_count(st, prefix) == 1, "%s: listed after commit", label);

	/* an aborted overwrite keeps the old object */
	p = storage_put_begin(st, key, 0, &rc);
	CHECK(p != NULL && storage_put_write(p, "XXXXXXXXXX", 10) == STORAGE_OK, "%s: overwrite begun", label);
	rc = get_all(st, key, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, "world", 5), "%s: old object served during overwrite", label);
	g_byte_array_unref(b);
	storage_put_abort(p);
	rc = get_all(st, key, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, "world", 5), "%s: aborted overwrite keeps old object", label);
	g_byte_array_unref(b);
	CHECK(storage_delete(st, key) == STORAGE_OK, "%s: cleanup", label);
	CHECK(list_count(st, prefix) == 0, "%s: nothing listed after delete", label);

	g_free(prefix);
	g_free(key);
}

#define LIST_IDS 100
#define LIST_SHARDS 20

/* list_id - the i-th id of the list test: ids spread over 20 two-character shards */
static char *
list_id(int i)
{
	return g_strdup_printf("%02x%sl%03d", (i % LIST_SHARDS) * 13, run_tag, i);
}

static char *
list_key(int i, int j)
{
	char *id = list_id(i);
	char *k;

	if (j == 2 && i % 10 == 0)
		k = g_strdup_printf("%s/s/1", id); /* a nested key */
	else
		k = g_strdup_printf("%s/%s", id, j == 0 ? "m" : j == 1 ? "0" : "1");
	g_free(id);
	return k;
}

static void
conf_list(struct storage *st, const char *label)
{
	GHashTable *want = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct list_acc a;
	GHashTableIter it;
	gpointer k, v;
	char *key, *id, *prefix;
	bool all_ok = true, sizes_ok = true;
	long n;
	int i, j, rc, s, c;

	for (i = 0; i < LIST_IDS; i++) {
		for (j = 0; j < 3; j++) {
			key = list_key(i, j);
			/* the size tells the keys apart: i * 3 + j bytes */
			if (put_data(st, key, "0123456789abcdef0123456789abcdef0123456789abcdef"
					"0123456789abcdef0123456789abcdef0123456789abcdef"
					"0123456789abcdef0123456789abcdef0123456789abcdef"
					"0123456789abcdef0123456789abcdef0123456789abcdef"
					"0123456789abcdef0123456789abcdef0123456789abcdef"
					"0123456789abcdef0123456789abcdef0123456789abcdef"
					"0123456789abcdef0123456789abcdef", (size_t)(i * 3 + j), 7) != STORAGE_OK)
				all_ok = false;
			g_hash_table_insert(want, key, GINT_TO_POINTER(i * 3 + j + 1));
		}
	}
	CHECK(all_ok, "%s: 300 objects over %d ids in %d shards put", label, LIST_IDS, LIST_SHARDS);

	list_acc_init(&a, run_tag);
	rc = storage_list(st, "", list_collect, &a);
	CHECK(rc == STORAGE_OK && a.dups == 0, "%s: list all: ok, no duplicates", label);
	CHECK(g_hash_table_size(a.seen) == 300, "%s: list all: exactly 300 of this run (got %u)", label,
		g_hash_table_size(a.seen));
	g_hash_table_iter_init(&it, want);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const uint64_t *size = g_hash_table_lookup(a.seen, k);

		if (size == NULL || *size != (uint64_t)(GPOINTER_TO_INT(v) - 1))
			sizes_ok = false;
	}
	CHECK(sizes_ok, "%s: list all: every key listed with its size", label);
	CHECK(a.min_mtime > (int64_t)time(NULL) - 3600 && a.max_mtime < (int64_t)time(NULL) + 3600,
		"%s: list reports mtimes of about now", label);
	g_hash_table_destroy(a.seen);

	/* by shard (two characters), by first character, by id, by id + '/', by key */
	for (s = 0; s < LIST_SHARDS; s += 7) {
		prefix = g_strdup_printf("%02x%sl", s * 13, run_tag);
		n = list_count(st, prefix);
		CHECK(n == 15, "%s: list prefix \"%s\": 15 (got %ld)", label, prefix, n);
		g_free(prefix);
	}
	for (c = 0; c < 2; c++) {
		char first = c == 0 ? '0' : '9';
		long expect = 0;

		for (i = 0; i < LIST_IDS; i++) {
			char *tmp = list_id(i);

			expect += tmp[0] == first ? 3 : 0;
			g_free(tmp);
		}
		prefix = g_strdup_printf("%c", first);
		n = list_count(st, prefix);
		CHECK(n == expect, "%s: list one-character prefix \"%s\": %ld (got %ld)", label, prefix,
			expect, n);
		g_free(prefix);
	}
	id = list_id(42);
	CHECK(list_count(st, id) == 3, "%s: list prefix = id: 3", label);
	prefix = g_strdup_printf("%s/", id);
	CHECK(list_count(st, prefix) == 3, "%s: list prefix = id/: 3", label);
	g_free(prefix);
	prefix = g_strdup_printf("%s/m", id);
	CHECK(list_count(st, prefix) == 1, "%s: list prefix = whole key: 1", label);
	g_free(prefix);
	prefix = g_strdup_printf("%s/1", id);
	CHECK(list_count(st, prefix) == 1, "%s: list prefix = whole key \"id/1\" (not \"id/10\"): 1", label);
	g_free(prefix);
	g_free(id);
	id = list_id(30);
	prefix = g_strdup_printf("%s/s", id);
	CHECK(list_count(st, prefix) == 1, "%s: list prefix inside a nested key: 1", label);
	g_free(prefix);
	prefix = g_strdup_printf("%s/s/1", id);
	CHECK(list_count(st, prefix) == 1, "%s: list prefix = nested key: 1", label);
	g_free(prefix);
	g_free(id);
	prefix = g_strdup_printf("%sl0", run_tag);
	CHECK(list_count(st, prefix) == 0, "%s: list prefix matching nothing: 0", label);
	g_free(prefix);

	/* a callback that stops */
	list_acc_init(&a, NULL);
	a.stop_after = 1;
	rc = storage_list(st, "", list_collect, &a);
	CHECK(rc == STORAGE_ESTOP && a.calls == 1, "%s: list callback stop -> ESTOP after 1 call", label);
	g_hash_table_destroy(a.seen);
	list_acc_init(&a, NULL);
	a.stop_after = 5;
	prefix = g_strdup_printf("%02x%sl", 13, run_tag);
	rc = storage_list(st, prefix, list_collect, &a);
	CHECK(rc == STORAGE_ESTOP && a.calls == 5, "%s: list stop after 5 of 15", label);
	g_free(prefix);
	g_hash_table_destroy(a.seen);

	/* invalid prefixes */
	CHECK(storage_list(st, "/a", list_collect, &a) == STORAGE_EPERM, "%s: list prefix \"/a\" -> EPERM", label);
	CHECK(storage_list(st, "a//", list_collect, &a) == STORAGE_EPERM, "%s: list prefix \"a//\" -> EPERM", label);
	CHECK(storage_list(st, "..", list_collect, &a) == STORAGE_EPERM, "%s: list prefix \"..\" -> EPERM", label);
	CHECK(storage_list(st, "A", list_collect, &a) == STORAGE_EPERM, "%s: list prefix \"A\" -> EPERM", label);

	/* delete them all */
	all_ok = true;
	g_hash_table_iter_init(&it, want);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (storage_delete(st, k) != STORAGE_OK)
			all_ok = false;
	}
	CHECK(all_ok, "%s: delete all 300", label);
	CHECK(list_count(st, "") == 0, "%s: list all after deleting: 0", label);
	g_hash_table_destroy(want);
}

static void
conf_invalid_keys(struct storage *st, const char *label)
{
	static const char *const bad[] = {
		"", "/", "/ab", "ab/", "ab//m", "..", "ab/../m", "ab/./m", ".ab", "Ab/m", "ab/M",
		"ab m", "ab.m", "ab-m", "ab_m", "ab\nm", "ab\\m", "\xc3\xa4" "b", "ab/m/", NULL,
	};
	char longkey[STORAGE_KEY_MAX + 2];
	struct storage_put *p;
	GByteArray *b;
	uint64_t sz;
	size_t i;
	int rc;
	bool ok = true;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		const char *k = bad[i];
		bool this_ok = true;

		p = storage_put_begin(st, k, 0, &rc);
		if (p != NULL) {
			storage_put_abort(p);
			this_ok = false;
		}
		this_ok = this_ok && rc == STORAGE_EPERM;
		this_ok = this_ok && storage_get(st, k, 0, STORAGE_TO_END, sink_collect, NULL) == STORAGE_EPERM;
		this_ok = this_ok && storage_stat(st, k, &sz, NULL) == STORAGE_EPERM;
		this_ok = this_ok && storage_delete(st, k) == STORAGE_EPERM;
		if (!this_ok) {
			ok = false;
			printf("# invalid key accepted: %s\n", k != NULL ? k : "(null)");
		}
	}
	CHECK(ok, "%s: %zu invalid keys rejected by put/get/stat/delete with EPERM", label,
		G_N_ELEMENTS(bad));

	/* 200 bytes: allowed; 201: not */
	memset(longkey, 'a', sizeof longkey);
	snprintf(longkey, sizeof longkey, "%s", run_tag);
	longkey[strlen(run_tag)] = 'a';
	longkey[STORAGE_KEY_MAX] = '\0';
	longkey[100] = '/';
	CHECK(put_data(st, longkey, "x", 1, 1) == STORAGE_OK, "%s: 200-byte key accepted", label);
	rc = get_all(st, longkey, 0, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && bytes_eq(b, "x", 1), "%s: 200-byte key readable", label);
	g_byte_array_unref(b);
	CHECK(storage_delete(st, longkey) == STORAGE_OK, "%s: 200-byte key deleted", label);
	longkey[STORAGE_KEY_MAX] = 'a';
	longkey[STORAGE_KEY_MAX + 1] = '\0';
	p = storage_put_begin(st, longkey, 0, &rc);
	CHECK(p == NULL && rc == STORAGE_EPERM, "%s: 201-byte key rejected", label);
	storage_put_abort(p);
}

struct verify {
	uint64_t pos;
	unsigned seed;
	bool ok;
	size_t calls, stop_after;
};

static int
sink_verify(void *arg, const void *buf, size_t len)
{
	struct verify *v = arg;
	const unsigned char *p = buf;
	size_t i;

	v->calls++;
	for (i = 0; i < len && v->ok; i++) {
		if (p[i] != pattern(v->pos + i, v->seed))
			v->ok = false;
	}
	v->pos += len;
	return v->stop_after != 0 && v->calls >= v->stop_after;
}

static void
conf_large(struct storage *st, const char *label)
{
	unsigned char *chunk = g_malloc(MIB);
	char *key = key_of("big", "0");
	struct storage_put *p;
	struct verify v;
	uint64_t sz = 0, off;
	int rc;
	bool ok = true;

	p = storage_put_begin(st, key, BIG_SIZE, &rc);
	CHECK(p != NULL, "%s: big put begun", label);
	for (off = 0; p != NULL && off < BIG_SIZE; off += MIB) {
		pattern_fill(chunk, MIB, off, 3);
		if (storage_put_write(p, chunk, MIB) != STORAGE_OK)
			ok = false;
	}
	CHECK(ok && storage_put_commit(p) == STORAGE_OK, "%s: 50 MiB written in 1 MiB chunks, committed",
		label);
	CHECK(storage_stat(st, key, &sz, NULL) == STORAGE_OK && sz == BIG_SIZE, "%s: big stat size", label);

	v = (struct verify){ 0, 3, true, 0, 0 };
	rc = storage_get(st, key, 0, STORAGE_TO_END, sink_verify, &v);
	CHECK(rc == STORAGE_OK && v.ok && v.pos == BIG_SIZE, "%s: big get streams all 50 MiB correctly",
		label);
	/* 64 KiB at a time; the file backend up to 1 MiB */
	CHECK(v.calls >= BIG_SIZE / STORAGE_FILE_CHUNK, "%s: big get in >= 50 chunks (%zu)", label, v.calls);

	v = (struct verify){ 49 * MIB + 3, 3, true, 0, 0 };
	rc = storage_get(st, key, 49 * MIB + 3, MIB - 3, sink_verify, &v);
	CHECK(rc == STORAGE_OK && v.ok && v.pos == BIG_SIZE, "%s: big get of the last MiB - 3", label);

	/* a sink that stops */
	v = (struct verify){ 0, 3, true, 0, 1 };
	rc = storage_get(st, key, 0, STORAGE_TO_END, sink_verify, &v);
	CHECK(rc == STORAGE_ESTOP && v.calls == 1, "%s: sink returning nonzero on call 1 -> ESTOP", label);
	v = (struct verify){ 0, 3, true, 0, 3 };
	rc = storage_get(st, key, 0, STORAGE_TO_END, sink_verify, &v);
	CHECK(rc == STORAGE_ESTOP && v.calls == 3 && v.ok, "%s: sink stopping on call 3 -> ESTOP", label);

	CHECK(storage_delete(st, key) == STORAGE_OK, "%s: big delete", label);
	g_free(key);
	g_free(chunk);
}

#define THREADS 4
#define THREAD_ROUNDS 150

struct worker {
	struct storage *st;
	int id;
	int failures;
	int list_rounds;
	int *stop; /* g_atomic_int */
};

/* thread_key - kept objects (every 5th) go to their own directory "k" */
static char *
thread_key(int t, int i)
{
	if (i % 5 == 0)
		return g_strdup_printf("%sk/%s%dn%d", run_tag, i % 2 ? "m" : "z", t, i);
	return g_strdup_printf("%st%d/%s%dn%d", run_tag, i % 3, i % 2 ? "m" : "z", t, i);
}

/* worker_main - put, get, stat, delete its own objects; all threads share three
 * "directories", so (file backend) directories vanish while others create them */
static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned char data[3000];
	int i;

	for (i = 0; i < THREAD_ROUNDS; i++) {
		char *key = thread_key(w->id, i);
		size_t len = 1000 + (size_t)((i * 37 + w->id * 11) % 2000);
		GByteArray *b = NULL;
		uint64_t sz = 0;

		pattern_fill(data, len, 0, (unsigned)(w->id * 1000 + i));
		if (put_data(w->st, key, data, len, 512) != STORAGE_OK)
			w->failures++;
		else if (get_all(w->st, key, 0, STORAGE_TO_END, &b, NULL) != STORAGE_OK || !bytes_eq(b, data, len))
			w->failures++;
		else if (storage_stat(w->st, key, &sz, NULL) != STORAGE_OK || sz != len)
			w->failures++;
		/* delete most, so directories come and go while others create them */
		else if (i % 5 != 0 && storage_delete(w->st, key) != STORAGE_OK)
			w->failures++;
		if (b != NULL)
			g_byte_array_unref(b);
		g_free(key);
	}
	return NULL;
}

static void *
lister_main(void *arg)
{
	struct worker *w = arg;

	do {
		if (list_count(w->st, run_tag) < 0)
			w->failures++;
		w->list_rounds++;
	} while (!g_atomic_int_get(w->stop));
	return NULL;
}

static void
conf_threads(struct storage *st, const char *label)
{
	struct worker w[THREADS + 1];
	pthread_t th[THREADS + 1];
	int stop = 0;
	int i, failures = 0, started = 0;
	char *prefix;

	for (i = 0; i <= THREADS; i++) {
		w[i] = (struct worker){ st, i, 0, 0, &stop };
		if (pthread_create(&th[i], NULL, i < THREADS ? worker_main : lister_main, &w[i]) == 0)
			started++;
	}
	CHECK(started == THREADS + 1, "%s: %d worker threads and a lister started", label, THREADS);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	g_atomic_int_set(&stop, 1);
	pthread_join(th[THREADS], NULL);
	for (i = 0; i < THREADS; i++)
		failures += w[i].failures;
	CHECK(failures == 0, "%s: %d threads x %d put/get/stat/delete rounds, %d failures", label,
		THREADS, THREAD_ROUNDS, failures);
	CHECK(w[THREADS].failures == 0 && w[THREADS].list_rounds > 0,
		"%s: concurrent lister ok (%d rounds)", label, w[THREADS].list_rounds);
	/* every 5th object was kept: THREAD_ROUNDS / 5 per thread */
	prefix = g_strdup_printf("%sk/", run_tag);
	CHECK(list_count(st, prefix) == THREADS * THREAD_ROUNDS / 5, "%s: kept objects listed exactly",
		label);
	CHECK(list_count(st, run_tag) == THREADS * THREAD_ROUNDS / 5, "%s: deleted ones not listed", label);
	for (i = 0; i < THREADS * THREAD_ROUNDS; i++) {
		int t = i / THREAD_ROUNDS, n = i % THREAD_ROUNDS;
		char *key;

		if (n % 5 != 0)
			continue;
		key = thread_key(t, n);
		if (storage_delete(st, key) != STORAGE_OK)
			failures++;
		g_free(key);
	}
	CHECK(failures == 0 && list_count(st, run_tag) == 0, "%s: thread objects cleaned up", label);
	g_free(prefix);
}

/* ---- maintenance: storage_abort_stale, storage_prune ---- */

struct stale_acc {
	int mine;        /* reports whose key starts with run_tag */
	int64_t started; /* of the last one of ours */
};

static void
stale_collect(void *arg, const char *key, int64_t size, int64_t started)
{
	(void)size;
	struct stale_acc *a = arg;

	if (strncmp(key, run_tag, strlen(run_tag)) == 0) {
		a->mine++;
		a->started = started;
	}
}

/*
 * conf_stale - a put left open (a writer that died: never committed, never
 * aborted) is reported by a dry abort_stale whose cutoff lies after its start
 * where the backend has something on the store by then (file: the temp
 * file; s3: the multipart upload once a part is out; webdav and memory send
 * nothing before commit, but webdav reports empty collections), and left alone by a real run whose cutoff lies
 * before its start; the put still commits afterwards.
 */
static void
conf_stale(struct storage *st, const char *label)
{
	struct stale_acc a = { 0 };
	struct storage_put *p;
	char *key = key_of("st", "0");
	size_t len = 6 * MIB; /* above the smallest S3 part size: one part goes out */
	unsigned char *buf = g_malloc(len);
	int64_t t0 = (int64_t)time(NULL);
	GByteArray *b = NULL;
	int rc, err;

	rc = storage_abort_stale(st, 0, false, stale_collect, &a);
	CHECK(rc == 0 && a.mine == 0, "%s: abort_stale with cutoff 0 finds nothing (%d)", label, rc);
	pattern_fill(buf, len, 0, 7);
	p = storage_put_begin(st, key, len + 1, &err);
	CHECK(p != NULL, "%s: put begun for the stale-upload check", label);
	if (p == NULL)
		goto out;
	CHECK(storage_put_write(p, buf, len) == STORAGE_OK &&
	      storage_put_write(p, buf, 1) == STORAGE_OK, "%s: 6 MiB + 1 written, not committed", label);
	a = (struct stale_acc){ 0 };
	rc = storage_abort_stale(st, t0 + 3600, true, stale_collect, &a);
	if (strcmp(storage_backend_name(st), "file") == 0 || strcmp(storage_backend_name(st), "s3") == 0)
		CHECK(rc >= 1 && a.mine == 1 && a.started >= t0 - 120 && a.started <= t0 + 120,
			"%s: dry abort_stale (cutoff in the future) reports the open put (%d, %d of ours)",
			label, rc, a.mine);
	else if (strcmp(storage_backend_name(st), "memory") == 0)
		CHECK(rc == 0 && a.mine == 0, "%s: dry abort_stale: nothing on the store before commit "
			"(%d, %d of ours)", label, rc, a.mine);
	else /* webdav: nothing is sent before commit; the empty collections this run's
	      * deletes left (and the put's own, made at begin) are older than this cutoff */
		CHECK(rc >= 0, "%s: dry abort_stale with a future cutoff: %d (%d of ours: empty "
			"collections)", label, rc, a.mine);
	a = (struct stale_acc){ 0 };
	rc = storage_abort_stale(st, t0 - 3600, false, stale_collect, &a);
	CHECK(rc >= 0 && a.mine == 0, "%s: abort_stale with a cutoff before the put leaves it (%d)",
		label, rc);
	CHECK(storage_put_commit(p) == STORAGE_OK, "%s: ... and the put still commits", label);
	rc = get_all(st, key, len, STORAGE_TO_END, &b, NULL);
	CHECK(rc == STORAGE_OK && b->len == 1, "%s: ... whole (%u bytes past 6 MiB)", label,
		b != NULL ? b->len : 0);
	if (b != NULL)
		g_byte_array_unref(b);
	CHECK(storage_delete(st, key) == STORAGE_OK, "%s: stale-check object deleted", label);
out:
	g_free(buf);
	g_free(key);
}

#define PRUNE_ROUNDS 25

struct pruner {
	struct storage *st;
	char what;      /* 'w' writer, 'p' pruner */
	int failures;
	int *stop;      /* the writer sets it when done */
	int *ready;     /* the pruner sets it after its first prune */
	int prunes;     /* the pruner's calls */
};

/* race_id - "<run_tag from its 3rd character>r<what><i>": a shard of its own
 * (run_tag[2..3]; the other keys of this run are in run_tag[0..1]), which
 * empties whenever the writer is between its prune and its next put */
static char *
race_id(char what, int i)
{
	return g_strdup_printf("%sr%c%d", run_tag + 2, what, i);
}

/* pruner_main - the writer: rounds of put id/0, get it back, delete, prune
 * id; the pruner: prune of a dead id of the same shard, over and over, so it
 * removes the shard whenever it looks empty, while the writer puts into it.
 * (OFFLOAD_WEBDAV_TEST_PRUNE_PAUSE_MS widens the window between the check
 * and the DELETE; without its lock a webdav prune loses objects then.) */
static void *
pruner_main(void *arg)
{
	struct pruner *pr = arg;
	char data[64];
	gulong hold_us;
	int i, rc;

	if (pr->what == 'p') {
		char *dead = race_id('p', 0);

		while (!g_atomic_int_get(pr->stop)) {
			if ((rc = storage_prune(pr->st, dead)) != STORAGE_OK) {
				pr->failures++;
				fprintf(stderr, "# race %s: prune: %s\n", dead, storage_strerror(rc));
			}
			pr->prunes++;
			g_atomic_int_set(pr->ready, 1);
			/* not flat out: pruning a shard in the 1-RTT gap between a put's
			 * MKCOL of the shard and of its id sends the put climbing again;
			 * a pruner doing that on every try starves it (purge prunes once
			 * per purged transfer) */
			g_usleep(10000);
		}
		g_free(dead);
		return NULL;
	}
	/* the committed object stays a while before it is read back: past the
	 * pause of a prune that checked the shard just before the put */
	hold_us = getenv("OFFLOAD_WEBDAV_TEST_PRUNE_PAUSE_MS") != NULL ?
		2000 * CLAMP(atol(getenv("OFFLOAD_WEBDAV_TEST_PRUNE_PAUSE_MS")), 0, 5000) : 0;
	for (i = 0; i < 10000 && !g_atomic_int_get(pr->ready); i++)
		g_usleep(1000);
	for (i = 0; i < PRUNE_ROUNDS; i++) {
		char *id = race_id(pr->what, i);
		char *key = g_strdup_printf("%s/0", id);
		GByteArray *b = NULL;

		g_snprintf(data, sizeof data, "%s round %d", id, i);
		if ((rc = put_data(pr->st, key, data, strlen(data), 7)) != STORAGE_OK) {
			pr->failures++;
			fprintf(stderr, "# race %s: put: %s\n", key, storage_strerror(rc));
		} else if (g_usleep(hold_us), false) {
		} else if ((rc = get_all(pr->st, key, 0, STORAGE_TO_END, &b, NULL)) != STORAGE_OK ||
			 !bytes_eq(b, data, strlen(data))) {
			pr->failures++;
			fprintf(stderr, "# race %s: read back: %s\n", key, storage_strerror(rc));
		}
		if (b != NULL)
			g_byte_array_unref(b);
		if ((rc = storage_delete(pr->st, key)) != STORAGE_OK) {
			pr->failures++;
			fprintf(stderr, "# race %s: delete: %s\n", key, storage_strerror(rc));
		}
		if ((rc = storage_prune(pr->st, id)) != STORAGE_OK) {
			pr->failures++;
			fprintf(stderr, "# race %s: prune: %s\n", id, storage_strerror(rc));
		}
		g_free(key);
		g_free(id);
	}
	g_atomic_int_set(pr->stop, 1);
	return NULL;
}

/* conf_prune - prune after delete, a put into the pruned id works again,
 * prune of a tombstone-kept id keeps the object, invalid ids refused, and
 * two threads putting and pruning in one shard lose nothing */
static void
conf_prune(struct storage *st, const char *label)
{
	char *id = g_strdup_printf("%spr", run_tag);
	char *k0 = g_strdup_printf("%s/0", id), *kt = g_strdup_printf("%s/t", id);
	int stop = 0, ready = 0;
	struct pruner pr[2] = { { st, 'w', 0, &stop, &ready, 0 }, { st, 'p', 0, &stop, &ready, 0 } };
	pthread_t th[2];
	GByteArray *b = NULL;
	int started = 0, i;

	CHECK(put_data(st, k0, "zero", 4, 4) == STORAGE_OK && put_data(st, kt, "t", 1, 1) == STORAGE_OK,
		"%s: two objects of one id put", label);
	CHECK(storage_delete(st, k0) == STORAGE_OK && storage_prune(st, id) == STORAGE_OK,
		"%s: delete one, prune the id", label);
	CHECK(get_all(st, kt, 0, STORAGE_TO_END, &b, NULL) == STORAGE_OK && bytes_eq(b, "t", 1),
		"%s: prune keeps what is still there", label);
	if (b != NULL)
		g_byte_array_unref(b);
	b = NULL;
	CHECK(storage_delete(st, kt) == STORAGE_OK && storage_prune(st, id) == STORAGE_OK &&
	      list_count(st, id) == 0, "%s: delete the last, prune: nothing listed", label);
	CHECK(storage_prune(st, id) == STORAGE_OK, "%s: prune of a pruned id is ok", label);
	CHECK(put_data(st, k0, "again", 5, 2) == STORAGE_OK &&
	      get_all(st, k0, 0, STORAGE_TO_END, &b, NULL) == STORAGE_OK && bytes_eq(b, "again", 5),
		"%s: a put into a pruned id makes its containers again", label);
	if (b != NULL)
		g_byte_array_unref(b);
	CHECK(storage_delete(st, k0) == STORAGE_OK && storage_prune(st, id) == STORAGE_OK,
		"%s: cleaned up", label);
	CHECK(storage_prune(st, "a/b") == STORAGE_EPERM && storage_prune(st, "") == STORAGE_EPERM &&
	      storage_prune(st, "A") == STORAGE_EPERM, "%s: prune refuses non-ids", label);

	for (i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, pruner_main, &pr[i]) == 0)
			started++;
	CHECK(started == 2, "%s: a writer and a pruner in one shard started", label);
	if (started < 2) {
		g_atomic_int_set(&stop, 1);
		g_atomic_int_set(&ready, 1);
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	CHECK(pr[0].failures == 0 && pr[1].failures == 0 && pr[1].prunes > 0,
		"%s: %d rounds of put, read back, delete, prune racing %d prunes of the shard: "
		"%d + %d failures", label, PRUNE_ROUNDS, pr[1].prunes, pr[0].failures, pr[1].failures);
	CHECK(list_count(st, run_tag + 2) == 0, "%s: nothing of the race left listed", label);
	g_free(kt);
	g_free(k0);
	g_free(id);
}

/* ---- create-if-absent (storage_create, storage_put_commit_new) ---- */

#define CREATE_THREADS 6

struct creator {
	struct storage *st;
	const char *key;
	int idx;
	int rc;
	gint *go;
};

static void *
creator_main(void *arg)
{
	struct creator *c = arg;
	char body[32];

	while (!g_atomic_int_get(c->go))
		g_thread_yield();
	snprintf(body, sizeof body, "writer %d", c->idx);
	c->rc = storage_create(c->st, c->key, body, strlen(body));
	return NULL;
}

/* conf_create_race - writers create one key at once: exactly one wins and its
 * body is the object's */
static void
conf_create_race(struct storage *st, const char *label, const char *key)
{
	struct creator c[CREATE_THREADS];
	pthread_t th[CREATE_THREADS];
	gint go = 0;
	int i, won = 0, exist = 0, other = 0, winner = -1;
	char body[32];
	GByteArray *b = NULL;

	for (i = 0; i < CREATE_THREADS; i++) {
		c[i] = (struct creator){ st, key, i, STORAGE_ETEMP, &go };
		pthread_create(&th[i], NULL, creator_main, &c[i]);
	}
	g_atomic_int_set(&go, 1);
	for (i = 0; i < CREATE_THREADS; i++) {
		pthread_join(th[i], NULL);
		if (c[i].rc == STORAGE_OK) {
			won++;
			winner = i;
		} else if (c[i].rc == STORAGE_EEXIST) {
			exist++;
		} else {
			other++;
		}
	}
	if (storage_create_exclusive_atomic(st))
		CHECK(won == 1 && exist == CREATE_THREADS - 1 && other == 0,
			"%s: %d writers create one key at once: one wins (%d won, %d EEXIST, %d other)", label,
			CREATE_THREADS, won, exist, other);
	else /* look-then-put: at least one, perhaps more (a rare duplicate) */
		CHECK(won >= 1 && won + exist == CREATE_THREADS && other == 0,
			"%s: %d writers create one key at once without server support: %d won, %d EEXIST, "
			"%d other", label, CREATE_THREADS, won, exist, other);
	snprintf(body, sizeof body, "writer %d", winner);
	CHECK(get_all(st, key, 0, STORAGE_TO_END, &b, NULL) == STORAGE_OK &&
		(bytes_eq(b, body, strlen(body)) || (won > 1 && b->len == strlen(body))),
		"%s: the race winner's body is the object's", label);
	g_byte_array_unref(b);
	CHECK(storage_delete(st, key) == STORAGE_OK, "%s: delete the raced key", label);
}

static void
conf_create(struct storage *st, const char *label)
{
	char *key = key_of("create", "oreceipt0");
	char *key2 = key_of("create", "obruteforce");
	GByteArray *b = NULL;
	struct storage_put *p;
	int rc;

	CHECK(storage_create(st, key, "first", 5) == STORAGE_OK, "%s: create of a new key", label);
	/* S3 servers without If-None-Match: * on PUT (Swift's s3api) fall back to look-then-put */
	CHECK(storage_create_exclusive_atomic(st) || strcmp(storage_backend_name(st), "s3") == 0,
		"%s: create-if-absent is atomic (%s)", label, storage_create_exclusive_atomic(st) ? "yes" : "no");
	rc = storage_create(st, key, "second!", 7);
	CHECK(rc == STORAGE_EEXIST, "%s: create of an existing key -> EEXIST (%s)", label, storage_strerror(rc));
	CHECK(get_all(st, key, 0, STORAGE_TO_END, &b, NULL) == STORAGE_OK && bytes_eq(b, "first", 5),
		"%s: a refused create leaves the object as it was", label);
	g_byte_array_unref(b);
	CHECK(list_count(st, key) == 1, "%s: a refused create leaves nothing else behind", label);
	/* a plain put still replaces it; after a delete a create works again */
	CHECK(put_data(st, key, "third", 5, 5) == STORAGE_OK, "%s: a plain put over a created key", label);
	CHECK(storage_delete(st, key) == STORAGE_OK, "%s: delete the created key", label);
	CHECK(storage_create(st, key, "", 0) == STORAGE_OK, "%s: create (empty body) after a delete", label);
	CHECK(storage_stat(st, key, NULL, NULL) == STORAGE_OK, "%s: the empty created object exists", label);
	CHECK(storage_delete(st, key) == STORAGE_OK, "%s: delete it again", label);
	/* the streaming form */
	p = storage_put_begin(st, key2, 0, &rc);
	CHECK(p != NULL && storage_put_write(p, "ab", 2) == STORAGE_OK && storage_put_commit_new(p) == STORAGE_OK,
		"%s: put_commit_new of a new key", label);
	p = storage_put_begin(st, key2, 0, &rc);
	CHECK(p != NULL && storage_put_write(p, "cd", 2) == STORAGE_OK && storage_put_commit_new(p) == STORAGE_EEXIST,
		"%s: put_commit_new of an existing key -> EEXIST", label);
	CHECK(storage_delete(st, key2) == STORAGE_OK, "%s: delete the streamed key", label);
	conf_create_race(st, label, key);
	g_free(key2);
	g_free(key);
}

/* run_conformance - what every backend must do; leaves nothing of this run behind */
static void
run_conformance(struct storage *st, const char *label)
{
	conf_roundtrip(st, label);
	conf_visibility(st, label);
	conf_invalid_keys(st, label);
	conf_list(st, label);
	conf_large(st, label);
	conf_threads(st, label);
	conf_stale(st, label);
	conf_prune(st, label);
	conf_create(st, label);
}

/* ---- per-backend setup ---- */

static void
test_memory(void)
{
	struct conf c = { 0 };
	struct storage *st, *st2;
	GError *err = NULL;
	GByteArray *b;
	char *key = key_of("mem", "m");

	c.backend = "memory";
	st = storage_open(&c, &err);
	CHECK(st != NULL && err == NULL, "memory: open");
	if (st == NULL) {
		g_clear_error(&err);
		return;
	}
	CHECK(strcmp(storage_backend_name(st), "memory") == 0, "memory: backend name");
	run_conformance(st, "memory");

	/* each open is its own store */
	st2 = storage_open(&c, NULL);
	CHECK(put_data(st, key, "abc", 3, 3) == STORAGE_OK, "memory: put in store 1");
	CHECK(get_all(st2, key, 0, STORAGE_TO_END, &b, NULL) == STORAGE_ENOENT, "memory: store 2 is separate");
	g_byte_array_unref(b);
	storage_free(st2);
	storage_free(st);
	storage_free(NULL);
	g_free(key);
}

static void
test_dispatch(void)
{
	struct conf c = { 0 };
	GError *err = NULL;
	struct storage *st;

	c.backend = "nosuch";
	st = storage_open(&c, &err);
	CHECK(st == NULL && err != NULL && g_error_matches(err, STORAGE_ERROR, STORAGE_EPERM) &&
		strstr(err->message, "nosuch") != NULL && strstr(err->message, "file") != NULL,
		"unknown backend -> EPERM naming it and the known ones (%s)", err ? err->message : "-");
	g_clear_error(&err);
	CHECK(strcmp(storage_strerror(STORAGE_ETEMP), storage_strerror(STORAGE_EPERM)) != 0 &&
		strcmp(storage_strerror(STORAGE_ENOENT), storage_strerror(STORAGE_ESTOP)) != 0 &&
		strcmp(storage_strerror(STORAGE_EEXIST), "object exists already") == 0 &&
		strcmp(storage_strerror(12345), "unknown storage error") == 0, "storage_strerror texts");
}

/* ---- file backend specifics ---- */

/* count_files - regular files below dir: dot-files and others */
static void
count_files(const char *dir, int *dot, int *plain)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat sb;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = g_build_filename(dir, de->d_name, NULL);
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			count_files(p, dot, plain);
		else if (de->d_name[0] == '.')
			(*dot)++;
		else
			(*plain)++;
		g_free(p);
	}
	closedir(d);
}

/* dotfile_size - size of the one dot-file in dir, -1 if not exactly one */
static long long
dotfile_size(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat sb;
	long long size = -1;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = g_build_filename(dir, de->d_name, NULL);
		if (stat(p, &sb) == 0) {
			size = (long long)sb.st_size;
			n++;
		}
		g_free(p);
	}
	closedir(d);
	return n == 1 ? size : -1;
}

static long
rss_kib(void)
{
	char *text = NULL, *line;
	long kib = -1;

	if (g_file_get_contents("/proc/self/status", &text, NULL, NULL)) {
		line = strstr(text, "VmRSS:");
		if (line != NULL)
			kib = strtol(line + 6, NULL, 10);
	}
	g_free(text);
	return kib;
}

static int
list_all_any(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)key;
	(void)size;
	(void)mtime;
	(*(int *)arg)++;
	return 0;
}

/* path_exists - does root/rel exist? */
static bool
path_exists(const char *root, const char *rel)
{
	char *p = g_build_filename(root, rel, NULL);
	bool r = g_file_test(p, G_FILE_TEST_EXISTS);

	g_free(p);
	return r;
}

static void
file_layout(struct storage *st, const char *root)
{
	struct storage_put *p;
	struct stat sb;
	GByteArray *b;
	char *path;
	int rc, dot = 0, plain = 0, n = 0;
	mode_t um = umask(0);

	umask(um);
	CHECK(put_data(st, "abcdef/m", "hello", 5, 5) == STORAGE_OK, "file: put abcdef/m");
	path = g_strdup_printf("%s/ab/abcdef/m", root);
	CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 5, "file: stored as PATH/ab/abcdef/m");
	CHECK((sb.st_mode & 0777) == (0660 & ~um), "file: object mode 0660 less the umask (%o)", sb.st_mode & 0777);
	g_free(path);
	path = g_strdup_printf("%s/ab/abcdef", root);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == (0770 & ~um), "file: directories made 0770 less the umask");
	g_free(path);
	CHECK(put_data(st, "a/b", "x", 1, 1) == STORAGE_OK, "file: put key with a 1-character id");
	CHECK(path_exists(root, "a/a/b"), "file: stored as PATH/a/a/b");
	rc = storage_list(st, "", list_all_any, &n);
	CHECK(rc == STORAGE_OK && n == 2, "file: list sees both (%d)", n);
	n = 0;
	CHECK(storage_list(st, "ab", list_all_any, &n) == STORAGE_OK && n == 1, "file: list \"ab\" does not show a/b");
	n = 0;
	CHECK(storage_list(st, "a/", list_all_any, &n) == STORAGE_OK && n == 1, "file: list \"a/\" shows only a/b");
	CHECK(storage_delete(st, "abcdef/m") == STORAGE_OK && !path_exists(root, "ab"),
		"file: delete removes the emptied id and shard directories");
	CHECK(storage_delete(st, "a/b") == STORAGE_OK && !path_exists(root, "a"),
		"file: delete a/b removes PATH/a");

	/* an uncommitted put is one dot-file and nothing else */
	p = storage_put_begin(st, "cdxyz/m", 0, &rc);
	CHECK(p != NULL && storage_put_write(p, "12345", 5) == STORAGE_OK, "file: put in progress");
	path = g_strdup_printf("%s/cd/cdxyz", root);
	CHECK(dotfile_size(path) == 5, "file: in-progress put is a hidden temp file with the bytes");
	count_files(root, &dot, &plain);
	CHECK(dot == 1 && plain == 0, "file: no visible file while in progress (dot %d, plain %d)", dot, plain);
	storage_put_abort(p);
	dot = plain = 0;
	count_files(root, &dot, &plain);
	CHECK(dot == 0 && plain == 0, "file: abort unlinks the temp file (dot %d, plain %d)", dot, plain);
	g_free(path);

	/* stale temp files and foreign junk stay invisible */
	/* ... and so do files in the wrong shard, which get() could never reach */
	path = g_strdup_printf("cd '%s' && mkdir -p gh/ghstale lost+found a/ab gh/xy && echo x > gh/ghstale/.m.AbC123 "
		"&& echo x > gh/ghstale/UPPER && echo x > gh/ghstale/x.y && echo x > zz "
		"&& echo x > lost+found/ab && echo x > a/ab/m && echo x > gh/xy/m", root);
	CHECK(system(path) == 0, "file: stale temp file and junk planted");
	g_free(path);
	n = 0;
	CHECK(storage_list(st, "", list_all_any, &n) == STORAGE_OK && n == 0, "file: list ignores temps and junk (%d)", n);
	CHECK(get_all(st, "ghstale/m", 0, STORAGE_TO_END, &b, NULL) == STORAGE_ENOENT, "file: stale temp not readable");
	g_byte_array_unref(b);
	CHECK(storage_get(st, "ghstale", 0, STORAGE_TO_END, sink_collect, NULL) == STORAGE_ENOENT,
		"file: a directory is not an object");
	path = g_strdup_printf("cd '%s' && rm -rf gh lost+found zz a", root);
	CHECK(system(path) == 0, "file: junk removed");
	g_free(path);

	/* a file system cannot have "x" and "x/m" both */
	CHECK(put_data(st, "kkabc", "1", 1, 1) == STORAGE_OK, "file: put kkabc");
	CHECK(put_data(st, "kkabc/m", "1", 1, 1) == STORAGE_EPERM, "file: then kkabc/m -> EPERM");
	CHECK(put_data(st, "kkdef/m", "1", 1, 1) == STORAGE_OK, "file: put kkdef/m");
	CHECK(put_data(st, "kkdef", "1", 1, 1) == STORAGE_EPERM, "file: then kkdef -> EPERM");
	CHECK(storage_get(st, "kkabc/m", 0, STORAGE_TO_END, sink_collect, NULL) == STORAGE_ENOENT,
		"file: get below an object -> ENOENT");
	CHECK(storage_delete(st, "kkabc") == STORAGE_OK && storage_delete(st, "kkdef/m") == STORAGE_OK,
		"file: cleanup kk*");
	dot = plain = 0;
	count_files(root, &dot, &plain);
	CHECK(dot == 0 && plain == 0, "file: failed puts left no temp files (dot %d, plain %d)", dot, plain);
}

static void
file_growth(struct storage *st, const char *root)
{
	unsigned char *chunk = g_malloc(MIB);
	char *dir = g_strdup_printf("%s/ef/efbig", root);
	struct storage_put *p;
	long rss0, rss1;
	uint64_t off, sz = 0;
	bool grows = true;
	int rc;

	memset(chunk, 'z', MIB);
	rss0 = rss_kib();
	p = storage_put_begin(st, "efbig/m", 0, &rc);
	CHECK(p != NULL, "file: big put begun");
	for (off = 0; p != NULL && off < BIG_SIZE; off += MIB) {
		if (storage_put_write(p, chunk, MIB) != STORAGE_OK || dotfile_size(dir) != (long long)(off + MIB))
			grows = false;
	}
	rss1 = rss_kib();
	CHECK(grows, "file: the temp file grows with every 1 MiB write (streamed, not buffered)");
	CHECK(rss0 > 0 && rss1 - rss0 < 16 * 1024, "file: RSS grew by %ld KiB for a 50 MiB put", rss1 - rss0);
	CHECK(p != NULL && storage_put_commit(p) == STORAGE_OK, "file: big put committed");
	CHECK(dotfile_size(dir) == -1, "file: no temp file after commit");
	CHECK(storage_stat(st, "efbig/m", &sz, NULL) == STORAGE_OK && sz == BIG_SIZE, "file: big object 50 MiB");
	CHECK(storage_delete(st, "efbig/m") == STORAGE_OK, "file: big object deleted");
	g_free(dir);
	g_free(chunk);
}

/* file_dir_lost - the directory of a put in progress disappears or turns into a file */
static void
file_dir_lost(struct storage *st, const char *root)
{
	struct storage_put *p;
	char *cmd;
	int rc, dot = 0, plain = 0;

	p = storage_put_begin(st, "mnone/m", 0, &rc);
	CHECK(p != NULL && storage_put_write(p, "abc", 3) == STORAGE_OK, "file: put begun (dir will vanish)");
	cmd = g_strdup_printf("rm -rf '%s/mn'", root);
	CHECK(system(cmd) == 0, "file: shard directory removed under the put");
	g_free(cmd);
	CHECK(storage_put_write(p, "def", 3) == STORAGE_OK, "file: writes to the open temp file still work");
	rc = storage_put_commit(p);
	CHECK(rc == STORAGE_ETEMP, "file: commit into a vanished directory -> ETEMP (%d)", rc);
	CHECK(storage_stat(st, "mnone/m", NULL, NULL) == STORAGE_ENOENT, "file: nothing visible");

	p = storage_put_begin(st, "mntwo/m", 0, &rc);
	CHECK(p != NULL && storage_put_write(p, "abc", 3) == STORAGE_OK, "file: put begun (dir will become a file)");
	cmd = g_strdup_printf("rm -rf '%s/mn' && echo x > '%s/mn'", root, root);
	CHECK(system(cmd) == 0, "file: shard directory replaced by a regular file");
	g_free(cmd);
	rc = storage_put_commit(p);
	CHECK(rc == STORAGE_EPERM, "file: commit when the directory is a file -> EPERM (%d)", rc);
	p = storage_put_begin(st, "mnthree/m", 0, &rc);
	CHECK(p == NULL && rc == STORAGE_EPERM, "file: new put under that file -> EPERM (%d)", rc);
	storage_put_abort(p);
	CHECK(storage_stat(st, "mntwo/m", NULL, NULL) == STORAGE_ENOENT, "file: stat under a file -> ENOENT");
	cmd = g_strdup_printf("%s/mn", root);
	unlink(cmd);
	g_free(cmd);
	count_files(root, &dot, &plain);
	CHECK(dot == 0 && plain == 0, "file: nothing left behind (dot %d, plain %d)", dot, plain);
}

static void
file_open_errors(const char *tmp)
{
	struct conf c = { 0 };
	struct storage *st;
	GError *err = NULL;
	char *afile = g_strdup_printf("%s/afile", tmp);
	char *below = g_strdup_printf("%s/afile/store", tmp);

	CHECK(g_file_set_contents(afile, "x", 1, NULL), "file: a regular file made");
	c.backend = "file";
	c.path = below;
	st = storage_open(&c, &err);
	CHECK(st == NULL && g_error_matches(err, STORAGE_ERROR, STORAGE_EPERM) &&
		strstr(err->message, below) != NULL,
		"file: path below a regular file -> EPERM naming the path (%s)", err ? err->message : "-");
	g_clear_error(&err);
	storage_free(st);

	c.path = afile;
	st = storage_open(&c, &err);
	CHECK(st == NULL && g_error_matches(err, STORAGE_ERROR, STORAGE_EPERM),
		"file: path is a regular file -> EPERM (%s)", err ? err->message : "-");
	g_clear_error(&err);
	storage_free(st);

	c.path = "";
	st = storage_open(&c, &err);
	CHECK(st == NULL && g_error_matches(err, STORAGE_ERROR, STORAGE_EPERM), "file: empty path -> EPERM");
	g_clear_error(&err);
	c.path = NULL;
	st = storage_open(&c, &err);
	CHECK(st == NULL && g_error_matches(err, STORAGE_ERROR, STORAGE_EPERM), "file: no path -> EPERM");
	g_clear_error(&err);
	g_free(below);
	g_free(afile);
}

/* file_tmpfs - full disk (ENOSPC -> ETEMP) and read-only (EROFS -> EPERM) on a
 * small tmpfs; needs CAP_SYS_ADMIN, skipped without it */
static void
file_tmpfs(const char *tmp)
{
	char *mnt = g_strdup_printf("%s/mnt", tmp);
	char *path = g_strdup_printf("%s/store", mnt);
	char *path2 = g_strdup_printf("%s/other", mnt);
	unsigned char *chunk = g_malloc0(64 * 1024);
	struct conf c = { 0 };
	struct storage *st = NULL, *st2;
	struct storage_put *p;
	GError *err = NULL;
	int i, rc = STORAGE_OK, dot = 0, plain = 0;

	if (mkdir(mnt, 0700) != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700") != 0) {
		printf("# skip: tmpfs tests (mount: %s)\n", g_strerror(errno));
		goto out;
	}
	c.backend = "file";
	c.path = path;
	st = storage_open(&c, &err);
	CHECK(st != NULL, "file: open on a 1 MiB tmpfs");
	if (st == NULL)
		goto unmount;
	p = storage_put_begin(st, "fullx/m", 0, &rc);
	for (i = 0; p != NULL && i < 32 && rc == STORAGE_OK; i++)
		rc = storage_put_write(p, chunk, 64 * 1024);
	CHECK(rc == STORAGE_ETEMP, "file: write on a full disk -> ETEMP (%d)", rc);
	CHECK(p != NULL && storage_put_write(p, chunk, 10) == STORAGE_ETEMP, "file: later writes keep failing");
	CHECK(storage_put_commit(p) == STORAGE_ETEMP, "file: commit after a failed write -> ETEMP");
	CHECK(storage_stat(st, "fullx/m", NULL, NULL) == STORAGE_ENOENT, "file: nothing visible after full disk");
	count_files(path, &dot, &plain);
	CHECK(dot == 0 && plain == 0, "file: temp file removed after full disk");
	CHECK(put_data(st, "fully/m", "ok", 2, 2) == STORAGE_OK, "file: small put works again");

	if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL) != 0) {
		printf("# skip: read-only remount (%s)\n", g_strerror(errno));
		goto unmount;
	}
	p = storage_put_begin(st, "roxyz/m", 0, &rc);
	CHECK(p == NULL && rc == STORAGE_EPERM, "file: put on a read-only file system -> EPERM (%d)", rc);
	storage_put_abort(p);
	CHECK(storage_delete(st, "fully/m") == STORAGE_EPERM, "file: delete on read-only -> EPERM");
	CHECK(storage_get(st, "fully/m", 0, STORAGE_TO_END, sink_collect, &(struct collect){ g_byte_array_new(), 0, 0, 0 })
		== STORAGE_OK, "file: get still works read-only");
	st2 = storage_open(&c, &err);
	CHECK(st2 == NULL && g_error_matches(err, STORAGE_ERROR, STORAGE_EPERM),
		"file: open of an existing read-only directory -> EPERM (%s)", err ? err->message : "-");
	g_clear_error(&err);
	c.path = path2;
	st2 = storage_open(&c, &err);
	CHECK(st2 == NULL && g_error_matches(err, STORAGE_ERROR, STORAGE_EPERM),
		"file: open needing mkdir on read-only -> EPERM (%s)", err ? err->message : "-");
	g_clear_error(&err);
unmount:
	storage_free(st);
	if (umount(mnt) != 0)
		printf("# umount %s: %s\n", mnt, g_strerror(errno));
out:
	g_free(chunk);
	g_free(path2);
	g_free(path);
	g_free(mnt);
}

/* file_stale - temp files of crashed puts: an old one goes with the
 * directories it kept (shard included), a fresh one stays, empty directories go */
static void
file_stale(struct storage *st, const char *root)
{
	char *old_dir = g_strdup_printf("%s/zz/zzstale", root);
	char *old_tmp = g_strdup_printf("%s/.0.abcdef", old_dir);
	char *new_dir = g_strdup_printf("%s/zx/zxfresh", root);
	char *new_tmp = g_strdup_printf("%s/.m.abcdef", new_dir);
	char *empty_dir = g_strdup_printf("%s/zy/zyempty", root);
	struct timespec ts[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
	struct stale_acc a = { 0 };
	struct stat sb;
	int rc;

	CHECK(g_mkdir_with_parents(old_dir, 0700) == 0 && g_mkdir_with_parents(new_dir, 0700) == 0 &&
	      g_mkdir_with_parents(empty_dir, 0700) == 0 &&
	      g_file_set_contents(old_tmp, "half", 4, NULL) && g_file_set_contents(new_tmp, "half", 4, NULL) &&
	      utimensat(AT_FDCWD, old_tmp, ts, 0) == 0, "file: a 2 h old and a fresh temp file planted");
	rc = storage_abort_stale(st, (int64_t)time(NULL) - 3600, true, NULL, NULL);
	CHECK(rc == 1 && stat(old_tmp, &sb) == 0 && stat(empty_dir, &sb) == 0,
		"file: dry run counts the old one (%d) and removes nothing", rc);
	rc = storage_abort_stale(st, (int64_t)time(NULL) - 3600, false, stale_collect, &a);
	CHECK(rc == 1 && stat(old_tmp, &sb) != 0 && !path_exists(root, "zz"),
		"file: abort_stale (cutoff 1 h) removes the old temp file and its directories (%d)", rc);
	CHECK(stat(new_tmp, &sb) == 0, "file: ... keeps the fresh one");
	CHECK(!path_exists(root, "zy"), "file: ... removes empty directories and shards");
	CHECK(unlink(new_tmp) == 0 && storage_prune(st, "zxfresh") == STORAGE_OK &&
	      !path_exists(root, "zx"), "file: prune of an id removes its directory and shard");
	g_free(empty_dir);
	g_free(new_tmp);
	g_free(new_dir);
	g_free(old_tmp);
	g_free(old_dir);
}

static void
test_file(void)
{
	const char *tmp = unit_tmpdir();
	char *root = g_strdup_printf("%s/fs/store", tmp);
	struct conf c = { 0 };
	struct storage *st;
	GError *err = NULL;
	struct stat sb;
	int dot = 0, plain = 0;

	c.backend = "file";
	c.path = root;
	st = storage_open(&c, &err);
	CHECK(st != NULL && err == NULL, "file: open creates the missing root (%s)", err ? err->message : "ok");
	g_clear_error(&err);
	if (st == NULL)
		goto out;
	{
		mode_t um = umask(0);

		umask(um);
		CHECK(stat(root, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == (0770 & ~um),
			"file: root is 0770 less the umask");
	}
	CHECK(strcmp(storage_backend_name(st), "file") == 0, "file: backend name");
	run_conformance(st, "file");
	count_files(root, &dot, &plain);
	CHECK(dot == 0 && plain == 0, "file: after the conformance run no files remain (dot %d, plain %d)",
		dot, plain);
	file_layout(st, root);
	file_growth(st, root);
	file_dir_lost(st, root);
	file_stale(st, root);
	storage_free(st);

	/* a default backend name of "" or NULL is file; trailing slash is fine */
	c.backend = NULL;
	c.path = g_strdup_printf("%s/", root);
	st = storage_open(&c, NULL);
	CHECK(st != NULL && strcmp(storage_backend_name(st), "file") == 0, "file: backend NULL = file");
	storage_free(st);
	g_free(c.path);

	file_open_errors(tmp);
	file_tmpfs(tmp);
out:
	g_free(root);
}

/* test_s3 - the conformance suite against the s3 backend of the config file
 * named by OFFLOAD_TEST_S3_CONF (tests/integration/test_storage_s3.sh starts a
 * private Swift + s3api and sets it); only that then runs */
static void
test_s3(const char *path)
{
	struct storage *st = NULL;
	struct conf *c;
	GError *err = NULL;

	c = conf_load(path, &err);
	CHECK(c != NULL, "s3: config %s loads (%s)", path, err ? err->message : "ok");
	if (c != NULL)
		st = storage_open(c, &err);
	CHECK(st != NULL && strcmp(storage_backend_name(st), "s3") == 0, "s3: open (%s)",
		err ? err->message : "ok");
	g_clear_error(&err);
	if (st != NULL)
		run_conformance(st, "s3");
	storage_free(st);
	conf_free(c);
}

/* test_webdav - the conformance suite against the webdav backend of the
 * config file named by OFFLOAD_TEST_WEBDAV_CONF (set by
 * tests/integration/test_storage_webdav.sh with a private nginx); only that then runs */
static void
test_webdav(const char *path)
{
	struct storage *st = NULL;
	struct conf *c;
	GError *err = NULL;

	c = conf_load(path, &err);
	CHECK(c != NULL, "webdav: config %s loads (%s)", path, err ? err->message : "ok");
	if (c != NULL)
		st = storage_open(c, &err);
	CHECK(st != NULL && strcmp(storage_backend_name(st), "webdav") == 0, "webdav: open (%s)",
		err ? err->message : "ok");
	g_clear_error(&err);
	if (st != NULL)
		run_conformance(st, "webdav");
	storage_free(st);
	conf_free(c);
}

int
main(void)
{
	log_init("test_storage", true, false);
	g_snprintf(run_tag, sizeof run_tag, "%08x%02x", g_random_int(), (unsigned)g_random_int_range(0, 256));
	if (getenv("OFFLOAD_TEST_S3_CONF") != NULL) {
		test_s3(getenv("OFFLOAD_TEST_S3_CONF"));
		return unit_done();
	}
	if (getenv("OFFLOAD_TEST_WEBDAV_CONF") != NULL) {
		test_webdav(getenv("OFFLOAD_TEST_WEBDAV_CONF"));
		return unit_done();
	}
	test_dispatch();
	test_memory();
	test_file();
	return unit_done();
}
