/*
 * envelope.h - the transfer encryption format v1 (DECISIONS.md §6, bytes in
 * docs/FORMATS.md). Two object kinds live in storage:
 *
 *  - the manifest object "<id>/m": a clear header (MACed with the
 *    deployment key) followed by the AEAD-encrypted manifest JSON under a key
 *    derived from the transfer key TK;
 *  - file objects "<id>/<n>": a header (bound as AAD) and AES-256-GCM
 *    segments of 64 KiB plaintext, nonce = prefix || counter || last-flag,
 *    under a random per-file key that is stored only in the manifest.
 *
 * Writers and readers are push-style and stream: memory is O(segment).
 * A reader never hands out plaintext of a segment before its tag verified
 * and fails closed on truncation, reordering, extension or any tag failure.
 * Objects are not thread-shared; independent objects may be used in
 * parallel threads.
 */
#ifndef OFFLOAD_ENVELOPE_H
#define OFFLOAD_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_SEGMENT_SIZE 65536u
#define ENVELOPE_TAG_LEN 16u
#define ENVELOPE_KEY_LEN 32u
#define ENVELOPE_ID_RAW_LEN 15u     /* 120-bit transfer id */
#define ENVELOPE_ID_TEXT_LEN 24u    /* lower-case base32 of the raw id */
#define ENVELOPE_SECRET_RAW_LEN 16u /* 128-bit link secret */
#define ENVELOPE_SECRET_TEXT_LEN 22u/* base64url, no padding */

enum envelope_err {
	ENVELOPE_OK = 0,
	ENVELOPE_EINVAL = -1,  /* malformed object / bad arguments */
	ENVELOPE_EAUTH = -2,   /* tag, MAC or commitment failure: fail closed */
	ENVELOPE_ETRUNC = -3,  /* stream ended without a valid last segment */
	ENVELOPE_ESINK = -4,   /* the output callback asked to stop */
	ENVELOPE_EINTERNAL = -5,
};

/* out callback: return 0 to continue, nonzero to stop (-> ENVELOPE_ESINK) */
typedef int (*envelope_out_fn)(void *arg, const void *buf, size_t len);

/* envelope_new_ids - fresh random transfer id (24 chars) and link secret
 * (22 chars); both buffers must hold TEXT_LEN + 1 */
int envelope_new_ids(char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1]);

/* envelope_new_secret - a fresh random secret in the link secret's text
 * form (22 chars base64url, 128 bits); used for the revoke secret */
int envelope_new_secret(char secret[ENVELOPE_SECRET_TEXT_LEN + 1]);

/* envelope_revoke_hash - SHA-256("offload v1 revoke" || id || revoke
 * secret raw (16 bytes)), the value the clear header carries (FORMATS.md
 * §2.4); EINVAL for a malformed id or secret */
int envelope_revoke_hash(const char *id, const char *revoke_secret, unsigned char out[32]);

/* envelope_derive_tk - TK = HKDF(ikm = secret_raw [|| pwhash],
 * salt = "offload v1" || id, info = "offload v1 transfer key").
 * secret is the link secret in text form; pwhash may be NULL (no password). */
int envelope_derive_tk(const char *id, const char *secret,
	const unsigned char *pwhash, size_t pwhash_len, unsigned char tk[32]);

/* ---- file objects -------------------------------------------------- */
struct envelope_writer;
/* envelope_writer_new - random nonce prefix; writes the file header through
 * out before returning. key: the random per-file key. */
struct envelope_writer *envelope_writer_new(const unsigned char key[32],
	const char *transfer_id, uint32_t file_index, envelope_out_fn out, void *arg);
int envelope_writer_update(struct envelope_writer *w, const void *pt, size_t len);
/* envelope_writer_finish - encrypts the final segment (may be empty only for
 * an empty file) */
int envelope_writer_finish(struct envelope_writer *w);
void envelope_writer_free(struct envelope_writer *w); /* wipes; NULL ok */
/* envelope_file_size - object size for a given plaintext size */
uint64_t envelope_file_size(uint64_t plaintext_size);
/* envelope_file_header_len - bytes before the first segment */
size_t envelope_file_header_len(void);

struct envelope_reader;
/* envelope_reader_new - expects the header first; checks magic, version,
 * transfer id and file index against the arguments */
struct envelope_reader *envelope_reader_new(const unsigned char key[32],
	const char *transfer_id, uint32_t file_index, envelope_out_fn out, void *arg);
