/*
 * mime_read.c - reading a GMime stream to its real end (mime_read.h).
 */
#include "mime_read.h"

/* empty reads in a row before we believe a stream that never says eos: each
 * consumes 4,096 source bytes, so this is 4 GiB of nothing */
#define MIME_READ_EMPTY_MAX (1u << 20)

ssize_t
mime_read(GMimeStream *s, char *buf, size_t len)
{
	unsigned empty = 0;
	ssize_t n;

	if (len == 0)
		return 0;
	while ((n = g_mime_stream_read(s, buf, len)) == 0 && !g_mime_stream_eos(s) &&
	       ++empty < MIME_READ_EMPTY_MAX)
		;
	return n;
}
