/*
 * transfer_tus.c - the sealed upload state objects "<id>/u" and "<id>/u<n>"
 * (see transfer_tus.h; bytes in docs/FORMATS.md §6.6). The chunks and the
 * join are in transfer_tus_data.c.
 * Memory: JSON payloads of a few hundred bytes; file keys and secrets in
 * them are wiped. Thread safety: no shared state.
 */
#include "transfer_tus.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "env_sealed.h"
#include "envelope_int.h"
#include "log.h"
#include "transfer_int.h"

static const char tus_magic[5] = { 'O', 'F', 'L', 'D', 'U' };
#define TUS_MAX_OBJECT 65536u

/* tus_key - K_u = HKDF(D, "", "offload v1 upload state") */
static int
tus_key(const unsigned char dkey[32], unsigned char k[32])
{
	static const char info[] = "offload v1 upload state";

	return crypto_hkdf(dkey, 32, NULL, 0, info, sizeof info - 1, k, 32);
}

int
transfer_tus_seal(const unsigned char dkey[32], const char *id, uint32_t index,
	const unsigned char *nonce, const char *json, size_t json_len,
	unsigned char **obj, size_t *obj_len)
{
	unsigned char k[32], ix[4];
	struct env_sealed_more x = { ix, sizeof ix, 0 };
	int rc;

	*obj = NULL;
	if (!env_valid_id_str(id) || json_len > TUS_MAX_OBJECT)
		return ENVELOPE_EINVAL;
	env_put32(ix, index);
	rc = tus_key(dkey, k) != 0 ? ENVELOPE_EINTERNAL :
	    env_sealed_object(k, tus_magic, id, &x, nonce, json, json_len, obj, obj_len);
	crypto_wipe(k, sizeof k);
	return rc;
}

int
transfer_tus_open(const unsigned char dkey[32], const char *id, uint32_t index,
	const unsigned char *obj, size_t len, char **json)
{
	unsigned char k[32], ix[4];
	struct env_sealed_more x = { ix, sizeof ix, 0 };
	int rc;

	env_put32(ix, index);
	rc = tus_key(dkey, k) != 0 ? ENVELOPE_EINTERNAL :
	    env_sealed_object_open(k, tus_magic, id, &x, obj, len, TUS_MAX_OBJECT + 64, json);
	crypto_wipe(k, sizeof k);
	return rc;
}

/* ---- store ------------------------------------------------------------------ */

static void
state_name(char *key, size_t cap, const char *id, uint32_t index)
{
	if (index == TUS_GROUP_INDEX)
		snprintf(key, cap, "%s/u", id);
	else
		snprintf(key, cap, "%s/u%u", id, index);
}

/* state_put - seal JSON (wiped here) and store it over the previous state */
static int
state_put(struct storage *st, const struct key32 *dk, const char *id, uint32_t index, char *json)
{
	unsigned char *obj = NULL;
	size_t olen = 0, jlen = strlen(json);
	char key[64];
	int rc = STORAGE_ETEMP;

	if (transfer_tus_seal(dk->key, id, index, NULL, json, jlen, &obj, &olen) != ENVELOPE_OK) {
		log_error("upload %s: cannot seal the upload state", id);
		goto out;
	}
	state_name(key, sizeof key, id, index);
	rc = storage_put_buffer(st, key, obj, olen);
out:
	crypto_free_string(json);
	g_free(obj);
	return rc;
}

/* state_get - the parsed JSON object of a state (caller unrefs the parser) */
static int
state_get(struct storage *st, const struct key32 *dk, const char *id, uint32_t index,
	JsonParser **jpp)
{
	GByteArray *a = g_byte_array_new();
	JsonParser *jp = NULL;
	char key[64], *json = NULL;
	int rc;

	*jpp = NULL;
	state_name(key, sizeof key, id, index);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
	if (rc != STORAGE_OK)
		goto out;
	rc = STORAGE_EPERM;
	if (transfer_tus_open(dk->key, id, index, a->data, a->len, &json) != ENVELOPE_OK) {
		log_warning("upload %s: state %s does not open", id, key);
		goto out;
	}
	jp = json_parser_new();
	if (!json_parser_load_from_data(jp, json, -1, NULL) || json_parser_get_root(jp) == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		log_warning("upload %s: state %s is not a JSON object", id, key);
		goto out;
	}
	*jpp = jp;
	jp = NULL;
	rc = STORAGE_OK;
out:
	if (jp)
		g_object_unref(jp);
	crypto_free_string(json);
	crypto_wipe(a->data, a->len);
	g_byte_array_free(a, TRUE);
	return rc;
}

