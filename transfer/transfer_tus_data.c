/*
 * transfer_tus_data.c - the data side of resumable uploads (transfer_tus.h):
 * a PATCH body is encrypted segment by segment into a part object
 * "<id>/p<n>s<k>" (k = its first segment), and the complete file is joined
 * into "<id>/<n>" with every tag checked on the way. A file that is a
 * multipart upload (transfer_tus_mpu.c) spools the body's ciphertext to disk
 * instead, and its join completes the upload and reads the object back.
 * Memory: one segment of plaintext and one of ciphertext per chunk or join.
 * Thread safety: a chunk belongs to one thread.
 */
#include "transfer_tus.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "crypto.h"
#include "encoding.h"
#include "envelope_int.h"
#include "log.h"
#include "transfer_int.h"

struct transfer_tus_chunk {
	struct storage_put *p;   /* part object, or NULL (multipart: fd) */
	struct storage *st;
	struct tus_file *f;
	int fd;                  /* multipart: unnamed spool of the ciphertext, else -1 */
	uint64_t spooled;        /* bytes in fd */
	EVP_CIPHER_CTX *ctx;
	unsigned char hdr[FH_LEN];
	unsigned char prefix[TUS_PREFIX_LEN];
	uint64_t length, pos;    /* file length; plaintext offset of buf[0] */
	unsigned char *buf, *ct;
	size_t have;
	bool wrote;
	char id[ENVELOPE_ID_TEXT_LEN + 1];
};

/* tus_header - the file object's header (FORMATS.md §1.1) for f */
static void
tus_header(unsigned char hdr[FH_LEN], const char *id, const struct tus_file *f)
{
	memcpy(hdr + FH_MAGIC, env_file_magic, sizeof env_file_magic);
	hdr[FH_VERSION] = ENV_VERSION;
	memcpy(hdr + FH_ID, id, ENVELOPE_ID_TEXT_LEN);
	env_put32(hdr + FH_INDEX, f->index);
	env_put32(hdr + FH_SEGSIZE, ENV_SEG);
	memcpy(hdr + FH_PREFIX, f->prefix, TUS_PREFIX_LEN);
}

static uint64_t
tus_segments(uint64_t length)
{
	return length == 0 ? 1 : (length + ENV_SEG - 1) / ENV_SEG;
}

struct transfer_tus_chunk *
transfer_tus_chunk_begin(struct storage *st, const char *id, struct tus_file *f, int *errp)
{
	struct transfer_tus_chunk *c;
	char key[80];

	if (f->offset % ENV_SEG != 0 || f->offset > f->length || !env_valid_id_str(id)) {
		*errp = STORAGE_EPERM;
		return NULL;
	}
	c = g_new0(struct transfer_tus_chunk, 1);
	c->fd = -1;
	c->st = st;
	c->f = f;
	snprintf(key, sizeof key, "%s/p%us%" G_GUINT64_FORMAT, id, f->index, f->offset / ENV_SEG);
	if (f->mpu != NULL)
		c->fd = storage_mpu_spool(st);
	else
		c->p = storage_put_begin(st, key, 0, errp);
	c->ctx = env_gcm_new(f->key, 1);
	if ((c->p == NULL && c->fd < 0) || c->ctx == NULL) {
		if (c->ctx == NULL || (f->mpu != NULL && c->fd < 0))
			*errp = STORAGE_ETEMP;
		transfer_tus_chunk_abort(c);
		return NULL;
	}
	g_strlcpy(c->id, id, sizeof c->id);
	tus_header(c->hdr, id, f);
	memcpy(c->prefix, f->prefix, TUS_PREFIX_LEN);
	c->length = f->length;
	c->pos = f->offset;
	c->buf = g_malloc(ENV_SEG);
	c->ct = g_malloc(ENV_SEG_CT);
	return c;
}

/* chunk_seal - encrypt and store the buffered segment */
static int
chunk_seal(struct transfer_tus_chunk *c)
{
	unsigned char nonce[12];
	bool last = c->pos + c->have == c->length;
	size_t ctlen = c->have + ENVELOPE_TAG_LEN;

	env_seg_nonce(nonce, c->prefix, c->pos / ENV_SEG, last);
	if (env_gcm_seal(c->ctx, nonce, c->hdr, FH_LEN, c->buf, c->have, c->ct) != ENVELOPE_OK)
		return STORAGE_ETEMP;
	c->pos += c->have;
	c->wrote = true;
	crypto_wipe(c->buf, c->have);
	c->have = 0;
	if (c->fd >= 0) {
		c->spooled += ctlen;
		return tus_spool_write(c->fd, c->ct, ctlen, c->spooled - ctlen);
	}
	return storage_put_write(c->p, c->ct, ctlen);
}

