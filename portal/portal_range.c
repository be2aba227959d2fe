/*
 * portal_range.c - parse a single-range Range header (see portal_range.h).
 */
#include "portal_range.h"

#include <stdbool.h>
#include <string.h>
#include <glib.h>

/* range_num - decimal digits without overflow; *p advanced */
static bool
range_num(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (!g_ascii_isdigit(*s))
		return false;
	for (; g_ascii_isdigit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

static const char *
range_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int
portal_range_parse(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
	uint64_t a = 0, b = 0;
	bool has_a, has_b;
	const char *p;

	if (h == NULL)
		return PORTAL_RANGE_NONE;
	p = range_ws(h);
	if (g_ascii_strncasecmp(p, "bytes", 5) != 0)
		return PORTAL_RANGE_NONE;
	p = range_ws(p + 5);
	if (*p != '=')
		return PORTAL_RANGE_NONE;
	p = range_ws(p + 1);
	has_a = range_num(&p, &a);
	p = range_ws(p);
	if (*p != '-')
		return PORTAL_RANGE_NONE;
	p = range_ws(p + 1);
	has_b = range_num(&p, &b);
	p = range_ws(p);
	if (*p != '\0' || (!has_a && !has_b))
		return PORTAL_RANGE_NONE;  /* several ranges, junk: ignore */
	if (has_a && has_b && b < a)
		return PORTAL_RANGE_NONE;  /* invalid: RFC says ignore */
	if (!has_a) {                  /* suffix: the last b bytes */
		if (b == 0 || size == 0)
			return PORTAL_RANGE_UNSAT;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return PORTAL_RANGE_OK;
	}
	if (a >= size)
		return PORTAL_RANGE_UNSAT;
	if (!has_b || b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return PORTAL_RANGE_OK;
}
