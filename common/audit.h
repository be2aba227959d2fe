/*
 * audit.h - the audit log (DECISIONS.md §9): one line per event, fields in a
 * fixed documented order, key=value (default) or JSON lines, each line
 * chained to the previous one by a hash so `offloadctl audit verify` can
 * detect deletion or editing. Thread- and process-safe (mutex + flock).
 */
#ifndef OFFLOAD_AUDIT_H
#define OFFLOAD_AUDIT_H

#include <stdint.h>
#include <glib.h>

#include "conf.h"

/* Field order is fixed: time event queue_id message_id from rcpt file size
 * type sha256 class reasons action transfer expires client (then chain).
 * NULL strings and size < 0 are omitted from the line. */
struct audit_event {
	const char *event;      /* attachment | message | download | revoke | purge | error |
	                         * unlock | extend | sender-view */
	const char *queue_id;
	const char *message_id;
	const char *from;
	const char *rcpt;       /* comma-separated */
	const char *file;
	int64_t size;           /* -1 = absent */
	const char *type;
	const char *sha256;
	const char *class_;
	const char *reasons;
	const char *action;
	const char *transfer;
	const char *expires;
	const char *client;
};

struct audit;

/* audit_open - NULL with *err on failure; a conf with audit_path "" gives a
 * valid handle that writes nothing */
struct audit *audit_open(const struct conf *conf, GError **err);
/* audit_write - append one event; 0 or negative (logged once) */
int audit_write(struct audit *a, const struct audit_event *ev);
void audit_close(struct audit *a);
/* audit_verify - check the hash chain of a log file; 0 ok, else the 1-based
 * line number of the first broken line (and *err says why) */
long audit_verify(const char *path, GError **err);

#endif
