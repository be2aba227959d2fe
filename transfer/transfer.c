/*
 * transfer.c - write and read whole transfers (see transfer.h).
 * Memory: per upload one envelope writer (one 64 KiB segment buffer) and a
 * SHA-256 context; the manifest JSON is small (file list and addresses).
 */
#include "transfer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <argon2.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"

struct transfer_upload {
	struct transfer *t;
	struct transfer_file *f;
	struct storage_put *put;
	struct envelope_writer *w;
	struct crypto_sha256_ctx *sha;
	int put_err; /* first storage error seen by the writer callback */
	char key[64];
};

static void
transfer_file_free(gpointer p)
{
	struct transfer_file *f = p;

	crypto_wipe(f->key, sizeof f->key);
	g_free(f->name);
	g_free(f->type);
	g_free(f);
}

struct transfer *
transfer_new(struct storage *st, int64_t now, uint64_t retention)
{
	struct transfer *t = g_new0(struct transfer, 1);

	t->st = st;
	t->files = g_ptr_array_new_with_free_func(transfer_file_free);
	t->rcpts = g_ptr_array_new_with_free_func(g_free);
	t->committed = g_ptr_array_new_with_free_func(g_free);
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
	return u;
fail:
	transfer_upload_abort(u);
	return NULL;
}

