/*
 * envelope.c - the transfer encryption format v1 (DECISIONS.md §6; every byte
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
#include "envelope_test.h"
#include "log.h"

#define ENV_VERSION 1u
#define ENV_SEG ENVELOPE_SEGMENT_SIZE
#define ENV_SEG_CT (ENVELOPE_SEGMENT_SIZE + ENVELOPE_TAG_LEN)
#define ENV_MAX_SEGMENTS ((uint64_t)UINT32_MAX + 1)
#define ENV_MANIFEST_MAX (16u * 1024 * 1024) /* JSON cap, bytes */
#define ENV_PWHASH_MAX 64u

static const char env_file_magic[5] = { 'O', 'F', 'L', 'D', 'F' };
static const char env_manifest_magic[5] = { 'O', 'F', 'L', 'D', 'M' };
static const char env_salt_label[] = "offload v1";

/* file header layout */
enum {
	FH_MAGIC = 0,          /* 5 "OFLDF" */
	FH_VERSION = 5,        /* 1 0x01 */
	FH_ID = 6,             /* 24 ASCII */
	FH_INDEX = 30,         /* 4 BE */
	FH_SEGSIZE = 34,       /* 4 BE, 65536 */
	FH_PREFIX = 38,        /* 7 random */
	FH_LEN = 45,
};

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

enum env_state {
	ENV_ST_HEADER,         /* reader: collecting the file header */
	ENV_ST_OPEN,           /* accepting data */
	ENV_ST_DONE,           /* finish succeeded */
	ENV_ST_FAILED,         /* sticky error in ->err */
};

struct envelope_writer {
	EVP_CIPHER_CTX *ctx;
	envelope_out_fn out;
	void *arg;
	enum env_state state;
	int err;
	uint64_t counter;      /* next segment number */
	size_t fill;           /* plaintext bytes held back in pt */
	unsigned char hdr[FH_LEN];
	unsigned char pt[ENV_SEG];
	unsigned char ct[ENV_SEG_CT];
};

struct envelope_reader {
	EVP_CIPHER_CTX *ctx;
	envelope_out_fn out;
	void *arg;
	enum env_state state;
	int err;
	uint64_t counter;
	size_t fill;           /* bytes in hdr (header state) or ct */
	uint32_t index;
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	unsigned char hdr[FH_LEN];
	unsigned char ct[ENV_SEG_CT];
	unsigned char pt[ENV_SEG];
};

/* ---- small helpers ---------------------------------------------------- */

static void
env_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
env_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
env_put64(unsigned char *p, uint64_t v)
{
	env_put32(p, (uint32_t)(v >> 32));
	env_put32(p + 4, (uint32_t)v);
}

static uint64_t
env_get64(const unsigned char *p)
{
	return (uint64_t)env_get32(p) << 32 | env_get32(p + 4);
}

static int64_t
env_u2s64(uint64_t v)
{
	/* two's complement without implementation-defined conversion */
	if (v <= (uint64_t)INT64_MAX)
		return (int64_t)v;
	return -(int64_t)(~v) - 1;
}

/* env_valid_id - 24 characters of the lower-case base32 alphabet */
static bool
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

static bool
env_valid_id_str(const char *id)
{
	return id != NULL && env_valid_id(id, strnlen(id, ENVELOPE_ID_TEXT_LEN + 1));
}

/* env_valid_keyid - 16 lower-case hex characters */
static bool
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
static int
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
static size_t
env_salt(const char *id, unsigned char salt[sizeof env_salt_label - 1 + ENVELOPE_ID_TEXT_LEN])
{
	size_t l = sizeof env_salt_label - 1;

	memcpy(salt, env_salt_label, l);
	memcpy(salt + l, id, ENVELOPE_ID_TEXT_LEN);
	return l + ENVELOPE_ID_TEXT_LEN;
}

/* env_ossl - log an OpenSSL failure once */
static void
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
static EVP_CIPHER_CTX *
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
static int
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
static int
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

static void
env_seg_nonce(unsigned char nonce[12], const unsigned char *prefix, uint64_t counter, bool last)
{
	memcpy(nonce, prefix, ENVELOPE_PREFIX_LEN);
	env_put32(nonce + ENVELOPE_PREFIX_LEN, (uint32_t)counter);
	nonce[11] = last ? 0x01 : 0x00;
}

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

/* ---- file writer ------------------------------------------------------ */

