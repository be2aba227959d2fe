/*
 * classify_art9.c - GDPR Art. 9 special categories in text: German and
 * English keyword dictionaries per category, found in one pass over the
 * lower-cased text at word starts; a category fires on 2 distinct terms
 * (the art9 threshold) within 300 characters, or on 1 term plus a strong
 * identifier in the same text (the lower case: classify_lower.c).
 * Memory: temporary only. Thread-safe (the term index is built once).
 */
#include "classify_int.h"
#include "classify_simd.h"

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
 * matches at a place is its hit), and a bit per first three bytes (5 bits each) of any term, and to
 * look closer: of a term of three bytes, and per hash of the first four bytes of a longer one */
struct cls_term_ref {
	const char *text;   /* cls_art9_dict[cat].terms[term] */
	unsigned char cat, term, len;
	bool prefix;
};

#define CLS_KEY2(a, b) ((((unsigned)(a) & 31) << 5) | ((unsigned)(b) & 31))
#define CLS_KEY3(a, b, c) ((CLS_KEY2(a, b) << 5) | ((unsigned)(c) & 31))
#define CLS_QUAD(a, b, c, d) ((((CLS_KEY3(a, b, c) << 5) | ((unsigned)(d) & 31)) * 0x9E3779B1u) >> 16)

static struct cls_term_ref cls_refs[512];
static unsigned short cls_ref_start[1025];   /* bucket k: cls_refs[cls_ref_start[k]..cls_ref_start[k + 1]) */
static guint64 cls_ref_tri[(1u << 15) / 64];
static guint64 cls_ref_tri3[(1u << 15) / 64];   /* the same for the terms of three bytes only */
static guint64 cls_ref_quad[(1u << 16) / 64];   /* a hash (CLS_QUAD) of the first four bytes of a longer term */
static bool cls_word_byte[256];   /* cls_word_char as a table */
static size_t cls_term_max;       /* bytes of the longest term */

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
				cls_term_max = MAX(cls_term_max, (size_t)ref->len);
				k = CLS_KEY3(term[0], term[1], term[2]);
				cls_ref_tri[k / 64] |= 1ULL << (k % 64);
				if (ref->len == 3) {
					cls_ref_tri3[k / 64] |= 1ULL << (k % 64);
				} else {
					k = CLS_QUAD(term[0], term[1], term[2], term[3]);
					cls_ref_quad[k / 64] |= 1ULL << (k % 64);
				}
			}
		g_once_init_leave(&once, 1);
	}
}

/* the terms at the word start i of the lower-cased text low[0..n) (n: its end, or at least the
 * longest term and one byte more after i; the first three bytes begin a term), at offset base + i
 * of the whole, appended to hits */
static void
cls_terms_at(const char *low, size_t n, size_t base, size_t i, GArray *hits)
{
	unsigned key = CLS_KEY2(low[i], low[i + 1]), r;
	unsigned char done = 0;   /* bit per category: one hit per word and category */

	if (n - i >= 4) {   /* a term of three bytes begins here, or the first four bytes of a longer one */
		unsigned k3 = CLS_KEY3(low[i], low[i + 1], low[i + 2]), q = CLS_QUAD(low[i], low[i + 1], low[i + 2], low[i + 3]);

		if (!(((cls_ref_tri3[k3 / 64] >> (k3 % 64)) | (cls_ref_quad[q / 64] >> (q % 64))) & 1))
			return;
	}

	for (r = cls_ref_start[key]; r < cls_ref_start[key + 1] && hits->len < CLS_ART9_MAXHITS; r++) {
		const struct cls_term_ref *ref = &cls_refs[r];
		struct cls_term_hit h;

		if (done & (1u << ref->cat))
			continue;
		if (ref->len > n - i || memcmp(low + i, ref->text, ref->len) != 0)
			continue;
		if (!ref->prefix && i + ref->len < n && cls_word_byte[(unsigned char)low[i + ref->len]])
			continue;
		h.pos = base + i;
		h.term = ref->term;
		h.cat = ref->cat;
		g_array_append_val(hits, h);
		done |= (unsigned char)(1u << ref->cat);
	}
}

