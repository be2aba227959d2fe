/*
 * transfer_int.h - PRIVATE helpers shared by the transfer_*.c files; not
 * for callers outside transfer/.
 */
#ifndef OFFLOAD_TRANSFER_INT_H
#define OFFLOAD_TRANSFER_INT_H

#include <stddef.h>
#include <glib.h>

#include "storage.h"
#include "transfer.h"

/* cap on a manifest (and tombstone) object read back from storage */
#define TRANSFER_MAX_MANIFEST (16u * 1024 * 1024)

/* transfer_alloc - an empty transfer with the given id (no keys, no files) */
struct transfer *transfer_alloc(struct storage *st, const char *id);
/* transfer_file_free - GDestroyNotify for t->files: wipes the file key */
void transfer_file_free(gpointer p);
/* transfer_collect_out - storage_get sink appending to a GByteArray; stops
 * the read (nonzero) past TRANSFER_MAX_MANIFEST */
int transfer_collect_out(void *arg, const void *buf, size_t len);

#endif
