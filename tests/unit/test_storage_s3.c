/*
 * test_storage_s3.c - s3 backend specifics (the shared conformance suite
 * runs from test_storage.c). Without a server: configuration and
 * credentials-file errors, an unreachable endpoint (temporary, bounded
 * retries). With OFFLOAD_TEST_S3_CONF (tests/integration/test_storage_s3.sh
 * starts a private Swift + s3api): listing over many pages, the multipart
 * path, aborted uploads, wrong credentials, virtual-host style, the server
 * stopped between writes and in the middle of an upload
 * (OFFLOAD_TEST_S3_STOP / _START / _KILL are shell commands), and with
 * OFFLOAD_TEST_S3_BENCH_MB a timed put of that many MiB.
 *
 * A second, independent client (raw libcurl SigV4 below) checks what the
 * backend did on the server: the ETag of a multipart object ("...-3") and
 * the list of unfinished multipart uploads.
 */
#include "storage_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "unit.h"

#define MIB (1024 * 1024)
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char tag[16];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char
pat(uint64_t pos, unsigned seed)
{
	uint32_t x = (uint32_t)pos * 0x9E3779B1u + seed * 0x85EBCA6Bu;

	x ^= x >> 15;
	return (unsigned char)(x ^ (uint32_t)(pos >> 24));
}

/* put_pattern - size bytes of pattern seed in 1 MiB writes; commit */
static int
put_pattern(struct storage *st, const char *key, uint64_t size, unsigned seed)
{
	unsigned char *buf = g_malloc(MIB);
	struct storage_put *p;
	uint64_t off;
	size_t n, i;
	int rc;

	p = storage_put_begin(st, key, size, &rc);
	for (off = 0; p != NULL && off < size; off += n) {
		n = size - off < MIB ? (size_t)(size - off) : MIB;
		for (i = 0; i < n; i++)
			buf[i] = pat(off + i, seed);
		rc = storage_put_write(p, buf, n);
		if (rc != STORAGE_OK)
			break;
	}
	if (p != NULL)
		rc = storage_put_commit(p);
	g_free(buf);
	return rc;
}

struct verify {
	uint64_t pos;
	unsigned seed;
	bool ok;
};

static int
sink_verify(void *arg, const void *buf, size_t len)
{
	struct verify *v = arg;
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len && v->ok; i++)
		v->ok = b[i] == pat(v->pos + i, v->seed);
	v->pos += len;
	return 0;
}

static int
list_count_fn(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	GHashTable *h = arg;

	(void)size;
	(void)mtime;
	if (strstr(key, tag) != NULL)
		g_hash_table_add(h, g_strdup(key));
	return 0;
}

static long
list_count(struct storage *st, const char *prefix)
{
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	long n = storage_list(st, prefix, list_count_fn, h) == STORAGE_OK ? (long)g_hash_table_size(h) : -1;

	g_hash_table_destroy(h);
	return n;
}

static struct storage *
open_conf(struct conf *c, GError **err)
{
	return storage_open(c, err);
}

/* ---- a second S3 client: raw libcurl SigV4 ---- */

struct raw {
	char *endpoint, *bucket, *prefix, *ak, *sk, *sigv4;
};

static struct raw raw;

static size_t
raw_collect(char *b, size_t s, size_t n, void *ud)
{
	g_string_append_len(ud, b, (gssize)(s * n));
	return s * n;
}

/* raw_req - method path?query (canonical); status, headers and body */
static long
raw_req(const char *method, const char *pathq, GString *hdrs, GString *body)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, "x-amz-content-sha256: " EMPTY_SHA);
	char *url = g_strdup_printf("%s/%s%s", raw.endpoint, raw.bucket, pathq);
	long code = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, raw.sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, raw.ak);
	curl_easy_setopt(h, CURLOPT_PASSWORD, raw.sk);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, raw_collect);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, raw_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	g_free(url);
	return code;
}

