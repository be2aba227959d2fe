/*
 * test_portal.c - offload-portal building blocks: download ticket format
 * (round trip, tampering, expiry, key rotation), Range arithmetic
 * (table-driven), the streamed ZIP (structure, CRC, sizes, names),
 * Content-Disposition, CIDR matching, language choice; and the transfer
 * pieces the portal relies on: ranged segment-wise reads (also with a
 * tampered segment), passwords (Argon2id) and tombstones; the ticket test
 * vectors of docs/FORMATS.md §4 (generated independently by
 * tests/data/envelope-vectors/make_vectors.py) byte-exactly.
 */
#include <string.h>
#include <glib.h>
#include <zlib.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "encoding.h"
#include "keys.h"
#include "portal_http.h"
#include "portal_pages.h"
#include "portal_range.h"
#include "portal_ticket.h"
#include "portal_ticket_test.h"
#include "portal_zip.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_password.h"
#include "transfer_revoke.h"
#include "transfer_stream.h"
#include "unit.h"

/* ---- tickets ------------------------------------------------------------ */

static void
key_fill(struct key32 *k, unsigned char b)
{
	unsigned char d[32];
	char *h;

	memset(k->key, b, sizeof k->key);
	crypto_sha256(k->key, sizeof k->key, d);
	h = enc_hex(d, 8);
	memcpy(k->id, h, 17);
	g_free(h);
}

static void
test_ticket(void)
{
	struct key32 k1, k2;
	struct portal_ticket_keys a, b, ab, only2;
	struct portal_ticket t = { 0 }, o;
	char *s, *s2, *bad;
	unsigned char raw[800];
	long n;
	int i, rejected = 0;

	key_fill(&k1, 1);
	key_fill(&k2, 2);
	portal_ticket_keys_init(&a, &k1, NULL);
	portal_ticket_keys_init(&b, &k2, NULL);
	portal_ticket_keys_init(&ab, &k2, &k1);
	portal_ticket_keys_init(&only2, &k2, NULL);
	memcpy(t.id, "abcdefghijklmnopqrstuvwx", 25);
	t.index = 3;
	t.size = 123456789012ULL;
	t.not_after = 2000000000;
	memset(t.key, 0x5a, 32);
	g_strlcpy(t.name, "Grüße \"Bericht\".pdf", sizeof t.name);
	s = portal_ticket_seal(&a, &t);
	CHECK(s != NULL && strlen(s) < PORTAL_TICKET_MAX_TEXT, "ticket sealed (%zu chars)", s ? strlen(s) : 0);
	CHECK(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(s),
		"ticket text is URL-safe base64url");
	CHECK(portal_ticket_open(&a, s, 1900000000, &o) == PORTAL_TICKET_OK &&
	      strcmp(o.id, t.id) == 0 && o.index == 3 && o.size == t.size && o.not_after == t.not_after &&
	      memcmp(o.key, t.key, 32) == 0 && strcmp(o.name, t.name) == 0,
		"ticket round trip keeps id, index, size, not-after, key, name");
	CHECK(s[0] == 'A' && s[1] >= 'g' && s[1] <= 'v' && o.part == 0, "new tickets are version 2 (0x02), part 0");
	t.part = 65535;
	s2 = portal_ticket_seal(&a, &t);
	CHECK(s2 && portal_ticket_open(&a, s2, 0, &o) == PORTAL_TICKET_OK && o.part == 65535 && o.index == 3,
		"ticket round trip keeps part");
	CHECK(s2 && strncmp(s, s2, 24) != 0, "each ticket has its own salt");
	g_free(s2);
	t.part = 0;
	CHECK(strstr(s, "abcdefghijklmnopqrstuvwx") == NULL, "ticket does not show the transfer id in clear");
	CHECK(portal_ticket_open(&a, s, 2000000001, &o) == PORTAL_TICKET_EEXPIRED, "expired ticket refused");
	CHECK(portal_ticket_open(&b, s, 1900000000, &o) == PORTAL_TICKET_EINVAL, "ticket under another key refused");
	CHECK(portal_ticket_open(&ab, s, 1900000000, &o) == PORTAL_TICKET_OK,
		"rotation: a ticket of the previous key still opens");
	s2 = portal_ticket_seal(&ab, &t);
	CHECK(s2 && portal_ticket_open(&only2, s2, 1900000000, &o) == PORTAL_TICKET_OK &&
	      portal_ticket_open(&a, s2, 1900000000, &o) == PORTAL_TICKET_EINVAL,
		"rotation: new tickets use the current key only");
	n = enc_b64url_decode(s, raw, sizeof raw);
	for (i = 0; i < n; i++) {
		raw[i] ^= 0x01;
		bad = enc_b64url(raw, (size_t)n);
		if (portal_ticket_open(&a, bad, 1900000000, &o) == PORTAL_TICKET_EINVAL)
			rejected++;
		g_free(bad);
		raw[i] ^= 0x01;
	}
	CHECK(rejected == n, "every single-bit change of the ticket is refused (%d of %ld)", rejected, n);
	bad = enc_b64url(raw, (size_t)n - 1);
	CHECK(portal_ticket_open(&a, bad, 1900000000, &o) == PORTAL_TICKET_EINVAL, "truncated ticket refused");
	g_free(bad);
	CHECK(portal_ticket_open(&a, "", 0, &o) == PORTAL_TICKET_EINVAL &&
	      portal_ticket_open(&a, "!!!!", 0, &o) == PORTAL_TICKET_EINVAL &&
	      portal_ticket_open(&a, "../../etc/passwd", 0, &o) == PORTAL_TICKET_EINVAL,
		"garbage tickets refused");
	{
		char *big = g_strnfill(5000, 'A');

		CHECK(portal_ticket_open(&a, big, 0, &o) == PORTAL_TICKET_EINVAL, "overlong ticket refused");
		g_free(big);
	}
	t.index = PORTAL_TICKET_ALL;
	t.name[0] = '\0';
	g_free(s);
	s = portal_ticket_seal(&a, &t);
	CHECK(portal_ticket_open(&a, s, 0, &o) == PORTAL_TICKET_OK && o.index == PORTAL_TICKET_ALL &&
	      o.name[0] == '\0', "ticket for all files round trip");
	memset(t.name, 'n', PORTAL_TICKET_NAME_MAX);
	t.name[PORTAL_TICKET_NAME_MAX] = '\0';
	g_free(s);
	s = portal_ticket_seal(&a, &t);
	CHECK(s && portal_ticket_open(&a, s, 0, &o) == PORTAL_TICKET_OK && strlen(o.name) == PORTAL_TICKET_NAME_MAX,
		"255-byte name fits (%zu chars)", s ? strlen(s) : 0);
	g_free(s);
	g_free(s2);
}