int
transfer_upload_write(struct transfer_upload *u, const void *buf, size_t len)
{
	crypto_sha256_update(u->sha, buf, len);
	u->f->size += len;
	if (envelope_writer_update(u->w, buf, len) != ENVELOPE_OK)
		return u->put_err ? u->put_err : STORAGE_ETEMP;
	return STORAGE_OK;
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
	struct storage_put *p = NULL;
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
	if (t->password != NULL) {
		h.password = true;
		h.kdf_m_kib = t->kdf_m;
		h.kdf_t = t->kdf_t;
		h.kdf_p = t->kdf_p;
	}
	if (transfer_derive_key(&h, t->secret, t->password, tk) != 0)
		goto out;
	json = transfer_manifest_json(t, &json_len);
	if (envelope_manifest_seal(&h, dk->key, t->secret, tk, json, json_len, &obj, &obj_len)
	    != ENVELOPE_OK) {
		log_error("transfer %s: cannot seal manifest", t->id);
		goto out;
	}
	snprintf(key, sizeof key, "%s/m", t->id);
	p = storage_put_begin(t->st, key, obj_len, &rc);
	if (p == NULL)
		goto out;
	rc = storage_put_write(p, obj, obj_len);
	if (rc != STORAGE_OK) {
		storage_put_abort(p);
		goto out;
	}
	rc = storage_put_commit(p);
	if (rc == STORAGE_OK) {
		g_ptr_array_add(t->committed, g_strdup(key));
		t->sealed = true;
	}
out:
	crypto_wipe(tk, sizeof tk);
	if (json) {
		crypto_wipe(json, json_len);
		g_free(json);
	}
	g_free(obj);
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

/* ---- body digest (FORMATS.md §3.1) ----------------------------------- */

static void
body_digest_flush_lf(struct body_digest *d)
{
	static const char lfs[] = "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n";

	while (d->lf > 0) {
		size_t n = d->lf < sizeof lfs - 1 ? (size_t)d->lf : sizeof lfs - 1;

		crypto_sha256_update(d->h, lfs, n);
		d->lf -= n;
	}
}

void
body_digest_init(struct body_digest *d)
{
	d->h = crypto_sha256_new();
	d->lf = 0;
	d->cr = false;
}

void
body_digest_update(struct body_digest *d, const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;

	while (p < end) {
		const unsigned char *q = p;

		if (d->cr) {
			d->cr = false;
			if (*p == '\n') {      /* CRLF: one line end */
				d->lf++;
				p++;
				continue;
			}
			body_digest_flush_lf(d);  /* a bare CR is content */
			crypto_sha256_update(d->h, "\r", 1);
		}
		if (*p == '\r') {
			d->cr = true;
			p++;
			continue;
		}
		if (*p == '\n') {
			d->lf++;
			p++;
			continue;
		}
		/* a run of content bytes: the held-back line ends were not trailing */
		while (q < end && *q != '\r' && *q != '\n')
			q++;
		body_digest_flush_lf(d);
		crypto_sha256_update(d->h, p, (size_t)(q - p));
		p = q;
	}
}

void
body_digest_final(struct body_digest *d, unsigned char out[32])
{
	if (d->cr) {
		body_digest_flush_lf(d);
		crypto_sha256_update(d->h, "\r", 1);
	}
	/* line ends at the very end are dropped */
	crypto_sha256_final(d->h, out);
	d->h = NULL;
	d->lf = 0;
	d->cr = false;
}

int
body_digest_file(const char *path, uint64_t offset, unsigned char out[32])
{
	struct body_digest d;
	unsigned char *buf;
	FILE *f = fopen(path, "rb");
	size_t n;
	int e;

	if (f == NULL)
		return -1;
	if (fseeko(f, (off_t)offset, SEEK_SET) != 0) {
		e = errno;
		fclose(f);
		errno = e;
		return -1;
	}
	buf = g_malloc(256 * 1024);
	body_digest_init(&d);
	while ((n = fread(buf, 1, 256 * 1024, f)) > 0)
		body_digest_update(&d, buf, n);
	body_digest_final(&d, out);
	e = ferror(f) ? EIO : 0;
	g_free(buf);
	fclose(f);
	if (e != 0) {
		crypto_wipe(out, 32);
		errno = e;
		return -1;
	}
	return 0;
}

/* ---- header MAC (FORMATS.md §3.1, §3.5) ------------------------------ */

char *
transfer_header_mac(const struct key32 *dk, const char *message_id, const char *id,
	const unsigned char body[32])
{
	unsigned char k[32], mac[32];
	GString *msg = g_string_new(message_id ? message_id : "");
	char *s;

	crypto_hkdf(dk->key, sizeof dk->key, NULL, 0, "offload v2 transfer header", 26, k, sizeof k);
	g_string_append_c(msg, '\0');
	g_string_append(msg, id);
	g_string_append_c(msg, '\0');
	g_string_append_len(msg, (const char *)body, TRANSFER_BODY_DIGEST_LEN);
	crypto_hmac_sha256(k, sizeof k, msg->str, msg->len, mac);
	s = enc_b64url(mac, 16);
	crypto_wipe(k, sizeof k);
	g_string_free(msg, TRUE);
	return s;
}

bool
transfer_header_mac_check(const struct key32 *dk, const char *message_id, const char *id,
	const unsigned char body[32], const char *mac)
{
	char *want;
	size_t n;
	bool ok;

	if (mac == NULL || id == NULL || body == NULL)
		return false;
	want = transfer_header_mac(dk, message_id, id, body);
	n = strlen(want);
	/* the whole token: exactly 22 characters, then the end, ';' or white space */
	ok = strnlen(mac, n) == n && crypto_memeq(mac, want, n) &&
		(mac[n] == '\0' || mac[n] == ';' || g_ascii_isspace(mac[n]));
	g_free(want);
	return ok;
}

/* ---- read side ------------------------------------------------------ */

static bool
is_id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

static bool
is_secret_char(char c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '_';
}

/* parse_link - ".../<path>/<id>#<secret>" or "<id>#<secret>"; path "/t/" or "/r/" */
static int
parse_link(const char *link, const char *path, char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1])
{
	const char *hash = strrchr(link, '#'), *start, *slash;
	size_t i;

	if (hash == NULL)
		return -1;
	slash = g_strrstr_len(link, hash - link, path);
	start = slash ? slash + 3 : link;
	if ((size_t)(hash - start) != ENVELOPE_ID_TEXT_LEN ||
	    strlen(hash + 1) != ENVELOPE_SECRET_TEXT_LEN)
		return -1;
	for (i = 0; i < ENVELOPE_ID_TEXT_LEN; i++)
		if (!is_id_char(start[i]))
			return -1;
	for (i = 0; i < ENVELOPE_SECRET_TEXT_LEN; i++)
		if (!is_secret_char(hash[1 + i]))
			return -1;
	memcpy(id, start, ENVELOPE_ID_TEXT_LEN);
	id[ENVELOPE_ID_TEXT_LEN] = '\0';
	memcpy(secret, hash + 1, ENVELOPE_SECRET_TEXT_LEN);
	secret[ENVELOPE_SECRET_TEXT_LEN] = '\0';
	return 0;
}

int
transfer_parse_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1])
{
	return parse_link(link, "/t/", id, secret);
}

int
transfer_parse_revoke_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1])
{
	return parse_link(link, "/r/", id, secret);
}

#define TRANSFER_MAX_MANIFEST (16u * 1024 * 1024)

