/*
 * transfer_agreed.h - pre-agreed recipient secrets for batch senders
 * (issue 12, FORMATS.md §6.9, §6.10).
 * A recipient secret "recipients/<h>" (global, sealed under a key derived
 * from the deployment key) holds the Argon2id output A_r of the password an
 * organisation agreed with one recipient, with its per-recipient salt and
 * parameters. A transfer whose external recipients all have one gets a
 * random 32-byte X as the pwhash of FORMATS.md §2.2, and "<id>/k" wraps X
 * once per recipient under HKDF(A_r, ...): the link secret plus any one
 * recipient's agreed password opens it, and no password is sent at all.
 * Agreed passwords are used exactly as typed (no normalisation).
 */
#ifndef OFFLOAD_TRANSFER_AGREED_H
#define OFFLOAD_TRANSFER_AGREED_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "envelope.h"
#include "keys.h"
#include "storage.h"

#define TRANSFER_RECIPIENT_PREFIX "recipients/"
#define TRANSFER_AGREED_MAX 8u          /* wraps per transfer: bounds the unlock's Argon2id runs */
#define TRANSFER_AGREED_PW_MIN 12u      /* characters of an agreed password */
#define TRANSFER_AGREED_SALT_LEN 16u
#define TRANSFER_AGREED_ADDR_MAX 320u
#define TRANSFER_AGREED_EINVAL (-1)     /* malformed object */
#define TRANSFER_AGREED_EAUTH (-2)      /* tag mismatch: wrong key or password, or a changed byte */

struct transfer_recipient {
	char *address;                           /* lower-cased, g_malloc'ed */
	unsigned char salt[TRANSFER_AGREED_SALT_LEN];
	uint32_t m, t, p;                        /* Argon2id memory KiB, passes, lanes */
	unsigned char a[32];                     /* A_r = Argon2id(password, salt, m, t, p) */
};

/* the wraps of one transfer: X and, per recipient, what wraps it */
struct transfer_agreed {
	unsigned char x[32];
	unsigned n;
	struct transfer_recipient r[TRANSFER_AGREED_MAX];
};

/* ---- recipient secrets (§6.10) ---------------------------------------- */
/* transfer_recipient_name - "recipients/<32 hex>" for ADDRESS (case-insensitive), g_malloc'ed */
char *transfer_recipient_name(const struct key32 *dk, const char *address);
/* transfer_recipient_derive - A_r for PASSWORD under salt and parameters
 * (within the floor/ceiling of transfer_password.h); 0 or -1 */
int transfer_recipient_derive(const char *password, const unsigned char salt[16], uint32_t m,
	uint32_t t, uint32_t p, unsigned char a[32]);
/* transfer_recipient_make - a fresh random salt, the writer's parameters, A_r; 0 or -1 */
int transfer_recipient_make(const char *address, const char *password, struct transfer_recipient *out);
/* transfer_recipient_seal - the object (g_malloc'ed) with this nonce; 0 or -1 */
int transfer_recipient_seal(const struct key32 *dk, const struct transfer_recipient *r,
	const unsigned char nonce[12], unsigned char **obj, size_t *len);
/* transfer_recipient_open - the object stored as NAME ("recipients/<h>");
 * 0 (*out set), TRANSFER_AGREED_EINVAL or _EAUTH */
int transfer_recipient_open(const struct key32 *dk, const char *name, const unsigned char *buf,
	size_t len, struct transfer_recipient *out);
void transfer_recipient_clear(struct transfer_recipient *r); /* wipes */
/* transfer_recipient_put / _get / _delete - in the store; get: 1 found,
 * 0 none or invalid (logged), negative storage error; put/delete: storage code */
int transfer_recipient_put(struct storage *st, const struct key32 *dk, const struct transfer_recipient *r);
int transfer_recipient_get(struct storage *st, const struct key32 *dk, const char *address,
	struct transfer_recipient *out);
int transfer_recipient_delete(struct storage *st, const struct key32 *dk, const char *address);
/* transfer_recipient_list - the addresses of every valid recipient secret
 * (sorted, g_free'd strings) into *out; storage code */
int transfer_recipient_list(struct storage *st, const struct key32 *dk, GPtrArray **out);

/* ---- wraps "<id>/k" (§6.9) -------------------------------------------- */
/* transfer_agreed_encode - the object for X and the recipients, with one
 * nonce per entry; g_malloc'ed; 0 or -1 */
int transfer_agreed_encode(const char *id, const struct transfer_agreed *ag,
	const unsigned char (*nonces)[12], unsigned char **obj, size_t *len);
/* transfer_agreed_unwrap - X for PASSWORD: Argon2id with each entry's salt
 * in turn until one tag verifies; 0, TRANSFER_AGREED_EINVAL or _EAUTH */
int transfer_agreed_unwrap(const char *id, const unsigned char *obj, size_t len,
	const char *password, unsigned char x[32]);

/* which wrap opened (for the audit log, issue 12): its index and salt */
struct transfer_agreed_use {
	int entry;                               /* -1 = not an agreed-secret unlock */
	unsigned char salt[TRANSFER_AGREED_SALT_LEN];
};
/* transfer_agreed_unwrap_use - transfer_agreed_unwrap, telling which entry opened (use may be NULL) */
int transfer_agreed_unwrap_use(const char *id, const unsigned char *obj, size_t len,
	const char *password, unsigned char x[32], struct transfer_agreed_use *use);
void transfer_agreed_free(struct transfer_agreed *ag); /* wipes; NULL ok */

struct transfer;
/* transfer_agreed_commit - write "<id>/k" when t->agreed is set, remembered
 * for transfer_abort; storage code (STORAGE_OK when nothing to write) */
int transfer_agreed_commit(struct transfer *t);
/* transfer_unlock_key - TK for a manifest header like transfer_derive_key,
 * but a password transfer whose valid info object says "agreed" is opened
 * through "<id>/k". 0; TRANSFER_AGREED_EAUTH for a wrong agreed password;
 * -1 otherwise (no password, KDF refused, k missing or malformed) */
int transfer_unlock_key(struct storage *st, const struct key32 *dk, const struct envelope_header *h,
	const char *secret, const char *password, unsigned char tk[32]);
/* transfer_unlock_key_use - the same; *use says which wrap opened (entry -1: none) */
int transfer_unlock_key_use(struct storage *st, const struct key32 *dk, const struct envelope_header *h,
	const char *secret, const char *password, unsigned char tk[32], struct transfer_agreed_use *use);
/* transfer_recipient_find - the recipient secret whose salt opened: the
 * first of ADDRESSES (at most max looked up) whose record has that salt;
 * its lower-cased address (g_malloc'ed). 1 found, 0 not (removed or set
 * anew since), negative storage error */
int transfer_recipient_find(struct storage *st, const struct key32 *dk, const GPtrArray *addresses,
	guint max, const unsigned char salt[TRANSFER_AGREED_SALT_LEN], char **address);

#endif
