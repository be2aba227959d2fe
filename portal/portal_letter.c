/*
 * portal_letter.c - an offloaded message (.eml) parsed for reading in the
 * portal page (see portal_letter.h): header fields, the text, the leaves in
 * the order of docs/FORMATS.md §4.5, and the decoded content of one leaf.
 * Parsed like the milter parses a message (pipeline_intake.c run_parse: a
 * persistent GMime stream over the bytes) and walked with the milter's
 * limits (pipeline/rewrite.c rewrite_walk: every node counts against
 * max_parts, the top-level part is depth 1, an attached message is one
 * leaf and is not walked into).
 */
#include "portal_letter.h"

#include <string.h>

#include "crypto.h"
#include "filename.h"

struct walk {
	struct portal_letter *l;
	uint64_t max_parts, max_depth, nodes;
};

bool
portal_letter_is_eml(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 4 && g_ascii_strcasecmp(name + n - 4, ".eml") == 0;
}

static void
leaf_free(gpointer p)
{
	struct portal_letter_leaf *lf = p;

	g_free(lf->name);
	g_free(lf->type);
	g_free(lf);
}

/* leaf_write - the decoded content of a leaf to out; bytes or -1 */
static gint64
leaf_write(GMimeObject *obj, GMimeStream *out)
{
	GMimeDataWrapper *w;

	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		return inner ? g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, out) : 0;
	}
	w = g_mime_part_get_content(GMIME_PART(obj));
	return w ? g_mime_data_wrapper_write_to_stream(w, out) : 0;
}

/* leaf_type - "type/subtype" in lower case when both are tokens */
static char *
leaf_type(GMimeObject *obj)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *mt = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	char *low = g_ascii_strdown(mt ? mt : "", -1);
	const char *s, *slash = strchr(low, '/');
	bool ok = slash != NULL && slash != low && slash[1] != '\0' && strlen(low) <= 127;

	for (s = low; ok && *s; s++)
		ok = g_ascii_isalnum(*s) || strchr("!#$&^_.+-", *s) != NULL || s == slash;
	g_free(mt);
	if (ok)
		return low;
	g_free(low);
	return g_strdup(GMIME_IS_MESSAGE_PART(obj) ? "message/rfc822" : "application/octet-stream");
}

static const char *
type_ext(const char *type)
{
	static const char *const map[][2] = {
		{ "text/plain", ".txt" }, { "text/html", ".html" }, { "message/rfc822", ".eml" },
		{ "application/pdf", ".pdf" }, { "image/png", ".png" }, { "image/jpeg", ".jpg" },
		{ "text/calendar", ".ics" },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(map); i++)
		if (strcmp(type, map[i][0]) == 0)
			return map[i][1];
	return ".bin";
}

/* leaf_name - the part's file name, an attached message's subject + ".eml",
 * else "part-N.ext"; then filename_safe */
static char *
leaf_name(GMimeObject *obj, unsigned n, const char *type)
{
	const char *fn = NULL;
	char *raw, *safe;

	if (GMIME_IS_PART(obj))
		fn = g_mime_part_get_filename(GMIME_PART(obj));
	else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		fn = g_mime_object_get_content_disposition_parameter(obj, "filename");
		if (fn == NULL && inner != NULL && g_mime_message_get_subject(inner) != NULL) {
			raw = g_strconcat(g_mime_message_get_subject(inner), ".eml", NULL);
			safe = filename_safe(raw, n - 1);
			g_free(raw);
			return safe;
		}
	}
	if (fn != NULL && *fn != '\0')
		return filename_safe(fn, n - 1);
	raw = g_strdup_printf("part-%u%s", n, type_ext(type));
	safe = filename_safe(raw, n - 1);
	g_free(raw);
	return safe;
}

/* is_body_text - a text/plain or text/html part that is no attachment: no
 * file name, no "attachment" disposition */
