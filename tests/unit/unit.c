/*
 * unit.c - the tiny unit test runner behind unit.h.
 */
#include "unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int unit_passed, unit_failed;
static char unit_dir[256];

void
unit_check(bool cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (cond)
		unit_passed++;
	else
		unit_failed++;
	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!cond)
		printf("  (%s:%d)", file, line);
	printf("\n");
	fflush(stdout);
}

const char *
unit_tmpdir(void)
{
	const char *t = getenv("TMPDIR");

	if (unit_dir[0] == '\0') {
		snprintf(unit_dir, sizeof unit_dir, "%s/offload-unit-XXXXXX", t ? t : "/tmp");
		if (mkdtemp(unit_dir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return unit_dir;
}

const char *
unit_srcdir(void)
{
	const char *s = getenv("OFFLOAD_SRCDIR");

	return s ? s : ".";
}

int
unit_done(void)
{
	if (unit_dir[0] != '\0') {
		char cmd[300];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", unit_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "warning: could not remove %s\n", unit_dir);
	}
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
