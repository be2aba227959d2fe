/*
 * notify_reply.h - the mail to the sender when a citizen replied with files
 * through the reply link of a transfer (issue 13): the new link, the files
 * (names sanitised, sizes), the citizen's message as plain text with links
 * defanged, marked "sent by an unverified person through the reply link"
 * (or "through your upload link", with its note, for a standalone upload
 * link), a line per refused file saying why (malware found, or it could not
 * be checked for malware, or its stored copy was damaged and it could not be
 * taken) and a line per file accepted without a virus scan.
 * Submitted like the other notices ([notify] sendmail, null envelope sender).
 * Thread-safe: everything is per call.
 */
#ifndef OFFLOAD_NOTIFY_REPLY_H
#define OFFLOAD_NOTIFY_REPLY_H

#include <glib.h>

#include "conf.h"
#include "keys.h"
#include "transfer.h"

/* notify_defang - TEXT as plain text that no mail client turns into a link:
 * controls (but LF) and invisible characters replaced, "http" -> "hxxp",
 * "://" -> "[://]", the dots of a host-like word -> "[.]", "@" in such a
 * word -> "[at]"; at most 4000 characters (g_malloc'ed) */
char *notify_defang(const char *text);
/* what the mail says besides the new transfer */
struct notify_reply_info {
	const char *src_id;    /* the transfer replied to, or the standalone upload link's id */
	const char *message;   /* the citizen's message ("" none) */
	GPtrArray *refused;    /* names of files refused: the virus scan found malware (NULL ok) */
	GPtrArray *unchecked;  /* names refused because the scanner could not check them
	                        * ([scan] on_unscannable = reject; NULL ok) */
	GPtrArray *unscanned;  /* names accepted unscanned ([scan] on_* = accept-marked; NULL ok) */
	GPtrArray *damaged;    /* names accepted, but whose stored object was found damaged
	                        * at the commit: not in the transfer (NULL ok) */
	const char *note;      /* a standalone upload link (FORMATS.md §6.11): its note ("" none);
	                        * NULL: the reply link of a transfer */
};

/* notify_reply_text - the body (exposed for the unit tests) */
char *notify_reply_text(const struct transfer *t, const char *link, const struct notify_reply_info *ri);
/* notify_reply_send - submit it to TO; 0 or -1 with *err */
int notify_reply_send(const struct conf *c, const struct key32 *dk, const struct transfer *t,
	const char *to, const struct notify_reply_info *ri, char **err);

#endif
