/*
 * transfer_escrow.c - archive escrow (see transfer_escrow.h; bytes in
 * docs/FORMATS.md §6.1): X25519 key pairs and their files, the "<id>/e"
 * object that wraps TK for the archive, and the commit hook.
 * Memory: fixed-size buffers on the stack; every buffer that held a private
 * key, a shared secret, K_e or TK is wiped before return.
 * Thread safety: no shared state.
 */
#include "transfer_escrow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"
#include "envelope_int.h"
#include "fdio.h"
#include "log.h"
#include "transfer.h"
#include "transfer_int.h"

/* object layout (FORMATS.md §6.1) */
enum {
	EO_MAGIC = 0,    /* 5 "OFLDE" */
	EO_VERSION = 5,  /* 1 0x01 */
	EO_ID = 6,       /* 24 ASCII */
	EO_KEYID = 30,   /* 8 SHA-256("offload escrow key id" || recipient pub)[0..8) */
	EO_EPH = 38,     /* 32 ephemeral X25519 public key */
	EO_AAD_LEN = 70, /* GCM aad = object[0..70) */
	EO_NONCE = 70,   /* 12 random */
	EO_CT = 82,      /* 32 wrapped TK, then the 16-byte tag */
};
_Static_assert(EO_CT + 32 + ENVELOPE_TAG_LEN == ESCROW_OBJECT_LEN, "escrow object length");

static const char escrow_magic[5] = { 'O', 'F', 'L', 'D', 'E' };
static const char escrow_info[] = "offload v1 escrow";
static const char escrow_keyid_label[] = "offload escrow key id";
#define ESCROW_MAX_OBJECT 4096u

static GQuark
escrow_quark(void)
{
	return g_quark_from_static_string("offload-escrow");
}

/* escrow_pkey - an X25519 EVP_PKEY from raw private (priv != NULL) or public bytes */
static EVP_PKEY *
escrow_pkey(const unsigned char *priv, const unsigned char *pub)
{
	EVP_PKEY *k = priv != NULL ?
		EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, ESCROW_KEY_LEN) :
		EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, ESCROW_KEY_LEN);

	if (k == NULL)
		env_ossl("X25519 key");
	return k;
}

