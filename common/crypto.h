/*
 * crypto.h - thin wrappers over OpenSSL 3 for what offload needs:
 * CSPRNG, SHA-256 (one-shot and streaming), HMAC-SHA-256, HKDF-SHA-256
 * (EVP_KDF "HKDF", extract+expand), constant-time compare, wipe.
 * Thread-safe (no shared state).
 */
#ifndef OFFLOAD_CRYPTO_H
#define OFFLOAD_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32

/* crypto_random - fill buf with CSPRNG bytes; 0 or -1 (logged) */
int crypto_random(void *buf, size_t len);
void crypto_sha256(const void *buf, size_t len, unsigned char out[32]);

struct crypto_sha256_ctx; /* opaque, EVP_MD_CTX inside */
struct crypto_sha256_ctx *crypto_sha256_new(void);
void crypto_sha256_update(struct crypto_sha256_ctx *c, const void *buf, size_t len);
void crypto_sha256_final(struct crypto_sha256_ctx *c, unsigned char out[32]); /* also frees */
void crypto_sha256_free(struct crypto_sha256_ctx *c); /* NULL ok */

void crypto_hmac_sha256(const unsigned char *key, size_t keylen,
	const void *msg, size_t msglen, unsigned char out[32]);
/* crypto_hkdf - HKDF-SHA-256 (RFC 5869) extract-and-expand; 0 or -1 */
int crypto_hkdf(const unsigned char *ikm, size_t ikmlen,
	const unsigned char *salt, size_t saltlen,
	const void *info, size_t infolen, unsigned char *out, size_t outlen);
int crypto_memeq(const void *a, const void *b, size_t len); /* 1 equal, constant time */
void crypto_wipe(void *buf, size_t len);
/* crypto_free_string - wipe a g_malloc'ed secret string, then free it; NULL ok */
void crypto_free_string(char *s);

#endif
