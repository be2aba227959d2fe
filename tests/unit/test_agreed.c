/*
 * test_agreed.c - agreed recipient secrets "recipients/<h>" and the
 * agreed-secret wraps "<id>/k" (docs/FORMATS.md §6.9, §6.10): the published
 * vectors (made by tests/data/envelope-vectors/make_vectors.py, an
 * independent implementation with its own Argon2id), the reader rules, the
 * store operations, and a transfer committed with agreed secrets opening
 * with each recipient's password and not with another one.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "conf.h"
#include "crypto.h"
#include "keys.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_agreed.h"
#include "transfer_info.h"
#include "transfer_password.h"
#include "unit.h"

#define FV_ID "offloadtestvectorid23456"
#define FV_SECRET "EBESExQVFhcYGRobHB0eHw"
#define FV_NAME_A "recipients/5af1ca24b3d14223fdab3b7d5fa76344"
#define FV_NAME_B "recipients/b85b976d2f390ace20798456e3213f2a"
#define FV_A_A "3c6f1f94c01961f0a9c1187d64039a0a9c09638cb6f48b5f3c7f34ab07bdc252"
#define FV_A_B "8b4079d17b64d0f6f4e1a1a95144d4030cd901f757c7a387c2698c7e5873ee46"
#define FV_OBJ_A "4f464c445201d0d1d2d3d4d5d6d7d8d9dadb36eb363a8128723534aaf2bf6e0b6a370150d87dabad5fab4e0d7" \
	"59d454f18fd2693d749f5ee80a66979c1f1b6c335e551ac3bfcf6bedc5cd0c69ac8918a9668e7c0084e712a8d407e56" \
	"44e86f6c265b172513ce3f211f420c18ca412fb5fc850416a2960b18cb"
#define FV_TK "7a2b2258101668162c1935e86724024e3b0d920420b41f39cc3395159e5ea7bd"
#define FV_WRAPS "4f464c444b016f66666c6f616474657374766563746f72696432333435360002" \
	"909192939495969798999a9b9c9d9e9f00004c000000000200000001e0e1e2e3" \
	"e4e5e6e7e8e9eaeb8ba6b11117436498d4a9192d02862ac5169ecefab98dcb88" \
	"27a9aacee0e5b78c6a874a35780b272c0b64461c08d9da80a0a1a2a3a4a5a6a7" \
	"a8a9aaabacadaeaf00004c000000000200000001f0f1f2f3f4f5f6f7f8f9fafb" \
	"c034a52f2d3eb226a458d8afa73a50a03bd7670d378a1a2803a1c49af1a7f564" \
	"10812a451f8e7103f28cbe98790be6a2"
#define PW_A "correct horse battery"
#define PW_B "Zweites Passwort!"

static char *
hex(const unsigned char *b, size_t n)
{
	char *s = g_malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

static void
fill(unsigned char *b, size_t n, unsigned start)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(start + i);
}

/* vec_people - the two recipients of the vectors (A_r derived here) */
static void
vec_people(struct transfer_agreed *ag)
{
	memset(ag, 0, sizeof *ag);
	fill(ag->x, 32, 0x30);
	ag->n = 2;
	ag->r[0].address = g_strdup("anna.beispiel@example.org");
	ag->r[1].address = g_strdup("bert@example.net");
	fill(ag->r[0].salt, 16, 0x90);
	fill(ag->r[1].salt, 16, 0xa0);
	for (int i = 0; i < 2; i++) {
		ag->r[i].m = 19456;
		ag->r[i].t = 2;
		ag->r[i].p = 1;
		transfer_recipient_derive(i ? PW_B : PW_A, ag->r[i].salt, 19456, 2, 1, ag->r[i].a);
	}
}

