/*
 * classify.c - the classification ctx (settings from the [classify] group),
 * results, label inputs (Sensitivity, msip_labels, subject markers incl.
 * TLP 2.0, SIO-Label, VS markings), the per-attachment entry points with
 * libmagic typing, combining by maximum and the per-class policy.
 * Memory: see classify.h. Thread safety: a ctx is read-only after
 * classify_new(); libmagic calls are serialised by ctx->magic_mu.
 */
#include "classify_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* ---- attachments ---- */

void
cls_bomb(struct cls_scan *scan, struct classify_result *res, const char *where, const char *why)
{
	if (!scan->bomb)
		cls_add(res, "bomb-limit", 1, where, why);
	scan->bomb = true;
}

static const char *const cls_exe_ext[] = {
	"exe", "com", "scr", "bat", "cmd", "pif", "vbs", "vbe", "js", "jse", "wsf", "wsh", "ps1", "msi",
	"dll", "jar", "lnk", "hta", "cpl", "msc", "reg", "sys", NULL,
};

static bool
cls_exe_type(const char *t)
{
	return t != NULL && (strstr(t, "executable") != NULL || strstr(t, "x-dosexec") != NULL ||
		strstr(t, "x-sharedlib") != NULL || strstr(t, "x-mach-binary") != NULL ||
		strstr(t, "x-msdownload") != NULL || strstr(t, "x-msi") != NULL);
}

/* coarse type families for the mismatch finding; NULL = unknown/generic */
static const char *
cls_family(const char *t)
{
	static const struct { const char *prefix, *family; } fam[] = {
		{ "text/", "text" }, { "application/xml", "text" }, { "application/json", "text" },
		{ "application/csv", "text" }, { "application/pdf", "pdf" }, { "application/x-pdf", "pdf" },
		{ "application/zip", "zip" }, { "application/x-zip", "zip" }, { "application/vnd.openxmlformats", "zip" },
		{ "application/vnd.oasis.opendocument", "zip" }, { "application/java-archive", "zip" },
		{ "application/epub", "zip" }, { "application/msword", "ole" }, { "application/vnd.ms-tnef", "tnef" },
		{ "application/ms-tnef", "tnef" }, { "application/vnd.ms-", "ole" },
		{ "application/x-ole-storage", "ole" }, { "application/cdfv2", "ole" }, { "application/CDFV2", "ole" },
		{ "image/", "image" }, { "audio/", "audio" }, { "video/", "video" }, { "message/", "message" },
		{ "application/gzip", "gzip" }, { "application/x-gzip", "gzip" },
		{ "application/x-7z", "7z" }, { "application/x-rar", "rar" }, { "application/vnd.rar", "rar" },
	};
	size_t i;

	if (t == NULL)
		return NULL;
	if (cls_exe_type(t))
		return "executable";
	for (i = 0; i < G_N_ELEMENTS(fam); i++)
		if (g_ascii_strncasecmp(t, fam[i].prefix, strlen(fam[i].prefix)) == 0)
			return fam[i].family;
	return NULL;
}

static const char *
cls_ext_family(const char *name)
{
	static const struct { const char *ext, *family; } ext[] = {
		{ "txt", "text" }, { "csv", "text" }, { "htm", "text" }, { "html", "text" }, { "xml", "text" },
		{ "pdf", "pdf" }, { "zip", "zip" }, { "docx", "zip" }, { "xlsx", "zip" }, { "pptx", "zip" },
		{ "docm", "zip" }, { "xlsm", "zip" }, { "odt", "zip" }, { "ods", "zip" }, { "odp", "zip" },
		{ "doc", "ole" }, { "xls", "ole" }, { "ppt", "ole" }, { "msg", "ole" }, { "jpg", "image" },
		{ "jpeg", "image" }, { "png", "image" }, { "gif", "image" }, { "eml", "message" },
		{ "gz", "gzip" }, { "7z", "7z" }, { "rar", "rar" },
	};
	const char *dot = name != NULL ? strrchr(name, '.') : NULL;
	size_t i;

	if (dot == NULL)
		return NULL;
	for (i = 0; cls_exe_ext[i] != NULL; i++)
		if (g_ascii_strcasecmp(dot + 1, cls_exe_ext[i]) == 0)
			return "executable";
	for (i = 0; i < G_N_ELEMENTS(ext); i++)
		if (g_ascii_strcasecmp(dot + 1, ext[i].ext) == 0)
			return ext[i].family;
	return NULL;
}

