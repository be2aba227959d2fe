/*
 * envelope.c - the transfer encryption format v1: shared helpers (byte
 * order, id and secret checks, AES-256-GCM) and error texts; the writer,
 * reader, keys and manifest live in envelope_*.c (DECISIONS.md §6; every byte
 * is documented in docs/FORMATS.md, keep both in step).
 *
 * File objects: 45-byte header, then AES-256-GCM segments of 64 KiB
 * plaintext + 16-byte tag, nonce = prefix(7) || BE32(counter) || last(1),
 * AAD = the whole header. The writer holds back one segment so it knows
 * which one is last; the reader holds back one segment so it knows whether
 * more bytes follow. One EVP_CIPHER_CTX per writer/reader, keyed once and
 * re-IV'ed per segment; the buffers live inside the struct (no per-segment
 * allocation).
 *
 * Manifest object: fixed 209-byte clear header (MACed with a key derived
 * from the deployment key; it carries the hash of the sender's revoke
 * secret), 12-byte nonce, AES-256-GCM of the JSON under
 * MK = HKDF(TK, "offload v1 manifest") with AAD = header. A key commitment
 * HKDF(TK, "offload v1 commit") makes a wrong TK fail before GCM.
 *
 * Memory: writers/readers are g_malloc'ed by *_new and wiped+freed by
 * *_free; manifest objects and JSON are g_malloc'ed for the caller. All key
 * material on the stack is wiped before return.
 * Thread safety: no globals; one writer/reader per thread at a time.
 */
#include "envelope.h"

#include <string.h>
#include <glib.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"
#include "envelope_int.h"
#include "log.h"

/* ---- small helpers ---------------------------------------------------- */

void
env_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
env_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
env_put64(unsigned char *p, uint64_t v)
{
	env_put32(p, (uint32_t)(v >> 32));
	env_put32(p + 4, (uint32_t)v);
}

uint64_t
env_get64(const unsigned char *p)
{
	return (uint64_t)env_get32(p) << 32 | env_get32(p + 4);
}

int64_t
env_u2s64(uint64_t v)
{
	/* two's complement without implementation-defined conversion */
	if (v <= (uint64_t)INT64_MAX)
		return (int64_t)v;
	return -(int64_t)(~v) - 1;
}

/* env_valid_id - 24 characters of the lower-case base32 alphabet */
bool
env_valid_id(const char *id, size_t len)
{
	size_t i;

	if (len != ENVELOPE_ID_TEXT_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
			return false;
	}
	return true;
}

bool
env_valid_id_str(const char *id)
{
	return id != NULL && env_valid_id(id, strnlen(id, ENVELOPE_ID_TEXT_LEN + 1));
}

/* env_valid_keyid - 16 lower-case hex characters */
bool
env_valid_keyid(const char *k, size_t len)
{
	size_t i;

	if (len != 16)
		return false;
	for (i = 0; i < len; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
			return false;
	return true;
}

/* env_decode_secret - the 22-character link secret to its 16 raw bytes */
int
env_decode_secret(const char *secret, unsigned char raw[ENVELOPE_SECRET_RAW_LEN])
{
	unsigned char buf[ENVELOPE_SECRET_RAW_LEN + 3];
	long n;

	if (secret == NULL || strnlen(secret, ENVELOPE_SECRET_TEXT_LEN + 1) != ENVELOPE_SECRET_TEXT_LEN)
		return -1;
	n = enc_b64url_decode(secret, buf, sizeof buf);
	if (n != (long)ENVELOPE_SECRET_RAW_LEN) {
		crypto_wipe(buf, sizeof buf);
		return -1;
	}
	memcpy(raw, buf, ENVELOPE_SECRET_RAW_LEN);
	crypto_wipe(buf, sizeof buf);
	return 0;
}

/* env_salt - "offload v1" || id, the HKDF salt for TK and the verifier */
size_t
env_salt(const char *id, unsigned char salt[sizeof env_salt_label - 1 + ENVELOPE_ID_TEXT_LEN])
{
	size_t l = sizeof env_salt_label - 1;

	memcpy(salt, env_salt_label, l);
	memcpy(salt + l, id, ENVELOPE_ID_TEXT_LEN);
	return l + ENVELOPE_ID_TEXT_LEN;
}

/* env_ossl - log an OpenSSL failure once */
void
env_ossl(const char *what)
{
	char eb[256];
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, eb, sizeof eb);
	else
		g_strlcpy(eb, "no OpenSSL error queued", sizeof eb);
	ERR_clear_error();
	log_error("envelope: %s failed: %s", what, eb);
}