/* ---- ticket test vectors (docs/FORMATS.md §4) --------------------------- */

#define TV_ID "offloadtestvectorid23456"
#define TV_NOT_AFTER 1702592000
#define TV_KEYID "54655a43bb453fdd"      /* ticket key 80..9f */
#define TV_PREV_KEYID "4d75d244edd259a4" /* previous key a0..bf */
#define TV_KTICKET "8fad7f70363b2d3cf45a6fa08bb68e299e81c3586ac4b78ffa1a1aa8a82f24d0"
#define TV_TK "1aa9847b8c343429ebee52fba7998c5b27ff6494ae92eeb082b2bb11835a6dd4"
#define TV_FILE "AVTQ0dLT1NXW19jZ2ttTFHYVgbDogNfdj3Za94wVYeerPXeMinjufWwAwQX1-5G_V7KkucuSCfv095p7en0HcSs" \
	"Qdk_krO7cjJzMUMbhnnLhjW5OZWgiIvA3x52oJkhmuTA4winJOyZxunBFaVRPqzuUZ_wIvg"
#define TV_ALL "AVTQ0dLT1NXW19jZ2ttTFHYVgbDogNfdj3Za94wVYeerPXeMinjugpP_PQX1-5G_V7KuucuSCfv095ph0vt_-Roi" \
	"WKwD9B53GB6YZyiXGchmdcnUzskovbdEDJc6Qd4dX445fO3s47r-6irB"
#define TV_PREV "AU3Q0dLT1NXW19jZ2ttXR6LQYT_BRVUk-je9j_RCaZ-jWYhO8lndRrXu6EioTMEM0NQ1EGSDXOI6U5xMP9MJAUoC" \
	"NNqSykKfmCFDcn1ULgVBfxxdzlUUcKoD1Eln5wLdTJhi1vilhDwgEqJYaRa4pwmbtR2euw"

/* doc_has - docs/FORMATS.md contains the string (keeps doc and test in step) */
static bool
doc_has(const char *doc, const char *s)
{
	return doc != NULL && strstr(doc, s) != NULL;
}

static char *
formats_doc(void)
{
	char *path = g_build_filename(unit_srcdir(), "docs", "FORMATS.md", NULL);
	char *doc = NULL;

	if (!g_file_get_contents(path, &doc, NULL, NULL))
		doc = NULL;
	CHECK(doc != NULL, "docs/FORMATS.md is readable (%s)", path);
	g_free(path);
	return doc;
}

/* key_from - key bytes b0, b0+1, ... with the key id of keys.h:
 * SHA-256("offload key id" || key)[0..8] in hex */
static void
key_from(struct key32 *k, unsigned char b0)
{
	unsigned char in[14 + 32], d[32];
	char *h;
	int i;

	for (i = 0; i < 32; i++)
		k->key[i] = (unsigned char)(b0 + i);
	memcpy(in, "offload key id", 14);
	memcpy(in + 14, k->key, 32);
	crypto_sha256(in, sizeof in, d);
	h = enc_hex(d, 8);
	memcpy(k->id, h, 17);
	g_free(h);
}

/* tv_ticket - the vectors' file ticket (or the ticket for all files) */
static void
tv_ticket(struct portal_ticket *t, bool all)
{
	int i;

	memset(t, 0, sizeof *t);
	memcpy(t->id, TV_ID, sizeof TV_ID);
	t->not_after = TV_NOT_AFTER;
	if (all) {
		t->index = PORTAL_TICKET_ALL;
		t->size = 0;
		enc_hex_decode(TV_TK, t->key, 32);
	} else {
		t->index = 3;
		t->size = 10;
		for (i = 0; i < 32; i++)
			t->key[i] = (unsigned char)i;
		g_strlcpy(t->name, "report.pdf", sizeof t->name);
	}
}

/* craft - a ticket sealed under K_ticket as FORMATS.md §4 specifies, with
 * an arbitrary plaintext (independent of portal_ticket.c's sealing code) */
static char *
craft(const unsigned char kt[32], unsigned char kid, const unsigned char *pt, size_t ptlen)
{
	unsigned char buf[512], aad[19];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, i;
	char *s;

	buf[0] = 1;
	buf[1] = kid;
	for (i = 0; i < 12; i++)
		buf[2 + i] = (unsigned char)(0xd0 + i);
	memcpy(aad, "offload v1 ticket", 17);
	aad[17] = 1;
	aad[18] = kid;
	EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kt, buf + 2);
	EVP_EncryptUpdate(ctx, NULL, &n, aad, sizeof aad);
	EVP_EncryptUpdate(ctx, buf + 14, &n, pt, (int)ptlen);
	EVP_EncryptFinal_ex(ctx, buf + 14 + n, &n);
	EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, buf + 14 + ptlen);
	EVP_CIPHER_CTX_free(ctx);
	s = enc_b64url(buf, 14 + ptlen + 16);
	return s;
}