static int
collect_out(void *arg, const void *buf, size_t len)
{
	GByteArray *a = arg;

	if (a->len + len > TRANSFER_MAX_MANIFEST)
		return 1;
	g_byte_array_append(a, buf, len);
	return 0;
}

static const char *
json_str(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	if (n == NULL || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

static int
transfer_parse_manifest(struct transfer *t, const char *json, size_t len, GError **err)
{
	JsonParser *p = json_parser_new();
	JsonObject *root;
	JsonArray *files, *rcpts;
	guint i;
	int rc = -1;

	if (!json_parser_load_from_data(p, json, (gssize)len, err))
		goto out;
	if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		goto bad;
	root = json_node_get_object(json_parser_get_root(p));
	if (g_strcmp0(json_str(root, "id"), t->id) != 0)
		goto bad;
	t->sender = g_strdup(json_str(root, "sender"));
	t->subject = g_strdup(json_str(root, "subject"));
	t->message_id = g_strdup(json_str(root, "message_id"));
	t->class_ = g_strdup(json_str(root, "class"));
	rcpts = json_object_get_array_member(root, "recipients");
	for (i = 0; rcpts && i < json_array_get_length(rcpts); i++)
		g_ptr_array_add(t->rcpts, g_strdup(json_array_get_string_element(rcpts, i)));
	files = json_object_get_array_member(root, "files");
	if (files == NULL)
		goto bad;
	for (i = 0; i < json_array_get_length(files); i++) {
		JsonObject *fo = json_array_get_object_element(files, i);
		struct transfer_file *f;
		const char *key, *sha;

		if (fo == NULL)
			goto bad;
		key = json_str(fo, "key");
		sha = json_str(fo, "sha256");
		if (key == NULL || sha == NULL || strlen(sha) != 64)
			goto bad;
		f = g_new0(struct transfer_file, 1);
		g_ptr_array_add(t->files, f);
		f->index = (uint32_t)json_object_get_int_member(fo, "index");
		f->name = g_strdup(json_str(fo, "name"));
		f->type = g_strdup(json_str(fo, "type"));
		f->size = (uint64_t)json_object_get_int_member(fo, "size");
		memcpy(f->sha256, sha, 65);
		if (f->index != i || enc_b64url_decode(key, f->key, sizeof f->key) != ENVELOPE_KEY_LEN)
			goto bad;
	}
	rc = 0;
	goto out;
bad:
	if (err && *err == NULL)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "transfer %s: manifest content invalid", t->id);
out:
	g_object_unref(p);
	return rc;
}

bool
transfer_valid_id(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != ENVELOPE_ID_TEXT_LEN)
		return false;
	for (i = 0; i < ENVELOPE_ID_TEXT_LEN; i++)
		if (!is_id_char(id[i]))
			return false;
	return true;
}

int
transfer_get_manifest(struct storage *st, const char *id, GByteArray **objp)
{
	GByteArray *obj = g_byte_array_new();
	char key[64];
	int rc;

	snprintf(key, sizeof key, "%s/m", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, collect_out, obj);
	if (rc == STORAGE_ESTOP) {
		log_warning("transfer %s: manifest object larger than 16 MiB", id);
		rc = STORAGE_EPERM;
	}
	if (rc != STORAGE_OK) {
		g_byte_array_free(obj, TRUE);
		obj = NULL;
	}
	*objp = obj;
	return rc;
}

static struct transfer *
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
transfer_open_obj(struct storage *st, const struct key32 *dk, const char *id,
	const unsigned char *obj, size_t len, const unsigned char tk[32], GError **err)
{
	struct transfer *t = transfer_alloc(st, id);
	struct envelope_header h;
	char *json = NULL;
	size_t json_len = 0;
	int rc;

	rc = envelope_manifest_open(obj, len, dk->key, tk, &h, &json, &json_len);
	if (rc != ENVELOPE_OK) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: manifest does not open: %s", id, envelope_strerror(rc));
		goto fail;
	}
	if (strcmp(h.id, id) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: manifest names another transfer", id);
		goto fail;
	}
	t->created = h.created;
	t->expires = h.expires;
	rc = transfer_parse_manifest(t, json, json_len, err);
	crypto_wipe(json, json_len);
	g_free(json);
	if (rc != 0)
		goto fail;
	return t;
fail:
	transfer_free(t);
	return NULL;
}

