/*
 * scan_clamd.c - clamd INSTREAM client (see scan_clamd.h). Protocol
 * (clamd(8)): "zINSTREAM\0", then chunks "<4-byte BE length><data>", a
 * zero-length chunk ends the stream; the reply is one NUL-terminated line:
 * "stream: OK", "stream: <signature> FOUND", "INSTREAM size limit exceeded.
 * ERROR" (StreamMaxLength; clamd then closes the connection, so a write may
 * fail before the reply is read) or "<text> ERROR".
 * Memory: the struct and the reply line; the data is never buffered.
 * Thread safety: one struct per thread; send() with MSG_NOSIGNAL, no SIGPIPE.
 */
#include "scan_clamd.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>

#define CLAMD_CHUNK (1024u * 1024u)
#define CLAMD_REPLY_MAX 1024

struct scan_clamd {
	int fd;
	char *error;   /* first failure (unavailable), NULL while fine */
	bool write_failed; /* clamd closed early: its reply says why */
};

static void
clamd_fail(struct scan_clamd *s, const char *what, int err)
{
	if (s->error == NULL)
		s->error = g_strdup_printf("clamd %s: %s", what, g_strerror(err));
}

static int
clamd_send(struct scan_clamd *s, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			s->write_failed = true;
			if (errno != EPIPE && errno != ECONNRESET)
				clamd_fail(s, "write", errno);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct scan_clamd *
scan_clamd_begin(const char *socket_path, unsigned timeout_s)
{
	struct scan_clamd *s = g_new0(struct scan_clamd, 1);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_s };
	const char *path = g_str_has_prefix(socket_path, "unix:") ? socket_path + 5 : socket_path;

	s->fd = -1;
	if (strlen(path) >= sizeof sa.sun_path) {
		s->error = g_strdup_printf("clamd socket path too long: %s", path);
		return s;
	}
	strcpy(sa.sun_path, path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		clamd_fail(s, "socket", errno);
		return s;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;

		g_free(s->error);
		s->error = g_strdup_printf("clamd %s: %s", path, g_strerror(e));
		return s;
	}
	clamd_send(s, "zINSTREAM", 10); /* with its NUL */
	return s;
}

void
scan_clamd_write(struct scan_clamd *s, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0 && s->error == NULL && !s->write_failed) {
		size_t n = len > CLAMD_CHUNK ? CLAMD_CHUNK : len;
		unsigned char hdr[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			(unsigned char)(n >> 8), (unsigned char)n };

		if (clamd_send(s, hdr, 4) != 0 || clamd_send(s, p, n) != 0)
			return;
		p += n;
		len -= n;
	}
}

/* clamd_reply - read the NUL- or newline-terminated reply line; NULL on error */
static char *
clamd_reply(struct scan_clamd *s)
{
	char buf[CLAMD_REPLY_MAX];
	size_t len = 0;

	while (len < sizeof buf - 1) {
		ssize_t n = recv(s->fd, buf + len, sizeof buf - 1 - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			clamd_fail(s, "read", errno);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL)
			break;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (len == 0) {
		clamd_fail(s, "read", ECONNRESET);
		return NULL;
	}
	return g_strdup(buf);
}

/* clamd_classify - the verdict of a reply line */
static enum scan_verdict
clamd_classify(const char *line, char **detail)
{
	const char *body = g_str_has_prefix(line, "stream: ") ? line + 8 : line;
	size_t len = strlen(body);

	if (strcmp(body, "OK") == 0)
		return SCAN_CLEAN;
	if (len > 6 && strcmp(body + len - 6, " FOUND") == 0) {
		*detail = g_strndup(body, len - 6);
		/* AlertExceedsMax: a file over MaxFileSize/MaxScanSize/... */
		return g_str_has_prefix(*detail, "Heuristics.Limits.Exceeded") ? SCAN_UNSCANNABLE : SCAN_INFECTED;
	}
	*detail = g_strdup(body);
	if (strstr(body, "size limit exceeded") != NULL)
		return SCAN_UNSCANNABLE;
	return SCAN_UNAVAILABLE;
}

enum scan_verdict
scan_clamd_finish(struct scan_clamd *s, char **detail)
{
	static const unsigned char end[4] = { 0, 0, 0, 0 };
	enum scan_verdict v = SCAN_UNAVAILABLE;
	char *line = NULL;

	*detail = NULL;
	if (s->error == NULL && !s->write_failed)
		clamd_send(s, end, sizeof end);
	if (s->error == NULL)
		line = clamd_reply(s);
	if (line != NULL)
		v = clamd_classify(line, detail);
	else
		*detail = g_strdup(s->error ? s->error : "clamd: no reply");
	g_free(line);
	if (s->fd >= 0)
		close(s->fd);
	g_free(s->error);
	g_free(s);
	return v;
}

void
scan_clamd_discard(struct scan_clamd *s)
{
	char *detail = NULL;

	if (s == NULL)
		return;
	scan_clamd_finish(s, &detail);
	g_free(detail);
}

const char *
scan_verdict_name(enum scan_verdict v)
{
	static const char *const names[] = { "clean", "infected", "unscannable", "unavailable" };

	return (unsigned)v < G_N_ELEMENTS(names) ? names[v] : "unavailable";
}
