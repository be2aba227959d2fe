/*
 * fuzz_early.c - the early offload scanner and its worker (pipeline/early.c)
 * on hostile messages, fed to early_body in chunks as the milter's body
 * callback feeds it, with offload_min_size 1 KiB and the memory store.
 *
 * Input: byte 0 picks the chunk pattern (whole, 1-byte, 2-byte, pseudo-random
 * 1..64, a cycle of odd sizes, cuts after every CR and before every "--"),
 * byte 1 the flags (bit 0: end like an abort, early_free alone, else like end
 * of message, early_take then early_free; bit 1: leave the spool in memory as
 * small messages do, else spill it to a file first so the worker can start;
 * bit 2: early_free before msg_free; bit 3: read the message as `offloadctl
 * process` does, msg_read_stream_with into early_body, instead of the chunk
 * pattern), the rest is the message: "Name: value" header lines up to the
 * first empty line, then the body (bytes as given: CRLF, LF-only or anything).
 *
 * Checked, beyond "no crash": a leaf early_take hands over lies in the body,
 * right after an empty line ending a part header block that names base64
 * (or is the whole body of a single part whose header names base64),
 * is at least offload_min_size decoded, decodes (GMime's decoder) to exactly
 * the size stored, and is in the store; after either ending the store is empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "early.h"
#include "fuzz_pipe.h"
#include "log.h"
#include "msg.h"
#include "pipeline.h"
#include "transfer.h"

static int
count(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)size;
	(void)mtime;
	if (strchr(key, '/') != NULL) /* a transfer's, not a global object (keyid) */
		(*(unsigned *)arg)++;
	return 0;
}

/* stored - objects under a transfer id in the store */
static unsigned
stored(void)
{
	unsigned n = 0;

	storage_list(pipe_.st, "", count, &n);
	return n;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_pipe_conf();
	conf->offload_min_size = 1024;
	conf->rewrite_internal = true;
	conf->scan_outgoing = false;
	fz_pipe_start();
	return 0;
}

/* headers - "Name: value" lines (folded lines continue the value) up to the
 * first empty line; the offset of the body */
static size_t
headers(struct msg *m, const char *d, size_t n)
{
	size_t i = 0;
	GString *name = NULL, *val = NULL;

	while (i < n) {
		const char *nl = memchr(d + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - d) : n, le = e;

		if (le > i && d[le - 1] == '\r')
			le--;
		if (le == i) {
			i = nl ? e + 1 : n;
			break;
		}
		if ((d[i] == ' ' || d[i] == '\t') && val != NULL) {
			g_string_append(val, "\r\n");
			g_string_append_len(val, d + i, (gssize)(le - i));
		} else {
			const char *c = memchr(d + i, ':', le - i);

			if (name != NULL)
				msg_add_header(m, name->str, val->str);
			if (name != NULL)
				g_string_free(name, TRUE), g_string_free(val, TRUE);
			name = val = NULL;
			if (c != NULL && c > d + i && memchr(d + i, '\0', le - i) == NULL) {
				name = g_string_new_len(d + i, c - (d + i));
				val = g_string_new_len(c + 1, (gssize)(le - (size_t)(c + 1 - d)));
			}
		}
		i = nl ? e + 1 : n;
	}
	if (name != NULL) {
		msg_add_header(m, name->str, val->str);
		g_string_free(name, TRUE);
		g_string_free(val, TRUE);
	}
	return i;
}

/* chunk - the size of the next chunk of b[0..n) under pattern pat */
static size_t
chunk(unsigned pat, const char *b, size_t n, unsigned *st)
{
	static const size_t cyc[] = { 1, 7, 63, 509, 2, 4093, 3 };
	size_t k;

	switch (pat % 6) {
	case 0: return n;
	case 1: return 1;
	case 2: return MIN(n, 2);
	case 3:
		*st = *st * 1103515245u + 12345u;
		k = 1 + (*st >> 16) % 64;
		return MIN(n, k);
	case 4:
		k = cyc[(*st)++ % G_N_ELEMENTS(cyc)]; /* not inside MIN: it evaluates twice */
		return MIN(n, k);
	default:
		/* up to and with the next CR, or up to the next "--" */
		for (k = 1; k < n; k++)
			if (b[k - 1] == '\r' || (b[k] == '-' && k + 1 < n && b[k + 1] == '-'))
				break;
		return k;
	}
}

/* spool - the spool's bytes [a, b) (the spool is flushed) */
static char *
spool(struct msg *m, uint64_t a, uint64_t b)
{
	char *buf = g_malloc(b - a + 1);

	if (m->mem != NULL)
		memcpy(buf, m->mem->data + a, b - a);
	else if (pread(fileno(m->spool), buf, b - a, (off_t)a) != (ssize_t)(b - a))
		abort();
	return buf;
}

