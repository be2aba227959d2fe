/*
 * storage_backend.h - private: what a storage backend implements (the
 * OpenSMTPD X_backend.c + X_<impl>.c pattern). storage.c looks a backend up
 * by name, validates keys and prefixes, and forwards to these functions, so
 * a backend only ever sees valid keys ([a-z0-9] segments joined by single
 * '/', at most STORAGE_KEY_MAX bytes).
 *
 * Memory: open() returns the backend's own state (freed by close()).
 * put_begin() returns per-put state, owned by the caller until put_commit()
 * or put_abort(), which free it in all cases.
 *
 * Threads: every function except the put_* ones may be called on the same
 * backend state from many threads at once; a put's state is used by one
 * thread. Backends classify errors (ETEMP/EPERM/ENOENT), log them once where
 * detected, and return STORAGE_ESTOP when a sink or list callback stops.
 */
#ifndef OFFLOAD_STORAGE_BACKEND_H
#define OFFLOAD_STORAGE_BACKEND_H

#include <stdbool.h>

#include "storage.h"

#define STORAGE_KEY_MAX 200
/* get() hands the sink at most this many bytes at a time; the file backend
 * up to STORAGE_FILE_CHUNK (one pread each) */
#define STORAGE_CHUNK (64 * 1024)
#define STORAGE_FILE_CHUNK (1024 * 1024)

struct storage_ops {
	const char *name;
	/* open - NULL with *err set (domain STORAGE_ERROR) on failure */
	void *(*open)(const struct conf *conf, GError **err);
	void (*close)(void *be);
	void *(*put_begin)(void *be, const char *key, uint64_t size_hint, int *errp);
	int (*put_write)(void *put, const void *buf, size_t len);
	int (*put_commit)(void *put);
	void (*put_abort)(void *put);
	/* optional: put_commit only if the key is absent, else STORAGE_EEXIST
	 * (and the put is freed); NULL = the dispatcher stats first (not atomic) */
	int (*put_commit_new)(void *put);
	/* optional: whether put_commit_new is atomic now (NULL = it is when set) */
	bool (*create_atomic)(void *be);
	int (*get)(void *be, const char *key, uint64_t offset, uint64_t length,
		storage_sink_fn sink, void *arg);
	int (*stat)(void *be, const char *key, uint64_t *size, int64_t *mtime);
	int (*del)(void *be, const char *key);
	int (*list)(void *be, const char *prefix, storage_list_fn fn, void *arg);
	/* optional (NULL = nothing to do, 0): see storage_abort_stale(), storage_prune() */
	int (*abort_stale)(void *be, int64_t before, bool dry, storage_stale_fn fn, void *arg);
	int (*prune)(void *be, const char *id);
	/* optional (all or none): resumable multipart objects (storage.h) */
	int (*mpu_spool)(void *be);
	int (*mpu_begin)(void *be, const char *key, char **upload_id);
	int (*mpu_part)(void *be, const char *key, const char *upload_id, unsigned part, int fd,
		uint64_t len, char **etag);
	int (*mpu_complete)(void *be, const char *key, const char *upload_id,
		const char *const *etags, unsigned n);
	int (*mpu_abort)(void *be, const char *key, const char *upload_id);
};

extern const struct storage_ops storage_file_ops;
extern const struct storage_ops storage_memory_ops;
extern const struct storage_ops storage_s3_ops;
extern const struct storage_ops storage_webdav_ops;

/* storage_key_valid - [a-z0-9]+ segments joined by single '/', <= STORAGE_KEY_MAX */
bool storage_key_valid(const char *key);
/* storage_prefix_valid - "" or the start of a valid key (may end in '/') */
bool storage_prefix_valid(const char *prefix);
/* storage_range - clamp [offset, offset+length) to an object of size bytes;
 * false if nothing is left to send */
bool storage_range(uint64_t size, uint64_t offset, uint64_t length, uint64_t *end);

/* failure detail (storage.h; storage_detail.c), filled where a backend detects
 * a failure. storage_detail_begin - the curl handle of the request about to
 * run on this thread (the socket's errno is read from it on failure; NULL
 * ok). storage_detail_fail - note a failure; curl_code/os_errno/http_status 0
 * and s3_code NULL when not known. storage_detail_header - a curl
 * CURLOPT_HEADERFUNCTION (or a call from one) noting Date and ownCloud headers. */
void storage_detail_begin(void *curl);
void storage_detail_fail(const char *op, int curl_code, int os_errno, long http_status,
	const char *s3_code, const char *text);
size_t storage_detail_header(char *buf, size_t size, size_t n, void *unused);
/* shared by the remote backends (storage_remote.c). storage_curl_init_once -
 * curl_global_init() exactly once; CURLE_OK or its error. storage_spool_open
 * - an unnamed 0600 temp file in dir for a put body; -1 with errno.
 * storage_host_loopback - the URL host is 127.0.0.1, localhost or [::1]. */
int storage_curl_init_once(void);
int storage_spool_open(const char *dir);
bool storage_host_loopback(const char *host);
/* s3_abort_stale_keep - storage_abort_stale_keep of the s3 backend */
int s3_abort_stale_keep(void *be, int64_t before, bool dry, storage_stale_keep_fn keep,
	void *keep_arg, storage_stale_fn fn, void *arg);
/* storage_s3_versioning - GET ?versioning of the bucket (storage_versioning) */
int storage_s3_versioning(void *be, char **status);

#endif
