/*
 * storage_helper.c - test driver for test_storage_webdav.sh and test_purge.sh,
 * compiled by those scripts against $BUILD/liboffload.a. Every mode prints
 * one line of results for the script to check:
 *
 *   probe CONF              codes of put_begin/get/stat/list/delete ("put=EPERM ...")
 *   roundtrip CONF KEY      put 3 objects below KEY, read them back, list, delete: "ok" or why
 *   bigput CONF KEY MB      put MB MiB in 64 KiB writes: "ok SECONDS RSS_GROWTH_KIB"
 *   abortput CONF KEY MB    write MB MiB, then abort: "aborted" or why
 *   midstop CONF KEY MB WATCHDIR STOPCMD
 *                           write and commit a MB MiB put in a thread; when WATCHDIR (the
 *                           server's body temp dir) holds > 4 MiB, run STOPCMD;
 *                           prints the commit result, e.g. "commit=ETEMP"
 *   mk CONF AGE RETENTION BYTES
 *                           a transfer created AGE seconds ago with RETENTION
 *                           seconds, one random file: prints its link
 *   orphan CONF             a file object "<fresh id>/0" without manifest: prints the id
 *   revoke CONF ID          write a tombstone for ID (revoked now, expires EXPIRES=env or now+3600)
 *   crashput CONF KEY       a writer that dies mid-upload: put_begin KEY, write 2 x
 *                           [storage] part_size + 1 bytes (on s3: a multipart upload is
 *                           initiated and its first part is sent, the second one may be in
 *                           flight), print "ok", then _exit() with neither commit nor abort
 *
 * Memory and threads: a test program; no care beyond freeing what it made.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "conf.h"
#include "keys.h"
#include "log.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_revoke.h"

static const char *
code_name(int rc)
{
	switch (rc) {
	case STORAGE_OK: return "OK";
	case STORAGE_ETEMP: return "ETEMP";
	case STORAGE_EPERM: return "EPERM";
	case STORAGE_ENOENT: return "ENOENT";
	case STORAGE_ESTOP: return "ESTOP";
	default: return "?";
	}
}

static int
sink_count(void *arg, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)arg += len;
	return 0;
}

static int
list_count(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)key;
	(void)size;
	(void)mtime;
	(*(int *)arg)++;
	return 0;
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

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
mode_probe(struct storage *st)
{
	struct storage_put *p;
	size_t got = 0;
	int put_rc, n = 0;

	p = storage_put_begin(st, "probe/m", 0, &put_rc);
	if (p != NULL) {
		storage_put_write(p, "x", 1);
		put_rc = storage_put_commit(p);
	}
	printf("put=%s get=%s stat=%s list=%s del=%s\n", code_name(put_rc),
		code_name(storage_get(st, "probe/m", 0, STORAGE_TO_END, sink_count, &got)),
		code_name(storage_stat(st, "probe/m", NULL, NULL)),
		code_name(storage_list(st, "", list_count, &n)),
		code_name(storage_delete(st, "probe/m")));
	return 0;
}

static int
put_bytes(struct storage *st, const char *key, const void *buf, size_t len)
{
	struct storage_put *p;
	int rc;

	p = storage_put_begin(st, key, len, &rc);
	if (p == NULL)
		return rc;
	rc = storage_put_write(p, buf, len);
	if (rc != STORAGE_OK) {
		storage_put_abort(p);
		return rc;
	}
	return storage_put_commit(p);
}

static int
mode_roundtrip(struct storage *st, const char *base)
{
	char *k[3];
	int i, n = 0, rc = 0;
	size_t got;

	k[0] = g_strdup_printf("%s/m", base);
	k[1] = g_strdup_printf("%s/0", base);
	k[2] = g_strdup_printf("%s/s/1", base);
	for (i = 0; i < 3 && rc == 0; i++) {
		if (put_bytes(st, k[i], "hello world", 11) != STORAGE_OK) {
			printf("put %s failed\n", k[i]);
			rc = 1;
		}
	}
	for (i = 0; i < 3 && rc == 0; i++) {
		got = 0;
		if (storage_get(st, k[i], 0, STORAGE_TO_END, sink_count, &got) != STORAGE_OK || got != 11) {
			printf("get %s failed\n", k[i]);
			rc = 1;
		}
	}
	if (rc == 0 && (storage_list(st, base, list_count, &n) != STORAGE_OK || n != 3)) {
		printf("list %s: %d objects, want 3\n", base, n);
		rc = 1;
	}
	for (i = 0; i < 3 && rc == 0; i++) {
		if (storage_delete(st, k[i]) != STORAGE_OK) {
			printf("delete %s failed\n", k[i]);
			rc = 1;
		}
	}
	if (rc == 0)
		printf("ok\n");
	for (i = 0; i < 3; i++)
		g_free(k[i]);
	return rc;
}

/* big_fill - write mb MiB in 64 KiB pieces (what the envelope writer hands over) */
static int
big_fill(struct storage_put *p, long mb)
{
	unsigned char *buf = g_malloc(65536);
	long i, n = mb * 16;
	int rc = STORAGE_OK;

	for (i = 0; i < n && rc == STORAGE_OK; i++) {
		memset(buf, (int)(i & 0xff), 65536);
		rc = storage_put_write(p, buf, 65536);
	}
	g_free(buf);
	return rc;
}

