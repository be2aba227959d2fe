/*
 * classify_simd.h - 16 bytes at a time for the scans of classify/ (issue 15): on x86-64 SSE2
 * (always there) a byte class of 16 bytes is one compare and one movemask. Each returns a
 * 16-bit mask, bit k for byte p[k]. CLS_SIMD is defined only where SSE2 is; every user keeps
 * its portable code (8 bytes at a time, or byte by byte) as the path without it and for the
 * tail of its input. -DCLS_NO_SIMD builds the portable paths on x86-64 too (the equivalence
 * runs build both).
 * Not for use outside classify/ and tests/unit/test_classify*.c.
 */
#ifndef OFFLOAD_CLASSIFY_SIMD_H
#define OFFLOAD_CLASSIFY_SIMD_H

#if defined(__SSE2__) && !defined(CLS_NO_SIMD)
#define CLS_SIMD 1
#include <emmintrin.h>

static inline __m128i
cls_v16(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* bytes 0x80..0xFF */
static inline unsigned
cls_m16_high(__m128i x)
{
	return (unsigned)_mm_movemask_epi8(x);
}

/* the byte c */
static inline unsigned
cls_m16_eq(__m128i x, char c)
{
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(c)));
}

/* bytes lo..lo+n-1 (n <= 128) as a vector of 0xFF / 0x00: x - lo, unsigned, below n
 * (signed compare after moving 0 to -128) */
static inline __m128i
cls_v16_range(__m128i x, unsigned char lo, unsigned char n)
{
	return _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - lo))),
		_mm_set1_epi8((char)(0x80 + n)));
}

/* ASCII digits */
static inline unsigned
cls_m16_digit(__m128i x)
{
	return (unsigned)_mm_movemask_epi8(cls_v16_range(x, '0', 10));
}

/* ASCII letters and digits */
static inline unsigned
cls_m16_alnum(__m128i x)
{
	__m128i letter = cls_v16_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 26);

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(letter, cls_v16_range(x, '0', 10)));
}

/* word bytes of the Art. 9 scan (cls_word_char): ASCII letters and digits, bytes >= 0x80 */
static inline unsigned
cls_m16_word(__m128i x)
{
	__m128i letter = cls_v16_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 26);

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(x, letter), cls_v16_range(x, '0', 10)));
}

/* x with ASCII A..Z lowered (other bytes as they are) */
static inline __m128i
cls_v16_lower(__m128i x)
{
	return _mm_or_si128(x, _mm_and_si128(cls_v16_range(x, 'A', 26), _mm_set1_epi8(0x20)));
}

static inline void
cls_v16_store(char *p, __m128i x)
{
	_mm_storeu_si128((__m128i *)(void *)p, x);
}
#endif

#endif
