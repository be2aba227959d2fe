/*
 * cli_config.c - `offloadctl config --defaults | --check | check [--daemon]`
 * (the check itself: cli_config_check.c).
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"

int
cli_config(const char *conf_path, int argc, char **argv)
{
	int i;
	bool defaults = false, check = false, daemon = false;

	if (argc > 0 && strcmp(argv[0], "check") == 0) {
		check = true;
		argc--;
		argv++;
	}
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--defaults") == 0)
			defaults = true;
		else if (strcmp(argv[i], "--check") == 0)
			check = true;
		else if (strcmp(argv[i], "--daemon") == 0 && check)
			daemon = true;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else {
			fprintf(stderr, "offloadctl config: unknown argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (defaults == check) {
		fprintf(stderr, "usage: offloadctl config --defaults | check [--config FILE] [--daemon]\n");
		return EX_USAGE;
	}
	if (defaults) {
		conf_print_defaults(stdout);
		return 0;
	}
	if (conf_path == NULL && g_file_test(CONF_DEFAULT_PATH, G_FILE_TEST_EXISTS))
		conf_path = CONF_DEFAULT_PATH;
	return cli_config_check(conf_path, daemon);
}
