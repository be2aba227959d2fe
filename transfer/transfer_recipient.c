/*
 * transfer_recipient.c - recipient secrets "recipients/<h>" (see
 * transfer_agreed.h, FORMATS.md §6.10): name, derivation, seal and open,
 * and the store operations behind `offloadctl recipient`.
 */
#include "transfer_agreed.h"

#include <stdio.h>
#include <string.h>
#include <argon2.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "envelope_int.h"
#include "log.h"
#include "transfer_int.h"
#include "transfer_password.h"

#define RC_HDR 6u      /* "OFLDR" 0x01 */
#define RC_NONCE 12u
#define RC_FIXED (TRANSFER_AGREED_SALT_LEN + 12u + 32u + 2u) /* plaintext without the address */
#define RC_NAME_HEX 32u

/* transfer_agreed_gcm - AES-256-GCM of len bytes in -> out; tag written
 * (enc) or checked; 0 or -1 */
int
transfer_agreed_gcm(int enc, const unsigned char k[32], const unsigned char nonce[12],
	const unsigned char *aad, size_t aadlen, const unsigned char *in, size_t len,
	unsigned char *out, unsigned char tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok = 0;

	if (ctx != NULL &&
	    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, k, nonce, enc) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1 &&
	    (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1) &&
	    (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1) &&
	    EVP_CipherFinal_ex(ctx, out + len, &n) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1))
		ok = 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok && !enc)
		crypto_wipe(out, len);
	return ok ? 0 : -1;
}

char *
transfer_recipient_name(const struct key32 *dk, const char *address)
{
	unsigned char k[32], mac[32];
	char *lower = g_ascii_strdown(address, -1), hex[2 * 16 + 1];

	crypto_hkdf(dk->key, sizeof dk->key, NULL, 0, "offload v1 recipient name", 25, k, sizeof k);
	crypto_hmac_sha256(k, sizeof k, lower, strlen(lower), mac);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	crypto_wipe(k, sizeof k);
	g_free(lower);
	return g_strconcat(TRANSFER_RECIPIENT_PREFIX, hex, NULL);
}

int
transfer_recipient_derive(const char *password, const unsigned char salt[16], uint32_t m, uint32_t t,
	uint32_t p, unsigned char a[32])
{
	int rc;

	if (password == NULL || m < TRANSFER_KDF_M_MIN || m > TRANSFER_KDF_M_MAX || t < TRANSFER_KDF_T_MIN ||
	    t > TRANSFER_KDF_T_MAX || p < TRANSFER_KDF_P_MIN || p > TRANSFER_KDF_P_MAX)
		return -1;
	rc = argon2id_hash_raw(t, m, p, password, strlen(password), salt, TRANSFER_AGREED_SALT_LEN, a, 32);
	if (rc != ARGON2_OK) {
		log_error("agreed secret: Argon2id failed: %s", argon2_error_message(rc));
		return -1;
	}
	return 0;
}

int
transfer_recipient_make(const char *address, const char *password, struct transfer_recipient *out)
{
	memset(out, 0, sizeof *out);
	out->m = TRANSFER_KDF_M_KIB;
	out->t = TRANSFER_KDF_T;
	out->p = TRANSFER_KDF_P;
	if (strlen(address) > TRANSFER_AGREED_ADDR_MAX || crypto_random(out->salt, sizeof out->salt) != 0 ||
	    transfer_recipient_derive(password, out->salt, out->m, out->t, out->p, out->a) != 0)
		return -1;
	out->address = g_ascii_strdown(address, -1);
	return 0;
}

void
transfer_recipient_clear(struct transfer_recipient *r)
{
	g_free(r->address);
	crypto_wipe(r, sizeof *r);
}

