/*
 * env_sealed.c - the shared head and AES-256-GCM of the sealed JSON side
 * objects and the MAC of the MACed ones (see env_sealed.h).
 * Memory: the unverified plaintext is wiped on failure. Thread safety: none shared.
 */
#include "env_sealed.h"

#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "envelope_int.h"

void
env_sealed_head(unsigned char *o, const char magic[5], const char *id)
{
	memcpy(o, magic, 5);
	o[5] = ENV_VERSION;
	memcpy(o + 6, id, ENVELOPE_ID_TEXT_LEN);
}

bool
env_sealed_head_ok(const unsigned char *obj, const char magic[5], const char *id)
{
	return id != NULL && strlen(id) == ENVELOPE_ID_TEXT_LEN && memcmp(obj, magic, 5) == 0 &&
	    obj[5] == ENV_VERSION && memcmp(obj + 6, id, ENVELOPE_ID_TEXT_LEN) == 0;
}

/* sealed_seal - o holds aad_len bytes of head, room for the nonce, json_len
 * bytes and the tag; nonce (or 12 random bytes when NULL) goes to o + aad_len,
 * ciphertext and tag after it. ENVELOPE_OK or ENVELOPE_EINTERNAL. */
static int
sealed_seal(const unsigned char k[32], unsigned char *o, size_t aad_len,
	const unsigned char *nonce, const char *json, size_t json_len)
{
	EVP_CIPHER_CTX *ctx;
	int rc = ENVELOPE_EINTERNAL;

	if (nonce != NULL)
		memcpy(o + aad_len, nonce, 12);
	else if (crypto_random(o + aad_len, 12) != 0)
		return rc;
	ctx = env_gcm_new(k, 1);
	if (ctx != NULL)
		rc = env_gcm_seal(ctx, o + aad_len, o, aad_len, (const unsigned char *)json, json_len,
			o + aad_len + 12);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* sealed_open - opens obj[0..len) (aad_len head bytes, nonce, ciphertext, tag;
 * len >= aad_len + 28) into *json. ENVELOPE_OK, ENVELOPE_EAUTH or
 * ENVELOPE_EINTERNAL; *json is NULL on failure. */
static int
sealed_open(const unsigned char k[32], const unsigned char *obj, size_t aad_len,
	size_t len, char **json)
{
	size_t ctlen = len - aad_len - 12, ptlen = ctlen - ENVELOPE_TAG_LEN;
	EVP_CIPHER_CTX *ctx = env_gcm_new(k, 0);
	char *pt = g_malloc0(ptlen + 1);
	int rc = ENVELOPE_EINTERNAL;

	*json = NULL;
	if (ctx != NULL)
		rc = env_gcm_open(ctx, obj + aad_len, obj, aad_len, obj + aad_len + 12, ctlen,
			(unsigned char *)pt);
	EVP_CIPHER_CTX_free(ctx);
	if (rc == ENVELOPE_OK)
		*json = pt;
	else
		g_free(pt); /* env_gcm_open wiped it */
	return rc;
}

int
env_sealed_object(const unsigned char k[32], const char magic[5], const char *id,
	const struct env_sealed_more *x, const unsigned char *nonce, const char *json,
	size_t json_len, unsigned char **obj, size_t *obj_len)
{
	size_t nf = x != NULL ? x->nf : 0, tail = x != NULL ? x->tail : 0;
	size_t n = ENV_SEALED_HEAD + nf + 12 + json_len + ENVELOPE_TAG_LEN + tail;
	unsigned char *o;
	int rc;

	*obj = NULL;
	if (!env_valid_id_str(id))
		return ENVELOPE_EINVAL;
	o = g_malloc(n);
	env_sealed_head(o, magic, id);
	if (nf > 0)
		memcpy(o + ENV_SEALED_HEAD, x->fields, nf);
	rc = sealed_seal(k, o, ENV_SEALED_HEAD + nf, nonce, json, json_len);
	if (rc != ENVELOPE_OK) {
		g_free(o);
		return rc;
	}
	*obj = o;
	*obj_len = n;
	return ENVELOPE_OK;
}

int
env_sealed_object_open(const unsigned char k[32], const char magic[5], const char *id,
	const struct env_sealed_more *x, const unsigned char *obj, size_t len, size_t max,
	char **json)
{
	size_t nf = x != NULL ? x->nf : 0, tail = x != NULL ? x->tail : 0;

	*json = NULL;
	if (len < ENV_SEALED_HEAD + nf + 12 + ENVELOPE_TAG_LEN + tail || len > max ||
	    !env_sealed_head_ok(obj, magic, id) ||
	    (nf > 0 && x->fields != NULL && memcmp(obj + ENV_SEALED_HEAD, x->fields, nf) != 0))
		return ENVELOPE_EINVAL;
	return sealed_open(k, obj, ENV_SEALED_HEAD + nf, len - tail, json);
}

/* mac_of - HMAC-SHA256(HKDF(dkey, "", info), buf[0..len)); 0 or -1 */
static int
mac_of(const unsigned char dkey[32], const char *info, const unsigned char *buf, size_t len,
	unsigned char mac[32])
{
	unsigned char k[32];

	if (crypto_hkdf(dkey, 32, NULL, 0, info, strlen(info), k, sizeof k) != 0)
		return -1;
	crypto_hmac_sha256(k, sizeof k, buf, len, mac);
	crypto_wipe(k, sizeof k);
	return 0;
}

int
env_mac_put(const unsigned char dkey[32], const char *info, unsigned char *o, size_t len)
{
	return mac_of(dkey, info, o, len, o + len);
}

bool
env_mac_ok(const unsigned char dkey[32], const char *info, const unsigned char *obj, size_t len)
{
	unsigned char mac[32];
	bool ok;

	ok = mac_of(dkey, info, obj, len, mac) == 0 && crypto_memeq(mac, obj + len, sizeof mac);
	crypto_wipe(mac, sizeof mac);
	return ok;
}
