/*
 * storage_memory.c - backend "memory": objects in a hash table, for tests and
 * for trying offload without a disk. Each storage_open() makes a fresh empty
 * store; nothing survives storage_free(). Same visibility rules as the
 * other backends: a put is buffered privately and only a successful commit
 * publishes it (replacing an older object of that key atomically).
 *
 * Memory: the table owns keys and objects; an object's bytes are a
 * refcounted GBytes, so a reader keeps the version it started with even if
 * it is replaced or deleted meanwhile. A put owns its buffer until commit.
 * Threads: one mutex guards the table; sink and list callbacks run without
 * it held (list works on a snapshot), so they may call back into the store.
 */
#include "storage_backend.h"

#include <pthread.h>
#include <string.h>

struct mem_store {
	pthread_mutex_t lock; /* pthread, not GMutex: visible to ThreadSanitizer */
	GHashTable *objs; /* char *key -> struct mem_obj * */
};

struct mem_obj {
	GBytes *data;
	int64_t mtime;
};

struct mem_put {
	struct mem_store *ms;
	char *key;
	GByteArray *buf;
};

/* mem_snap - one list entry, copied out of the table */
struct mem_snap {
	char *key;
	uint64_t size;
	int64_t mtime;
};

static void
mem_obj_free(gpointer p)
{
	struct mem_obj *o = p;

	g_bytes_unref(o->data);
	g_free(o);
}

static void *
mem_open(const struct conf *conf, GError **err)
{
	struct mem_store *ms = g_new0(struct mem_store, 1);

	(void)conf;
	(void)err;
	pthread_mutex_init(&ms->lock, NULL);
	ms->objs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, mem_obj_free);
	return ms;
}

static void
mem_close(void *be)
{
	struct mem_store *ms = be;

	if (ms == NULL)
		return;
	g_hash_table_destroy(ms->objs);
	pthread_mutex_destroy(&ms->lock);
	g_free(ms);
}

static void *
mem_put_begin(void *be, const char *key, uint64_t size_hint, int *errp)
{
	struct mem_put *mp = g_new0(struct mem_put, 1);

	(void)size_hint; /* a hint may lie; grow as written */
	mp->ms = be;
	mp->key = g_strdup(key);
	mp->buf = g_byte_array_new();
	*errp = STORAGE_OK;
	return mp;
}

static int
mem_put_write(void *put, const void *buf, size_t len)
{
	struct mem_put *mp = put;

	if (len > G_MAXUINT - mp->buf->len)
		return STORAGE_EPERM; /* GByteArray's limit (4 GiB) */
	g_byte_array_append(mp->buf, buf, (guint)len);
	return STORAGE_OK;
}

/* mem_commit - publish the put; excl: only if the key is absent */
static int
mem_commit(struct mem_put *mp, bool excl)
{
	struct mem_obj *o;
	bool exists;

	pthread_mutex_lock(&mp->ms->lock);
	exists = excl && g_hash_table_contains(mp->ms->objs, mp->key);
	if (!exists) {
		o = g_new0(struct mem_obj, 1);
		o->data = g_byte_array_free_to_bytes(mp->buf);
		o->mtime = g_get_real_time() / G_USEC_PER_SEC;
		g_hash_table_replace(mp->ms->objs, mp->key, o);
	}
	pthread_mutex_unlock(&mp->ms->lock);
	if (exists) {
		g_byte_array_unref(mp->buf);
		g_free(mp->key);
	}
	g_free(mp);
	return exists ? STORAGE_EEXIST : STORAGE_OK;
}

static int
mem_put_commit(void *put)
{
	return mem_commit(put, false);
}

static int
mem_put_commit_new(void *put)
{
	return mem_commit(put, true);
}

static void
mem_put_abort(void *put)
{
	struct mem_put *mp = put;

	if (mp == NULL)
		return;
	g_byte_array_unref(mp->buf);
	g_free(mp->key);
	g_free(mp);
}

/* mem_lookup - a reference to key's bytes (and its mtime), or NULL */
static GBytes *
mem_lookup(struct mem_store *ms, const char *key, int64_t *mtime)
{
	struct mem_obj *o;
	GBytes *b = NULL;

	pthread_mutex_lock(&ms->lock);
	o = g_hash_table_lookup(ms->objs, key);
	if (o != NULL) {
		b = g_bytes_ref(o->data);
		*mtime = o->mtime;
	}
	pthread_mutex_unlock(&ms->lock);
	return b;
}

static int
mem_get(void *be, const char *key, uint64_t offset, uint64_t length,
	storage_sink_fn sink, void *arg)
{
	const unsigned char *data;
	uint64_t pos, end;
	int64_t mtime;
	size_t size, n;
	GBytes *b;
	int rc = STORAGE_OK;

	b = mem_lookup(be, key, &mtime);
	if (b == NULL)
		return STORAGE_ENOENT;
	data = g_bytes_get_data(b, &size);
	if (!storage_range(size, offset, length, &end))
		goto out;
	for (pos = offset; pos < end; pos += n) {
		n = end - pos < STORAGE_CHUNK ? (size_t)(end - pos) : STORAGE_CHUNK;
		if (sink(arg, data + pos, n) != 0) {
			rc = STORAGE_ESTOP;
			goto out;
		}
	}
out:
	g_bytes_unref(b);
	return rc;
}

static int
mem_stat(void *be, const char *key, uint64_t *size, int64_t *mtime)
{
	GBytes *b = mem_lookup(be, key, mtime);

	if (b == NULL)
		return STORAGE_ENOENT;
	*size = g_bytes_get_size(b);
	g_bytes_unref(b);
	return STORAGE_OK;
}

static int
mem_del(void *be, const char *key)
{
	struct mem_store *ms = be;
	gboolean found;

	pthread_mutex_lock(&ms->lock);
	found = g_hash_table_remove(ms->objs, key);
	pthread_mutex_unlock(&ms->lock);
	return found ? STORAGE_OK : STORAGE_ENOENT;
}

static int
mem_list(void *be, const char *prefix, storage_list_fn fn, void *arg)
{
	struct mem_store *ms = be;
	size_t plen = strlen(prefix);
	GArray *snap = g_array_new(FALSE, FALSE, sizeof(struct mem_snap));
	GHashTableIter it;
	gpointer k, v;
	struct mem_snap *s;
	guint i;
	int rc = STORAGE_OK;

	pthread_mutex_lock(&ms->lock);
	g_hash_table_iter_init(&it, ms->objs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct mem_obj *o = v;
		struct mem_snap e;

		if (strncmp(k, prefix, plen) != 0)
			continue;
		e.key = g_strdup(k);
		e.size = g_bytes_get_size(o->data);
		e.mtime = o->mtime;
		g_array_append_val(snap, e);
	}
	pthread_mutex_unlock(&ms->lock);
	for (i = 0; i < snap->len; i++) {
		s = &g_array_index(snap, struct mem_snap, i);
		if (rc == STORAGE_OK && fn(arg, s->key, s->size, s->mtime) != 0)
			rc = STORAGE_ESTOP;
		g_free(s->key);
	}
	g_array_free(snap, TRUE);
	return rc;
}

const struct storage_ops storage_memory_ops = {
	.name = "memory",
	.open = mem_open,
	.close = mem_close,
	.put_begin = mem_put_begin,
	.put_write = mem_put_write,
	.put_commit = mem_put_commit,
	.put_abort = mem_put_abort,
	.put_commit_new = mem_put_commit_new,
	.get = mem_get,
	.stat = mem_stat,
	.del = mem_del,
	.list = mem_list,
};
