/*
 * test_b64dec_simd.c - the SIMD runs of the base64 decoder (common/b64dec_simd.c) change
 * nothing: on every path this CPU has (SSSE3, AVX2) each input gives the scalar path's bytes,
 * flags, garbage and after counts and end state, and no step writes past its B64DEC_OUTLEN
 * room (canary bytes after it). Inputs: every byte value at every position of 16- and 32-byte
 * blocks, at every alignment; '=' and '==' everywhere; CR, LF, CRLF, blanks inside blocks;
 * lines of every length 1-100 with CRLF or LF; a byte changed anywhere in a run of lines of
 * one length (the AVX2 line mode); every cut into two steps and random cuts into many; random
 * damage. Each step reads its own allocation (under SAN=1 a read past the
 * input fails). (test_b64dec.c holds the scalar path to GMime's decoder.)
 */
#include "b64dec.h"
#include "b64dec_simd.h"

#include <string.h>
#include <glib.h>

#include "unit.h"

#define CANARY 40 /* bytes checked after each step's room (more than a 32-byte store) */

struct res {
	GByteArray *out;
	unsigned flags;
	uint64_t garbage, after;
	uint32_t bits;
	unsigned n;
	bool ended, lost, overrun;
};

/* decode - in through path level, cut at cuts[0..ncut-1] (increasing offsets) */
static void
decode(unsigned level, const unsigned char *in, size_t len, const size_t *cuts, size_t ncut,
	struct res *r)
{
	struct b64dec d;
	size_t i, from = 0;

	b64dec_simd_use(level);
	b64dec_init(&d);
	r->out = g_byte_array_new();
	r->overrun = false;
	for (i = 0; i <= ncut; i++) {
		size_t to = i < ncut ? cuts[i] : len, room = B64DEC_OUTLEN(to - from), k, c;
		unsigned char *buf = g_malloc(room + CANARY), *piece = g_malloc(MAX(to - from, 1));

		/* each step's input in a block of its own: ASan sees a read past it */
		if (to > from)
			memcpy(piece, in + from, to - from);
		memset(buf, 0xA5, room + CANARY);
		k = b64dec_step(&d, piece, to - from, buf);
		g_free(piece);
		for (c = room; c < room + CANARY; c++)
			r->overrun = r->overrun || buf[c] != 0xA5 || k > room;
		g_byte_array_append(r->out, buf, (guint)k);
		g_free(buf);
		from = to;
	}
	r->bits = d.bits;
	r->n = d.n;
	r->flags = b64dec_finish(&d);
	r->garbage = d.garbage;
	r->after = d.after;
	r->ended = d.ended;
	r->lost = b64dec_lost(&d);
}

static unsigned best, n_cases, n_bad;
static char first_bad[200];

/* same_all - every SIMD path against the scalar one on in, cut at cuts */
static void
same_all(const unsigned char *in, size_t len, const size_t *cuts, size_t ncut, const char *what)
{
	struct res ref, got;
	unsigned level;

	decode(B64DEC_SCALAR, in, len, cuts, ncut, &ref);
	for (level = B64DEC_SSSE3; level <= best; level++) {
		bool ok;

		decode(level, in, len, cuts, ncut, &got);
		ok = got.out->len == ref.out->len &&
			(ref.out->len == 0 || memcmp(got.out->data, ref.out->data, ref.out->len) == 0) &&
			got.flags == ref.flags && got.garbage == ref.garbage && got.after == ref.after &&
			got.bits == ref.bits && got.n == ref.n && got.ended == ref.ended &&
			got.lost == ref.lost && !got.overrun && !ref.overrun;
		if (!ok && n_bad++ == 0)
			g_snprintf(first_bad, sizeof first_bad, "%s, path %u, %zu bytes: %.*s", what, level, len,
				(int)MIN(len, 100), in);
		g_byte_array_unref(got.out);
	}
	g_byte_array_unref(ref.out);
	n_cases++;
}

static void
done(const char *what)
{
	CHECK(n_bad == 0, "%s: %u inputs, every path as the scalar one (%u differ; first: %s)", what,
		n_cases, n_bad, n_bad ? first_bad : "-");
	n_cases = n_bad = 0;
}

/* clean - len alphabet characters from r */
static void
clean(unsigned char *p, size_t len, GRand *r)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)a[g_rand_int_range(r, 0, 64)];
}

