/*
 * transfer_info.c - the info object "<id>/i" (see transfer_info.h,
 * FORMATS.md §6.2).
 */
#include "transfer_info.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "env_sealed.h"
#include "log.h"
#include "transfer.h"
#include "transfer_int.h"

#define INFO_BODY 32u /* bytes covered by the MAC */

int
transfer_info_encode(const struct key32 *dk, const char *id, const struct transfer_info *in,
	unsigned char out[TRANSFER_INFO_LEN])
{
	if (!transfer_valid_id(id) || (unsigned)in->delivery > TRANSFER_DELIVERY_MAX)
		return -1;
	env_sealed_head(out, "OFLDI", id);
	out[30] = (unsigned char)in->delivery;
	out[31] = in->reply_allowed ? 1 : 0;
	(void)env_mac_put(dk->key, "offload v1 info", out, INFO_BODY);
	return 0;
}

int
transfer_info_decode(const struct key32 *dk, const char *id, const unsigned char *buf,
	size_t len, struct transfer_info *out)
{
	if (len != TRANSFER_INFO_LEN || !env_sealed_head_ok(buf, "OFLDI", id) ||
	    buf[30] > TRANSFER_DELIVERY_MAX || (buf[31] & ~1u) != 0)
		return TRANSFER_INFO_EINVAL;
	if (!env_mac_ok(dk->key, "offload v1 info", buf, INFO_BODY))
		return TRANSFER_INFO_EAUTH;
	out->delivery = (enum transfer_delivery)buf[30];
	out->reply_allowed = (buf[31] & 1) != 0;
	return 0;
}

int
transfer_info_write(struct storage *st, const struct key32 *dk, const char *id,
	const struct transfer_info *in)
{
	unsigned char b[TRANSFER_INFO_LEN];
	char key[64];

	if (transfer_info_encode(dk, id, in, b) != 0)
		return STORAGE_EPERM;
	snprintf(key, sizeof key, "%s/i", id);
	return storage_put_buffer(st, key, b, sizeof b);
}

int
transfer_info_read(struct storage *st, const struct key32 *dk, const char *id,
	struct transfer_info *out)
{
	GByteArray *a = g_byte_array_new();
	char key[64];
	int rc;

	snprintf(key, sizeof key, "%s/i", id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
	if (rc == STORAGE_ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc != STORAGE_OK)
		goto out;
	switch (transfer_info_decode(dk, id, a->data, a->len, out)) {
	case 0:
		rc = 1;
		break;
	case TRANSFER_INFO_EAUTH:
		log_warning("transfer %s: info object with a wrong MAC ignored", id);
		rc = 0;
		break;
	default:
		log_warning("transfer %s: malformed info object ignored", id);
		rc = 0;
		break;
	}
out:
	g_byte_array_free(a, TRUE);
	return rc;
}

int
transfer_info_commit(struct transfer *t, const struct key32 *dk)
{
	int rc;

	if (t->info.delivery == TRANSFER_DELIVERY_NONE && !t->info.reply_allowed)
		return STORAGE_OK;
	rc = transfer_info_write(t->st, dk, t->id, &t->info);
	if (rc == STORAGE_OK)
		g_ptr_array_add(t->committed, g_strdup_printf("%s/i", t->id));
	return rc;
}

const char *
transfer_delivery_name(enum transfer_delivery d)
{
	switch (d) {
	case TRANSFER_DELIVERY_PHONE:
		return "phone";
	case TRANSFER_DELIVERY_SEPARATE_MAIL:
		return "separate-mail";
	case TRANSFER_DELIVERY_AGREED:
		return "agreed";
	default:
		return "none";
	}
}
