/*
 * test_upload_vectors.c - the reply token and reply object "<id>/r"
 * (FORMATS.md §6.5) and the upload state "<id>/u", "<id>/u<n>" and parts
 * "<id>/p<n>s<k>" (§6.6): the vectors of
 * tests/data/envelope-vectors/make_vectors.py byte-exactly, the readers on
 * them (wrong key, other id, changed byte), and a file uploaded in two
 * chunks joins to the file object of §1.1 that the script writes. The
 * group state's sent form (after the commit), transfer_tus_cleanup's three
 * scopes and transfer_tus_file_remove (tus termination of one file).
 */
#include <string.h>
#include <glib.h>

#include "conf.h"
#include "crypto.h"
#include "encoding.h"
#include "keys.h"
#include "storage.h"
#include "transfer_reply.h"
#include "transfer_tus.h"
#include "unit.h"

static const char vid[] = "offloadtestvectorid23456";
static const char uid[] = "offloadreplyvectorid2345";
static const char secret[] = "EBESExQVFhcYGRobHB0eHw";
static const char rsecret[] = "ICEiIyQlJicoKSorLC0uLw";
static const char token_hex[] = "c264ee99142238cead1948f33fdeadeb95f7828fe274897227f24b9c5716912a";
static const char verifier_hex[] = "ca608341971fa1eef04e6d94b9b33d1bdea0ab2de361bee2af5929d9c32c0038";
static const char link_want[] = "https://portal.example.gov/u/offloadtestvectorid23456#"
	"wmTumRQiOM6tGUjzP96t65X3go_idIlyJ_JLnFcWkSo";
static const char reply_json[] = "{\"to\":\"clerk@example.gov\"}";
static const char reply_hex[] =
	"4f464c4452016f66666c6f616474657374766563746f7269643233343536f0f1f2f3f4f5f6f7f8f9fafb2ab96ca3"
	"eae857b00287504b58f27d236b1ae6d74b6f54ea3b9e1f25c5c25415a9e6f0192ef32f586efd";
static const char group_json[] =
	"{\"v\":1,\"src\":\"offloadtestvectorid23456\",\"secret\":\"EBESExQVFhcYGRobHB0eHw\","
	"\"revoke\":\"ICEiIyQlJicoKSorLC0uLw\",\"created\":1700000000,\"expires\":1702592000,"
	"\"message\":\"Anbei die Pl\xc3\xa4ne\",\"count\":2,\"total\":65547}";
static const char group_hex[] =
	"4f464c4455016f66666c6f61647265706c79766563746f72696432333435ffffffff909192939495969798999a9b"
	"17c6cec34d4f9870b233abba6991984f3263e2945aad8be62bb849c64d3a5e1d52d7cc04011cd642dc760ef2c648"
	"d557ecc29043aa02e4d05ad7085e7c3c31c052111578d543cf6c278420faa92eda971c68549e3d2e810ab20facf2"
	"e21bee3e03de747c9a449df000cf5d5e38f607a176ff0cef47600a2cba0508e32f4c7bbf7cb5b0b0fbc7764dcfb2"
	"c7d88eaca9b938899540f1b761deaeaeeb483bae5b22b7a7e0d480c4409a4d4d815c16cfec69d864e32eac1060e6"
	"26ee8ad99b33c997fab896e2b01af314ba1fc020a946f733fd1fefc4a3cf0266a6fb63";
static const char file_json[] =
	"{\"v\":1,\"name\":\"report.pdf\",\"length\":65537,\"offset\":65536,\"segment\":1,"
	"\"key\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\",\"prefix\":\"a0a1a2a3a4a5a6\","
	"\"state\":\"open\"}";