/* every byte value at every position 0-79 of 100 characters, at input alignments 0-31 (the
 * alignments for the bytes that matter most; all values at alignments 0, 1 and 17) */
static void
test_every_byte(GRand *r)
{
	static const unsigned char special[] = { '=', '\r', '\n', ' ', '\t', '-', '+', '/', 0, 0x80,
		0xFF, '.', '@', '[', '`', '{', 'A' - 1, 'Z' + 1, '0' - 1, '9' + 1, ':', '*', ',' };
	unsigned char buf[32 + 100], base[100];
	unsigned c, j, al;

	clean(base, sizeof base, r);
	for (al = 0; al < 32; al++) {
		for (c = 0; c < 256; c++) {
			if (al != 0 && al != 1 && al != 17 && memchr(special, (int)c, sizeof special) == NULL)
				continue;
			for (j = 0; j < 80; j++) {
				memcpy(buf + al, base, sizeof base);
				buf[al + j] = (unsigned char)c;
				same_all(buf + al, sizeof base, NULL, 0, "one byte");
			}
		}
	}
	done("every byte value at every position and alignment of a block");
}

/* '=' and '==' at every position, then clean data or a line end */
static void
test_pads(GRand *r)
{
	static const char *const pads[] = { "=", "==", "===", "=\r\n", "==\r\n", "=\n" };
	unsigned char buf[140];
	unsigned j, k;

	for (k = 0; k < G_N_ELEMENTS(pads); k++) {
		for (j = 0; j < 90; j++) {
			size_t pl = strlen(pads[k]);

			clean(buf, sizeof buf, r);
			memcpy(buf + j, pads[k], pl);
			same_all(buf, sizeof buf, NULL, 0, "pad");
			same_all(buf, j + pl, NULL, 0, "pad at the end");
		}
	}
	done("'=' and '==' at every position");
}

/* line ends and blanks at every position of blocks, one or two of them; 1-11 of them ending
 * the input after 0-89 characters */
static void
test_breaks(GRand *r)
{
	static const char *const brk[] = { "\r\n", "\n", "\r", " ", "\t", "\r\n\r\n", "\n\n", " \r\n",
		"\r\n ", "\r\r\n" };
	unsigned char buf[200];
	unsigned j, j2, k;

	for (k = 0; k < G_N_ELEMENTS(brk); k++) {
		size_t bl = strlen(brk[k]);

		for (j = 0; j < 80; j++) {
			for (j2 = j + (unsigned)bl; j2 < j + bl + 80; j2 += 3) {
				clean(buf, sizeof buf, r);
				memcpy(buf + j, brk[k], bl);
				memcpy(buf + j2, brk[(k + j2) % G_N_ELEMENTS(brk)], 2);
				same_all(buf, 180, NULL, 0, "line breaks");
			}
		}
	}
	for (j = 0; j < 90; j++) { /* white space to the end of the input */
		for (k = 1; k < 12; k++) {
			clean(buf, j, r);
			memcpy(buf + j, "\r\n\r\n \t\n\n\r\n  ", k);
			same_all(buf, j + k, NULL, 0, "white space at the end");
		}
	}
	done("CR, LF, CRLF and blanks at every position of a block, and to the end");
}

/* encode - clean characters in lines of ll (0: one line), CRLF or LF */
static GString *
lines(size_t chars, unsigned ll, bool crlf, GRand *r)
{
	GString *s = g_string_new(NULL);
	unsigned char c[1];
	size_t i;

	for (i = 0; i < chars; i++) {
		clean(c, 1, r);
		g_string_append_c(s, (char)c[0]);
		if (ll && (i + 1) % ll == 0)
			g_string_append(s, crlf ? "\r\n" : "\n");
	}
	return s;
}

