/*
 * storage.h - the object store interface (DECISIONS.md §7). One small API,
 * backends behind a struct of function pointers (storage_backend.h),
 * looked up by the [storage] backend name.
 *
 * Keys are '/'-separated ASCII paths made only of [a-z0-9] segments and '/',
 * e.g. "<transfer id>/m", "<transfer id>/0". They reveal nothing (random ids).
 *
 * A put is a stream with commit/abort: until commit returns 0, no reader,
 * lister or deleter can see the object, and after abort (or a crash) it
 * never becomes visible. Commit is durable (file: fsync + rename + dir fsync).
 *
 * Errors: STORAGE_ETEMP (retry later: I/O, network, full disk, 5xx),
 * STORAGE_EPERM (permanent: permissions, credentials, bad config),
 * STORAGE_ENOENT (no such object). The function that detects an error logs
 * it once with the system/library text; callers pass the code up.
 *
 * Thread safety: a struct storage may be shared by threads; a struct
 * storage_put belongs to one thread.
 */
#ifndef OFFLOAD_STORAGE_H
#define OFFLOAD_STORAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "conf.h"

enum storage_err {
	STORAGE_OK = 0,
	STORAGE_ETEMP = -1,
	STORAGE_EPERM = -2,
	STORAGE_ENOENT = -3,
	STORAGE_ESTOP = -4, /* a sink/list callback asked to stop */
	STORAGE_EEXIST = -5, /* create-if-absent: the object exists already */
};

#define STORAGE_TO_END UINT64_MAX

struct storage;
struct storage_put;

/* GError domain of storage_open(); the code is STORAGE_ETEMP or STORAGE_EPERM */
#define STORAGE_ERROR storage_error_quark()
GQuark storage_error_quark(void);

/* storage_open - the backend named by conf->backend; NULL with *err (which
 * says whether it is temporary) on failure */
struct storage *storage_open(const struct conf *conf, GError **err);
void storage_free(struct storage *st); /* NULL ok */
const char *storage_backend_name(const struct storage *st);

/* storage_put_begin - NULL on error with *errp set; size_hint may be 0 */
struct storage_put *storage_put_begin(struct storage *st, const char *key,
	uint64_t size_hint, int *errp);
int storage_put_write(struct storage_put *p, const void *buf, size_t len);
/* storage_put_commit - makes the object visible; frees p in all cases */
int storage_put_commit(struct storage_put *p);
/* storage_put_abort - discards everything written; frees p; NULL ok */
void storage_put_abort(struct storage_put *p);
/* storage_put_commit_new - as storage_put_commit, but only if no object of
 * the key exists: STORAGE_EEXIST (and nothing changed) if one does. Atomic
 * where the backend has create-if-absent (file: link(2), which fails with
 * EEXIST; memory: under its mutex; S3 and WebDAV: a PUT with If-None-Match: *,
 * 412 = exists). storage_create_exclusive_atomic() says whether it is; where
 * it is not, two writers at once may both succeed (a rare duplicate). Frees p. */
int storage_put_commit_new(struct storage_put *p);
/* storage_put_buffer - buf[0..len) as key (replacing it) in one put */
int storage_put_buffer(struct storage *st, const char *key, const void *buf, size_t len);
/* storage_create - put buf as key if no object of that key exists (above) */
int storage_create(struct storage *st, const char *key, const void *buf, size_t len);
bool storage_create_exclusive_atomic(const struct storage *st);

/* sink: return 0 to continue, nonzero to stop (storage_get -> STORAGE_ESTOP) */
typedef int (*storage_sink_fn)(void *arg, const void *buf, size_t len);
/* storage_get - stream bytes [offset, offset+length) of an object into sink;
 * length STORAGE_TO_END = to the end */
int storage_get(struct storage *st, const char *key, uint64_t offset,
	uint64_t length, storage_sink_fn sink, void *arg);
int storage_stat(struct storage *st, const char *key, uint64_t *size, int64_t *mtime);
int storage_delete(struct storage *st, const char *key);

/* list: return 0 to continue, nonzero to stop */
typedef int (*storage_list_fn)(void *arg, const char *key, uint64_t size, int64_t mtime);
/* storage_list - every committed object whose key starts with prefix
 * ("" = all), in no particular order */
int storage_list(struct storage *st, const char *prefix, storage_list_fn fn, void *arg);

/*
 * Maintenance for `offloadctl purge` (DECISIONS.md §13).
 *
 * stale: called for each leftover of a put that never finished; key is the
 * object it was for, or a key prefix ending in '/' for a container (a WebDAV
 * collection holding only hidden temporaries); size = bytes it held (-1 =
 * unknown: S3 multipart uploads, WebDAV collections); started = when it
 * began (unix time, 0 = unknown).
 */
typedef void (*storage_stale_fn)(void *arg, const char *key, int64_t size, int64_t started);
/* storage_abort_stale - remove what puts that never committed or aborted (a
 * crashed writer) left behind, if they started before `before`: S3 multipart
 * uploads (ListMultipartUploads + AbortMultipartUpload), the file backend's
 * hidden temp files, WebDAV hidden temps and collections with nothing but
 * them. `before` must lie further back than the longest upload. dry: report
 * only. fn (NULL ok) sees each one removed (or, dry, found). Returns how many
 * (>= 0), or an error after doing what it could; backends with nothing of the
 * kind (memory) return 0. */
int storage_abort_stale(struct storage *st, int64_t before, bool dry, storage_stale_fn fn,
	void *arg);