uint64_t
envelope_file_size(uint64_t n)
{
	uint64_t segs = n / ENV_SEG + (n % ENV_SEG != 0);

	if (n == 0)
		segs = 1;
	if (segs > ENV_MAX_SEGMENTS)
		return 0; /* not representable: more than 2^32 segments */
	return FH_LEN + n + segs * ENVELOPE_TAG_LEN;
}

size_t
envelope_file_header_len(void)
{
	return FH_LEN;
}

static void
env_file_header(unsigned char hdr[FH_LEN], const char *id, uint32_t index,
	const unsigned char prefix[ENVELOPE_PREFIX_LEN])
{
	memcpy(hdr + FH_MAGIC, env_file_magic, sizeof env_file_magic);
	hdr[FH_VERSION] = ENV_VERSION;
	memcpy(hdr + FH_ID, id, ENVELOPE_ID_TEXT_LEN);
	env_put32(hdr + FH_INDEX, index);
	env_put32(hdr + FH_SEGSIZE, ENV_SEG);
	memcpy(hdr + FH_PREFIX, prefix, ENVELOPE_PREFIX_LEN);
}

static int
env_writer_fail(struct envelope_writer *w, int err)
{
	w->state = ENV_ST_FAILED;
	w->err = err;
	return err;
}

/* env_writer_segment - encrypt one segment and hand it to the sink */
static int
env_writer_segment(struct envelope_writer *w, const unsigned char *pt, size_t len, bool last)
{
	unsigned char nonce[12];
	int rc;

	if (w->counter >= ENV_MAX_SEGMENTS) {
		log_error("envelope: file %u of %.24s exceeds 2^32 segments",
			env_get32(w->hdr + FH_INDEX), (const char *)w->hdr + FH_ID);
		return env_writer_fail(w, ENVELOPE_EINVAL);
	}
	env_seg_nonce(nonce, w->hdr + FH_PREFIX, w->counter, last);
	rc = env_gcm_seal(w->ctx, nonce, w->hdr, FH_LEN, pt, len, w->ct);
	if (rc != ENVELOPE_OK)
		return env_writer_fail(w, rc);
	w->counter++;
	if (w->out(w->arg, w->ct, len + ENVELOPE_TAG_LEN) != 0)
		return env_writer_fail(w, ENVELOPE_ESINK);
	return ENVELOPE_OK;
}

struct envelope_writer *
envelope_writer_new_fixed(const unsigned char key[32], const char *transfer_id,
	uint32_t file_index, const unsigned char prefix[ENVELOPE_PREFIX_LEN],
	envelope_out_fn out, void *arg)
{
	struct envelope_writer *w = NULL;

	if (key == NULL || out == NULL || prefix == NULL || !env_valid_id_str(transfer_id)) {
		log_error("envelope: invalid writer arguments");
		goto fail;
	}
	w = g_malloc0(sizeof *w);
	w->out = out;
	w->arg = arg;
	w->state = ENV_ST_OPEN;
	env_file_header(w->hdr, transfer_id, file_index, prefix);
	w->ctx = env_gcm_new(key, 1);
	if (w->ctx == NULL)
		goto fail;
	if (out(arg, w->hdr, FH_LEN) != 0)
		goto fail;
	return w;
fail:
	envelope_writer_free(w);
	return NULL;
}

struct envelope_writer *
envelope_writer_new(const unsigned char key[32], const char *transfer_id,
	uint32_t file_index, envelope_out_fn out, void *arg)
{
	unsigned char prefix[ENVELOPE_PREFIX_LEN];

	if (crypto_random(prefix, sizeof prefix) != 0)
		return NULL;
	return envelope_writer_new_fixed(key, transfer_id, file_index, prefix, out, arg);
}

int
envelope_writer_update(struct envelope_writer *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int rc;

	if (w == NULL || (p == NULL && len > 0))
		return ENVELOPE_EINVAL;
	if (w->state == ENV_ST_FAILED)
		return w->err;
	if (w->state != ENV_ST_OPEN)
		return ENVELOPE_EINVAL;
	while (len > 0) {
		size_t n;

		/* a full held-back segment plus more data: it was not the last */
		if (w->fill == ENV_SEG) {
			rc = env_writer_segment(w, w->pt, ENV_SEG, false);
			if (rc != ENVELOPE_OK)
				return rc;
			w->fill = 0;
		}
		/* fast path: whole non-last segments straight from the caller */
		if (w->fill == 0 && len > ENV_SEG) {
			rc = env_writer_segment(w, p, ENV_SEG, false);
			if (rc != ENVELOPE_OK)
				return rc;
			p += ENV_SEG;
			len -= ENV_SEG;
			continue;
		}
		n = MIN(ENV_SEG - w->fill, len);
		memcpy(w->pt + w->fill, p, n);
		w->fill += n;
		p += n;
		len -= n;
	}
	return ENVELOPE_OK;
}

