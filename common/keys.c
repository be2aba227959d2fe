/*
 * keys.c - 32-byte key files (deployment key, portal ticket key).
 * Format: 64 hex characters and a newline. A missing file is created
 * exclusively, mode 0600 (parent directory 0700 when missing), so two
 * processes starting at once end up with the same key.
 * Memory: the key lives in the caller's struct key32; keys_wipe() clears it.
 * Temporary buffers holding key material are wiped before return.
 * Thread safety: no shared state.
 */
#include "keys.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "fdio.h"
#include "encoding.h"
#include "log.h"

#define KEYS_HEX_LEN (2 * KEYS_LEN)
#define KEYS_ID_LABEL "offload key id"

static GQuark
keys_quark(void)
{
	return g_quark_from_static_string("offload-keys");
}

/* keys_make_id - hex of the first 8 bytes of SHA-256("offload key id" || key) */
static void
keys_make_id(struct key32 *k)
{
	unsigned char in[sizeof KEYS_ID_LABEL - 1 + KEYS_LEN];
	unsigned char md[CRYPTO_SHA256_LEN];
	char *hex;

	memcpy(in, KEYS_ID_LABEL, sizeof KEYS_ID_LABEL - 1);
	memcpy(in + sizeof KEYS_ID_LABEL - 1, k->key, KEYS_LEN);
	crypto_sha256(in, sizeof in, md);
	hex = enc_hex(md, KEYS_ID_LEN / 2);
	memcpy(k->id, hex, KEYS_ID_LEN);
	k->id[KEYS_ID_LEN] = '\0';
	g_free(hex);
	crypto_wipe(in, sizeof in);
}

/*
 * keys_create - create path with a fresh random key. 0 created, 1 the file
 * appeared meanwhile (caller reads it), -1 error (*err set).
 * The key is written to a private temporary file (O_CREAT|O_EXCL, 0600 via
 * mkostemp) and linked into place with link(2), which fails with EEXIST
 * like O_EXCL does, so no reader ever sees a half-written key file.
 */
static int
keys_create(const char *path, GError **err)
{
	unsigned char key[KEYS_LEN];
	char *dir = g_path_get_dirname(path);
	char *tmp = g_strconcat(path, ".new-XXXXXX", NULL);
	char *hex = NULL;
	char line[KEYS_HEX_LEN + 1];
	int fd = -1, rc = -1;
	bool linked_tmp = false;

	if (g_mkdir_with_parents(dir, 0700) < 0) {
		g_set_error(err, keys_quark(), 1, "key file %s: cannot create directory %s: %s",
			path, dir, g_strerror(errno));
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		g_set_error(err, keys_quark(), 1, "key file %s: cannot create: %s", path, g_strerror(errno));
		goto out;
	}
	linked_tmp = true;
	if (fchmod(fd, 0600) < 0) {
		g_set_error(err, keys_quark(), 1, "key file %s: cannot create: %s", path, g_strerror(errno));
		goto out;
	}
	if (crypto_random(key, sizeof key) < 0) {
		g_set_error(err, keys_quark(), 1, "key file %s: no random bytes", path);
		goto out;
	}
	hex = enc_hex(key, sizeof key);
	memcpy(line, hex, KEYS_HEX_LEN);
	line[KEYS_HEX_LEN] = '\n';
	if (fdio_write_all(fd, line, sizeof line) < 0 || fsync(fd) < 0) {
		g_set_error(err, keys_quark(), 1, "key file %s: cannot write: %s", path, g_strerror(errno));
		goto out;
	}
	if (link(tmp, path) < 0) {
		if (errno == EEXIST) {
			rc = 1;
			goto out;
		}
		g_set_error(err, keys_quark(), 1, "key file %s: cannot create: %s", path, g_strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (linked_tmp)
		unlink(tmp);
	if (hex != NULL) {
		crypto_wipe(hex, KEYS_HEX_LEN);
		g_free(hex);
	}
	crypto_wipe(line, sizeof line);
	crypto_wipe(key, sizeof key);
	g_free(tmp);
	g_free(dir);
	return rc;
}

/* keys_read - read and parse an existing key file; 0, -1 (*err) or -2 ENOENT */
static int
keys_read(const char *path, struct key32 *out, GError **err)
{
	char buf[KEYS_HEX_LEN + 8];
	size_t len = 0, i;
	struct stat st;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -2;
		g_set_error(err, keys_quark(), 1, "key file %s: cannot open: %s", path, g_strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		g_set_error(err, keys_quark(), 1, "key file %s: not a regular file", path);
		goto out;
	}
	/* root:offload 0640 (offloadctl keygen) is the packaged layout */
	if (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO))
		log_warning("key file %s is accessible by others or writable by its group (mode %04o); run chmod 640 %s",
			path, (unsigned)(st.st_mode & 07777), path);
	while (len < sizeof buf) {
		ssize_t n = read(fd, buf + len, sizeof buf - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(err, keys_quark(), 1, "key file %s: cannot read: %s", path, g_strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* exactly 64 hex characters, then an optional newline (CRLF tolerated) */
	if (len > KEYS_HEX_LEN && buf[len - 1] == '\n')
		len--;
	if (len > KEYS_HEX_LEN && buf[len - 1] == '\r')
		len--;
	if (len != KEYS_HEX_LEN) {
		g_set_error(err, keys_quark(), 1,
			"key file %s: expected 64 hex characters and a newline", path);
		goto out;
	}
	for (i = 0; i < KEYS_HEX_LEN; i++) {
		if (!g_ascii_isxdigit(buf[i])) {
			g_set_error(err, keys_quark(), 1,
				"key file %s: expected 64 hex characters and a newline", path);
			goto out;
		}
		buf[i] = g_ascii_tolower(buf[i]);
	}
	buf[KEYS_HEX_LEN] = '\0';
	if (enc_hex_decode(buf, out->key, KEYS_LEN) < 0) {
		g_set_error(err, keys_quark(), 1, "key file %s: invalid hex", path);
		goto out;
	}
	keys_make_id(out);
	rc = 0;
out:
	crypto_wipe(buf, sizeof buf);
	close(fd);
	return rc;
}

int
keys_load(const char *path, struct key32 *out, GError **err)
{
	int rc, tries;

	memset(out, 0, sizeof *out);
	if (path == NULL || *path == '\0') {
		g_set_error(err, keys_quark(), 1, "key file: no path configured");
		return -1;
	}
	for (tries = 0; tries < 3; tries++) {
		rc = keys_read(path, out, err);
		if (rc != -2)
			break;
		rc = keys_create(path, err);
		if (rc < 0)
			break;
		if (rc == 0) {
			rc = keys_read(path, out, err);
			if (rc == 0)
				log_info("created key file %s (key id %s)", path, out->id);
			break;
		}
		/* rc == 1: another process created it between our read and create */
	}
	if (rc != 0) {
		if (rc > 0 || rc == -2)
			g_set_error(err, keys_quark(), 1, "key file %s: cannot create", path);
		keys_wipe(out);
		return -1;
	}
	return 0;
}

void
keys_wipe(struct key32 *k)
{
	if (k != NULL)
		crypto_wipe(k, sizeof *k);
}
