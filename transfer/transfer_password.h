/*
 * transfer_password.h - the optional transfer password (DECISIONS.md §6,
 * §13): generation, normalisation, the Argon2id hash and the transfer key
 * TK derived from link secret and password.
 */
#ifndef OFFLOAD_TRANSFER_PASSWORD_H
#define OFFLOAD_TRANSFER_PASSWORD_H

#include <stdint.h>

#include "envelope.h"

struct transfer;

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

#endif
