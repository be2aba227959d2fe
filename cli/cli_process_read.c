/*
 * cli_process_read.c - `offloadctl process` intake: stdin is read once,
 * kept byte for byte (an unchanged message goes out as it came) and parsed
 * into the msg as it is read. With [milter] early_offload on, the body goes
 * through early_body, the milter's body-chunk path (early.h): the first big
 * base64 leaf is decoded, hashed, encrypted and stored while the rest of
 * stdin is still being read, and end of input adopts it. SIGINT, SIGTERM
 * and SIGHUP while stdin is read end the read; everything stored is deleted
 * (msg_free) before offloadctl ends by that signal (cli_process).
 */
#include "cli_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gmime/gmime.h>

#include "early.h"
#include "spool_tmp.h"

#define TEE_BLOCK (64 * 1024)
#define COPY_BUF (1024 * 1024) /* the kept input's stdio buffer; stdin's pipe size */

static volatile sig_atomic_t read_signal; /* the signal that ended the read */
static const int read_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void
on_signal(int sig)
{
	read_signal = sig;
}

/* signals_catch - while stdin is read, a signal ends the read (no SA_RESTART:
 * a blocking read returns EINTR); on false the default actions again */
static void
signals_catch(bool on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on ? on_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < G_N_ELEMENTS(read_signals); i++)
		sigaction(read_signals[i], &sa, NULL);
}

int
process_read_signal(void)
{
	return read_signal;
}

/* ---- the input, read once and kept ------------------------------------ */

struct tee {
	int fd;       /* stdin */
	int copy;     /* the kept input's descriptor; -1 when stdin is a regular file */
	char *buf;    /* what is not yet written to copy (COPY_BUF) */
	size_t len;
	int copy_err; /* errno of a failed copy write */
	char in[TEE_BLOCK]; /* the FILE's buffer (glibc's setvbuf ignores a size without one) */
};

/* tee_flush - the copy's buffer to its file; false (t->copy_err) on error */
static bool
tee_flush(struct tee *t)
{
	size_t done = 0;

	while (t->copy_err == 0 && done < t->len) {
		ssize_t n = write(t->copy, t->buf + done, t->len - done);

		if (n > 0)
			done += (size_t)n;
		else if (n == 0 || errno != EINTR)
			t->copy_err = n == 0 ? EIO : errno;
	}
	t->len = 0;
	return t->copy_err == 0;
}

static ssize_t
tee_read(void *cookie, char *buf, size_t size)
{
	struct tee *t = cookie;
	ssize_t n;

	do {
		if (read_signal) {
			errno = EINTR;
			return -1;
		}
		n = read(t->fd, buf, size);
	} while (n < 0 && errno == EINTR);
	if (n > 0 && t->copy >= 0) {
		/* one write per MiB, not one per pipe read */
		if (t->len + (size_t)n > COPY_BUF && !tee_flush(t)) {
			errno = t->copy_err;
			return -1;
		}
		memcpy(t->buf + t->len, buf, (size_t)n);
		t->len += (size_t)n;
	}
	return n;
}

/* tee_open - stdin as a FILE whose reads also go to the copy */
static FILE *
tee_open(struct tee *t)
{
	cookie_io_functions_t io = { .read = tee_read };
	FILE *f = fopencookie(t, "r", io);

	if (f != NULL)
		setvbuf(f, t->in, _IOFBF, sizeof t->in);
	return f;
}

/* raw_open - where the exact input is kept: a regular file on stdin is
 * already that (no copy, t->copy -1); else a nameless private file
 * (spool_tmp.h: kill -9 leaves no plaintext) that t->copy writes */
static FILE *
raw_open(const char *dir, char **path, struct tee *t)
{
	struct stat sb;
	int fd;
	FILE *f;

	t->copy = -1;
	if (fstat(STDIN_FILENO, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    lseek(STDIN_FILENO, 0, SEEK_CUR) == 0) {
		*path = NULL;
		return fdopen(dup(STDIN_FILENO), "r");
	}
	fd = spool_tmp_open(dir, "in", path);
	if (fd < 0) {
		fprintf(stderr, "offloadctl: cannot create a file in %s: %s\n", dir, g_strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w+"); /* read after the copy is written (no stdio I/O before) */
	if (f != NULL) {
		t->copy = fd;
		t->buf = g_malloc(COPY_BUF);
	}
	/* a pipe on stdin: fewer, larger reads when the writer gets ahead; no
	 * matter if refused */
	if (S_ISFIFO(sb.st_mode))
		(void)fcntl(STDIN_FILENO, F_SETPIPE_SZ, COPY_BUF);
	return f;
}

/* ---- the envelope ------------------------------------------------------ */

/* add_addresses - envelope addresses from an address header (To/Cc/Bcc/From) */
static void
add_addresses(GPtrArray *out, const char *raw, bool first_only)
{
	InternetAddressList *list;
	int i, j;

	if (raw == NULL)
		return;
	list = internet_address_list_parse(NULL, raw);
	if (list == NULL)
		return;
	for (i = 0; i < internet_address_list_length(list); i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			g_ptr_array_add(out, g_strdup(internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia))));
		} else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			InternetAddressList *members = internet_address_group_get_members(
				INTERNET_ADDRESS_GROUP(ia));

			for (j = 0; members && j < internet_address_list_length(members); j++) {
				InternetAddress *m = internet_address_list_get_address(members, j);

				if (INTERNET_ADDRESS_IS_MAILBOX(m))
					g_ptr_array_add(out, g_strdup(internet_address_mailbox_get_addr(
						INTERNET_ADDRESS_MAILBOX(m))));
			}
		}
		if (first_only && out->len)
			break;
	}
	g_object_unref(list);
}

