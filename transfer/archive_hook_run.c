/*
 * archive_hook_run.c - the runner side of the DMS hook (archive_hook.h),
 * called by `offloadctl archive run`: for each spool entry that is due, run
 * [archive] command with the entry as stdin, in its own process group, for
 * at most [archive] timeout (then the whole group is killed). Exit 0 removes
 * the entry; anything else keeps it and moves its mtime (the next attempt)
 * forward: the entry waits as long as its transfer has existed, at least one
 * minute, at most one hour. Every attempt is one audit line (event=archive).
 *
 * Once per transfer with several runners (nodes sharing a spool, a timer run
 * overlapping a manual one): an entry is only run under an exclusive flock
 * on it, taken without waiting, and only if the name still points at the
 * locked file afterwards (a runner that finished removed it while we
 * waited). The hook inherits the lock through its stdin, so a runner killed
 * mid-run leaves the entry locked until the hook ends.
 * Memory: per entry, freed before the next. Not for threaded callers (fork).
 */
#include "archive_hook.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

#include "log.h"
#include "transfer.h"

#define HOOK_BACKOFF_MIN 60
#define HOOK_BACKOFF_MAX 3600
#define HOOK_MAX_ENTRY (1024 * 1024)

static GQuark
hook_quark(void)
{
	return g_quark_from_static_string("offload-archive-hook");
}

/* hook_created - the "created" time of an entry's description, 0 if unreadable */
static int64_t
hook_created(int fd)
{
	JsonParser *p = json_parser_new();
	JsonObject *o;
	GDateTime *d;
	char *buf = g_malloc(HOOK_MAX_ENTRY);
	ssize_t n = pread(fd, buf, HOOK_MAX_ENTRY, 0);
	int64_t t = 0;

	if (n > 0 && json_parser_load_from_data(p, buf, n, NULL) && json_parser_get_root(p) != NULL &&
	    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		o = json_node_get_object(json_parser_get_root(p));
		d = g_date_time_new_from_iso8601(json_object_get_string_member_with_default(o,
			"created", ""), NULL);
		if (d != NULL) {
			t = g_date_time_to_unix(d);
			g_date_time_unref(d);
		}
	}
	g_free(buf);
	g_object_unref(p);
	return t;
}

/* hook_spawn - argv with stdin = fd, stdout = stderr, in a new process group */
static pid_t
hook_spawn(char **argv, char **envp, int fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	pid_t pid = -1;
	int e;

	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGCHLD);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 0);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
		POSIX_SPAWN_SETSIGDEF);
	if (lseek(fd, 0, SEEK_SET) == 0) {
		e = posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
		if (e != 0) {
			log_error("archive hook: cannot run %s: %s", argv[0], g_strerror(e));
			pid = -1;
		}
	}
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* hook_wait - the exit status, or -1 when the timeout killed the process group */
static int
hook_wait(pid_t pid, uint64_t timeout)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout * G_USEC_PER_SEC;
	int status = 0;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return status;
		if (g_get_monotonic_time() >= deadline)
			break;
		g_usleep(50 * 1000);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

struct hook_job {
	const struct conf *c;
	struct audit *au;
	char **argv, **envp;
	bool force;
	struct archive_hook_stats *st;
};

static void
hook_audit(struct hook_job *j, const char *id, const char *action, const char *reasons)
{
	struct audit_event ev = { 0 };

	ev.event = "archive";
	ev.size = -1;
	ev.action = action;
	ev.reasons = reasons;
	ev.transfer = id;
	if (j->au != NULL)
		audit_write(j->au, &ev);
}

