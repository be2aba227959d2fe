/*
 * classify.h - the classification seam (DESIGN.md §5). Today it returns the
 * lowest outgoing level and the "size" reason only; the classification issue
 * fills in labels, detectors and per-class policy behind this same call.
 * Thread-safe.
 */
#ifndef OFFLOAD_CLASSIFY_H
#define OFFLOAD_CLASSIFY_H

#include <stdbool.h>

struct classify_result {
	const char *level;   /* configured level name, upper-case ASCII */
	char *reasons;       /* comma-separated, g_malloc'ed; "" = none */
	bool offload;        /* the class itself demands offloading */
};

/* classify_message - class of a whole message before the offload decision */
void classify_message(bool outgoing, struct classify_result *res);
void classify_result_clear(struct classify_result *res);

#endif
