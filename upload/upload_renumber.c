/*
 * upload_renumber.c - a reply committed with the accepted files only: the
 * manifest's files are numbered 0, 1, ... (the reader checks index =
 * position, and the portal, tickets and state counters go by position), but
 * a file's object "<id>/<n>" carries its upload index n in its authenticated
 * header. So an accepted file after a refused one is copied, at the commit,
 * to the object of its position p: read through the §1.2 reader under its
 * key, written by the §1.1 writer as file p under
 * K_p = HKDF(key, "", "offload v1 reply file " || p). The key is derived,
 * so a repeated commit (mail failed, daemon died) finds the copy of an
 * earlier attempt, checks it (every tag, size and SHA-256) and keeps it,
 * even when the object it came from has since been overwritten by the copy
 * of a later file (files go in ascending order, so that object was copied
 * before). The leftover objects go with the file states (upload_finish.c).
 * When no whole copy is there and the source is missing or does not verify,
 * the copy an earlier attempt made at a later position is taken (a file
 * before it, found damaged since, moved it up); without one, the file is
 * lost for good (UPLOAD_DAMAGED: the commit refuses it and goes on). A store
 * that fails while any of them is read is an error to try again.
 * See upload_int.h. Memory: one segment.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "transfer_stream.h"
#include "upload_int.h"

/* copy_check - "<id>/<p>" holds f's plaintext under k (every tag, the
 * length and the SHA-256): STORAGE_OK, UPLOAD_DAMAGED when it does not (or
 * is missing), or the error of a store that failed while it was read */
static int
copy_check(struct storage *st, const char *id, uint32_t p, const unsigned char k[32],
	const struct tus_file *f)
{
	struct transfer_stream *s = transfer_stream_new(st, id, p, k, f->length, 0, f->length);
	struct crypto_sha256_ctx *c = crypto_sha256_new();
	unsigned char *buf = g_malloc(ENVELOPE_SEGMENT_SIZE), d[CRYPTO_SHA256_LEN];
	uint64_t got = 0;
	long n = -1;
	int serr = STORAGE_ETEMP, rc;
	char *hex;

	while (s != NULL && (n = transfer_stream_read(s, buf, ENVELOPE_SEGMENT_SIZE, &serr)) > 0) {
		crypto_sha256_update(c, buf, (size_t)n);
		got += (uint64_t)n;
	}
	crypto_sha256_final(c, d);
	hex = enc_hex(d, sizeof d);
	if (s == NULL)
		rc = STORAGE_ETEMP;
	else if (n == TRANSFER_STREAM_ESTORAGE && serr != STORAGE_ENOENT)
		rc = serr;
	else
		rc = n == 0 && got == f->length && strcmp(hex, f->sha256) == 0 ? STORAGE_OK : UPLOAD_DAMAGED;
	g_free(hex);
	transfer_stream_free(s);
	crypto_wipe(buf, ENVELOPE_SEGMENT_SIZE);
	g_free(buf);
	return rc;
}

static int
put_out(void *arg, const void *buf, size_t len)
{
	return storage_put_write(arg, buf, len) == STORAGE_OK ? 0 : -1;
}

/* copy_write - f from "<id>/<q>" (key kq) to "<id>/<p>" (key k); storage
 * error, or UPLOAD_DAMAGED when the source is missing or does not verify */
static int
copy_write(struct storage *st, const char *id, uint32_t p, const unsigned char k[32],
	const struct tus_file *f, uint32_t q, const unsigned char kq[32])
{
	struct transfer_stream *s = transfer_stream_new(st, id, q, kq, f->length, 0, f->length);
	unsigned char *buf = g_malloc(ENVELOPE_SEGMENT_SIZE);
	struct storage_put *put = NULL;
	struct envelope_writer *w = NULL;
	char key[64];
	int rc = STORAGE_ETEMP, serr = STORAGE_ETEMP;
	long n = -1;

	snprintf(key, sizeof key, "%s/%" PRIu32, id, p);
	if (s != NULL)
		put = storage_put_begin(st, key, envelope_file_size(f->length), &rc);
	if (put != NULL)
		w = envelope_writer_new(k, id, p, put_out, put);
	while (w != NULL && (n = transfer_stream_read(s, buf, ENVELOPE_SEGMENT_SIZE, &serr)) > 0)
		if (envelope_writer_update(w, buf, (size_t)n) != ENVELOPE_OK)
			break;
	if (w != NULL && n == 0 && envelope_writer_finish(w) == ENVELOPE_OK) {
		rc = storage_put_commit(put);
		put = NULL;
	} else if (n == TRANSFER_STREAM_ESTORAGE) {
		rc = serr == STORAGE_ENOENT ? UPLOAD_DAMAGED : serr;
	} else if (w != NULL && n < 0) {
		rc = UPLOAD_DAMAGED; /* a tag, the header or the length did not verify */
	}
	envelope_writer_free(w);
	storage_put_abort(put);
	transfer_stream_free(s);
	crypto_wipe(buf, ENVELOPE_SEGMENT_SIZE);
	g_free(buf);
	return rc;
}

/* position_key - K_p of file f at position p */
static int
position_key(const struct tus_file *f, uint32_t p, unsigned char k[32])
{
	char info[64];

	snprintf(info, sizeof info, "offload v1 reply file %" PRIu32, p);
	return crypto_hkdf(f->key, sizeof f->key, NULL, 0, info, strlen(info), k, 32);
}

/* copy_from_earlier - f to "<id>/<p>" from the copy an earlier attempt made
 * at a position q in (p, f->index), where its source was then overwritten
 * (a file before it found damaged since moves it up); as copy_write */
static int
copy_from_earlier(struct storage *st, const char *id, uint32_t p, const unsigned char k[32],
	const struct tus_file *f)
{
	unsigned char kq[32];
	int rc = UPLOAD_DAMAGED;

	for (uint32_t q = p + 1; rc == UPLOAD_DAMAGED && q < f->index; q++) {
		rc = position_key(f, q, kq) != 0 ? STORAGE_ETEMP : copy_write(st, id, p, k, f, q, kq);
		crypto_wipe(kq, sizeof kq);
	}
	return rc;
}

int
upload_renumber(struct storage *st, const char *id, const struct tus_file *f, uint32_t p,
	unsigned char key_out[32])
{
	int rc;

	if (position_key(f, p, key_out) != 0)
		return STORAGE_ETEMP;
	rc = copy_check(st, id, p, key_out, f); /* a whole copy of an earlier attempt stays */
	if (rc == UPLOAD_DAMAGED) {
		rc = copy_write(st, id, p, key_out, f, f->index, f->key);
		if (rc == UPLOAD_DAMAGED)
			rc = copy_from_earlier(st, id, p, key_out, f);
		if (rc == STORAGE_OK && (rc = copy_check(st, id, p, key_out, f)) == UPLOAD_DAMAGED)
			rc = STORAGE_ETEMP; /* the copy, read back, is not what was written */
	}
	if (rc == UPLOAD_DAMAGED)
		log_error("upload %s: file %" PRIu32 " not renumbered to %" PRIu32 ": its object is "
			"missing or damaged (it does not verify); the file is refused", id, f->index, p);
	else if (rc != STORAGE_OK)
		log_error("upload %s: file %" PRIu32 " not renumbered to %" PRIu32 ": %s", id, f->index, p,
			storage_strerror(rc));
	return rc;
}
