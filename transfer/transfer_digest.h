/*
 * transfer_digest.h - what binds the X-Offload-Transfer header to the
 * message as sent (FORMATS.md §3.1): the line-end-independent body digest
 * and the header MAC over Message-ID, transfer id and that digest.
 */
#ifndef OFFLOAD_TRANSFER_DIGEST_H
#define OFFLOAD_TRANSFER_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"

/* Body digest (FORMATS.md §3.1): SHA-256 over a message body (the bytes
 * after the header block) with every CRLF or bare LF counted as one LF and
 * all line ends at the very end dropped, so the digest survives CRLF<->LF
 * conversion and a transport adding or dropping the final line end. A CR
 * not followed by LF stays. Streamed: feed the body in pieces of any size. */
#define TRANSFER_BODY_DIGEST_LEN 32
struct crypto_sha256_ctx;
struct body_digest {
	struct crypto_sha256_ctx *h;
	uint64_t lf;  /* line ends held back: they may be the trailing ones */
	bool cr;      /* a CR held back: CRLF or a bare CR */
};
void body_digest_init(struct body_digest *d);
void body_digest_update(struct body_digest *d, const void *buf, size_t len);
void body_digest_final(struct body_digest *d, unsigned char out[32]); /* frees d->h */
/* body_digest_file - the digest of path from offset to the end; 0 or -1
 * (errno set) */
int body_digest_file(const char *path, uint64_t offset, unsigned char out[32]);

/* transfer_header_mac - the mac= of X-Offload-Transfer over Message-ID,
 * transfer id and the body digest of the message as sent (22 chars
 * base64url, FORMATS.md §3.1) with the deployment key */
char *transfer_header_mac(const struct key32 *dk, const char *message_id, const char *id,
	const unsigned char body[32]);
/* transfer_header_mac_check - true when mac (the text after "mac=") starts
 * with exactly transfer_header_mac(dk, message_id, id, body), compared in
 * constant time, followed by the end, ';' or white space (FORMATS.md §3.1) */
bool transfer_header_mac_check(const struct key32 *dk, const char *message_id, const char *id,
	const unsigned char body[32], const char *mac);

#endif
