/*
 * notify_submit.c - running the sendmail command for notices (see
 * notify_submit.h): no shell, argv only, each run bounded by [notify]
 * timeout, up to NOTIFY_PARALLEL runs at once, fed and drained with one
 * poll loop.
 */
#include "notify_submit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"

extern char **environ;

/* one sendmail run in flight */
struct run {
	const char *rcpt;
	GByteArray *mail;   /* owned, wiped at the end */
	size_t off;         /* bytes written to its stdin */
	pid_t pid;
	int in, er;         /* our ends: its stdin, its stdout+stderr; -1 = closed */
	GString *errtext;   /* the first 4 KiB of its output */
	char *prog;
	gint64 deadline;
	bool end_is_eom;    /* the deadline is the message's, not notify_timeout */
};

/* submit_argv - the sendmail command line: the words of notify_sendmail
 * (in *cmd, which the result points into), then -i -f FROM -- RCPT; NULL
 * with *err when notify_sendmail does not parse */
static char **
submit_argv(const struct conf *c, const char *env_from, const char *rcpt, char ***cmd, char **err)
{
	GError *gerr = NULL;
	char **argv;
	int nargs = 0;

	if (!g_shell_parse_argv(c->notify_sendmail, &nargs, cmd, &gerr)) {
		*err = g_strdup_printf("[notify] sendmail: %s", gerr->message);
		g_error_free(gerr);
		return NULL;
	}
	argv = g_new0(char *, (size_t)nargs + 6);
	for (int i = 0; i < nargs; i++)
		argv[i] = (*cmd)[i];
	argv[nargs] = "-i";
	argv[nargs + 1] = "-f";
	argv[nargs + 2] = (char *)env_from;
	argv[nargs + 3] = "--";
	argv[nargs + 4] = (char *)rcpt;
	return argv;
}

/* submit_spawn - run argv with the pipe in on stdin and er on stdout and
 * stderr; the caller keeps in[1] and er[0] (and closes whatever is still
 * open). The pid, or -1 with *err. */
