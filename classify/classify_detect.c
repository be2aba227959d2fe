/*
 * classify_detect.c - content detectors on UTF-8 text (standards.md §2):
 * IBAN (mod 97, all registry lengths), Steuer-IdNr (ISO 7064 MOD 11,10 +
 * repetition rule), RVNR, KVNR, ID card/passport (ICAO 7-3-1), payment
 * cards (IIN + length + Luhn), context-gated e-mail/phone/date-of-birth
 * counts, GDPR Art. 9 keyword dictionaries and VS markings.
 * Numbers are found across blanks, dots, dashes and tabs (Word runs and table
 * cells are joined that way by the extractors); a candidate must start and
 * end on a boundary of alphanumeric groups, so sequences inside longer runs
 * never match. Findings carry masked values only.
 * Memory: temporary only. Thread-safe (no shared state).
 */
#include "classify_int.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const cls_det_names[CLS_DET_N] = {
	"iban", "steuer-id", "rvnr", "kvnr", "id-document", "card", "email", "phone", "dob", "art9",
};

/* IBAN total lengths per country (SWIFT registry via python-stdnum iban.dat) */
static const struct { char cc[3]; unsigned char len; bool digits; } cls_iban_len[] = {
	{ "AD", 24, 0 }, { "AE", 23, 1 }, { "AL", 28, 0 }, { "AT", 20, 1 }, { "AZ", 28, 0 }, { "BA", 20, 1 },
	{ "BE", 16, 1 }, { "BG", 22, 0 }, { "BH", 22, 0 }, { "BI", 27, 1 }, { "BR", 29, 0 }, { "BY", 28, 0 },
	{ "CH", 21, 0 }, { "CR", 22, 1 }, { "CY", 28, 0 }, { "CZ", 24, 1 }, { "DE", 22, 1 }, { "DJ", 27, 1 },
	{ "DK", 18, 1 }, { "DO", 28, 0 }, { "EE", 20, 1 }, { "EG", 29, 1 }, { "ES", 24, 1 }, { "FI", 18, 1 },
	{ "FK", 18, 0 }, { "FO", 18, 1 }, { "FR", 27, 0 }, { "GB", 22, 0 }, { "GE", 22, 0 }, { "GI", 23, 0 },
	{ "GL", 18, 1 }, { "GR", 27, 0 }, { "GT", 28, 0 }, { "HR", 21, 1 }, { "HU", 28, 1 }, { "IE", 22, 0 },
	{ "IL", 23, 1 }, { "IQ", 23, 0 }, { "IS", 26, 1 }, { "IT", 27, 0 }, { "JO", 30, 0 }, { "KW", 30, 0 },
	{ "KZ", 20, 0 }, { "LB", 28, 0 }, { "LC", 32, 0 }, { "LI", 21, 0 }, { "LT", 20, 1 }, { "LU", 20, 0 },
	{ "LV", 21, 0 }, { "LY", 25, 1 }, { "MC", 27, 0 }, { "MD", 24, 0 }, { "ME", 22, 1 }, { "MK", 19, 0 },
	{ "MN", 20, 1 }, { "MR", 27, 1 }, { "MT", 31, 0 }, { "MU", 30, 0 }, { "NI", 28, 0 }, { "NL", 18, 0 },
	{ "NO", 15, 1 }, { "OM", 23, 0 }, { "PK", 24, 0 }, { "PL", 28, 1 }, { "PS", 29, 0 }, { "PT", 25, 1 },
	{ "QA", 29, 0 }, { "RO", 24, 0 }, { "RS", 22, 1 }, { "RU", 33, 0 }, { "SA", 24, 0 }, { "SC", 31, 0 },
	{ "SD", 18, 1 }, { "SE", 24, 1 }, { "SI", 19, 1 }, { "SK", 24, 1 }, { "SM", 27, 0 }, { "SO", 23, 1 },
	{ "ST", 25, 1 }, { "SV", 28, 0 }, { "TL", 23, 1 }, { "TN", 24, 1 }, { "TR", 26, 0 }, { "UA", 29, 0 },
	{ "VA", 22, 1 }, { "VG", 24, 0 }, { "XK", 20, 1 },
};

