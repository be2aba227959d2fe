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
#include "notice.h"
#include "b64stream.h"
#include "rewrite_b64cut.h"

#define REWRITE_BUF (256 * 1024)
#define REWRITE_HTML_SCAN (64 * 1024) /* look for <body> this far into the HTML */

struct rewrite_leaf {
	GMimeObject *obj;
	GMimeMultipart *parent; /* NULL: the top-level part */
	uint64_t enc_len;
	bool offloaded;
	bool body;              /* a text/plain or text/html body (not an attachment) */
	char *cls_path;         /* classification deferred to the offload stream: its
	                         * part path in rw->cls; NULL once classified */
};

static void
leaf_free(gpointer p)
{
	struct rewrite_leaf *lf = p;

	g_free(lf->cls_path);
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

static bool
is_signed_or_encrypted(GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	return g_mime_content_type_is_type(ct, "multipart", "signed") ||
	       g_mime_content_type_is_type(ct, "multipart", "encrypted") ||
	       g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
	       g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime");
}

/* tmp_stream - an unlinked private file in the spool directory */
static GMimeStream *
tmp_stream(const struct rewrite *rw)
{
	char *path = g_strdup_printf("%s/tmp.XXXXXX", rw->spool_dir);
	int fd = g_mkstemp_full(path, O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		log_error("%s: cannot create temporary file in %s: %s", rw->qid, rw->spool_dir,
			g_strerror(errno));
		g_free(path);
		return NULL;
	}
	unlink(path);
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

static bool is_body_text(GMimeObject *obj, const char *subtype);

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
		if (is_signed_or_encrypted(obj))
			return REWRITE_OK; /* opaque: never break a signature */
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
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
		lf->body = is_body_text(obj, "plain") || is_body_text(obj, "html");
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
	if (is_signed_or_encrypted(top))
		return REWRITE_SIGNED;
	return rewrite_walk(rw, top, NULL, 1, err);
}

/* decoded_stream - a readable stream of the decoded content of a leaf */
static GMimeStream *
decoded_stream(const struct rewrite *rw, GMimeObject *obj)
{
	GMimeDataWrapper *w;
	GMimeStream *raw, *f;
	GMimeContentEncoding enc;

	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		GMimeStream *tmp = tmp_stream(rw);
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
		struct classify_result scratch;

		classify_result_init(&scratch);
		classify_job_finish(job, &scratch);
		classify_result_clear(&scratch);
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
 * threshold); the count pass also classifies a deferred leaf */
static int64_t
decoded_size(struct rewrite *rw, struct rewrite_leaf *lf, char *buf)
{
	GMimeStream *s = decoded_stream(rw, lf->obj);
	struct classify_job *job;
	int64_t total = 0;
	ssize_t n;

	if (s == NULL)
		return -1;
	job = leaf_job(rw, lf);
	while ((n = g_mime_stream_read(s, buf, REWRITE_BUF)) > 0) {
		total += n;
		leaf_job_feed(job, buf, (size_t)n);
	}
	rw->decoded_bytes += (uint64_t)total;
	leaf_job_end(rw, lf, job, n == 0);
	g_object_unref(s);
	return n < 0 ? -1 : total;
}

/* leaf_too_small - base64 decodes to about 3/4 of its length; count
 * exactly only when the lower bound does not already settle it. 1: the
 * decoded leaf is below min (it stays), 0: go on, -1 with *err. */
static int
leaf_too_small(struct rewrite *rw, struct rewrite_leaf *lf, uint64_t min, char *buf, char **err)
{
	int64_t dsz;

	if (!GMIME_IS_PART(lf->obj) ||
	    g_mime_part_get_content_encoding(GMIME_PART(lf->obj)) != GMIME_CONTENT_ENCODING_BASE64 ||
	    (double)lf->enc_len * 0.70 >= (double)min)
		return 0;
	dsz = decoded_size(rw, lf, buf);
	if (dsz < 0) {
		*err = g_strdup("cannot read the spooled message");
		return -1;
	}
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

	while ((n = g_mime_stream_read(s, buf, REWRITE_BUF)) > 0) {
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

	small = leaf_too_small(rw, lf, min, buf, err);
	if (small != 0) {
		rc = small > 0 ? REWRITE_OK : REWRITE_ERROR;
		goto out;
	}
	s = decoded_stream(rw, lf->obj);
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

void
rewrite_classify_pending(struct rewrite *rw)
{
	char *buf = NULL;
	guint i;

	for (i = 0; rw->candidates && i < rw->candidates->len; i++) {
		struct rewrite_leaf *lf = g_ptr_array_index(rw->candidates, i);
		struct classify_job *job;
		GMimeStream *s;
		ssize_t n;

		if (lf->cls_path == NULL)
			continue;
		job = leaf_job(rw, lf);
		s = decoded_stream(rw, lf->obj);
		if (buf == NULL)
			buf = g_malloc(REWRITE_BUF);
		/* like the classification of any other part: what can be read is
		 * classified, a read error ends the part */
		while (s != NULL && job != NULL && !classify_job_done(job) &&
		       (n = g_mime_stream_read(s, buf, REWRITE_BUF)) > 0) {
			rw->decoded_bytes += (uint64_t)n;
			classify_job_feed(job, buf, (size_t)n);
		}
		if (job != NULL)
			leaf_job_end(rw, lf, job, true);
		g_clear_pointer(&lf->cls_path, g_free);
		if (s != NULL)
			g_object_unref(s);
	}
	g_free(buf);
}

void
rewrite_reset(struct rewrite *rw)
{
	guint i;

	for (i = 0; rw->candidates && i < rw->candidates->len; i++)
		((struct rewrite_leaf *)g_ptr_array_index(rw->candidates, i))->offloaded = false;
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

/* ---- notice insertion ------------------------------------------------ */

static bool
is_body_text(GMimeObject *obj, const char *subtype)
{
	const char *disp;

	if (!GMIME_IS_PART(obj) ||
	    !g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "text", subtype))
		return false;
	disp = g_mime_object_get_disposition(obj);
	if (disp && g_ascii_strcasecmp(disp, "attachment") == 0)
		return false;
	return g_mime_part_get_filename(GMIME_PART(obj)) == NULL;
}

static void
find_bodies(GMimeObject *obj, GMimePart **plain, GMimePart **html)
{
	int i, n;

	if (GMIME_IS_MULTIPART(obj)) {
		if (is_signed_or_encrypted(obj))
			return;
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			find_bodies(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), plain, html);
		return;
	}
	if (*plain == NULL && is_body_text(obj, "plain"))
		*plain = GMIME_PART(obj);
	else if (*html == NULL && is_body_text(obj, "html"))
		*html = GMIME_PART(obj);
}

enum charset_mode { CS_UTF8_RELABEL, CS_UTF8, CS_LATIN, CS_TRANSCODE, CS_KEEP };

static enum charset_mode
charset_mode(const char *cs)
{
	static const char *const latin[] = { "iso-8859-1", "latin1", "iso_8859-1", "windows-1252",
		"cp1252", "iso-8859-15", "latin-1" };
	size_t i;

	if (cs == NULL || g_ascii_strcasecmp(cs, "us-ascii") == 0 || g_ascii_strcasecmp(cs, "ascii") == 0)
		return CS_UTF8_RELABEL;
	if (g_ascii_strcasecmp(cs, "utf-8") == 0 || g_ascii_strcasecmp(cs, "utf8") == 0)
		return CS_UTF8;
	for (i = 0; i < G_N_ELEMENTS(latin); i++)
		if (g_ascii_strcasecmp(cs, latin[i]) == 0)
			return CS_LATIN;
	return CS_TRANSCODE;
}

/* html_body_offset - just after the <body ...> tag, 0 if there is none */
static gint64
html_body_offset(GMimeStream *tmp)
{
	char *buf = g_malloc(REWRITE_HTML_SCAN + 1);
	ssize_t n;
	gint64 off = 0;
	char *p;

	g_mime_stream_reset(tmp);
	n = g_mime_stream_read(tmp, buf, REWRITE_HTML_SCAN);
	if (n > 0) {
		buf[n] = '\0';
		for (p = buf; (p = strchr(p, '<')) != NULL; p++) {
			if (g_ascii_strncasecmp(p, "<body", 5) == 0 &&
			    (p[5] == '>' || g_ascii_isspace(p[5]))) {
				char *gt = memchr(p, '>', n - (p - buf));

				if (gt)
					off = gt + 1 - buf;
				break;
			}
		}
	}
	g_free(buf);
	return off;
}

/* insert_notice - prepend (text) or insert after <body> (html); false if
 * the part's charset cannot be handled (the caller then adds a part) */
static bool
insert_notice(const struct rewrite *rw, GMimePart *part, bool html, const char *text_utf8,
	const char *html_ascii)
{
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	enum charset_mode mode = html ? CS_KEEP : charset_mode(cs);
	GMimeStream *src = NULL, *tmp = NULL, *cat = NULL, *chain = NULL, *s;
	GMimeFilter *f;
	GMimeDataWrapper *w;
	char *notice = NULL;
	gint64 split = 0, end;
	bool ok = false;

	if (mode == CS_LATIN) {
		notice = g_convert_with_fallback(text_utf8, -1, cs, "UTF-8", "?", NULL, NULL, NULL);
		if (notice == NULL)
			mode = CS_TRANSCODE;
	}
	if (notice == NULL)
		notice = g_strdup(html ? html_ascii : text_utf8);
	src = decoded_stream(rw, GMIME_OBJECT(part));
	tmp = tmp_stream(rw);
	if (src == NULL || tmp == NULL)
		goto out;
	chain = g_mime_stream_filter_new(src);
	if (mode == CS_TRANSCODE) {
		f = g_mime_filter_charset_new(cs, "UTF-8");
		if (f == NULL) {
			log_warning("%s: unknown charset '%s' in a text body; notice goes into a new part",
				rw->qid, cs);
			goto out;
		}
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(chain), f);
		g_object_unref(f);
	}
	/* the output writer produces CRLF; internal text is LF */
	f = g_mime_filter_dos2unix_new(FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(chain), f);
	g_object_unref(f);
	if (g_mime_stream_write_to_stream(chain, tmp) < 0 || g_mime_stream_flush(tmp) < 0) {
		log_error("%s: cannot write a temporary file in %s", rw->qid, rw->spool_dir);
		goto out;
	}
	end = g_mime_stream_tell(tmp);
	if (html)
		split = html_body_offset(tmp);
	cat = g_mime_stream_cat_new();
	s = g_mime_stream_substream(tmp, 0, split);
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	s = g_mime_stream_mem_new_with_buffer(notice, strlen(notice));
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	s = g_mime_stream_substream(tmp, split, end);
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	w = g_mime_data_wrapper_new_with_stream(cat, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	if (mode == CS_UTF8_RELABEL || mode == CS_TRANSCODE)
		g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
	ok = true;
out:
	if (cat)
		g_object_unref(cat);
	if (chain)
		g_object_unref(chain);
	if (src)
		g_object_unref(src);
	if (tmp)
		g_object_unref(tmp);
	g_free(notice);
	return ok;
}

static GMimeObject *
notice_part(const char *text_utf8)
{
	GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");

	g_mime_text_part_set_text(tp, text_utf8);
	g_mime_text_part_set_charset(tp, "utf-8");
	g_mime_part_set_content_encoding(GMIME_PART(tp), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return GMIME_OBJECT(tp);
}

/* prune - drop multiparts that our removals left empty; true = remove mp */
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

static int
write_body(const struct rewrite *rw, GMimeObject *top, char **body_path, char **err)
{
	char *path = g_strdup_printf("%s/body.XXXXXX", rw->spool_dir);
	int fd = g_mkstemp_full(path, O_RDWR | O_CLOEXEC, 0600);
	GMimeStream *fs, *crlf;
	GMimeFilter *f;
	GMimeFormatOptions *fo;
	ssize_t n;

	if (fd < 0) {
		*err = g_strdup_printf("cannot create %s: %s", path, g_strerror(errno));
		g_free(path);
		return REWRITE_ERROR;
	}
	fs = g_mime_stream_fs_new(fd);
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
		*err = g_strdup_printf("cannot write the new body to %s", path);
		unlink(path);
		g_free(path);
		return REWRITE_ERROR;
	}
	*body_path = path;
	return REWRITE_OK;
}

int
rewrite_apply(struct rewrite *rw, const char *link, char **body_path, char **err)
{
	GMimeObject *top = g_mime_message_get_mime_part(rw->message);
	GHashTable *touched = g_hash_table_new(NULL, NULL);
	struct notice_file *files = g_new0(struct notice_file, rw->t->files->len);
	struct notice n = { 0 };
	GMimePart *plain = NULL, *html = NULL;
	char *text = NULL, *htm = NULL;
	bool top_replaced = rw->whole_message, placed = false;
	guint i;
	int rc;

	for (i = 0; i < rw->t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(rw->t->files, i);

		files[i].name = f->name;
		files[i].size = f->size;
		files[i].sha256 = f->sha256;
	}
	n.link = link;
	n.expires = rw->t->expires;
	n.files = files;
	n.nfiles = rw->t->files->len;
	n.hide_names = rw->hide_names;
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
		GMimeObject *np = notice_part(text);

		g_mime_message_set_mime_part(rw->message, np);
		g_object_unref(np);
		top = np;
		rw->new_top_ct = g_strdup("text/plain; charset=utf-8");
		rw->new_top_cte = g_strdup("quoted-printable");
	} else if (GMIME_IS_MULTIPART(top)) {
		prune(GMIME_MULTIPART(top), touched);
		find_bodies(top, &plain, &html);
		if (plain && insert_notice(rw, plain, false, text, htm))
			placed = true;
		if (html && insert_notice(rw, html, true, text, htm))
			placed = true;
		if (!placed) {
			GMimeObject *np = notice_part(text);

			g_mime_multipart_insert(GMIME_MULTIPART(top), 0, np);
			g_object_unref(np);
		}
	}
	rc = write_body(rw, top, body_path, err);
	crypto_wipe(text, strlen(text));
	crypto_wipe(htm, strlen(htm));
	g_free(text);
	g_free(htm);
	g_free(files);
	g_hash_table_destroy(touched);
	return rc;
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
	memset(rw, 0, sizeof *rw);
}
