/*
 * rewrite.c - MIME tree surgery (see rewrite.h). GMime objects are owned by
 * the message; temporary streams (decoded text, serialised attached
 * messages) live in unlinked files in the spool directory, so nothing here
 * holds attachment data in memory beyond one read buffer.
 */
#include "rewrite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "crypto.h"
#include "log.h"
#include "mime_read.h"
#include "notice.h"
#include "b64stream.h"
#include "rewrite_b64cut.h"
#include "rewrite_int.h"
#include "transfer_reply.h"
#include "spool_tmp.h"

#define REWRITE_BUF (256 * 1024)

struct rewrite_leaf {
	GMimeObject *obj;
	GMimeMultipart *parent; /* NULL: the top-level part */
	uint64_t enc_len;
	bool offloaded;
	bool body;              /* a text/plain or text/html body (not an attachment) */
	bool adopted;           /* stored while the body arrived: file 0 of rw->t (rewrite_adopt) */
	char *cls_path;         /* classification deferred to the offload stream: its
	                         * part path in rw->cls; NULL once classified */
	struct classify_job *early_job; /* the early worker's job for it (rewrite_adopt, rewrite_early_job) */
	uint64_t early_size;    /* the bytes it decoded (all of the leaf) */
};

static void
leaf_free(gpointer p)
{
	struct rewrite_leaf *lf = p;

	g_free(lf->cls_path);
	classify_job_discard(lf->early_job);
	g_free(lf);
}

/* leaf_by_size - THE rule "offloaded by size": an attachment (not a text
 * body, which carries the notice) at or over offload_min_size encoded.
 * rewrite_has_work, pass 1 of rewrite_offload and rewrite_defer use it. */
static bool
leaf_by_size(const struct rewrite *rw, const struct rewrite_leaf *lf)
{
	return !lf->body && lf->enc_len >= rw->conf->offload_min_size;
}

bool
rw_is_signed_or_encrypted(GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return g_mime_content_type_is_type(ct, "multipart", "signed") ||
	       g_mime_content_type_is_type(ct, "multipart", "encrypted") ||
	       g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
	       g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime");
}

/* rw_tmp_stream - a nameless private file in the spool directory
 * (spool_tmp.h; a named fallback is unlinked at once) */
GMimeStream *
rw_tmp_stream(const struct rewrite *rw)
{
	char *path = NULL;
	int fd = spool_tmp_open(rw->spool_dir, "tmp", &path);

	if (fd < 0) {
		log_error("%s: cannot create temporary file in %s: %s", rw->qid, rw->spool_dir,
			g_strerror(errno));
		return NULL;
	}
	spool_tmp_unlink(path);
	g_free(path);
	return g_mime_stream_fs_new(fd);
}

static GMimeFormatOptions *
format_dos(void)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	return fo;
}

static uint64_t
message_part_length(GMimeMessagePart *mp)
{
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	GMimeStream *null;
	GMimeFormatOptions *fo;
	uint64_t n;

	if (inner == NULL)
		return 0;
	null = g_mime_stream_null_new();
	fo = format_dos();
	g_mime_object_write_to_stream(GMIME_OBJECT(inner), fo, null);
	n = GMIME_STREAM_NULL(null)->written;
	g_mime_format_options_free(fo);
	g_object_unref(null);
	return n;
}

static uint64_t
leaf_encoded_length(GMimeObject *obj)
{
	GMimeDataWrapper *w;
	gint64 len;

	if (GMIME_IS_MESSAGE_PART(obj))
		return message_part_length(GMIME_MESSAGE_PART(obj));
	w = g_mime_part_get_content(GMIME_PART(obj));
	if (w == NULL)
		return 0;
	len = g_mime_stream_length(g_mime_data_wrapper_get_stream(w));
	return len > 0 ? (uint64_t)len : 0;
}


static bool
is_multipart_signed(GMimeObject *obj)
{
	return g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "multipart", "signed");
}