int
transfer_tus_chunk_write(struct transfer_tus_chunk *c, const void *buf, size_t len)
{
	const unsigned char *in = buf;

	while (len > 0) {
		uint64_t need = MIN((uint64_t)ENV_SEG, c->length - c->pos);
		size_t n;
		int rc;

		if (need == 0) {
			log_warning("upload %s: chunk runs past the file's length", c->id);
			return STORAGE_EPERM;
		}
		n = (size_t)MIN((uint64_t)len, need - c->have);
		memcpy(c->buf + c->have, in, n);
		c->have += n;
		in += n;
		len -= n;
		if (c->have == need) {
			rc = chunk_seal(c);
			if (rc != STORAGE_OK)
				return rc;
		}
	}
	return STORAGE_OK;
}

int
transfer_tus_chunk_commit(struct transfer_tus_chunk *c, uint64_t *end)
{
	int rc = STORAGE_OK;

	*end = c->pos;
	if (c->have != 0) {
		transfer_tus_chunk_abort(c);
		return STORAGE_EPERM;
	}
	if (c->wrote && c->fd >= 0) {
		rc = tus_mpu_chunk_commit(c->st, c->id, c->f, c->hdr, c->fd, c->spooled, c->pos);
		if (rc == STORAGE_EPERM) /* its upload or a tail part is gone or wrong */
			rc = STORAGE_ENOENT;
	} else if (c->wrote) {
		rc = storage_put_commit(c->p);
		c->p = NULL;
		if (rc == STORAGE_ENOENT) /* ENOENT means the above only */
			rc = STORAGE_ETEMP;
	}
	transfer_tus_chunk_abort(c);
	return rc;
}

void
transfer_tus_chunk_abort(struct transfer_tus_chunk *c)
{
	if (c == NULL)
		return;
	storage_put_abort(c->p);
	if (c->fd >= 0)
		close(c->fd);
	EVP_CIPHER_CTX_free(c->ctx);
	if (c->buf) {
		crypto_wipe(c->buf, ENV_SEG);
		g_free(c->buf);
	}
	g_free(c->ct);
	g_free(c);
}

/* ---- join ------------------------------------------------------------------- */

struct join {
	struct storage_put *p;
	struct envelope_reader *r;
	struct crypto_sha256_ctx *sha;
	envelope_out_fn plain;
	void *arg;
	int rc;
	uint64_t part, prev;     /* first segment of the part being read, of the one before */
};

static int
join_plain(void *arg, const void *buf, size_t len)
{
	struct join *j = arg;

	crypto_sha256_update(j->sha, buf, len);
	return j->plain ? j->plain(j->arg, buf, len) : 0;
}

static int
join_sink(void *arg, const void *buf, size_t len)
{
	struct join *j = arg;

	j->rc = j->p != NULL ? storage_put_write(j->p, buf, len) : STORAGE_OK;
	if (j->rc != STORAGE_OK)
		return 1;
	if (envelope_reader_update(j->r, buf, len) != ENVELOPE_OK) {
		j->rc = STORAGE_EPERM;
		return 1;
	}
	return 0;
}

