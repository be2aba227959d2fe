/*
 * rewrite_b64cut.h - the verdict on a base64 leaf after its one decoding
 * pass (b64stream.h): data after the pad '=' or an unpadded incomplete last
 * quantum means the decoded bytes are a shortened file, which must never be
 * offloaded as the attachment. No extra pass over the data: the decoder
 * counts what it skipped while the leaf streams.
 */
#ifndef OFFLOAD_REWRITE_B64CUT_H
#define OFFLOAD_REWRITE_B64CUT_H

#include "rewrite.h"

/* rewrite_b64_cut - s: the leaf's decoded stream, read to its end. 0: the
 * bytes are the whole file; 1: they are not, the part stays in the message
 * unchanged (logged); -1 with *err: they are not and the class demands
 * offloading (rw->force_all), so it cannot stay in clear either. */
int rewrite_b64_cut(const struct rewrite *rw, const char *name, GMimeStream *s, char **err);

#endif
