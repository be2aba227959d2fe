/*
 * audit.c - the audit log (DECISIONS.md §9, §13): one line per event, fields
 * in a fixed order, key=value or JSON lines, every line ending in
 * chain = first 32 hex of SHA-256(previous line including its '\n'); the
 * first line of a file carries the anchor, the first 32 hex of
 * SHA-256("offload audit v1 anchor").
 * Writers from many threads and processes (milter, portal, offloadctl)
 * share one file: a process-wide mutex plus flock(LOCK_EX) cover "read the
 * last line, compute the chain, append with one write()". A handle keeps
 * the file open between events, but every event checks (under the flock)
 * that the path still names that file and opens the path again when not,
 * so a log rotated by logrotate (renamed) starts a new chain as before.
 * A handle remembers the chain value after its own last line together with
 * the file's device, inode, size and mtime right after that write; when all
 * four are unchanged at the next event nobody wrote in between and the
 * last line need not be read and hashed again (DECISIONS.md §12).
 * Personal data (from, rcpt, file, client) is written as is, replaced by
 * keyed pseudonyms "p:<16 hex>" or left out (audit_personal); client IP
 * addresses are always truncated (IPv4 /24, IPv6 /48).
 * Memory: struct audit owns its path and pseudonym key (wiped on close).
 * Thread safety: audit_write() may be called from any thread; a handle is
 * read-only after audit_open() but for its tail cache, which audit_lock
 * guards.
 */
#include "audit_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "fdio.h"
#include "encoding.h"
#include "keys.h"
#include "log.h"

#define AUDIT_ANCHOR_TEXT "offload audit v1 anchor"
#define AUDIT_PSEUDO_HEX 16
#define AUDIT_TAIL_CHUNK 4096

/* audit_tail_same - the open file is exactly as our last write left it */
static bool
audit_tail_same(const struct audit *a, const struct stat *st)
{
	return a->tail_ok && st->st_dev == a->tail_dev && st->st_ino == a->tail_ino &&
		st->st_size == a->tail_size && st->st_mtim.tv_sec == a->tail_mtime.tv_sec &&
		st->st_mtim.tv_nsec == a->tail_mtime.tv_nsec;
}

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;

GQuark
audit_quark(void)
{
	return g_quark_from_static_string("offload-audit");
}

/* audit_chain_hex - the chain value (32 hex) of a SHA-256 digest */
void
audit_chain_hex(const unsigned char md[CRYPTO_SHA256_LEN], char out[AUDIT_CHAIN_HEX + 1])
{
	char *hex = enc_hex(md, AUDIT_CHAIN_HEX / 2);

	memcpy(out, hex, AUDIT_CHAIN_HEX);
	out[AUDIT_CHAIN_HEX] = '\0';
	g_free(hex);
}

void
audit_anchor(char out[AUDIT_CHAIN_HEX + 1])
{
	unsigned char md[CRYPTO_SHA256_LEN];

	crypto_sha256(AUDIT_ANCHOR_TEXT, sizeof AUDIT_ANCHOR_TEXT - 1, md);
	audit_chain_hex(md, out);
}

struct audit *
audit_open(const struct conf *conf, GError **err)
{
	struct audit *a = g_new0(struct audit, 1);
	struct key32 dk;
	char *dir = NULL;
	int fd = -1;
	bool ok = false;

	a->log_fd = -1;
	memset(&dk, 0, sizeof dk);
	a->format = conf->audit_format;
	a->personal = conf->audit_personal;
	if (conf->audit_path == NULL || conf->audit_path[0] == '\0') {
		ok = true;
		goto out;
	}
	a->path = g_strdup(conf->audit_path);
	a->state_path = g_strconcat(a->path, ".state", NULL);
	dir = g_path_get_dirname(a->path);
	if (g_mkdir_with_parents(dir, 0770) < 0) {
		g_set_error(err, audit_quark(), 1, "audit log %s: cannot create directory %s: %s",
			a->path, dir, g_strerror(errno));
		goto out;
	}
	fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0) {
		g_set_error(err, audit_quark(), 1, "audit log %s: %s", a->path, g_strerror(errno));
		goto out;
	}
	audit_own(fd);
	if (a->personal == CONF_AUDIT_PSEUDONYMISE) {
		static const char salt[] = "offload v1 audit";
		static const char info[] = "audit pseudonym";

		if (keys_load(conf->deployment_key_file, &dk, err) < 0)
			goto out;
		if (crypto_hkdf(dk.key, sizeof dk.key, (const unsigned char *)salt, sizeof salt - 1,
				info, sizeof info - 1, a->pkey, sizeof a->pkey) < 0) {
			g_set_error(err, audit_quark(), 1, "audit log %s: cannot derive pseudonym key", a->path);
			goto out;
		}
	}
	ok = true;
