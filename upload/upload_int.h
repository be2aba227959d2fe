/*
 * upload_int.h - PRIVATE to upload/: offload-upload, the daemon that takes
 * citizen replies through a transfer's reply link (issue 13; DECISIONS.md
 * §14). A separate program and user from offload-portal: it needs store
 * write access and mail submission, the download portal keeps neither.
 *
 *   GET      /u/<src>                    the upload page (upload_page.c)
 *   GET      /u/static/upload.js|.css
 *   OPTIONS  /u/...                      tus capabilities
 *   POST     /u/<src>                    JSON {message, count, total} -> 201 {"upload": id}
 *   POST     /u/<src>/<id>               tus creation: Upload-Length, Upload-Metadata
 *                                        "filename <b64>,index <b64>" -> 201 Location
 *   HEAD     /u/<src>/<id>/<n>           tus: Upload-Offset, Upload-Length
 *   PATCH    /u/<src>/<id>/<n>           tus: Upload-Offset, body = whole 64 KiB segments
 *                                        (the last chunk ends at Upload-Length)
 *   POST     /u/<src>/<id>/commit        manifest, mail to the sender -> {"state":"sent"};
 *                                        repeated: the same answer (the group's sent form);
 *                                        one at a time (upload_claim.c), else 503 busy
 *   DELETE   /u/<src>/<id>/<n>           tus termination: file n of an unsent reply -> 204
 *   DELETE   /u/<src>/<id>               the whole unsent reply -> 204 (upload_term.c)
 *
 * Every request but the page and OPTIONS carries the reply token in
 * "Offload-Reply-Token" (transfer_reply.h), checked against <src>'s manifest,
 * or, when <src> has none, the token of a standalone upload link "<src>/l"
 * (transfer_uplink.h, upload_link.c).
 * Stateless: every node continues any upload (transfer_tus.h).
 * Thread safety: one thread per connection; struct upload is read-only after
 * start but for the rate table (mutex).
 */
#ifndef OFFLOAD_UPLOAD_INT_H
#define OFFLOAD_UPLOAD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <microhttpd.h>

#include "audit.h"
#include "conf.h"
#include "envelope.h"
#include "keys.h"
#include "storage.h"
#include "transfer_escrow.h"
#include "transfer_reply.h"
#include "transfer_tus.h"

#define UPLOAD_MAX_JSON 16384u
#define UPLOAD_CONN_TIMEOUT 60u
#define UPLOAD_RL_WINDOW 3600
#define UPLOAD_COMMIT_MARGIN 60 /* s: a commit's work besides its mail ([notify] timeout) */

struct upload {
	struct conf *c;
	struct storage *st;
	struct audit *audit;
	struct key32 dk;
	struct transfer_escrow_key escrow;
	struct MHD_Daemon *d;
	GMutex rl_lock;
	GHashTable *rl;          /* char * -> struct upload_rl * */
	char *test_hold;         /* OFFLOAD_UPLOAD_TEST_HOLD: a directory (upload_hold) */
};

struct upload_rl {
	int64_t start;
	unsigned count;
};

enum ureq_kind { UR_NONE, UR_JSON, UR_PATCH };

/* one request */
struct ureq {
	enum ureq_kind kind;
	GByteArray *body;                 /* UR_JSON */
	bool too_big;
	struct transfer_tus_chunk *chunk; /* UR_PATCH */
	struct tus_file file;
	int err;                          /* first failure while the body streamed */
	char src[ENVELOPE_ID_TEXT_LEN + 1], id[ENVELOPE_ID_TEXT_LEN + 1];
	char *client;
};

/* upload_http.c */
enum MHD_Result upload_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
	const char *body, size_t len, const char *const *headers);
/* upload_json_error - {"error": code, "message": text}; text may be NULL */
enum MHD_Result upload_json_error(struct MHD_Connection *conn, unsigned status, const char *code,
	const char *text);
/* upload_rl_take - count one event of key; FALSE when limit was reached */
bool upload_rl_take(struct upload *u, const char *key, unsigned limit);
/* upload_rl_return - give back the event taken for a start that failed */
void upload_rl_return(struct upload *u, const char *key);
/* upload_auth - the reply token of the request against src: tombstone, manifest
 * header MAC, expiry, verifier. 0, or the HTTP status to answer (answered:
 * *rc set); *expires = the source's expiry */
int upload_auth(struct upload *u, struct MHD_Connection *conn, const char *src, int64_t *expires,
	enum MHD_Result *rc);
/* upload_group - the group state of id, bound to src; FALSE when answered */
bool upload_group(struct upload *u, struct MHD_Connection *conn, const char *src, const char *id,
	struct tus_group *g, enum MHD_Result *rc);

/* upload_tus.c */
/* upload_send_offsets - Upload-Offset, Upload-Length and Offload-State of f, and for a
 * refused file Offload-Refused: infected, unscannable or damaged (its stored
 * object was found damaged at the commit) */
enum MHD_Result upload_send_offsets(struct MHD_Connection *conn, unsigned status,
	const struct tus_file *f);
enum MHD_Result upload_handle_start(struct upload *u, struct MHD_Connection *conn,
	struct ureq *rq, const char *src);
