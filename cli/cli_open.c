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
#include "storage_keyid.h"
#include "transfer.h"
#include "transfer_stream.h"

static int
write_out(void *arg, const void *buf, size_t len)
{
	FILE *f = arg;

	return fwrite(buf, 1, len, f) == len ? 0 : 1;
}

static char *
unique_path(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL);
	int n;

	for (n = 2; g_file_test(path, G_FILE_TEST_EXISTS); n++) {
		const char *dot = strrchr(name, '.');
		char *alt = dot && dot != name ?
			g_strdup_printf("%.*s-%d%s", (int)(dot - name), name, n, dot) :
			g_strdup_printf("%s-%d", name, n);

		g_free(path);
		path = g_build_filename(dir, alt, NULL);
		g_free(alt);
	}
	return path;
}

int
cli_open(const char *conf_path, int argc, char **argv)
{
	const char *link = NULL, *outdir = NULL, *pwfile = NULL;
	char *password = NULL;
	char id[ENVELOPE_ID_TEXT_LEN + 1], secret[ENVELOPE_SECRET_TEXT_LEN + 1];
	struct conf *c = NULL;
	struct storage *st = NULL;
	struct transfer *t = NULL;
	struct key32 dk = { 0 };
	GError *err = NULL;
	guint i;
	int rc = EX_USAGE;

	for (i = 0; i < (guint)argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < (guint)argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "--output") == 0 && i + 1 < (guint)argc)
			outdir = argv[++i];
		else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < (guint)argc)
			pwfile = argv[++i];
		else if (argv[i][0] != '-' && link == NULL)
			link = argv[i];
		else
			goto usage;
	}
	if (link == NULL || outdir == NULL)
		goto usage;
	if (transfer_parse_link(link, id, secret) != 0) {
		fprintf(stderr, "offloadctl open: not a transfer link (…/t/<id>#<secret>)\n");
		rc = EX_DATAERR;
		goto out;
	}
	c = cli_load_conf(conf_path);
	if (c == NULL) {
		rc = EX_CONFIG;
		goto out;
	}
	rc = EX_TEMPFAIL;
	if (keys_load(c->deployment_key_file, &dk, &err) != 0 ||
	    (st = storage_open_checked(c, &dk, false, &err)) == NULL) {
		fprintf(stderr, "offloadctl open: %s\n", err->message);
		if (g_error_matches(err, STORAGE_ERROR, STORAGE_KEYID_EMISMATCH))
			rc = EX_CONFIG; /* another deployment's store */
		goto out;
	}
	if (pwfile && (password = cli_read_password_file("open", pwfile)) == NULL) {
		rc = EX_NOINPUT;
		goto out;
	}
	t = transfer_open_pw(st, &dk, id, secret, password, &err);
	if (t == NULL) {
		fprintf(stderr, "offloadctl open: %s\n", err->message);
		rc = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? EX_NOINPUT :
		     g_error_matches(err, G_IO_ERROR, G_IO_ERROR_FAILED) ? EX_TEMPFAIL : EX_DATAERR;
		goto out;
	}
	if (g_mkdir_with_parents(outdir, 0700) != 0) {
		fprintf(stderr, "offloadctl open: %s: %s\n", outdir, g_strerror(errno));
		rc = EX_CANTCREAT;
		goto out;
	}
	for (i = 0; i < t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(t->files, i);
		char *name = filename_safe(f->name, i);
		char *final = unique_path(outdir, name);
		char *tmp = g_strdup_printf("%s/.offload-%s-%u.part", outdir, t->id, i);
		FILE *out = fopen(tmp, "wb");
		int frc = -1;

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
		g_free(name);
		g_free(final);
		g_free(tmp);
		if (frc != 0) {
			rc = err && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_FAILED) ? EX_TEMPFAIL : EX_DATAERR;
			goto out;
		}
	}
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: offloadctl open LINK [--config FILE] [--password-file FILE] --output DIR\n");
out:
	crypto_wipe(secret, sizeof secret);
	crypto_free_string(password);
	transfer_free(t);
	storage_free(st);
	keys_wipe(&dk);
	conf_free(c);
	g_clear_error(&err);
	return rc;
}
