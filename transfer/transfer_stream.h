/*
 * transfer_stream.h - reading a transfer's file objects back: a ranged
 * pull-style reader (the portal's downloads) and push-style whole-file and
 * range readers; plaintext is released only after its segment verified.
 */
#ifndef OFFLOAD_TRANSFER_STREAM_H
#define OFFLOAD_TRANSFER_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "envelope.h"
#include "storage.h"
#include "transfer.h"

/* ranged, pull-style file reader: verified plaintext of bytes
 * [offset, offset + length) of file idx; memory O(batch of segments).
 * read returns bytes (0 = range done) or a negative ENVELOPE_* code, or
 * TRANSFER_STREAM_ESTORAGE (storage failed: storage error in *storage_err) */
#define TRANSFER_STREAM_ESTORAGE (-100)
struct transfer_stream;
struct transfer_stream *transfer_stream_new(struct storage *st, const char *id, uint32_t idx,
	const unsigned char key[32], uint64_t plain_size, uint64_t offset, uint64_t length);
long transfer_stream_read(struct transfer_stream *s, void *buf, size_t max, int *storage_err);
/* transfer_stream_seek - go on with plaintext [offset, offset + length) of the
 * same file, keeping the verified header and the cipher context: only once
 * the previous range was read whole (and not to the file's end); -1 if not */
int transfer_stream_seek(struct transfer_stream *s, uint64_t offset, uint64_t length);
void transfer_stream_free(struct transfer_stream *s); /* wipes; NULL ok */
/* transfer_read_range - push-style: plaintext bytes [offset, offset+length)
 * of file idx to out; 0 or negative with *err */
int transfer_read_range(struct transfer *t, uint32_t idx, uint64_t offset, uint64_t length,
	envelope_out_fn out, void *arg, GError **err);
/* transfer_read_file - stream the plaintext of file idx to out; checks size
 * and SHA-256 against the manifest; 0 or negative with *err */
int transfer_read_file(struct transfer *t, uint32_t idx, envelope_out_fn out, void *arg,
	GError **err);

#endif
