/*
 * portal_prefetch.c - read-ahead of a file range (see portal_prefetch.h).
 * The range is cut into blocks at multiples of PF_BLOCK in the file (whole
 * segments, but for the range's ends); PF_WORKERS threads verify them in
 * turn (worker w: blocks w, w + PF_WORKERS, ...), each with a stream of its
 * own that it moves on with transfer_stream_seek, straight into a ring of
 * PF_SLOTS blocks (block k in slot k % PF_SLOTS, filled once the reader has
 * emptied block k - PF_SLOTS). The reader copies blocks out in order; a
 * block that failed holds what verified before the failure and the error,
 * which the reader meets after those bytes and which stays (the blocks
 * after it are never read out).
 * Memory: PF_SLOTS * PF_BLOCK per download plus a stream per worker (none
 * for a range of at most one block: it is read when asked, by one stream).
 */
#include "portal_prefetch.h"

#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "envelope.h"
#include "log.h"

#define PF_SLOTS 4u
#define PF_WORKERS 2u

struct pf_slot {
	unsigned char *buf;
	long n;              /* verified bytes */
	long err;            /* 0, or the error after those bytes */
	int serr;
	size_t off;          /* bytes already read out */
	gboolean full;
};

struct portal_prefetch {
	struct storage *st;
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	uint32_t idx;
	unsigned char key[32];
	uint64_t plain_size, start, end; /* the range: [start, end) */
	uint64_t k0, nblocks;            /* its first block (in the file), its blocks */
	struct transfer_stream *s;       /* direct: the one stream */
	GThread *th[PF_WORKERS];
	GMutex mu;
	GCond cond;          /* a slot filled or emptied, or stop */
	struct pf_slot slot[PF_SLOTS];
	uint64_t head;       /* the block the reader is at */
	gboolean stop;
	gboolean direct;     /* short: read when asked, no thread, no slots */
};

struct pf_worker {
	struct portal_prefetch *pf;
	unsigned w;
};

/* pf_fill - verify block k of the range into sl; *s is the worker's stream */
static void
pf_fill(struct portal_prefetch *pf, struct transfer_stream **s, uint64_t k, struct pf_slot *sl)
{
	uint64_t a = MAX(pf->start, (pf->k0 + k) * PF_BLOCK);
	uint64_t b = MIN(pf->end, (pf->k0 + k + 1) * PF_BLOCK);
	size_t got = 0;
	long n = 0;

	sl->serr = 0;
	sl->off = 0;
	if (*s == NULL)
		*s = transfer_stream_new(pf->st, pf->id, pf->idx, pf->key, pf->plain_size, a, b - a);
	else if (transfer_stream_seek(*s, a, b - a) != 0)
		n = ENVELOPE_EINTERNAL; /* cannot happen: blocks are whole segments */
	if (*s == NULL)
		n = ENVELOPE_EINTERNAL;
	while (n == 0 && got < b - a) {
		n = transfer_stream_read(*s, sl->buf + got, (size_t)(b - a) - got, &sl->serr);
		if (n > 0) {
			got += (size_t)n;
			n = 0;
		} else if (n == 0) {
			n = ENVELOPE_ETRUNC; /* cannot happen: the stream gives its range */
		}
	}
	sl->n = (long)got; /* what verified before an error goes out first */
	sl->err = n < 0 ? n : 0;
}

static gpointer
pf_thread(gpointer arg)
{
	struct pf_worker *wk = arg;
	struct portal_prefetch *pf = wk->pf;
	struct transfer_stream *s = NULL;
	uint64_t k;

	for (k = wk->w; k < pf->nblocks; k += PF_WORKERS) {
		struct pf_slot *sl = &pf->slot[k % PF_SLOTS];
		gboolean stop;

		g_mutex_lock(&pf->mu);
		while (!pf->stop && k >= pf->head + PF_SLOTS)
			g_cond_wait(&pf->cond, &pf->mu);
		stop = pf->stop;
		g_mutex_unlock(&pf->mu);
		if (stop)
			break;
		pf_fill(pf, &s, k, sl);
		g_mutex_lock(&pf->mu);
		sl->full = TRUE;
		g_cond_broadcast(&pf->cond);
		g_mutex_unlock(&pf->mu);
		if (sl->err != 0)
			break; /* the reader stops there */
	}
	transfer_stream_free(s);
	g_free(wk);
	return NULL;
}