static const char file_hex[] =
	"4f464c4455016f66666c6f61647265706c79766563746f7269643233343500000003909192939495969798999a9b"
	"17c6cec34d4f9870af20a5fd7189d55b317fe2874af79ef139ec008755304213428ddd0a021fc15dc92949fed24b"
	"d210a2c2ef37da64929e27a33d53780813fc4951670bc904ec7e7c8a38aa8d19f0bf383d3ffa360aa72ab82792d2"
	"ec33bd1e0cf55a5c936fe0d00aea262a5dd71ea550f31eef2d320339a61748a17a1a22f772adf7a9bbcf35498ef1"
	"ce888dfdaeed37998952b2ef22c7aeffa20b33bb1c76b79bc255bb1c97bdd77e8d17df174611544f";
static const char sent_json[] =
	"{\"v\":1,\"src\":\"offloadtestvectorid23456\",\"created\":1700000000,\"expires\":1702592000,"
	"\"count\":2,\"total\":65547,\"sent\":[{\"length\":65537,\"state\":\"done\"},"
	"{\"length\":10,\"state\":\"refused\",\"detail\":\"damaged\"}]}";
static const char file3_sha[] = "2502a7979962a7e6f9ed54d5e7084053f70e5a6523f824650de7aba513cfa825";
static const char p3s0_sha[] = "f18e6550fc6e6ba023f4aeef9e20727acf2d4c505ef621f55f827b8b4d4870eb";
static const char p3s1_hex[] = "f0bf242e4efa7beadb5f8f5f037ca355fc";

static void
fill(unsigned char *b, size_t n, unsigned start)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(start + i);
}

static int
collect(void *arg, const void *buf, size_t len)
{
	g_byte_array_append(arg, buf, (guint)len);
	return 0;
}

static GByteArray *
get(struct storage *st, const char *key)
{
	GByteArray *a = g_byte_array_new();

	if (storage_get(st, key, 0, STORAGE_TO_END, collect, a) != STORAGE_OK) {
		g_byte_array_free(a, TRUE);
		return NULL;
	}
	return a;
}

static void
put(struct storage *st, const char *key, const unsigned char *b, size_t n)
{
	struct storage_put *p;
	int e;

	p = storage_put_begin(st, key, n, &e);
	storage_put_write(p, b, n);
	storage_put_commit(p);
}

static bool
sha_is(const unsigned char *b, size_t n, const char *hex)
{
	char *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, b, n);
	bool ok = strcmp(s, hex) == 0;

	g_free(s);
	return ok;
}

static void
test_reply_token(void)
{
	unsigned char tok[32], want[32], m[113], got[32];
	char id[25], *link;

	CHECK(enc_hex_decode(token_hex, want, sizeof want) == 0 &&
	      transfer_reply_token(vid, secret, tok) == 0 && memcmp(tok, want, 32) == 0,
		"reply token: FORMATS.md §6.5 vector (= K_verify of §2.6)");
	link = transfer_reply_link("https://portal.example.gov", vid, secret);
	CHECK(link && strcmp(link, link_want) == 0, "reply link: §6.5 vector");
	CHECK(transfer_parse_reply_link(link, id, got) == 0 && strcmp(id, vid) == 0 &&
	      memcmp(got, want, 32) == 0, "reply link parses to id and token");
	g_free(link);
	memset(got, 0, sizeof got);
	CHECK(transfer_parse_reply_link("https://p.example/t/offloadtestvectorid23456#"
	      "EBESExQVFhcYGRobHB0eHw", id, got) == 0 && memcmp(got, want, 32) == 0,
		"a transfer link gives the same token");
	memset(m, 0, sizeof m);
	CHECK(enc_hex_decode(verifier_hex, m + 81, 32) == 0 &&
	      transfer_reply_check(m, sizeof m, vid, tok) == ENVELOPE_OK,
		"token checks against the §2.6 manifest verifier");
	tok[0] ^= 1;
	CHECK(transfer_reply_check(m, sizeof m, vid, tok) == ENVELOPE_EAUTH, "changed token: EAUTH");
	CHECK(transfer_reply_check(m, 100, vid, want) == ENVELOPE_EINVAL, "short manifest: EINVAL");
}

