/*
 * spool_tmp.h - private spool files that cannot outlive their process
 * (issue 14 item 2): an O_TMPFILE file in the spool directory has no name,
 * so kill -9 leaves no plaintext behind. It is reached by the path
 * /proc/self/fd/N (reopening it there gives an own file offset) for as
 * long as the returned descriptor stays open. Where O_TMPFILE is not
 * supported (or with OFFLOAD_TEST_SPOOL_NAMED=1 in the environment, the
 * test hook), a named 0600 file PREFIX.XXXXXX is created instead and held
 * under flock(LOCK_EX) while open; spool_tmp_sweep, run by offload-milter
 * at start and by `offloadctl purge`, removes the named files no live
 * process holds (docs/ARCHITECTURE.md, spool).
 */
#ifndef OFFLOAD_SPOOL_TMP_H
#define OFFLOAD_SPOOL_TMP_H

#include <stdbool.h>

/* spool_tmp_open - a new private file (0600) in dir, open read-write,
 * close-on-exec; *path is g_malloc'ed. -1 (errno) on failure. */
int spool_tmp_open(const char *dir, const char *prefix, char **path);
/* spool_tmp_unlink - remove a file made by spool_tmp_open (nothing to do
 * for a nameless one) */
void spool_tmp_unlink(const char *path);
/* spool_tmp_drop - close *fd (when >= 0) and remove the file, free *path;
 * both are reset. For files whose descriptor and path travel together
 * (the rewritten body, pipeline.h) */
void spool_tmp_drop(int *fd, char **path);
/* spool_tmp_sweep - remove the files in dir named like spool_tmp_open's
 * (and storage_spool_open's) fallback that no process holds locked: what a
 * crash left; with dry only count them. Their number, or -1 (errno) when
 * dir cannot be read. */
int spool_tmp_sweep(const char *dir, bool dry);

#endif