/* raw_etag - the object's ETag as the server reports it (g_free) */
static char *
raw_etag(const char *key)
{
	GString *hd = g_string_new(NULL), *body = g_string_new(NULL);
	char *path = g_strdup_printf("/%s%s", raw.prefix, key);
	char *etag = NULL, **lines, **l;

	if (raw_req("HEAD", path, hd, body) == 200) {
		lines = g_strsplit(hd->str, "\n", -1);
		for (l = lines; *l != NULL; l++) {
			if (g_ascii_strncasecmp(*l, "etag:", 5) == 0)
				etag = g_strstrip(g_strdup(*l + 5));
		}
		g_strfreev(lines);
	}
	g_string_free(hd, TRUE);
	g_string_free(body, TRUE);
	g_free(path);
	return etag;
}

/* raw_uploads - unfinished multipart uploads whose key contains needle (-1 on error) */
static int
raw_uploads(const char *needle)
{
	GString *hd = g_string_new(NULL), *body = g_string_new(NULL);
	int n = -1;
	const char *p;

	/* sorted query, "uploads=" with its '=' */
	if (raw_req("GET", "?uploads=", hd, body) == 200) {
		n = 0;
		for (p = strstr(body->str, "<Upload>"); p != NULL; p = strstr(p + 1, "<Upload>")) {
			const char *end = strstr(p, "</Upload>");
			char *one = g_strndup(p, end != NULL ? (size_t)(end - p) : strlen(p));

			n += strstr(one, needle) != NULL;
			g_free(one);
		}
	}
	g_string_free(hd, TRUE);
	g_string_free(body, TRUE);
	return n;
}

static void
raw_init(const struct conf *c)
{
	GKeyFile *kf = g_key_file_new();

	raw.endpoint = g_strdup(c->endpoint);
	raw.bucket = g_strdup(c->bucket);
	raw.prefix = c->prefix[0] != '\0' ? g_strconcat(c->prefix, "/", NULL) : g_strdup("");
	raw.sigv4 = g_strdup_printf("aws:amz:%s:s3", c->region);
	if (g_key_file_load_from_file(kf, c->credentials_file, 0, NULL)) {
		raw.ak = g_key_file_get_string(kf, "credentials", "access_key", NULL);
		raw.sk = g_key_file_get_string(kf, "credentials", "secret_key", NULL);
	}
	g_key_file_free(kf);
}

static void
raw_clear(void)
{
	g_free(raw.endpoint);
	g_free(raw.bucket);
	g_free(raw.prefix);
	g_free(raw.sigv4);
	g_free(raw.ak);
	g_free(raw.sk);
}

/* ---- without a server ---- */

static char *
write_creds(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = g_build_filename(dir, name, NULL);

	g_file_set_contents(path, text, -1, NULL);
	chmod(path, mode);
	return path;
}

static void
expect_open_fail(struct conf *c, int code, const char *needle, const char *desc)
{
	GError *err = NULL;
	struct storage *st = open_conf(c, &err);

	CHECK(st == NULL && err != NULL && err->code == code && (needle == NULL || strstr(err->message, needle)),
		"open fails %s: %s (%s)", code == STORAGE_ETEMP ? "ETEMP" : "EPERM", desc,
		err != NULL ? err->message : "opened");
	storage_free(st);
	g_clear_error(&err);
}

