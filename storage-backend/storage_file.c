/*
 * storage_file.c - the embedded default backend "file" (DECISIONS.md §7): one
 * directory tree, sharded by the first two characters of the key's first
 * segment: key "abcdef/m" lives at PATH/ab/abcdef/m.
 *
 * A put writes a hidden temp file ".<leaf>.XXXXXX" (O_EXCL, 0660) beside the
 * final name; commit = fsync(file) + rename + fsync(directory), abort =
 * unlink. While a large object is written, its pages go to the disk behind
 * the writer (sync_file_range every FILE_WB_WINDOW bytes, waiting for the
 * window before), so the fsync at commit has little left to write; the
 * fsync alone still makes it durable. Readers and the lister skip dot-files, so uncommitted (and, after a
 * crash, stale) temp files are never visible; purge removes stale ones
 * (abort_stale: older than its cutoff; prune: all of a purged id). Delete
 * removes the file and then the directories it leaves empty (shard
 * included), best-effort; prune and abort_stale rmdir what a temp file kept;
 * rmdir only removes empty directories, and a put that races with that
 * removal retries its mkdirs, so no writer is ever disturbed.
 *
 * Modes: directories 0770, files 0660 (ciphertext only), less the process
 * umask: the packaged units set 0007 so the portal (group offload) can read
 * and revoke; a plain shell (umask 022) gets 0750/0640.
 *
 * Limitation of a file system: a key cannot be both an object and the prefix
 * directory of another ("abc" and "abc/m"); the second put fails EPERM.
 *
 * Memory: struct file_store (root path) is owned by the storage; struct
 * file_put by its caller until commit/abort. Threads: no shared mutable
 * state; each call uses its own descriptors and buffers.
 */
#include "storage_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* put_begin retries when a concurrent delete removes a directory it just made */
#define FILE_MKDIR_RETRIES 8
/* write-behind: bytes a put writes between two sync_file_range kicks */
#define FILE_WB_WINDOW ((off_t)8 * 1024 * 1024)

struct file_store {
	char *root; /* no trailing '/' */
};

struct file_put {
	char *final;
	char *tmp;
	char *dir;
	int fd;
	off_t written;  /* bytes written */
	off_t kicked;   /* bytes whose writeback was started (file_put_behind) */
};

/* file_errno_class - permanent for permissions and layout, temporary otherwise */
static int
file_errno_class(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
	case EROFS:
	case ENOTDIR:
	case EISDIR:
	case ELOOP:
	case ENAMETOOLONG:
	case EEXIST:
	case EXDEV:
	case EINVAL:
		return STORAGE_EPERM;
	default: /* ENOSPC, EIO, EDQUOT, EMFILE, ENOMEM, ENOENT of a vanished directory, ... */
		return STORAGE_ETEMP;
	}
}

/* file_fail - log a system call failure once and classify it */
static int
file_fail(const char *op, const char *path, int e)
{
	char *msg = g_strdup_printf("%s %s: %s", op, path, g_strerror(e));

	log_error("storage file: %s", msg);
	storage_detail_fail(op, 0, e, 0, NULL, msg);
	g_free(msg);
	return file_errno_class(e);
}

/* file_path - PATH/<shard>/<key>; the shard is at most 2 characters of the first segment */
static char *
file_path(const struct file_store *fs, const char *key)
{
	int n = key[1] == '/' ? 1 : 2; /* keys are valid: key[0] is a segment character */

	return g_strdup_printf("%s/%.*s/%s", fs->root, n, key, key);
}

static int
file_fsync_dir(const char *dir)
{
	int fd, rc = STORAGE_OK;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = file_fail("open directory", dir, errno);
		goto out;
	}
	/* some file systems cannot fsync a directory (EINVAL); nothing more to do there */
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = file_fail("fsync directory", dir, errno);
	close(fd);
out:
	return rc;
}