static void
test_recipient_vectors(const struct key32 *dk, const struct key32 *other, const char *doc,
	const struct transfer_agreed *ag)
{
	unsigned char nonce[12], *obj = NULL;
	struct transfer_recipient r;
	size_t len = 0;
	char *name = transfer_recipient_name(dk, "Anna.Beispiel@Example.ORG"), *s;
	int refused = 0;

	CHECK(strcmp(name, FV_NAME_A) == 0 && doc && strstr(doc, FV_NAME_A), "recipient name (case-insensitive) matches, documented");
	g_free(name);
	name = transfer_recipient_name(dk, "bert@example.net");
	CHECK(strcmp(name, FV_NAME_B) == 0, "second recipient's name matches");
	g_free(name);
	s = hex(ag->r[0].a, 32);
	CHECK(strcmp(s, FV_A_A) == 0 && doc && strstr(doc, FV_A_A), "A_r (libargon2) = python3-cryptography's Argon2id, documented");
	g_free(s);
	s = hex(ag->r[1].a, 32);
	CHECK(strcmp(s, FV_A_B) == 0, "second A_r matches");
	g_free(s);
	fill(nonce, 12, 0xd0);
	CHECK(transfer_recipient_seal(dk, &ag->r[0], nonce, &obj, &len) == 0, "recipient secret seals");
	s = hex(obj, len);
	CHECK(strcmp(s, FV_OBJ_A) == 0 && doc && strstr(doc, "4f464c445201d0d1d2d3d4d5d6d7d8d9dadb36eb363a8128723534aaf2bf6e"),
		"recipient object (121 bytes) matches make_vectors.py, documented");
	g_free(s);
	CHECK(transfer_recipient_open(dk, FV_NAME_A, obj, len, &r) == 0 && strcmp(r.address, "anna.beispiel@example.org") == 0 &&
	      memcmp(r.a, ag->r[0].a, 32) == 0 && r.m == 19456 && r.t == 2 && r.p == 1, "recipient object opens");
	transfer_recipient_clear(&r);
	CHECK(transfer_recipient_open(other, FV_NAME_A, obj, len, &r) == TRANSFER_AGREED_EAUTH,
		"under another deployment key: refused");
	CHECK(transfer_recipient_open(dk, FV_NAME_B, obj, len, &r) == TRANSFER_AGREED_EAUTH,
		"copied to another recipient's name: refused");
	CHECK(transfer_recipient_open(dk, FV_NAME_A, obj, 40, &r) == TRANSFER_AGREED_EINVAL, "truncated: refused");
	for (size_t i = 0; i < len; i++) {
		obj[i] ^= 0x80;
		if (transfer_recipient_open(dk, FV_NAME_A, obj, len, &r) != 0)
			refused++;
		else
			transfer_recipient_clear(&r);
		obj[i] ^= 0x80;
	}
	CHECK(refused == (int)len, "every flipped byte refused (%d of %zu)", refused, len);
	g_free(obj);
}

static void
test_wrap_vectors(const char *doc, const struct transfer_agreed *ag)
{
	unsigned char nonces[2][12], *obj = NULL, x[32], tk[32], bad[256];
	size_t len = 0;
	char *s;

	fill(nonces[0], 12, 0xe0);
	fill(nonces[1], 12, 0xf0);
	CHECK(transfer_agreed_encode(FV_ID, ag, (const unsigned char (*)[12])nonces, &obj, &len) == 0 && len == 208,
		"wraps encode (208 bytes)");
	s = hex(obj, len);
	CHECK(strcmp(s, FV_WRAPS) == 0 && doc && strstr(doc, "0020: 909192939495969798999a9b9c9d9e9f00004c000000000200000001e0e1e2e3"),
		"wraps object matches make_vectors.py, documented");
	g_free(s);
	CHECK(transfer_agreed_unwrap(FV_ID, obj, len, PW_A, x) == 0 && x[0] == 0x30 && x[31] == 0x4f, "first recipient's password unwraps X");
	CHECK(transfer_agreed_unwrap(FV_ID, obj, len, PW_B, x) == 0 && x[0] == 0x30, "second recipient's password unwraps X");
	{
		struct transfer_agreed_use use = { .entry = -1 };

		CHECK(transfer_agreed_unwrap_use(FV_ID, obj, len, PW_B, x, &use) == 0 && use.entry == 1 &&
		      memcmp(use.salt, ag->r[1].salt, TRANSFER_AGREED_SALT_LEN) == 0,
			"the audit learns which wrap opened: the second, with its salt");
	}
	envelope_derive_tk(FV_ID, FV_SECRET, x, 32, tk);
	s = hex(tk, 32);
	CHECK(strcmp(s, FV_TK) == 0 && doc && strstr(doc, FV_TK), "TK with X as pwhash matches, documented");
	g_free(s);
	CHECK(transfer_agreed_unwrap(FV_ID, obj, len, "correct horse batterx", x) == TRANSFER_AGREED_EAUTH, "a wrong password: EAUTH");
	CHECK(transfer_agreed_unwrap(FV_ID, obj, len, "Correct Horse Battery", x) == TRANSFER_AGREED_EAUTH,
		"agreed passwords are not case-folded");
	CHECK(transfer_agreed_unwrap("offloadtestvectorid23457", obj, len, PW_A, x) == TRANSFER_AGREED_EINVAL,
		"copied to another transfer: refused");
	CHECK(transfer_agreed_unwrap(FV_ID, obj, len - 1, PW_A, x) == TRANSFER_AGREED_EINVAL, "truncated: refused");
	memcpy(bad, obj, len);
	bad[31] = 9; /* more wraps than the cap */
	CHECK(transfer_agreed_unwrap(FV_ID, bad, 32 + 9 * 88, PW_A, x) == TRANSFER_AGREED_EINVAL || 32 + 9 * 88 > (int)sizeof bad,
		"n above the cap: refused before any Argon2id");
	memcpy(bad, obj, len);
	bad[32 + 20] = 0x01; /* t of entry 0: 2 -> 0x01000002, above the ceiling */
	CHECK(transfer_agreed_unwrap(FV_ID, bad, len, PW_A, x) == TRANSFER_AGREED_EINVAL, "Argon2id parameters above the ceiling: refused");
	memcpy(bad, obj, len);
	bad[32 + 88 + 40] ^= 1; /* the second wrap's ciphertext */
	CHECK(transfer_agreed_unwrap(FV_ID, bad, len, PW_B, x) == TRANSFER_AGREED_EAUTH &&
	      transfer_agreed_unwrap(FV_ID, bad, len, PW_A, x) == 0, "a changed wrap fails only its own recipient");
	g_free(obj);
}

