/*
 * cli_classify.c - placeholder until the subcommand lands (owned by its issue's work);
 * it refuses clearly instead of pretending.
 */
#include <stdio.h>
#include <sysexits.h>

#include "cli.h"

int
cli_classify(const char *conf_path, int argc, char **argv)
{
	(void)conf_path;
	(void)argc;
	(void)argv;
	fprintf(stderr, "offloadctl classify: not available in this build\n");
	return EX_UNAVAILABLE;
}