out:
	keys_wipe(&dk);
	if (fd >= 0)
		close(fd);
	g_free(dir);
	if (!ok) {
		audit_close(a);
		a = NULL;
	}
	return a;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	crypto_wipe(a->pkey, sizeof a->pkey);
	if (a->log_fd >= 0)
		close(a->log_fd);
	g_free(a->path);
	g_free(a->state_path);
	g_free(a);
}

/* audit_truncate_ip - IPv4 to /24, IPv6 to /48; other text unchanged */
static char *
audit_truncate_ip(const char *s)
{
	unsigned char bin[16];
	char out[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, s, bin) == 1) {
		bin[3] = 0;
		if (inet_ntop(AF_INET, bin, out, sizeof out) != NULL)
			return g_strdup(out);
	} else if (inet_pton(AF_INET6, s, bin) == 1) {
		memset(bin + 6, 0, 10);
		if (inet_ntop(AF_INET6, bin, out, sizeof out) != NULL)
			return g_strdup(out);
	}
	return g_strdup(s);
}

/* audit_pseudonym - "p:" + first 16 hex of HMAC-SHA256(pkey, value) */
static void
audit_pseudonym(const struct audit *a, const char *value, bool fold, GString *out)
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	char *v = fold ? g_ascii_strdown(value, -1) : g_strdup(value);
	char *hex;

	crypto_hmac_sha256(a->pkey, sizeof a->pkey, v, strlen(v), mac);
	hex = enc_hex(mac, AUDIT_PSEUDO_HEX / 2);
	g_string_append(out, "p:");
	g_string_append(out, hex);
	g_free(hex);
	g_free(v);
}

/*
 * audit_personal_value - the text to log for a personal field, or NULL to
 * omit it. Addresses are case-folded before hashing so one mailbox gets
 * one pseudonym; rcpt lists are pseudonymised per address.
 */
static char *
audit_personal_value(const struct audit *a, const char *name, const char *value)
{
	bool is_addr = strcmp(name, "from") == 0 || strcmp(name, "rcpt") == 0;
	char *v, *res;
	GString *out;

	if (a->personal == CONF_AUDIT_OMIT)
		return NULL;
	v = strcmp(name, "client") == 0 ? audit_truncate_ip(value) : g_strdup(value);
	if (a->personal == CONF_AUDIT_PLAIN || v[0] == '\0')
		return v;
	out = g_string_new(NULL);
	if (strcmp(name, "rcpt") == 0) {
		char **items = g_strsplit(v, ",", -1);
		size_t i;

		for (i = 0; items[i] != NULL; i++) {
			if (i > 0)
				g_string_append_c(out, ',');
			audit_pseudonym(a, g_strstrip(items[i]), true, out);
		}
		g_strfreev(items);
	} else {
		audit_pseudonym(a, v, is_addr, out);
	}
	g_free(v);
	res = g_string_free(out, FALSE);
	return res;
}