/* rc_key - K_r; aad = "OFLDR" 0x01 || the 32 hex digits of the name */
static void
rc_key_aad(const struct key32 *dk, const char *name, unsigned char k[32], unsigned char aad[RC_HDR + RC_NAME_HEX])
{
	crypto_hkdf(dk->key, sizeof dk->key, NULL, 0, "offload v1 recipient", 20, k, 32);
	memcpy(aad, "OFLDR\x01", RC_HDR);
	memcpy(aad + RC_HDR, name + strlen(TRANSFER_RECIPIENT_PREFIX), RC_NAME_HEX);
}

int
transfer_recipient_seal(const struct key32 *dk, const struct transfer_recipient *r,
	const unsigned char nonce[12], unsigned char **obj, size_t *len)
{
	size_t alen = strlen(r->address), plen = RC_FIXED + alen;
	unsigned char k[32], aad[RC_HDR + RC_NAME_HEX], *pt, *o;
	char *name = transfer_recipient_name(dk, r->address);
	int rc;

	if (alen > TRANSFER_AGREED_ADDR_MAX) {
		g_free(name);
		return -1;
	}
	pt = g_malloc(plen);
	memcpy(pt, r->salt, 16);
	env_put32(pt + 16, r->m);
	env_put32(pt + 20, r->t);
	env_put32(pt + 24, r->p);
	memcpy(pt + 28, r->a, 32);
	pt[60] = (unsigned char)(alen >> 8);
	pt[61] = (unsigned char)alen;
	memcpy(pt + 62, r->address, alen);
	rc_key_aad(dk, name, k, aad);
	*len = RC_HDR + RC_NONCE + plen + 16;
	o = g_malloc(*len);
	memcpy(o, aad, RC_HDR);
	memcpy(o + RC_HDR, nonce, RC_NONCE);
	rc = transfer_agreed_gcm(1, k, nonce, aad, sizeof aad, pt, plen, o + RC_HDR + RC_NONCE,
		o + RC_HDR + RC_NONCE + plen);
	crypto_wipe(k, sizeof k);
	crypto_wipe(pt, plen);
	g_free(pt);
	g_free(name);
	if (rc != 0) {
		g_free(o);
		return -1;
	}
	*obj = o;
	return 0;
}

int
transfer_recipient_open(const struct key32 *dk, const char *name, const unsigned char *buf, size_t len,
	struct transfer_recipient *out)
{
	unsigned char k[32], aad[RC_HDR + RC_NAME_HEX], *pt;
	size_t plen, alen;
	char *own;
	int rc = TRANSFER_AGREED_EINVAL;

	if (!g_str_has_prefix(name, TRANSFER_RECIPIENT_PREFIX) ||
	    strlen(name) != strlen(TRANSFER_RECIPIENT_PREFIX) + RC_NAME_HEX ||
	    len < RC_HDR + RC_NONCE + RC_FIXED + 16 || len > RC_HDR + RC_NONCE + RC_FIXED +
	    TRANSFER_AGREED_ADDR_MAX + 16 || memcmp(buf, "OFLDR\x01", RC_HDR) != 0)
		return TRANSFER_AGREED_EINVAL;
	plen = len - RC_HDR - RC_NONCE - 16;
	pt = g_malloc(plen);
	rc_key_aad(dk, name, k, aad);
	if (transfer_agreed_gcm(0, k, buf + RC_HDR, aad, sizeof aad, buf + RC_HDR + RC_NONCE, plen, pt,
		(unsigned char *)buf + len - 16) != 0) {
		rc = TRANSFER_AGREED_EAUTH;
		goto out;
	}
	alen = (size_t)pt[60] << 8 | pt[61];
	if (alen != plen - RC_FIXED)
		goto out;
	memset(out, 0, sizeof *out);
	memcpy(out->salt, pt, 16);
	out->m = env_get32(pt + 16);
	out->t = env_get32(pt + 20);
	out->p = env_get32(pt + 24);
	memcpy(out->a, pt + 28, 32);
	out->address = g_strndup((const char *)pt + 62, alen);
	own = transfer_recipient_name(dk, out->address); /* a record copied to another name */
	rc = strcmp(own, name) == 0 ? 0 : TRANSFER_AGREED_EAUTH;
	g_free(own);
	if (rc != 0)
		transfer_recipient_clear(out);
out:
	crypto_wipe(k, sizeof k);
	crypto_wipe(pt, plen);
	g_free(pt);
	return rc;
}