struct transfer *
transfer_open_pw(struct storage *st, const struct key32 *dk, const char *id, const char *secret,
	const char *password, GError **err)
{
	struct transfer *t = NULL;
	GByteArray *obj = NULL;
	struct envelope_header h;
	unsigned char tk[32];
	int rc;

	rc = transfer_get_manifest(st, id, &obj);
	if (rc != STORAGE_OK) {
		g_set_error(err, G_IO_ERROR, rc == STORAGE_ENOENT ? G_IO_ERROR_NOT_FOUND : G_IO_ERROR_FAILED,
			"transfer %s: %s", id, rc == STORAGE_ENOENT ? "not found" : storage_strerror(rc));
		goto out;
	}
	rc = envelope_manifest_header(obj->data, obj->len, dk->key, &h);
	if (rc != ENVELOPE_OK) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: manifest header: %s", id, envelope_strerror(rc));
		goto out;
	}
	if (h.password && (password == NULL || *password == '\0')) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: a password is required", id);
		goto out;
	}
	if (transfer_derive_key(&h, secret, password, tk) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			"transfer %s: bad secret or password parameters", id);
		goto out;
	}
	t = transfer_open_obj(st, dk, id, obj->data, obj->len, tk, err);
	crypto_wipe(tk, sizeof tk);
	if (t != NULL)
		g_strlcpy(t->secret, secret, sizeof t->secret);
out:
	if (obj != NULL)
		g_byte_array_free(obj, TRUE);
	return t;
}

struct transfer *
transfer_open(struct storage *st, const struct key32 *dk, const char *id, const char *secret,
	GError **err)
{
	return transfer_open_pw(st, dk, id, secret, NULL, err);
}

/* ---- passwords ------------------------------------------------------- */

const char *
transfer_set_password(struct transfer *t)
{
	static const char alpha[] = TRANSFER_PASSWORD_ALPHABET;
	const unsigned n = sizeof alpha - 1;
	char pw[TRANSFER_PASSWORD_TEXT_LEN + 1];
	size_t i = 0, o = 0;

	while (o < TRANSFER_PASSWORD_TEXT_LEN) {
		unsigned char b[32];

		if (crypto_random(b, sizeof b) != 0)
			return NULL;
		for (i = 0; i < sizeof b && o < TRANSFER_PASSWORD_TEXT_LEN; i++) {
			/* rejection sampling: no modulo bias */
			if (b[i] >= 256 / n * n)
				continue;
			if (o % 5 == 4)
				pw[o++] = '-';
			pw[o++] = alpha[b[i] % n];
		}
		crypto_wipe(b, sizeof b);
	}
	pw[o] = '\0';
	if (t->password != NULL) {
		crypto_wipe(t->password, strlen(t->password));
		g_free(t->password);
	}
	t->password = g_strdup(pw);
	crypto_wipe(pw, sizeof pw);
	t->kdf_m = TRANSFER_KDF_M_KIB;
	t->kdf_t = TRANSFER_KDF_T;
	t->kdf_p = TRANSFER_KDF_P;
	return t->password;
}

char *
transfer_password_normalise(const char *password)
{
	GString *s = g_string_sized_new(32);
	const char *p;

	for (p = password; *p; p++) {
		if (*p == ' ' || *p == '-' || *p == '_' || *p == '.' || *p == '\t')
			continue;
		g_string_append_c(s, g_ascii_tolower(*p));
	}
	return g_string_free(s, FALSE);
}

int
transfer_password_hash(const char *id, const char *password, uint32_t m_kib, uint32_t t_cost,
	uint32_t p_lanes, unsigned char out[32])
{
	static const char label[] = "offload v1 pw";
	unsigned char salt[sizeof label - 1 + ENVELOPE_ID_TEXT_LEN];
	char *norm;
	int rc;

	if (m_kib < TRANSFER_KDF_M_MIN || m_kib > TRANSFER_KDF_M_MAX ||
	    t_cost < TRANSFER_KDF_T_MIN || t_cost > TRANSFER_KDF_T_MAX ||
	    p_lanes < TRANSFER_KDF_P_MIN || p_lanes > TRANSFER_KDF_P_MAX) {
		log_warning("transfer %s: Argon2id parameters m=%u t=%u p=%u outside the accepted range",
			id, m_kib, t_cost, p_lanes);
		return -1;
	}
	if (!transfer_valid_id(id) || password == NULL)
		return -1;
	memcpy(salt, label, sizeof label - 1);
	memcpy(salt + sizeof label - 1, id, ENVELOPE_ID_TEXT_LEN);
	norm = transfer_password_normalise(password);
	rc = argon2id_hash_raw(t_cost, m_kib, p_lanes, norm, strlen(norm), salt, sizeof salt, out, 32);
	crypto_wipe(norm, strlen(norm));
	g_free(norm);
	if (rc != ARGON2_OK) {
		log_error("transfer %s: Argon2id failed: %s", id, argon2_error_message(rc));
		return -1;
	}
	return 0;
}