static void
test_offline(void)
{
	const char *tmp = unit_tmpdir();
	char *good = write_creds(tmp, "good", "[credentials]\naccess_key = a:b\nsecret_key = s\n", 0600);
	char *loose = write_creds(tmp, "loose", "[credentials]\naccess_key = a\nsecret_key = s\n", 0644);
	char *half = write_creds(tmp, "half", "[credentials]\naccess_key = a\n", 0600);
	char *junk = write_creds(tmp, "junk", "not a key file\x01", 0600);
	char *missing = g_build_filename(tmp, "nope", NULL);
	struct conf c = { 0 };
	double t0, dt;

	c.backend = "s3";
	c.endpoint = "http://127.0.0.1:12859"; /* in our port range, nothing listens */
	c.bucket = "offload-test";
	c.region = "us-east-1";
	c.prefix = "";
	c.credentials_file = good;

	c.endpoint = "";
	expect_open_fail(&c, STORAGE_EPERM, "endpoint", "empty endpoint");
	c.endpoint = "ftp://127.0.0.1/";
	expect_open_fail(&c, STORAGE_EPERM, "http", "ftp:// endpoint");
	c.endpoint = "http://user:pw@127.0.0.1:12859";
	expect_open_fail(&c, STORAGE_EPERM, "credentials_file", "user:password in the endpoint URL");
	c.endpoint = "http://127.0.0.1:12859";
	c.bucket = "b1";
	expect_open_fail(&c, STORAGE_EPERM, "bucket", "2-character bucket");
	c.bucket = "Upper";
	expect_open_fail(&c, STORAGE_EPERM, "bucket", "upper-case bucket");
	c.bucket = "offload-test";
	c.prefix = "a/../b";
	expect_open_fail(&c, STORAGE_EPERM, "prefix", "prefix with ..");
	c.prefix = "/abs";
	expect_open_fail(&c, STORAGE_EPERM, "prefix", "prefix starting with /");
	c.prefix = "a b";
	expect_open_fail(&c, STORAGE_EPERM, "prefix", "prefix with a space");
	c.prefix = "";
	c.region = "us east";
	expect_open_fail(&c, STORAGE_EPERM, "region", "bad region");
	c.region = "us-east-1";
	c.addressing = "virtual";
	c.endpoint = "http://[::1]:12859";
	expect_open_fail(&c, STORAGE_EPERM, "host name", "virtual addressing with an IP literal");
	c.addressing = "path";
	c.endpoint = "http://127.0.0.1:12859";
	c.credentials_file = missing;
	expect_open_fail(&c, STORAGE_EPERM, "credentials_file", "missing credentials file");
	c.credentials_file = "";
	expect_open_fail(&c, STORAGE_EPERM, "credentials_file", "no credentials file");
	c.credentials_file = loose;
	expect_open_fail(&c, STORAGE_EPERM, "0644", "credentials file readable by others");
	c.credentials_file = half;
	expect_open_fail(&c, STORAGE_EPERM, "secret_key", "credentials file without secret_key");
	c.credentials_file = junk;
	expect_open_fail(&c, STORAGE_EPERM, "key file", "credentials file not a key file");
	c.credentials_file = good;
	c.ca_file = missing;
	expect_open_fail(&c, STORAGE_EPERM, "ca_file", "missing ca_file");
	c.ca_file = NULL;

	/* nothing listens: temporary, after a bounded number of retries */
	g_setenv("OFFLOAD_S3_ATTEMPTS", "3", TRUE);
	t0 = now_s();
	expect_open_fail(&c, STORAGE_ETEMP, "12859", "unreachable endpoint");
	dt = now_s() - t0;
	CHECK(dt >= 0.15 && dt < 5, "unreachable: 3 attempts with backoff took %.2f s (>= 0.15, < 5)", dt);
	c.endpoint = "https://127.0.0.1:12859";
	expect_open_fail(&c, STORAGE_ETEMP, NULL, "unreachable https endpoint");
	g_unsetenv("OFFLOAD_S3_ATTEMPTS");

	g_free(good);
	g_free(loose);
	g_free(half);
	g_free(junk);
	g_free(missing);
}

/* ---- against a server ---- */

static void
test_pages(const struct conf *c0)
{
	struct conf *c = (struct conf *)c0;
	struct storage *st;
	char *prefix = g_strdup_printf("%spg", tag);
	bool ok = true;
	int i;

	g_setenv("OFFLOAD_S3_LIST_MAX_KEYS", "7", TRUE);
	st = open_conf(c, NULL);
	g_unsetenv("OFFLOAD_S3_LIST_MAX_KEYS");
	CHECK(st != NULL, "pages: open with a list page size of 7");
	if (st == NULL)
		goto out;
	for (i = 0; i < 25; i++) {
		char *k = g_strdup_printf("%s%02d/m", prefix, i);

		ok = ok && put_pattern(st, k, (uint64_t)i, 1) == STORAGE_OK;
		g_free(k);
	}
	CHECK(ok, "pages: 25 objects put");
	CHECK(list_count(st, prefix) == 25, "pages: list over 4 pages of 7 sees all 25 (%ld)", list_count(st, prefix));
	CHECK(list_count(st, "") >= 25, "pages: full listing over pages sees them too");
	for (i = 0; i < 25; i++) {
		char *k = g_strdup_printf("%s%02d/m", prefix, i);

		ok = ok && storage_delete(st, k) == STORAGE_OK;
		g_free(k);
	}
	CHECK(ok && list_count(st, prefix) == 0, "pages: all deleted, none listed");
	storage_free(st);
out:
	g_free(prefix);
}

