/*
 * storage.c - the storage dispatcher (DECISIONS.md §7): finds the backend named
 * by [storage] backend, validates every key and prefix once for all backends,
 * and forwards calls through struct storage_ops (storage_backend.h).
 *
 * Memory: struct storage owns the backend state; struct storage_put is
 * owned by its caller until storage_put_commit()/storage_put_abort().
 * Threads: struct storage is read-only after storage_open() and may be shared;
 * a struct storage_put belongs to one thread.
 */
#include "storage_backend.h"

#include <string.h>

#include "log.h"

struct storage {
	const struct storage_ops *ops;
	void *be;
};

struct storage_put {
	struct storage *st;
	void *impl;
	char *key; /* for storage_put_commit_new() without backend support */
	int err; /* sticky: the first failed write's code */
};

static const struct storage_ops *const storage_backends[] = {
	&storage_file_ops,
	&storage_memory_ops,
	&storage_s3_ops,
	&storage_webdav_ops,
};

G_DEFINE_QUARK(offload-storage-error-quark, storage_error)

static bool
storage_seg_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* storage_path_check - shared rules of keys and prefixes; partial = prefix */
static bool
storage_path_check(const char *s, bool partial)
{
	size_t i, n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n > STORAGE_KEY_MAX || (n == 0 && !partial))
		return false;
	for (i = 0; i < n; i++) {
		if (storage_seg_char(s[i]))
			continue;
		if (s[i] != '/')
			return false;
		/* a '/' needs a segment before it, and (for a key) after it */
		if (i == 0 || s[i - 1] == '/')
			return false;
		if (i == n - 1 && !partial)
			return false;
	}
	return true;
}

bool
storage_key_valid(const char *key)
{
	return storage_path_check(key, false);
}

bool
storage_prefix_valid(const char *prefix)
{
	return storage_path_check(prefix, true);
}

bool
storage_range(uint64_t size, uint64_t offset, uint64_t length, uint64_t *end)
{
	if (offset >= size || length == 0)
		return false;
	if (length == STORAGE_TO_END || length > size - offset)
		*end = size;
	else
		*end = offset + length;
	return true;
}

/* storage_bad_key - log an invalid key (escaped, shortened: it may come from outside) */
static int
storage_bad_key(const char *what, const char *key)
{
	char *esc = NULL;

	if (key == NULL) {
		log_error("storage: %s is NULL", what);
	} else {
		esc = g_strescape(key, NULL);
		log_error("storage: invalid %s \"%.64s%s\" (allowed: [a-z0-9] segments "
			"separated by '/', at most %d bytes)", what, esc,
			strlen(esc) > 64 ? "..." : "", STORAGE_KEY_MAX);
	}
	g_free(esc);
	return STORAGE_EPERM;
}

struct storage *
storage_open(const struct conf *conf, GError **err)
{
	const char *name = conf->backend != NULL && conf->backend[0] != '\0' ? conf->backend : "file";
	const struct storage_ops *ops = NULL;
	struct storage *st = NULL;
	void *be;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(storage_backends); i++) {
		if (strcmp(storage_backends[i]->name, name) == 0) {
			ops = storage_backends[i];
			break;
		}
	}
	if (ops == NULL) {
		GString *known = g_string_new(NULL);

		for (i = 0; i < G_N_ELEMENTS(storage_backends); i++)
			g_string_append_printf(known, "%s%s", i ? ", " : "", storage_backends[i]->name);
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] backend = %s: unknown backend (known: %s)", name, known->str);
		g_string_free(known, TRUE);
		goto out;
	}
	be = ops->open(conf, err);
	if (be == NULL)
		goto out;
	st = g_new0(struct storage, 1);
	st->ops = ops;
	st->be = be;
out:
	return st;
}

void
storage_free(struct storage *st)
{
	if (st == NULL)
		return;
	st->ops->close(st->be);
	g_free(st);
}

