/*
 * transfer_info.c - the info object "<id>/i" (see transfer_info.h,
 * FORMATS.md §6.2).
 */
#include "transfer_info.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "log.h"
#include "transfer.h"
#include "transfer_int.h"

#define INFO_BODY 32u /* bytes covered by the MAC */

static void
info_mac(const struct key32 *dk, const unsigned char *buf, unsigned char mac[32])
{
	unsigned char k[32];

	crypto_hkdf(dk->key, sizeof dk->key, NULL, 0, "offload v1 info", 15, k, sizeof k);
	crypto_hmac_sha256(k, sizeof k, buf, INFO_BODY, mac);
	crypto_wipe(k, sizeof k);
}

int
transfer_info_encode(const struct key32 *dk, const char *id, const struct transfer_info *in,
	unsigned char out[TRANSFER_INFO_LEN])
{
	if (!transfer_valid_id(id) || (unsigned)in->delivery > TRANSFER_DELIVERY_MAX)
		return -1;
	memcpy(out, "OFLDI", 5);
	out[5] = 1;
	memcpy(out + 6, id, ENVELOPE_ID_TEXT_LEN);
	out[30] = (unsigned char)in->delivery;
	out[31] = in->reply_allowed ? 1 : 0;
	info_mac(dk, out, out + INFO_BODY);
	return 0;
}

int
transfer_info_decode(const struct key32 *dk, const char *id, const unsigned char *buf,
	size_t len, struct transfer_info *out)
{
	unsigned char mac[32];
	int ok;

	if (id == NULL || strlen(id) != ENVELOPE_ID_TEXT_LEN || len != TRANSFER_INFO_LEN ||
	    memcmp(buf, "OFLDI\x01", 6) != 0 || memcmp(buf + 6, id, ENVELOPE_ID_TEXT_LEN) != 0 ||
	    buf[30] > TRANSFER_DELIVERY_MAX || (buf[31] & ~1u) != 0)
		return TRANSFER_INFO_EINVAL;
	info_mac(dk, buf, mac);
	ok = crypto_memeq(mac, buf + INFO_BODY, 32);
	crypto_wipe(mac, sizeof mac);
	if (!ok)
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
	struct storage_put *p;
	char key[64];
	int rc = STORAGE_EPERM;

	if (transfer_info_encode(dk, id, in, b) != 0)
		return rc;
	snprintf(key, sizeof key, "%s/i", id);
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