static int
rewrite_walk(struct rewrite *rw, GMimeObject *obj, GMimeMultipart *parent, unsigned depth,
	char **err)
{
	int i, n;

	if (++rw->nparts > rw->conf->max_parts) {
		*err = g_strdup_printf("more than %llu MIME parts (max_parts)",
			(unsigned long long)rw->conf->max_parts);
		return REWRITE_LIMIT;
	}
	if (depth > rw->conf->max_mime_depth) {
		*err = g_strdup_printf("MIME nesting deeper than %llu (max_mime_depth)",
			(unsigned long long)rw->conf->max_mime_depth);
		return REWRITE_LIMIT;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		if (rw_is_signed_or_encrypted(obj)) {
			/* opaque (never break a signature) unless signed_mail asks
			 * to look in: then the signed content, not the signature */
			if (!rw->open_signed || !is_multipart_signed(obj))
				return REWRITE_OK;
			rw->signed_opened = true;
			n = MIN(n, 1);
		}
		for (i = 0; i < n; i++) {
			int rc = rewrite_walk(rw, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
				GMIME_MULTIPART(obj), depth + 1, err);

			if (rc != REWRITE_OK)
				return rc;
		}
		return REWRITE_OK;
	}
	if (GMIME_IS_PART(obj) || GMIME_IS_MESSAGE_PART(obj)) {
		struct rewrite_leaf *lf = g_new0(struct rewrite_leaf, 1);

		lf->obj = obj;
		lf->parent = parent;
		lf->enc_len = leaf_encoded_length(obj);
		lf->body = rw_is_body_text(obj, "plain") || rw_is_body_text(obj, "html");
		g_ptr_array_add(rw->candidates, lf);
		g_hash_table_insert(rw->by_obj, obj, lf);
	}
	return REWRITE_OK;
}

int
rewrite_scan(struct rewrite *rw, char **err)
{
	GMimeObject *top = g_mime_message_get_mime_part(rw->message);

	rw->candidates = g_ptr_array_new_with_free_func(leaf_free);
	rw->by_obj = g_hash_table_new(NULL, NULL);
	rw->open_signed = rw->conf->signed_mail != CONF_SIGNED_SKIP;
	if (rw_is_signed_or_encrypted(top)) {
		/* a signed top level is listed for signed_mail = offload/reject */
		int rc = rw->open_signed && is_multipart_signed(top) ?
			rewrite_walk(rw, top, NULL, 1, err) : REWRITE_OK;

		return rc == REWRITE_OK ? REWRITE_SIGNED : rc;
	}
	return rewrite_walk(rw, top, NULL, 1, err);
}

/* decoded_stream - a readable stream of the decoded content of a leaf */
GMimeStream *
rw_decoded_stream(const struct rewrite *rw, GMimeObject *obj)
{
	GMimeDataWrapper *w;
	GMimeStream *raw, *f;
	GMimeContentEncoding enc;

	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		GMimeStream *tmp = rw_tmp_stream(rw);
		GMimeFormatOptions *fo;

		if (tmp == NULL)
			return NULL;
		if (inner) {
			fo = format_dos();
			if (g_mime_object_write_to_stream(GMIME_OBJECT(inner), fo, tmp) < 0) {
				log_error("%s: cannot write attached message to a temporary file", rw->qid);
				g_mime_format_options_free(fo);
				g_object_unref(tmp);
				return NULL;
			}
			g_mime_format_options_free(fo);
		}
		g_mime_stream_reset(tmp);
		return tmp;
	}
	w = g_mime_part_get_content(GMIME_PART(obj));
	if (w == NULL)
		return g_mime_stream_mem_new();
	raw = g_mime_data_wrapper_get_stream(w);
	g_mime_stream_reset(raw);
	enc = g_mime_data_wrapper_get_encoding(w);
	if (enc == GMIME_CONTENT_ENCODING_BASE64)
		return b64stream_new(raw); /* GMime's bytes, faster, with a verdict at the end */
	f = g_mime_stream_filter_new(raw);
	if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE || enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		GMimeFilter *dec = g_mime_filter_basic_new(enc, FALSE);

		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), dec);
		g_object_unref(dec);
	}
	return f;
}

static const char *
ext_for_type(const char *type)
{
	static const char *const map[][2] = {
		{ "application/pdf", ".pdf" }, { "text/plain", ".txt" }, { "text/html", ".html" },
		{ "image/jpeg", ".jpg" }, { "image/png", ".png" }, { "image/gif", ".gif" },
		{ "application/zip", ".zip" }, { "message/rfc822", ".eml" }, { "text/calendar", ".ics" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(map); i++)
		if (g_ascii_strcasecmp(type, map[i][0]) == 0)
			return map[i][1];
	return ".bin";
}

static char *
leaf_name(GMimeObject *obj, const char *type, unsigned index)
{
	const char *name = NULL;

	if (GMIME_IS_PART(obj))
		name = g_mime_part_get_filename(GMIME_PART(obj));
	if (name && *name)
		return g_strdup(name);
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		const char *subj = inner ? g_mime_message_get_subject(inner) : NULL;

		if (subj && *subj) {
			char *s = g_strndup(subj, 80), *r = g_strconcat(g_strstrip(s), ".eml", NULL);

			g_free(s);
			return r;
		}
	}
	return g_strdup_printf("attachment-%u%s", index + 1, ext_for_type(type));
}

