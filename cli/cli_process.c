/*
 * cli_process.c - `offloadctl process`: the milter's end-of-message
 * pipeline on one message from stdin, without an MTA. The header
 * operations are applied to the original header list exactly as the MTA
 * would (hdrops_apply); an unchanged message is copied out byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "cli.h"
#include "hdrops.h"
#include "spool_tmp.h"
#include "log.h"
#include "msg.h"
#include "pipeline.h"

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

/* copy_fd - the rest of in to out, optionally turning CRLF into LF */
static int
copy_out(FILE *in, FILE *out, bool to_lf)
{
	char buf[65536];
	size_t n;
	bool pending_cr = false;

	while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
		size_t i;

		if (!to_lf) {
			if (fwrite(buf, 1, n, out) != n)
				return -1;
			continue;
		}
		for (i = 0; i < n; i++) {
			if (pending_cr) {
				pending_cr = false;
				if (buf[i] != '\n')
					fputc('\r', out);
			}
			if (buf[i] == '\r')
				pending_cr = true;
			else
				fputc(buf[i], out);
		}
	}
	if (pending_cr)
		fputc('\r', out);
	return ferror(in) || ferror(out) ? -1 : 0;
}

static int
write_result(struct msg *m, const struct pipeline_result *res, bool to_lf)
{
	const char *path = res->body_path ? res->body_path : msg_spool_file(m);
	FILE *body;
	guint i;
	const char *nl = to_lf ? "\n" : "\r\n";

	for (i = 0; i < m->headers->len; i++) {
		const struct msg_header *h = g_ptr_array_index(m->headers, i);
		if (to_lf) {
			char **parts = g_strsplit(h->value, "\r\n", -1);
			char *v = g_strjoinv("\n", parts);

			fprintf(stdout, "%s:%s%s", h->name, v, nl);
			g_free(v);
			g_strfreev(parts);
		} else {
			fprintf(stdout, "%s:%s%s", h->name, h->value, nl);
		}
	}
	fputs(nl, stdout);
	body = path ? fopen(path, "rb") : NULL;
	if (body == NULL)
		return -1;
	if (res->body_path == NULL && fseeko(body, (off_t)m->body_offset, SEEK_SET) != 0) {
		fclose(body);
		return -1;
	}
	if (copy_out(body, stdout, to_lf) != 0) {
		fclose(body);
		return -1;
	}
	fclose(body);
	return fflush(stdout) == 0 ? 0 : -1;
}

