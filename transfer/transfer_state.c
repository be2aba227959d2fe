/*
 * transfer_state.c - the state object "<id>/x" and the effective expiry
 * (see transfer_state.h, FORMATS.md §6.3).
 */
#include "transfer_state.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "envelope_int.h"
#include "env_sealed.h"
#include "log.h"
#include "transfer.h"
#include "transfer_int.h"

#define ST_FIXED 54u  /* magic, version, id, limit, expires, flags, nfiles */
#define ST_ENTRY 24u  /* count, flags, first, last */
#define ST_MAC   32u

#define ST_INFO  "offload v1 state"

void
transfer_state_init(struct transfer_state *s, const char *id, uint32_t nfiles)
{
	memset(s, 0, sizeof *s);
	g_strlcpy(s->id, id, sizeof s->id);
	if (nfiles > TRANSFER_STATE_MAX_FILES)
		nfiles = TRANSFER_STATE_MAX_FILES;
	s->nfiles = nfiles;
	s->files = g_new0(struct transfer_state_file, nfiles ? nfiles : 1);
}

void
transfer_state_clear(struct transfer_state *s)
{
	g_free(s->files);
	s->files = NULL;
	s->nfiles = 0;
}

int
transfer_state_encode(const struct key32 *dk, const struct transfer_state *s,
	unsigned char **out, size_t *outlen)
{
	size_t len = ST_FIXED + (size_t)s->nfiles * ST_ENTRY + ST_MAC;
	unsigned char *b, *p;
	uint32_t i;

	if (!transfer_valid_id(s->id) || s->nfiles > TRANSFER_STATE_MAX_FILES)
		return -1;
	b = g_malloc(len);
	env_sealed_head(b, "OFLDX", s->id);
	env_put64(b + 30, (uint64_t)s->limit);
	env_put64(b + 38, (uint64_t)s->expires);
	env_put32(b + 46, s->flags);
	env_put32(b + 50, s->nfiles);
	for (i = 0, p = b + ST_FIXED; i < s->nfiles; i++, p += ST_ENTRY) {
		env_put32(p, s->files[i].count);
		env_put32(p + 4, s->files[i].flags);
		env_put64(p + 8, (uint64_t)s->files[i].first);
		env_put64(p + 16, (uint64_t)s->files[i].last);
	}
	(void)env_mac_put(dk->key, ST_INFO, b, len - ST_MAC);
	*out = b;
	*outlen = len;
	return 0;
}

int
transfer_state_decode(const struct key32 *dk, const char *id, const unsigned char *buf,
	size_t len, struct transfer_state *s)
{
	const unsigned char *p;
	uint32_t n, i;

	if (len < ST_FIXED + ST_MAC || !env_sealed_head_ok(buf, "OFLDX", id))
		return TRANSFER_STATE_EINVAL;
	n = env_get32(buf + 50);
	if (n > TRANSFER_STATE_MAX_FILES || len != ST_FIXED + (size_t)n * ST_ENTRY + ST_MAC)
		return TRANSFER_STATE_EINVAL;
	if (!env_mac_ok(dk->key, ST_INFO, buf, len - ST_MAC))
		return TRANSFER_STATE_EAUTH;
	transfer_state_init(s, id, n);
	s->limit = env_u2s64(env_get64(buf + 30));
	s->expires = env_u2s64(env_get64(buf + 38));
	s->flags = env_get32(buf + 46);
	for (i = 0, p = buf + ST_FIXED; i < n; i++, p += ST_ENTRY) {
		s->files[i].count = env_get32(p);
		s->files[i].flags = env_get32(p + 4);
		s->files[i].first = env_u2s64(env_get64(p + 8));
		s->files[i].last = env_u2s64(env_get64(p + 16));
	}
	return 0;
}

int
transfer_state_read(struct storage *st, const struct key32 *dk, const char *id,
	struct transfer_state *s)
{
	GByteArray *a = g_byte_array_new();
	char key[64];
	int rc;

