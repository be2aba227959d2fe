/*
 * classify_detect.c - content detectors on UTF-8 text (standards.md §2):
 * IBAN, Steuer-IdNr, RVNR, KVNR, ID card/passport and payment cards (their
 * check digits in classify_check.c), context-gated e-mail/phone/date-of-birth
 * counts; the GDPR Art. 9 dictionaries (classify_art9.c) on
 * the same text.
 * Numbers are found across blanks, NBSP, or one dot or dash between alphanumeric
 * groups (Word runs inside a paragraph or cell are joined without a gap by the
 * extractors); a candidate must start and end on a boundary of alphanumeric
 * groups, so sequences inside longer runs never match. A tab is a table-cell
 * boundary: only an IBAN continues across it (cells of one row); a newline
 * (paragraph, table row) ends every number. Digit-only identifiers are whole
 * numbers: not the tail of a longer digit sequence, of a reference such as
 * "RE-2024-...", or of phone formatting (+, (, ), 0151/...).
 * Findings carry masked values only.
 * Memory: temporary only. Thread-safe (no shared state).
 */
#include "classify_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const cls_det_names[CLS_DET_N] = {
	"iban", "steuer-id", "rvnr", "kvnr", "id-document", "card", "email", "phone", "dob", "art9",
};

/* ---- context keywords ----
 * Case-insensitive. A keyword of up to 4 characters that starts with a letter is a whole word
 * ("tin" is not in "Martin" or "meeting"); a trailing '*' makes a keyword a word prefix ("tel*":
 * "Tel.", "Telefon", not "Kostenstelle"); longer keywords match anywhere ("Lohnsteuer"). */

static const char *const cls_kw_steuer[] = {
	"steuer", "identifikationsnummer", "idnr", "id-nr", "tax id", "tin", "tax identification",
	"steuernummer", NULL,
};
static const char *const cls_kw_kvnr[] = {
	"krankenversicherungsnummer", "versichertennummer", "versicherten-nr", "kvnr", "krankenkasse",
	"gesundheitskarte", "egk", "aok", "barmer", "dak", "health insurance", "insurance number",
	"versicherung", NULL,
};
static const char *const cls_kw_id[] = {
	"personalausweis", "ausweis", "dokumentennummer", "reisepass", "passnummer", "pass-nr",
	"identity card", "id card", "passport", "document number", "idd<<", NULL,
};
static const char *const cls_kw_phone[] = {
	"tel*", "fon", "mobil", "handy", "fax", "phone", "ruf*", NULL,
};
static const char *const cls_kw_dob[] = {
	"geb.", "geboren", "geburtsdatum", "geburtstag", "date of birth", "dob", "born", "birth", "*", NULL,
};

