/*
 * test_tnef.c - winmail.dat into MIME parts (pipeline/tnef_convert.c) over the classifier's walk
 * (classify/classify_tnef.h): TNEF streams built here are put into mails, converted, and the
 * new tree is checked: body first, files with their bytes, sanitised names and types, an
 * embedded Outlook item as message/rfc822 with Subject and Date, a top-level winmail.dat as
 * multipart/mixed, broken and oversized streams and signed content left as they were; a named
 * file of no bytes (with an empty attAttachData, or with none: no data pointer at all) becomes
 * an empty part and classifies as empty.
 */
#include <string.h>
#include <gmime/gmime.h>

#include "classify.h"
#include "classify_tnef.h"
#include "conf.h"
#include "tnef_convert.h"
#include "unit.h"

static void
le16(GByteArray *b, unsigned v)
{
	guint8 x[2] = { (guint8)v, (guint8)(v >> 8) };

	g_byte_array_append(b, x, 2);
}

static void
le32(GByteArray *b, uint32_t v)
{
	guint8 x[4] = { (guint8)v, (guint8)(v >> 8), (guint8)(v >> 16), (guint8)(v >> 24) };

	g_byte_array_append(b, x, 4);
}

static void
attr(GByteArray *b, unsigned level, uint32_t id, const void *data, size_t n)
{
	const unsigned char *d = data;
	unsigned sum = 0;
	guint8 lv = (guint8)level;

	for (size_t i = 0; i < n; i++)
		sum += d[i];
	g_byte_array_append(b, &lv, 1);
	le32(b, id);
	le32(b, (uint32_t)n);
	g_byte_array_append(b, d, (guint)n);
	le16(b, sum & 0xFFFF);
}

static void
mapi_var(GByteArray *p, unsigned type, unsigned id, const void *v, size_t n)
{
	static const guint8 pad[4] = { 0 };

	le16(p, type);
	le16(p, id);
	le32(p, 1);
	le32(p, (uint32_t)n);
	g_byte_array_append(p, v, (guint)n);
	g_byte_array_append(p, pad, (guint)((4 - (n & 3)) & 3));
}

static const unsigned char iid_imessage[16] = {
	0x07, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
};

/* a stream: subject, PR_BODY, then one file (name, MIME tag, data) or an embedded message;
 * data NULL: no file; nodata: the file's attributes without attAttachData */
static bool nodata;

static GByteArray *
build(const char *subject, const char *body, const char *name, const char *mime, const GByteArray *data,
	bool embedded)
{
	static const unsigned char rend[14] = { 1, 0, 0xFF, 0xFF, 0xFF, 0xFF };
	GByteArray *b = g_byte_array_new(), *props = g_byte_array_new(), *msg = g_byte_array_new();

	le32(b, CLS_TNEF_SIGNATURE);
	le16(b, 0x4711);
	attr(b, 1, 0x00089006, "\0\0\1\0", 4);
	attr(b, 1, 0x00069007, "\xe4\x04\0\0\0\0\0\0", 8);
	attr(b, 1, 0x00018004, subject, strlen(subject) + 1);
	attr(b, 1, 0x00038005, "\xe2\x07\x0c\0\x0f\0\x09\0\x25\0\x1f\0\x06\0", 14);   /* 2018-12-15 09:37:31 */
	le32(msg, 1);
	mapi_var(msg, 0x001E, 0x1000, body, strlen(body) + 1);
	attr(b, 1, 0x00069003, msg->data, msg->len);
	if (data != NULL) {
		attr(b, 2, 0x00069002, rend, sizeof rend);
		le32(props, embedded ? 1 : (mime != NULL ? 2 : 1));
		if (embedded) {
			GByteArray *obj = g_byte_array_new();

			attr(b, 2, 0x0006800F, "This attachment is a MAPI 1.0 embedded object", 46);
			g_byte_array_append(obj, iid_imessage, 16);
			g_byte_array_append(obj, data->data, data->len);
			mapi_var(props, 0x000D, 0x3701, obj->data, obj->len);
			g_byte_array_unref(obj);
		} else {
			if (!nodata)
				attr(b, 2, 0x0006800F, data->data, data->len);
			mapi_var(props, 0x001E, 0x3707, name, strlen(name) + 1);
			if (mime != NULL)
				mapi_var(props, 0x001E, 0x370E, mime, strlen(mime) + 1);
		}
		attr(b, 2, 0x00069005, props->data, props->len);
	}
	g_byte_array_unref(props);
	g_byte_array_unref(msg);
	return b;
}