int
transfer_escrow_public(const unsigned char priv[ESCROW_KEY_LEN], unsigned char pub[ESCROW_KEY_LEN])
{
	EVP_PKEY *k = escrow_pkey(priv, NULL);
	size_t len = ESCROW_KEY_LEN;
	int rc = -1;

	if (k != NULL && EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == ESCROW_KEY_LEN)
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

int
transfer_escrow_keygen(unsigned char priv[ESCROW_KEY_LEN], unsigned char pub[ESCROW_KEY_LEN])
{
	if (crypto_random(priv, ESCROW_KEY_LEN) != 0 || transfer_escrow_public(priv, pub) != 0) {
		crypto_wipe(priv, ESCROW_KEY_LEN);
		return -1;
	}
	return 0;
}

/* escrow_key_id_raw - SHA-256("offload escrow key id" || pub)[0..8) */
static void
escrow_key_id_raw(const unsigned char pub[ESCROW_KEY_LEN], unsigned char out[ESCROW_KEYID_LEN])
{
	unsigned char in[sizeof escrow_keyid_label - 1 + ESCROW_KEY_LEN], md[CRYPTO_SHA256_LEN];

	memcpy(in, escrow_keyid_label, sizeof escrow_keyid_label - 1);
	memcpy(in + sizeof escrow_keyid_label - 1, pub, ESCROW_KEY_LEN);
	crypto_sha256(in, sizeof in, md);
	memcpy(out, md, ESCROW_KEYID_LEN);
}

void
transfer_escrow_key_id(const unsigned char pub[ESCROW_KEY_LEN], char id[2 * ESCROW_KEYID_LEN + 1])
{
	unsigned char raw[ESCROW_KEYID_LEN];
	char *hex;

	escrow_key_id_raw(pub, raw);
	hex = enc_hex(raw, sizeof raw);
	memcpy(id, hex, 2 * ESCROW_KEYID_LEN + 1);
	g_free(hex);
}

/* escrow_kdf - K_e = HKDF(X25519(priv, peer), eph_pub || recipient_pub, "offload v1 escrow");
 * ESCROW_EAUTH when X25519 fails (a low-order point gives the all-zero secret, which
 * OpenSSL refuses) */
static int
escrow_kdf(const unsigned char priv[ESCROW_KEY_LEN], const unsigned char peer[ESCROW_KEY_LEN],
	const unsigned char eph_pub[ESCROW_KEY_LEN], const unsigned char rcpt_pub[ESCROW_KEY_LEN],
	unsigned char ke[32])
{
	EVP_PKEY *mine = escrow_pkey(priv, NULL), *other = escrow_pkey(NULL, peer);
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char shared[32], salt[2 * ESCROW_KEY_LEN];
	size_t slen = sizeof shared;
	int rc = ESCROW_EINTERNAL;

	if (mine == NULL || other == NULL)
		goto out;
	ctx = EVP_PKEY_CTX_new(mine, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1)
		goto out;
	rc = ESCROW_EAUTH;
	if (EVP_PKEY_derive_set_peer(ctx, other) != 1 || EVP_PKEY_derive(ctx, shared, &slen) != 1 ||
		slen != sizeof shared) {
		ERR_clear_error();
		goto out;
	}
	memcpy(salt, eph_pub, ESCROW_KEY_LEN);
	memcpy(salt + ESCROW_KEY_LEN, rcpt_pub, ESCROW_KEY_LEN);
	rc = crypto_hkdf(shared, sizeof shared, salt, sizeof salt, escrow_info, sizeof escrow_info - 1,
		ke, 32) == 0 ? 0 : ESCROW_EINTERNAL;
out:
	crypto_wipe(shared, sizeof shared);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(other);
	return rc;
}

int
transfer_escrow_seal_fixed(const unsigned char pub[ESCROW_KEY_LEN], const char *id,
	const unsigned char tk[32], const unsigned char eph_priv[ESCROW_KEY_LEN],
	const unsigned char nonce[ESCROW_NONCE_LEN], unsigned char obj[ESCROW_OBJECT_LEN])
{
	unsigned char ke[32];
	EVP_CIPHER_CTX *ctx = NULL;
	int rc = ESCROW_EINVAL;

	if (id == NULL || !env_valid_id_str(id))
		goto out;
	memcpy(obj + EO_MAGIC, escrow_magic, sizeof escrow_magic);
	obj[EO_VERSION] = 0x01;
	memcpy(obj + EO_ID, id, ENVELOPE_ID_TEXT_LEN);
	escrow_key_id_raw(pub, obj + EO_KEYID);
	rc = ESCROW_EINTERNAL;
	if (transfer_escrow_public(eph_priv, obj + EO_EPH) != 0)
		goto out;
	rc = escrow_kdf(eph_priv, pub, obj + EO_EPH, pub, ke);
	if (rc != 0) {
		log_error("escrow: the escrow public key is unusable (X25519 failed)");
		goto out;
	}
	memcpy(obj + EO_NONCE, nonce, ESCROW_NONCE_LEN);
	rc = ESCROW_EINTERNAL;
	ctx = env_gcm_new(ke, 1);
	if (ctx != NULL && env_gcm_seal(ctx, obj + EO_NONCE, obj, EO_AAD_LEN, tk, 32, obj + EO_CT) ==
		ENVELOPE_OK)
		rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	crypto_wipe(ke, sizeof ke);
	return rc;
}

int
transfer_escrow_seal(const unsigned char pub[ESCROW_KEY_LEN], const char *id,
	const unsigned char tk[32], unsigned char obj[ESCROW_OBJECT_LEN])
{
	unsigned char eph[ESCROW_KEY_LEN], nonce[ESCROW_NONCE_LEN];
	int rc = ESCROW_EINTERNAL;

	if (crypto_random(eph, sizeof eph) == 0 && crypto_random(nonce, sizeof nonce) == 0)
		rc = transfer_escrow_seal_fixed(pub, id, tk, eph, nonce, obj);
	crypto_wipe(eph, sizeof eph);
	return rc;
}

int
transfer_escrow_open(const unsigned char priv[ESCROW_KEY_LEN], const char *id,
	const unsigned char *obj, size_t len, unsigned char tk[32],
	char key_id[2 * ESCROW_KEYID_LEN + 1])
{
	unsigned char pub[ESCROW_KEY_LEN], mine[ESCROW_KEYID_LEN], ke[32];
	EVP_CIPHER_CTX *ctx = NULL;
	int rc = ESCROW_EINVAL;

	if (key_id != NULL)
		key_id[0] = '\0';
	if (obj == NULL || len != ESCROW_OBJECT_LEN || memcmp(obj, escrow_magic, sizeof escrow_magic) != 0 ||
		obj[EO_VERSION] != 0x01 || id == NULL || strlen(id) != ENVELOPE_ID_TEXT_LEN ||
		memcmp(obj + EO_ID, id, ENVELOPE_ID_TEXT_LEN) != 0)
		goto out;
	if (key_id != NULL) {
		char *hex = enc_hex(obj + EO_KEYID, ESCROW_KEYID_LEN);

		memcpy(key_id, hex, 2 * ESCROW_KEYID_LEN + 1);
		g_free(hex);
	}
	rc = ESCROW_EINTERNAL;
	if (transfer_escrow_public(priv, pub) != 0)
		goto out;
	escrow_key_id_raw(pub, mine);
	rc = ESCROW_EKEY;
	if (memcmp(mine, obj + EO_KEYID, sizeof mine) != 0)
		goto out;
	rc = escrow_kdf(priv, obj + EO_EPH, obj + EO_EPH, pub, ke);
	if (rc != 0)
		goto out;
	rc = ESCROW_EINTERNAL;
	ctx = env_gcm_new(ke, 0);
	if (ctx == NULL)
		goto out;
	rc = env_gcm_open(ctx, obj + EO_NONCE, obj, EO_AAD_LEN, obj + EO_CT, 32 + ENVELOPE_TAG_LEN, tk);
	rc = rc == ENVELOPE_OK ? 0 : rc == ENVELOPE_EAUTH ? ESCROW_EAUTH : ESCROW_EINTERNAL;
out:
	EVP_CIPHER_CTX_free(ctx);
	crypto_wipe(ke, sizeof ke);
	return rc;
}

/* ---- key files ---------------------------------------------------------- */

static const char *
escrow_prefix(bool private_key)
{
	return private_key ? "escrow-private:" : "escrow-public:";
}

int
transfer_escrow_key_write(const char *path, bool private_key, const unsigned char key[ESCROW_KEY_LEN],
	GError **err)
{
	char *hex = enc_hex(key, ESCROW_KEY_LEN);
	char *line = g_strdup_printf("%s%s\n", escrow_prefix(private_key), hex);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, private_key ? 0600 : 0644);
	int rc = -1;

	if (fd < 0) {
		g_set_error(err, escrow_quark(), errno, "%s: %s", path, g_strerror(errno));
		goto out;
	}
	if (fdio_write_all(fd, line, strlen(line)) != 0 || fsync(fd) != 0) {
		g_set_error(err, escrow_quark(), errno, "%s: %s", path, g_strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	rc = close(fd) == 0 ? 0 : -1;
	if (rc != 0)
		g_set_error(err, escrow_quark(), errno, "%s: %s", path, g_strerror(errno));
out:
	crypto_free_string(line);
	crypto_free_string(hex);
	return rc;
}

int
transfer_escrow_key_read(const char *path, bool private_key, unsigned char key[ESCROW_KEY_LEN],
	GError **err)
{
	const char *want = escrow_prefix(private_key), *other = escrow_prefix(!private_key);
	char *text = NULL;
	gsize len = 0;
	int rc = -1;

	if (!g_file_get_contents(path, &text, &len, err))
		return -1;
	g_strstrip(text);
	if (g_str_has_prefix(text, other)) {
		g_set_error(err, escrow_quark(), EINVAL, "%s is an escrow %s key, not the %s key", path,
			private_key ? "public" : "private", private_key ? "private" : "public");
		goto out;
	}
	if (!g_str_has_prefix(text, want) ||
		enc_hex_decode(text + strlen(want), key, ESCROW_KEY_LEN) != 0) {
		g_set_error(err, escrow_quark(), EINVAL, "%s: not an escrow %s key file (one line "
			"\"%s\" and 64 hex digits, made by offloadctl escrow keygen)", path,
			private_key ? "private" : "public", want);
		goto out;
	}
	rc = 0;
out:
	crypto_wipe(text, len);
	g_free(text);
	return rc;
}

int
transfer_escrow_key_load(const char *path, struct transfer_escrow_key *k, GError **err)
{
	memset(k, 0, sizeof *k);
	if (path == NULL || *path == '\0')
		return 0;
	if (transfer_escrow_key_read(path, false, k->pub, err) != 0) {
		g_prefix_error(err, "[archive] escrow_public_key: ");
		return -1;
	}
	transfer_escrow_key_id(k->pub, k->id);
	k->set = true;
	return 0;
}

/* ---- the object in storage ------------------------------------------------ */

int
transfer_escrow_commit(struct transfer *t, const unsigned char tk[32])
{
	unsigned char obj[ESCROW_OBJECT_LEN];
	char key[64];

	if (t->escrow == NULL || !t->escrow->set)
		return STORAGE_OK;
	if (transfer_escrow_seal(t->escrow->pub, t->id, tk, obj) != 0) {
		log_error("transfer %s: cannot seal the escrow object", t->id);
		return STORAGE_ETEMP;
	}
	snprintf(key, sizeof key, "%s/e", t->id);
	return transfer_put_side(t, key, obj, sizeof obj);
}

/* escrow_collect - storage_get sink with a small cap */
static int
escrow_collect(void *arg, const void *buf, size_t len)
{
	GByteArray *a = arg;

	if (a->len + len > ESCROW_MAX_OBJECT)
		return 1;
	g_byte_array_append(a, buf, (guint)len);
	return 0;
}

int
transfer_escrow_get(struct storage *st, const char *id, GByteArray **objp)
{
	GByteArray *obj = g_byte_array_new();
	char key[64];
	int rc;

	snprintf(key, sizeof key, "%s/e", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, escrow_collect, obj);
	if (rc == STORAGE_ESTOP) {
		log_warning("transfer %s: escrow object larger than %u bytes", id, ESCROW_MAX_OBJECT);
		rc = STORAGE_EPERM;
	}
	if (rc != STORAGE_OK) {
		g_byte_array_free(obj, TRUE);
		obj = NULL;
	}
	*objp = obj;
	return rc;
}
