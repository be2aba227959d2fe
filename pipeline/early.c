/*
 * early.c - early offload: the incremental MIME scanner over the spooled
 * body and the worker that stores one base64 leaf while the body arrives
 * (see early.h). The scanner only finds candidates; whether the stored leaf
 * is used is decided at end of message against GMime's own parse
 * (rewrite_adopt), so a scanner that disagrees with GMime costs only the
 * wasted work, never a wrong file.
 */
#include "early.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gmime/gmime.h>

#include "b64dec.h"
#include "classify.h"
#include "log.h"
#include "pipeline_int.h"

#define EARLY_LINE 8192          /* bytes of a line kept (longer header lines: no candidate) */
#define EARLY_HDR_MAX (64 * 1024) /* a part's header block */
#define EARLY_DEPTH 16            /* nested multiparts followed */
#define EARLY_BUF (256 * 1024)    /* encoded bytes the worker reads at once */
#define EARLY_BODY_LINE 256       /* bytes of a body line kept: boundary lines are short */

enum early_state {
	ES_BODY,    /* a preamble, epilogue or leaf body */
	ES_HEADERS, /* a part's header block */
	ES_OFF,     /* nothing more to find */
};

struct early {
	struct pipeline *p;
	struct msg *m;
	/* scanner: the msg's thread only */
	enum early_state state;
	char *bnd[EARLY_DEPTH];
	int depth;
	char line[EARLY_LINE];
	size_t line_len;       /* bytes of the current line seen (kept: up to EARLY_LINE) */
	uint64_t line_start;   /* spool offset of the current line */
	unsigned prev_eol;     /* 1 or 2: the line end before line_start */
	char last_c;           /* the last byte of the line so far */
	GString *hdr;
	bool hdr_bad;          /* a header line too long to judge */
	bool in_leaf;          /* in a base64 leaf's body */
	uint64_t leaf_start;
	bool leaf_dash;        /* a line of the leaf starts with '-' (early_leaf_range) */
	bool started;          /* the worker runs (one leaf per message) */
	bool single;           /* the leaf is the top-level part: it ends with the body */
	bool leaf_closed;
	/* shared with the worker under lock */
	GMutex lock;
	GCond cond;
	uint64_t avail;        /* leaf bytes readable up to here */
	uint64_t want;         /* the worker sleeps until avail reaches this (0: it runs) */
	uint64_t end;
	bool end_known, cancel, done;
	/* the worker's; read by others once done */
	GThread *th;
	int fd;
	struct transfer *t;
	uint64_t size;
	bool stored;
	struct classify_job *job; /* the leaf's classification (early_cls_job), fed here */
};

/* ---- the worker ------------------------------------------------------- */

/* lost_count - rewrite_b64_lost's count over one more block: alphabet
 * characters after the first '=' */
static void
lost_count(bool *padded, uint64_t *lost, const unsigned char *p, size_t n)
{
	const unsigned char *q = *padded ? p : memchr(p, '=', n);

	if (q == NULL)
		return;
	*padded = true;
	for (; q < p + n; q++)
		if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
		    *q == '+' || *q == '/')
			(*lost)++;
}

/* worker_next - wait for a whole read (EARLY_BUF) after pos, or the leaf's
 * end: one wake-up per 256 KiB rather than per body chunk; the end of what
 * may be read now, or 0 with *stop when cancelled; *last once the leaf's end
 * is known */
static uint64_t
worker_next(struct early *e, uint64_t pos, bool *stop, bool *last)
{
	uint64_t lim;

	g_mutex_lock(&e->lock);
	while (!e->cancel && !e->end_known && e->avail < pos + EARLY_BUF) {
		e->want = pos + EARLY_BUF;
		g_cond_wait(&e->cond, &e->lock);
	}
	e->want = 0;
	*stop = e->cancel;
	*last = e->end_known;
	lim = e->end_known ? e->end : e->avail;
	g_mutex_unlock(&e->lock);
	return lim;
}

/* worker_stream - the leaf's bytes, decoded, into u; 0, 1 not decodable
 * whole (or cancelled), -1 error (logged) */
