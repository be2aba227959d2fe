/*
 * storage_s3.c - the "s3" backend (DECISIONS.md §7, §13): any S3 API (AWS,
 * Ceph RGW, MinIO, Garage, Swift s3api) over libcurl with CURLOPT_AWS_SIGV4.
 *
 * Objects live at [bucket]/[prefix]<key>, path-style (ENDPOINT/BUCKET/KEY) or
 * virtual-host-style (BUCKET.HOST/KEY). A put spools to an unlinked temp file
 * in spool_dir (or $TMPDIR) and computes the payload's SHA-256 meanwhile:
 * objects up to part_size go up as one PUT at commit; larger ones as a
 * multipart upload: each time part_size bytes have piled up they become the
 * next part (>= 5 MiB, the last may be smaller), sent by a per-put uploader
 * thread while the caller spools the next part into a second file; Complete
 * at commit, Abort on failure. So nothing is visible before commit, memory
 * stays flat (disk: two parts), and the length is always known (no chunked PUT).
 *
 * libcurl 7.88 SigV4 gotchas (../shared/recipes/README.md §4):
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
 * This file: configuration, puts (spool, parts, commit/abort), get, stat,
 * delete, list, abort_stale. storage_s3_http.c: one request with retries and error
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
#include <openssl/evp.h>

#include "log.h"

/* one part on its way up, in the put's uploader thread */
struct s3_job {
	unsigned part;
	uint64_t len;
	char hex[65];       /* SHA-256 of the part */
	int rc;
	char *etag;
};

struct s3_put {
	struct s3_store *s;
	char *key;          /* storage key, for logs */
	char *path;         /* bucket_path/prefix+key */
	CURL *h;            /* used by one thread at a time: uploader, else caller */
	int fd;             /* unlinked spool file: the part being written */
	int fd_up;          /* the other one: the part being sent, or -1 */
	GThread *uploader;  /* sends part job.part while the caller spools the next */
	bool job_pending;   /* job holds a result not yet collected */
	struct s3_job job;
	uint64_t spooled;   /* bytes in fd */
	EVP_MD_CTX *md;     /* SHA-256 of the spooled bytes */
	char *upload_id;    /* multipart upload in progress, or NULL */
	GPtrArray *etags;   /* ETag of part i + 1 */
};

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
static char *
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
	if (strcmp(scheme, "http") == 0 && strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0 &&
		strcmp(host, "[::1]") != 0)
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

/* s3_spool_open - an unlinked 0600 temp file in dir; -1 with errno */
static int
s3_spool_open(const char *dir)
{
	char *tmpl;
	int fd, e;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* file systems without O_TMPFILE: create and unlink at once */
	tmpl = g_build_filename(dir, ".offload-s3-XXXXXX", NULL);
	fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
	e = errno;
	if (fd >= 0)
		unlink(tmpl);
	g_free(tmpl);
	errno = e;
	return fd;
}

/* s3_list_url - bucket listing, the query canonical: sorted, encoded */
static char *
s3_list_path(const struct s3_store *s, const char *token, long max_keys, const char *prefix)
{
	GString *q = g_string_new(s->bucket_path[0] != '\0' ? s->bucket_path : "/");

	g_string_append_c(q, '?');
	if (token != NULL) {
		g_string_append(q, "continuation-token=");
		s3_qenc(q, token);
		g_string_append_c(q, '&');
	}
	g_string_append_printf(q, "list-type=2&max-keys=%ld", max_keys);
	if (prefix[0] != '\0') {
		g_string_append(q, "&prefix=");
		s3_qenc(q, prefix);
	}
	return g_string_free(q, FALSE);
}

