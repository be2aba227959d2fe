/*
 * transfer_sender.c - the sender view "<id>/s" (see transfer_sender.h,
 * FORMATS.md §6.4).
 */
#include "transfer_sender.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "env_sealed.h"
#include "log.h"
#include "transfer.h"
#include "transfer_int.h"
#include "transfer_state.h"

#define SV_MAX (4u * 1024 * 1024)

static const char sv_magic[5] = { 'O', 'F', 'L', 'D', 'S' };

/* sv_key - HKDF(revoke_secret_raw, "offload v1" || id, "offload v1 sender view") */
static int
sv_key(const char *id, const char *revoke_secret, unsigned char k[32])
{
	unsigned char raw[ENVELOPE_SECRET_RAW_LEN + 2], salt[10 + ENVELOPE_ID_TEXT_LEN];
	int rc = -1;

	if (!transfer_valid_id(id) || revoke_secret == NULL ||
	    strlen(revoke_secret) != ENVELOPE_SECRET_TEXT_LEN ||
	    enc_b64url_decode(revoke_secret, raw, sizeof raw) != ENVELOPE_SECRET_RAW_LEN)
		goto out;
	memcpy(salt, "offload v1", 10);
	memcpy(salt + 10, id, ENVELOPE_ID_TEXT_LEN);
	if (crypto_hkdf(raw, ENVELOPE_SECRET_RAW_LEN, salt, sizeof salt, "offload v1 sender view",
	    22, k, 32) == 0)
		rc = 0;
out:
	crypto_wipe(raw, sizeof raw);
	return rc;
}

int
transfer_sender_seal(const char *id, const char *revoke_secret, const unsigned char nonce[12],
	const char *json, size_t json_len, unsigned char **out, size_t *outlen)
{
	unsigned char k[32];
	int rc;

	if (json_len > SV_MAX || sv_key(id, revoke_secret, k) != 0)
		return -1;
	rc = env_sealed_object(k, sv_magic, id, NULL, nonce, json, json_len, out, outlen);
	crypto_wipe(k, sizeof k);
	return rc == ENVELOPE_OK ? 0 : -1;
}

int
transfer_sender_open(const char *id, const char *revoke_secret, const unsigned char *buf,
	size_t len, char **json)
{
	unsigned char k[32];
	int rc;

	*json = NULL;
	if (sv_key(id, revoke_secret, k) != 0)
		return TRANSFER_SENDER_EINVAL;
	rc = env_sealed_object_open(k, sv_magic, id, NULL, buf, len, TRANSFER_SENDER_HDR + 16 + SV_MAX,
		json);
	crypto_wipe(k, sizeof k);
	return rc == ENVELOPE_OK ? 0 : rc == ENVELOPE_EINVAL ? TRANSFER_SENDER_EINVAL :
	    TRANSFER_SENDER_EAUTH;
}

int
transfer_sender_read(struct storage *st, const char *id, const char *revoke_secret, char **json)
{
	GByteArray *a = g_byte_array_new();
	char key[64];
	int rc;

	snprintf(key, sizeof key, "%s/s", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
	if (rc == STORAGE_ENOENT)
		rc = 0;
	else if (rc == STORAGE_OK) {
		rc = transfer_sender_open(id, revoke_secret, a->data, a->len, json);
		if (rc == 0)
			rc = 1;
		else {
			log_warning("transfer %s: sender view does not open (%s)", id,
				rc == TRANSFER_SENDER_EAUTH ? "wrong revoke secret or changed" : "malformed");
			rc -= 10;
		}
	}
	g_byte_array_free(a, TRUE);
	return rc;
}

/* sv_json - the sender view document of t */
static char *
sv_json(const struct transfer *t, size_t *len)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	char *s;
	guint i;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "v");
	json_builder_add_int_value(b, 1);
	json_builder_set_member_name(b, "created");
	json_builder_add_int_value(b, t->created);
	json_builder_set_member_name(b, "expires");
	json_builder_add_int_value(b, t->expires);
	json_builder_set_member_name(b, "class");
	json_builder_add_string_value(b, t->class_ ? t->class_ : "");
	json_builder_set_member_name(b, "subject");
	json_builder_add_string_value(b, t->subject ? t->subject : "");
	json_builder_set_member_name(b, "recipients");
	json_builder_begin_array(b);
	for (i = 0; i < t->rcpts->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(t->rcpts, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (i = 0; i < t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(t->files, i);

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "index");
		json_builder_add_int_value(b, f->index);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, f->name);
		json_builder_set_member_name(b, "size");
		json_builder_add_int_value(b, (gint64)f->size);
		json_builder_set_member_name(b, "sha256");
		json_builder_add_string_value(b, f->sha256);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, len);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return s;
}

static int
sv_put(struct transfer *t, const char *name, const unsigned char *b, size_t len)
{
	char key[64];

	snprintf(key, sizeof key, "%s/%s", t->id, name);
	return transfer_put_side(t, key, b, len);
}

int
transfer_side_commit(struct transfer *t, const struct key32 *dk)
{
	struct transfer_state s;
	unsigned char nonce[12], *obj = NULL;
	size_t len = 0, jlen = 0;
	char *json;
	int rc = STORAGE_ETEMP;

	json = sv_json(t, &jlen);
	if (crypto_random(nonce, sizeof nonce) != 0 ||
	    transfer_sender_seal(t->id, t->revoke_secret, nonce, json, jlen, &obj, &len) != 0) {
		log_error("transfer %s: cannot seal the sender view", t->id);
		goto out;
	}
	rc = sv_put(t, "s", obj, len);
	if (rc != STORAGE_OK)
		goto out;
	g_free(obj);
	obj = NULL;
	transfer_state_init(&s, t->id, t->files->len);
	if (t->max_expires > 0) /* else not recorded: extend uses [policy] max_retention */
		s.limit = t->max_expires > t->expires ? t->max_expires : t->expires;
	rc = transfer_state_encode(dk, &s, &obj, &len) == 0 ? sv_put(t, "x", obj, len) : STORAGE_EPERM;
	transfer_state_clear(&s);
out:
	g_free(obj);
	crypto_free_string(json);
	return rc;
}