/* leaf_job - the classify job of a deferred leaf, NULL when it has none */
static struct classify_job *
leaf_job(const struct rewrite *rw, const struct rewrite_leaf *lf)
{
	if (lf->cls_path == NULL || rw->cls == NULL)
		return NULL;
	return classify_pending_job(rw->cls_ctx, rw->cls, lf->cls_path);
}

/* leaf_job_end - complete: the result joins rw->cls and the leaf is
 * classified; incomplete (read or store error): dropped, the leaf stays
 * pending for rewrite_classify_pending */
static void
leaf_job_end(struct rewrite *rw, struct rewrite_leaf *lf, struct classify_job *job, bool complete)
{
	if (job == NULL)
		return;
	if (complete) {
		classify_pending_finish(rw->cls_ctx, rw->cls, lf->cls_path, job);
		g_clear_pointer(&lf->cls_path, g_free);
	} else {
		classify_job_discard(job); /* no result wanted: not parsed */
	}
}

/* leaf_job_feed - more decoded bytes; stops feeding once more cannot change
 * the result (classify_job_done) */
static void
leaf_job_feed(struct classify_job *job, const char *buf, size_t n)
{
	if (job != NULL && !classify_job_done(job))
		classify_job_feed(job, buf, n);
}

/* decoded_size - count decoded bytes (only for base64 parts near the
 * threshold); the count pass also classifies a deferred leaf and gives the
 * decoder's verdict on the data (*cut, rewrite_b64_cut: 0 whole, 1 the part
 * stays, -1 with *err) */
static int64_t
decoded_size(struct rewrite *rw, struct rewrite_leaf *lf, const char *name, char *buf, int *cut,
	char **err)
{
	GMimeStream *s = rw_decoded_stream(rw, lf->obj);
	struct classify_job *job;
	int64_t total = 0;
	ssize_t n;

	if (s == NULL)
		return -1;
	job = leaf_job(rw, lf);
	while ((n = mime_read(s, buf, REWRITE_BUF)) > 0) {
		total += n;
		leaf_job_feed(job, buf, (size_t)n);
	}
	rw->decoded_bytes += (uint64_t)total;
	leaf_job_end(rw, lf, job, n == 0);
	if (n == 0)
		*cut = rewrite_b64_cut(rw, name, s, err);
	g_object_unref(s);
	return n < 0 ? -1 : total;
}

/* leaf_too_small - base64 decodes to about 3/4 of its length; count
 * exactly only when the lower bound does not already settle it. 1: the
 * decoded leaf is below min or does not decode whole (it stays), 0: go on,
 * -1 with *err. */
static int
leaf_too_small(struct rewrite *rw, struct rewrite_leaf *lf, uint64_t min, const char *name,
	char *buf, char **err)
{
	int64_t dsz;
	int cut = 0;

	if (!GMIME_IS_PART(lf->obj) ||
	    g_mime_part_get_content_encoding(GMIME_PART(lf->obj)) != GMIME_CONTENT_ENCODING_BASE64 ||
	    (double)lf->enc_len * 0.70 >= (double)min)
		return 0;
	dsz = decoded_size(rw, lf, name, buf, &cut, err);
	if (dsz < 0) {
		*err = g_strdup("cannot read the spooled message");
		return -1;
	}
	if (cut != 0)
		return cut;
	return (uint64_t)dsz < min ? 1 : 0;
}

/* leaf_stream - one pass over the decoded bytes of s into u: SHA-256 +
 * encryption (the upload), for a deferred leaf classification and, with
 * [scan] outgoing, clamd (sc: it reads the same pass, before encryption). 0,
 * or -1 with *err. */
