/*
 * classify_int.h - internals shared by the classify/ files: the settings
 * of a ctx, the per-attachment scan budget, the finding helpers, the check
 * digit functions (exported for the unit tests) and the extractors.
 * Not for use outside classify/ and tests/unit/test_classify*.c.
 */
#ifndef OFFLOAD_CLASSIFY_INT_H
#define OFFLOAD_CLASSIFY_INT_H

#include <pthread.h>
#include <magic.h>
#include <string.h>

#include "classify.h"

#define CLS_VS (-2)          /* level value of the VS rule in maps */
#define CLS_REPORT (-3)      /* finding mapped to no level: reason only */
#define CLS_MAX_FINDINGS 200 /* findings kept per result (counts go on) */
#define CLS_MAGIC_BYTES (1u << 20) /* libmagic looks at this much of a part */

struct cls_map {
	char *key;   /* lower-case match text */
	char *shown; /* as configured */
	int level;   /* level index, CLS_VS or CLS_REPORT */
};

enum cls_det {
	CLS_DET_IBAN, CLS_DET_STEUER_ID, CLS_DET_RVNR, CLS_DET_KVNR, CLS_DET_ID_DOC, CLS_DET_CARD,
	CLS_DET_EMAIL, CLS_DET_PHONE, CLS_DET_DOB, CLS_DET_ART9,
	CLS_DET_N
};

struct classify_ctx {
	char **levels;
	int nlevels;
	int identifier_level, art9_level;
	GArray *labels;          /* struct cls_map */
	GArray *subject_markers; /* struct cls_map */
	GArray *finding_levels;  /* struct cls_map: bomb-limit=VERTRAULICH */
	unsigned thresholds[CLS_DET_N];  /* 0 = report only */
	/* per level, index nlevels = VS */
	enum classify_action *action;
	enum classify_body_action *body_action;
	bool *notice_show;
	uint64_t *retention, *max_retention;
	int *receipts;
	uint64_t max_inflated, max_text, max_ratio, max_depth, max_entries;
	magic_t magic;
	pthread_mutex_t magic_mu;
};

extern const char *const cls_det_names[CLS_DET_N];

/* where a text is a marking position for VS markings (classify_vs.c) */
enum cls_vs_pos {
	CLS_VS_EDGES,  /* the first and the last lines: a body, a text attachment, a PDF page (default) */
	CLS_VS_TOP,    /* the first lines: the top of a document's first page, a long text's first window */
	CLS_VS_BOTTOM, /* the last lines: the rest of a long text after its windows */
	CLS_VS_ALL,    /* all of it: a document's header or footer */
	CLS_VS_NONE,   /* no marking position */
};

/* one attachment tree's budget (shared by nested containers) */
struct cls_scan {
	const struct classify_ctx *ctx;
	uint64_t inflated;
	uint64_t entries;
	unsigned depth;
	bool bomb;
	classify_defer_fn defer; /* classify_message_gmime_defer(): top-level leaves */
	void *defer_arg;
	enum cls_vs_pos vs_pos;  /* of the text of the part at hand (cls_part, HTML) */
	const char *part_type;   /* the true type of the next cls_part's bytes when already known
				  * (a streaming job asked libmagic on the same first bytes); used once */
};

/* classify_result.c */
void cls_add(struct classify_result *res, const char *reason, unsigned count, const char *where,
	const char *masked);
void cls_raise(struct classify_result *res, int level);
void cls_result_free(gpointer p);   /* classify_result_clear + g_free */
/* cls_policy - evaluate, apply floor, fill level/action/reasons text */
void cls_policy(const struct classify_ctx *ctx, struct classify_result *res, int floor);
void cls_evaluate(const struct classify_ctx *ctx, struct classify_result *res);
/* classify_conf.c */
int cls_map_find(const GArray *map, const char *text);
/* classify_label.c */
void cls_msip(const struct classify_ctx *ctx, const char *source, const char *value,
	struct classify_result *res);
/* classify_part.c */
/* what cls_part does with a part's bytes, decided by the true type (libmagic
 * sees at most the first CLS_MAGIC_BYTES), the declared type, the name and
 * the first bytes */
enum cls_kind {
	CLS_K_ZIP, CLS_K_TNEF, CLS_K_RTF, CLS_K_PDF, CLS_K_EML, CLS_K_HTML, CLS_K_TEXT, CLS_K_EMPTY,
	CLS_K_MEDIA, CLS_K_OPAQUE,
};
void cls_bomb(struct cls_scan *scan, struct classify_result *res, const char *where, const char *why);
void cls_part(struct cls_scan *scan, const char *name, const char *declared_type, const unsigned char *data,
	size_t len, struct classify_result *res);
