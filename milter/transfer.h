/*
 * transfer.h - one message's offloaded files as stored objects
 * (DESIGN.md §6): "<id>/<n>" encrypted file objects, written first, then
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
	int64_t created, expires;
	GPtrArray *files;       /* struct transfer_file * */
	char *sender, *subject, *message_id, *class_;
	GPtrArray *rcpts;       /* char * */
	struct storage *st;     /* borrowed */
	GPtrArray *committed;   /* keys committed so far (for abort) */
	bool sealed;
};

struct transfer_upload;

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

/* transfer_commit - seal and store the manifest; storage error code */
int transfer_commit(struct transfer *t, const struct key32 *dk);
/* transfer_abort - delete every object committed so far (best effort) */
void transfer_abort(struct transfer *t);
char *transfer_link(const struct transfer *t, const char *portal_url);
/* transfer_header_mac - the mac= of X-Offload-Transfer over Message-ID
 * and transfer id with the deployment key (22 chars base64url) */
char *transfer_header_mac(const struct key32 *dk, const char *message_id, const char *id);

/* read side -------------------------------------------------------- */
/* transfer_parse_link - ".../t/<id>#<secret>" or "<id>#<secret>" */
int transfer_parse_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1]);
/* transfer_open - load and decrypt the manifest; NULL with *err */
struct transfer *transfer_open(struct storage *st, const struct key32 *dk,
	const char *id, const char *secret, GError **err);
/* transfer_read_file - stream the plaintext of file idx to out; checks size
 * and SHA-256 against the manifest; 0 or negative with *err */
int transfer_read_file(struct transfer *t, uint32_t idx, envelope_out_fn out, void *arg,
	GError **err);

#endif