static int
leaf_stream(struct rewrite *rw, struct rewrite_leaf *lf, GMimeStream *s, struct transfer_upload *u,
	struct scan_clamd *sc, char *buf, char **err)
{
	struct classify_job *job = leaf_job(rw, lf);
	ssize_t n;
	int serr, rc = 0;

	while ((n = mime_read(s, buf, REWRITE_BUF)) > 0) {
		if (rw->deadline && g_get_monotonic_time() > rw->deadline) {
			*err = g_strdup("eom_timeout reached while storing attachments");
			rc = -1;
			break;
		}
		rw->decoded_bytes += (uint64_t)n;
		leaf_job_feed(job, buf, (size_t)n);
		if (job != NULL && classify_job_done(job)) {
			/* more input cannot change the part's result: it joins the
			 * message now and the job's buffer goes */
			leaf_job_end(rw, lf, job, true);
			job = NULL;
		}
		if (sc != NULL)
			scan_clamd_write(sc, buf, (size_t)n);
		serr = transfer_upload_write(u, buf, (size_t)n);
		if (serr != STORAGE_OK) {
			*err = g_strdup_printf("cannot store attachment: %s", storage_strerror(serr));
			rc = -1;
			break;
		}
	}
	if (rc == 0 && n < 0) {
		*err = g_strdup("cannot read the spooled message");
		rc = -1;
	}
	leaf_job_end(rw, lf, job, rc == 0);
	return rc;
}

static void classify_leaf_now(struct rewrite *rw, struct rewrite_leaf *lf, char **buf);

/* offload_adopted - the leaf stored while the body arrived (rewrite_adopt)
 * is file 0 of rw->t: it gets the name and type offload_leaf would give it
 * and its deferred classification (classify_leaf_now: the early worker's
 * job, else decoding it once more) */
static int
offload_adopted(struct rewrite *rw, struct rewrite_leaf *lf, char *buf)
{
	struct transfer_file *f = g_ptr_array_index(rw->t->files, 0);
	char *type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(lf->obj));
	char *name = leaf_name(lf->obj, type, 0);
	uint64_t before;

	g_free(f->name);
	f->name = g_strdup(*name ? name : "attachment");
	g_free(f->type);
	f->type = type;
	g_free(name);
	before = rw->decoded_bytes;
	classify_leaf_now(rw, lf, &buf); /* lf->adopted still set: any early job counts */
	lf->adopted = false;
	rw->decoded_bytes = before + f->size; /* counted as the stream would have */
	rw->offloaded_bytes += f->size;
	lf->offloaded = true;
	return REWRITE_OK;
}

/* offload_leaf - store one leaf in rw->t unless it decodes below min */
static int
offload_leaf(struct rewrite *rw, struct rewrite_leaf *lf, uint64_t min, char *buf, char **err)
{
	GMimeContentType *ct = g_mime_object_get_content_type(lf->obj);
	char *type = g_mime_content_type_get_mime_type(ct);
	char *name = leaf_name(lf->obj, type, rw->t->files->len);
	struct transfer_upload *u = NULL;
	struct scan_clamd *sc = NULL;
	GMimeStream *s = NULL;
	int rc = REWRITE_ERROR, serr = 0, small;

	if (lf->adopted) {
		g_free(type);
		g_free(name);
		return offload_adopted(rw, lf, buf);
	}
	/* a base64 part that does not decode whole stays: the decoder tells
	 * at the end of its one pass (rewrite_b64_cut), also in leaf_too_small */
	small = leaf_too_small(rw, lf, min, name, buf, err);
	if (small != 0) {
		rc = small > 0 ? REWRITE_OK : REWRITE_ERROR;
		goto out;
	}
	s = rw_decoded_stream(rw, lf->obj);
	if (s == NULL) {
		*err = g_strdup("cannot read the spooled message");
		goto out;
	}
	u = transfer_upload_begin(rw->t, name, type, &serr);
	if (u == NULL) {
		*err = g_strdup_printf("cannot store attachment: %s", storage_strerror(serr));
		goto out;
	}
	sc = scan_begin(rw->conf);
	if (leaf_stream(rw, lf, s, u, sc, buf, err) != 0)
		goto out;
	small = rewrite_b64_cut(rw, name, s, err); /* a shortened file stays */
	if (small != 0) {
		rc = small > 0 ? REWRITE_OK : REWRITE_ERROR;
		goto out;
	}
	if (transfer_upload_size(u) < min) {
		rc = REWRITE_OK; /* decoded smaller than it looked: keep it */
		goto out;
	}
	rc = scan_end(rw->conf, &rw->scan, sc, rw->qid, name, transfer_upload_size(u)) == SCAN_GO ?
		REWRITE_OK : REWRITE_SCAN;
	sc = NULL;
	if (rc == REWRITE_SCAN)
		goto out;
	rc = REWRITE_ERROR;
	rw->offloaded_bytes += transfer_upload_size(u);
	serr = transfer_upload_commit(u);
	u = NULL;
	if (serr != STORAGE_OK) {
		*err = g_strdup_printf("cannot store attachment: %s", storage_strerror(serr));
		goto out;
	}
	lf->offloaded = true;
	rc = REWRITE_OK;
out:
	scan_clamd_discard(sc); /* not offloaded after all: no verdict needed */
	transfer_upload_abort(u);
	if (s)
		g_object_unref(s);
	g_free(type);
	g_free(name);
	return rc;
}