const char *
storage_backend_name(const struct storage *st)
{
	return st->ops->name;
}

struct storage_put *
storage_put_begin(struct storage *st, const char *key, uint64_t size_hint, int *errp)
{
	struct storage_put *p = NULL;
	void *impl;
	int err = STORAGE_OK;

	if (!storage_key_valid(key)) {
		err = storage_bad_key("object key", key);
		goto out;
	}
	impl = st->ops->put_begin(st->be, key, size_hint, &err);
	if (impl == NULL)
		goto out;
	p = g_new0(struct storage_put, 1);
	p->st = st;
	p->impl = impl;
	p->key = g_strdup(key);
out:
	if (errp != NULL)
		*errp = p != NULL ? STORAGE_OK : err;
	return p;
}

int
storage_put_write(struct storage_put *p, const void *buf, size_t len)
{
	if (p->err != STORAGE_OK || len == 0)
		return p->err;
	p->err = p->st->ops->put_write(p->impl, buf, len);
	return p->err;
}

int
storage_put_commit(struct storage_put *p)
{
	int rc;

	if (p == NULL)
		return STORAGE_EPERM;
	if (p->err != STORAGE_OK) {
		/* the failed write was logged; never publish a partial object */
		rc = p->err;
		p->st->ops->put_abort(p->impl);
	} else {
		rc = p->st->ops->put_commit(p->impl);
	}
	g_free(p->key);
	g_free(p);
	return rc;
}

int
storage_put_commit_new(struct storage_put *p)
{
	int rc;

	if (p == NULL)
		return STORAGE_EPERM;
	if (p->err != STORAGE_OK)
		return storage_put_commit(p); /* aborts and returns the write's error */
	if (p->st->ops->put_commit_new != NULL) {
		rc = p->st->ops->put_commit_new(p->impl);
		g_free(p->key);
		g_free(p);
		return rc;
	}
	/* no create-if-absent: look first; two writers at once may both win */
	rc = p->st->ops->stat(p->st->be, p->key, &(uint64_t){ 0 }, &(int64_t){ 0 });
	if (rc == STORAGE_OK || rc != STORAGE_ENOENT) {
		storage_put_abort(p);
		return rc == STORAGE_OK ? STORAGE_EEXIST : rc;
	}
	return storage_put_commit(p);
}

/* put_buffer - buf[0..len) as key in one put, committed by commit */
static int
put_buffer(struct storage *st, const char *key, const void *buf, size_t len,
	int (*commit)(struct storage_put *))
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
	return commit(p);
}

int
storage_put_buffer(struct storage *st, const char *key, const void *buf, size_t len)
{
	return put_buffer(st, key, buf, len, storage_put_commit);
}

int
storage_create(struct storage *st, const char *key, const void *buf, size_t len)
{
	return put_buffer(st, key, buf, len, storage_put_commit_new);
}

bool
storage_create_exclusive_atomic(const struct storage *st)
{
	if (st->ops->create_atomic != NULL)
		return st->ops->create_atomic(st->be);
	return st->ops->put_commit_new != NULL;
}

void
storage_put_abort(struct storage_put *p)
{
	if (p == NULL)
		return;
	p->st->ops->put_abort(p->impl);
	g_free(p->key);
	g_free(p);
}

int
storage_get(struct storage *st, const char *key, uint64_t offset, uint64_t length,
	storage_sink_fn sink, void *arg)
{
	if (!storage_key_valid(key))
		return storage_bad_key("object key", key);
	return st->ops->get(st->be, key, offset, length, sink, arg);
}

int
storage_stat(struct storage *st, const char *key, uint64_t *size, int64_t *mtime)
{
	uint64_t s = 0;
	int64_t m = 0;

	if (!storage_key_valid(key))
		return storage_bad_key("object key", key);
	return st->ops->stat(st->be, key, size != NULL ? size : &s, mtime != NULL ? mtime : &m);
}