static int
worker_stream(struct early *e, struct transfer_upload *u, unsigned char *raw, unsigned char *out)
{
	struct b64dec dec;
	uint64_t pos = e->leaf_start, lost = 0;
	bool padded = false, stop = false, last = false;
	int serr;

	b64dec_init(&dec);
	/* tests: a store error in the middle of the early upload */
	if (getenv("OFFLOAD_EARLY_TEST_FAIL") != NULL) {
		log_warning("early offload: cannot store: %s (OFFLOAD_EARLY_TEST_FAIL)",
			storage_strerror(STORAGE_ETEMP));
		return -1;
	}
	for (;;) {
		uint64_t lim = worker_next(e, pos, &stop, &last);
		ssize_t n;
		size_t k;

		if (stop || (last && pos > lim))
			return 1;
		if (last && pos == lim)
			break;
		n = pread(e->fd, raw, (size_t)MIN((uint64_t)EARLY_BUF, lim - pos), (off_t)pos);
		if (n <= 0) {
			log_error("early offload: cannot read the spool: %s", n < 0 ? g_strerror(errno) : "short");
			return -1;
		}
		pos += (uint64_t)n;
		lost_count(&padded, &lost, raw, (size_t)n);
		k = b64dec_step(&dec, raw, (size_t)n, out);
		/* the classification of the leaf in this stream (the single pass) */
		if (k > 0 && e->job != NULL && !classify_job_done(e->job))
			classify_job_feed(e->job, out, k);
		if (k > 0 && (serr = transfer_upload_write(u, out, k)) != STORAGE_OK) {
			log_warning("early offload: cannot store: %s", storage_strerror(serr));
			return -1;
		}
	}
	b64dec_finish(&dec);
	return b64dec_lost(&dec) || lost > 0 ? 1 : 0;
}

static gpointer
worker_run(gpointer arg)
{
	struct early *e = arg;
	struct storage *st = run_storage(e->p);
	struct transfer *t = st ? transfer_new(st, (int64_t)time(NULL), e->p->conf->retention) : NULL;
	struct transfer_upload *u = NULL;
	unsigned char *raw = g_malloc(EARLY_BUF), *out = g_malloc(B64DEC_OUTLEN(EARLY_BUF));
	int serr = 0, rc = -1;

	if (t != NULL)
		u = transfer_upload_begin(t, "attachment", NULL, &serr);
	if (u != NULL)
		rc = worker_stream(e, u, raw, out);
	else
		log_warning("early offload: cannot store: %s", st == NULL ? "storage unavailable" :
			t == NULL ? "cannot create transfer id" : storage_strerror(serr));
	if (rc == 0 && transfer_upload_size(u) >= e->p->conf->offload_min_size) {
		e->size = transfer_upload_size(u);
		serr = transfer_upload_commit(u);
		u = NULL;
		e->stored = serr == STORAGE_OK;
		if (!e->stored)
			log_warning("early offload: cannot store: %s", storage_strerror(serr));
		else
			log_info("early offload: %llu bytes stored as %s/0 while the body arrived",
				(unsigned long long)e->size, t->id);
	}
	transfer_upload_abort(u);
	if (!e->stored && t != NULL) {
		transfer_abort(t); /* nothing committed */
		transfer_free(t);
		t = NULL;
	}
	if (!e->stored)
		g_clear_pointer(&e->job, classify_job_discard);
	g_free(raw);
	g_free(out);
	g_mutex_lock(&e->lock);
	e->t = t;
	e->done = true;
	g_cond_broadcast(&e->cond);
	g_mutex_unlock(&e->lock);
	return NULL;
}

/* publish - the leaf so far (end: the whole leaf) becomes readable */
static void
publish(struct early *e, bool end, uint64_t at)
{
	if (!e->started)
		return;
	if (e->m->spool != NULL && fflush(e->m->spool) != 0) {
		log_error("early offload: spool flush: %s", g_strerror(errno));
		end = false;
		g_mutex_lock(&e->lock);
		e->cancel = true;
		g_cond_broadcast(&e->cond);
		g_mutex_unlock(&e->lock);
		return;
	}
	g_mutex_lock(&e->lock);
	if (end) {
		e->end = at;
		e->end_known = true;
	} else if (at > e->avail) {
		e->avail = at;
	}
	if (end || (e->want != 0 && e->avail >= e->want))
		g_cond_broadcast(&e->cond); /* else the worker is busy or wants more */
	g_mutex_unlock(&e->lock);
}