	if (dk == NULL) {   /* no deployment key (escrow open): nothing can be verified */
		rc = 0;
		goto empty;
	}
	snprintf(key, sizeof key, "%s/x", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
	if (rc == STORAGE_ENOENT) {
		rc = 0;
		goto empty;
	}
	if (rc != STORAGE_OK)
		goto empty;
	switch (transfer_state_decode(dk, id, a->data, a->len, s)) {
	case 0:
		g_byte_array_free(a, TRUE);
		return 1;
	case TRANSFER_STATE_EAUTH:
		log_warning("transfer %s: state object with a wrong MAC ignored", id);
		break;
	default:
		log_warning("transfer %s: malformed state object ignored", id);
		break;
	}
	rc = 0;
empty:
	g_byte_array_free(a, TRUE);
	transfer_state_init(s, id, 0);
	return rc;
}

int
transfer_state_write(struct storage *st, const struct key32 *dk, const struct transfer_state *s)
{
	unsigned char *b = NULL;
	size_t len = 0;
	char key[64];
	int rc = STORAGE_EPERM;

	if (transfer_state_encode(dk, s, &b, &len) != 0)
		return rc;
	snprintf(key, sizeof key, "%s/x", s->id);
	rc = storage_put_buffer(st, key, b, len);
	g_free(b);
	return rc;
}

int64_t
transfer_state_expiry(const struct transfer_state *s, int64_t header_expires)
{
	int64_t x = s->expires;

	if (s->limit > 0 && x > s->limit)
		x = s->limit;
	return x > header_expires ? x : header_expires;
}

int
transfer_effective_expiry(struct storage *st, const struct key32 *dk, const char *id,
	int64_t header_expires, int64_t *eff)
{
	struct transfer_state s;
	int rc;

	*eff = header_expires;
	rc = transfer_state_read(st, dk, id, &s);
	if (rc == 1)
		*eff = transfer_state_expiry(&s, header_expires);
	transfer_state_clear(&s);
	return rc < 0 ? rc : STORAGE_OK;
}

int
transfer_extend(struct storage *st, const struct key32 *dk, const struct envelope_header *h,
	uint64_t by, uint64_t max_retention, int64_t *new_expires, int64_t *limit)
{
	struct transfer_state s;
	int64_t cur, want;
	int rc;

	rc = transfer_state_read(st, dk, h->id, &s);
	if (rc < 0)
		goto out;
	if (s.limit == 0)
		s.limit = h->created + (int64_t)max_retention;
	*limit = s.limit;
	cur = transfer_state_expiry(&s, h->expires);
	want = cur + (int64_t)by;
	if (by > (uint64_t)INT32_MAX || want > s.limit) {
		rc = TRANSFER_EXTEND_ELIMIT;
		goto out;
	}
	s.expires = want;
	rc = transfer_state_write(st, dk, &s);
	if (rc == STORAGE_OK)
		*new_expires = want;
out:
	transfer_state_clear(&s);
	return rc;
}

int
transfer_state_count_download(struct storage *st, const struct key32 *dk, const char *id,
	uint32_t index, uint32_t nfiles, int64_t now)
{
	struct transfer_state s;
	bool all = index == UINT32_MAX;
	uint32_t i, want = all ? nfiles : index + 1;
	int rc;

	if (want == 0 || want > TRANSFER_STATE_MAX_FILES)
		return STORAGE_EPERM;
	rc = transfer_state_read(st, dk, id, &s);
	if (rc < 0)
		goto out;
	if (s.nfiles < want) {
		s.files = g_renew(struct transfer_state_file, s.files, want);
		memset(s.files + s.nfiles, 0, (want - s.nfiles) * sizeof *s.files);
		s.nfiles = want;
	}
	for (i = all ? 0 : index; i < want; i++) {
		s.files[i].count++;
		if (s.files[i].first == 0)
			s.files[i].first = now;
		s.files[i].last = now;
	}
	rc = transfer_state_write(st, dk, &s);
out:
	transfer_state_clear(&s);
	return rc;
}