static void *
file_open(const struct conf *conf, GError **err)
{
	struct file_store *fs = NULL;
	char *root = NULL, *probe = NULL;
	size_t n;
	int fd, e;

	if (conf->path == NULL || conf->path[0] == '\0') {
		g_set_error(err, STORAGE_ERROR, STORAGE_EPERM,
			"[storage] path: empty (the file backend needs a directory)");
		goto out;
	}
	root = g_strdup(conf->path);
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		root[--n] = '\0';
	if (g_mkdir_with_parents(root, 0770) != 0) {
		e = errno;
		g_set_error(err, STORAGE_ERROR, file_errno_class(e),
			"[storage] path %s: cannot create directory: %s", root, g_strerror(e));
		storage_detail_fail("mkdir", 0, e, 0, NULL, err != NULL && *err != NULL ? (*err)->message : root);
		goto out;
	}
	/* as root, access(2) says yes to everything but read-only mounts: try it */
	probe = g_strdup_printf("%s/.probe.XXXXXX", root);
	fd = g_mkstemp_full(probe, O_RDWR | O_CLOEXEC, 0660);
	if (fd < 0) {
		e = errno;
		g_set_error(err, STORAGE_ERROR, file_errno_class(e),
			"[storage] path %s: not writable: %s", root, g_strerror(e));
		storage_detail_fail("create", 0, e, 0, NULL, err != NULL && *err != NULL ? (*err)->message : root);
		goto out;
	}
	close(fd);
	unlink(probe);
	fs = g_new0(struct file_store, 1);
	fs->root = root;
	root = NULL;
out:
	g_free(probe);
	g_free(root);
	return fs;
}

static void
file_close(void *be)
{
	struct file_store *fs = be;

	if (fs == NULL)
		return;
	g_free(fs->root);
	g_free(fs);
}

/*
 * file_mkdirs - create the directories between the root and path's last
 * component (0770 less the umask); a new directory's parent is fsynced so the entry
 * survives a crash. *eno is the errno of a failure (ENOENT: retry).
 */
static int
file_mkdirs(const struct file_store *fs, const char *path, int *eno)
{
	size_t rootlen = strlen(fs->root);
	char *p = g_strdup(path);
	char *slash;
	int rc = STORAGE_OK;

	*eno = 0;
	for (slash = strchr(p + rootlen + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0770) == 0) {
			char *parent = g_path_get_dirname(p);

			rc = file_fsync_dir(parent);
			g_free(parent);
			if (rc != STORAGE_OK) {
				*slash = '/';
				goto out;
			}
		} else if (errno != EEXIST) {
			*eno = errno;
			if (errno != ENOENT)
				rc = file_fail("mkdir", p, errno);
			else
				rc = STORAGE_ETEMP;
			*slash = '/';
			goto out;
		}
		*slash = '/';
	}
out:
	g_free(p);
	return rc;
}

static void
file_put_free(struct file_put *fp)
{
	if (fp->fd >= 0)
		close(fp->fd);
	g_free(fp->final);
	g_free(fp->tmp);
	g_free(fp->dir);
	g_free(fp);
}

static void *
file_put_begin(void *be, const char *key, uint64_t size_hint, int *errp)
{
	struct file_store *fs = be;
	struct file_put *fp = g_new0(struct file_put, 1);
	char *base = NULL;
	int attempt, eno, rc = STORAGE_OK;

	(void)size_hint;
	fp->fd = -1;
	fp->final = file_path(fs, key);
	fp->dir = g_path_get_dirname(fp->final);
	base = g_path_get_basename(fp->final);
	for (attempt = 0;; attempt++) {
		rc = file_mkdirs(fs, fp->final, &eno);
		if (rc == STORAGE_OK) {
			g_free(fp->tmp);
			fp->tmp = g_strdup_printf("%s/.%s.XXXXXX", fp->dir, base);
			fp->fd = g_mkstemp_full(fp->tmp, O_RDWR | O_CLOEXEC, 0660);
			if (fp->fd >= 0)
				break;
			eno = errno;
		}
		/* ENOENT: a concurrent delete removed an empty directory; build again */
		if (eno == ENOENT && attempt < FILE_MKDIR_RETRIES)
			continue;
		if (rc == STORAGE_OK || eno == ENOENT)
			rc = file_fail("create", fp->tmp != NULL ? fp->tmp : fp->dir, eno);
		goto out;
	}
out:
	g_free(base);
	if (rc != STORAGE_OK) {
		file_put_free(fp);
		fp = NULL;
	}
	*errp = rc;
	return fp;
}

