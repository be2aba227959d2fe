/*
 * spool_tmp.c - nameless spool files, and the named fallback with its
 * sweep (see spool_tmp.h)
 */
#include "spool_tmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#define SPOOL_TMP_PROC "/proc/self/fd/"
#define SPOOL_TMP_TRIES 8

/* the prefixes spool_tmp_open is called with (msg.c, rewrite.c,
 * cli_process.c) and storage_spool_open's (storage_remote.c) */
static const char *const spool_tmp_prefixes[] = { "msg.", "body.", "tmp.", "in.", ".offload-spool-" };

/* spool_tmp_named_forced - the test hook OFFLOAD_TEST_SPOOL_NAMED=1: use
 * the named fallback as on a file system without O_TMPFILE */
static bool
spool_tmp_named_forced(void)
{
	const char *e = getenv("OFFLOAD_TEST_SPOOL_NAMED");

	return e != NULL && *e != '\0' && strcmp(e, "0") != 0;
}

/* spool_tmp_same - path still names the file open as fd */
static bool
spool_tmp_same(int dfd, const char *name, int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* spool_tmp_named - a named 0600 file PREFIX.XXXXXX, flock'ed (LOCK_EX) for
 * as long as it is open, so spool_tmp_sweep leaves it alone. A sweep that
 * removed it between creation and lock is noticed (the name is gone) and
 * the file made again. */
static int
spool_tmp_named(const char *dir, const char *prefix, char **path)
{
	int fd = -1, tries, e = 0;

	for (tries = 0; tries < SPOOL_TMP_TRIES; tries++) {
		*path = g_strdup_printf("%s/%s.XXXXXX", dir, prefix);
		fd = g_mkstemp_full(*path, O_RDWR | O_CLOEXEC, 0600);
		e = errno;
		if (fd < 0)
			break;
		while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
			;
		if (spool_tmp_same(AT_FDCWD, *path, fd))
			return fd;
		close(fd);
		fd = -1;
		e = EAGAIN;
		g_clear_pointer(path, g_free);
	}
	g_clear_pointer(path, g_free);
	errno = e;
	return fd;
}

int
spool_tmp_open(const char *dir, const char *prefix, char **path)
{
	int fd = spool_tmp_named_forced() ? -1 : open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0) {
		*path = g_strdup_printf(SPOOL_TMP_PROC "%d", fd);
		if (access(*path, R_OK) == 0)
			return fd;
		/* no /proc: the file could not be reopened */
		g_free(*path);
		close(fd);
	}
	return spool_tmp_named(dir, prefix, path);
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

/* spool_tmp_ours - name is one spool_tmp_open/storage_spool_open makes:
 * a known prefix and the six characters of mkstemp */
static bool
spool_tmp_ours(const char *name)
{
	size_t i, n;

	for (i = 0; i < G_N_ELEMENTS(spool_tmp_prefixes); i++) {
		n = strlen(spool_tmp_prefixes[i]);
		if (strncmp(name, spool_tmp_prefixes[i], n) == 0 && strlen(name + n) == 6 &&
		    strchr(name + n, '/') == NULL)
			return true;
	}
	return false;
}

/* spool_tmp_sweep_one - remove dir/name when no process holds its flock */
static int
spool_tmp_sweep_one(int dfd, const char *name, bool dry)
{
	struct stat sb;
	int fd, rc = 0;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto out;
	/* held by a live process (milter, offloadctl process): in use */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		goto out;
	if (!spool_tmp_same(dfd, name, fd))
		goto out;
	if (dry || unlinkat(dfd, name, 0) == 0)
		rc = 1;
out:
	close(fd); /* releases the flock */
	return rc;
}

int
spool_tmp_sweep(const char *dir, bool dry)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (spool_tmp_ours(de->d_name))
			n += spool_tmp_sweep_one(dirfd(d), de->d_name, dry);
	}
	closedir(d);
	return n;
}
