/*
 * transfer_tus.h - resumable uploads into a new transfer (issue 13, tus 1.0;
 * bytes in docs/FORMATS.md §6.6). The upload daemon keeps no state of its
 * own: everything a node needs to continue an upload is in the store.
 *
 *   <id>/u        group state: the new transfer's link and revoke secrets,
 *                 the reply link's transfer, the citizen's message, the
 *                 declared file count and total size, created, expires;
 *                 after the commit its sent form (per file length and
 *                 done/refused, no secrets), kept with the new transfer
 *   <id>/u<n>     file state of file n: file key, nonce prefix, length,
 *                 offset, next segment counter, name, open|done|refused
 *   <id>/p<n>s<k> ciphertext segments k, k+1, ... of file n (one PATCH each)
 *   <id>/<n>      the file object (FORMATS.md §1.1), joined from the parts
 *                 when the last byte arrived
 *
 * On a store with multipart objects (S3: storage_mpu_supported) a file
 * larger than STORAGE_MPU_MIN_PART is instead one multipart upload of
 * "<id>/<n>", begun when the file is created (transfer_tus_mpu.c): a PATCH
 * body's ciphertext is spooled to an unnamed 0600 file on disk; once the
 * part objects not yet in a part (the tail), this body and, for part 1, the
 * file header make at least 5 MiB, or the body ends the file, they go up as
 * the next part (tail objects read back), else the body is stored as a part
 * object of the tail. The upload id, the parts' ETags and the segments they
 * hold are in the file state, so any node continues; the last part
 * completes at the join, which reads the object back to check every tag.
 *
 * State objects are sealed (AES-256-GCM under K_u, derived from the
 * deployment key); a chunk is encrypted segment by segment as it arrives,
 * with the nonce of its position, so the joined object is byte for byte what
 * envelope_writer would have written with the same key and prefix.
 * Thread safety: no shared state; a chunk belongs to one thread.
 */
#ifndef OFFLOAD_TRANSFER_TUS_H
#define OFFLOAD_TRANSFER_TUS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "envelope.h"
#include "keys.h"
#include "storage.h"

#define TUS_GROUP_INDEX 0xffffffffu  /* the index of "<id>/u" in its aad */
#define TUS_PREFIX_LEN 7u
#define TUS_STATE_HDR 46u            /* magic 5, version 1, id 24, index 4, nonce 12 */

enum tus_file_state { TUS_OPEN = 0, TUS_DONE, TUS_REFUSED };

/* a file of a sent reply (the group state's sent form) */
struct tus_sent {
	uint64_t length;
	enum tus_file_state state;                      /* TUS_DONE or TUS_REFUSED */
	char why[16];                                   /* refused: the verdict of its detail
	                                                 * ("infected", "unscannable", "damaged"),
	                                                 * "" not recorded */
};

struct tus_group {
	char src[ENVELOPE_ID_TEXT_LEN + 1];             /* the transfer replied to */
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1];      /* of the new transfer */
	char revoke_secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	int64_t created, expires;
	char *message;                                  /* UTF-8, may be "" */
	uint32_t count;                                 /* declared files */
	uint64_t total;                                 /* declared bytes */
	/* the reply is committed: count entries, and secret, revoke_secret and
	 * message are not stored (group_put writes the sent form) */
	struct tus_sent *sent;
};

struct tus_file {
	uint32_t index;
	unsigned char key[ENVELOPE_KEY_LEN];
	unsigned char prefix[TUS_PREFIX_LEN];
	uint64_t length, offset;
	char *name;
	enum tus_file_state state;
	char sha256[65];                                /* when done */
	char *detail;                                   /* refused: "infected:<signature>" or
	                                                 * "unscannable[:<why>]" (FORMATS.md §6.6) */
	uint32_t resent;                                /* times the file went back to the
	                                                 * client for a lost or damaged part
	                                                 * (upload/upload_resend.c), "resent" */
	/* a multipart upload (above): segments [0, mpu_segs) are in its parts */
	char *mpu;                                      /* upload id, NULL = part objects */
	GPtrArray *etags;                               /* char *: ETag of part i + 1 */
	uint64_t mpu_segs;
};

/* sealing (exposed for the test vectors) */
int transfer_tus_seal(const unsigned char dkey[32], const char *id, uint32_t index,
	const unsigned char *nonce, const char *json, size_t json_len,
	unsigned char **obj, size_t *obj_len);
int transfer_tus_open(const unsigned char dkey[32], const char *id, uint32_t index,
	const unsigned char *obj, size_t len, char **json);

/* group and file state in the store; get: STORAGE_ENOENT when missing,
 * STORAGE_EPERM when it does not open. A group with sent != NULL is written
 * in its sent form (no secrets, no message; FORMATS.md §6.6), which stays
 * after the commit so a repeated commit, HEAD or PATCH learns the result. */