int
transfer_derive_key(const struct envelope_header *h, const char *secret, const char *password,
	unsigned char tk[32])
{
	unsigned char pwhash[32];
	int rc = -1;

	if (!h->password) {
		rc = envelope_derive_tk(h->id, secret, NULL, 0, tk) == ENVELOPE_OK ? 0 : -1;
		goto out;
	}
	if (password == NULL ||
	    transfer_password_hash(h->id, password, h->kdf_m_kib, h->kdf_t, h->kdf_p, pwhash) != 0)
		goto out;
	rc = envelope_derive_tk(h->id, secret, pwhash, sizeof pwhash, tk) == ENVELOPE_OK ? 0 : -1;
out:
	crypto_wipe(pwhash, sizeof pwhash);
	return rc;
}

/* ---- tombstones ------------------------------------------------------ */

static void
tombstone_mac(const struct key32 *dk, const unsigned char *buf, size_t len, unsigned char mac[32])
{
	unsigned char k[32];

	crypto_hkdf(dk->key, sizeof dk->key, NULL, 0, "offload v1 tombstone", 20, k, sizeof k);
	crypto_hmac_sha256(k, sizeof k, buf, len, mac);
	crypto_wipe(k, sizeof k);
}

static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int
transfer_tombstone_encode(const struct key32 *dk, const char *id, int64_t revoked_at,
	int64_t expires, unsigned char out[TRANSFER_TOMBSTONE_LEN])
{
	if (!transfer_valid_id(id))
		return -1;
	memcpy(out, "OFLDT", 5);
	out[5] = 1;
	memcpy(out + 6, id, ENVELOPE_ID_TEXT_LEN);
	put64(out + 30, (uint64_t)revoked_at);
	put64(out + 38, (uint64_t)expires);
	tombstone_mac(dk, out, 46, out + 46);
	return 0;
}

int
transfer_tombstone_decode(const struct key32 *dk, const char *id, const unsigned char *buf,
	size_t len, int64_t *revoked_at, int64_t *expires)
{
	unsigned char mac[32];
	int ok;

	if (id == NULL || strlen(id) != ENVELOPE_ID_TEXT_LEN || len != TRANSFER_TOMBSTONE_LEN ||
	    memcmp(buf, "OFLDT\x01", 6) != 0 || memcmp(buf + 6, id, ENVELOPE_ID_TEXT_LEN) != 0)
		return TRANSFER_TOMBSTONE_EINVAL;
	tombstone_mac(dk, buf, 46, mac);
	ok = crypto_memeq(mac, buf + 46, 32);
	crypto_wipe(mac, sizeof mac);
	if (!ok)
		return TRANSFER_TOMBSTONE_EAUTH;
	if (revoked_at)
		*revoked_at = (int64_t)get64(buf + 30);
	if (expires)
		*expires = (int64_t)get64(buf + 38);
	return 0;
}

int
transfer_tombstone_write(struct storage *st, const struct key32 *dk, const char *id,
	int64_t revoked_at, int64_t expires)
{
	unsigned char b[TRANSFER_TOMBSTONE_LEN];
	struct storage_put *p;
	char key[64];
	int rc = STORAGE_EPERM;

	if (transfer_tombstone_encode(dk, id, revoked_at, expires, b) != 0)
		return rc;
	snprintf(key, sizeof key, "%s/t", id);
	p = storage_put_begin(st, key, sizeof b, &rc);
	if (p == NULL)
		return rc;
	rc = storage_put_write(p, b, sizeof b);
	if (rc != STORAGE_OK) {
		storage_put_abort(p);
		return rc;
	}
	return storage_put_commit(p);
}

