/*
 * transfer_reply.h - the reply link of a transfer (issue 13, FORMATS.md §6.5):
 * "send files back to <sender>". The reply token is
 * K_verify = HKDF(secret_raw, "offload v1" || id, "offload v1 verify") of
 * FORMATS.md §2.4: only holders of the transfer link can derive it (HKDF is
 * one-way, the secret is never stored), and anyone holding the manifest can
 * check it, since the clear header's verifier is HMAC(K_verify, id). The
 * token opens nothing: TK, the manifest key and the files stay out of reach.
 * The sender's address for the reply mail lives in "<id>/r", sealed under a
 * key derived from the token, written by transfer_commit() when t->reply_to
 * is set. Thread safety: no shared state.
 */
#ifndef OFFLOAD_TRANSFER_REPLY_H
#define OFFLOAD_TRANSFER_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "storage.h"

#define TRANSFER_REPLY_TOKEN_LEN 32u       /* raw bytes */
#define TRANSFER_REPLY_TOKEN_TEXT_LEN 43u  /* base64url, no padding */

struct transfer;

/* transfer_reply_token - the token of a transfer link (id, link secret); 0 or -1 */
int transfer_reply_token(const char *id, const char *secret,
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN]);
/* transfer_reply_link - "<url>/u/<id>#<token>", g_malloc'ed; NULL on a bad secret */
char *transfer_reply_link(const char *url, const char *id, const char *secret);
/* transfer_parse_reply_link - ".../u/<id>#<token>", or a transfer link
 * ".../t/<id>#<secret>" (the token is derived); 0 or -1 */
int transfer_parse_reply_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN]);
/* transfer_reply_check - 0 when HMAC(tok, id) equals the verifier of the
 * manifest object (constant time), ENVELOPE_EAUTH when not, ENVELOPE_EINVAL
 * when the object is too short. The caller has MAC-checked the header
 * (envelope_manifest_header) and compared its id. */
int transfer_reply_check(const unsigned char *manifest, size_t len, const char *id,
	const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN]);

/* reply object "<id>/r" ------------------------------------------------- */
#define TRANSFER_REPLY_OBJ_HDR 42u /* magic 5, version 1, id 24, nonce 12 */
/* transfer_reply_seal - the object for JSON (g_malloc'ed into *obj); nonce NULL = random */
int transfer_reply_seal(const char *id, const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN],
	const unsigned char *nonce, const char *json, size_t json_len,
	unsigned char **obj, size_t *obj_len);
/* transfer_reply_open - its JSON (g_malloc'ed, NUL-terminated); ENVELOPE_EINVAL, EAUTH */
int transfer_reply_open(const char *id, const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN],
	const unsigned char *obj, size_t len, char **json);
/* transfer_reply_commit - store "<id>/r" = {"to": t->reply_to} when t->reply_to
 * is set (called by transfer_commit before the manifest); storage error code */
int transfer_reply_commit(struct transfer *t);
/* transfer_reply_to - the sender address of "<id>/r" (g_malloc'ed); STORAGE_ENOENT
 * when the transfer has no reply object, STORAGE_EPERM when it does not open */
int transfer_reply_to(struct storage *st, const char *id,
	const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN], char **to);

#endif