/* join_empty - the one empty last segment of an empty file */
static int
join_empty(struct join *j, const unsigned char hdr[FH_LEN], const struct tus_file *f)
{
	EVP_CIPHER_CTX *ctx = env_gcm_new(f->key, 1);
	unsigned char nonce[12], ct[ENVELOPE_TAG_LEN];
	int rc = STORAGE_ETEMP;

	env_seg_nonce(nonce, f->prefix, 0, true);
	if (ctx != NULL && env_gcm_seal(ctx, nonce, hdr, FH_LEN, NULL, 0, ct) == ENVELOPE_OK)
		rc = join_sink(j, ct, sizeof ct) == 0 ? STORAGE_OK : j->rc;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* join_parts - the parts in order into j */
static int
join_parts(struct storage *st, const char *id, const struct tus_file *f, struct join *j)
{
	uint64_t seg = 0, nseg = tus_segments(f->length), size = 0;
	char key[80];
	int rc;

	while (seg < nseg) {
		snprintf(key, sizeof key, "%s/p%us%" G_GUINT64_FORMAT, id, f->index, seg);
		rc = storage_stat(st, key, &size, NULL);
		if (rc == STORAGE_ENOENT || (rc == STORAGE_OK && size == 0)) {
			log_warning("upload %s: file %u: part at segment %" G_GUINT64_FORMAT " missing",
				id, f->index, seg);
			j->prev = j->part = seg; /* the parts before it verified */
			return STORAGE_EPERM;
		}
		j->prev = j->part;
		j->part = seg;
		if (rc != STORAGE_OK)
			return rc;
		rc = storage_get(st, key, 0, STORAGE_TO_END, join_sink, j);
		if (rc != STORAGE_OK)
			return rc == STORAGE_ESTOP ? j->rc : rc;
		seg += (size + ENV_SEG_CT - 1) / ENV_SEG_CT;
	}
	return STORAGE_OK;
}

/* join_mpu - complete the multipart upload of f and read it back into j */
static int
join_mpu(struct storage *st, const char *key, const char *id, struct tus_file *f, struct join *j)
{
	int rc = tus_mpu_complete(st, key, id, f);

	if (rc == STORAGE_OK) {
		rc = storage_get(st, key, 0, STORAGE_TO_END, join_sink, j);
		if (rc == STORAGE_ESTOP)
			rc = j->rc;
	}
	if (rc == STORAGE_OK && envelope_reader_finish(j->r) != ENVELOPE_OK)
		rc = STORAGE_EPERM;
	if (rc == STORAGE_EPERM) {
		log_warning("upload %s: file %u does not verify when completed: deleted", id, f->index);
		storage_delete(st, key);
	}
	return rc;
}

int
transfer_tus_join(struct storage *st, const char *id, struct tus_file *f,
	envelope_out_fn plain, void *arg, uint64_t *resend)
{
	struct join j = { .plain = plain, .arg = arg, .rc = STORAGE_OK };
	unsigned char hdr[FH_LEN], digest[32];
	char key[64], *hex;
	int rc = STORAGE_ETEMP;

	snprintf(key, sizeof key, "%s/%u", id, f->index);
	tus_header(hdr, id, f);
	j.sha = crypto_sha256_new();
	j.r = envelope_reader_new(f->key, id, f->index, join_plain, &j);
	if (f->mpu != NULL) {
		rc = j.r == NULL ? STORAGE_ETEMP : join_mpu(st, key, id, f, &j);
		goto done;
	}
	j.p = storage_put_begin(st, key, envelope_file_size(f->length), &rc);
	if (j.p == NULL || j.r == NULL)
		goto out;
	rc = join_sink(&j, hdr, sizeof hdr) == 0 ? STORAGE_OK : j.rc;
	if (rc == STORAGE_OK)
		rc = f->length == 0 ? join_empty(&j, hdr, f) : join_parts(st, id, f, &j);
	if (rc == STORAGE_OK && envelope_reader_finish(j.r) != ENVELOPE_OK) {
		log_warning("upload %s: file %u does not verify when joined", id, f->index);
		rc = STORAGE_EPERM;
		j.prev = j.part; /* the held-back last segment: in the last part */
	}
	if (rc != STORAGE_OK)
		goto out;
	rc = storage_put_commit(j.p);
	j.p = NULL;
done:
	if (rc != STORAGE_OK)
		goto out;
	crypto_sha256_final(j.sha, digest);
	j.sha = NULL;
	hex = enc_hex(digest, sizeof digest);
	g_strlcpy(f->sha256, hex, sizeof f->sha256);
	g_free(hex);
out:
	/* a part that does not verify may be the one being read or, for the
	 * segment the reader holds back until more comes, the one before it;
	 * a multipart upload's object is gone (join_mpu): all of it again */
	if (resend != NULL)
		*resend = f->mpu != NULL ? 0 : j.prev * ENV_SEG;
	storage_put_abort(j.p);
	envelope_reader_free(j.r);
	crypto_sha256_free(j.sha);
	return rc;
}

/* ---- cleanup ---------------------------------------------------------------- */

static int
parts_collect(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)size;
	(void)mtime;
	g_ptr_array_add(arg, g_strdup(key));
	return 0;
}