static void
test_multipart(struct storage *st)
{
	char *key = g_strdup_printf("%smp/0", tag);
	char *key5 = g_strdup_printf("%smp/5", tag);
	char *keyab = g_strdup_printf("%smpab/0", tag);
	unsigned char *buf = g_malloc(MIB);
	struct storage_put *p;
	struct verify v;
	uint64_t sz = 0;
	char *etag;
	int i, rc = STORAGE_OK;

	/* 12 MiB with 5 MiB parts: 3 parts, invisible until commit */
	p = storage_put_begin(st, key, 0, &rc);
	for (i = 0; p != NULL && i < 12 && rc == STORAGE_OK; i++) {
		size_t j;

		for (j = 0; j < MIB; j++)
			buf[j] = pat((uint64_t)i * MIB + j, 7);
		rc = storage_put_write(p, buf, MIB);
	}
	CHECK(p != NULL && rc == STORAGE_OK, "multipart: 12 MiB written (two parts already sent)");
	CHECK(raw_uploads(key) == 1, "multipart: the server has one unfinished upload for the key");
	CHECK(storage_stat(st, key, NULL, NULL) == STORAGE_ENOENT, "multipart: not visible before commit");
	CHECK(list_count(st, tag) == 0, "multipart: not listed before commit");
	CHECK(storage_put_commit(p) == STORAGE_OK, "multipart: commit");
	etag = raw_etag(key);
	CHECK(etag != NULL && g_str_has_suffix(etag, "-3\""), "multipart: server ETag %s ends in -3 (3 parts)",
		etag ? etag : "(none)");
	g_free(etag);
	CHECK(raw_uploads(key) == 0, "multipart: no unfinished upload left after commit");
	CHECK(storage_stat(st, key, &sz, NULL) == STORAGE_OK && sz == 12 * MIB, "multipart: size 12 MiB");
	v = (struct verify){ 0, 7, true };
	rc = storage_get(st, key, 0, STORAGE_TO_END, sink_verify, &v);
	CHECK(rc == STORAGE_OK && v.ok && v.pos == 12 * MIB, "multipart: content byte-exact");
	v = (struct verify){ 5 * MIB - 10, 7, true };
	rc = storage_get(st, key, 5 * MIB - 10, 20, sink_verify, &v);
	CHECK(rc == STORAGE_OK && v.ok && v.pos == 5 * MIB + 10, "multipart: range across the part boundary");
	CHECK(storage_delete(st, key) == STORAGE_OK, "multipart: delete");

	/* exactly one part size: a single PUT */
	CHECK(put_pattern(st, key5, 5 * MIB, 8) == STORAGE_OK, "5 MiB object (= part_size) put");
	etag = raw_etag(key5);
	CHECK(etag != NULL && strchr(etag, '-') == NULL, "5 MiB object went up as one PUT (ETag %s)",
		etag ? etag : "(none)");
	g_free(etag);
	CHECK(storage_delete(st, key5) == STORAGE_OK, "5 MiB object deleted");

	/* abort after two parts: the upload is aborted on the server */
	p = storage_put_begin(st, keyab, 0, &rc);
	for (i = 0; p != NULL && i < 11 && rc == STORAGE_OK; i++)
		rc = storage_put_write(p, buf, MIB);
	CHECK(p != NULL && rc == STORAGE_OK && raw_uploads(keyab) == 1, "abort: 11 MiB written, upload open");
	storage_put_abort(p);
	CHECK(raw_uploads(keyab) == 0, "abort: the multipart upload is aborted on the server");
	CHECK(storage_stat(st, keyab, NULL, NULL) == STORAGE_ENOENT, "abort: nothing visible");
	g_free(buf);
	g_free(key);
	g_free(key5);
	g_free(keyab);
}

