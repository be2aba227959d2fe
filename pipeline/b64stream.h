/*
 * b64stream.h - a GMimeStream of the decoded bytes of a base64 stream, with
 * the fast decoder of common/b64dec.h: the same bytes as a GMimeStreamFilter
 * with GMime's base64 filter, in reads as large as the caller asks (the
 * filter stream returns at most about 3 KiB per read), and the decoder's
 * verdict on the input at its end (b64stream_flags).
 *
 * Memory: the stream holds a reference on its source; g_object_unref it.
 * Threads: like any GMimeStream, one thread at a time.
 */
#ifndef OFFLOAD_B64STREAM_H
#define OFFLOAD_B64STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <gmime/gmime.h>

/* b64stream_new - decode src from its current position */
GMimeStream *b64stream_new(GMimeStream *src);
/* b64stream_is - was s made by b64stream_new? */
bool b64stream_is(GMimeStream *s);
/* b64stream_flags - once a read returned 0 (the end): B64DEC_* flags, 0 = clean */
unsigned b64stream_flags(GMimeStream *s);
/* b64stream_lost - once at the end: was data lost (after the pad, or an
 * unpadded incomplete last quantum)? The decoded bytes are then not the file. */
bool b64stream_lost(GMimeStream *s);
/* b64stream_after - once at the end: how many alphabet characters came
 * after the '=' that ended the data (they would be lost) */
uint64_t b64stream_after(GMimeStream *s);

#endif
