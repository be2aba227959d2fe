/*
 * encoding.c - lower-case hex, base64url without padding (RFC 4648 §5) and
 * lower-case base32 without padding (RFC 4648 §6 alphabet, lower-cased).
 *
 * Memory: encoders return g_malloc'ed, NUL-terminated strings (caller
 * g_free's them); decoders write into caller buffers and never write past
 * the given capacity. Decoders are strict: any character outside the
 * alphabet, padding, an impossible length or non-zero unused trailing bits
 * is rejected with -1, so every value has exactly one accepted text form.
 * Thread-safe (no state).
 */
#include "encoding.h"

#include <glib.h>
#include <string.h>

static const char enc_hexdigits[] = "0123456789abcdef";
static const char enc_b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char enc_b32chars[] = "abcdefghijklmnopqrstuvwxyz234567";

char *
enc_hex(const unsigned char *buf, size_t len)
{
	char *s = g_malloc(len * 2 + 1);
	size_t i;

	for (i = 0; i < len; i++) {
		s[2 * i] = enc_hexdigits[buf[i] >> 4];
		s[2 * i + 1] = enc_hexdigits[buf[i] & 0x0f];
	}
	s[len * 2] = '\0';
	return s;
}

/* enc_hexval - value of one hex digit (either case), -1 if none */
static int
enc_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
enc_hex_decode(const char *s, unsigned char *out, size_t outlen)
{
	size_t i;

	if (s == NULL || strlen(s) != outlen * 2)
		return -1;
	for (i = 0; i < outlen; i++) {
		int hi = enc_hexval(s[2 * i]);
		int lo = enc_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

char *
enc_b64url(const unsigned char *buf, size_t len)
{
	char *s = g_malloc(len / 3 * 4 + 4 + 1);
	size_t i, o = 0;

	for (i = 0; i + 3 <= len; i += 3) {
		unsigned long v = (unsigned long)buf[i] << 16 | (unsigned long)buf[i + 1] << 8 | buf[i + 2];

		s[o++] = enc_b64chars[v >> 18 & 63];
		s[o++] = enc_b64chars[v >> 12 & 63];
		s[o++] = enc_b64chars[v >> 6 & 63];
		s[o++] = enc_b64chars[v & 63];
	}
	if (len - i == 1) {
		unsigned long v = (unsigned long)buf[i] << 16;

		s[o++] = enc_b64chars[v >> 18 & 63];
		s[o++] = enc_b64chars[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned long v = (unsigned long)buf[i] << 16 | (unsigned long)buf[i + 1] << 8;

		s[o++] = enc_b64chars[v >> 18 & 63];
		s[o++] = enc_b64chars[v >> 12 & 63];
		s[o++] = enc_b64chars[v >> 6 & 63];
	}
	s[o] = '\0';
	return s;
}

static int
enc_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* enc_bits_decode - the shared loop of the strict base64url and base32 decoders: WIDTH bits
 * per character from VAL, big-endian; canonical form: the unused low bits of the last
 * character must be zero. The callers check their alphabet's length rules first. */
static long
enc_bits_decode(const char *s, size_t slen, int width, int (*val)(char), unsigned char *out)
{
	size_t i, o = 0;
	unsigned long acc = 0;
	int bits = 0;

	for (i = 0; i < slen; i++) {
		int v = val(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << width | (unsigned long)v) & 0xffffff;
		bits += width;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits > 0 && (acc & ((1ul << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

long
enc_b64url_decode(const char *s, unsigned char *out, size_t outcap)
{
	size_t slen, outlen;

	if (s == NULL)
		return -1;
	slen = strlen(s);
	if (slen % 4 == 1 || slen > (size_t)G_MAXLONG / 2)
		return -1;
	outlen = slen / 4 * 3 + (slen % 4 ? slen % 4 - 1 : 0);
	if (outlen > outcap)
		return -1;
	return enc_bits_decode(s, slen, 6, enc_b64val, out);
}

char *
enc_base32(const unsigned char *buf, size_t len)
{
	char *s = g_malloc((len + 4) / 5 * 8 + 1);
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8 | buf[i]) & 0xffff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			s[o++] = enc_b32chars[acc >> bits & 31];
		}
	}
	if (bits > 0)
		s[o++] = enc_b32chars[acc << (5 - bits) & 31];
	s[o] = '\0';
	return s;
}

static int
enc_b32val(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

long
enc_base32_decode(const char *s, unsigned char *out, size_t outcap)
{
	size_t slen, outlen;

	if (s == NULL)
		return -1;
	slen = strlen(s);
	/* 8 characters carry 5 bytes; a final group of 1, 3 or 6 is impossible */
	switch (slen % 8) {
	case 1: case 3: case 6:
		return -1;
	default:
		break;
	}
	if (slen > (size_t)G_MAXLONG / 2)
		return -1;
	outlen = slen / 8 * 5 + slen % 8 * 5 / 8;
	if (outlen > outcap)
		return -1;
	return enc_bits_decode(s, slen, 5, enc_b32val, out);
}