/* ASCII upper case without a call */
static inline unsigned char
cls_uc(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

/* a keyword list worked out once (thread-safe): lengths, word rules and, per byte, the
 * keywords that start with it in either case */
struct cls_kwset {
	const char *const *kw;
	gsize once;
	size_t n;
	guint16 first[256];
	guint64 pair[16];   /* bit per first two bytes (5 bits each, so either case) of a keyword */
	struct { const char *w; size_t len; unsigned char c0; bool word, whole; } k[16];
};

static struct cls_kwset cls_ks_steuer = { .kw = cls_kw_steuer }, cls_ks_kvnr = { .kw = cls_kw_kvnr },
	cls_ks_id = { .kw = cls_kw_id }, cls_ks_phone = { .kw = cls_kw_phone }, cls_ks_dob = { .kw = cls_kw_dob };

static const struct cls_kwset *
cls_kwset(struct cls_kwset *ks)
{
	size_t n;

	if (!g_once_init_enter(&ks->once))
		return ks;
	for (n = 0; ks->kw[n] != NULL && n < G_N_ELEMENTS(ks->k); n++) {
		const char *w = ks->kw[n];
		size_t kl = strlen(w);
		/* "tel*": a word start; short keywords ("tin", "aok", "dob"): whole words */
		bool prefix = kl > 1 && w[kl - 1] == '*';

		kl -= prefix ? 1 : 0;
		ks->k[n].w = w;
		ks->k[n].len = kl;
		ks->k[n].c0 = cls_lc((unsigned char)w[0]);
		ks->k[n].word = prefix || (kl <= 4 && g_ascii_isalpha(w[0]));
		ks->k[n].whole = ks->k[n].word && !prefix;
		if (kl > 0) {
			unsigned char c0 = ks->k[n].c0;
			unsigned key, b;

			ks->first[c0] |= (guint16)(1u << n);
			if (c0 >= 'a' && c0 <= 'z')
				ks->first[c0 - 32] |= (guint16)(1u << n);
			for (b = 0; b < 32; b++) {   /* one byte long: any byte after it */
				key = ((c0 & 31u) << 5) | (kl > 1 ? ((unsigned char)w[1] & 31u) : b);
				ks->pair[key / 64] |= 1ULL << (key % 64);
			}
		}
	}
	g_assert(ks->kw[n] == NULL);
	ks->n = n;
	g_once_init_leave(&ks->once, 1);
	return ks;
}

/* any keyword of the list (case-insensitive ASCII) in text[s - before, e + after); one pass
 * over the window: the bits of a byte select the keywords that start with it */
static bool
cls_context(const char *text, size_t len, size_t s, size_t e, size_t before, size_t after,
	struct cls_kwset *list)
{
	const struct cls_kwset *ks = cls_kwset(list);
	size_t from = s > before ? s - before : 0, to = e + after < len ? e + after : len, i, k, t;

	for (i = from; i < to; i++) {
		unsigned m, key;

		if (i + 1 < to) {   /* the first two bytes can begin no keyword: next */
			key = (((unsigned char)text[i] & 31u) << 5) | ((unsigned char)text[i + 1] & 31u);
			if (!((ks->pair[key / 64] >> (key % 64)) & 1))
				continue;
		}
		m = ks->first[(unsigned char)text[i]];
		for (; m != 0; m &= m - 1) {
			const char *w;
			size_t kl;

			k = (size_t)__builtin_ctz(m);
			w = ks->k[k].w;
			kl = ks->k[k].len;
			if (i + kl > to)
				continue;
			for (t = 1; t < kl && cls_lc((unsigned char)text[i + t]) == cls_lc((unsigned char)w[t]); t++)
				;
			if (t < kl)
				continue;
			if (ks->k[k].word && i > 0 && (g_ascii_isalnum(text[i - 1]) || (unsigned char)text[i - 1] >= 0x80))
				continue;
			if (!(ks->k[k].whole && i + kl < len && g_ascii_isalpha(text[i + kl])))
				return true;
		}
	}
	return false;
}

static void
cls_hit(struct classify_result *res, enum cls_det det, const char *where, const char *text, size_t s,
	size_t e)
{
	char *masked, *w;

	if (res->findings != NULL && res->findings->len >= CLS_MAX_FINDINGS) {
		cls_add(res, cls_det_names[det], 1, NULL, NULL);   /* counted only: no texts to make */
		return;
	}
	masked = cls_mask(text + s, e - s);
	w = g_strdup_printf("%s offset %zu", where, s);
	cls_add(res, cls_det_names[det], 1, w, masked);
	g_free(w);
	g_free(masked);
}

/* ---- group chains ---- */

struct cls_group {
	size_t s, e;
	bool cell;   /* a table-cell boundary (tab) lies between this group and the one before */
	bool word;   /* three or more letters, no digit: no identifier starts with it */
	bool digit;  /* it holds a digit */
	bool digits; /* it is digits only */
};

/* length of an allowed separator at p (0 = none): blank, tab, '.', '-', NBSP */
static size_t
cls_sep_len(const char *t, size_t len, size_t p)
{
	unsigned char c = (unsigned char)t[p];

	if (c == ' ' || c == '\t' || c == '.' || c == '-')
		return 1;
	if (c == 0xC2 && p + 1 < len && (unsigned char)t[p + 1] == 0xA0)
		return 2;
	if (c == 0xE2 && p + 2 < len && (unsigned char)t[p + 1] == 0x80 && (unsigned char)t[p + 2] == 0xAF)
		return 3;
	return 0;
}

/* the bytes before p end a NBSP / narrow NBSP */
static bool
cls_nbsp_before(const char *t, size_t p)
{
	return (p >= 2 && (unsigned char)t[p - 2] == 0xC2 && (unsigned char)t[p - 1] == 0xA0) ||
		(p >= 3 && (unsigned char)t[p - 3] == 0xE2 && (unsigned char)t[p - 2] == 0x80 &&
		 (unsigned char)t[p - 1] == 0xAF);
}

static bool
cls_all_digits(const char *s, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (!g_ascii_isdigit(s[k]))
			return false;
	return true;
}

/* card grouping: one group, groups of 4 (last 1-4), or 4-6-5 / 4-6-4 */
static bool
cls_card_grouping(const struct cls_group *g, size_t i, size_t j)
{
	size_t k, n = j - i + 1;

	if (n == 1)
		return true;
	if (n == 3 && g[i].e - g[i].s == 4 && g[i + 1].e - g[i + 1].s == 6 &&
	    (g[j].e - g[j].s == 5 || g[j].e - g[j].s == 4))
		return true;
	for (k = i; k < j; k++)
		if (g[k].e - g[k].s != 4)
			return false;
	return g[j].e - g[j].s >= 1 && g[j].e - g[j].s <= 4;
}

/* phone formatting opens the digits at s: '+', '(' or ')' (also before a blank), "0151/" */
static bool
cls_phone_open(const char *text, size_t s)
{
	size_t p = s > 0 && text[s - 1] == ' ' ? s - 1 : s;

	if (p == 0)
		return false;
	return text[p - 1] == '+' || text[p - 1] == '(' || text[p - 1] == ')' ||
		(p == s && text[p - 1] == '/' && p > 1 && g_ascii_isdigit(text[p - 2]));
}

/* a German phone number starts at s: a 0, after '+', or after an area code "(030) ", "(0)", "0151/" */
static bool
cls_phone_start(const char *text, size_t s)
{
	size_t p = s > 0 && text[s - 1] == ' ' ? s - 1 : s, k;

	if (text[s] == '0' || (p > 0 && text[p - 1] == '+'))
		return true;
	if (p == 0 || (text[p - 1] != ')' && !(text[p - 1] == '/' && p == s)))
		return false;
	for (k = p - 1; k > 0 && p - k < 8 && g_ascii_isdigit(text[k - 1]); k--)
		;
	return k < p - 1 && text[k] == '0' && (text[p - 1] == '/' || (k > 0 && text[k - 1] == '('));
}

static bool
cls_phone_like(const char *text, size_t len, size_t s)
{
	return cls_phone_open(text, s) || cls_context(text, len, s, s, 25, 0, &cls_ks_phone);
}

/* groups i..j as a digit-only identifier are a whole number: no digits (or a reference glued by a
 * dash, "RE-2024-...") before it in the same cell, no phone formatting, no digits after it */
static bool
cls_whole_number(const char *text, const struct cls_group *g, size_t ng, size_t i, size_t j)
{
	if (i > 0 && !g[i].cell &&
	    (g[i - 1].digit || (g[i - 1].e + 1 == g[i].s && text[g[i - 1].e] == '-')))
		return false;
	if (cls_phone_open(text, g[i].s))
		return false;
	return j + 1 >= ng || g[j + 1].cell || !g[j + 1].digit;
}

/* an IBAN is written in one case: upper, or lower case in one group or groups of four
 * ("by 27.08.2024 the have ..." is prose, "gb82 WEST ..." a mix) */
static bool
cls_iban_case(const char *text, const struct cls_group *g, size_t i, size_t j)
{
	bool upper = false, lower = false;
	size_t k, p;

	for (k = i; k <= j; k++)
		for (p = g[k].s; p < g[k].e; p++) {
			upper = upper || g_ascii_isupper(text[p]);
			lower = lower || g_ascii_islower(text[p]);
		}
	if (!lower || i == j)
		return !(upper && lower);
	if (upper)
		return false;
	for (k = i; k < j; k++)
		if (g[k].e - g[k].s != 4)
			return false;
	return g[j].e - g[j].s <= 4;
}

/* the current year (UTC); gmtime_r once a day per thread, not per date */
static unsigned
cls_this_year(void)
{
	static _Thread_local time_t day = -1;
	static _Thread_local unsigned year;
	time_t now = time(NULL);

	if (now / 86400 != day) {
		struct tm tm;

		gmtime_r(&now, &tm);
		year = (unsigned)tm.tm_year + 1900;
		day = now / 86400;
	}
	return year;
}

static bool
cls_date_valid(unsigned d, unsigned m, unsigned y)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || y < 1900 || y > cls_this_year())
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