/* interned MIME type names (results point at them for the process lifetime) */
static const char *
cls_intern(const char *s)
{
	return s != NULL ? g_intern_string(s) : NULL;
}

static const char *
cls_magic(const struct classify_ctx *ctx, const unsigned char *data, size_t len)
{
	const char *t;
	const char *out;

	if (len == 0)
		return cls_intern("application/x-empty");
	pthread_mutex_lock((pthread_mutex_t *)&ctx->magic_mu);
	t = magic_buffer(ctx->magic, data, len < CLS_MAGIC_BYTES ? len : CLS_MAGIC_BYTES);
	out = cls_intern(t != NULL ? t : "application/octet-stream");
	pthread_mutex_unlock((pthread_mutex_t *)&ctx->magic_mu);
	return out;
}

char *
cls_text_utf8(const char *data, size_t len, size_t *out_len)
{
	char *out;

	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (len >= 2 && ((unsigned char)data[0] == 0xFF || (unsigned char)data[0] == 0xFE) &&
	    ((unsigned char)data[1] == 0xFE || (unsigned char)data[1] == 0xFF)) {
		gsize w = 0;

		out = g_convert(data + 2, (gssize)(len - 2), "UTF-8",
			(unsigned char)data[0] == 0xFF ? "UTF-16LE" : "UTF-16BE", NULL, &w, NULL);
		if (out != NULL) {
			*out_len = w;
			return out;
		}
	}
	if (g_utf8_validate(data, (gssize)len, NULL) && memchr(data, '\0', len) == NULL) {
		out = g_strndup(data, len);
		*out_len = len;
		return out;
	}
	{
		gsize w = 0;

		out = g_convert_with_fallback(data, (gssize)len, "UTF-8", "WINDOWS-1252", "?", NULL, &w, NULL);
		if (out == NULL)
			out = g_convert_with_fallback(data, (gssize)len, "UTF-8", "ISO-8859-1", "?", NULL, &w, NULL);
		if (out == NULL) {
			out = g_strdup("");
			w = 0;
		}
		*out_len = w;
	}
	return out;
}

static bool
cls_has_prefix(const unsigned char *d, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(d, p, n) == 0;
}

static bool
cls_is_tnef_type(const char *t)
{
	return t != NULL && (g_ascii_strcasecmp(t, "application/ms-tnef") == 0 ||
		g_ascii_strcasecmp(t, "application/vnd.ms-tnef") == 0);
}

/* what cls_part does with a part's bytes, decided by the true type (libmagic
 * sees at most the first CLS_MAGIC_BYTES), the declared type, the name and
 * the first bytes */
enum cls_kind {
	CLS_K_ZIP, CLS_K_TNEF, CLS_K_RTF, CLS_K_PDF, CLS_K_EML, CLS_K_HTML, CLS_K_TEXT, CLS_K_EMPTY,
	CLS_K_MEDIA, CLS_K_OPAQUE,
};

static enum cls_kind
cls_kind(const char *t, const char *name, const char *declared_type, const unsigned char *data, size_t len)
{
	const char *fam_true = cls_family(t);

	if (cls_has_prefix(data, len, "PK\x03\x04") || cls_has_prefix(data, len, "PK\x05\x06"))
		return CLS_K_ZIP;
	if (cls_has_prefix(data, len, "\x78\x9f\x3e\x22") ||
	    (t != NULL && strcmp(t, "application/vnd.ms-tnef") == 0) || cls_is_tnef_type(declared_type))
		return CLS_K_TNEF;
	if (cls_has_prefix(data, len, "{\\rtf"))
		return CLS_K_RTF;
	if (cls_has_prefix(data, len, "%PDF") || (t != NULL && strcmp(t, "application/pdf") == 0))
		return CLS_K_PDF;
	if ((t != NULL && strcmp(t, "message/rfc822") == 0) ||
	    (declared_type != NULL && g_ascii_strcasecmp(declared_type, "message/rfc822") == 0) ||
	    (name != NULL && g_str_has_suffix(name, ".eml")))
		return CLS_K_EML;
	if ((t != NULL && (strcmp(t, "text/html") == 0 || strcmp(t, "text/xml") == 0 ||
			   strcmp(t, "image/svg+xml") == 0)) ||
	    (declared_type != NULL && g_ascii_strcasecmp(declared_type, "text/html") == 0))
		return CLS_K_HTML;
	if (fam_true != NULL && strcmp(fam_true, "text") == 0)
		return CLS_K_TEXT;
	if (t != NULL && strcmp(t, "application/x-empty") == 0)
		return CLS_K_EMPTY;
	if (t != NULL && (strncmp(t, "image/", 6) == 0 || strncmp(t, "audio/", 6) == 0 ||
			  strncmp(t, "video/", 6) == 0 || cls_exe_type(t)))
		return CLS_K_MEDIA;
	return CLS_K_OPAQUE;
}

