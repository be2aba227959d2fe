/*
 * test_escrow.c - archive escrow (transfer/transfer_escrow.c): the vectors of
 * docs/FORMATS.md §6.1 (made by make_vectors.py with python3-cryptography)
 * byte-exact and documented, the reader's failure classes, key files, and a
 * transfer on the memory store opened with the escrow key alone (no link
 * secret, no password, no deployment key), also when it has a password.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <gio/gio.h>

#include "crypto.h"
#include "encoding.h"
#include "envelope.h"
#include "keys.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_escrow.h"
#include "transfer_password.h"
#include "transfer_stream.h"
#include "unit.h"

#define FV_ID "offloadtestvectorid23456"
#define FV_TK "1aa9847b8c343429ebee52fba7998c5b27ff6494ae92eeb082b2bb11835a6dd4"
#define FV_PRIV "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
#define FV_PUB "675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f"
#define FV_KEYID "ff18195c82ace39e"
#define FV_EPH "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
#define FV_NONCE "b0b1b2b3b4b5b6b7b8b9babb"
static const char *const fv_obj[] = {
	"4f464c4445016f66666c6f616474657374766563746f7269643233343536ff18",
	"195c82ace39e736845d54e87de09d6bb114aa7042c50a4a015bd9901d1a0026f",
	"5956533a1519b0b1b2b3b4b5b6b7b8b9babbbd17ea451d67f6fe8dd68fd1de62",
	"eb4999bb2cad9bd4c65716df51ff220e50533fb4b5e169ed2acbec289e468e45",
	"5b70",
};

static char *
read_doc(void)
{
	char *path = g_build_filename(unit_srcdir(), "docs", "FORMATS.md", NULL), *doc = NULL;

	g_file_get_contents(path, &doc, NULL, NULL);
	g_free(path);
	return doc;
}

static void
hexin(const char *hex, unsigned char *out, size_t len)
{
	if (enc_hex_decode(hex, out, len) != 0)
		memset(out, 0, len);
}

static void
test_vectors(void)
{
	unsigned char priv[32], pub[32], eph[32], nonce[12], tk[32], obj[ESCROW_OBJECT_LEN], got[32];
	unsigned char bad[ESCROW_OBJECT_LEN], other[32], opub[32];
	char id[17], named[17], *hex, *doc = read_doc(), want[2 * ESCROW_OBJECT_LEN + 1] = "";
	size_t i, ndoc = 0;

	hexin(FV_PRIV, priv, 32);
	hexin(FV_EPH, eph, 32);
	hexin(FV_NONCE, nonce, 12);
	hexin(FV_TK, tk, 32);
	CHECK(transfer_escrow_public(priv, pub) == 0, "public key of the vector private key");
	hex = enc_hex(pub, 32);
	CHECK(strcmp(hex, FV_PUB) == 0, "escrow public key matches §6.1 (%s)", hex);
	g_free(hex);
	transfer_escrow_key_id(pub, id);
	CHECK(strcmp(id, FV_KEYID) == 0, "escrow key id matches §6.1 (%s)", id);
	for (i = 0; i < G_N_ELEMENTS(fv_obj); i++) {
		g_strlcat(want, fv_obj[i], sizeof want);
		ndoc += doc != NULL && strstr(doc, fv_obj[i]) != NULL;
	}
	CHECK(ndoc == G_N_ELEMENTS(fv_obj) && strstr(doc, FV_PUB) && strstr(doc, FV_KEYID) &&
		strstr(doc, FV_NONCE), "the vectors appear in docs/FORMATS.md");
	CHECK(transfer_escrow_seal_fixed(pub, FV_ID, tk, eph, nonce, obj) == 0, "vector seals");
	hex = enc_hex(obj, sizeof obj);
	CHECK(strcmp(hex, want) == 0, "escrow object (130 bytes) byte-exact as python3-cryptography made it");
	g_free(hex);
	CHECK(transfer_escrow_open(priv, FV_ID, obj, sizeof obj, got, named) == 0 &&
		memcmp(got, tk, 32) == 0 && strcmp(named, FV_KEYID) == 0, "vector opens to TK");
	CHECK(transfer_escrow_open(priv, "offloadtestvectorid23457", obj, sizeof obj, got, NULL) ==
		ESCROW_EINVAL, "another transfer's object: EINVAL");
	CHECK(transfer_escrow_open(priv, FV_ID, obj, sizeof obj - 1, got, NULL) == ESCROW_EINVAL,
		"129 bytes: EINVAL");
	CHECK(transfer_escrow_keygen(other, opub) == 0 &&
		transfer_escrow_open(other, FV_ID, obj, sizeof obj, got, named) == ESCROW_EKEY &&
		strcmp(named, FV_KEYID) == 0, "another escrow key: EKEY, naming the key it is for");
	for (i = 30; i < sizeof obj; i += 7) {
		memcpy(bad, obj, sizeof bad);
		bad[i] ^= 0x01;
		if (transfer_escrow_open(priv, FV_ID, bad, sizeof bad, got, NULL) == 0)
			break;
	}
	CHECK(i >= sizeof obj, "a flipped bit in key id, ephemeral key, nonce, wrapped TK or tag fails");
	memcpy(bad, obj, sizeof bad);
	memset(bad + 38, 0, 32); /* low-order point: all-zero shared secret */
	CHECK(transfer_escrow_open(priv, FV_ID, bad, sizeof bad, got, NULL) == ESCROW_EAUTH,
		"ephemeral key of low order: EAUTH");
	CHECK(transfer_escrow_seal_fixed(pub, "short", tk, eph, nonce, obj) == ESCROW_EINVAL,
		"sealing refuses a malformed id");
	crypto_wipe(priv, sizeof priv);
	g_free(doc);
}