/* try a date d.m.yyyy starting at group i; returns groups used (0 = none) */
static size_t
cls_try_dob(const char *text, size_t len, const struct cls_group *g, size_t ng, size_t i)
{
	unsigned d, m, y;
	size_t l0, l1, l2;

	if (i + 2 >= ng)
		return 0;
	l0 = g[i].e - g[i].s;
	l1 = g[i + 1].e - g[i + 1].s;
	l2 = g[i + 2].e - g[i + 2].s;
	if (l0 < 1 || l0 > 2 || l1 < 1 || l1 > 2 || (l2 != 4 && l2 != 2))
		return 0;
	if (g[i + 1].s != g[i].e + 1 || text[g[i].e] != '.' || g[i + 2].s != g[i + 1].e + 1 ||
	    text[g[i + 1].e] != '.')
		return 0;
	if (!g_ascii_isdigit(text[g[i].s]) || !g_ascii_isdigit(text[g[i].e - 1]) ||
	    !g_ascii_isdigit(text[g[i + 1].s]) || !g_ascii_isdigit(text[g[i + 1].e - 1]))
		return 0;
	d = cls_digits(text + g[i].s, l0);   /* digits: their first and last were checked */
	m = cls_digits(text + g[i + 1].s, l1);
	if (!cls_all_digits(text + g[i + 2].s, l2))
		return 0;
	y = cls_digits(text + g[i + 2].s, l2);
	if (l2 == 2)
		y += 1900;
	if (!cls_date_valid(d, m, y) || !cls_context(text, len, g[i].s, g[i].s, 30, 0, &cls_ks_dob))
		return 0;
	return 3;
}

