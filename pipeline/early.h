/*
 * early.h - early offload ([milter] early_offload, issue 15 "overlap with
 * the hand-over"; docs/ARCHITECTURE.md "Early offload"). While the body
 * arrives, an incremental scanner follows the MIME structure of a multipart
 * message (part headers, boundaries, Content-Transfer-Encoding) over the
 * bytes as they are spooled; a single-part base64 top level is itself the
 * leaf (it ends with the body). The first base64 leaf whose encoded size
 * reaches offload_min_size is read from the growing spool by a worker
 * thread: decoded, hashed, encrypted and stored as file 0 of a new transfer,
 * and its decoded bytes fed to the leaf's classify job (early_cls_job).
 * At end of message the normal pipeline runs; when the first leaf it stores
 * is that same leaf (the same byte range of the spool, base64 in GMime's
 * parse too, decoding whole), it adopts the stored file and its transfer
 * (early_take + rewrite_adopt). Anything not adopted is deleted before end
 * of message returns (early_free; msg_free calls it on abort and close).
 *
 * Callers: the milter's mlfi_body, and `offloadctl process` through
 * msg_read_stream_with, both when [milter] early_offload is on.
 *
 * Threads: the scanner runs in the thread that owns the msg (the milter's
 * connection, offloadctl's main thread); the worker shares only the fields under its lock and its
 * own dup of the spool descriptor (pread; the spool is flushed before a
 * range is published).
 */
#ifndef OFFLOAD_EARLY_H
#define OFFLOAD_EARLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "msg.h"

struct classify_ctx;
struct classify_job;
struct pipeline;
struct transfer;

/* early_body - msg_write_body, then the scanner (starts the worker when a
 * leaf qualifies); 0 or -1 like msg_write_body */
int early_body(struct pipeline *p, struct msg *m, const void *buf, size_t len);

/* early_end - the body is complete (msg_finish calls it): a single-part
 * top-level leaf ends with the spool; NULL ok */
void early_end(struct early *e);

/* what the worker stored */
struct early_leaf {
	uint64_t start, end;  /* the leaf's encoded bytes: spool offsets [start, end) */
	uint64_t size;        /* decoded size (file 0 of t) */
	struct transfer *t;   /* the transfer, file 0 committed; the caller's now */
	struct classify_job *job; /* the leaf's classification, fed the decoded bytes
	                       * (not finished; NULL: none, see early_cls_job); the caller's now */
};

/* early_take - end of input: wait for the worker (at most until deadline,
 * monotonic microseconds; then it is cancelled) and hand over what it
 * stored. False: nothing stored (no leaf, not decodable whole, store
 * error, cancelled); what it stored then is already deleted. */
bool early_take(struct msg *m, gint64 deadline, struct early_leaf *out);

/* early_free - cancel and join the worker, delete everything it stored
 * and not handed over; NULL ok */
void early_free(struct early *e);

/* early_cls_job - a classify job for the leaf with the header block hdr
 * (its lines without line ends, each followed by '\n'), named and typed as
 * classify_message_gmime_defer names the part when it defers it: its file
 * name by GMime's parse of the block, its MIME type; NULL when it has no
 * file name (the name is then its MIME path, not known here) or no job is
 * wanted. End of message uses it only when the names agree
 * (classify_pending_match). early_cls.c */
struct classify_job *early_cls_job(const struct classify_ctx *ctx, const char *hdr);

/* early_leaf_range - the spool byte range [start, end) of the leaf the
 * worker reads, once the leaf has ended, when no line of it starts with '-'
 * (so no line in it can be a boundary to GMime's parser either): end of
 * message may parse the spool without these bytes (run_parse_excised) */
bool early_leaf_range(struct early *e, uint64_t *start, uint64_t *end);

#endif