/* process_envelope - queue id, sender and recipients as the MTA would give
 * them: from the arguments, else from From and To/Cc/Bcc. Called when the
 * header block is read, before the first body byte (early offload decides
 * on the direction then) */
static void
process_envelope(struct msg *m, const struct process_args *a)
{
	static const char *const hdrs[] = { "To", "Cc", "Bcc" };
	size_t k;
	guint i;
	int n;

	m->env.queue_id = g_strdup(a->qid ? a->qid : "offloadctl");
	m->env.local_submission = true; /* DECISIONS.md §13: counts as trusted */
	if (a->sender) {
		m->env.sender = g_strdup(a->sender);
	} else {
		GPtrArray *from = g_ptr_array_new_with_free_func(g_free);

		add_addresses(from, msg_header_get(m, "From", 0), true);
		m->env.sender = g_strdup(from->len ? g_ptr_array_index(from, 0) : "");
		g_ptr_array_free(from, TRUE);
	}
	if (a->rcpts->len == 0) {
		for (k = 0; k < G_N_ELEMENTS(hdrs); k++)
			for (n = 0; msg_header_get(m, hdrs[k], n); n++)
				add_addresses(a->rcpts, msg_header_get(m, hdrs[k], n), false);
	}
	for (i = 0; i < a->rcpts->len; i++)
		msg_add_rcpt(m, g_ptr_array_index(a->rcpts, i));
}

struct intake {
	struct pipeline *p;
	const struct process_args *a;
};

static void
on_headers(struct msg *m, void *arg)
{
	process_envelope(m, ((struct intake *)arg)->a);
}

/* on_body - the milter's body-chunk path ([milter] early_offload) */
static int
on_body(struct msg *m, const void *buf, size_t len, void *arg)
{
	return early_body(((struct intake *)arg)->p, m, buf, len);
}

/* ---- the read ---------------------------------------------------------- */

/* drain - the rest of in, as today's intake read it all before judging */
static void
drain(FILE *in)
{
	char buf[TEE_BLOCK];

	while (fread(buf, 1, sizeof buf, in) > 0)
		;
}

/* read_into - stdin through the tee t into m; 0 or an exit status */
static int
read_into(struct pipeline *p, const struct process_args *a, struct tee *t, struct msg *m,
	bool *had_crlf)
{
	struct intake ctx = { p, a };
	struct msg_intake mi = { .headers = on_headers, .arg = &ctx };
	GError *err = NULL;
	FILE *in = tee_open(t);
	int rc = 0;

	if (in == NULL) {
		fprintf(stderr, "offloadctl: cannot read the input: %s\n", g_strerror(errno));
		return EX_TEMPFAIL;
	}
	if (p->conf->early_offload)
		mi.body = on_body;
	if (msg_read_stream_with(m, in, &mi, had_crlf, &err) != 0) {
		if (!read_signal && t->copy_err == 0)
			drain(in); /* the whole input is read before it is judged, as always */
		if (read_signal) {
			rc = EX_TEMPFAIL; /* cli_process ends by the signal */
		} else if (t->copy_err != 0) {
			fprintf(stderr, "offloadctl: cannot spool the input: %s\n", g_strerror(t->copy_err));
			fprintf(stderr, "offloadctl: cannot read the input: %s\n", g_strerror(t->copy_err));
			rc = EX_TEMPFAIL;
		} else {
			fprintf(stderr, "offloadctl: %s\n", err->message);
			/* only a malformed message is the input's fault; a spool that
			 * cannot be written (disk full) or a read error defers */
			rc = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA) ? EX_DATAERR : EX_TEMPFAIL;
		}
	}
	g_clear_error(&err);
	fclose(in);
	return rc;
}

int
process_read(struct pipeline *p, const struct process_args *a, FILE **raw, char **raw_path,
	struct msg **m, bool *had_crlf)
{
	struct tee *t = g_new0(struct tee, 1);
	int rc;

	t->fd = STDIN_FILENO;
	*raw = raw_open(p->conf->spool_dir, raw_path, t);
	if (*raw == NULL) {
		fprintf(stderr, "offloadctl: cannot read the input: %s\n", g_strerror(errno));
		g_free(t);
		return EX_TEMPFAIL;
	}
	*m = msg_new(p->conf->spool_dir, 0, NULL); /* cannot fail (msg.h) */
	signals_catch(true);
	rc = read_into(p, a, t, *m, had_crlf);
	signals_catch(false);
	if (read_signal)
		rc = EX_TEMPFAIL; /* after the last read: ends by it all the same */
	if (rc == 0 && t->copy >= 0 && !tee_flush(t)) {
		fprintf(stderr, "offloadctl: cannot spool the input: %s\n", g_strerror(t->copy_err));
		fprintf(stderr, "offloadctl: cannot read the input: %s\n", g_strerror(t->copy_err));
		rc = EX_TEMPFAIL;
	}
	if (rc == 0)
		rewind(*raw);
	g_free(t->buf);
	g_free(t);
	return rc;
}
