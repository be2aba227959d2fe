/*
 * transfer_notify.c - the notify object "<id>/n" and the once markers
 * "<id>/o<event>" (see transfer_notify.h; bytes in docs/FORMATS.md §6.7, §6.8).
 * Memory: small buffers; derived keys are wiped before return.
 */
#include "transfer_notify.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "env_sealed.h"
#include "envelope_int.h"
#include "log.h"
#include "transfer.h"
#include "transfer_int.h"

static const char notify_magic[5] = { 'O', 'F', 'L', 'D', 'N' };
#define ONCE_EVENT_LEN 16u
#define ONCE_BODY (30u + ONCE_EVENT_LEN + 8u)

int
transfer_receipts_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (g_ascii_strcasecmp(s, "first") == 0)
		return TRANSFER_RECEIPTS_FIRST;
	if (g_ascii_strcasecmp(s, "every") == 0)
		return TRANSFER_RECEIPTS_EVERY;
	if (g_ascii_strcasecmp(s, "none") == 0)
		return TRANSFER_RECEIPTS_NONE;
	return -1;
}

const char *
transfer_receipts_name(enum transfer_receipts r)
{
	return r == TRANSFER_RECEIPTS_FIRST ? "first" : r == TRANSFER_RECEIPTS_EVERY ? "every" : "none";
}

/* notify_key - K_n = HKDF(D, "", "offload v1 notify") */
static int
notify_key(const struct key32 *dk, unsigned char k[32])
{
	static const char info[] = "offload v1 notify";

	return crypto_hkdf(dk->key, sizeof dk->key, NULL, 0, info, sizeof info - 1, k, 32);
}

int
transfer_notify_seal(const struct key32 *dk, const char *id, const unsigned char *nonce,
	const char *json, size_t json_len, unsigned char **obj, size_t *obj_len)
{
	unsigned char k[32];
	int rc;

	*obj = NULL;
	if (json_len > TRANSFER_NOTIFY_MAX_JSON)
		return TRANSFER_NOTIFY_EINVAL;
	rc = notify_key(dk, k) != 0 ? ENVELOPE_EINTERNAL :
	    env_sealed_object(k, notify_magic, id, NULL, nonce, json, json_len, obj, obj_len);
	crypto_wipe(k, sizeof k);
	return rc == ENVELOPE_OK ? 0 : TRANSFER_NOTIFY_EINVAL;
}

/* notify_parse - the JSON {"v":1,"to":...,"receipts":...} into out */
static int
notify_parse(const char *json, struct transfer_notify *out)
{
	JsonParser *jp = json_parser_new();
	int rc = TRANSFER_NOTIFY_EINVAL;

	if (json_parser_load_from_data(jp, json, -1, NULL) &&
	    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		JsonObject *o = json_node_get_object(json_parser_get_root(jp));
		const char *to = json_object_get_string_member_with_default(o, "to", NULL);
		int r = transfer_receipts_parse(json_object_get_string_member_with_default(o, "receipts", ""));

		if (json_object_get_int_member_with_default(o, "v", 0) == 1 && to != NULL &&
		    strchr(to, '@') != NULL && r >= 0) {
			out->to = g_strdup(to);
			out->receipts = (enum transfer_receipts)r;
			rc = 0;
		}
	}
	g_object_unref(jp);
	return rc;
}

int
transfer_notify_decode(const struct key32 *dk, const char *id, const unsigned char *obj,
	size_t len, struct transfer_notify *out)
{
	unsigned char k[32];
	char *pt = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (notify_key(dk, k) != 0)
		rc = TRANSFER_NOTIFY_EINVAL;
	else if ((rc = env_sealed_object_open(k, notify_magic, id, NULL, obj, len,
	    TRANSFER_NOTIFY_HDR + TRANSFER_NOTIFY_MAX_JSON + ENVELOPE_TAG_LEN, &pt)) != ENVELOPE_OK)
		rc = rc == ENVELOPE_EINVAL ? TRANSFER_NOTIFY_EINVAL : TRANSFER_NOTIFY_EAUTH;
	else
		rc = notify_parse(pt, out);
	crypto_wipe(k, sizeof k);
	crypto_free_string(pt);
	return rc;
}

void
transfer_notify_clear(struct transfer_notify *n)
{
	g_clear_pointer(&n->to, g_free);
}

