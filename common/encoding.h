/*
 * encoding.h - text encodings of binary values: lower-case hex, base64url
 * without padding (RFC 4648 §5), lower-case base32 without padding
 * (RFC 4648 §6 alphabet, lower-cased). All outputs are NUL-terminated and
 * g_malloc'ed; decoders return -1 on any invalid character or length.
 */
#ifndef OFFLOAD_ENCODING_H
#define OFFLOAD_ENCODING_H

#include <stddef.h>

char *enc_hex(const unsigned char *buf, size_t len);
int enc_hex_decode(const char *s, unsigned char *out, size_t outlen); /* exact length */
char *enc_b64url(const unsigned char *buf, size_t len);
/* enc_b64url_decode - decodes into out (capacity outcap), returns bytes or -1 */
long enc_b64url_decode(const char *s, unsigned char *out, size_t outcap);
char *enc_base32(const unsigned char *buf, size_t len);
long enc_base32_decode(const char *s, unsigned char *out, size_t outcap);

#endif
