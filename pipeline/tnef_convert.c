/*
 * tnef_convert.c - winmail.dat into ordinary MIME parts (see tnef_convert.h). The walk of the
 * TNEF stream is the classifier's (classify/classify_tnef.h). New parts keep their content in
 * unlinked files in spool_dir: a file base64-encoded (so its stream length is its encoded
 * length, as for a parsed part, and the size rule sees the same number), a body as its bytes.
 */
#include "tnef_convert.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "classify_tnef.h"
#include "filename.h"
#include "log.h"
#include "rewrite_int.h"

struct tc_walk {
	struct tnef_convert *tc;
	GPtrArray *parts;     /* GMimeObject *, owned */
	unsigned depth;       /* embedded message level */
	bool failed;
};

static bool tc_convert_buf(struct tnef_convert *tc, const unsigned char *d, size_t len, unsigned depth,
	GPtrArray *parts, struct cls_tnef_info *info);

/* tc_tmp_fd - an unlinked private file in spool_dir, -1 on error (logged) */
static int
tc_tmp_fd(const struct tnef_convert *tc)
{
	char *path = g_strdup_printf("%s/tnef.XXXXXX", tc->conf->spool_dir);
	int fd = g_mkstemp_full(path, O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		log_error("%s: cannot create a temporary file in %s: %s", tc->qid, tc->conf->spool_dir,
			g_strerror(errno));
	else
		unlink(path);
	g_free(path);
	return fd;
}

static bool
tc_is_tnef(GMimeObject *obj)
{
	GMimeContentType *ct;
	const char *fn;

	if (!GMIME_IS_PART(obj))
		return false;
	ct = g_mime_object_get_content_type(obj);
	if (g_mime_content_type_is_type(ct, "application", "ms-tnef") ||
	    g_mime_content_type_is_type(ct, "application", "vnd.ms-tnef"))
		return true;
	fn = g_mime_part_get_filename(GMIME_PART(obj));
	return fn != NULL && g_ascii_strcasecmp(fn, "winmail.dat") == 0;
}

/* tc_file_part - an attachment holding data (base64 in an unlinked file); NULL on error */
static GMimeObject *
tc_file_part(struct tnef_convert *tc, const unsigned char *data, size_t len, const char *name, const char *type)
{
	int fd = tc_tmp_fd(tc);
	GMimeStream *fs, *enc;
	GMimeFilter *f;
	GMimeDataWrapper *w;
	GMimeContentType *ct;
	GMimePart *part;
	bool ok;

	if (fd < 0)
		return NULL;
	fs = g_mime_stream_fs_new(fd);
	enc = g_mime_stream_filter_new(fs);
	f = g_mime_filter_basic_new(GMIME_CONTENT_ENCODING_BASE64, TRUE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(enc), f);
	g_object_unref(f);
	/* a named file of no bytes may have no data at all (data NULL): GMime refuses a NULL buffer */
	ok = (len == 0 || g_mime_stream_write(enc, (const char *)data, len) == (ssize_t)len) &&
	    g_mime_stream_flush(enc) == 0;
	g_object_unref(enc);
	if (!ok) {
		log_error("%s: cannot write a TNEF attachment to %s", tc->qid, tc->conf->spool_dir);
		g_object_unref(fs);
		return NULL;
	}
	g_mime_stream_reset(fs);
	ct = g_mime_content_type_parse(NULL, type);
	part = g_mime_part_new_with_type(g_mime_content_type_get_media_type(ct),
		g_mime_content_type_get_media_subtype(ct));
	g_object_unref(ct);
	w = g_mime_data_wrapper_new_with_stream(fs, GMIME_CONTENT_ENCODING_BASE64);
	g_object_unref(fs);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
	g_mime_part_set_filename(part, name);
	return GMIME_OBJECT(part);
}

/* tc_body_part - the readable body as an inline text part (quoted-printable), NULL when none */
static GMimeObject *
tc_body_part(const struct tnef_convert *tc, const struct cls_tnef_info *info)
{
	bool html;
	const char *cs;
	GString *s = cls_tnef_body_text(info, (size_t)tc->conf->classify_max_inflated, &html, &cs);
	GMimeStream *mem;
	GMimeDataWrapper *w;
	GMimePart *part;

	if (s == NULL)
		return NULL;
	part = g_mime_part_new_with_type("text", html ? "html" : "plain");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", cs);
	mem = g_mime_stream_mem_new_with_buffer(s->str, s->len);
	g_string_free(s, TRUE);
	w = g_mime_data_wrapper_new_with_stream(mem, GMIME_CONTENT_ENCODING_DEFAULT);
	g_object_unref(mem);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	g_mime_object_set_disposition(GMIME_OBJECT(part), "inline");
	return GMIME_OBJECT(part);
}

/* tc_rtf_part - the RTF body kept whole (cls_tnef_rtf: no HTML body, real rich text) as the
 * attachment "message.rtf" (text/rtf, as Debian's tnef --save-body names it) at index at of
 * parts, so no formatting is lost; false on a write error */
static bool
tc_rtf_part(struct tnef_convert *tc, const struct cls_tnef_info *info, GPtrArray *parts, guint at)
{
	GByteArray *rtf = cls_tnef_rtf(info, (size_t)tc->conf->classify_max_inflated);
	GMimeObject *part;

	if (rtf == NULL)
		return true;
	part = tc_file_part(tc, rtf->data, rtf->len, "message.rtf", "text/rtf");
	g_byte_array_unref(rtf);
	if (part == NULL)
		return false;
	g_ptr_array_insert(parts, (gint)at, part);
	return true;
}

/* tc_message_part - an embedded Outlook item as an attached message, NULL when it cannot be read */
static GMimeObject *
tc_message_part(struct tnef_convert *tc, const unsigned char *d, size_t len, unsigned depth, const char *name)
{
	GPtrArray *parts = g_ptr_array_new_with_free_func(g_object_unref);
	struct cls_tnef_info info;
	GMimeMessage *m;
	GMimeMessagePart *mp = NULL;
	char *fn, *safe;

	if (!tc_convert_buf(tc, d, len, depth, parts, &info))
		goto out;
	m = g_mime_message_new(TRUE);
	if (info.subject != NULL && *info.subject != '\0')
		g_mime_message_set_subject(m, info.subject, "utf-8");
	if (info.sender_addr != NULL && strchr(info.sender_addr, '@') != NULL)
		g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, info.sender_name, info.sender_addr);
	if (info.date > 0) {
		GDateTime *dt = g_date_time_new_from_unix_utc(info.date);

		g_mime_message_set_date(m, dt);
		g_date_time_unref(dt);
	}
	if (parts->len == 1) {
		g_mime_message_set_mime_part(m, g_ptr_array_index(parts, 0));
	} else {
		GMimeMultipart *mix = g_mime_multipart_new_with_subtype("mixed");

		for (guint i = 0; i < parts->len; i++)
			g_mime_multipart_add(mix, g_ptr_array_index(parts, i));
		g_mime_message_set_mime_part(m, GMIME_OBJECT(mix));
		g_object_unref(mix);
	}
	mp = g_mime_message_part_new_with_message("rfc822", m);
	g_object_unref(m);
	fn = g_strdup_printf("%.80s.eml", info.subject != NULL && *info.subject != '\0' ? info.subject :
		name != NULL ? name : "message");
	safe = filename_safe(fn, 0);
	g_mime_object_set_disposition(GMIME_OBJECT(mp), "attachment");
	g_mime_object_set_content_disposition_parameter(GMIME_OBJECT(mp), "filename", safe);
	g_free(fn);
	g_free(safe);
out:
	cls_tnef_info_clear(&info);
	g_ptr_array_free(parts, TRUE);
	return mp != NULL ? GMIME_OBJECT(mp) : NULL;
}

