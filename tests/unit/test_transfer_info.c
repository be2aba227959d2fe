/*
 * test_transfer_info.c - the info object "<id>/i" (docs/FORMATS.md §6.2):
 * the published vectors (made by tests/data/envelope-vectors/make_vectors.py,
 * an independent implementation), the reader rules (a forged, copied or
 * malformed object is refused), and transfer_commit writing it before the
 * manifest only when it says something.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "conf.h"
#include "crypto.h"
#include "keys.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_info.h"
#include "transfer_password.h"
#include "unit.h"

#define FV_ID "offloadtestvectorid23456"
#define FV_KI "58608e0b06d7019cd28f5e7adfffe6033525a80a049d884cb78c0b393651c216"
#define FV_PHONE "4f464c4449016f66666c6f616474657374766563746f72696432333435360100" \
	"f5c56484deb3896970d9432090eb5f058d8614fe3c2edc1b7505faaa69df91c0"
#define FV_MAIL "4f464c4449016f66666c6f616474657374766563746f72696432333435360200" \
	"e8c28c9aea6b2b71c0ac8290f0d5b688733d66c3468f6748374b9c5fbe56e863"
#define FV_AGREED "4f464c4449016f66666c6f616474657374766563746f72696432333435360301" \
	"c9df0ace115b1bea584be5ba1f7dc7e4cd96b3a8369f4e682cdf9e9f13d13f0b"

static void
tohex(const unsigned char *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void
test_vectors(const struct key32 *dk, const struct key32 *other, const char *doc)
{
	static const struct { enum transfer_delivery d; bool reply; const char *hex; } v[] = {
		{ TRANSFER_DELIVERY_PHONE, false, FV_PHONE },
		{ TRANSFER_DELIVERY_SEPARATE_MAIL, false, FV_MAIL },
		{ TRANSFER_DELIVERY_AGREED, true, FV_AGREED },
	};
	unsigned char k[32], obj[TRANSFER_INFO_LEN], bad[TRANSFER_INFO_LEN];
	char hex[2 * TRANSFER_INFO_LEN + 1];
	struct transfer_info in, out;
	size_t i;
	int refused = 0;

	crypto_hkdf(dk->key, 32, NULL, 0, "offload v1 info", 15, k, 32);
	tohex(k, 32, hex);
	CHECK(strcmp(hex, FV_KI) == 0 && doc && strstr(doc, FV_KI), "K_i = HKDF(dk, \"\", \"offload v1 info\"), documented");
	for (i = 0; i < G_N_ELEMENTS(v); i++) {
		in.delivery = v[i].d;
		in.reply_allowed = v[i].reply;
		CHECK(transfer_info_encode(dk, FV_ID, &in, obj) == 0, "info vector %s encodes",
			transfer_delivery_name(v[i].d));
		tohex(obj, sizeof obj, hex);
		CHECK(strcmp(hex, v[i].hex) == 0 && doc && strstr(doc, v[i].hex),
			"info vector %s (64 bytes) matches make_vectors.py, documented", transfer_delivery_name(v[i].d));
		memset(&out, 0, sizeof out);
		CHECK(transfer_info_decode(dk, FV_ID, obj, sizeof obj, &out) == 0 && out.delivery == v[i].d &&
		      out.reply_allowed == v[i].reply, "info vector %s decodes", transfer_delivery_name(v[i].d));
	}
	CHECK(transfer_info_decode(other, FV_ID, obj, sizeof obj, &out) == TRANSFER_INFO_EAUTH,
		"info object under another deployment key: MAC refused");
	CHECK(transfer_info_decode(dk, "offloadtestvectorid23457", obj, sizeof obj, &out) == TRANSFER_INFO_EINVAL,
		"info object copied to another transfer id: refused");
	CHECK(transfer_info_decode(dk, FV_ID, obj, sizeof obj - 1, &out) == TRANSFER_INFO_EINVAL,
		"truncated info object: refused");
	for (i = 0; i < sizeof obj; i++) {
		memcpy(bad, obj, sizeof obj);
		bad[i] ^= 0x01;
		if (transfer_info_decode(dk, FV_ID, bad, sizeof bad, &out) != 0)
			refused++;
	}
	CHECK(refused == TRANSFER_INFO_LEN, "every flipped bit refused (%d of 64)", refused);
	/* a forger who sets the delivery byte or a flag bit cannot fix the MAC;
	 * an unknown value is refused before the MAC */
	memcpy(bad, obj, sizeof obj);
	bad[30] = 4;
	CHECK(transfer_info_decode(dk, FV_ID, bad, sizeof bad, &out) == TRANSFER_INFO_EINVAL, "delivery 4: invalid");
	bad[30] = 1;
	bad[31] = 2;
	CHECK(transfer_info_decode(dk, FV_ID, bad, sizeof bad, &out) == TRANSFER_INFO_EINVAL, "unknown flag bit: invalid");
	in.delivery = (enum transfer_delivery)7;
	CHECK(transfer_info_encode(dk, FV_ID, &in, obj) != 0, "the writer refuses an unknown delivery mode");
	in.delivery = TRANSFER_DELIVERY_PHONE;
	CHECK(transfer_info_encode(dk, "NOT-AN-ID", &in, obj) != 0, "the writer refuses an invalid id");
}