enum MHD_Result upload_handle_create(struct upload *u, struct MHD_Connection *conn,
	const char *src, const char *id);
enum MHD_Result upload_handle_head(struct upload *u, struct MHD_Connection *conn,
	const char *src, const char *id, uint32_t n);
/* PATCH: begin (first call, headers), data, end */
enum MHD_Result upload_patch_begin(struct upload *u, struct MHD_Connection *conn, struct ureq *rq,
	uint32_t n, bool *answered);
void upload_patch_data(struct ureq *rq, const char *data, size_t len);
enum MHD_Result upload_patch_end(struct upload *u, struct MHD_Connection *conn, struct ureq *rq);

/* upload_resend.c */
/* upload_resend_from - a stored part of the file is lost or damaged: the file
 * goes back to offset from (transfer_tus_rewind, state written, its "resent"
 * count up one) and the answer is 409 "parts" with that Upload-Offset; after
 * [upload] resends times it is refused for good instead (422 "damaged", its
 * state refused with detail "damaged", its parts and object deleted, an
 * audit line); 503 when the store fails */
enum MHD_Result upload_resend_from(struct upload *u, struct MHD_Connection *conn,
	struct ureq *rq, uint64_t from);
/* upload_hold - tests only: with OFFLOAD_UPLOAD_TEST_HOLD=DIR set when the
 * daemon started, wait at the point named (printf format) while DIR/<name>
 * exists (at most a minute), DIR/<name>.held meanwhile; else nothing.
 * Points: join<n>r<resent> (before file n's join), commit-<step> (before a
 * commit's step), tail<n>p<parts> (a PATCH of multipart file n that leaves
 * tail part objects after <parts> parts, its state stored, before its answer) */
void upload_hold(struct upload *u, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* upload_finish.c */
/* upload_file_complete - join and scan a file whose last byte arrived; the
 * answer to its last PATCH */
enum MHD_Result upload_file_complete(struct upload *u, struct MHD_Connection *conn,
	struct ureq *rq);
enum MHD_Result upload_handle_commit(struct upload *u, struct MHD_Connection *conn,
	const char *src, const char *id);

/* upload_claim.c */
/* upload_commit_claim - make this the one commit of reply id that runs (the
 * once marker "<id>/ocommit", or the next generation when the newest one
 * outlived its lease without being renewed): 1 claimed (*gen set), 0
 * another commit holds it, or a storage error code */
int upload_commit_claim(struct upload *u, const char *id, const struct tus_group *g, unsigned *gen);
/* upload_commit_renew - before the long step named (a copy, the manifest,
 * the mail): the claim gen rewritten (its lease from now), then 1 it is
 * still this commit's, 0 a newer generation took over (stop: no mail), or
 * a storage error code */
int upload_commit_renew(struct upload *u, const char *id, unsigned gen, const char *step);
/* upload_commit_release - the commit failed before its mail, or lost its
 * claim: delete its marker */
void upload_commit_release(struct upload *u, const char *id, unsigned gen);
/* the commit lost its claim to a newer one (upload_commit_renew 0) */
#define UPLOAD_LOST 2

/* upload_renumber.c */
/* upload_renumber - the accepted file f goes into the new transfer as file p
 * (< f->index: a file before it was refused): "<id>/<p>" written from
 * "<id>/<f->index>" under a key derived from f's (out), or kept when a
 * repeated commit finds it complete; storage error code (the store failed:
 * try again), or UPLOAD_DAMAGED: the source object is missing or does not
 * verify, and no copy is whole (for ever: the file cannot be taken) */
#define UPLOAD_DAMAGED 1
int upload_renumber(struct storage *st, const char *id, const struct tus_file *f, uint32_t p,
	unsigned char key_out[32]);

/* upload_term.c */
/* upload_sent_file - file n of a sent reply g as a done (or refused: detail =
 * its verdict, if recorded) file state without key or name; FALSE when n is
 * not one of its files */
bool upload_sent_file(const struct tus_group *g, uint32_t n, struct tus_file *f);
/* upload_handle_delete - tus termination of file n (all: the whole reply) */
enum MHD_Result upload_handle_delete(struct upload *u, struct MHD_Connection *conn,
	const char *src, const char *id, bool all, uint32_t n);

/* upload_link.c: standalone upload links (FORMATS.md §6.11) */
/* upload_link_auth - src has no manifest: its "<src>/l" with the token; 0 or
 * the HTTP status; *expires = the new transfer's expiry (now + retention) */
int upload_link_auth(struct upload *u, const char *src, const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN],
	int64_t *expires);
/* upload_link_address - the clerk of src's upload link and its note (both
 * g_malloc'ed); NULL when src is no upload link or the token does not open it */
char *upload_link_address(struct upload *u, const char *src, const char *token_text, char **note);

/* upload_page.c */
enum MHD_Result upload_handle_page(struct upload *u, struct MHD_Connection *conn, const char *src);
enum MHD_Result upload_handle_static(struct MHD_Connection *conn, const char *name);

/* upload_main.c */
struct upload *upload_new(struct conf *c, GError **err);
int upload_start(struct upload *u, GError **err);
void upload_free(struct upload *u);

#endif
