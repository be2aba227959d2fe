/*
 * audit_seal.c - forward-secure sealing of the audit log (offload.conf(5)
 * AUDIT LOG, as journald's FSS): `offloadctl audit keygen` draws a random
 * 32-byte seed, shows it once and keeps only epoch key 0 in the state file;
 *   K_0     = SHA-256("offload audit v1 key" || seed)
 *   K_(i+1) = SHA-256("offload audit v1 evolve" || K_i)
 * A seal line of epoch i carries mac = HMAC-SHA-256(K_i, the line up to and
 * including "mac=" (kv) or "\"mac\":\"" (json) || its chain value); after
 * it the writer replaces K_i by K_(i+1) in place in the state file, so
 * someone who takes the gateway later cannot seal anything as an earlier
 * epoch. The verifier derives every K_i from the seed.
 * The state file (<audit path>.state, 512 bytes of text "name value"
 * lines, rewritten in place so an old key is overwritten) also holds the
 * rotation state (audit_rotate.c). It is locked (flock) before the log.
 * Memory: keys are wiped when a state is closed.
 */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "encoding.h"
#include "log.h"

#define AUDIT_STATE_SIZE 512
#define AUDIT_STATE_MAGIC "offload audit state v1"
#define AUDIT_OWNER "offload"

void
audit_seal_key0(const unsigned char seed[AUDIT_KEY_LEN], unsigned char key[AUDIT_KEY_LEN])
{
	static const char label[] = "offload audit v1 key";
	unsigned char buf[sizeof label - 1 + AUDIT_KEY_LEN];

	memcpy(buf, label, sizeof label - 1);
	memcpy(buf + sizeof label - 1, seed, AUDIT_KEY_LEN);
	crypto_sha256(buf, sizeof buf, key);
	crypto_wipe(buf, sizeof buf);
}

void
audit_seal_evolve(unsigned char key[AUDIT_KEY_LEN])
{
	static const char label[] = "offload audit v1 evolve";
	unsigned char buf[sizeof label - 1 + AUDIT_KEY_LEN];

	memcpy(buf, label, sizeof label - 1);
	memcpy(buf + sizeof label - 1, key, AUDIT_KEY_LEN);
	crypto_sha256(buf, sizeof buf, key);
	crypto_wipe(buf, sizeof buf);
}

void
audit_seal_mac(const unsigned char key[AUDIT_KEY_LEN], const char *prefix, size_t plen,
	const char *chain, char out[AUDIT_MAC_HEX + 1])
{
	GString *msg = g_string_new_len(prefix, (gssize)plen);
	unsigned char mac[CRYPTO_SHA256_LEN];
	char *hex;

	g_string_append_len(msg, chain, AUDIT_CHAIN_HEX);
	crypto_hmac_sha256(key, AUDIT_KEY_LEN, msg->str, msg->len, mac);
	hex = enc_hex(mac, sizeof mac);
	memcpy(out, hex, AUDIT_MAC_HEX + 1);
	g_free(hex);
	g_string_free(msg, TRUE);
}

void
audit_finish_line(const struct audit *a, GString *body, const unsigned char *key,
	char chain[AUDIT_CHAIN_HEX + 1], GString *out)
{
	bool json = a->format == CONF_AUDIT_JSON;
	unsigned char md[CRYPTO_SHA256_LEN];
	char mac[AUDIT_MAC_HEX + 1];

	if (key != NULL) {
		g_string_append(body, json ? ",\"mac\":\"" : " mac=");
		audit_seal_mac(key, body->str, body->len, chain, mac);
		g_string_append(body, mac);
		g_string_append(body, json ? "\"" : "");
	}
	if (json)
		g_string_append_printf(body, ",\"chain\":\"%s\"}\n", chain);
	else
		g_string_append_printf(body, " chain=%s\n", chain);
	crypto_sha256(body->str, body->len, md);
	audit_chain_hex(md, chain);
	g_string_append_len(out, body->str, (gssize)body->len);
	g_string_free(body, TRUE);
}

/* audit_owner - uid and gid of the offload user, looked up once; false if
 * there is none */
static bool
audit_owner(uid_t *uid, gid_t *gid)
{
	static gsize done;
	static bool found;
	static uid_t u;
	static gid_t g;

	if (g_once_init_enter(&done)) {
		struct passwd pwb, *pw = NULL;
		char buf[4096];

		if (getpwnam_r(AUDIT_OWNER, &pwb, buf, sizeof buf, &pw) == 0 && pw != NULL) {
			u = pw->pw_uid;
			g = pw->pw_gid;
			found = true;
		}
		g_once_init_leave(&done, 1);
	}
	*uid = u;
	*gid = g;
	return found;
}

/* audit_own - a new state or log file made by root (offloadctl) belongs to
 * the offload user, so the daemons can write it */
void
audit_own(int fd)
{
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || fstat(fd, &st) != 0 || st.st_uid != 0 || !audit_owner(&uid, &gid))
		return;
	if (fchown(fd, uid, gid) != 0)
		log_error("audit: chown to %s: %s", AUDIT_OWNER, g_strerror(errno));
}

