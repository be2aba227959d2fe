/*
 * mime_read.h - reading a GMime stream to its real end.
 *
 * GMime's filter stream answers a read whose source bytes (4,096 at a time)
 * decode to nothing - a run of quoted-printable soft line breaks, characters
 * base64 ignores - with 0, although more follows. A reader that takes 0 for
 * the end offloads a truncated file and leaves the rest unclassified
 * (tests/integration/test_decode_gaps.sh). Every loop over a decoded stream
 * reads through mime_read.
 */
#ifndef OFFLOAD_MIME_READ_H
#define OFFLOAD_MIME_READ_H

#include <gmime/gmime.h>
#include <sys/types.h>

/* mime_read - g_mime_stream_read that returns 0 only at the end of s: a
 * read of nothing is repeated until bytes come or g_mime_stream_eos says
 * the end (bounded, for a stream whose eos never turns true); -1 on error */
ssize_t mime_read(GMimeStream *s, char *buf, size_t len);

#endif