/* audit_kv_value - append value, quoted and escaped when needed */
static void
audit_kv_value(GString *out, const char *v)
{
	const unsigned char *p;
	bool quote = v[0] == '\0';

	for (p = (const unsigned char *)v; *p != '\0' && !quote; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || *p < 0x20 || *p >= 0x7f)
			quote = true;
	if (!quote) {
		g_string_append(out, v);
		return;
	}
	g_string_append_c(out, '"');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			g_string_append_c(out, '\\');
			g_string_append_c(out, (char)*p);
		} else if (*p < 0x20 || *p >= 0x7f) {
			g_string_append_printf(out, "\\x%02x", *p);
		} else {
			g_string_append_c(out, (char)*p);
		}
	}
	g_string_append_c(out, '"');
}

/*
 * audit_json_string - append a JSON string (RFC 8259) using ASCII only:
 * non-ASCII characters as \uXXXX (surrogate pairs above U+FFFF); a byte
 * that is not valid UTF-8 is written as its Latin-1 code point \u00XX.
 */
static void
audit_json_string(GString *out, const char *v)
{
	const char *p = v;

	g_string_append_c(out, '"');
	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			g_string_append_c(out, '\\');
			g_string_append_c(out, (char)c);
			p++;
		} else if (c < 0x20 || c == 0x7f) {
			g_string_append_printf(out, "\\u%04x", c);
			p++;
		} else if (c < 0x80) {
			g_string_append_c(out, (char)c);
			p++;
		} else {
			gunichar u = g_utf8_get_char_validated(p, -1);

			if (u == (gunichar)-1 || u == (gunichar)-2) {
				g_string_append_printf(out, "\\u%04x", c);
				p++;
			} else {
				if (u >= 0x10000) {
					gunichar x = u - 0x10000;

					g_string_append_printf(out, "\\u%04x\\u%04x",
						0xd800 + (x >> 10), 0xdc00 + (x & 0x3ff));
				} else {
					g_string_append_printf(out, "\\u%04x", u);
				}
				p = g_utf8_next_char(p);
			}
		}
	}
	g_string_append_c(out, '"');
}

static void
audit_field(const struct audit *a, GString *out, const char *name, const char *value, bool number)
{
	if (a->format == CONF_AUDIT_JSON) {
		g_string_append_c(out, out->len == 0 ? '{' : ',');
		audit_json_string(out, name);
		g_string_append_c(out, ':');
		if (number)
			g_string_append(out, value);
		else
			audit_json_string(out, value);
	} else {
		if (out->len > 0)
			g_string_append_c(out, ' ');
		g_string_append(out, name);
		g_string_append_c(out, '=');
		audit_kv_value(out, value);
	}
}

/* audit_format_body - every field but chain, in the documented order */
GString *
audit_format_body(const struct audit *a, const struct audit_event *ev)
{
	struct {
		const char *name;
		const char *value;
		bool personal;
	} fields[] = {
		{ "event", ev->event, false },
		{ "queue_id", ev->queue_id, false },
		{ "message_id", ev->message_id, false },
		{ "from", ev->from, true },
		{ "rcpt", ev->rcpt, true },
		{ "file", ev->file, true },
		{ "size", NULL, false },
		{ "type", ev->type, false },
		{ "sha256", ev->sha256, false },
		{ "class", ev->class_, false },
		{ "reasons", ev->reasons, false },
		{ "action", ev->action, false },
		{ "transfer", ev->transfer, false },
		{ "expires", ev->expires, false },
		{ "client", ev->client, true },
		{ "seq", ev->seq, false },
		{ "previous", ev->previous, false },
		{ "epoch", ev->epoch, false },
	};
	GString *out = g_string_new(NULL);
	struct timespec ts;
	struct tm tm;
	char tbuf[64], num[32];
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tbuf + strlen(tbuf), sizeof tbuf - strlen(tbuf), ".%03ldZ", ts.tv_nsec / 1000000L);
	audit_field(a, out, "time", tbuf, false);

	for (i = 0; i < G_N_ELEMENTS(fields); i++) {
		if (fields[i].value != NULL && (strcmp(fields[i].name, "seq") == 0 ||
			strcmp(fields[i].name, "previous") == 0 || strcmp(fields[i].name, "epoch") == 0)) {
			audit_field(a, out, fields[i].name, fields[i].value, true);
			continue;
		}
		if (strcmp(fields[i].name, "size") == 0) {
			if (ev->size >= 0) {
				snprintf(num, sizeof num, "%" PRId64, ev->size);
				audit_field(a, out, "size", num, true);
			}
			continue;
		}
		if (fields[i].value == NULL)
			continue;
		if (fields[i].personal) {
			char *v = audit_personal_value(a, fields[i].name, fields[i].value);

			if (v != NULL)
				audit_field(a, out, fields[i].name, v, false);
			g_free(v);
		} else {
			audit_field(a, out, fields[i].name, fields[i].value, false);
		}
	}
	return out;
}

