/*
 * rewrite_b64cut.c - a base64 leaf that does not decode whole (see
 * rewrite_b64cut.h)
 */
#include "rewrite_b64cut.h"

#include "b64dec.h"
#include "b64stream.h"
#include "log.h"

int
rewrite_b64_cut(const struct rewrite *rw, const char *name, GMimeStream *s, char **err)
{
	unsigned f = b64stream_flags(s);
	char *why, *esc;

	if (!b64stream_lost(s))
		return 0;
	why = f & B64DEC_AFTER_END ?
		g_strdup_printf("its base64 data goes on after the end (%llu characters would be lost)",
			(unsigned long long)b64stream_after(s)) :
		g_strdup("its base64 data ends in an incomplete group (the file is cut short)");
	esc = g_strescape(rw->hide_names ? "(name hidden)" : name, NULL);
	if (rw->force_all)
		*err = g_strdup_printf("attachment %s: %s; it cannot be offloaded whole", esc, why);
	else
		log_warning("%s: attachment %s: %s; the part stays in the message unchanged", rw->qid,
			esc, why);
	g_free(esc);
	g_free(why);
	return rw->force_all ? -1 : 1;
}