static int
mode_bigput(struct storage *st, const char *key, long mb)
{
	struct storage_put *p;
	long rss0 = rss_kib();
	double t0 = now_s();
	uint64_t size = 0;
	int rc;

	p = storage_put_begin(st, key, 0, &rc);
	if (p == NULL) {
		printf("put_begin=%s\n", code_name(rc));
		return 1;
	}
	rc = big_fill(p, mb);
	rc = rc == STORAGE_OK ? storage_put_commit(p) : (storage_put_abort(p), rc);
	if (rc != STORAGE_OK) {
		printf("commit=%s\n", code_name(rc));
		return 1;
	}
	if (storage_stat(st, key, &size, NULL) != STORAGE_OK || size != (uint64_t)mb * 1048576) {
		printf("stat size %llu\n", (unsigned long long)size);
		return 1;
	}
	printf("ok %.3f %ld\n", now_s() - t0, rss_kib() - rss0);
	return 0;
}

static int
mode_abortput(struct storage *st, const char *key, long mb)
{
	struct storage_put *p = storage_put_begin(st, key, 0, NULL);
	int rc;

	if (p == NULL) {
		printf("put_begin failed\n");
		return 1;
	}
	rc = big_fill(p, mb);
	storage_put_abort(p);
	printf(rc == STORAGE_OK ? "aborted\n" : "write=%s\n", code_name(rc));
	return rc == STORAGE_OK ? 0 : 1;
}

struct committer {
	struct storage_put *p;
	long mb;
	int rc;
	int done; /* g_atomic */
};

static void *
commit_main(void *arg)
{
	struct committer *c = arg;

	/* the writes too: a streaming backend (webdav) uploads while they run */
	c->rc = big_fill(c->p, c->mb);
	c->rc = c->rc == STORAGE_OK ? storage_put_commit(c->p) : (storage_put_abort(c->p), c->rc);
	g_atomic_int_set(&c->done, 1);
	return NULL;
}

static int
mode_midstop(struct storage *st, const char *key, long mb, const char *watch, const char *stop)
{
	struct committer c = { 0 };
	pthread_t th;
	char *probe = g_strdup_printf("find '%s' -type f -size +4M 2>/dev/null | grep -q .", watch);
	int rc, i, stopped = 0;

	c.p = storage_put_begin(st, key, 0, &rc);
	if (c.p == NULL) {
		printf("put_begin=%s\n", code_name(rc));
		return 1;
	}
	c.mb = mb;
	pthread_create(&th, NULL, commit_main, &c);
	for (i = 0; i < 2000 && !g_atomic_int_get(&c.done); i++) {
		if (system(probe) == 0) {
			stopped = system(stop) == 0;
			break;
		}
		usleep(5000);
	}
	pthread_join(th, NULL);
	printf("commit=%s stopped_mid_upload=%s\n", code_name(c.rc), stopped ? "yes" : "no");
	g_free(probe);
	return 0;
}

static int
mode_mk(struct storage *st, const struct conf *c, const struct key32 *dk, long age, long retention,
	long bytes)
{
	struct transfer *t = transfer_new(st, (int64_t)time(NULL) - age, (uint64_t)retention);
	struct transfer_upload *u;
	unsigned char *buf = g_malloc((size_t)bytes + 1);
	char *link;
	int rc;

	RAND_bytes(buf, (int)bytes + 1);
	t->sender = g_strdup("alice@example.org");
	g_ptr_array_add(t->rcpts, g_strdup("bob@example.net"));
	t->subject = g_strdup("purge test");
	u = transfer_upload_begin(t, "data.bin", "application/octet-stream", &rc);
	if (u == NULL || transfer_upload_write(u, buf, (size_t)bytes) != 0 ||
	    transfer_upload_commit(u) != 0 || transfer_commit(t, dk) != 0) {
		printf("mk failed\n");
		return 1;
	}
	/* the file, for the script to compare after open */
	g_file_set_contents("data.bin", (const char *)buf, bytes, NULL);
	link = transfer_link(t, c->portal_url);
	printf("%s\n", link);
	g_free(link);
	g_free(buf);
	transfer_free(t);
	return 0;
}

