/*
 * transfer.h - one message's offloaded files as stored objects
 * (DECISIONS.md §6): "<id>/<n>" encrypted file objects, written first, then
 * the manifest "<id>/m" last, so a manifest never points at missing files.
 * Abort deletes whatever was committed. The read side opens a manifest with
 * the link secret and streams files back, failing closed.
 * A struct transfer belongs to one thread.
 */
#ifndef OFFLOAD_TRANSFER_H
#define OFFLOAD_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "envelope.h"
#include "keys.h"
#include "storage.h"

struct transfer_file {
	uint32_t index;
	char *name;
	char *type;
	uint64_t size;
	char sha256[65];
	unsigned char key[ENVELOPE_KEY_LEN];
};

struct transfer {
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	/* the sender's revoke secret (DECISIONS.md §6): same text form as the link
	 * secret, random, only its hash goes into the clear header; set by
	 * transfer_new (empty in a transfer opened from storage) */
	char revoke_secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	int64_t created, expires;
	GPtrArray *files;       /* struct transfer_file * */
	char *sender, *subject, *message_id, *class_;
	GPtrArray *rcpts;       /* char * */
	struct storage *st;     /* borrowed */
	GPtrArray *committed;   /* keys committed so far (for abort) */
	bool sealed;
	/* optional password (transfer_set_password): generated, never stored;
	 * wiped by transfer_free. kdf_*: Argon2id parameters written to the
	 * clear header (0 without a password) */
	char *password;
	uint32_t kdf_m, kdf_t, kdf_p;
};

/* Argon2id (DECISIONS.md §6, §13): what writers use, and the floor/ceiling
 * readers enforce before spending memory on a header's parameters */
#define TRANSFER_KDF_M_KIB 65536u
#define TRANSFER_KDF_T 3u
#define TRANSFER_KDF_P 4u
#define TRANSFER_KDF_M_MIN 19456u
#define TRANSFER_KDF_M_MAX 262144u
#define TRANSFER_KDF_T_MIN 1u
#define TRANSFER_KDF_T_MAX 10u
#define TRANSFER_KDF_P_MIN 1u
#define TRANSFER_KDF_P_MAX 16u
/* generated password: 16 characters of a 31-letter unambiguous alphabet
 * (79 bits) in groups of four, "xxxx-xxxx-xxxx-xxxx" */
#define TRANSFER_PASSWORD_ALPHABET "23456789abcdefghjkmnpqrstuvwxyz"
#define TRANSFER_PASSWORD_TEXT_LEN 19u

struct transfer_upload;

struct transfer *transfer_new(struct storage *st, int64_t now, uint64_t retention);
void transfer_free(struct transfer *t); /* wipes keys; NULL ok */

/* transfer_upload_begin - start file number t->files->len; storage error
 * code in *errp on failure */
struct transfer_upload *transfer_upload_begin(struct transfer *t, const char *name,
	const char *type, int *errp);
int transfer_upload_write(struct transfer_upload *u, const void *buf, size_t len);
uint64_t transfer_upload_size(const struct transfer_upload *u);
/* transfer_upload_commit - finish, commit the object, add the file to t;
 * frees u in all cases; a storage error code on failure */
int transfer_upload_commit(struct transfer_upload *u);
void transfer_upload_abort(struct transfer_upload *u); /* NULL ok */

/* transfer_commit - seal and store the manifest; storage error code */
int transfer_commit(struct transfer *t, const struct key32 *dk);
/* transfer_abort - delete every object committed so far (best effort) */
void transfer_abort(struct transfer *t);
char *transfer_link(const struct transfer *t, const char *portal_url);
/* transfer_revoke_link - "<portal_url>/r/<id>#<revoke_secret>", g_malloc'ed;
 * for the sender's confirmation mail only */
char *transfer_revoke_link(const struct transfer *t, const char *portal_url);
/* Body digest (FORMATS.md §3.1): SHA-256 over a message body (the bytes
 * after the header block) with every CRLF or bare LF counted as one LF and
 * all line ends at the very end dropped, so the digest survives CRLF<->LF
 * conversion and a transport adding or dropping the final line end. A CR
 * not followed by LF stays. Streamed: feed the body in pieces of any size. */
