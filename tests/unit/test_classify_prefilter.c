/*
 * test_classify_prefilter.c - the look-ahead of the detectors (issue 15,
 * classify_prefilter.c, cls_word_starts8 and the moving lower-case window of
 * the Art. 9 scan in classify_art9.c/classify_lower.c), each input an exactly
 * sized heap copy so the ASan build sees a read past its end:
 * - the next digit is found at every place of 8-byte blocks and at the last
 *   byte; bytes that only look alike (0xB0..0xB9, '/', ':') are none;
 * - the last chain break (an ASCII byte that is no letter, digit or
 *   separator; ". ", " -", "..") at every place, and none between groups
 *   that stay one chain; against the rule byte by byte on random texts;
 * - word starts and runs of letters and digits 8 bytes at a time equal a
 *   byte-by-byte reference;
 * - an IBAN whose first digit falls on every place of a block, after prose
 *   that is skipped, and as the last bytes of the text; a skip creates no
 *   finding (digit look-alikes, numbers glued to a word);
 * - Art. 9 terms on both sides of the 64 KiB window boundary and as the last
 *   bytes, with the offsets of the whole lower-cased text (also after
 *   characters that grow lower-cased), and no term inside a word;
 * - the lower case in small pieces equals g_utf8_strdown of the whole;
 * - the 16-byte paths (classify_simd.h): the lower case of mostly ASCII text,
 *   the UTF-8 check with a bad byte at every place, Art. 9 terms at every
 *   place of the 64-byte word-start blocks and none after a word byte;
 * - classify_fd, which reads into the job's buffer, equals classify_buffer,
 *   also over windows.
 */
#include "classify_int.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cls_check.h"
#include "unit.h"

static struct classify_ctx *ctx_g;

/* cls_detect of an exactly sized copy of s (n bytes) into r */
static void
detect(const char *s, size_t n, struct classify_result *r)
{
	char *copy = g_memdup2(s, n ? n : 1);

	classify_result_init(r);
	cls_detect(ctx_g, "t", copy, n, r);
	g_free(copy);
}

static void
test_next_digit(void)
{
	static const unsigned char alike[] = { 'a', ' ', '/', ':', 0xB0, 0xB5, 0xB9, 0x10, 0x19, 0xC3, 0xBC, '.', '\t' };
	unsigned bad = 0, len, at, from;

	for (len = 1; len <= 70; len++)
		for (at = 0; at <= len; at++)
			for (from = 0; from <= at && from < len; from += 3) {
				char *t = g_malloc(len);
				unsigned k;

				for (k = 0; k < len; k++)
					t[k] = (char)alike[(k * 7 + len) % sizeof alike];
				if (at < len)
					t[at] = (char)('0' + (at + len) % 10);
				if (cls_next_digit(t, from, len) != at)   /* at == len: no digit */
					bad++;
				g_free(t);
			}
	CHECK(bad == 0, "cls_next_digit finds a digit at every place of 8- and 16-byte blocks and at the end, no "
		"look-alike (%u wrong)", bad);
}

static void
test_last_break(void)
{
	static const struct { const char *s; long want; } c[] = {
		{ "abc def", -1 }, { "DE89 3704\t0044.0532-0130", -1 }, { "ab\xC2\xA0" "cd\xC3\xBC", -1 },
		{ "a,b", 1 }, { "ab;cd ef", 2 }, { "ab. cd", 2 }, { "ab -cd", 2 }, { "ab..cd", 2 }, { "ab.-cd", 2 },
		{ "ab\t.cd", 2 }, { "a b c d e f g h,", 15 }, { "(abcdefg hijklmn", 0 }, { "x\ny", 1 },
		{ "abcdefgh. ijklmnopq, rst", 19 }, { "ab .", 2 }, { "a.", -1 }, { ".a", -1 },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(c); i++) {
		size_t n = strlen(c[i].s);
		char *t = g_memdup2(c[i].s, n), *shown = g_strescape(c[i].s, NULL);
		size_t got = cls_last_break(t, 0, n);

		CHECK(got == (size_t)c[i].want, "cls_last_break('%s') = %ld (got %ld)", shown, c[i].want, (long)got);
		g_free(shown);
		g_free(t);
	}
}