/* file_put_behind - start the writeback of the window just written and wait
 * for the one before: dirty pages stay bounded and the commit's fsync finds
 * them written. A hint only: errors are left for that fsync to report. */
static void
file_put_behind(struct file_put *fp)
{
	off_t start = fp->kicked;

	if (fp->written - start < FILE_WB_WINDOW)
		return;
	(void)sync_file_range(fp->fd, start, fp->written - start, SYNC_FILE_RANGE_WRITE);
	if (start >= FILE_WB_WINDOW)
		(void)sync_file_range(fp->fd, start - FILE_WB_WINDOW, FILE_WB_WINDOW,
			SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	fp->kicked = fp->written;
}

static int
file_put_write(void *put, const void *buf, size_t len)
{
	struct file_put *fp = put;
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fp->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return file_fail("write", fp->tmp, errno);
		}
		p += n;
		len -= (size_t)n;
		fp->written += n;
	}
	file_put_behind(fp);
	return STORAGE_OK;
}

/* file_put_finish - publish the temp: rename over the final name, or (excl)
 * link(2) to it, which fails with EEXIST if it exists, then drop the temp */
static int
file_put_finish(void *put, bool excl)
{
	struct file_put *fp = put;
	bool renamed = false;
	int rc = STORAGE_OK, fd = fp->fd;

	fp->fd = -1;
	if (fsync(fd) != 0) {
		rc = file_fail("fsync", fp->tmp, errno);
		close(fd);
		goto out;
	}
	if (close(fd) != 0) {
		rc = file_fail("close", fp->tmp, errno);
		goto out;
	}
	if (excl && link(fp->tmp, fp->final) != 0) {
		rc = errno == EEXIST ? STORAGE_EEXIST : file_fail("link to final name", fp->tmp, errno);
		goto out;
	}
	if (!excl && rename(fp->tmp, fp->final) != 0) {
		rc = file_fail("rename to final name", fp->tmp, errno);
		goto out;
	}
	renamed = !excl; /* a link leaves the temp name to unlink below */
	rc = file_fsync_dir(fp->dir);
	if (rc != STORAGE_OK) {
		/* not durable: withdraw it, since the caller will treat the put as failed */
		if (unlink(fp->final) != 0)
			log_warning("storage file: unlink %s: %s", fp->final, g_strerror(errno));
	}
out:
	/* ENOENT/ENOTDIR: the directory itself is gone, and the temp file with it */
	if (!renamed && unlink(fp->tmp) != 0 && errno != ENOENT && errno != ENOTDIR)
		log_warning("storage file: unlink %s: %s", fp->tmp, g_strerror(errno));
	file_put_free(fp);
	return rc;
}

static int
file_put_commit(void *put)
{
	return file_put_finish(put, false);
}

static int
file_put_commit_new(void *put)
{
	return file_put_finish(put, true);
}

static void
file_put_abort(void *put)
{
	struct file_put *fp = put;

	if (fp == NULL)
		return;
	if (unlink(fp->tmp) != 0 && errno != ENOENT)
		log_warning("storage file: unlink %s: %s", fp->tmp, g_strerror(errno));
	file_put_free(fp);
}

/* file_missing - errors of open/stat/unlink that mean "no such object" */
static bool
file_missing(int e)
{
	return e == ENOENT || e == ENOTDIR || e == EISDIR;
}

