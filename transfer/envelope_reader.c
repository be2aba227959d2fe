/*
 * envelope_reader.c - file object reader (see envelope.h): holds back one
 * segment so it knows whether more bytes follow; releases plaintext only
 * after its tag verified.
 */
#include "envelope.h"

#include <string.h>
#include <glib.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "envelope_int.h"
#include "log.h"

struct envelope_reader {
	EVP_CIPHER_CTX *ctx;
	envelope_out_fn out;
	envelope_target_fn target; /* optional: decrypt straight into the caller's buffer */
	void *arg;
	enum env_state state;
	int err;
	uint64_t counter;
	uint64_t size;         /* the object's expected size (0: unknown) */
	size_t fill;           /* bytes in hdr (header state) or ct */
	uint32_t index;
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	unsigned char hdr[FH_LEN];
	unsigned char ct[ENV_SEG_CT];
	unsigned char pt[ENV_SEG];
};

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
	unsigned char nonce[12], *pt = NULL;
	size_t ptlen = ctlen - ENVELOPE_TAG_LEN;
	int rc;

	if (r->counter >= ENV_MAX_SEGMENTS)
		return env_reader_fail(r, ENVELOPE_EINVAL, "more than 2^32 segments");
	env_seg_nonce(nonce, r->hdr + FH_PREFIX, r->counter, last);
	if (emit && ptlen > 0 && r->target != NULL)
		pt = r->target(r->arg, ptlen);
	if (pt == NULL)
		pt = r->pt;
	/* a failed tag wipes pt, the caller's buffer too */
	rc = env_gcm_open(r->ctx, nonce, r->hdr, FH_LEN, ct, ctlen, pt);
	if (rc != ENVELOPE_OK)
		return rc; /* caller decides how to report */
	if (!emit) {
		crypto_wipe(r->pt, ptlen);
		return ENVELOPE_OK;
	}
	r->counter++;
	if (ptlen > 0 && r->out(r->arg, pt, ptlen) != 0)
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

void
envelope_reader_set_target(struct envelope_reader *r, envelope_target_fn fn)
{
	if (r != NULL)
		r->target = fn;
}

int
envelope_reader_seek(struct envelope_reader *r, uint64_t segment)
{
	if (r == NULL || (r->state != ENV_ST_HEADER && r->state != ENV_ST_OPEN) || r->fill != 0 ||
		segment >= ENV_MAX_SEGMENTS)
		return ENVELOPE_EINVAL;
	r->counter = segment;
	return ENVELOPE_OK;
}

void
envelope_reader_set_size(struct envelope_reader *r, uint64_t object_size)
{
	if (r != NULL)
		r->size = object_size;
}

uint64_t
envelope_segment_offset(uint64_t segment)
{
	return FH_LEN + segment * (uint64_t)ENV_SEG_CT;
}

/* env_reader_more - whether the object as expected goes on after the next
 * segment: a full one may then be verified as not last without waiting */
static bool
env_reader_more(const struct envelope_reader *r)
{
	return r->size > envelope_segment_offset(r->counter + 1);
}

/* env_reader_not_last - verify the full segment seg as not last */
static int
env_reader_not_last(struct envelope_reader *r, const unsigned char *seg)
{
	int rc = env_reader_segment(r, seg, ENV_SEG_CT, false, true);

	if (rc == ENVELOPE_EAUTH)
		return env_reader_fail(r, rc, "segment failed authentication");
	if (rc != ENVELOPE_OK)
		return env_reader_fail(r, rc, NULL);
	return ENVELOPE_OK;
}

/* env_reader_held - verify the full segment held in ct as not last */
static int
env_reader_held(struct envelope_reader *r)
{
	int rc = env_reader_not_last(r, r->ct);

	if (rc == ENVELOPE_OK)
		r->fill = 0;
	return rc;
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
		if (r->fill == ENV_SEG_CT && (rc = env_reader_held(r)) != ENVELOPE_OK)
			return rc;
		if (r->fill == 0 && (len > ENV_SEG_CT || (len == ENV_SEG_CT && env_reader_more(r)))) {
			if ((rc = env_reader_not_last(r, p)) != ENVELOPE_OK)
				return rc;
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
	/* held, but the expected size says more follows: not last */
	if (r->fill == ENV_SEG_CT && env_reader_more(r))
		return env_reader_held(r);
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