int
envelope_writer_finish(struct envelope_writer *w)
{
	int rc;

	if (w == NULL)
		return ENVELOPE_EINVAL;
	if (w->state == ENV_ST_FAILED)
		return w->err;
	if (w->state != ENV_ST_OPEN)
		return ENVELOPE_EINVAL;
	/* fill == 0 here only for an empty file (a full segment is held back) */
	rc = env_writer_segment(w, w->pt, w->fill, true);
	if (rc != ENVELOPE_OK)
		return rc;
	crypto_wipe(w->pt, w->fill);
	w->fill = 0;
	w->state = ENV_ST_DONE;
	return ENVELOPE_OK;
}

void
envelope_writer_free(struct envelope_writer *w)
{
	if (w == NULL)
		return;
	EVP_CIPHER_CTX_free(w->ctx); /* cleanses the key schedule */
	crypto_wipe(w, sizeof *w);
	g_free(w);
}

/* ---- file reader ------------------------------------------------------ */

static int
env_reader_fail(struct envelope_reader *r, int err, const char *why)
{
	if (why != NULL)
		log_warning("envelope: transfer %s file %u: %s (%s)", r->id, r->index, why,
			envelope_strerror(err));
	r->state = ENV_ST_FAILED;
	r->err = err;
	crypto_wipe(r->pt, sizeof r->pt);
	return err;
}

/* env_reader_header - validate the collected header against the expectation */
static int
env_reader_header(struct envelope_reader *r)
{
	if (memcmp(r->hdr + FH_MAGIC, env_file_magic, sizeof env_file_magic) != 0)
		return env_reader_fail(r, ENVELOPE_EINVAL, "not a file object (bad magic)");
	if (r->hdr[FH_VERSION] != ENV_VERSION)
		return env_reader_fail(r, ENVELOPE_EINVAL, "unsupported file object version");
	if (env_get32(r->hdr + FH_SEGSIZE) != ENV_SEG)
		return env_reader_fail(r, ENVELOPE_EINVAL, "unsupported segment size");
	/* a header for another transfer or file: treat like a failed tag */
	if (memcmp(r->hdr + FH_ID, r->id, ENVELOPE_ID_TEXT_LEN) != 0)
		return env_reader_fail(r, ENVELOPE_EAUTH, "header names another transfer");
	if (env_get32(r->hdr + FH_INDEX) != r->index)
		return env_reader_fail(r, ENVELOPE_EAUTH, "header names another file index");
	r->state = ENV_ST_OPEN;
	r->fill = 0;
	return ENVELOPE_OK;
}

/* env_reader_segment - verify one segment; release its plaintext only
 * after the tag verified (emit false: verify only) */
static int
env_reader_segment(struct envelope_reader *r, const unsigned char *ct, size_t ctlen,
	bool last, bool emit)
{
	unsigned char nonce[12];
	size_t ptlen = ctlen - ENVELOPE_TAG_LEN;
	int rc;

	if (r->counter >= ENV_MAX_SEGMENTS)
		return env_reader_fail(r, ENVELOPE_EINVAL, "more than 2^32 segments");
	env_seg_nonce(nonce, r->hdr + FH_PREFIX, r->counter, last);
	rc = env_gcm_open(r->ctx, nonce, r->hdr, FH_LEN, ct, ctlen, r->pt);
	if (rc != ENVELOPE_OK)
		return rc; /* caller decides how to report */
	if (!emit) {
		crypto_wipe(r->pt, ptlen);
		return ENVELOPE_OK;
	}
	r->counter++;
	if (ptlen > 0 && r->out(r->arg, r->pt, ptlen) != 0)
		return env_reader_fail(r, ENVELOPE_ESINK, NULL);
	return ENVELOPE_OK;
}

struct envelope_reader *
envelope_reader_new(const unsigned char key[32], const char *transfer_id,
	uint32_t file_index, envelope_out_fn out, void *arg)
{
	struct envelope_reader *r = NULL;

	if (key == NULL || out == NULL || !env_valid_id_str(transfer_id)) {
		log_error("envelope: invalid reader arguments");
		goto fail;
	}
	r = g_malloc0(sizeof *r);
	r->out = out;
	r->arg = arg;
	r->index = file_index;
	memcpy(r->id, transfer_id, ENVELOPE_ID_TEXT_LEN + 1);
	r->state = ENV_ST_HEADER;
	r->ctx = env_gcm_new(key, 0);
	if (r->ctx == NULL)
		goto fail;
	return r;
fail:
	envelope_reader_free(r);
	return NULL;
}

