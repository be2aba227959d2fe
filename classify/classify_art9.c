/*
 * classify_art9.c - GDPR Art. 9 special categories in text: German and
 * English keyword dictionaries per category, found in one pass over the
 * lower-cased text at word starts; a category fires on 2 distinct terms
 * (the art9 threshold) within 300 characters, or on 1 term plus a strong
 * identifier in the same text. cls_strdown is the fast lower case.
 * Memory: temporary only. Thread-safe (the term index is built once).
 */
#include "classify_int.h"

#include <locale.h>
#include <string.h>

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

/* index of all dictionary terms, built once (thread-safe): the terms in buckets by their first two
 * bytes (5 bits each), in dictionary order within a bucket (the first term of a category that
 * matches at a place is its hit), and a bit per first three bytes (5 bits each) of any term */
struct cls_term_ref {
	const char *text;   /* cls_art9_dict[cat].terms[term] */
	unsigned char cat, term, len;
	bool prefix;
};

#define CLS_KEY2(a, b) ((((unsigned)(a) & 31) << 5) | ((unsigned)(b) & 31))
#define CLS_KEY3(a, b, c) ((CLS_KEY2(a, b) << 5) | ((unsigned)(c) & 31))

static struct cls_term_ref cls_refs[512];
static unsigned short cls_ref_start[1025];   /* bucket k: cls_refs[cls_ref_start[k]..cls_ref_start[k + 1]) */
static guint64 cls_ref_tri[(1u << 15) / 64];
static bool cls_word_byte[256];   /* cls_word_char as a table */

static void
cls_terms_index(void)
{
	static gsize once = 0;

	if (g_once_init_enter(&once)) {
		unsigned k, n = 0, c, t, count[1024] = { 0 };

		for (k = 0; k < 256; k++)
			cls_word_byte[k] = cls_word_char((unsigned char)k);
		for (c = 0; c < G_N_ELEMENTS(cls_art9_dict); c++)
			for (t = 0; cls_art9_dict[c].terms[t] != NULL; t++)
				count[CLS_KEY2(cls_art9_dict[c].terms[t][0], cls_art9_dict[c].terms[t][1])]++;
		for (k = 0; k < 1024; k++) {
			cls_ref_start[k] = (unsigned short)n;
			n += count[k];
			count[k] = cls_ref_start[k];   /* from here on: the next free place of bucket k */
		}
		cls_ref_start[1024] = (unsigned short)n;
		g_assert(n <= G_N_ELEMENTS(cls_refs));
		for (c = 0; c < G_N_ELEMENTS(cls_art9_dict); c++)   /* dictionary order within a bucket */
			for (t = 0; cls_art9_dict[c].terms[t] != NULL; t++) {
				const char *term = cls_art9_dict[c].terms[t];
				size_t tl = strlen(term);
				bool prefix = term[tl - 1] == '*';
				struct cls_term_ref *ref = &cls_refs[count[CLS_KEY2(term[0], term[1])]++];

				/* the scan looks at word starts only, and at 3 bytes and more */
				g_assert(tl - prefix >= 3 && tl - prefix < 256 && cls_word_char((unsigned char)term[0]));
				ref->text = term;
				ref->cat = (unsigned char)c;
				ref->term = (unsigned char)t;
				ref->prefix = prefix;
				ref->len = (unsigned char)(tl - prefix);
				k = CLS_KEY3(term[0], term[1], term[2]);
				cls_ref_tri[k / 64] |= 1ULL << (k % 64);
			}
		g_once_init_leave(&once, 1);
	}
}

/* the terms at the word start i of the lower-cased text into hits[*n..max); *n updated */
static void
cls_terms_at(const char *low, size_t len, size_t i, struct cls_term_hit *hits, size_t *n, size_t max)
{
	unsigned key, r;
	unsigned char done = 0;   /* bit per category: one hit per word and category */

	if (len - i < 3)
		return;
	key = CLS_KEY3(low[i], low[i + 1], low[i + 2]);
	if (!(cls_ref_tri[key / 64] & (1ULL << (key % 64))))
		return;
	key >>= 5;
	for (r = cls_ref_start[key]; r < cls_ref_start[key + 1] && *n < max; r++) {
		const struct cls_term_ref *ref = &cls_refs[r];

		if (done & (1u << ref->cat))
			continue;
		if (ref->len > len - i || memcmp(low + i, ref->text, ref->len) != 0)
			continue;
		if (!ref->prefix && i + ref->len < len && cls_word_byte[(unsigned char)low[i + ref->len]])
			continue;
		hits[*n].pos = i;
		hits[*n].term = ref->term;
		hits[*n].cat = ref->cat;
		(*n)++;
		done |= (unsigned char)(1u << ref->cat);
	}
}

/* lower-cased text: terms of all categories at word starts, one pass; the word starts are found
 * 8 bytes at a time (cls_word_starts8), the last bytes through a zero-padded copy (a NUL is no
 * word byte, so the padding starts no word and ends none early) */
static size_t
cls_find_terms(const char *low, size_t len, struct cls_term_hit *hits, size_t max)
{
	size_t n = 0, i;
	guint64 carry = 0;

	cls_terms_index();
	for (i = 0; i < len && n < max; i += 8) {
		char tail[8] = { 0 };
		guint64 starts;

		if (len - i < 8)
			memcpy(tail, low + i, len - i);
		starts = cls_word_starts8(len - i < 8 ? tail : low + i, &carry);
		for (; starts != 0 && n < max; starts &= starts - 1)
			cls_terms_at(low, len, i + (size_t)(__builtin_ctzll(starts) >> 3), hits, &n, max);
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

void
cls_art9(const struct classify_ctx *ctx, const char *where, const char *text, size_t len, bool strong,
	bool utf8, struct classify_result *res)
{
	char *valid = utf8 || cls_utf8_valid(text, len) ? NULL : g_utf8_make_valid(text, (gssize)len);
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