/* cls_part - one attachment (or container member) into res */
void
cls_part(struct cls_scan *scan, const char *name, const char *declared_type, const unsigned char *data,
	size_t len, struct classify_result *res)
{
	const struct classify_ctx *ctx = scan->ctx;
	const char *t = cls_magic(ctx, data, len);
	const char *fam_true = cls_family(t), *fam_decl = cls_family(declared_type), *fam_ext = cls_ext_family(name);
	const char *where = name != NULL ? name : "part";

	if (res->true_type == NULL)
		res->true_type = t;
	if (cls_exe_type(t) || (fam_ext != NULL && strcmp(fam_ext, "executable") == 0))
		cls_add(res, "executable", 1, where, t);
	if (fam_true != NULL && strcmp(fam_true, "text") != 0) {
		const char *bad = NULL;

		if (fam_decl != NULL && strcmp(fam_decl, fam_true) != 0 &&
		    !(strcmp(fam_decl, "zip") == 0 && strcmp(fam_true, "ole") == 0))
			bad = declared_type;
		else if (fam_ext != NULL && strcmp(fam_ext, fam_true) != 0)
			bad = strrchr(name, '.');
		if (bad != NULL) {
			char *detail = g_strdup_printf("declared %s, is %s", bad, t);

			cls_add(res, "type-mismatch", 1, where, detail);
			g_free(detail);
		}
	}
	if (scan->depth > ctx->max_depth) {
		cls_bomb(scan, res, where, "nesting depth");
		return;
	}
	switch (cls_kind(t, name, declared_type, data, len)) {
	case CLS_K_ZIP:
		cls_extract_zip(scan, where, data, len, res);
		break;
	case CLS_K_TNEF:
		cls_extract_tnef(scan, where, data, len, res);
		break;
	case CLS_K_RTF: {
		GString *text = g_string_new("");

		cls_rtf_text((const char *)data, len, (size_t)ctx->max_text, text);
		cls_detect(ctx, where, text->str, text->len, res);
		g_string_free(text, TRUE);
		break;
	}
	case CLS_K_PDF:
		cls_extract_pdf(scan, where, data, len, res);
		break;
	case CLS_K_EML:
		cls_extract_eml(scan, where, data, len, res);
		break;
	case CLS_K_HTML:
		cls_extract_html(scan, where, (const char *)data, len, res);
		break;
	case CLS_K_TEXT: {
		size_t n = 0;
		char *u = cls_text_utf8((const char *)data, len, &n);

		cls_detect(ctx, where, u, n, res);
		g_free(u);
		break;
	}
	case CLS_K_EMPTY:
	case CLS_K_MEDIA:
		break; /* nothing to read: type findings only */
	case CLS_K_OPAQUE:
		cls_add(res, "not-inspectable", 1, where, t);
		break;
	}
}

static void
cls_part_begin(struct classify_result *res, const char *name, const char *declared_type)
{
	if (res->name == NULL && name != NULL)
		res->name = g_utf8_make_valid(name, -1);
	if (res->declared_type == NULL && declared_type != NULL)
		res->declared_type = g_utf8_make_valid(declared_type, -1);
}

int
classify_buffer(const struct classify_ctx *ctx, const char *name, const char *declared_type, const void *data,
	size_t len, struct classify_result *res)
{
	struct classify_job *job = classify_job_new(ctx, name, declared_type);

	classify_job_feed(job, data, len);
	classify_job_finish(job, res);
	return 0;
}

/* ---- streaming jobs ---- */

#define CLS_WINDOW_OVERLAP 512

