/*
 * transfer.h - one message's offloaded files as stored objects
 * (DECISIONS.md §6): "<id>/<n>" encrypted file objects, written first, then
 * the manifest "<id>/m" last, so a manifest never points at missing files.
 * Abort deletes whatever was committed. The read side opens a manifest with
 * the link secret and streams files back, failing closed.
 * A struct transfer belongs to one thread.
 */
#ifndef OFFLOAD_TRANSFER_H
#define OFFLOAD_TRANSFER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "envelope.h"
#include "keys.h"
#include "storage.h"
#include "transfer_info.h"
#include "transfer_notify.h"

struct transfer_file {
	uint32_t index;
	char *name;
	char *type;
	uint64_t size;
	char sha256[65];
	unsigned char key[ENVELOPE_KEY_LEN];
};

struct transfer {
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	/* the sender's revoke secret (DECISIONS.md §6): same text form as the link
	 * secret, random, only its hash goes into the clear header; set by
	 * transfer_new (empty in a transfer opened from storage) */
	char revoke_secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	int64_t created, expires;
	/* latest expiry an extension may set (created + the class's max_retention),
	 * recorded in the state object at commit; 0 = not recorded */
	int64_t max_expires;
	GPtrArray *files;       /* struct transfer_file * */
	char *sender, *subject, *message_id, *class_;
	GPtrArray *rcpts;       /* char * */
	struct storage *st;     /* borrowed */
	GPtrArray *committed;   /* keys committed so far (for abort) */
	bool sealed;
	/* optional password (transfer_set_password): generated, never stored;
	 * wiped by transfer_free. kdf_*: Argon2id parameters written to the
	 * clear header (0 without a password) */
	char *password;
	uint32_t kdf_m, kdf_t, kdf_p;
	/* archive escrow key (transfer_escrow.h), borrowed; NULL or unset = no "<id>/e" */
	const struct transfer_escrow_key *escrow;
	/* the info object "<id>/i" (transfer_info.h), written by
	 * transfer_commit when it is not all zero */
	struct transfer_info info;
	/* reply link (transfer_reply.h): the sender address sealed into "<id>/r"; borrowed, NULL = none */
	const char *reply_to;
	/* agreed recipient secrets (transfer_agreed.h): X is the pwhash and
	 * "<id>/k" wraps it per recipient; owned, wiped by transfer_free; NULL = none */
	struct transfer_agreed *agreed;
	/* receipts, reminders, brute-force notices (transfer_notify.h): the sender
	 * address sealed into "<id>/n" with the receipt mode; borrowed, NULL = no "n" */
	const char *notify_to;
	enum transfer_receipts receipts;
};


struct transfer_upload;
struct transfer_escrow_key;

struct transfer *transfer_new(struct storage *st, int64_t now, uint64_t retention);
void transfer_free(struct transfer *t); /* wipes keys; NULL ok */

/* transfer_upload_begin - start file number t->files->len; storage error
 * code in *errp on failure */
struct transfer_upload *transfer_upload_begin(struct transfer *t, const char *name,
	const char *type, int *errp);
int transfer_upload_write(struct transfer_upload *u, const void *buf, size_t len);
uint64_t transfer_upload_size(const struct transfer_upload *u);
/* transfer_upload_commit - finish, commit the object, add the file to t;
 * frees u in all cases; a storage error code on failure */
int transfer_upload_commit(struct transfer_upload *u);
void transfer_upload_abort(struct transfer_upload *u); /* NULL ok */

/* transfer_commit - store the escrow object (when t->escrow is set), then seal and
 * store the manifest; storage error code */
int transfer_commit(struct transfer *t, const struct key32 *dk);
/* transfer_abort - delete every object committed so far (best effort) */
void transfer_abort(struct transfer *t);
char *transfer_link(const struct transfer *t, const char *portal_url);
/* transfer_revoke_link - "<portal_url>/r/<id>#<revoke_secret>", g_malloc'ed;
 * for the sender's confirmation mail only */
char *transfer_revoke_link(const struct transfer *t, const char *portal_url);
/* read side -------------------------------------------------------- */
/* transfer_valid_id - 24 characters of the id alphabet */
bool transfer_valid_id(const char *id);
/* transfer_get_manifest - the raw manifest object (capped at 16 MiB);
 * storage error code (STORAGE_ENOENT when missing) */
int transfer_get_manifest(struct storage *st, const char *id, GByteArray **obj);
/* transfer_open_obj - open a manifest object with TK (from
 * transfer_derive_key); NULL with *err (G_IO_ERROR_PERMISSION_DENIED when
 * the key is wrong or the header MAC fails). dk NULL: no header MAC check,
 * TK alone (archive escrow, FORMATS.md §1.3) */
struct transfer *transfer_open_obj(struct storage *st, const struct key32 *dk,
	const char *id, const unsigned char *obj, size_t len, const unsigned char tk[32],
	GError **err);
/* transfer_open_pw - transfer_open() with a password (NULL = none) */
struct transfer *transfer_open_pw(struct storage *st, const struct key32 *dk,
	const char *id, const char *secret, const char *password, GError **err);

/* transfer_parse_link - ".../t/<id>#<secret>" or "<id>#<secret>" */
int transfer_parse_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1]);
/* transfer_parse_revoke_link - ".../r/<id>#<revoke secret>"; 0 or -1 */
int transfer_parse_revoke_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1]);
/* transfer_open - load and decrypt the manifest; NULL with *err */
struct transfer *transfer_open(struct storage *st, const struct key32 *dk,
	const char *id, const char *secret, GError **err);

#endif
