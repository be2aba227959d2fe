/*
 * portal_framing.c - offload-portal refuses requests whose body framing is
 * ambiguous or that carry a body where none is expected (issue 14, item 8).
 * libmicrohttpd 0.9.75 accepts two different Content-Length headers,
 * Content-Length together with chunked, and "Transfer-Encoding :" with a
 * space before the colon; a front that reads the framing differently would
 * let one request smuggle another. Only POST (unlock, revoke: small JSON
 * bodies) may have a body. See portal_int.h.
 */
#include <string.h>
#include <glib.h>
#include <microhttpd.h>

#include "portal_int.h"

struct framing {
	unsigned n_cl, n_te;
	char *cl;                 /* first Content-Length value */
	gboolean bad;
};

/* name_is - the header name is NAME, possibly with white space around it
 * (*exact FALSE when there was any) */
static gboolean
name_is(const char *key, const char *name, gboolean *exact)
{
	size_t a = 0, n = strlen(key), l = strlen(name);

	while (a < n && g_ascii_isspace(key[a]))
		a++;
	while (n > a && g_ascii_isspace(key[n - 1]))
		n--;
	if (n - a != l || g_ascii_strncasecmp(key + a, name, l) != 0)
		return FALSE;
	*exact = a == 0 && n == strlen(key);
	return TRUE;
}

static enum MHD_Result
framing_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct framing *f = cls;
	gboolean exact = TRUE;

	(void)kind;
	if (key == NULL)
		return MHD_YES;
	if (name_is(key, "Content-Length", &exact)) {
		f->n_cl++;
		if (f->cl == NULL)
			f->cl = g_strdup(value ? value : "");
		else if (strcmp(f->cl, value ? value : "") != 0)
			f->bad = TRUE;   /* two different lengths */
	} else if (name_is(key, "Transfer-Encoding", &exact)) {
		f->n_te++;
	}
	if (!exact)
		f->bad = TRUE;           /* "Transfer-Encoding :" and the like */
	return MHD_YES;
}

gboolean
portal_framing_ok(struct MHD_Connection *conn, gboolean body_allowed)
{
	struct framing f = { 0 };
	gboolean ok;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
	ok = !f.bad && !(f.n_cl > 0 && f.n_te > 0);
	if (ok && !body_allowed)
		ok = f.n_te == 0 && (f.cl == NULL || strcmp(f.cl, "0") == 0);
	g_free(f.cl);
	return ok;
}
