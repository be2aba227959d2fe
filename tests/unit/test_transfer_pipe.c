/*
 * test_transfer_pipe.c - the queue between an upload's caller and its worker
 * thread (transfer/transfer_pipe.c): every byte reaches the consumer once, in
 * order, whatever the write sizes; a small upload is consumed on the caller's
 * thread at finish; the consumer's first error comes back at the next write
 * and at finish and nothing is consumed after it; free stops a busy worker.
 */
#include "transfer_pipe.h"

#include <string.h>
#include <glib.h>

#include "unit.h"

struct sink {
	GByteArray *got;
	GThread *caller;
	unsigned calls, fail_at; /* fail_at: return -1 from that call on (1-based), 0 = never */
	unsigned on_caller;      /* calls that ran on the caller's thread */
	gint gate;               /* atomic: 1 = the first call waits until it is 0 */
};

static int
sink_fn(void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;

	s->calls++;
	if (g_thread_self() == s->caller)
		s->on_caller++;
	while (s->calls == 1 && g_atomic_int_get(&s->gate))
		g_usleep(1000);
	if (s->fail_at != 0 && s->calls >= s->fail_at)
		return -1;
	g_byte_array_append(s->got, buf, (guint)len);
	return 0;
}

static void
sink_init(struct sink *s)
{
	memset(s, 0, sizeof *s);
	s->got = g_byte_array_new();
	s->caller = g_thread_self();
}

static unsigned char *
pattern(size_t n)
{
	unsigned char *p = g_malloc(n);

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + (i >> 11));
	return p;
}

static void
test_bytes_in_order(void)
{
	static const size_t sizes[] = { 1, 7, 65536, 300000, 4096, TRANSFER_PIPE_SLOT, 3, 1 << 20 };
	size_t total = 3 * 1024 * 1024 + 12345, off = 0, k = 0;
	unsigned char *src = pattern(total);
	struct sink s;
	struct transfer_pipe *p;
	int rc = 0;

	sink_init(&s);
	p = transfer_pipe_new(sink_fn, &s);
	while (off < total && rc == 0) {
		size_t n = MIN(sizes[k % G_N_ELEMENTS(sizes)], total - off);

		k++;
		rc = transfer_pipe_write(p, src + off, n);
		off += n;
	}
	CHECK(rc == 0, "every write of %zu bytes in varied pieces succeeds", total);
	CHECK(transfer_pipe_finish(p) == 0, "finish succeeds");
	CHECK(s.got->len == total && memcmp(s.got->data, src, total) == 0,
		"the consumer got every byte once, in order (%u of %zu)", s.got->len, total);
	CHECK(s.on_caller == 0 && s.calls > 1, "a large upload is consumed on the worker (%u calls)",
		s.calls);
	transfer_pipe_free(p);
	g_byte_array_free(s.got, TRUE);
	g_free(src);
}

static void
test_small_on_caller(void)
{
	unsigned char *src = pattern(1000);
	struct sink s;
	struct transfer_pipe *p;

	sink_init(&s);
	p = transfer_pipe_new(sink_fn, &s);
	CHECK(transfer_pipe_write(p, src, 1000) == 0 && s.calls == 0,
		"a small write is kept until finish");
	CHECK(transfer_pipe_finish(p) == 0 && s.calls == 1 && s.on_caller == 1 &&
		s.got->len == 1000 && memcmp(s.got->data, src, 1000) == 0,
		"a small upload is consumed once, on the caller's thread, at finish");
	transfer_pipe_free(p);
	sink_init(&s); /* the empty upload: nothing to consume */
	p = transfer_pipe_new(sink_fn, &s);
	CHECK(transfer_pipe_finish(p) == 0 && s.calls == 0, "an empty upload consumes nothing");
	transfer_pipe_free(p);
	sink_init(&s);
	s.fail_at = 1;
	p = transfer_pipe_new(sink_fn, &s);
	transfer_pipe_write(p, src, 1000);
	CHECK(transfer_pipe_finish(p) == -1, "a small upload's consumer error comes back at finish");
	transfer_pipe_free(p);
	g_byte_array_free(s.got, TRUE);
	g_free(src);
}

static void
test_worker_error(void)
{
	size_t total = 4 * 1024 * 1024, off = 0, chunk = 100000;
	unsigned char *src = pattern(total);
	struct sink s;
	struct transfer_pipe *p;
	int rc = 0;
	unsigned calls;

	sink_init(&s);
	s.fail_at = 3;
	p = transfer_pipe_new(sink_fn, &s);
	while (off < total && rc == 0) {
		rc = transfer_pipe_write(p, src + off, MIN(chunk, total - off));
		off += chunk;
	}
	CHECK(rc == -1, "the worker's error comes back at a write (after %zu of %zu bytes)", off,
		total);
	CHECK(off < total, "the caller learns of it before it has written everything");
	CHECK(transfer_pipe_write(p, src, 10) == -1, "every later write returns it too");
	CHECK(transfer_pipe_finish(p) == -1, "finish returns it");
	calls = s.calls;
	CHECK(calls == 3 && s.got->len == 2 * TRANSFER_PIPE_SLOT,
		"nothing is consumed after the error (%u calls, %u bytes)", calls, s.got->len);
	transfer_pipe_free(p);
	g_byte_array_free(s.got, TRUE);
	g_free(src);
}

static void
test_free_busy(void)
{
	size_t total = 3 * TRANSFER_PIPE_SLOT + 1000;
	unsigned char *src = pattern(total);
	struct sink s;
	struct transfer_pipe *p;

	sink_init(&s);
	s.gate = 1; /* the worker's first call waits: the queue stays full */
	p = transfer_pipe_new(sink_fn, &s);
	CHECK(transfer_pipe_write(p, src, total) == 0, "writes while the worker is busy are queued");
	g_atomic_int_set(&s.gate, 0);
	transfer_pipe_free(p); /* without finish: the abort path; returns once the worker ended */
	CHECK(s.calls <= 3 && s.got->len <= 3 * TRANSFER_PIPE_SLOT,
		"free ends the worker; the unfinished last buffer is never consumed (%u calls)", s.calls);
	g_byte_array_free(s.got, TRUE);
	g_free(src);
}

int
main(void)
{
	test_bytes_in_order();
	test_small_on_caller();
	test_worker_error();
	test_free_busy();
	return unit_done();
}
