/*
 * unit.h - minimal table-friendly unit test helpers. Every test binary prints
 * one "ok"/"not ok" line per check and a closing "N passed, N failed" line;
 * tests/run.sh adds them up.
 */
#ifndef OFFLOAD_UNIT_H
#define OFFLOAD_UNIT_H

#include <stdbool.h>
#include <stddef.h>

extern int unit_passed, unit_failed;

void unit_check(bool cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* unit_done - print the closing line, return the process exit code */
int unit_done(void);
/* unit_tmpdir - a fresh private directory under $TMPDIR (removed by unit_done) */
const char *unit_tmpdir(void);
/* unit_srcdir - the repository top (tests run from there) */
const char *unit_srcdir(void);

#define CHECK(cond, ...) unit_check((cond), __FILE__, __LINE__, __VA_ARGS__)

#endif