static void
worker_start(struct early *e)
{
	sigset_t all, old;

	e->fd = dup(fileno(e->m->spool));
	if (e->fd < 0) {
		log_warning("early offload: %s", g_strerror(errno));
		e->state = ES_OFF;
		return;
	}
	e->avail = e->leaf_start;
	e->job = early_cls_job(e->p->cls, e->hdr->str); /* e->hdr: the leaf's header block */
	e->started = true;
	/* signals go to the msg's thread (offloadctl's read ends on one), never here */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e->th = g_thread_try_new("early", worker_run, e, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e->th == NULL) {
		log_warning("early offload: no thread");
		g_clear_pointer(&e->job, classify_job_discard);
		e->started = false;
		e->state = ES_OFF;
	}
}

/* ---- the scanner ------------------------------------------------------ */

static bool
is_lwsp_tail(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* bnd_match - the depth of the boundary line (innermost first), -1 none;
 * *close for a closing "--b--" */
static int
bnd_match(const struct early *e, const char *l, size_t n, bool *close)
{
	for (int d = e->depth - 1; d >= 0; d--) {
		size_t bl = strlen(e->bnd[d]);

		if (n < 2 + bl || memcmp(l + 2, e->bnd[d], bl) != 0)
			continue;
		if (n >= 4 + bl && l[2 + bl] == '-' && l[3 + bl] == '-' && is_lwsp_tail(l + 4 + bl, n - 4 - bl)) {
			*close = true;
			return d;
		}
		if (is_lwsp_tail(l + 2 + bl, n - 2 - bl)) {
			*close = false;
			return d;
		}
	}
	return -1;
}

static void
bnd_push(struct early *e, const char *b)
{
	if (e->depth >= EARLY_DEPTH || b == NULL || *b == '\0') {
		e->state = ES_OFF; /* deeper than followed: the rest is not judged */
		return;
	}
	e->bnd[e->depth++] = g_strdup(b);
}

/* content_type - a part's Content-Type from its header block (first
 * occurrence), and its Content-Transfer-Encoding; unfolded */
static void
part_fields(const char *blk, char **ct, char **cte)
{
	char **lines = g_strsplit(blk, "\n", -1);
	GString *cur = NULL;

	for (char **l = lines;; l++) {
		if (*l != NULL && (**l == ' ' || **l == '\t') && cur != NULL) {
			g_string_append(cur, *l);
			continue;
		}
		if (cur != NULL) {
			char *c = strchr(cur->str, ':');

			if (c != NULL) {
				*c = '\0';
				g_strstrip(cur->str);
				if (*ct == NULL && g_ascii_strcasecmp(cur->str, "Content-Type") == 0)
					*ct = g_strdup(c + 1);
				else if (*cte == NULL && g_ascii_strcasecmp(cur->str, "Content-Transfer-Encoding") == 0)
					*cte = g_strstrip(g_strdup(c + 1));
			}
			g_string_free(cur, TRUE);
			cur = NULL;
		}
		if (*l == NULL)
			break;
		cur = g_string_new(*l);
	}
	g_strfreev(lines);
}

/* part_begin - a part's header block ended; its body starts at body */
static void
part_begin(struct early *e, uint64_t body)
{
	char *ct = NULL, *cte = NULL;
	GMimeContentType *t;

	part_fields(e->hdr->str, &ct, &cte);
	t = ct != NULL ? g_mime_content_type_parse(NULL, ct) : NULL;
	e->state = ES_BODY;
	if (t != NULL && g_mime_content_type_is_type(t, "multipart", "*")) {
		bnd_push(e, g_mime_content_type_get_parameter(t, "boundary"));
	} else if (!e->hdr_bad && !e->started && cte != NULL &&
		   g_mime_content_encoding_from_string(cte) == GMIME_CONTENT_ENCODING_BASE64 &&
		   (t == NULL || !g_mime_content_type_is_type(t, "message", "*"))) {
		e->in_leaf = true;
		e->leaf_start = body;
	}
	if (t != NULL)
		g_object_unref(t);
	g_free(ct);
	g_free(cte);
}

/* line_done - one whole line (l, n: without its line end) */
static void
line_done(struct early *e, const char *l, size_t n, size_t eol)
{
	bool close;
	int d;

	if (n >= 2 && l[0] == '-' && l[1] == '-' && (d = bnd_match(e, l, n, &close)) >= 0) {
		if (e->in_leaf) {
			uint64_t end = e->line_start - MIN(e->prev_eol, e->line_start - e->leaf_start);

			e->in_leaf = false;
			e->leaf_closed = e->started;
			publish(e, true, end);
			if (e->started) {
				e->state = ES_OFF; /* one leaf per message: nothing more to find */
				return;
			}
		}
		while (e->depth > d + 1)
			g_free(e->bnd[--e->depth]);
		if (close) {
			g_free(e->bnd[--e->depth]);
			e->state = ES_BODY;
		} else {
			e->state = ES_HEADERS;
			g_string_truncate(e->hdr, 0);
			e->hdr_bad = false;
		}
	} else if (e->state == ES_HEADERS) {
		if (n == 0) {
			part_begin(e, e->line_start + eol);
		} else if (e->hdr->len + n > EARLY_HDR_MAX) {
			e->hdr_bad = true;
		} else {
			g_string_append_len(e->hdr, l, (gssize)n);
			g_string_append_c(e->hdr, '\n');
		}
	}
	e->prev_eol = (unsigned)eol;
}

/* scan - the body bytes buf (spooled at offset off) */
static void
scan(struct early *e, const char *buf, size_t len, uint64_t off)
{
	const char *p = buf, *end = buf + len;
	size_t eol;
	bool was_leaf;

	while (p < end && e->state != ES_OFF) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t seg = (size_t)((nl ? nl + 1 : end) - p);
		/* in a body only a boundary matters: a longer line is none here */
		size_t keep = e->state == ES_HEADERS ? EARLY_LINE : EARLY_BODY_LINE;

		if (e->line_len < keep)
			memcpy(e->line + e->line_len, p, MIN(seg, keep - e->line_len));
		e->line_len += seg;
		p += seg;
		if (nl == NULL) {
			e->last_c = end[-1];
			break;
		}
		eol = e->line_len >= 2 && (nl > buf ? nl[-1] : e->last_c) == '\r' ? 2 : 1;
		was_leaf = e->in_leaf;
		if (e->line_len <= keep) {
			line_done(e, e->line, e->line_len - eol, eol);
		} else {
			/* an over-long line is no boundary, and no header judged */
			e->hdr_bad = e->hdr_bad || e->state == ES_HEADERS;
			e->prev_eol = (unsigned)eol;
		}
		/* a line of the leaf (not the boundary that ends it) GMime could
		 * take for a boundary: the leaf's bytes are then needed in the parse */
		if (was_leaf && e->in_leaf && e->line[0] == '-')
			e->leaf_dash = true;
		e->line_start = off + (uint64_t)(p - buf);
		e->line_len = 0;
	}
}

