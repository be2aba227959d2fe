/*
 * fuzz_ticket.c - download tickets (portal_ticket.c, FORMATS.md §4) on
 * hostile bytes. The first byte picks the form: 0 the rest is ticket text
 * (base64url, version byte, key id, lengths, GCM); 1 and 2 the rest is the
 * plaintext of a version 2 or version 1 ticket, sealed here under the test
 * ticket key as FORMATS.md §4 describes, so the field parser behind the
 * AEAD is reached. A ticket that opens must seal and open again to the
 * same fields. Any input must end in a ticket or an error, never a crash,
 * an over-read or a leak.
 */
#include <string.h>
#include <glib.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"
#include "fuzz.h"
#include "log.h"
#include "portal_ticket.h"

static struct portal_ticket_keys fz_keys;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct key32 cur = { { 1, 2, 3 }, "0123456789abcdef" };

	(void)argc;
	(void)argv;
	log_init("fuzz", false, false);
	portal_ticket_keys_init(&fz_keys, &cur, NULL);
	return 0;
}

/* fz_seal - base64url(version | kid | [salt] | nonce | GCM(pt) | tag) under key [0] */
static char *
fz_seal(int version, const unsigned char *pt, size_t n)
{
	unsigned char buf[1024], key[32], aad[19];
	size_t hdr = version == 2 ? 30 : 14;
	EVP_CIPHER_CTX *ctx;
	int len = 0, ok;

	if (n > sizeof buf - hdr - 16)
		return NULL;
	memset(buf, 0x5a, hdr);
	buf[0] = (unsigned char)version;
	buf[1] = fz_keys.kid[0];
	if (version == 2)
		crypto_hkdf(fz_keys.raw[0], 32, buf + 2, 16, "offload v2 portal ticket", 24, key, 32);
	else
		memcpy(key, fz_keys.k[0], 32);
	memcpy(aad, version == 2 ? "offload v2 ticket" : "offload v1 ticket", 17);
	aad[17] = (unsigned char)version;
	aad[18] = fz_keys.kid[0];
	ctx = EVP_CIPHER_CTX_new();
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf + hdr - 12) == 1 &&
		EVP_EncryptUpdate(ctx, NULL, &len, aad, sizeof aad) == 1 &&
		EVP_EncryptUpdate(ctx, buf + hdr, &len, pt, (int)n) == 1 &&
		EVP_EncryptFinal_ex(ctx, buf + hdr + n, &len) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, buf + hdr + n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? enc_b64url(buf, hdr + n + 16) : NULL;
}

/* fz_again - an opened ticket sealed anew opens to the same fields */
static void
fz_again(const struct portal_ticket *t)
{
	struct portal_ticket u;
	char *text = portal_ticket_seal(&fz_keys, t);

	g_assert(text != NULL);
	g_assert(portal_ticket_open(&fz_keys, text, INT64_MIN, &u) == PORTAL_TICKET_OK);
	g_assert(strcmp(u.id, t->id) == 0 && u.index == t->index && u.part == t->part && u.size == t->size &&
		u.not_after == t->not_after && memcmp(u.key, t->key, 32) == 0 && strcmp(u.name, t->name) == 0);
	g_free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct portal_ticket t;
	char *text;
	int rc;

	if (size == 0 || size > 4096)
		return 0;
	if (data[0] % 3 == 0)
		text = g_strndup((const char *)data + 1, size - 1);
	else
		text = fz_seal(data[0] % 3 == 1 ? 2 : 1, data + 1, size - 1);
	if (text == NULL)
		return 0;
	rc = portal_ticket_open(&fz_keys, text, 1000, &t);
	if (rc == PORTAL_TICKET_OK || rc == PORTAL_TICKET_EEXPIRED)
		fz_again(&t);
	g_free(text);
	return 0;
}
