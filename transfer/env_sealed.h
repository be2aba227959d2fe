/*
 * env_sealed.h - PRIVATE to transfer/: the sealed JSON side objects
 * "magic(5) ‖ version ‖ id(24) [‖ fields] ‖ nonce(12) ‖ AES-256-GCM(json)"
 * with aad = every byte before the nonce (reply r, upload state u, notify n,
 * sender view s, upload link l; bytes in docs/FORMATS.md §6.4-§6.6, §6.7, §6.11).
 * The callers derive the key and check their own bounds (JSON size, id);
 * env_sealed_object and env_sealed_object_open write and check the head (and
 * any fields after the id) and the length, and run the GCM.
 * The MACed side objects (info i, tombstone t, state x, once markers o<event>;
 * §6.2, §6.3, §6.8, revoke.h) share the head and end in
 * HMAC-SHA256(HKDF(deployment key, "", info), every byte before the MAC).
 */
#ifndef OFFLOAD_ENV_SEALED_H
#define OFFLOAD_ENV_SEALED_H

#include <stdbool.h>
#include <stddef.h>

#define ENV_SEALED_HEAD 30u /* magic(5) version(1) id(24) */

/* env_sealed_head - magic, version 1 and the 24-character id into o[0..30) */
void env_sealed_head(unsigned char *o, const char magic[5], const char *id);

/* env_sealed_head_ok - obj (at least 30 bytes) starts with magic, version 1
 * and id; false when id is NULL or not 24 characters long */
bool env_sealed_head_ok(const unsigned char *obj, const char magic[5], const char *id);

/* the bytes of a sealed object's head after the id, and room after the tag */
struct env_sealed_more {
	const unsigned char *fields; /* nf bytes after the id: written by env_sealed_object,
				      * compared by env_sealed_object_open unless NULL */
	size_t nf;
	size_t tail;                 /* bytes after the tag that the caller owns (a MAC) */
};

/* env_sealed_object - a new g_malloc'd object magic ‖ version ‖ id ‖ x->fields ‖
 * nonce (12 random bytes when NULL) ‖ AES-256-GCM_k(json) with aad = every byte
 * before the nonce, and x->tail unwritten bytes after the tag (*obj_len counts
 * them); x may be NULL (no fields, no tail). ENVELOPE_OK, ENVELOPE_EINVAL (id is
 * not a valid id) or ENVELOPE_EINTERNAL; *obj is NULL on failure. */
int env_sealed_object(const unsigned char k[32], const char magic[5], const char *id,
	const struct env_sealed_more *x, const unsigned char *nonce, const char *json,
	size_t json_len, unsigned char **obj, size_t *obj_len);

/* env_sealed_object_open - opens such an object obj[0..len) into *json, a
 * NUL-ended g_malloc string (crypto_free_string or g_free; the unverified
 * plaintext is wiped on failure). ENVELOPE_EINVAL when len is below head,
 * nonce, tag and tail or above max, or magic, version, id or the fields (when
 * x->fields is set) differ; else ENVELOPE_OK, ENVELOPE_EAUTH or
 * ENVELOPE_EINTERNAL. *json is NULL on failure. */
int env_sealed_object_open(const unsigned char k[32], const char magic[5], const char *id,
	const struct env_sealed_more *x, const unsigned char *obj, size_t len, size_t max,
	char **json);

/* env_mac_put - that MAC of o[0..len) into o + len; 0, or -1 when HKDF fails
 * (o + len then untouched) */
int env_mac_put(const unsigned char dkey[32], const char *info, unsigned char *o, size_t len);

/* env_mac_ok - the 32 bytes at obj + len are that MAC of obj[0..len)
 * (constant-time compare) */
bool env_mac_ok(const unsigned char dkey[32], const char *info, const unsigned char *obj,
	size_t len);

#endif