static int
count_key(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	GPtrArray *keys = arg;

	(void)size;
	(void)mtime;
	g_ptr_array_add(keys, g_strdup(key));
	return 0;
}

static bool
has_key(struct storage *st, const char *key)
{
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	bool found = false;
	guint i;

	storage_list(st, "", count_key, keys);
	for (i = 0; i < keys->len; i++)
		found = found || strcmp(g_ptr_array_index(keys, i), key) == 0;
	g_ptr_array_free(keys, TRUE);
	return found;
}

static void
test_commit(const struct key32 *dk, const struct key32 *other)
{
	struct conf *c = conf_defaults();
	struct storage *st;
	struct transfer *t, *t2;
	struct transfer_info info = { TRANSFER_DELIVERY_AGREED, true };
	char key[64];
	unsigned char forged[TRANSFER_INFO_LEN];
	struct storage_put *p;
	int rc;

	g_free(c->backend);
	c->backend = g_strdup("memory");
	st = storage_open(c, NULL);
	t = transfer_new(st, 1764547200, 7 * 86400);
	CHECK(transfer_commit(t, dk) == STORAGE_OK, "commit without password: ok");
	snprintf(key, sizeof key, "%s/i", t->id);
	CHECK(!has_key(st, key) && transfer_info_read(st, dk, t->id, &info) == 0 &&
	      info.delivery == TRANSFER_DELIVERY_AGREED,
		"no password, no reply: no info object written; reading finds none and leaves *out alone");

	t2 = transfer_new(st, 1764547200, 7 * 86400);
	transfer_set_password(t2);
	t2->info.delivery = TRANSFER_DELIVERY_SEPARATE_MAIL;
	CHECK(transfer_commit(t2, dk) == STORAGE_OK, "commit with a password, separate mail: ok");
	snprintf(key, sizeof key, "%s/i", t2->id);
	memset(&info, 0, sizeof info);
	CHECK(has_key(st, key) && transfer_info_read(st, dk, t2->id, &info) == 1 &&
	      info.delivery == TRANSFER_DELIVERY_SEPARATE_MAIL && !info.reply_allowed,
		"the info object is written at commit and reads back (separate mail)");
	info.delivery = TRANSFER_DELIVERY_NONE;
	CHECK(transfer_info_read(st, other, t2->id, &info) == 0 && info.delivery == TRANSFER_DELIVERY_NONE,
		"read under another deployment key: ignored (0)");
	transfer_abort(t2);
	CHECK(!has_key(st, key), "transfer_abort deletes the info object too");

	/* a forged object (MAC under another key) in the store is ignored */
	info.delivery = TRANSFER_DELIVERY_PHONE;
	info.reply_allowed = false;
	transfer_info_encode(other, t->id, &info, forged);
	snprintf(key, sizeof key, "%s/i", t->id);
	p = storage_put_begin(st, key, sizeof forged, &rc);
	if (p && storage_put_write(p, forged, sizeof forged) == STORAGE_OK)
		rc = storage_put_commit(p);
	info.delivery = TRANSFER_DELIVERY_NONE;
	CHECK(rc == STORAGE_OK && transfer_info_read(st, dk, t->id, &info) == 0 &&
	      info.delivery == TRANSFER_DELIVERY_NONE, "a forged info object (bad MAC) is ignored");
	transfer_free(t);
	transfer_free(t2);
	storage_free(st);
	conf_free(c);
}

int
main(void)
{
	struct key32 dk, other;
	char *path = g_build_filename(unit_srcdir(), "docs", "FORMATS.md", NULL);
	char *doc = NULL;
	int i;

	for (i = 0; i < 32; i++) {
		dk.key[i] = (unsigned char)(0x40 + i);
		other.key[i] = (unsigned char)(0x41 + i);
	}
	g_strlcpy(dk.id, "397ad72805226887", sizeof dk.id);
	g_strlcpy(other.id, "0011223344556677", sizeof other.id);
	if (!g_file_get_contents(path, &doc, NULL, NULL))
		doc = NULL;
	test_vectors(&dk, &other, doc);
	test_commit(&dk, &other);
	g_free(doc);
	g_free(path);
	return unit_done();
}
