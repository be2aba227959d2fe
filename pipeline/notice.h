/*
 * notice.h - the notice that replaces offloaded attachments in the text
 * bodies (DECISIONS.md §4): German first, English second, in short
 * sentences: what happened and who sent it, the expiry date in
 * Europe/Berlin, whether a password is needed and how it arrives, that the
 * sender is told about downloads (receipts on), the one
 * link (labelled; a button in HTML, the raw URL too), file names (unless
 * hidden by policy), sizes (1024^n), SHA-256, whom to ask, and a fixed
 * authenticity hint (the portal's host name, "we never ask for login
 * credentials, bank or payment details"). The templates live in notice.c;
 * the HTML one is table-based with inline styles (mail clients).
 * Pure functions; thread-safe.
 */
#ifndef OFFLOAD_NOTICE_H
#define OFFLOAD_NOTICE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "transfer_info.h"

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
	/* issue 11: how the password arrives (NONE = no password), the
	 * organisation for TRANSFER_DELIVERY_AGREED (NULL = "the sender"),
	 * the sender to ask (name may be NULL, address NULL or "" = unknown) */
	enum transfer_delivery password;
	const char *organisation;
	const char *sender_name;
	const char *sender_addr;
	/* issue 13: the reply link (FORMATS.md §6.5) and the address its
	 * replies go to; NULL = no "send files back" line (upload disabled) */
	const char *reply_link;
	const char *reply_to;
	/* issue 13: the upload request of [upload] request_marker: a standalone
	 * upload link (FORMATS.md §6.11) for request_for; NULL = none */
	const char *request_link;
	const char *request_for;
	/* issue 12: the sender gets download receipts ([notify] receipts of
	 * the class is not none and there is an address to send them to):
	 * one sentence says so */
	bool receipts;
};

/* notice_text - UTF-8 text with LF line ends, no line over 76 characters
 * except the link and long names; no trailing spaces (format=flowed safe) */
char *notice_text(const struct notice *n);
/* notice_html - ASCII only (entities), valid in any charset */
char *notice_html(const struct notice *n);
/* notice_request - the notice of an upload request alone (a mail with the
 * subject marker and nothing to offload), UTF-8 text, g_malloc'ed */
char *notice_request(const char *link, const char *to);
/* notice_request_html_only - the same as HTML (ASCII, entities) */
char *notice_request_html_only(const char *link, const char *to);
/* notice_size - "25,0 MB" (german) or "25.0 MB" */
char *notice_size(uint64_t bytes, bool german);

/* notice_dates - expiry in Europe/Berlin: "30.11.2026, 13:00 Uhr (MEZ)"
 * and "2026-11-30 13:00 CET" (g_malloc'ed) */
void notice_dates(int64_t expires, char **de, char **en);
/* notice_host - the host name of the link ("files.example.gov"), g_malloc'ed */
char *notice_host(const char *link);
/* notice_printable - filename_display(): valid UTF-8 with control, bidi and
 * other invisible characters replaced, so a name cannot forge lines or show
 * another extension (g_malloc'ed) */
char *notice_printable(const char *name);

#endif
