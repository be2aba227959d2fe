/*
 * portal_ticket_test.h - PRIVATE test hook of portal_ticket.c: sealing with
 * a caller-chosen nonce, so docs/FORMATS.md §4 can publish deterministic
 * test vectors. Production code must never use it (a nonce reused under
 * one ticket key breaks AES-GCM); only tests/unit/ and portal_ticket.c
 * include this header.
 */
#ifndef OFFLOAD_PORTAL_TICKET_TEST_H
#define OFFLOAD_PORTAL_TICKET_TEST_H

#include "portal_ticket.h"

#define PORTAL_TICKET_NONCE_LEN 12u

/* portal_ticket_seal_fixed - portal_ticket_seal() with the given nonce */
char *portal_ticket_seal_fixed(const struct portal_ticket_keys *k, const struct portal_ticket *t,
	const unsigned char nonce[PORTAL_TICKET_NONCE_LEN]);

#endif
