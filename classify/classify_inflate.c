/*
 * classify_inflate.c - zlib inflate under the scan budget, shared by the ZIP
 * and PDF extractors: total inflated bytes, compression ratio and the kept
 * output are bounded; a limit hit is a `bomb-limit` finding (cls_bomb).
 * Thread-safe (no shared state).
 */
#include "classify_extract.h"

#include <string.h>
#include <zlib.h>

#define CLS_GRACE (100u * 1024u)   /* ratio checked once output exceeds this */

/*
 * cls_inflate - zlib (raw for ZIP) into out, at most max_out bytes kept;
 * 0 ok, 1 truncated at max_out, -1 broken data, -2 limit hit (bomb-limit set)
 */
int
cls_inflate(struct cls_scan *scan, struct classify_result *res, const char *where, bool raw,
	const unsigned char *in, size_t inlen, size_t max_out, GByteArray *out)
{
	const struct classify_ctx *ctx = scan->ctx;
	z_stream z;
	unsigned char buf[16384];
	int rc = 0, zr;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, raw ? -MAX_WBITS : MAX_WBITS + 32) != Z_OK)
		return -1;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)MIN(inlen, (size_t)UINT_MAX);
	for (;;) {
		size_t got, at = out->len;
		/* a whole piece fits: inflated straight into out (no copy), else through buf; out only
		 * shrinks after the inflate (a GByteArray may clear what it grows into) */
		bool direct = at < max_out && max_out - at >= sizeof buf;

		if (direct)
			g_byte_array_set_size(out, (guint)(at + sizeof buf));
		z.next_out = direct ? out->data + at : buf;
		z.avail_out = sizeof buf;
		zr = inflate(&z, Z_NO_FLUSH);
		got = sizeof buf - z.avail_out;
		scan->inflated += got;
		if (scan->inflated > ctx->max_inflated) {
			cls_bomb(scan, res, where, "total inflated bytes over [classify] max_inflated");
			rc = -2;
		} else if (z.total_out > CLS_GRACE && z.total_out > ctx->max_ratio * (z.total_in + 1)) {
			cls_bomb(scan, res, where, "compression ratio over [classify] max_ratio");
			rc = -2;
		}
		if (direct)   /* the piece is kept unless a limit was hit */
			g_byte_array_set_size(out, (guint)(rc == -2 ? at : at + got));
		if (rc == -2)
			break;
		if (!direct && got > 0 && out->len < max_out)
			g_byte_array_append(out, buf, (guint)MIN(got, max_out - out->len));
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = out->len > 0 ? 0 : -1;
			break;
		}
		if (zr == Z_BUF_ERROR && z.avail_in == 0)
			break;   /* truncated input: keep what we have */
		if (out->len >= max_out && got > 0) {
			rc = 1;
			break;
		}
	}
	inflateEnd(&z);
	return rc;
}