/* a declared MIME type worth keeping: "type/subtype" in token characters */
static bool
tc_type_ok(const char *t)
{
	const char *slash = t != NULL ? strchr(t, '/') : NULL;

	if (slash == NULL || slash == t || slash[1] == '\0' || strlen(t) > 127)
		return false;
	for (; *t != '\0'; t++)
		if (!g_ascii_isalnum(*t) && strchr("/!#$&^_.+-", *t) == NULL)
			return false;
	return true;
}

/* tc_file - one file of the stream into the part list; false stops the walk (an error) */
static bool
tc_file(void *ud, const struct cls_tnef_file *f)
{
	struct tc_walk *w = ud;
	struct tnef_convert *tc = w->tc;
	GMimeObject *part;

	if (f->len == 0 && f->name == NULL)
		return true;   /* nothing attached (a link, a deleted file) */
	if (f->message && w->depth < tc->conf->classify_max_depth && f->len >= 4 &&
	    memcmp(f->data, "\x78\x9f\x3e\x22", 4) == 0) {
		part = tc_message_part(tc, f->data, f->len, w->depth + 1, f->name);
	} else {
		char *safe = filename_safe(f->name, f->index - 1);
		const char *type = tc_type_ok(f->mime) && g_ascii_strcasecmp(f->mime, "application/octet-stream") != 0 ?
			f->mime : cls_tnef_type(tc->cls, f->data, f->len);

		part = tc_file_part(tc, f->data, f->len, safe, type);
		g_free(safe);
	}
	if (part == NULL) {
		w->failed = true;
		return false;
	}
	g_ptr_array_add(w->parts, part);
	return true;
}