/* check - what early_take handed over (see the top) */
static void
check(struct msg *m, const struct early_leaf *el)
{
	char *all, *dec;
	uint64_t hb, blank, i;
	size_t n;
	int state = 0;
	guint32 save = 0;

	if (!(m->body_offset <= el->start && el->start <= el->end && el->end <= m->size) ||
	    el->size < conf->offload_min_size || el->t == NULL || stored() == 0)
		abort();
	all = spool(m, 0, m->size);
	if (el->start == m->body_offset) {
		/* a single-part top level: the whole body, the message's header names base64 */
		const char *cte = msg_header_get(m, "Content-Transfer-Encoding", 0);

		if (el->end != m->size || cte == NULL || strstr(cte, "ase64") == NULL ||
		    msg_header_get(m, "Content-Transfer-Encoding", 1) != NULL)
			abort();
		blank = hb = 0;
		goto decode;
	}
	/* an empty line ends the part's header block right before the leaf */
	if (all[el->start - 1] != '\n' || !(all[el->start - 2] == '\n' ||
	    (all[el->start - 2] == '\r' && el->start >= 3 && all[el->start - 3] == '\n')))
		abort();
	/* the text since the empty line before it (the boundary line and the
	 * part's header block, maybe the end of a body before) names base64 */
	blank = all[el->start - 2] == '\n' ? el->start - 1 : el->start - 2;
	for (hb = blank - 1; hb > m->body_offset && !(all[hb] == '\n' && (all[hb - 1] == '\n' ||
	     (all[hb - 1] == '\r' && hb >= 2 && all[hb - 2] == '\n'))); hb--)
		;
	/* (bytes, not a string: a body before may hold NULs) */
	for (i = hb; i + 6 <= blank && g_ascii_strncasecmp(all + i, "base64", 6) != 0; i++)
		;
	if (i + 6 > blank)
		abort();
decode:
	dec = g_malloc(el->end - el->start + 3);
	n = g_mime_encoding_base64_decode_step((const unsigned char *)all + el->start,
		el->end - el->start, (unsigned char *)dec, &state, &save);
	if (n != el->size)
		abort();
	g_free(dec);
	g_free(all);
}

/* as offloadctl process: a spool in a file (unless flags say memory) before the body */
static void
on_headers(struct msg *m, void *arg)
{
	if (!(*(unsigned *)arg & 2) && (msg_write_body(m, "", 0) != 0 || msg_spool_file(m) == NULL))
		abort();
}

static int
on_body(struct msg *m, const void *buf, size_t len, void *arg)
{
	(void)arg;
	return early_body(&pipe_, m, buf, len);
}

/* read_as_process - the message through msg_read_stream_with (cli_process_read.c);
 * false when it is refused (a malformed header block) */
static bool
read_as_process(struct msg *m, const char *d, size_t size, unsigned flags)
{
	struct msg_intake mi = { on_headers, on_body, &flags };
	FILE *f = size ? fmemopen((void *)d, size, "r") : NULL;
	bool crlf, ok;

	if (f == NULL)
		return false;
	ok = msg_read_stream_with(m, f, &mi, &crlf, NULL) == 0;
	fclose(f);
	return ok;
}

/* read_chunks - the message's header lines, then its body in chunks as the milter's body callback gets them */
static void
read_chunks(struct msg *m, const char *d, size_t size, unsigned pat, unsigned flags)
{
	unsigned st = 0;
	size_t i = headers(m, d, size);

	/* the headers go to the spool on the first body bytes; a big message's
	 * spool is a file by the time a leaf qualifies */
	if (msg_write_body(m, "", 0) != 0 || (!(flags & 2) && msg_spool_file(m) == NULL))
		abort();
	while (i < size) {
		size_t k = chunk(pat, d + i, size - i, &st);

		if (early_body(&pipe_, m, d + i, k) != 0)
			abort();
		i += k;
	}
	if (msg_finish(m) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct msg *m;
	struct early_leaf el;
	unsigned pat, flags;
	bool read;

	if (size < 2)
		return 0;
	pat = data[0];
	flags = data[1];
	d += 2;
	size -= 2;
	m = msg_new(conf->spool_dir, 0, NULL);
	if (flags & 8) {
		read = read_as_process(m, d, size, flags);
	} else {
		read_chunks(m, d, size, pat, flags);
		read = true;
	}
	if (read && !(flags & 1) && early_take(m, g_get_monotonic_time() + 60 * G_USEC_PER_SEC, &el)) {
		check(m, &el);
		/* not adopted: end of message deletes it (run_early_adopt) */
		transfer_abort(el.t);
		transfer_free(el.t);
	}
	/* end of message (run_early_end) or an abort (msg_free) */
	if (flags & 4) {
		early_free(m->early);
		m->early = NULL;
	}
	msg_free(m);
	if (stored() != 0)
		abort();
	return 0;
}
