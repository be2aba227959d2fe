/*
 * classify.c - the entry points that take a part's bytes: classify_buffer,
 * streaming jobs (text scanned in windows past max_text, containers given
 * up, opaque types settled by their first bytes), classify_stream,
 * classify_fd, classify_text, whole messages via GMime and the pending
 * parts of the single pass.
 * Memory: see classify.h. Thread safety: a ctx is read-only after
 * classify_new(); a job belongs to one thread.
 */
#include "classify_int.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mime_read.h"

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
	bool windowed_once;        /* the first window (the top of the text) was scanned */
	bool too_large;            /* container over max_text */
	bool typed;                /* true type looked at (CLS_MAGIC_BYTES in the buffer) */
	const char *type;          /* that type: libmagic's answer while buf holds the part from its start */
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

/* the true type of the part in buf (held from its start): libmagic looks at the first
 * CLS_MAGIC_BYTES only, so once they are here its answer is known and not asked again */
static const char *
cls_job_type(struct classify_job *job)
{
	return job->typed ? job->type : cls_magic(job->ctx, job->buf->data, job->buf->len);
}

static bool
cls_job_is_text(struct classify_job *job)
{
	const char *t = cls_job_type(job);

	return t != NULL && strncmp(t, "text/", 5) == 0 && strcmp(t, "text/html") != 0 && strcmp(t, "text/xml") != 0;
}

/* libmagic sees only the first CLS_MAGIC_BYTES: once they are in the buffer, a part that is
 * neither text nor a container (media, executables, unknown binary) has its final result, so the
 * rest need not be fed (nor held); true when the job is opaque now */
static bool
cls_job_typed(struct classify_job *job)
{
	if (!job->typed && job->buf->len >= CLS_MAGIC_BYTES) {
		const char *t = cls_magic(job->ctx, job->buf->data, job->buf->len);
		enum cls_kind k = cls_kind(t, job->name, job->declared_type, job->buf->data, job->buf->len);

		job->typed = true;
		job->type = t;
		job->opaque = k == CLS_K_MEDIA || k == CLS_K_OPAQUE;
		return job->opaque;
	}
	return false;
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
			if (cls_job_typed(job))
				return;
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
			if (cls_utf8_valid(d + lead, cut - lead)) {   /* no NUL either */
				cls_detect_utf8(job->ctx, w, d + lead, cut - lead, &job->win);
				if (!job->windowed_once)
					cls_vs_marking(w, d + lead, cut - lead, CLS_VS_TOP, &job->win);
			} else {
				u = cls_text_utf8(d, cut, &tl);
				cls_detect(job->ctx, w, u, tl, &job->win);
				if (!job->windowed_once)
					cls_vs_marking(w, u, tl, CLS_VS_TOP, &job->win);
			}
			job->windowed_once = true;
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
	scan.vs_pos = job->windowed ? CLS_VS_BOTTOM : CLS_VS_EDGES;   /* after windows: the end of a long text */
	if (!job->windowed)
		scan.part_type = job->typed ? job->type : NULL;   /* the buffer holds the part from its start */
	cls_part_begin(res, job->name, job->declared_type);
	if (job->too_large) {
		res->true_type = cls_job_type(job);
		scan.part_type = NULL;
		cls_add(res, "not-inspectable", 1, job->name, "larger than [classify] max_text");
	} else {
		cls_part(&scan, job->name, job->declared_type, job->buf->data, job->buf->len, res);
	}
	if (job->windowed)
		classify_combine(job->ctx, res, &job->win);
	res->decoded += job->total;
	cls_policy(job->ctx, res, res->level_index);
	classify_job_discard(job);
}

void
classify_job_discard(struct classify_job *job)
{
	if (job == NULL)
		return;
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
		ssize_t n = mime_read(stream, buf, sizeof buf);

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

/* one read of classify_fd: straight into the job's buffer while a whole read fits below max_text
 * (as classify_job_feed would append it, no bounce copy), else through buf and classify_job_feed */
static ssize_t
cls_job_read(struct classify_job *job, int fd, char *buf, size_t size)
{
	size_t max = (size_t)job->ctx->max_text, at = job->buf->len;
	ssize_t n;

	if (job->too_large || job->opaque || at >= max || max - at < size) {
		n = read(fd, buf, size);
		if (n > 0)
			classify_job_feed(job, buf, (size_t)n);
		return n;
	}
	g_byte_array_set_size(job->buf, (guint)(at + size));
	n = read(fd, job->buf->data + at, size);
	g_byte_array_set_size(job->buf, (guint)(at + (n > 0 ? (size_t)n : 0)));   /* shrinks only */
	if (n > 0) {
		job->total += (uint64_t)n;
		cls_job_typed(job);
	}
	return n;
}

int
classify_fd(const struct classify_ctx *ctx, const char *name, const char *declared_type, int fd,
	struct classify_result *res)
{
	struct classify_job *job = classify_job_new(ctx, name, declared_type);
	char buf[65536];
	struct stat st;
	int rc = 0;

	/* a file's buffer sized once (bounded by max_text): no regrowing copies */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		g_byte_array_set_size(job->buf, (guint)MIN((uint64_t)st.st_size + sizeof buf, ctx->max_text));
		g_byte_array_set_size(job->buf, 0);
	}
	for (;;) {
		ssize_t n = cls_job_read(job, fd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("classify: %s: %s", name != NULL ? name : "fd", g_strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
	}
	classify_job_finish(job, res);
	return rc;
}

void
classify_text(const struct classify_ctx *ctx, const char *where, const char *text, size_t len,
	struct classify_result *res)
{
	cls_detect(ctx, where, text, len, res);
	cls_vs_marking(where, text, len, CLS_VS_EDGES, res);   /* a body: first and last lines */
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

bool
classify_pending_match(const struct classify_result *res, const char *path, const struct classify_job *job)
{
	const struct classify_result *p = cls_pending_find(res, path);

	return p != NULL && job != NULL && job->depth == 0 && g_strcmp0(p->name, job->name) == 0 &&
	       g_strcmp0(p->declared_type, job->declared_type) == 0;
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