/*
 * tc_convert_buf - the parts of one TNEF stream (body first, then its files in order) into
 * parts; false when the stream is not complete or holds nothing (parts then empty)
 */
static bool
tc_convert_buf(struct tnef_convert *tc, const unsigned char *d, size_t len, unsigned depth, GPtrArray *parts,
	struct cls_tnef_info *info)
{
	struct tc_walk w = { tc, parts, depth, false };
	GMimeObject *body;

	if (!cls_tnef_walk(d, len, tc_file, &w, info) || w.failed || info->broken != NULL) {
		if (info->broken != NULL)
			log_info("%s: winmail.dat left as it is: %s (attribute %u, offset %zu)", tc->qid, info->broken,
				info->attrs, info->offset);
		g_ptr_array_set_size(parts, 0);
		return false;
	}
	body = tc_body_part(tc, info);
	if (body != NULL)
		g_ptr_array_insert(parts, 0, body);
	if (!tc_rtf_part(tc, info, parts, body != NULL ? 1 : 0)) {
		g_ptr_array_set_size(parts, 0);
		return false;
	}
	return parts->len > 0;
}

/* tc_decode - the decoded TNEF part mapped from an unlinked file; false when over the limit */
static bool
tc_decode(struct tnef_convert *tc, GMimePart *part, void **map, size_t *len)
{
	uint64_t max = tc->conf->classify_max_inflated;
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *fs;
	gint64 enc, n;
	int fd;

	enc = w != NULL ? g_mime_stream_length(g_mime_data_wrapper_get_stream(w)) : -1;
	if (enc < 6 || (uint64_t)enc / 2 > max)   /* base64 takes 4/3 and line ends: a first bound */
		return false;
	if ((fd = tc_tmp_fd(tc)) < 0)
		return false;
	fs = g_mime_stream_fs_new(fd);
	g_mime_stream_fs_set_owner(GMIME_STREAM_FS(fs), FALSE);
	n = g_mime_data_wrapper_write_to_stream(w, fs);
	if (g_mime_stream_flush(fs) != 0)
		n = -1;
	g_object_unref(fs);
	*map = MAP_FAILED;
	if (n >= 6 && (uint64_t)n <= max)
		*map = mmap(NULL, (size_t)n, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	*len = (size_t)n;
	if (n > 0 && (uint64_t)n > max)
		log_info("%s: winmail.dat left as it is: %lld bytes, over [classify] max_inflated", tc->qid,
			(long long)n);
	return *map != MAP_FAILED;
}

/* tc_replace - obj (a child of parent, or the top part of msg) becomes parts, in its place; the
 * outer message's new top-level Content-Type goes to tc->top_ct (its headers are the milter's),
 * an attached message's is written by GMime with its new top part */
static void
tc_replace(struct tnef_convert *tc, GMimeMessage *msg, GMimeMultipart *parent, GMimeObject *obj, GPtrArray *parts,
	unsigned level)
{
	if (parent != NULL) {
		int at = g_mime_multipart_index_of(parent, obj);

		for (guint i = 0; i < parts->len; i++)
			g_mime_multipart_insert(parent, at + (int)i, g_ptr_array_index(parts, i));
		g_mime_multipart_remove(parent, obj);
		return;
	}
	GMimeMultipart *mix = g_mime_multipart_new_with_subtype("mixed");

	for (guint i = 0; i < parts->len; i++)
		g_mime_multipart_add(mix, g_ptr_array_index(parts, i));
	g_mime_multipart_set_boundary(mix, NULL);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(mix));
	if (level == 0) {
		g_free(tc->top_ct);
		tc->top_ct = g_strdup_printf("multipart/mixed; boundary=\"%s\"", g_mime_multipart_get_boundary(mix));
	}
	g_object_unref(mix);
}