static void
test_reply_object(void)
{
	unsigned char tok[32], want[84], nonce[12], *obj = NULL;
	size_t len = 0;
	char *json = NULL;

	enc_hex_decode(token_hex, tok, sizeof tok);
	fill(nonce, sizeof nonce, 0xf0);
	CHECK(enc_hex_decode(reply_hex, want, sizeof want) == 0, "reply vector decodes (84 bytes)");
	CHECK(transfer_reply_seal(vid, tok, nonce, reply_json, strlen(reply_json), &obj, &len) == 0 &&
	      len == sizeof want && memcmp(obj, want, len) == 0, "reply object: §6.5 vector byte-exactly");
	g_free(obj);
	CHECK(transfer_reply_open(vid, tok, want, sizeof want, &json) == 0 &&
	      strcmp(json, reply_json) == 0, "reply vector opens to its JSON");
	g_free(json);
	CHECK(transfer_reply_open("offloadtestvectorid23457", tok, want, sizeof want, &json) ==
	      ENVELOPE_EINVAL, "reply object of another id: EINVAL");
	tok[31] ^= 1;
	CHECK(transfer_reply_open(vid, tok, want, sizeof want, &json) == ENVELOPE_EAUTH,
		"reply object under another token: EAUTH");
	tok[31] ^= 1;
	want[35] ^= 1;
	CHECK(transfer_reply_open(vid, tok, want, sizeof want, &json) == ENVELOPE_EAUTH,
		"reply object with a changed nonce byte: EAUTH");
}

static void
test_tus_state(struct storage *st, const struct key32 *dk)
{
	unsigned char g[265], f[224], nonce[12], *obj = NULL;
	size_t len = 0;
	struct tus_group grp;
	struct tus_file tf;
	GByteArray *a = NULL;
	char *json = NULL, key[64];

	fill(nonce, sizeof nonce, 0x90);
	CHECK(enc_hex_decode(group_hex, g, sizeof g) == 0 && enc_hex_decode(file_hex, f, sizeof f) == 0,
		"upload state vectors decode (265, 224 bytes)");
	CHECK(transfer_tus_seal(dk->key, uid, TUS_GROUP_INDEX, nonce, group_json, strlen(group_json),
	      &obj, &len) == 0 && len == sizeof g && memcmp(obj, g, len) == 0,
		"group state u: §6.6 vector byte-exactly");
	g_free(obj);
	CHECK(transfer_tus_seal(dk->key, uid, 3, nonce, file_json, strlen(file_json), &obj, &len) == 0 &&
	      len == sizeof f && memcmp(obj, f, len) == 0, "file state u3: §6.6 vector byte-exactly");
	g_free(obj);
	CHECK(transfer_tus_open(dk->key, uid, 4, f, sizeof f, &json) == ENVELOPE_EINVAL,
		"file state read as another index: EINVAL");
	f[40] ^= 1;
	CHECK(transfer_tus_open(dk->key, uid, 3, f, sizeof f, &json) == ENVELOPE_EAUTH,
		"file state with a changed nonce byte: EAUTH");
	f[40] ^= 1;
	CHECK(transfer_tus_open(dk->key, "offloadtestvectorid23456", 3, f, sizeof f, &json) ==
	      ENVELOPE_EINVAL, "file state of another id: EINVAL");
	snprintf(key, sizeof key, "%s/u", uid);
	put(st, key, g, sizeof g);
	snprintf(key, sizeof key, "%s/u3", uid);
	put(st, key, f, sizeof f);
	CHECK(transfer_tus_group_get(st, dk, uid, &grp) == 0 && strcmp(grp.src, vid) == 0 &&
	      strcmp(grp.secret, secret) == 0 && strcmp(grp.revoke_secret, rsecret) == 0 &&
	      grp.expires == 1702592000 && grp.count == 2 && grp.total == 65547 &&
	      strcmp(grp.message, "Anbei die Pl\xc3\xa4ne") == 0, "group vector read from the store");
	CHECK(transfer_tus_group_put(st, dk, uid, &grp) == 0 && (a = get(st, "offloadreplyvectorid2345/u")) &&
	      transfer_tus_open(dk->key, uid, TUS_GROUP_INDEX, a->data, a->len, &json) == 0 &&
	      strcmp(json, group_json) == 0, "group written back: the vector's JSON byte-exactly");
	g_free(json);
	if (a)
		g_byte_array_free(a, TRUE);
	transfer_tus_group_clear(&grp);
	CHECK(transfer_tus_file_get(st, dk, uid, 3, &tf) == 0 && tf.offset == 65536 &&
	      tf.length == 65537 && tf.key[31] == 0x1f && tf.prefix[6] == 0xa6 && tf.state == TUS_OPEN &&
	      strcmp(tf.name, "report.pdf") == 0 && tf.resent == 0, "file vector read from the store");
	tf.resent = 2; /* sent back twice (upload_resend.c): "resent" kept, absent while 0 */
	CHECK(transfer_tus_file_put(st, dk, uid, &tf) == 0 && (a = get(st, "offloadreplyvectorid2345/u3")) &&
	      transfer_tus_open(dk->key, uid, 3, a->data, a->len, &json) == 0 &&
	      strstr(json, "\"resent\":2") != NULL, "file state with resent 2 written");
	g_free(json);
	if (a)
		g_byte_array_free(a, TRUE);
	transfer_tus_file_clear(&tf);
	CHECK(transfer_tus_file_get(st, dk, uid, 3, &tf) == 0 && tf.resent == 2, "resent 2 read back");
	transfer_tus_file_clear(&tf);
}