/* single_leaf - a single-part top level that is a leaf as part_begin
 * takes one: base64 (one Content-Transfer-Encoding field), not message,
 * at most one Content-Type field */
static bool
single_leaf(const struct msg *m, GMimeContentType *t)
{
	char *cte;
	bool b64;

	if (msg_header_count(m, "Content-Type") > 1 || msg_header_count(m, "Content-Transfer-Encoding") != 1 ||
	    (t != NULL && (g_mime_content_type_is_type(t, "message", "*") ||
			   g_mime_content_type_is_type(t, "multipart", "*"))))
		return false;
	cte = msg_strip_value(msg_header_get(m, "Content-Transfer-Encoding", 0));
	b64 = g_mime_content_encoding_from_string(cte) == GMIME_CONTENT_ENCODING_BASE64;
	g_free(cte);
	return b64;
}

/* early_new - the scanner for m when its top level is multipart, or the
 * leaf itself when the top level is a single base64 part */
static struct early *
early_new(struct pipeline *p, struct msg *m)
{
	const char *v = msg_header_get(m, "Content-Type", 0);
	GMimeContentType *t = v ? g_mime_content_type_parse(NULL, v) : NULL;
	struct early *e = g_new0(struct early, 1);
	bool can;

	e->p = p;
	e->m = m;
	e->fd = -1;
	e->hdr = g_string_new(NULL);
	e->prev_eol = 2;
	e->line_start = m->body_offset;
	g_mutex_init(&e->lock);
	g_cond_init(&e->cond);
	e->state = ES_OFF;
	/* only where end of message can offload: outgoing (or rewrite_internal), not
	 * offloaded before (X-Offload-Transfer), no clamd on the stream */
	can = !p->conf->scan_outgoing && msg_header_count(m, "X-Offload-Transfer") == 0 &&
	      (p->conf->rewrite_internal || msg_outgoing(p, m));
	if (can && t != NULL && g_mime_content_type_is_type(t, "multipart", "*") &&
	    msg_header_count(m, "Content-Type") == 1) {
		e->state = ES_BODY;
		bnd_push(e, g_mime_content_type_get_parameter(t, "boundary"));
	} else if (can && single_leaf(m, t)) {
		/* GMime's content of a top-level part runs to the end of the
		 * spool: no boundary, nothing to scan (early_end closes it) */
		e->single = e->in_leaf = true;
		e->leaf_start = m->body_offset;
		e->state = ES_OFF;
	}
	if (t != NULL)
		g_object_unref(t);
	return e;
}

