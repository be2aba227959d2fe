/*
 * portal_int.h - PRIVATE to portal/: struct portal and the helpers the
 * request handlers share (portal_http.c routes, portal_request.c answers,
 * portal_unlock.c, portal_revoke.c, portal_download.c, portal_letter_http.c
 * handle).
 */
#ifndef OFFLOAD_PORTAL_INT_H
#define OFFLOAD_PORTAL_INT_H

#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <microhttpd.h>

#include "audit.h"
#include "conf.h"
#include "envelope.h"
#include "keys.h"
#include "portal_http.h"
#include "portal_pages.h"
#include "portal_ticket.h"
#include "storage.h"

#define PORTAL_MAX_BODY 4096u
/* seconds without any progress (request bytes in, response bytes out) after
 * which libmicrohttpd closes a connection (was 60: slow clients held threads) */
#define PORTAL_CONN_TIMEOUT 15u
#define PORTAL_BUF (256u * 1024)
#define CSP_PAGE "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " \
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
#define CSP_DOWNLOAD "sandbox; default-src 'none'"
#define RL_IP_WINDOW 600
#define RL_PW_WINDOW 3600

struct portal {
	struct conf *c;
	struct storage *st;
	struct audit *audit;
	struct key32 dk;
	struct portal_ticket_keys tkeys;
	struct MHD_Daemon *d;
	char *origin;            /* scheme://host[:port] of [portal] url */
	GMutex rl_lock;
	GHashTable *rl;          /* char * -> struct rl_entry * */
	gint kdf_running;
	gint letter_running;      /* letters held in memory (portal_letter_http.c) */
};

struct rl_entry {
	int64_t start;
	unsigned count;
};

struct req {
	GByteArray *body;
	gboolean too_big;
};

enum tstate { TS_LIVE = 200, TS_NOTFOUND = 404, TS_GONE = 410, TS_ERROR = 503 };

/* ---- portal_http.c: clock, peer, rate limits ---- */
int64_t portal_now(void);
/* portal_client_addr - the peer, or the last X-Forwarded-For hop when the
 * peer is a trusted proxy; g_malloc'ed */
char *portal_client_addr(struct portal *p, struct MHD_Connection *conn);
/* portal_rl_count - failures recorded for key in the current window */
unsigned portal_rl_count(struct portal *p, const char *key, int64_t window, int64_t *retry);
void portal_rl_fail(struct portal *p, const char *key, int64_t window);

/* ---- portal_request.c: responses and shared checks ---- */
void portal_header(struct MHD_Response *r, const char *name, const char *value);
/* portal_common_headers - Referrer-Policy, nosniff, DENY framing, CORP */
void portal_common_headers(struct MHD_Response *r);
enum MHD_Result portal_send_buf(struct MHD_Connection *conn, unsigned status, const char *ctype,
	const char *body, size_t len, const char *cache, const char *retry_after);
enum MHD_Result portal_send_page(struct portal *p, struct MHD_Connection *conn, unsigned status,
	enum portal_lang lang, const char *self);
/* portal_send_json_error - {"error":"<error>"}; Retry-After on 429 */
enum MHD_Result portal_send_json_error(struct MHD_Connection *conn, unsigned status,
	const char *error, int64_t retry);
enum MHD_Result portal_send_text(struct MHD_Connection *conn, unsigned status, const char *text);
/* portal_framing_ok - no ambiguous body framing (two different Content-Lengths,
 * Content-Length with Transfer-Encoding, white space in those header names) and,
 * unless body_allowed, no body at all (portal_framing.c) */
gboolean portal_framing_ok(struct MHD_Connection *conn, gboolean body_allowed);
enum portal_lang portal_req_lang(struct MHD_Connection *conn);
/* portal_transfer_state - tombstone, manifest presence, header MAC, expiry.
 * On TS_LIVE *h is the verified clear header and *objp (if not NULL) the
 * manifest object (caller frees). */
enum tstate portal_transfer_state(struct portal *p, const char *id, struct envelope_header *h,
	GByteArray **objp);
/* portal_origin_ok - no Origin, or ours, or the Host's own */
gboolean portal_origin_ok(struct portal *p, struct MHD_Connection *conn);
char *portal_rfc3339(int64_t t);
/* portal_post_check - what a JSON POST checks after its Origin: body size
 * (413), Content-Type (415), the failure budget of ipkey (429), the id
 * (404). FALSE when answered (*rc) */