bool
cls_iban_valid(const char *s)
{
	size_t n = strlen(s), i, k;
	unsigned rem = 0;
	int want = -1;
	bool digits = false;

	if (n < 15 || n > 34 || !g_ascii_isupper(s[0]) || !g_ascii_isupper(s[1]) ||
	    !g_ascii_isdigit(s[2]) || !g_ascii_isdigit(s[3]))
		return false;
	for (k = 0; k < G_N_ELEMENTS(cls_iban_len); k++)
		if (s[0] == cls_iban_len[k].cc[0] && s[1] == cls_iban_len[k].cc[1]) {
			want = cls_iban_len[k].len;
			digits = cls_iban_len[k].digits;
		}
	if (want < 0 || (size_t)want != n)
		return false;
	for (i = 4; i < n; i++) {
		if (!g_ascii_isdigit(s[i]) && !g_ascii_isupper(s[i]))
			return false;
		if (digits && !g_ascii_isdigit(s[i]))
			return false;
	}
	for (k = 0; k < n; k++) {
		char c = s[(k + 4) % n];

		if (g_ascii_isdigit(c))
			rem = (rem * 10 + (unsigned)(c - '0')) % 97;
		else
			rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
	}
	return rem == 1;
}

bool
cls_steuer_id_valid(const char *s)
{
	int counts[10] = { 0 }, produkt = 10, i, doubles = 0, triples = 0, pz;

	if (strlen(s) != 11 || s[0] == '0')
		return false;
	for (i = 0; i < 11; i++)
		if (!g_ascii_isdigit(s[i]))
			return false;
	for (i = 0; i < 10; i++) {
		int summe = (s[i] - '0' + produkt) % 10;

		if (summe == 0)
			summe = 10;
		produkt = (2 * summe) % 11;
		counts[s[i] - '0']++;
	}
	pz = 11 - produkt;
	if (pz == 10)
		pz = 0;
	if (pz != s[10] - '0')
		return false;
	/* repetition rule (apache commons-validator TidDECheckDigit) */
	for (i = 0; i < 10; i++) {
		if (counts[i] == 2)
			doubles++;
		else if (counts[i] == 3)
			triples++;
		else if (counts[i] > 3)
			return false;
	}
	if ((doubles == 0 && triples == 0) || doubles > 1 || triples > 1)
		return false;
	for (i = 0; i + 2 < 10; i++)
		if (s[i] == s[i + 1] && s[i] == s[i + 2])
			return false;
	return true;
}

static unsigned
cls_quersumme(unsigned v)
{
	return v / 10 + v % 10;
}

bool
cls_rvnr_valid(const char *s)
{
	static const unsigned w[12] = { 2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1 };
	char eff[12];
	unsigned sum = 0, day, month, letter;
	int i;

	if (strlen(s) != 12)
		return false;
	for (i = 0; i < 12; i++)
		if (i == 8 ? !g_ascii_isupper(s[i]) : !g_ascii_isdigit(s[i]))
			return false;
	day = (unsigned)((s[2] - '0') * 10 + (s[3] - '0'));
	month = (unsigned)((s[4] - '0') * 10 + (s[5] - '0'));
	if (day > 50)
		day -= 50;
	if (day < 1 || day > 31 || month < 1 || month > 12)
		return false;
	letter = (unsigned)(s[8] - 'A' + 1);
	memcpy(eff, s, 8);
	eff[8] = (char)('0' + letter / 10);
	eff[9] = (char)('0' + letter % 10);
	eff[10] = s[9];
	eff[11] = s[10];
	for (i = 0; i < 12; i++)
		sum += cls_quersumme((unsigned)(eff[i] - '0') * w[i]);
	return sum % 10 == (unsigned)(s[11] - '0');
}

bool
cls_kvnr_valid(const char *s)
{
	char eff[10];
	unsigned letter, sum = 0;
	int i;

	if (strlen(s) != 10 || !g_ascii_isupper(s[0]))
		return false;
	for (i = 1; i < 10; i++)
		if (!g_ascii_isdigit(s[i]))
			return false;
	letter = (unsigned)(s[0] - 'A' + 1);
	eff[0] = (char)('0' + letter / 10);
	eff[1] = (char)('0' + letter % 10);
	memcpy(eff + 2, s + 1, 8);
	for (i = 0; i < 10; i++)
		sum += cls_quersumme((unsigned)(eff[i] - '0') * (i % 2 == 0 ? 1u : 2u));
	return sum % 10 == (unsigned)(s[9] - '0');
}

int
cls_icao_check(const char *s, size_t n)
{
	static const int w[3] = { 7, 3, 1 };
	int sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int v;

		if (g_ascii_isdigit(s[i]))
			v = s[i] - '0';
		else if (g_ascii_isupper(s[i]))
			v = s[i] - 'A' + 10;
		else if (s[i] == '<')
			v = 0;
		else
			return -1;
		sum += v * w[i % 3];
	}
	return sum % 10;
}

