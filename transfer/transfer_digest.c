/*
 * transfer_digest.c - body digest and header MAC (see transfer_digest.h).
 */
#include "transfer_digest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "encoding.h"

/* ---- body digest (FORMATS.md §3.1) ----------------------------------- */

static void
body_digest_flush_lf(struct body_digest *d)
{
	static const char lfs[] = "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n";

	while (d->lf > 0) {
		size_t n = d->lf < sizeof lfs - 1 ? (size_t)d->lf : sizeof lfs - 1;

		crypto_sha256_update(d->h, lfs, n);
		d->lf -= n;
	}
}

void
body_digest_init(struct body_digest *d)
{
	d->h = crypto_sha256_new();
	d->lf = 0;
	d->cr = false;
}

void
body_digest_update(struct body_digest *d, const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;

	while (p < end) {
		const unsigned char *q = p;

		if (d->cr) {
			d->cr = false;
			if (*p == '\n') {      /* CRLF: one line end */
				d->lf++;
				p++;
				continue;
			}
			body_digest_flush_lf(d);  /* a bare CR is content */
			crypto_sha256_update(d->h, "\r", 1);
		}
		if (*p == '\r') {
			d->cr = true;
			p++;
			continue;
		}
		if (*p == '\n') {
			d->lf++;
			p++;
			continue;
		}
		/* a run of content bytes: the held-back line ends were not trailing */
		while (q < end && *q != '\r' && *q != '\n')
			q++;
		body_digest_flush_lf(d);
		crypto_sha256_update(d->h, p, (size_t)(q - p));
		p = q;
	}
}

void
body_digest_final(struct body_digest *d, unsigned char out[32])
{
	if (d->cr) {
		body_digest_flush_lf(d);
		crypto_sha256_update(d->h, "\r", 1);
	}
	/* line ends at the very end are dropped */
	crypto_sha256_final(d->h, out);
	d->h = NULL;
	d->lf = 0;
	d->cr = false;
}

int
body_digest_file(const char *path, uint64_t offset, unsigned char out[32])
{
	struct body_digest d;
	unsigned char *buf;
	FILE *f = fopen(path, "rb");
	size_t n;
	int e;

	if (f == NULL)
		return -1;
	if (fseeko(f, (off_t)offset, SEEK_SET) != 0) {
		e = errno;
		fclose(f);
		errno = e;
		return -1;
	}
	buf = g_malloc(256 * 1024);
	body_digest_init(&d);
	while ((n = fread(buf, 1, 256 * 1024, f)) > 0)
		body_digest_update(&d, buf, n);
	body_digest_final(&d, out);
	e = ferror(f) ? EIO : 0;
	g_free(buf);
	fclose(f);
	if (e != 0) {
		crypto_wipe(out, 32);
		errno = e;
		return -1;
	}
	return 0;
}

/* ---- header MAC (FORMATS.md §3.1, §3.5) ------------------------------ */

char *
transfer_header_mac(const struct key32 *dk, const char *message_id, const char *id,
	const unsigned char body[32])
{
	unsigned char k[32], mac[32];
	GString *msg = g_string_new(message_id ? message_id : "");
	char *s;

	crypto_hkdf(dk->key, sizeof dk->key, NULL, 0, "offload v2 transfer header", 26, k, sizeof k);
	g_string_append_c(msg, '\0');
	g_string_append(msg, id);
	g_string_append_c(msg, '\0');
	g_string_append_len(msg, (const char *)body, TRANSFER_BODY_DIGEST_LEN);
	crypto_hmac_sha256(k, sizeof k, msg->str, msg->len, mac);
	s = enc_b64url(mac, 16);
	crypto_wipe(k, sizeof k);
	g_string_free(msg, TRUE);
	return s;
}

bool
transfer_header_mac_check(const struct key32 *dk, const char *message_id, const char *id,
	const unsigned char body[32], const char *mac)
{
	char *want;
	size_t n;
	bool ok;

	if (mac == NULL || id == NULL || body == NULL)
		return false;
	want = transfer_header_mac(dk, message_id, id, body);
	n = strlen(want);
	/* the whole token: exactly 22 characters, then the end, ';' or white space */
	ok = strnlen(mac, n) == n && crypto_memeq(mac, want, n) &&
		(mac[n] == '\0' || mac[n] == ';' || g_ascii_isspace(mac[n]));
	g_free(want);
	return ok;
}

