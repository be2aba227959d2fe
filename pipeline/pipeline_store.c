/*
 * pipeline_store.c - the store rounds of pipeline_run: the transfer, the
 * attachments (rewrite_offload) or the whole message streamed into it, the
 * redo when a streamed attachment changes the decision, and the manifest,
 * written last. Every copy of attachment data is streamed.
 */
#include "notify.h"
#include "pipeline_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "spool_tmp.h"
#include "storage_keyid.h"

/* run_storage - the store, opened now if it was unavailable before */
struct storage *
run_storage(struct pipeline *p)
{
	struct storage *st;
	GError *err = NULL;

	g_mutex_lock(&p->st_lock);
	if (p->st == NULL) {
		p->st = storage_open_checked(p->conf, &p->dk, true, &err);
		if (p->st == NULL) {
			log_warning("storage still unavailable: %s", err->message);
			g_error_free(err);
		}
	}
	st = p->st;
	g_mutex_unlock(&p->st_lock);
	return st;
}



/* whole_skip - a header the stored .eml leaves out: Bcc; when a converted
 * winmail.dat replaced the body (tnef_convert.h), Content-Length (it counted
 * the old body) and, when it replaced the top level (rw->new_top_ct), the
 * old top part's Content-* headers */
static bool
whole_skip(const struct run *r, const struct rewrite *rw, const char *name)
{
	static const char *const top[] = { "Content-Type", "Content-Transfer-Encoding",
		"Content-Disposition", "Content-Description", "Content-ID", "Content-Location",
		"Content-MD5" };

	if (g_ascii_strcasecmp(name, "Bcc") == 0)
		return true;
	if (r->tnef > 0 && g_ascii_strcasecmp(name, "Content-Length") == 0)
		return true;
	for (size_t i = 0; rw->new_top_ct != NULL && i < G_N_ELEMENTS(top); i++)
		if (g_ascii_strcasecmp(name, top[i]) == 0)
			return true;
	return false;
}

/* wm_write - the stored message's bytes into the transfer and, with [scan]
 * outgoing, clamd (sc, NULL: no scan): clamd parses the message and scans
 * its decoded attachments like offloaded ones */
static int
wm_write(struct transfer_upload *u, struct scan_clamd *sc, const void *buf, size_t len)
{
	if (sc != NULL)
		scan_clamd_write(sc, buf, len);
	return transfer_upload_write(u, buf, len);
}

/* whole_headers - the message's header lines for the stored .eml */
static int
whole_headers(struct run *r, struct rewrite *rw, struct transfer_upload *u, struct scan_clamd *sc)
{
	bool mime = false;
	int e = 0;

	for (guint i = 0; i < r->m->headers->len && e == 0; i++) {
		const struct msg_header *h = g_ptr_array_index(r->m->headers, i);
		char *line;

		mime = mime || g_ascii_strcasecmp(h->name, "MIME-Version") == 0;
		if (whole_skip(r, rw, h->name))
			continue;
		line = g_strdup_printf("%s:%s\r\n", h->name, h->value);
		e = wm_write(u, sc, line, strlen(line));
		g_free(line);
	}
	if (e == 0 && rw->new_top_ct != NULL) {
		char *line = g_strdup_printf("%sContent-Type: %s\r\n", mime ? "" : "MIME-Version: 1.0\r\n",
			rw->new_top_ct);

		e = wm_write(u, sc, line, strlen(line));
		g_free(line);
	}
	return e == 0 ? wm_write(u, sc, "\r\n", 2) : e;
}

/* whole_body - the body to store, open at its start: the spool's as
 * received, or, when winmail.dat was converted (issue 11: none reaches the
 * recipient, also not inside the .eml), the converted tree written to a
 * spool file (*tmp_fd, *tmp_path; the caller drops them) */