static void
test_ticket_vectors(void)
{
	/* byte ranges of the file ticket's fields (FORMATS.md §4, 118 bytes) */
	static const struct { const char *field; size_t off, len; } fields[] = {
		{ "version", 0, 1 }, { "kid", 1, 1 }, { "nonce", 2, 12 },
		{ "purpose", 14, 1 }, { "transfer id", 15, 24 }, { "file index", 39, 4 },
		{ "size", 43, 8 }, { "not-after", 51, 8 }, { "key", 59, 32 },
		{ "name length", 91, 1 }, { "name", 92, 10 }, { "tag", 102, 16 },
	};
	struct key32 cur, prev, other;
	struct portal_ticket_keys kc, kcp, kp, ko;
	struct portal_ticket t, o;
	unsigned char nonce[PORTAL_TICKET_NONCE_LEN], raw[200], kt[32], pt[78 + 10];
	char *doc = formats_doc(), *s, *hex, *bad;
	size_t i, j;
	long n;

	for (i = 0; i < sizeof nonce; i++)
		nonce[i] = (unsigned char)(0xd0 + i);
	key_from(&cur, 0x80);
	key_from(&prev, 0xa0);
	key_from(&other, 0x81);
	CHECK(strcmp(cur.id, TV_KEYID) == 0 && strcmp(prev.id, TV_PREV_KEYID) == 0 &&
	      doc_has(doc, TV_KEYID) && doc_has(doc, TV_PREV_KEYID),
		"ticket vector key ids (kid bytes 0x54, 0x4d) match and are documented");
	portal_ticket_keys_init(&kc, &cur, NULL);
	portal_ticket_keys_init(&kcp, &cur, &prev);
	portal_ticket_keys_init(&kp, &prev, NULL);
	portal_ticket_keys_init(&ko, &other, NULL);
	hex = enc_hex(kc.k[0], 32);
	CHECK(strcmp(hex, TV_KTICKET) == 0 && doc_has(doc, TV_KTICKET) && kc.kid[0] == 0x54 &&
	      kcp.kid[1] == 0x4d, "K_ticket = HKDF(key, \"\", \"offload v1 portal ticket\"), documented");
	g_free(hex);

	tv_ticket(&t, false);
	s = portal_ticket_seal_v1_fixed(&kc, &t, nonce);
	CHECK(s != NULL && strcmp(s, TV_FILE) == 0 && doc_has(doc, TV_FILE),
		"ticket vector (file) sealed byte-exactly and documented");
	g_free(s);
	tv_ticket(&t, true);
	s = portal_ticket_seal_v1_fixed(&kc, &t, nonce);
	CHECK(s != NULL && strcmp(s, TV_ALL) == 0 && doc_has(doc, TV_ALL),
		"ticket vector (all files, TK) sealed byte-exactly and documented");
	g_free(s);
	tv_ticket(&t, false);
	s = portal_ticket_seal_v1_fixed(&kp, &t, nonce);
	CHECK(s != NULL && strcmp(s, TV_PREV) == 0 && doc_has(doc, TV_PREV),
		"ticket vector (previous key) sealed byte-exactly and documented");
	g_free(s);

	CHECK(portal_ticket_open(&kc, TV_FILE, TV_NOT_AFTER, &o) == PORTAL_TICKET_OK &&
	      strcmp(o.id, TV_ID) == 0 && o.index == 3 && o.size == 10 && o.not_after == TV_NOT_AFTER &&
	      memcmp(o.key, t.key, 32) == 0 && strcmp(o.name, "report.pdf") == 0,
		"vector (file) opens at not-after with every field");
	CHECK(portal_ticket_open(&kc, TV_ALL, 0, &o) == PORTAL_TICKET_OK &&
	      o.index == PORTAL_TICKET_ALL && o.size == 0 && o.name[0] == '\0',
		"vector (all) opens");
	CHECK(portal_ticket_open(&kc, TV_FILE, TV_NOT_AFTER + 1, &o) == PORTAL_TICKET_EEXPIRED &&
	      o.not_after == TV_NOT_AFTER, "vector one second after not-after: expired");
	CHECK(portal_ticket_open(&kcp, TV_PREV, 0, &o) == PORTAL_TICKET_OK &&
	      portal_ticket_open(&kp, TV_PREV, 0, &o) == PORTAL_TICKET_OK &&
	      portal_ticket_open(&kc, TV_PREV, 0, &o) == PORTAL_TICKET_EINVAL,
		"vector (previous key): opens with it as previous or current key, not without it");
	CHECK(portal_ticket_open(&ko, TV_FILE, 0, &o) == PORTAL_TICKET_EINVAL &&
	      portal_ticket_open(&kp, TV_FILE, 0, &o) == PORTAL_TICKET_EINVAL,
		"vector under a wrong key: refused");

	/* one flipped byte in each field */
	n = enc_b64url_decode(TV_FILE, raw, sizeof raw);
	CHECK(n == 118, "vector (file) is 118 bytes");
	for (i = 0; n == 118 && i < G_N_ELEMENTS(fields); i++) {
		int refused = 0;

		for (j = fields[i].off; j < fields[i].off + fields[i].len; j++) {
			raw[j] ^= 0x80;
			bad = enc_b64url(raw, (size_t)n);
			if (portal_ticket_open(&kcp, bad, 0, &o) == PORTAL_TICKET_EINVAL &&
			    o.id[0] == '\0')
				refused++;
			g_free(bad);
			raw[j] ^= 0x80;
		}
		CHECK(refused == (int)fields[i].len, "ticket: each flipped %s byte refused (%d of %zu)",
			fields[i].field, refused, fields[i].len);
	}

	/* authentic (correct tag) but not acceptable plaintexts */
	memcpy(kt, kc.k[0], 32);
	pt[0] = 'd';
	memcpy(pt + 1, TV_ID, 24);
	memset(pt + 25, 0, 4);
	pt[28] = 3;
	memset(pt + 29, 0, 8);
	pt[36] = 10;
	memset(pt + 37, 0, 8);
	pt[45 - 1] = 1;
	for (i = 0; i < 32; i++)
		pt[45 + i] = (unsigned char)i;
	pt[77] = 10;
	memcpy(pt + 78, "report.pdf", 10);
	s = craft(kt, 0x54, pt, sizeof pt);
	CHECK(portal_ticket_open(&kc, s, 0, &o) == PORTAL_TICKET_OK && o.not_after == 1 &&
	      strcmp(o.name, "report.pdf") == 0, "crafted ticket (independent sealing) opens");
	g_free(s);
	pt[0] = 'u';
	s = craft(kt, 0x54, pt, sizeof pt);
	CHECK(portal_ticket_open(&kc, s, 0, &o) == PORTAL_TICKET_EINVAL, "authentic ticket of another purpose refused");
	g_free(s);
	pt[0] = 'd';
	pt[77] = 9;
	s = craft(kt, 0x54, pt, sizeof pt);
	CHECK(portal_ticket_open(&kc, s, 0, &o) == PORTAL_TICKET_EINVAL, "authentic ticket with a wrong name length refused");
	g_free(s);
	pt[77] = 10;
	pt[1] = 'A';
	s = craft(kt, 0x54, pt, sizeof pt);
	CHECK(portal_ticket_open(&kc, s, 0, &o) == PORTAL_TICKET_EINVAL && o.id[0] == '\0',
		"authentic ticket with a transfer id outside the alphabet refused");
	g_free(s);
	pt[1] = 'o';
	s = craft(kt, 0x4d, pt, sizeof pt);
	CHECK(portal_ticket_open(&kc, s, 0, &o) == PORTAL_TICKET_EINVAL,
		"kid of no configured key: refused (the kid selects the key)");
	g_free(s);
	s = craft(kt, 0x54, pt, 77);
	CHECK(portal_ticket_open(&kc, s, 0, &o) == PORTAL_TICKET_EINVAL, "authentic ticket shorter than 78 bytes refused");
	g_free(s);

	portal_ticket_keys_wipe(&kc);
	portal_ticket_keys_wipe(&kcp);
	portal_ticket_keys_wipe(&kp);
	portal_ticket_keys_wipe(&ko);
	g_free(doc);
}

/* ---- version 2 ticket vectors (docs/FORMATS.md §4.4) -------------------- */

