/*
 * storage_remote.c - what the remote backends (s3, webdav) share: libcurl's
 * global initialisation exactly once, the unnamed spool file that holds a
 * put body until it is sent, and the test for a loopback host (plain http
 * with credentials is only worth a warning elsewhere).
 *
 * Threads: all of it may be called from any thread.
 */
#include "storage_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

static GOnce storage_curl_once = G_ONCE_INIT;

static gpointer
storage_curl_init(gpointer unused)
{
	(void)unused;
	return GINT_TO_POINTER(curl_global_init(CURL_GLOBAL_DEFAULT));
}

int
storage_curl_init_once(void)
{
	return GPOINTER_TO_INT(g_once(&storage_curl_once, storage_curl_init, NULL));
}

/* storage_spool_open - an unnamed 0600 temp file in dir (O_TMPFILE: nothing
 * is left after a crash); -1 with errno */
int
storage_spool_open(const char *dir)
{
	char *tmpl;
	int fd, e;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* file systems without O_TMPFILE: create and unlink at once */
	tmpl = g_build_filename(dir, ".offload-spool-XXXXXX", NULL);
	fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
	e = errno;
	if (fd >= 0)
		unlink(tmpl);
	g_free(tmpl);
	errno = e;
	return fd;
}

/* storage_host_loopback - host (as curl's URL API gives it) is this machine */
bool
storage_host_loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
		strcmp(host, "[::1]") == 0;
}
