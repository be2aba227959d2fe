/*
 * storage_s3.c - the "s3" backend (DECISIONS.md §7, §13): any S3 API (AWS,
 * Ceph RGW, MinIO, Garage, Swift s3api) over libcurl with CURLOPT_AWS_SIGV4.
 *
 * Objects live at [bucket]/[prefix]<key>, path-style (ENDPOINT/BUCKET/KEY) or
 * virtual-host-style (BUCKET.HOST/KEY). A put spools to an unlinked temp file
 * in spool_dir (or $TMPDIR) and computes the payload's SHA-256 meanwhile:
 * objects up to part_size go up as one PUT at commit; larger ones as a
 * multipart upload: each time part_size bytes have piled up they become the
 * next part (>= 5 MiB, the last may be smaller), sent by one of S3_INFLIGHT
 * uploader threads (each with its own handle and spool file) while the
 * caller spools the next part; Complete at commit, Abort on failure. So
 * nothing is visible before commit, memory stays flat (disk: S3_INFLIGHT + 1
 * parts), and the length is always known (no chunked PUT).
 *
 * libcurl 7.88 SigV4 gotchas:
 * - it does not add x-amz-content-sha256, but signs it when we send it: we
 *   send the real hash of every body (e3b0... for none);
 * - it signs the query string exactly as written: we write it canonical
 *   (parameters sorted, values percent-encoded, "uploads=" with its '=');
 * - Swift's access keys contain ':' ("test:tester"): CURLOPT_USERNAME and
 *   CURLOPT_PASSWORD, never CURLOPT_USERPWD.
 *
 * Maintenance (purge): abort_stale pages through ListMultipartUploads below
 * the prefix (key-marker/upload-id-marker, max-uploads = the list page size)
 * and aborts the uploads of valid keys initiated before the cutoff: parts of
 * a writer that crashed mid-upload cost storage and are invisible to
 * ListObjectsV2. No prune: S3 has no containers.
 *
 * This file: configuration (open/close), get, stat, delete.
 * storage_s3_put.c: puts (spool, parts, commit/abort). storage_s3_mpu.c:
 * resumable multipart objects whose upload id and ETags the caller keeps
 * (the upload daemon, across processes). storage_s3_list.c:
 * list, abort_stale. storage_s3_http.c: one request with retries and error
 * classification, and the XML reader.
 *
 * Retries: connection failures, timeouts, 408/429/5xx and S3's RequestTimeout /
 * SlowDown are retried S3_ATTEMPTS times in all with exponential backoff and
 * full jitter; a GET that broke off resumes at the first byte not yet handed
 * to the sink. Classification: 400/401/403 and TLS verification failures ->
 * STORAGE_EPERM, network/5xx/throttling -> STORAGE_ETEMP, 404 -> ENOENT.
 * Credentials never appear in logs or URLs.
 *
 * Test knobs (environment): OFFLOAD_S3_LIST_MAX_KEYS (list page size, also of
 * ListMultipartUploads; default 1000), OFFLOAD_S3_MAX_SEND_SPEED (bytes/s cap on uploads, to stop a server
 * mid-transfer in tests), OFFLOAD_S3_ATTEMPTS (default 5).
 *
 * Memory: struct s3_store (config, credentials: wiped on close) is owned by
 * the storage; struct s3_put by its caller until commit/abort.
 * Threads: the store is read-only after open; every call and every put uses
 * its own curl handle (a put reuses its handle for all its requests; its
 * uploader thread and the caller never use it at the same time).
 */
#include "storage_s3.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"

static long
s3_env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end = NULL;
	long n;

	if (v == NULL || v[0] == '\0')
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
		log_warning("storage s3: ignoring %s=%s (want %ld..%ld)", name, v, min, max);
		return def;
	}
	return n;
}

/* s3_object_path - [/bucket]/[prefix]key (keys and prefix need no escaping) */
char *
s3_object_path(const struct s3_store *s, const char *key)
{
	return g_strconcat(s->bucket_path, "/", s->prefix, key, NULL);
}

/* ---- open / close ---- */

static void
s3_store_free(struct s3_store *s)
{
	if (s == NULL)
		return;
	if (s->secret_key != NULL)
		OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
	if (s->access_key != NULL)
		OPENSSL_cleanse(s->access_key, strlen(s->access_key));
	g_free(s->secret_key);
	g_free(s->access_key);
	g_free(s->base);
	g_free(s->bucket_path);
	g_free(s->bucket);
	g_free(s->prefix);
	g_free(s->sigv4);
	g_free(s->ca_file);
	g_free(s->spool_dir);
	g_free(s);
}

