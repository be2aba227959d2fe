/*
 * storage_s3_put.c - the s3 backend's put stream: the body spools to an
 * unlinked temp file while its SHA-256 is computed; an object up to
 * part_size goes up as one PUT at commit, a larger one as a multipart
 * upload whose parts (part_size each, the last may be smaller) go up from
 * S3_INFLIGHT slots, each an uploader thread with its own curl handle (its
 * connection kept across parts) and spool file, while the caller spools the
 * next part; Complete at commit, Abort on failure. Several parts in flight
 * hide the per-part latency of the server (hashing, writing and syncing
 * each part) behind each other. Nothing is visible before commit, memory
 * stays flat (disk: S3_INFLIGHT + 1 parts), every length is known.
 *
 * Memory: struct s3_put is its caller's until commit or abort, which free
 * it. Threads: a slot (handle, file, result) is its thread's while busy and
 * the caller's after s3_slot_join(); the caller's own handle does the rest.
 */
#include "storage_s3.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"

/* one part on its way up, in its own uploader thread with its own handle */
struct s3_slot {
	struct s3_put *p;
	CURL *h;            /* this slot's connection, kept across its parts */
	int fd;             /* spool file of the part being sent, or -1 */
	GThread *th;
	bool busy;          /* holds a part whose result is not collected */
	gint done;          /* atomic: the thread has finished */
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
	CURL *h;            /* the caller's: single PUT, initiate, complete, abort */
	int fd;             /* unlinked spool file: the part being written */
	struct s3_slot slot[S3_INFLIGHT]; /* parts being sent meanwhile */
	unsigned parts;     /* parts handed to slots so far */
	uint64_t spooled;   /* bytes in fd */
	EVP_MD_CTX *md;     /* SHA-256 of the spooled bytes */
	char *upload_id;    /* multipart upload in progress, or NULL */
	GPtrArray *etags;   /* ETag of part i + 1 (NULL while it is on its way) */
};

