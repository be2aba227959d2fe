/*
 * classify_prefilter.c - the fast look-ahead of the detectors (issue 15):
 * where the next ASCII digit is (16 bytes at a time with SSE2, else 8), and where the chain of
 * number groups at hand must end. Every identifier, date and phone number of
 * classify_detect.c holds a digit, and no chain of groups reaches across a
 * chain break: an ASCII byte that is neither alphanumeric nor a separator, or
 * two separators of which one is a dot or dash (cls_detect_text ends a chain
 * there), so text up to the last break before the next digit holds no
 * finding and is not tokenized at all.
 * Thread-safe (no state).
 */
#include "classify_int.h"
#include "classify_simd.h"

#include <string.h>

#define CLS_ONES 0x0101010101010101ULL
#define CLS_HIGHS 0x8080808080808080ULL

size_t
cls_next_digit(const char *t, size_t from, size_t len)
{
	size_t i = from;

#ifdef CLS_SIMD
	for (; i + 16 <= len; i += 16) {
		unsigned m = cls_m16_digit(cls_v16(t + i));

		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	while (i + 8 <= len) {
		guint64 w, x;

		memcpy(&w, t + i, 8);
		/* x: bytes 0x30..0x39 become 0..9; a byte below 10 sets its high bit
		 * here (the lowest such byte exactly, higher ones may be false: they
		 * are checked one by one below) */
		x = w ^ (0x30 * CLS_ONES);
		if (((x - 10 * CLS_ONES) & ~x & CLS_HIGHS) != 0)
			break;
		i += 8;
	}
	for (; i < len; i++)
		if ((unsigned char)(t[i] - '0') < 10)
			return i;
	return len;
}

/* what a byte is to cls_last_break: 0 a letter, digit or non-ASCII byte; 1 a chain break; 2 a dot or
 * dash; 3 a blank or tab (built once from cls_chain_break; thread-safe) */
static unsigned char cls_brk_class[256];

static void
cls_brk_init(void)
{
	static gsize once = 0;

	if (g_once_init_enter(&once)) {
		unsigned c;

		for (c = 0; c < 256; c++)
			cls_brk_class[c] = cls_chain_break((unsigned char)c) ? 1 : c == '.' || c == '-' ? 2 :
				c == ' ' || c == '\t' ? 3 : 0;
		g_once_init_leave(&once, 1);
	}
}

size_t
cls_last_break(const char *t, size_t from, size_t to)
{
	unsigned next = 0;   /* the class of the byte after the one at hand (none: 0) */
	size_t i = to;

#ifdef CLS_SIMD
	/* 16 bytes at a time from the end: a break, or a separator followed by one, either a dot or
	 * dash (the byte after the block: its bits of the block looked at before) */
	unsigned nsep = 0, ndd = 0;

	for (; i >= from + 16; i -= 16) {
		__m128i x = cls_v16(t + i - 16);
		unsigned dd = cls_m16_eq(x, '.') | cls_m16_eq(x, '-');
		unsigned sep = dd | cls_m16_eq(x, ' ') | cls_m16_eq(x, '\t');
		unsigned brk = ~(cls_m16_high(x) | cls_m16_alnum(x) | sep) & 0xFFFFu;

		brk |= sep & ((sep >> 1) | (nsep << 15)) & (dd | (dd >> 1) | (ndd << 15));
		if (brk != 0)
			return i - 16 + (size_t)(31 - __builtin_clz(brk));
		nsep = sep & 1;
		ndd = dd & 1;
	}
	next = ndd ? 2 : nsep ? 3 : 0;
#endif
	cls_brk_init();
	for (; i > from; i--) {
		unsigned c = cls_brk_class[(unsigned char)t[i - 1]];

		/* a break, or two separators of which one is a dot or dash (". ", " -", "..") */
		if (c == 1 || (c >= 2 && next >= 2 && (c == 2 || next == 2)))
			return i - 1;
		next = c;
	}
	return (size_t)-1;
}
