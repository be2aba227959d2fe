/*
 * transfer_pipe.c - the bounded plaintext queue between the thread that
 * decodes an upload and the worker that encrypts and stores it (see
 * transfer_pipe.h).
 *
 * The slots form a ring: slots head .. head+count-1 are queued (the worker
 * owns slot head while it consumes it; it leaves the queue only after), and
 * the caller fills slot (head+count) % SLOTS, which exists whenever count <
 * SLOTS (the caller waits for that after queueing a slot). One mutex and one
 * condition (broadcast) serve both directions: there are two threads; each
 * side broadcasts only when the other sleeps on it (cwait, pwait), not per
 * slot (a futex wake-up each).
 */
#include "transfer_pipe.h"

#include <stdbool.h>
#include <string.h>
#include <glib.h>

#include "crypto.h"

struct transfer_pipe {
	transfer_pipe_fn fn;
	void *arg;
	GMutex mu;
	GCond cv;
	unsigned char *slot[TRANSFER_PIPE_SLOTS];
	size_t len[TRANSFER_PIPE_SLOTS];
	unsigned head, count;   /* the queue (under mu) */
	unsigned cur;           /* the caller's slot */
	size_t fill;            /* bytes in it */
	bool done, stop;        /* under mu: no more input / drop the rest */
	bool cwait, pwait;      /* under mu: the worker / the caller sleeps on cv */
	bool sync;              /* no worker thread: the caller consumes */
	int err;                /* the consumer's first error (under mu once threaded) */
	GThread *th;
};

struct transfer_pipe *
transfer_pipe_new(transfer_pipe_fn fn, void *arg)
{
	struct transfer_pipe *p = g_new0(struct transfer_pipe, 1);

	p->fn = fn;
	p->arg = arg;
	g_mutex_init(&p->mu);
	g_cond_init(&p->cv);
	return p;
}

/* pipe_main - the worker: consume queued slots in order until done (and
 * drained), stopped, or the consumer fails */
static gpointer
pipe_main(gpointer data)
{
	struct transfer_pipe *p = data;
	unsigned i;
	int rc;

	g_mutex_lock(&p->mu);
	for (;;) {
		while (p->count == 0 && !p->done && !p->stop) {
			p->cwait = true;
			g_cond_wait(&p->cv, &p->mu);
		}
		p->cwait = false;
		if (p->stop || p->count == 0)
			break;
		i = p->head;
		g_mutex_unlock(&p->mu);
		rc = p->fn(p->arg, p->slot[i], p->len[i]);
		g_mutex_lock(&p->mu);
		p->head = (p->head + 1) % TRANSFER_PIPE_SLOTS;
		p->count--;
		if (rc != 0 && p->err == 0)
			p->err = rc;
		if (p->pwait)
			g_cond_broadcast(&p->cv);
		if (p->err != 0)
			break;
	}
	g_mutex_unlock(&p->mu);
	return NULL;
}

/* pipe_start - the first slot is full: start the worker, or consume on
 * this thread from now on when there is no thread */
static void
pipe_start(struct transfer_pipe *p)
{
	unsigned i;

	for (i = 1; i < TRANSFER_PIPE_SLOTS; i++)
		p->slot[i] = g_malloc(TRANSFER_PIPE_SLOT);
	p->th = g_thread_try_new("offload-upload", pipe_main, p, NULL);
	p->sync = p->th == NULL;
}

/* pipe_push - queue the caller's full slot and wait for a free one; 0 or
 * the consumer's first error */
static int
pipe_push(struct transfer_pipe *p)
{
	int rc;

	if (p->th == NULL && !p->sync)
		pipe_start(p);
	if (p->sync) {
		rc = p->fn(p->arg, p->slot[p->cur], p->fill);
		p->fill = 0;
		if (rc != 0)
			p->err = rc;
		return rc;
	}
	g_mutex_lock(&p->mu);
	p->len[p->cur] = p->fill;
	p->count++;
	if (p->cwait)
		g_cond_broadcast(&p->cv);
	while (p->count == TRANSFER_PIPE_SLOTS && p->err == 0) {
		p->pwait = true;
		g_cond_wait(&p->cv, &p->mu);
	}
	p->pwait = false;
	p->cur = (p->head + p->count) % TRANSFER_PIPE_SLOTS;
	p->fill = 0;
	rc = p->err;
	g_mutex_unlock(&p->mu);
	return rc;
}

/* pipe_err - the consumer's first error so far */
static int
pipe_err(struct transfer_pipe *p)
{
	int rc;

	if (p->th == NULL)
		return p->err;
	g_mutex_lock(&p->mu);
	rc = p->err;
	g_mutex_unlock(&p->mu);
	return rc;
}

int
transfer_pipe_write(struct transfer_pipe *p, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	int rc = pipe_err(p);

	if (rc != 0)
		return rc;
	if (p->slot[0] == NULL && len > 0)
		p->slot[0] = g_malloc(TRANSFER_PIPE_SLOT);
	while (len > 0) {
		size_t n = MIN(TRANSFER_PIPE_SLOT - p->fill, len);

		memcpy(p->slot[p->cur] + p->fill, b, n);
		p->fill += n;
		b += n;
		len -= n;
		if (p->fill == TRANSFER_PIPE_SLOT && (rc = pipe_push(p)) != 0)
			return rc;
	}
	return 0;
}

int
transfer_pipe_finish(struct transfer_pipe *p)
{
	if (p->th == NULL) {
		if (p->err == 0 && p->fill > 0) {
			p->err = p->fn(p->arg, p->slot[p->cur], p->fill);
			p->fill = 0;
		}
		return p->err;
	}
	g_mutex_lock(&p->mu);
	if (p->fill > 0 && p->err == 0) {
		p->len[p->cur] = p->fill;
		p->count++;
		p->fill = 0;
	}
	p->done = true;
	g_cond_broadcast(&p->cv);
	g_mutex_unlock(&p->mu);
	g_thread_join(p->th);
	p->th = NULL;
	p->sync = true; /* ended: nothing more runs on the worker */
	return p->err;
}

void
transfer_pipe_free(struct transfer_pipe *p)
{
	unsigned i;

	if (p == NULL)
		return;
	if (p->th != NULL) {
		g_mutex_lock(&p->mu);
		p->stop = true;
		g_cond_broadcast(&p->cv);
		g_mutex_unlock(&p->mu);
		g_thread_join(p->th);
	}
	for (i = 0; i < TRANSFER_PIPE_SLOTS; i++) {
		if (p->slot[i] == NULL)
			continue;
		crypto_wipe(p->slot[i], TRANSFER_PIPE_SLOT);
		g_free(p->slot[i]);
	}
	g_mutex_clear(&p->mu);
	g_cond_clear(&p->cv);
	g_free(p);
}