/* envelope_reader_new_at - a reader for a byte range: it expects the 45
 * header bytes first, then the object's bytes from
 * envelope_segment_offset(first_segment) on. Segment numbers (nonces)
 * start at first_segment, so every segment is still bound to its position;
 * the last-segment flag is checked when the input ends (finish). A caller
 * that stops early (range end before the object end) simply never calls
 * finish: only verified segments were released. */
struct envelope_reader *envelope_reader_new_at(const unsigned char key[32],
	const char *transfer_id, uint32_t file_index, uint64_t first_segment,
	envelope_out_fn out, void *arg);
/* envelope_reader_set_target - optional: fn(arg, ptlen) names a buffer of
 * ptlen bytes the next segment may be decrypted into (NULL: the reader's
 * own); out then gets that very pointer once the tag verified. On a failed
 * tag the buffer is wiped and out is not called: the caller must not use
 * (or send) those bytes before out says so. */
typedef unsigned char *(*envelope_target_fn)(void *arg, size_t ptlen);
void envelope_reader_set_target(struct envelope_reader *r, envelope_target_fn fn);
/* envelope_reader_seek - a range reader (new_at) goes on at segment: the
 * caller feeds the object's bytes from envelope_segment_offset(segment) on
 * (the nonce binds each segment to its number, so other bytes fail their
 * tag). Only between segments: EINVAL while part of one is held, after
 * finish or a failure. */
int envelope_reader_seek(struct envelope_reader *r, uint64_t segment);
/* envelope_reader_set_size - optional: the object's size as the caller
 * expects it (its plaintext size through envelope_file_size). A full segment
 * that ends before it is then verified as not last at once, instead of being
 * held (copied aside) until a byte after it arrives, so a caller feeding whole
 * segments never has them copied. A wrong size only fails closed: a last
 * segment taken for not last fails its tag, and an object that ends early
 * still lacks its last segment at finish. */
void envelope_reader_set_size(struct envelope_reader *r, uint64_t object_size);
/* envelope_segment_offset - object offset of segment n (header included) */
uint64_t envelope_segment_offset(uint64_t segment);
int envelope_reader_update(struct envelope_reader *r, const void *ct, size_t len);
/* envelope_reader_finish - ENVELOPE_ETRUNC unless a last segment verified
 * and no bytes followed it */
int envelope_reader_finish(struct envelope_reader *r);
void envelope_reader_free(struct envelope_reader *r);

/* ---- manifest object ----------------------------------------------- */
struct envelope_header {
	uint32_t version;        /* 1 */
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	int64_t created;         /* unix seconds */
	int64_t expires;         /* unix seconds */
	bool password;           /* a password is needed besides the secret */
	uint32_t kdf_m_kib, kdf_t, kdf_p; /* Argon2id parameters when password */
	char key_id[17];         /* deployment key id (keys.h) */
	unsigned char revoke_hash[32]; /* envelope_revoke_hash(); sealing refuses all zeros */
};
#define ENVELOPE_MANIFEST_HEADER_LEN 209u /* clear header bytes, MAC included */

/* envelope_manifest_seal - build the manifest object. mac_key: the
 * deployment key; tk from envelope_derive_tk; secret (text) for the
 * verifier. *obj is g_malloc'ed. */
int envelope_manifest_seal(const struct envelope_header *h,
	const unsigned char deployment_key[32], const char *secret,
	const unsigned char tk[32], const char *json, size_t json_len,
	unsigned char **obj, size_t *obj_len);
/* envelope_manifest_header - parse and MAC-check the clear header only
 * (what a portal shows before unlock). */
int envelope_manifest_header(const unsigned char *obj, size_t obj_len,
	const unsigned char deployment_key[32], struct envelope_header *h);
/* envelope_manifest_check_secret - 0 if the verifier in the header matches
 * the secret (tells a wrong password from a wrong secret) */
int envelope_manifest_check_secret(const unsigned char *obj, size_t obj_len,
	const char *secret);
/* envelope_manifest_open - MAC, key commitment, then AEAD; *json is
 * g_malloc'ed and NUL-terminated. deployment_key NULL: no MAC check (TK
 * alone, for the archive escrow; the AEAD still covers the header) */
int envelope_manifest_open(const unsigned char *obj, size_t obj_len,
	const unsigned char deployment_key[32], const unsigned char tk[32],
	struct envelope_header *h, char **json, size_t *json_len);

/* envelope_revoke_check - 0 when revoke_secret hashes to h->revoke_hash
 * (constant-time compare), EAUTH when not, EINVAL when malformed. h must
 * come from envelope_manifest_header() (MAC verified). */
int envelope_revoke_check(const struct envelope_header *h, const char *revoke_secret);

const char *envelope_strerror(int err);

#endif
