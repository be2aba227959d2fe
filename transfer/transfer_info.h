/*
 * transfer_info.h - the info object "<id>/i" (FORMATS.md §6.2): what a
 * recipient may learn before unlocking a transfer, MACed under the
 * deployment key and bound to the id: how the password arrives (the clear
 * header has one flag bit for "password", §1.3) and whether a reply link is
 * allowed (a later issue). Written by transfer_commit before the manifest,
 * only when it says more than "no password, no reply"; read by the portal.
 */
#ifndef OFFLOAD_TRANSFER_INFO_H
#define OFFLOAD_TRANSFER_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "storage.h"

/* how the password reaches the recipient (byte 30 of the object) */
enum transfer_delivery {
	TRANSFER_DELIVERY_NONE = 0,          /* no password */
	TRANSFER_DELIVERY_PHONE = 1,         /* by phone from the sender */
	TRANSFER_DELIVERY_SEPARATE_MAIL = 2, /* in a separate e-mail to each recipient */
	TRANSFER_DELIVERY_AGREED = 3,        /* the password agreed with the organisation */
};
#define TRANSFER_DELIVERY_MAX TRANSFER_DELIVERY_AGREED

struct transfer_info {
	enum transfer_delivery delivery;
	bool reply_allowed;
};

/* "OFLDI" | 0x01 | id(24) | delivery | flags (bit 0 reply allowed, others 0)
 * | HMAC(K_i, all before), K_i = HKDF(deployment key, "", "offload v1 info") */
#define TRANSFER_INFO_LEN 64u
#define TRANSFER_INFO_EINVAL (-1) /* wrong length, magic, version, id or field value */
#define TRANSFER_INFO_EAUTH (-2)  /* MAC mismatch (another key, or forged) */

/* transfer_info_encode - the 64 bytes; -1 for an invalid id or field */
int transfer_info_encode(const struct key32 *dk, const char *id, const struct transfer_info *in,
	unsigned char out[TRANSFER_INFO_LEN]);
/* transfer_info_decode - 0 (*out set), TRANSFER_INFO_EINVAL or _EAUTH */
int transfer_info_decode(const struct key32 *dk, const char *id, const unsigned char *buf,
	size_t len, struct transfer_info *out);
/* transfer_info_write - store "<id>/i"; a storage error code */
int transfer_info_write(struct storage *st, const struct key32 *dk, const char *id,
	const struct transfer_info *in);
/* transfer_info_read - 1 found (valid MAC, *out set), 0 none or invalid
 * (logged, ignored: *out stays as it was), negative storage error */
int transfer_info_read(struct storage *st, const struct key32 *dk, const char *id,
	struct transfer_info *out);
struct transfer;
/* transfer_info_commit - write t->info as "<id>/i" unless it is all zero
 * (no password, no reply), remembered for transfer_abort; a storage error
 * code (STORAGE_OK when nothing was to be written) */
int transfer_info_commit(struct transfer *t, const struct key32 *dk);
/* transfer_delivery_name - "none", "phone", "separate-mail", "agreed" */
const char *transfer_delivery_name(enum transfer_delivery d);

#endif
