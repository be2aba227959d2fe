/*
 * portal_ticket_test.h - PRIVATE test hook of portal_ticket.c: sealing with
 * a caller-chosen salt and nonce, so docs/FORMATS.md §4 can publish deterministic
 * test vectors. Production code must never use it (a nonce reused under
 * one ticket key breaks AES-GCM); only tests/unit/ and portal_ticket.c
 * include this header.
 */
#ifndef OFFLOAD_PORTAL_TICKET_TEST_H
#define OFFLOAD_PORTAL_TICKET_TEST_H

#include "portal_ticket.h"

#define PORTAL_TICKET_NONCE_LEN 12u
#define PORTAL_TICKET_SALT_LEN 16u

/* portal_ticket_seal_fixed - portal_ticket_seal() (version 2) with the given salt and nonce */
char *portal_ticket_seal_fixed(const struct portal_ticket_keys *k, const struct portal_ticket *t,
	const unsigned char salt[PORTAL_TICKET_SALT_LEN], const unsigned char nonce[PORTAL_TICKET_NONCE_LEN]);
/* portal_ticket_seal_v1_fixed - a version 1 ticket (no part), as issued before
 * version 2: for the vectors that show version 1 tickets still open */
char *portal_ticket_seal_v1_fixed(const struct portal_ticket_keys *k, const struct portal_ticket *t,
	const unsigned char nonce[PORTAL_TICKET_NONCE_LEN]);

#endif