static void
test_key_files(void)
{
	unsigned char priv[32], pub[32], back[32];
	char *pp = g_build_filename(unit_tmpdir(), "escrow.priv", NULL);
	char *pq = g_build_filename(unit_tmpdir(), "escrow.pub", NULL);
	struct transfer_escrow_key k;
	GError *err = NULL;
	struct stat sb;

	CHECK(transfer_escrow_keygen(priv, pub) == 0, "keygen");
	CHECK(transfer_escrow_key_write(pp, true, priv, &err) == 0 &&
		transfer_escrow_key_write(pq, false, pub, &err) == 0, "key files written");
	CHECK(stat(pp, &sb) == 0 && (sb.st_mode & 0777) == 0600, "private key file is 0600");
	CHECK(transfer_escrow_key_write(pp, true, priv, &err) != 0, "an existing key file is not overwritten");
	g_clear_error(&err);
	CHECK(transfer_escrow_key_read(pp, true, back, &err) == 0 && memcmp(back, priv, 32) == 0,
		"private key reads back");
	CHECK(transfer_escrow_key_read(pp, false, back, &err) != 0 && strstr(err->message, "private"),
		"the private key is refused as a public key");
	g_clear_error(&err);
	CHECK(transfer_escrow_key_load("", &k, &err) == 0 && !k.set, "empty escrow_public_key: no escrow");
	CHECK(transfer_escrow_key_load(pq, &k, &err) == 0 && k.set && memcmp(k.pub, pub, 32) == 0,
		"escrow_public_key loads");
	CHECK(transfer_escrow_key_load("/nonexistent/escrow.pub", &k, &err) != 0 && !k.set,
		"a missing escrow_public_key file is an error");
	g_clear_error(&err);
	crypto_wipe(priv, sizeof priv);
	g_free(pp);
	g_free(pq);
}

static int
collect(void *arg, const void *buf, size_t len)
{
	g_byte_array_append(arg, buf, (guint)len);
	return 0;
}