#define TV2_K "9abad72dfb44f51b9956b8c18076920b62584dac62b95844161c47d4798f7c7e"
#define TV2_FILE "AlTg4eLj5OXm5-jp6uvs7e7v0NHS09TV1tfY2drbi2sOuP8gcY_TrCBH97vDPHx_fLVJCwsQ_QVcFEjTQjFbaeSCjYI" \
	"a8f43pk4jjSVdLX7SfTNCSBOeVTxcsUU4fjT15atHxfz0VRXnsNrZV3LfBPjLgfEixOFfJ3qlVZt1gmb0xce6LAEEuw"
#define TV2_PART "AlTg4eLj5OXm5-jp6uvs7e7v0NHS09TV1tfY2drbi2sOuP8gcY_TrCBH97vDPHx_fLVJCwsQ_QVcFEjTQDFbaeSCjYI" \
	"a8f43pk4jjSVdLX7SfTNCSBOeVTxcsUU4fjT15atHxfz0VRXnsNrZV3LfBPjLgfEixOFfoDpFT47nyNGBw5VDlyTQ8w"
#define TV2_ALL "AlTg4eLj5OXm5-jp6uvs7e7v0NHS09TV1tfY2drbi2sOuP8gcY_TrCBH97vDPHx_fLVJCwsQ_fqj67TTQjFbaeSCjYI" \
	"Q8f43pk4jjSVHhfiq9QJwZvB5Dcz3JcdsSdqDYhHAPVtu_rTtL52qnHjg4LV5W_T-D394ntrLQ-Ag"
#define TV2_PREV "Ak3g4eLj5OXm5-jp6uvs7e7v0NHS09TV1tfY2drbRdY427Yqjbk14N4KwcVxcghTq7iKAVvTjPo3uXzIEj0qyNzKte" \
	"flEtFAGcy49Sjxj7wP9TczMSPMq4m6VfDGOmxDLAD6EOj-t5x5xoqOQ1ce_unpiVxVY6SOtkt_gIwj2OlwyeZI6b7bYw"

static void
test_ticket_v2_vectors(void)
{
	static const struct { const char *text; bool all, prev; uint16_t part; } tv[] = {
		{ TV2_FILE, false, false, 0 }, { TV2_PART, false, false, 2 },
		{ TV2_ALL, true, false, 0 }, { TV2_PREV, false, true, 0 },
	};
	struct key32 cur, prev;
	struct portal_ticket_keys kc, kcp, kp;
	struct portal_ticket t, o;
	unsigned char salt[PORTAL_TICKET_SALT_LEN], nonce[PORTAL_TICKET_NONCE_LEN], raw[200], k[32];
	char *doc = formats_doc(), *s, *hex;
	size_t i, j;
	long n;
	int refused = 0;

	for (i = 0; i < sizeof nonce; i++)
		nonce[i] = (unsigned char)(0xd0 + i);
	for (i = 0; i < sizeof salt; i++)
		salt[i] = (unsigned char)(0xe0 + i);
	key_from(&cur, 0x80);
	key_from(&prev, 0xa0);
	portal_ticket_keys_init(&kc, &cur, NULL);
	portal_ticket_keys_init(&kcp, &cur, &prev);
	portal_ticket_keys_init(&kp, &prev, NULL);
	crypto_hkdf(cur.key, 32, salt, sizeof salt, "offload v2 portal ticket", 24, k, 32);
	hex = enc_hex(k, 32);
	CHECK(strcmp(hex, TV2_K) == 0 && doc_has(doc, TV2_K),
		"v2: K = HKDF(ticket_key, salt, \"offload v2 portal ticket\"), documented");
	g_free(hex);
	for (i = 0; i < G_N_ELEMENTS(tv); i++) {
		tv_ticket(&t, tv[i].all);
		t.part = tv[i].part;
		s = portal_ticket_seal_fixed(tv[i].prev ? &kp : &kc, &t, salt, nonce);
		CHECK(s != NULL && strcmp(s, tv[i].text) == 0 && doc_has(doc, tv[i].text),
			"v2 ticket vector %zu sealed byte-exactly and documented", i);
		g_free(s);
		CHECK(portal_ticket_open(&kcp, tv[i].text, TV_NOT_AFTER, &o) == PORTAL_TICKET_OK &&
		      strcmp(o.id, TV_ID) == 0 && o.index == t.index && o.part == t.part && o.size == t.size &&
		      o.not_after == TV_NOT_AFTER && memcmp(o.key, t.key, 32) == 0 && strcmp(o.name, t.name) == 0,
			"v2 ticket vector %zu opens with every field", i);
		CHECK(portal_ticket_open(tv[i].prev ? &kc : &kp, tv[i].text, 0, &o) == PORTAL_TICKET_EINVAL,
			"v2 ticket vector %zu refused without its key", i);
	}
	CHECK(portal_ticket_open(&kc, TV2_FILE, TV_NOT_AFTER + 1, &o) == PORTAL_TICKET_EEXPIRED,
		"v2 vector one second after not-after: expired");
	CHECK(portal_ticket_open(&kc, TV_FILE, 0, &o) == PORTAL_TICKET_OK && o.part == 0 && o.index == 3,
		"a version 1 ticket still opens (part 0)");
	n = enc_b64url_decode(TV2_FILE, raw, sizeof raw);
	CHECK(n == 136, "v2 vector (file) is 136 bytes");
	for (j = 0; n == 136 && j < (size_t)n; j++) {
		raw[j] ^= 0x01;
		s = enc_b64url(raw, (size_t)n);
		if (portal_ticket_open(&kcp, s, 0, &o) == PORTAL_TICKET_EINVAL && o.id[0] == '\0')
			refused++;
		g_free(s);
		raw[j] ^= 0x01;
	}
	CHECK(refused == n, "v2: each changed byte (version, kid, salt, nonce, ciphertext, tag) refused (%d of %ld)",
		refused, n);
	raw[0] = 0x01; /* a v2 body relabelled as version 1 */
	s = enc_b64url(raw, (size_t)n);
	CHECK(portal_ticket_open(&kcp, s, 0, &o) == PORTAL_TICKET_EINVAL, "v2 ticket relabelled as v1 refused");
	g_free(s);
	crypto_wipe(k, sizeof k);
	portal_ticket_keys_wipe(&kc);
	portal_ticket_keys_wipe(&kcp);
	portal_ticket_keys_wipe(&kp);
	g_free(doc);
}

/* ---- ranges ------------------------------------------------------------- */