int transfer_tus_group_put(struct storage *st, const struct key32 *dk, const char *id,
	const struct tus_group *g);
int transfer_tus_group_get(struct storage *st, const struct key32 *dk, const char *id,
	struct tus_group *g);
void transfer_tus_group_clear(struct tus_group *g); /* wipes the secrets */
/* transfer_tus_file_init - a new file: random key and prefix, offset 0 */
int transfer_tus_file_init(struct tus_file *f, uint32_t index, const char *name, uint64_t length);
int transfer_tus_file_put(struct storage *st, const struct key32 *dk, const char *id,
	const struct tus_file *f);
int transfer_tus_file_get(struct storage *st, const struct key32 *dk, const char *id,
	uint32_t index, struct tus_file *f);
void transfer_tus_file_clear(struct tus_file *f); /* wipes the key */
/* transfer_tus_refused_malware - a refused file's detail says the scanner
 * found malware in it (not: it could not check it, nor: its stored object
 * was damaged at the commit); FORMATS.md §6.6 */
gboolean transfer_tus_refused_malware(const char *detail);
/* transfer_tus_refused_why - the verdict of a refused file's detail:
 * "infected", "unscannable" or "damaged" (the words of §6.6) */
const char *transfer_tus_refused_why(const char *detail);

/* transfer_tus_mpu_begin - a new file f of id: its multipart upload where
 * the store has them and f is larger than a part (else nothing to do) */
int transfer_tus_mpu_begin(struct storage *st, const char *id, struct tus_file *f);

/* chunks: one PATCH body, starting at f->offset (a segment boundary); f
 * stays the caller's and must outlive the chunk: commit notes a new
 * multipart part in it (store f's state after the commit) */
struct transfer_tus_chunk;
struct transfer_tus_chunk *transfer_tus_chunk_begin(struct storage *st, const char *id,
	struct tus_file *f, int *errp);
/* transfer_tus_chunk_write - STORAGE_EPERM past the file's length */
int transfer_tus_chunk_write(struct transfer_tus_chunk *c, const void *buf, size_t len);
/* transfer_tus_chunk_commit - store the part; *end = the new offset. STORAGE_EPERM
 * (nothing stored) when the chunk ends inside a segment before the file's end;
 * STORAGE_ENOENT when the file's multipart upload or a tail part it builds on
 * is gone or wrong (the file must be sent again: transfer_tus_rewind to 0).
 * Frees c. */
int transfer_tus_chunk_commit(struct transfer_tus_chunk *c, uint64_t *end);
void transfer_tus_chunk_abort(struct transfer_tus_chunk *c); /* NULL ok */

/* transfer_tus_join - write "<id>/<n>" from the parts of a complete file,
 * decrypting as it goes (every tag checked): plain (NULL ok) sees the
 * plaintext, f->sha256 is set. Storage error code; STORAGE_EPERM when a part
 * is missing or does not verify, and then *resend (NULL ok) = the offset of
 * the first part that may be bad (the file must be sent again from there). */
int transfer_tus_join(struct storage *st, const char *id, struct tus_file *f,
	envelope_out_fn plain, void *arg, uint64_t *resend);
/* transfer_tus_cleanup - delete the parts of id; TUS_CLEAN_FILES also the
 * file states "u<n>", TUS_CLEAN_ALL also the group state "u" (last) */
enum tus_clean { TUS_CLEAN_PARTS, TUS_CLEAN_FILES, TUS_CLEAN_ALL };
int transfer_tus_cleanup(struct storage *st, const char *id, enum tus_clean what);
/* transfer_tus_file_remove - terminate file f of id: its multipart upload
 * (if any), its object "<id>/<n>", its parts, then its state "u<n>" (last,
 * so a failure can be repeated); missing objects are no error */
int transfer_tus_file_remove(struct storage *st, const char *id, const struct tus_file *f);
/* transfer_tus_parts_delete - delete the part objects of file index of id */
int transfer_tus_parts_delete(struct storage *st, const char *id, uint32_t index);
/* transfer_tus_parts_delete_from - only the parts from segment seg on */
int transfer_tus_parts_delete_from(struct storage *st, const char *id, uint32_t index, uint64_t seg);
/* transfer_tus_mpu_detach - f forgets its multipart upload (its etags and
 * segment count too); returns the upload id, the caller's to abort and free
 * (NULL: there was none) */
char *transfer_tus_mpu_detach(struct tus_file *f);
/* transfer_tus_rewind - file f of id goes back to offset from (a segment
 * boundary, where transfer_tus_join's *resend put it): its parts from there
 * on are deleted and, for a multipart upload (whose object the join deleted),
 * the upload is begun again at offset 0; the caller writes the state */
int transfer_tus_rewind(struct storage *st, const char *id, struct tus_file *f, uint64_t from);

#endif