int
transfer_recipient_put(struct storage *st, const struct key32 *dk, const struct transfer_recipient *r)
{
	unsigned char nonce[12], *obj = NULL;
	size_t len = 0;
	char *name;
	int rc = STORAGE_ETEMP;

	if (crypto_random(nonce, sizeof nonce) != 0 || transfer_recipient_seal(dk, r, nonce, &obj, &len) != 0)
		return rc;
	name = transfer_recipient_name(dk, r->address);
	rc = storage_put_buffer(st, name, obj, len);
	g_free(name);
	g_free(obj);
	return rc;
}

/* rc_read - the record stored as NAME: 1, 0 none or invalid (logged), negative storage error */
static int
rc_read(struct storage *st, const struct key32 *dk, const char *name, struct transfer_recipient *out)
{
	GByteArray *a = g_byte_array_new();
	int rc = storage_get(st, name, 0, STORAGE_TO_END, transfer_collect_out, a);

	if (rc == STORAGE_OK) {
		rc = transfer_recipient_open(dk, name, a->data, a->len, out) == 0 ? 1 : 0;
		if (rc == 0)
			log_warning("recipient secret %s: invalid or forged object ignored", name);
	} else if (rc == STORAGE_ENOENT) {
		rc = 0;
	}
	g_byte_array_free(a, TRUE);
	return rc;
}

int
transfer_recipient_get(struct storage *st, const struct key32 *dk, const char *address,
	struct transfer_recipient *out)
{
	char *name = transfer_recipient_name(dk, address);
	int rc = rc_read(st, dk, name, out);

	g_free(name);
	return rc;
}

int
transfer_recipient_find(struct storage *st, const struct key32 *dk, const GPtrArray *addresses,
	guint max, const unsigned char salt[TRANSFER_AGREED_SALT_LEN], char **address)
{
	int found = 0;

	*address = NULL;
	for (guint i = 0; addresses != NULL && i < addresses->len && i < max && !found; i++) {
		struct transfer_recipient rec = { 0 };
		char *n = transfer_recipient_name(dk, g_ptr_array_index(addresses, i));
		int rc = rc_read(st, dk, n, &rec);

		if (rc < 0) {
			g_free(n);
			return rc;
		}
		if (rc == 1 && crypto_memeq(rec.salt, salt, TRANSFER_AGREED_SALT_LEN)) {
			*address = g_strdup(rec.address);
			found = 1;
		}
		if (rc == 1)
			transfer_recipient_clear(&rec);
		g_free(n);
	}
	return found;
}

int
transfer_recipient_delete(struct storage *st, const struct key32 *dk, const char *address)
{
	char *name = transfer_recipient_name(dk, address);
	int rc = storage_delete(st, name);

	g_free(name);
	return rc;
}

static int
rc_list_one(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)size;
	(void)mtime;
	g_ptr_array_add(arg, g_strdup(key));
	return 0;
}

static gint
rc_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
transfer_recipient_list(struct storage *st, const struct key32 *dk, GPtrArray **out)
{
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	int rc = storage_list(st, TRANSFER_RECIPIENT_PREFIX, rc_list_one, keys);

	*out = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; rc == STORAGE_OK && i < keys->len; i++) {
		struct transfer_recipient r;
		int g = rc_read(st, dk, g_ptr_array_index(keys, i), &r);

		if (g < 0 && g != STORAGE_ENOENT)
			rc = g;
		if (g == 1) {
			g_ptr_array_add(*out, g_strdup(r.address));
			transfer_recipient_clear(&r);
		}
	}
	g_ptr_array_sort(*out, rc_cmp);
	g_ptr_array_free(keys, TRUE);
	return rc;
}