struct envelope_reader *
envelope_reader_new_at(const unsigned char key[32], const char *transfer_id,
	uint32_t file_index, uint64_t first_segment, envelope_out_fn out, void *arg)
{
	struct envelope_reader *r;

	if (first_segment >= ENV_MAX_SEGMENTS) {
		log_error("envelope: reader start segment out of range");
		return NULL;
	}
	r = envelope_reader_new(key, transfer_id, file_index, out, arg);
	if (r != NULL)
		r->counter = first_segment;
	return r;
}

uint64_t
envelope_segment_offset(uint64_t segment)
{
	return FH_LEN + segment * (uint64_t)ENV_SEG_CT;
}

int
envelope_reader_update(struct envelope_reader *r, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int rc;

	if (r == NULL || (p == NULL && len > 0))
		return ENVELOPE_EINVAL;
	if (r->state == ENV_ST_FAILED)
		return r->err;
	if (r->state == ENV_ST_DONE)
		return ENVELOPE_EINVAL;
	if (r->state == ENV_ST_HEADER) {
		size_t n = MIN(FH_LEN - r->fill, len);

		memcpy(r->hdr + r->fill, p, n);
		r->fill += n;
		p += n;
		len -= n;
		if (r->fill < FH_LEN)
			return ENVELOPE_OK;
		rc = env_reader_header(r);
		if (rc != ENVELOPE_OK)
			return rc;
	}
	while (len > 0) {
		size_t n;

		/* a full held-back segment plus more bytes: it must not be last */
		if (r->fill == ENV_SEG_CT) {
			rc = env_reader_segment(r, r->ct, ENV_SEG_CT, false, true);
			if (rc == ENVELOPE_EAUTH)
				return env_reader_fail(r, rc, "segment failed authentication");
			if (rc != ENVELOPE_OK)
				return env_reader_fail(r, rc, NULL);
			r->fill = 0;
		}
		if (r->fill == 0 && len > ENV_SEG_CT) {
			rc = env_reader_segment(r, p, ENV_SEG_CT, false, true);
			if (rc == ENVELOPE_EAUTH)
				return env_reader_fail(r, rc, "segment failed authentication");
			if (rc != ENVELOPE_OK)
				return env_reader_fail(r, rc, NULL);
			p += ENV_SEG_CT;
			len -= ENV_SEG_CT;
			continue;
		}
		n = MIN(ENV_SEG_CT - r->fill, len);
		memcpy(r->ct + r->fill, p, n);
		r->fill += n;
		p += n;
		len -= n;
	}
	return ENVELOPE_OK;
}

int
envelope_reader_finish(struct envelope_reader *r)
{
	int rc;

	if (r == NULL)
		return ENVELOPE_EINVAL;
	if (r->state == ENV_ST_FAILED)
		return r->err;
	if (r->state == ENV_ST_DONE)
		return ENVELOPE_EINVAL;
	if (r->state == ENV_ST_HEADER)
		return env_reader_fail(r, ENVELOPE_ETRUNC, "object ends inside the header");
	if (r->fill < ENVELOPE_TAG_LEN)
		return env_reader_fail(r, ENVELOPE_ETRUNC, "object ends without a last segment");
	/* an empty last segment is only valid as the only segment */
	if (r->fill == ENVELOPE_TAG_LEN && r->counter > 0)
		return env_reader_fail(r, ENVELOPE_EINVAL, "empty last segment after data");
	rc = env_reader_segment(r, r->ct, r->fill, true, true);
	if (rc == ENVELOPE_EAUTH && r->fill == ENV_SEG_CT &&
		env_reader_segment(r, r->ct, r->fill, false, false) == ENVELOPE_OK)
		return env_reader_fail(r, ENVELOPE_ETRUNC,
			"object truncated at a segment boundary");
	if (rc == ENVELOPE_EAUTH)
		return env_reader_fail(r, rc,
			"last segment failed authentication (tampered, truncated or extended)");
	if (rc != ENVELOPE_OK)
		return env_reader_fail(r, rc, NULL);
	r->fill = 0;
	r->state = ENV_ST_DONE;
	return ENVELOPE_OK;
}

void
envelope_reader_free(struct envelope_reader *r)
{
	if (r == NULL)
		return;
	EVP_CIPHER_CTX_free(r->ctx);
	crypto_wipe(r, sizeof *r);
	g_free(r);
}

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
	rc = envelope_manifest_header(obj, obj_len, deployment_key, &tmp);
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
