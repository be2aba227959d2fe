/*
 * test_msg_read.c - msg_read_stream (`offloadctl process` intake) reads the
 * body in blocks (issue 15) and must spool exactly what its line loop did:
 * every bare LF line end becomes CRLF, every other byte (lone CR, CRLF, NUL,
 * a last line without a line end) stays, also across block boundaries; the
 * LF/CRLF verdict is unchanged. Checked against a reference on random bodies.
 */
#include "msg.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "unit.h"

/* expect - the spool of "Subject: x" + sep + body: LF -> CRLF where no CR precedes */
static GByteArray *
expect(const GByteArray *body, bool *crlf, bool *lf)
{
	GByteArray *e = g_byte_array_new();

	g_byte_array_append(e, (const guint8 *)"Subject: x\r\n\r\n", 14);
	for (guint i = 0; i < body->len; i++) {
		if (body->data[i] == '\n') {
			if (i > 0 && body->data[i - 1] == '\r') {
				*crlf = true;
			} else {
				*lf = true;
				g_byte_array_append(e, (const guint8 *)"\r", 1);
			}
		}
		g_byte_array_append(e, body->data + i, 1);
	}
	return e;
}

/* one - body after a header block ending in sep ("\n\n" or "\r\n\r\n") */
static void
one(const GByteArray *body, const char *sep, const char *what)
{
	GByteArray *in = g_byte_array_new(), *want;
	GError *err = NULL;
	struct msg *m = msg_new(unit_tmpdir(), 0, &err);
	bool crlf = strchr(sep, '\r') != NULL, lf = !crlf, had = false;
	gchar *got = NULL;
	gsize got_len = 0;
	const char *path;
	FILE *f;

	g_byte_array_append(in, (const guint8 *)"Subject: x", 10);
	g_byte_array_append(in, (const guint8 *)sep, (guint)strlen(sep));
	g_byte_array_append(in, body->data, body->len);
	want = expect(body, &crlf, &lf);
	f = fmemopen(in->data, in->len, "r");
	CHECK(m != NULL && f != NULL && msg_read_stream(m, f, &had, &err) == 0, "%s: read", what);
	path = m != NULL ? msg_spool_file(m) : NULL;
	if (path != NULL)
		g_file_get_contents(path, &got, &got_len, NULL);
	CHECK(got != NULL && got_len == want->len && memcmp(got, want->data, got_len) == 0,
		"%s: the spool holds the body with CRLF line ends, every other byte as it was "
		"(%zu bytes, want %u)", what, (size_t)got_len, want->len);
	CHECK(had == (crlf || !lf), "%s: the line-end verdict", what);
	if (f != NULL)
		fclose(f);
	g_free(got);
	msg_free(m);
	g_byte_array_free(in, TRUE);
	g_byte_array_free(want, TRUE);
}

int
main(void)
{
	static const char alpha[] = { 'a', 'b', '\r', '\n', '\0', '=', ' ' };
	GRand *r = g_rand_new_with_seed(15);
	GByteArray *b = g_byte_array_new();
	char what[64];

	for (int round = 0; round < 12; round++) {
		guint len = (guint)g_rand_int_range(r, 0, 300000);

		g_byte_array_set_size(b, 0);
		for (guint i = 0; i < len; i++) {
			guint8 c = (guint8)alpha[g_rand_int_range(r, 0, round % 3 == 0 ? 7 : 4)];

			g_byte_array_append(b, &c, 1);
		}
		/* a CR at the end of a 64 KiB block, its LF at the start of the next */
		if (len > 70000) {
			b->data[65535] = '\r';
			b->data[65536] = '\n';
		}
		snprintf(what, sizeof what, "random body %d (%u bytes)", round, len);
		one(b, round % 2 ? "\r\n\r\n" : "\n\n", what);
	}
	g_byte_array_set_size(b, 0);
	g_byte_array_append(b, (const guint8 *)"\nline\r\nlast\r", 12);
	one(b, "\n\n", "LF at the body's start, a CR at its end");
	g_byte_array_free(b, TRUE);
	g_rand_free(r);
	return unit_done();
}