/* a mail: text body and winmail.dat (top = the TNEF part alone) */
static GMimeMessage *
mail(const GByteArray *tnef, bool top)
{
	char *b64 = g_base64_encode(tnef->data, tnef->len);
	GString *s = g_string_new("From: a@example.org\nTo: b@example.net\nSubject: t\nMIME-Version: 1.0\n");
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *m;

	if (top)
		g_string_append_printf(s, "Content-Type: application/ms-tnef; name=winmail.dat\n"
			"Content-Transfer-Encoding: base64\n\n%s\n", b64);
	else
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=B\n\n--B\n"
			"Content-Type: text/plain\n\nHallo\n--B\nContent-Type: application/ms-tnef; name=winmail.dat\n"
			"Content-Transfer-Encoding: base64\n\n%s\n--B--\n", b64);
	st = g_mime_stream_mem_new_with_buffer(s->str, s->len);
	p = g_mime_parser_new_with_stream(st);
	m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(st);
	g_string_free(s, TRUE);
	g_free(b64);
	return m;
}

static GByteArray *
part_bytes(GMimeObject *o)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *out = g_byte_array_new();

	g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(o)), mem);
	g_byte_array_append(out, g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->data,
		g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem))->len);
	g_object_unref(mem);
	return out;
}

static struct conf *conf_g;
static struct classify_ctx *cls_g;

static unsigned
convert(GMimeMessage *m, char **top_ct)
{
	struct tnef_convert tc = { conf_g, cls_g, "TEST", 0, 0, NULL };
	unsigned n = tnef_convert(&tc, m);

	if (top_ct != NULL)
		*top_ct = tc.top_ct;
	else
		g_free(tc.top_ct);
	return n;
}

static void
test_files(void)
{
	GByteArray *pdf = g_byte_array_new(), *t, *got;
	GMimeMessage *m;
	GMimeMultipart *mp;
	GMimeObject *o;
	static const char pdfb[] = "%PDF-1.4\n\0\1\2\3 binary\n%%EOF\n";

	g_byte_array_append(pdf, (const guint8 *)pdfb, sizeof pdfb - 1);
	t = build("Antrag", "Guten Tag,\nanbei der Antrag.\n", "../Antrag\u202Etxt.pdf", "application/pdf", pdf,
		false);
	m = mail(t, false);
	CHECK(convert(m, NULL) == 1, "a winmail.dat with a body and one file is converted");
	mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
	CHECK(g_mime_multipart_get_count(mp) == 3, "text body + TNEF body + file: 3 parts (%d)",
		g_mime_multipart_get_count(mp));
	o = g_mime_multipart_get_part(mp, 1);
	got = part_bytes(o);
	CHECK(g_mime_content_type_is_type(g_mime_object_get_content_type(o), "text", "plain") &&
		strstr((const char *)got->data, "anbei der Antrag.") != NULL &&
		g_mime_part_get_filename(GMIME_PART(o)) == NULL,
		"the TNEF body is an inline text/plain part without a file name, in the place of winmail.dat");
	g_byte_array_unref(got);
	o = g_mime_multipart_get_part(mp, 2);
	got = part_bytes(o);
	CHECK(got->len == pdf->len && memcmp(got->data, pdf->data, pdf->len) == 0, "the file's bytes are exact");
	CHECK(strcmp(g_mime_part_get_filename(GMIME_PART(o)), "Antrag_txt.pdf") == 0 &&
		g_mime_content_type_is_type(g_mime_object_get_content_type(o), "application", "pdf") &&
		g_mime_part_get_content_encoding(GMIME_PART(o)) == GMIME_CONTENT_ENCODING_BASE64,
		"its name went through filename_safe (%s), its type is PR_ATTACH_MIME_TAG, base64",
		g_mime_part_get_filename(GMIME_PART(o)));
	g_byte_array_unref(got);
	g_object_unref(m);
	/* the same alone as the message: the top level becomes multipart/mixed */
	{
		char *ct = NULL;

		unsigned n;

		m = mail(t, true);
		n = convert(m, &ct);
		CHECK(n == 1 && GMIME_IS_MULTIPART(g_mime_message_get_mime_part(m)) && ct != NULL &&
			g_str_has_prefix(ct, "multipart/mixed; boundary=\"") &&
			strstr(ct, g_mime_multipart_get_boundary(GMIME_MULTIPART(g_mime_message_get_mime_part(m)))),
			"a top-level winmail.dat becomes multipart/mixed with its new Content-Type given (%s)", ct);
		g_free(ct);
		g_object_unref(m);
	}
	g_byte_array_unref(t);
	g_byte_array_unref(pdf);
}

