/*
 * transfer_password.c - transfer passwords and the transfer key (see
 * transfer_password.h).
 */
#include "transfer_password.h"

#include <string.h>
#include <argon2.h>
#include <glib.h>

#include "crypto.h"
#include "log.h"
#include "transfer.h"

/* ---- passwords ------------------------------------------------------- */

const char *
transfer_set_password(struct transfer *t)
{
	static const char alpha[] = TRANSFER_PASSWORD_ALPHABET;
	const unsigned n = sizeof alpha - 1;
	char pw[TRANSFER_PASSWORD_TEXT_LEN + 1];
	size_t i = 0, o = 0;

	while (o < TRANSFER_PASSWORD_TEXT_LEN) {
		unsigned char b[32];

		if (crypto_random(b, sizeof b) != 0)
			return NULL;
		for (i = 0; i < sizeof b && o < TRANSFER_PASSWORD_TEXT_LEN; i++) {
			/* rejection sampling: no modulo bias */
			if (b[i] >= 256 / n * n)
				continue;
			if (o % 5 == 4)
				pw[o++] = '-';
			pw[o++] = alpha[b[i] % n];
		}
		crypto_wipe(b, sizeof b);
	}
	pw[o] = '\0';
	if (t->password != NULL) {
		crypto_wipe(t->password, strlen(t->password));
		g_free(t->password);
	}
	t->password = g_strdup(pw);
	crypto_wipe(pw, sizeof pw);
	t->kdf_m = TRANSFER_KDF_M_KIB;
	t->kdf_t = TRANSFER_KDF_T;
	t->kdf_p = TRANSFER_KDF_P;
	return t->password;
}

char *
transfer_password_normalise(const char *password)
{
	GString *s = g_string_sized_new(32);
	const char *p;

	for (p = password; *p; p++) {
		if (*p == ' ' || *p == '-' || *p == '_' || *p == '.' || *p == '\t')
			continue;
		g_string_append_c(s, g_ascii_tolower(*p));
	}
	return g_string_free(s, FALSE);
}

int
transfer_password_hash(const char *id, const char *password, uint32_t m_kib, uint32_t t_cost,
	uint32_t p_lanes, unsigned char out[32])
{
	static const char label[] = "offload v1 pw";
	unsigned char salt[sizeof label - 1 + ENVELOPE_ID_TEXT_LEN];
	char *norm;
	int rc;

	if (m_kib < TRANSFER_KDF_M_MIN || m_kib > TRANSFER_KDF_M_MAX ||
	    t_cost < TRANSFER_KDF_T_MIN || t_cost > TRANSFER_KDF_T_MAX ||
	    p_lanes < TRANSFER_KDF_P_MIN || p_lanes > TRANSFER_KDF_P_MAX) {
		log_warning("transfer %s: Argon2id parameters m=%u t=%u p=%u outside the accepted range",
			id, m_kib, t_cost, p_lanes);
		return -1;
	}
	if (!transfer_valid_id(id) || password == NULL)
		return -1;
	memcpy(salt, label, sizeof label - 1);
	memcpy(salt + sizeof label - 1, id, ENVELOPE_ID_TEXT_LEN);
	norm = transfer_password_normalise(password);
	rc = argon2id_hash_raw(t_cost, m_kib, p_lanes, norm, strlen(norm), salt, sizeof salt, out, 32);
	crypto_wipe(norm, strlen(norm));
	g_free(norm);
	if (rc != ARGON2_OK) {
		log_error("transfer %s: Argon2id failed: %s", id, argon2_error_message(rc));
		return -1;
	}
	return 0;
}

int
transfer_derive_key(const struct envelope_header *h, const char *secret, const char *password,
	unsigned char tk[32])
{
	unsigned char pwhash[32];
	int rc = -1;

	if (!h->password) {
		rc = envelope_derive_tk(h->id, secret, NULL, 0, tk) == ENVELOPE_OK ? 0 : -1;
		goto out;
	}
	if (password == NULL ||
	    transfer_password_hash(h->id, password, h->kdf_m_kib, h->kdf_t, h->kdf_p, pwhash) != 0)
		goto out;
	rc = envelope_derive_tk(h->id, secret, pwhash, sizeof pwhash, tk) == ENVELOPE_OK ? 0 : -1;
out:
	crypto_wipe(pwhash, sizeof pwhash);
	return rc;
}

