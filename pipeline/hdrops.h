/*
 * hdrops.h - header operations produced at end of message (DECISIONS.md §4):
 * add (appended, as smfi_addheader does) and change/delete by name and
 * 1-based index among the headers of that name (as smfi_chgheader counts).
 * The milter replays them with smfi_*; offloadctl applies them to the
 * original header list with hdrops_apply (a small milter emulator), so both
 * paths share one list.
 */
#ifndef OFFLOAD_HDROPS_H
#define OFFLOAD_HDROPS_H

#include <glib.h>

#include "msg.h"

enum hdr_op_kind { HDR_OP_ADD, HDR_OP_CHANGE };

struct hdr_op {
	enum hdr_op_kind kind;
	char *name;
	int index;   /* HDR_OP_CHANGE: 1-based among headers called name */
	char *value; /* HDR_OP_CHANGE: NULL = delete; values start with a space */
};

GPtrArray *hdrops_new(void); /* of struct hdr_op *, frees its elements */
void hdrops_add(GPtrArray *ops, const char *name, const char *value);
void hdrops_change(GPtrArray *ops, const char *name, int index, const char *value);
/* hdrops_delete_all - delete every header called name, highest index first
 * (indexes of the others stay valid while deleting) */
void hdrops_delete_all(GPtrArray *ops, const struct msg *m, const char *name);
/* hdrops_apply - apply ops to m->headers in order, exactly as an MTA would */
void hdrops_apply(const GPtrArray *ops, struct msg *m);

#endif