/*
 * audit_tail_chain - chain value for the next line of the open file fd:
 * the anchor for an empty file, else the hash of the last line. A last
 * line without '\n' (a torn write) is completed: *need_nl is set and the
 * hash covers the line plus the '\n' that the caller writes first.
 */
static int
audit_tail_chain(int fd, char out[AUDIT_CHAIN_HEX + 1], bool *need_nl)
{
	unsigned char buf[AUDIT_TAIL_CHUNK];
	unsigned char md[CRYPTO_SHA256_LEN];
	struct crypto_sha256_ctx *h = NULL;
	struct stat st;
	off_t end, pos, start = 0;
	bool found = false;
	int rc = -1;

	*need_nl = false;
	if (fstat(fd, &st) < 0)
		goto out;
	end = st.st_size;
	if (end == 0) {
		audit_anchor(out);
		rc = 0;
		goto out;
	}
	if (pread(fd, buf, 1, end - 1) != 1)
		goto out;
	*need_nl = buf[0] != '\n';
	/* search backwards for the '\n' that ends the line before the last one */
	pos = *need_nl ? end : end - 1;
	while (pos > 0 && !found) {
		size_t n = pos > AUDIT_TAIL_CHUNK ? AUDIT_TAIL_CHUNK : (size_t)pos;
		ssize_t i;

		if (pread(fd, buf, n, pos - (off_t)n) != (ssize_t)n)
			goto out;
		for (i = (ssize_t)n - 1; i >= 0; i--) {
			if (buf[i] == '\n') {
				start = pos - (off_t)n + i + 1;
				found = true;
				break;
			}
		}
		pos -= (off_t)n;
	}
	h = crypto_sha256_new();
	for (pos = start; pos < end;) {
		size_t n = end - pos > AUDIT_TAIL_CHUNK ? AUDIT_TAIL_CHUNK : (size_t)(end - pos);

		if (pread(fd, buf, n, pos) != (ssize_t)n)
			goto out;
		crypto_sha256_update(h, buf, n);
		pos += (off_t)n;
	}
	if (*need_nl)
		crypto_sha256_update(h, "\n", 1);
	crypto_sha256_final(h, md);
	h = NULL;
	audit_chain_hex(md, out);
	rc = 0;
out:
	crypto_sha256_free(h);
	return rc;
}

/* audit_flock - flock(LOCK_EX), retried on EINTR */
static int
audit_flock(const struct audit *a, int fd)
{
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			log_error("audit log %s: flock: %s", a->path, g_strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * audit_open_log - the file at the log path, flocked, and its status in *st
 * (audit_lock held). The file kept open since the last event is used when,
 * under its flock, the path still names it (same device and inode: while we
 * hold it open its inode cannot be reused); else (renamed by a rotation,
 * deleted) it is closed and the path opened, as if opened per event.
 */
static int
audit_open_log(struct audit *a, struct stat *st)
{
	int fd;

	if (a->log_fd >= 0) {
		if (audit_flock(a, a->log_fd) == 0 && stat(a->path, st) == 0 &&
		    st->st_dev == a->log_dev && st->st_ino == a->log_ino)
			return a->log_fd;
		close(a->log_fd); /* releases its flock */
		a->log_fd = -1;
	}
	fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0) {
		log_error("audit log %s: %s", a->path, g_strerror(errno));
		return -1;
	}
	if (audit_flock(a, fd) < 0 || fstat(fd, st) < 0) {
		close(fd);
		return -1;
	}
	a->log_fd = fd;
	a->log_dev = st->st_dev;
	a->log_ino = st->st_ino;
	return fd;
}

/* audit_remember - the tail cache after our write */
static void
audit_remember(struct audit *a, int fd, const char chain[AUDIT_CHAIN_HEX + 1])
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return;
	memcpy(a->tail_chain, chain, AUDIT_CHAIN_HEX + 1);
	a->tail_dev = st.st_dev;
	a->tail_ino = st.st_ino;
	a->tail_size = st.st_size;
	a->tail_mtime = st.st_mtim;
	a->tail_ok = true;
}