/* the identifier groups i..j are, joined into buf (bl characters, upper case); CLS_DET_N = none.
 * crossed: a cell boundary lies between the groups (only an IBAN continues into the next cell) */
static enum cls_det
cls_identify(const char *text, size_t len, const struct cls_group *g, size_t ng, size_t i, size_t j,
	const char *buf, size_t bl, bool crossed)
{
	size_t s = g[i].s, e = g[j].e;
	bool split = j > i;

	if (bl >= 15 && g_ascii_isalpha(buf[0]) && cls_iban_valid(buf) && cls_iban_case(text, g, i, j))
		return CLS_DET_IBAN;
	if (crossed)
		return CLS_DET_N;
	if (bl == 12 && cls_rvnr_valid(buf))
		return CLS_DET_RVNR;
	if (bl == 11 && cls_steuer_id_valid(buf) && cls_whole_number(text, g, ng, i, j) &&
	    (split ? cls_context(text, len, s, e, 300, 300, &cls_ks_steuer) : !cls_phone_like(text, len, s)))
		return CLS_DET_STEUER_ID;
	if (bl == 10 && cls_kvnr_valid(buf) && cls_context(text, len, s, e, 300, 300, &cls_ks_kvnr))
		return CLS_DET_KVNR;
	if (((bl == 10 && cls_id_doc_valid(buf)) || (bl == 9 && cls_id_doc_shape(buf))) &&
	    cls_context(text, len, s, e, 300, 100, &cls_ks_id))
		return CLS_DET_ID_DOC;
	if (bl >= 12 && cls_card_grouping(g, i, j) && cls_card_valid(buf) &&
	    cls_whole_number(text, g, ng, i, j) && !cls_phone_like(text, len, s))
		return CLS_DET_CARD;
	return CLS_DET_N;
}

/* can buf (bl characters, upper case) grow into an identifier? Past 19 characters only an IBAN
 * (letter, letter, digit, digit ...) can; past 12 only an IBAN or a card number (digits) */
static bool
cls_may_grow(const char *buf, size_t bl)
{
	size_t k;

	if (bl < 4 || (g_ascii_isupper(buf[0]) && g_ascii_isupper(buf[1]) && g_ascii_isdigit(buf[2]) &&
		       g_ascii_isdigit(buf[3])))
		return true;
	if (bl > 19)
		return false;
	if (bl > 12)
		for (k = 0; k < bl; k++)
			if (!g_ascii_isdigit(buf[k]))
				return false;
	return true;
}

/* an identifier starting at group i, groups joined one by one up to 34 characters: the first
 * match is a finding (RVNR, Steuer-IdNr and KVNR are strong); returns the groups used (0 = none) */