static const char *
obj_str(JsonObject *o, const char *name)
{
	return json_object_get_string_member_with_default(o, name, "");
}

static char *
builder_done(JsonBuilder *b)
{
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	char *s;

	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return s;
}

static void
add_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v ? v : "");
}

static void
add_int(JsonBuilder *b, const char *name, int64_t v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, v);
}

static const char *const tus_state_names[] = { "open", "done", "refused" };

/* add_sent - "sent": [{"length", "state"}, ...] of a committed reply */
static void
add_sent(JsonBuilder *b, const struct tus_group *g)
{
	json_builder_set_member_name(b, "sent");
	json_builder_begin_array(b);
	for (uint32_t i = 0; i < g->count; i++) {
		json_builder_begin_object(b);
		add_int(b, "length", (int64_t)g->sent[i].length);
		add_str(b, "state", tus_state_names[g->sent[i].state]);
		if (g->sent[i].state == TUS_REFUSED && g->sent[i].why[0] != '\0')
			add_str(b, "detail", g->sent[i].why);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

int
transfer_tus_group_put(struct storage *st, const struct key32 *dk, const char *id,
	const struct tus_group *g)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	add_int(b, "v", 1);
	add_str(b, "src", g->src);
	if (g->sent == NULL) {
		add_str(b, "secret", g->secret);
		add_str(b, "revoke", g->revoke_secret);
	}
	add_int(b, "created", g->created);
	add_int(b, "expires", g->expires);
	if (g->sent == NULL)
		add_str(b, "message", g->message);
	add_int(b, "count", g->count);
	add_int(b, "total", (int64_t)g->total);
	if (g->sent != NULL)
		add_sent(b, g);
	return state_put(st, dk, id, TUS_GROUP_INDEX, builder_done(b));
}

/* sent_why - the verdict of a sent form's refused file, "" when none or unknown */
static const char *
sent_why(const char *s)
{
	static const char *const known[] = { "infected", "unscannable", "damaged" };

	for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
		if (strcmp(s, known[i]) == 0)
			return known[i];
	return "";
}

/* sent_parse - the "sent" array of a committed reply into g; -1 when it
 * does not hold count files that are done or refused */
static int
sent_parse(JsonNode *n, struct tus_group *g)
{
	JsonArray *a = JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;

	if (a == NULL || g->count == 0 || json_array_get_length(a) != g->count)
		return -1;
	g->sent = g_new0(struct tus_sent, g->count);
	for (uint32_t i = 0; i < g->count; i++) {
		JsonNode *e = json_array_get_element(a, i);
		JsonObject *o = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
		const char *state = o != NULL ? obj_str(o, "state") : "";
		int64_t len = o != NULL ? json_object_get_int_member_with_default(o, "length", -1) : -1;

		if (len < 0 || (strcmp(state, "done") != 0 && strcmp(state, "refused") != 0))
			return -1;
		g->sent[i].length = (uint64_t)len;
		g->sent[i].state = strcmp(state, "done") == 0 ? TUS_DONE : TUS_REFUSED;
		if (g->sent[i].state == TUS_REFUSED) /* a verdict this reader does not know: "" */
			g_strlcpy(g->sent[i].why, sent_why(obj_str(o, "detail")), sizeof g->sent[i].why);
	}
	return 0;
}

int
transfer_tus_group_get(struct storage *st, const struct key32 *dk, const char *id,
	struct tus_group *g)
{
	JsonParser *jp = NULL;
	JsonObject *o;
	JsonNode *sent;
	int rc = state_get(st, dk, id, TUS_GROUP_INDEX, &jp);
	bool bad;

	memset(g, 0, sizeof *g);
	if (rc != STORAGE_OK)
		return rc;
	o = json_node_get_object(json_parser_get_root(jp));
	g_strlcpy(g->src, obj_str(o, "src"), sizeof g->src);
	g_strlcpy(g->secret, obj_str(o, "secret"), sizeof g->secret);
	g_strlcpy(g->revoke_secret, obj_str(o, "revoke"), sizeof g->revoke_secret);
	g->created = json_object_get_int_member_with_default(o, "created", 0);
	g->expires = json_object_get_int_member_with_default(o, "expires", 0);
	g->message = g_strdup(obj_str(o, "message"));
	g->count = (uint32_t)json_object_get_int_member_with_default(o, "count", 0);
	g->total = (uint64_t)json_object_get_int_member_with_default(o, "total", 0);
	sent = json_object_get_member(o, "sent");
	if (sent != NULL)
		bad = sent_parse(sent, g) != 0;
	else
		bad = strlen(g->secret) != ENVELOPE_SECRET_TEXT_LEN ||
		    strlen(g->revoke_secret) != ENVELOPE_SECRET_TEXT_LEN;
	g_object_unref(jp);
	if (bad || strlen(g->src) != ENVELOPE_ID_TEXT_LEN) {
		log_warning("upload %s: group state is inconsistent", id);
		transfer_tus_group_clear(g);
		return STORAGE_EPERM;
	}
	return STORAGE_OK;
}

void
transfer_tus_group_clear(struct tus_group *g)
{
	if (g == NULL)
		return;
	g_free(g->message);
	g_free(g->sent);
	crypto_wipe(g, sizeof *g);
}

int
transfer_tus_file_init(struct tus_file *f, uint32_t index, const char *name, uint64_t length)
{
	memset(f, 0, sizeof *f);
	f->index = index;
	f->length = length;
	f->name = g_strdup(name);
	if (crypto_random(f->key, sizeof f->key) != 0 || crypto_random(f->prefix, sizeof f->prefix) != 0)
		return -1;
	return 0;
}

int
transfer_tus_file_put(struct storage *st, const struct key32 *dk, const char *id,
	const struct tus_file *f)
{
	JsonBuilder *b = json_builder_new();
	char *key = enc_b64url(f->key, sizeof f->key), *prefix = enc_hex(f->prefix, sizeof f->prefix);

	json_builder_begin_object(b);
	add_int(b, "v", 1);
	add_str(b, "name", f->name);
	add_int(b, "length", (int64_t)f->length);
	add_int(b, "offset", (int64_t)f->offset);
	add_int(b, "segment", (int64_t)(f->offset / ENVELOPE_SEGMENT_SIZE));
	add_str(b, "key", key);
	add_str(b, "prefix", prefix);
	add_str(b, "state", tus_state_names[f->state]);
	add_str(b, "sha256", f->sha256);
	add_str(b, "detail", f->detail);
	if (f->resent > 0) /* absent while 0: the states of before it read the same */
		add_int(b, "resent", f->resent);
	if (f->mpu != NULL) {
		add_str(b, "mpu", f->mpu);
		add_int(b, "mpu_segments", (int64_t)f->mpu_segs);
		json_builder_set_member_name(b, "etags");
		json_builder_begin_array(b);
		for (guint i = 0; f->etags != NULL && i < f->etags->len; i++)
			json_builder_add_string_value(b, g_ptr_array_index(f->etags, i));
		json_builder_end_array(b);
	}
	crypto_free_string(key);
	g_free(prefix);
	return state_put(st, dk, id, f->index, builder_done(b));
}

/* file_parse_mpu - the multipart upload of a file state, if any; -1 when inconsistent */
static int
file_parse_mpu(JsonObject *o, struct tus_file *f)
{
	JsonNode *n;
	JsonArray *a;
	int64_t segs;

	if (!json_object_has_member(o, "mpu"))
		return 0;
	segs = json_object_get_int_member_with_default(o, "mpu_segments", -1);
	n = json_object_get_member(o, "etags");
	a = n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
	if (obj_str(o, "mpu")[0] == '\0' || segs < 0 || (uint64_t)segs * ENVELOPE_SEGMENT_SIZE >
	    f->offset + ENVELOPE_SEGMENT_SIZE - 1 || a == NULL || json_array_get_length(a) > 10000 ||
	    (segs > 0) != (json_array_get_length(a) > 0))
		return -1;
	f->mpu = g_strdup(obj_str(o, "mpu"));
	f->mpu_segs = (uint64_t)segs;
	f->etags = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		const char *e = json_array_get_string_element(a, i);

		if (e == NULL || *e == '\0')
			return -1;
		g_ptr_array_add(f->etags, g_strdup(e));
	}
	return 0;
}

