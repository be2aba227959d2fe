/*
 * cli_process.c - `offloadctl process`: the milter's end-of-message
 * pipeline on one message from stdin, without an MTA (the intake, with
 * early offload while stdin is read, is cli_process_read.c). The header
 * operations are applied to the original header list exactly as the MTA
 * would (hdrops_apply); an unchanged message is copied out byte for byte.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "cli.h"
#include "cli_process.h"
#include "hdrops.h"
#include "spool_tmp.h"
#include "log.h"
#include "msg.h"
#include "pipeline.h"

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
	rc = process_read(&p, &a, &raw, &raw_path, &m, &had_crlf);
	if (rc != 0)
		goto out;
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
	if (process_read_signal() != 0) /* everything stored is deleted: end by it */
		raise(process_read_signal());
	return rc;
}