bool
rewrite_defer(GMimeObject *part, const char *path, void *arg)
{
	struct rewrite *rw = arg;
	struct rewrite_leaf *lf = rw->by_obj ? g_hash_table_lookup(rw->by_obj, part) : NULL;

	if (lf == NULL || !GMIME_IS_PART(part) || !leaf_by_size(rw, lf))
		return false;
	g_free(lf->cls_path);
	lf->cls_path = g_strdup(path);
	return true;
}

/* early_job_end - the job the early worker fed this leaf's decoded bytes
 * finishes its deferred classification when it was made for this part (the
 * same name and declared type: the same bytes give the same result); for a
 * leaf not adopted (its decoded bytes counted here) only a job fed the whole
 * leaf (rewrite_early_job) */
static bool
early_job_end(struct rewrite *rw, struct rewrite_leaf *lf)
{
	struct classify_job *job = lf->early_job;

	lf->early_job = NULL;
	if (job != NULL && rw->cls != NULL && (lf->adopted || !classify_job_done(job)) &&
	    classify_pending_match(rw->cls, lf->cls_path, job)) {
		leaf_job_end(rw, lf, job, true);
		rw->decoded_bytes += lf->early_size; /* counted as decoding it here would have */
		log_info("%s: attachment classified while the body arrived", rw->qid);
		return true;
	}
	if (job != NULL)
		log_info("%s: attachment classified again at end of message (named or typed "
			"differently while the body arrived)", rw->qid);
	classify_job_discard(job);
	return false;
}

/* classify_leaf_now - a deferred leaf's classification: the early worker's
 * job (early_job_end), else by decoding it (*buf: REWRITE_BUF bytes,
 * allocated when NULL); nothing when not deferred */
static void
classify_leaf_now(struct rewrite *rw, struct rewrite_leaf *lf, char **buf)
{
	struct classify_job *job;
	GMimeStream *s;
	ssize_t n;

	if (lf->cls_path == NULL || early_job_end(rw, lf))
		return;
	job = leaf_job(rw, lf);
	s = rw_decoded_stream(rw, lf->obj);
	if (*buf == NULL)
		*buf = g_malloc(REWRITE_BUF);
	/* like the classification of any other part: what can be read is
	 * classified, a read error ends the part */
	while (s != NULL && job != NULL && !classify_job_done(job) &&
	       (n = mime_read(s, *buf, REWRITE_BUF)) > 0) {
		rw->decoded_bytes += (uint64_t)n;
		classify_job_feed(job, *buf, (size_t)n);
	}
	if (job != NULL)
		leaf_job_end(rw, lf, job, true);
	g_clear_pointer(&lf->cls_path, g_free);
	if (s != NULL)
		g_object_unref(s);
}

void
rewrite_classify_pending(struct rewrite *rw)
{
	char *buf = NULL;
	guint i;

	for (i = 0; rw->candidates && i < rw->candidates->len; i++)
		classify_leaf_now(rw, g_ptr_array_index(rw->candidates, i), &buf);
	g_free(buf);
}