static void *
s3_open(const struct conf *conf, GError **err)
{
	struct s3_store *s = g_new0(struct s3_store, 1);
	struct s3_req r = { 0 };
	const char *region = conf->region != NULL && conf->region[0] != '\0' ? conf->region : "us-east-1";
	bool virt = conf->addressing != NULL && strcmp(conf->addressing, "virtual") == 0;
	CURL *h = NULL;
	char *what = NULL;
	size_t i;
	int fd, rc;

	if (s3_curl_init_once() != CURLE_OK) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "storage s3: curl_global_init failed");
		goto fail;
	}
	if (!s3_bucket_valid(conf->bucket)) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] bucket \"%s\": needs 3-63 characters [a-z0-9.-]", conf->bucket ? conf->bucket : "");
		goto fail;
	}
	s->bucket = g_strdup(conf->bucket);
	for (i = 0; region[i] != '\0'; i++) {
		if (!g_ascii_isalnum(region[i]) && region[i] != '-') {
			g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] region \"%s\": invalid", region);
			goto fail;
		}
	}
	s->sigv4 = g_strdup_printf("aws:amz:%s:s3", region);
	s->prefix = s3_prefix_norm(conf->prefix);
	if (s->prefix == NULL) {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] prefix \"%s\": only [A-Za-z0-9._~-] segments separated by single '/'", conf->prefix);
		goto fail;
	}
	if (!s3_endpoint(s, conf, virt, err))
		goto fail;
	if (conf->ca_file != NULL && conf->ca_file[0] != '\0') {
		if (access(conf->ca_file, R_OK) != 0) {
			g_set_error(err, STORAGE_ERROR, STORAGE_EPERM, "[storage] ca_file %s: %s", conf->ca_file,
				g_strerror(errno));
			goto fail;
		}
		s->ca_file = g_strdup(conf->ca_file);
	}
	if (!s3_load_credentials(s, conf->credentials_file, err))
		goto fail;
	s->part_size = conf->part_size >= S3_PART_MIN ? conf->part_size : S3_PART_DEFAULT;
	s->max_keys = s3_env_long("OFFLOAD_S3_LIST_MAX_KEYS", 1000, 1, 1000);
	s->attempts = s3_env_long("OFFLOAD_S3_ATTEMPTS", S3_ATTEMPTS, 1, 20);
	s->max_send_speed = s3_env_long("OFFLOAD_S3_MAX_SEND_SPEED", 0, 0, 1L << 40);

	/* parts are spooled in [milter] spool_dir when it is usable, else $TMPDIR */
	s->spool_dir = g_strdup(conf->spool_dir != NULL && conf->spool_dir[0] != '\0' ? conf->spool_dir :
		g_get_tmp_dir());
	fd = s3_spool_open(s->spool_dir);
	if (fd < 0) {
		log_info("storage s3: cannot spool in %s (%s); using %s", s->spool_dir, g_strerror(errno),
			g_get_tmp_dir());
		g_free(s->spool_dir);
		s->spool_dir = g_strdup(g_get_tmp_dir());
	} else {
		close(fd);
	}

	/* reachability, bucket and credentials in one cheap request */
	h = s3_handle("open");
	if (h == NULL) {
		g_set_error(err, STORAGE_ERROR, STORAGE_ETEMP, "storage s3: curl_easy_init failed");
		goto fail;
	}
	what = g_strdup_printf("list bucket %s", s->bucket);
	s3_req_init(&r, h, "GET", what, s3_list_path(s, NULL, 1, s->prefix));
	r.quiet = true;
	rc = s3_perform(s, &r);
	if (rc != STORAGE_OK) {
		g_set_error(err, STORAGE_ERROR, rc == STORAGE_ETEMP ? STORAGE_ETEMP : STORAGE_EPERM,
			"[storage] s3 endpoint %s: %s", conf->endpoint,
			r.errmsg != NULL ? r.errmsg : storage_strerror(rc));
		goto fail;
	}
	s3_req_clear(&r);
	curl_easy_cleanup(h);
	g_free(what);
	return s;
fail:
	s3_req_clear(&r);
	if (h != NULL)
		curl_easy_cleanup(h);
	g_free(what);
	s3_store_free(s);
	return NULL;
}

/* ---- put ---- */

static void
s3_put_free(struct s3_put *p)
{
	if (p->uploader != NULL)
		g_thread_join(p->uploader);
	if (p->fd >= 0)
		close(p->fd);
	if (p->fd_up >= 0)
		close(p->fd_up);
	g_free(p->job.etag);
	if (p->h != NULL)
		curl_easy_cleanup(p->h);
	EVP_MD_CTX_free(p->md);
	if (p->etags != NULL)
		g_ptr_array_free(p->etags, TRUE);
	g_free(p->upload_id);
	g_free(p->path);
	g_free(p->key);
	g_free(p);
}

