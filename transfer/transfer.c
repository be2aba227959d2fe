/*
 * transfer.c - a transfer object and its write side: file uploads, the
 * manifest written last, abort and links (see transfer.h).
 * Memory: per upload one envelope writer (one 64 KiB segment buffer), a
 * SHA-256 context and a pipe (transfer_pipe.h: up to 4 x 256 KiB); the
 * manifest JSON is small (file list and addresses).
 * Threads: once an upload is larger than one pipe buffer, it hashes,
 * encrypts and stores on a worker thread of its own (issue 15: the caller
 * reads and decodes, which costs more); commit and abort end that thread
 * before they return.
 */
#include "transfer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "transfer_escrow.h"
#include "transfer_int.h"
#include "transfer_sender.h"
#include "transfer_reply.h"
#include "transfer_agreed.h"
#include "transfer_password.h"
#include "transfer_pipe.h"

struct transfer_upload {
	struct transfer *t;
	struct transfer_file *f;
	struct storage_put *put;
	struct envelope_writer *w;
	struct crypto_sha256_ctx *sha;
	struct transfer_pipe *pipe; /* plaintext to upload_consume (maybe on a worker) */
	int put_err; /* first storage error seen by the writer callback */
	char key[64];
};

void
transfer_file_free(gpointer p)
{
	struct transfer_file *f = p;

	crypto_wipe(f->key, sizeof f->key);
	g_free(f->name);
	g_free(f->type);
	g_free(f);
}

struct transfer *
transfer_alloc(struct storage *st, const char *id)
{
	struct transfer *t = g_new0(struct transfer, 1);

	t->st = st;
	t->files = g_ptr_array_new_with_free_func(transfer_file_free);
	t->rcpts = g_ptr_array_new_with_free_func(g_free);
	t->committed = g_ptr_array_new_with_free_func(g_free);
	g_strlcpy(t->id, id, sizeof t->id);
	return t;
}

struct transfer *
transfer_new(struct storage *st, int64_t now, uint64_t retention)
{
	struct transfer *t = transfer_alloc(st, "");

	t->created = now;
	t->expires = now + (int64_t)retention;
	if (envelope_new_ids(t->id, t->secret) != 0 || envelope_new_secret(t->revoke_secret) != 0) {
		transfer_free(t);
		return NULL;
	}
	return t;
}

void
transfer_free(struct transfer *t)
{
	if (t == NULL)
		return;
	crypto_wipe(t->secret, sizeof t->secret);
	crypto_wipe(t->revoke_secret, sizeof t->revoke_secret);
	if (t->password != NULL) {
		crypto_wipe(t->password, strlen(t->password));
		g_free(t->password);
	}
	transfer_agreed_free(t->agreed);
	g_ptr_array_free(t->files, TRUE);
	g_ptr_array_free(t->rcpts, TRUE);
	g_ptr_array_free(t->committed, TRUE);
	g_free(t->sender);
	g_free(t->subject);
	g_free(t->message_id);
	g_free(t->class_);
	g_free(t);
}

static int
upload_out(void *arg, const void *buf, size_t len)
{
	struct transfer_upload *u = arg;
	int rc = storage_put_write(u->put, buf, len);

	if (rc != STORAGE_OK) {
		u->put_err = rc;
		return 1;
	}
	return 0;
}

/* upload_consume - the pipe's consumer: hash, encrypt and store (on the
 * worker thread once the pipe has one); 0 or a storage error code */
static int
upload_consume(void *arg, const void *buf, size_t len)
{
	struct transfer_upload *u = arg;

	crypto_sha256_update(u->sha, buf, len);
	if (envelope_writer_update(u->w, buf, len) != ENVELOPE_OK)
		return u->put_err ? u->put_err : STORAGE_ETEMP;
	return STORAGE_OK;
}

