/*
 * b64dec.c - the streaming base64 decoder (see b64dec.h)
 */
#include "b64dec.h"

#include <pthread.h>

#include "b64dec_simd.h"

#define XX 0xFF /* not base64 */
#define WS 0xFE /* white space: line breaks, blanks */
#define PD 0xFD /* the pad '=' */

/* alphabet characters map to 0-63 (bits 6 and 7 clear), the rest above */
static const unsigned char b64_rank[256] = {
	XX, XX, XX, XX, XX, XX, XX, XX, XX, WS, WS, XX, XX, WS, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	WS, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, PD, XX, XX,
	XX, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX,
	XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};

/* b64_quad[i][c]: the rank of c shifted into place i of a quantum's 24 bits;
 * bit 31 set for anything outside the alphabet (built once, then read-only) */
static uint32_t b64_quad[4][256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;
/* the SIMD run of the best path the CPU has (b64dec_simd.h), NULL: none (chosen once) */
static b64dec_run_fn *b64_run;

static void
b64_quad_build(void)
{
	unsigned i, c;

	for (i = 0; i < 4; i++)
		for (c = 0; c < 256; c++)
			b64_quad[i][c] = b64_rank[c] < 64 ? (uint32_t)b64_rank[c] << (18 - 6 * i) : 0x80000000u;
	b64_run = b64dec_simd_run(b64dec_simd_best());
}

unsigned
b64dec_simd_use(unsigned level)
{
	pthread_once(&b64_once, b64_quad_build);
	if (level > b64dec_simd_best())
		level = b64dec_simd_best();
	b64_run = b64dec_simd_run(level);
	return level;
}

void
b64dec_init(struct b64dec *d)
{
	pthread_once(&b64_once, b64_quad_build);
	*d = (struct b64dec){ 0 };
}

/* b64dec_tail - the counts after the end: alphabet characters are lost data */
static void
b64dec_tail(struct b64dec *d, const unsigned char *p, const unsigned char *end)
{
	for (; p < end; p++) {
		unsigned char r = b64_rank[*p];

		if (r < 64)
			d->after++;
		else if (r == XX)
			d->garbage++;
	}
}

/* b64dec_pad - a '=' ends the data: a quantum of 2 or 3 characters gives 1 or 2 bytes */
static unsigned char *
b64dec_pad(struct b64dec *d, unsigned char *o)
{
	if (d->n == 2) {
		*o++ = (unsigned char)(d->bits >> 4);
	} else if (d->n == 3) {
		*o++ = (unsigned char)(d->bits >> 10);
		*o++ = (unsigned char)(d->bits >> 2);
	} else {
		d->flags |= B64DEC_BAD_PAD;
	}
	d->bits = 0;
	d->n = 0;
	d->ended = true;
	return o;
}

size_t
b64dec_step(struct b64dec *d, const void *in, size_t len, void *out)
{
	const unsigned char *p = in, *end = p + len;
	unsigned char *o = out, *olim = o + B64DEC_OUTLEN(len);

	while (p < end && !d->ended) {
		unsigned char r;

		if (d->n == 0) {
			/* the fast paths: runs of 16 or 32 characters (and line breaks), then
			 * whole quanta without anything between */
			if (b64_run != NULL && end - p >= 16) {
				const unsigned char *q = p; /* p and o stay in registers */
				unsigned char *w = o;

				b64_run(&q, end, &w, olim);
				p = q;
				o = w;
			}
			while (end - p >= 4) {
				uint32_t v = b64_quad[0][p[0]] | b64_quad[1][p[1]] | b64_quad[2][p[2]] |
					b64_quad[3][p[3]];

				if (v & 0x80000000u)
					break;
				o[0] = (unsigned char)(v >> 16);
				o[1] = (unsigned char)(v >> 8);
				o[2] = (unsigned char)v;
				o += 3;
				p += 4;
			}
			if (p >= end)
				break;
		}
		r = b64_rank[*p++];
		if (r < 64) {
			d->bits = d->bits << 6 | r;
			if (++d->n == 4) {
				o[0] = (unsigned char)(d->bits >> 16);
				o[1] = (unsigned char)(d->bits >> 8);
				o[2] = (unsigned char)d->bits;
				o += 3;
				d->bits = 0;
				d->n = 0;
			}
		} else if (r == PD) {
			o = b64dec_pad(d, o);
		} else if (r == XX) {
			d->garbage++;
		}
	}
	if (d->ended)
		b64dec_tail(d, p, end);
	return (size_t)(o - (unsigned char *)out);
}

unsigned
b64dec_finish(struct b64dec *d)
{
	if (!d->ended && d->n > 0)
		d->flags |= B64DEC_LOST_TAIL; /* even one character: it held bits of a byte */
	if (d->garbage > 0)
		d->flags |= B64DEC_GARBAGE;
	if (d->after > 0)
		d->flags |= B64DEC_AFTER_END;
	return d->flags;
}

bool
b64dec_lost(const struct b64dec *d)
{
	return (d->flags & (B64DEC_AFTER_END | B64DEC_LOST_TAIL)) != 0;
}