/* tc_one - convert one TNEF part inside level attached messages; the number of parts now in
 * its place (1 when kept) */
static unsigned
tc_one(struct tnef_convert *tc, GMimeMessage *msg, GMimeMultipart *parent, GMimeObject *obj, unsigned level)
{
	GPtrArray *parts = g_ptr_array_new_with_free_func(g_object_unref);
	struct cls_tnef_info info;
	void *map;
	size_t len;
	unsigned n = 1;

	memset(&info, 0, sizeof info);
	if (level > 0 && level + 1 > tc->conf->classify_max_depth) {
		log_info("%s: winmail.dat left as it is: inside %u attached messages, over [classify] max_depth",
			tc->qid, level);
	} else if (tc_decode(tc, GMIME_PART(obj), &map, &len)) {
		if (tc_convert_buf(tc, map, len, level, parts, &info)) {
			n = parts->len;
			log_info("%s: winmail.dat (%zu bytes%s) converted into %u MIME parts", tc->qid, len,
				level > 0 ? ", in an attached message" : "", n);
			tc_replace(tc, msg, parent, obj, parts, level);
			tc->converted++;
		}
		munmap(map, len);
	}
	if (n == 1 && parts->len == 0)
		tc->kept++;
	cls_tnef_info_clear(&info);
	g_ptr_array_free(parts, TRUE);
	return n;
}

/* tc_tree - every TNEF leaf under obj (not in signed or encrypted content), also inside attached
 * messages (level: how many around obj; a TNEF counts as one more container, so one inside
 * level messages is converted while level + 1 <= [classify] max_depth, as the classifier
 * looks into it) */
static void
tc_tree(struct tnef_convert *tc, GMimeMessage *msg, GMimeObject *obj, GMimeMultipart *parent, unsigned depth,
	unsigned level)
{
	if (depth > tc->conf->max_mime_depth || rw_is_signed_or_encrypted(obj))
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp) && (uint64_t)i < tc->conf->max_parts; i++) {
			GMimeObject *c = g_mime_multipart_get_part(mp, i);

			if (tc_is_tnef(c))
				i += (int)tc_one(tc, msg, mp, c, level) - 1;
			else
				tc_tree(tc, msg, c, mp, depth + 1, level);
		}
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		GMimeObject *top = inner != NULL ? g_mime_message_get_mime_part(inner) : NULL;

		if (top != NULL)
			tc_tree(tc, inner, top, NULL, depth + 1, level + 1);
	} else if (parent == NULL && tc_is_tnef(obj)) {
		tc_one(tc, msg, NULL, obj, level);
	}
}

unsigned
tnef_convert(struct tnef_convert *tc, GMimeMessage *msg)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);

	if (top != NULL)
		tc_tree(tc, msg, top, NULL, 1, 0);
	return tc->converted;
}