int
transfer_tombstone_read(struct storage *st, const struct key32 *dk, const char *id,
	int64_t *revoked_at, int64_t *expires)
{
	GByteArray *a = g_byte_array_new();
	char key[64];
	int rc;

	snprintf(key, sizeof key, "%s/t", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, collect_out, a);
	if (rc == STORAGE_ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	switch (transfer_tombstone_decode(dk, id, a->data, a->len, revoked_at, expires)) {
	case 0:
		rc = 1;
		break;
	case TRANSFER_TOMBSTONE_EAUTH:
		log_warning("transfer %s: tombstone with a wrong MAC ignored", id);
		rc = 0;
		break;
	default:
		log_warning("transfer %s: malformed tombstone object ignored", id);
		rc = 0;
		break;
	}
out:
	g_byte_array_free(a, TRUE);
	return rc;
}

/* ---- revocation ------------------------------------------------------ */

bool
transfer_revoke_check(const struct envelope_header *h, const char *revoke_secret)
{
	return h != NULL && revoke_secret != NULL &&
		envelope_revoke_check(h, revoke_secret) == ENVELOPE_OK;
}

struct revoke_list {
	GPtrArray *keys;
	const char *tomb;
};

static int
revoke_collect(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct revoke_list *l = arg;

	(void)size;
	(void)mtime;
	if (strcmp(key, l->tomb) != 0)
		g_ptr_array_add(l->keys, g_strdup(key));
	return 0;
}

int
transfer_revoke(struct storage *st, const struct key32 *dk, const char *id, bool tombstoned,
	int64_t now, int64_t expires, enum transfer_revoke_step *step, unsigned *deleted)
{
	struct revoke_list l = { NULL, NULL };
	char tomb[64], mkey[64], prefix[64];
	enum transfer_revoke_step where = TRANSFER_REVOKE_TOMBSTONE;
	unsigned n = 0;
	guint i;
	int rc;

	if (!transfer_valid_id(id)) {
		rc = STORAGE_EPERM;
		goto out;
	}
	if (!tombstoned) {
		rc = transfer_tombstone_write(st, dk, id, now, expires);
		if (rc != STORAGE_OK)
			goto out;
	}
	/* manifest first: the transfer disappears before its files do */
	where = TRANSFER_REVOKE_MANIFEST;
	snprintf(tomb, sizeof tomb, "%s/t", id);
	snprintf(mkey, sizeof mkey, "%s/m", id);
	rc = storage_delete(st, mkey);
	if (rc == STORAGE_OK)
		n++;
	else if (rc != STORAGE_ENOENT)
		goto out;
	where = TRANSFER_REVOKE_FILES;
	snprintf(prefix, sizeof prefix, "%s/", id);
	l.keys = g_ptr_array_new_with_free_func(g_free);
	l.tomb = tomb;
	rc = storage_list(st, prefix, revoke_collect, &l);
	for (i = 0; rc == STORAGE_OK && i < l.keys->len; i++) {
		rc = storage_delete(st, g_ptr_array_index(l.keys, i));
		if (rc == STORAGE_OK)
			n++;
		else if (rc == STORAGE_ENOENT)
			rc = STORAGE_OK;
	}
	if (rc == STORAGE_OK)
		where = TRANSFER_REVOKE_DONE;
out:
	if (rc != STORAGE_OK)
		log_warning("transfer %s: revocation stopped (%s): %s", id,
			where == TRANSFER_REVOKE_TOMBSTONE ? "tombstone not written, nothing deleted" :
			where == TRANSFER_REVOKE_MANIFEST ? "revoked, manifest not deleted" :
			"revoked, file objects not all deleted", storage_strerror(rc));
	if (l.keys)
		g_ptr_array_free(l.keys, TRUE);
	if (step)
		*step = where;
	if (deleted)
		*deleted = n;
	return rc;
}

/* ---- ranged stream --------------------------------------------------- */

#define STREAM_BATCH_SEGS 8u
#define STREAM_SEG_CT ((uint64_t)ENVELOPE_SEGMENT_SIZE + ENVELOPE_TAG_LEN)

struct transfer_stream {
	struct storage *st;
	struct envelope_reader *r;
	char key[64];
	uint64_t obj_size;      /* expected object size */
	uint64_t stop;          /* fetch no further: one byte past the last needed segment */
	uint64_t pos;           /* next object byte to fetch */
	uint64_t skip;          /* plaintext bytes still to drop (range start) */
	uint64_t want;          /* plaintext bytes still to release */
	bool header_done, finished;
	int env_rc;
	unsigned char *buf;     /* verified plaintext waiting to be read */
	size_t cap, head, len;
};

static int
stream_out(void *arg, const void *data, size_t n)
{
	struct transfer_stream *s = arg;
	const unsigned char *p = data;

	if (s->skip > 0) {
		size_t k = s->skip < n ? (size_t)s->skip : n;

		s->skip -= k;
		p += k;
		n -= k;
	}
	if (n > s->want)
		n = (size_t)s->want;
	if (n == 0)
		return 0;
	if (s->head > 0) {
		memmove(s->buf, s->buf + s->head, s->len);
		s->head = 0;
	}
	if (s->len + n > s->cap) {
		log_panic("transfer stream: plaintext buffer overflow");
		return 1;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->want -= n;
	return 0;
}

static int
stream_cipher(void *arg, const void *buf, size_t len)
{
	struct transfer_stream *s = arg;

	s->env_rc = envelope_reader_update(s->r, buf, len);
	return s->env_rc != ENVELOPE_OK;
}

struct transfer_stream *
transfer_stream_new(struct storage *st, const char *id, uint32_t idx, const unsigned char key[32],
	uint64_t plain_size, uint64_t offset, uint64_t length)
{
	struct transfer_stream *s;
	uint64_t first;

	if (offset > plain_size || length > plain_size - offset)
		return NULL;
	s = g_new0(struct transfer_stream, 1);
	first = offset / ENVELOPE_SEGMENT_SIZE;
	if (offset == plain_size && first > 0 && offset % ENVELOPE_SEGMENT_SIZE == 0)
		first--; /* empty range at the very end */
	s->st = st;
	s->obj_size = envelope_file_size(plain_size);
	s->pos = envelope_segment_offset(first);
	/* the last segment the range needs must be verified as "not last"
	 * (one more byte follows) or as the object's last segment */
	s->stop = length == 0 ? s->pos + 1 :
		envelope_segment_offset((offset + length - 1) / ENVELOPE_SEGMENT_SIZE + 1) + 1;
	if (s->stop > s->obj_size)
		s->stop = s->obj_size;
	s->skip = offset - first * ENVELOPE_SEGMENT_SIZE;
	s->want = length;
	s->cap = (STREAM_BATCH_SEGS + 2) * ENVELOPE_SEGMENT_SIZE;
	s->buf = g_malloc(s->cap);
	snprintf(s->key, sizeof s->key, "%s/%u", id, idx);
	s->r = envelope_reader_new_at(key, id, idx, first, stream_out, s);
	if (s->obj_size == 0 || s->r == NULL) {
		transfer_stream_free(s);
		return NULL;
	}
	return s;
}

long
transfer_stream_read(struct transfer_stream *s, void *out, size_t max, int *storage_err)
{
	int rc;

	*storage_err = STORAGE_OK;
	while (s->len == 0 && s->want > 0) {
		if (s->env_rc != ENVELOPE_OK)
			return s->env_rc;
		if (!s->header_done) {
			rc = storage_get(s->st, s->key, 0, envelope_file_header_len(), stream_cipher, s);
			if (rc != STORAGE_OK && !(rc == STORAGE_ESTOP && s->env_rc != ENVELOPE_OK)) {
				*storage_err = rc;
				return TRANSFER_STREAM_ESTORAGE;
			}
			s->header_done = true;
			continue;
		}
		if (s->pos >= s->stop && s->stop < s->obj_size)
			return ENVELOPE_ETRUNC; /* cannot happen: the range ends inside the object */
		if (s->pos >= s->obj_size) {
			if (s->finished)
				return ENVELOPE_ETRUNC; /* verified everything, still short */
			s->finished = true;
			s->env_rc = envelope_reader_finish(s->r);
			continue;
		}
		{
			uint64_t n = MIN(STREAM_BATCH_SEGS * STREAM_SEG_CT, s->stop - s->pos);
			uint64_t before = s->pos;

			rc = storage_get(s->st, s->key, s->pos, n, stream_cipher, s);
			if (rc != STORAGE_OK && !(rc == STORAGE_ESTOP && s->env_rc != ENVELOPE_OK)) {
				*storage_err = rc;
				return TRANSFER_STREAM_ESTORAGE;
			}
			s->pos = before + n;
		}
	}
	if (s->len == 0)
		return 0;
	if (max > s->len)
		max = s->len;
	memcpy(out, s->buf + s->head, max);
	crypto_wipe(s->buf + s->head, max);
	s->head += max;
	s->len -= max;
	if (s->len == 0)
		s->head = 0;
	return (long)max;
}

void
transfer_stream_free(struct transfer_stream *s)
{
	if (s == NULL)
		return;
	envelope_reader_free(s->r);
	if (s->buf != NULL) {
		crypto_wipe(s->buf, s->cap);
		g_free(s->buf);
	}
	g_free(s);
}

int
transfer_read_range(struct transfer *t, uint32_t idx, uint64_t offset, uint64_t length,
	envelope_out_fn out, void *arg, GError **err)
{
	struct transfer_file *f;
	struct transfer_stream *s;
	unsigned char *buf = NULL;
	int rc = -1, serr;
	long n;

	if (idx >= t->files->len) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "transfer %s: no file %u", t->id, idx);
		return -1;
	}
	f = g_ptr_array_index(t->files, idx);
	s = transfer_stream_new(t->st, t->id, idx, f->key, f->size, offset, length);
	if (s == NULL) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			"transfer %s: file %u: range outside the file", t->id, idx);
		return -1;
	}
	buf = g_malloc(ENVELOPE_SEGMENT_SIZE);
	for (;;) {
		n = transfer_stream_read(s, buf, ENVELOPE_SEGMENT_SIZE, &serr);
		if (n == 0) {
			rc = 0;
			break;
		}
		if (n == TRANSFER_STREAM_ESTORAGE) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "transfer %s: file %u: %s",
				t->id, idx, storage_strerror(serr));
			break;
		}
		if (n < 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
				"transfer %s: file %u fails authentication: %s", t->id, idx,
				envelope_strerror((int)n));
			break;
		}
		if (out(arg, buf, (size_t)n) != 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_CANCELLED, "transfer %s: file %u: output failed",
				t->id, idx);
			break;
		}
	}
	crypto_wipe(buf, ENVELOPE_SEGMENT_SIZE);
	g_free(buf);
	transfer_stream_free(s);
	return rc;
}

