/*
 * fuzz_request.c - what the portal parses of a request on hostile bytes:
 * an even first byte makes the rest a Range header (portal_range.c) for a
 * file whose size is taken from the next bytes; an odd one makes it a JSON
 * POST body as /<id>/unlock, /r/<id>/revoke and /r/<id>/extend read it
 * (portal_post_json, portal_post_string "secret" and "password",
 * portal_post_int "days"). GLib criticals are fatal here: a request must
 * never make a library complain. Any input must end in a range, a body or
 * a refusal, never a crash, an over-read or a leak.
 */
#include <string.h>
#include <glib.h>

#include "fuzz.h"
#include "log.h"
#include "portal_int.h"
#include "portal_range.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", false, false);
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
	return 0;
}

static void
fz_range(const uint8_t *data, size_t size)
{
	uint64_t size_of_file = 0, start = 0, len = 0;
	char *h;
	size_t i;
	int rc;

	for (i = 0; i < 8 && i < size; i++)
		size_of_file = size_of_file << 8 | data[i];
	if (size > 0 && (data[0] & 1))
		size_of_file &= 0xFFFFF;   /* small files too */
	h = g_strndup((const char *)data + MIN(size, 8), size - MIN(size, 8));
	rc = portal_range_parse(h, size_of_file, &start, &len);
	g_assert(rc == PORTAL_RANGE_NONE || rc == PORTAL_RANGE_OK || rc == PORTAL_RANGE_UNSAT);
	if (rc == PORTAL_RANGE_OK)
		g_assert(len > 0 && start < size_of_file && len <= size_of_file - start);
	g_free(h);
}

static void
fz_form(const uint8_t *data, size_t size)
{
	struct req rq = { g_byte_array_new(), FALSE };
	JsonParser *jp;
	gint64 days = 0;

	g_byte_array_append(rq.body, data, (guint)size);
	jp = portal_post_json(&rq);
	if (jp != NULL) {
		g_free(portal_post_string(jp, "secret"));
		g_free(portal_post_string(jp, "password"));
		portal_post_int(jp, "days", &days);
		g_object_unref(jp);
	}
	g_byte_array_unref(rq.body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 65536)
		return 0;
	if (data[0] % 2 == 0)
		fz_range(data + 1, size - 1);
	else
		fz_form(data + 1, size - 1);
	return 0;
}