/* leaf_range_is - a base64 part whose content is spool bytes [start, end) */
static bool
leaf_range_is(const struct rewrite_leaf *lf, uint64_t start, uint64_t end)
{
	GMimeDataWrapper *w;
	GMimeStream *s;

	if (!GMIME_IS_PART(lf->obj) ||
	    g_mime_part_get_content_encoding(GMIME_PART(lf->obj)) != GMIME_CONTENT_ENCODING_BASE64)
		return false;
	w = g_mime_part_get_content(GMIME_PART(lf->obj));
	if (w == NULL || g_mime_data_wrapper_get_encoding(w) != GMIME_CONTENT_ENCODING_BASE64)
		return false;
	s = g_mime_data_wrapper_get_stream(w);
	/* a substream of the parsed spool file (run_parse), not a converted part */
	return s != NULL && GMIME_IS_STREAM_FS(s) && s->bound_start >= 0 && s->bound_end >= 0 &&
	       (uint64_t)s->bound_start == start && (uint64_t)s->bound_end == end;
}

bool
rewrite_adopt(struct rewrite *rw, uint64_t start, uint64_t end, uint64_t size, struct classify_job *job)
{
	guint i;

	for (i = 0; rw->candidates != NULL && i < rw->candidates->len; i++) {
		struct rewrite_leaf *lf = g_ptr_array_index(rw->candidates, i);

		if (rw->whole_message || rw->t != NULL || rw->conf->scan_outgoing)
			break;
		/* the first leaf pass 1 of rewrite_offload stores */
		if (lf->body || lf->offloaded || !(rw->force_all || leaf_by_size(rw, lf)))
			continue;
		if (!leaf_range_is(lf, start, end) || size < (rw->force_all ? 0 : rw->conf->offload_min_size))
			break;
		lf->adopted = true;
		classify_job_discard(lf->early_job);
		lf->early_job = job;
		lf->early_size = size;
		return true;
	}
	classify_job_discard(job);
	return false;
}

void
rewrite_early_job(struct rewrite *rw, uint64_t start, uint64_t end, uint64_t size, struct classify_job *job)
{
	/* a job done early (opaque type, container over max_text) would count
	 * fewer decoded bytes than decoding here, which stops at its own read:
	 * that costs little, so it decodes here */
	for (guint i = 0; job != NULL && !classify_job_done(job) && rw->candidates != NULL &&
	     i < rw->candidates->len; i++) {
		struct rewrite_leaf *lf = g_ptr_array_index(rw->candidates, i);

		if (lf->cls_path != NULL && leaf_range_is(lf, start, end)) {
			classify_job_discard(lf->early_job);
			lf->early_job = job;
			lf->early_size = size;
			return;
		}
	}
	classify_job_discard(job);
}

bool
rewrite_adopt_left(const struct rewrite *rw)
{
	guint i;

	for (i = 0; rw->candidates && i < rw->candidates->len; i++)
		if (((struct rewrite_leaf *)g_ptr_array_index(rw->candidates, i))->adopted)
			return true;
	return false;
}

void
rewrite_reset(struct rewrite *rw)
{
	guint i;

	for (i = 0; rw->candidates && i < rw->candidates->len; i++) {
		struct rewrite_leaf *lf = g_ptr_array_index(rw->candidates, i);

		lf->offloaded = false;
		lf->adopted = false;
	}
	rw->offloaded_bytes = 0;
}

bool
rewrite_has_work(const struct rewrite *rw, uint64_t msg_size)
{
	uint64_t max_out = rw->conf->max_outgoing_size;
	guint i;

	if (max_out && msg_size > max_out)
		return true;
	for (i = 0; i < rw->candidates->len; i++) {
		const struct rewrite_leaf *lf = g_ptr_array_index(rw->candidates, i);

		if (leaf_by_size(rw, lf))
			return true;
	}
	return false;
}

static gint
by_size_desc(gconstpointer a, gconstpointer b)
{
	const struct rewrite_leaf *x = *(struct rewrite_leaf *const *)a;
	const struct rewrite_leaf *y = *(struct rewrite_leaf *const *)b;

	return x->enc_len < y->enc_len ? 1 : x->enc_len > y->enc_len ? -1 : 0;
}

