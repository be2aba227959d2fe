/*
 * classify.h - data-protection classification (DECISIONS.md §5): labels in
 * headers, content detectors with check digits, bounded text extraction of
 * attachments, and the per-class policy.
 *
 * Use:
 *   ctx = classify_new(conf, &err);            once; read-only afterwards,
 *                                              shared by all threads
 *   classify_result_init(&r);
 *   classify_header(ctx, name, value, &r);     per header (labels), or
 *   classify_headers_gmime(ctx, obj, &r);
 *   classify_buffer()/classify_stream()/classify_fd() per attachment into a
 *   part result, classify_combine(ctx, &r, &part) into the message result, or
 *   classify_message_gmime(ctx, msg, outgoing, &r) for a whole parsed message,
 *   or classify_message_gmime_defer() when the caller streams some leaf
 *   parts anyway (the milter's offload pass) and classifies them there:
 *   classify_pending_job() ... classify_job_feed() ... classify_pending_finish();
 *   classify_finish(ctx, &r, outgoing);        floor level + policy
 *   ... r.level, r.reasons, r.action, r.body_action, r.notice_filenames ...
 *   classify_result_clear(&r);
 *
 * Memory: a result owns its strings, findings and parts; level/true_type
 * names point into the ctx (valid while the ctx lives) or static storage.
 * Thread safety: a ctx is immutable after classify_new() (libmagic sits
 * behind a mutex); results belong to one thread.
 */
#ifndef OFFLOAD_CLASSIFY_H
#define OFFLOAD_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "conf.h"

enum classify_action {
	CLASSIFY_PASS,
	CLASSIFY_LABEL,
	CLASSIFY_OFFLOAD,
	CLASSIFY_OFFLOAD_PASSWORD,
	CLASSIFY_REJECT,
};

enum classify_body_action {
	CLASSIFY_BODY_KEEP,
	CLASSIFY_BODY_OFFLOAD_MESSAGE,
	CLASSIFY_BODY_REJECT,
};

/* one finding, for --explain: never the clear value */
struct classify_finding {
	char *reason;   /* "iban", "label:msip=Vertraulich", "bomb-limit" */
	char *where;    /* "report.docx: word/document.xml offset 120" */
	char *masked;   /* "DE89 **** **** **** **30 00", or a detail text */
};

struct classify_reason {
	char *name;
	unsigned count;
};

struct classify_result {
	/* the original seam (pipeline/pipeline.c) */
	const char *level;   /* configured level name, upper-case ASCII */
	char *reasons;       /* "iban:3,art9-health:2,label:msip=Vertraulich"; "" = none */
	bool offload;        /* the class itself demands offloading */
	/* classification */
	int level_index;     /* index into the configured levels; -1 = nothing found yet */
	bool vs;             /* a VS marking (separate rule, default reject) */
	enum classify_action action;
	enum classify_body_action body_action;
	bool notice_filenames;  /* true = show file names in the notice */
	bool password;       /* action == offload+password */
	uint64_t retention;  /* seconds for this class; 0 = [policy] retention */
	uint64_t max_retention; /* latest expiry of an extension; 0 = [policy] max_retention */
	int receipts;        /* download receipts: enum transfer_receipts ([classify] receipts, else [notify]) */
	/* details */
	char *name;          /* part / file name (g_malloc'ed), may be NULL */
	char *path;          /* MIME part path "1.2.1" of entries in parts, else NULL */
	const char *true_type;  /* libmagic MIME type, NULL when not typed */
	char *declared_type; /* may be NULL */
	GArray *reason_list; /* struct classify_reason, in order of first finding */
	GPtrArray *findings; /* struct classify_finding * */
	GPtrArray *parts;    /* struct classify_result * of contained parts */
	bool pending;        /* a part left for the caller's stream (not classified yet) */
	uint64_t decoded;    /* bytes of part content decoded into classify jobs (all parts) */
};

struct classify_ctx;

/* classify_new - settings from conf ([classify] group); NULL + *err on a bad value */
struct classify_ctx *classify_new(const struct conf *c, GError **err);
void classify_free(struct classify_ctx *ctx);

/* number and names of the configured levels, lowest first */
size_t classify_level_count(const struct classify_ctx *ctx);
const char *classify_level_name(const struct classify_ctx *ctx, int index);
const char *classify_action_name(enum classify_action a);
const char *classify_body_action_name(enum classify_body_action a);
/* classify_reject_text - ASCII German + English 5xx text for a VS rejection */
const char *classify_reject_text(void);

void classify_result_init(struct classify_result *res);
void classify_result_clear(struct classify_result *res);