static void
test_tus_parts(struct storage *st)
{
	static unsigned char pt[65537];
	unsigned char tail[17];
	struct transfer_tus_chunk *c;
	struct tus_file tf;
	GByteArray *a;
	uint64_t end = 0;
	size_t i;
	int e = 0;

	for (i = 0; i < sizeof pt; i++)
		pt[i] = (unsigned char)(i % 251);
	memset(&tf, 0, sizeof tf);
	tf.index = 3;
	tf.length = sizeof pt;
	tf.name = g_strdup("report.pdf");
	fill(tf.key, sizeof tf.key, 0);
	fill(tf.prefix, sizeof tf.prefix, 0xa0);
	c = transfer_tus_chunk_begin(st, uid, &tf, &e);
	CHECK(c && transfer_tus_chunk_write(c, pt, 65536) == 0 && transfer_tus_chunk_commit(c, &end) == 0 &&
	      end == 65536, "chunk 1: one full segment");
	tf.offset = end;
	a = get(st, "offloadreplyvectorid2345/p3s0");
	CHECK(a && sha_is(a->data, a->len, p3s0_sha), "part p3s0: §6.6 vector (segment 0 of §1.1)");
	if (a)
		g_byte_array_free(a, TRUE);
	c = transfer_tus_chunk_begin(st, uid, &tf, &e);
	CHECK(c && transfer_tus_chunk_write(c, pt + 65536, 1) == 0 &&
	      transfer_tus_chunk_commit(c, &end) == 0 && end == 65537, "chunk 2: the last byte");
	tf.offset = end;
	a = get(st, "offloadreplyvectorid2345/p3s1");
	CHECK(a && enc_hex_decode(p3s1_hex, tail, sizeof tail) == 0 && a->len == sizeof tail &&
	      memcmp(a->data, tail, sizeof tail) == 0, "part p3s1: §6.6 vector (the last segment)");
	if (a)
		g_byte_array_free(a, TRUE);
	CHECK(transfer_tus_join(st, uid, &tf, NULL, NULL, NULL) == 0, "parts join");
	a = get(st, "offloadreplyvectorid2345/3");
	CHECK(a && sha_is(a->data, a->len, file3_sha) && sha_is(pt, sizeof pt, tf.sha256),
		"joined object = the §1.1 file object of the script; plaintext SHA-256 recorded");
	if (a)
		g_byte_array_free(a, TRUE);
	{ /* a part gone: the join says to send the file again from it, the rewind goes there */
		uint64_t resend = 1;

		storage_delete(st, "offloadreplyvectorid2345/p3s1");
		CHECK(transfer_tus_join(st, uid, &tf, NULL, NULL, &resend) == STORAGE_EPERM &&
		      resend == 65536, "a missing part: EPERM, sent again from its offset 65536");
		CHECK(transfer_tus_rewind(st, uid, &tf, resend) == 0 && tf.offset == 65536 &&
		      storage_stat(st, "offloadreplyvectorid2345/p3s0", NULL, NULL) == 0,
		      "rewind: offset 65536, the part before it kept");
	}
	transfer_tus_file_clear(&tf);
}