int
rewrite_offload(struct rewrite *rw, uint64_t msg_size, char **err)
{
	uint64_t max_out = rw->conf->max_outgoing_size, left = msg_size;
	GPtrArray *rest = g_ptr_array_new();
	char *buf = g_malloc(REWRITE_BUF);
	guint i;
	int rc = REWRITE_OK;

	/* pass 1: every leaf at or over offload_min_size */
	for (i = 0; i < rw->candidates->len && rc == REWRITE_OK; i++) {
		struct rewrite_leaf *lf = g_ptr_array_index(rw->candidates, i);
		bool deferred = lf->cls_path != NULL;

		/* the text bodies stay: they carry the notice */
		if (!lf->body && !lf->offloaded && (rw->force_all || leaf_by_size(rw, lf)))
			rc = offload_leaf(rw, lf, rw->force_all ? 0 : rw->conf->offload_min_size, buf, err);
		/* a part classified in this stream may change the decision: stop
		 * before storing more */
		if (rc == REWRITE_OK && deferred && lf->cls_path == NULL && rw->stop && rw->stop(rw->stop_arg))
			rc = REWRITE_REDO;
		if (lf->offloaded)
			left -= MIN(left, lf->enc_len);
		else
			g_ptr_array_add(rest, lf);
	}
	/* pass 2: the message would still exceed max_outgoing_size: the largest
	 * remaining leaves go too, except the text bodies that carry the notice */
	if (max_out && rc == REWRITE_OK) {
		g_ptr_array_sort(rest, by_size_desc);
		for (i = 0; i < rest->len && rc == REWRITE_OK && left > max_out; i++) {
			struct rewrite_leaf *lf = g_ptr_array_index(rest, i);

			if (lf->body)
				continue;
			rc = offload_leaf(rw, lf, 0, buf, err);
			if (lf->offloaded)
				left -= MIN(left, lf->enc_len);
		}
	}
	g_ptr_array_free(rest, TRUE);
	g_free(buf);
	return rc;
}

static bool
prune(GMimeMultipart *mp, GHashTable *touched)
{
	int i;

	for (i = g_mime_multipart_get_count(mp) - 1; i >= 0; i--) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);

		if (GMIME_IS_MULTIPART(child) && prune(GMIME_MULTIPART(child), touched)) {
			g_mime_multipart_remove_at(mp, i);
			g_hash_table_add(touched, mp);
		}
	}
	return g_mime_multipart_get_count(mp) == 0 && g_hash_table_contains(touched, mp);
}

/* write_body - the new body into a nameless spool file (spool_tmp.h):
 * *body_fd keeps it alive, *body_path reaches it */
static int
write_body(const struct rewrite *rw, GMimeObject *top, int *body_fd, char **body_path, char **err)
{
	char *path = NULL;
	int fd = spool_tmp_open(rw->spool_dir, "body", &path);
	GMimeStream *fs, *crlf;
	GMimeFilter *f;
	GMimeFormatOptions *fo;
	ssize_t n;

	if (fd < 0) {
		*err = g_strdup_printf("cannot create a file in %s: %s", rw->spool_dir, g_strerror(errno));
		return REWRITE_ERROR;
	}
	fs = g_mime_stream_fs_new(fd);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(fs), FALSE);
	/* GMime's DOS format still ends some epilogues with a bare LF: every
	 * line end leaves here as CRLF, as SMTP requires */
	crlf = g_mime_stream_filter_new(fs);
	f = g_mime_filter_unix2dos_new(FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(crlf), f);
	g_object_unref(f);
	fo = format_dos();
	n = g_mime_object_write_content_to_stream(top, fo, crlf);
	if (n >= 0)
		n = g_mime_stream_flush(crlf);
	g_mime_format_options_free(fo);
	g_object_unref(crlf);
	g_object_unref(fs);
	if (n < 0) {
		*err = g_strdup_printf("cannot write the new body to %s", rw->spool_dir);
		spool_tmp_drop(&fd, &path);
		return REWRITE_ERROR;
	}
	*body_fd = fd;
	*body_path = path;
	return REWRITE_OK;
}

/* notice_sender - the sender the notice names: the first From mailbox
 * (name and address), else the envelope sender; *buf holds the address */
