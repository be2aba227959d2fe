/*
 * fuzz_letter.c - the portal's letter view on hostile bytes (issue 11): an
 * offloaded .eml parsed as GET /l/<ticket> and a part ticket parse it
 * (portal_letter_parse with the default [policy] max_parts 1000 and
 * max_mime_depth 32), every leaf decoded as a part download would be, and
 * the input also taken as an HTML body (portal_letter_html_text). Any input
 * must end in a letter or an error, never a crash, an over-read, a leak or
 * an unbounded loop.
 */
#include <string.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "fuzz.h"
#include "log.h"
#include "portal_letter.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz", false, false);
	g_mime_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct portal_letter *l = NULL;
	GByteArray *b = g_byte_array_sized_new((guint)size);
	bool cut;
	char *t;
	guint i;

	g_byte_array_append(b, data, (guint)size);
	if (portal_letter_parse(b, 1000, 32, &l) == PORTAL_LETTER_OK) {
		for (i = 1; i <= l->leaves->len + 1; i++) {
			GByteArray *p = portal_letter_leaf_data(l, i);

			if (p != NULL)
				g_byte_array_free(p, TRUE);
		}
		portal_letter_free(l);
	}
	t = portal_letter_html_text((const char *)data, size, 4096, &cut);
	g_free(t);
	t = portal_letter_tidy((const char *)data, size, 4096, &cut);
	g_free(t);
	return 0;
}
