/*
 * filename.c - one rule for file names that come out of a transfer and are
 * shown (notice, confirmation mails, portal page) or written to a disk, a
 * ZIP member or a Content-Disposition header: see filename.h. Pure
 * functions; thread-safe.
 */
#include "filename.h"

#include <string.h>
#include <glib.h>

bool
filename_invisible(unsigned int c)
{
	switch (g_unichar_type((gunichar)c)) {
	case G_UNICODE_CONTROL:              /* C0, DEL, C1 */
	case G_UNICODE_FORMAT:               /* bidi controls, zero-width, U+FEFF, U+00AD, tags */
	case G_UNICODE_LINE_SEPARATOR:
	case G_UNICODE_PARAGRAPH_SEPARATOR:
	case G_UNICODE_SURROGATE:
		return true;
	default:
		break;
	}
	/* invisible, but not of a format category: bidi controls by number (an
	 * older Unicode table may not know U+2066-9), the combining grapheme
	 * joiner, Mongolian vowel separator, Hangul fillers, braille blank */
	return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
		(c >= 0x2066 && c <= 0x2069) || c == 0x034F || c == 0x180E || c == 0x115F || c == 0x1160 ||
		c == 0x3164 || c == 0xFFA0 || c == 0x2800;
}

char *
filename_display(const char *name)
{
	char *valid = g_utf8_make_valid(name ? name : "", -1);
	GString *out = g_string_sized_new(strlen(valid) + 1);
	const char *p;

	for (p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (filename_invisible(c))
			g_string_append_c(out, '_');
		else
			g_string_append_unichar(out, c);
	}
	g_free(valid);
	return g_string_free(out, FALSE);
}

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
	out = filename_display(base);
	for (p = out; *p; p++)
		if (*p == ':' || *p == '"')
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
