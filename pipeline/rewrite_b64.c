/*
 * rewrite_b64.c - the base64 completeness check (see rewrite_b64.h)
 */
#include "rewrite_b64.h"

#include <stdbool.h>

#define B64_BUF (64 * 1024)

static bool
b64_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int64_t
rewrite_b64_lost(GMimeStream *raw)
{
	unsigned char *buf = g_malloc(B64_BUF);
	bool padded = false;
	int64_t lost = 0;
	ssize_t n = 0, i;

	/* a bounded stream read at its end fails: ask eos first */
	g_mime_stream_reset(raw);
	while (!g_mime_stream_eos(raw) && (n = g_mime_stream_read(raw, (char *)buf, B64_BUF)) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == '=')
				padded = true;
			else if (padded && b64_alpha(buf[i]))
				lost++;
		}
	}
	g_free(buf);
	return n < 0 ? -1 : lost;
}

int64_t
rewrite_b64_part_lost(GMimeObject *obj)
{
	GMimeDataWrapper *w;
	int64_t lost;
	GMimeStream *raw;

	if (!GMIME_IS_PART(obj) ||
	    g_mime_part_get_content_encoding(GMIME_PART(obj)) != GMIME_CONTENT_ENCODING_BASE64)
		return 0;
	w = g_mime_part_get_content(GMIME_PART(obj));
	if (w == NULL || g_mime_data_wrapper_get_encoding(w) != GMIME_CONTENT_ENCODING_BASE64)
		return 0;
	raw = g_mime_data_wrapper_get_stream(w);
	lost = rewrite_b64_lost(raw);
	g_mime_stream_reset(raw);
	return lost;
}