static void
test_credentials(const struct conf *c0)
{
	struct conf c = *c0;
	const char *tmp = unit_tmpdir();
	char *text = NULL, *wrong;

	text = g_strdup_printf("[credentials]\naccess_key = %s\nsecret_key = WRONG%s\n", raw.ak, raw.sk);
	wrong = write_creds(tmp, "wrongsecret", text, 0600);
	c.credentials_file = wrong;
	expect_open_fail(&c, STORAGE_EPERM, "SignatureDoesNotMatch", "wrong secret_key");
	g_free(wrong);
	g_free(text);
	text = g_strdup_printf("[credentials]\naccess_key = nosuch:user\nsecret_key = %s\n", raw.sk);
	wrong = write_creds(tmp, "wrongkey", text, 0600);
	c.credentials_file = wrong;
	expect_open_fail(&c, STORAGE_EPERM, "403", "unknown access_key");
	g_free(wrong);
	g_free(text);
	c = *c0;
	c.bucket = "no-such-bucket-here";
	expect_open_fail(&c, STORAGE_EPERM, "NoSuchBucket", "missing bucket");
	c = *c0;
	c.region = "eu-central-1";
	expect_open_fail(&c, STORAGE_EPERM, "region", "wrong region");
}

static void
test_vhost(const struct conf *c0)
{
	struct conf c = *c0;
	char *ep = NULL, *key = g_strdup_printf("%svh/m", tag);
	struct storage *st;
	GError *err = NULL;
	struct verify v = { 0, 9, true };
	const char *ip = strstr(c0->endpoint, "127.0.0.1");

	if (ip != NULL)
		ep = g_strdup_printf("%.*slocalhost%s", (int)(ip - c0->endpoint), c0->endpoint, ip + 9);
	c.endpoint = ep;
	c.addressing = "virtual";
	/* curl resolves *.localhost to loopback; Swift has storage_domain = localhost */
	st = open_conf(&c, &err);
	CHECK(st != NULL, "vhost: open %s with addressing = virtual (%s)", ep ? ep : "?", err ? err->message : "ok");
	g_clear_error(&err);
	if (st != NULL) {
		CHECK(put_pattern(st, key, 100000, 9) == STORAGE_OK, "vhost: put");
		CHECK(storage_get(st, key, 0, STORAGE_TO_END, sink_verify, &v) == STORAGE_OK && v.ok &&
			v.pos == 100000, "vhost: get byte-exact");
		CHECK(list_count(st, tag) == 1, "vhost: listed");
		CHECK(storage_delete(st, key) == STORAGE_OK, "vhost: delete");
	}
	storage_free(st);
	g_free(ep);
	g_free(key);
}

struct killer {
	const char *cmd;
	unsigned delay_ms;
};

static void *
killer_main(void *arg)
{
	struct killer *k = arg;

	g_usleep(k->delay_ms * 1000UL);
	if (system(k->cmd) != 0)
		printf("# %s failed\n", k->cmd);
	return NULL;
}