/* spool_stdin - keep the exact input so an unchanged message goes out as it came */
static FILE *
spool_stdin(const char *dir, char **path)
{
	char buf[65536];
	size_t n;
	int fd;
	FILE *f;
	struct stat sb;

	/* a regular file on stdin is already the exact input: no copy */
	if (fstat(STDIN_FILENO, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    lseek(STDIN_FILENO, 0, SEEK_CUR) == 0) {
		*path = NULL;
		return fdopen(dup(STDIN_FILENO), "r");
	}
	/* nameless where possible: kill -9 leaves no plaintext (spool_tmp.h) */
	fd = spool_tmp_open(dir, "in", path);
	if (fd < 0) {
		fprintf(stderr, "offloadctl: cannot create a file in %s: %s\n", dir, g_strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w+");
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
		if (fwrite(buf, 1, n, f) != n)
			break;
	if (ferror(stdin) || ferror(f) || fflush(f) != 0) {
		fprintf(stderr, "offloadctl: cannot spool the input: %s\n", g_strerror(errno));
		fclose(f);
		return NULL;
	}
	rewind(f);
	return f;
}

struct process_args {
	const char *conf_path, *sender, *qid;
	GPtrArray *rcpts; /* char *: --rcpt, in order */
};

/* process_parse_args - -1 (message printed) on an unknown argument */
static int
process_parse_args(struct process_args *a, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			a->conf_path = argv[++i];
		else if (strcmp(argv[i], "--sender") == 0 && i + 1 < argc)
			a->sender = argv[++i];
		else if (strcmp(argv[i], "--rcpt") == 0 && i + 1 < argc)
			g_ptr_array_add(a->rcpts, g_strdup(argv[++i]));
		else if (strcmp(argv[i], "--queue-id") == 0 && i + 1 < argc)
			a->qid = argv[++i];
		else {
			fprintf(stderr, "offloadctl process: unknown argument '%s'\n", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* process_read - spool stdin (*raw, *raw_path) and parse it into *m; 0 or an exit status */
static int
process_read(const struct conf *c, FILE **raw, char **raw_path, struct msg **m, bool *had_crlf)
{
	GError *err = NULL;
	int rc = 0;

	*raw = spool_stdin(c->spool_dir, raw_path);
	if (*raw == NULL) {
		fprintf(stderr, "offloadctl: cannot read the input: %s\n", g_strerror(errno));
		return EX_TEMPFAIL;
	}
	*m = msg_new(c->spool_dir, 0, &err);
	if (*m == NULL) {
		fprintf(stderr, "offloadctl: %s\n", err->message);
		rc = EX_TEMPFAIL;
	} else if (msg_read_stream(*m, *raw, had_crlf, &err) != 0) {
		fprintf(stderr, "offloadctl: %s\n", err->message);
		/* only a malformed message is the input's fault; a spool that
		 * cannot be written (disk full) or a read error defers */
		rc = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA) ? EX_DATAERR : EX_TEMPFAIL;
	}
	g_clear_error(&err);
	return rc;
}

/* process_envelope - queue id, sender and recipients as the MTA would give
 * them: from the arguments, else from From and To/Cc/Bcc */
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

/* process_run - the pipeline on m, then the message (accept) or the SMTP
 * reply (reject, tempfail); the exit status */
static int
process_run(struct pipeline *p, struct msg *m, FILE *raw, bool had_crlf)
{
	struct pipeline_result res = { 0 };
	int rc;

	pipeline_run(p, m, &res);
	fprintf(stderr, "%s\n", res.summary ? res.summary : "(no summary)");
	switch (res.verdict) {
	case PIPELINE_ACCEPT:
		if (res.quarantine != NULL) { /* the milter would have the MTA hold it */
			fprintf(stderr, "quarantine: %s\n", res.quarantine);
			rc = EX_UNAVAILABLE;
			break;
		}
		if (res.hdr_ops->len == 0 && res.body_path == NULL) {
			rewind(raw);
			rc = copy_out(raw, stdout, false) == 0 && fflush(stdout) == 0 ? 0 : EX_IOERR;
			break;
		}
		hdrops_apply(res.hdr_ops, m);
		rc = write_result(m, &res, !had_crlf) == 0 ? 0 : EX_IOERR;
		break;
	case PIPELINE_REJECT:
		fprintf(stderr, "%s %s %s%s%s\n", res.rcode, res.xcode, res.reply_de,
			res.reply_en ? " / " : "", res.reply_en ? res.reply_en : "");
		rc = EX_UNAVAILABLE;
		break;
	default:
		fprintf(stderr, "%s %s %s / %s\n", res.rcode, res.xcode, res.reply_de, res.reply_en);
		rc = EX_TEMPFAIL;
		break;
	}
	pipeline_result_clear(&res);
	return rc;
}

int
cli_process(const char *conf_path, int argc, char **argv)
{
	struct process_args a = { .conf_path = conf_path };
	struct conf *c = NULL;
	struct pipeline p;
	struct msg *m = NULL;
	char *raw_path = NULL;
	FILE *raw = NULL;
	GError *err = NULL;
	bool had_crlf = true, have_pipeline = false;
	int rc;

	a.rcpts = g_ptr_array_new_with_free_func(g_free);
	if (process_parse_args(&a, argc, argv) != 0) {
		rc = EX_USAGE;
		goto out;
	}
	c = cli_load_conf(a.conf_path);
	if (c == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	rc = pipeline_init(&p, c, &err);
	if (rc != 0) {
		fprintf(stderr, "offloadctl: %s\n", err->message);
		/* a bad setting is a config error (78); anything else defers like the milter */
		rc = rc == PIPELINE_ECONFIG ? EX_CONFIG : EX_TEMPFAIL;
		goto out;
	}
	have_pipeline = true;
	rc = process_read(c, &raw, &raw_path, &m, &had_crlf);
	if (rc != 0)
		goto out;
	process_envelope(m, &a);
	rc = process_run(&p, m, raw, had_crlf);
out:
	msg_free(m);
	if (raw)
		fclose(raw);
	if (raw_path) {
		spool_tmp_unlink(raw_path);
		g_free(raw_path);
	}
	if (have_pipeline)
		pipeline_fini(&p);
	conf_free(c);
	g_ptr_array_free(a.rcpts, TRUE);
	g_clear_error(&err);
	return rc;
}
