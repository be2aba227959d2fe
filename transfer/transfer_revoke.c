/*
 * transfer_revoke.c - tombstones and revocation (see transfer_revoke.h).
 */
#include "transfer_revoke.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "envelope_int.h"
#include "env_sealed.h"
#include "log.h"
#include "transfer_int.h"

/* ---- tombstones ------------------------------------------------------ */

#define TOMBSTONE_INFO "offload v1 tombstone"

int
transfer_tombstone_encode(const struct key32 *dk, const char *id, int64_t revoked_at,
	int64_t expires, unsigned char out[TRANSFER_TOMBSTONE_LEN])
{
	if (!transfer_valid_id(id))
		return -1;
	env_sealed_head(out, "OFLDT", id);
	env_put64(out + 30, (uint64_t)revoked_at);
	env_put64(out + 38, (uint64_t)expires);
	(void)env_mac_put(dk->key, TOMBSTONE_INFO, out, 46);
	return 0;
}

int
transfer_tombstone_decode(const struct key32 *dk, const char *id, const unsigned char *buf,
	size_t len, int64_t *revoked_at, int64_t *expires)
{
	if (len != TRANSFER_TOMBSTONE_LEN || !env_sealed_head_ok(buf, "OFLDT", id))
		return TRANSFER_TOMBSTONE_EINVAL;
	if (!env_mac_ok(dk->key, TOMBSTONE_INFO, buf, 46))
		return TRANSFER_TOMBSTONE_EAUTH;
	if (revoked_at)
		*revoked_at = env_u2s64(env_get64(buf + 30));
	if (expires)
		*expires = env_u2s64(env_get64(buf + 38));
	return 0;
}

int
transfer_tombstone_write(struct storage *st, const struct key32 *dk, const char *id,
	int64_t revoked_at, int64_t expires)
{
	unsigned char b[TRANSFER_TOMBSTONE_LEN];
	char key[64];

	if (transfer_tombstone_encode(dk, id, revoked_at, expires, b) != 0)
		return STORAGE_EPERM;
	snprintf(key, sizeof key, "%s/t", id);
	return storage_put_buffer(st, key, b, sizeof b);
}

int
transfer_tombstone_read(struct storage *st, const struct key32 *dk, const char *id,
	int64_t *revoked_at, int64_t *expires)
{
	GByteArray *a = g_byte_array_new();
	char key[64];
	int rc;

	snprintf(key, sizeof key, "%s/t", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
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

