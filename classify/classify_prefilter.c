/*
 * classify_prefilter.c - the fast look-ahead of the detectors (issue 15):
 * where the next ASCII digit is (8 bytes at a time), and where the chain of
 * number groups at hand must end. Every identifier, date and phone number of
 * classify_detect.c holds a digit, and no chain of groups reaches across a
 * chain break: an ASCII byte that is neither alphanumeric nor a separator, or
 * two separators of which one is a dot or dash (cls_detect_text ends a chain
 * there), so text up to the last break before the next digit holds no
 * finding and is not tokenized at all.
 * Thread-safe (no state).
 */
#include "classify_int.h"

#include <string.h>

#define CLS_ONES 0x0101010101010101ULL
#define CLS_HIGHS 0x8080808080808080ULL

size_t
cls_next_digit(const char *t, size_t from, size_t len)
{
	size_t i = from;

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

/* a separator byte: blank, tab, '.', '-' */
static inline bool
cls_sep_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '.' || c == '-';
}

size_t
cls_last_break(const char *t, size_t from, size_t to)
{
	size_t i;

	for (i = to; i > from; i--) {
		unsigned char c = (unsigned char)t[i - 1];

		if (cls_chain_break(c))
			return i - 1;
		/* two separators, one a dot or dash: the gap ends the chain (". ", " -", "..") */
		if ((c == '.' || c == '-') && i < to && cls_sep_byte((unsigned char)t[i]))
			return i - 1;
		if (cls_sep_byte(c) && i < to && ((unsigned char)t[i] == '.' || (unsigned char)t[i] == '-'))
			return i - 1;
	}
	return (size_t)-1;
}
