/*
 * portal_prefetch.h - a transfer_stream read ahead by a thread of its own:
 * while libmicrohttpd's connection thread sends one block, the next ones
 * are fetched and verified (issue 15: two cores for one download).
 */
#ifndef OFFLOAD_PORTAL_PREFETCH_H
#define OFFLOAD_PORTAL_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "transfer_stream.h"

/* the block the thread reads at a time (8 segments): also the download
 * response's block size, so one send takes a whole block */
#define PF_BLOCK (8u * ENVELOPE_SEGMENT_SIZE)
struct portal_prefetch;
/* portal_prefetch_new - takes s (freed with the prefetch; NULL: returns
 * NULL) and starts reading its length bytes ahead; up to one block is read
 * when asked, without a thread (so is everything if no thread starts) */
struct portal_prefetch *portal_prefetch_new(struct transfer_stream *s, uint64_t length);
/* portal_prefetch_read - as transfer_stream_read: verified plaintext only;
 * an error stays (every later read returns it) */
long portal_prefetch_read(struct portal_prefetch *pf, void *buf, size_t max, int *storage_err);
/* portal_prefetch_free - stops the thread (after the block it is reading),
 * wipes and frees; NULL ok */
void portal_prefetch_free(struct portal_prefetch *pf);

#endif