static void
test_server_stop(const struct conf *c0)
{
	const char *stop = getenv("OFFLOAD_TEST_S3_STOP");
	const char *start = getenv("OFFLOAD_TEST_S3_START");
	const char *killcmd = getenv("OFFLOAD_TEST_S3_KILL");
	struct conf *c = (struct conf *)c0;
	char *key = g_strdup_printf("%sdown/0", tag);
	char *key2 = g_strdup_printf("%sdown/1", tag);
	unsigned char *buf = g_malloc0(MIB);
	struct storage *st, *slow;
	struct storage_put *p;
	struct killer k;
	pthread_t th;
	double t0, dt;
	int i, rc = STORAGE_OK;

	if (stop == NULL || start == NULL || killcmd == NULL) {
		CHECK(false, "server stop: OFFLOAD_TEST_S3_STOP/_START/_KILL set");
		goto out;
	}
	g_setenv("OFFLOAD_S3_ATTEMPTS", "3", TRUE);
	st = open_conf(c, NULL);
	/* uploads capped at 4 MB/s, so killing the server lands mid-transfer */
	g_setenv("OFFLOAD_S3_MAX_SEND_SPEED", "4000000", TRUE);
	slow = open_conf(c, NULL);
	g_unsetenv("OFFLOAD_S3_MAX_SEND_SPEED");
	g_unsetenv("OFFLOAD_S3_ATTEMPTS");
	CHECK(st != NULL && slow != NULL, "server stop: open");
	if (st == NULL || slow == NULL)
		goto close;

	/* stopped between writes: parts go up in background threads (up to
	 * S3_INFLIGHT at once), so a part that cannot go up fails a later write
	 * that hands over a part (at the latest when every slot is busy), or the commit */
	p = storage_put_begin(st, key, 0, &rc);
	for (i = 0; p != NULL && i < 6 && rc == STORAGE_OK; i++)
		rc = storage_put_write(p, buf, MIB);
	CHECK(p != NULL && rc == STORAGE_OK, "server stop: 6 MiB spooled (part 1 handed over)");
	g_usleep(300000); /* let part 1 arrive */
	CHECK(system(stop) == 0, "server stop: proxy stopped");
	t0 = now_s();
	for (i = 0; p != NULL && i < 30 && rc == STORAGE_OK; i++)
		rc = storage_put_write(p, buf, MIB);
	CHECK(rc == STORAGE_ETEMP && i <= 25, /* 5 MiB parts, S3_INFLIGHT 3 (storage_s3.h) */
		"server stop: a later write fails with ETEMP (%d, write %d)", rc, i);
	rc = storage_put_commit(p);
	dt = now_s() - t0;
	CHECK(rc == STORAGE_ETEMP, "server stop: commit -> ETEMP (%d)", rc);
	CHECK(dt < 15, "server stop: gave up after bounded retries (%.2f s, incl. the abort attempt)", dt);
	CHECK(storage_stat(st, key, NULL, NULL) == STORAGE_ETEMP, "server stop: stat while down -> ETEMP");
	CHECK(storage_get(st, key, 0, 10, sink_verify, &(struct verify){ 0, 0, true }) == STORAGE_ETEMP,
		"server stop: get while down -> ETEMP");
	CHECK(list_count(st, "") == -1, "server stop: list while down fails");
	CHECK(system(start) == 0, "server stop: proxy started again");
	CHECK(storage_stat(st, key, NULL, NULL) == STORAGE_ENOENT, "server stop: no visible object");
	printf("# unfinished multipart uploads left by the failed put (abort could not reach the server): %d\n",
		raw_uploads(key));

	/* killed in the middle of a single PUT (4 MiB at 4 MB/s, killed after 0.4 s) */
	p = storage_put_begin(slow, key2, 0, &rc);
	for (i = 0; p != NULL && i < 4 && rc == STORAGE_OK; i++)
		rc = storage_put_write(p, buf, MIB);
	k = (struct killer){ killcmd, 400 };
	CHECK(p != NULL && rc == STORAGE_OK && pthread_create(&th, NULL, killer_main, &k) == 0,
		"mid-upload: 4 MiB spooled, killer armed");
	t0 = now_s();
	rc = storage_put_commit(p);
	dt = now_s() - t0;
	pthread_join(th, NULL);
	CHECK(rc == STORAGE_ETEMP, "mid-upload: server killed during the PUT -> ETEMP (%d, %.2f s)", rc, dt);
	CHECK(system(start) == 0, "mid-upload: proxy started again");
	CHECK(storage_stat(st, key2, NULL, NULL) == STORAGE_ENOENT, "mid-upload: no visible object");
	CHECK(put_pattern(st, key2, 1000, 3) == STORAGE_OK && storage_delete(st, key2) == STORAGE_OK,
		"mid-upload: the store works again");
close:
	storage_free(st);
	storage_free(slow);
out:
	g_free(buf);
	g_free(key);
	g_free(key2);
}

static long
rss_kib(void)
{
	char *s = NULL;
	const char *p;
	long v = -1;

	if (g_file_get_contents("/proc/self/status", &s, NULL, NULL) && (p = strstr(s, "VmRSS:")) != NULL)
		v = strtol(p + 6, NULL, 10);
	g_free(s);
	return v;
}

