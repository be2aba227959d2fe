/*
 * transfer_int.h - PRIVATE helpers shared by the transfer_*.c files; not
 * for callers outside transfer/.
 */
#ifndef OFFLOAD_TRANSFER_INT_H
#define OFFLOAD_TRANSFER_INT_H

#include <stddef.h>
#include <glib.h>

#include "storage.h"
#include "transfer.h"

/* cap on a manifest (and tombstone) object read back from storage */
#define TRANSFER_MAX_MANIFEST (16u * 1024 * 1024)

/* transfer_alloc - an empty transfer with the given id (no keys, no files) */
struct transfer *transfer_alloc(struct storage *st, const char *id);
/* transfer_file_free - GDestroyNotify for t->files: wipes the file key */
void transfer_file_free(gpointer p);
/* transfer_collect_out - storage_get sink appending to a GByteArray; stops
 * the read (nonzero) past TRANSFER_MAX_MANIFEST */
int transfer_collect_out(void *arg, const void *buf, size_t len);
/* transfer_put_side - storage_put_buffer into t->st; on success key joins
 * t->committed (removed again when the transfer is aborted); storage rc */
int transfer_put_side(struct transfer *t, const char *key, const void *buf, size_t len);

/* transfer_tus_mpu.c: the multipart side of resumable uploads (transfer_tus.h).
 * tus_spool_write - len bytes at offset at of a spool file; storage code.
 * tus_mpu_chunk_commit - a chunk of f (starting at f->offset, ending at
 * end) whose ciphertext is [0, ct_len) of fd: the next multipart part (with
 * the tail and, for part 1, the file header hdr) or a tail part object.
 * tus_mpu_complete - complete f's upload into key; OK as well when it was
 * completed before (the object is there, whole). */
struct tus_file;
int tus_spool_write(int fd, const void *buf, size_t len, uint64_t at);
int tus_mpu_chunk_commit(struct storage *st, const char *id, struct tus_file *f,
	const unsigned char *hdr, int fd, uint64_t ct_len, uint64_t end);
int tus_mpu_complete(struct storage *st, const char *key, const char *id, struct tus_file *f);

/* transfer_recipient.c: transfer_agreed_gcm - AES-256-GCM of len bytes in ->
 * out with a detached tag, written (enc) or checked; 0 or -1 (also used by
 * transfer_agreed.c for the wraps of §6.9) */
int transfer_agreed_gcm(int enc, const unsigned char k[32], const unsigned char nonce[12],
	const unsigned char *aad, size_t aadlen, const unsigned char *in, size_t len,
	unsigned char *out, unsigned char tag[16]);

#endif
