/*
 * cli_open.c - `offloadctl open LINK --output DIR`: decrypt a transfer
 * straight from storage and write the original files under their sanitised
 * names. Each file is written to a hidden temporary name and renamed only
 * after its last segment, size and SHA-256 verified: fail closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <gio/gio.h>

#include "cli.h"
#include "crypto.h"
#include "filename.h"
#include "keys.h"
#include "log.h"
#include "storage.h"
#include "transfer.h"
#include "transfer_stream.h"

static int
write_out(void *arg, const void *buf, size_t len)
{
	FILE *f = arg;

	return fwrite(buf, 1, len, f) == len ? 0 : 1;
}

struct open_args {
	const char *conf_path, *link, *outdir, *pwfile;
};

/* open_parse_args - LINK --output DIR [--config FILE] [--password-file FILE]; -1 on usage */
static int
open_parse_args(struct open_args *a, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			a->conf_path = argv[++i];
		else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
			a->outdir = argv[++i];
		else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
			a->pwfile = argv[++i];
		else if (argv[i][0] != '-' && a->link == NULL)
			a->link = argv[i];
		else
			return -1;
	}
	return a->link != NULL && a->outdir != NULL ? 0 : -1;
}

/* open_transfer - read the password file if any and open the transfer;
 * 0 or an exit status (message printed) */
static int
open_transfer(struct storage *st, const struct key32 *dk, const char *id, const char *secret,
	const char *pwfile, struct transfer **t)
{
	char *password = NULL;
	GError *err = NULL;
	int rc = 0;

	if (pwfile != NULL) {
		password = cli_read_password_file("open", pwfile);
		if (password == NULL)
			return EX_NOINPUT;
	}
	*t = transfer_open_pw(st, dk, id, secret, password, &err);
	if (*t == NULL) {
		fprintf(stderr, "offloadctl open: %s\n", err->message);
		rc = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? EX_NOINPUT :
		     g_error_matches(err, G_IO_ERROR, G_IO_ERROR_FAILED) ? EX_TEMPFAIL : EX_DATAERR;
		g_error_free(err);
	}
	crypto_free_string(password);
	return rc;
}

/* cli_open_write_file - file i of t into outdir: a hidden temporary name, renamed
 * once transfer_read_file() verified it; 0 or an exit status (message printed) */
int
cli_open_write_file(struct transfer *t, guint i, const char *outdir)
{
	const struct transfer_file *f = g_ptr_array_index(t->files, i);
	char *name = filename_safe(f->name, i);
	char *final = cli_unique_path(outdir, name);
	char *tmp = g_strdup_printf("%s/.offload-%s-%u.part", outdir, t->id, i);
	FILE *out = fopen(tmp, "wb");
	GError *err = NULL;
	int frc = -1, rc = 0;

	if (out == NULL) {
		fprintf(stderr, "offloadctl open: %s: %s\n", tmp, g_strerror(errno));
	} else {
		frc = transfer_read_file(t, i, write_out, out, &err);
		if (fclose(out) != 0 && frc == 0) {
			fprintf(stderr, "offloadctl open: %s: %s\n", tmp, g_strerror(errno));
			frc = -1;
		}
		if (frc != 0 && err)
			fprintf(stderr, "offloadctl open: %s\n", err->message);
		if (frc == 0 && rename(tmp, final) != 0) {
			fprintf(stderr, "offloadctl open: %s: %s\n", final, g_strerror(errno));
			frc = -1;
		}
		if (frc != 0)
			unlink(tmp);
	}
	if (frc == 0)
		printf("%s\t%llu\t%s\n", final, (unsigned long long)f->size, f->sha256);
	else
		rc = err && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_FAILED) ? EX_TEMPFAIL : EX_DATAERR;
	g_clear_error(&err);
	g_free(name);
	g_free(final);
	g_free(tmp);
	return rc;
}

int
cli_open(const char *conf_path, int argc, char **argv)
{
	struct open_args a = { .conf_path = conf_path };
	char id[ENVELOPE_ID_TEXT_LEN + 1], secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct transfer *t = NULL;
	struct key32 dk = { 0 };
	guint i;
	int rc;

	if (open_parse_args(&a, argc, argv) != 0) {
		fprintf(stderr, "usage: offloadctl open LINK [--config FILE] [--password-file FILE] --output DIR\n");
		return EX_USAGE;
	}
	if (transfer_parse_link(a.link, id, secret) != 0) {
		fprintf(stderr, "offloadctl open: not a transfer link (…/t/<id>#<secret>)\n");
		rc = EX_DATAERR;
		goto out;
	}
	c = cli_load_conf(a.conf_path);
	if (c == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	rc = cli_open_store("open", c, &dk, &st);
	if (rc == 0)
		rc = open_transfer(st, &dk, id, secret, a.pwfile, &t);
	if (rc != 0)
		goto out;
	if (g_mkdir_with_parents(a.outdir, 0700) != 0) {
		fprintf(stderr, "offloadctl open: %s: %s\n", a.outdir, g_strerror(errno));
		rc = EX_CANTCREAT;
		goto out;
	}
	for (i = 0; i < t->files->len && rc == 0; i++)
		rc = cli_open_write_file(t, i, a.outdir);
out:
	crypto_wipe(secret, sizeof secret);
	transfer_free(t);
	storage_free(st);
	keys_wipe(&dk);
	conf_free(c);
	return rc;
}