#define TRANSFER_BODY_DIGEST_LEN 32
struct crypto_sha256_ctx;
struct body_digest {
	struct crypto_sha256_ctx *h;
	uint64_t lf;  /* line ends held back: they may be the trailing ones */
	bool cr;      /* a CR held back: CRLF or a bare CR */
};
void body_digest_init(struct body_digest *d);
void body_digest_update(struct body_digest *d, const void *buf, size_t len);
void body_digest_final(struct body_digest *d, unsigned char out[32]); /* frees d->h */
/* body_digest_file - the digest of path from offset to the end; 0 or -1
 * (errno set) */
int body_digest_file(const char *path, uint64_t offset, unsigned char out[32]);

/* transfer_header_mac - the mac= of X-Offload-Transfer over Message-ID,
 * transfer id and the body digest of the message as sent (22 chars
 * base64url, FORMATS.md §3.1) with the deployment key */
char *transfer_header_mac(const struct key32 *dk, const char *message_id, const char *id,
	const unsigned char body[32]);
/* transfer_header_mac_check - true when mac (the text after "mac=") starts
 * with exactly transfer_header_mac(dk, message_id, id, body), compared in
 * constant time, followed by the end, ';' or white space (FORMATS.md §3.1) */
bool transfer_header_mac_check(const struct key32 *dk, const char *message_id, const char *id,
	const unsigned char body[32], const char *mac);

/* transfer_set_password - generate the transfer's password (before
 * transfer_commit); returns t->password (owned by t) or NULL */
const char *transfer_set_password(struct transfer *t);
/* transfer_password_normalise - separators (space - _ .) stripped, ASCII
 * case folded; g_malloc'ed, the caller wipes it */
char *transfer_password_normalise(const char *password);
/* transfer_password_hash - Argon2id(normalised password, salt
 * "offload v1 pw" || id, m/t/p) -> 32 bytes; -1 when the parameters are
 * outside the floor/ceiling or the KDF fails (logged) */
int transfer_password_hash(const char *id, const char *password, uint32_t m_kib,
	uint32_t t_cost, uint32_t p_lanes, unsigned char out[32]);
/* transfer_derive_key - TK for a manifest header: link secret, plus the
 * Argon2id hash of the password when the header says one is needed.
 * -1 (password missing or KDF refused) */
int transfer_derive_key(const struct envelope_header *h, const char *secret,
	const char *password, unsigned char tk[32]);

/* ---- tombstones "<id>/t" (revocation, DECISIONS.md §6) --------------------
 * "OFLDT" | 0x01 | id(24) | revoked_at BE64 | expires BE64 | HMAC(K_t, all
 * before) with K_t = HKDF(deployment key, "", "offload v1 tombstone"). */
#define TRANSFER_TOMBSTONE_LEN 78u
#define TRANSFER_TOMBSTONE_EINVAL (-1) /* wrong length, magic, version or id */
#define TRANSFER_TOMBSTONE_EAUTH (-2)  /* MAC mismatch (another key, or forged) */
/* transfer_tombstone_encode - the 78 bytes of id's tombstone; -1 for an
 * invalid id (FORMATS.md §5) */
int transfer_tombstone_encode(const struct key32 *dk, const char *id, int64_t revoked_at,
	int64_t expires, unsigned char out[TRANSFER_TOMBSTONE_LEN]);
/* transfer_tombstone_decode - check a tombstone object of id: 0 (fields
 * stored, may be NULL), TRANSFER_TOMBSTONE_EINVAL or _EAUTH (FORMATS.md §5) */
int transfer_tombstone_decode(const struct key32 *dk, const char *id, const unsigned char *buf,
	size_t len, int64_t *revoked_at, int64_t *expires);
int transfer_tombstone_write(struct storage *st, const struct key32 *dk, const char *id,
	int64_t revoked_at, int64_t expires);
/* transfer_tombstone_read - 1 revoked (a tombstone with a valid MAC),
 * 0 none (or one with a bad MAC: logged, ignored), negative storage error */
int transfer_tombstone_read(struct storage *st, const struct key32 *dk, const char *id,
	int64_t *revoked_at, int64_t *expires);