static bool
has(struct storage *st, const char *leaf)
{
	char key[64];
	uint64_t size;

	snprintf(key, sizeof key, "%s/%s", uid, leaf);
	return storage_stat(st, key, &size, NULL) == STORAGE_OK;
}

/* seal_put - JSON as the group state of uid */
static void
seal_put(struct storage *st, const struct key32 *dk, const char *json)
{
	unsigned char *obj = NULL;
	size_t len = 0;

	if (transfer_tus_seal(dk->key, uid, TUS_GROUP_INDEX, NULL, json, strlen(json), &obj, &len) != 0)
		return;
	put(st, "offloadreplyvectorid2345/u", obj, len);
	g_free(obj);
}

static void
test_sent_form(struct storage *st, const struct key32 *dk)
{
	struct tus_group g = { 0 }, r;
	GByteArray *a = NULL;
	char *json = NULL;

	g_strlcpy(g.src, "offloadtestvectorid23456", sizeof g.src);
	g_strlcpy(g.secret, "EBESExQVFhcYGRobHB0eHw", sizeof g.secret);
	g_strlcpy(g.revoke_secret, "ICEiIyQlJicoKSorLC0uLw", sizeof g.revoke_secret);
	g.message = g_strdup("Anbei");
	g.created = 1700000000;
	g.expires = 1702592000;
	g.count = 2;
	g.total = 65547;
	g.sent = g_new0(struct tus_sent, 2);
	g.sent[0] = (struct tus_sent){ 65537, TUS_DONE, "" };
	g.sent[1] = (struct tus_sent){ 10, TUS_REFUSED, "damaged" };
	CHECK(transfer_tus_group_put(st, dk, uid, &g) == 0 && (a = get(st, "offloadreplyvectorid2345/u")) &&
	      transfer_tus_open(dk->key, uid, TUS_GROUP_INDEX, a->data, a->len, &json) == 0 &&
	      strcmp(json, sent_json) == 0, "sent form: the documented JSON, no secrets, no message");
	crypto_free_string(json);
	if (a)
		g_byte_array_free(a, TRUE);
	transfer_tus_group_clear(&g);
	CHECK(transfer_tus_group_get(st, dk, uid, &r) == 0 && r.sent != NULL && r.count == 2 &&
	      r.sent[0].length == 65537 && r.sent[0].state == TUS_DONE && r.sent[1].length == 10 &&
	      r.sent[1].state == TUS_REFUSED && strcmp(r.sent[1].why, "damaged") == 0 &&
	      r.sent[0].why[0] == '\0' && strcmp(r.src, "offloadtestvectorid23456") == 0 &&
	      r.secret[0] == '\0' && strcmp(r.message, "") == 0, "sent form read back");
	transfer_tus_group_clear(&r);
	seal_put(st, dk, "{\"v\":1,\"src\":\"offloadtestvectorid23456\",\"count\":3,\"total\":3,\"sent\":["
		"{\"length\":1,\"state\":\"refused\"},{\"length\":1,\"state\":\"refused\",\"detail\":\"infected\"},"
		"{\"length\":1,\"state\":\"refused\",\"detail\":\"Win.Test.EICAR_HDB-1\"}]}");
	CHECK(transfer_tus_group_get(st, dk, uid, &r) == 0 && r.count == 3 && r.sent[0].why[0] == '\0' &&
	      strcmp(r.sent[1].why, "infected") == 0 && r.sent[2].why[0] == '\0',
		"sent form: a refused file without detail, or with one not known, reads as no verdict");
	transfer_tus_group_clear(&r);
	seal_put(st, dk, "{\"v\":1,\"src\":\"offloadtestvectorid23456\",\"count\":3,\"total\":1,"
		"\"sent\":[{\"length\":1,\"state\":\"done\"}]}");
	CHECK(transfer_tus_group_get(st, dk, uid, &r) == STORAGE_EPERM && r.sent == NULL,
		"a sent form with fewer files than count: EPERM");
	seal_put(st, dk, "{\"v\":1,\"src\":\"offloadtestvectorid23456\",\"count\":1,\"total\":1,"
		"\"sent\":[{\"length\":1,\"state\":\"open\"}]}");
	CHECK(transfer_tus_group_get(st, dk, uid, &r) == STORAGE_EPERM,
		"a sent form with an open file: EPERM");
	seal_put(st, dk, "{\"v\":1,\"src\":\"offloadtestvectorid23456\",\"count\":1,\"total\":1}");
	CHECK(transfer_tus_group_get(st, dk, uid, &r) == STORAGE_EPERM,
		"an unsent group state without secrets: EPERM");
}