static void
s3_close(void *be)
{
	s3_store_free(be);
}

/* s3_load_credentials - [credentials] access_key, secret_key from a file only
 * its owner (and group, read) may access */
static bool
s3_load_credentials(struct s3_store *s, const char *path, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	char buf[8192];
	struct stat sb;
	ssize_t n = -1;
	size_t len = 0;
	int fd, e;
	bool ok = false;

	if (path == NULL || path[0] == '\0') {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] credentials_file: empty (the s3 backend needs access_key and secret_key)");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] credentials_file %s: %s", path,
			g_strerror(e));
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] credentials_file %s: not a regular file",
			path);
		close(fd);
		goto out;
	}
	if ((sb.st_mode & 0027) != 0) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] credentials_file %s: mode %04o lets others read or change it (chmod 0600 or 0640)",
			path, (unsigned)(sb.st_mode & 07777));
		close(fd);
		goto out;
	}
	while (len < sizeof buf - 1) {
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	e = errno;
	close(fd);
	if (n < 0 || len >= sizeof buf - 1) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] credentials_file %s: %s", path,
			n < 0 ? g_strerror(e) : "too large");
		goto out;
	}
	buf[len] = '\0';
	if (!g_key_file_load_from_data(kf, buf, len, G_KEY_FILE_NONE, NULL)) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] credentials_file %s: not a key file",
			path);
		goto out;
	}
	s->access_key = g_key_file_get_string(kf, "credentials", "access_key", NULL);
	s->secret_key = g_key_file_get_string(kf, "credentials", "secret_key", NULL);
	if (s->access_key != NULL)
		g_strstrip(s->access_key);
	if (s->secret_key != NULL)
		g_strstrip(s->secret_key);
	if (s->access_key == NULL || s->access_key[0] == '\0' || s->secret_key == NULL ||
		s->secret_key[0] == '\0') {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] credentials_file %s: needs [credentials] access_key and secret_key", path);
		goto out;
	}
	ok = true;
out:
	OPENSSL_cleanse(buf, sizeof buf);
	g_key_file_free(kf);
	return ok;
}

static bool
s3_bucket_valid(const char *b)
{
	size_t i, n = b != NULL ? strlen(b) : 0;

	if (n < 3 || n > 63 || !g_ascii_isalnum(b[0]) || !g_ascii_isalnum(b[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if (!(g_ascii_islower(b[i]) || g_ascii_isdigit(b[i]) || b[i] == '.' || b[i] == '-'))
			return false;
	}
	return true;
}

/* s3_prefix_norm - "" or "a/b/" from the configured prefix; NULL if invalid */
static char *
s3_prefix_norm(const char *p)
{
	char **segs = NULL;
	char *out = NULL;
	size_t i, n;

	if (p == NULL || p[0] == '\0')
		return g_strdup("");
	n = strlen(p);
	if (p[0] == '/' || strstr(p, "//") != NULL || n > 200)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!s3_unreserved((unsigned char)p[i]) && p[i] != '/')
			return NULL;
	}
	segs = g_strsplit(p, "/", -1);
	for (i = 0; segs[i] != NULL; i++) {
		if (strcmp(segs[i], ".") == 0 || strcmp(segs[i], "..") == 0)
			goto out;
	}
	out = p[n - 1] == '/' ? g_strdup(p) : g_strconcat(p, "/", NULL);
out:
	g_strfreev(segs);
	return out;
}

