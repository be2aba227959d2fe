/*
 * filename.c - one rule for file names that come out of a transfer and are
 * written to a disk, a ZIP member or a Content-Disposition header: see
 * filename.h. Pure function; thread-safe.
 */
#include "filename.h"

#include <string.h>
#include <glib.h>

char *
filename_safe(const char *name, unsigned index)
{
	const char *base = name ? name : "";
	const char *s1 = strrchr(base, '/'), *s2 = strrchr(base, '\\');
	char *out, *p;

	if (s1 && (!s2 || s1 > s2))
		base = s1 + 1;
	else if (s2)
		base = s2 + 1;
	out = g_utf8_make_valid(base, -1);
	for (p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ':' || *p == '"')
			*p = '_';
	p = out;
	while (*p == '.' || *p == ' ')
		p++;
	memmove(out, p, strlen(p) + 1);
	if (strlen(out) > 200) {
		const char *end = out + 200;

		g_utf8_validate(out, 200, &end);
		out[end - out] = '\0';
	}
	if (*out == '\0') {
		g_free(out);
		out = g_strdup_printf("file-%u", index + 1);
	}
	return out;
}
