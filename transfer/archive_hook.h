/*
 * archive_hook.h - the DMS hook ([archive] command, docs/ARCHITECTURE.md
 * "Archive hook"): whoever commits a transfer (the pipeline for outgoing
 * mail, the upload side for citizen uploads) calls archive_hook_enqueue(),
 * which only writes a small spool entry (the JSON description the hook gets
 * on stdin). `offloadctl archive run` (archive_hook_run) later runs the
 * command once per entry, with a timeout, and keeps failed entries for a
 * retry with backoff. Mail never waits for the hook.
 *
 * Spool entry: <spool>/<transfer id>, mode 0600, written to a hidden
 * temporary name and renamed (never half-written). Its bytes are exactly
 * the hook's stdin. Its mtime is the earliest time of the next attempt.
 * Thread safety: no shared state; any number of threads may enqueue.
 */
#ifndef OFFLOAD_ARCHIVE_HOOK_H
#define OFFLOAD_ARCHIVE_HOOK_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "audit.h"
#include "conf.h"

struct transfer;

struct archive_hook_meta {
	const char *direction; /* "outgoing" (mail sent) or "incoming" (citizen upload) */
	const char *queue_id;  /* the MTA queue id, NULL = none */
	const char *reply_to;  /* incoming: id of the transfer replied to, NULL = none */
};

/* archive_hook_enabled - [archive] command is set */
bool archive_hook_enabled(const struct conf *c);
/* archive_hook_spool_dir - [archive] spool_dir or <[milter] spool_dir>/archive (g_malloc'ed) */
char *archive_hook_spool_dir(const struct conf *c);
/* archive_hook_describe - the JSON description of committed transfer t (g_malloc'ed) */
char *archive_hook_describe(const struct conf *c, const struct transfer *t,
	const struct archive_hook_meta *m);
/* archive_hook_enqueue - after the manifest commit of t: write its spool entry
 * when [archive] command is set. 0 (also when no hook is configured), or -1
 * (logged: the transfer stands, the archive misses it; the caller goes on). */
int archive_hook_enqueue(const struct conf *c, const struct transfer *t,
	const struct archive_hook_meta *m);

struct archive_hook_stats {
	unsigned ran, ok, failed, deferred, busy; /* deferred: backoff not over; busy: another runner */
};
/* archive_hook_run - run the hook for every entry due (all with force), one at
 * a time; conf_path (NULL ok) is passed to the hook as OFFLOAD_CONFIG. Each
 * attempt is audited (event=archive). 0, or -1 (*err) when the spool or the
 * command is unusable. */
int archive_hook_run(const struct conf *c, const char *conf_path, struct audit *au, bool force,
	struct archive_hook_stats *st, GError **err);

#endif
