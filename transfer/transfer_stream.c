/*
 * transfer_stream.c - reading file objects back (see transfer_stream.h).
 * Memory: O(batch of segments) per stream.
 */
#include "transfer_stream.h"

#include <string.h>
#include <gio/gio.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"

/* ---- ranged stream --------------------------------------------------- */

#define STREAM_BATCH_SEGS 8u
#define STREAM_SEG_CT ((uint64_t)ENVELOPE_SEGMENT_SIZE + ENVELOPE_TAG_LEN)

struct transfer_stream {
	struct storage *st;
	struct envelope_reader *r;
	char key[64];
	uint64_t plain_size;    /* the file's size */
	uint64_t obj_size;      /* expected object size */
	uint64_t stop;          /* fetch no further: one byte past the last needed segment */
	uint64_t pos;           /* next object byte to fetch */
	uint64_t skip;          /* plaintext bytes still to drop (range start) */
	uint64_t want;          /* plaintext bytes still to release */
	bool header_done, finished;
	int env_rc;
	unsigned char *buf;     /* verified plaintext waiting to be read */
	size_t cap, head, len;
	unsigned char *dst;     /* the reader's buffer while a read fetches: filled first */
	size_t dst_cap, dst_len;
};

static int
stream_out(void *arg, const void *data, size_t n)
{
	struct transfer_stream *s = arg;
	const unsigned char *p = data;

	if (s->skip > 0) {
		size_t k = s->skip < n ? (size_t)s->skip : n;

		s->skip -= k;
		p += k;
		n -= k;
	}
	if (n > s->want)
		n = (size_t)s->want;
	if (n == 0)
		return 0;
	if (s->dst != NULL && p == s->dst + s->dst_len) {
		/* decrypted in place (stream_target): nothing to copy */
		s->dst_len += n;
		s->want -= n;
		return 0;
	}
	if (s->dst != NULL && s->len == 0 && s->dst_len < s->dst_cap) {
		/* straight into the reader's buffer: no hop through buf */
		size_t k = MIN(n, s->dst_cap - s->dst_len);

		memcpy(s->dst + s->dst_len, p, k);
		s->dst_len += k;
		s->want -= k;
		p += k;
		n -= k;
		if (n == 0)
			return 0;
	}
	if (s->buf == NULL) /* only a reader's short buffer or a range start needs it */
		s->buf = g_malloc(s->cap);
	if (s->head > 0) {
		memmove(s->buf, s->buf + s->head, s->len);
		s->head = 0;
	}
	if (s->len + n > s->cap) {
		log_panic("transfer stream: plaintext buffer overflow");
		return 1;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->want -= n;
	return 0;
}

/* stream_target - where the reader may decrypt the next segment: straight
 * into the reader's buffer when the whole segment goes there (no range
 * start to drop, nothing held back before it, room for all of it) */
static unsigned char *
stream_target(void *arg, size_t n)
{
	struct transfer_stream *s = arg;

	if (s->dst == NULL || s->skip > 0 || s->len > 0 || n > s->want || n > s->dst_cap - s->dst_len)
		return NULL;
	return s->dst + s->dst_len;
}

static int
stream_cipher(void *arg, const void *buf, size_t len)
{
	struct transfer_stream *s = arg;

	s->env_rc = envelope_reader_update(s->r, buf, len);
	return s->env_rc != ENVELOPE_OK;
}

/* range_first - the segment a range from plaintext offset starts in */
static uint64_t
range_first(uint64_t plain_size, uint64_t offset)
{
	uint64_t first = offset / ENVELOPE_SEGMENT_SIZE;

	if (offset == plain_size && first > 0 && offset % ENVELOPE_SEGMENT_SIZE == 0)
		first--; /* empty range at the very end */
	return first;
}

/* stream_range - aim s at plaintext [offset, offset + length) (checked by the
 * caller); its first segment */
static uint64_t
stream_range(struct transfer_stream *s, uint64_t offset, uint64_t length)
{
	uint64_t first = range_first(s->plain_size, offset);

	s->pos = envelope_segment_offset(first);
	/* the last segment the range needs: the reader knows the object's size,
	 * so it verifies a segment before the end as "not last" without a byte
	 * after it (whole segments are decrypted where storage put them) */
	s->stop = length == 0 ? s->pos + 1 :
		envelope_segment_offset((offset + length - 1) / ENVELOPE_SEGMENT_SIZE + 1);
	if (s->stop > s->obj_size)
		s->stop = s->obj_size;
	s->skip = offset - first * ENVELOPE_SEGMENT_SIZE;
	s->want = length;
	return first;
}

struct transfer_stream *
transfer_stream_new(struct storage *st, const char *id, uint32_t idx, const unsigned char key[32],
	uint64_t plain_size, uint64_t offset, uint64_t length)
{
	struct transfer_stream *s;
	uint64_t first;

	if (offset > plain_size || length > plain_size - offset)
		return NULL;
	s = g_new0(struct transfer_stream, 1);
	s->st = st;
	s->plain_size = plain_size;
	s->obj_size = envelope_file_size(plain_size);
	first = stream_range(s, offset, length);
	s->cap = (STREAM_BATCH_SEGS + 2) * ENVELOPE_SEGMENT_SIZE;
	snprintf(s->key, sizeof s->key, "%s/%u", id, idx);
	s->r = envelope_reader_new_at(key, id, idx, first, stream_out, s);
	if (s->obj_size == 0 || s->r == NULL) {
		transfer_stream_free(s);
		return NULL;
	}
	envelope_reader_set_target(s->r, stream_target);
	envelope_reader_set_size(s->r, s->obj_size);
	return s;
}

int
transfer_stream_seek(struct transfer_stream *s, uint64_t offset, uint64_t length)
{
	if (offset > s->plain_size || length > s->plain_size - offset || s->env_rc != ENVELOPE_OK ||
		s->len > 0 || s->finished || s->want > 0)
		return -1;
	if (envelope_reader_seek(s->r, range_first(s->plain_size, offset)) != ENVELOPE_OK)
		return -1;
	stream_range(s, offset, length);
	return 0;
}

/* stream_fetch - verify the next batch of segments (the header first) into s->dst and s->buf:
 * about the segments the read asked for, at most STREAM_BATCH_SEGS; 0 or an error code */
static long
stream_fetch(struct transfer_stream *s, size_t max, int *storage_err)
{
	uint64_t segs = MIN(STREAM_BATCH_SEGS, MAX(1u, (max + ENVELOPE_SEGMENT_SIZE - 1) /
		ENVELOPE_SEGMENT_SIZE)), n, before = s->pos;
	int rc;

	if (s->env_rc != ENVELOPE_OK)
		return s->env_rc;
	if (!s->header_done) {
		rc = storage_get(s->st, s->key, 0, envelope_file_header_len(), stream_cipher, s);
		if (rc != STORAGE_OK && !(rc == STORAGE_ESTOP && s->env_rc != ENVELOPE_OK)) {
			*storage_err = rc;
			return TRANSFER_STREAM_ESTORAGE;
		}
		s->header_done = true;
		return 0;
	}
	if (s->pos >= s->stop && s->stop < s->obj_size)
		return ENVELOPE_ETRUNC; /* cannot happen: the range ends inside the object */
	if (s->pos >= s->obj_size) {
		if (s->finished)
			return ENVELOPE_ETRUNC; /* verified everything, still short */
		s->finished = true;
		s->env_rc = envelope_reader_finish(s->r);
		return 0;
	}
	n = MIN(segs * STREAM_SEG_CT, s->stop - s->pos);
	rc = storage_get(s->st, s->key, s->pos, n, stream_cipher, s);
	if (rc != STORAGE_OK && !(rc == STORAGE_ESTOP && s->env_rc != ENVELOPE_OK)) {
		*storage_err = rc;
		return TRANSFER_STREAM_ESTORAGE;
	}
	s->pos = before + n;
	return 0;
}

long
transfer_stream_read(struct transfer_stream *s, void *out, size_t max, int *storage_err)
{
	long rc = 0;

	*storage_err = STORAGE_OK;
	if (s->len == 0 && max > 0) {
		/* nothing held back: verified plaintext goes straight into out */
		s->dst = out;
		s->dst_cap = max;
		s->dst_len = 0;
		while (s->dst_len == 0 && s->len == 0 && s->want > 0 && rc == 0)
			rc = stream_fetch(s, max, storage_err);
		s->dst = NULL;
		if (s->dst_len > 0)
			return (long)s->dst_len; /* an error after it shows at the next read */
		if (rc != 0)
			return rc;
	}
	if (s->len == 0)
		return 0;
	if (max > s->len)
		max = s->len;
	memcpy(out, s->buf + s->head, max);
	crypto_wipe(s->buf + s->head, max);
	s->head += max;
	s->len -= max;
	if (s->len == 0)
		s->head = 0;
	return (long)max;
}

void
transfer_stream_free(struct transfer_stream *s)
{
	if (s == NULL)
		return;
	envelope_reader_free(s->r);
	if (s->buf != NULL) {
		crypto_wipe(s->buf, s->cap);
		g_free(s->buf);
	}
	g_free(s);
}

int
transfer_read_range(struct transfer *t, uint32_t idx, uint64_t offset, uint64_t length,
	envelope_out_fn out, void *arg, GError **err)
{
	struct transfer_file *f;
	struct transfer_stream *s;
	unsigned char *buf = NULL;
	int rc = -1, serr;
	long n;

	if (idx >= t->files->len) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "transfer %s: no file %u", t->id, idx);
		return -1;
	}
	f = g_ptr_array_index(t->files, idx);
	s = transfer_stream_new(t->st, t->id, idx, f->key, f->size, offset, length);
	if (s == NULL) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			"transfer %s: file %u: range outside the file", t->id, idx);
		return -1;
	}
	buf = g_malloc(ENVELOPE_SEGMENT_SIZE);
	for (;;) {
		n = transfer_stream_read(s, buf, ENVELOPE_SEGMENT_SIZE, &serr);
		if (n == 0) {
			rc = 0;
			break;
		}
		if (n == TRANSFER_STREAM_ESTORAGE) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "transfer %s: file %u: %s",
				t->id, idx, storage_strerror(serr));
			break;
		}
		if (n < 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
				"transfer %s: file %u fails authentication: %s", t->id, idx,
				envelope_strerror((int)n));
			break;
		}
		if (out(arg, buf, (size_t)n) != 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_CANCELLED, "transfer %s: file %u: output failed",
				t->id, idx);
			break;
		}
	}
	crypto_wipe(buf, ENVELOPE_SEGMENT_SIZE);
	g_free(buf);
	transfer_stream_free(s);
	return rc;
}

