/*
 * envelope_manifest.c - the manifest object (see envelope.h): MACed clear
 * header, key commitment and the AEAD-encrypted manifest JSON.
 */
#include "envelope.h"

#include <string.h>
#include <glib.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "envelope_int.h"
#include "log.h"

/* manifest header layout */
enum {
	MH_MAGIC = 0,          /* 5 "OFLDM" */
	MH_VERSION = 5,        /* 1 0x01 */
	MH_HDRLEN = 6,         /* 2 BE, 209 */
	MH_ID = 8,             /* 24 ASCII */
	MH_CREATED = 32,       /* 8 BE two's complement */
	MH_EXPIRES = 40,       /* 8 BE two's complement */
	MH_FLAGS = 48,         /* 1 bit0 = password */
	MH_KDF_M = 49,         /* 4 BE KiB */
	MH_KDF_T = 53,         /* 4 BE */
	MH_KDF_P = 57,         /* 4 BE */
	MH_KEYID = 61,         /* 16 ASCII lower hex */
	MH_PAYLEN = 77,        /* 4 BE JSON length */
	MH_VERIFIER = 81,      /* 32 */
	MH_COMMIT = 113,       /* 32 */
	MH_REVOKE = 145,       /* 32 SHA-256 of the revoke secret */
	MH_MAC = 177,          /* 32 */
	MH_LEN = 209,
	MH_NONCE = MH_LEN,     /* 12 */
	MH_CT = MH_LEN + 12,   /* JSON ciphertext, then 16-byte tag */
};
#define MH_FLAG_PASSWORD 0x01u

/* ---- manifest --------------------------------------------------------- */

/* env_hkdf_label - 32 bytes = HKDF-SHA-256(ikm, salt empty, info label) */
static int
env_hkdf_label(const unsigned char *ikm, size_t ikmlen, const char *label, unsigned char out[32])
{
	return crypto_hkdf(ikm, ikmlen, NULL, 0, label, strlen(label), out, 32) == 0 ?
		ENVELOPE_OK : ENVELOPE_EINTERNAL;
}

/* env_verifier - HMAC(HKDF(secret_raw, "offload v1"||id, "offload v1 verify"), id) */
static int
env_verifier(const char *id, const char *secret, unsigned char out[32])
{
	static const char info[] = "offload v1 verify";
	unsigned char raw[ENVELOPE_SECRET_RAW_LEN], vkey[32];
	unsigned char salt[sizeof env_salt_label - 1 + ENVELOPE_ID_TEXT_LEN];
	size_t saltlen;
	int rc = ENVELOPE_EINVAL;

	if (env_decode_secret(secret, raw) != 0)
		goto out;
	saltlen = env_salt(id, salt);
	rc = ENVELOPE_EINTERNAL;
	if (crypto_hkdf(raw, sizeof raw, salt, saltlen, info, sizeof info - 1, vkey, 32) != 0)
		goto out;
	crypto_hmac_sha256(vkey, sizeof vkey, id, ENVELOPE_ID_TEXT_LEN, out);
	rc = ENVELOPE_OK;
out:
	crypto_wipe(raw, sizeof raw);
	crypto_wipe(vkey, sizeof vkey);
	return rc;
}

/* env_header_mac - HMAC(HKDF(deployment key, "offload v1 header mac"), hdr[0..177)) */
static int
env_header_mac(const unsigned char *hdr, const unsigned char dk[32], unsigned char mac[32])
{
	unsigned char mkey[32];
	int rc;

	rc = env_hkdf_label(dk, 32, "offload v1 header mac", mkey);
	if (rc == ENVELOPE_OK)
		crypto_hmac_sha256(mkey, sizeof mkey, hdr, MH_MAC, mac);
	crypto_wipe(mkey, sizeof mkey);
	return rc;
}

