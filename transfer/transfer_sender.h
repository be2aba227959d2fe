/*
 * transfer_sender.h - the sender view "<id>/s" (FORMATS.md §6.4): a JSON
 * summary of the transfer for its sender (file names, sizes, SHA-256,
 * recipients, class, subject, created, expires), sealed with AES-256-GCM
 * under HKDF(revoke_secret_raw, "offload v1" || id, "offload v1 sender view"),
 * so only the holder of the revoke link reads it. Written at commit, before
 * the manifest, together with the initial state object "<id>/x".
 */
#ifndef OFFLOAD_TRANSFER_SENDER_H
#define OFFLOAD_TRANSFER_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "storage.h"

struct transfer;

#define TRANSFER_SENDER_EINVAL (-1) /* malformed, another id, bad secret text */
#define TRANSFER_SENDER_EAUTH (-2)  /* the tag fails: wrong revoke secret or changed */
#define TRANSFER_SENDER_HDR 42u     /* "OFLDS" 0x01 id(24) nonce(12) */

/* transfer_sender_seal - the object for json under revoke_secret (text),
 * with the given 12-byte nonce; g_malloc'ed; -1 on bad input */
int transfer_sender_seal(const char *id, const char *revoke_secret, const unsigned char nonce[12],
	const char *json, size_t json_len, unsigned char **out, size_t *outlen);
/* transfer_sender_open - 0 and *json (g_malloc'ed, NUL-terminated), or an error above */
int transfer_sender_open(const char *id, const char *revoke_secret, const unsigned char *buf,
	size_t len, char **json);
/* transfer_sender_read - get and open "<id>/s": 1 (*json set), 0 none,
 * TRANSFER_SENDER_EAUTH/_EINVAL - 10 (logged), or a storage error */
int transfer_sender_read(struct storage *st, const char *id, const char *revoke_secret, char **json);
/* transfer_side_commit - write "<id>/s" and "<id>/x" (limit t->max_expires)
 * of a transfer about to be committed; adds the keys to t->committed;
 * storage rc (called by transfer_commit before the manifest) */
int transfer_side_commit(struct transfer *t, const struct key32 *dk);

#endif