/* the word starts among the 64 bytes at low + i (n - i of them there), one bit per byte */
static guint64
cls_starts64(const char *low, size_t n, size_t i, guint64 *carry)
{
	guint64 starts = 0;
	size_t b;

#ifdef CLS_SIMD
	if (n - i >= 64) {   /* a bit per byte from four movemasks */
		guint64 word = (guint64)cls_m16_word(cls_v16(low + i)) | (guint64)cls_m16_word(cls_v16(low + i + 16)) << 16 |
			(guint64)cls_m16_word(cls_v16(low + i + 32)) << 32 |
			(guint64)cls_m16_word(cls_v16(low + i + 48)) << 48;

		starts = word & ~((word << 1) | (*carry >> 7));
		*carry = (word >> 63) << 7;
		return starts;
	}
#endif
	for (b = 0; b < 64 && i + b < n; b += 8) {
		char tail[8] = { 0 };
		guint64 s8;

		if (n - (i + b) < 8)
			memcpy(tail, low + i + b, n - (i + b));
		s8 = cls_word_starts8(n - (i + b) < 8 ? tail : low + i + b, carry);
		starts |= ((s8 >> 7) * 0x0102040810204080ULL >> 56) << b;   /* bit 8k+7 -> bit k */
	}
	return starts;
}

/* the terms at the word starts in low[from..to) into *hits (grown up to CLS_ART9_MAXHITS): low
 * holds n bytes of the lower-cased text from its byte base on, and at least the longest term and
 * one byte more after to unless it ends the text. 64 bytes at a time: their word starts
 * (cls_word_starts8), of those the ones where the first three bytes of a term begin, collected
 * without a branch, then their terms */
static void
cls_terms_in(const char *low, size_t n, size_t base, size_t from, size_t to, GArray *hits)
{
	guint64 carry = from > 0 && cls_word_byte[(unsigned char)low[from - 1]] ? 0x80 : 0;
	size_t i;

	for (i = from; i < to && hits->len < CLS_ART9_MAXHITS; i += 64) {
		guint64 starts = cls_starts64(low, n, i, &carry);
		unsigned char cand[64];
		unsigned nc = 0, k;

		if (to - i < 64)
			starts &= (1ULL << (to - i)) - 1;
		for (; starts != 0; starts &= starts - 1) {
			size_t at = i + (size_t)__builtin_ctzll(starts);
			unsigned key;

			if (n - at < 3)   /* no term is that short */
				break;
			key = CLS_KEY3(low[at], low[at + 1], low[at + 2]);
			cand[nc] = (unsigned char)(at - i);
			nc += (unsigned)(cls_ref_tri[key / 64] >> (key % 64)) & 1;
		}
		for (k = 0; k < nc && hits->len < CLS_ART9_MAXHITS; k++)
			cls_terms_at(low, n, base, i + cand[k], hits);
	}
}

/* text (valid UTF-8 without NUL): terms of all categories at word starts of its lower case, one
 * pass over a lower-cased window of CLS_LOW_WINDOW bytes that moves along (offsets are those of
 * the whole lower-cased text) */
#define CLS_LOW_WINDOW 65536

static GArray *
cls_find_terms(const char *text, size_t len)
{
	GArray *hits = g_array_sized_new(FALSE, FALSE, sizeof(struct cls_term_hit), MIN(len / 8 + 16, 1024));
	size_t keep = cls_term_max + 1, n = 0, base = 0, from = 0, i = 0;
	char *low;

	cls_terms_index();
	if (cls_strdown_glib()) {
		low = g_utf8_strdown(text, (gssize)len);
		cls_terms_in(low, strlen(low), 0, 0, strlen(low), hits);
		g_free(low);
		return hits;
	}
	low = g_malloc(MIN(len + 64, (size_t)CLS_LOW_WINDOW));
	for (;;) {
		size_t to;

		n += cls_strdown_step(text, len, &i, low + n, MIN(len + 64, (size_t)CLS_LOW_WINDOW) - n);
		to = i == len ? n : n - keep;   /* the window holds keep bytes after every start looked at */
		cls_terms_in(low, n, base, from, to, hits);
		if (i == len || hits->len >= CLS_ART9_MAXHITS)
			break;
		/* move on: the byte before the next start stays (is it a word byte?) */
		memmove(low, low + to - 1, n - (to - 1));
		base += to - 1;
		n -= to - 1;
		from = 1;
	}
	g_free(low);
	return hits;
}

void
cls_art9(const struct classify_ctx *ctx, const char *where, const char *text, size_t len, bool strong,
	bool utf8, struct classify_result *res)
{
	char *valid = utf8 || cls_utf8_valid(text, len) ? NULL : g_utf8_make_valid(text, (gssize)len);
	GArray *found = cls_find_terms(valid != NULL ? valid : text, valid != NULL ? strlen(valid) : len);
	const struct cls_term_hit *all = (const struct cls_term_hit *)(void *)found->data;
	size_t nall = found->len, c;
	struct cls_term_hit *hits = g_new(struct cls_term_hit, nall + 1);
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
	g_array_unref(found);
	g_free(valid);
}
