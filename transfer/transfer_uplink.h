/*
 * transfer_uplink.h - standalone upload links (issue 13, bytes in
 * docs/FORMATS.md §6.11): `offloadctl upload-link --for clerk@...` and the
 * subject marker ([upload] request_marker) make a link a clerk hands to a
 * citizen; files sent through it become a new transfer for the clerk.
 *
 *   link   <portal>/u/<id>#<base64url(token)>   (the reply link's form, §6.5)
 *   object <id>/l  (no manifest under <id>): created, expires in clear;
 *          {"to", "note"} sealed under K_l = HKDF(token, "", "offload v1
 *          upload link"); the whole object MACed under the deployment key,
 *          K_lm = HKDF(D, "", "offload v1 upload link mac").
 *
 * The token is 32 random bytes, kept nowhere but in the link. The MAC lets
 * purge and list trust the clear expiry without the token, and stops anyone
 * who can only write to the store from making links that send mail; the
 * seal lets only holders of the link read the address and note.
 * Thread safety: no shared state.
 */
#ifndef OFFLOAD_TRANSFER_UPLINK_H
#define OFFLOAD_TRANSFER_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "keys.h"
#include "storage.h"
#include "transfer_reply.h"

#define TRANSFER_UPLINK_HDR 58u  /* magic 5, version 1, id 24, created 8, expires 8, nonce 12 */
#define TRANSFER_UPLINK_MAX 8192u

struct transfer_uplink {
	int64_t created, expires;
	char *to;    /* the clerk; NULL when only the MAC was checked */
	char *note;  /* "" when none */
};

/* transfer_uplink_seal - the object (g_malloc'ed into *obj); nonce NULL = random */
int transfer_uplink_seal(const unsigned char dkey[32], const char *id,
	const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN], int64_t created, int64_t expires,
	const unsigned char *nonce, const char *json, size_t json_len,
	unsigned char **obj, size_t *obj_len);
/* transfer_uplink_decode - check OBJ (length, magic, version, id: EINVAL; MAC:
 * EAUTH) and, with tok, open it (EAUTH); fills l (to/note only with tok) */
int transfer_uplink_decode(const unsigned char dkey[32], const char *id,
	const unsigned char *tok, const unsigned char *obj, size_t len, struct transfer_uplink *l);
/* transfer_uplink_create - a new link for TO (note may be NULL) until
 * expires; *link = "<url>/u/<id>#<token>" (g_malloc'ed, wipe it) and the id in
 * id_out; storage error code */
int transfer_uplink_create(struct storage *st, const struct key32 *dk, const char *url,
	const char *to, const char *note, int64_t expires, char **link,
	char id_out[ENVELOPE_ID_TEXT_LEN + 1]);
/* transfer_uplink_read - "<id>/l" decoded (tok NULL: the MAC only); STORAGE_ENOENT
 * when there is none, STORAGE_EPERM when it fails a check (logged) */
int transfer_uplink_read(struct storage *st, const struct key32 *dk, const char *id,
	const unsigned char *tok, struct transfer_uplink *l);
void transfer_uplink_clear(struct transfer_uplink *l);
/* transfer_uplink_delete - revoke: every object under "<id>/" ("l", the use
 * use slots "y<n>"), then the id's containers; *n = objects deleted; storage code */
int transfer_uplink_delete(struct storage *st, const char *id, unsigned *n);

#endif
