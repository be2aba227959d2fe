/*
 * portal_ticket.h - download tickets of offload-portal (DECISIONS.md §8): an
 * opaque AEAD token (AES-256-GCM) under a key derived from the portal
 * ticket key file, versioned with a key id byte so a rotated-out key stays
 * usable for one ticket lifetime. It binds purpose, transfer id, file index
 * (or "all"), the file's plaintext size (the object version: the object
 * size follows from it), not-after and the file name, and carries the file
 * key (or the transfer key TK for the ZIP of all files).
 *
 * Text form (version 2, docs/FORMATS.md §4):
 *   base64url(0x02 | kid | salt(16) | nonce(12) | GCM(plaintext) | tag(16)),
 *   K = HKDF(ticket_key, salt, "offload v2 portal ticket"),
 *   AAD = "offload v2 ticket" | 0x02 | kid. Plaintext:
 *   purpose 'd' | id(24) | index BE32 | part BE16 | size BE64 |
 *   not_after BE64 | key(32) | name_len(1) | name
 * Version 1 tickets (one HKDF key, no salt, no part) are still opened.
 * Memory: tickets are plain structs (wipe with portal_ticket_wipe());
 * sealed text is g_malloc'ed. Thread safety: keys are read-only after init.
 */
#ifndef OFFLOAD_PORTAL_TICKET_H
#define OFFLOAD_PORTAL_TICKET_H

#include <stdint.h>

#include "envelope.h"
#include "keys.h"

#define PORTAL_TICKET_ALL UINT32_MAX
#define PORTAL_TICKET_NAME_MAX 255u
#define PORTAL_TICKET_MAX_TEXT 600u

enum portal_ticket_err {
	PORTAL_TICKET_OK = 0,
	PORTAL_TICKET_EINVAL = -1,  /* malformed, forged, wrong key */
	PORTAL_TICKET_EEXPIRED = -2,
};

struct portal_ticket {
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	uint32_t index;            /* PORTAL_TICKET_ALL = ZIP of all files */
	uint16_t part;             /* 0 = the whole file; n >= 1 = n-th leaf of an .eml (v2) */
	uint64_t size;             /* plaintext size of the file; 0 for all */
	int64_t not_after;         /* unix seconds */
	unsigned char key[32];     /* file key, or TK for all */
	char name[PORTAL_TICKET_NAME_MAX + 1]; /* UTF-8 file name; "" for all */
};

struct portal_ticket_keys {
	unsigned char k[2][32];    /* v1 K_ticket: [0] current, [1] previous */
	unsigned char raw[2][32];  /* the ticket keys themselves (v2 derives per ticket) */
	unsigned char kid[2];
	int n;
};

/* portal_ticket_keys_init - derive the ticket AEAD keys; prev may be NULL */
void portal_ticket_keys_init(struct portal_ticket_keys *k, const struct key32 *cur,
	const struct key32 *prev);
void portal_ticket_keys_wipe(struct portal_ticket_keys *k);
/* portal_ticket_seal - the version 2 text form (g_malloc'ed) or NULL; uses key [0] */
char *portal_ticket_seal(const struct portal_ticket_keys *k, const struct portal_ticket *t);
/* portal_ticket_open - parse and verify; PORTAL_TICKET_EEXPIRED when
 * now > not_after (the ticket is still filled in) */
int portal_ticket_open(const struct portal_ticket_keys *k, const char *text, int64_t now,
	struct portal_ticket *t);
void portal_ticket_wipe(struct portal_ticket *t);

#endif