const char *cls_intern(const char *s);   /* g_intern_string, NULL-safe */
/* cls_magic - the true MIME type of data (first CLS_MAGIC_BYTES), interned */
const char *cls_magic(const struct classify_ctx *ctx, const unsigned char *data, size_t len);
enum cls_kind cls_kind(const char *t, const char *name, const char *declared_type, const unsigned char *data,
	size_t len);
/* classify.c */
void cls_job_set_depth(struct classify_job *job, unsigned depth);

/* ASCII lower case without a call (g_ascii_tolower is a function) */
static inline unsigned char
cls_lc(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* a byte no chain of number groups reaches across (classify_detect.c): ASCII, neither
 * alphanumeric nor a separator (blank, tab, '.', '-'); bytes of NBSP and other non-ASCII
 * characters are not breaks */
static inline bool
cls_chain_break(unsigned char c)
{
	return c < 0x80 && !(g_ascii_table[c] & G_ASCII_ALNUM) && c != ' ' && c != '\t' && c != '.' && c != '-';
}

/* cls_word_starts8 - the word starts among the 8 bytes at p, as bit 7 of each byte's place (byte k:
 * bit 8k+7); a word byte is ASCII alphanumeric or >= 0x80 (the Art. 9 term scan's words). *carry:
 * in, bit 7 set when the byte before p is a word byte; out, the same for p[7] */
static inline guint64
cls_word_starts8(const char *p, guint64 *carry)
{
	const guint64 ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	guint64 w, v, u, digit, letter, word, starts;

	memcpy(&w, p, 8);
#if G_BYTE_ORDER == G_BIG_ENDIAN
	w = GUINT64_SWAP_LE_BE(w);   /* byte k of p in bits 8k..8k+7 */
#endif
	v = w & ~highs;   /* every byte below 0x80: the sums below stay inside their byte */
	u = v | (0x20 * ones);
	digit = (v + (0x80 - 0x30) * ones) & ~(v + (0x7F - 0x39) * ones);
	letter = (u + (0x80 - 0x61) * ones) & ~(u + (0x7F - 0x7A) * ones);
	word = (w | digit | letter) & highs;
	starts = word & ~((word << 8) | *carry);
	*carry = (word >> 56) & 0x80;
	return starts;
}

/* cls_alnum8 - the ASCII letters and digits among the 8 bytes at p (bit 7 of each byte's place, as
 * cls_word_starts8); *digits: the digits among them */
static inline guint64
cls_alnum8(const char *p, guint64 *digits)
{
	const guint64 ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	guint64 w, v, u, digit, letter;

	memcpy(&w, p, 8);
#if G_BYTE_ORDER == G_BIG_ENDIAN
	w = GUINT64_SWAP_LE_BE(w);
#endif
	v = w & ~highs;
	u = v | (0x20 * ones);
	digit = (v + (0x80 - 0x30) * ones) & ~(v + (0x7F - 0x39) * ones) & ~w & highs;
	letter = (u + (0x80 - 0x61) * ones) & ~(u + (0x7F - 0x7A) * ones) & ~w & highs;
	*digits = digit;
	return digit | letter;
}

/* cls_alnum_run - the end of the run of ASCII letters and digits at text[i..len) (8 bytes at a time
 * while 8 are left); *digit: it holds a digit, *digits: it is digits only */
static inline size_t
cls_alnum_run(const char *text, size_t i, size_t len, bool *digit, bool *digits)
{
	const guint64 highs = 0x8080808080808080ULL;

	*digit = false;
	*digits = true;
	while (i + 8 <= len) {
		guint64 d, al = cls_alnum8(text + i, &d), before;

		if (al == highs) {
			*digit = *digit || d != 0;
			*digits = *digits && d == al;
			i += 8;
			continue;
		}
		before = ~al & highs;
		before = (before & -before) - 1;   /* the bits of the bytes before the first that is none */
		*digit = *digit || (d & before) != 0;
		*digits = *digits && (d & before) == (al & before);
		return i + (size_t)(__builtin_ctzll(before + 1) >> 3);
	}
	for (; i < len && g_ascii_isalnum(text[i]); i++) {
		*digit = *digit || g_ascii_isdigit(text[i]);
		*digits = *digits && g_ascii_isdigit(text[i]);
	}
	return i;
}

/* classify_prefilter.c */
/* cls_next_digit - the index of the first ASCII digit in t[from..len), len if none */
size_t cls_next_digit(const char *t, size_t from, size_t len);
/* cls_last_break - the index of the last chain break in t[from..to): a cls_chain_break byte or
 * the first of two separators (blank, tab, '.', '-') of which one is '.' or '-'; (size_t)-1 if none */
size_t cls_last_break(const char *t, size_t from, size_t to);

/* classify_check.c */
bool cls_iban_valid(const char *s);       /* compact, upper-case */
bool cls_steuer_id_valid(const char *s);  /* 11 digits */
bool cls_rvnr_valid(const char *s);       /* 12 chars */
bool cls_kvnr_valid(const char *s);       /* 10 chars */
int cls_icao_check(const char *s, size_t n);
bool cls_id_doc_valid(const char *s);     /* 10 chars with check digit */
bool cls_id_doc_shape(const char *s);     /* the 9 printed chars, no check digit */
bool cls_card_valid(const char *s);       /* digits: IIN + length + Luhn */
unsigned cls_digits(const char *s, size_t n); /* the value of n (<= 9) decimal digits */
char *cls_mask(const char *s, size_t n);
/* classify_lower.c */
/* cls_strdown - g_utf8_strdown() of valid UTF-8 without NUL, fast; *out_len = strlen; g_free */
char *cls_strdown(const char *text, size_t len, size_t *out_len);
/* cls_strdown_step - the next bytes of cls_strdown(text, len): text[*pos..len) lower-cased into
 * out[0..cap), whole characters, while 16 bytes of room are left; *pos advanced; the bytes written.
 * Not in the locales where cls_strdown_glib() */
size_t cls_strdown_step(const char *text, size_t len, size_t *pos, char *out, size_t cap);
/* cls_strdown_glib - the locale has context rules of its own (az, lt, tr): lower case by glib */
bool cls_strdown_glib(void);
/* classify_art9.c */
/* cls_art9 - Art. 9 categories of text into res; strong: a strong identifier was found in it;
 * utf8: the text is known to be valid UTF-8 without NUL (else it is checked here) */
void cls_art9(const struct classify_ctx *ctx, const char *where, const char *text, size_t len, bool strong,
	bool utf8, struct classify_result *res);
/* classify_vs.c */
/* cls_vs_find - the first VS marking in text[from..n): 0 none, 1 VS-NfD, 2 VS-VERTRAULICH; its bytes */
int cls_vs_find(const char *text, size_t n, size_t from, size_t *at, size_t *end);
/* cls_vs_marking - VS markings of text in the marking positions pos into res (reason vs:...) */
void cls_vs_marking(const char *where, const char *text, size_t len, enum cls_vs_pos pos,
	struct classify_result *res);
/* classify_detect.c */
void cls_detect(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	struct classify_result *res);
/* cls_detect_utf8 - cls_detect of text the caller has checked: valid UTF-8 without NUL (the check
 * is not done again) */
void cls_detect_utf8(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	struct classify_result *res);

/* extractors: classify_zip.c, classify_pdf.c, classify_markup.c (HTML), classify_mime.c;
 * their shared helpers are in classify_extract.h */
void cls_extract_zip(struct cls_scan *scan, const char *name, const unsigned char *data, size_t len,
	struct classify_result *res);
void cls_extract_pdf(struct cls_scan *scan, const char *name, const unsigned char *data, size_t len,
	struct classify_result *res);
void cls_extract_html(struct cls_scan *scan, const char *name, const char *data, size_t len,
	struct classify_result *res);
void cls_extract_eml(struct cls_scan *scan, const char *name, const unsigned char *data, size_t len,
	struct classify_result *res);
void cls_extract_gmime(struct cls_scan *scan, GMimeObject *obj, const char *prefix,
	struct classify_result *res);
/* classify_tnef.c */
/* cls_extract_tnef - winmail.dat: every attachment through cls_part ("name > file"), the body */
void cls_extract_tnef(struct cls_scan *scan, const char *name, const unsigned char *data, size_t len,
	struct classify_result *res);
/* classify_rtf.c */
/* cls_lzfu - compressed RTF (MS-OXRTFCP) into out, at most max bytes; false if not LZFu/MELA */
bool cls_lzfu(const unsigned char *in, size_t n, size_t max, GByteArray *out);
/* cls_rtf_text - visible text of an RTF document, at most max bytes appended */
void cls_rtf_text(const char *s, size_t n, size_t max, GString *out);
gunichar cls_cp1252(unsigned char b);   /* 0 = unassigned */
/* cls_utf8_valid - g_utf8_validate(data, len, NULL): valid UTF-8 without NUL; ASCII 16 (SSE2) or 8 bytes
 * at a time */
bool cls_utf8_valid(const char *data, size_t len);
/* cls_text_utf8 - data as UTF-8 (invalid UTF-8 read as windows-1252); g_free */
char *cls_text_utf8(const char *data, size_t len, size_t *out_len);
/* cls_text_utf8_v - the same; *utf8 = the result is known valid UTF-8 without NUL (data was) */
char *cls_text_utf8_v(const char *data, size_t len, size_t *out_len, bool *utf8);

#endif