/* file_parse - the members of a file state; -1 when inconsistent */
static int
file_parse(JsonObject *o, struct tus_file *f)
{
	const char *state = obj_str(o, "state");
	int64_t len = json_object_get_int_member_with_default(o, "length", -1);
	int64_t off = json_object_get_int_member_with_default(o, "offset", -1);
	int64_t seg = json_object_get_int_member_with_default(o, "segment", -1);
	int64_t resent = json_object_get_int_member_with_default(o, "resent", 0);
	guint i;

	if (len < 0 || off < 0 || off > len || seg != off / (int64_t)ENVELOPE_SEGMENT_SIZE ||
	    resent < 0 || resent > 1000)
		return -1;
	f->resent = (uint32_t)resent;
	f->length = (uint64_t)len;
	f->offset = (uint64_t)off;
	if (enc_b64url_decode(obj_str(o, "key"), f->key, sizeof f->key) != (long)sizeof f->key ||
	    enc_hex_decode(obj_str(o, "prefix"), f->prefix, sizeof f->prefix) != 0)
		return -1;
	for (i = 0; i < G_N_ELEMENTS(tus_state_names); i++)
		if (strcmp(state, tus_state_names[i]) == 0)
			f->state = (enum tus_file_state)i;
	f->name = g_strdup(obj_str(o, "name"));
	f->detail = g_strdup(obj_str(o, "detail"));
	g_strlcpy(f->sha256, obj_str(o, "sha256"), sizeof f->sha256);
	return file_parse_mpu(o, f);
}