/* ---- revocation (DECISIONS.md §6) ---------------------------------------- */
/* transfer_revoke_check - true when revoke_secret (text) matches the
 * revoke hash of a MAC-verified header (envelope_manifest_header);
 * constant-time compare */
bool transfer_revoke_check(const struct envelope_header *h, const char *revoke_secret);
/* transfer_parse_revoke_link - ".../r/<id>#<revoke secret>"; 0 or -1 */
int transfer_parse_revoke_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1]);
enum transfer_revoke_step {
	TRANSFER_REVOKE_DONE = 0,
	TRANSFER_REVOKE_TOMBSTONE,  /* writing the tombstone failed: nothing deleted */
	TRANSFER_REVOKE_MANIFEST,   /* revoked, deleting the manifest failed */
	TRANSFER_REVOKE_FILES,      /* revoked, listing/deleting file objects failed */
};
/* transfer_revoke - the one revocation path (`offloadctl revoke`, the
 * portal's revoke link): unless tombstoned (a valid tombstone already
 * exists), write the tombstone (revoked_at = now, expires) first — the
 * portal answers 410 from then on and every live download ticket dies —
 * then delete the manifest, then every other object "<id>/..." except the
 * tombstone. Running it again finishes an interrupted deletion. Returns
 * STORAGE_OK or the first storage error; *step (may be NULL) says where
 * it stopped, *deleted (may be NULL) counts deleted objects. */
int transfer_revoke(struct storage *st, const struct key32 *dk, const char *id,
	bool tombstoned, int64_t now, int64_t expires, enum transfer_revoke_step *step,
	unsigned *deleted);

/* read side -------------------------------------------------------- */
/* transfer_valid_id - 24 characters of the id alphabet */
bool transfer_valid_id(const char *id);
/* transfer_get_manifest - the raw manifest object (capped at 16 MiB);
 * storage error code (STORAGE_ENOENT when missing) */
int transfer_get_manifest(struct storage *st, const char *id, GByteArray **obj);
/* transfer_open_obj - open a manifest object with TK (from
 * transfer_derive_key); NULL with *err (G_IO_ERROR_PERMISSION_DENIED when
 * the key is wrong or the header MAC fails) */
struct transfer *transfer_open_obj(struct storage *st, const struct key32 *dk,
	const char *id, const unsigned char *obj, size_t len, const unsigned char tk[32],
	GError **err);
/* transfer_open_pw - transfer_open() with a password (NULL = none) */
struct transfer *transfer_open_pw(struct storage *st, const struct key32 *dk,
	const char *id, const char *secret, const char *password, GError **err);

/* ranged, pull-style file reader: verified plaintext of bytes
 * [offset, offset + length) of file idx; memory O(batch of segments).
 * read returns bytes (0 = range done) or a negative ENVELOPE_* code, or
 * TRANSFER_STREAM_ESTORAGE (storage failed: storage error in *storage_err) */
#define TRANSFER_STREAM_ESTORAGE (-100)
struct transfer_stream;
struct transfer_stream *transfer_stream_new(struct storage *st, const char *id, uint32_t idx,
	const unsigned char key[32], uint64_t plain_size, uint64_t offset, uint64_t length);
long transfer_stream_read(struct transfer_stream *s, void *buf, size_t max, int *storage_err);
void transfer_stream_free(struct transfer_stream *s); /* wipes; NULL ok */
/* transfer_read_range - push-style: plaintext bytes [offset, offset+length)
 * of file idx to out; 0 or negative with *err */
int transfer_read_range(struct transfer *t, uint32_t idx, uint64_t offset, uint64_t length,
	envelope_out_fn out, void *arg, GError **err);
/* transfer_parse_link - ".../t/<id>#<secret>" or "<id>#<secret>" */
int transfer_parse_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1]);
/* transfer_open - load and decrypt the manifest; NULL with *err */
struct transfer *transfer_open(struct storage *st, const struct key32 *dk,
	const char *id, const char *secret, GError **err);
/* transfer_read_file - stream the plaintext of file idx to out; checks size
 * and SHA-256 against the manifest; 0 or negative with *err */
int transfer_read_file(struct transfer *t, uint32_t idx, envelope_out_fn out, void *arg,
	GError **err);

#endif
