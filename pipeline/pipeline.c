/*
 * pipeline.c - end-of-message processing (see pipeline.h): set-up and
 * pipeline_run as the list of its steps. The steps live in
 * pipeline_intake.c (direction, trust, recognition, parse),
 * pipeline_decide.c (the offload decision), pipeline_store.c (store rounds,
 * manifest) and pipeline_result.c (verdicts, headers, audit); the MIME tree
 * surgery in rewrite.c.
 * Memory: GMime parses with a persistent stream, so part contents stay in
 * the spool file; every copy of attachment data is streamed.
 */
#include "pipeline_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "crypto.h"
#include "hdrops.h"
#include "log.h"
#include "notify.h"
#include "storage_keyid.h"
#include "tnef_convert.h"

int
pipeline_init(struct pipeline *p, const struct conf *conf, GError **err)
{
	GError *st_err = NULL;
	struct stat sb;

	memset(p, 0, sizeof *p);
	p->conf = conf;
	if (g_mkdir_with_parents(conf->spool_dir, 0700) != 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			"spool_dir %s: %s", conf->spool_dir, g_strerror(errno));
		return -1;
	}
	/* spool files are 0600 in a 0700 directory (issue 14 item 2) */
	if (stat(conf->spool_dir, &sb) == 0 && (sb.st_mode & 077) != 0 && chmod(conf->spool_dir, 0700) != 0)
		log_warning("spool_dir %s is mode %03o and cannot be made 0700: %s", conf->spool_dir,
			(unsigned)(sb.st_mode & 0777), g_strerror(errno));
	if (keys_load(conf->deployment_key_file, &p->dk, err) != 0)
		return -1;
	if (transfer_escrow_key_load(conf->archive_escrow_public_key, &p->escrow, err) != 0)
		return PIPELINE_ECONFIG;
	p->cls = classify_new(conf, err);
	if (p->cls == NULL)
		return PIPELINE_ECONFIG;
	if (notify_check_conf(conf, conf->classify_levels, err) != 0) {
		classify_free(p->cls);
		p->cls = NULL;
		return PIPELINE_ECONFIG;
	}
	p->trusted = pipeline_nets(conf->trusted_networks);
	p->confidential_index = -1;
	for (size_t i = 0; i < classify_level_count(p->cls); i++)
		if (strcmp(classify_level_name(p->cls, (int)i), "VERTRAULICH") == 0)
			p->confidential_index = (int)i;
	p->audit = audit_open(conf, err);
	if (p->audit == NULL) {
		classify_free(p->cls);
		p->cls = NULL;
		return -1;
	}
	g_mutex_init(&p->st_lock);
	/* a store that is down at start is not fatal: each message then gets
	 * the on_error policy, and the next message tries again */
	p->st = storage_open_checked(conf, &p->dk, true, &st_err);
	if (p->st == NULL && st_err->code == STORAGE_KEYID_EMISMATCH) {
		/* another deployment's store: every transfer would be unreadable */
		g_propagate_error(err, st_err);
		pipeline_fini(p);
		return PIPELINE_ECONFIG;
	}
	if (p->st == NULL) {
		log_warning("storage unavailable at start: %s", st_err->message);
		g_error_free(st_err);
	}
	return 0;
}

void
pipeline_fini(struct pipeline *p)
{
	audit_close(p->audit);
	classify_free(p->cls);
	storage_free(p->st);
	if (p->trusted)
		g_array_free(p->trusted, TRUE);
	if (p->conf)
		g_mutex_clear(&p->st_lock);
	keys_wipe(&p->dk);
	memset(p, 0, sizeof *p);
}

void
pipeline_result_clear(struct pipeline_result *res)
{
	run_drop_body(res);
	if (res->hdr_ops)
		g_ptr_array_free(res->hdr_ops, TRUE);
	g_free(res->reply_de);
	g_free(res->reply_en);
	g_free(res->summary);
	g_free(res->action);
	memset(res, 0, sizeof *res);
}

/* ---- the steps of pipeline_run ---------------------------------------- */

static char *
join_rcpts(const struct msg *m)
{
	GString *s = g_string_new(NULL);
	guint i;

	for (i = 0; i < m->env.rcpts->len; i++) {
		if (i)
			g_string_append_c(s, ',');
		g_string_append(s, g_ptr_array_index(m->env.rcpts, i));
	}
	return g_string_free(s, FALSE);
}

/* run_notify - the sender's confirmation and, per policy, the password
 * mails; a password nobody receives makes the transfer useless: fail */
