/*
 * classify_check.c - the check digits and structure of identifiers
 * (standards.md §2): IBAN (mod 97, BBAN structure of all registry
 * countries), Steuer-IdNr (ISO 7064 MOD 11,10 + repetition rule), RVNR,
 * KVNR, ID card/passport (ICAO 7-3-1), payment cards (IIN + length + Luhn),
 * and the masking of a found value.
 * Memory: cls_mask's result is the caller's. Thread-safe (no shared state).
 */
#include "classify_int.h"

#include <string.h>

/* IBAN BBAN structure per country (SWIFT IBAN registry via python-stdnum iban.dat, 91 countries):
 * count + n (digits), a (upper-case letters), c (digits or upper-case letters); the total length is
 * 4 + the sum of the counts ("DE" "8n10n": 22) */
static const struct { char cc[3]; const char *bban; } cls_iban_fmt[] = {
	{ "AD", "4n4n12c" }, { "AE", "3n16n" }, { "AL", "8n16c" }, { "AT", "5n11n" }, { "AZ", "4a20c" },
	{ "BA", "3n3n8n2n" }, { "BE", "3n7n2n" }, { "BG", "4a4n2n8c" }, { "BH", "4a14c" }, { "BI", "5n5n11n2n" },
	{ "BR", "8n5n10n1a1c" }, { "BY", "4c4n16c" }, { "CH", "5n12c" }, { "CR", "4n14n" }, { "CY", "3n5n16c" },
	{ "CZ", "4n6n10n" }, { "DE", "8n10n" }, { "DJ", "5n5n11n2n" }, { "DK", "4n9n1n" }, { "DO", "4c20n" },
	{ "EE", "2n14n" }, { "EG", "4n4n17n" }, { "ES", "4n4n1n1n10n" }, { "FI", "3n11n" }, { "FK", "2a12n" },
	{ "FO", "4n9n1n" }, { "FR", "5n5n11c2n" }, { "GB", "4a6n8n" }, { "GE", "2a16n" }, { "GI", "4a15c" },
	{ "GL", "4n9n1n" }, { "GR", "3n4n16c" }, { "GT", "4c20c" }, { "HN", "4a20n" }, { "HR", "7n10n" },
	{ "HU", "3n4n1n15n1n" }, { "IE", "4a6n8n" }, { "IL", "3n3n13n" }, { "IQ", "4a3n12n" },
	{ "IS", "4n2n6n10n" }, { "IT", "1a5n5n12c" }, { "JO", "4a4n18c" }, { "KW", "4a22c" }, { "KZ", "3n13c" },
	{ "LB", "4n20c" }, { "LC", "4a24c" }, { "LI", "5n12c" }, { "LT", "5n11n" }, { "LU", "3n13c" },
	{ "LV", "4a13c" }, { "LY", "3n3n15n" }, { "MC", "5n5n11c2n" }, { "MD", "2c18c" }, { "ME", "3n13n2n" },
	{ "MK", "3n10c2n" }, { "MN", "4n12n" }, { "MR", "5n5n11n2n" }, { "MT", "4a5n18c" },
	{ "MU", "4a2n2n12n3n3a" }, { "NI", "4a20n" }, { "NL", "4a10n" }, { "NO", "4n6n1n" }, { "OM", "3n16c" },
	{ "PK", "4a16c" }, { "PL", "8n16n" }, { "PS", "4a21c" }, { "PT", "4n4n11n2n" }, { "QA", "4a21c" },
	{ "RO", "4a16c" }, { "RS", "3n13n2n" }, { "RU", "9n5n15c" }, { "SA", "2n18c" }, { "SC", "4a2n2n16n3a" },
	{ "SD", "2n12n" }, { "SE", "3n16n1n" }, { "SI", "5n8n2n" }, { "SK", "4n6n10n" }, { "SM", "1a5n5n12c" },
	{ "SO", "4n3n12n" }, { "ST", "8n11n2n" }, { "SV", "4a20n" }, { "TL", "3n14n2n" }, { "TN", "2n3n13n2n" },
	{ "TR", "5n1n16c" }, { "UA", "6n19c" }, { "VA", "3n15n" }, { "VG", "4a16n" }, { "XK", "4n10n2n" },
	{ "YE", "4a4n18c" },
};

/* the BBAN s (n chars) follows the registry structure f */
static bool
cls_bban_ok(const char *f, const char *s, size_t n)
{
	size_t pos = 0;

	while (*f != '\0') {
		size_t cnt = 0, k;

		while (g_ascii_isdigit(*f))
			cnt = cnt * 10 + (size_t)(*f++ - '0');
		if (*f == '\0' || pos + cnt > n)
			return false;
		for (k = pos; k < pos + cnt; k++)
			if (*f == 'n' ? !g_ascii_isdigit(s[k]) : *f == 'a' ? !g_ascii_isupper(s[k]) :
			    !g_ascii_isdigit(s[k]) && !g_ascii_isupper(s[k]))
				return false;
		pos += cnt;
		f++;
	}
	return pos == n;
}

bool
cls_iban_valid(const char *s)
{
	size_t n = strlen(s), k;
	unsigned rem = 0;
	const char *fmt = NULL;

	if (n < 15 || n > 34 || !g_ascii_isupper(s[0]) || !g_ascii_isupper(s[1]) ||
	    !g_ascii_isdigit(s[2]) || !g_ascii_isdigit(s[3]))
		return false;
	for (k = 0; k < G_N_ELEMENTS(cls_iban_fmt); k++)
		if (s[0] == cls_iban_fmt[k].cc[0] && s[1] == cls_iban_fmt[k].cc[1])
			fmt = cls_iban_fmt[k].bban;
	if (fmt == NULL || !cls_bban_ok(fmt, s + 4, n - 4))
		return false;
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
bool
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

unsigned
cls_digits(const char *s, size_t n)
{
	unsigned v = 0;
	size_t i;

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
	p1 = cls_digits(s, 1);
	p2 = cls_digits(s, 2);
	p3 = cls_digits(s, 3);
	p4 = cls_digits(s, 4);
	p6 = cls_digits(s, 6);
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