static void *
s3_put_begin(void *be, const char *key, uint64_t size_hint, int *errp)
{
	struct s3_store *s = be;
	struct s3_put *p = g_new0(struct s3_put, 1);

	(void)size_hint;
	p->s = s;
	p->key = g_strdup(key);
	p->path = s3_object_path(s, key);
	p->etags = g_ptr_array_new_with_free_func(g_free);
	p->fd_up = -1;
	p->fd = s3_spool_open(s->spool_dir);
	if (p->fd < 0) {
		log_error("storage s3: put %s: spool file in %s: %s", key, s->spool_dir, g_strerror(errno));
		*errp = STORAGE_ETEMP;
		goto fail;
	}
	p->md = EVP_MD_CTX_new();
	if (p->md == NULL || EVP_DigestInit_ex(p->md, EVP_sha256(), NULL) != 1) {
		log_error("storage s3: put %s: SHA-256 init failed", key);
		*errp = STORAGE_ETEMP;
		goto fail;
	}
	p->h = s3_handle(key);
	if (p->h == NULL) {
		*errp = STORAGE_ETEMP;
		goto fail;
	}
	return p;
fail:
	s3_put_free(p);
	return NULL;
}

/* s3_put_digest - hex SHA-256 of the spooled bytes; restarts the digest */
static int
s3_put_digest(struct s3_put *p, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (EVP_DigestFinal_ex(p->md, md, &len) != 1 || len != 32 ||
		EVP_DigestInit_ex(p->md, EVP_sha256(), NULL) != 1) {
		log_error("storage s3: put %s: SHA-256 failed", p->key);
		return STORAGE_ETEMP;
	}
	s3_hex(md, len, hex);
	return STORAGE_OK;
}

static int
s3_put_initiate(struct s3_put *p)
{
	struct s3_req r;
	struct s3_xml x = { 0 };
	char *what = g_strdup_printf("initiate multipart upload of %s", p->key);
	int rc;

	/* "uploads=" with its '=': curl 7.88 signs the query as written */
	s3_req_init(&r, p->h, "POST", what, g_strconcat(p->path, "?uploads=", NULL));
	rc = s3_perform(p->s, &r);
	if (rc == STORAGE_OK) {
		if (s3_xml_parse(r.resp, &x) && x.upload_id != NULL && x.upload_id[0] != '\0') {
			p->upload_id = g_steal_pointer(&x.upload_id);
		} else {
			log_error("storage s3: %s: no UploadId in the answer", what);
			rc = STORAGE_ETEMP;
		}
	}
	s3_xml_clear(&x);
	s3_req_clear(&r);
	g_free(what);
	return rc;
}

static char *
s3_upload_query(const char *path, const char *upload_id, unsigned part)
{
	GString *q = g_string_new(path);

	/* sorted: partNumber < uploadId */
	if (part > 0)
		g_string_append_printf(q, "?partNumber=%u&uploadId=", part);
	else
		g_string_append(q, "?uploadId=");
	s3_qenc(q, upload_id);
	return g_string_free(q, FALSE);
}

/* s3_part_main - the uploader thread: send fd_up as part job.part */
static gpointer
s3_part_main(gpointer arg)
{
	struct s3_put *p = arg;
	struct s3_req r;
	char *what = g_strdup_printf("upload part %u of %s", p->job.part, p->key);

	s3_req_init(&r, p->h, "PUT", what, s3_upload_query(p->path, p->upload_id, p->job.part));
	r.sha256 = p->job.hex;
	r.body_fd = p->fd_up;
	r.body_len = p->job.len;
	p->job.rc = s3_perform(p->s, &r);
	if (p->job.rc == STORAGE_OK && (r.etag == NULL || r.etag[0] == '\0')) {
		log_error("storage s3: %s: no ETag in the answer", what);
		p->job.rc = STORAGE_ETEMP;
	}
	if (p->job.rc == STORAGE_OK)
		p->job.etag = g_steal_pointer(&r.etag);
	s3_req_clear(&r);
	g_free(what);
	return NULL;
}

