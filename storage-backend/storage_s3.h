/*
 * storage_s3.h - private to the s3 backend (storage_s3*.c): the store's
 * configuration (storage_s3.c), one HTTP exchange (struct s3_req) with
 * SigV4, retries and error classification, and the small XML reader for
 * S3's answers (storage_s3_http.c), the put stream (storage_s3_put.c),
 * listing and abort_stale (storage_s3_list.c).
 * Memory and threads: see storage_s3.c; a struct s3_req and its curl handle
 * belong to one thread.
 */
#ifndef OFFLOAD_STORAGE_S3_H
#define OFFLOAD_STORAGE_S3_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "storage_backend.h"

#define S3_PART_DEFAULT (16ULL << 20)
#define S3_PART_MIN (5ULL << 20)
#define S3_MAX_PARTS 10000
#define S3_INFLIGHT 3   /* multipart parts on their way up at once, each in its own thread */
#define S3_ATTEMPTS 5
#define S3_BACKOFF_MS 200
#define S3_BACKOFF_MAX_MS 5000
#define S3_RESP_MAX (4 << 20)  /* XML responses (list pages, errors) */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_store {
	char *base;         /* scheme://host[:port][/path], bucket host for virtual style */
	char *bucket_path;  /* "/bucket" (path style) or "" (virtual) */
	char *bucket;
	char *prefix;       /* "" or ends in '/' */
	char *sigv4;        /* "aws:amz:REGION:s3" */
	char *access_key;
	char *secret_key;
	char *ca_file;      /* NULL = system CAs */
	char *spool_dir;
	uint64_t part_size;
	long max_keys;
	long attempts;
	curl_off_t max_send_speed;
	gint no_conditional; /* atomic: the server refused If-None-Match: * (501) */
};

/* one HTTP exchange; s3_perform() fills the response half */
struct s3_req {
	CURL *h;
	const char *method;      /* GET HEAD PUT POST DELETE */
	const char *what;        /* for messages: "PUT abc/m" */
	char *path;              /* path and canonical query (owned) */
	const char *sha256;      /* payload hash, hex */
	int body_fd;             /* PUT body from [0, body_len) of this file, or -1 */
	const char *body_mem;    /* POST/PUT body from memory (body_fd < 0) */
	uint64_t body_len, body_pos;
	bool quiet;              /* do not log the final failure (open reports it) */
	bool if_none_match;      /* create-if-absent: If-None-Match: *, 412 -> STORAGE_EEXIST */
	/* GET into a sink */
	storage_sink_fn sink;
	void *arg;
	uint64_t offset, length; /* requested range (length STORAGE_TO_END = open) */
	bool ranged;             /* this attempt sent a Range header */
	uint64_t skip, left;     /* server ignored Range (200): bytes to drop / to pass */
	uint64_t delivered;
	bool stopped;
	/* response */
	long status;
	GString *resp;           /* non-2xx bodies and XML answers, capped */
	bool resp_overflow;
	char *etag;
	uint64_t clen;
	int64_t mtime;
	char *errmsg;            /* the final failure, for quiet callers */
};

/* a ListObjectsV2 <Contents> or a ListMultipartUploads <Upload> (mtime = Initiated) */
struct s3_list_entry {
	char *key;
	uint64_t size;
	int64_t mtime;
	char *upload_id;
};

struct s3_xml {
	GPtrArray *stack;   /* element names */
	char *root;
	char *code, *message, *upload_id, *token;
	char *next_key_marker, *next_upload_id_marker; /* ListMultipartUploads */
	bool truncated;
	GArray *entries;    /* struct s3_list_entry */
	struct s3_list_entry cur;
};

bool s3_unreserved(unsigned char c);
/* s3_qenc - append v SigV4-URI-encoded (all but unreserved, upper-case hex) */
void s3_qenc(GString *out, const char *v);
void s3_hex(const unsigned char *md, unsigned len, char *out);
/* s3_xml_parse - false if not well-formed; s3_xml_clear() in all cases */
bool s3_xml_parse(const GString *text, struct s3_xml *x);
void s3_xml_clear(struct s3_xml *x);
/* s3_req_init - a bodiless request on handle h; takes path (and query) */
void s3_req_init(struct s3_req *r, CURL *h, const char *method, const char *what, char *path);
void s3_req_clear(struct s3_req *r);
/* s3_perform - run r with retries; logs the final failure unless r->quiet */
int s3_perform(const struct s3_store *s, struct s3_req *r);
/* s3_handle - a new curl handle, logged NULL on failure */
CURL *s3_handle(const char *what);

/* storage_s3.c: s3_head - HEAD of key on handle h (size, Last-Modified) */
int s3_head(struct s3_store *s, CURL *h, const char *key, uint64_t *size, int64_t *mtime);
/* storage_s3.c: s3_object_path - [/bucket]/[prefix]key (keys and prefix need no escaping) */
char *s3_object_path(const struct s3_store *s, const char *key);

/* storage_s3_put.c: the put stream */
/* s3_upload_query - path?[partNumber=part&]uploadId=upload_id (part 0: none) */
char *s3_upload_query(const char *path, const char *upload_id, unsigned part);
void *s3_put_begin(void *be, const char *key, uint64_t size_hint, int *errp);
int s3_put_write(void *put, const void *buf, size_t len);
int s3_put_commit(void *put);
int s3_put_commit_new(void *put);
/* s3_create_atomic - false once the server refused a conditional PUT */
bool s3_create_atomic(void *be);
/* s3_classify's answer to a conditional PUT the server does not implement */
#define S3_ENOCOND (-100)
void s3_put_abort(void *put);

/* storage_s3_list.c: listing and abort_stale */
/* s3_list_path - ListObjectsV2 of the bucket below prefix, the query canonical */
char *s3_list_path(const struct s3_store *s, const char *token, long max_keys, const char *prefix);
int s3_list(void *be, const char *prefix, storage_list_fn fn, void *arg);
int s3_abort_stale(void *be, int64_t before, bool dry, storage_stale_fn fn, void *arg);

/* storage_s3_mpu.c: resumable multipart objects (storage.h storage_mpu_*) */
int s3_mpu_spool(void *be);
int s3_mpu_begin(void *be, const char *key, char **upload_id);
int s3_mpu_part(void *be, const char *key, const char *upload_id, unsigned part, int fd,
	uint64_t len, char **etag);
int s3_mpu_complete(void *be, const char *key, const char *upload_id, const char *const *etags,
	unsigned n);
int s3_mpu_abort(void *be, const char *key, const char *upload_id);

#endif