/* classify_message - size-only seam: OFFEN (outgoing) / INTERN, no findings */
void classify_message(bool outgoing, struct classify_result *res);

/* classify_header - label inputs of one header field (Sensitivity, msip_labels,
 * Subject, SIO-Label, X-Protective-Marking ...); value may be folded */
void classify_header(const struct classify_ctx *ctx, const char *name, const char *value,
	struct classify_result *res);
/* classify_headers_gmime - all headers of a message or part */
void classify_headers_gmime(const struct classify_ctx *ctx, GMimeObject *obj,
	struct classify_result *res);

/*
 * One attachment, bounded: true type, mismatch/executable findings, text
 * extraction and detectors. res must be initialised; it is filled as a part
 * result (policy computed without floor). 0 ok, -1 read error (logged).
 */
int classify_buffer(const struct classify_ctx *ctx, const char *name, const char *declared_type,
	const void *data, size_t len, struct classify_result *res);
int classify_stream(const struct classify_ctx *ctx, const char *name, const char *declared_type,
	GMimeStream *stream, struct classify_result *res);
int classify_fd(const struct classify_ctx *ctx, const char *name, const char *declared_type,
	int fd, struct classify_result *res);

/* streaming form of the above, for the pass that also hashes/encrypts:
 * memory is bounded by [classify] max_text; beyond it text is scanned in
 * windows and containers are reported as not-inspectable. */
struct classify_job;
struct classify_job *classify_job_new(const struct classify_ctx *ctx, const char *name,
	const char *declared_type);
void classify_job_feed(struct classify_job *job, const void *data, size_t len);
/* classify_job_done - true once more input cannot change the result (a
 * container over max_text): the caller may stop feeding */
bool classify_job_done(const struct classify_job *job);
/* classify_job_finish - result into res (initialised by the caller); frees job */
void classify_job_finish(struct classify_job *job, struct classify_result *res);
/* classify_job_discard - frees job without a result; NULL ok */
void classify_job_discard(struct classify_job *job);

/* classify_text - detectors only, on UTF-8 text (message bodies) */
void classify_text(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	struct classify_result *res);

/* classify_message_gmime - headers, body text and every part; each leaf part
 * becomes an entry of res->parts; ends with classify_finish() */
void classify_message_gmime(const struct classify_ctx *ctx, GMimeMessage *msg, bool outgoing,
	struct classify_result *res);

/*
 * Single pass (issue 4): the caller names the leaf parts it decodes anyway
 * (attachments offloaded by size); classify_message_gmime_defer() then
 * records them in res->parts as pending (name, path, declared type; not
 * decoded, not counted) and classifies everything else. For each pending
 * part the caller feeds the same decoded bytes it hashes and encrypts to
 * classify_pending_job() and hands the job to classify_pending_finish(),
 * which fills the part and combines it into res; classify_finish() then
 * gives the final level. defer is asked for the top-level message's
 * GMimePart leaves only (never for attached messages or their contents).
 */
typedef bool (*classify_defer_fn)(GMimeObject *part, const char *path, void *arg);
void classify_message_gmime_defer(const struct classify_ctx *ctx, GMimeMessage *msg, bool outgoing,
	classify_defer_fn defer, void *arg, struct classify_result *res);
/* classify_pending_job - a job for the pending part at path, named like the part */
struct classify_job *classify_pending_job(const struct classify_ctx *ctx,
	const struct classify_result *res, const char *path);
/* classify_pending_match - job was made with the name and declared type
 * classify_pending_job gives the pending part at path (a job the caller
 * started before the part was known, e.g. while the body arrived) */
bool classify_pending_match(const struct classify_result *res, const char *path,
	const struct classify_job *job);
/* classify_pending_finish - the job's result becomes the pending part at path
 * and is combined into res (frees job); call classify_finish() afterwards */
void classify_pending_finish(const struct classify_ctx *ctx, struct classify_result *res,
	const char *path, struct classify_job *job);
/* classify_pending_count - parts of res still pending */
unsigned classify_pending_count(const struct classify_result *res);

/* classify_combine - dst = maximum of dst and src (labels never downgraded),
 * reasons summed, findings copied; src unchanged (not added to dst->parts) */
void classify_combine(const struct classify_ctx *ctx, struct classify_result *dst,
	const struct classify_result *src);

/* classify_finish - apply the floor (OFFEN outgoing, INTERN internal-only)
 * and compute level, action, body_action, notice_filenames, offload, reasons */
void classify_finish(const struct classify_ctx *ctx, struct classify_result *res, bool outgoing);

#endif
