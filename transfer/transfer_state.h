/*
 * transfer_state.h - the mutable state object "<id>/x" of a transfer
 * (FORMATS.md §6.3): expiry extension and its limit, per-file download
 * counts and times, reminder / brute-force / receipt flags; HMAC under
 * K_x = HKDF(deployment key, "", "offload v1 state"), binds the id. A state
 * with a bad MAC is ignored (logged) and the clear-header expiry holds.
 * Also the one expiry rule every reader uses: transfer_effective_expiry().
 */
#ifndef OFFLOAD_TRANSFER_STATE_H
#define OFFLOAD_TRANSFER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "keys.h"
#include "storage.h"

#define TRANSFER_STATE_MAX_FILES 65536u
#define TRANSFER_STATE_EINVAL (-1) /* wrong length, magic, version, id or file count */
#define TRANSFER_STATE_EAUTH (-2)  /* MAC mismatch (another key, or forged) */

/* state flags */
#define TRANSFER_STATE_REMINDED   0x1u /* reminder sent to the sender */
#define TRANSFER_STATE_BRUTEFORCE 0x2u /* sender told about the password limit */
/* per-file flags */
#define TRANSFER_STATE_RECEIPT    0x1u /* a receipt was sent for this file */

struct transfer_state_file {
	uint32_t count;        /* completed downloads */
	uint32_t flags;
	int64_t first, last;   /* unix seconds of the first and last; 0 = never */
};

struct transfer_state {
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	int64_t limit;         /* latest expiry an extension may set; 0 = not recorded */
	int64_t expires;       /* extended expiry; 0 = not extended */
	uint32_t flags;
	uint32_t nfiles;
	struct transfer_state_file *files; /* g_new0'ed, nfiles entries */
};

/* transfer_state_init - an empty state of id for nfiles files */
void transfer_state_init(struct transfer_state *s, const char *id, uint32_t nfiles);
void transfer_state_clear(struct transfer_state *s); /* frees files */
/* transfer_state_encode - the object bytes (g_malloc'ed); -1 for an invalid id or too many files */
int transfer_state_encode(const struct key32 *dk, const struct transfer_state *s,
	unsigned char **out, size_t *outlen);
/* transfer_state_decode - 0 (s filled, caller clears), _EINVAL or _EAUTH */
int transfer_state_decode(const struct key32 *dk, const char *id, const unsigned char *buf,
	size_t len, struct transfer_state *s);
/* transfer_state_read - 1 found (s filled), 0 none or ignored (bad MAC or
 * malformed: logged; s is an empty state of id; also without a deployment
 * key, dk NULL, as escrow open has none), negative storage error */
int transfer_state_read(struct storage *st, const struct key32 *dk, const char *id,
	struct transfer_state *s);
int transfer_state_write(struct storage *st, const struct key32 *dk, const struct transfer_state *s);

/* transfer_state_expiry - max(header_expires, min(s->expires, s->limit)) */
int64_t transfer_state_expiry(const struct transfer_state *s, int64_t header_expires);
/* transfer_effective_expiry - the expiry every reader uses (portal, tickets,
 * tombstones, list, purge, open): header_expires unless a MAC-valid state
 * object extends it. STORAGE_OK (*eff set; header_expires when there is no
 * valid state) or a storage error (*eff = header_expires) */
int transfer_effective_expiry(struct storage *st, const struct key32 *dk, const char *id,
	int64_t header_expires, int64_t *eff);

#define TRANSFER_EXTEND_ELIMIT 1 /* beyond the maximum retention: refused */
/* transfer_extend - move the expiry of the transfer of header h (MAC-verified)
 * by `by` seconds from its current effective expiry. The limit is the state's,
 * else h->created + max_retention. 0 (*new_expires, *limit set),
 * TRANSFER_EXTEND_ELIMIT (nothing written; *limit set) or a storage error */
int transfer_extend(struct storage *st, const struct key32 *dk, const struct envelope_header *h,
	uint64_t by, uint64_t max_retention, int64_t *new_expires, int64_t *limit);
/* transfer_state_count_download - file index (UINT32_MAX: files 0..nfiles-1,
 * the ZIP) completely downloaded at now: read-modify-write of the state (last
 * writer wins); storage rc */
int transfer_state_count_download(struct storage *st, const struct key32 *dk, const char *id,
	uint32_t index, uint32_t nfiles, int64_t now);

#endif
