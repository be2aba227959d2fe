/*
 * portal_letter.h - reading an offloaded message (.eml) in the portal page
 * (issue 11): its header fields, its text and its leaves (docs/FORMATS.md
 * §4.5 defines "the n-th leaf"), parsed from hostile bytes with the milter's
 * limits ([policy] max_parts, max_mime_depth) and a size cap.
 *
 * Memory: the caller hands the decrypted .eml over as one GByteArray of at
 * most PORTAL_LETTER_MAX_SIZE bytes; GMime parses it with a persistent
 * stream (leaf contents stay where they are in that buffer), so a parsed
 * letter holds the buffer, the MIME tree (at most max_parts nodes) and its
 * text (at most PORTAL_LETTER_TEXT_MAX bytes). portal_letter_free wipes the
 * buffer. The HTTP side (portal_letter_http.c) runs at most
 * PORTAL_LETTER_CONCURRENCY letters at a time, so the portal holds at most
 * PORTAL_LETTER_CONCURRENCY * (2 * PORTAL_LETTER_MAX_SIZE + tree) for
 * letters (a served leaf is decoded into a second buffer of at most the
 * letter's size).
 * Thread safety: a letter belongs to one thread; g_mime_init() must have
 * run before (portal_main.c).
 */
#ifndef OFFLOAD_PORTAL_LETTER_H
#define OFFLOAD_PORTAL_LETTER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <gmime/gmime.h>

#define PORTAL_LETTER_MAX_SIZE (32u * 1024 * 1024) /* larger .eml files: download only */
#define PORTAL_LETTER_TEXT_MAX (1024u * 1024)      /* shown text, UTF-8 bytes */
#define PORTAL_LETTER_CONCURRENCY 2
#define PORTAL_LETTER_MAX_LEAF 65535u              /* a ticket's part is a u16 */

enum portal_letter_err {
	PORTAL_LETTER_OK = 0,
	PORTAL_LETTER_EPARSE = -1,  /* not a message GMime can read */
	PORTAL_LETTER_ELIMIT = -2,  /* more parts or deeper nesting than the limits */
};

struct portal_letter_leaf {
	GMimeObject *obj;        /* owned by the message */
	unsigned n;              /* 1-based leaf number (FORMATS.md §4.5) */
	char *name;              /* filename_safe'd download name */
	char *type;              /* "type/subtype", lower case, token characters only */
	uint64_t size;           /* decoded size */
	bool listed;             /* shown as an attachment of the letter */
};

struct portal_letter {
	GByteArray *data;        /* the .eml, owned (wiped on free) */
	GMimeMessage *msg;
	char *from, *to, *date, *subject; /* display-safe UTF-8, "" when absent */
	char *lang;              /* Content-Language when a plain language tag, else NULL */
	char *text;              /* the body as plain UTF-8 text ("" when there is none) */
	bool text_html;          /* text was converted from text/html */
	bool text_truncated;     /* cut at PORTAL_LETTER_TEXT_MAX */
	unsigned shown;          /* the leaf shown as text, 0 when none */
	GPtrArray *leaves;       /* struct portal_letter_leaf *, leaf n at [n - 1] */
};

/* portal_letter_parse - parse data (taken over, also on failure) with the
 * limits; *out the letter or NULL; PORTAL_LETTER_OK or a negative error */
int portal_letter_parse(GByteArray *data, uint64_t max_parts, uint64_t max_depth,
	struct portal_letter **out);
/* portal_letter_leaf_data - the decoded content of leaf n (1-based; an
 * attached message as its bytes); NULL when there is no leaf n */
GByteArray *portal_letter_leaf_data(const struct portal_letter *l, unsigned n);
void portal_letter_free(struct portal_letter *l);
/* portal_letter_is_eml - a file name that ends in ".eml" (any case) */
bool portal_letter_is_eml(const char *name);

/* portal_letter_text.c: html_to_text - the text of HTML (tags dropped;
 * script, style, head and comments skipped; block ends as line breaks;
 * character references decoded), at most max bytes; *cut when cut */
char *portal_letter_html_text(const char *html, size_t len, size_t max, bool *cut);
/* portal_letter_tidy - valid UTF-8, CRLF as LF, NUL and other C0 controls
 * except tab and newline dropped, at most max bytes (at a character
 * boundary); *cut when cut; g_malloc'ed */
char *portal_letter_tidy(const char *s, size_t len, size_t max, bool *cut);

#endif