static FILE *
whole_body(struct run *r, struct rewrite *rw, int *tmp_fd, char **tmp_path, char **err)
{
	const char *path;
	FILE *f;

	if (r->tnef > 0) {
		if (rewrite_write(rw, tmp_fd, tmp_path, err) != REWRITE_OK)
			return NULL;
		return fopen(*tmp_path, "rb");
	}
	if ((path = msg_spool_file(r->m)) == NULL || (f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseeko(f, (off_t)r->m->body_offset, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	return f;
}

/* upload_whole_message - body_action offload-message: the original message
 * (without Bcc, winmail.dat converted) becomes the one offloaded file,
 * scanned like an attachment; 0, -1 with *err, or REWRITE_SCAN (the verdict
 * stops the message) */
static int
upload_whole_message(struct run *r, struct rewrite *rw, char **err)
{
	const char *subj = g_mime_message_get_subject(r->message);
	char *name = g_strdup_printf("%.80s.eml", subj && *subj ? subj : "message");
	struct transfer_upload *u;
	struct scan_clamd *sc = NULL;
	char *buf = NULL, *tmp_path = NULL;
	FILE *f = NULL;
	size_t n;
	int e = 0, rc = -1, tmp_fd = -1;

	g_strdelimit(name, "/\\\r\n\t", '_');
	u = transfer_upload_begin(r->t, name, "message/rfc822", &e);
	if (u == NULL) {
		*err = g_strdup_printf("cannot store the message: %s", storage_strerror(e));
		goto out;
	}
	sc = scan_begin(rw->conf);
	e = whole_headers(r, rw, u, sc);
	if (e == 0)
		f = whole_body(r, rw, &tmp_fd, &tmp_path, err);
	if (e != 0 || f == NULL) {
		if (*err == NULL)
			*err = g_strdup(e ? "cannot store the message" : "cannot reopen the spool");
		goto out;
	}
	buf = g_malloc(256 * 1024);
	while ((n = fread(buf, 1, 256 * 1024, f)) > 0) {
		e = wm_write(u, sc, buf, n);
		if (e != 0) {
			*err = g_strdup_printf("cannot store the message: %s", storage_strerror(e));
			goto out;
		}
	}
	if (scan_end(rw->conf, &rw->scan, sc, rw->qid, name, transfer_upload_size(u)) != SCAN_GO) {
		sc = NULL;
		rc = REWRITE_SCAN;
		goto out;
	}
	sc = NULL;
	rw->offloaded_bytes += transfer_upload_size(u);
	e = transfer_upload_commit(u);
	u = NULL;
	if (e != 0) {
		*err = g_strdup_printf("cannot store the message: %s", storage_strerror(e));
		goto out;
	}
	rc = 0;
out:
	scan_clamd_discard(sc);
	transfer_upload_abort(u);
	if (f)
		fclose(f);
	if (tmp_path != NULL)
		spool_tmp_drop(&tmp_fd, &tmp_path);
	g_free(buf);
	g_free(name);
	return rc;
}

/* run_new_transfer - the transfer the round stores into, with the envelope:
 * the one early offload stored a leaf into when this round adopts it */
static bool
run_new_transfer(struct run *r)
{
	const char *subj = g_mime_message_get_subject(r->message);
	struct msg *m = r->m;
	uint64_t retention = r->cls.retention ? r->cls.retention : r->p->conf->retention;
	guint i;

	r->t = run_early_adopt(r);
	if (r->t != NULL)
		r->t->expires = r->t->created + (int64_t)retention;
	else
		r->t = transfer_new(r->p->st, (int64_t)time(NULL), retention);
	if (r->t == NULL) {
		run_fail(r, "cannot create transfer id");
		return false;
	}
	r->t->sender = g_strdup(m->env.sender);
	r->t->escrow = &r->p->escrow;
	r->t->reply_to = r->p->conf->upload_enabled ? notify_sender_address(r->p->conf, m->env.sender) : NULL;
	/* receipts, reminders, brute-force notices: "<id>/n" (FORMATS.md §6.7) */
	r->t->notify_to = notify_sender_address(r->p->conf, m->env.sender);
	r->t->message_id = g_strdup(r->message_id);
	r->t->subject = g_strdup(subj ? subj : "");
	for (i = 0; i < m->env.rcpts->len; i++)
		g_ptr_array_add(r->t->rcpts, g_strdup(g_ptr_array_index(m->env.rcpts, i)));
	return true;
}

enum round_end {
	ROUND_DONE,   /* the decision stands: commit */
	ROUND_MORE,   /* force_all: add the attachments passed over to this transfer */
	ROUND_REDO,   /* the decision changed: abort the transfer and start over */
	ROUND_FAILED, /* the result is set (reject or on_error) */
};

/* run_store_round - one round: store with the decision known so far, then
 * take the final class of this round and compare the decisions */
static enum round_end
run_store_round(struct run *r, unsigned round)
{
	struct rewrite *rw = r->rw;
	enum run_change ch;
	bool force_before;
	int rc;

	if (!run_classify_whole(r))
		return ROUND_FAILED;
	if (r->t == NULL && !run_new_transfer(r))
		return ROUND_FAILED;
	rw->t = r->t;
	force_before = rw->force_all;
	rc = rw->whole_message ? upload_whole_message(r, rw, &r->err_text) :
		rewrite_offload(rw, r->m->size, &r->err_text);
	if (rc == REWRITE_SCAN) { /* [scan]: malware, unscannable or no clamd (scan.c) */
		transfer_abort(r->t);
		scan_result(r->res, rw->scan, r->qid, &r->err_text);
		run_audit_message(r, r->res->action, r->err_text);
		return ROUND_FAILED;
	}
	if (rc == 0 && rewrite_adopt_left(rw)) {
		rc = -1; /* never expected: an adopted file the message would keep */
		g_free(r->err_text);
		r->err_text = g_strdup("the attachment stored early was not reached");
	}
	if (rc != 0 && rc != REWRITE_REDO) {
		run_fail(r, r->err_text ? r->err_text : "storage error");
		return ROUND_FAILED;
	}
	/* the final class: parts classified in the stream are in r->cls;
	 * parts no stream read (stopped early) are classified now unless
	 * the next round streams them */
	if (rc != REWRITE_REDO)
		run_classify_rest(r);
	else
		classify_finish(r->p->cls, &r->cls, r->outgoing);
	if (run_is_reject(r)) {
		run_reject(r);
		return ROUND_FAILED;
	}
	ch = run_decide(r);
	if (round >= 8) {
		run_fail(r, "classification keeps changing the decision");
		return ROUND_FAILED;
	}
	if (rc == REWRITE_REDO || ch == RUN_REDO)
		return ROUND_REDO;
	if (!rw->whole_message && (ch == RUN_MORE || (rw->force_all && !force_before)))
		return ROUND_MORE;
	return ROUND_DONE;
}

/* run_redo - the class found while storing changed whole_message (body
 * action offload-message) or dropped force_all: the transfer is aborted
 * (its objects deleted) and the next round starts over with the new class */
static void
run_redo(struct run *r)
{
	log_info("%s: class %s found while storing the attachments changes the decision; "
		"transfer %s aborted and redone", r->qid, r->cls.level, r->t->id);
	transfer_abort(r->t);
	transfer_free(r->t);
	r->t = r->rw->t = NULL;
	rewrite_reset(r->rw);
	r->redone = true;
}

/* run_store - the store rounds. Each round stores with the decision of the
 * class known so far. A streamed attachment can raise the class. When the
 * new class asks for every attachment (force_all), the ones not stored yet
 * are added to the same transfer. When it changes whole_message (body_action
 * offload-message), the transfer is redone with the new class. A reject
 * deletes the transfer. The class only rises and a redo round streams no
 * attachment a previous round classified, so this ends; the bound in
 * run_store_round is a safety net. False when the message ends here. */
bool
run_store(struct run *r)
{
	enum round_end e;
	unsigned round;

	if (run_storage(r->p) == NULL) {
		run_fail(r, "storage unavailable");
		return false;
	}
	r->rw->deadline = g_get_monotonic_time() + (gint64)r->p->conf->eom_timeout * G_USEC_PER_SEC;
	r->rw->stop = run_stop;
	r->rw->stop_arg = r;
	for (round = 0; (e = run_store_round(r, round)) != ROUND_DONE; round++) {
		if (e == ROUND_FAILED)
			return false;
		if (e == ROUND_REDO)
			run_redo(r);
	}
	if (r->t->files->len == 0) {
		transfer_free(r->t);
		r->t = NULL;
		run_label_or_pass(r);
		return false;
	}
	return true;
}

/* run_commit - the manifest is written last: class, retention and password
 * follow the final class, also when a streamed attachment raised it */
bool
run_commit(struct run *r)
{
	const struct conf *c = r->p->conf;
	int rc;

	g_free(r->t->class_);
	r->t->class_ = g_strdup(r->cls.level);
	r->t->expires = r->t->created + (int64_t)(r->cls.retention ? r->cls.retention : c->retention);
	r->t->max_expires = r->t->created + (int64_t)(r->cls.max_retention ? r->cls.max_retention :
		c->max_retention);
	/* the password and how it arrives: the info object "<id>/i" (FORMATS.md §6.2) */
	r->t->info.delivery = TRANSFER_DELIVERY_NONE;
	if (r->cls.password && !run_password_route(r))
		return false;
	r->t->receipts = (enum transfer_receipts)r->cls.receipts;
	rc = transfer_commit(r->t, &r->p->dk);
	if (rc != STORAGE_OK) {
		r->err_text = g_strdup_printf("cannot store manifest: %s", storage_strerror(rc));
		run_fail(r, r->err_text);
		return false;
	}
	return true;
}
