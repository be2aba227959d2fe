/*
 * rewrite.h - MIME tree surgery for one message (DECISIONS.md §4): find the
 * leaf parts to offload, stream them into the transfer, remove them, put
 * the notice into the first text/plain and text/html bodies (or insert a
 * text/plain part first), and write the new body. Parts that are not
 * touched are written back from the spool as they were.
 * One struct rewrite per message and thread.
 */
#ifndef OFFLOAD_REWRITE_H
#define OFFLOAD_REWRITE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "classify.h"
#include "conf.h"
#include "scan.h"
#include "transfer.h"

enum rewrite_rc {
	REWRITE_OK = 0,
	REWRITE_SIGNED = 1, /* signed or encrypted top level: signed_mail policy */
	REWRITE_LIMIT = 2,  /* MIME depth or part count over the limit */
	REWRITE_REDO = 3,   /* rewrite_offload stopped: rw->stop said the decision changed */
	REWRITE_SCAN = 4,   /* [scan]: an attachment decides the message (rw->scan->action) */
	REWRITE_ERROR = -1,
};

struct rewrite {
	const struct conf *conf;
	const char *qid;
	GMimeMessage *message;
	const char *spool_dir;
	struct transfer *t;
	GPtrArray *candidates;    /* struct rewrite_leaf *: every leaf part, in order */
	gint64 deadline;          /* g_get_monotonic_time() limit for storing, 0 = none */
	bool force_all;           /* the class demands it: every attachment, whatever its size */
	bool whole_message;       /* body_action offload-message: the body becomes the notice */
	bool hide_names;          /* notice_filenames = hide */
	/* single pass (issue 4): leaves offloaded by size are classified in
	 * their offload stream into cls (the message result, see
	 * classify_message_gmime_defer) instead of being decoded twice */
	const struct classify_ctx *cls_ctx;
	struct classify_result *cls;
	GHashTable *by_obj;       /* GMimeObject * -> struct rewrite_leaf * */
	/* asked after a streamed leaf was classified: true = the final class
	 * changes the decision taken, stop (REWRITE_REDO) */
	bool (*stop)(void *arg);
	void *stop_arg;
	uint64_t offloaded_bytes;
	uint64_t decoded_bytes;   /* attachment bytes decoded here, over all passes */
	char *new_top_ct;         /* set when the top-level part was replaced */
	char *new_top_cte;
	unsigned nparts;
	struct scan_report *scan; /* [scan] outgoing: one entry per scanned attachment */
	char *request_link;       /* [upload] request_marker: the sender's upload link (wiped) */
	char *request_for;        /* ... and the sender it is for */
	/* signed_mail (issue 14 item 3): open_signed = look into
	 * multipart/signed (offload, reject); signed_opened = one was opened */
	bool open_signed;
	bool signed_opened;
};

/* rewrite_request - nothing to offload, but the subject marker asks for an
 * upload request: the request notice goes into the bodies (rewrite_request.c),
 * the new body into *body_path; 0 or -1 with *err */
int rewrite_request(struct rewrite *rw, int *body_fd, char **body_path, char **err);
/* rewrite_scan - walk the tree, check signed mail and limits, list leaves */
int rewrite_scan(struct rewrite *rw, char **err);
/* rewrite_defer - classify_defer_fn for classify_message_gmime_defer(),
 * arg = the scanned struct rewrite: true for an attachment that is
 * offloaded by size (the one rule, also used by rewrite_has_work and
 * rewrite_offload); its classification then happens in its offload stream */
bool rewrite_defer(GMimeObject *part, const char *path, void *arg);
/* rewrite_has_work - a leaf reaches offload_min_size or the message is
 * over max_outgoing_size */
bool rewrite_has_work(const struct rewrite *rw, uint64_t msg_size);
/* rewrite_offload - stream every leaf over the threshold into rw->t, then,
 * while the message would exceed max_outgoing_size, the largest others.
 * A deferred leaf's decoded bytes also go to its classify job, and its
 * result is combined into rw->cls (the caller runs classify_finish) */
int rewrite_offload(struct rewrite *rw, uint64_t msg_size, char **err);
/* rewrite_classify_pending - classify deferred leaves no offload stream
 * read (offload-message, store errors) by decoding them now */
void rewrite_classify_pending(struct rewrite *rw);
/* rewrite_adopt - early offload (early.h): the file stored while the body
 * arrived, spool bytes [start, end) decoded to size bytes, is the leaf this
 * round stores first (a base64 GMimePart with exactly that content range in
 * the spool; not offload-message, no [scan] outgoing, rw->t not started).
 * True: the leaf is marked; rewrite_offload then makes file 0 of rw->t (the
 * adopted transfer's) that leaf instead of streaming it, and job (the
 * leaf's classification fed while the body arrived, NULL: none) stands in
 * for decoding it again. job is taken either way. */
bool rewrite_adopt(struct rewrite *rw, uint64_t start, uint64_t end, uint64_t size,
	struct classify_job *job);
/* rewrite_early_job - the classify job the early worker fed the decoded
 * bytes of spool range [start, end) (early_take; size bytes), for a round
 * that does not adopt its file (offload-message): the deferred leaf with
 * exactly that content range classifies through it (as an adopted one
 * does) instead of decoding again, unless the job stopped early
 * (classify_job_done: then decoding again is short). job is taken. */
void rewrite_early_job(struct rewrite *rw, uint64_t start, uint64_t end, uint64_t size,
	struct classify_job *job);
/* rewrite_adopt_left - a marked leaf rewrite_offload did not reach (its
 * file would be listed without being removed from the message) */
bool rewrite_adopt_left(const struct rewrite *rw);
/* rewrite_reset - forget what was offloaded (the transfer was aborted and
 * is redone with another decision); classification results stay */
void rewrite_reset(struct rewrite *rw);
/* rewrite_apply - change the tree and write the new body (CRLF) to a
 * nameless file in spool_dir (spool_tmp.h): the caller owns *body_fd and
 * *body_path (g_malloc'ed) and releases both with spool_tmp_drop() */
int rewrite_apply(struct rewrite *rw, const char *link, int *body_fd, char **body_path, char **err);
/* rewrite_write - write the tree as it is (a converted winmail.dat, nothing offloaded) like
 * rewrite_apply, without a notice */
int rewrite_write(struct rewrite *rw, int *body_fd, char **body_path, char **err);
void rewrite_clear(struct rewrite *rw);

#endif
