/*
 * test_storage_detail.c - storage_detail.c: the diagnosis table (curl code,
 * socket errno, HTTP status, S3 error code, system errno -> cause), the Date
 * and ownCloud header notes, thread-locality, and the file backend noting
 * a real permission failure.
 */
#include "storage_backend.h"
#include "unit.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <curl/curl.h>

static void
test_causes(void)
{
	static const struct {
		int curl, os_errno;
		long status;
		const char *s3;
		const char *want;
	} t[] = {
		{ CURLE_COULDNT_RESOLVE_HOST, 0, 0, NULL, "dns" },
		{ CURLE_COULDNT_CONNECT, ECONNREFUSED, 0, NULL, "connection-refused" },
		{ CURLE_COULDNT_CONNECT, ETIMEDOUT, 0, NULL, "timeout" },
		{ CURLE_COULDNT_CONNECT, ENETUNREACH, 0, NULL, "network" },
		{ CURLE_OPERATION_TIMEDOUT, 0, 0, NULL, "timeout" },
		{ CURLE_PEER_FAILED_VERIFICATION, 0, 0, NULL, "tls-certificate" },
		{ CURLE_SSL_CACERT_BADFILE, 0, 0, NULL, "tls-certificate" },
		{ CURLE_SSL_CONNECT_ERROR, 0, 0, NULL, "tls" },
		{ CURLE_RECV_ERROR, 0, 0, NULL, "network" },
		{ CURLE_LOGIN_DENIED, 0, 0, NULL, "auth" },
		{ 0, 0, 403, "SignatureDoesNotMatch", "auth" },
		{ 0, 0, 403, "InvalidAccessKeyId", "auth" },
		{ 0, 0, 400, "AuthorizationHeaderMalformed", "auth" },
		{ 0, 0, 403, "AccessDenied", "permission" },
		{ 0, 0, 403, "RequestTimeTooSkewed", "clock-skew" },
		{ 0, 0, 404, "NoSuchBucket", "missing-bucket" },
		{ 0, 0, 503, "SlowDown", "server" },
		{ 0, 0, 403, "SomethingNew", "permission" },  /* unknown code: the status decides */
		{ 0, 0, 401, NULL, "auth" },
		{ 0, 0, 403, NULL, "permission" },
		{ 0, 0, 405, NULL, "permission" },
		{ 0, 0, 409, NULL, "missing-bucket" },
		{ 0, 0, 507, NULL, "space" },
		{ 0, 0, 500, NULL, "server" },
		{ 0, 0, 400, NULL, "other" },
		{ 0, EACCES, 0, NULL, "permission" },
		{ 0, EROFS, 0, NULL, "permission" },
		{ 0, ENOSPC, 0, NULL, "space" },
		{ 0, EIO, 0, NULL, "other" },
	};
	struct storage_detail d;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(t); i++) {
		storage_detail_clear();
		storage_detail_fail("X", t[i].curl, t[i].os_errno, t[i].status, t[i].s3, "text");
		storage_detail_get(&d);
		CHECK(strcmp(storage_cause_name(storage_detail_cause(&d)), t[i].want) == 0,
			"curl %d errno %d HTTP %ld %s -> %s (got %s)", t[i].curl, t[i].os_errno, t[i].status,
			t[i].s3 != NULL ? t[i].s3 : "-", t[i].want, storage_cause_name(storage_detail_cause(&d)));
	}
	storage_detail_clear();
	storage_detail_get(&d);
	CHECK(!d.failed && storage_detail_cause(&d) == STORAGE_CAUSE_NONE, "cleared: no failure");
	/* long texts are cut, never overflow */
	{
		char big[1000];

		memset(big, 'a', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		storage_detail_fail(big, 0, EIO, 0, big, big);
		storage_detail_get(&d);
		CHECK(strlen(d.text) == sizeof d.text - 1 && strlen(d.op) == sizeof d.op - 1 &&
			strlen(d.s3_code) == sizeof d.s3_code - 1, "long op, code and text truncated");
	}
}

static void
test_headers(void)
{
	struct storage_detail d;
	char date[] = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
	char oc[] = "OC-FileId: 00000042ocabc\r\n";
	char other[] = "Server: nginx\r\n";
	time_t before = time(NULL);

	storage_detail_clear();
	CHECK(storage_detail_header(other, 1, strlen(other), NULL) == strlen(other), "callback takes the header");
	storage_detail_get(&d);
	CHECK(d.server_date == 0 && !d.dav_owncloud, "Server: nginx notes nothing");
	storage_detail_header(date, 1, strlen(date), NULL);
	storage_detail_get(&d);
	CHECK(d.server_date == 784111777, "Date parsed (RFC 9110 example): %lld", (long long)d.server_date);
	CHECK(d.local_date >= before && d.local_date <= time(NULL) && !d.failed, "local time noted, no failure");
	storage_detail_header(oc, 1, strlen(oc), NULL);
	storage_detail_get(&d);
	CHECK(d.dav_owncloud, "OC-FileId marks ownCloud/Nextcloud");
}

static gpointer
thread_main(gpointer arg)
{
	struct storage_detail d;

	(void)arg;
	storage_detail_get(&d);
	return GINT_TO_POINTER(d.failed ? 1 : 0);
}

static void
test_thread_local(void)
{
	GThread *t;

	storage_detail_clear();
	storage_detail_fail("PUT", 0, 0, 403, "AccessDenied", "x");
	t = g_thread_new("detail", thread_main, NULL);
	CHECK(GPOINTER_TO_INT(g_thread_join(t)) == 0, "another thread does not see this thread's failure");
}

/* the file backend notes the errno of a real failure; a regular file where
 * the shard directory belongs fails for root too (chmod would not) */
static void
test_file_backend(void)
{
	struct conf *c = conf_load(NULL, NULL);
	char *store = g_build_filename(unit_tmpdir(), "detailstore", NULL);
	char *shard = g_build_filename(store, "ab", NULL);
	struct storage *st = NULL;
	struct storage_put *p;
	struct storage_detail d;
	GError *err = NULL;
	int rc = 0;

	g_free(c->backend);
	c->backend = g_strdup("file");
	g_free(c->path);
	c->path = g_strdup(store);
	st = storage_open(c, &err);
	CHECK(st != NULL, "file store opens");
	if (st == NULL)
		goto out;
	/* a regular file where the shard directory belongs: mkdir fails with ENOTDIR/EEXIST */
	CHECK(g_file_set_contents(shard, "x", 1, NULL), "shard blocked by a file");
	storage_detail_clear();
	p = storage_put_begin(st, "abcdef/m", 1, &rc);
	storage_put_abort(p);
	storage_detail_get(&d);
	CHECK(p == NULL && rc == STORAGE_EPERM && d.failed && d.os_errno != 0 && strstr(d.text, shard) != NULL,
		"put into a blocked shard: EPERM, errno %d noted with the path (%s)", d.os_errno, d.text);
out:
	g_clear_error(&err);
	storage_free(st);
	conf_free(c);
	g_free(shard);
	g_free(store);
}

int
main(void)
{
	test_causes();
	test_headers();
	test_thread_local();
	test_file_backend();
	return unit_done();
}