/* env_gcm_new - an AES-256-GCM context keyed for enc (1) or dec (0) */
EVP_CIPHER_CTX *
env_gcm_new(const unsigned char key[32], int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx == NULL) {
		env_ossl("EVP_CIPHER_CTX_new");
		return NULL;
	}
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
		EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc) != 1) {
		env_ossl("AES-256-GCM init");
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* env_gcm_seal - ct = GCM(nonce, aad, pt) || tag; ct holds ptlen + 16 */
int
env_gcm_seal(EVP_CIPHER_CTX *ctx, const unsigned char nonce[12],
	const unsigned char *aad, size_t aadlen, const unsigned char *pt, size_t ptlen,
	unsigned char *ct)
{
	int n = 0, m = 0;

	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
		EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1 ||
		(ptlen > 0 && EVP_EncryptUpdate(ctx, ct, &n, pt, (int)ptlen) != 1) ||
		EVP_EncryptFinal_ex(ctx, ct + (ptlen > 0 ? n : 0), &m) != 1 ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ENVELOPE_TAG_LEN, ct + ptlen) != 1) {
		env_ossl("AES-256-GCM encrypt");
		return ENVELOPE_EINTERNAL;
	}
	return ENVELOPE_OK;
}

/* env_gcm_open - pt = GCM^-1(nonce, aad, ct || tag); EAUTH on tag failure.
 * On failure pt is wiped (it holds unverified plaintext). */
int
env_gcm_open(EVP_CIPHER_CTX *ctx, const unsigned char nonce[12],
	const unsigned char *aad, size_t aadlen, const unsigned char *ct, size_t ctlen,
	unsigned char *pt)
{
	unsigned char tag[ENVELOPE_TAG_LEN];
	size_t ptlen = ctlen - ENVELOPE_TAG_LEN;
	int n = 0, m = 0;

	memcpy(tag, ct + ptlen, sizeof tag);
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
		EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1 ||
		(ptlen > 0 && EVP_DecryptUpdate(ctx, pt, &n, ct, (int)ptlen) != 1) ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, sizeof tag, tag) != 1) {
		env_ossl("AES-256-GCM decrypt");
		crypto_wipe(pt, ptlen);
		return ENVELOPE_EINTERNAL;
	}
	if (EVP_DecryptFinal_ex(ctx, pt + (ptlen > 0 ? n : 0), &m) <= 0) {
		ERR_clear_error();
		crypto_wipe(pt, ptlen);
		return ENVELOPE_EAUTH;
	}
	return ENVELOPE_OK;
}

void
env_seg_nonce(unsigned char nonce[12], const unsigned char *prefix, uint64_t counter, bool last)
{
	memcpy(nonce, prefix, ENVELOPE_PREFIX_LEN);
	env_put32(nonce + ENVELOPE_PREFIX_LEN, (uint32_t)counter);
	nonce[11] = last ? 0x01 : 0x00;
}

const char *
envelope_strerror(int err)
{
	switch (err) {
	case ENVELOPE_OK:
		return "success";
	case ENVELOPE_EINVAL:
		return "malformed object or invalid argument";
	case ENVELOPE_EAUTH:
		return "authentication failed";
	case ENVELOPE_ETRUNC:
		return "object truncated";
	case ENVELOPE_ESINK:
		return "output stopped";
	case ENVELOPE_EINTERNAL:
		return "internal crypto error";
	default:
		return "unknown envelope error";
	}
}
