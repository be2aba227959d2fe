/*
 * test_notify_object.c - the notify object "<id>/n" (FORMATS.md §6.7: vector
 * byte-exactly, forged, foreign or cut objects ignored, written at commit
 * before the manifest, none without an address) and the once markers
 * "<id>/o<event>" (§6.8: vector, claimed once, released), plus the mails'
 * texts (notify_lifecycle.h). Vectors from
 * tests/data/envelope-vectors/make_vectors.py.
 */
#include <string.h>
#include <glib.h>

#include "conf.h"
#include "encoding.h"
#include "keys.h"
#include "notify_lifecycle.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_notify.h"
#include "unit.h"

static const char vid[] = "offloadtestvectorid23456";
static const char notify_hex[] =
	"4f464c444e016f66666c6f616474657374766563746f7269643233343536d0d1d2d3d4d5d6d7d8d9dadb8eecd41f"
	"fbf29905925b1a0c87667e7bc6fb52bd8663e82f9b5faecd899014092434f96123aed89570ce8466d5ded15dff26"
	"526d09cb993cf61e69b36fcbd526415d20";
static const char notify_json[] = "{\"v\":1,\"to\":\"clerk@example.org\",\"receipts\":\"first\"}";
static const char once_hex[] =
	"4f464c444f016f66666c6f616474657374766563746f726964323334353672656365697074300000000000000000"
	"000000006553f1c8257c4de69b42d9122b36f4ea5d9e5675ea4c093ebbcb7dd89ac89028f14245b1";

static void
vector_key(struct key32 *dk)
{
	for (unsigned i = 0; i < 32; i++)
		dk->key[i] = (unsigned char)(0x40 + i);
}

static void
test_notify_vector(void)
{
	struct key32 dk, other;
	struct transfer_notify n;
	unsigned char want[109], nonce[12], *out = NULL;
	size_t len = 0;

	vector_key(&dk);
	memset(&other, 0x41, sizeof other);
	for (unsigned i = 0; i < 12; i++)
		nonce[i] = (unsigned char)(0xd0 + i);
	CHECK(enc_hex_decode(notify_hex, want, sizeof want) == 0, "notify vector decodes (109 bytes)");
	CHECK(transfer_notify_seal(&dk, vid, nonce, notify_json, strlen(notify_json), &out, &len) == 0 &&
	      len == sizeof want && memcmp(out, want, len) == 0, "notify object: FORMATS.md §6.7 vector byte-exactly");
	g_free(out);
	CHECK(transfer_notify_decode(&dk, vid, want, sizeof want, &n) == 0 && n.to != NULL &&
	      strcmp(n.to, "clerk@example.org") == 0 && n.receipts == TRANSFER_RECEIPTS_FIRST,
		"notify vector opens to its address and receipt mode");
	transfer_notify_clear(&n);
	CHECK(transfer_notify_decode(&other, vid, want, sizeof want, &n) == TRANSFER_NOTIFY_EAUTH && n.to == NULL,
		"notify object under another deployment key: EAUTH");
	CHECK(transfer_notify_decode(&dk, "offloadtestvectorid23457", want, sizeof want, &n) ==
	      TRANSFER_NOTIFY_EINVAL, "notify object of another id: EINVAL");
	CHECK(transfer_notify_decode(&dk, vid, want, 57, &n) == TRANSFER_NOTIFY_EINVAL,
		"notify object shorter than header and tag: EINVAL");
	want[60] ^= 1;
	CHECK(transfer_notify_decode(&dk, vid, want, sizeof want, &n) == TRANSFER_NOTIFY_EAUTH,
		"notify object with a changed byte: EAUTH");
	CHECK(transfer_receipts_parse("every") == TRANSFER_RECEIPTS_EVERY && transfer_receipts_parse("x") == -1,
		"receipt mode names");
}

static void
test_once_vector(void)
{
	struct key32 dk;
	unsigned char want[TRANSFER_ONCE_LEN], out[TRANSFER_ONCE_LEN];

	vector_key(&dk);
	CHECK(enc_hex_decode(once_hex, want, sizeof want) == 0, "once vector decodes (86 bytes)");
	CHECK(transfer_once_encode(&dk, vid, "receipt0", 1700000200, out) == 0 &&
	      memcmp(out, want, sizeof want) == 0, "once marker: FORMATS.md §6.8 vector byte-exactly");
	CHECK(transfer_once_encode(&dk, vid, "Receipt", 1, out) == -1 &&
	      transfer_once_encode(&dk, vid, "receipt12345678901", 1, out) == -1,
		"once marker: event names [a-z0-9]{1,16} only");
}

