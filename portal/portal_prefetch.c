/*
 * portal_prefetch.c - read-ahead of a transfer_stream (see portal_prefetch.h).
 * A ring of PF_SLOTS blocks: the thread fills them with verified plaintext
 * (transfer_stream_read decrypts straight into a block), the reader copies
 * them out. The last block pushed holds the end (0) or the error (< 0).
 * Memory: PF_SLOTS * PF_BLOCK per download (none for a stream of at most
 * one block: it is read when asked).
 */
#include "portal_prefetch.h"

#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "envelope.h"
#include "log.h"

#define PF_SLOTS 3u

struct pf_slot {
	unsigned char *buf;
	long n;              /* bytes, 0 = end, < 0 = error */
	int serr;
	size_t off;          /* bytes already read out */
};

struct portal_prefetch {
	struct transfer_stream *s;
	GThread *th;
	GMutex mu;
	GCond cond;          /* a slot filled or emptied, or stop */
	struct pf_slot slot[PF_SLOTS];
	unsigned head, full; /* first filled slot, filled slots */
	gboolean stop;
	gboolean direct;     /* short: read when asked, no thread, no slots */
};

static gpointer
pf_thread(gpointer arg)
{
	struct portal_prefetch *pf = arg;
	gboolean more = TRUE;

	g_mutex_lock(&pf->mu);
	while (more) {
		struct pf_slot *sl;

		while (!pf->stop && pf->full == PF_SLOTS)
			g_cond_wait(&pf->cond, &pf->mu);
		if (pf->stop)
			break;
		sl = &pf->slot[(pf->head + pf->full) % PF_SLOTS];
		g_mutex_unlock(&pf->mu);
		sl->serr = 0;
		sl->off = 0;
		sl->n = transfer_stream_read(pf->s, sl->buf, PF_BLOCK, &sl->serr);
		more = sl->n > 0;
		g_mutex_lock(&pf->mu);
		pf->full++;
		g_cond_broadcast(&pf->cond);
	}
	g_mutex_unlock(&pf->mu);
	return NULL;
}

struct portal_prefetch *
portal_prefetch_new(struct transfer_stream *s, uint64_t length)
{
	struct portal_prefetch *pf;
	GError *err = NULL;
	unsigned i;

	if (s == NULL)
		return NULL;
	pf = g_new0(struct portal_prefetch, 1);
	pf->s = s;
	g_mutex_init(&pf->mu);
	g_cond_init(&pf->cond);
	pf->direct = length <= PF_BLOCK; /* a thread would not overlap anything */
	if (pf->direct)
		return pf;
	for (i = 0; i < PF_SLOTS; i++)
		pf->slot[i].buf = g_malloc(PF_BLOCK);
	pf->th = g_thread_try_new("portal-prefetch", pf_thread, pf, &err);
	if (pf->th == NULL) { /* still served, without the overlap */
		log_warning("portal: no read-ahead thread (%s); reading as asked",
			err ? err->message : "?");
		g_clear_error(&err);
		pf->direct = TRUE;
	}
	return pf;
}

/* pf_take - copy out of the head slot; TRUE when it was emptied */
static gboolean
pf_take(struct portal_prefetch *pf, struct pf_slot *sl, unsigned char *buf, size_t max, size_t *got)
{
	size_t k = MIN(max, (size_t)sl->n - sl->off);

	memcpy(buf, sl->buf + sl->off, k);
	sl->off += k;
	*got += k;
	if (sl->off < (size_t)sl->n)
		return FALSE;
	g_mutex_lock(&pf->mu);
	pf->head = (pf->head + 1) % PF_SLOTS;
	pf->full--;
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
		while (pf->full == 0 && got == 0)
			g_cond_wait(&pf->cond, &pf->mu);
		sl = pf->full > 0 ? &pf->slot[pf->head] : NULL;
		g_mutex_unlock(&pf->mu);
		if (sl == NULL || sl->n <= 0)
			break;
		if (!pf_take(pf, sl, (unsigned char *)buf + got, max - got, &got))
			break;
	}
	if (got > 0)
		return (long)got;
	if (sl == NULL)
		return 0; /* cannot happen: nothing taken means a slot was waited for */
	/* the end or an error: it stays at the head */
	*storage_err = sl->serr;
	return sl->n;
}

void
portal_prefetch_free(struct portal_prefetch *pf)
{
	unsigned i;

	if (pf == NULL)
		return;
	if (pf->th != NULL) {
		g_mutex_lock(&pf->mu);
		pf->stop = TRUE;
		g_cond_broadcast(&pf->cond);
		g_mutex_unlock(&pf->mu);
		g_thread_join(pf->th);
	}
	transfer_stream_free(pf->s);
	for (i = 0; i < PF_SLOTS; i++) {
		if (pf->slot[i].buf != NULL)
			crypto_wipe(pf->slot[i].buf, PF_BLOCK);
		g_free(pf->slot[i].buf);
	}
	g_cond_clear(&pf->cond);
	g_mutex_clear(&pf->mu);
	g_free(pf);
}
