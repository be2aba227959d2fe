/*
 * transfer_agreed.c - the agreed-secret wraps "<id>/k" (see
 * transfer_agreed.h, FORMATS.md §6.9) and the unlock through them.
 */
#include "transfer_agreed.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "envelope_int.h"
#include "log.h"
#include "transfer.h"
#include "transfer_int.h"
#include "transfer_password.h"

#define AG_HDR 32u   /* "OFLDK" 0x01 id(24) n(u16) */
#define AG_PARAMS 28u /* salt(16) m t p */
#define AG_ENTRY (AG_PARAMS + 12u + 32u + 16u)

/* wrap_key - W = HKDF(A_r, "offload v1" || id, "offload v1 agreed wrap") */
static void
wrap_key(const char *id, const unsigned char a[32], unsigned char w[32])
{
	unsigned char salt[10 + ENVELOPE_ID_TEXT_LEN];

	memcpy(salt, "offload v1", 10);
	memcpy(salt + 10, id, ENVELOPE_ID_TEXT_LEN);
	crypto_hkdf(a, 32, salt, sizeof salt, "offload v1 agreed wrap", 22, w, 32);
}

/* entry_aad - object[0..32) || entry[0..28) || u16 BE index */
static void
entry_aad(const unsigned char *obj, const unsigned char *entry, unsigned i, unsigned char aad[AG_HDR + AG_PARAMS + 2])
{
	memcpy(aad, obj, AG_HDR);
	memcpy(aad + AG_HDR, entry, AG_PARAMS);
	aad[AG_HDR + AG_PARAMS] = (unsigned char)(i >> 8);
	aad[AG_HDR + AG_PARAMS + 1] = (unsigned char)i;
}

int
transfer_agreed_encode(const char *id, const struct transfer_agreed *ag, const unsigned char (*nonces)[12],
	unsigned char **obj, size_t *len)
{
	unsigned char *o, aad[AG_HDR + AG_PARAMS + 2], w[32];
	int rc = 0;

	if (!transfer_valid_id(id) || ag->n == 0 || ag->n > TRANSFER_AGREED_MAX)
		return -1;
	*len = AG_HDR + (size_t)ag->n * AG_ENTRY;
	o = g_malloc0(*len);
	memcpy(o, "OFLDK\x01", 6);
	memcpy(o + 6, id, ENVELOPE_ID_TEXT_LEN);
	o[30] = (unsigned char)(ag->n >> 8);
	o[31] = (unsigned char)ag->n;
	for (unsigned i = 0; i < ag->n && rc == 0; i++) {
		unsigned char *e = o + AG_HDR + (size_t)i * AG_ENTRY;

		memcpy(e, ag->r[i].salt, 16);
		env_put32(e + 16, ag->r[i].m);
		env_put32(e + 20, ag->r[i].t);
		env_put32(e + 24, ag->r[i].p);
		memcpy(e + AG_PARAMS, nonces[i], 12);
		entry_aad(o, e, i, aad);
		wrap_key(id, ag->r[i].a, w);
		rc = transfer_agreed_gcm(1, w, nonces[i], aad, sizeof aad, ag->x, 32, e + AG_PARAMS + 12,
			e + AG_PARAMS + 12 + 32);
	}
	crypto_wipe(w, sizeof w);
	if (rc != 0) {
		g_free(o);
		return -1;
	}
	*obj = o;
	return 0;
}

int
transfer_agreed_unwrap(const char *id, const unsigned char *obj, size_t len, const char *password,
	unsigned char x[32])
{
	return transfer_agreed_unwrap_use(id, obj, len, password, x, NULL);
}