/* audit_build - the lines to append: rotation and seal lines (audit_rotate.c)
 * around the event line */
static GString *
audit_build(struct audit *a, struct audit_state *s, const struct stat *st,
	const struct audit_event *ev, enum audit_op op, const char *seal_action,
	char chain[AUDIT_CHAIN_HEX + 1], bool need_nl)
{
	GString *buf = g_string_new(need_nl ? "\n" : "");
	bool reclose = false;

	/* format under the lock so time stamps increase down the file */
	audit_lines_before(a, s, st, op, seal_action, chain, buf, &reclose);
	if (ev != NULL)
		audit_finish_line(a, audit_format_body(a, ev), NULL, chain, buf);
	if (op == AUDIT_OP_ROTATE || reclose)
		audit_lines_after(a, s, st, chain, buf);
	return buf;
}

int
audit_append(struct audit *a, const struct audit_event *ev, enum audit_op op,
	const char *seal_action)
{
	char chain[AUDIT_CHAIN_HEX + 1];
	struct audit_state s = { .fd = -1 };
	GString *buf = NULL;
	GError *err = NULL;
	bool need_nl = false;
	struct stat st;
	int fd = -1, rc = -1;

	pthread_mutex_lock(&audit_lock);
	/* lock order: state file, then log file */
	if (audit_state_lock(a->state_path, op != AUDIT_OP_EVENT, &s, &err) < 0) {
		log_error("%s", err->message);
		g_clear_error(&err);
		goto out;
	}
	fd = audit_open_log(a, &st);
	if (fd < 0)
		goto out;
	if (st.st_size == 0)
		audit_own(fd);
	if (audit_tail_same(a, &st)) {
		memcpy(chain, a->tail_chain, sizeof chain);
	} else if (audit_tail_chain(fd, chain, &need_nl) < 0) {
		log_error("audit log %s: cannot read the last line: %s", a->path, g_strerror(errno));
		goto out;
	}
	a->tail_ok = false;
	buf = audit_build(a, &s, &st, ev, op, seal_action, chain, need_nl);
	if (fdio_write_all(fd, buf->str, buf->len) < 0) {
		log_error("audit log %s: write: %s", a->path, g_strerror(errno));
		goto out;
	}
	rc = 0;
	audit_remember(a, fd, chain);
	if (s.dirty && audit_state_save(&s, &err) < 0) {
		log_error("%s", err->message);
		g_clear_error(&err);
		rc = -1;
	}
out:
	if (fd >= 0 && (rc < 0 || flock(fd, LOCK_UN) < 0)) {
		close(fd); /* after a failure: open the path afresh next time */
		a->log_fd = -1;
	}
	audit_state_close(&s);
	pthread_mutex_unlock(&audit_lock);
	if (buf != NULL)
		g_string_free(buf, TRUE);
	return rc;
}

int
audit_write(struct audit *a, const struct audit_event *ev)
{
	if (a == NULL || a->path == NULL)
		return 0;
	if (ev == NULL || ev->event == NULL) {
		log_panic("audit_write: event without a name");
		return -1;
	}
	return audit_append(a, ev, AUDIT_OP_EVENT, NULL);
}