/* s3_endpoint - base URL and bucket path from [storage] endpoint and addressing */
static bool
s3_endpoint(struct s3_store *s, const struct conf *conf, bool virt, GError **err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL, *query = NULL;
	size_t n;
	bool ok = false;

	if (conf->endpoint == NULL || conf->endpoint[0] == '\0') {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] endpoint: empty (the s3 backend needs e.g. https://s3.example.gov)");
		goto out;
	}
	if (u == NULL || curl_url_set(u, CURLUPART_URL, conf->endpoint, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		(strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] endpoint %s: not an http:// or https:// URL", conf->endpoint);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
		curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] endpoint: no user, password or query in the URL (credentials go in credentials_file)");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		path = NULL;
	if (virt && host[0] == '[') {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] addressing = virtual needs a host name in endpoint, not %s", host);
		goto out;
	}
	s->base = g_strdup_printf("%s://%s%s%s%s%s", scheme, virt ? s->bucket : "", virt ? "." : "", host,
		port != NULL ? ":" : "", port != NULL ? port : "");
	if (path != NULL) {
		n = strlen(path);
		while (n > 0 && path[n - 1] == '/')
			path[--n] = '\0';
		if (n > 0) {
			char *b = g_strconcat(s->base, path, NULL);

			g_free(s->base);
			s->base = b;
		}
	}
	s->bucket_path = virt ? g_strdup("") : g_strconcat("/", s->bucket, NULL);
	if (strcmp(scheme, "http") == 0 && !storage_host_loopback(host))
		log_warning("storage s3: endpoint %s is plain http: use https outside a trusted network",
			conf->endpoint);
	ok = true;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(user);
	curl_free(query);
	curl_url_cleanup(u);
	return ok;
}

/* s3_config - the store's settings from conf, checked; false with *err set */
static bool
s3_config(struct s3_store *s, const struct conf *conf, GError **err)
{
	const char *region = conf->region != NULL && conf->region[0] != '\0' ? conf->region : "us-east-1";
	bool virt = conf->addressing != NULL && strcmp(conf->addressing, "virtual") == 0;
	size_t i;

	if (!s3_bucket_valid(conf->bucket)) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] bucket \"%s\": needs 3-63 characters [a-z0-9.-]", conf->bucket ? conf->bucket : "");
		return false;
	}
	s->bucket = g_strdup(conf->bucket);
	for (i = 0; region[i] != '\0'; i++) {
		if (!g_ascii_isalnum(region[i]) && region[i] != '-') {
			g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] region \"%s\": invalid", region);
			return false;
		}
	}
	s->sigv4 = g_strdup_printf("aws:amz:%s:s3", region);
	s->prefix = s3_prefix_norm(conf->prefix);
	if (s->prefix == NULL) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] prefix \"%s\": only [A-Za-z0-9._~-] segments separated by single '/'", conf->prefix);
		return false;
	}
	if (!s3_endpoint(s, conf, virt, err))
		return false;
	if (conf->ca_file != NULL && conf->ca_file[0] != '\0') {
		if (access(conf->ca_file, R_OK) != 0) {
			g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] ca_file %s: %s", conf->ca_file,
				g_strerror(errno));
			return false;
		}
		s->ca_file = g_strdup(conf->ca_file);
	}
	if (!s3_load_credentials(s, conf->credentials_file, err))
		return false;
	s->part_size = conf->part_size >= S3_PART_MIN ? conf->part_size : S3_PART_DEFAULT;
	s->max_keys = s3_env_long("OFFLOAD_S3_LIST_MAX_KEYS", 1000, 1, 1000);
	s->attempts = s3_env_long("OFFLOAD_S3_ATTEMPTS", S3_ATTEMPTS, 1, 20);
	s->max_send_speed = s3_env_long("OFFLOAD_S3_MAX_SEND_SPEED", 0, 0, 1L << 40);
	return true;
}

/* s3_spool_dir - parts are spooled in [milter] spool_dir when it is usable, else $TMPDIR */
static char *
s3_spool_dir(const struct conf *conf)
{
	char *dir = g_strdup(conf->spool_dir != NULL && conf->spool_dir[0] != '\0' ? conf->spool_dir :
		g_get_tmp_dir());
	int fd = storage_spool_open(dir);

	if (fd < 0) {
		log_info("storage s3: cannot spool in %s (%s); using %s", dir, g_strerror(errno),
			g_get_tmp_dir());
		g_free(dir);
		return g_strdup(g_get_tmp_dir());
	}
	close(fd);
	return dir;
}

/* s3_probe - reachability, bucket and credentials in one cheap request */
static bool
s3_probe(const struct s3_store *s, const struct conf *conf, GError **err)
{
	struct s3_req r = { 0 };
	CURL *h = s3_handle("open");
	char *what;
	int rc;

	if (h == NULL) {
		g_set_error(err, STORAGE_ERROR, STORAGE_ETEMP, "storage s3: curl_easy_init failed");
		return false;
	}
	what = g_strdup_printf("list bucket %s", s->bucket);
	s3_req_init(&r, h, "GET", what, s3_list_path(s, NULL, 1, s->prefix));
	r.quiet = true;
	rc = s3_perform(s, &r);
	if (rc != STORAGE_OK)
		g_set_error(err, STORAGE_ERROR, rc == STORAGE_ETEMP ? STORAGE_ETEMP : STORAGE_EPERM,
			"[storage] s3 endpoint %s: %s", conf->endpoint,
			r.errmsg != NULL ? r.errmsg : storage_strerror(rc));
	s3_req_clear(&r);
	curl_easy_cleanup(h);
	g_free(what);
	return rc == STORAGE_OK;
}