/* env_header_ok - the fields a sealer must supply are well-formed */
static bool
env_header_ok(const struct envelope_header *h)
{
	if (h->version != ENV_VERSION || !env_valid_id(h->id, strnlen(h->id, sizeof h->id)) ||
		!env_valid_keyid(h->key_id, strnlen(h->key_id, sizeof h->key_id)))
		return false;
	if (h->password)
		return h->kdf_m_kib > 0 && h->kdf_t > 0 && h->kdf_p > 0;
	return h->kdf_m_kib == 0 && h->kdf_t == 0 && h->kdf_p == 0;
}

/* env_manifest_parse - structural checks only (no MAC); fills *h and the
 * JSON length. Any malformed input -> EINVAL, never an over-read. */
static int
env_manifest_parse(const unsigned char *obj, size_t len, struct envelope_header *h,
	size_t *paylen)
{
	uint32_t pl;
	unsigned flags;

	if (obj == NULL || len < (size_t)MH_CT + ENVELOPE_TAG_LEN)
		return ENVELOPE_EINVAL;
	if (memcmp(obj + MH_MAGIC, env_manifest_magic, sizeof env_manifest_magic) != 0 ||
		obj[MH_VERSION] != ENV_VERSION ||
		(obj[MH_HDRLEN] << 8 | obj[MH_HDRLEN + 1]) != MH_LEN)
		return ENVELOPE_EINVAL;
	pl = env_get32(obj + MH_PAYLEN);
	if (pl > ENV_MANIFEST_MAX || (uint64_t)len != (uint64_t)MH_CT + pl + ENVELOPE_TAG_LEN)
		return ENVELOPE_EINVAL;
	if (!env_valid_id((const char *)obj + MH_ID, ENVELOPE_ID_TEXT_LEN) ||
		!env_valid_keyid((const char *)obj + MH_KEYID, 16))
		return ENVELOPE_EINVAL;
	flags = obj[MH_FLAGS];
	if ((flags & ~MH_FLAG_PASSWORD) != 0)
		return ENVELOPE_EINVAL;
	memset(h, 0, sizeof *h);
	h->version = obj[MH_VERSION];
	memcpy(h->id, obj + MH_ID, ENVELOPE_ID_TEXT_LEN);
	h->created = env_u2s64(env_get64(obj + MH_CREATED));
	h->expires = env_u2s64(env_get64(obj + MH_EXPIRES));
	h->password = (flags & MH_FLAG_PASSWORD) != 0;
	h->kdf_m_kib = env_get32(obj + MH_KDF_M);
	h->kdf_t = env_get32(obj + MH_KDF_T);
	h->kdf_p = env_get32(obj + MH_KDF_P);
	memcpy(h->key_id, obj + MH_KEYID, 16);
	memcpy(h->revoke_hash, obj + MH_REVOKE, sizeof h->revoke_hash);
	if (!env_header_ok(h))
		return ENVELOPE_EINVAL;
	*paylen = pl;
	return ENVELOPE_OK;
}