static int
file_get(void *be, const char *key, uint64_t offset, uint64_t length,
	storage_sink_fn sink, void *arg)
{
	struct file_store *fs = be;
	char *path = file_path(fs, key);
	unsigned char *buf = NULL;
	uint64_t pos, end;
	struct stat sb;
	ssize_t n;
	size_t want;
	int fd, rc = STORAGE_OK;

	/* O_NONBLOCK: never hang on a FIFO someone put there; no effect on files */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = file_missing(errno) ? STORAGE_ENOENT : file_fail("open", path, errno);
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		rc = file_fail("fstat", path, errno);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = STORAGE_ENOENT;
		goto out;
	}
	if (!storage_range((uint64_t)sb.st_size, offset, length, &end))
		goto out;
	/* one read per STORAGE_FILE_CHUNK: a portal batch of whole segments in one
	 * call, decrypted where it was read (issue 15) */
	buf = g_malloc(MIN(end - offset, (uint64_t)STORAGE_FILE_CHUNK));
	for (pos = offset; pos < end; pos += (uint64_t)n) {
		want = (size_t)MIN(end - pos, (uint64_t)STORAGE_FILE_CHUNK);
		n = pread(fd, buf, want, (off_t)pos);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0) {
			rc = file_fail("read", path, errno);
			goto out;
		}
		if (n == 0) {
			/* committed objects are never rewritten in place: damaged */
			log_error("storage file: read %s: file shorter than its size", path);
			rc = STORAGE_ETEMP;
			goto out;
		}
		if (sink(arg, buf, (size_t)n) != 0) {
			rc = STORAGE_ESTOP;
			goto out;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	g_free(buf);
	g_free(path);
	return rc;
}

static int
file_stat(void *be, const char *key, uint64_t *size, int64_t *mtime)
{
	char *path = file_path(be, key);
	struct stat sb;
	int rc = STORAGE_OK;

	if (stat(path, &sb) != 0) {
		rc = file_missing(errno) ? STORAGE_ENOENT : file_fail("stat", path, errno);
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = STORAGE_ENOENT;
		goto out;
	}
	*size = (uint64_t)sb.st_size;
	*mtime = (int64_t)sb.st_mtime;
out:
	g_free(path);
	return rc;
}

static int
file_del(void *be, const char *key)
{
	struct file_store *fs = be;
	char *path = file_path(fs, key);
	size_t rootlen = strlen(fs->root);
	char *slash = strrchr(path, '/');
	int dfd, rc = STORAGE_OK;

	/* hold the directory open: a concurrent delete may rmdir it once it is empty */
	*slash = '\0';
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		rc = file_missing(errno) ? STORAGE_ENOENT : file_fail("open directory", path, errno);
		goto out;
	}
	if (unlinkat(dfd, slash + 1, 0) != 0) {
		*slash = '/';
		rc = file_missing(errno) ? STORAGE_ENOENT : file_fail("unlink", path, errno);
		goto out;
	}
	/* a deleted object must stay deleted after a crash (revocation) */
	if (fsync(dfd) != 0 && errno != EINVAL)
		rc = file_fail("fsync directory", path, errno);
	/* then drop the directories this left empty, up to the shard; ENOTEMPTY stops */
	while (strlen(path) > rootlen && rmdir(path) == 0) {
		slash = strrchr(path, '/');
		*slash = '\0';
	}
out:
	if (dfd >= 0)
		close(dfd);
	g_free(path);
	return rc;
}

/* file_list walk state; key holds the path below the shard directory */
struct file_walk {
	const char *prefix;
	size_t plen;
	storage_list_fn fn;
	void *arg;
	GString *key;
	const char *root;
};

/* file_name_ok - a directory entry that can be part of a key (no dot-files) */
static bool
file_name_ok(const char *name)
{
	const char *c;

	if (name[0] == '\0')
		return false;
	for (c = name; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			return false;
	}
	return true;
}

/* file_may_match - could s (a key or the start of keys) lead to prefix? */
static bool
file_may_match(const struct file_walk *w, const char *s, size_t len)
{
	size_t n = len < w->plen ? len : w->plen;

	return memcmp(s, w->prefix, n) == 0;
}

/* file_walk_dir - list the objects below directory fd (consumed); shard is
 * the shard name at the shard level, NULL below it */
