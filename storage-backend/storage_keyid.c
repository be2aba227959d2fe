/*
 * storage_keyid.c - write-once, compare-always fingerprint of the
 * deployment key in the store ("offload keyid v1 <16 hex>\n").
 */
#include "storage_keyid.h"

#include <string.h>

#define KEYID_PREFIX "offload keyid v1 "
#define KEYID_MAX 128

static int
keyid_collect(void *arg, const void *buf, size_t len)
{
	GString *s = arg;

	if (s->len + len > KEYID_MAX)
		return 1;
	g_string_append_len(s, buf, (gssize)len);
	return 0;
}

/* keyid_read - 0 with the stored key id in id (17 bytes), or a storage code */
static int
keyid_read(struct storage *st, char id[KEYS_ID_LEN + 1], GError **err)
{
	GString *s = g_string_new(NULL);
	int rc = storage_get(st, STORAGE_KEYID_OBJECT, 0, STORAGE_TO_END, keyid_collect, s);

	if (rc == STORAGE_OK && (s->len != strlen(KEYID_PREFIX) + KEYS_ID_LEN + 1 ||
				 strncmp(s->str, KEYID_PREFIX, strlen(KEYID_PREFIX)) != 0 ||
				 s->str[s->len - 1] != '\n'))
		rc = STORAGE_ESTOP; /* malformed */
	if (rc == STORAGE_OK) {
		memcpy(id, s->str + strlen(KEYID_PREFIX), KEYS_ID_LEN);
		id[KEYS_ID_LEN] = '\0';
	} else if (rc == STORAGE_ESTOP) {
		g_set_error(err, STORAGE_ERROR, STORAGE_KEYID_EMISMATCH,
			"the store's '%s' object is not an offload key fingerprint; remove it only if "
			"this store holds no transfers of another deployment", STORAGE_KEYID_OBJECT);
		rc = STORAGE_EPERM;
	} else if (rc != STORAGE_ENOENT) {
		g_set_error(err, STORAGE_ERROR, rc, "cannot read the key fingerprint object: %s",
			storage_strerror(rc));
	}
	g_string_free(s, TRUE);
	return rc;
}

static int
keyid_write(struct storage *st, const struct key32 *dk, GError **err)
{
	char *text = g_strdup_printf(KEYID_PREFIX "%s\n", dk->id);
	int rc = STORAGE_OK;
	struct storage_put *p = storage_put_begin(st, STORAGE_KEYID_OBJECT, strlen(text), &rc);

	if (p != NULL && (rc = storage_put_write(p, text, strlen(text))) == STORAGE_OK)
		rc = storage_put_commit(p);
	else
		storage_put_abort(p);
	if (rc != STORAGE_OK)
		g_set_error(err, STORAGE_ERROR, rc, "cannot write the key fingerprint object: %s",
			storage_strerror(rc));
	g_free(text);
	return rc;
}

int
storage_keyid_check(struct storage *st, const struct key32 *dk, bool create, GError **err)
{
	char id[KEYS_ID_LEN + 1];
	int rc = keyid_read(st, id, err);

	if (rc == STORAGE_ENOENT && !create)
		return STORAGE_OK;
	if (rc == STORAGE_ENOENT) {
		rc = keyid_write(st, dk, err);
		if (rc == STORAGE_OK)
			rc = keyid_read(st, id, err);
	}
	if (rc != STORAGE_OK)
		return rc;
	if (strcmp(id, dk->id) != 0) {
		g_set_error(err, STORAGE_ERROR, STORAGE_KEYID_EMISMATCH,
			"the store belongs to deployment key %s, this node has key %s: give every node "
			"the same [security] deployment_key_file", id, dk->id);
		return STORAGE_EPERM;
	}
	return STORAGE_OK;
}

struct storage *
storage_open_checked(const struct conf *conf, const struct key32 *dk, bool create, GError **err)
{
	struct storage *st = storage_open(conf, err);

	if (st != NULL && storage_keyid_check(st, dk, create, err) != STORAGE_OK) {
		storage_free(st);
		st = NULL;
	}
	return st;
}
