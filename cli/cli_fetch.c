/*
 * cli_fetch.c - placeholder until the subcommand lands (owned by its issue's work);
 * it refuses clearly instead of pretending.
 */
#include <stdio.h>
#include <sysexits.h>

#include "cli.h"

int
cli_fetch(const char *conf_path, int argc, char **argv)
{
	(void)conf_path;
	(void)argc;
	(void)argv;
	fprintf(stderr, "offloadctl fetch: not available in this build\n");
	return EX_UNAVAILABLE;
}
