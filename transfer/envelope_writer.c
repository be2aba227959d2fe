/*
 * envelope_writer.c - file object writer (see envelope.h): holds back one
 * segment so it knows which one is last.
 */
#include "envelope.h"

#include <string.h>
#include <glib.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "envelope_int.h"
#include "log.h"

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