struct read_ctx {
	struct envelope_reader *r;
	struct crypto_sha256_ctx *sha;
	envelope_out_fn out;
	void *arg;
	uint64_t size;
	int env_rc;
};

static int
read_plain(void *arg, const void *buf, size_t len)
{
	struct read_ctx *c = arg;

	crypto_sha256_update(c->sha, buf, len);
	c->size += len;
	return c->out(c->arg, buf, len);
}

static int
read_cipher(void *arg, const void *buf, size_t len)
{
	struct read_ctx *c = arg;

	c->env_rc = envelope_reader_update(c->r, buf, len);
	return c->env_rc != ENVELOPE_OK;
}

int
transfer_read_file(struct transfer *t, uint32_t idx, envelope_out_fn out, void *arg, GError **err)
{
	struct read_ctx c = { 0 };
	struct transfer_file *f;
	unsigned char digest[32];
	char key[64], *hex = NULL;
	int rc = -1, src;

	if (idx >= t->files->len) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "transfer %s: no file %u", t->id, idx);
		return -1;
	}
	f = g_ptr_array_index(t->files, idx);
	c.out = out;
	c.arg = arg;
	c.sha = crypto_sha256_new();
	c.r = envelope_reader_new(f->key, t->id, idx, read_plain, &c);
	snprintf(key, sizeof key, "%s/%u", t->id, idx);
	src = storage_get(t->st, key, 0, STORAGE_TO_END, read_cipher, &c);
	if (src != STORAGE_OK && !(src == STORAGE_ESTOP && c.env_rc != ENVELOPE_OK)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "transfer %s: file %u: %s",
			t->id, idx, storage_strerror(src));
		goto out;
	}
	if (c.env_rc == ENVELOPE_OK)
		c.env_rc = envelope_reader_finish(c.r);
	if (c.env_rc != ENVELOPE_OK) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: file %u fails authentication: %s", t->id, idx,
			envelope_strerror(c.env_rc));
		goto out;
	}
	crypto_sha256_final(c.sha, digest);
	c.sha = NULL;
	hex = enc_hex(digest, sizeof digest);
	if (c.size != f->size || strcmp(hex, f->sha256) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: file %u does not match its manifest (size or SHA-256)", t->id, idx);
		goto out;
	}
	rc = 0;
out:
	g_free(hex);
	crypto_sha256_free(c.sha);
	envelope_reader_free(c.r);
	return rc;
}