static void
fill_leaves(struct storage *st)
{
	static const char *const leaves[] = { "u", "u0", "u1", "p0s0", "p0s3", "p1s0", "0", "m" };
	char key[64];

	for (size_t i = 0; i < G_N_ELEMENTS(leaves); i++) {
		snprintf(key, sizeof key, "%s/%s", uid, leaves[i]);
		put(st, key, (const unsigned char *)"x", 1);
	}
}

static void
test_cleanup(struct storage *st)
{
	struct tus_file f = { 0 };

	fill_leaves(st);
	CHECK(transfer_tus_cleanup(st, uid, TUS_CLEAN_PARTS) == 0 && !has(st, "p0s0") && !has(st, "p1s0") &&
	      has(st, "u0") && has(st, "u") && has(st, "0") && has(st, "m"), "cleanup PARTS: parts only");
	fill_leaves(st);
	CHECK(transfer_tus_cleanup(st, uid, TUS_CLEAN_FILES) == 0 && !has(st, "p0s3") && !has(st, "u0") &&
	      !has(st, "u1") && has(st, "u") && has(st, "0") && has(st, "m"),
		"cleanup FILES: parts and file states, the group state (the sent record) stays");
	fill_leaves(st);
	CHECK(transfer_tus_cleanup(st, uid, TUS_CLEAN_ALL) == 0 && !has(st, "p0s0") && !has(st, "u1") &&
	      !has(st, "u") && has(st, "0") && has(st, "m"), "cleanup ALL: the group state too");
	fill_leaves(st);
	f.index = 0;
	CHECK(transfer_tus_file_remove(st, uid, &f) == 0 && !has(st, "0") && !has(st, "p0s0") &&
	      !has(st, "p0s3") && !has(st, "u0") && has(st, "u1") && has(st, "p1s0") && has(st, "u"),
		"file remove (termination): object, parts and state of that file alone");
	CHECK(transfer_tus_file_remove(st, uid, &f) == 0, "file remove again: nothing left, no error");
}

int
main(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct key32 dk;
	GError *err = NULL;

	test_reply_token();
	test_reply_object();
	c.backend = "memory";
	st = storage_open(&c, &err);
	CHECK(st != NULL, "memory store");
	fill(dk.key, sizeof dk.key, 0x40);
	test_tus_state(st, &dk);
	test_tus_parts(st);
	test_sent_form(st, &dk);
	test_cleanup(st);
	storage_free(st);
	return unit_done();
}
