/*
 * transfer_tus_mpu.c - resumable uploads on a store with multipart objects
 * (S3; see transfer_tus.h and docs/FORMATS.md §6.6): file n of upload id is
 * one multipart upload of its file object "<id>/<n>", begun when the file is
 * created. Every part but the last must hold at least 5 MiB, a PATCH body
 * may be as small as one 64 KiB segment, and the upload must continue on
 * any node, so:
 *
 *  - a body's ciphertext is spooled to an unnamed 0600 file (O_TMPFILE) on
 *    the node's disk while it arrives: ciphertext only, never plaintext;
 *  - at the body's end, when the tail (part objects "<id>/p<n>s<k>" of the
 *    segments after the last part), this body and, for part 1, the file
 *    header come to at least 5 MiB, or the body ends the file, they go up
 *    as the next part (the tail read back from the store into a second
 *    spool file); otherwise the body is stored as one more tail part object.
 *    The unflushed tail thus lives in the store, never only on one node's
 *    disk, and the client never sends a byte twice;
 *  - the upload id, the parts' ETags and the segments they hold go into the
 *    sealed file state after each part (the caller stores it), so the next
 *    body may arrive at any node. A crash between a part and its state only
 *    makes the client send the body again: the same part number replaces it;
 *  - the join completes the upload and reads the object back through the
 *    envelope reader (every tag, the SHA-256, the virus scanner). An upload
 *    completed before (a retried last body) is found by its object.
 *
 * Tail objects stay until the file is done (transfer_tus_parts_delete) or
 * the reply commits; an abandoned upload's multipart upload is aborted by
 * `offloadctl purge` (storage_abort_stale) like its objects, after
 * [storage] orphan_age.
 * Memory: a 64 KiB copy buffer; spool files on disk (at most the part size).
 * Thread safety: no shared state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "envelope_int.h"
#include "log.h"
#include "transfer_int.h"
#include "transfer_tus.h"

int
tus_spool_write(int fd, const void *buf, size_t len, uint64_t at)
{
	const unsigned char *b = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, b, len, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("upload: write spool file: %s", n < 0 ? g_strerror(errno) : "no progress");
			return STORAGE_ETEMP;
		}
		b += n;
		len -= (size_t)n;
		at += (uint64_t)n;
	}
	return STORAGE_OK;
}

/* spool_copy - [0, len) of fd to the put p (dst < 0) or to dst at offset at */
static int
spool_copy(int fd, uint64_t len, struct storage_put *p, int dst, uint64_t at)
{
	unsigned char *buf = g_malloc(65536);
	uint64_t pos = 0;
	int rc = STORAGE_OK;

	while (rc == STORAGE_OK && pos < len) {
		ssize_t n = pread(fd, buf, (size_t)MIN((uint64_t)65536, len - pos), (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("upload: read spool file: %s", n < 0 ? g_strerror(errno) : "short");
			rc = STORAGE_ETEMP;
			break;
		}
		rc = dst < 0 ? storage_put_write(p, buf, (size_t)n) : tus_spool_write(dst, buf, (size_t)n, at + pos);
		pos += (uint64_t)n;
	}
	g_free(buf);
	return rc;
}

int
transfer_tus_mpu_begin(struct storage *st, const char *id, struct tus_file *f)
{
	char key[64];
	int rc;

	if (!storage_mpu_supported(st) || f->length <= STORAGE_MPU_MIN_PART)
		return STORAGE_OK;
	snprintf(key, sizeof key, "%s/%u", id, f->index);
	rc = storage_mpu_begin(st, key, &f->mpu);
	if (rc == STORAGE_OK)
		f->etags = g_ptr_array_new_with_free_func(g_free);
	return rc;
}

/* tail_put - the body as the tail part object "<id>/p<n>s<k>" */
static int
tail_put(struct storage *st, const char *id, const struct tus_file *f, int fd, uint64_t ct_len)
{
	struct storage_put *p;
	char key[80];
	int rc = STORAGE_ETEMP;

	snprintf(key, sizeof key, "%s/p%us%" G_GUINT64_FORMAT, id, f->index, f->offset / ENV_SEG);
	p = storage_put_begin(st, key, ct_len, &rc);
	if (p == NULL)
		return rc;
	rc = spool_copy(fd, ct_len, p, -1, 0);
	if (rc != STORAGE_OK) {
		storage_put_abort(p);
		return rc;
	}
	return storage_put_commit(p);
}

struct spool_sink {
	int fd;
	uint64_t pos;
	int rc;
};

static int
spool_sink(void *arg, const void *buf, size_t len)
{
	struct spool_sink *s = arg;

	s->rc = tus_spool_write(s->fd, buf, len, s->pos);
	s->pos += len;
	return s->rc != STORAGE_OK;
}

/* tail_read - the tail part objects (segments [f->mpu_segs, f->offset)) into s */
static int
tail_read(struct storage *st, const char *id, const struct tus_file *f, struct spool_sink *s)
{
	uint64_t seg = f->mpu_segs, stop = f->offset / ENV_SEG, size = 0;
	char key[80];
	int rc;

	while (seg < stop) {
		snprintf(key, sizeof key, "%s/p%us%" G_GUINT64_FORMAT, id, f->index, seg);
		rc = storage_stat(st, key, &size, NULL);
		if (rc == STORAGE_ENOENT || (rc == STORAGE_OK && (size == 0 || size % ENV_SEG_CT != 0 ||
		    seg + size / ENV_SEG_CT > stop))) {
			log_warning("upload %s: file %u: tail part at segment %" G_GUINT64_FORMAT
				" missing or wrong", id, f->index, seg);
			return STORAGE_EPERM;
		}
		if (rc != STORAGE_OK)
			return rc;
		rc = storage_get(st, key, 0, STORAGE_TO_END, spool_sink, s);
		if (rc != STORAGE_OK)
			return rc == STORAGE_ESTOP ? s->rc : rc;
		seg += size / ENV_SEG_CT;
	}
	return STORAGE_OK;
}

/* whole - the file object of f is there, complete (an upload completed before) */
static bool
whole(struct storage *st, const char *key, const struct tus_file *f)
{
	uint64_t size = 0;

	return storage_stat(st, key, &size, NULL) == STORAGE_OK && size == envelope_file_size(f->length);
}

/* part_send - header (part 1), tail and body as the next part */
static int
part_send(struct storage *st, const char *id, struct tus_file *f, const unsigned char *hdr,
	int fd, uint64_t ct_len, uint64_t end)
{
	bool first = f->etags->len == 0;
	struct spool_sink s = { -1, 0, STORAGE_OK };
	char key[64], *etag = NULL;
	int rc = STORAGE_OK;

	snprintf(key, sizeof key, "%s/%u", id, f->index);
	if (first || f->offset / ENV_SEG > f->mpu_segs) {
		s.fd = storage_mpu_spool(st);
		if (s.fd < 0)
			return STORAGE_ETEMP;
		if (first) {
			rc = tus_spool_write(s.fd, hdr, FH_LEN, 0);
			s.pos = FH_LEN;
		}
		if (rc == STORAGE_OK)
			rc = tail_read(st, id, f, &s);
		if (rc == STORAGE_OK)
			rc = spool_copy(fd, ct_len, NULL, s.fd, s.pos);
	}
	if (rc == STORAGE_OK)
		rc = storage_mpu_part(st, key, f->mpu, f->etags->len + 1, s.fd >= 0 ? s.fd : fd,
			s.fd >= 0 ? s.pos + ct_len : ct_len, &etag);
	if (s.fd >= 0)
		close(s.fd);
	if (rc == STORAGE_ENOENT && end == f->length && whole(st, key, f))
		return STORAGE_OK; /* completed before: the join checks that object */
	if (rc == STORAGE_ENOENT) {
		log_warning("upload %s: file %u: its multipart upload is gone (aborted by purge?)", id, f->index);
		return STORAGE_EPERM;
	}
	if (rc != STORAGE_OK)
		return rc;
	g_ptr_array_add(f->etags, etag);
	f->mpu_segs = end == f->length ? MAX((f->length + ENV_SEG - 1) / ENV_SEG, 1) : end / ENV_SEG;
	return STORAGE_OK;
}

int
tus_mpu_chunk_commit(struct storage *st, const char *id, struct tus_file *f,
	const unsigned char *hdr, int fd, uint64_t ct_len, uint64_t end)
{
	uint64_t seg = f->offset / ENV_SEG, total;

	if (seg < f->mpu_segs || f->etags == NULL)
		return STORAGE_EPERM;
	total = (f->etags->len == 0 ? FH_LEN : 0) + (seg - f->mpu_segs) * ENV_SEG_CT + ct_len;
	if (total < STORAGE_MPU_MIN_PART && end < f->length)
		return tail_put(st, id, f, fd, ct_len);
	return part_send(st, id, f, hdr, fd, ct_len, end);
}

int
tus_mpu_complete(struct storage *st, const char *key, const char *id, struct tus_file *f)
{
	int rc;

	if (f->etags == NULL)
		return STORAGE_EPERM;
	rc = storage_mpu_complete(st, key, f->mpu, (const char *const *)f->etags->pdata, f->etags->len);
	if (rc == STORAGE_ENOENT && whole(st, key, f))
		return STORAGE_OK;
	if (rc == STORAGE_ENOENT) {
		log_warning("upload %s: file %u: its multipart upload is gone and no object", id, f->index);
		return STORAGE_EPERM;
	}
	return rc;
}
