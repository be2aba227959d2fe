/*
 * audit.h - the audit log (DECISIONS.md §9): one line per event, fields in a
 * fixed documented order, key=value (default) or JSON lines, each line
 * chained to the previous one by a hash so `offloadctl audit verify` can
 * detect deletion or editing; forward-secure seals (`audit keygen`) and
 * rotation (`audit rotate`) make cutting the end and rewriting detectable
 * (offload.conf(5) AUDIT LOG). Thread- and process-safe (mutex + flock).
 */
#ifndef OFFLOAD_AUDIT_H
#define OFFLOAD_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "conf.h"

/* Field order is fixed: time event queue_id message_id from rcpt file size
 * type sha256 class reasons action transfer expires client seq previous
 * epoch (then mac on seals, then chain).
 * NULL strings and size < 0 are omitted from the line. */
struct audit_event {
	const char *event;      /* attachment | message | download | revoke | purge | error |
	                         * unlock | extend | sender-view | notify | scan | archive
	                         * (offload.conf(5) AUDIT LOG) */
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
	const char *seq;        /* rotate lines (decimal) */
	const char *previous;
	const char *epoch;      /* seal lines (decimal) */
};

struct audit;

/* audit_open - NULL with *err on failure; a conf with audit_path "" gives a
 * valid handle that writes nothing */
struct audit *audit_open(const struct conf *conf, GError **err);
/* audit_write - append one event; 0 or negative (logged once) */
int audit_write(struct audit *a, const struct audit_event *ev);
void audit_close(struct audit *a);
/* audit_seal - write a seal line now (sealing set up); 0 or -1 (*err) */
int audit_seal(struct audit *a, GError **err);
/* audit_rotate - close the current file with a (sealed) last line; the next
 * line, in whatever file is at the path then, starts with an open line
 * naming it. Creates the state file if needed. 0 or -1 (*err) */
int audit_rotate(struct audit *a, GError **err);
/* audit_keygen - set up sealing: a random seed (returned, to be kept off the
 * gateway), epoch key 0 in the state, a seal line (action keygen). Refuses
 * when sealing is set up already unless force. 0 or -1 (*err) */
int audit_keygen(struct audit *a, int64_t interval, bool force, unsigned char seed[32],
	GError **err);

struct audit_verify_opts {
	const unsigned char *seed;  /* 32 bytes, or NULL: seals not checked */
	const char *state_path;     /* with seed: the writer's state, or NULL: tail not checked */
	int64_t first_epoch;        /* epoch the first seal must have (0 = keygen) */
};
struct audit_verify_result {
	long lines, seals, unsealed;  /* unsealed: lines after the last seal */
	int64_t first_epoch, last_epoch; /* -1: no seal */
	bool tail_checked;
};
/* audit_verify_files - files in order (oldest first); 0 intact, 1 broken
 * (*err says where and why), -1 unreadable */
int audit_verify_files(const char *const *paths, size_t n, const struct audit_verify_opts *o,
	struct audit_verify_result *res, GError **err);
/* audit_verify - check the hash chain of a log file; 0 ok, else the 1-based
 * line number of the first broken line (and *err says why) */
long audit_verify(const char *path, GError **err);

#endif
