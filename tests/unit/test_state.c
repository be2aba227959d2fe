/*
 * test_state.c - the transfer lifecycle side objects: the state object
 * "<id>/x" (FORMATS.md §6.3: vector byte-exactly, round trip, forged or
 * foreign objects ignored, the effective expiry and its limit, extension,
 * download counts) and the sender view "<id>/s" (§6.4: vector, wrong
 * revoke secret, written at commit). Vectors from
 * tests/data/envelope-vectors/make_vectors.py.
 */
#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "encoding.h"
#include "keys.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_sender.h"
#include "transfer_state.h"
#include "unit.h"

static const char vid[] = "offloadtestvectorid23456";
static const char state_hex[] =
	"4f464c4458016f66666c6f616474657374766563746f72696432333435360000000065ca9800000000006584b880"
	"00000001000000020000000200000001000000006553f1c8000000006553ff100000000000000000000000000000"
	"00000000000000000000b4dfda24a471bee98ccb03d3feb318e069203bd64e2a7c0b83f27c5bade0181a";
static const char sv_hex[] =
	"4f464c4453016f66666c6f616474657374766563746f7269643233343536e0e1e2e3e4e5e6e7e8e9eaebc0c5cc5f"
	"fe119e703f1bdeff557138d0da16656af893e2b304a28b562ad8142e71b2957032f8892959e23ca554d9577a9282"
	"1786e34d61e7d2001130eda759eecc018a89e76943fcecf7a27e7f6e960e038cbff0d746008e0c6baafc4f47b2ec"
	"78c69bceda26bf3244d0dc7f9181b01c9124634fb8cf7dc7a820f9ec474037a030528a786c6f";
static const char sv_json[] =
	"{\"v\":1,\"created\":1700000000,\"expires\":1702592000,\"class\":\"INTERN\","
	"\"files\":[{\"index\":0,\"name\":\"report.pdf\",\"size\":10}]}";

static void
vector_key(struct key32 *dk)
{
	unsigned i;

	for (i = 0; i < 32; i++)
		dk->key[i] = (unsigned char)(0x40 + i);
}

static void
test_state_vector(void)
{
	struct key32 dk, other;
	struct transfer_state s;
	unsigned char want[134], *out = NULL;
	size_t len = 0;

	vector_key(&dk);
	memset(&other, 0x41, sizeof other);
	CHECK(enc_hex_decode(state_hex, want, sizeof want) == 0, "state vector decodes (134 bytes)");
	transfer_state_init(&s, vid, 2);
	s.limit = 1707776000;
	s.expires = 1703196800;
	s.flags = TRANSFER_STATE_REMINDED;
	s.files[0].count = 2;
	s.files[0].flags = TRANSFER_STATE_RECEIPT;
	s.files[0].first = 1700000200;
	s.files[0].last = 1700003600;
	CHECK(transfer_state_encode(&dk, &s, &out, &len) == 0 && len == sizeof want &&
	      memcmp(out, want, len) == 0, "state object: FORMATS.md §6.3 vector byte-exactly");
	transfer_state_clear(&s);
	g_free(out);
	CHECK(transfer_state_decode(&dk, vid, want, sizeof want, &s) == 0 && s.limit == 1707776000 &&
	      s.expires == 1703196800 && s.flags == 1 && s.nfiles == 2 && s.files[0].count == 2 &&
	      s.files[0].last == 1700003600 && s.files[1].count == 0,
		"state vector decodes to its fields");
	transfer_state_clear(&s);
	CHECK(transfer_state_decode(&other, vid, want, sizeof want, &s) == TRANSFER_STATE_EAUTH,
		"state under another deployment key: EAUTH");
	CHECK(transfer_state_decode(&dk, "offloadtestvectorid23457", want, sizeof want, &s) ==
	      TRANSFER_STATE_EINVAL, "state of another id: EINVAL");
	CHECK(transfer_state_decode(&dk, vid, want, sizeof want - 1, &s) == TRANSFER_STATE_EINVAL,
		"state cut by one byte: EINVAL");
	want[40] ^= 1;
	CHECK(transfer_state_decode(&dk, vid, want, sizeof want, &s) == TRANSFER_STATE_EAUTH,
		"state with a changed expiry byte: EAUTH");
	transfer_state_init(&s, vid, 0);
	s.limit = 100;
	s.expires = 200;
	CHECK(transfer_state_expiry(&s, 50) == 100 && transfer_state_expiry(&s, 150) == 150,
		"effective expiry: extension capped at the limit, never below the header");
	s.expires = 0;
	CHECK(transfer_state_expiry(&s, 50) == 50, "effective expiry: no extension = the header's");
	transfer_state_clear(&s);
}