/* the nine printed characters of a German ID card or passport number */
static bool
cls_id_doc_shape(const char *s)
{
	static const char first[] = "LMNPRTVWXYCFGHJK";
	static const char rest[] = "CFGHJKLMNPRTVWXYZ0123456789";
	int i, digits = 0;

	if (strchr(first, s[0]) == NULL)
		return false;
	for (i = 1; i < 9; i++) {
		if (s[i] == '\0' || strchr(rest, s[i]) == NULL)
			return false;
		digits += g_ascii_isdigit(s[i]) ? 1 : 0;
	}
	return digits >= 2;
}

bool
cls_id_doc_valid(const char *s)
{
	return strlen(s) == 10 && cls_id_doc_shape(s) && g_ascii_isdigit(s[9]) &&
		cls_icao_check(s, 9) == s[9] - '0';
}

static bool
cls_luhn(const char *s, size_t n)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[n - 1 - i] - '0');

		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

static unsigned
cls_prefix(const char *s, int n)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

bool
cls_card_valid(const char *s)
{
	size_t n = strlen(s), i;
	unsigned p1, p2, p3, p4, p6;
	bool iin = false;

	if (n < 12 || n > 19)
		return false;
	for (i = 0; i < n; i++)
		if (!g_ascii_isdigit(s[i]))
			return false;
	p1 = cls_prefix(s, 1);
	p2 = cls_prefix(s, 2);
	p3 = cls_prefix(s, 3);
	p4 = cls_prefix(s, 4);
	p6 = cls_prefix(s, 6);
	if (p1 == 4 && (n == 16 || n == 18 || n == 19))
		iin = true;                                        /* Visa */
	else if (((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) && n == 16)
		iin = true;                                        /* Mastercard */
	else if ((p2 == 34 || p2 == 37) && n == 15)
		iin = true;                                        /* Amex */
	else if (((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) &&
		 (n == 14 || n == 16 || n == 19))
		iin = true;                                        /* Diners */
	else if ((p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65) && (n == 16 || n == 19))
		iin = true;                                        /* Discover */
	else if ((p4 == 2131 || p4 == 1800 || (p4 >= 3528 && p4 <= 3589)) && n >= 16)
		iin = true;                                        /* JCB */
	else if (p2 == 62 && n >= 14)
		iin = true;                                        /* UnionPay */
	else if ((p6 == 493698 || (p6 >= 500000 && p6 <= 508999 && p6 != 504175) ||
		  (p2 >= 56 && p2 <= 59) || p2 == 63 || p2 == 67) && n >= 12)
		iin = true;                                        /* Maestro */
	return iin && cls_luhn(s, n);
}

/* cls_mask - keep separators and the first/last 4 (16+), 2 (10+) or 1 alphanumerics */
char *
cls_mask(const char *s, size_t n)
{
	GString *out = g_string_sized_new(n + 1);
	size_t i, alnum = 0, seen = 0, keep;

	for (i = 0; i < n; i++)
		alnum += g_ascii_isalnum(s[i]) ? 1 : 0;
	keep = alnum >= 16 ? 4 : alnum >= 10 ? 2 : 1;
	for (i = 0; i < n; i++) {
		if (!g_ascii_isalnum(s[i])) {
			g_string_append_c(out, (unsigned char)s[i] < 0x80 && s[i] != '\t' && s[i] != '\n' ? s[i] : ' ');
			continue;
		}
		seen++;
		g_string_append_c(out, seen <= keep || seen + keep > alnum ? s[i] : '*');
	}
	return g_string_free(out, FALSE);
}

/* ---- context keywords ---- */

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
	"tel", "fon", "mobil", "handy", "fax", "phone", "ruf", NULL,
};
static const char *const cls_kw_dob[] = {
	"geb.", "geboren", "geburtsdatum", "geburtstag", "date of birth", "dob", "born", "birth", "*", NULL,
};

/* ASCII lower case without a call (g_ascii_tolower is a function) */
static inline unsigned char
cls_lc(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ASCII upper case without a call */
static inline unsigned char
cls_uc(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

/* any keyword of kw (case-insensitive ASCII) in text[s - before, e + after); one pass over
 * the window: a bit per first byte selects the keywords to compare */
static bool
cls_context(const char *text, size_t len, size_t s, size_t e, size_t before, size_t after,
	const char *const *kw)
{
	size_t from = s > before ? s - before : 0, to = e + after < len ? e + after : len, i, k, t;
	guint32 first[8] = { 0 };

	for (k = 0; kw[k] != NULL; k++) {
		unsigned char c = cls_lc((unsigned char)kw[k][0]);

		first[c >> 5] |= 1u << (c & 31);
	}
	for (i = from; i < to; i++) {
		unsigned char c = cls_lc((unsigned char)text[i]);

		if (!(first[c >> 5] & (1u << (c & 31))))
			continue;
		for (k = 0; kw[k] != NULL; k++) {
			const char *w = kw[k];

			if (w[0] == '\0' || cls_lc((unsigned char)w[0]) != c)
				continue;
			for (t = 1; w[t] != '\0' && i + t < to &&
			     cls_lc((unsigned char)text[i + t]) == cls_lc((unsigned char)w[t]); t++)
				;
			if (w[t] == '\0')
				return true;
		}
	}
	return false;
}

static void
cls_hit(struct classify_result *res, enum cls_det det, const char *where, const char *text, size_t s,
	size_t e)
{
	char *masked = cls_mask(text + s, e - s);
	char *w = g_strdup_printf("%s offset %zu", where, s);

	cls_add(res, cls_det_names[det], 1, w, masked);
	g_free(w);
	g_free(masked);
}

/* ---- group chains ---- */

struct cls_group {
	size_t s, e;
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
cls_all_digits(const char *s)
{
	for (; *s; s++)
		if (!g_ascii_isdigit(*s))
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

static bool
cls_phone_like(const char *text, size_t len, size_t s)
{
	return (s > 0 && text[s - 1] == '+') || (s > 1 && text[s - 1] == '(') ||
		cls_context(text, len, s, s, 25, 0, cls_kw_phone);
}

static bool
cls_date_valid(unsigned d, unsigned m, unsigned y)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || y < 1900 || y > (unsigned)tm.tm_year + 1900)
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
	{
		char *ds = g_strndup(text + g[i].s, l0), *ms = g_strndup(text + g[i + 1].s, l1);
		char *ys = g_strndup(text + g[i + 2].s, l2);
		bool ok = cls_all_digits(ys);

		d = (unsigned)atoi(ds);
		m = (unsigned)atoi(ms);
		y = (unsigned)atoi(ys);
		g_free(ds);
		g_free(ms);
		g_free(ys);
		if (!ok)
			return 0;
	}
	if (l2 == 2)
		y += 1900;
	if (!cls_date_valid(d, m, y) || !cls_context(text, len, g[i].s, g[i].s, 30, 0, cls_kw_dob))
		return 0;
	return 3;
}

/* detectors on one chain of groups g[0..ng) */
static void
cls_chain(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	const struct cls_group *g, size_t ng, bool *strong, struct classify_result *res)
{
	char buf[40];
	size_t i = 0, j;
	/* a chain opened by '+' or '(' is a phone number: no digit-only identifiers */
	bool phone_chain = g[0].s > 0 && (text[g[0].s - 1] == '+' || text[g[0].s - 1] == '(');

	(void)ctx;
	while (i < ng) {
		size_t used = 0, bl = 0;

		/* no identifier starts with a word of three or more letters */
		if (g[i].e - g[i].s >= 3) {
			size_t k;

			for (k = g[i].s; k < g[i].e && g_ascii_isalpha(text[k]); k++)
				;
			if (k == g[i].e) {
				i++;
				continue;
			}
		}
		used = cls_try_dob(text, len, g, ng, i);
		if (used > 0) {
			cls_hit(res, CLS_DET_DOB, where, text, g[i].s, g[i + 2].e);
			i += used;
			continue;
		}
		for (j = i; j < ng && used == 0; j++) {
			size_t gl = g[j].e - g[j].s, k;
			size_t s = g[i].s, e = g[j].e;
			bool split = j > i;

			if (bl + gl > 34)
				break;
			for (k = 0; k < gl; k++)
				buf[bl + k] = (char)cls_uc((unsigned char)text[g[j].s + k]);
			bl += gl;
			buf[bl] = '\0';
			if (bl >= 15 && g_ascii_isalpha(buf[0]) && cls_iban_valid(buf)) {
				cls_hit(res, CLS_DET_IBAN, where, text, s, e);
				used = j - i + 1;
			} else if (bl == 12 && cls_rvnr_valid(buf)) {
				cls_hit(res, CLS_DET_RVNR, where, text, s, e);
				*strong = true;
				used = j - i + 1;
			} else if (bl == 11 && cls_steuer_id_valid(buf) &&
				   (split ? cls_context(text, len, s, e, 300, 300, cls_kw_steuer) :
					    !phone_chain && !cls_phone_like(text, len, s))) {
				cls_hit(res, CLS_DET_STEUER_ID, where, text, s, e);
				*strong = true;
				used = j - i + 1;
			} else if (bl == 10 && cls_kvnr_valid(buf) &&
				   cls_context(text, len, s, e, 300, 300, cls_kw_kvnr)) {
				cls_hit(res, CLS_DET_KVNR, where, text, s, e);
				*strong = true;
				used = j - i + 1;
			} else if (((bl == 10 && cls_id_doc_valid(buf)) || (bl == 9 && cls_id_doc_shape(buf))) &&
				   cls_context(text, len, s, e, 300, 100, cls_kw_id)) {
				cls_hit(res, CLS_DET_ID_DOC, where, text, s, e);
				used = j - i + 1;
			} else if (bl >= 12 && cls_card_grouping(g, i, j) && cls_card_valid(buf) &&
				   (j + 1 >= ng || !g_ascii_isdigit(text[g[j + 1].s]) || bl == 19) &&
				   !phone_chain && !cls_phone_like(text, len, s)) {
				cls_hit(res, CLS_DET_CARD, where, text, s, e);
				used = j - i + 1;
			}
		}
		if (used == 0 && g_ascii_isdigit(text[g[i].s]) && cls_phone_like(text, len, g[i].s)) {
			/* a German phone number: digit groups only, 7..14 digits in total */
			size_t digits = 0, k;

			for (j = i; j < ng; j++) {
				bool alldig = true;

				for (k = g[j].s; k < g[j].e; k++)
					alldig = alldig && g_ascii_isdigit(text[k]);
				if (!alldig)
					break;
				digits += g[j].e - g[j].s;
			}
			if (j > i && digits >= 7 && digits <= 14 &&
			    (text[g[i].s] == '0' || (g[i].s > 0 && text[g[i].s - 1] == '+'))) {
				cls_hit(res, CLS_DET_PHONE, where, text, g[i].s, g[j - 1].e);
				used = j - i;
			}
		}
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

/* ---- GDPR Art. 9 dictionaries (lower case; '*' = prefix) ---- */

struct cls_art9 {
	const char *category;
	const char *const *terms;
};

static const char *const cls_t_health[] = {
	"diagnose*", "befund*", "arztbrief*", "krankschreibung*", "au-bescheinigung*", "arbeitsunfähigkeit*",
	"schwerbehinder*", "gdb", "therapie*", "medikation*", "pflegegrad*", "erkrankung*", "krankheit*",
	"chemotherapie*", "psychotherap*", "depression*", "klinik*", "icd-10*", "behandlung*",
	"diagnosis", "diagnosed", "medical record*", "sick note", "sick leave", "disability", "therapy",
	"medication", "illness", "chronic", "cancer", "hiv", "krebs*", "treatment", "patient*", NULL,
};
static const char *const cls_t_religion[] = {
	"konfession*", "kirchensteuer*", "römisch-katholisch*", "evangelisch*", "kirchenaustritt*",
	"religionszugehörigkeit*", "religion*", "muslim*", "jüdisch*", "katholisch*", "religious",
	"denomination", "church tax", "catholic", "protestant", "jewish", "islam*", NULL,
};
static const char *const cls_t_union[] = {
	"gewerkschaft*", "ver.di", "gew", "dbb", "ig metall", "mitgliedsbeitrag*", "trade union*",
	"union membership", "union dues", "labour union", "labor union", "union member*", NULL,
};
static const char *const cls_t_politics[] = {
	"parteimitglied*", "parteizugehörigkeit*", "parteibuch", "politische gesinnung", "politische meinung",
	"partei*", "political opinion*", "party membership", "political affiliation", "party member*", NULL,
};
static const char *const cls_t_ethnic[] = {
	"herkunft", "ethnisch*", "migrationshintergrund", "abstammung", "hautfarbe", "ethnic*", "racial",
	"race", "ancestry", NULL,
};
static const char *const cls_t_biometric[] = {
	"fingerabdr*", "biometrisch*", "gesichtsbild*", "gesichtserkennung", "iris-scan*", "fingerprint*",
	"biometric*", "facial recognition", "retina*", NULL,
};
static const char *const cls_t_genetic[] = {
	"gentest*", "dna-analyse*", "genetisch*", "erbkrank*", "genanalyse*", "genetic*", "dna test*",
	"genome", NULL,
};
static const char *const cls_t_sexual[] = {
	"sexuelle orientierung", "sexualleben", "homosexuell*", "bisexuell*", "transgender", "transsexuell*",
	"sexual orientation", "sex life", "gay", "lesbian", "lesbisch", "schwul", NULL,
};

static const struct cls_art9 cls_art9_dict[] = {
	{ "health", cls_t_health }, { "religion", cls_t_religion }, { "union", cls_t_union },
	{ "politics", cls_t_politics }, { "ethnicity", cls_t_ethnic }, { "biometrics", cls_t_biometric },
	{ "genetics", cls_t_genetic }, { "sexual", cls_t_sexual },
};

#define CLS_ART9_WINDOW 300
#define CLS_ART9_MAXHITS 4096

struct cls_term_hit {
	size_t pos;
	unsigned term, cat;
};

static inline bool
cls_word_char(unsigned char c)
{
	return c >= 0x80 || (unsigned char)((c | 0x20) - 'a') < 26 || (unsigned char)(c - '0') < 10;
}

/* index of all dictionary terms by first byte, built once (thread-safe) */
struct cls_term_ref {
	unsigned char cat, term, len;
	bool prefix;
};

static struct cls_term_ref cls_refs[512];
static unsigned short cls_ref_start[257];
static guint32 cls_ref_second[256][8];   /* bit per second byte of the terms of a first byte */

static void
cls_terms_index(void)
{
	static gsize once = 0;

	if (g_once_init_enter(&once)) {
		unsigned b, n = 0, c, t;

		for (b = 0; b < 256; b++) {
			cls_ref_start[b] = (unsigned short)n;
			for (c = 0; c < G_N_ELEMENTS(cls_art9_dict); c++)
				for (t = 0; cls_art9_dict[c].terms[t] != NULL; t++) {
					const char *term = cls_art9_dict[c].terms[t];
					size_t tl = strlen(term);

					if ((unsigned char)term[0] != b || n >= G_N_ELEMENTS(cls_refs))
						continue;
					cls_refs[n].cat = (unsigned char)c;
					cls_refs[n].term = (unsigned char)t;
					cls_refs[n].prefix = term[tl - 1] == '*';
					cls_refs[n].len = (unsigned char)(cls_refs[n].prefix ? tl - 1 : tl);
					if (cls_refs[n].len < 2)
						memset(cls_ref_second[b], 0xff, sizeof cls_ref_second[b]);
					else
						cls_ref_second[b][(unsigned char)term[1] >> 5] |= 1u << ((unsigned char)term[1] & 31);
					n++;
				}
		}
		cls_ref_start[256] = (unsigned short)n;
		g_once_init_leave(&once, 1);
	}
}

/* lower-cased text: terms of all categories at word starts, one pass */
static size_t
cls_find_terms(const char *low, size_t len, struct cls_term_hit *hits, size_t max)
{
	size_t n = 0, i, next;
	unsigned r;

	cls_terms_index();
	for (i = 0; i < len && n < max; i = next) {
		unsigned char b = (unsigned char)low[i];
		unsigned char done = 0;   /* bit per category: one hit per word and category */

		next = i + 1;
		if (cls_word_char(b))   /* no term starts inside a word: go on after it */
			while (next < len && cls_word_char((unsigned char)low[next]))
				next++;
		if (cls_ref_start[b] == cls_ref_start[b + 1])
			continue;
		if (i > 0 && cls_word_char((unsigned char)low[i - 1]))
			continue;
		if (i + 1 < len && !(cls_ref_second[b][(unsigned char)low[i + 1] >> 5] &
				     (1u << ((unsigned char)low[i + 1] & 31))))
			continue;
		for (r = cls_ref_start[b]; r < cls_ref_start[b + 1] && n < max; r++) {
			const struct cls_term_ref *ref = &cls_refs[r];
			const char *term = cls_art9_dict[ref->cat].terms[ref->term];

			if (done & (1u << ref->cat))
				continue;
			if (i + ref->len > len || (ref->len > 1 && low[i + 1] != term[1]) ||
			    memcmp(low + i, term, ref->len) != 0)
				continue;
			if (!ref->prefix && i + ref->len < len && cls_word_char((unsigned char)low[i + ref->len]))
				continue;
			hits[n].pos = i;
			hits[n].term = ref->term;
			hits[n].cat = ref->cat;
			n++;
			done |= (unsigned char)(1u << ref->cat);
		}
	}
	return n;
}

/*
 * cls_strdown - the bytes of g_utf8_strdown(text, len) for valid UTF-8 without NUL, in one
 * pass without a call per character: ASCII and the Latin-1 letters inline, other characters
 * through glib only when they are upper or title case (per character: glib's only context rule
 * outside Turkic/Lithuanian locales is the Greek capital sigma, final unless a letter follows;
 * in those locales the whole text goes through glib). g_free.
 */
char *
cls_strdown(const char *text, size_t len, size_t *out_len)
{
	const char *loc = setlocale(LC_CTYPE, NULL);
	size_t cap = len + 64, o = 0, i = 0;   /* invariant: cap > o + (len - i) */
	char *out;

	if (loc != NULL && ((loc[0] == 'a' && loc[1] == 'z') || (loc[0] == 'l' && loc[1] == 't') ||
			    (loc[0] == 't' && loc[1] == 'r'))) {
		out = g_utf8_strdown(text, (gssize)len);
		*out_len = strlen(out);
		return out;
	}
	out = g_malloc(cap);
	while (i < len) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x80) {
			out[o++] = (char)cls_lc(c);
			i++;
		} else if (c == 0xC3 && i + 1 < len) {   /* U+00C0..U+00FF: À..Þ (not ×) +0x20 */
			unsigned char d = (unsigned char)text[i + 1];

			out[o++] = (char)c;
			out[o++] = (char)(d >= 0x80 && d <= 0x9E && d != 0x97 ? d + 0x20 : d);
			i += 2;
		} else {
			size_t cl = (size_t)g_utf8_skip[c];
			gunichar u = g_utf8_get_char(text + i);
			GUnicodeType t = g_unichar_type(u);

			if (cl > len - i)
				cl = len - i;
			if (u == 0x3A3) {   /* Greek capital sigma: 2 bytes as its lower forms */
				bool letter = i + cl < len && g_unichar_isalpha(g_utf8_get_char(text + i + cl));

				o += (size_t)g_unichar_to_utf8(letter ? 0x3C3 : 0x3C2, out + o);
			} else if (t == G_UNICODE_UPPERCASE_LETTER || t == G_UNICODE_TITLECASE_LETTER) {
				char *l = g_utf8_strdown(text + i, (gssize)cl);
				size_t ll = strlen(l);

				if (o + ll + (len - i - cl) >= cap) {
					cap = (o + ll + (len - i - cl)) * 5 / 4 + 64;
					out = g_realloc(out, cap);
				}
				memcpy(out + o, l, ll);
				o += ll;
				g_free(l);
			} else {
				memcpy(out + o, text + i, cl);
				o += cl;
			}
			i += cl;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

static void
cls_art9(const struct classify_ctx *ctx, const char *where, const char *text, size_t len, bool strong,
	struct classify_result *res)
{
	char *valid = g_utf8_validate(text, (gssize)len, NULL) ? NULL : g_utf8_make_valid(text, (gssize)len);
	size_t lowlen, c;
	char *low = cls_strdown(valid != NULL ? valid : text, valid != NULL ? strlen(valid) : len, &lowlen);
	/* at most one hit per byte and category: short text needs no full table */
	size_t cap = MIN((size_t)CLS_ART9_MAXHITS, G_N_ELEMENTS(cls_art9_dict) * (lowlen + 1));
	struct cls_term_hit *all = g_new(struct cls_term_hit, cap);
	struct cls_term_hit *hits = g_new(struct cls_term_hit, cap);
	size_t nall = cls_find_terms(low, lowlen, all, cap);
	unsigned need = ctx->thresholds[CLS_DET_ART9] > 0 ? ctx->thresholds[CLS_DET_ART9] : 2;

	for (c = 0; c < G_N_ELEMENTS(cls_art9_dict); c++) {
		size_t n = 0, a, b;

		for (a = 0; a < nall; a++)
			if (all[a].cat == c)
				hits[n++] = all[a];
		guint64 seen = 0, fired_terms = 0;
		size_t first = 0;
		bool fired = false;

		if (n == 0)
			continue;
		for (a = 0; a < n; a++) {
			guint64 win = 0;
			unsigned distinct = 0;

			seen |= 1ULL << (hits[a].term % 64);
			for (b = a; b < n && hits[b].pos - hits[a].pos <= CLS_ART9_WINDOW; b++)
				if (!(win & (1ULL << (hits[b].term % 64)))) {
					win |= 1ULL << (hits[b].term % 64);
					distinct++;
				}
			if (distinct >= need) {
				if (!fired)
					first = hits[a].pos;
				fired = true;
				fired_terms |= win;
			}
		}
		if (!fired && strong && need > 1)
			fired = true, fired_terms = seen, first = hits[0].pos;   /* 1 term + identifier */
		if (fired) {
			char reason[32];
			GString *terms = g_string_new("");
			char *w = g_strdup_printf("%s offset ~%zu", where, first);
			unsigned t, count = 0;

			for (t = 0; cls_art9_dict[c].terms[t] != NULL && t < 64; t++)
				if (fired_terms & (1ULL << t)) {
					g_string_append_printf(terms, "%s%s", count ? ", " : "terms: ",
						cls_art9_dict[c].terms[t]);
					count++;
				}
			g_snprintf(reason, sizeof reason, "art9-%s", cls_art9_dict[c].category);
			cls_add(res, reason, count, w, terms->str);
			g_string_free(terms, TRUE);
			g_free(w);
		}
	}
	g_free(hits);
	g_free(all);
	g_free(low);
	g_free(valid);
}

/* VS markings in content: only the unambiguous written forms, and only as a
 * stamp at the start of a line (prose such as "keine VS-NfD per Mail" is not) */
static void
cls_vs_content(const char *where, const char *text, size_t len, struct classify_result *res)
{
	static const char *const marks[] = {
		"VS-NUR FÜR DEN DIENSTGEBRAUCH", "VS-NUR FUER DEN DIENSTGEBRAUCH", "VS-NfD", "VS-VERTRAULICH", NULL,
	};
	size_t i;

	for (i = 0; marks[i] != NULL; i++) {
		const char *p = text, *end = text + len;

		while (p < end && (p = memmem(p, (size_t)(end - p), marks[i], strlen(marks[i]))) != NULL) {
			const char *b = p;

			while (b > text && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (b == text || b[-1] == '\n' || b[-1] == '\r') {
				char *w = g_strdup_printf("%s offset %zu", where, (size_t)(p - text));

				cls_add(res, i < 3 ? "vs:VS-NfD" : "vs:VS-VERTRAULICH", 1, w, marks[i]);
				g_free(w);
				res->vs = true;
				return;
			}
			p += strlen(marks[i]);
		}
	}
}

void
cls_detect(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	struct classify_result *res)
{
	GArray *groups = g_array_new(FALSE, FALSE, sizeof(struct cls_group));
	size_t i = 0;
	bool strong = false;

	while (i < len) {
		struct cls_group g;

		if (!g_ascii_isalnum(text[i])) {
			i++;
			continue;
		}
		g.s = i;
		while (i < len && g_ascii_isalnum(text[i]))
			i++;
		g.e = i;
		/* a group glued to a non-ASCII letter (ü, ß ...) is part of a word */
		if ((g.s > 0 && (unsigned char)text[g.s - 1] >= 0x80 && !cls_nbsp_before(text, g.s)) ||
		    (g.e < len && (unsigned char)text[g.e] >= 0x80 && cls_sep_len(text, len, g.e) == 0)) {
			if (groups->len > 0)
				cls_chain(ctx, where, text, len, (struct cls_group *)(void *)groups->data,
					groups->len, &strong, res);
			g_array_set_size(groups, 0);
			continue;
		}
		if (groups->len > 0) {
			const struct cls_group *prev = &g_array_index(groups, struct cls_group, groups->len - 1);
			size_t p = prev->e, seps = 0;

			while (p < g.s && seps < 3) {
				size_t sl = cls_sep_len(text, len, p);

				if (sl == 0)
					break;
				p += sl;
				seps++;
			}
			if (p != g.s) {
				cls_chain(ctx, where, text, len, (struct cls_group *)(void *)groups->data,
					groups->len, &strong, res);
				g_array_set_size(groups, 0);
			}
		}
		g_array_append_val(groups, g);
	}
	if (groups->len > 0)
		cls_chain(ctx, where, text, len, (struct cls_group *)(void *)groups->data, groups->len,
			&strong, res);
	g_array_free(groups, TRUE);
	cls_emails(where, text, len, res);
	cls_vs_content(where, text, len, res);
	cls_art9(ctx, where, text, len, strong, res);
}
