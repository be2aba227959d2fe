/*
 * test_uplink.c - the standalone upload link object "<id>/l" (FORMATS.md
 * §6.11): the vector of tests/data/envelope-vectors/make_vectors.py
 * byte-exactly, the reader on it (MAC only, with the token, wrong token,
 * other deployment key, other id, changed clear expiry), and create + read
 * through a memory store.
 */
#include <string.h>
#include <glib.h>

#include "conf.h"
#include "encoding.h"
#include "keys.h"
#include "storage.h"
#include "transfer_uplink.h"
#include "unit.h"

static const char lid[] = "offloaduploadlinkid23456";
static const char ljson[] = "{\"to\":\"clerk@example.org\",\"note\":\"Bauantrag 2026/17\"}";
static const char lhex[] =
	"4f464c444c016f66666c6f616475706c6f61646c696e6b696432333435360000"
	"00006553f1000000000065666600a0a1a2a3a4a5a6a7a8a9aaab2e421b57c88a"
	"5bee2d78e7f60617b48ade943a0a3021176c07fe3ff6658f2148aae6ccd0fd3b"
	"04e5c9bbb8ae85804bc771a36d4fbf47552c10cab32aaa17aa56e3eb6be502fa"
	"c9c9dd20250c63cc9f8f5057a7ea41918d87bde51f2e916276d782ca0c5955";

static void
fill(unsigned char *p, size_t n, unsigned char start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(start + i);
}

static void
test_vector(const struct key32 *dk)
{
	unsigned char tok[32], nonce[12], want[159], *obj = NULL;
	struct transfer_uplink l;
	size_t len = 0;

	fill(tok, sizeof tok, 0x60);
	fill(nonce, sizeof nonce, 0xa0);
	CHECK(enc_hex_decode(lhex, want, sizeof want) == 0, "upload link vector decodes (159 bytes)");
	CHECK(transfer_uplink_seal(dk->key, lid, tok, 1700000000, 1701209600, nonce, ljson,
	      strlen(ljson), &obj, &len) == 0 && len == sizeof want && memcmp(obj, want, len) == 0,
		"upload link object: §6.11 vector byte-exactly");
	g_free(obj);
	CHECK(transfer_uplink_decode(dk->key, lid, NULL, want, sizeof want, &l) == 0 &&
	      l.created == 1700000000 && l.expires == 1701209600 && l.to == NULL,
		"MAC only (purge, list): created and expires, no address");
	CHECK(transfer_uplink_decode(dk->key, lid, tok, want, sizeof want, &l) == 0 &&
	      strcmp(l.to, "clerk@example.org") == 0 && strcmp(l.note, "Bauantrag 2026/17") == 0,
		"with the token: the clerk's address and the note");
	transfer_uplink_clear(&l);
	CHECK(transfer_uplink_decode(dk->key, "offloaduploadlinkid23457", tok, want, sizeof want, &l) ==
	      ENVELOPE_EINVAL, "another id: EINVAL");
	tok[0] ^= 1;
	CHECK(transfer_uplink_decode(dk->key, lid, tok, want, sizeof want, &l) == ENVELOPE_EAUTH,
		"another token: EAUTH");
	tok[0] ^= 1;
	want[45] ^= 1; /* the last byte of the clear expiry */
	CHECK(transfer_uplink_decode(dk->key, lid, NULL, want, sizeof want, &l) == ENVELOPE_EAUTH,
		"a changed clear expiry fails the MAC");
	want[45] ^= 1;
	{
		unsigned char other[32];

		fill(other, sizeof other, 0x41);
		CHECK(transfer_uplink_decode(other, lid, tok, want, sizeof want, &l) == ENVELOPE_EAUTH,
			"another deployment key: EAUTH (the store alone makes no links)");
	}
}

static void
test_store(struct storage *st, const struct key32 *dk)
{
	char id[ENVELOPE_ID_TEXT_LEN + 1], lid2[ENVELOPE_ID_TEXT_LEN + 1], *link = NULL;
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN];
	struct transfer_uplink l;

	CHECK(transfer_uplink_create(st, dk, "https://p.example", "a@example.org", NULL, 2000000000,
	      &link, id) == STORAGE_OK && link != NULL, "create stores <id>/l");
	CHECK(transfer_parse_reply_link(link, lid2, tok) == 0 && strcmp(lid2, id) == 0,
		"its link has the reply link's form /u/<id>#<token>");
	CHECK(transfer_uplink_read(st, dk, id, tok, &l) == STORAGE_OK && strcmp(l.to, "a@example.org") == 0 &&
	      strcmp(l.note, "") == 0 && l.expires == 2000000000, "read with the token");
	transfer_uplink_clear(&l);
	CHECK(transfer_uplink_read(st, dk, "offloaduploadlinkid23457", tok, &l) == STORAGE_ENOENT,
		"no link: ENOENT");
	tok[3] ^= 1;
	CHECK(transfer_uplink_read(st, dk, id, tok, &l) == STORAGE_EPERM, "wrong token: EPERM");
	g_free(link);
}

int
main(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct key32 dk;
	GError *err = NULL;

	fill(dk.key, sizeof dk.key, 0x40);
	test_vector(&dk);
	c.backend = "memory";
	st = storage_open(&c, &err);
	CHECK(st != NULL, "memory store");
	test_store(st, &dk);
	storage_free(st);
	return unit_done();
}