/* s3_put_join - wait for the part in flight; its result */
static int
s3_put_join(struct s3_put *p)
{
	int rc = STORAGE_OK;

	if (p->uploader != NULL) {
		g_thread_join(p->uploader);
		p->uploader = NULL;
	}
	if (p->job_pending) {
		p->job_pending = false;
		rc = p->job.rc;
		if (rc == STORAGE_OK)
			g_ptr_array_add(p->etags, g_steal_pointer(&p->job.etag));
	}
	return rc;
}

/*
 * s3_put_flush - hand the spooled bytes to the uploader thread as the next
 * part and go on spooling into the other file; a failed part is reported by
 * the next flush or the commit. Two spool files of part_size at most.
 */
static int
s3_put_flush(struct s3_put *p)
{
	int rc, fd;

	rc = s3_put_join(p);
	if (rc != STORAGE_OK)
		return rc;
	if (p->upload_id == NULL) {
		rc = s3_put_initiate(p);
		if (rc != STORAGE_OK)
			return rc;
	}
	if (p->etags->len + 1 > S3_MAX_PARTS) {
		log_error("storage s3: put %s: more than %d parts: raise part_size", p->key, S3_MAX_PARTS);
		return STORAGE_EPERM;
	}
	if (p->fd_up < 0) {
		p->fd_up = s3_spool_open(p->s->spool_dir);
		if (p->fd_up < 0) {
			log_error("storage s3: put %s: spool file in %s: %s", p->key, p->s->spool_dir,
				g_strerror(errno));
			return STORAGE_ETEMP;
		}
	}
	rc = s3_put_digest(p, p->job.hex);
	if (rc != STORAGE_OK)
		return rc;
	p->job.part = p->etags->len + 1;
	p->job.len = p->spooled;
	p->job.rc = STORAGE_ETEMP;
	g_clear_pointer(&p->job.etag, g_free);
	fd = p->fd_up;
	p->fd_up = p->fd;
	p->fd = fd;
	p->spooled = 0;
	/* the file to spool into next held a part that has been sent (joined above) */
	if (ftruncate(p->fd, 0) != 0) {
		log_error("storage s3: put %s: truncate spool file: %s", p->key, g_strerror(errno));
		return STORAGE_ETEMP;
	}
	p->job_pending = true;
	p->uploader = g_thread_try_new("s3-part", s3_part_main, p, NULL);
	if (p->uploader == NULL)
		s3_part_main(p); /* no thread: send it now */
	return STORAGE_OK;
}