static pid_t
submit_spawn(char **argv, int in[2], int er[2], char **err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	int rc;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(er, O_CLOEXEC) != 0) {
		*err = g_strdup_printf("pipe: %s", g_strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, er[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(er[1]);
	in[0] = er[1] = -1;
	if (rc != 0) {
		*err = g_strdup_printf("cannot run %s: %s", argv[0], g_strerror(rc));
		return -1;
	}
	return pid;
}

/* submit_status - 0 when the command read the whole message and exited 0,
 * else -1 with *err (with the first line of its output) */
static int
submit_status(const char *prog, int status, bool read_all, GString *errtext, char **err)
{
	char *nl;

	if (!read_all) {
		*err = g_strdup_printf("%s did not read the whole message", prog);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	g_strstrip(errtext->str);
	nl = strchr(errtext->str, '\n');
	if (nl)
		*nl = '\0';
	*err = g_strdup_printf("%s exited with %d%s%s", prog,
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		*errtext->str ? ": " : "", errtext->str);
	return -1;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* run_free - close, wipe and free one run (the process is reaped) */
static void
run_free(struct run *r)
{
	close_fd(&r->in);
	close_fd(&r->er);
	if (r->mail) {
		crypto_wipe(r->mail->data, r->mail->len); /* may hold a password */
		g_byte_array_unref(r->mail);
	}
	if (r->errtext)
		g_string_free(r->errtext, TRUE);
	g_free(r->prog);
	memset(r, 0, sizeof *r);
	r->in = r->er = -1;
}

/* run_start - spawn the command for r->rcpt with r->mail; 0, or -1 with *err */
static int
run_start(struct run *r, const struct conf *c, const char *env_from, gint64 end, char **err)
{
	int in[2] = { -1, -1 }, er[2] = { -1, -1 };
	gint64 own = g_get_monotonic_time() + (gint64)c->notify_timeout * G_USEC_PER_SEC;
	char **cmd = NULL, **argv = submit_argv(c, env_from, r->rcpt, &cmd, err);

	if (argv == NULL)
		return -1;
	r->prog = g_strdup(argv[0]);
	r->errtext = g_string_new(NULL);
	r->pid = submit_spawn(argv, in, er, err);
	r->in = in[1];
	r->er = er[0];
	close_fd(&in[0]);
	close_fd(&er[1]);
	g_free(argv);
	g_strfreev(cmd);
	if (r->pid < 0)
		return -1;
	r->end_is_eom = end > 0 && end < own;
	r->deadline = r->end_is_eom ? end : own;
	fcntl(r->in, F_SETFL, O_NONBLOCK);
	return 0;
}

/* run_io - one poll round's events for r: feed its stdin, drain its output */
static void
run_io(struct run *r, short in_ev, short er_ev)
{
	char buf[512];

	if (r->in >= 0 && (in_ev & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t n = write(r->in, r->mail->data + r->off, r->mail->len - r->off);

		if (n > 0)
			r->off += (size_t)n;
		if ((n < 0 && errno != EAGAIN && errno != EINTR) || r->off == r->mail->len)
			close_fd(&r->in);
	}
	if (r->er >= 0 && (er_ev & (POLLIN | POLLERR | POLLHUP))) {
		ssize_t n = read(r->er, buf, sizeof buf);

		if (n > 0 && r->errtext->len < 4096)
			g_string_append_len(r->errtext, buf, n);
		else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			close_fd(&r->er);
	}
}

/* run_finish - reap r once both pipes are closed, or kill it at its
 * deadline: 1 = still running, 0 = submitted, -1 with *err */
static int
run_finish(struct run *r, const struct conf *c, char **err)
{
	int status = 0;

	if (r->in >= 0 || r->er >= 0) {
		if (g_get_monotonic_time() < r->deadline)
			return 1;
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
			;
		if (r->end_is_eom)
			*err = g_strdup_printf("%s had not finished when eom_timeout was reached", r->prog);
		else
			*err = g_strdup_printf("%s did not finish within %llu s", r->prog,
				(unsigned long long)c->notify_timeout);
		return -1;
	}
	while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
		;
	return submit_status(r->prog, status, r->off == r->mail->len, r->errtext, err);
}

/* poll_runs - wait (at most 1 s, never past a deadline) for events of the
 * runs in flight and handle them */
static void
poll_runs(struct run *runs, guint nruns)
{
	struct pollfd pf[2 * NOTIFY_PARALLEL];
	gint64 now = g_get_monotonic_time(), wait = 1000;

	for (guint i = 0; i < nruns; i++) {
		pf[2 * i] = (struct pollfd){ runs[i].in, POLLOUT, 0 };
		pf[2 * i + 1] = (struct pollfd){ runs[i].er, POLLIN, 0 };
		wait = MIN(wait, MAX(0, (runs[i].deadline - now + 999) / 1000));
	}
	if (poll(pf, 2 * nruns, (int)wait) < 0)
		return; /* EINTR; anything else shows as the deadline */
	for (guint i = 0; i < nruns; i++)
		run_io(&runs[i], pf[2 * i].revents, pf[2 * i + 1].revents);
}

/* reap_runs - finish the runs that are done; the first failure goes to
 * *err and *err_rcpt. The runs still going move to the front; their count. */
static guint
reap_runs(struct run *runs, guint nruns, const struct notify_submit *s, char **err_rcpt, char **err)
{
	guint keep = 0;

	for (guint i = 0; i < nruns; i++) {
		char *e = NULL;
		int rc = run_finish(&runs[i], s->conf, &e);

		if (rc > 0) {
			runs[keep++] = runs[i];
			continue;
		}
		if (rc == 0 && s->done)
			s->done(s->arg, runs[i].rcpt);
		if (rc < 0 && *err == NULL) {
			*err = e;
			*err_rcpt = g_strdup(runs[i].rcpt);
		} else {
			g_free(e);
		}
		run_free(&runs[i]);
	}
	return keep;
}

/* start_next - build and start the mail to rcpt in *r; 0, or -1 with *err */
static int
start_next(struct run *r, const struct notify_submit *s, const char *rcpt, char **err)
{
	memset(r, 0, sizeof *r);
	r->in = r->er = -1;
	r->rcpt = rcpt;
	if (s->deadline > 0 && g_get_monotonic_time() >= s->deadline) {
		*err = g_strdup("eom_timeout reached before this mail was submitted");
		return -1;
	}
	r->mail = s->build(s->arg, rcpt, err);
	if (r->mail == NULL || run_start(r, s->conf, s->env_from, s->deadline, err) != 0) {
		if (r->pid > 0) {
			kill(r->pid, SIGKILL);
			while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		run_free(r);
		return -1;
	}
	return 0;
}

int
notify_submit_each(const struct notify_submit *s, char *const *rcpts, guint n, char **err_rcpt,
	char **err)
{
	struct run runs[NOTIFY_PARALLEL];
	guint next = 0, nruns = 0;

	*err = NULL;
	*err_rcpt = NULL;
	while (next < n || nruns > 0) {
		/* after a failure no new mail starts; those in flight finish */
		while (*err == NULL && next < n && nruns < NOTIFY_PARALLEL) {
			if (start_next(&runs[nruns], s, rcpts[next], err) == 0)
				nruns++;
			else
				*err_rcpt = g_strdup(rcpts[next]);
			next++;
		}
		if (*err != NULL)
			next = n;
		if (nruns == 0)
			break;
		poll_runs(runs, nruns);
		nruns = reap_runs(runs, nruns, s, err_rcpt, err);
	}
	return *err ? -1 : 0;
}