static void *
s3_open(const struct conf *conf, GError **err)
{
	struct s3_store *s = g_new0(struct s3_store, 1);

	if (storage_curl_init_once() != CURLE_OK) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "storage s3: curl_global_init failed");
		goto fail;
	}
	if (!s3_config(s, conf, err))
		goto fail;
	s->spool_dir = s3_spool_dir(conf);
	if (!s3_probe(s, conf, err))
		goto fail;
	return s;
fail:
	s3_store_free(s);
	return NULL;
}

/* ---- get, stat, delete ---- */

int
s3_head(struct s3_store *s, CURL *h, const char *key, uint64_t *size, int64_t *mtime)
{
	struct s3_req r;
	char *what = g_strdup_printf("HEAD %s", key);
	int rc;

	s3_req_init(&r, h, "HEAD", what, s3_object_path(s, key));
	rc = s3_perform(s, &r);
	if (rc == STORAGE_OK) {
		*size = r.clen;
		*mtime = r.mtime;
	}
	s3_req_clear(&r);
	g_free(what);
	return rc;
}

static int
s3_stat(void *be, const char *key, uint64_t *size, int64_t *mtime)
{
	CURL *h = s3_handle(key);
	int rc;

	if (h == NULL)
		return STORAGE_ETEMP;
	rc = s3_head(be, h, key, size, mtime);
	curl_easy_cleanup(h);
	return rc;
}

static int
s3_get(void *be, const char *key, uint64_t offset, uint64_t length, storage_sink_fn sink, void *arg)
{
	struct s3_store *s = be;
	struct s3_req r;
	uint64_t sz;
	int64_t mt;
	CURL *h;
	char *what;
	int rc;

	h = s3_handle(key);
	if (h == NULL)
		return STORAGE_ETEMP;
	if (length == 0) {
		/* nothing to send, but the object must exist */
		rc = s3_head(s, h, key, &sz, &mt);
		curl_easy_cleanup(h);
		return rc;
	}
	what = g_strdup_printf("GET %s", key);
	s3_req_init(&r, h, "GET", what, s3_object_path(s, key));
	r.sink = sink;
	r.arg = arg;
	r.offset = offset;
	r.length = length;
	rc = s3_perform(s, &r);
	s3_req_clear(&r);
	g_free(what);
	curl_easy_cleanup(h);
	return rc;
}

static int
s3_del(void *be, const char *key)
{
	struct s3_store *s = be;
	struct s3_req r;
	uint64_t sz;
	int64_t mt;
	CURL *h = s3_handle(key);
	char *what;
	int rc;

	if (h == NULL)
		return STORAGE_ETEMP;
	/* S3 answers 204 for missing keys too: ask first, so ENOENT is reported */
	rc = s3_head(s, h, key, &sz, &mt);
	if (rc != STORAGE_OK) {
		curl_easy_cleanup(h);
		return rc;
	}
	what = g_strdup_printf("DELETE %s", key);
	s3_req_init(&r, h, "DELETE", what, s3_object_path(s, key));
	rc = s3_perform(s, &r);
	s3_req_clear(&r);
	g_free(what);
	curl_easy_cleanup(h);
	return rc;
}

const struct storage_ops storage_s3_ops = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.put_begin = s3_put_begin,
	.put_write = s3_put_write,
	.put_commit = s3_put_commit,
	.put_abort = s3_put_abort,
	.put_commit_new = s3_put_commit_new,
	.create_atomic = s3_create_atomic,
	.get = s3_get,
	.stat = s3_stat,
	.del = s3_del,
	.list = s3_list,
	.abort_stale = s3_abort_stale,
	.mpu_spool = s3_mpu_spool,
	.mpu_begin = s3_mpu_begin,
	.mpu_part = s3_mpu_part,
	.mpu_complete = s3_mpu_complete,
	.mpu_abort = s3_mpu_abort,
};
