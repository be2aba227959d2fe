/*
 * transfer_revoke.h - revocation of a transfer (DECISIONS.md §6): the
 * signed tombstone object "<id>/t", the revoke secret check and the one
 * revocation path shared by `offloadctl revoke` and the portal.
 */
#ifndef OFFLOAD_TRANSFER_REVOKE_H
#define OFFLOAD_TRANSFER_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "keys.h"
#include "storage.h"

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

#endif
