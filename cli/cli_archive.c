/*
 * cli_archive.c - `offloadctl archive run [--force]`: run the DMS hook
 * ([archive] command) for the queued transfers (transfer/archive_hook_run.c;
 * started by offload-archive.timer), and `offloadctl archive get KEY`: one
 * stored object's raw (encrypted) bytes on stdout, how a hook fetches the
 * objects of an s3 or webdav store with the gateway's [storage] settings.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "archive_hook.h"
#include "audit.h"
#include "cli.h"
#include "fdio.h"
#include "storage.h"
#include "transfer.h"

static int
archive_run(const char *conf_path, int argc, char **argv)
{
	struct archive_hook_stats s;
	struct conf *c = NULL;
	struct audit *au = NULL;
	GError *err = NULL;
	bool force = false;
	int i, rc = EX_USAGE;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else
			goto usage;
	}
	if (conf_path == NULL && g_file_test(CONF_DEFAULT_PATH, G_FILE_TEST_EXISTS))
		conf_path = CONF_DEFAULT_PATH;
	rc = EX_CONFIG;
	c = cli_load_conf(conf_path);
	if (c == NULL)
		goto out;
	au = audit_open(c, &err);
	if (au == NULL || archive_hook_run(c, conf_path, au, force, &s, &err) != 0) {
		fprintf(stderr, "offloadctl archive run: %s\n", err->message);
		goto out;
	}
	printf("archive: ran %u, archived %u, failed %u, waiting %u, busy %u\n",
		s.ran, s.ok, s.failed, s.deferred, s.busy);
	/* 75: entries left for the next run */
	rc = s.failed > 0 ? EX_TEMPFAIL : 0;
out:
	g_clear_error(&err);
	audit_close(au);
	conf_free(c);
	return rc;
usage:
	fprintf(stderr, "usage: offloadctl [-c FILE] archive run [--force]\n");
	return rc;
}

/* archive_key_ok - "<id>/m", "<id>/e" or "<id>/<decimal index>" */
static bool
archive_key_ok(const char *key)
{
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	const char *rest;

	if (strlen(key) < ENVELOPE_ID_TEXT_LEN + 2 || key[ENVELOPE_ID_TEXT_LEN] != '/')
		return false;
	memcpy(id, key, ENVELOPE_ID_TEXT_LEN);
	id[ENVELOPE_ID_TEXT_LEN] = '\0';
	rest = key + ENVELOPE_ID_TEXT_LEN + 1;
	if (!transfer_valid_id(id))
		return false;
	if (strcmp(rest, "m") == 0 || strcmp(rest, "e") == 0)
		return true;
	return strlen(rest) <= 9 && strspn(rest, "0123456789") == strlen(rest);
}

static int
archive_sink(void *arg, const void *buf, size_t len)
{
	return fdio_write_all(*(int *)arg, buf, len) == 0 ? 0 : 1;
}

static int
archive_get(const char *conf_path, int argc, char **argv)
{
	struct conf *c = NULL;
	struct storage *st = NULL;
	GError *err = NULL;
	int out = 1, src, rc = EX_USAGE;

	if (argc != 1 || !archive_key_ok(argv[0])) {
		fprintf(stderr, "usage: offloadctl [-c FILE] archive get ID/m|ID/e|ID/N > FILE\n");
		return rc;
	}
	rc = EX_CONFIG;
	c = cli_load_conf(conf_path);
	if (c == NULL)
		goto out;
	st = storage_open(c, &err);
	if (st == NULL) {
		fprintf(stderr, "offloadctl archive get: storage: %s\n", err->message);
		rc = err->code == STORAGE_ETEMP ? EX_TEMPFAIL : EX_CONFIG;
		goto out;
	}
	src = storage_get(st, argv[0], 0, STORAGE_TO_END, archive_sink, &out);
	rc = src == STORAGE_OK ? 0 : src == STORAGE_ENOENT ? EX_NOINPUT :
		src == STORAGE_ESTOP ? EX_IOERR : src == STORAGE_ETEMP ? EX_TEMPFAIL : EX_UNAVAILABLE;
	if (rc != 0)
		fprintf(stderr, "offloadctl archive get: %s: %s\n", argv[0],
			src == STORAGE_ESTOP ? g_strerror(errno) : storage_strerror(src));
out:
	g_clear_error(&err);
	storage_free(st);
	conf_free(c);
	return rc;
}

int
cli_archive(const char *conf_path, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "run") == 0)
		return archive_run(conf_path, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "get") == 0)
		return archive_get(conf_path, argc - 1, argv + 1);
	fprintf(stderr, "usage: offloadctl [-c FILE] archive run [--force]\n"
		"       offloadctl [-c FILE] archive get ID/m|ID/e|ID/N > FILE\n");
	return EX_USAGE;
}
