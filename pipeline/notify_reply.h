/*
 * notify_reply.h - the mail to the sender when a citizen replied with files
 * through the reply link of a transfer (issue 13): the new link, the files
 * (names sanitised, sizes), the citizen's message as plain text with links
 * defanged, marked "sent by an unverified person through the reply link".
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
/* notify_reply_text - the body (exposed for the unit tests); refused: names
 * of files refused by the virus scan (NULL ok) */
char *notify_reply_text(const struct transfer *t, const char *link, const char *src_id,
	const char *message, GPtrArray *refused);
/* notify_reply_send - submit it to TO; 0 or -1 with *err */
int notify_reply_send(const struct conf *c, const struct key32 *dk, const struct transfer *t,
	const char *to, const char *src_id, const char *message, GPtrArray *refused, char **err);

#endif
