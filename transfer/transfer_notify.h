/*
 * transfer_notify.h - what the portal and the purge timer need to tell the
 * sender about a transfer (FORMATS.md §6.7, §6.8):
 *  - the notify object "<id>/n": the sender's address and the receipt mode,
 *    sealed under a key derived from the deployment key, so every node (and
 *    whoever holds the deployment key and the store) can read the address:
 *    the price of receipts and reminders without the link or revoke secret.
 *    Written by transfer_commit before the manifest; never holds a link.
 *  - once markers "<id>/o<event>" ("oreceipt<n>", "oreminder",
 *    "obruteforce"): created if absent (storage_create), so of several nodes
 *    only the one that created the marker sends the mail.
 * Thread safety: no shared state.
 */
#ifndef OFFLOAD_TRANSFER_NOTIFY_H
#define OFFLOAD_TRANSFER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "storage.h"

/* [notify] receipts, per level [classify] receipts */
enum transfer_receipts {
	TRANSFER_RECEIPTS_NONE = 0,
	TRANSFER_RECEIPTS_FIRST = 1, /* one mail per file, the first complete download */
	TRANSFER_RECEIPTS_EVERY = 2, /* one mail per complete download */
};

struct transfer_notify {
	char *to; /* the sender's address (g_malloc'ed) */
	enum transfer_receipts receipts;
};

#define TRANSFER_NOTIFY_HDR 42u        /* magic, version, id, nonce */
#define TRANSFER_NOTIFY_MAX_JSON 4096u
#define TRANSFER_NOTIFY_EINVAL (-1)    /* length, magic, version, id, JSON */
#define TRANSFER_NOTIFY_EAUTH (-2)     /* GCM tag: another key, or changed */

/* transfer_receipts_parse - "first", "every", "none" -> the mode, -1 otherwise */
int transfer_receipts_parse(const char *s);
const char *transfer_receipts_name(enum transfer_receipts r);

/* transfer_notify_seal - the object for json (nonce NULL = random);
 * 0 and *obj (g_malloc'ed), or TRANSFER_NOTIFY_EINVAL */
int transfer_notify_seal(const struct key32 *dk, const char *id, const unsigned char *nonce,
	const char *json, size_t json_len, unsigned char **obj, size_t *obj_len);
/* transfer_notify_decode - open and parse an object: 0 (*out filled, caller
 * clears), _EINVAL or _EAUTH */
int transfer_notify_decode(const struct key32 *dk, const char *id, const unsigned char *obj,
	size_t len, struct transfer_notify *out);
void transfer_notify_clear(struct transfer_notify *n);
/* transfer_notify_read - get "<id>/n": 1 (*out filled), 0 none or invalid
 * (logged), a negative storage error */
int transfer_notify_read(struct storage *st, const struct key32 *dk, const char *id,
	struct transfer_notify *out);
struct transfer;
/* transfer_notify_commit - write "<id>/n" when t->notify_to is set
 * (remembered for transfer_abort); a storage error code */
int transfer_notify_commit(struct transfer *t, const struct key32 *dk);

/* once markers (§6.8). event: [a-z0-9]{1,16}, e.g. "receipt3", "reminder" */
#define TRANSFER_ONCE_LEN 86u
/* transfer_once_encode - "OFLDO" | 1 | id | event (16, NUL-padded) | time
 * (i64 BE) | HMAC(K_x, all before); -1 for a bad id or event */
int transfer_once_encode(const struct key32 *dk, const char *id, const char *event, int64_t now,
	unsigned char out[TRANSFER_ONCE_LEN]);
/* transfer_once_key - the marker's storage key "<id>/o<event>" (cap >= 64 for any id and event) */
void transfer_once_key(char *key, size_t cap, const char *id, const char *event);
/* transfer_once_claim - create "<id>/o<event>" if absent: 1 created (the
 * caller sends), 0 it existed (someone did already), a negative storage error */
int transfer_once_claim(struct storage *st, const struct key32 *dk, const char *id,
	const char *event, int64_t now);
/* transfer_once_release - delete the marker again (the mail failed: a later
 * attempt may send it); best effort, logged */
void transfer_once_release(struct storage *st, const char *id, const char *event);
/* transfer_once_exists - 1 the marker exists, 0 not, a negative storage error */
int transfer_once_exists(struct storage *st, const char *id, const char *event);

#endif