/* storage_abort_stale_keep - the same, but an S3 multipart upload of a key
 * for which keep returns true stays however old it is (purge: a reply upload
 * whose upload state is younger than orphan_age is still going on; its file
 * is a multipart upload begun when the file was created). Other backends'
 * leftovers are crashed puts and ignore keep. */
typedef bool (*storage_stale_keep_fn)(void *arg, const char *key);
int storage_abort_stale_keep(struct storage *st, int64_t before, bool dry,
	storage_stale_keep_fn keep, void *keep_arg, storage_stale_fn fn, void *arg);
/* storage_prune - remove the containers (directories, collections) that key
 * prefix id ("<transfer id>", one segment) leaves empty, and its shard
 * container if that is now empty and can be removed without racing a put of
 * another id. The caller guarantees that no put below id runs or will start
 * (a transfer purge deleted). 0 when done or nothing to do (s3, memory:
 * no containers), or an error. */
int storage_prune(struct storage *st, const char *id);

/*
 * Resumable multipart objects (upload daemon, issue 13; S3 only): one object
 * made of parts sent over many requests, maybe by different processes; the
 * caller keeps the upload id and the parts' ETags between the calls (in the
 * store: FORMATS.md §6.6). Nothing is visible before complete; abort (or
 * purge's storage_abort_stale, for an upload left behind) drops the parts.
 * Every part but the last has at least STORAGE_MPU_MIN_PART bytes.
 * storage_mpu_supported - the backend has them (else the caller keeps part
 * objects and joins them itself). storage_mpu_spool - an unnamed 0600 spool
 * file (O_TMPFILE) in the backend's spool directory, -1 on error (logged).
 * storage_mpu_part - part number part (1..10000) from bytes [0, len) of fd;
 * sending the same number again replaces it. *etag (g_free) on success.
 * storage_mpu_complete - the object from parts 1..n with these ETags;
 * STORAGE_ENOENT when the upload is no more (completed or aborted). All
 * return STORAGE_EPERM when the backend has no multipart objects.
 */
#define STORAGE_MPU_MIN_PART (5ULL << 20)
bool storage_mpu_supported(const struct storage *st);
int storage_mpu_spool(struct storage *st);
int storage_mpu_begin(struct storage *st, const char *key, char **upload_id);
int storage_mpu_part(struct storage *st, const char *key, const char *upload_id, unsigned part,
	int fd, uint64_t len, char **etag);
int storage_mpu_complete(struct storage *st, const char *key, const char *upload_id,
	const char *const *etags, unsigned n);
int storage_mpu_abort(struct storage *st, const char *key, const char *upload_id);

const char *storage_strerror(int err);

/*
 * Failure detail for diagnosis (`offloadctl storage check`): the backends
 * note what the last failed request on this thread ran into (thread-local,
 * like errno; a retried request notes its last attempt) and the Date header
 * of the last HTTP answer, failed or not. Never holds credentials.
 */
enum storage_cause {
	STORAGE_CAUSE_NONE = 0,
	STORAGE_CAUSE_DNS,        /* the host name does not resolve */
	STORAGE_CAUSE_REFUSED,    /* connection refused */
	STORAGE_CAUSE_CONNECT,    /* other network failure: unreachable, reset, no answer */
	STORAGE_CAUSE_TIMEOUT,    /* connect or transfer timed out */
	STORAGE_CAUSE_TLS_CERT,   /* certificate not trusted or not for this host */
	STORAGE_CAUSE_TLS,        /* TLS handshake/protocol (e.g. https to a plain http port) */
	STORAGE_CAUSE_AUTH,       /* credentials rejected: 401, unknown key, bad signature */
	STORAGE_CAUSE_DENIED,     /* authenticated but not allowed: 403, 405, EACCES, EROFS */
	STORAGE_CAUSE_NO_BUCKET,  /* bucket or base collection/directory missing */
	STORAGE_CAUSE_SKEW,       /* the server rejects our clock (RequestTimeTooSkewed) */
	STORAGE_CAUSE_SPACE,      /* storage full or quota exceeded */
	STORAGE_CAUSE_SERVER,     /* the server failed (5xx) */
	STORAGE_CAUSE_OTHER,
};

struct storage_detail {
	bool failed;          /* the fields below describe a failure */
	char op[48];          /* what failed: "PUT", "MKCOL", "create", ... */
	int curl_code;        /* CURLcode, 0 = none */
	int os_errno;         /* errno of the system call or socket, 0 = none */
	long http_status;     /* 0 = no HTTP answer */
	char s3_code[64];     /* S3 error <Code>, "" = none */
	char text[320];       /* the backend's message */
	int64_t server_date;  /* Date of the last HTTP answer (unix s), 0 = none seen */
	int64_t local_date;   /* our clock when that answer arrived */
	bool dav_owncloud;    /* an answer carried ownCloud/Nextcloud headers (OC-*, X-NC-*) */
};

/* storage_detail_clear - forget this thread's detail; storage_detail_get - a copy of it */
void storage_detail_clear(void);
void storage_detail_get(struct storage_detail *out);
/* storage_detail_cause - what a failure detail means */
enum storage_cause storage_detail_cause(const struct storage_detail *d);
/* storage_cause_name - short stable name ("dns", "auth", ...) for JSON and tests */
const char *storage_cause_name(enum storage_cause c);

/* storage_versioning - the S3 bucket's versioning state into *status (g_free):
 * "Enabled", "Suspended" or "" (never enabled); *status NULL and STORAGE_OK
 * for backends without versioning. On error the detail says why. */
int storage_versioning(struct storage *st, char **status);

#endif