/* cls_last_break (16 bytes at a time from the end where SSE2 is) against the rule byte by byte,
 * on random texts of letters, digits, separators, breaks and non-ASCII bytes, every from and to */
static size_t
last_break_ref(const char *t, size_t from, size_t to)
{
	size_t i;

	for (i = to; i > from; i--) {
		unsigned char c = (unsigned char)t[i - 1], d = i < to ? (unsigned char)t[i] : 'a';
		bool sc = c == ' ' || c == '\t' || c == '.' || c == '-', sd = d == ' ' || d == '\t' || d == '.' || d == '-';

		if (cls_chain_break(c) || (sc && sd && (c == '.' || c == '-' || d == '.' || d == '-')))
			return i - 1;
	}
	return (size_t)-1;
}

static void
test_last_break_blocks(void)
{
	static const char pick[] = "aZ09 \t.-,;\n\xC3\xA0\xE2\x80\xAF";
	GRand *r = g_rand_new_with_seed(17);
	unsigned bad = 0, k, n = 0;

	for (k = 0; k < 3000; k++) {
		size_t len = (size_t)g_rand_int_range(r, 1, 90), from, to, b;
		char *t = g_malloc(len);
		/* mostly letters and blanks (long stretches without a break), some of everything */
		for (b = 0; b < len; b++)
			t[b] = g_rand_int_range(r, 0, 8) != 0 ? "ab c"[g_rand_int_range(r, 0, 4)] :
				pick[g_rand_int_range(r, 0, (gint32)sizeof pick - 1)];
		for (from = 0; from < len; from += 1 + (size_t)g_rand_int_range(r, 0, 9))
			for (to = from; to <= len; to += 1 + (size_t)g_rand_int_range(r, 0, 5)) {
				bad += cls_last_break(t, from, to) != last_break_ref(t, from, to);
				n++;
			}
		g_free(t);
	}
	CHECK(bad == 0, "cls_last_break equals the rule byte by byte on %u ranges of random texts (%u wrong)", n,
		bad);
	g_rand_free(r);
}

static void
test_word_starts(void)
{
	GRand *r = g_rand_new_with_seed(15);
	unsigned bad = 0, k, b;

	for (k = 0; k < 20000; k++) {
		unsigned char p[8];
		bool prev = g_rand_boolean(r);
		guint64 carry = prev ? 0x80 : 0, got, want = 0;

		for (b = 0; b < 8; b++)
			p[b] = (unsigned char)(k < 256 * 8 ? (k / 8 + b * 37) % 256 : (unsigned)g_rand_int_range(r, 0, 256));
		got = cls_word_starts8((const char *)p, &carry);
		for (b = 0; b < 8; b++) {
			bool w = p[b] >= 0x80 || g_ascii_isalnum(p[b]);

			if (w && !prev)
				want |= 0x80ULL << (8 * b);
			prev = w;
		}
		if (got != want || carry != (prev ? 0x80u : 0u))
			bad++;
	}
	CHECK(bad == 0, "cls_word_starts8 equals a byte-by-byte reference on 20000 blocks (%u wrong)", bad);
	g_rand_free(r);
}

static void
test_alnum_run(void)
{
	static const char alpha[] = "aZ09m5 .-\xC3\xBC\xB0\xB9/:@[`{";
	GRand *r = g_rand_new_with_seed(8);
	unsigned bad = 0, k;

	for (k = 0; k < 20000; k++) {
		size_t len = (size_t)g_rand_int_range(r, 1, 40), i, end, want;
		char *t = g_malloc(len);
		bool digit, digits, wdigit = false, wdigits = true;

		for (i = 0; i < len; i++)   /* mostly alphanumeric runs, now and then another byte */
			t[i] = alpha[g_rand_int_range(r, 0, g_rand_boolean(r) ? 6 : (gint32)sizeof alpha - 1)];
		for (want = 0; want < len && g_ascii_isalnum(t[want]); want++) {
			wdigit = wdigit || g_ascii_isdigit(t[want]);
			wdigits = wdigits && g_ascii_isdigit(t[want]);
		}
		end = cls_alnum_run(t, 0, len, &digit, &digits);
		if (end != want || digit != wdigit || (want > 0 && digits != wdigits))
			bad++;
		g_free(t);
	}
	CHECK(bad == 0, "cls_alnum_run (8 bytes at a time) equals a byte-by-byte reference, to the last byte "
		"(%u wrong)", bad);
	g_rand_free(r);
}

