/*
 * cli_keygen.c - `offloadctl keygen [--config FILE] [--group NAME]`: create
 * the deployment key and the portal's ticket key when missing (run by the
 * package's postinst, as root), owner root, group NAME (default offload) with
 * mode 0640, so the units read them and keep /etc read-only. Existing keys are
 * never replaced; their key id is printed. One line per key; exit 0, 64 usage,
 * 73 a key could not be created, 78 configuration.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "keys.h"

static int
keygen_one(const char *what, const char *path, const struct group *gr)
{
	struct key32 k;
	GError *err = NULL;
	bool existed = g_file_test(path, G_FILE_TEST_EXISTS);

	if (keys_load(path, &k, &err) != 0) {
		fprintf(stderr, "offloadctl keygen: %s\n", err->message);
		g_error_free(err);
		return EX_CANTCREAT;
	}
	if (existed) {
		printf("%s %s: exists (key id %s), left as it is\n", what, path, k.id);
	} else {
		if (gr != NULL && (chown(path, 0, gr->gr_gid) != 0 || chmod(path, 0640) != 0)) {
			fprintf(stderr, "offloadctl keygen: %s: %s\n", path, g_strerror(errno));
			keys_wipe(&k);
			return EX_CANTCREAT;
		}
		if (gr != NULL)
			printf("%s %s: created (key id %s, root:%s 0640)\n", what, path, k.id, gr->gr_name);
		else
			printf("%s %s: created (key id %s, 0600)\n", what, path, k.id);
	}
	keys_wipe(&k);
	return 0;
}

int
cli_keygen(const char *conf_path, int argc, char **argv)
{
	const char *group = "offload";
	struct group *gr = NULL;
	struct conf *c;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
			group = argv[++i];
		else {
			fprintf(stderr, "usage: offloadctl keygen [--config FILE] [--group NAME]\n");
			return EX_USAGE;
		}
	}
	c = cli_load_conf(conf_path);
	if (c == NULL)
		return EX_CONFIG;
	if (geteuid() == 0)
		gr = getgrnam(group);
	rc = keygen_one("deployment key", c->deployment_key_file, gr);
	if (rc == 0)
		rc = keygen_one("ticket key", c->ticket_key_file, gr);
	conf_free(c);
	return rc;
}
