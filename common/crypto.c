/*
 * crypto.c - thin wrappers over OpenSSL 3: CSPRNG (RAND_bytes), SHA-256
 * (EVP_Digest*), HMAC-SHA-256 (HMAC one-shot), HKDF-SHA-256 (EVP_KDF
 * "HKDF", EVP_KDF-HKDF(7), mode extract-and-expand), constant-time compare
 * (CRYPTO_memcmp) and wipe (OPENSSL_cleanse).
 *
 * Memory: struct crypto_sha256_ctx is heap-allocated by crypto_sha256_new()
 * and freed by crypto_sha256_final() or crypto_sha256_free().
 * Thread-safe: no shared mutable state; OpenSSL 3 fetches are thread-safe.
 * Functions returning void only fail on OpenSSL allocation failure, which
 * is treated like out-of-memory (logged, abort) per docs/CONVENTIONS.md.
 */
#include "crypto.h"

#include <string.h>
#include <glib.h>

#include <limits.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "log.h"

struct crypto_sha256_ctx {
	EVP_MD_CTX *md;
};

/* crypto_ossl_err - the most recent OpenSSL error text, for one log line */
static const char *
crypto_ossl_err(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown OpenSSL error";
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* crypto_die - OpenSSL failed where only memory exhaustion can cause it */
static void
crypto_die(const char *what)
{
	char eb[256];

	log_panic("%s failed: %s", what, crypto_ossl_err(eb, sizeof eb));
	abort();
}

int
crypto_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	char eb[256];

	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, n) != 1) {
			log_error("RAND_bytes failed: %s", crypto_ossl_err(eb, sizeof eb));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
crypto_sha256(const void *buf, size_t len, unsigned char out[32])
{
	if (EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL) != 1)
		crypto_die("EVP_Digest(SHA-256)");
}

struct crypto_sha256_ctx *
crypto_sha256_new(void)
{
	struct crypto_sha256_ctx *c = OPENSSL_zalloc(sizeof *c);

	if (c == NULL)
		crypto_die("OPENSSL_zalloc");
	c->md = EVP_MD_CTX_new();
	if (c->md == NULL || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
		crypto_die("EVP_DigestInit_ex(SHA-256)");
	return c;
}

void
crypto_sha256_update(struct crypto_sha256_ctx *c, const void *buf, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(c->md, buf, len) != 1)
		crypto_die("EVP_DigestUpdate");
}

void
crypto_sha256_final(struct crypto_sha256_ctx *c, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(c->md, out, &n) != 1 || n != 32)
		crypto_die("EVP_DigestFinal_ex");
	crypto_sha256_free(c);
}

void
crypto_sha256_free(struct crypto_sha256_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	OPENSSL_free(c);
}

void
crypto_hmac_sha256(const unsigned char *key, size_t keylen,
	const void *msg, size_t msglen, unsigned char out[32])
{
	unsigned int n = 0;
	static const unsigned char empty[1];

	if (keylen > INT_MAX)
		crypto_die("HMAC key length");
	/* HMAC() treats a NULL key as "reuse the previous one": pass a real pointer */
	if (HMAC(EVP_sha256(), key ? key : empty, (int)keylen, msg ? msg : empty, msglen,
		out, &n) == NULL || n != 32)
		crypto_die("HMAC(SHA-256)");
}

int
crypto_hkdf(const unsigned char *ikm, size_t ikmlen,
	const unsigned char *salt, size_t saltlen,
	const void *info, size_t infolen, unsigned char *out, size_t outlen)
{
	static const unsigned char empty[1];
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;
	char eb[256];
	int rc = -1;

	/* RFC 5869: L <= 255 * HashLen */
	if (outlen == 0 || outlen > 255 * 32) {
		log_error("HKDF: invalid output length %zu", outlen);
		goto out;
	}
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL) {
		log_error("EVP_KDF_fetch(HKDF): %s", crypto_ossl_err(eb, sizeof eb));
		goto out;
	}
	kctx = EVP_KDF_CTX_new(kdf);
	if (kctx == NULL) {
		log_error("EVP_KDF_CTX_new: %s", crypto_ossl_err(eb, sizeof eb));
		goto out;
	}
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
		(void *)(ikm ? ikm : empty), ikmlen);
	/* no salt parameter = RFC 5869 default (HashLen zero bytes) */
	if (saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	if (infolen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, outlen, params) != 1) {
		log_error("EVP_KDF_derive(HKDF): %s", crypto_ossl_err(eb, sizeof eb));
		goto out;
	}
	rc = 0;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

int
crypto_memeq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void
crypto_wipe(void *buf, size_t len)
{
	if (buf != NULL && len > 0)
		OPENSSL_cleanse(buf, len);
}

void
crypto_free_string(char *s)
{
	if (s == NULL)
		return;
	crypto_wipe(s, strlen(s));
	g_free(s);
}
