/*
 * rewrite_notice.c - the notice inserted into the first text/plain and text/html bodies (in
 * their own charset where it can carry it: latin-1/cp1252 rule of DECISIONS.md §4), or into a
 * part of its own (UTF-8, quoted-printable, no disposition or name) where it cannot.
 * Memory: the bodies are rewritten through temporary files in the spool directory.
 */
#include "rewrite_int.h"

#include <string.h>

#include "log.h"
#include "mime_read.h"
#include "notice.h"

/* ---- notice insertion ------------------------------------------------ */

bool
rw_is_body_text(GMimeObject *obj, const char *subtype)
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

void
rw_find_bodies(GMimeObject *obj, GMimePart **plain, GMimePart **html)
{
	int i, n;

	if (GMIME_IS_MULTIPART(obj)) {
		if (rw_is_signed_or_encrypted(obj))
			return;
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++)
			rw_find_bodies(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), plain, html);
		return;
	}
	if (*plain == NULL && rw_is_body_text(obj, "plain"))
		*plain = GMIME_PART(obj);
	else if (*html == NULL && rw_is_body_text(obj, "html"))
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
	n = mime_read(tmp, buf, REWRITE_HTML_SCAN);
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

/* stream_is_utf8 - the whole stream is valid UTF-8 (a sequence may span
 * two reads) */
static bool
stream_is_utf8(GMimeStream *s)
{
	char buf[8192];
	size_t keep = 0;
	ssize_t n;
	const char *end;

	g_mime_stream_reset(s);
	while ((n = mime_read(s, buf + keep, sizeof buf - keep)) > 0) {
		size_t len = keep + (size_t)n;

		if (g_utf8_validate(buf, (gssize)len, &end))
			keep = 0;
		else if (len - (size_t)(end - buf) < 4 &&
			 g_utf8_get_char_validated(end, (gssize)(len - (size_t)(end - buf))) == (gunichar)-2)
			keep = len - (size_t)(end - buf); /* incomplete, not invalid */
		else
			return false;
		memmove(buf, end, keep);
	}
	return n == 0 && keep == 0;
}

/* notice_latin - the text notice in the body's Latin charset; NULL when a
 * character (e.g. of a Cyrillic file name) is not representable */
static char *
notice_latin(const struct rewrite *rw, const char *text_utf8, const char *cs)
{
	char *s = g_convert(text_utf8, -1, cs, "UTF-8", NULL, NULL, NULL);

	if (s == NULL)
		log_info("%s: the notice is not representable in %s; it goes into a part of its own",
			rw->qid, cs);
	return s;
}

/* rw_insert_notice - prepend (text) or insert after <body> (html); false if
 * the part cannot carry it: unknown charset, the notice not representable in
 * the body's Latin charset, a body labelled ASCII/UTF-8 that is not UTF-8
 * (the caller then adds a part of its own) */
bool
rw_insert_notice(const struct rewrite *rw, GMimePart *part, bool html, const char *text_utf8,
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

	if (mode == CS_LATIN && (notice = notice_latin(rw, text_utf8, cs)) == NULL)
		return false;
	if (notice == NULL)
		notice = g_strdup(html ? html_ascii : text_utf8);
	src = rw_decoded_stream(rw, GMIME_OBJECT(part));
	tmp = rw_tmp_stream(rw);
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
	if ((mode == CS_UTF8 || mode == CS_UTF8_RELABEL) && !stream_is_utf8(tmp)) {
		log_info("%s: a text body labelled %s is not UTF-8; the notice goes into a part of its own",
			rw->qid, cs ? cs : "us-ascii");
		goto out;
	}
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

/* rw_notice_part - a new text/plain part: the UTF-8 bytes as they are (not
 * g_mime_text_part_set_text, which picks the smallest charset itself),
 * quoted-printable, no disposition, no name */
GMimeObject *
rw_notice_part(const char *text_utf8)
{
	GMimePart *p = g_mime_part_new_with_type("text", "plain");
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(text_utf8, strlen(text_utf8));
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_object_set_content_type_parameter(GMIME_OBJECT(p), "charset", "utf-8");
	g_mime_part_set_content(p, w);
	g_mime_part_set_content_encoding(p, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	g_object_unref(w);
	g_object_unref(s);
	return GMIME_OBJECT(p);
}

/* rw_add_notice_part - the notice as a part of its own, first in a
 * multipart/mixed top level (or an empty one); any other top-level
 * multipart (alternative, related, signed, ...) is wrapped in a new
 * multipart/mixed after it */
void
rw_add_notice_part(struct rewrite *rw, GMimeObject *top, const char *text_utf8)
{
	GMimeObject *np = rw_notice_part(text_utf8);
	GMimeMultipart *mixed;

	if (g_mime_content_type_is_type(g_mime_object_get_content_type(top), "multipart", "mixed") ||
	    g_mime_multipart_get_count(GMIME_MULTIPART(top)) == 0) {
		g_mime_multipart_insert(GMIME_MULTIPART(top), 0, np);
		g_object_unref(np);
		return;
	}
	mixed = g_mime_multipart_new_with_subtype("mixed");
	g_mime_multipart_add(mixed, np);
	g_mime_multipart_add(mixed, top); /* takes its own reference */
	g_mime_message_set_mime_part(rw->message, GMIME_OBJECT(mixed));
	g_free(rw->new_top_ct);
	rw->new_top_ct = g_strdup_printf("multipart/mixed; boundary=\"%s\"",
		g_mime_multipart_get_boundary(mixed));
	g_object_unref(np);
	g_object_unref(mixed);
}

/* prune - drop multiparts that our removals left empty; true = remove mp */
