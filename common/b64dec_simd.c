/*
 * b64dec_simd.c - the SSSE3 and AVX2 runs of the base64 decoder (see b64dec_simd.h).
 *
 * One block (Muła and Lemire, "Faster Base64 Encoding and Decoding Using AVX2 Instructions",
 * 2018, as in aklomp/base64): two pshufb lookups by the high and low nibble of each byte give
 * bit sets whose AND is 0 exactly for the 64 alphabet characters (the non-zero lanes: the
 * block's "bad" bytes, the first of which stops the block); a third lookup by
 * the high nibble (and '/') gives what to add to reach the sixtet; pmaddubsw and pmaddwd join
 * four sixtets into 24 bits per 32-bit lane; pshufb (and for AVX2 a vpermd) packs 16 -> 12 or
 * 32 -> 24 bytes. Lanes are independent: the quanta before the first bad byte decode right
 * whatever follows them, so a run keeps those and goes on after white space there. MIME's
 * lines of one length then cost a partial block and a wait per line (where the next line starts
 * depends on the decode), so the AVX2 run switches to whole lines of the length it has seen
 * (b64_lines32): 200 MB of 76-character CRLF lines took 0.033 s of CPU without that, 0.016 s
 * with it (one line without breaks: 0.012 s; the scalar decoder 0.087 s; tools/bench_b64dec.c).
 */
#include "b64dec_simd.h"

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(B64DEC_NO_SIMD)
#include <immintrin.h>
#include <stdbool.h>

/* b64_skip - after a block whose first non-alphabet byte is byte k of it: move past the whole
 * quanta before that byte; when that byte is white space (b64dec.c's WS: HT, LF, CR, SP; it
 * then starts a quantum, else the move stops at an alphabet character), past the white space
 * too and say so (the run goes on) */
static inline bool
b64_skip(const unsigned char **pp, const unsigned char *end, unsigned char **op, unsigned k)
{
	const unsigned char *p = *pp + k / 4 * 4, *q = p;

	*op += k / 4 * 3;
	/* MIME's CRLF or LF first, then any white space */
	if (end - q >= 2 && q[0] == '\r' && q[1] == '\n')
		q += 2;
	else if (q < end && q[0] == '\n')
		q++;
	while (q < end && (*q == '\n' || *q == '\r' || *q == ' ' || *q == '\t'))
		q++;
	*pp = q;
	return q > p;
}

/* b64_last - the last place after p a block of b characters may start: the block within the
 * input and its whole-vector store below olim (a run writes at most 3 bytes per 4 characters it
 * moves); NULL: none */
static inline const unsigned char *
b64_last(const unsigned char *p, const unsigned char *end, const unsigned char *o,
	const unsigned char *olim, ptrdiff_t b)
{
	ptrdiff_t in = (end - p) - b, out = (olim - o) - b;

	if (in < 0 || out < 0)
		return NULL;
	out = out / 3 * 4;
	return p + (in < out ? in : out);
}

/* the classes: lut_lo[low nibble] & lut_hi[high nibble] is 0 exactly for the alphabet */
#define B64_LUT_LO 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, \
	0x1B, 0x1B, 0x1A
#define B64_LUT_HI 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, \
	0x10, 0x10, 0x10
/* added to a character by its high nibble ('/': index 1) to give its sixtet */
#define B64_LUT_ROLL 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0
/* the 3 bytes of each 32-bit lane's 24 bits, high first */
#define B64_PACK 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1

/* b64_block16 - 16 characters decoded (12 bytes, then 4 of junk); *bad: the non-alphabet ones */
__attribute__((target("ssse3"))) static inline __m128i
b64_block16(__m128i s, unsigned *bad)
{
	const __m128i m2f = _mm_set1_epi8(0x2F);
	__m128i hi = _mm_and_si128(_mm_srli_epi32(s, 4), m2f), lo = _mm_and_si128(s, m2f);
	__m128i cls = _mm_and_si128(_mm_shuffle_epi8(_mm_setr_epi8(B64_LUT_LO), lo),
		_mm_shuffle_epi8(_mm_setr_epi8(B64_LUT_HI), hi));
	__m128i roll = _mm_shuffle_epi8(_mm_setr_epi8(B64_LUT_ROLL), _mm_add_epi8(_mm_cmpeq_epi8(s, m2f), hi));

	*bad = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(cls, _mm_setzero_si128())) ^ 0xFFFFu;
	s = _mm_maddubs_epi16(_mm_add_epi8(s, roll), _mm_set1_epi32(0x01400140));
	s = _mm_madd_epi16(s, _mm_set1_epi32(0x00011000));
	return _mm_shuffle_epi8(s, _mm_setr_epi8(B64_PACK));
}

/* b64_run16 - the SSSE3 run: 16 characters to 12 bytes a block (a 16-byte store) */
__attribute__((target("ssse3"))) static inline void
b64_run16(const unsigned char **pp, const unsigned char *end, unsigned char **op,
	const unsigned char *olim)
{
	const unsigned char *p = *pp, *last = b64_last(p, end, *op, olim, 16);
	unsigned char *o = *op;

	while (last != NULL && p <= last) {
		unsigned bad;
		__m128i v = b64_block16(_mm_loadu_si128((const __m128i *)(const void *)p), &bad);

		_mm_storeu_si128((__m128i *)(void *)o, v);
		if (bad == 0) {
			p += 16;
			o += 12;
		} else if (!b64_skip(&p, end, &o, (unsigned)__builtin_ctz(bad))) {
			break;
		}
	}
	*pp = p;
	*op = o;
}

