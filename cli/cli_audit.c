/*
 * cli_audit.c - `offloadctl audit verify [FILE]`: check the hash chain of the
 * audit log (default: [audit] path). Exit 0 intact, 65 broken, 66 unreadable.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "audit.h"
#include "cli.h"

int
cli_audit(const char *conf_path, int argc, char **argv)
{
	struct conf *c = NULL;
	const char *path = NULL;
	GError *err = NULL;
	long bad;
	int i, rc;

	if (argc < 1 || strcmp(argv[0], "verify") != 0)
		goto usage;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else
			goto usage;
	}
	if (path == NULL) {
		c = cli_load_conf(conf_path);
		if (c == NULL)
			return EX_CONFIG;
		path = c->audit_path;
	}
	bad = audit_verify(path, &err);
	if (bad == 0) {
		printf("%s: chain intact\n", path);
		rc = 0;
	} else {
		fprintf(stderr, "offloadctl audit: %s: %s\n", path, err ? err->message : "broken");
		rc = bad < 0 ? EX_NOINPUT : EX_DATAERR;
	}
	g_clear_error(&err);
	conf_free(c);
	return rc;
usage:
	fprintf(stderr, "usage: offloadctl audit verify [FILE] [--config FILE]\n");
	return EX_USAGE;
}
