/*
 * classify_lower.c - the fast lower case of the Art. 9 term scan: the bytes
 * of g_utf8_strdown() for valid UTF-8 without NUL, in one pass without a call
 * per character: ASCII 16 bytes at a time with SSE2 (else 8), the Latin-1 letters, NBSP and the
 * general punctuation (dashes, quotes) inline, other characters through glib
 * only when they are upper or title case (per character: glib's only context
 * rule outside Turkic/Lithuanian locales is the Greek capital sigma, final
 * unless a letter follows; in those locales the whole text goes through
 * glib). cls_strdown_step lowers a text in pieces into a buffer the caller
 * reuses (the scan of a large text holds no lower-case copy of all of it).
 * Thread-safe (no state).
 */
#include "classify_int.h"
#include "classify_simd.h"

#include <locale.h>
#include <string.h>

bool
cls_strdown_glib(void)
{
	const char *loc = setlocale(LC_CTYPE, NULL);

	return loc != NULL && ((loc[0] == 'a' && loc[1] == 'z') || (loc[0] == 'l' && loc[1] == 't') ||
		(loc[0] == 't' && loc[1] == 'r'));
}

/* one character at text[i] (not ASCII, not U+00C0..U+00FF) into out (room for 16 bytes); the bytes
 * of text it took */
static size_t
cls_lower_char(const char *text, size_t len, size_t i, char *out, size_t *o)
{
	unsigned char c = (unsigned char)text[i];
	size_t cl = (size_t)g_utf8_skip[c];
	gunichar u;
	GUnicodeType t;

	if (cl > len - i)
		cl = len - i;
	/* U+0080..U+00BF and U+2000..U+203F (NBSP, dashes, quotes ...): no upper or title case */
	if (c == 0xC2 || (c == 0xE2 && cl == 3 && (unsigned char)text[i + 1] == 0x80)) {
		memcpy(out + *o, text + i, cl);
		*o += cl;
		return cl;
	}
	u = g_utf8_get_char(text + i);
	t = g_unichar_type(u);
	if (u == 0x3A3) {   /* Greek capital sigma: 2 bytes as its lower forms */
		bool letter = i + cl < len && g_unichar_isalpha(g_utf8_get_char(text + i + cl));

		*o += (size_t)g_unichar_to_utf8(letter ? 0x3C3 : 0x3C2, out + *o);
	} else if (t == G_UNICODE_UPPERCASE_LETTER || t == G_UNICODE_TITLECASE_LETTER) {
		char *l = g_utf8_strdown(text + i, (gssize)cl);
		size_t ll = strlen(l);

		g_assert(ll <= 16);   /* a character's lower case: at most 3 characters */
		memcpy(out + *o, l, ll);
		*o += ll;
		g_free(l);
	} else {
		memcpy(out + *o, text + i, cl);
		*o += cl;
	}
	return cl;
}

size_t
cls_strdown_step(const char *text, size_t len, size_t *pos, char *out, size_t cap)
{
	size_t o = 0, i = *pos;

	while (i < len && cap - o >= 16) {
		unsigned char c = (unsigned char)text[i];

#ifdef CLS_SIMD
		if (c < 0x80 && i + 16 <= len) {   /* 16 bytes lowered and stored; kept up to the first >= 0x80 */
			__m128i x = cls_v16(text + i);
			unsigned hi = cls_m16_high(x);
			size_t k = hi != 0 ? (size_t)__builtin_ctz(hi) : 16;   /* >= 1: text[i] is ASCII */

			cls_v16_store(out + o, cls_v16_lower(x));
			o += k;
			i += k;
			continue;
		}
#endif
		if (c < 0x80 && i + 8 <= len) {   /* 8 ASCII bytes at a time: A..Z | 0x20 */
			guint64 w, upper;

			memcpy(&w, text + i, 8);
			if (!(w & 0x8080808080808080ULL)) {
				upper = (w + 0x3F3F3F3F3F3F3F3FULL) & ~(w + 0x2525252525252525ULL) & 0x8080808080808080ULL;
				w |= upper >> 2;
				memcpy(out + o, &w, 8);
				o += 8;
				i += 8;
				continue;
			}
		}
		if (c < 0x80) {
			out[o++] = (char)cls_lc(c);
			i++;
		} else if (c == 0xC3 && i + 1 < len) {   /* U+00C0..U+00FF: À..Þ (not ×) +0x20 */
			unsigned char d = (unsigned char)text[i + 1];

			out[o++] = (char)c;
			out[o++] = (char)(d >= 0x80 && d <= 0x9E && d != 0x97 ? d + 0x20 : d);
			i += 2;
		} else {
			i += cls_lower_char(text, len, i, out, &o);
		}
	}
	*pos = i;
	return o;
}

char *
cls_strdown(const char *text, size_t len, size_t *out_len)
{
	size_t cap = len + 64, o = 0, i = 0;
	char *out;

	if (cls_strdown_glib()) {
		out = g_utf8_strdown(text, (gssize)len);
		*out_len = strlen(out);
		return out;
	}
	out = g_malloc(cap);
	for (;;) {
		o += cls_strdown_step(text, len, &i, out + o, cap - o - 1);
		if (i == len)
			break;
		cap = cap * 5 / 4 + 64;   /* characters that grow lower-cased ("İ": 2 bytes, 3 lower) */
		out = g_realloc(out, cap);
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}