static bool
is_body_text(GMimeObject *obj, bool *html)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *disp;

	if (!GMIME_IS_TEXT_PART(obj) || ct == NULL)
		return false;
	*html = g_mime_content_type_is_type(ct, "text", "html");
	if (!*html && !g_mime_content_type_is_type(ct, "text", "plain"))
		return false;
	if (g_mime_part_get_filename(GMIME_PART(obj)) != NULL)
		return false;
	disp = g_mime_object_get_disposition(obj);
	return disp == NULL || g_ascii_strcasecmp(disp, "attachment") != 0;
}

static void
leaf_add(struct walk *w, GMimeObject *obj, bool in_alt)
{
	struct portal_letter_leaf *lf = g_new0(struct portal_letter_leaf, 1);
	GMimeStream *null = g_mime_stream_null_new();
	bool html = false;

	lf->obj = obj;
	lf->n = w->l->leaves->len + 1;
	lf->type = leaf_type(obj);
	lf->name = leaf_name(obj, lf->n, lf->type);
	leaf_write(obj, null);
	lf->size = GMIME_STREAM_NULL(null)->written;
	g_object_unref(null);
	/* body text is listed unless it is an alternative rendering (or shown, see pick_text) */
	lf->listed = !(is_body_text(obj, &html) && in_alt);
	g_ptr_array_add(w->l->leaves, lf);
}

static int
walk(struct walk *w, GMimeObject *obj, uint64_t depth, bool in_alt)
{
	int i, n, rc;

	if (++w->nodes > w->max_parts || depth > w->max_depth)
		return PORTAL_LETTER_ELIMIT;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		bool alt = ct != NULL && g_mime_content_type_is_type(ct, "multipart", "alternative");

		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n; i++) {
			rc = walk(w, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1,
				in_alt || alt);
			if (rc != PORTAL_LETTER_OK)
				return rc;
		}
		return PORTAL_LETTER_OK;
	}
	if ((GMIME_IS_PART(obj) || GMIME_IS_MESSAGE_PART(obj)) &&
	    w->l->leaves->len < PORTAL_LETTER_MAX_LEAF)
		leaf_add(w, obj, in_alt);
	return PORTAL_LETTER_OK;
}

/* part_text - the decoded text of a text part as UTF-8: its charset, else
 * UTF-8 when valid, else Windows-1252 */
