/*
 * transfer_reply.c - the reply token and link of a transfer and its reply
 * object "<id>/r" (see transfer_reply.h; bytes in docs/FORMATS.md §6.5).
 * Memory: small buffers; the token-derived keys are wiped before return.
 * Thread safety: no shared state.
 */
#include "transfer_reply.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "env_sealed.h"
#include "envelope_int.h"
#include "log.h"
#include "transfer.h"
#include "transfer_int.h"

static const char reply_magic[5] = { 'O', 'F', 'L', 'D', 'R' };
#define REPLY_VERIFIER_OFF 81u /* FORMATS.md §1.3 */
#define REPLY_MAX_OBJECT 4096u

int
transfer_reply_token(const char *id, const char *secret, unsigned char tok[TRANSFER_REPLY_TOKEN_LEN])
{
	static const char info[] = "offload v1 verify";
	unsigned char raw[ENVELOPE_SECRET_RAW_LEN];
	unsigned char salt[sizeof env_salt_label - 1 + ENVELOPE_ID_TEXT_LEN];
	size_t saltlen;
	int rc = -1;

	if (!env_valid_id_str(id) || env_decode_secret(secret, raw) != 0)
		goto out;
	saltlen = env_salt(id, salt);
	if (crypto_hkdf(raw, sizeof raw, salt, saltlen, info, sizeof info - 1, tok,
	    TRANSFER_REPLY_TOKEN_LEN) != 0)
		goto out;
	rc = 0;
out:
	crypto_wipe(raw, sizeof raw);
	return rc;
}

char *
transfer_reply_link(const char *url, const char *id, const char *secret)
{
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN];
	char *t, *link;

	if (transfer_reply_token(id, secret, tok) != 0)
		return NULL;
	t = enc_b64url(tok, sizeof tok);
	link = g_strdup_printf("%s/u/%s#%s", url, id, t);
	crypto_wipe(tok, sizeof tok);
	crypto_free_string(t);
	return link;
}

int
transfer_parse_reply_link(const char *link, char id[ENVELOPE_ID_TEXT_LEN + 1],
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN])
{
	char secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	const char *hash = strrchr(link, '#'), *u;
	int rc = -1;

	if (transfer_parse_link(link, id, secret) == 0) {
		rc = transfer_reply_token(id, secret, tok);
		crypto_wipe(secret, sizeof secret);
		return rc;
	}
	if (hash == NULL || strlen(hash + 1) != TRANSFER_REPLY_TOKEN_TEXT_LEN)
		return -1;
	u = g_strrstr_len(link, hash - link, "/u/");
	u = u ? u + 3 : link;
	if ((size_t)(hash - u) != ENVELOPE_ID_TEXT_LEN)
		return -1;
	memcpy(id, u, ENVELOPE_ID_TEXT_LEN);
	id[ENVELOPE_ID_TEXT_LEN] = '\0';
	if (!env_valid_id_str(id) ||
	    enc_b64url_decode(hash + 1, tok, TRANSFER_REPLY_TOKEN_LEN) != TRANSFER_REPLY_TOKEN_LEN)
		return -1;
	return 0;
}

int
transfer_reply_check(const unsigned char *manifest, size_t len, const char *id,
	const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN])
{
	unsigned char v[32];
	int ok;

	if (manifest == NULL || len < REPLY_VERIFIER_OFF + 32 || !env_valid_id_str(id))
		return ENVELOPE_EINVAL;
	crypto_hmac_sha256(tok, TRANSFER_REPLY_TOKEN_LEN, id, ENVELOPE_ID_TEXT_LEN, v);
	ok = crypto_memeq(v, manifest + REPLY_VERIFIER_OFF, sizeof v);
	return ok ? ENVELOPE_OK : ENVELOPE_EAUTH;
}

/* reply_key - K_r = HKDF(token, "", "offload v1 reply info") */
static int
reply_key(const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN], unsigned char k[32])
{
	static const char info[] = "offload v1 reply info";

	return crypto_hkdf(tok, TRANSFER_REPLY_TOKEN_LEN, NULL, 0, info, sizeof info - 1, k, 32);
}

int
transfer_reply_seal(const char *id, const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN],
	const unsigned char *nonce, const char *json, size_t json_len,
	unsigned char **obj, size_t *obj_len)
{
	unsigned char k[32];
	int rc;

	*obj = NULL;
	if (!env_valid_id_str(id) || json_len > REPLY_MAX_OBJECT)
		return ENVELOPE_EINVAL;
	rc = reply_key(tok, k) != 0 ? ENVELOPE_EINTERNAL :
	    env_sealed_object(k, reply_magic, id, NULL, nonce, json, json_len, obj, obj_len);
	crypto_wipe(k, sizeof k);
	return rc;
}

int
transfer_reply_open(const char *id, const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN],
	const unsigned char *obj, size_t len, char **json)
{
	unsigned char k[32];
	int rc;

	*json = NULL;
	rc = reply_key(tok, k) != 0 ? ENVELOPE_EINTERNAL :
	    env_sealed_object_open(k, reply_magic, id, NULL, obj, len, REPLY_MAX_OBJECT, json);
	crypto_wipe(k, sizeof k);
	return rc;
}

int
transfer_reply_commit(struct transfer *t)
{
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN], *obj = NULL;
	JsonBuilder *b;
	JsonGenerator *g;
	JsonNode *root;
	char key[64], *json;
	size_t olen = 0, jlen = 0;
	int rc = STORAGE_ETEMP;

	if (t->reply_to == NULL || *t->reply_to == '\0')
		return STORAGE_OK;
	b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "to");
	json_builder_add_string_value(b, t->reply_to);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	g = json_generator_new();
	json_generator_set_root(g, root);
	json = json_generator_to_data(g, &jlen);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	if (transfer_reply_token(t->id, t->secret, tok) != 0 ||
	    transfer_reply_seal(t->id, tok, NULL, json, jlen, &obj, &olen) != ENVELOPE_OK) {
		log_error("transfer %s: cannot seal the reply object", t->id);
		goto out;
	}
	snprintf(key, sizeof key, "%s/r", t->id);
	rc = transfer_put_side(t, key, obj, olen);
out:
	crypto_wipe(tok, sizeof tok);
	g_free(json);
	g_free(obj);
	return rc;
}

int
transfer_reply_to(struct storage *st, const char *id, const unsigned char tok[TRANSFER_REPLY_TOKEN_LEN],
	char **to)
{
	GByteArray *a = g_byte_array_new();
	JsonParser *jp = NULL;
	char key[64], *json = NULL;
	int rc;

	*to = NULL;
	snprintf(key, sizeof key, "%s/r", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
	if (rc != STORAGE_OK)
		goto out;
	rc = STORAGE_EPERM;
	if (transfer_reply_open(id, tok, a->data, a->len, &json) != ENVELOPE_OK) {
		log_warning("transfer %s: reply object does not open", id);
		goto out;
	}
	jp = json_parser_new();
	if (json_parser_load_from_data(jp, json, -1, NULL) && json_parser_get_root(jp) != NULL &&
	    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		JsonObject *o = json_node_get_object(json_parser_get_root(jp));
		const char *s = json_object_get_string_member_with_default(o, "to", NULL);

		if (s != NULL && *s != '\0') {
			*to = g_strdup(s);
			rc = STORAGE_OK;
		}
	}
out:
	if (jp)
		g_object_unref(jp);
	g_free(json);
	g_byte_array_free(a, TRUE);
	return rc;
}