static int
s3_put_write(void *put, const void *buf, size_t len)
{
	struct s3_put *p = put;
	const char *b = buf;
	size_t done = 0;
	ssize_t n;
	int rc;

	/* a full part goes out only when more data follows: an object of
	 * exactly part_size bytes is still one PUT */
	if (p->spooled >= p->s->part_size) {
		rc = s3_put_flush(p);
		if (rc != STORAGE_OK)
			return rc;
	}
	while (done < len) {
		n = pwrite(p->fd, b + done, len - done, (off_t)(p->spooled + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("storage s3: put %s: write spool file in %s: %s", p->key, p->s->spool_dir,
				n < 0 ? g_strerror(errno) : "no progress");
			return STORAGE_ETEMP;
		}
		done += (size_t)n;
	}
	if (EVP_DigestUpdate(p->md, buf, len) != 1) {
		log_error("storage s3: put %s: SHA-256 update failed", p->key);
		return STORAGE_ETEMP;
	}
	p->spooled += len;
	return STORAGE_OK;
}

/* s3_put_abort_upload - best effort: drop the parts of an unfinished upload */
static void
s3_put_abort_upload(struct s3_put *p)
{
	struct s3_req r;
	char *what;
	int rc;

	(void)s3_put_join(p); /* the handle is ours again; a failed part was logged */
	if (p->upload_id == NULL)
		return;
	what = g_strdup_printf("abort multipart upload of %s", p->key);
	s3_req_init(&r, p->h, "DELETE", what, s3_upload_query(p->path, p->upload_id, 0));
	r.quiet = true;
	rc = s3_perform(p->s, &r);
	if (rc != STORAGE_OK && rc != STORAGE_ENOENT)
		log_warning("storage s3: %s; its parts stay until purge or a bucket lifecycle rule removes them",
			r.errmsg != NULL ? r.errmsg : storage_strerror(rc));
	s3_req_clear(&r);
	g_free(what);
	g_clear_pointer(&p->upload_id, g_free);
}

static int
s3_put_complete(struct s3_put *p)
{
	GString *xml = g_string_new("<CompleteMultipartUpload>");
	unsigned char md[32];
	char hex[65];
	struct s3_req r;
	struct s3_xml x = { 0 };
	char *what = g_strdup_printf("complete multipart upload of %s", p->key);
	guint i;
	int rc;

	for (i = 0; i < p->etags->len; i++) {
		char *e = g_markup_escape_text(g_ptr_array_index(p->etags, i), -1);

		g_string_append_printf(xml, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", i + 1, e);
		g_free(e);
	}
	g_string_append(xml, "</CompleteMultipartUpload>");
	if (EVP_Digest(xml->str, xml->len, md, NULL, EVP_sha256(), NULL) != 1) {
		log_error("storage s3: %s: SHA-256 failed", what);
		rc = STORAGE_ETEMP;
		goto out;
	}
	s3_hex(md, 32, hex);
	s3_req_init(&r, p->h, "POST", what, s3_upload_query(p->path, p->upload_id, 0));
	r.sha256 = hex;
	r.body_mem = xml->str;
	r.body_len = xml->len;
	rc = s3_perform(p->s, &r);
	/* S3 may answer 200 and still fail: the body is then an <Error> document */
	if (rc == STORAGE_OK && s3_xml_parse(r.resp, &x) && strcmp(x.root, "Error") == 0) {
		log_error("storage s3: %s: %s: %s", what, x.code ? x.code : "?", x.message ? x.message : "");
		rc = x.code != NULL && (strcmp(x.code, "InternalError") == 0 || strcmp(x.code, "SlowDown") == 0) ?
			STORAGE_ETEMP : STORAGE_EPERM;
	}
	s3_xml_clear(&x);
	s3_req_clear(&r);
out:
	g_string_free(xml, TRUE);
	g_free(what);
	return rc;
}

static int
s3_put_commit(void *put)
{
	struct s3_put *p = put;
	struct s3_req r;
	char hex[65];
	char *what = NULL;
	int rc;

	if (p->upload_id == NULL) {
		/* one PUT of the whole spooled object */
		rc = s3_put_digest(p, hex);
		if (rc != STORAGE_OK)
			goto out;
		what = g_strdup_printf("PUT %s", p->key);
		s3_req_init(&r, p->h, "PUT", what, g_strdup(p->path));
		r.sha256 = hex;
		r.body_fd = p->fd;
		r.body_len = p->spooled;
		rc = s3_perform(p->s, &r);
		s3_req_clear(&r);
		goto out;
	}
	rc = p->spooled > 0 ? s3_put_flush(p) : STORAGE_OK;
	if (rc == STORAGE_OK)
		rc = s3_put_join(p);
	if (rc == STORAGE_OK)
		rc = s3_put_complete(p);
	if (rc == STORAGE_OK)
		g_clear_pointer(&p->upload_id, g_free);
out:
	s3_put_abort_upload(p);
	g_free(what);
	s3_put_free(p);
	return rc;
}

static void
s3_put_abort(void *put)
{
	struct s3_put *p = put;

	s3_put_abort_upload(p);
	s3_put_free(p);
}

/* ---- get, stat, delete, list ---- */

static int
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

static int
s3_list(void *be, const char *prefix, storage_list_fn fn, void *arg)
{
	struct s3_store *s = be;
	char *full = g_strconcat(s->prefix, prefix, NULL);
	size_t plen = strlen(s->prefix);
	char *token = NULL, *what = g_strdup_printf("list %s", prefix[0] != '\0' ? prefix : "(all)");
	CURL *h = s3_handle(what);
	struct s3_req r;
	struct s3_xml x;
	guint i;
	int rc = STORAGE_OK;

	if (h == NULL) {
		rc = STORAGE_ETEMP;
		goto out;
	}
	do {
		s3_req_init(&r, h, "GET", what, s3_list_path(s, token, s->max_keys, full));
		rc = s3_perform(s, &r);
		g_clear_pointer(&token, g_free);
		if (rc != STORAGE_OK) {
			if (rc == STORAGE_ENOENT) {
				log_error("storage s3: %s: HTTP 404", what);
				rc = STORAGE_EPERM;
			}
			s3_req_clear(&r);
			break;
		}
		if (!s3_xml_parse(r.resp, &x) || strcmp(x.root, "ListBucketResult") != 0) {
			log_error("storage s3: %s: the answer is not a ListBucketResult", what);
			rc = STORAGE_ETEMP;
		} else if (x.truncated && (x.token == NULL || x.token[0] == '\0')) {
			log_error("storage s3: %s: truncated listing without NextContinuationToken", what);
			rc = STORAGE_ETEMP;
		}
		for (i = 0; rc == STORAGE_OK && i < x.entries->len; i++) {
			const struct s3_list_entry *e = &g_array_index(x.entries, struct s3_list_entry, i);

			/* foreign objects in a shared bucket are not ours to show */
			if (strncmp(e->key, s->prefix, plen) != 0 || !storage_key_valid(e->key + plen))
				continue;
			if (fn(arg, e->key + plen, e->size, e->mtime) != 0)
				rc = STORAGE_ESTOP;
		}
		if (rc == STORAGE_OK && x.truncated)
			token = g_steal_pointer(&x.token);
		s3_xml_clear(&x);
		s3_req_clear(&r);
	} while (rc == STORAGE_OK && token != NULL);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	g_free(token);
	g_free(what);
	g_free(full);
	return rc;
}

/* s3_uploads_path - ListMultipartUploads, the query canonical (sorted by name:
 * key-marker < max-uploads < prefix < upload-id-marker < uploads) */
static char *
s3_uploads_path(const struct s3_store *s, const char *key_marker, const char *id_marker,
	const char *prefix)
{
	GString *q = g_string_new(s->bucket_path[0] != '\0' ? s->bucket_path : "/");

	g_string_append_c(q, '?');
	if (key_marker != NULL) {
		g_string_append(q, "key-marker=");
		s3_qenc(q, key_marker);
		g_string_append_c(q, '&');
	}
	g_string_append_printf(q, "max-uploads=%ld", s->max_keys);
	if (prefix[0] != '\0') {
		g_string_append(q, "&prefix=");
		s3_qenc(q, prefix);
	}
	if (key_marker != NULL && id_marker != NULL) {
		g_string_append(q, "&upload-id-marker=");
		s3_qenc(q, id_marker);
	}
	/* "uploads=" with its '=': curl 7.88 signs the query as written */
	g_string_append(q, "&uploads=");
	return g_string_free(q, FALSE);
}

/* s3_abort_one - AbortMultipartUpload; ENOENT (NoSuchUpload: done by
 * someone else meanwhile) is OK */
static int
s3_abort_one(const struct s3_store *s, CURL *h, const char *key, const char *upload_id)
{
	char *path = s3_object_path(s, key);
	char *what = g_strdup_printf("abort stale multipart upload of %s", key);
	struct s3_req r;
	int rc;

	s3_req_init(&r, h, "DELETE", what, s3_upload_query(path, upload_id, 0));
	rc = s3_perform(s, &r);
	s3_req_clear(&r);
	g_free(what);
	g_free(path);
	return rc == STORAGE_ENOENT ? STORAGE_OK : rc;
}

/*
 * s3_abort_stale - ListMultipartUploads below the prefix, page by page
 * (key-marker/upload-id-marker; when a server leaves NextKeyMarker empty on
 * a truncated page, as Swift s3api does for one-entry pages, the last entry
 * is the marker), and AbortMultipartUpload for each upload of a valid key
 * initiated before `before`. Uploads of foreign keys in a shared bucket are
 * left alone. Aborting while paging is safe: the markers are positions.
 */
static int
s3_abort_stale(void *be, int64_t before, bool dry, storage_stale_fn fn, void *arg)
{
	struct s3_store *s = be;
	size_t plen = strlen(s->prefix);
	char *key_marker = NULL, *id_marker = NULL;
	CURL *h = s3_handle("list multipart uploads");
	struct s3_req r;
	struct s3_xml x;
	guint i;
	int n = 0, pages = 0, rc = STORAGE_OK, failed = STORAGE_OK;
	bool more;

	if (h == NULL)
		return STORAGE_ETEMP;
	for (;;) {
		s3_req_init(&r, h, "GET", "list multipart uploads",
			s3_uploads_path(s, key_marker, id_marker, s->prefix));
		rc = s3_perform(s, &r);
		if (rc != STORAGE_OK) {
			if (rc == STORAGE_ENOENT) {
				log_error("storage s3: list multipart uploads: HTTP 404 (no such bucket)");
				rc = STORAGE_EPERM;
			}
			s3_req_clear(&r);
			break;
		}
		if (!s3_xml_parse(r.resp, &x) || strcmp(x.root, "ListMultipartUploadsResult") != 0) {
			log_error("storage s3: list multipart uploads: the answer is not a "
				"ListMultipartUploadsResult");
			rc = STORAGE_ETEMP;
			s3_xml_clear(&x);
			s3_req_clear(&r);
			break;
		}
		for (i = 0; i < x.entries->len; i++) {
			const struct s3_list_entry *e = &g_array_index(x.entries, struct s3_list_entry, i);
			int arc;

			if (e->upload_id == NULL || strncmp(e->key, s->prefix, plen) != 0 ||
			    !storage_key_valid(e->key + plen) || e->mtime <= 0 || e->mtime >= before)
				continue;
			arc = dry ? STORAGE_OK : s3_abort_one(s, h, e->key + plen, e->upload_id);
			if (arc != STORAGE_OK) {
				failed = failed == STORAGE_OK || arc == STORAGE_ETEMP ? arc : failed;
				continue;
			}
			n++;
			if (fn != NULL)
				fn(arg, e->key + plen, -1, e->mtime);
		}
		more = x.truncated && x.entries->len > 0;
		if (more) {
			const struct s3_list_entry *last =
				&g_array_index(x.entries, struct s3_list_entry, x.entries->len - 1);
			char *km = x.next_key_marker != NULL && x.next_key_marker[0] != '\0' ?
				g_strdup(x.next_key_marker) : g_strdup(last->key);
			char *im = x.next_upload_id_marker != NULL && x.next_upload_id_marker[0] != '\0' ?
				g_strdup(x.next_upload_id_marker) : g_strdup(last->upload_id);

			if (key_marker != NULL && strcmp(km, key_marker) == 0 && id_marker != NULL &&
			    im != NULL && strcmp(im, id_marker) == 0) {
				log_error("storage s3: list multipart uploads: the listing does not advance");
				rc = STORAGE_ETEMP;
			}
			g_free(key_marker);
			g_free(id_marker);
			key_marker = km;
			id_marker = im;
		}
		s3_xml_clear(&x);
		s3_req_clear(&r);
		/* a bound against a server that never stops paging */
		if (rc != STORAGE_OK || !more || ++pages > 1000000)
			break;
	}
	g_free(key_marker);
	g_free(id_marker);
	curl_easy_cleanup(h);
	if (rc != STORAGE_OK)
		return rc;
	return failed != STORAGE_OK ? failed : n;
}

const struct storage_ops storage_s3_ops = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.put_begin = s3_put_begin,
	.put_write = s3_put_write,
	.put_commit = s3_put_commit,
	.put_abort = s3_put_abort,
	.get = s3_get,
	.stat = s3_stat,
	.del = s3_del,
	.list = s3_list,
	.abort_stale = s3_abort_stale,
};