struct transfer_upload *
transfer_upload_begin(struct transfer *t, const char *name, const char *type, int *errp)
{
	struct transfer_upload *u = g_new0(struct transfer_upload, 1);
	struct transfer_file *f = g_new0(struct transfer_file, 1);

	u->t = t;
	u->f = f;
	f->index = t->files->len;
	f->name = g_strdup(name && *name ? name : "attachment");
	f->type = g_strdup(type ? type : "application/octet-stream");
	if (crypto_random(f->key, sizeof f->key) != 0) {
		*errp = STORAGE_ETEMP;
		goto fail;
	}
	snprintf(u->key, sizeof u->key, "%s/%u", t->id, f->index);
	u->put = storage_put_begin(t->st, u->key, 0, errp);
	if (u->put == NULL)
		goto fail;
	u->sha = crypto_sha256_new();
	u->w = envelope_writer_new(f->key, t->id, f->index, upload_out, u);
	if (u->w == NULL) {
		*errp = u->put_err ? u->put_err : STORAGE_ETEMP;
		goto fail;
	}
	u->pipe = transfer_pipe_new(upload_consume, u);
	return u;
fail:
	transfer_upload_abort(u);
	return NULL;
}

int
transfer_upload_write(struct transfer_upload *u, const void *buf, size_t len)
{
	u->f->size += len;
	return transfer_pipe_write(u->pipe, buf, len); /* 0 = STORAGE_OK or the worker's error */
}

uint64_t
transfer_upload_size(const struct transfer_upload *u)
{
	return u->f->size;
}

int
transfer_upload_commit(struct transfer_upload *u)
{
	unsigned char digest[CRYPTO_SHA256_LEN];
	char *hex;
	int rc;

	rc = transfer_pipe_finish(u->pipe); /* the worker has ended */
	if (rc != STORAGE_OK) {
		transfer_upload_abort(u);
		return rc;
	}
	if (envelope_writer_finish(u->w) != ENVELOPE_OK) {
		rc = u->put_err ? u->put_err : STORAGE_ETEMP;
		transfer_upload_abort(u);
		return rc;
	}
	rc = storage_put_commit(u->put);
	u->put = NULL;
	if (rc != STORAGE_OK) {
		transfer_upload_abort(u);
		return rc;
	}
	g_ptr_array_add(u->t->committed, g_strdup(u->key));
	crypto_sha256_final(u->sha, digest);
	u->sha = NULL;
	hex = enc_hex(digest, sizeof digest);
	memcpy(u->f->sha256, hex, 65);
	g_free(hex);
	g_ptr_array_add(u->t->files, u->f);
	u->f = NULL;
	transfer_upload_abort(u); /* frees the rest */
	return STORAGE_OK;
}

void
transfer_upload_abort(struct transfer_upload *u)
{
	if (u == NULL)
		return;
	transfer_pipe_free(u->pipe); /* first: ends the worker using w and put */
	envelope_writer_free(u->w);
	storage_put_abort(u->put);
	crypto_sha256_free(u->sha);
	if (u->f)
		transfer_file_free(u->f);
	g_free(u);
}

static char *
transfer_rfc3339(int64_t t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ");

	g_date_time_unref(d);
	return s;
}

static char *
transfer_manifest_json(const struct transfer *t, size_t *len)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g;
	JsonNode *root;
	char *s, *ts;
	guint i;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "v");
	json_builder_add_int_value(b, 1);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, t->id);
	json_builder_set_member_name(b, "created");
	ts = transfer_rfc3339(t->created);
	json_builder_add_string_value(b, ts);
	g_free(ts);
	json_builder_set_member_name(b, "expires");
	ts = transfer_rfc3339(t->expires);
	json_builder_add_string_value(b, ts);
	g_free(ts);
	json_builder_set_member_name(b, "sender");
	json_builder_add_string_value(b, t->sender ? t->sender : "");
	json_builder_set_member_name(b, "recipients");
	json_builder_begin_array(b);
	for (i = 0; i < t->rcpts->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(t->rcpts, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "subject");
	json_builder_add_string_value(b, t->subject ? t->subject : "");
	json_builder_set_member_name(b, "message_id");
	json_builder_add_string_value(b, t->message_id ? t->message_id : "");
	json_builder_set_member_name(b, "class");
	json_builder_add_string_value(b, t->class_ ? t->class_ : "OFFEN");
	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (i = 0; i < t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(t->files, i);
		char *key = enc_b64url(f->key, sizeof f->key);

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "index");
		json_builder_add_int_value(b, f->index);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, f->name);
		json_builder_set_member_name(b, "type");
		json_builder_add_string_value(b, f->type);
		json_builder_set_member_name(b, "size");
		json_builder_add_int_value(b, (gint64)f->size);
		json_builder_set_member_name(b, "sha256");
		json_builder_add_string_value(b, f->sha256);
		json_builder_set_member_name(b, "key");
		json_builder_add_string_value(b, key);
		json_builder_end_object(b);
		crypto_wipe(key, strlen(key));
		g_free(key);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	g = json_generator_new();
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, len);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return s;
}