int
envelope_manifest_seal_fixed(const struct envelope_header *h,
	const unsigned char deployment_key[32], const char *secret,
	const unsigned char tk[32], const char *json, size_t json_len,
	const unsigned char nonce[ENVELOPE_NONCE_LEN],
	unsigned char **obj, size_t *obj_len)
{
	static const unsigned char zero[32];
	unsigned char mk[32];
	unsigned char *o = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t total;
	int rc = ENVELOPE_EINVAL;

	if (obj != NULL)
		*obj = NULL;
	/* an all-zero revoke hash is a caller that forgot envelope_revoke_hash() */
	if (h == NULL || deployment_key == NULL || tk == NULL || nonce == NULL ||
		obj == NULL || obj_len == NULL || (json == NULL && json_len > 0) ||
		json_len > ENV_MANIFEST_MAX || !env_header_ok(h) ||
		memcmp(h->revoke_hash, zero, sizeof zero) == 0) {
		log_error("envelope: invalid manifest seal arguments");
		goto out;
	}
	total = (size_t)MH_CT + json_len + ENVELOPE_TAG_LEN;
	o = g_malloc0(total);
	memcpy(o + MH_MAGIC, env_manifest_magic, sizeof env_manifest_magic);
	o[MH_VERSION] = ENV_VERSION;
	o[MH_HDRLEN] = (unsigned char)(MH_LEN >> 8);
	o[MH_HDRLEN + 1] = (unsigned char)(MH_LEN & 0xff);
	memcpy(o + MH_ID, h->id, ENVELOPE_ID_TEXT_LEN);
	env_put64(o + MH_CREATED, (uint64_t)h->created);
	env_put64(o + MH_EXPIRES, (uint64_t)h->expires);
	o[MH_FLAGS] = h->password ? MH_FLAG_PASSWORD : 0;
	env_put32(o + MH_KDF_M, h->kdf_m_kib);
	env_put32(o + MH_KDF_T, h->kdf_t);
	env_put32(o + MH_KDF_P, h->kdf_p);
	memcpy(o + MH_KEYID, h->key_id, 16);
	env_put32(o + MH_PAYLEN, (uint32_t)json_len);
	rc = env_verifier(h->id, secret, o + MH_VERIFIER);
	if (rc != ENVELOPE_OK) {
		log_error("envelope: cannot compute the secret verifier for %s", h->id);
		goto out;
	}
	rc = env_hkdf_label(tk, 32, "offload v1 commit", o + MH_COMMIT);
	if (rc != ENVELOPE_OK)
		goto out;
	memcpy(o + MH_REVOKE, h->revoke_hash, sizeof h->revoke_hash);
	rc = env_header_mac(o, deployment_key, o + MH_MAC);
	if (rc != ENVELOPE_OK)
		goto out;
	memcpy(o + MH_NONCE, nonce, ENVELOPE_NONCE_LEN);
	rc = env_hkdf_label(tk, 32, "offload v1 manifest", mk);
	if (rc != ENVELOPE_OK)
		goto out;
	rc = ENVELOPE_EINTERNAL;
	ctx = env_gcm_new(mk, 1);
	if (ctx == NULL)
		goto out;
	rc = env_gcm_seal(ctx, o + MH_NONCE, o, MH_NONCE, (const unsigned char *)json, json_len,
		o + MH_CT);
	if (rc != ENVELOPE_OK)
		goto out;
	*obj = o;
	*obj_len = total;
	o = NULL;
out:
	EVP_CIPHER_CTX_free(ctx);
	crypto_wipe(mk, sizeof mk);
	g_free(o);
	return rc;
}

int
envelope_manifest_seal(const struct envelope_header *h,
	const unsigned char deployment_key[32], const char *secret,
	const unsigned char tk[32], const char *json, size_t json_len,
	unsigned char **obj, size_t *obj_len)
{
	unsigned char nonce[ENVELOPE_NONCE_LEN];

	if (obj != NULL)
		*obj = NULL;
	if (crypto_random(nonce, sizeof nonce) != 0)
		return ENVELOPE_EINTERNAL;
	return envelope_manifest_seal_fixed(h, deployment_key, secret, tk, json, json_len,
		nonce, obj, obj_len);
}

int
envelope_manifest_header(const unsigned char *obj, size_t obj_len,
	const unsigned char deployment_key[32], struct envelope_header *h)
{
	struct envelope_header tmp;
	unsigned char mac[32];
	size_t pl;
	int rc;

	if (deployment_key == NULL || h == NULL)
		return ENVELOPE_EINVAL;
	rc = env_manifest_parse(obj, obj_len, &tmp, &pl);
	if (rc != ENVELOPE_OK) {
		log_warning("envelope: malformed manifest object (%zu bytes)", obj_len);
		goto out;
	}
	rc = env_header_mac(obj, deployment_key, mac);
	if (rc != ENVELOPE_OK)
		goto out;
	if (!crypto_memeq(mac, obj + MH_MAC, sizeof mac)) {
		log_warning("envelope: manifest %s: header MAC mismatch (tampered or other "
			"deployment key)", tmp.id);
		rc = ENVELOPE_EAUTH;
		goto out;
	}
	*h = tmp;
out:
	crypto_wipe(mac, sizeof mac);
	return rc;
}