int
early_body(struct pipeline *p, struct msg *m, const void *buf, size_t len)
{
	struct early *e;
	uint64_t off;

	if (msg_write_body(m, buf, len) != 0)
		return -1;
	if (m->early == NULL)
		m->early = early_new(p, m);
	e = m->early;
	if (e->state == ES_OFF && !e->started && !e->single)
		return 0;
	if (m->too_big) {
		e->state = ES_OFF;
		g_mutex_lock(&e->lock);
		e->cancel = true;
		g_cond_broadcast(&e->cond);
		g_mutex_unlock(&e->lock);
		return 0;
	}
	if (e->single) {
		if (!e->started && m->spool != NULL && m->size - e->leaf_start >= p->conf->offload_min_size) {
			worker_start(e);
			e->single = e->started; /* no thread: nothing more to do */
		}
		if (e->started)
			publish(e, false, m->size);
		return 0;
	}
	off = m->size - len;
	scan(e, buf, len, off);
	if (e->in_leaf && !e->started && e->state != ES_OFF && m->spool != NULL &&
	    e->line_start - e->leaf_start >= p->conf->offload_min_size)
		worker_start(e);
	if (e->in_leaf && e->started && e->line_start >= e->leaf_start + 2)
		publish(e, false, e->line_start - 2);
	return 0;
}

void
early_end(struct early *e)
{
	if (e == NULL || !e->single || !e->in_leaf)
		return;
	e->in_leaf = false;
	e->leaf_closed = e->started;
	publish(e, true, e->m->size);
}

bool
early_leaf_range(struct early *e, uint64_t *start, uint64_t *end)
{
	bool ok;

	if (e == NULL || !e->started || !e->leaf_closed || e->leaf_dash)
		return false;
	g_mutex_lock(&e->lock);
	ok = e->end_known && e->end > e->leaf_start;
	*start = e->leaf_start;
	*end = e->end;
	g_mutex_unlock(&e->lock);
	return ok;
}

/* early_join - wait for the worker, cancelling it at deadline (0: now) */
static void
early_join(struct early *e, gint64 deadline)
{
	if (e->th == NULL)
		return;
	g_mutex_lock(&e->lock);
	if (!e->leaf_closed || deadline == 0)
		e->cancel = true; /* the leaf never ended: not a whole part */
	g_cond_broadcast(&e->cond);
	while (!e->done) {
		if (!e->cancel && !g_cond_wait_until(&e->cond, &e->lock, deadline)) {
			e->cancel = true;
			log_warning("early offload: eom_timeout reached; cancelled");
		} else if (e->cancel) {
			g_cond_wait(&e->cond, &e->lock);
		}
	}
	g_mutex_unlock(&e->lock);
	g_thread_join(e->th);
	e->th = NULL;
}

bool
early_take(struct msg *m, gint64 deadline, struct early_leaf *out)
{
	struct early *e = m->early;

	memset(out, 0, sizeof *out);
	if (e == NULL)
		return false;
	early_join(e, deadline);
	if (e->t == NULL)
		return false;
	out->start = e->leaf_start;
	out->end = e->end;
	out->size = e->size;
	out->t = e->t;
	out->job = e->job;
	e->t = NULL;
	e->job = NULL;
	return true;
}

void
early_free(struct early *e)
{
	if (e == NULL)
		return;
	early_join(e, 0);
	if (e->t != NULL) {
		transfer_abort(e->t); /* deletes the stored leaf */
		transfer_free(e->t);
	}
	classify_job_discard(e->job);
	if (e->fd >= 0)
		close(e->fd);
	while (e->depth > 0)
		g_free(e->bnd[--e->depth]);
	g_string_free(e->hdr, TRUE);
	g_mutex_clear(&e->lock);
	g_cond_clear(&e->cond);
	g_free(e);
}