static void
test_iban_places(void)
{
	static const char iban[] = "DE89 3704 0044 0532 0130 00";
	unsigned missed = 0, wrong = 0, pad, tail;
	struct classify_result r;

	for (tail = 0; tail < 2; tail++)
		for (pad = 0; pad < 24; pad++) {
			/* prose with chain breaks and no digit, then the IBAN (its first digit on every place
			 * of a block), then nothing or a sentence end */
			GString *s = g_string_new("Bitte zahlen Sie, wie besprochen. Konto: ");
			char want[32];

			g_string_append_len(s, "                        ", (gssize)pad);
			g_string_append(s, iban);
			if (tail)
				g_string_append(s, ". Danke!");
			detect(s->str, s->len, &r);
			g_snprintf(want, sizeof want, "t offset %zu", s->len - strlen(iban) - (tail ? 8 : 0));
			missed += reason_count(&r, "iban") != 1;
			wrong += strcmp(finding_where(&r, "iban"), want) != 0;
			classify_result_clear(&r);
			g_string_free(s, TRUE);
		}
	CHECK(missed == 0 && wrong == 0, "an IBAN after skipped prose, at every place of a block and as the last "
		"bytes: found once each (%u missed, %u at a wrong offset)", missed, wrong);
}

static void
test_no_false_hits(void)
{
	static const char *const none[] = {
		/* digits behind look-alikes, a number glued to a word, letters only */
		"Konto \xB8\xB9\xB0\xB1 \xB2\xB3\xB4\xB5 DE89 und so weiter, ohne Ziffern hier.",
		"Steuer-ID für 86095742719ü und 47036892816\xC3\xA4, beides im Wort.",
		"DEAB CDEF GHIJ KLMN OPQR ST, und DE89 ABCD EFGH IJKL MNOP QR.",
		"Rufnummer: Null eins fünf eins, Telefon folgt; Ausweis fehlt.",
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(none); i++) {
		struct classify_result r;

		detect(none[i], strlen(none[i]), &r);
		CHECK(r.findings == NULL || r.findings->len == 0, "no finding in '%s' (%s)", none[i],
			r.findings != NULL && r.findings->len > 0 ?
			((struct classify_finding *)r.findings->pdata[0])->reason : "none");
		classify_result_clear(&r);
	}
}

/* Art. 9: two health terms, the second starting k bytes before the 64 KiB window boundary of the
 * scan (and as the last bytes of the text), after a lead that grows lower-cased */
static void
test_art9_window(void)
{
	unsigned missed = 0, wrong = 0, inside = 0, k;

	for (k = 0; k < 80; k++) {
		GString *s = g_string_new("\xC4\xB0" "stanbul, ");   /* U+0130: 2 bytes, 3 lower-cased */
		struct classify_result r;
		size_t at;
		char want[48];

		while (s->len < 65536 - 300)
			g_string_append(s, "Die Sitzung beginnt um zehn Uhr im Raum drei. ");
		g_string_append(s, "Diagnose ");
		while (s->len < 65536 - k)
			g_string_append_c(s, ' ');
		at = s->len;
		g_string_append(s, k % 2 ? "Befund" : "BEFUNDE folgen.");
		detect(s->str, s->len, &r);
		missed += reason_count(&r, "art9-health") != 2 ||   /* the count of terms */
			strstr(((struct classify_finding *)r.findings->pdata[0])->masked, "befund*") == NULL;
		/* the first term's offset in the lower case: one byte more than in the text */
		{
			const char *w = finding_where(&r, "art9-health");
			size_t diag = (size_t)(strstr(s->str, "Diagnose ") - s->str) + 1;

			g_snprintf(want, sizeof want, "t offset ~%zu", diag);
			wrong += strcmp(w, want) != 0;
		}
		classify_result_clear(&r);
		/* the same text with the second term inside a word: one term, no finding */
		g_string_insert_c(s, (gssize)at, 'x');
		detect(s->str, s->len, &r);
		inside += reason_count(&r, "art9-health") != 0;
		classify_result_clear(&r);
		g_string_free(s, TRUE);
	}
	CHECK(missed == 0 && wrong == 0 && inside == 0, "Art. 9 terms across the 64 KiB window and as the last "
		"bytes: found with the offset of the lower case (%u missed, %u wrong offsets); none inside a "
		"word (%u)", missed, wrong, inside);
}

