/*
 * keys.h - deployment key and portal ticket key files (DECISIONS.md §6, §10).
 * A key file holds 32 random bytes as 64 hex characters plus a newline.
 * A missing file is created (random, mode 0600) and the creation logged.
 * The key id is the first 8 bytes of SHA-256("offload key id" || key), hex.
 */
#ifndef OFFLOAD_KEYS_H
#define OFFLOAD_KEYS_H

#include <glib.h>

#define KEYS_LEN 32
#define KEYS_ID_LEN 16 /* hex characters */

struct key32 {
	unsigned char key[KEYS_LEN];
	char id[KEYS_ID_LEN + 1];
};

/* keys_load - load (or create) a key file; 0 or -1 with *err */
int keys_load(const char *path, struct key32 *out, GError **err);
void keys_wipe(struct key32 *k);

#endif