int
transfer_agreed_unwrap_use(const char *id, const unsigned char *obj, size_t len, const char *password,
	unsigned char x[32], struct transfer_agreed_use *use)
{
	unsigned char aad[AG_HDR + AG_PARAMS + 2], a[32], w[32];
	unsigned n;
	int rc = TRANSFER_AGREED_EAUTH;

	if (len < AG_HDR || memcmp(obj, "OFLDK\x01", 6) != 0 || id == NULL ||
	    strlen(id) != ENVELOPE_ID_TEXT_LEN || memcmp(obj + 6, id, ENVELOPE_ID_TEXT_LEN) != 0)
		return TRANSFER_AGREED_EINVAL;
	n = (unsigned)obj[30] << 8 | obj[31];
	if (n == 0 || n > TRANSFER_AGREED_MAX || len != AG_HDR + (size_t)n * AG_ENTRY)
		return TRANSFER_AGREED_EINVAL;
	for (unsigned i = 0; i < n && rc != 0; i++) {
		const unsigned char *e = obj + AG_HDR + (size_t)i * AG_ENTRY;

		if (transfer_recipient_derive(password, e, env_get32(e + 16), env_get32(e + 20), env_get32(e + 24), a) != 0) {
			rc = TRANSFER_AGREED_EINVAL; /* parameters outside the floor/ceiling */
			break;
		}
		wrap_key(id, a, w);
		entry_aad(obj, e, i, aad);
		if (transfer_agreed_gcm(0, w, e + AG_PARAMS, aad, sizeof aad, e + AG_PARAMS + 12, 32, x,
			(unsigned char *)e + AG_PARAMS + 12 + 32) == 0) {
			rc = 0;
			if (use != NULL) {
				use->entry = (int)i;
				memcpy(use->salt, e, TRANSFER_AGREED_SALT_LEN);
			}
		}
	}
	crypto_wipe(a, sizeof a);
	crypto_wipe(w, sizeof w);
	return rc;
}

void
transfer_agreed_free(struct transfer_agreed *ag)
{
	if (ag == NULL)
		return;
	for (unsigned i = 0; i < ag->n; i++)
		transfer_recipient_clear(&ag->r[i]);
	crypto_wipe(ag, sizeof *ag);
	g_free(ag);
}

int
transfer_agreed_commit(struct transfer *t)
{
	unsigned char (*nonces)[12], *obj = NULL;
	size_t len = 0;
	char key[64];
	int rc = STORAGE_ETEMP;

	if (t->agreed == NULL)
		return STORAGE_OK;
	nonces = g_malloc(12 * (size_t)t->agreed->n);
	if (crypto_random(nonces, 12 * (size_t)t->agreed->n) != 0 ||
	    transfer_agreed_encode(t->id, t->agreed, (const unsigned char (*)[12])nonces, &obj, &len) != 0) {
		g_free(nonces);
		return rc;
	}
	g_free(nonces);
	snprintf(key, sizeof key, "%s/k", t->id);
	rc = transfer_put_side(t, key, obj, len);
	g_free(obj);
	return rc;
}

int
transfer_unlock_key(struct storage *st, const struct key32 *dk, const struct envelope_header *h,
	const char *secret, const char *password, unsigned char tk[32])
{
	return transfer_unlock_key_use(st, dk, h, secret, password, tk, NULL);
}

int
transfer_unlock_key_use(struct storage *st, const struct key32 *dk, const struct envelope_header *h,
	const char *secret, const char *password, unsigned char tk[32], struct transfer_agreed_use *use)
{
	struct transfer_info info = { 0 };
	unsigned char x[32];
	GByteArray *a;
	char key[64];
	int rc;

	if (use != NULL)
		use->entry = -1;
	if (!h->password || st == NULL || transfer_info_read(st, dk, h->id, &info) != 1 ||
	    info.delivery != TRANSFER_DELIVERY_AGREED)
		return transfer_derive_key(h, secret, password, tk);
	if (password == NULL)
		return -1;
	a = g_byte_array_new();
	snprintf(key, sizeof key, "%s/k", h->id);
	rc = storage_get(st, key, 0, STORAGE_TO_END, transfer_collect_out, a);
	if (rc != STORAGE_OK) {
		log_warning("transfer %s: agreed secret, but %s cannot be read: %s", h->id, key,
			storage_strerror(rc));
		rc = -1;
	} else {
		rc = transfer_agreed_unwrap_use(h->id, a->data, a->len, password, x, use);
		if (rc == TRANSFER_AGREED_EINVAL)
			log_warning("transfer %s: malformed agreed-secret wraps", h->id);
		if (rc == 0)
			rc = envelope_derive_tk(h->id, secret, x, sizeof x, tk) == ENVELOPE_OK ? 0 : -1;
		else if (rc != TRANSFER_AGREED_EAUTH)
			rc = -1;
		if (rc != 0 && use != NULL)
			use->entry = -1;
	}
	crypto_wipe(x, sizeof x);
	g_byte_array_free(a, TRUE);
	return rc;
}