static void
test_strdown_pieces(void)
{
	static const gunichar pick[] = { 'A', 'z', ' ', 0xC4, 0xDC, 0xDF, 0x130, 0x3A3, 0x391, 0x1E9E, 0x212A,
		0x20AC, 0x201E, 0x2013, 0xA0, 0x1C5, 0x1F88, 0x10400, 0x42F };
	GRand *r = g_rand_new_with_seed(2026);
	GString *s = g_string_new(""), *got = g_string_new("");
	size_t i = 0, cap;
	char *want, out[64];
	int k;

	for (k = 0; k < 20000; k++)
		g_string_append_unichar(s, pick[g_rand_int_range(r, 0, (gint32)G_N_ELEMENTS(pick))]);
	want = g_utf8_strdown(s->str, (gssize)s->len);
	for (cap = 16; i < s->len; cap = cap == 64 ? 16 : cap + 1) {
		size_t n = cls_strdown_step(s->str, s->len, &i, out, cap);

		g_string_append_len(got, out, (gssize)n);
	}
	CHECK(strcmp(got->str, want) == 0, "cls_strdown_step in pieces of 16..64 bytes == g_utf8_strdown (%zu "
		"bytes, %zu lower-cased)", s->len, got->len);
	g_free(want);
	g_string_free(s, TRUE);
	g_string_free(got, TRUE);
	g_rand_free(r);
}

/* the 16-byte paths (classify_simd.h; the same answers without them, -DCLS_NO_SIMD): the lower case
 * of mostly ASCII text (runs of 16 and more, a character >= 0x80 at every place of a block) in
 * pieces; the UTF-8 check with one bad byte or NUL at every place; Art. 9 terms at every place of
 * the 64-byte blocks of the word-start scan, and not where the byte before (the last of the block
 * before) is a word byte */
static void
test_simd_blocks(void)
{
	static const char *const other[] = { "\xC3\x9C", "\xC3\xBC", "\xC4\xB0", "\xE2\x80\x93", "\xCE\xA3",
		"\xE2\x84\xAA", "\xC2\xA0" };
	static const char bad_bytes[] = { '\0', '\xFF', '\xC3', '\x80', '\xE2' };
	GRand *r = g_rand_new_with_seed(16);
	GString *s = g_string_new(""), *got = g_string_new("");
	unsigned wrong_utf8 = 0, missed = 0, wrong = 0, inside = 0, len, at, b, pad;
	size_t i = 0, cap;
	char *want, out[64];
	int k;

	for (k = 0; k < 40000; k++) {
		if (g_rand_int_range(r, 0, 40) == 0)
			g_string_append(s, other[g_rand_int_range(r, 0, (gint32)G_N_ELEMENTS(other))]);
		else
			g_string_append_c(s, (char)g_rand_int_range(r, 0x20, 0x7F));
	}
	want = g_utf8_strdown(s->str, (gssize)s->len);
	for (cap = 16; i < s->len; cap = cap == 64 ? 16 : cap + 1) {
		size_t n = cls_strdown_step(s->str, s->len, &i, out, cap);

		g_string_append_len(got, out, (gssize)n);
	}
	CHECK(strcmp(got->str, want) == 0, "cls_strdown_step of mostly ASCII text in pieces of 16..64 bytes == "
		"g_utf8_strdown (%zu bytes)", s->len);
	g_free(want);
	for (len = 1; len <= 70; len++)
		for (at = 0; at < len; at++)
			for (b = 0; b < sizeof bad_bytes; b++) {
				char *t = g_malloc(len);

				memset(t, 'a' + (int)(len % 26), len);
				t[at] = bad_bytes[b];
				wrong_utf8 += cls_utf8_valid(t, len) != (bool)g_utf8_validate(t, (gssize)len, NULL);
				g_free(t);
			}
	CHECK(wrong_utf8 == 0, "cls_utf8_valid == g_utf8_validate with a bad byte at every place of 16-byte "
		"blocks (%u differ)", wrong_utf8);
	for (pad = 1; pad <= 140; pad++)
		for (b = 0; b < 3; b++) {
			GString *t = g_string_new("");
			struct classify_result res;
			char w[48];

			while (t->len < pad)
				g_string_append(t, "ab, cd. ");
			g_string_truncate(t, pad - 1);
			/* the byte before the first term: a blank, or a word byte ('x', the last of "ü") */
			g_string_append(t, b == 0 ? " " : b == 1 ? "x" : "\xC3\xBC");
			g_string_append(t, "DIAGNOSE Befund ");
			at = (unsigned)t->len - 16;
			while (t->len < at + 80)   /* a whole 64-byte block after the first term */
				g_string_append(t, "ab cd ");
			detect(t->str, t->len, &res);
			if (b == 0) {
				g_snprintf(w, sizeof w, "t offset ~%u", at);
				missed += reason_count(&res, "art9-health") != 2;
				wrong += strcmp(finding_where(&res, "art9-health"), w) != 0;
			} else {
				inside += reason_count(&res, "art9-health") != 0;
			}
			classify_result_clear(&res);
			g_string_free(t, TRUE);
		}
	CHECK(missed == 0 && wrong == 0 && inside == 0, "Art. 9 terms at every place of the 64-byte blocks of the "
		"word-start scan (%u missed, %u wrong offsets), none after a word byte across a block (%u)", missed,
		wrong, inside);
	g_string_free(s, TRUE);
	g_string_free(got, TRUE);
	g_rand_free(r);
}

