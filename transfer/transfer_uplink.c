/*
 * transfer_uplink.c - the standalone upload link object "<id>/l" (see
 * transfer_uplink.h; bytes in docs/FORMATS.md §6.11).
 * Memory: small buffers; derived keys and the token are wiped before return.
 * Thread safety: no shared state.
 */
#include "transfer_uplink.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "env_sealed.h"
#include "envelope_int.h"
#include "log.h"
#include "transfer_int.h"

static const char uplink_magic[5] = { 'O', 'F', 'L', 'D', 'L' };

/* uplink_keys - K_l from the token (tok may be NULL), K_lm from the deployment key */
static int
uplink_keys(const unsigned char dkey[32], const unsigned char *tok, unsigned char kl[32],
	unsigned char km[32])
{
	static const char il[] = "offload v1 upload link", im[] = "offload v1 upload link mac";

	if (tok != NULL && crypto_hkdf(tok, TRANSFER_REPLY_TOKEN_LEN, NULL, 0, il, sizeof il - 1, kl, 32) != 0)
		return -1;
	return crypto_hkdf(dkey, 32, NULL, 0, im, sizeof im - 1, km, 32);
}

int
transfer_uplink_seal(const unsigned char dkey[32], const char *id,
	const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN], int64_t created, int64_t expires,
	const unsigned char *nonce, const char *json, size_t json_len,
	unsigned char **obj, size_t *obj_len)
{
	unsigned char kl[32], km[32], f[16];
	struct env_sealed_more x = { f, sizeof f, 32 };
	int rc;

	*obj = NULL;
	if (TRANSFER_UPLINK_HDR + json_len + ENVELOPE_TAG_LEN + 32 > TRANSFER_UPLINK_MAX)
		return ENVELOPE_EINVAL;
	env_put64(f, (uint64_t)created);
	env_put64(f + 8, (uint64_t)expires);
	rc = uplink_keys(dkey, tok, kl, km) != 0 ? ENVELOPE_EINTERNAL :
	    env_sealed_object(kl, uplink_magic, id, &x, nonce, json, json_len, obj, obj_len);
	if (rc == ENVELOPE_OK)
		crypto_hmac_sha256(km, 32, *obj, *obj_len - 32, *obj + *obj_len - 32);
	crypto_wipe(kl, sizeof kl);
	crypto_wipe(km, sizeof km);
	return rc;
}

/* uplink_json - to and note of the opened JSON into l; false when "to" is missing */
static bool
uplink_json(const char *json, struct transfer_uplink *l)
{
	JsonParser *jp = json_parser_new();
	bool ok = false;

	if (json_parser_load_from_data(jp, json, -1, NULL) && json_parser_get_root(jp) != NULL &&
	    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		JsonObject *o = json_node_get_object(json_parser_get_root(jp));
		const char *to = json_object_get_string_member_with_default(o, "to", NULL);

		if (to != NULL && *to != '\0') {
			l->to = g_strdup(to);
			l->note = g_strdup(json_object_get_string_member_with_default(o, "note", ""));
			ok = true;
		}
	}
	g_object_unref(jp);
	return ok;
}

int
transfer_uplink_decode(const unsigned char dkey[32], const char *id,
	const unsigned char *tok, const unsigned char *obj, size_t len, struct transfer_uplink *l)
{
	unsigned char kl[32], km[32], mac[32];
	struct env_sealed_more x = { NULL, 16, 32 };
	size_t body = len - 32;
	char *pt = NULL;
	int rc = ENVELOPE_EINVAL;

	memset(l, 0, sizeof *l);
	if (len < TRANSFER_UPLINK_HDR + ENVELOPE_TAG_LEN + 32 || len > TRANSFER_UPLINK_MAX ||
	    !env_valid_id_str(id) || !env_sealed_head_ok(obj, uplink_magic, id))
		return rc;
	rc = ENVELOPE_EINTERNAL;
	if (uplink_keys(dkey, tok, kl, km) != 0)
		goto out;
	crypto_hmac_sha256(km, 32, obj, body, mac);
	rc = ENVELOPE_EAUTH;
	if (!crypto_memeq(mac, obj + body, 32))
		goto out;
	l->created = env_u2s64(env_get64(obj + 30));
	l->expires = env_u2s64(env_get64(obj + 38));
	rc = ENVELOPE_OK;
	if (tok == NULL)
		goto out;
	rc = env_sealed_object_open(kl, uplink_magic, id, &x, obj, len, TRANSFER_UPLINK_MAX, &pt);
	if (rc == ENVELOPE_OK && !uplink_json(pt, l))
		rc = ENVELOPE_EINVAL;
out:
	crypto_wipe(kl, sizeof kl);
	crypto_wipe(km, sizeof km);
	crypto_free_string(pt);
	if (rc != ENVELOPE_OK)
		transfer_uplink_clear(l);
	return rc;
}