static size_t
cls_identifier(const char *where, const char *text, size_t len, const struct cls_group *g, size_t ng,
	size_t i, bool *strong, struct classify_result *res)
{
	char buf[40];
	size_t bl = 0, j, k;
	bool crossed = false;

	for (j = i; j < ng; j++) {
		size_t gl = g[j].e - g[j].s;
		enum cls_det det;

		if (bl + gl > 34)
			break;
		if (j > i && g[j].cell)
			crossed = true;   /* only an IBAN continues into the next cell */
		if (g[j].digits)   /* nothing to upper-case */
			memcpy(buf + bl, text + g[j].s, gl);
		else
			for (k = 0; k < gl; k++)
				buf[bl + k] = (char)cls_uc((unsigned char)text[g[j].s + k]);
		bl += gl;
		buf[bl] = '\0';
		/* no identifier is shorter than 9 characters */
		det = bl < 9 ? CLS_DET_N : cls_identify(text, len, g, ng, i, j, buf, bl, crossed);
		if (det == CLS_DET_N) {
			if (!cls_may_grow(buf, bl))
				break;
			continue;
		}
		cls_hit(res, det, where, text, g[i].s, g[j].e);
		if (det == CLS_DET_RVNR || det == CLS_DET_STEUER_ID || det == CLS_DET_KVNR)
			*strong = true;
		return j - i + 1;
	}
	return 0;
}

/* a German phone number starting at group i: digit groups only, 7..14 digits in total;
 * returns the groups used (0 = none) */
static size_t
cls_phone(const char *where, const char *text, size_t len, const struct cls_group *g, size_t ng, size_t i,
	struct classify_result *res)
{
	size_t digits = 0, j;

	if (!g_ascii_isdigit(text[g[i].s]))
		return 0;
	for (j = i; j < ng; j++) {
		if (j > i && (g[j].cell || text[g[j].s - 1] == '.'))
			break;   /* next cell; dates and amounts are joined by dots */
		if (!g[j].digits)
			break;
		digits += g[j].e - g[j].s;
	}
	/* the context last: it reads up to 25 bytes, the other tests a few */
	if (j > i && digits >= 7 && digits <= 14 && cls_phone_start(text, g[i].s) &&
	    cls_phone_like(text, len, g[i].s)) {
		cls_hit(res, CLS_DET_PHONE, where, text, g[i].s, g[j - 1].e);
		return j - i;
	}
	return 0;
}

/* an identifier starting at group i can hold a digit: groups i.. up to the first with a digit
 * fit into cls_identifier's 34 characters (every finding holds a digit) */
static bool
cls_reaches_digit(const struct cls_group *g, size_t ng, size_t i)
{
	size_t n = 0;

	for (; i < ng; i++) {
		n += g[i].e - g[i].s;
		if (n > 34)
			return false;
		if (g[i].digit)
			return true;
	}
	return false;
}

/* detectors on one chain of groups g[0..ng): at each group a date of birth, an identifier or a
 * phone number, else the next group */
static void
cls_chain(const char *where, const char *text, size_t len, const struct cls_group *g, size_t ng,
	bool *strong, struct classify_result *res)
{
	size_t i = 0, used;

	while (i < ng) {
		/* words start nothing; a date or phone number starts with a digit */
		if (g[i].word || (!g[i].digit && !cls_reaches_digit(g, ng, i))) {
			i++;
			continue;
		}
		used = cls_try_dob(text, len, g, ng, i);
		if (used > 0) {
			cls_hit(res, CLS_DET_DOB, where, text, g[i].s, g[i + 2].e);
			i += used;
			continue;
		}
		used = cls_identifier(where, text, len, g, ng, i, strong, res);
		if (used == 0)
			used = cls_phone(where, text, len, g, ng, i, res);
		i += used > 0 ? used : 1;
	}
}

