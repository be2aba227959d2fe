/*
 * fuzz_objects.c - the small side object decoders of a transfer on hostile
 * bytes: the tombstone "<id>/t" (transfer_revoke.c), the state object
 * "<id>/x" (transfer_state.c), the info object "<id>/i" (transfer_info.c)
 * and the escrow object "<id>/e" (transfer_escrow.c). The first byte picks
 * the object; with its top bit set the input gets a correct MAC under the
 * test deployment key (FORMATS.md §5, §6.2, §6.3), so the fields behind
 * the MAC are reached too. The id is the one the object names. A decoded
 * object must encode to the same bytes. Any input must end in an object or
 * an error code, never a crash, an over-read or a leak.
 */
#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "fuzz.h"
#include "log.h"
#include "transfer_escrow.h"
#include "transfer_info.h"
#include "transfer_revoke.h"
#include "transfer_state.h"

static struct key32 fz_dk = { { 9, 8, 7 }, "" };
static unsigned char fz_priv[ESCROW_KEY_LEN] = { 0x40, 1, 2, 3 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", false, false);
	return 0;
}

/* fz_remac - a correct HMAC(HKDF(dk, "", info), b[0..n-32)) into the last 32 bytes */
static void
fz_remac(const char *info, unsigned char *b, size_t n)
{
	unsigned char k[32];

	if (n < 32)
		return;
	crypto_hkdf(fz_dk.key, sizeof fz_dk.key, NULL, 0, info, strlen(info), k, sizeof k);
	crypto_hmac_sha256(k, sizeof k, b, n - 32, b + n - 32);
}

static void
fz_tombstone(const char *id, const unsigned char *b, size_t n)
{
	unsigned char again[TRANSFER_TOMBSTONE_LEN];
	int64_t revoked_at = 0, expires = 0;

	if (transfer_tombstone_decode(&fz_dk, id, b, n, &revoked_at, &expires) == 0 &&
	    transfer_tombstone_encode(&fz_dk, id, revoked_at, expires, again) == 0)
		g_assert(n == sizeof again && memcmp(again, b, n) == 0);
}

static void
fz_state(const char *id, const unsigned char *b, size_t n)
{
	struct transfer_state s;
	unsigned char *again = NULL;
	size_t len = 0;

	if (transfer_state_decode(&fz_dk, id, b, n, &s) != 0)
		return;
	if (transfer_state_encode(&fz_dk, &s, &again, &len) == 0)
		g_assert(len == n && memcmp(again, b, n) == 0);
	transfer_state_expiry(&s, 1000);
	g_free(again);
	transfer_state_clear(&s);
}

static void
fz_info(const char *id, const unsigned char *b, size_t n)
{
	unsigned char again[TRANSFER_INFO_LEN];
	struct transfer_info in;

	if (transfer_info_decode(&fz_dk, id, b, n, &in) == 0 &&
	    transfer_info_encode(&fz_dk, id, &in, again) == 0)
		g_assert(n == sizeof again && memcmp(again, b, n) == 0);
}

static void
fz_escrow(const char *id, const unsigned char *b, size_t n)
{
	unsigned char tk[32];
	char kid[2 * ESCROW_KEYID_LEN + 1];

	transfer_escrow_open(fz_priv, id, b, n, tk, kid);
	g_assert(strlen(kid) == 0 || strlen(kid) == 2 * ESCROW_KEYID_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const infos[] = { "offload v1 tombstone", "offload v1 state", "offload v1 info" };
	unsigned char *b;
	size_t n;
	char *id;
	int kind;

	if (size == 0 || size > 65536)
		return 0;
	kind = data[0] % 4;
	n = size - 1;
	b = g_malloc0(n + 1);
	memcpy(b, data + 1, n);
	if ((data[0] & 0x80) && kind < 3)
		fz_remac(infos[kind], b, n);
	/* the id the object names (the decoders compare it with the id asked for) */
	id = n >= 30 ? g_strndup((const char *)b + 6, 24) : g_strdup("aaaaaaaaaaaaaaaaaaaaaaaa");
	switch (kind) {
	case 0:
		fz_tombstone(id, b, n);
		break;
	case 1:
		fz_state(id, b, n);
		break;
	case 2:
		fz_info(id, b, n);
		break;
	default:
		fz_escrow(id, b, n);
		break;
	}
	g_free(id);
	g_free(b);
	return 0;
}
