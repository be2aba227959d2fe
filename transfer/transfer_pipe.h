/*
 * transfer_pipe.h - PRIVATE to transfer/: two cores for one upload (issue
 * 15). The thread that decodes and hashes a file copies its plaintext into
 * a bounded queue of a few reused buffers; a worker thread takes them in
 * order and runs the consumer (encryption and the storage write). The
 * consumer's first error stops the worker and is returned by the next
 * write and by finish, so no error is lost.
 *
 * A pipe starts its worker only when its first buffer is full: a smaller
 * file is consumed on the caller's thread by finish, as before. Without a
 * thread (g_thread_try_new fails) everything runs on the caller's thread.
 *
 * Memory: at most TRANSFER_PIPE_SLOTS buffers of TRANSFER_PIPE_SLOT bytes,
 * wiped when freed. Threads: the pipe's functions are for one caller at a
 * time (it may move between threads with a happens-before in between, as
 * libmilter's callbacks do); the consumer runs on the worker (or, see
 * above, on the caller), never on two threads at once, and finish and free
 * return only after the worker has ended.
 */
#ifndef OFFLOAD_TRANSFER_PIPE_H
#define OFFLOAD_TRANSFER_PIPE_H

#include <stddef.h>

#define TRANSFER_PIPE_SLOT (256 * 1024)
#define TRANSFER_PIPE_SLOTS 4

/* the consumer: 0, or an error code (nonzero) that stops the pipe */
typedef int (*transfer_pipe_fn)(void *arg, const void *buf, size_t len);

struct transfer_pipe;

struct transfer_pipe *transfer_pipe_new(transfer_pipe_fn fn, void *arg);
/* transfer_pipe_write - queue a copy of buf[0..len) (waits while the queue
 * is full); 0 or the consumer's first error */
int transfer_pipe_write(struct transfer_pipe *p, const void *buf, size_t len);
/* transfer_pipe_finish - consume everything queued, end the worker; 0 or
 * the consumer's first error. Write no more afterwards. */
int transfer_pipe_finish(struct transfer_pipe *p);
/* transfer_pipe_free - stop the worker (what is still queued is dropped),
 * wait for it, wipe and free the buffers; NULL ok */
void transfer_pipe_free(struct transfer_pipe *p);

#endif
