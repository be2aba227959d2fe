/*
 * transfer_escrow.h - archive escrow (docs/FORMATS.md §6.1): the side object
 * "<id>/e" wraps a transfer's key TK for the archive's X25519 public key
 * (ephemeral X25519, HKDF-SHA-256, AES-256-GCM), so the archive opens any
 * transfer still in the store with its private key alone: no link secret,
 * no password, no deployment key. Key files are one line each,
 * "escrow-public:<64 hex>" and "escrow-private:<64 hex>"
 * (`offloadctl escrow keygen`). No shared state; thread-safe.
 */
#ifndef OFFLOAD_TRANSFER_ESCROW_H
#define OFFLOAD_TRANSFER_ESCROW_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "storage.h"

#define ESCROW_KEY_LEN 32u
#define ESCROW_KEYID_LEN 8u       /* raw bytes in the object; 16 hex characters printed */
#define ESCROW_OBJECT_LEN 130u
#define ESCROW_NONCE_LEN 12u

/* reader results besides 0 */
enum escrow_err {
	ESCROW_EINVAL = -1,  /* malformed object, or another transfer's */
	ESCROW_EKEY = -2,    /* wrapped for another escrow key (key id differs) */
	ESCROW_EAUTH = -3,   /* X25519 or GCM tag failure: wrong key or tampered */
	ESCROW_EINTERNAL = -4,
};

/* an escrow public key as the gateway holds it */
struct transfer_escrow_key {
	bool set;                           /* false: [archive] escrow_public_key is empty */
	unsigned char pub[ESCROW_KEY_LEN];
	char id[2 * ESCROW_KEYID_LEN + 1];  /* hex key id */
};

/* transfer_escrow_keygen - a fresh X25519 key pair; 0 or -1 (logged) */
int transfer_escrow_keygen(unsigned char priv[ESCROW_KEY_LEN], unsigned char pub[ESCROW_KEY_LEN]);
/* transfer_escrow_public - the public key of a private key; 0 or -1 */
int transfer_escrow_public(const unsigned char priv[ESCROW_KEY_LEN], unsigned char pub[ESCROW_KEY_LEN]);
/* transfer_escrow_key_id - hex of SHA-256("offload escrow key id" || pub)[0..8) */
void transfer_escrow_key_id(const unsigned char pub[ESCROW_KEY_LEN], char id[2 * ESCROW_KEYID_LEN + 1]);

/* transfer_escrow_key_write - write "escrow-public:" or "escrow-private:" and the key as
 * hex to a new file (O_EXCL; mode 0600 private, 0644 public); 0 or -1 with *err */
int transfer_escrow_key_write(const char *path, bool private_key,
	const unsigned char key[ESCROW_KEY_LEN], GError **err);
/* transfer_escrow_key_read - read a key file of the given kind; 0 or -1 with *err
 * (missing, unreadable, the other kind, malformed) */
int transfer_escrow_key_read(const char *path, bool private_key, unsigned char key[ESCROW_KEY_LEN],
	GError **err);
/* transfer_escrow_key_load - [archive] escrow_public_key: "" leaves k->set false;
 * else the public key file must load; 0 or -1 with *err */
int transfer_escrow_key_load(const char *path, struct transfer_escrow_key *k, GError **err);

/* transfer_escrow_seal - the 130-byte "<id>/e" object for tk (random ephemeral key
 * and nonce); transfer_escrow_seal_fixed - the same with given ones (test vectors) */
int transfer_escrow_seal(const unsigned char pub[ESCROW_KEY_LEN], const char *id,
	const unsigned char tk[32], unsigned char obj[ESCROW_OBJECT_LEN]);
int transfer_escrow_seal_fixed(const unsigned char pub[ESCROW_KEY_LEN], const char *id,
	const unsigned char tk[32], const unsigned char eph_priv[ESCROW_KEY_LEN],
	const unsigned char nonce[ESCROW_NONCE_LEN], unsigned char obj[ESCROW_OBJECT_LEN]);
/* transfer_escrow_open - unwrap TK with the escrow private key; 0 or an ESCROW_E* code.
 * key_id (optional) receives the hex key id the object names, when it is well-formed. */
int transfer_escrow_open(const unsigned char priv[ESCROW_KEY_LEN], const char *id,
	const unsigned char *obj, size_t len, unsigned char tk[32],
	char key_id[2 * ESCROW_KEYID_LEN + 1]);

struct transfer;
/* transfer_escrow_commit - the transfer commit's hook: with t->escrow set, store
 * "<id>/e" for tk (recorded for abort); nothing without. A storage error code. */
int transfer_escrow_commit(struct transfer *t, const unsigned char tk[32]);
/* transfer_escrow_get - read "<id>/e" (at most 4 KiB); storage error code,
 * STORAGE_ENOENT when the transfer has none */
int transfer_escrow_get(struct storage *st, const char *id, GByteArray **obj);

#endif
