/*
 * fuzz_davxml.c - the WebDAV backend's reader of 207 multistatus answers
 * (storage_webdav_propfind.c): the body fed in pieces as curl hands it
 * over (the first byte picks the piece size), hrefs (absolute URLs or
 * paths, percent-decoded), collections, getcontentlength and
 * getlastmodified; the entries are then walked as the listing walks them
 * (webdav_child, webdav_name_ok). Any input must end in entries or a
 * refusal, never a crash, an over-read or a leak.
 */
#include <string.h>
#include <glib.h>

#include "fuzz.h"
#include "log.h"
#include "storage_webdav.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", false, false);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webdav_ms ms = { 0 };
	size_t piece, off;
	guint i;

	if (size == 0)
		return 0;
	piece = (size_t)data[0] + 1;
	webdav_ms_reset(&ms);
	for (off = 1; off < size; off += piece)
		webdav_ms_feed(&ms, (const char *)data + off, MIN(piece, size - off));
	if (webdav_ms_finish(&ms)) {
		for (i = 0; i < ms.entries->len; i++) {
			struct webdav_entry *e = g_ptr_array_index(ms.entries, i);
			char *href = g_strdup(e->href);
			const char *name;

			g_assert(e->href != NULL);
			name = webdav_child("/dav/", href);
			if (name != NULL)
				webdav_name_ok(name);
			g_free(href);
		}
	} else {
		g_assert(ms.parse_error != NULL);
	}
	webdav_ms_clear(&ms);
	return 0;
}