__attribute__((target("ssse3"))) static void
b64_run_ssse3(const unsigned char **pp, const unsigned char *end, unsigned char **op,
	const unsigned char *olim)
{
	b64_run16(pp, end, op, olim);
}

/* b64_dec32 - 32 characters decoded (24 bytes, then 8 of junk); *cls: 0 exactly in the lanes
 * of alphabet characters */
__attribute__((target("avx2"))) static inline __m256i
b64_dec32(const unsigned char *p, __m256i *cls)
{
	const __m256i m2f = _mm256_set1_epi8(0x2F);
	__m256i s = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi32(s, 4), m2f), lo = _mm256_and_si256(s, m2f);
	__m256i roll = _mm256_shuffle_epi8(_mm256_setr_epi8(B64_LUT_ROLL, B64_LUT_ROLL),
		_mm256_add_epi8(_mm256_cmpeq_epi8(s, m2f), hi));

	*cls = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_setr_epi8(B64_LUT_LO, B64_LUT_LO), lo),
		_mm256_shuffle_epi8(_mm256_setr_epi8(B64_LUT_HI, B64_LUT_HI), hi));
	s = _mm256_maddubs_epi16(_mm256_add_epi8(s, roll), _mm256_set1_epi32(0x01400140));
	s = _mm256_madd_epi16(s, _mm256_set1_epi32(0x00011000));
	s = _mm256_shuffle_epi8(s, _mm256_setr_epi8(B64_PACK, B64_PACK));
	return _mm256_permutevar8x32_epi32(s, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7));
}

/* b64_lines32 - whole lines of len alphabet characters (32 or more, a multiple of 4) and the
 * line end eol ("\r\n" or "\n", n bytes) for as long as they come: the blocks at 0, 32, ...
 * and one ending at len (overlapping the one before), stored where they belong, checked
 * together. No load waits for a decode: where the next line starts is known. Stops at the
 * first line that is anything else (its stores are redone after) */
__attribute__((target("avx2"))) static void
b64_lines32(const unsigned char **pp, const unsigned char *end, unsigned char **op,
	const unsigned char *olim, size_t len, size_t n)
{
	const unsigned char *p = *pp;
	unsigned char *o = *op;
	size_t tail = len - 32, i;

	while ((size_t)(end - p) >= len + n && (size_t)(olim - o) >= tail / 4 * 3 + 32) {
		__m256i cls, acc = _mm256_setzero_si256();

		if (p[len + n - 1] != '\n' || (n == 2 && p[len] != '\r'))
			break;
		for (i = 0; i < tail; i += 32) {
			_mm256_storeu_si256((__m256i *)(void *)(o + i / 4 * 3), b64_dec32(p + i, &cls));
			acc = _mm256_or_si256(acc, cls);
		}
		_mm256_storeu_si256((__m256i *)(void *)(o + tail / 4 * 3), b64_dec32(p + tail, &cls));
		if (!_mm256_testz_si256(_mm256_or_si256(acc, cls), _mm256_or_si256(acc, cls)))
			break;
		p += len + n;
		o += len / 4 * 3;
	}
	*pp = p;
	*op = o;
}

/* b64_run_avx2 - 32 characters to 24 bytes a block (a 32-byte store); after two line ends
 * (CRLF or LF) the length of the line between them is taken as the length of the lines to come
 * (b64_lines32); then the SSSE3 run for a last 16 */
__attribute__((target("avx2"))) static void
b64_run_avx2(const unsigned char **pp, const unsigned char *end, unsigned char **op,
	const unsigned char *olim)
{
	const unsigned char *p = *pp, *last = b64_last(p, end, *op, olim, 32), *ls = NULL, *at;
	unsigned char *o = *op;

	while (last != NULL && p <= last) {
		__m256i cls, v = b64_dec32(p, &cls);
		unsigned bad;

		_mm256_storeu_si256((__m256i *)(void *)o, v);
		if (_mm256_testz_si256(cls, cls)) {
			p += 32;
			o += 24;
			continue;
		}
		bad = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(cls, _mm256_setzero_si256()));
		at = p + __builtin_ctz(bad) / 4 * 4;
		if (!b64_skip(&p, end, &o, (unsigned)__builtin_ctz(bad))) {
			*pp = p;
			*op = o;
			return;
		}
		if (ls != NULL && at - ls >= 32 && p - at <= 2)
			b64_lines32(&p, end, &o, olim, (size_t)(at - ls), (size_t)(p - at));
		ls = p;
	}
	*pp = p;
	*op = o;
	b64_run16(pp, end, op, olim);
}

unsigned
b64dec_simd_best(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		return B64DEC_AVX2;
	if (__builtin_cpu_supports("ssse3"))
		return B64DEC_SSSE3;
	return B64DEC_SCALAR;
}

b64dec_run_fn *
b64dec_simd_run(unsigned level)
{
	return level == B64DEC_AVX2 ? b64_run_avx2 : level == B64DEC_SSSE3 ? b64_run_ssse3 : NULL;
}

#else

unsigned
b64dec_simd_best(void)
{
	return B64DEC_SCALAR;
}

b64dec_run_fn *
b64dec_simd_run(unsigned level)
{
	(void)level;
	return NULL;
}

#endif