static void
test_range(void)
{
	static const struct {
		const char *h;
		uint64_t size;
		int want;
		uint64_t start, len;
	} cases[] = {
		{ NULL, 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=0-99", 100, PORTAL_RANGE_OK, 0, 100 },
		{ "bytes=0-0", 100, PORTAL_RANGE_OK, 0, 1 },
		{ "bytes=10-19", 100, PORTAL_RANGE_OK, 10, 10 },
		{ "bytes=10-1000", 100, PORTAL_RANGE_OK, 10, 90 },
		{ "bytes=50-", 100, PORTAL_RANGE_OK, 50, 50 },
		{ "bytes=99-", 100, PORTAL_RANGE_OK, 99, 1 },
		{ "bytes=-10", 100, PORTAL_RANGE_OK, 90, 10 },
		{ "bytes=-1000", 100, PORTAL_RANGE_OK, 0, 100 },
		{ "Bytes = 5 - 6", 100, PORTAL_RANGE_OK, 5, 2 },
		{ "bytes=100-", 100, PORTAL_RANGE_UNSAT, 0, 0 },
		{ "bytes=100-200", 100, PORTAL_RANGE_UNSAT, 0, 0 },
		{ "bytes=-0", 100, PORTAL_RANGE_UNSAT, 0, 0 },
		{ "bytes=0-", 0, PORTAL_RANGE_UNSAT, 0, 0 },
		{ "bytes=-5", 0, PORTAL_RANGE_UNSAT, 0, 0 },
		{ "bytes=20-10", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=0-1,5-6", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=-", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=a-b", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "items=0-5", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes 0-5", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=0-5x", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=--5", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=99999999999999999999999-", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=0-99999999999999999999999", 100, PORTAL_RANGE_NONE, 0, 0 },
		{ "bytes=18446744073709551615-", 100, PORTAL_RANGE_UNSAT, 0, 0 },
		{ "bytes=0-18446744073709551615", 100, PORTAL_RANGE_OK, 0, 100 },
		{ "bytes=65536-131071", 200000, PORTAL_RANGE_OK, 65536, 65536 },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint64_t s = 777, l = 777;
		int r = portal_range_parse(cases[i].h, cases[i].size, &s, &l);

		CHECK(r == cases[i].want && (r != PORTAL_RANGE_OK || (s == cases[i].start && l == cases[i].len)),
			"Range '%s' on %llu bytes -> %d [%llu,+%llu] (got %d [%llu,+%llu])",
			cases[i].h ? cases[i].h : "(none)", (unsigned long long)cases[i].size, cases[i].want,
			(unsigned long long)cases[i].start, (unsigned long long)cases[i].len, r,
			(unsigned long long)s, (unsigned long long)l);
	}
}

/* ---- ZIP ---------------------------------------------------------------- */

struct msrc {
	const GPtrArray *data; /* GBytes * */
};

struct mh {
	GBytes *b;
	size_t pos;
};

static void *
m_open(void *arg, uint32_t index, uint64_t size)
{
	struct msrc *m = arg;
	struct mh *h = g_new0(struct mh, 1);

	h->b = g_ptr_array_index((GPtrArray *)m->data, index);
	(void)size;
	return h;
}

static long
m_read(void *hp, void *buf, size_t max)
{
	struct mh *h = hp;
	size_t len;
	const unsigned char *d = g_bytes_get_data(h->b, &len);
	size_t k = MIN(max, len - h->pos);

	memcpy(buf, d + h->pos, k);
	h->pos += k;
	return (long)k;
}

static void
m_close(void *hp)
{
	g_free(hp);
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void
test_zip(void)
{
	const char *names[] = { "../../etc/passwd", "a.txt", "a.txt", ".hidden", "", "dir\\x:y.bin" };
	uint64_t sizes[G_N_ELEMENTS(names)];
	GPtrArray *data = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	struct msrc m = { data };
	struct portal_zip_source src = { m_open, m_read, m_close, &m };
	struct portal_zip *z;
	GByteArray *out = g_byte_array_new();
	unsigned char buf[777], *eocd, *cd;
	size_t i, found = 0;
	long n;
	bool crc_ok = true;
	const char *want[] = { "passwd", "a.txt", "a-2.txt", "hidden", "file-5", "x_y.bin" };

	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		size_t len = i == 4 ? 0 : 1000 * (i + 1) + 70000 * (i == 1);
		unsigned char *d = g_malloc(len + 1);

		crypto_random(d, len + 1);
		sizes[i] = len;
		g_ptr_array_add(data, g_bytes_new_take(d, len));
	}
	z = portal_zip_new(names, sizes, G_N_ELEMENTS(names), 1700000000, &src);
	while ((n = portal_zip_read(z, buf, sizeof buf)) > 0)
		g_byte_array_append(out, buf, (guint)n);
	CHECK(n == 0, "ZIP streams to the end");
	CHECK(out->len == portal_zip_size(z), "ZIP size announced in advance is exact (%u vs %llu)",
		out->len, (unsigned long long)portal_zip_size(z));
	eocd = out->data + out->len - 22;
	CHECK(out->len > 22 && rd32(eocd) == 0x06054b50 && rd16(eocd + 10) == G_N_ELEMENTS(names),
		"end of central directory with %zu entries", G_N_ELEMENTS(names));
	cd = out->data + rd32(eocd + 16);
	for (i = 0; i < G_N_ELEMENTS(names) && rd32(cd) == 0x02014b50; i++) {
		uint16_t nl = rd16(cd + 28), xl = rd16(cd + 30), cl = rd16(cd + 32);
		uint32_t crc = rd32(cd + 16), off = rd32(cd + 42);
		size_t len;
		const unsigned char *d = g_bytes_get_data(g_ptr_array_index(data, i), &len);
		uint16_t lnl = rd16(out->data + off + 26), lxl = rd16(out->data + off + 28);

		if (nl == strlen(want[i]) && memcmp(cd + 46, want[i], nl) == 0)
			found++;
		if (crc != (uint32_t)crc32(0, d, (uInt)len) || rd32(cd + 24) != len ||
		    rd32(out->data + off) != 0x04034b50 ||
		    memcmp(out->data + off + 30 + lnl + lxl, d, len) != 0 ||
		    rd32(out->data + off + 30 + lnl + lxl + len) != 0x08074b50 ||
		    rd32(out->data + off + 30 + lnl + lxl + len + 4) != crc)
			crc_ok = false;
		CHECK((rd16(cd + 8) & 0x0808) == 0x0808, "member %zu flagged data descriptor + UTF-8", i);
		cd += 46 + nl + xl + cl;
	}
	CHECK(found == G_N_ELEMENTS(names), "member names sanitised and unique (%zu of %zu)", found,
		G_N_ELEMENTS(names));
	CHECK(crc_ok, "every member: local header, stored data, descriptor CRC and sizes match");
	portal_zip_free(z);
	/* a member shorter than declared makes the stream fail */
	sizes[1] += 1;
	z = portal_zip_new(names, sizes, G_N_ELEMENTS(names), 0, &src);
	while ((n = portal_zip_read(z, buf, sizeof buf)) > 0)
		;
	CHECK(n < 0, "member shorter than its declared size fails the ZIP");
	portal_zip_free(z);
	{
		/* ZIP64 arithmetic without the data: sizes alone */
		const char *bn[] = { "big.bin", "small.bin" };
		uint64_t bs[] = { 5000000000ULL, 10 };

		z = portal_zip_new(bn, bs, 2, 0, &src);
		CHECK(portal_zip_size(z) == (30 + 7 + 20) + 5000000000ULL + 24 + (30 + 9) + 10 + 16 +
			(46 + 7 + 20) + (46 + 9 + 12) + 56 + 20 + 22,
			"ZIP64 layout for a 5 GB member (extra fields, 24-byte descriptor, ZIP64 end records)");
		portal_zip_free(z);
	}
	g_byte_array_free(out, TRUE);
	g_ptr_array_free(data, TRUE);
}

/* ---- headers, addresses, language ---------------------------------------- */

static void
test_misc(void)
{
	char *cd = portal_content_disposition("Grüße \"x\";\r\n.pdf");
	char *e = portal_html_escape("<script>&\"'");
	char *v4[] = { "10.0.0.0/8", "192.0.2.1", NULL }, *v6[] = { "2001:db8::/32", NULL }, *r;

	CHECK(strcmp(cd, "attachment; filename=\"Gr__e _x_;__.pdf\"; "
		"filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22x%22%3B%0D%0A.pdf") == 0,
		"Content-Disposition: ASCII fallback + RFC 5987 encoding (%s)", cd);
	CHECK(strcmp(e, "&lt;script&gt;&amp;&quot;&#39;") == 0, "HTML escaping");
	CHECK(portal_cidr_match("10.1.2.3", v4) && portal_cidr_match("192.0.2.1", v4) &&
	      !portal_cidr_match("192.0.2.2", v4) && !portal_cidr_match("11.0.0.1", v4) &&
	      portal_cidr_match("2001:db8::1", v6) && !portal_cidr_match("2001:db9::1", v6) &&
	      !portal_cidr_match("garbage", v4), "trusted proxy CIDR matching");
	r = portal_log_redact("Failed to send the response body for the request for `/d/AlTg4e-_x9'. Error: x /d/ /d/q");
	CHECK(strcmp(r, "Failed to send the response body for the request for `/d/[ticket]'. Error: x /d/[ticket] "
		"/d/[ticket]") == 0, "libmicrohttpd messages: tickets redacted (%s)", r);
	g_free(r);
	CHECK(portal_lang_pick(NULL, NULL) == PORTAL_LANG_DE &&
	      portal_lang_pick(NULL, "en-US,en;q=0.9") == PORTAL_LANG_EN &&
	      portal_lang_pick(NULL, "fr, en;q=0.5, de;q=0.8") == PORTAL_LANG_DE &&
	      portal_lang_pick(NULL, "fr") == PORTAL_LANG_DE &&
	      portal_lang_pick("en", "de") == PORTAL_LANG_EN && portal_lang_pick("de", "en") == PORTAL_LANG_DE,
		"language: ?lang= wins, then Accept-Language with q-values, German default");
	g_free(cd);
	g_free(e);
}

/* ---- transfer: ranges, tampering, passwords, tombstones ------------------ */

static int
collect(void *arg, const void *buf, size_t len)
{
	g_byte_array_append(arg, buf, (guint)len);
	return 0;
}

static void
object_flip(struct storage *st, const char *key, uint64_t off)
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
test_transfer(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct key32 dk;
	struct transfer *t, *o;
	struct transfer_upload *u;
	GError *err = NULL;
	char *kpath = g_build_filename(unit_tmpdir(), "dk.key", NULL);
	const size_t N = 3 * 65536 + 1234;
	unsigned char *data = g_malloc(N);
	static const struct { uint64_t off, len; } rg[] = {
		{ 0, 3 * 65536 + 1234 }, { 0, 1 }, { 65535, 2 }, { 65536, 65536 }, { 65537, 100 },
		{ 3 * 65536, 1234 }, { 3 * 65536 + 1233, 1 }, { 100, 3 * 65536 }, { 196608 + 1234, 0 },
		{ 131072, 0 },
	};
	int e = 0, ok = 0;
	size_t i;
	const char *pw;
	char key[64];

	crypto_random(data, N);
	c.backend = "memory";
	st = storage_open(&c, &err);
	CHECK(st != NULL && keys_load(kpath, &dk, &err) == 0, "memory store and deployment key");
	t = transfer_new(st, 1700000000, 3600);
	u = transfer_upload_begin(t, "r.bin", NULL, &e);
	CHECK(u && transfer_upload_write(u, data, N) == 0 && transfer_upload_commit(u) == 0, "file uploaded");
	pw = transfer_set_password(t);
	CHECK(pw && strlen(pw) == TRANSFER_PASSWORD_TEXT_LEN && pw[4] == '-' && pw[9] == '-' && pw[14] == '-',
		"generated password has the form xxxx-xxxx-xxxx-xxxx (%s)", pw ? pw : "");
	{
		bool alpha = true;

		for (i = 0; pw && pw[i]; i++)
			if (pw[i] != '-' && strchr(TRANSFER_PASSWORD_ALPHABET, pw[i]) == NULL)
				alpha = false;
		CHECK(alpha && strchr(TRANSFER_PASSWORD_ALPHABET, '0') == NULL &&
		      strchr(TRANSFER_PASSWORD_ALPHABET, 'l') == NULL && strchr(TRANSFER_PASSWORD_ALPHABET, '1') == NULL,
			"password uses the unambiguous alphabet only (16 x log2(31) = 79 bits)");
	}
	CHECK(transfer_commit(t, &dk) == 0, "password transfer committed");
	o = transfer_open(st, &dk, t->id, t->secret, &err);
	CHECK(o == NULL, "password transfer does not open without the password");
	g_clear_error(&err);
	o = transfer_open_pw(st, &dk, t->id, t->secret, "wrong-pass-word-xxxx", &err);
	CHECK(o == NULL && err != NULL, "wrong password refused");
	g_clear_error(&err);
	{
		char *upper = g_ascii_strup(pw, -1), *nodash = transfer_password_normalise(pw);

		o = transfer_open_pw(st, &dk, t->id, t->secret, upper, &err);
		CHECK(o != NULL, "password accepted upper-case (normalised)");
		transfer_free(o);
		o = transfer_open_pw(st, &dk, t->id, t->secret, nodash, &err);
		CHECK(o != NULL && strchr(nodash, '-') == NULL, "password accepted without separators");
		g_free(upper);
		g_free(nodash);
	}
	CHECK(o && o->files->len == 1, "opened transfer lists its file");
	for (i = 0; o && i < G_N_ELEMENTS(rg); i++) {
		GByteArray *out = g_byte_array_new();
		int rc = transfer_read_range(o, 0, rg[i].off, rg[i].len, collect, out, &err);

		CHECK(rc == 0 && out->len == rg[i].len &&
		      (rg[i].len == 0 || memcmp(out->data, data + rg[i].off, rg[i].len) == 0),
			"range [%llu,+%llu) reads back byte-exact", (unsigned long long)rg[i].off,
			(unsigned long long)rg[i].len);
		g_clear_error(&err);
		g_byte_array_free(out, TRUE);
	}
	CHECK(o && transfer_read_range(o, 0, N, 1, collect, NULL, &err) != 0, "range past the end refused");
	g_clear_error(&err);
	/* tamper with segment 2 (bytes [131072, 196608) of plaintext) */
	snprintf(key, sizeof key, "%s/0", t->id);
	object_flip(st, key, envelope_segment_offset(2) + 10);
	{
		GByteArray *out = g_byte_array_new();

		CHECK(o && transfer_read_range(o, 0, 0, 131072, collect, out, &err) == 0 && out->len == 131072,
			"segments before the damaged one still read");
		g_clear_error(&err);
		g_byte_array_set_size(out, 0);
		CHECK(o && transfer_read_range(o, 0, 0, N, collect, out, &err) != 0 && out->len == 131072,
			"whole read fails at the damaged segment; only verified segments were released (%u bytes)",
			out->len);
		g_clear_error(&err);
		g_byte_array_set_size(out, 0);
		CHECK(o && transfer_read_range(o, 0, 131072 + 5, 10, collect, out, &err) != 0 && out->len == 0,
			"range inside the damaged segment: nothing released");
		g_clear_error(&err);
		g_byte_array_set_size(out, 0);
		CHECK(o && transfer_read_range(o, 0, 196608, 1234, collect, out, &err) == 0 && out->len == 1234,
			"range after the damaged segment (last segment, flag checked) reads");
		g_clear_error(&err);
		g_byte_array_free(out, TRUE);
	}
	/* truncation at a segment boundary: the last-segment flag catches it */
	{
		GByteArray *a = g_byte_array_new(), *out = g_byte_array_new();
		struct storage_put *p;
		int rc;

		storage_get(st, key, 0, STORAGE_TO_END, collect, a);
		p = storage_put_begin(st, key, 0, &e);
		storage_put_write(p, a->data, (size_t)envelope_segment_offset(3));
		storage_put_commit(p);
		rc = transfer_read_range(o, 0, 196608, 1234, collect, out, &err);
		CHECK(rc != 0 && out->len == 0, "object cut before its last segment: ranged read fails closed");
		g_clear_error(&err);
		g_byte_array_free(a, TRUE);
		g_byte_array_free(out, TRUE);
	}
	/* tombstones */
	CHECK(transfer_tombstone_read(st, &dk, t->id, NULL, NULL) == 0, "no tombstone yet");
	CHECK(transfer_tombstone_write(st, &dk, t->id, 1700000100, 1700003600) == 0, "tombstone written");
	{
		int64_t ra = 0, ex = 0;

		CHECK(transfer_tombstone_read(st, &dk, t->id, &ra, &ex) == 1 && ra == 1700000100 && ex == 1700003600,
			"tombstone reads back (revoked at, expires)");
	}
	snprintf(key, sizeof key, "%s/t", t->id);
	object_flip(st, key, 35);
	CHECK(transfer_tombstone_read(st, &dk, t->id, NULL, NULL) == 0, "tombstone with a bad MAC is ignored");
	{
		unsigned char h1[32], h2[32];

		ok = transfer_password_hash(t->id, "abcd-efgh", TRANSFER_KDF_M_MIN, 1, 1, h1) == 0 &&
		     transfer_password_hash(t->id, "ABCDEFGH", TRANSFER_KDF_M_MIN, 1, 1, h2) == 0 &&
		     memcmp(h1, h2, 32) == 0;
		CHECK(ok, "normalisation: 'abcd-efgh' and 'ABCDEFGH' hash the same");
		CHECK(transfer_password_hash(t->id, "x", 1024, 3, 4, h1) != 0 &&
		      transfer_password_hash(t->id, "x", 4u << 20, 3, 4, h1) != 0 &&
		      transfer_password_hash(t->id, "x", 65536, 100, 4, h1) != 0,
			"Argon2id parameters below the floor or above the ceiling are refused");
	}
	transfer_free(o);
	transfer_free(t);
	storage_free(st);
	g_free(kpath);
	g_free(data);
}

/* ---- revocation: secret, hash in the header, one revoke path ------------- */

static int
list_keys(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)size;
	(void)mtime;
	g_ptr_array_add(arg, g_strdup(key));
	return 0;
}

