/*
 * pipeline_early.c - end of message and early offload (early.h): the parse
 * without the leaf's bytes, then adopt the leaf stored while the body
 * arrived, or delete it.
 */
#include "pipeline_int.h"

#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "early.h"
#include "log.h"

#define MARK_LEN 32 /* random base64 characters standing for the leaf in the parse */

struct mark_find {
	const char *mark;
	GMimePart *part;
	unsigned found;
};

/* mark_check - a part whose content is the mark */
static void
mark_check(GMimeObject *parent, GMimeObject *part, gpointer arg)
{
	struct mark_find *mf = arg;
	GMimeDataWrapper *w;
	GMimeStream *s;
	char buf[MARK_LEN];
	size_t got = 0;
	ssize_t n;

	(void)parent;
	if (!GMIME_IS_PART(part) || (w = g_mime_part_get_content(GMIME_PART(part))) == NULL ||
	    (s = g_mime_data_wrapper_get_stream(w)) == NULL || g_mime_stream_length(s) != MARK_LEN ||
	    g_mime_stream_reset(s) != 0)
		return;
	while (got < MARK_LEN && (n = g_mime_stream_read(s, buf + got, MARK_LEN - got)) > 0)
		got += (size_t)n;
	g_mime_stream_reset(s);
	if (got == MARK_LEN && memcmp(buf, mf->mark, MARK_LEN) == 0) {
		mf->part = GMIME_PART(part);
		mf->found++;
	}
}

/* excised_stream - fs without [start, end): the mark in its place */
static GMimeStream *
excised_stream(GMimeStream *fs, uint64_t start, uint64_t end, uint64_t size, const char *mark)
{
	GMimeStream *cat = g_mime_stream_cat_new();
	GMimeStream *src[3];

	src[0] = g_mime_stream_substream(fs, 0, (gint64)start);
	src[1] = g_mime_stream_mem_new_with_buffer(mark, MARK_LEN);
	src[2] = g_mime_stream_substream(fs, (gint64)end, (gint64)size);
	for (int i = 0; i < 3; i++) {
		g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), src[i]);
		g_object_unref(src[i]);
	}
	return cat;
}

GMimeMessage *
run_parse_excised(struct run *r, GMimeStream *fs, int fd)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char rnd[MARK_LEN];
	char mark[MARK_LEN];
	struct mark_find mf = { mark, NULL, 0 };
	uint64_t start, end;
	struct stat sb;
	GMimeStream *cat, *leaf;
	GMimeMessage *message;
	GMimeDataWrapper *w;
	GMimeOpenPGPData pgp;

	if (!early_leaf_range(r->m->early, &start, &end) || fstat(fd, &sb) != 0 ||
	    end > (uint64_t)sb.st_size || crypto_random(rnd, sizeof rnd) != 0)
		return NULL;
	for (size_t i = 0; i < MARK_LEN; i++)
		mark[i] = b64[rnd[i] & 63];
	cat = excised_stream(fs, start, end, (uint64_t)sb.st_size, mark);
	message = run_parse_stream(cat);
	g_object_unref(cat);
	if (message != NULL)
		g_mime_message_foreach(message, mark_check, &mf);
	if (mf.found != 1) {
		log_info("%s: the parse without the attachment read while the body arrived did not "
			"find its place; parsing it whole", r->qid);
		if (message != NULL)
			g_object_unref(message);
		return NULL;
	}
	/* the leaf's bytes back in place of the mark: the tree a parse of the
	 * whole spool gives (early_leaf_range: no boundary in them) */
	pgp = g_mime_part_get_openpgp_data(mf.part);
	leaf = g_mime_stream_substream(fs, (gint64)start, (gint64)end);
	w = g_mime_data_wrapper_new_with_stream(leaf,
		g_mime_data_wrapper_get_encoding(g_mime_part_get_content(mf.part)));
	g_mime_part_set_content(mf.part, w);
	g_mime_part_set_openpgp_data(mf.part, pgp);
	g_object_unref(w);
	g_object_unref(leaf);
	return message;
}

struct transfer *
run_early_adopt(struct run *r)
{
	struct early_leaf el;

	if (r->m->early == NULL)
		return NULL;
	if (!early_take(r->m, r->rw->deadline, &el)) {
		run_early_end(r);
		return NULL;
	}
	run_early_end(r);
	if (!rewrite_adopt(r->rw, el.start, el.end, el.size, el.job)) {
		log_info("%s: the attachment stored while the body arrived is not the one stored "
			"first; transfer %s deleted", r->qid, el.t->id);
		transfer_abort(el.t);
		transfer_free(el.t);
		return NULL;
	}
	log_info("%s: attachment stored while the body arrived adopted (%llu bytes, transfer %s)",
		r->qid, (unsigned long long)el.size, el.t->id);
	return el.t;
}

void
run_early_job(struct run *r)
{
	struct early_leaf el;

	if (r->m->early == NULL)
		return;
	if (early_take(r->m, r->rw->deadline, &el)) {
		rewrite_early_job(r->rw, el.start, el.end, el.size, el.job);
		log_info("%s: the attachment stored while the body arrived is not the one stored "
			"first; transfer %s deleted", r->qid, el.t->id);
		transfer_abort(el.t);
		transfer_free(el.t);
	}
	run_early_end(r);
}

void
run_early_end(struct run *r)
{
	early_free(r->m->early);
	r->m->early = NULL;
}