gboolean portal_post_check(struct portal *p, struct MHD_Connection *conn, const char *id,
	const struct req *rq, const char *ipkey, enum MHD_Result *rc);
/* portal_post_json - the request body parsed as a JSON object (caller
 * unrefs); NULL when it is none (answer 400) */
JsonParser *portal_post_json(const struct req *rq);
/* portal_post_string - a string member of the body object, g_malloc'ed
 * (the caller wipes secrets); NULL when missing or not a string */
char *portal_post_string(JsonParser *jp, const char *name);
/* portal_post_int - an integer member of the body object into *out; FALSE
 * (*out unchanged) when missing or not a JSON integer */
gboolean portal_post_int(JsonParser *jp, const char *name, gint64 *out);

/* ---- handlers (portal_unlock.c, portal_revoke.c, portal_download.c) ---- */
enum MHD_Result portal_handle_page(struct portal *p, struct MHD_Connection *conn, const char *id);
enum MHD_Result portal_handle_unlock(struct portal *p, struct MHD_Connection *conn, const char *id,
	struct req *rq);
enum MHD_Result portal_handle_revoke_page(struct portal *p, struct MHD_Connection *conn,
	const char *id);
enum MHD_Result portal_handle_revoke(struct portal *p, struct MHD_Connection *conn, const char *id,
	struct req *rq);
enum MHD_Result portal_handle_download(struct portal *p, struct MHD_Connection *conn,
	const char *text, gboolean head);
/* portal_download_range - the request's Range header against size (one
 * range, portal_range.h): 206 with *start, *len and Content-Range value cr,
 * or 200 with the whole [0, size); FALSE when answered with 416 (*rc) */
gboolean portal_download_range(struct MHD_Connection *conn, uint64_t size, uint64_t *start,
	uint64_t *len, unsigned *status, char cr[96], enum MHD_Result *rc);
/* portal_revoke.c, shared with the sender page: a browser's proof of origin
 * (Origin ours, Sec-Fetch-Site same-origin); the header of a live transfer
 * (FALSE when answered, *rc) */
gboolean portal_revoke_origin_ok(struct portal *p, struct MHD_Connection *conn);
gboolean portal_revoke_live(struct portal *p, struct MHD_Connection *conn, const char *id,
	struct envelope_header *h, enum MHD_Result *rc);
/* ---- portal_sender.c: the sender page (FORMATS.md §6.4) ---- */
/* portal_handle_sender - POST /r/<id>/view and /r/<id>/extend (what = "view" | "extend") */
enum MHD_Result portal_handle_sender(struct portal *p, struct MHD_Connection *conn, const char *id,
	const char *what, struct req *rq);
/* portal_count_download - a completed response of a download ticket (bytes
 * start..start+len of total, all tags verified): count a download in the
 * state object once the responses under the tickets of one unlock (same
 * file key and not_after) have covered the whole file (or the ZIP of nfiles
 * files); ranges are remembered in this process until the tickets expire */
void portal_count_download(struct portal *p, const struct portal_ticket *tkt, uint64_t start,
	uint64_t len, uint64_t total, uint32_t nfiles, const char *client);
/* ---- portal_notify.c: the sender's mails (notify object, FORMATS.md §6.7, §6.8) ---- */
/* portal_notify_download - a download counted: a receipt as the transfer's
 * mode says (index PORTAL_TICKET_ALL = the ZIP of nfiles files) */
void portal_notify_download(struct portal *p, const char *id, uint32_t index, uint32_t nfiles,
	const char *name, const char *client);
/* portal_notify_bruteforce - the transfer's password limit tripped: tell the sender once */
void portal_notify_bruteforce(struct portal *p, const char *id, const char *client);
/* portal_letter_http.c: GET /l/<ticket> (the letter as JSON) and a part ticket's leaf */
enum MHD_Result portal_handle_letter(struct portal *p, struct MHD_Connection *conn, const char *text);
/* portal_handle_ticket - "/d/<ticket>" to portal_handle_download, "/l/<ticket>" to the letter */
enum MHD_Result portal_handle_ticket(struct portal *p, struct MHD_Connection *conn, const char *url,
	gboolean head);
enum MHD_Result portal_letter_send_part(struct portal *p, struct MHD_Connection *conn,
	const struct portal_ticket *t, gboolean head);

#endif