/* classify_fd reads straight into the job's buffer: the same result as classify_buffer of the same
 * bytes, also for a text scanned in windows (max_text 64 KiB, IBANs across window ends) */
static void
test_fd_windows(void)
{
	struct conf *c = conf_defaults();
	struct classify_ctx *ctx;
	GString *s = g_string_new("");
	char *path = g_build_filename(unit_tmpdir(), "windows.txt", NULL);
	struct classify_result a, b;
	GError *err = NULL;
	guint i;
	bool same;
	int fd;

	c->classify_max_text = 65536;
	ctx = classify_new(c, &err);
	while (s->len < 300000)
		g_string_append_printf(s, "Zahlung %zu an DE89 3704 0044 0532 0130 00, Tel. 030 %07u.\n", s->len,
			(unsigned)s->len);
	g_file_set_contents(path, s->str, (gssize)s->len, NULL);
	classify_result_init(&a);
	classify_result_init(&b);
	fd = open(path, O_RDONLY);
	classify_fd(ctx, "w", NULL, fd, &a);
	close(fd);
	classify_buffer(ctx, "w", NULL, s->str, s->len, &b);
	same = a.findings != NULL && b.findings != NULL && a.findings->len == b.findings->len &&
		strcmp(a.reasons, b.reasons) == 0 && a.decoded == b.decoded;
	for (i = 0; same && i < a.findings->len; i++) {
		const struct classify_finding *x = a.findings->pdata[i], *y = b.findings->pdata[i];

		same = strcmp(x->reason, y->reason) == 0 && strcmp(x->where, y->where) == 0 &&
			strcmp(x->masked, y->masked) == 0;
	}
	CHECK(same && strstr(a.reasons, "iban:") != NULL, "classify_fd (reads into the job) == classify_buffer "
		"over 64 KiB windows: %s / %s", a.reasons, b.reasons);
	classify_result_clear(&a);
	classify_result_clear(&b);
	classify_free(ctx);
	conf_free(c);
	unlink(path);
	g_free(path);
	g_string_free(s, TRUE);
}

int
main(void)
{
	GError *err = NULL;
	struct conf *c;

	g_mime_init();
	c = conf_load(NULL, NULL);
	ctx_g = classify_new(c, &err);
	CHECK(ctx_g != NULL, "classify_new with defaults (%s)", err ? err->message : "ok");
	if (ctx_g == NULL)
		return unit_done();
	test_next_digit();
	test_last_break();
	test_last_break_blocks();
	test_word_starts();
	test_alnum_run();
	test_iban_places();
	test_no_false_hits();
	test_art9_window();
	test_strdown_pieces();
	test_simd_blocks();
	test_fd_windows();
	classify_free(ctx_g);
	conf_free(c);
	return unit_done();
}
