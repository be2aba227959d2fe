/*
 * notify.h - the mails offload itself sends (DECISIONS.md §1, §6, §13):
 * the sender's confirmation (what was offloaded, until when, the password
 * when it goes to the sender, the revoke link) and, under
 * password_delivery = recipients, one password mail per recipient without
 * the link. Mails are submitted through the configured sendmail command
 * ([notify] sendmail), so they take the MTA's normal path, queue and retry;
 * password mails several at once (notify_submit.h).
 * Every notice carries X-Offload-Notice with a MAC under the deployment
 * key; the pipeline passes such mail untouched (no re-offload of a
 * password mail, no loops).
 * Thread-safe: everything is per call.
 */
#ifndef OFFLOAD_NOTIFY_H
#define OFFLOAD_NOTIFY_H

#include <stdbool.h>
#include <glib.h>

#include "conf.h"
#include "keys.h"
#include "transfer.h"

enum notify_password_to {
	NOTIFY_PASSWORD_TO_SENDER,
	NOTIFY_PASSWORD_TO_RECIPIENTS,
};

/* notify_check_conf - validate [notify] password_delivery against the
 * configured levels (NULL-terminated); -1 with *err naming the bad item */
int notify_check_conf(const struct conf *c, char *const *levels, GError **err);
/* notify_password_to - where the password of a transfer of class LEVEL goes */
enum notify_password_to notify_password_to(const struct conf *c, const char *level);
/* notify_sender_address - where the sender's notices go: the sender, or
 * [notify] fallback_to for null and no-reply senders; NULL = nobody */
const char *notify_sender_address(const struct conf *c, const char *sender);

struct notify_job {
	const struct conf *conf;
	const struct key32 *dk;     /* deployment key (X-Offload-Notice MAC) */
	const char *qid;            /* for logs */
	const char *sender;         /* envelope sender, "" = null sender */
	GPtrArray *rcpts;           /* envelope recipients (char *) */
	const char *subject;        /* UTF-8, may be NULL */
	const char *level;          /* class name */
	const struct transfer *t;   /* sealed: id, files, expires, password */
	const char *revoke_link;    /* NULL = not available */
	gint64 deadline;            /* g_get_monotonic_time() limit (eom_timeout), 0 = none */
};

/* notify_send - send the notices of one offloaded message. Returns 0, or
 * -1 with *err when a mail carrying the transfer's password could not be
 * submitted (nobody could open the transfer: the caller fails the
 * message). A failed confirmation without a password is logged only. */
int notify_send(const struct notify_job *j, char **err);

/* notify_submit_text - build one notice of KIND (X-Offload-Notice for j->t)
 * with TEXT (UTF-8, LF; wiped and freed) and submit it to TO; 0 or -1 with
 * *err (used by notify_reply.c) */
int notify_submit_text(const struct notify_job *j, const char *kind, const char *env_from,
	const char *to, const char *subject, char *text, char **err);

/* notify_is_ours - true when the message's X-Offload-Notice value carries
 * a valid MAC under the deployment key for its Message-ID and its body
 * (body: the body digest of FORMATS.md §3.1, body_digest_file(); NULL =
 * unknown, never ours) */
bool notify_is_ours(const struct key32 *dk, const char *message_id, const unsigned char body[32],
	const char *header_value);

/* notify_confirm_text / notify_password_text - the bodies (UTF-8, LF),
 * exposed for the unit tests */
char *notify_confirm_text(const struct notify_job *j, bool with_password);
char *notify_password_text(const struct notify_job *j);

#endif