int
envelope_manifest_check_secret(const unsigned char *obj, size_t obj_len, const char *secret)
{
	struct envelope_header tmp;
	unsigned char v[32];
	size_t pl;
	int rc;

	rc = env_manifest_parse(obj, obj_len, &tmp, &pl);
	if (rc != ENVELOPE_OK) {
		log_warning("envelope: malformed manifest object (%zu bytes)", obj_len);
		goto out;
	}
	rc = env_verifier(tmp.id, secret, v);
	if (rc != ENVELOPE_OK)
		goto out;
	if (!crypto_memeq(v, obj + MH_VERIFIER, sizeof v))
		rc = ENVELOPE_EAUTH; /* an ordinary wrong link: not logged here */
out:
	crypto_wipe(v, sizeof v);
	return rc;
}

int
envelope_manifest_open(const unsigned char *obj, size_t obj_len,
	const unsigned char deployment_key[32], const unsigned char tk[32],
	struct envelope_header *h, char **json, size_t *json_len)
{
	struct envelope_header tmp;
	unsigned char commit[32], mk[32];
	EVP_CIPHER_CTX *ctx = NULL;
	char *pt = NULL;
	size_t pl = 0;
	int rc = ENVELOPE_EINVAL;

	if (json != NULL)
		*json = NULL;
	if (tk == NULL || json == NULL)
		goto out;
	/* no deployment key (archive escrow): step 2 is left out; the GCM aad
	 * (step 4) covers the whole clear header, so TK still authenticates it */
	rc = deployment_key != NULL ? envelope_manifest_header(obj, obj_len, deployment_key, &tmp) :
		env_manifest_parse(obj, obj_len, &tmp, &pl);
	if (rc != ENVELOPE_OK)
		goto out;
	pl = env_get32(obj + MH_PAYLEN);
	rc = env_hkdf_label(tk, 32, "offload v1 commit", commit);
	if (rc != ENVELOPE_OK)
		goto out;
	if (!crypto_memeq(commit, obj + MH_COMMIT, sizeof commit)) {
		log_warning("envelope: manifest %s: key commitment mismatch (wrong secret or "
			"password)", tmp.id);
		rc = ENVELOPE_EAUTH;
		goto out;
	}
	rc = env_hkdf_label(tk, 32, "offload v1 manifest", mk);
	if (rc != ENVELOPE_OK)
		goto out;
	rc = ENVELOPE_EINTERNAL;
	ctx = env_gcm_new(mk, 0);
	if (ctx == NULL)
		goto out;
	pt = g_malloc(pl + 1);
	rc = env_gcm_open(ctx, obj + MH_NONCE, obj, MH_NONCE, obj + MH_CT,
		pl + ENVELOPE_TAG_LEN, (unsigned char *)pt);
	if (rc != ENVELOPE_OK) {
		if (rc == ENVELOPE_EAUTH)
			log_warning("envelope: manifest %s: ciphertext failed authentication",
				tmp.id);
		goto out;
	}
	pt[pl] = '\0';
	*json = pt;
	pt = NULL;
	if (json_len != NULL)
		*json_len = pl;
	if (h != NULL)
		*h = tmp;
out:
	if (pt != NULL) {
		crypto_wipe(pt, pl + 1);
		g_free(pt);
	}
	EVP_CIPHER_CTX_free(ctx);
	crypto_wipe(commit, sizeof commit);
	crypto_wipe(mk, sizeof mk);
	return rc;
}
