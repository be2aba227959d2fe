/*
 * scan_clamd.h - a clamd INSTREAM client (clamd(8), "INSTREAM"): the caller
 * streams a file's bytes as it decodes them, chunk by chunk, over clamd's
 * local unix socket, and gets clamd's verdict at the end. No temporary file
 * on our side; clamd spools the stream in its own TemporaryDirectory (it must
 * be on an encrypted or RAM disk: packaging/clamd-offload.conf). One struct
 * scan_clamd per file and thread.
 */
#ifndef OFFLOAD_SCAN_CLAMD_H
#define OFFLOAD_SCAN_CLAMD_H

#include <stddef.h>

enum scan_verdict {
	SCAN_CLEAN = 0,
	SCAN_INFECTED,     /* detail: the signature name */
	SCAN_UNSCANNABLE,  /* over clamd's limits (StreamMaxLength, or AlertExceedsMax "Heuristics.Limits.Exceeded") */
	SCAN_UNAVAILABLE,  /* no clamd, timeout, protocol or clamd error; detail says which */
};

struct scan_clamd;

/* scan_clamd_begin - connect to the unix socket and send "zINSTREAM"; never
 * NULL: a failure is remembered and reported by finish (SCAN_UNAVAILABLE) */
struct scan_clamd *scan_clamd_begin(const char *socket_path, unsigned timeout_s);
/* scan_clamd_write - one chunk (any size; split at 1 MiB); errors are remembered */
void scan_clamd_write(struct scan_clamd *s, const void *buf, size_t len);
/* scan_clamd_finish - end the stream, read the reply, free s; *detail
 * (g_malloc'ed, may be NULL) is the signature or the reason */
enum scan_verdict scan_clamd_finish(struct scan_clamd *s, char **detail);
/* scan_clamd_discard - end and free s without a verdict; NULL ok */
void scan_clamd_discard(struct scan_clamd *s);
const char *scan_verdict_name(enum scan_verdict v); /* clean | infected | unscannable | unavailable */

#endif