/* pf_start - the slots and the workers; FALSE if no thread started */
static gboolean
pf_start(struct portal_prefetch *pf)
{
	GError *err = NULL;
	unsigned i;

	for (i = 0; i < PF_SLOTS; i++)
		pf->slot[i].buf = g_malloc(PF_BLOCK);
	for (i = 0; i < PF_WORKERS; i++) {
		struct pf_worker *wk = g_new0(struct pf_worker, 1);

		wk->pf = pf;
		wk->w = i;
		pf->th[i] = g_thread_try_new("portal-prefetch", pf_thread, wk, &err);
		if (pf->th[i] != NULL)
			continue;
		log_warning("portal: no read-ahead thread (%s)", err ? err->message : "?");
		g_clear_error(&err);
		g_free(wk);
		if (i == 0)
			return FALSE;
		/* the blocks of the missing worker: nobody fills them */
		g_mutex_lock(&pf->mu);
		pf->stop = TRUE;
		g_cond_broadcast(&pf->cond);
		g_mutex_unlock(&pf->mu);
		return FALSE;
	}
	return TRUE;
}

/* pf_join - stop and join the workers */
static void
pf_join(struct portal_prefetch *pf)
{
	unsigned i;

	g_mutex_lock(&pf->mu);
	pf->stop = TRUE;
	g_cond_broadcast(&pf->cond);
	g_mutex_unlock(&pf->mu);
	for (i = 0; i < PF_WORKERS; i++) {
		if (pf->th[i] != NULL)
			g_thread_join(pf->th[i]);
		pf->th[i] = NULL;
	}
}

struct portal_prefetch *
portal_prefetch_new(struct storage *st, const char *id, uint32_t idx, const unsigned char key[32],
	uint64_t plain_size, uint64_t offset, uint64_t length)
{
	struct portal_prefetch *pf;

	if (offset > plain_size || length > plain_size - offset || strlen(id) > ENVELOPE_ID_TEXT_LEN)
		return NULL;
	pf = g_new0(struct portal_prefetch, 1);
	pf->st = st;
	g_strlcpy(pf->id, id, sizeof pf->id);
	pf->idx = idx;
	memcpy(pf->key, key, sizeof pf->key);
	pf->plain_size = plain_size;
	pf->start = offset;
	pf->end = offset + length;
	pf->k0 = offset / PF_BLOCK;
	pf->nblocks = length == 0 ? 0 : (pf->end - 1) / PF_BLOCK - pf->k0 + 1;
	g_mutex_init(&pf->mu);
	g_cond_init(&pf->cond);
	/* one block: a thread would not overlap anything */
	pf->direct = pf->nblocks <= 1 || !pf_start(pf);
	if (pf->direct) {
		pf_join(pf);
		pf->s = transfer_stream_new(st, id, idx, key, plain_size, offset, length);
		if (pf->s == NULL) {
			portal_prefetch_free(pf);
			return NULL;
		}
	}
	return pf;
}

/* pf_take - copy out of the head slot; TRUE when it was emptied and the
 * next block is the head (not after an error, which stays at the head) */
static gboolean
pf_take(struct portal_prefetch *pf, struct pf_slot *sl, unsigned char *buf, size_t max, size_t *got)
{
	size_t k = MIN(max, (size_t)sl->n - sl->off);

	memcpy(buf, sl->buf + sl->off, k);
	sl->off += k;
	*got += k;
	if (sl->off < (size_t)sl->n || sl->err != 0)
		return FALSE;
	g_mutex_lock(&pf->mu);
	sl->full = FALSE;
	pf->head++;
	g_cond_broadcast(&pf->cond);
	g_mutex_unlock(&pf->mu);
	return TRUE;
}

long
portal_prefetch_read(struct portal_prefetch *pf, void *buf, size_t max, int *storage_err)
{
	struct pf_slot *sl = NULL;
	size_t got = 0;

	if (pf->direct)
		return transfer_stream_read(pf->s, buf, max, storage_err);
	*storage_err = 0;
	/* what is there, up to max; wait only while there is nothing */
	while (got < max) {
		g_mutex_lock(&pf->mu);
		sl = pf->head < pf->nblocks ? &pf->slot[pf->head % PF_SLOTS] : NULL;
		while (sl != NULL && !sl->full && got == 0)
			g_cond_wait(&pf->cond, &pf->mu);
		if (sl != NULL && !sl->full)
			sl = NULL;
		g_mutex_unlock(&pf->mu);
		if (sl == NULL || !pf_take(pf, sl, (unsigned char *)buf + got, max - got, &got))
			break;
	}
	if (got > 0 || sl == NULL || sl->off < (size_t)sl->n || sl->err == 0)
		return (long)got; /* bytes, or the end (nothing taken, no slot) */
	/* every byte before the error is out: the error, again at every read */
	*storage_err = sl->serr;
	return sl->err;
}

void
portal_prefetch_free(struct portal_prefetch *pf)
{
	unsigned i;

	if (pf == NULL)
		return;
	pf_join(pf);
	transfer_stream_free(pf->s);
	for (i = 0; i < PF_SLOTS; i++) {
		if (pf->slot[i].buf != NULL)
			crypto_wipe(pf->slot[i].buf, PF_BLOCK);
		g_free(pf->slot[i].buf);
	}
	crypto_wipe(pf->key, sizeof pf->key);
	g_cond_clear(&pf->cond);
	g_mutex_clear(&pf->mu);
	g_free(pf);
}
