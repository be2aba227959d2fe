/*
 * portal_ticket.c - seal and open download tickets (see portal_ticket.h).
 * OpenSSL EVP AES-256-GCM. Version 2 (sealed): a per-ticket key from a fresh
 * random 16-byte salt and a fresh random 96-bit nonce; version 1 (opened
 * only): one key for all tickets, random nonce.
 * No globals; every buffer with key material is wiped before return.
 */
#include "portal_ticket.h"
#include "portal_ticket_test.h"

#include <string.h>
#include <glib.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"

#define TK_V1 0x01
#define TK_V2 0x02
#define TK_HDR1 14                   /* version, kid, nonce */
#define TK_HDR2 30                   /* version, kid, salt, nonce */
#define TK_FIXED1 (1 + 24 + 4 + 8 + 8 + 32 + 1)
#define TK_FIXED2 (TK_FIXED1 + 2)    /* + part */
#define TK_AAD1 "offload v1 ticket"
#define TK_AAD2 "offload v2 ticket"
#define TK_INFO2 "offload v2 portal ticket"
#define TK_MAXRAW (TK_HDR2 + TK_FIXED2 + PORTAL_TICKET_NAME_MAX + 16)

static void
put_be(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void
portal_ticket_keys_init(struct portal_ticket_keys *k, const struct key32 *cur, const struct key32 *prev)
{
	const struct key32 *src[2] = { cur, prev };
	int i;

	memset(k, 0, sizeof *k);
	for (i = 0; i < 2 && src[i] != NULL; i++) {
		unsigned char idb[8];

		crypto_hkdf(src[i]->key, sizeof src[i]->key, NULL, 0, "offload v1 portal ticket", 24,
			k->k[i], 32);
		memcpy(k->raw[i], src[i]->key, 32);
		k->kid[i] = enc_hex_decode(src[i]->id, idb, sizeof idb) == 0 ? idb[0] : 0;
		k->n = i + 1;
	}
}

void
portal_ticket_keys_wipe(struct portal_ticket_keys *k)
{
	crypto_wipe(k, sizeof *k);
}

void
portal_ticket_wipe(struct portal_ticket *t)
{
	crypto_wipe(t, sizeof *t);
}

static int
tk_gcm(int enc, const unsigned char key[32], const unsigned char nonce[12],
	const unsigned char *aad, size_t aadlen, const unsigned char *in, size_t len,
	unsigned char *out, unsigned char tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, ok = 0;

	if (ctx == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* tk_key - the AEAD key of a ticket under configured key ki: K_ticket (v1),
 * or HKDF(ticket_key, salt, "offload v2 portal ticket") (v2) */
static int
tk_key(const struct portal_ticket_keys *k, int ki, int version, const unsigned char *salt,
	unsigned char out[32])
{
	if (version == TK_V1) {
		memcpy(out, k->k[ki], 32);
		return 0;
	}
	return crypto_hkdf(k->raw[ki], 32, salt, PORTAL_TICKET_SALT_LEN, TK_INFO2, sizeof TK_INFO2 - 1,
		out, 32);
}

/* tk_aad - "offload vN ticket" | version | kid (19 bytes) */
static void
tk_aad(unsigned char aad[19], int version, unsigned char kid)
{
	memcpy(aad, version == TK_V1 ? TK_AAD1 : TK_AAD2, 17);
	aad[17] = (unsigned char)version;
	aad[18] = kid;
}

/* tk_pack - the plaintext of a ticket; returns its length */
static size_t
tk_pack(int version, const struct portal_ticket *t, unsigned char *pt)
{
	size_t namelen = strnlen(t->name, PORTAL_TICKET_NAME_MAX), o = 29;

	pt[0] = 'd';
	memcpy(pt + 1, t->id, 24);
	put_be(pt + 25, t->index, 4);
	if (version == TK_V2) {
		put_be(pt + 29, t->part, 2);
		o = 31;
	}
	put_be(pt + o, t->size, 8);
	put_be(pt + o + 8, (uint64_t)t->not_after, 8);
	memcpy(pt + o + 16, t->key, 32);
	pt[o + 48] = (unsigned char)namelen;
	memcpy(pt + o + 49, t->name, namelen);
	return o + 49 + namelen;
}

/* tk_unpack - check and parse a decrypted plaintext; 0 or -1 */
static int
tk_unpack(int version, const unsigned char *pt, size_t ptlen, struct portal_ticket *t)
{
	size_t o = version == TK_V2 ? 31 : 29, i;

	if (ptlen < o + 49 || pt[0] != 'd' || (size_t)pt[o + 48] + o + 49 != ptlen)
		return -1;
	for (i = 0; i < 24; i++)
		if (!((pt[1 + i] >= 'a' && pt[1 + i] <= 'z') || (pt[1 + i] >= '2' && pt[1 + i] <= '7')))
			return -1;
	memcpy(t->id, pt + 1, 24);
	t->id[24] = '\0';
	t->index = (uint32_t)get_be(pt + 25, 4);
	t->part = version == TK_V2 ? (uint16_t)get_be(pt + 29, 2) : 0;
	t->size = get_be(pt + o, 8);
	t->not_after = (int64_t)get_be(pt + o + 8, 8);
	memcpy(t->key, pt + o + 16, 32);
	memcpy(t->name, pt + o + 49, pt[o + 48]);
	t->name[pt[o + 48]] = '\0';
	return 0;
}

/* ticket_seal - seal with the given salt (v2 only) and nonce (never reused:
 * the production path passes fresh CSPRNG bytes) */
static char *
ticket_seal(const struct portal_ticket_keys *k, const struct portal_ticket *t, int version,
	const unsigned char *salt, const unsigned char nonce[PORTAL_TICKET_NONCE_LEN])
{
	unsigned char buf[TK_MAXRAW], pt[TK_FIXED2 + PORTAL_TICKET_NAME_MAX], aad[19], key[32];
	size_t hdr = version == TK_V2 ? TK_HDR2 : TK_HDR1, ptlen;
	char *out = NULL;

	if (k->n < 1 || strlen(t->id) != ENVELOPE_ID_TEXT_LEN || (version == TK_V1 && t->part != 0))
		return NULL;
	ptlen = tk_pack(version, t, pt);
	buf[0] = (unsigned char)version;
	buf[1] = k->kid[0];
	if (version == TK_V2)
		memcpy(buf + 2, salt, PORTAL_TICKET_SALT_LEN);
	memcpy(buf + hdr - PORTAL_TICKET_NONCE_LEN, nonce, PORTAL_TICKET_NONCE_LEN);
	tk_aad(aad, version, k->kid[0]);
	if (tk_key(k, 0, version, salt, key) != 0 ||
	    tk_gcm(1, key, buf + hdr - PORTAL_TICKET_NONCE_LEN, aad, sizeof aad, pt, ptlen, buf + hdr,
		buf + hdr + ptlen) != 0) {
		log_error("portal: ticket encryption failed");
		goto out;
	}
	out = enc_b64url(buf, hdr + ptlen + 16);
out:
	crypto_wipe(key, sizeof key);
	crypto_wipe(pt, sizeof pt);
	crypto_wipe(buf, sizeof buf);
	return out;
}

char *
portal_ticket_seal(const struct portal_ticket_keys *k, const struct portal_ticket *t)
{
	unsigned char rnd[PORTAL_TICKET_SALT_LEN + PORTAL_TICKET_NONCE_LEN];

	if (crypto_random(rnd, sizeof rnd) != 0)
		return NULL;
	return ticket_seal(k, t, TK_V2, rnd, rnd + PORTAL_TICKET_SALT_LEN);
}

char *
portal_ticket_seal_fixed(const struct portal_ticket_keys *k, const struct portal_ticket *t,
	const unsigned char salt[PORTAL_TICKET_SALT_LEN], const unsigned char nonce[PORTAL_TICKET_NONCE_LEN])
{
	return ticket_seal(k, t, TK_V2, salt, nonce);
}

char *
portal_ticket_seal_v1_fixed(const struct portal_ticket_keys *k, const struct portal_ticket *t,
	const unsigned char nonce[PORTAL_TICKET_NONCE_LEN])
{
	return ticket_seal(k, t, TK_V1, NULL, nonce);
}

int
portal_ticket_open(const struct portal_ticket_keys *k, const char *text, int64_t now,
	struct portal_ticket *t)
{
	unsigned char buf[TK_MAXRAW + 3], pt[TK_FIXED2 + PORTAL_TICKET_NAME_MAX], aad[19], key[32];
	long n;
	size_t ptlen, hdr;
	int rc = PORTAL_TICKET_EINVAL, ki, version;

	memset(t, 0, sizeof *t);
	if (text == NULL || strlen(text) > PORTAL_TICKET_MAX_TEXT)
		return rc;
	n = enc_b64url_decode(text, buf, sizeof buf);
	version = n > 0 ? buf[0] : 0;
	if (version != TK_V1 && version != TK_V2)
		goto out;
	hdr = version == TK_V2 ? TK_HDR2 : TK_HDR1;
	if (n < (long)(hdr + (version == TK_V2 ? TK_FIXED2 : TK_FIXED1) + 16))
		goto out;
	ptlen = (size_t)n - hdr - 16;
	if (ptlen > sizeof pt)
		goto out;
	tk_aad(aad, version, buf[1]);
	for (ki = 0; ki < k->n; ki++) {
		if (k->kid[ki] != buf[1])
			continue;
		if (tk_key(k, ki, version, buf + 2, key) == 0 &&
		    tk_gcm(0, key, buf + hdr - PORTAL_TICKET_NONCE_LEN, aad, sizeof aad, buf + hdr, ptlen, pt,
			buf + hdr + ptlen) == 0)
			break;
	}
	if (ki >= k->n || tk_unpack(version, pt, ptlen, t) != 0)
		goto out;
	rc = now > t->not_after ? PORTAL_TICKET_EEXPIRED : PORTAL_TICKET_OK;
out:
	crypto_wipe(key, sizeof key);
	crypto_wipe(pt, sizeof pt);
	crypto_wipe(buf, sizeof buf);
	if (rc == PORTAL_TICKET_EINVAL)
		portal_ticket_wipe(t);
	return rc;
}