static void
cls_emails(const char *where, const char *text, size_t len, struct classify_result *res)
{
	size_t i;

	for (i = 1; i + 1 < len; i++) {
		const char *at = memchr(text + i, '@', len - 1 - i);   /* the next '@' before the last byte */
		size_t s, e, dot = 0;

		if (at == NULL)
			break;
		i = (size_t)(at - text);
		s = i;
		e = i + 1;
		while (s > 0 && (g_ascii_isalnum(text[s - 1]) || strchr("._%+-", text[s - 1]) != NULL))
			s--;
		while (e < len && (g_ascii_isalnum(text[e]) || text[e] == '.' || text[e] == '-')) {
			if (text[e] == '.')
				dot = e;
			e++;
		}
		while (e > i + 1 && text[e - 1] == '.')
			e--;
		if (s == i || dot == 0 || dot >= e || e - dot < 3 || !g_ascii_isalpha(text[e - 1]))
			continue;
		{
			char *w = g_strdup_printf("%s offset %zu", where, s);
			char *m = g_strdup_printf("%c***@%.*s", text[s], (int)(e - i - 1), text + i + 1);

			cls_add(res, "email", 1, w, m);
			g_free(w);
			g_free(m);
		}
		i = e;
	}
}

/* where to go on from i when the chain at hand has no digit: after the last chain break before
 * the next digit, len when there is no digit; i when there is no break before it
 * (classify_prefilter.c). *look_at: the byte after that digit (no need to look again before) */
static size_t
cls_skip_to(const char *text, size_t len, size_t i, size_t *look_at)
{
	size_t digit = cls_next_digit(text, i, len), brk;

	*look_at = digit + 1;
	if (digit == len)
		return len;
	brk = cls_last_break(text, i, digit);
	return brk != (size_t)-1 ? brk + 1 : i;
}

static void
cls_detect_text(const struct classify_ctx *ctx, const char *where, const char *text, size_t len, bool utf8,
	struct classify_result *res)
{
	size_t ng = 0, cap = 64, i = 0;   /* the chain of groups at hand: g[0..ng) */
	size_t look_at = 0;               /* once i is here, look for the next digit again */
	struct cls_group *groups = g_new(struct cls_group, cap);
	bool strong = false, chain_digit = false;

	while (i < len) {
		struct cls_group g;

		/* a chain without a digit finds nothing: skip it (no digit at all: done) */
		if (!chain_digit && i >= look_at) {
			size_t to = cls_skip_to(text, len, i, &look_at);

			if (to != i) {
				ng = 0;
				i = to;
				continue;
			}
		}
		if (!g_ascii_isalnum(text[i])) {
			i++;
			continue;
		}
		g.s = i;
		i = cls_alnum_run(text, i, len, &g.digit, &g.digits);
		g.e = i;
		g.cell = false;
		g.word = g.e - g.s >= 3 && !g.digit;   /* ASCII alnum without digit: letters */
		/* a group glued to a non-ASCII letter (ü, ß ...) is part of a word */
		if ((g.s > 0 && (unsigned char)text[g.s - 1] >= 0x80 && !cls_nbsp_before(text, g.s)) ||
		    (g.e < len && (unsigned char)text[g.e] >= 0x80 && cls_sep_len(text, len, g.e) == 0)) {
			if (chain_digit)
				cls_chain(where, text, len, groups, ng, &strong, res);
			ng = 0;
			chain_digit = false;
			continue;
		}
		if (ng > 0) {
			const struct cls_group *prev = &groups[ng - 1];
			size_t p = prev->e, seps = 0, punct = 0, tabs = 0;

			while (p < g.s && seps < 3) {
				size_t sl = cls_sep_len(text, len, p);

				if (sl == 0)
					break;
				punct += text[p] == '.' || text[p] == '-';
				tabs += text[p] == '\t';
				p += sl;
				seps++;
			}
			g.cell = tabs > 0;
			/* blanks and tabs, or one dot or dash alone ("nach. Payment" ends a number) */
			if (p != g.s || (punct > 0 && seps > 1)) {
				if (chain_digit)
					cls_chain(where, text, len, groups, ng, &strong, res);
				ng = 0;
				chain_digit = false;
			}
		}
		if (ng == cap) {
			cap *= 2;
			groups = g_renew(struct cls_group, groups, cap);
		}
		groups[ng++] = g;
		chain_digit = chain_digit || g.digit;
	}
	if (ng > 0 && chain_digit)
		cls_chain(where, text, len, groups, ng, &strong, res);
	g_free(groups);
	cls_emails(where, text, len, res);
	cls_art9(ctx, where, text, len, strong, utf8, res);
}

void
cls_detect(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	struct classify_result *res)
{
	cls_detect_text(ctx, where, text, len, false, res);
}

void
cls_detect_utf8(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	struct classify_result *res)
{
	cls_detect_text(ctx, where, text, len, true, res);
}
