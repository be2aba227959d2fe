/*
 * portal_prefetch.h - a file range read ahead by threads of its own: while
 * libmicrohttpd's connection thread sends one block, the next ones are
 * fetched and verified, two at a time (issue 15: the cores for one download).
 */
#ifndef OFFLOAD_PORTAL_PREFETCH_H
#define OFFLOAD_PORTAL_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "storage.h"
#include "transfer_stream.h"

/* the block a thread verifies at a time (8 segments): also the download
 * response's block size, so one send takes a whole block */
#define PF_BLOCK (8u * ENVELOPE_SEGMENT_SIZE)
struct portal_prefetch;
/* portal_prefetch_new - plaintext [offset, offset + length) of file idx of
 * transfer id (key: its file key, copied), as transfer_stream_new; NULL for
 * a range outside the file. Reads ahead from here on; a range within one
 * block is read when asked, without threads (so is everything if no thread
 * starts) */
struct portal_prefetch *portal_prefetch_new(struct storage *st, const char *id, uint32_t idx,
	const unsigned char key[32], uint64_t plain_size, uint64_t offset, uint64_t length);
/* portal_prefetch_read - as transfer_stream_read: verified plaintext only;
 * an error stays (every later read returns it) */
long portal_prefetch_read(struct portal_prefetch *pf, void *buf, size_t max, int *storage_err);
/* portal_prefetch_free - stops the threads (after the blocks they are
 * reading), wipes and frees; NULL ok */
void portal_prefetch_free(struct portal_prefetch *pf);

#endif