int
storage_delete(struct storage *st, const char *key)
{
	if (!storage_key_valid(key))
		return storage_bad_key("object key", key);
	return st->ops->del(st->be, key);
}

int
storage_list(struct storage *st, const char *prefix, storage_list_fn fn, void *arg)
{
	if (!storage_prefix_valid(prefix))
		return storage_bad_key("key prefix", prefix);
	return st->ops->list(st->be, prefix, fn, arg);
}

int
storage_versioning(struct storage *st, char **status)
{
	*status = NULL;
	/* only S3 has it; a dispatch here rather than one more storage_ops slot */
	if (st->ops == &storage_s3_ops)
		return storage_s3_versioning(st->be, status);
	return STORAGE_OK;
}

int
storage_abort_stale(struct storage *st, int64_t before, bool dry, storage_stale_fn fn, void *arg)
{
	if (st->ops->abort_stale == NULL)
		return 0;
	return st->ops->abort_stale(st->be, before, dry, fn, arg);
}

bool
storage_mpu_supported(const struct storage *st)
{
	return st->ops->mpu_begin != NULL;
}

int
storage_mpu_spool(struct storage *st)
{
	return st->ops->mpu_spool != NULL ? st->ops->mpu_spool(st->be) : -1;
}

int
storage_mpu_begin(struct storage *st, const char *key, char **upload_id)
{
	*upload_id = NULL;
	if (!storage_key_valid(key))
		return storage_bad_key("key", key);
	return st->ops->mpu_begin != NULL ? st->ops->mpu_begin(st->be, key, upload_id) : STORAGE_EPERM;
}

int
storage_mpu_part(struct storage *st, const char *key, const char *upload_id, unsigned part,
	int fd, uint64_t len, char **etag)
{
	*etag = NULL;
	if (!storage_key_valid(key))
		return storage_bad_key("key", key);
	return st->ops->mpu_part != NULL ?
		st->ops->mpu_part(st->be, key, upload_id, part, fd, len, etag) : STORAGE_EPERM;
}

int
storage_mpu_complete(struct storage *st, const char *key, const char *upload_id,
	const char *const *etags, unsigned n)
{
	if (!storage_key_valid(key))
		return storage_bad_key("key", key);
	return st->ops->mpu_complete != NULL ?
		st->ops->mpu_complete(st->be, key, upload_id, etags, n) : STORAGE_EPERM;
}

int
storage_mpu_abort(struct storage *st, const char *key, const char *upload_id)
{
	if (!storage_key_valid(key))
		return storage_bad_key("key", key);
	return st->ops->mpu_abort != NULL ? st->ops->mpu_abort(st->be, key, upload_id) : STORAGE_EPERM;
}

int
storage_abort_stale_keep(struct storage *st, int64_t before, bool dry, storage_stale_keep_fn keep,
	void *keep_arg, storage_stale_fn fn, void *arg)
{
	/* only S3 has long-lived leftovers of live writers; a dispatch here as for versioning */
	if (st->ops == &storage_s3_ops)
		return s3_abort_stale_keep(st->be, before, dry, keep, keep_arg, fn, arg);
	return storage_abort_stale(st, before, dry, fn, arg);
}

int
storage_prune(struct storage *st, const char *id)
{
	if (!storage_key_valid(id) || strchr(id, '/') != NULL)
		return storage_bad_key("transfer id", id);
	if (st->ops->prune == NULL)
		return STORAGE_OK;
	return st->ops->prune(st->be, id);
}

const char *
storage_strerror(int err)
{
	switch (err) {
	case STORAGE_OK:
		return "success";
	case STORAGE_ETEMP:
		return "temporary storage error";
	case STORAGE_EPERM:
		return "permanent storage error";
	case STORAGE_ENOENT:
		return "no such object";
	case STORAGE_ESTOP:
		return "stopped by callback";
	case STORAGE_EEXIST:
		return "object exists already";
	default:
		return "unknown storage error";
	}
}