int
transfer_tus_file_get(struct storage *st, const struct key32 *dk, const char *id,
	uint32_t index, struct tus_file *f)
{
	JsonParser *jp = NULL;
	int rc;

	memset(f, 0, sizeof *f);
	f->index = index;
	rc = state_get(st, dk, id, index, &jp);
	if (rc != STORAGE_OK)
		return rc;
	if (file_parse(json_node_get_object(json_parser_get_root(jp)), f) != 0) {
		log_warning("upload %s: file state %u is inconsistent", id, index);
		transfer_tus_file_clear(f);
		rc = STORAGE_EPERM;
	}
	g_object_unref(jp);
	return rc;
}

gboolean
transfer_tus_refused_malware(const char *detail)
{
	if (detail == NULL)
		return FALSE;
	if (g_str_has_prefix(detail, "infected"))
		return TRUE;
	if (g_str_has_prefix(detail, "unscannable") || g_str_has_prefix(detail, "unavailable") ||
	    strcmp(detail, "damaged") == 0)
		return FALSE;
	/* written before the verdict prefix: a bare signature name (no space) is
	 * malware, clamd's limit heuristics and its error texts are not */
	return *detail != '\0' && strchr(detail, ' ') == NULL &&
		!g_str_has_prefix(detail, "Heuristics.Limits.Exceeded");
}

const char *
transfer_tus_refused_why(const char *detail)
{
	if (detail == NULL || *detail == '\0')
		return "";
	if (strcmp(detail, "damaged") == 0)
		return "damaged";
	return transfer_tus_refused_malware(detail) ? "infected" : "unscannable";
}

void
transfer_tus_file_clear(struct tus_file *f)
{
	if (f == NULL)
		return;
	g_free(f->name);
	g_free(f->detail);
	g_free(f->mpu);
	if (f->etags != NULL)
		g_ptr_array_free(f->etags, TRUE);
	crypto_wipe(f, sizeof *f);
}