/* hook_attempt - run the hook on locked entry fd (path); the outcome audited */
static void
hook_attempt(struct hook_job *j, const char *id, const char *path, int fd)
{
	pid_t pid = hook_spawn(j->argv, j->envp, fd);
	int status = pid > 0 ? hook_wait(pid, j->c->archive_timeout) : 0;
	char *why = NULL;
	int64_t now = (int64_t)time(NULL), created, delay;
	struct timespec ts[2];

	j->st->ran++;
	if (pid > 0 && status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (unlink(path) != 0)
			log_error("archive hook: cannot remove %s: %s", path, g_strerror(errno));
		j->st->ok++;
		hook_audit(j, id, "archived", NULL);
		return;
	}
	if (pid <= 0)
		why = g_strdup("cannot start the command");
	else if (status < 0)
		why = g_strdup_printf("timeout after %llus, process group killed",
			(unsigned long long)j->c->archive_timeout);
	else if (WIFEXITED(status))
		why = g_strdup_printf("exit %d", WEXITSTATUS(status));
	else
		why = g_strdup_printf("killed by signal %d", WTERMSIG(status));
	created = hook_created(fd);
	delay = created > 0 && now > created ? now - created : 0;
	delay = CLAMP(delay, HOOK_BACKOFF_MIN, HOOK_BACKOFF_MAX);
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(now + delay);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (futimens(fd, ts) != 0)
		log_warning("archive hook: cannot set the next attempt of %s: %s", path, g_strerror(errno));
	log_warning("archive hook: transfer %s: %s; retried in %llds", id, why, (long long)delay);
	j->st->failed++;
	hook_audit(j, id, status < 0 && pid > 0 ? "timeout" : "failed", why);
	g_free(why);
}

/* hook_entry - claim entry DIR/ID (flock, same inode) and run it if it is due */
static void
hook_entry(struct hook_job *j, const char *dir, const char *id)
{
	char *path = g_strdup_printf("%s/%s", dir, id);
	struct stat fs, ps;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		if (errno != ENOENT) /* ENOENT: another runner finished it */
			log_error("archive hook: cannot open %s: %s", path, g_strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		j->st->busy++;
		goto out;
	}
	if (fstat(fd, &fs) != 0 || stat(path, &ps) != 0 || fs.st_ino != ps.st_ino ||
	    fs.st_dev != ps.st_dev || !S_ISREG(fs.st_mode))
		goto out; /* removed (done) or replaced while we waited for the lock */
	if (!j->force && fs.st_mtime > time(NULL)) {
		j->st->deferred++;
		goto out;
	}
	hook_attempt(j, id, path, fd);
out:
	if (fd >= 0)
		close(fd);
	g_free(path);
}

/* hook_entries - the entry names of dir (transfer ids), sorted; NULL if dir is missing */
static GPtrArray *
hook_entries(const char *dir, GError **err)
{
	GPtrArray *a;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		if (errno != ENOENT)
			g_set_error(err, hook_quark(), 1, "spool %s: %s", dir, g_strerror(errno));
		return NULL;
	}
	a = g_ptr_array_new_with_free_func(g_free);
	while ((de = readdir(d)) != NULL)
		if (transfer_valid_id(de->d_name))
			g_ptr_array_add(a, g_strdup(de->d_name));
	closedir(d);
	g_ptr_array_sort(a, (GCompareFunc)g_strcmp0);
	return a;
}

int
archive_hook_run(const struct conf *c, const char *conf_path, struct audit *au, bool force,
	struct archive_hook_stats *st, GError **err)
{
	struct hook_job j = { .c = c, .au = au, .force = force, .st = st };
	char *dir = archive_hook_spool_dir(c);
	GPtrArray *names = NULL;
	GError *perr = NULL;
	int argc = 0, rc = -1;
	guint i;

	memset(st, 0, sizeof *st);
	if (!archive_hook_enabled(c)) {
		g_set_error(err, hook_quark(), 1, "[archive] command is not set");
		goto out;
	}
	if (!g_shell_parse_argv(c->archive_command, &argc, &j.argv, &perr) || j.argv[0][0] != '/') {
		g_set_error(err, hook_quark(), 1, "[archive] command: %s",
			perr != NULL ? perr->message : "the program must be an absolute path");
		g_clear_error(&perr);
		goto out;
	}
	names = hook_entries(dir, &perr);
	if (perr != NULL) {
		g_propagate_error(err, perr);
		goto out;
	}
	j.envp = g_get_environ();
	if (conf_path != NULL)
		j.envp = g_environ_setenv(j.envp, "OFFLOAD_CONFIG", conf_path, TRUE);
	for (i = 0; names != NULL && i < names->len; i++)
		hook_entry(&j, dir, g_ptr_array_index(names, i));
	rc = 0;
out:
	if (names != NULL)
		g_ptr_array_free(names, TRUE);
	g_strfreev(j.envp);
	g_strfreev(j.argv);
	g_free(dir);
	return rc;
}
