/*
 * cli_config.c - `offloadctl config --defaults | --check`.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"

int
cli_config(const char *conf_path, int argc, char **argv)
{
	struct conf *c;
	int i;
	bool defaults = false, check = false;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--defaults") == 0)
			defaults = true;
		else if (strcmp(argv[i], "--check") == 0)
			check = true;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf_path = argv[++i];
		else {
			fprintf(stderr, "offloadctl config: unknown argument '%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (defaults == check) {
		fprintf(stderr, "usage: offloadctl config --defaults | --check [--config FILE]\n");
		return EX_USAGE;
	}
	if (defaults) {
		conf_print_defaults(stdout);
		return 0;
	}
	c = cli_load_conf(conf_path);
	if (c == NULL)
		return EX_CONFIG;
	printf("%s: ok\n", conf_path ? conf_path : "(defaults)");
	conf_free(c);
	return 0;
}