struct classify_job {
	const struct classify_ctx *ctx;
	char *name, *declared_type;
	GByteArray *buf;
	uint64_t total;
	bool windowed;             /* text scanned in windows */
	bool too_large;            /* container over max_text */
	bool typed;                /* true type looked at (CLS_MAGIC_BYTES in the buffer) */
	bool opaque;               /* a type whose result the first bytes settle: done */
	unsigned depth;            /* nesting of the part (attached messages) */
	struct classify_result win; /* findings of earlier windows */
};

struct classify_job *
classify_job_new(const struct classify_ctx *ctx, const char *name, const char *declared_type)
{
	struct classify_job *job = g_new0(struct classify_job, 1);

	job->ctx = ctx;
	job->name = g_strdup(name);
	job->declared_type = g_strdup(declared_type);
	job->buf = g_byte_array_new();
	classify_result_init(&job->win);
	return job;
}

static bool
cls_job_is_text(struct classify_job *job)
{
	const char *t = cls_magic(job->ctx, job->buf->data, job->buf->len);

	return t != NULL && strncmp(t, "text/", 5) == 0 && strcmp(t, "text/html") != 0 && strcmp(t, "text/xml") != 0;
}

void
classify_job_feed(struct classify_job *job, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t max = (size_t)job->ctx->max_text;

	job->total += len;
	while (len > 0) {
		size_t room = job->buf->len < max ? max - job->buf->len : 0, n = MIN(room, len);

		if (job->too_large || job->opaque)
			return;
		if (n > 0) {
			g_byte_array_append(job->buf, p, (guint)n);
			p += n;
			len -= n;
			/* libmagic sees only the first CLS_MAGIC_BYTES: once they are
			 * here, a part that is neither text nor a container (media,
			 * executables, unknown binary) has its final result, so the
			 * rest need not be fed (nor held) */
			if (!job->typed && job->buf->len >= CLS_MAGIC_BYTES) {
				const char *t = cls_magic(job->ctx, job->buf->data, job->buf->len);
				enum cls_kind k = cls_kind(t, job->name, job->declared_type, job->buf->data,
					job->buf->len);

				job->typed = true;
				job->opaque = k == CLS_K_MEDIA || k == CLS_K_OPAQUE;
				if (job->opaque)
					return;
			}
			continue;
		}
		/* buffer full: text is scanned in windows, containers give up */
		if (!job->windowed && !cls_job_is_text(job)) {
			job->too_large = true;
			return;
		}
		job->windowed = true;
		{
			size_t tl = 0, keep = MIN((size_t)CLS_WINDOW_OVERLAP, job->buf->len);
			size_t cut = job->buf->len - keep, lead;
			const char *d = (const char *)job->buf->data;
			char *u = NULL;
			char *w = g_strdup_printf("%s (from byte %" G_GUINT64_FORMAT ")", job->name ? job->name : "part",
				job->total - len - job->buf->len);

			/* never cut a UTF-8 sequence (the window would read as
			 * windows-1252); a UTF-8 window is scanned in place, without
			 * a copy of max_text bytes */
			while (cut > 1 && ((unsigned char)d[cut] & 0xC0) == 0x80 && job->buf->len - cut < keep + 4)
				cut--;
			lead = cut >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
			if (g_utf8_validate(d + lead, (gssize)(cut - lead), NULL) && memchr(d, '\0', cut) == NULL) {
				cls_detect(job->ctx, w, d + lead, cut - lead, &job->win);
			} else {
				u = cls_text_utf8(d, cut, &tl);
				cls_detect(job->ctx, w, u, tl, &job->win);
			}
			g_free(w);
			g_free(u);
			g_byte_array_remove_range(job->buf, 0, (guint)cut);
		}
	}
}

void
classify_job_finish(struct classify_job *job, struct classify_result *res)
{
	struct cls_scan scan = { 0 };

	scan.ctx = job->ctx;
	scan.depth = job->depth;
	cls_part_begin(res, job->name, job->declared_type);
	if (job->too_large) {
		res->true_type = cls_magic(job->ctx, job->buf->data, job->buf->len);
		cls_add(res, "not-inspectable", 1, job->name, "larger than [classify] max_text");
	} else {
		cls_part(&scan, job->name, job->declared_type, job->buf->data, job->buf->len, res);
	}
	if (job->windowed)
		classify_combine(job->ctx, res, &job->win);
	res->decoded += job->total;
	cls_policy(job->ctx, res, res->level_index);
	classify_result_clear(&job->win);
	g_byte_array_unref(job->buf);
	g_free(job->name);
	g_free(job->declared_type);
	g_free(job);
}