static char *
uplink_json_text(const char *to, const char *note, size_t *len)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	char *json;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "to");
	json_builder_add_string_value(b, to);
	if (note != NULL && *note != '\0') {
		json_builder_set_member_name(b, "note");
		json_builder_add_string_value(b, note);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	json = json_generator_to_data(g, len);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return json;
}

int
transfer_uplink_create(struct storage *st, const struct key32 *dk, const char *url,
	const char *to, const char *note, int64_t expires, char **link,
	char id_out[ENVELOPE_ID_TEXT_LEN + 1])
{
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN], *obj = NULL;
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1], key[64], *json, *t;
	size_t olen = 0, jlen = 0;
	int rc = STORAGE_ETEMP;

	*link = NULL;
	json = uplink_json_text(to, note, &jlen);
	if (envelope_new_ids(id_out, secret) != ENVELOPE_OK || crypto_random(tok, sizeof tok) != 0 ||
	    transfer_uplink_seal(dk->key, id_out, tok, (int64_t)time(NULL), expires, NULL, json, jlen,
	    &obj, &olen) != ENVELOPE_OK) {
		rc = jlen + TRANSFER_UPLINK_HDR + 48 > TRANSFER_UPLINK_MAX ? STORAGE_EPERM : STORAGE_ETEMP;
		goto out;
	}
	snprintf(key, sizeof key, "%s/l", id_out);
	rc = storage_create(st, key, obj, olen);
	if (rc != STORAGE_OK)
		goto out;
	t = enc_b64url(tok, sizeof tok);
	*link = g_strdup_printf("%s/u/%s#%s", url, id_out, t);
	crypto_free_string(t);
out:
	crypto_wipe(tok, sizeof tok);
	crypto_wipe(secret, sizeof secret);
	g_free(json);
	g_free(obj);
	return rc;
}

int
transfer_uplink_read(struct storage *st, const struct key32 *dk, const char *id,
	const unsigned char *tok, struct transfer_uplink *l)
{
	GByteArray *a = g_byte_array_new();
	char key[64];
	int rc;

	memset(l, 0, sizeof *l);
	snprintf(key, sizeof key, "%s/l", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
	if (rc == STORAGE_OK) {
		int e = transfer_uplink_decode(dk->key, id, tok, a->data, a->len, l);

		if (e != ENVELOPE_OK) {
			log_warning("upload link %s: %s", id, e == ENVELOPE_EAUTH ?
				"fails its MAC or does not open with this token" : "malformed object");
			rc = STORAGE_EPERM;
		}
	} else if (rc == STORAGE_ESTOP) {
		rc = STORAGE_EPERM;
	}
	g_byte_array_free(a, TRUE);
	return rc;
}

void
transfer_uplink_clear(struct transfer_uplink *l)
{
	g_free(l->to);
	g_free(l->note);
	l->to = l->note = NULL;
}

static int
uplink_key(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)size;
	(void)mtime;
	g_ptr_array_add(arg, g_strdup(key));
	return 0;
}

int
transfer_uplink_delete(struct storage *st, const char *id, unsigned *n)
{
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	char prefix[64];
	int rc;

	*n = 0;
	snprintf(prefix, sizeof prefix, "%s/", id);
	rc = storage_list(st, prefix, uplink_key, keys);
	/* the link object first: from then on the link is dead, whatever else fails */
	for (guint i = 0; rc == STORAGE_OK && i < keys->len; i++)
		if (g_str_has_suffix(g_ptr_array_index(keys, i), "/l") && i > 0) {
			gpointer t = keys->pdata[0];

			keys->pdata[0] = keys->pdata[i];
			keys->pdata[i] = t;
		}
	for (guint i = 0; rc == STORAGE_OK && i < keys->len; i++) {
		int d = storage_delete(st, g_ptr_array_index(keys, i));

		if (d == STORAGE_OK)
			(*n)++;
		else if (d != STORAGE_ENOENT)
			rc = d;
	}
	if (rc == STORAGE_OK)
		rc = storage_prune(st, id);
	g_ptr_array_unref(keys);
	return rc;
}