/* audit_state_parse - the text of a state file into s (fd untouched) */
static int
audit_state_parse(const char *text, struct audit_state *s)
{
	const char *pad = strstr(text, "\n\n"); /* the padding starts here */
	char *t = g_strndup(text, pad != NULL ? (gsize)(pad - text) : strlen(text));
	char **lines = g_strsplit(t, "\n", -1);
	bool magic = false;
	int rc = 0;
	size_t i;

	for (i = 0; lines[i] != NULL && rc == 0; i++) {
		char *l = g_strstrip(lines[i]);
		unsigned long long d, n;

		if (l[0] == '\0') /* the padding */
			continue;
		if (strcmp(l, AUDIT_STATE_MAGIC) == 0)
			magic = true;
		else if (sscanf(l, "seq %" SCNu64, &s->seq) == 1 ||
			 sscanf(l, "epoch %" SCNu64, &s->epoch) == 1 ||
			 sscanf(l, "interval %" SCNd64, &s->interval) == 1 ||
			 sscanf(l, "sealed %" SCNd64, &s->sealed) == 1)
			continue;
		else if (strncmp(l, "key ", 4) == 0) {
			rc = enc_hex_decode(l + 4, s->key, sizeof s->key) == 0 ? 0 : -1;
			s->keyed = rc == 0;
		}
		else if (sscanf(l, "closed %llu %llu", &d, &n) == 2 && strlen(l) > 8 &&
			 strlen(strrchr(l, ' ') + 1) == AUDIT_CHAIN_HEX) {
			s->pending = true;
			s->closed_dev = (dev_t)d;
			s->closed_ino = (ino_t)n;
			memcpy(s->head, strrchr(l, ' ') + 1, AUDIT_CHAIN_HEX + 1);
		} else {
			rc = -1;
		}
	}
	for (i = 0; lines[i] != NULL; i++)
		crypto_wipe(lines[i], strlen(lines[i]));
	g_strfreev(lines);
	crypto_wipe(t, strlen(t));
	g_free(t);
	return magic ? rc : -1;
}

int
audit_state_read(const char *path, struct audit_state *s, GError **err)
{
	char *text = NULL;
	int rc;

	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->seq = 1;
	if (!g_file_get_contents(path, &text, NULL, NULL)) {
		g_set_error(err, audit_quark(), 1, "audit state %s: %s", path, g_strerror(errno));
		return -1;
	}
	rc = audit_state_parse(text, s);
	crypto_wipe(text, strlen(text));
	g_free(text);
	if (rc < 0)
		g_set_error(err, audit_quark(), 1, "audit state %s: not a valid state file", path);
	return rc;
}

int
audit_state_lock(const char *path, bool create, struct audit_state *s, GError **err)
{
	char buf[AUDIT_STATE_SIZE + 1];
	ssize_t n;

	memset(s, 0, sizeof *s);
	s->seq = 1;
	s->fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0660);
	if (s->fd < 0) {
		if (errno == ENOENT && !create)
			return 0;
		g_set_error(err, audit_quark(), 1, "audit state %s: %s", path, g_strerror(errno));
		return -1;
	}
	while (flock(s->fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			g_set_error(err, audit_quark(), 1, "audit state %s: flock: %s", path, g_strerror(errno));
			goto fail;
		}
	}
	n = pread(s->fd, buf, AUDIT_STATE_SIZE, 0);
	if (n < 0) {
		g_set_error(err, audit_quark(), 1, "audit state %s: %s", path, g_strerror(errno));
		goto fail;
	}
	buf[n] = '\0';
	if (n == 0) {
		audit_own(s->fd);
		s->dirty = true; /* new */
		return 0;
	}
	if (audit_state_parse(buf, s) == 0) {
		crypto_wipe(buf, sizeof buf);
		return 0;
	}
	g_set_error(err, audit_quark(), 1, "audit state %s: not a valid state file", path);
fail:
	crypto_wipe(buf, sizeof buf);
	audit_state_close(s);
	return -1;
}

int
audit_state_save(struct audit_state *s, GError **err)
{
	char buf[AUDIT_STATE_SIZE];
	GString *t = g_string_new(AUDIT_STATE_MAGIC "\n");
	int rc = -1;

	g_string_append_printf(t, "seq %" PRIu64 "\n", s->seq);
	if (s->keyed) {
		char *hex = enc_hex(s->key, sizeof s->key);

		g_string_append_printf(t, "epoch %" PRIu64 "\ninterval %" PRId64 "\nsealed %" PRId64
			"\nkey %s\n", s->epoch, s->interval, s->sealed, hex);
		crypto_free_string(hex);
	}
	if (s->pending)
		g_string_append_printf(t, "closed %llu %llu %s\n", (unsigned long long)s->closed_dev,
			(unsigned long long)s->closed_ino, s->head);
	/* fixed size, overwritten in place: the old key does not survive */
	memset(buf, '\n', sizeof buf);
	memcpy(buf, t->str, MIN(t->len, sizeof buf));
	if (pwrite(s->fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf ||
	    (s->key_changed && fdatasync(s->fd) != 0))
		g_set_error(err, audit_quark(), 1, "audit state: write: %s", g_strerror(errno));
	else
		rc = 0;
	s->dirty = s->key_changed = false;
	crypto_wipe(buf, sizeof buf);
	crypto_wipe(t->str, t->len);
	g_string_free(t, TRUE);
	return rc;
}

void
audit_state_close(struct audit_state *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	crypto_wipe(s->key, sizeof s->key);
}