static void
test_embedded(void)
{
	GByteArray *txt = g_byte_array_new(), *inner, *outer;
	GMimeMessage *m, *im;
	GMimeObject *o;

	g_byte_array_append(txt, (const guint8 *)"Liste\n", 6);
	inner = build("Build a train table", "HO scale.\n", "liste.txt", NULL, txt, false);
	outer = build("Outer", "see the item\n", NULL, NULL, inner, true);
	m = mail(outer, false);
	CHECK(convert(m, NULL) == 1, "a winmail.dat holding an Outlook item is converted");
	o = g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(m)), 2);
	CHECK(GMIME_IS_MESSAGE_PART(o), "the embedded item is a message/rfc822 part");
	im = GMIME_IS_MESSAGE_PART(o) ? g_mime_message_part_get_message(GMIME_MESSAGE_PART(o)) : NULL;
	CHECK(im != NULL && g_strcmp0(g_mime_message_get_subject(im), "Build a train table") == 0 &&
		g_date_time_to_unix(g_mime_message_get_date(im)) == 1544866651 &&
		g_strcmp0(g_mime_object_get_content_disposition_parameter(o, "filename"), "Build a train table.eml") == 0,
		"with its Subject, Date and the name '<Subject>.eml'");
	CHECK(im != NULL && GMIME_IS_MULTIPART(g_mime_message_get_mime_part(im)) &&
		g_mime_multipart_get_count(GMIME_MULTIPART(g_mime_message_get_mime_part(im))) == 2,
		"its own body and file are converted the same way");
	g_object_unref(m);
	g_byte_array_unref(outer);
	g_byte_array_unref(inner);
	g_byte_array_unref(txt);
}

static void
test_kept(void)
{
	GByteArray *f = g_byte_array_new(), *t;
	GMimeMessage *m;
	uint64_t max = conf_g->classify_max_inflated;

	g_byte_array_append(f, (const guint8 *)"data", 4);
	t = build("x", "body\n", "a.txt", NULL, f, false);
	g_byte_array_set_size(t, t->len - 3);   /* cut inside the last attribute */
	m = mail(t, false);
	CHECK(convert(m, NULL) == 0 && g_mime_multipart_get_count(GMIME_MULTIPART(g_mime_message_get_mime_part(m))) == 2,
		"a truncated stream stays winmail.dat");
	g_object_unref(m);
	g_byte_array_unref(t);
	t = build("x", "body\n", "a.txt", NULL, f, false);
	g_byte_array_append(t, (const guint8 *)"garbage", 7);
	m = mail(t, false);
	CHECK(convert(m, NULL) == 0, "a stream with trailing bytes stays winmail.dat");
	g_object_unref(m);
	g_byte_array_set_size(t, t->len - 7);
	conf_g->classify_max_inflated = t->len - 1;
	m = mail(t, false);
	CHECK(convert(m, NULL) == 0, "a stream over [classify] max_inflated stays winmail.dat");
	conf_g->classify_max_inflated = max;
	g_object_unref(m);
	m = mail(t, false);
	CHECK(convert(m, NULL) == 1, "the same stream under the limit is converted");
	g_object_unref(m);
	g_byte_array_unref(t);
	g_byte_array_unref(f);
}

/* test_empty - a named file of no bytes: an empty part, not a failed conversion */
static void
test_empty(void)
{
	GByteArray *none = g_byte_array_new(), *t, *got;
	struct classify_result r;
	GMimeMessage *m;
	GMimeObject *o;

	for (int k = 0; k < 2; k++) {
		const char *how = k == 0 ? "an empty attAttachData" : "no attAttachData";

		nodata = k == 1;
		t = build("leer", "body\n", "leer.txt", "text/plain", none, false);
		nodata = false;
		m = mail(t, false);
		CHECK(convert(m, NULL) == 1, "a winmail.dat with a named file of %s is converted", how);
		o = g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(m)), 2);
		got = GMIME_IS_PART(o) ? part_bytes(o) : NULL;
		CHECK(got != NULL && got->len == 0 && g_strcmp0(g_mime_part_get_filename(GMIME_PART(o)), "leer.txt") == 0,
			"its file (%s) is an empty part named leer.txt", how);
		if (got)
			g_byte_array_unref(got);
		g_object_unref(m);
		classify_result_init(&r);
		CHECK(classify_buffer(cls_g, "winmail.dat", "application/ms-tnef", t->data, t->len, &r) == 0 &&
			r.reasons != NULL && strstr(r.reasons, "bomb") == NULL,
			"the classifier reads the stream with the file of %s", how);
		classify_result_clear(&r);
		g_byte_array_unref(t);
	}
	g_byte_array_unref(none);
}

int
main(void)
{
	GError *err = NULL;

	g_mime_init();
	conf_g = conf_load(NULL, NULL);
	g_free(conf_g->spool_dir);
	conf_g->spool_dir = g_strdup(unit_tmpdir());
	cls_g = classify_new(conf_g, &err);
	CHECK(cls_g != NULL, "classify_new (%s)", err ? err->message : "ok");
	if (cls_g == NULL)
		return unit_done();
	test_files();
	test_embedded();
	test_kept();
	test_empty();
	classify_free(cls_g);
	conf_free(conf_g);
	g_mime_shutdown();
	return unit_done();
}