bool
classify_job_done(const struct classify_job *job)
{
	return job->too_large || job->opaque;
}

void
cls_job_set_depth(struct classify_job *job, unsigned depth)
{
	job->depth = depth;
}

int
classify_stream(const struct classify_ctx *ctx, const char *name, const char *declared_type, GMimeStream *stream,
	struct classify_result *res)
{
	struct classify_job *job = classify_job_new(ctx, name, declared_type);
	char buf[65536];
	int rc = 0;

	for (;;) {
		ssize_t n = g_mime_stream_read(stream, buf, sizeof buf);

		if (n < 0) {
			log_error("classify: %s: read error", name != NULL ? name : "stream");
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		classify_job_feed(job, buf, (size_t)n);
	}
	classify_job_finish(job, res);
	return rc;
}

int
classify_fd(const struct classify_ctx *ctx, const char *name, const char *declared_type, int fd,
	struct classify_result *res)
{
	struct classify_job *job = classify_job_new(ctx, name, declared_type);
	char buf[65536];
	int rc = 0;

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("classify: %s: %s", name != NULL ? name : "fd", g_strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		classify_job_feed(job, buf, (size_t)n);
	}
	classify_job_finish(job, res);
	return rc;
}

void
classify_text(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	struct classify_result *res)
{
	cls_detect(ctx, where, text, len, res);
	cls_policy(ctx, res, res->level_index);
}

void
classify_message_gmime(const struct classify_ctx *ctx, GMimeMessage *msg, bool outgoing, struct classify_result *res)
{
	classify_message_gmime_defer(ctx, msg, outgoing, NULL, NULL, res);
}

void
classify_message_gmime_defer(const struct classify_ctx *ctx, GMimeMessage *msg, bool outgoing,
	classify_defer_fn defer, void *arg, struct classify_result *res)
{
	struct cls_scan scan = { 0 };

	scan.ctx = ctx;
	scan.defer = defer;
	scan.defer_arg = arg;
	if (res->true_type == NULL)
		res->true_type = cls_intern("message/rfc822");
	classify_headers_gmime(ctx, GMIME_OBJECT(msg), res);
	cls_extract_gmime(&scan, GMIME_OBJECT(msg), NULL, res);
	classify_finish(ctx, res, outgoing);
}

/* ---- pending parts (single pass, see classify.h) ---- */

static struct classify_result *
cls_pending_find(const struct classify_result *res, const char *path)
{
	guint i;

	if (res->parts == NULL || path == NULL)
		return NULL;
	for (i = 0; i < res->parts->len; i++) {
		struct classify_result *p = g_ptr_array_index(res->parts, i);

		if (p->pending && p->path != NULL && strcmp(p->path, path) == 0)
			return p;
	}
	return NULL;
}

struct classify_job *
classify_pending_job(const struct classify_ctx *ctx, const struct classify_result *res, const char *path)
{
	const struct classify_result *p = cls_pending_find(res, path);

	if (p == NULL) {
		log_panic("classify: no pending part %s", path != NULL ? path : "(null)");
		return NULL;
	}
	return classify_job_new(ctx, p->name, p->declared_type);
}

void
classify_pending_finish(const struct classify_ctx *ctx, struct classify_result *res, const char *path,
	struct classify_job *job)
{
	struct classify_result *p = cls_pending_find(res, path);
	struct classify_result scratch;

	if (p == NULL) {
		/* never expected (classify_pending_job checked the path): the
		 * job's memory is released, nothing is combined */
		log_panic("classify: no pending part %s", path != NULL ? path : "(null)");
		classify_result_init(&scratch);
		classify_job_finish(job, &scratch);
		classify_result_clear(&scratch);
		return;
	}
	p->pending = false;
	classify_job_finish(job, p);
	cls_policy(ctx, p, p->level_index);
	classify_combine(ctx, res, p);
}

unsigned
classify_pending_count(const struct classify_result *res)
{
	unsigned n = 0;
	guint i;

	if (res->parts != NULL)
		for (i = 0; i < res->parts->len; i++)
			n += ((const struct classify_result *)g_ptr_array_index(res->parts, i))->pending ? 1 : 0;
	return n;
}