static int
file_walk_dir(struct file_walk *w, int fd, const char *shard)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	struct stat sb;
	size_t old;
	int cfd, rc = STORAGE_OK;

	if (d == NULL) {
		rc = file_fail("fdopendir", w->root, errno);
		close(fd);
		goto out;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				rc = file_fail("readdir below", w->root, errno);
			break;
		}
		if (!file_name_ok(de->d_name))
			continue;
		/* only keys that map to this shard belong here */
		if (shard != NULL && (shard[1] == '\0' ? strcmp(de->d_name, shard) != 0
				: strncmp(de->d_name, shard, 2) != 0))
			continue;
		old = w->key->len;
		if (old > 0)
			g_string_append_c(w->key, '/');
		g_string_append(w->key, de->d_name);
		if (w->key->len > STORAGE_KEY_MAX || !file_may_match(w, w->key->str, w->key->len))
			goto next;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT) /* deleted meanwhile */
				goto next;
			rc = file_fail("stat", w->key->str, errno);
			goto next;
		}
		if (S_ISREG(sb.st_mode) && w->key->len >= w->plen) {
			if (w->fn(w->arg, w->key->str, (uint64_t)sb.st_size, (int64_t)sb.st_mtime) != 0)
				rc = STORAGE_ESTOP;
		} else if (S_ISDIR(sb.st_mode)) {
			g_string_append_c(w->key, '/');
			if (!file_may_match(w, w->key->str, w->key->len))
				goto next;
			g_string_truncate(w->key, w->key->len - 1);
			cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (cfd < 0) {
				if (errno != ENOENT)
					rc = file_fail("open directory", w->key->str, errno);
				goto next;
			}
			rc = file_walk_dir(w, cfd, NULL);
		}
next:
		g_string_truncate(w->key, old);
		if (rc != STORAGE_OK)
			break;
	}
	closedir(d);
out:
	return rc;
}

static int
file_list(void *be, const char *prefix, storage_list_fn fn, void *arg)
{
	struct file_store *fs = be;
	struct file_walk w = { prefix, strlen(prefix), fn, arg, g_string_new(NULL), fs->root };
	DIR *d = NULL;
	struct dirent *de;
	struct stat sb;
	char lead[3];
	int fd, rc = STORAGE_OK;

	d = opendir(fs->root);
	if (d == NULL) {
		rc = file_fail("open directory", fs->root, errno);
		goto out;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				rc = file_fail("readdir", fs->root, errno);
			break;
		}
		/* shards: 2 characters, or 1 for keys whose first segment is 1 long */
		if (!file_name_ok(de->d_name) || strlen(de->d_name) > 2)
			continue;
		g_snprintf(lead, sizeof lead, "%s%s", de->d_name, de->d_name[1] == '\0' ? "/" : "");
		if (!file_may_match(&w, lead, 2))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			rc = file_fail("open directory", de->d_name, errno);
			break;
		}
		g_string_truncate(w.key, 0);
		rc = file_walk_dir(&w, fd, de->d_name);
		if (rc != STORAGE_OK)
			break;
	}
out:
	if (d != NULL)
		closedir(d);
	g_string_free(w.key, TRUE);
	return rc;
}

/* ---- maintenance (purge) ---- */

/* file_temp_leaf - the leaf of the object a temp file ".<leaf>.XXXXXX" was
 * for (owned), or NULL if name is not one of ours */
static char *
file_temp_leaf(const char *name)
{
	const char *dot;
	char *leaf;

	if (name[0] != '.' || (dot = strrchr(name, '.')) == name || strlen(dot + 1) != 6)
		return NULL;
	leaf = g_strndup(name + 1, (gsize)(dot - name - 1));
	if (!file_name_ok(leaf)) {
		g_free(leaf);
		return NULL;
	}
	return leaf;
}

struct file_sweep {
	int64_t before;     /* temp files older than this go; INT64_MAX: all (prune) */
	bool dry;
	storage_stale_fn fn;
	void *arg;
	int n;              /* temp files removed */
	int rc;             /* first error */
};

/*
 * file_sweep_dir - below directory path (key-space path rel, "" for a shard):
 * unlink temp files older than sw->before, recurse into subdirectories and
 * rmdir those left empty. rmdir only ever removes an empty directory, and a
 * put whose directory vanishes between its mkdir and its temp file builds it
 * again (file_put_begin), so this never races a writer. Returns true if path
 * itself may be empty now.
 */