struct read_ctx {
	struct envelope_reader *r;
	struct crypto_sha256_ctx *sha;
	envelope_out_fn out;
	void *arg;
	uint64_t size;
	int env_rc;
};

static int
read_plain(void *arg, const void *buf, size_t len)
{
	struct read_ctx *c = arg;

	crypto_sha256_update(c->sha, buf, len);
	c->size += len;
	return c->out(c->arg, buf, len);
}

static int
read_cipher(void *arg, const void *buf, size_t len)
{
	struct read_ctx *c = arg;

	c->env_rc = envelope_reader_update(c->r, buf, len);
	return c->env_rc != ENVELOPE_OK;
}

int
transfer_read_file(struct transfer *t, uint32_t idx, envelope_out_fn out, void *arg, GError **err)
{
	struct read_ctx c = { 0 };
	struct transfer_file *f;
	unsigned char digest[32];
	char key[64], *hex = NULL;
	int rc = -1, src;

	if (idx >= t->files->len) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "transfer %s: no file %u", t->id, idx);
		return -1;
	}
	f = g_ptr_array_index(t->files, idx);
	c.out = out;
	c.arg = arg;
	c.sha = crypto_sha256_new();
	c.r = envelope_reader_new(f->key, t->id, idx, read_plain, &c);
	snprintf(key, sizeof key, "%s/%u", t->id, idx);
	src = storage_get(t->st, key, 0, STORAGE_TO_END, read_cipher, &c);
	if (src != STORAGE_OK && !(src == STORAGE_ESTOP && c.env_rc != ENVELOPE_OK)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "transfer %s: file %u: %s",
			t->id, idx, storage_strerror(src));
		goto out;
	}
	if (c.env_rc == ENVELOPE_OK)
		c.env_rc = envelope_reader_finish(c.r);
	if (c.env_rc != ENVELOPE_OK) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: file %u fails authentication: %s", t->id, idx,
			envelope_strerror(c.env_rc));
		goto out;
	}
	crypto_sha256_final(c.sha, digest);
	c.sha = NULL;
	hex = enc_hex(digest, sizeof digest);
	if (c.size != f->size || strcmp(hex, f->sha256) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: file %u does not match its manifest (size or SHA-256)", t->id, idx);
		goto out;
	}
	rc = 0;
out:
	g_free(hex);
	crypto_sha256_free(c.sha);
	envelope_reader_free(c.r);
	return rc;
}