static bool
run_notify(struct run *r)
{
	struct notify_job j = { 0 };
	char *err = NULL, *revoke;
	int rc;

	j.conf = r->p->conf;
	j.dk = &r->p->dk;
	j.qid = r->qid;
	j.sender = r->m->env.sender ? r->m->env.sender : "";
	j.rcpts = r->m->env.rcpts;
	j.subject = r->t->subject;
	j.level = r->cls.level;
	j.t = r->t;
	revoke = transfer_revoke_link(r->t, r->p->conf->portal_url);
	j.revoke_link = revoke;
	j.deadline = r->rw ? r->rw->deadline : 0; /* eom_timeout */
	rc = notify_send(&j, &err);
	crypto_free_string(revoke); /* holds the revoke secret */
	if (rc != 0) {
		char *why = g_strdup_printf("password not delivered: %s", err);

		run_fail(r, why);
		g_free(why);
		g_free(err);
		return false;
	}
	return true;
}

/* run_begin - the result starts empty; the envelope facts every step uses */
static void
run_begin(struct run *r, struct pipeline *p, struct msg *m, struct pipeline_result *res)
{
	memset(res, 0, sizeof *res);
	res->hdr_ops = hdrops_new();
	r->p = p;
	r->m = m;
	r->res = res;
	r->qid = m->env.queue_id ? m->env.queue_id : "NOQUEUE";
	r->message_id = msg_header_get(m, "Message-ID", 0) ?
		msg_strip_value(msg_header_get(m, "Message-ID", 0)) : NULL;
	r->rcpts = join_rcpts(m);
}

/* run_parse_classify - parse, list the leaves (MIME limits, signed top
 * level), then classify (DECISIONS.md §5): labels, body text, every part,
 * bounded. Attachments offloaded by size (rewrite_defer, the one size rule)
 * are only recorded here: they are classified in their offload stream,
 * which decodes them anyway (single pass). Everything else is classified
 * before the decision. False when the message passes or is rejected. */
static bool
run_parse_classify(struct run *r, struct rewrite *rw)
{
	const struct conf *c = r->p->conf;

	r->message = run_parse(r);
	if (r->message == NULL || g_mime_message_get_mime_part(r->message) == NULL) {
		run_pass(r, "pass", r->message ? "no-body" : "unparsable");
		return false;
	}
	if (r->outgoing) {   /* winmail.dat into MIME parts, for external recipients (issue 11) */
		struct tnef_convert tc = { c, r->p->cls, r->qid, 0, 0, NULL };

		r->tnef = tnef_convert(&tc, r->message);
		rw->new_top_ct = tc.top_ct;
	}
	rw->conf = c;
	rw->qid = r->qid;
	rw->message = r->message;
	rw->spool_dir = c->spool_dir;
	rw->cls_ctx = r->p->cls;
	rw->cls = &r->cls;
	r->scan_rc = rewrite_scan(rw, &r->err_text);
	r->rw = rw;
	r->signed_top = r->scan_rc == REWRITE_SIGNED;
	classify_result_clear(&r->cls);
	classify_result_init(&r->cls);
	classify_message_gmime_defer(r->p->cls, r->message, r->outgoing,
		r->scan_rc == REWRITE_OK ? rewrite_defer : NULL, rw, &r->cls);
	r->pre_decoded = r->cls.decoded;
	if (run_is_reject(r)) {
		run_reject(r);
		return false;
	}
	return true;
}

/* run_rewrite - the new body with the link; X-Offload-Transfer binds the
 * body as it leaves (FORMATS.md §3.1) */
static bool
run_rewrite(struct run *r)
{
	struct pipeline_result *res = r->res;

	r->link = transfer_link(r->t, r->p->conf->portal_url);
	if (rewrite_apply(r->rw, r->link, &res->body_fd, &res->body_path, &r->err_text) != 0) {
		run_fail(r, r->err_text ? r->err_text : "cannot rewrite message");
		return false;
	}
	if (body_digest_file(res->body_path, 0, r->body_out) != 0) {
		run_fail(r, "cannot read the new body");
		return false;
	}
	return true;
}

/* run_end - free what the run holds (the result stays with the caller) */
static void
run_end(struct run *r, struct rewrite *rw)
{
	run_early_end(r); /* before the result goes back: nothing stored stays unadopted */
	scan_audit(r->p->audit, rw->scan, r->qid, r->message_id, r->m->env.sender);
	rewrite_clear(rw);
	if (r->message)
		g_object_unref(r->message);
	transfer_free(r->t);
	classify_result_clear(&r->cls);
	crypto_free_string(r->link); /* holds the link secret */
	g_free(r->err_text);
	g_free(r->message_id);
	g_free(r->rcpts);
}

/* pipeline_run - every step either hands on or sets the result */
void
pipeline_run(struct pipeline *p, struct msg *m, struct pipeline_result *res)
{
	struct run r = { 0 };
	struct rewrite rw = { 0 };

	run_begin(&r, p, m, res);
	if (run_intake(&r) &&
	    run_parse_classify(&r, &rw) &&
	    run_upload_request(&r) &&
	    run_first_decision(&r) &&
	    run_store(&r) &&
	    run_commit(&r) &&
	    run_rewrite(&r) &&
	    run_notify(&r))
		run_offloaded(&r);
	run_end(&r, &rw);
}
