/*
 * pipeline_decide.c - the offload decision of pipeline_run: what the class
 * demands (attachments by size, every attachment, the whole message), how a
 * class raised while storing changes it, and the first decision before
 * anything is stored (signed mail, MIME limits, nothing to offload).
 */
#include "pipeline_int.h"

#include "classify.h"

bool
run_is_reject(const struct run *r)
{
	return r->cls.vs || r->cls.action == CLASSIFY_REJECT || r->cls.body_action == CLASSIFY_BODY_REJECT;
}

/* run_decide - what the class decides, into rw; how that differs from
 * the decision that was in rw */
enum run_change
run_decide(struct run *r)
{
	struct rewrite *rw = r->rw;
	bool force_all, whole;
	enum run_change ch;

	r->classified = r->cls.action >= CLASSIFY_OFFLOAD ||
		r->cls.body_action == CLASSIFY_BODY_OFFLOAD_MESSAGE;
	force_all = r->cls.action >= CLASSIFY_OFFLOAD;
	/* classified signed mail defaults to offload-message (DECISIONS.md §13) */
	whole = r->cls.body_action == CLASSIFY_BODY_OFFLOAD_MESSAGE || (r->signed_top && r->classified);
	if (whole != rw->whole_message)
		ch = RUN_REDO;
	else if (whole)
		ch = RUN_SAME; /* the raw message is the file: force_all does not matter */
	else if (rw->force_all && !force_all)
		ch = RUN_REDO;
	else if (!rw->force_all && force_all)
		ch = RUN_MORE;
	else
		ch = RUN_SAME;
	rw->force_all = force_all;
	rw->whole_message = whole;
	rw->hide_names = !r->cls.notice_filenames;
	return ch;
}

/* run_classify_rest - attachments deferred to an offload stream that no
 * stream read (offload-message, errors) are classified now; the message
 * result is finished again */
void
run_classify_rest(struct run *r)
{
	if (r->rw == NULL)
		return;
	if (classify_pending_count(&r->cls) > 0)
		rewrite_classify_pending(r->rw);
	classify_finish(r->p->cls, &r->cls, r->outgoing);
}

/* run_stop - rewrite's stop hook after a streamed attachment was
 * classified: stop storing when the class now rejects the message or asks
 * to start over; when it only asks for every attachment (force_all), the
 * rest of the pass takes them all and the caller adds the ones passed over */
bool
run_stop(void *arg)
{
	struct run *r = arg;
	struct rewrite probe = *r->rw;
	struct run tmp = *r;
	enum run_change ch;

	classify_finish(r->p->cls, &r->cls, r->outgoing);
	if (run_is_reject(r))
		return true;
	tmp.rw = &probe; /* compare only: the decision is taken by the caller */
	ch = run_decide(&tmp);
	if (ch == RUN_MORE)
		r->rw->force_all = true;
	return ch == RUN_REDO;
}

/* run_first_decision - the decision of the class found before storing;
 * signed mail and MIME limits get their policy, a message with nothing to
 * offload is labelled or passes. False when that ends the message. */
bool
run_first_decision(struct run *r)
{
	enum conf_signed_mail sm = r->p->conf->signed_mail;

	run_decide(r);
	/* signed mail (issue 14 item 3): skip leaves it; reject refuses it
	 * only when something would be offloaded; offload goes on and says
	 * that the signature breaks (run_offloaded) */
	if (r->scan_rc == REWRITE_SIGNED && !r->classified && sm == CONF_SIGNED_SKIP) {
		run_pass(r, "skip-signed", "signed");
		return false;
	}
	if ((r->scan_rc == REWRITE_SIGNED || r->rw->signed_opened) && !r->classified &&
	    sm == CONF_SIGNED_REJECT && rewrite_has_work(r->rw, r->m->size)) {
		run_signed_reject(r);
		return false;
	}
	if (r->scan_rc == REWRITE_LIMIT) {
		run_limit_reject(r, r->err_text);
		return false;
	}
	/* nothing deferred here: a deferred attachment is work */
	if (!r->rw->whole_message && !r->rw->force_all && !rewrite_has_work(r->rw, r->m->size)) {
		if (r->tnef > 0 || r->rw->request_link != NULL)
			run_converted(r);   /* winmail.dat became MIME parts, or an upload request: a new body */
		else
			run_label_or_pass(r);
		return false;
	}
	return true;
}

/* run_classify_whole - offload-message stores the raw message: no stream
 * decodes the deferred attachments, they are classified first. False when
 * their class rejects the message. */
bool
run_classify_whole(struct run *r)
{
	if (!r->rw->whole_message || classify_pending_count(&r->cls) == 0)
		return true;
	run_early_job(r); /* the attachment read while the body arrived: classified there */
	run_classify_rest(r);
	if (run_is_reject(r)) {
		run_reject(r);
		return false;
	}
	run_decide(r);
	return true;
}