static int
mode_orphan(struct storage *st)
{
	char id[ENVELOPE_ID_TEXT_LEN + 1], secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	char *key;
	int rc;

	envelope_new_ids(id, secret);
	key = g_strdup_printf("%s/0", id);
	rc = put_bytes(st, key, "orphaned bytes", 14);
	printf("%s\n", rc == STORAGE_OK ? id : "orphan failed");
	g_free(key);
	return rc != STORAGE_OK;
}

static int
mode_crashput(struct storage *st, const struct conf *c, const char *key)
{
	uint64_t total = 2 * (c->part_size > 0 ? c->part_size : (5u << 20)) + 1, done = 0;
	size_t chunk = 1 << 20;
	unsigned char *buf = g_malloc(chunk);
	struct storage_put *p;
	int err;

	RAND_bytes(buf, (int)chunk);
	p = storage_put_begin(st, key, total, &err);
	if (p == NULL) {
		printf("put_begin=%s\n", code_name(err));
		return 1;
	}
	while (done < total) {
		size_t n = total - done < chunk ? (size_t)(total - done) : chunk;

		err = storage_put_write(p, buf, n);
		if (err != STORAGE_OK) {
			printf("write=%s\n", code_name(err));
			return 1;
		}
		done += n;
	}
	printf("ok\n");
	fflush(stdout);
	_exit(0); /* the crash: no commit, no abort, no cleanup */
}

int
main(int argc, char **argv)
{
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct key32 dk = { 0 };
	GError *err = NULL;
	int rc = 2;

	log_init("storage_helper", true, false);
	if (argc < 3) {
		fprintf(stderr, "usage: storage_helper MODE CONF [ARGS]\n");
		return 2;
	}
	c = conf_load(argv[2], &err);
	if (c == NULL || (st = storage_open(c, &err)) == NULL) {
		printf("open failed: %s\n", err->message);
		g_clear_error(&err);
		conf_free(c);
		return 1;
	}
	if (strcmp(argv[1], "probe") == 0)
		rc = mode_probe(st);
	else if (strcmp(argv[1], "roundtrip") == 0 && argc == 4)
		rc = mode_roundtrip(st, argv[3]);
	else if (strcmp(argv[1], "abortput") == 0 && argc == 5)
		rc = mode_abortput(st, argv[3], atol(argv[4]));
	else if (strcmp(argv[1], "bigput") == 0 && argc == 5)
		rc = mode_bigput(st, argv[3], atol(argv[4]));
	else if (strcmp(argv[1], "midstop") == 0 && argc == 7)
		rc = mode_midstop(st, argv[3], atol(argv[4]), argv[5], argv[6]);
	else if (strcmp(argv[1], "orphan") == 0)
		rc = mode_orphan(st);
	else if (strcmp(argv[1], "crashput") == 0 && argc == 4)
		rc = mode_crashput(st, c, argv[3]);
	else if ((strcmp(argv[1], "mk") == 0 && argc == 6) || (strcmp(argv[1], "revoke") == 0 && argc == 4)) {
		if (keys_load(c->deployment_key_file, &dk, &err) != 0) {
			printf("key: %s\n", err->message);
			rc = 1;
		} else if (argv[1][0] == 'm') {
			rc = mode_mk(st, c, &dk, atol(argv[3]), atol(argv[4]), atol(argv[5]));
		} else {
			const char *e = getenv("EXPIRES");
			int64_t now = (int64_t)time(NULL);

			rc = transfer_tombstone_write(st, &dk, argv[3], now,
				e != NULL ? (int64_t)atoll(e) : now + 3600) == 0 ? 0 : 1;
			printf("%s\n", rc == 0 ? "revoked" : "revoke failed");
		}
	}
	keys_wipe(&dk);
	storage_free(st);
	conf_free(c);
	g_clear_error(&err);
	return rc;
}