static void
test_store(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct key32 dk;
	struct transfer *t;
	struct transfer_notify n;
	struct transfer_upload *u;
	GByteArray *m = NULL;
	char *kpath = g_build_filename(unit_tmpdir(), "dk-notify.key", NULL);
	int e = 0;

	c.backend = "memory";
	st = storage_open(&c, NULL);
	CHECK(st != NULL && keys_load(kpath, &dk, NULL) == 0, "memory store and deployment key");
	t = transfer_new(st, 1700000000, 86400);
	u = transfer_upload_begin(t, "a.txt", NULL, &e);
	CHECK(u && transfer_upload_write(u, "hello", 5) == 0 && transfer_upload_commit(u) == 0, "a file");
	t->notify_to = "clerk@example.org";
	t->receipts = TRANSFER_RECEIPTS_EVERY;
	CHECK(transfer_commit(t, &dk) == STORAGE_OK, "commit with a notify address");
	CHECK(transfer_notify_read(st, &dk, t->id, &n) == 1 && strcmp(n.to, "clerk@example.org") == 0 &&
	      n.receipts == TRANSFER_RECEIPTS_EVERY, "\"<id>/n\" written at commit and read back");
	transfer_notify_clear(&n);
	CHECK(transfer_get_manifest(st, t->id, &m) == STORAGE_OK, "the manifest is there too");
	g_byte_array_unref(m);
	CHECK(transfer_once_claim(st, &dk, t->id, "reminder", 1700000300) == 1, "first claim of o reminder: 1");
	CHECK(transfer_once_claim(st, &dk, t->id, "reminder", 1700000301) == 0, "second claim: 0 (sent already)");
	CHECK(transfer_once_exists(st, t->id, "reminder") == 1 && transfer_once_exists(st, t->id, "bruteforce") == 0,
		"once_exists");
	transfer_once_release(st, t->id, "reminder");
	CHECK(transfer_once_claim(st, &dk, t->id, "reminder", 1700000302) == 1, "after release: claimed again");
	transfer_free(t);
	t = transfer_new(st, 1700000000, 86400);
	u = transfer_upload_begin(t, "b.txt", NULL, &e);
	CHECK(u && transfer_upload_write(u, "hello", 5) == 0 && transfer_upload_commit(u) == 0, "another file");
	CHECK(transfer_commit(t, &dk) == STORAGE_OK && transfer_notify_read(st, &dk, t->id, &n) == 0 && n.to == NULL,
		"no notify address: no \"<id>/n\"");
	transfer_free(t);
	storage_free(st);
	g_free(kpath);
}

static void
test_texts(void)
{
	struct conf c = { 0 };
	char *net, *s;

	c.audit_personal = CONF_AUDIT_PLAIN;
	net = notify_client_network(&c, "192.0.2.77");
	CHECK(net != NULL && strcmp(net, "192.0.2.0/24") == 0, "client network, IPv4: /24 (%s)", net);
	g_free(net);
	net = notify_client_network(&c, "2001:db8:1:2:3::4");
	CHECK(net != NULL && strcmp(net, "2001:db8:1::/48") == 0, "client network, IPv6: /48 (%s)", net);
	g_free(net);
	c.audit_personal = CONF_AUDIT_PSEUDONYMISE;
	CHECK(notify_client_network(&c, "192.0.2.77") == NULL, "client network: none unless personal = plain");
	s = notify_receipt_text(vid, "report.pdf", 1700000000, "192.0.2.0/24");
	/* 1700000000 = 2023-11-14 22:13:20 UTC = 23:13 CET */
	CHECK(strstr(s, "report.pdf") != NULL && strstr(s, "14.11.2023, 23:13 Uhr (MEZ)") != NULL &&
	      strstr(s, "192.0.2.0/24") != NULL && strstr(s, vid) != NULL, "receipt text: file, Berlin time, network");
	g_free(s);
	s = notify_reminder_text(vid, 1700000000, 1701000000);
	CHECK(strstr(s, "confirmation mail") != NULL && strstr(s, "http") == NULL,
		"reminder text points to the confirmation mail, holds no link");
	g_free(s);
}

int
main(void)
{
	test_notify_vector();
	test_once_vector();
	test_store();
	test_texts();
	return unit_done();
}
