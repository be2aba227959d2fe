/*
 * transfer_open.c - the read side of a transfer's manifest: links, the
 * manifest object, decrypting and parsing it (see transfer.h).
 */
#include "transfer.h"

#include <string.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "transfer_int.h"
#include "transfer_agreed.h"
#include "transfer_password.h"
#include "transfer_state.h"

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


int
transfer_collect_out(void *arg, const void *buf, size_t len)
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

/* json_array_of - the array member name of o, NULL when missing or not an array */
static JsonArray *
json_array_of(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* json_int - the integer member name of o into *v; false when missing or not an integer */
static bool
json_int(JsonObject *o, const char *name, gint64 *v)
{
	JsonNode *n = json_object_get_member(o, name);

	if (n == NULL || json_node_get_value_type(n) != G_TYPE_INT64)
		return false;
	*v = json_node_get_int(n);
	return true;
}

/* the manifest's JSON (FORMATS.md §2); anything else than what the writer
 * makes is "manifest content invalid", never a library warning */
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
	if (json_parser_get_root(p) == NULL || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		goto bad;
	root = json_node_get_object(json_parser_get_root(p));
	if (g_strcmp0(json_str(root, "id"), t->id) != 0)
		goto bad;
	t->sender = g_strdup(json_str(root, "sender"));
	t->subject = g_strdup(json_str(root, "subject"));
	t->message_id = g_strdup(json_str(root, "message_id"));
	t->class_ = g_strdup(json_str(root, "class"));
	rcpts = json_array_of(root, "recipients");
	for (i = 0; rcpts && i < json_array_get_length(rcpts); i++) {
		JsonNode *rn = json_array_get_element(rcpts, i);

		if (json_node_get_value_type(rn) != G_TYPE_STRING)
			goto bad;
		g_ptr_array_add(t->rcpts, g_strdup(json_node_get_string(rn)));
	}
	files = json_array_of(root, "files");
	if (files == NULL)
		goto bad;
	for (i = 0; i < json_array_get_length(files); i++) {
		JsonNode *fn = json_array_get_element(files, i);
		JsonObject *fo = JSON_NODE_HOLDS_OBJECT(fn) ? json_node_get_object(fn) : NULL;
		struct transfer_file *f;
		const char *key, *sha;
		gint64 index = -1, size = 0;

		if (fo == NULL)
			goto bad;
		key = json_str(fo, "key");
		sha = json_str(fo, "sha256");
		if (key == NULL || sha == NULL || strlen(sha) != 64 || !json_int(fo, "index", &index) ||
		    (json_object_has_member(fo, "size") && !json_int(fo, "size", &size)))
			goto bad;
		f = g_new0(struct transfer_file, 1);
		g_ptr_array_add(t->files, f);
		f->index = (uint32_t)index;
		f->name = g_strdup(json_str(fo, "name"));
		f->type = g_strdup(json_str(fo, "type"));
		f->size = (uint64_t)size;
		memcpy(f->sha256, sha, 65);
		if (index != (gint64)i || enc_b64url_decode(key, f->key, sizeof f->key) != ENVELOPE_KEY_LEN)
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
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, obj);
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

struct transfer *
transfer_open_obj(struct storage *st, const struct key32 *dk, const char *id,
	const unsigned char *obj, size_t len, const unsigned char tk[32], GError **err)
{
	struct transfer *t = transfer_alloc(st, id);
	struct envelope_header h;
	char *json = NULL;
	size_t json_len = 0;
	int rc;

	rc = envelope_manifest_open(obj, len, dk != NULL ? dk->key : NULL, tk, &h, &json, &json_len);
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
	if (transfer_effective_expiry(st, dk, id, h.expires, &t->expires) != STORAGE_OK)
		log_warning("transfer %s: state object unreadable; the header's expiry is shown", id);
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
	rc = transfer_unlock_key(st, dk, &h, secret, password, tk); /* agreed secrets: §6.9 */
	if (rc == TRANSFER_AGREED_EAUTH) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			"transfer %s: wrong password (none of the agreed secrets matches)", id);
		goto out;
	}
	if (rc != 0) {
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