static void
notice_sender(const struct rewrite *rw, struct notice *n, char **buf)
{
	InternetAddressList *l = g_mime_message_get_from(rw->message);
	InternetAddress *a = l && internet_address_list_length(l) > 0 ?
		internet_address_list_get_address(l, 0) : NULL;

	if (a && INTERNET_ADDRESS_IS_MAILBOX(a)) {
		n->sender_name = internet_address_get_name(a);
		*buf = g_strdup(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
	} else {
		*buf = g_strdup(rw->t->sender);
	}
	n->sender_addr = *buf;
}

/* notice_receipts - the sender gets download receipts: the class's mode is
 * not none and "<id>/n" has an address to send them to (FORMATS.md §6.7) */
static bool
notice_receipts(const struct transfer *t)
{
	return t->receipts != TRANSFER_RECEIPTS_NONE && t->notify_to != NULL && *t->notify_to != '\0';
}

/* notice_files - the transfer's files as the notice lists them */
static void
notice_files(const struct transfer *t, struct notice_file *files)
{
	for (guint i = 0; i < t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(t->files, i);

		files[i].name = f->name;
		files[i].size = f->size;
		files[i].sha256 = f->sha256;
	}
}

int
rewrite_apply(struct rewrite *rw, const char *link, int *body_fd, char **body_path, char **err)
{
	GMimeObject *top = g_mime_message_get_mime_part(rw->message);
	GHashTable *touched = g_hash_table_new(NULL, NULL);
	struct notice_file *files = g_new0(struct notice_file, rw->t->files->len);
	struct notice n = { 0 };
	GMimePart *plain = NULL, *html = NULL;
	char *text = NULL, *htm = NULL, *from = NULL, *reply = NULL;
	bool top_replaced = rw->whole_message, placed = false;
	guint i;
	int rc;

	notice_files(rw->t, files);
	n.link = link;
	n.expires = rw->t->expires;
	n.files = files;
	n.nfiles = rw->t->files->len;
	n.hide_names = rw->hide_names;
	n.password = rw->t->info.delivery;
	n.organisation = rw->conf->notify_organisation; /* for TRANSFER_DELIVERY_AGREED */
	notice_sender(rw, &n, &from);
	n.receipts = notice_receipts(rw->t);
	n.reply_to = rw->t->reply_to;
	n.reply_link = reply = n.reply_to ? transfer_reply_link(rw->conf->portal_url, rw->t->id,
		rw->t->secret) : NULL;
	n.request_link = rw->request_link;
	n.request_for = rw->request_for;
	text = notice_text(&n);
	htm = notice_html(&n);

	for (i = 0; i < rw->candidates->len; i++) {
		struct rewrite_leaf *lf = g_ptr_array_index(rw->candidates, i);

		if (!lf->offloaded || rw->whole_message)
			continue;
		if (lf->parent == NULL) {
			top_replaced = true;
			continue;
		}
		g_mime_multipart_remove(lf->parent, lf->obj);
		g_hash_table_add(touched, lf->parent);
	}
	if (top_replaced) {
		GMimeObject *np = rw_notice_part(text);

		g_mime_message_set_mime_part(rw->message, np);
		g_object_unref(np);
		top = np;
		g_free(rw->new_top_ct);   /* a converted winmail.dat top level (tnef_convert.h) */
		rw->new_top_ct = g_strdup("text/plain; charset=utf-8");
		rw->new_top_cte = g_strdup("quoted-printable");
	} else if (GMIME_IS_MULTIPART(top)) {
		prune(GMIME_MULTIPART(top), touched);
		rw_find_bodies(top, &plain, &html);
		/* a text body that cannot carry the notice: one part of its own
		 * instead (the HTML body is not given a second copy) */
		placed = plain ? rw_insert_notice(rw, plain, false, text, htm) : html != NULL;
		if (placed && html)
			placed = rw_insert_notice(rw, html, true, text, htm) || plain != NULL;
		if (!placed) {
			rw_add_notice_part(rw, top, text);
			top = g_mime_message_get_mime_part(rw->message);
		}
	}
	rc = write_body(rw, top, body_fd, body_path, err);
	crypto_wipe(text, strlen(text));
	crypto_wipe(htm, strlen(htm));
	g_free(text);
	g_free(htm);
	g_free(files);
	g_free(from);
	crypto_free_string(reply);
	g_hash_table_destroy(touched);
	return rc;
}

int
rewrite_write(struct rewrite *rw, int *body_fd, char **body_path, char **err)
{
	return write_body(rw, g_mime_message_get_mime_part(rw->message), body_fd, body_path, err);
}

void
rewrite_clear(struct rewrite *rw)
{
	if (rw->candidates)
		g_ptr_array_free(rw->candidates, TRUE);
	if (rw->by_obj)
		g_hash_table_destroy(rw->by_obj);
	g_free(rw->new_top_ct);
	g_free(rw->new_top_cte);
	scan_report_free(rw->scan);
	crypto_free_string(rw->request_link);
	g_free(rw->request_for);
	memset(rw, 0, sizeof *rw);
}