int
transfer_tus_parts_delete(struct storage *st, const char *id, uint32_t index)
{
	return transfer_tus_parts_delete_from(st, id, index, 0);
}

int
transfer_tus_parts_delete_from(struct storage *st, const char *id, uint32_t index, uint64_t seg)
{
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	char prefix[64];
	int rc;

	snprintf(prefix, sizeof prefix, "%s/p%us", id, index);
	rc = storage_list(st, prefix, parts_collect, keys);
	for (guint i = 0; rc == STORAGE_OK && i < keys->len; i++) {
		const char *k = g_ptr_array_index(keys, i), *s = strrchr(k, 's');
		int d;

		if (s == NULL || g_ascii_strtoull(s + 1, NULL, 10) < seg)
			continue;
		d = storage_delete(st, k);

		if (d != STORAGE_OK && d != STORAGE_ENOENT)
			rc = d;
	}
	g_ptr_array_free(keys, TRUE);
	return rc;
}

struct cleanup {
	GPtrArray *keys;
	size_t idlen;
	enum tus_clean what;
};

static int
cleanup_collect(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct cleanup *c = arg;
	const char *leaf = key + c->idlen + 1;

	(void)size;
	(void)mtime;
	if (leaf[0] == 'p' || (c->what != TUS_CLEAN_PARTS && leaf[0] == 'u' && g_ascii_isdigit(leaf[1])))
		g_ptr_array_add(c->keys, g_strdup(key));
	return 0;
}

/* del - delete key; a missing object is no error */
static int
del(struct storage *st, const char *key)
{
	int d = storage_delete(st, key);

	return d == STORAGE_ENOENT ? STORAGE_OK : d;
}

int
transfer_tus_cleanup(struct storage *st, const char *id, enum tus_clean what)
{
	struct cleanup c = { g_ptr_array_new_with_free_func(g_free), strlen(id), what };
	char prefix[64];
	int rc;

	snprintf(prefix, sizeof prefix, "%s/", id);
	rc = storage_list(st, prefix, cleanup_collect, &c);
	for (guint i = 0; rc == STORAGE_OK && i < c.keys->len; i++)
		rc = del(st, g_ptr_array_index(c.keys, i));
	g_ptr_array_free(c.keys, TRUE);
	if (rc == STORAGE_OK && what == TUS_CLEAN_ALL) {
		snprintf(prefix, sizeof prefix, "%s/u", id);
		rc = del(st, prefix);
	}
	return rc;
}

int
transfer_tus_file_remove(struct storage *st, const char *id, const struct tus_file *f)
{
	char key[64];
	int rc = STORAGE_OK;

	snprintf(key, sizeof key, "%s/%u", id, f->index);
	if (f->mpu != NULL)
		rc = storage_mpu_abort(st, key, f->mpu);
	if (rc == STORAGE_OK || rc == STORAGE_ENOENT)
		rc = del(st, key);
	if (rc == STORAGE_OK)
		rc = transfer_tus_parts_delete(st, id, f->index);
	snprintf(key, sizeof key, "%s/u%u", id, f->index);
	if (rc == STORAGE_OK)
		rc = del(st, key);
	return rc;
}

char *
transfer_tus_mpu_detach(struct tus_file *f)
{
	char *mpu = f->mpu;

	f->mpu = NULL;
	if (f->etags != NULL)
		g_ptr_array_free(f->etags, TRUE);
	f->etags = NULL;
	f->mpu_segs = 0;
	return mpu;
}

int
transfer_tus_rewind(struct storage *st, const char *id, struct tus_file *f, uint64_t from)
{
	char key[64];
	int rc;

	if (f->mpu != NULL) { /* its object is gone: a new upload, from 0 */
		char *mpu = transfer_tus_mpu_detach(f);

		snprintf(key, sizeof key, "%s/%u", id, f->index);
		(void)storage_mpu_abort(st, key, mpu); /* completed or not: nothing to keep */
		g_free(mpu);
		from = 0;
		rc = transfer_tus_mpu_begin(st, id, f);
		if (rc != STORAGE_OK)
			return rc;
	}
	from -= from % ENV_SEG;
	rc = transfer_tus_parts_delete_from(st, id, f->index, from / ENV_SEG);
	if (rc == STORAGE_OK)
		f->offset = MIN(from, f->offset);
	return rc;
}
