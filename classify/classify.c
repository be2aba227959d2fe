/*
 * classify.c - size-only classification (see classify.h): OFFEN for
 * outgoing mail, INTERN for internal-only mail, never a content finding.
 */
#include "classify.h"

#include <glib.h>

void
classify_message(bool outgoing, struct classify_result *res)
{
	res->level = outgoing ? "OFFEN" : "INTERN";
	res->reasons = g_strdup("");
	res->offload = false;
}

void
classify_result_clear(struct classify_result *res)
{
	g_clear_pointer(&res->reasons, g_free);
}
