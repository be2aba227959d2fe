/*
 * storage_s3_mpu.c - resumable multipart objects of the s3 backend
 * (storage.h storage_mpu_*): CreateMultipartUpload, UploadPart from a spool
 * file, CompleteMultipartUpload with the caller's ETags, AbortMultipartUpload.
 * Unlike a put (storage_s3_put.c) nothing lives in the process between the
 * calls: the caller keeps the upload id and the ETags (the upload daemon in
 * its sealed upload state, FORMATS.md §6.6), so another process continues.
 *
 * Memory: each call owns what it allocates; the returned id and ETag are the
 * caller's (g_free). Threads: every call uses its own curl handle.
 */
#include "storage_s3.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"

/* mpu_query - the object's path with ?[partNumber&]uploadId (owned) */
static char *
mpu_query(const struct s3_store *s, const char *key, const char *upload_id, unsigned part)
{
	char *path = s3_object_path(s, key), *q = s3_upload_query(path, upload_id, part);

	g_free(path);
	return q;
}

int
s3_mpu_begin(void *be, const char *key, char **upload_id)
{
	struct s3_store *s = be;
	struct s3_req r;
	struct s3_xml x = { 0 };
	CURL *h = s3_handle(key);
	char *what = g_strdup_printf("initiate multipart upload of %s", key), *path;
	int rc = STORAGE_ETEMP;

	*upload_id = NULL;
	if (h == NULL)
		goto out;
	/* "uploads=" with its '=': curl 7.88 signs the query as written */
	path = s3_object_path(s, key);
	s3_req_init(&r, h, "POST", what, g_strconcat(path, "?uploads=", NULL));
	g_free(path);
	rc = s3_perform(s, &r);
	if (rc == STORAGE_OK) {
		if (s3_xml_parse(r.resp, &x) && x.upload_id != NULL && x.upload_id[0] != '\0') {
			*upload_id = g_steal_pointer(&x.upload_id);
		} else {
			log_error("storage s3: %s: no UploadId in the answer", what);
			rc = STORAGE_ETEMP;
		}
	}
	s3_xml_clear(&x);
	s3_req_clear(&r);
	curl_easy_cleanup(h);
out:
	g_free(what);
	return rc;
}

/* fd_sha256 - hex SHA-256 of [0, len) of fd */
static int
fd_sha256(int fd, uint64_t len, char hex[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char buf[65536], d[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	uint64_t pos = 0;
	int rc = STORAGE_ETEMP;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while (pos < len) {
		ssize_t n = pread(fd, buf, (size_t)MIN((uint64_t)sizeof buf, len - pos), (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			log_error("storage s3: part spool file: %s", n < 0 ? g_strerror(errno) : "short");
			goto out;
		}
		pos += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(md, d, &dlen) == 1 && dlen == 32) {
		s3_hex(d, dlen, hex);
		rc = STORAGE_OK;
	}
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
s3_mpu_part(void *be, const char *key, const char *upload_id, unsigned part, int fd,
	uint64_t len, char **etag)
{
	struct s3_store *s = be;
	struct s3_req r;
	char hex[65], *what;
	CURL *h;
	int rc;

	*etag = NULL;
	if (part < 1 || part > S3_MAX_PARTS) {
		log_error("storage s3: %s: part %u out of range", key, part);
		return STORAGE_EPERM;
	}
	rc = fd_sha256(fd, len, hex);
	if (rc != STORAGE_OK || (h = s3_handle(key)) == NULL)
		return STORAGE_ETEMP;
	what = g_strdup_printf("upload part %u of %s", part, key);
	s3_req_init(&r, h, "PUT", what, mpu_query(s, key, upload_id, part));
	r.sha256 = hex;
	r.body_fd = fd;
	r.body_len = len;
	rc = s3_perform(s, &r);
	if (rc == STORAGE_OK && (r.etag == NULL || r.etag[0] == '\0')) {
		log_error("storage s3: %s: no ETag in the answer", what);
		rc = STORAGE_ETEMP;
	}
	if (rc == STORAGE_OK)
		*etag = g_steal_pointer(&r.etag);
	s3_req_clear(&r);
	curl_easy_cleanup(h);
	g_free(what);
	return rc;
}

int
s3_mpu_complete(void *be, const char *key, const char *upload_id, const char *const *etags,
	unsigned n)
{
	struct s3_store *s = be;
	GString *xml = g_string_new("<CompleteMultipartUpload>");
	unsigned char md[32];
	char hex[65], *what = g_strdup_printf("complete multipart upload of %s", key);
	struct s3_req r;
	struct s3_xml x = { 0 };
	CURL *h = NULL;
	int rc = STORAGE_ETEMP;

	for (unsigned i = 0; i < n; i++) {
		char *e = g_markup_escape_text(etags[i], -1);

		g_string_append_printf(xml, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", i + 1, e);
		g_free(e);
	}
	g_string_append(xml, "</CompleteMultipartUpload>");
	if (EVP_Digest(xml->str, xml->len, md, NULL, EVP_sha256(), NULL) != 1 ||
	    (h = s3_handle(key)) == NULL)
		goto out;
	s3_hex(md, 32, hex);
	s3_req_init(&r, h, "POST", what, mpu_query(s, key, upload_id, 0));
	r.sha256 = hex;
	r.body_mem = xml->str;
	r.body_len = xml->len;
	rc = s3_perform(s, &r);
	/* S3 may answer 200 and still fail: the body is then an <Error> document */
	if (rc == STORAGE_OK && s3_xml_parse(r.resp, &x) && strcmp(x.root, "Error") == 0) {
		log_error("storage s3: %s: %s: %s", what, x.code ? x.code : "?", x.message ? x.message : "");
		rc = x.code != NULL && (strcmp(x.code, "InternalError") == 0 || strcmp(x.code, "SlowDown") == 0) ?
			STORAGE_ETEMP : STORAGE_EPERM;
	}
	s3_xml_clear(&x);
	s3_req_clear(&r);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	g_string_free(xml, TRUE);
	g_free(what);
	return rc;
}

int
s3_mpu_abort(void *be, const char *key, const char *upload_id)
{
	struct s3_store *s = be;
	struct s3_req r;
	CURL *h = s3_handle(key);
	char *what = g_strdup_printf("abort multipart upload of %s", key);
	int rc = STORAGE_ETEMP;

	if (h != NULL) {
		s3_req_init(&r, h, "DELETE", what, mpu_query(s, key, upload_id, 0));
		r.quiet = true;
		rc = s3_perform(s, &r);
		s3_req_clear(&r);
		curl_easy_cleanup(h);
	}
	g_free(what);
	return rc;
}

int
s3_mpu_spool(void *be)
{
	struct s3_store *s = be;
	int fd = storage_spool_open(s->spool_dir);

	if (fd < 0)
		log_error("storage s3: spool file in %s: %s", s->spool_dir, g_strerror(errno));
	return fd;
}