static struct storage *
mem_store(struct conf **c)
{
	*c = conf_defaults();
	g_free((*c)->backend);
	(*c)->backend = g_strdup("memory");
	return storage_open(*c, NULL);
}

static void
test_store(const struct key32 *dk)
{
	struct conf *c;
	struct storage *st = mem_store(&c);
	struct transfer_recipient r, g;
	GPtrArray *list = NULL;

	/* the writer's parameters (64 MiB, t = 3): once here */
	CHECK(transfer_recipient_make("Carla@Example.ORG", "twelve chars!", &r) == 0 && r.m == TRANSFER_KDF_M_KIB,
		"make: writer's Argon2id parameters, random salt");
	CHECK(transfer_recipient_put(st, dk, &r) == STORAGE_OK, "put");
	CHECK(transfer_recipient_get(st, dk, "carla@example.org", &g) == 1 && memcmp(g.a, r.a, 32) == 0 &&
	      strcmp(g.address, "carla@example.org") == 0, "get finds it case-insensitively");
	transfer_recipient_clear(&g);
	CHECK(transfer_recipient_get(st, dk, "nobody@example.org", &g) == 0, "get: none for another address");
	CHECK(transfer_recipient_list(st, dk, &list) == STORAGE_OK && list->len == 1 &&
	      strcmp(g_ptr_array_index(list, 0), "carla@example.org") == 0, "list shows the address");
	g_ptr_array_free(list, TRUE);
	CHECK(transfer_recipient_delete(st, dk, "CARLA@example.org") == STORAGE_OK &&
	      transfer_recipient_get(st, dk, "carla@example.org", &g) == 0, "remove");
	transfer_recipient_clear(&r);
	storage_free(st);
	conf_free(c);
}

static void
test_transfer(const struct key32 *dk, const struct transfer_agreed *vec)
{
	struct conf *c;
	struct storage *st = mem_store(&c);
	struct transfer *t = transfer_new(st, 1764547200, 7 * 86400), *o;
	struct transfer_info info = { 0 };
	GError *err = NULL;
	char id[32], secret[32];

	t->agreed = g_new0(struct transfer_agreed, 1);
	*t->agreed = *vec; /* borrowed addresses: duplicated below */
	for (unsigned i = 0; i < vec->n; i++)
		t->agreed->r[i].address = g_strdup(vec->r[i].address);
	crypto_random(t->agreed->x, 32);
	t->kdf_m = TRANSFER_KDF_M_KIB;
	t->kdf_t = TRANSFER_KDF_T;
	t->kdf_p = TRANSFER_KDF_P;
	t->info.delivery = TRANSFER_DELIVERY_AGREED;
	CHECK(transfer_commit(t, dk) == STORAGE_OK, "commit with agreed secrets");
	g_strlcpy(id, t->id, sizeof id);
	g_strlcpy(secret, t->secret, sizeof secret);
	CHECK(transfer_info_read(st, dk, id, &info) == 1 && info.delivery == TRANSFER_DELIVERY_AGREED, "info says agreed");
	o = transfer_open_pw(st, dk, id, secret, PW_A, &err);
	CHECK(o != NULL, "opens with the first recipient's password");
	transfer_free(o);
	o = transfer_open_pw(st, dk, id, secret, PW_B, NULL);
	CHECK(o != NULL, "opens with the second recipient's password");
	transfer_free(o);
	g_clear_error(&err);
	o = transfer_open_pw(st, dk, id, secret, "some other password", &err);
	CHECK(o == NULL && err && strstr(err->message, "wrong password"), "not with another password");
	g_clear_error(&err);
	o = transfer_open_pw(st, dk, id, secret, NULL, &err);
	CHECK(o == NULL, "not without a password");
	g_clear_error(&err);
	transfer_abort(t);
	transfer_free(t);
	storage_free(st);
	conf_free(c);
}

int
main(void)
{
	struct key32 dk, other;
	char *path = g_build_filename(unit_srcdir(), "docs", "FORMATS.md", NULL);
	char *doc = NULL;
	struct transfer_agreed ag;

	for (int i = 0; i < 32; i++) {
		dk.key[i] = (unsigned char)(0x40 + i);
		other.key[i] = (unsigned char)(0x41 + i);
	}
	g_strlcpy(dk.id, "397ad72805226887", sizeof dk.id);
	g_strlcpy(other.id, "0011223344556677", sizeof other.id);
	if (!g_file_get_contents(path, &doc, NULL, NULL))
		doc = NULL;
	vec_people(&ag);
	test_recipient_vectors(&dk, &other, doc, &ag);
	test_wrap_vectors(doc, &ag);
	test_store(&dk);
	test_transfer(&dk, &ag);
	for (unsigned i = 0; i < ag.n; i++)
		transfer_recipient_clear(&ag.r[i]);
	g_free(doc);
	g_free(path);
	return unit_done();
}