static void
test_revoke(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct key32 dk;
	struct transfer *t, *t2;
	struct transfer_upload *u;
	struct envelope_header h, h2;
	GByteArray *obj = NULL, *obj2 = NULL;
	GPtrArray *keys;
	GError *err = NULL;
	char *kpath = g_build_filename(unit_tmpdir(), "dk-revoke.key", NULL);
	char id[ENVELOPE_ID_TEXT_LEN + 1], sec[ENVELOPE_SECRET_TEXT_LEN + 1], prefix[32], *link;
	unsigned char raw[20];
	enum transfer_revoke_step step = TRANSFER_REVOKE_FILES;
	unsigned deleted = 99;
	int64_t ra = 0, ex = 0;
	int e = 0, n;

	c.backend = "memory";
	st = storage_open(&c, &err);
	CHECK(st != NULL && keys_load(kpath, &dk, &err) == 0, "revoke: memory store and deployment key");
	t = transfer_new(st, 1700000000, 3600);
	t2 = transfer_new(st, 1700000000, 3600);
	CHECK(strlen(t->revoke_secret) == ENVELOPE_SECRET_TEXT_LEN &&
	      enc_b64url_decode(t->revoke_secret, raw, sizeof raw) == 16 &&
	      strcmp(t->revoke_secret, t->secret) != 0 && strcmp(t->revoke_secret, t2->revoke_secret) != 0,
		"revoke secret: 22 base64url characters (128 bits), random, not the link secret");
	link = transfer_revoke_link(t, "https://files.example.test");
	CHECK(g_str_has_prefix(link, "https://files.example.test/r/") && strstr(link, t->id) != NULL &&
	      g_str_has_suffix(link, t->revoke_secret) && strchr(link, '#') != NULL,
		"revoke link <portal>/r/<id>#<revoke secret> (%s)", link);
	CHECK(transfer_parse_revoke_link(link, id, sec) == 0 && strcmp(id, t->id) == 0 &&
	      strcmp(sec, t->revoke_secret) == 0, "revoke link parses back to id and secret");
	CHECK(transfer_parse_link(link, id, sec) != 0, "a revoke link is not a download link");
	g_free(link);
	for (n = 0; n < 2; n++) {
		u = transfer_upload_begin(t, n ? "b.txt" : "a.txt", NULL, &e);
		CHECK(u && transfer_upload_write(u, "hello", 5) == 0 && transfer_upload_commit(u) == 0,
			"revoke: file %d uploaded", n);
	}
	u = transfer_upload_begin(t2, "c.txt", NULL, &e);
	CHECK(u && transfer_upload_write(u, "x", 1) == 0 && transfer_upload_commit(u) == 0 &&
	      transfer_commit(t, &dk) == 0 && transfer_commit(t2, &dk) == 0, "revoke: two transfers committed");
	CHECK(transfer_get_manifest(st, t->id, &obj) == 0 && transfer_get_manifest(st, t2->id, &obj2) == 0 &&
	      envelope_manifest_header(obj->data, obj->len, dk.key, &h) == 0 &&
	      envelope_manifest_header(obj2->data, obj2->len, dk.key, &h2) == 0,
		"revoke: both clear headers verify");
	CHECK(transfer_revoke_check(&h, t->revoke_secret), "revoke check: the transfer's revoke secret matches");
	CHECK(!transfer_revoke_check(&h, t->secret) && !transfer_revoke_check(&h, t2->revoke_secret) &&
	      !transfer_revoke_check(&h2, t->revoke_secret) && !transfer_revoke_check(&h, NULL) &&
	      !transfer_revoke_check(&h, "") && !transfer_revoke_check(&h, "AAAAAAAAAAAAAAAAAAAAA") &&
	      !transfer_revoke_check(NULL, t->revoke_secret),
		"revoke check refuses the link secret, another transfer's revoke secret, malformed input");
	{
		char flip[ENVELOPE_SECRET_TEXT_LEN + 1];

		g_strlcpy(flip, t->revoke_secret, sizeof flip);
		flip[0] = flip[0] == 'A' ? 'B' : 'A';
		CHECK(!transfer_revoke_check(&h, flip), "revoke check: one character changed -> refused");
	}
	/* the one revoke path */
	CHECK(transfer_revoke(st, &dk, t->id, false, 1700000100, h.expires, &step, &deleted) == 0 &&
	      step == TRANSFER_REVOKE_DONE && deleted == 5,
		"transfer_revoke: tombstone, manifest, 2 file objects, sender view and state deleted (%u)",
		deleted);
	CHECK(transfer_tombstone_read(st, &dk, t->id, &ra, &ex) == 1 && ra == 1700000100 && ex == h.expires,
		"transfer_revoke: tombstone carries revoked-at and the transfer's expiry");
	keys = g_ptr_array_new_with_free_func(g_free);
	snprintf(prefix, sizeof prefix, "%s/", t->id);
	storage_list(st, prefix, list_keys, keys);
	CHECK(keys->len == 1 && g_str_has_suffix(g_ptr_array_index(keys, 0), "/t"),
		"transfer_revoke: only the tombstone is left (%u objects)", keys->len);
	g_ptr_array_set_size(keys, 0);
	snprintf(prefix, sizeof prefix, "%s/", t2->id);
	storage_list(st, prefix, list_keys, keys);
	CHECK(keys->len == 4, "transfer_revoke: the other transfer is untouched (m, 1 file, s, x)");
	CHECK(transfer_revoke(st, &dk, t->id, true, 1700000200, h.expires, &step, &deleted) == 0 &&
	      step == TRANSFER_REVOKE_DONE && deleted == 0 &&
	      transfer_tombstone_read(st, &dk, t->id, &ra, NULL) == 1 && ra == 1700000100,
		"transfer_revoke again: idempotent, tombstone kept as first written");
	CHECK(transfer_revoke(st, &dk, "../etc", false, 1, 1, &step, NULL) != 0 &&
	      step == TRANSFER_REVOKE_TOMBSTONE, "transfer_revoke: malformed id refused, nothing written");
	g_ptr_array_free(keys, TRUE);
	g_byte_array_free(obj, TRUE);
	g_byte_array_free(obj2, TRUE);
	transfer_free(t);
	transfer_free(t2);
	storage_free(st);
	keys_wipe(&dk);
	g_free(kpath);
}