static void
test_sender_vector(void)
{
	unsigned char want[176], nonce[12], *out = NULL;
	size_t len = 0;
	char *json = NULL, rs[] = "ICEiIyQlJicoKSorLC0uLw";
	unsigned i;

	for (i = 0; i < 12; i++)
		nonce[i] = (unsigned char)(0xe0 + i);
	CHECK(enc_hex_decode(sv_hex, want, sizeof want) == 0, "sender view vector decodes (176 bytes)");
	CHECK(transfer_sender_seal(vid, rs, nonce, sv_json, strlen(sv_json), &out, &len) == 0 &&
	      len == sizeof want && memcmp(out, want, len) == 0,
		"sender view: FORMATS.md §6.4 vector byte-exactly");
	g_free(out);
	CHECK(transfer_sender_open(vid, rs, want, sizeof want, &json) == 0 && strcmp(json, sv_json) == 0,
		"sender view vector opens to its JSON");
	g_free(json);
	rs[0] = 'J';
	CHECK(transfer_sender_open(vid, rs, want, sizeof want, &json) == TRANSFER_SENDER_EAUTH,
		"sender view under another revoke secret: EAUTH");
	rs[0] = 'I';
	want[100] ^= 1;
	CHECK(transfer_sender_open(vid, rs, want, sizeof want, &json) == TRANSFER_SENDER_EAUTH,
		"sender view with a changed byte: EAUTH");
	CHECK(transfer_sender_open("offloadtestvectorid23457", rs, want, sizeof want, &json) ==
	      TRANSFER_SENDER_EINVAL, "sender view of another id: EINVAL");
}

static int
collect(void *arg, const void *buf, size_t len)
{
	g_byte_array_append(arg, buf, (guint)len);
	return 0;
}

static void
object_flip(struct storage *st, const char *key, size_t off)
{
	GByteArray *a = g_byte_array_new();
	struct storage_put *p;
	int e;

	storage_get(st, key, 0, STORAGE_TO_END, collect, a);
	a->data[off] ^= 0x40;
	p = storage_put_begin(st, key, a->len, &e);
	storage_put_write(p, a->data, a->len);
	storage_put_commit(p);
	g_byte_array_free(a, TRUE);
}

static void
test_state_store(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct key32 dk;
	struct transfer *t;
	struct transfer_upload *u;
	struct transfer_state s;
	struct envelope_header h;
	GByteArray *obj = NULL;
	GError *err = NULL;
	char *kpath = g_build_filename(unit_tmpdir(), "dk-state.key", NULL), *json = NULL, key[64];
	int64_t eff = 0, nx = 0, lim = 0;
	int e = 0;

	c.backend = "memory";
	st = storage_open(&c, &err);
	CHECK(st != NULL && keys_load(kpath, &dk, &err) == 0, "state: memory store and deployment key");
	t = transfer_new(st, 1700000000, 86400);
	t->max_expires = 1700000000 + 10 * 86400;
	u = transfer_upload_begin(t, "a.txt", NULL, &e);
	CHECK(u && transfer_upload_write(u, "hello", 5) == 0 && transfer_upload_commit(u) == 0 &&
	      transfer_commit(t, &dk) == 0, "state: transfer committed");
	CHECK(transfer_sender_read(st, t->id, t->revoke_secret, &json) == 1 &&
	      strstr(json, "\"a.txt\"") && strstr(json, "\"sha256\""),
		"sender view written at commit opens with the revoke secret");
	g_free(json);
	json = NULL;
	CHECK(transfer_sender_read(st, t->id, t->secret, &json) < 0 && json == NULL,
		"sender view does not open with the link secret");
	CHECK(transfer_state_read(st, &dk, t->id, &s) == 1 && s.limit == t->max_expires &&
	      s.expires == 0 && s.nfiles == 1, "state written at commit: limit recorded, not extended");
	transfer_state_clear(&s);
	CHECK(transfer_get_manifest(st, t->id, &obj) == 0 &&
	      envelope_manifest_header(obj->data, obj->len, dk.key, &h) == 0, "state: header verifies");
	CHECK(transfer_extend(st, &dk, &h, 3 * 86400, 90 * 86400, &nx, &lim) == 0 &&
	      nx == h.expires + 3 * 86400 && lim == t->max_expires, "extend by 3 days from the expiry");
	CHECK(transfer_effective_expiry(st, &dk, t->id, h.expires, &eff) == 0 && eff == nx,
		"effective expiry honours the extension");
	CHECK(transfer_extend(st, &dk, &h, 3 * 86400, 90 * 86400, &nx, &lim) == 0 &&
	      nx == h.expires + 6 * 86400, "extend again: from the current (extended) expiry");
	CHECK(transfer_extend(st, &dk, &h, 5 * 86400, 90 * 86400, &nx, &lim) == TRANSFER_EXTEND_ELIMIT &&
	      transfer_effective_expiry(st, &dk, t->id, h.expires, &eff) == 0 && eff == h.expires + 6 * 86400,
		"extend beyond the recorded limit (10 days) refused, nothing changed");
	CHECK(transfer_state_count_download(st, &dk, t->id, 0, 1, 1700000500) == 0 &&
	      transfer_state_count_download(st, &dk, t->id, 0, 1, 1700000900) == 0 &&
	      transfer_state_read(st, &dk, t->id, &s) == 1 && s.files[0].count == 2 &&
	      s.files[0].first == 1700000500 && s.files[0].last == 1700000900 &&
	      s.expires == h.expires + 6 * 86400, "two downloads counted, first and last time, expiry kept");
	transfer_state_clear(&s);
	snprintf(key, sizeof key, "%s/x", t->id);
	object_flip(st, key, 40);
	CHECK(transfer_state_read(st, &dk, t->id, &s) == 0 && s.expires == 0 &&
	      transfer_effective_expiry(st, &dk, t->id, h.expires, &eff) == 0 && eff == h.expires,
		"forged state (changed expiry, bad MAC): ignored, the header's expiry holds");
	transfer_state_clear(&s);
	g_byte_array_free(obj, TRUE);
	transfer_free(t);
	storage_free(st);
	g_free(kpath);
}

int
main(void)
{
	test_state_vector();
	test_sender_vector();
	test_state_store();
	return unit_done();
}