static bool
file_sweep_dir(struct file_sweep *sw, const char *path, const char *rel)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct stat sb;
	bool empty = true;

	if (d == NULL) {
		if (errno != ENOENT && sw->rc == STORAGE_OK)
			sw->rc = file_fail("open directory", path, errno);
		return false;
	}
	for (;;) {
		char *child, *crel, *leaf;

		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			empty = false;
			continue;
		}
		child = g_strdup_printf("%s/%s", path, de->d_name);
		if (S_ISDIR(sb.st_mode) && file_name_ok(de->d_name)) {
			crel = g_strdup_printf("%s%s/", rel, de->d_name);
			if (!file_sweep_dir(sw, child, crel) || sw->dry || rmdir(child) != 0)
				empty = false;
			g_free(crel);
		} else if (S_ISREG(sb.st_mode) && (int64_t)sb.st_mtime < sw->before &&
			   (leaf = file_temp_leaf(de->d_name)) != NULL) {
			crel = g_strconcat(rel, leaf, NULL);
			if (sw->dry || unlinkat(dirfd(d), de->d_name, 0) == 0 || errno == ENOENT) {
				sw->n++;
				if (sw->fn != NULL)
					sw->fn(sw->arg, crel, (int64_t)sb.st_size, (int64_t)sb.st_mtime);
				if (sw->dry)
					empty = false;
			} else {
				if (sw->rc == STORAGE_OK)
					sw->rc = file_fail("unlink", child, errno);
				empty = false;
			}
			g_free(crel);
			g_free(leaf);
		} else {
			empty = false; /* objects, fresh temps, anything else */
		}
		g_free(child);
	}
	closedir(d);
	return empty;
}

/* file_abort_stale - temp files of crashed puts (and of a crashed open's
 * probe) older than before, and the directories that leaves empty */
static int
file_abort_stale(void *be, int64_t before, bool dry, storage_stale_fn fn, void *arg)
{
	struct file_store *fs = be;
	struct file_sweep sw = { before, dry, fn, arg, 0, STORAGE_OK };
	DIR *d = opendir(fs->root);
	struct dirent *de;
	struct stat sb;

	if (d == NULL)
		return file_fail("open directory", fs->root, errno);
	for (;;) {
		char *path;

		de = readdir(d);
		if (de == NULL)
			break;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISREG(sb.st_mode) && strncmp(de->d_name, ".probe.", 7) == 0 &&
		    (int64_t)sb.st_mtime < before) {
			if (!dry)
				(void)unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		/* shards: 1 or 2 key characters (as in file_list) */
		if (!S_ISDIR(sb.st_mode) || !file_name_ok(de->d_name) || strlen(de->d_name) > 2)
			continue;
		path = g_strdup_printf("%s/%s", fs->root, de->d_name);
		if (file_sweep_dir(&sw, path, "") && !dry)
			(void)rmdir(path);
		g_free(path);
	}
	closedir(d);
	return sw.rc != STORAGE_OK ? sw.rc : sw.n;
}

/* file_prune - the id's directory (with any temp file a crashed put left in
 * it: the id is dead) and its shard, each if nothing else is in it */
static int
file_prune(void *be, const char *id)
{
	struct file_store *fs = be;
	struct file_sweep sw = { INT64_MAX, false, NULL, NULL, 0, STORAGE_OK };
	char *path = file_path(fs, id);
	char *rel = g_strconcat(id, "/", NULL);
	char *shard = g_path_get_dirname(path);

	if (file_sweep_dir(&sw, path, rel) && rmdir(path) == 0)
		(void)rmdir(shard); /* ENOTEMPTY: other ids live there */
	g_free(shard);
	g_free(rel);
	g_free(path);
	return sw.rc;
}

const struct storage_ops storage_file_ops = {
	.name = "file",
	.open = file_open,
	.close = file_close,
	.put_begin = file_put_begin,
	.put_write = file_put_write,
	.put_commit = file_put_commit,
	.put_abort = file_put_abort,
	.put_commit_new = file_put_commit_new,
	.get = file_get,
	.stat = file_stat,
	.del = file_del,
	.list = file_list,
	.abort_stale = file_abort_stale,
	.prune = file_prune,
};
