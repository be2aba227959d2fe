/*
 * spool_tmp.c - nameless spool files (see spool_tmp.h)
 */
#include "spool_tmp.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#define SPOOL_TMP_PROC "/proc/self/fd/"

int
spool_tmp_open(const char *dir, const char *prefix, char **path)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0) {
		*path = g_strdup_printf(SPOOL_TMP_PROC "%d", fd);
		if (access(*path, R_OK) == 0)
			return fd;
		/* no /proc: the file could not be reopened */
		g_free(*path);
		close(fd);
	}
	*path = g_strdup_printf("%s/%s.XXXXXX", dir, prefix);
	fd = g_mkstemp_full(*path, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;

		g_clear_pointer(path, g_free);
		errno = e;
	}
	return fd;
}

void
spool_tmp_unlink(const char *path)
{
	if (path != NULL && strncmp(path, SPOOL_TMP_PROC, strlen(SPOOL_TMP_PROC)) != 0)
		unlink(path);
}

void
spool_tmp_drop(int *fd, char **path)
{
	if (*path != NULL)
		spool_tmp_unlink(*path);
	g_clear_pointer(path, g_free);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
