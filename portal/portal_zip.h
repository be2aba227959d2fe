/*
 * portal_zip.h - "download all": a streamed, uncompressed (stored) ZIP of
 * a transfer's files, ZIP64 where sizes or offsets need it (APPNOTE 6.3.x).
 * The size is known before the first byte (Content-Length, Range), CRC-32
 * is computed while streaming and written in a data descriptor (flag bit
 * 3); member names are sanitised (no paths, no control characters, no
 * leading dots, unique) and flagged UTF-8 (bit 11).
 * Pull-style: portal_zip_read() fills the caller's buffer; member data
 * comes from the caller's source callbacks. Memory: O(number of files).
 * A struct portal_zip belongs to one thread.
 */
#ifndef OFFLOAD_PORTAL_ZIP_H
#define OFFLOAD_PORTAL_ZIP_H

#include <stddef.h>
#include <stdint.h>

struct portal_zip_source {
	/* open member `index` (size bytes); NULL on failure */
	void *(*open)(void *arg, uint32_t index, uint64_t size);
	/* read up to max bytes; 0 = end of member, negative = error */
	long (*read)(void *h, void *buf, size_t max);
	void (*close)(void *h);
	void *arg;
};

struct portal_zip;

struct portal_zip *portal_zip_new(const char *const *names, const uint64_t *sizes, size_t n,
	int64_t mtime, const struct portal_zip_source *src);
uint64_t portal_zip_size(const struct portal_zip *z);
/* portal_zip_read - 0 at the end, negative on a source error or a member
 * whose length differs from its declared size */
long portal_zip_read(struct portal_zip *z, void *buf, size_t max);
void portal_zip_free(struct portal_zip *z); /* NULL ok */
/* portal_zip_safe_name - a file name safe as a ZIP member or download
 * name: last path component, control characters and ':' replaced, leading
 * dots/spaces removed, valid UTF-8, at most 200 bytes; "file-N" if empty.
 * g_malloc'ed. */
char *portal_zip_safe_name(const char *name, unsigned index);

#endif