int
transfer_notify_read(struct storage *st, const struct key32 *dk, const char *id,
	struct transfer_notify *out)
{
	GByteArray *a = g_byte_array_new();
	char key[64];
	int rc, d;

	memset(out, 0, sizeof *out);
	snprintf(key, sizeof key, "%s/n", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
	if (rc == STORAGE_ENOENT || rc == STORAGE_ESTOP) {
		rc = 0;
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	d = transfer_notify_decode(dk, id, a->data, a->len, out);
	if (d != 0)
		log_warning("transfer %s: %s notify object ignored", id,
			d == TRANSFER_NOTIFY_EAUTH ? "a forged or foreign" : "a malformed");
	rc = d == 0 ? 1 : 0;
out:
	g_byte_array_free(a, TRUE);
	return rc;
}

int
transfer_notify_commit(struct transfer *t, const struct key32 *dk)
{
	JsonBuilder *b;
	JsonGenerator *g;
	JsonNode *root;
	unsigned char *obj = NULL;
	size_t olen = 0, jlen = 0;
	char key[64], *json;
	int rc = STORAGE_EPERM;

	if (t->notify_to == NULL || *t->notify_to == '\0')
		return STORAGE_OK;
	b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "v");
	json_builder_add_int_value(b, 1);
	json_builder_set_member_name(b, "to");
	json_builder_add_string_value(b, t->notify_to);
	json_builder_set_member_name(b, "receipts");
	json_builder_add_string_value(b, transfer_receipts_name(t->receipts));
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	g = json_generator_new();
	json_generator_set_root(g, root);
	json = json_generator_to_data(g, &jlen);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	if (transfer_notify_seal(dk, t->id, NULL, json, jlen, &obj, &olen) != 0) {
		log_error("transfer %s: cannot seal the notify object", t->id);
		goto out;
	}
	snprintf(key, sizeof key, "%s/n", t->id);
	rc = transfer_put_side(t, key, obj, olen);
out:
	g_free(json);
	g_free(obj);
	return rc;
}

/* ---- once markers ---- */

static bool
once_event_valid(const char *event)
{
	size_t n = event ? strlen(event) : 0;

	if (n == 0 || n > ONCE_EVENT_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_islower(event[i]) && !g_ascii_isdigit(event[i]))
			return false;
	return true;
}

int
transfer_once_encode(const struct key32 *dk, const char *id, const char *event, int64_t now,
	unsigned char out[TRANSFER_ONCE_LEN])
{
	uint64_t u = (uint64_t)now;

	if (!env_valid_id_str(id) || !once_event_valid(event))
		return -1;
	memset(out, 0, TRANSFER_ONCE_LEN);
	env_sealed_head(out, "OFLDO", id);
	memcpy(out + 30, event, strlen(event));
	for (int i = 0; i < 8; i++)
		out[30 + ONCE_EVENT_LEN + i] = (unsigned char)(u >> (56 - 8 * i));
	return env_mac_put(dk->key, "offload v1 state", out, ONCE_BODY);
}

void
transfer_once_key(char *key, size_t cap, const char *id, const char *event)
{
	snprintf(key, cap, "%s/o%s", id, event);
}

int
transfer_once_claim(struct storage *st, const struct key32 *dk, const char *id,
	const char *event, int64_t now)
{
	unsigned char b[TRANSFER_ONCE_LEN];
	char key[64];
	int rc;

	if (transfer_once_encode(dk, id, event, now, b) != 0)
		return STORAGE_EPERM;
	transfer_once_key(key, sizeof key, id, event);
	rc = storage_create(st, key, b, sizeof b);
	if (rc == STORAGE_OK)
		return 1;
	return rc == STORAGE_EEXIST ? 0 : rc;
}

void
transfer_once_release(struct storage *st, const char *id, const char *event)
{
	char key[64];
	int rc;

	transfer_once_key(key, sizeof key, id, event);
	rc = storage_delete(st, key);
	if (rc != STORAGE_OK && rc != STORAGE_ENOENT)
		log_warning("transfer %s: cannot delete %s (%s): that notice is not sent again", id, key,
			storage_strerror(rc));
}

int
transfer_once_exists(struct storage *st, const char *id, const char *event)
{
	char key[64];
	int rc;

	transfer_once_key(key, sizeof key, id, event);
	rc = storage_stat(st, key, NULL, NULL);
	if (rc == STORAGE_OK)
		return 1;
	return rc == STORAGE_ENOENT ? 0 : rc;
}
