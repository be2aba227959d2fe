/*
 * envelope_keys.c - fresh ids and secrets, the revoke hash and the
 * transfer key TK (see envelope.h, docs/FORMATS.md).
 */
#include "envelope.h"

#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "encoding.h"
#include "envelope_int.h"
#include "log.h"

/* ---- ids and keys ----------------------------------------------------- */

int
envelope_new_ids(char id[ENVELOPE_ID_TEXT_LEN + 1], char secret[ENVELOPE_SECRET_TEXT_LEN + 1])
{
	unsigned char raw[ENVELOPE_ID_RAW_LEN + ENVELOPE_SECRET_RAW_LEN];
	char *s = NULL, *t = NULL;
	int rc = ENVELOPE_EINTERNAL;

	if (crypto_random(raw, sizeof raw) != 0)
		goto out;
	s = enc_base32(raw, ENVELOPE_ID_RAW_LEN);
	t = enc_b64url(raw + ENVELOPE_ID_RAW_LEN, ENVELOPE_SECRET_RAW_LEN);
	if (strlen(s) != ENVELOPE_ID_TEXT_LEN || strlen(t) != ENVELOPE_SECRET_TEXT_LEN) {
		log_panic("envelope: id/secret encoding has the wrong length");
		goto out;
	}
	memcpy(id, s, ENVELOPE_ID_TEXT_LEN + 1);
	memcpy(secret, t, ENVELOPE_SECRET_TEXT_LEN + 1);
	rc = ENVELOPE_OK;
out:
	crypto_wipe(raw, sizeof raw);
	if (t != NULL)
		crypto_wipe(t, strlen(t));
	g_free(t);
	g_free(s);
	return rc;
}

int
envelope_new_secret(char secret[ENVELOPE_SECRET_TEXT_LEN + 1])
{
	unsigned char raw[ENVELOPE_SECRET_RAW_LEN];
	char *t = NULL;
	int rc = ENVELOPE_EINTERNAL;

	if (crypto_random(raw, sizeof raw) != 0)
		goto out;
	t = enc_b64url(raw, sizeof raw);
	if (strlen(t) != ENVELOPE_SECRET_TEXT_LEN) {
		log_panic("envelope: secret encoding has the wrong length");
		goto out;
	}
	memcpy(secret, t, ENVELOPE_SECRET_TEXT_LEN + 1);
	rc = ENVELOPE_OK;
out:
	crypto_wipe(raw, sizeof raw);
	crypto_free_string(t);
	return rc;
}

int
envelope_revoke_hash(const char *id, const char *revoke_secret, unsigned char out[32])
{
	static const char label[] = "offload v1 revoke";
	unsigned char raw[ENVELOPE_SECRET_RAW_LEN];
	unsigned char buf[sizeof label - 1 + ENVELOPE_ID_TEXT_LEN + ENVELOPE_SECRET_RAW_LEN];
	size_t l = sizeof label - 1;

	if (out == NULL || !env_valid_id_str(id) ||
		env_decode_secret(revoke_secret, raw) != 0)
		return ENVELOPE_EINVAL;
	memcpy(buf, label, l);
	memcpy(buf + l, id, ENVELOPE_ID_TEXT_LEN);
	memcpy(buf + l + ENVELOPE_ID_TEXT_LEN, raw, sizeof raw);
	crypto_sha256(buf, sizeof buf, out);
	crypto_wipe(raw, sizeof raw);
	crypto_wipe(buf, sizeof buf);
	return ENVELOPE_OK;
}

int
envelope_revoke_check(const struct envelope_header *h, const char *revoke_secret)
{
	unsigned char want[32];
	int rc;

	if (h == NULL)
		return ENVELOPE_EINVAL;
	rc = envelope_revoke_hash(h->id, revoke_secret, want);
	if (rc == ENVELOPE_OK && !crypto_memeq(want, h->revoke_hash, sizeof want))
		rc = ENVELOPE_EAUTH;
	crypto_wipe(want, sizeof want);
	return rc;
}

int
envelope_derive_tk(const char *id, const char *secret,
	const unsigned char *pwhash, size_t pwhash_len, unsigned char tk[32])
{
	static const char info[] = "offload v1 transfer key";
	unsigned char ikm[ENVELOPE_SECRET_RAW_LEN + ENV_PWHASH_MAX];
	unsigned char salt[sizeof env_salt_label - 1 + ENVELOPE_ID_TEXT_LEN];
	size_t saltlen;
	int rc = ENVELOPE_EINVAL;

	if (!env_valid_id_str(id) || (pwhash == NULL && pwhash_len != 0) ||
		(pwhash != NULL && (pwhash_len == 0 || pwhash_len > ENV_PWHASH_MAX))) {
		log_error("envelope: invalid id or password hash for key derivation");
		goto out;
	}
	if (env_decode_secret(secret, ikm) != 0) {
		log_warning("envelope: malformed link secret for transfer %s", id);
		goto out;
	}
	if (pwhash_len > 0)
		memcpy(ikm + ENVELOPE_SECRET_RAW_LEN, pwhash, pwhash_len);
	saltlen = env_salt(id, salt);
	if (crypto_hkdf(ikm, ENVELOPE_SECRET_RAW_LEN + pwhash_len, salt, saltlen,
		info, sizeof info - 1, tk, 32) != 0) {
		rc = ENVELOPE_EINTERNAL;
		goto out;
	}
	rc = ENVELOPE_OK;
out:
	crypto_wipe(ikm, sizeof ikm);
	return rc;
}

