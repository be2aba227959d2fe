/*
 * envelope_int.h - PRIVATE to transfer/: the byte layout
 * constants of the v1 format (docs/FORMATS.md) and the helpers the writer,
 * reader, key and manifest files share.
 */
#ifndef OFFLOAD_ENVELOPE_INT_H
#define OFFLOAD_ENVELOPE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "envelope.h"
#include "envelope_test.h"

#define ENV_VERSION 1u
#define ENV_SEG ENVELOPE_SEGMENT_SIZE
#define ENV_SEG_CT (ENVELOPE_SEGMENT_SIZE + ENVELOPE_TAG_LEN)
#define ENV_MAX_SEGMENTS ((uint64_t)UINT32_MAX + 1)
#define ENV_MANIFEST_MAX (16u * 1024 * 1024) /* JSON cap, bytes */
#define ENV_PWHASH_MAX 64u

static const char env_file_magic[5] = { 'O', 'F', 'L', 'D', 'F' };
static const char env_manifest_magic[5] = { 'O', 'F', 'L', 'D', 'M' };
static const char env_salt_label[] = "offload v1";

/* file header layout */
enum {
	FH_MAGIC = 0,          /* 5 "OFLDF" */
	FH_VERSION = 5,        /* 1 0x01 */
	FH_ID = 6,             /* 24 ASCII */
	FH_INDEX = 30,         /* 4 BE */
	FH_SEGSIZE = 34,       /* 4 BE, 65536 */
	FH_PREFIX = 38,        /* 7 random */
	FH_LEN = 45,
};

enum env_state {
	ENV_ST_HEADER,         /* reader: collecting the file header */
	ENV_ST_OPEN,           /* accepting data */
	ENV_ST_DONE,           /* finish succeeded */
	ENV_ST_FAILED,         /* sticky error in ->err */
};

/* big-endian byte order; env_u2s64 - two's complement of a BE64 field */
void env_put32(unsigned char *p, uint32_t v);
uint32_t env_get32(const unsigned char *p);
void env_put64(unsigned char *p, uint64_t v);
uint64_t env_get64(const unsigned char *p);
int64_t env_u2s64(uint64_t v);

/* env_valid_id - 24 characters of the lower-case base32 alphabet */
bool env_valid_id(const char *id, size_t len);
bool env_valid_id_str(const char *id);

/* env_valid_keyid - 16 lower-case hex characters */
bool env_valid_keyid(const char *k, size_t len);

/* env_decode_secret - the 22-character link secret to its 16 raw bytes */
int env_decode_secret(const char *secret, unsigned char raw[ENVELOPE_SECRET_RAW_LEN]);

/* env_salt - "offload v1" || id, the HKDF salt for TK and the verifier */
size_t env_salt(const char *id,
	unsigned char salt[sizeof env_salt_label - 1 + ENVELOPE_ID_TEXT_LEN]);

/* env_ossl - log an OpenSSL failure once */
void env_ossl(const char *what);

/* env_gcm_new - an AES-256-GCM context keyed for enc (1) or dec (0) */
EVP_CIPHER_CTX *env_gcm_new(const unsigned char key[32], int enc);

/* env_gcm_seal - ct = GCM(nonce, aad, pt) || tag; ct holds ptlen + 16 */
int env_gcm_seal(EVP_CIPHER_CTX *ctx, const unsigned char nonce[12],
	const unsigned char *aad, size_t aadlen, const unsigned char *pt, size_t ptlen,
	unsigned char *ct);

/* env_gcm_open - pt = GCM^-1(nonce, aad, ct || tag); EAUTH on tag failure.
 * On failure pt is wiped (it holds unverified plaintext). */
int env_gcm_open(EVP_CIPHER_CTX *ctx, const unsigned char nonce[12],
	const unsigned char *aad, size_t aadlen, const unsigned char *ct, size_t ctlen,
	unsigned char *pt);

/* env_seg_nonce - prefix(7) || BE32(counter) || last(1) */
void env_seg_nonce(unsigned char nonce[12], const unsigned char *prefix, uint64_t counter,
	bool last);

#endif