static char *
part_text(GMimeObject *obj)
{
	char *raw = g_mime_text_part_get_text(GMIME_TEXT_PART(obj)), *conv;

	if (raw == NULL)
		return g_strdup("");
	if (g_utf8_validate(raw, -1, NULL))
		return raw;
	conv = g_convert(raw, -1, "UTF-8", "WINDOWS-1252", NULL, NULL, NULL);
	if (conv == NULL)
		conv = g_convert(raw, -1, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
	crypto_free_string(raw);
	return conv ? conv : g_strdup("");
}

/* pick_text - the first body text/plain, else the first body text/html */
static void
pick_text(struct portal_letter *l)
{
	struct portal_letter_leaf *pick = NULL;
	bool html = false, h;
	guint i;
	char *t;

	for (i = 0; i < l->leaves->len; i++) {
		struct portal_letter_leaf *lf = g_ptr_array_index(l->leaves, i);

		if (!is_body_text(lf->obj, &h))
			continue;
		if (!h) {
			pick = lf;
			html = false;
			break;
		}
		if (pick == NULL) {
			pick = lf;
			html = true;
		}
	}
	if (pick == NULL) {
		l->text = g_strdup("");
		return;
	}
	pick->listed = false;
	l->shown = pick->n;
	l->text_html = html;
	t = part_text(pick->obj);
	l->text = html ? portal_letter_html_text(t, strlen(t), PORTAL_LETTER_TEXT_MAX, &l->text_truncated) :
		portal_letter_tidy(t, strlen(t), PORTAL_LETTER_TEXT_MAX, &l->text_truncated);
	crypto_free_string(t);
}

static char *
display(const char *s)
{
	char *t = portal_letter_tidy(s ? s : "", s ? strlen(s) : 0, 4096, NULL), *d;

	g_strdelimit(t, "\t\n", ' ');
	d = filename_display(t);
	g_free(t);
	return d;
}

static char *
addresses(InternetAddressList *list)
{
	char *s = list ? internet_address_list_to_string(list, NULL, FALSE) : NULL;
	char *d = display(s);

	g_free(s);
	return d;
}

/* header_fields - From, To, Date (ISO 8601 with offset), Subject, language
 * (Content-Language of the message, else of the text shown: after pick_text) */
static void
header_fields(struct portal_letter *l)
{
	GDateTime *dt = g_mime_message_get_date(l->msg);
	GMimeObject *top = g_mime_message_get_mime_part(l->msg);
	const char *cl = g_mime_object_get_header(GMIME_OBJECT(l->msg), "Content-Language");
	const char *s;
	bool ok;

	l->from = addresses(g_mime_message_get_from(l->msg));
	l->to = addresses(g_mime_message_get_to(l->msg));
	l->subject = display(g_mime_message_get_subject(l->msg));
	if (cl == NULL && top != NULL) /* GMime keeps Content-* headers with the top-level part */
		cl = g_mime_object_get_header(top, "Content-Language");
	if (cl == NULL && l->shown > 0) /* else the language of the text shown */
		cl = g_mime_object_get_header(((struct portal_letter_leaf *)
			g_ptr_array_index(l->leaves, l->shown - 1))->obj, "Content-Language");
	l->date = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z") : NULL;
	if (l->date == NULL)
		l->date = g_strdup("");
	while (cl != NULL && g_ascii_isspace(*cl))
		cl++;
	ok = cl != NULL && g_ascii_isalpha(*cl) && strlen(cl) <= 35;
	for (s = cl; ok && *s; s++)
		ok = g_ascii_isalnum(*s) || (*s == '-' && s[1] != '\0' && s[1] != '-');
	l->lang = ok ? g_strdup(cl) : NULL;
}

int
portal_letter_parse(GByteArray *data, uint64_t max_parts, uint64_t max_depth,
	struct portal_letter **out)
{
	struct portal_letter *l = g_new0(struct portal_letter, 1);
	struct walk w = { l, max_parts, max_depth, 0 };
	GMimeStream *fs;
	GMimeParser *parser;
	GMimeObject *top;
	int rc = PORTAL_LETTER_OK;

	*out = NULL;
	l->data = data;
	l->leaves = g_ptr_array_new_with_free_func(leaf_free);
	fs = g_mime_stream_mem_new_with_byte_array(data);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(fs), FALSE);
	parser = g_mime_parser_new_with_stream(fs);
	g_mime_parser_set_persist_stream(parser, TRUE);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	l->msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(fs);
	if (l->msg == NULL) {
		rc = PORTAL_LETTER_EPARSE;
		goto out;
	}
	top = g_mime_message_get_mime_part(l->msg);
	if (top != NULL)
		rc = walk(&w, top, 1, false);
	if (rc != PORTAL_LETTER_OK)
		goto out;
	pick_text(l);
	header_fields(l);
	*out = l;
out:
	if (rc != PORTAL_LETTER_OK)
		portal_letter_free(l);
	return rc;
}

GByteArray *
portal_letter_leaf_data(const struct portal_letter *l, unsigned n)
{
	const struct portal_letter_leaf *lf;
	GByteArray *b;
	GMimeStream *ms;

	if (l == NULL || n == 0 || n > l->leaves->len)
		return NULL;
	lf = g_ptr_array_index(l->leaves, n - 1);
	b = g_byte_array_sized_new((guint)MIN(lf->size, (uint64_t)PORTAL_LETTER_MAX_SIZE));
	ms = g_mime_stream_mem_new_with_byte_array(b);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
	leaf_write(lf->obj, ms);
	g_object_unref(ms);
	return b;
}

void
portal_letter_free(struct portal_letter *l)
{
	if (l == NULL)
		return;
	if (l->leaves)
		g_ptr_array_free(l->leaves, TRUE);
	if (l->msg)
		g_object_unref(l->msg);
	if (l->data) {
		crypto_wipe(l->data->data, l->data->len);
		g_byte_array_free(l->data, TRUE);
	}
	g_free(l->from);
	g_free(l->to);
	g_free(l->date);
	g_free(l->subject);
	g_free(l->lang);
	if (l->text)
		crypto_free_string(l->text);
	g_free(l);
}