static void
test_bench(const struct conf *c0, long mb)
{
	struct conf *c = (struct conf *)c0;
	uint64_t saved = c->part_size, sz = 0;
	char *key = g_strdup_printf("%sbench/0", tag);
	unsigned char *buf = g_malloc(MIB);
	struct storage *st;
	struct storage_put *p;
	double t0, dt, tw;
	long rss0, rss1, i;
	int rc = STORAGE_OK;

	/* the default part size, or OFFLOAD_TEST_S3_BENCH_PART MiB */
	c->part_size = (getenv("OFFLOAD_TEST_S3_BENCH_PART") != NULL ? (uint64_t)atol(getenv("OFFLOAD_TEST_S3_BENCH_PART")) : 16) * MIB;
	st = open_conf(c, NULL);
	c->part_size = saved;
	if (st == NULL) {
		CHECK(false, "bench: open");
		goto out;
	}
	memset(buf, 0x5a, MIB);
	rss0 = rss_kib();
	t0 = now_s();
	p = storage_put_begin(st, key, (uint64_t)mb * MIB, &rc);
	for (i = 0; p != NULL && i < mb && rc == STORAGE_OK; i++)
		rc = storage_put_write(p, buf, MIB);
	tw = now_s() - t0;
	rc = p != NULL && rc == STORAGE_OK ? storage_put_commit(p) : (storage_put_abort(p), STORAGE_ETEMP);
	dt = now_s() - t0;
	rss1 = rss_kib();
	c->part_size = (getenv("OFFLOAD_TEST_S3_BENCH_PART") != NULL ? (uint64_t)atol(getenv("OFFLOAD_TEST_S3_BENCH_PART")) : 16) * MIB;
	CHECK(rc == STORAGE_OK && storage_stat(st, key, &sz, NULL) == STORAGE_OK && sz == (uint64_t)mb * MIB,
		"bench: %ld MiB put with %llu MiB parts", mb, (unsigned long long)(c->part_size / MIB));
	printf("# bench: s3 backend put %ld MiB: %.2f s = %.0f MiB/s (writes incl. part uploads %.2f s); RSS +%ld KiB\n",
		mb, dt, mb / dt, tw, rss1 - rss0);
	printf("# bench-seconds %.3f\n", dt);
	c->part_size = saved;
	CHECK(rss1 - rss0 < 32 * 1024, "bench: RSS grew by %ld KiB (< 32 MiB) for %ld MiB", rss1 - rss0, mb);
	t0 = now_s();
	rc = storage_get(st, key, 0, STORAGE_TO_END, sink_verify, &(struct verify){ 0, 0, true });
	printf("# bench: s3 backend get %ld MiB: %.2f s\n", mb, now_s() - t0);
	CHECK(storage_delete(st, key) == STORAGE_OK, "bench: deleted");
	storage_free(st);
out:
	g_free(buf);
	g_free(key);
}

static void
test_online(const char *path)
{
	struct conf *c;
	struct storage *st = NULL;
	GError *err = NULL;
	const char *bench = getenv("OFFLOAD_TEST_S3_BENCH_MB");

	c = conf_load(path, &err);
	CHECK(c != NULL && strcmp(c->backend, "s3") == 0 && c->part_size == 5 * MIB,
		"config %s: s3 with part_size 5M (%s)", path, err ? err->message : "ok");
	g_clear_error(&err);
	if (c == NULL)
		return;
	raw_init(c);
	st = open_conf(c, &err);
	CHECK(st != NULL, "open (%s)", err ? err->message : "ok");
	g_clear_error(&err);
	if (st != NULL) {
		test_multipart(st);
		test_pages(c);
		test_credentials(c);
		test_vhost(c);
		test_server_stop(c);
		if (bench != NULL && atol(bench) > 0)
			test_bench(c, atol(bench));
		CHECK(list_count(st, "") == 0, "nothing of this run left listed");
	}
	storage_free(st);
	raw_clear();
	conf_free(c);
}

int
main(void)
{
	const char *conf = getenv("OFFLOAD_TEST_S3_CONF");

	log_init("test_storage_s3", true, false);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	g_snprintf(tag, sizeof tag, "%08x", g_random_int());
	test_offline();
	if (conf != NULL)
		test_online(conf);
	else
		printf("# OFFLOAD_TEST_S3_CONF not set: server tests run from tests/integration/test_storage_s3.sh\n");
	return unit_done();
}
