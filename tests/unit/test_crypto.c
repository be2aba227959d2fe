/*
 * test_crypto.c - common/crypto.c and common/encoding.c against published
 * vectors (RFC 5869, RFC 4231, FIPS 180-2, RFC 4648) plus round trips and
 * strict rejection of malformed encodings.
 */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "unit.h"

/* hexeq - buf equals the lower-case hex string */
static bool
hexeq(const unsigned char *buf, size_t len, const char *hex)
{
	char *h = enc_hex(buf, len);
	bool eq = strcmp(h, hex) == 0;

	if (!eq)
		printf("# got      %s\n# expected %s\n", h, hex);
	g_free(h);
	return eq;
}

static void
test_sha256(void)
{
	unsigned char out[32];
	struct crypto_sha256_ctx *c;
	static const char *abc_hex =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char *two_block =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	crypto_sha256("abc", 3, out);
	CHECK(hexeq(out, 32, abc_hex), "SHA-256(\"abc\") (FIPS 180-2 B.1)");
	crypto_sha256("", 0, out);
	CHECK(hexeq(out, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
		"SHA-256(\"\")");
	c = crypto_sha256_new();
	crypto_sha256_update(c, "a", 1);
	crypto_sha256_update(c, "", 0);
	crypto_sha256_update(c, "bc", 2);
	crypto_sha256_final(c, out);
	CHECK(hexeq(out, 32, abc_hex), "streaming SHA-256 in pieces equals one-shot");
	crypto_sha256(two_block, strlen(two_block), out);
	CHECK(hexeq(out, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
		"SHA-256 two-block message (FIPS 180-2 B.2)");
	crypto_sha256_free(NULL);
	c = crypto_sha256_new();
	crypto_sha256_free(c); /* free without final: no leak under ASan */
	CHECK(true, "crypto_sha256_free(NULL) and free-without-final are safe");
}

static void
test_hmac(void)
{
	unsigned char out[32], key[20];
	const char *msg = "what do ya want for nothing?";

	crypto_hmac_sha256((const unsigned char *)"Jefe", 4, msg, strlen(msg), out);
	CHECK(hexeq(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
		"HMAC-SHA-256 RFC 4231 test case 2");
	memset(key, 0x0b, sizeof key);
	crypto_hmac_sha256(key, sizeof key, "Hi There", 8, out);
	CHECK(hexeq(out, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
		"HMAC-SHA-256 RFC 4231 test case 1");
}

static void
test_hkdf(void)
{
	unsigned char ikm[22], salt[13], info[10], okm[42], okm2[42];
	size_t i;

	memset(ikm, 0x0b, sizeof ikm);
	for (i = 0; i < sizeof salt; i++)
		salt[i] = (unsigned char)i;
	for (i = 0; i < sizeof info; i++)
		info[i] = (unsigned char)(0xf0 + i);
	CHECK(crypto_hkdf(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm, 42) == 0,
		"HKDF RFC 5869 case 1 derives");
	CHECK(hexeq(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
		"34007208d5b887185865"), "HKDF-SHA-256 RFC 5869 test case 1 OKM");
	/* RFC 5869 case 3: empty salt and info */
	CHECK(crypto_hkdf(ikm, sizeof ikm, NULL, 0, NULL, 0, okm2, 42) == 0,
		"HKDF RFC 5869 case 3 derives");
	CHECK(hexeq(okm2, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
		"9d201395faa4b61a96c8"), "HKDF-SHA-256 RFC 5869 test case 3 (no salt, no info)");
	CHECK(crypto_hkdf(ikm, sizeof ikm, NULL, 0, NULL, 0, okm2, 0) != 0,
		"HKDF with zero output length is rejected");
	CHECK(crypto_hkdf(ikm, sizeof ikm, NULL, 0, NULL, 0, okm2, 255 * 32 + 1) != 0,
		"HKDF with output length > 255*HashLen is rejected");
}

static void
test_misc(void)
{
	unsigned char a[32] = { 0 }, b[32] = { 0 }, r1[32], r2[32];

	CHECK(crypto_memeq(a, b, sizeof a) == 1, "memeq: equal buffers");
	b[31] = 1;
	CHECK(crypto_memeq(a, b, sizeof a) == 0, "memeq: last byte differs");
	CHECK(crypto_random(r1, sizeof r1) == 0 && crypto_random(r2, sizeof r2) == 0,
		"crypto_random succeeds");
	CHECK(memcmp(r1, r2, sizeof r1) != 0, "two random draws differ");
	crypto_wipe(r1, sizeof r1);
	CHECK(crypto_memeq(r1, a, sizeof a), "crypto_wipe zeroes the buffer");
	crypto_wipe(NULL, 0);
}

struct enc_vec {
	const char *raw, *b64, *b32;
};

static void
test_encoding_vectors(void)
{
	/* RFC 4648 §10 (base32 lower-cased, base64 without padding) */
	static const struct enc_vec v[] = {
		{ "", "", "" },
		{ "f", "Zg", "my" },
		{ "fo", "Zm8", "mzxq" },
		{ "foo", "Zm9v", "mzxw6" },
		{ "foob", "Zm9vYg", "mzxw6yq" },
		{ "fooba", "Zm9vYmE", "mzxw6ytb" },
		{ "foobar", "Zm9vYmFy", "mzxw6ytboi" },
	};
	unsigned char buf[16];
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(v); i++) {
		size_t n = strlen(v[i].raw);
		char *b64 = enc_b64url((const unsigned char *)v[i].raw, n);
		char *b32 = enc_base32((const unsigned char *)v[i].raw, n);
		long d;

		CHECK(strcmp(b64, v[i].b64) == 0, "base64url(\"%s\") = \"%s\"", v[i].raw, b64);
		CHECK(strcmp(b32, v[i].b32) == 0, "base32(\"%s\") = \"%s\"", v[i].raw, b32);
		d = enc_b64url_decode(v[i].b64, buf, sizeof buf);
		CHECK(d == (long)n && memcmp(buf, v[i].raw, n) == 0, "base64url decode \"%s\"",
			v[i].b64);
		d = enc_base32_decode(v[i].b32, buf, sizeof buf);
		CHECK(d == (long)n && memcmp(buf, v[i].raw, n) == 0, "base32 decode \"%s\"",
			v[i].b32);
		g_free(b64);
		g_free(b32);
	}
	{
		static const unsigned char u[] = { 0xfb, 0xff };
		static const unsigned char f[] = { 0xff, 0xff, 0xff };
		char *s1 = enc_b64url(u, sizeof u), *s2 = enc_b64url(f, sizeof f);
		char *h = enc_hex(u, sizeof u);

		CHECK(strcmp(s1, "-_8") == 0, "base64url uses '-' and '_' (got %s)", s1);
		CHECK(strcmp(s2, "____") == 0, "base64url of ff ff ff is ____");
		CHECK(strcmp(h, "fbff") == 0, "hex is lower case");
		g_free(s1);
		g_free(s2);
		g_free(h);
	}
}

static void
test_encoding_roundtrip(void)
{
	unsigned char raw[70], back[70];
	size_t len;
	int bad = 0;

	for (len = 0; len <= 64; len++) {
		char *h, *b, *t;

		if (crypto_random(raw, len) != 0)
			bad++;
		h = enc_hex(raw, len);
		b = enc_b64url(raw, len);
		t = enc_base32(raw, len);
		if (strlen(h) != 2 * len || enc_hex_decode(h, back, len) != 0 ||
			memcmp(raw, back, len) != 0)
			bad++;
		if (enc_b64url_decode(b, back, sizeof back) != (long)len ||
			memcmp(raw, back, len) != 0)
			bad++;
		if (enc_base32_decode(t, back, sizeof back) != (long)len ||
			memcmp(raw, back, len) != 0)
			bad++;
		/* exact capacity works, one byte less fails */
		if (len > 0 && (enc_b64url_decode(b, back, len) != (long)len ||
			enc_b64url_decode(b, back, len - 1) != -1 ||
			enc_base32_decode(t, back, len) != (long)len ||
			enc_base32_decode(t, back, len - 1) != -1))
			bad++;
		g_free(h);
		g_free(b);
		g_free(t);
	}
	CHECK(bad == 0, "hex/base64url/base32 round trips for lengths 0..64 (%d bad)", bad);
}

static void
test_encoding_invalid(void)
{
	static const char *bad_hex[] = { "0", "0g", "zz", "000", " 00", "0x" };
	static const char *bad_b64[] = {
		"Z",        /* length % 4 == 1 */
		"Zg=",      /* padding */
		"Zg==",     /* padding */
		"Zh",       /* non-zero unused bits */
		"Zm+v",     /* '+' is standard base64, not base64url */
		"Zm/v",
		"Zm9 v",
		"Zm9v\n",
	};
	static const char *bad_b32[] = {
		"m",        /* impossible lengths 1, 3, 6 (mod 8) */
		"mzx",
		"mzxw6y",
		"MY",       /* upper case is not our alphabet */
		"mz",       /* non-zero unused bits */
		"m1",       /* '1' is not in the alphabet */
		"m8",
		"my=",
		"my======",
	};
	unsigned char out[32];
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bad_hex); i++)
		CHECK(enc_hex_decode(bad_hex[i], out, 1) == -1, "hex rejects \"%s\"", bad_hex[i]);
	CHECK(enc_hex_decode("00ff", out, 1) == -1, "hex decode demands the exact length");
	CHECK(enc_hex_decode("A0fF", out, 2) == 0 && out[0] == 0xa0 && out[1] == 0xff,
		"hex decode accepts either case");
	CHECK(enc_hex_decode(NULL, out, 1) == -1, "hex decode of NULL fails");
	for (i = 0; i < G_N_ELEMENTS(bad_b64); i++) {
		char *esc = g_strescape(bad_b64[i], NULL);

		CHECK(enc_b64url_decode(bad_b64[i], out, sizeof out) == -1,
			"base64url rejects \"%s\"", esc);
		g_free(esc);
	}
	for (i = 0; i < G_N_ELEMENTS(bad_b32); i++)
		CHECK(enc_base32_decode(bad_b32[i], out, sizeof out) == -1,
			"base32 rejects \"%s\"", bad_b32[i]);
	CHECK(enc_b64url_decode(NULL, out, sizeof out) == -1 &&
		enc_base32_decode(NULL, out, sizeof out) == -1, "decoders reject NULL");
}

int
main(void)
{
	test_sha256();
	test_hmac();
	test_hkdf();
	test_misc();
	test_encoding_vectors();
	test_encoding_roundtrip();
	test_encoding_invalid();
	return unit_done();
}