/* escrow_roundtrip - a transfer (with or without password) opened with the escrow key alone */
static void
escrow_roundtrip(struct storage *st, const struct key32 *dk, const struct transfer_escrow_key *k,
	const unsigned char priv[32], bool password)
{
	struct transfer *t = transfer_new(st, 1700000000, 3600), *o = NULL;
	struct transfer_upload *u;
	GByteArray *m = NULL, *e = NULL, *out = g_byte_array_new();
	unsigned char tk[32];
	GError *err = NULL;
	int rc = 0;

	t->escrow = k;
	u = transfer_upload_begin(t, "plan.pdf", "application/pdf", &rc);
	CHECK(u && transfer_upload_write(u, "escrowed bytes", 14) == 0 && transfer_upload_commit(u) == 0,
		"file stored (password %d)", password);
	if (password)
		transfer_set_password(t);
	CHECK(transfer_commit(t, dk) == 0, "transfer committed with escrow (password %d)", password);
	CHECK(transfer_escrow_get(st, t->id, &e) == STORAGE_OK && e->len == ESCROW_OBJECT_LEN,
		"<id>/e stored, 130 bytes");
	CHECK(e && transfer_escrow_open(priv, t->id, e->data, e->len, tk, NULL) == 0, "escrow opens to TK");
	CHECK(transfer_get_manifest(st, t->id, &m) == STORAGE_OK, "manifest read");
	o = m ? transfer_open_obj(st, NULL, t->id, m->data, m->len, tk, &err) : NULL;
	CHECK(o != NULL && o->files->len == 1, "manifest opens with TK alone, no deployment key (password %d)",
		password);
	CHECK(o && transfer_read_file(o, 0, collect, out, &err) == 0 && out->len == 14 &&
		memcmp(out->data, "escrowed bytes", 14) == 0, "the file comes back byte-exact");
	if (m != NULL) {
		m->data[40] ^= 1; /* the expiry in the clear header */
		transfer_free(o);
		o = transfer_open_obj(st, NULL, t->id, m->data, m->len, tk, &err);
		CHECK(o == NULL, "a changed clear header fails under TK alone (the aad covers it)");
		g_clear_error(&err);
	}
	transfer_abort(t);
	CHECK(transfer_escrow_get(st, t->id, &e) == STORAGE_ENOENT, "abort deletes <id>/e too");
	crypto_wipe(tk, sizeof tk);
	g_clear_error(&err);
	if (m)
		g_byte_array_free(m, TRUE);
	if (e)
		g_byte_array_free(e, TRUE);
	g_byte_array_free(out, TRUE);
	transfer_free(o);
	transfer_free(t);
}

static void
test_transfer(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct key32 dk;
	struct transfer_escrow_key k = { 0 };
	struct transfer *t;
	unsigned char priv[32];
	GByteArray *e = NULL;
	GError *err = NULL;
	char *kpath = g_build_filename(unit_tmpdir(), "dk.key", NULL);
	int rc = 0;

	c.backend = "memory";
	st = storage_open(&c, &err);
	CHECK(st != NULL && keys_load(kpath, &dk, &err) == 0, "memory store and deployment key");
	CHECK(transfer_escrow_keygen(priv, k.pub) == 0, "escrow key pair");
	k.set = true;
	escrow_roundtrip(st, &dk, &k, priv, false);
	escrow_roundtrip(st, &dk, &k, priv, true);
	t = transfer_new(st, 1700000000, 3600);
	transfer_upload_commit(transfer_upload_begin(t, "a", NULL, &rc));
	CHECK(transfer_commit(t, &dk) == 0 && transfer_escrow_get(st, t->id, &e) == STORAGE_ENOENT,
		"without an escrow key no <id>/e is written");
	transfer_free(t);
	crypto_wipe(priv, sizeof priv);
	keys_wipe(&dk);
	storage_free(st);
	g_free(kpath);
}

int
main(void)
{
	test_vectors();
	test_key_files();
	test_transfer();
	return unit_done();
}