static void
s3_put_free(struct s3_put *p)
{
	unsigned i;

	for (i = 0; i < S3_INFLIGHT; i++) {
		if (p->slot[i].th != NULL)
			g_thread_join(p->slot[i].th);
		if (p->slot[i].fd >= 0)
			close(p->slot[i].fd);
		if (p->slot[i].h != NULL)
			curl_easy_cleanup(p->slot[i].h);
		g_free(p->slot[i].etag);
	}
	if (p->fd >= 0)
		close(p->fd);
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

void *
s3_put_begin(void *be, const char *key, uint64_t size_hint, int *errp)
{
	struct s3_store *s = be;
	struct s3_put *p = g_new0(struct s3_put, 1);

	(void)size_hint;
	p->s = s;
	p->key = g_strdup(key);
	p->path = s3_object_path(s, key);
	p->etags = g_ptr_array_new_with_free_func(g_free);
	for (unsigned i = 0; i < S3_INFLIGHT; i++) {
		p->slot[i].p = p;
		p->slot[i].fd = -1;
	}
	p->fd = storage_spool_open(s->spool_dir);
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

char *
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

/* s3_part_main - an uploader thread: send the slot's file as its part */
static gpointer
s3_part_main(gpointer arg)
{
	struct s3_slot *sl = arg;
	struct s3_put *p = sl->p;
	struct s3_req r;
	char *what = g_strdup_printf("upload part %u of %s", sl->part, p->key);

	s3_req_init(&r, sl->h, "PUT", what, s3_upload_query(p->path, p->upload_id, sl->part));
	r.sha256 = sl->hex;
	r.body_fd = sl->fd;
	r.body_len = sl->len;
	sl->rc = s3_perform(p->s, &r);
	if (sl->rc == STORAGE_OK && (r.etag == NULL || r.etag[0] == '\0')) {
		log_error("storage s3: %s: no ETag in the answer", what);
		sl->rc = STORAGE_ETEMP;
	}
	if (sl->rc == STORAGE_OK)
		sl->etag = g_steal_pointer(&r.etag);
	s3_req_clear(&r);
	g_free(what);
	g_atomic_int_set(&sl->done, 1);
	return NULL;
}

/* s3_slot_join - wait for the slot's part; its result (its ETag noted) */
static int
s3_slot_join(struct s3_put *p, struct s3_slot *sl)
{
	if (sl->th != NULL) {
		g_thread_join(sl->th);
		sl->th = NULL;
	}
	if (!sl->busy)
		return STORAGE_OK;
	sl->busy = false;
	if (sl->rc == STORAGE_OK)
		g_ptr_array_index(p->etags, sl->part - 1) = g_steal_pointer(&sl->etag);
	return sl->rc;
}

/* s3_put_join - wait for every part in flight; the first failure */
static int
s3_put_join(struct s3_put *p)
{
	int rc = STORAGE_OK, r;
	unsigned i;

	for (i = 0; i < S3_INFLIGHT; i++) {
		r = s3_slot_join(p, &p->slot[i]);
		if (rc == STORAGE_OK)
			rc = r;
	}
	return rc;
}

/* s3_put_slot - a free slot for the next part: collect the finished ones
 * (a failed part shows here), else wait for the oldest; NULL on failure */
static struct s3_slot *
s3_put_slot(struct s3_put *p, int *rc)
{
	struct s3_slot *sl, *free_ = NULL, *oldest = NULL;
	unsigned i;

	*rc = STORAGE_OK;
	for (i = 0; i < S3_INFLIGHT; i++) {
		sl = &p->slot[i];
		if (sl->busy && g_atomic_int_get(&sl->done) && (*rc = s3_slot_join(p, sl)) != STORAGE_OK)
			return NULL;
		if (!sl->busy && free_ == NULL)
			free_ = sl;
		if (sl->busy && (oldest == NULL || sl->part < oldest->part))
			oldest = sl;
	}
	if (free_ == NULL && (*rc = s3_slot_join(p, oldest)) == STORAGE_OK)
		free_ = oldest;
	if (free_ != NULL && free_->h == NULL && (free_->h = s3_handle(p->key)) == NULL)
		*rc = STORAGE_ETEMP;
	if (free_ != NULL && free_->fd < 0 && (free_->fd = storage_spool_open(p->s->spool_dir)) < 0) {
		log_error("storage s3: put %s: spool file in %s: %s", p->key, p->s->spool_dir,
			g_strerror(errno));
		*rc = STORAGE_ETEMP;
	}
	return *rc == STORAGE_OK ? free_ : NULL;
}

/*
 * s3_put_flush - hand the spooled bytes to a free slot as the next part and
 * go on spooling into that slot's previous file; up to S3_INFLIGHT parts
 * are on their way while the caller writes the next: S3_INFLIGHT + 1 spool
 * files of part_size at most, on disk, not in memory.
 */
static int
s3_put_flush(struct s3_put *p)
{
	struct s3_slot *sl;
	int rc, fd;

	if (p->upload_id == NULL) {
		rc = s3_put_initiate(p);
		if (rc != STORAGE_OK)
			return rc;
	}
	if (p->parts + 1 > S3_MAX_PARTS) {
		log_error("storage s3: put %s: more than %d parts: raise part_size", p->key, S3_MAX_PARTS);
		return STORAGE_EPERM;
	}
	sl = s3_put_slot(p, &rc);
	if (sl == NULL)
		return rc;
	rc = s3_put_digest(p, sl->hex);
	if (rc != STORAGE_OK)
		return rc;
	sl->part = ++p->parts;
	g_ptr_array_set_size(p->etags, (gint)p->parts);
	sl->len = p->spooled;
	sl->rc = STORAGE_ETEMP;
	g_clear_pointer(&sl->etag, g_free);
	fd = sl->fd;
	sl->fd = p->fd;
	p->fd = fd;
	p->spooled = 0;
	/* the file to spool into next held a part that has been sent (joined) */
	if (ftruncate(p->fd, 0) != 0) {
		log_error("storage s3: put %s: truncate spool file: %s", p->key, g_strerror(errno));
		return STORAGE_ETEMP;
	}
	sl->busy = true;
	g_atomic_int_set(&sl->done, 0);
	sl->th = g_thread_try_new("s3-part", s3_part_main, sl, NULL);
	if (sl->th == NULL)
		s3_part_main(sl); /* no thread: send it now */
	return STORAGE_OK;
}

int
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

	(void)s3_put_join(p); /* no part in flight; a failed one was logged */
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
s3_put_complete(struct s3_put *p, bool excl)
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
	r.if_none_match = excl;
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

/* s3_put_one - PUT the spooled object (cond: If-None-Match: *) */
static int
s3_put_one(struct s3_put *p, const char *what, const char *hex, bool cond)
{
	struct s3_req r;
	int rc;

	s3_req_init(&r, p->h, "PUT", what, g_strdup(p->path));
	r.sha256 = hex;
	r.body_fd = p->fd;
	r.body_len = p->spooled;
	r.if_none_match = cond;
	rc = s3_perform(p->s, &r);
	s3_req_clear(&r);
	return rc;
}

/* s3_head_absent - STORAGE_OK when key does not exist, STORAGE_EEXIST when
 * it does, else the error */
static int
s3_head_absent(struct s3_put *p)
{
	uint64_t size = 0;
	int64_t mtime = 0;
	int rc = s3_head(p->s, p->h, p->key, &size, &mtime);

	return rc == STORAGE_OK ? STORAGE_EEXIST : rc == STORAGE_ENOENT ? STORAGE_OK : rc;
}

/* s3_put_absent - create-if-absent without server support: HEAD, then a
 * plain PUT if there was nothing (not atomic) */
static int
s3_put_absent(struct s3_put *p, const char *what, const char *hex)
{
	int rc = s3_head_absent(p);

	return rc == STORAGE_OK ? s3_put_one(p, what, hex, false) : rc;
}

bool
s3_create_atomic(void *be)
{
	struct s3_store *s = be;

	return !g_atomic_int_get(&s->no_conditional);
}

/* s3_put_finish - one PUT of a spooled object, or complete the multipart
 * upload; excl: with If-None-Match: * (create-if-absent) */
static int
s3_put_finish(void *put, bool excl)
{
	struct s3_put *p = put;
	char hex[65];
	char *what = NULL;
	int rc;

	if (p->upload_id == NULL) {
		/* one PUT of the whole spooled object */
		rc = s3_put_digest(p, hex);
		if (rc != STORAGE_OK)
			goto out;
		what = g_strdup_printf("PUT %s", p->key);
		if (excl && g_atomic_int_get(&p->s->no_conditional)) {
			rc = s3_put_absent(p, what, hex);
			goto out;
		}
		rc = s3_put_one(p, what, hex, excl);
		if (rc == S3_ENOCOND) {
			if (!g_atomic_int_exchange(&p->s->no_conditional, 1))
				log_warning("storage s3: the server does not support conditional PUTs "
					"(If-None-Match: *): create-if-absent looks first, so two writers at "
					"once may both create (a rare duplicate notice)");
			rc = s3_put_absent(p, what, hex);
		}
		goto out;
	}
	rc = p->spooled > 0 ? s3_put_flush(p) : STORAGE_OK;
	if (rc == STORAGE_OK)
		rc = s3_put_join(p);
	if (rc == STORAGE_OK && excl && g_atomic_int_get(&p->s->no_conditional))
		rc = s3_head_absent(p);
	if (rc == STORAGE_OK)
		rc = s3_put_complete(p, excl && !g_atomic_int_get(&p->s->no_conditional));
	if (rc == S3_ENOCOND) {
		g_atomic_int_set(&p->s->no_conditional, 1);
		rc = s3_head_absent(p);
		if (rc == STORAGE_OK)
			rc = s3_put_complete(p, false);
	}
	if (rc == STORAGE_OK)
		g_clear_pointer(&p->upload_id, g_free);
out:
	s3_put_abort_upload(p);
	g_free(what);
	s3_put_free(p);
	return rc;
}

int
s3_put_commit(void *put)
{
	return s3_put_finish(put, false);
}

int
s3_put_commit_new(void *put)
{
	return s3_put_finish(put, true);
}

void
s3_put_abort(void *put)
{
	struct s3_put *p = put;

	s3_put_abort_upload(p);
	s3_put_free(p);
}
