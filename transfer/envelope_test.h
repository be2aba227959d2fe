/*
 * envelope_test.h - PRIVATE test hooks of envelope_writer.c and
 * envelope_manifest.c: the same writer and
 * manifest sealing with caller-chosen nonce material, so docs/FORMATS.md
 * can publish deterministic test vectors. Production code must never use
 * these (a fixed prefix/nonce reused under one key breaks AES-GCM); only
 * tests/unit/ and envelope_int.h include this header.
 */
#ifndef OFFLOAD_ENVELOPE_TEST_H
#define OFFLOAD_ENVELOPE_TEST_H

#include "envelope.h"

#define ENVELOPE_PREFIX_LEN 7u
#define ENVELOPE_NONCE_LEN 12u

/* envelope_writer_new_fixed - envelope_writer_new() with a given prefix */
struct envelope_writer *envelope_writer_new_fixed(const unsigned char key[32],
	const char *transfer_id, uint32_t file_index,
	const unsigned char prefix[ENVELOPE_PREFIX_LEN], envelope_out_fn out, void *arg);

/* envelope_manifest_seal_fixed - envelope_manifest_seal() with a given nonce */
int envelope_manifest_seal_fixed(const struct envelope_header *h,
	const unsigned char deployment_key[32], const char *secret,
	const unsigned char tk[32], const char *json, size_t json_len,
	const unsigned char nonce[ENVELOPE_NONCE_LEN],
	unsigned char **obj, size_t *obj_len);

#endif