/* ---- the revoke page ------------------------------------------------------ */

static void
test_revoke_page(void)
{
	struct conf c = { 0 };
	char *de = portal_page_revoke(&c, PORTAL_LANG_DE, "abcdefghijklmnopqrstuvwx", 1700000000,
		1702592000, PORTAL_REVOKE_LIVE);
	char *en = portal_page_revoke(&c, PORTAL_LANG_EN, "abcdefghijklmnopqrstuvwx", 1700000000,
		1702592000, PORTAL_REVOKE_LIVE);
	char *gone = portal_page_revoke(&c, PORTAL_LANG_EN, "abcdefghijklmnopqrstuvwx", 0, 0,
		PORTAL_REVOKE_REVOKED);

	CHECK(strstr(de, "<html lang=\"de\">") && strstr(de, "Übertragung zurückziehen") &&
	      strstr(de, "id=\"confirm\"") && strstr(de, "src=\"/static/revoke.js\"") &&
	      strstr(de, "id=\"code\"") && strstr(de, "/r/abcdefghijklmnopqrstuvwx?lang=en"),
		"revoke page (de): title, confirm button, script from /static, code field, language switch");
	CHECK(strstr(en, "<html lang=\"en\">") && strstr(en, "Revoke now") && strstr(en, "2023"),
		"revoke page (en): button and expiry year");
	CHECK(!strstr(de, "<script>") && !strstr(de, "style=") && !strstr(en, "<script>") &&
	      !strstr(de, "onclick"), "revoke page: no inline script or style");
	CHECK(strstr(gone, "Already revoked") && !strstr(gone, "id=\"confirm\"") && !strstr(gone, "<script"),
		"revoke page for a revoked transfer: says so, no button, no script");
	CHECK(strstr(portal_revoke_js, "location.hash") && strstr(portal_revoke_js, "history.replaceState") &&
	      strstr(portal_revoke_js, "'POST'") && strstr(portal_revoke_js, "JSON.stringify({ secret: s })"),
		"revoke.js: reads the fragment, removes it, POSTs the secret in the body");
	g_free(de);
	g_free(en);
	g_free(gone);
}

int
main(void)
{
	test_ticket();
	test_ticket_vectors();
	test_ticket_v2_vectors();
	test_range();
	test_zip();
	test_misc();
	test_transfer();
	test_revoke();
	test_revoke_page();
	return unit_done();
}
