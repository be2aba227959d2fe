/*
 * notice.h - the notice that replaces offloaded attachments in the text
 * bodies (DECISIONS.md §4): German first, English second, file names (unless
 * hidden by policy), sizes (1024^n), SHA-256, the expiry date in
 * Europe/Berlin and the one link. The templates live in notice.c.
 * Pure functions; thread-safe.
 */
#ifndef OFFLOAD_NOTICE_H
#define OFFLOAD_NOTICE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct notice_file {
	const char *name;   /* UTF-8 */
	uint64_t size;
	const char *sha256; /* hex */
};

struct notice {
	const char *link;
	int64_t expires;          /* unix seconds */
	const struct notice_file *files;
	size_t nfiles;
	bool hide_names;
};

/* notice_text - UTF-8 text with LF line ends, no line over 76 characters
 * except the link; no trailing spaces (safe for format=flowed) */
char *notice_text(const struct notice *n);
/* notice_html - ASCII only (entities), valid in any charset */
char *notice_html(const struct notice *n);
/* notice_size - "25,0 MB" (german) or "25.0 MB" */
char *notice_size(uint64_t bytes, bool german);

/* notice_dates - expiry in Europe/Berlin: "30.11.2026, 13:00 Uhr (MEZ)"
 * and "2026-11-30 13:00 CET" (g_malloc'ed) */
void notice_dates(int64_t expires, char **de, char **en);
/* notice_printable - filename_display(): valid UTF-8 with control, bidi and
 * other invisible characters replaced, so a name cannot forge lines or show
 * another extension (g_malloc'ed) */
char *notice_printable(const char *name);

#endif