int
transfer_commit(struct transfer *t, const struct key32 *dk)
{
	struct envelope_header h = { 0 };
	unsigned char tk[32], *obj = NULL;
	size_t obj_len = 0, json_len = 0;
	char *json = NULL, key[64];
	int rc = STORAGE_ETEMP;

	h.version = 1;
	memcpy(h.id, t->id, sizeof h.id);
	h.created = t->created;
	h.expires = t->expires;
	memcpy(h.key_id, dk->id, sizeof h.key_id);
	if (envelope_revoke_hash(t->id, t->revoke_secret, h.revoke_hash) != ENVELOPE_OK) {
		log_error("transfer %s: no revoke secret", t->id);
		goto out;
	}
	if (t->password != NULL || t->agreed != NULL) {
		h.password = true;
		h.kdf_m_kib = t->kdf_m;
		h.kdf_t = t->kdf_t;
		h.kdf_p = t->kdf_p;
	}
	if (t->agreed != NULL ? /* X is the pwhash (FORMATS.md §6.9) */
	    envelope_derive_tk(t->id, t->secret, t->agreed->x, 32, tk) != ENVELOPE_OK :
	    transfer_derive_key(&h, t->secret, t->password, tk) != 0)
		goto out;
	rc = transfer_escrow_commit(t, tk); /* before the manifest (FORMATS.md §6) */
	if (rc == STORAGE_OK)
		rc = transfer_agreed_commit(t);
	if (rc == STORAGE_OK)
		rc = transfer_reply_commit(t);
	if (rc != STORAGE_OK)
		goto out;
	rc = transfer_info_commit(t, dk);
	if (rc == STORAGE_OK)
		rc = transfer_notify_commit(t, dk); /* "<id>/n" (FORMATS.md §6.7) */
	if (rc != STORAGE_OK)
		goto out;
	rc = transfer_side_commit(t, dk); /* sender view and state, before the manifest */
	if (rc != STORAGE_OK)
		goto out;
	rc = STORAGE_ETEMP;
	json = transfer_manifest_json(t, &json_len);
	if (envelope_manifest_seal(&h, dk->key, t->secret, tk, json, json_len, &obj, &obj_len)
	    != ENVELOPE_OK) {
		log_error("transfer %s: cannot seal manifest", t->id);
		goto out;
	}
	snprintf(key, sizeof key, "%s/m", t->id);
	rc = transfer_put_side(t, key, obj, obj_len);
	if (rc == STORAGE_OK)
		t->sealed = true;
out:
	crypto_wipe(tk, sizeof tk);
	if (json) {
		crypto_wipe(json, json_len);
		g_free(json);
	}
	g_free(obj);
	return rc;
}

int
transfer_put_side(struct transfer *t, const char *key, const void *buf, size_t len)
{
	int rc = storage_put_buffer(t->st, key, buf, len);

	if (rc == STORAGE_OK)
		g_ptr_array_add(t->committed, g_strdup(key));
	return rc;
}

void
transfer_abort(struct transfer *t)
{
	guint i;

	/* manifest first (it is the last one committed), so the transfer
	 * disappears before its files do */
	for (i = t->committed->len; i > 0; i--) {
		const char *key = g_ptr_array_index(t->committed, i - 1);
		int rc = storage_delete(t->st, key);

		if (rc != STORAGE_OK && rc != STORAGE_ENOENT)
			log_warning("transfer %s: cannot delete %s after abort (%s); it expires unreferenced",
				t->id, key, storage_strerror(rc));
	}
	g_ptr_array_set_size(t->committed, 0);
	t->sealed = false;
}

char *
transfer_link(const struct transfer *t, const char *portal_url)
{
	return g_strdup_printf("%s/t/%s#%s", portal_url, t->id, t->secret);
}

char *
transfer_revoke_link(const struct transfer *t, const char *portal_url)
{
	return g_strdup_printf("%s/r/%s#%s", portal_url, t->id, t->revoke_secret);
}

