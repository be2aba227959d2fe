/*
 * portal_ticket.c - seal and open download tickets (see portal_ticket.h).
 * OpenSSL EVP AES-256-GCM with a fresh random 96-bit nonce per ticket.
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

#define TK_VERSION 0x01
#define TK_HDR 14                    /* version, kid, nonce */
#define TK_FIXED (1 + 24 + 4 + 8 + 8 + 32 + 1)
#define TK_AAD "offload v1 ticket"

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

/* ticket_seal - seal with the given nonce (never reused: the production
 * path passes 12 fresh CSPRNG bytes) */
static char *
ticket_seal(const struct portal_ticket_keys *k, const struct portal_ticket *t,
	const unsigned char nonce[PORTAL_TICKET_NONCE_LEN])
{
	unsigned char buf[TK_HDR + TK_FIXED + PORTAL_TICKET_NAME_MAX + 16];
	unsigned char pt[TK_FIXED + PORTAL_TICKET_NAME_MAX];
	unsigned char aad[sizeof TK_AAD + 1];
	size_t namelen = strnlen(t->name, PORTAL_TICKET_NAME_MAX), ptlen;
	char *out = NULL;

	if (k->n < 1 || strlen(t->id) != ENVELOPE_ID_TEXT_LEN)
		return NULL;
	pt[0] = 'd';
	memcpy(pt + 1, t->id, 24);
	put_be(pt + 25, t->index, 4);
	put_be(pt + 29, t->size, 8);
	put_be(pt + 37, (uint64_t)t->not_after, 8);
	memcpy(pt + 45, t->key, 32);
	pt[77] = (unsigned char)namelen;
	memcpy(pt + 78, t->name, namelen);
	ptlen = TK_FIXED + namelen;
	buf[0] = TK_VERSION;
	buf[1] = k->kid[0];
	memcpy(buf + 2, nonce, PORTAL_TICKET_NONCE_LEN);
	memcpy(aad, TK_AAD, sizeof TK_AAD - 1);
	aad[sizeof TK_AAD - 1] = TK_VERSION;
	aad[sizeof TK_AAD] = k->kid[0];
	if (tk_gcm(1, k->k[0], buf + 2, aad, sizeof aad, pt, ptlen, buf + TK_HDR,
		buf + TK_HDR + ptlen) != 0) {
		log_error("portal: ticket encryption failed");
		goto out;
	}
	out = enc_b64url(buf, TK_HDR + ptlen + 16);
out:
	crypto_wipe(pt, sizeof pt);
	crypto_wipe(buf, sizeof buf);
	return out;
}

char *
portal_ticket_seal(const struct portal_ticket_keys *k, const struct portal_ticket *t)
{
	unsigned char nonce[PORTAL_TICKET_NONCE_LEN];

	if (crypto_random(nonce, sizeof nonce) != 0)
		return NULL;
	return ticket_seal(k, t, nonce);
}

char *
portal_ticket_seal_fixed(const struct portal_ticket_keys *k, const struct portal_ticket *t,
	const unsigned char nonce[PORTAL_TICKET_NONCE_LEN])
{
	return ticket_seal(k, t, nonce);
}

int
portal_ticket_open(const struct portal_ticket_keys *k, const char *text, int64_t now,
	struct portal_ticket *t)
{
	unsigned char buf[TK_HDR + TK_FIXED + PORTAL_TICKET_NAME_MAX + 16 + 3];
	unsigned char pt[TK_FIXED + PORTAL_TICKET_NAME_MAX];
	unsigned char aad[sizeof TK_AAD + 1];
	long n;
	size_t ptlen, i;
	int rc = PORTAL_TICKET_EINVAL, ki;

	memset(t, 0, sizeof *t);
	if (text == NULL || strlen(text) > PORTAL_TICKET_MAX_TEXT)
		return rc;
	n = enc_b64url_decode(text, buf, sizeof buf);
	if (n < (long)(TK_HDR + TK_FIXED + 16) || buf[0] != TK_VERSION)
		goto out;
	ptlen = (size_t)n - TK_HDR - 16;
	if (ptlen > sizeof pt)
		goto out;
	memcpy(aad, TK_AAD, sizeof TK_AAD - 1);
	aad[sizeof TK_AAD - 1] = TK_VERSION;
	aad[sizeof TK_AAD] = buf[1];
	for (ki = 0; ki < k->n; ki++) {
		if (k->kid[ki] != buf[1])
			continue;
		if (tk_gcm(0, k->k[ki], buf + 2, aad, sizeof aad, buf + TK_HDR, ptlen, pt,
			buf + TK_HDR + ptlen) == 0)
			break;
	}
	if (ki >= k->n)
		goto out;
	if (pt[0] != 'd' || (size_t)pt[77] + TK_FIXED != ptlen)
		goto out;
	for (i = 0; i < 24; i++)
		if (!((pt[1 + i] >= 'a' && pt[1 + i] <= 'z') || (pt[1 + i] >= '2' && pt[1 + i] <= '7')))
			goto out;
	memcpy(t->id, pt + 1, 24);
	t->id[24] = '\0';
	t->index = (uint32_t)get_be(pt + 25, 4);
	t->size = get_be(pt + 29, 8);
	t->not_after = (int64_t)get_be(pt + 37, 8);
	memcpy(t->key, pt + 45, 32);
	memcpy(t->name, pt + 78, pt[77]);
	t->name[pt[77]] = '\0';
	rc = now > t->not_after ? PORTAL_TICKET_EEXPIRED : PORTAL_TICKET_OK;
out:
	crypto_wipe(pt, sizeof pt);
	crypto_wipe(buf, sizeof buf);
	if (rc == PORTAL_TICKET_EINVAL)
		portal_ticket_wipe(t);
	return rc;
}
