/*
 * pipeline_int.h - internals shared by the pipeline_*.c files: the state of
 * one pipeline_run (struct run) and its steps. Each step either hands on
 * (true) or has set the result (false). Not for use outside pipeline/.
 */
#ifndef OFFLOAD_PIPELINE_INT_H
#define OFFLOAD_PIPELINE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "classify.h"
#include "pipeline.h"
#include "rewrite.h"
#include "transfer.h"
#include "transfer_digest.h"
#include "transfer_password.h"

struct run {
	struct pipeline *p;
	struct msg *m;
	struct pipeline_result *res;
	const char *qid;
	char *message_id;
	char *rcpts;
	struct classify_result cls;
	struct transfer *t;
	GMimeMessage *message;
	bool classified; /* the class demands offloading: never out in clear */
	int body_in_state;  /* 0 not computed, 1 body_in valid, -1 unreadable */
	unsigned char body_in[TRANSFER_BODY_DIGEST_LEN];  /* digest of the spooled body */
	unsigned char body_out[TRANSFER_BODY_DIGEST_LEN]; /* digest of the new body */
	bool outgoing;
	bool signed_top; /* signed or encrypted top level (REWRITE_SIGNED) */
	struct rewrite *rw; /* once the leaves are known */
	uint64_t pre_decoded; /* attachment bytes decoded by classification before the decision */
	int scan_rc;     /* rewrite_scan: REWRITE_OK, _SIGNED or _LIMIT */
	bool redone;     /* a store round was aborted and redone */
	unsigned tnef;   /* TNEF parts converted into MIME parts (tnef_convert.h) */
	char *err_text;  /* the last step's error text */
	char *link;      /* the download link (holds the link secret) */
};

enum run_change {
	RUN_SAME,  /* the decision in rw stands */
	RUN_MORE,  /* force_all became true: the attachments not stored yet go too */
	RUN_REDO,  /* whole_message changed (or force_all became false): start over */
};

/* pipeline_intake.c: size limit, direction and trust, our notices, already
 * offloaded (false: the message passes or fails here); the parse */
bool run_intake(struct run *r);
GMimeMessage *run_parse(struct run *r);
/* run_parse_stream - GMime's parse of a whole message in s (parts keep pointing into s) */
GMimeMessage *run_parse_stream(GMimeStream *s);
/* msg_outgoing - trusted sender and a recipient outside internal_domains (DECISIONS.md §4) */
bool msg_outgoing(const struct pipeline *p, const struct msg *m);
/* domain_is_internal - RCPT's domain is one of [policy] internal_domains */
bool domain_is_internal(const char *rcpt, char *const *internal);

/* pipeline_early.c: run_parse_excised - the parse of the spool (fs on fd)
 * without the bytes of the leaf early offload read (early_leaf_range), that
 * leaf's content put back as the spool range: the same tree as a parse of
 * the whole spool; NULL when there is no such leaf or its place is not found */
GMimeMessage *run_parse_excised(struct run *r, GMimeStream *fs, int fd);
/* the transfer early offload stored the first leaf of
 * this round into (rewrite_adopt marked it), else NULL; whatever it stored
 * and is not adopted is deleted now (early.h) */
struct transfer *run_early_adopt(struct run *r);
/* run_early_job - offload-message: the round adopts no early file, but the
 * deferred attachment the early worker read classifies through its job
 * (rewrite_early_job); what it stored is deleted now */
void run_early_job(struct run *r);
/* run_early_end - delete whatever early offload stored and nobody adopted */
void run_early_end(struct run *r);

/* pipeline_decide.c */
bool run_is_reject(const struct run *r);
enum run_change run_decide(struct run *r);
void run_classify_rest(struct run *r);
bool run_stop(void *arg);
bool run_first_decision(struct run *r);
bool run_classify_whole(struct run *r);

/* pipeline_request.c: the upload-request subject marker ([upload] request_marker) */
/* run_upload_request - marker in an outgoing subject: the sender's upload link into
 * rw->request_link, the marker out of the parsed subject; false when the run ends */
bool run_upload_request(struct run *r);
/* run_request_headers - the Subject without the marker (a header change) */
void run_request_headers(struct run *r);

/* pipeline_store.c: the store rounds, then the manifest */
/* run_storage - the store, opened now if it was unavailable before; NULL when it still is */
struct storage *run_storage(struct pipeline *p);
bool run_store(struct run *r);
bool run_commit(struct run *r);

/* pipeline_agreed.c: how a password class's password reaches the
 * recipients: agreed secrets (FORMATS.md §6.9), else a generated password,
 * refused at once (5.7.x) when nobody could receive it */
bool run_password_route(struct run *r);

/* pipeline_result.c: how the run ends */
void run_audit_message(struct run *r, const char *action, const char *reasons);
void run_reject(struct run *r);
/* run_drop_body - release the rewritten body (nothing when there is none) */
void run_drop_body(struct pipeline_result *res);
void run_fail(struct run *r, const char *why);
void run_pass(struct run *r, const char *action, const char *why);
void run_label_or_pass(struct run *r);
void run_signed_reject(struct run *r);
void run_limit_reject(struct run *r, const char *why);
void run_offloaded(struct run *r);
void run_converted(struct run *r);

#endif
