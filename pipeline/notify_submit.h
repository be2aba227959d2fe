/*
 * notify_submit.h - submit notices through the [notify] sendmail command,
 * one mail (and one run of the command) per recipient, up to
 * NOTIFY_PARALLEL runs at once (issue 14 item 10: 5,000 password mails one
 * after the other took 43 s). Each run is bounded by [notify] timeout and
 * all of them by the caller's deadline (eom_timeout). Thread-safe.
 */
#ifndef OFFLOAD_NOTIFY_SUBMIT_H
#define OFFLOAD_NOTIFY_SUBMIT_H

#include <stdbool.h>
#include <glib.h>

#include "conf.h"

#define NOTIFY_PARALLEL 8

struct notify_submit {
	const struct conf *conf;
	const char *env_from;  /* envelope sender, "" = null sender */
	gint64 deadline;       /* g_get_monotonic_time() limit for all mails, 0 = none */
	/* build - the mail (RFC 5322 bytes) for rcpt, or NULL with *err; it
	 * is wiped and freed after the submission */
	GByteArray *(*build)(void *arg, const char *rcpt, char **err);
	/* done - called for each mail the command accepted (may be NULL) */
	void (*done)(void *arg, const char *rcpt);
	void *arg;
};

/* notify_submit_each - one mail to each of rcpts[0..n-1]. 0 when every one
 * was submitted (the command read it and exited 0); else -1 with the first
 * failure: *err_rcpt (its recipient) and *err (why), both g_malloc'ed.
 * After a failure no further mail is started; those already running
 * finish. */
int notify_submit_each(const struct notify_submit *s, char *const *rcpts, guint n, char **err_rcpt,
	char **err);

#endif