/* lines of every length 1-100, and every cut into two steps of 76- and 64-character lines */
static void
test_lines_cuts(GRand *r)
{
	static const unsigned lls[] = { 76, 64, 72, 60, 77, 32, 16 };
	unsigned ll, k;
	size_t cut, c3[2];

	for (ll = 0; ll <= 100; ll++) {
		for (k = 0; k < 4; k++) {
			GString *s = lines((size_t)g_rand_int_range(r, 0, 1200), ll, k % 2, r);

			if (k >= 2)
				g_string_append(s, k == 2 ? "==\r\n" : "=\n");
			same_all((unsigned char *)s->str, s->len, NULL, 0, "lines");
			g_string_free(s, TRUE);
		}
	}
	done("lines of every length 1-100, CRLF and LF");
	for (k = 0; k < G_N_ELEMENTS(lls); k++) {
		GString *s = lines(400 + k, lls[k], k % 2 == 0, r);

		g_string_append(s, "A=\r\n");
		for (cut = 0; cut <= s->len; cut++) {
			same_all((unsigned char *)s->str, s->len, &cut, 1, "cut in two");
			c3[0] = cut;
			c3[1] = cut + (size_t)g_rand_int_range(r, 0, (gint32)(s->len - cut + 1));
			same_all((unsigned char *)s->str, s->len, c3, 2, "cut in three");
		}
		g_string_free(s, TRUE);
	}
	done("every cut of line-broken input into two and three steps");
}

/* the AVX2 run's line mode (b64_lines32, from the third line on): 8 lines of one length, a
 * byte changed at every position; the same cut in two at every offset */
static void
test_line_mode(GRand *r)
{
	static const unsigned lls[] = { 32, 36, 60, 64, 68, 76, 100 };
	static const char bytes[] = "=-\r\n \t\xff.";
	unsigned k, b;
	size_t j;

	for (k = 0; k < G_N_ELEMENTS(lls) * 2; k++) {
		GString *s = lines(lls[k / 2] * 8, lls[k / 2], k % 2 == 0, r);

		for (j = 0; j < s->len; j++) {
			for (b = 0; b < sizeof bytes - 1; b++) {
				char was = s->str[j];

				s->str[j] = bytes[b];
				same_all((unsigned char *)s->str, s->len, NULL, 0, "line mode, a byte changed");
				s->str[j] = was;
			}
			same_all((unsigned char *)s->str, s->len, &j, 1, "line mode, cut in two");
		}
		g_string_free(s, TRUE);
	}
	done("lines of 32-100 characters with a byte changed anywhere, and cut anywhere");
}

/* random damage, cut into random steps */
static void
test_random(GRand *r)
{
	static const char *const junk[] = { "=", "==", "-", "!", "\t", " ", "\r\n", "\n\n", "=\n", "AB",
		"Q", "--b--", "\xff", "\r", "\0" };
	unsigned i;

	for (i = 0; i < 20000; i++) {
		GString *s = lines((size_t)g_rand_int_range(r, 0, 700), (unsigned)g_rand_int_range(r, 0, 90),
			g_rand_boolean(r), r);
		size_t cuts[8], nc = (size_t)g_rand_int_range(r, 0, 8), k;
		int m, nm = g_rand_int_range(r, 0, 4);

		for (m = 0; m < nm; m++) {
			const char *j = junk[g_rand_int_range(r, 0, G_N_ELEMENTS(junk))];

			g_string_insert_len(s, s->len ? g_rand_int_range(r, 0, (gint32)s->len) : 0, j,
				j[0] ? (gssize)strlen(j) : 1);
		}
		for (k = 0; k < nc; k++)
			cuts[k] = s->len ? (size_t)g_rand_int_range(r, 0, (gint32)s->len + 1) : 0;
		for (k = 1; k < nc; k++) /* sorted */
			for (m = (int)k; m > 0 && cuts[m - 1] > cuts[m]; m--) {
				size_t t = cuts[m];

				cuts[m] = cuts[m - 1];
				cuts[m - 1] = t;
			}
		same_all((unsigned char *)s->str, s->len, cuts, nc, "random");
		g_string_free(s, TRUE);
	}
	done("random damage and random cuts");
}

int
main(void)
{
	GRand *r = g_rand_new_with_seed(1564);

	best = b64dec_simd_best();
#if defined(__x86_64__) && !defined(B64DEC_NO_SIMD)
	CHECK(best >= B64DEC_SSSE3, "an x86-64 build has a SIMD path on this CPU (best %u)", best);
#endif
	CHECK(b64dec_simd_use(B64DEC_AVX2 + 1) == best, "asking for more than the CPU has gives the best");
	test_every_byte(r);
	test_pads(r);
	test_breaks(r);
	test_lines_cuts(r);
	test_line_mode(r);
	test_random(r);
	b64dec_simd_use(best);
	g_rand_free(r);
	return unit_done();
}
