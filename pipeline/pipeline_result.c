/*
 * pipeline_result.c - how pipeline_run ends: pass, label, offload, reject
 * or the on_error policy (DECISIONS.md §4, §13); the header operations and
 * the audit trail of each.
 */
#include "pipeline_int.h"

#include <string.h>
#include <unistd.h>

#include "archive_hook.h"
#include "hdrops.h"
#include "log.h"
#include "spool_tmp.h"

static char *
rfc3339(int64_t t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ");

	g_date_time_unref(d);
	return s;
}

/* run_level - the class the auditor sees: a VS marking is its own rule
 * above the levels (the level index may still say OFFEN) */
static const char *
run_level(const struct run *r)
{
	return r->cls.vs ? "VS" : r->cls.level;
}

void
run_audit_message(struct run *r, const char *action, const char *reasons)
{
	struct audit_event ev = { 0 };
	char *expires = r->t && r->t->sealed ? rfc3339(r->t->expires) : NULL;

	ev.event = "message";
	ev.queue_id = r->qid;
	ev.message_id = r->message_id;
	ev.from = r->m->env.sender;
	ev.rcpt = r->rcpts;
	ev.size = (int64_t)(r->m->size);
	ev.class_ = run_level(r);
	ev.reasons = reasons;
	ev.action = action;
	ev.transfer = r->t && r->t->sealed ? r->t->id : NULL;
	ev.expires = expires;
	ev.client = r->m->env.client_addr;
	audit_write(r->p->audit, &ev);
	g_free(expires);
}

static void
run_audit_files(struct run *r)
{
	char *expires = rfc3339(r->t->expires);
	guint i;

	for (i = 0; i < r->t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(r->t->files, i);
		struct audit_event ev = { 0 };

		ev.event = "attachment";
		ev.queue_id = r->qid;
		ev.message_id = r->message_id;
		ev.from = r->m->env.sender;
		ev.rcpt = r->rcpts;
		ev.file = f->name;
		ev.size = (int64_t)f->size;
		ev.type = f->type;
		ev.sha256 = f->sha256;
		ev.class_ = r->cls.level;
		ev.reasons = r->cls.reasons && *r->cls.reasons ? r->cls.reasons : "size";
		ev.action = r->cls.action == CLASSIFY_OFFLOAD_PASSWORD ? "offload+password" : "offload";
		ev.transfer = r->t->id;
		ev.expires = expires;
		ev.client = r->m->env.client_addr;
		audit_write(r->p->audit, &ev);
	}
	g_free(expires);
}

/* run_top_headers - the top-level structure changed (DECISIONS.md §4): its new Content-Type */
static void
run_top_headers(struct run *r, const char *new_ct, const char *new_cte)
{
	static const char *const top_part_headers[] = { "Content-Disposition",
		"Content-Description", "Content-ID", "Content-Location", "Content-MD5" };
	GPtrArray *ops = r->res->hdr_ops;
	char *v;

	v = g_strdup_printf(" %s", new_ct);
	if (msg_header_count(r->m, "Content-Type") > 0)
		hdrops_change(ops, "Content-Type", 1, v);
	else
		hdrops_add(ops, "Content-Type", v);
	g_free(v);
	hdrops_delete_all(ops, r->m, "Content-Transfer-Encoding");
	if (new_cte) {
		v = g_strdup_printf(" %s", new_cte);
		hdrops_add(ops, "Content-Transfer-Encoding", v);
		g_free(v);
	}
	if (msg_header_count(r->m, "MIME-Version") == 0)
		hdrops_add(ops, "MIME-Version", " 1.0");
	/* a part replacing an offloaded part carries none of its
	 * disposition, file name or identity (issue 11) */
	for (size_t i = 0; i < G_N_ELEMENTS(top_part_headers); i++)
		hdrops_delete_all(ops, r->m, top_part_headers[i]);
}

static void
run_headers(struct run *r, const char *new_ct, const char *new_cte)
{
	const struct conf *c = r->p->conf;
	GPtrArray *ops = r->res->hdr_ops;
	char *expires = r->t ? rfc3339(r->t->expires) : NULL;
	char *mac = r->t ? transfer_header_mac(&r->p->dk, r->message_id, r->t->id, r->body_out) : NULL;
	char *v;

	if (new_ct)
		run_top_headers(r, new_ct, new_cte);
	hdrops_delete_all(ops, r->m, "X-Data-Classification");
	hdrops_delete_all(ops, r->m, "X-Offload-Transfer");
	if (r->t) {
		v = g_strdup_printf(" %s; files=%u; expires=%s; mac=%s", r->t->id, r->t->files->len,
			expires, mac);
		hdrops_add(ops, "X-Offload-Transfer", v);
		g_free(v);
		v = g_strdup_printf(" class=%s; policy=%s; transfer=%s", r->cls.level, c->policy_name,
			r->t->id);
	} else {
		v = g_strdup_printf(" class=%s; policy=%s", r->cls.level, c->policy_name);
	}
	hdrops_add(ops, "X-Data-Classification", v);
	g_free(v);
	/* [scan] on_* = accept-marked: the recipients learn the files were not scanned */
	hdrops_delete_all(ops, r->m, "X-Offload-Scan");
	v = scan_mark(r->rw ? r->rw->scan : NULL);
	if (v != NULL)
		hdrops_add(ops, "X-Offload-Scan", v);
	g_free(v);
	/* RFC 2156 Sensitivity for VERTRAULICH and above, only when absent */
	if (r->cls.level_index >= r->p->confidential_index && r->p->confidential_index >= 0 &&
	    msg_header_count(r->m, "Sensitivity") == 0)
		hdrops_add(ops, "Sensitivity", " Company-Confidential");
	g_free(expires);
	g_free(mac);
}

void
run_drop_body(struct pipeline_result *res)
{
	if (res->body_path != NULL)
		spool_tmp_drop(&res->body_fd, &res->body_path);
}

/* run_reject - the class rejects the message (VS marking, reject policy):
 * the same 550 text wherever the marking was found; whatever was stored
 * for the message is deleted */
void
run_reject(struct run *r)
{
	struct pipeline_result *res = r->res;
	const char *t = classify_reject_text(), *sep = strstr(t, " / ");

	if (r->t)
		transfer_abort(r->t);
	run_drop_body(res);
	g_ptr_array_set_size(res->hdr_ops, 0);
	res->verdict = PIPELINE_REJECT;
	res->rcode = "550";
	res->xcode = "5.7.1";
	res->action = g_strdup("reject");
	res->reply_de = sep ? g_strndup(t, sep - t) : g_strdup(t);
	res->reply_en = sep ? g_strdup(sep + 3) : NULL;
	res->summary = g_strdup_printf("%s: action=reject class=%s", r->qid, run_level(r));
	run_audit_message(r, "reject", r->cls.reasons);
}

/* run_fail - apply on_error (DECISIONS.md §4, §13): never a crash, never a
 * silent drop; classified content never leaves in clear. Attachments whose
 * classification waited for their offload stream are classified first, so
 * the policy sees the message's real class (a VS marking still rejects). */
void
run_fail(struct run *r, const char *why)
{
	const struct conf *c = r->p->conf;
	struct pipeline_result *res = r->res;

	if (r->t)
		transfer_abort(r->t);
	run_drop_body(res); /* a rewrite that will not be used */
	if (r->rw != NULL) {
		run_classify_rest(r);
		if (run_is_reject(r)) {
			log_warning("%s: %s; the message is rejected by its class", r->qid, why);
			run_reject(r);
			return;
		}
		run_decide(r);
	}
	run_drop_body(res);
	g_ptr_array_set_size(res->hdr_ops, 0);
	/* on_error = accept applies to size-only offloads only (DECISIONS.md §13) */
	switch (c->on_error == CONF_ON_ERROR_ACCEPT && r->classified ? CONF_ON_ERROR_TEMPFAIL : c->on_error) {
	case CONF_ON_ERROR_ACCEPT:
		res->verdict = PIPELINE_ACCEPT;
		res->action = g_strdup("accept-on-error");
		break;
	case CONF_ON_ERROR_REJECT:
		res->verdict = PIPELINE_REJECT;
		res->rcode = "554";
		res->xcode = "5.3.0";
		res->action = g_strdup("reject");
		res->reply_de = g_strdup("Anhaenge konnten nicht sicher ausgelagert werden; Nachricht abgelehnt.");
		res->reply_en = g_strdup("Attachments could not be offloaded securely; message rejected.");
		break;
	default:
		res->verdict = PIPELINE_TEMPFAIL;
		res->rcode = "451";
		res->xcode = "4.3.0";
		res->action = g_strdup("tempfail");
		res->reply_de = g_strdup("Anhaenge koennen derzeit nicht ausgelagert werden; bitte spaeter erneut senden.");
		res->reply_en = g_strdup("Attachments cannot be offloaded right now; please try again later.");
		break;
	}
	log_warning("%s: %s; on_error=%s", r->qid, why, res->action);
	run_audit_message(r, res->action, why);
	res->summary = g_strdup_printf("%s: action=%s reason=\"%s\"", r->qid, res->action, why);
}

void
run_pass(struct run *r, const char *action, const char *why)
{
	r->res->verdict = PIPELINE_ACCEPT;
	r->res->action = g_strdup(action);
	r->res->summary = g_strdup_printf("%s: action=%s%s%s", r->qid, action,
		why ? " reason=" : "", why ? why : "");
	if (why && strcmp(why, "internal") != 0)
		run_audit_message(r, action, why);
	else if (why == NULL)
		run_audit_message(r, action, r->cls.reasons);
}

/* run_label_or_pass - nothing to offload: OFFEN passes byte-identical
 * (DECISIONS.md §13); a higher class gets its headers only */
static bool
run_is_open(const struct run *r)
{
	return r->cls.action == CLASSIFY_PASS || r->cls.level_index <= 0 || strcmp(r->cls.level, "OFFEN") == 0;
}

void
run_label_or_pass(struct run *r)
{
	if (run_is_open(r)) {
		run_pass(r, "pass", NULL);
		return;
	}
	run_headers(r, NULL, NULL);
	r->res->verdict = PIPELINE_ACCEPT;
	r->res->action = g_strdup("label");
	r->res->summary = g_strdup_printf("%s: action=label class=%s", r->qid, r->cls.level);
	run_audit_message(r, "label", r->cls.reasons);
}

/* run_signed_reject - signed_mail = reject for unclassified signed mail
 * with something to offload */
void
run_signed_reject(struct run *r)
{
	struct pipeline_result *res = r->res;

	res->verdict = PIPELINE_REJECT;
	res->rcode = "550";
	res->xcode = "5.7.1";
	res->action = g_strdup("reject");
	res->reply_de = g_strdup("Signierte Nachricht mit Anhaengen, die ausgelagert werden muessten "
		"(das braeche die Signatur); bitte ohne Signatur oder mit kleineren Anhaengen senden.");
	res->reply_en = g_strdup("Signed message with attachments that would have to be offloaded "
		"(breaking the signature); please send it unsigned or with smaller attachments.");
	res->summary = g_strdup_printf("%s: action=reject reason=signed", r->qid);
	run_audit_message(r, "reject", "signed");
}

/* run_limit_reject - max_parts or max_mime_depth broken: a permanent
 * property of the message, so a permanent answer (a retry would meet the
 * same limit for days); the classifier has not seen all of it, so it
 * cannot simply pass either. why is ASCII (rewrite_walk's text). */
void
run_limit_reject(struct run *r, const char *why)
{
	struct pipeline_result *res = r->res;

	res->verdict = PIPELINE_REJECT;
	res->rcode = "554";
	res->xcode = "5.6.0";
	res->action = g_strdup("reject");
	res->reply_de = g_strdup("Nachricht zu komplex fuer die Pruefung (zu viele oder zu tief "
		"verschachtelte MIME-Teile); bitte einfacher aufgebaut senden.");
	res->reply_en = g_strdup_printf("Message too complex to be checked (%s); please send it "
		"with a simpler structure.", why);
	res->summary = g_strdup_printf("%s: action=reject reason=\"%s\"", r->qid, why);
	log_warning("%s: %s; rejected", r->qid, why);
	run_audit_message(r, "reject", why);
}

/* run_signatures_broken - the body changed: a DKIM signature over it no
 * longer verifies and is removed (the organisation's signer runs after us),
 * an opened S/MIME or PGP signature (signed_mail = offload) is broken; both
 * are logged. A Content-Length header (Sun/mbox style, which some mbox
 * readers trust to find the next message) no longer fits and goes too. */
static void
run_signatures_broken(struct run *r)
{
	int n = msg_header_count(r->m, "DKIM-Signature");

	if (msg_header_count(r->m, "Content-Length") > 0)
		hdrops_delete_all(r->res->hdr_ops, r->m, "Content-Length");

	if (n > 0) {
		hdrops_delete_all(r->res->hdr_ops, r->m, "DKIM-Signature");
		log_info("%s: %d DKIM-Signature header%s removed: the body changed", r->qid, n,
			n == 1 ? "" : "s");
	}
	if (r->rw->signed_opened || (r->signed_top && !r->rw->whole_message))
		log_warning("%s: attachments offloaded from signed content (signed_mail = offload): "
			"the signature no longer verifies", r->qid);
}

/* run_offloaded - the result of an offload: headers, summary, audit */
void
run_offloaded(struct run *r)
{
	struct pipeline_result *res = r->res;
	const struct rewrite *rw = r->rw;
	char tn[24] = "";

	if (r->tnef > 0)
		g_snprintf(tn, sizeof tn, " tnef=%u", r->tnef);
	run_headers(r, rw->new_top_ct, rw->new_top_cte);
	run_request_headers(r);
	run_signatures_broken(r);
	res->verdict = PIPELINE_ACCEPT;
	res->action = g_strdup("offload");
	res->nfiles = r->t->files->len;
	/* decoded= counts every decode of attachment content for this message
	 * (classification before the decision + offload streams): with the
	 * single pass it equals the offloaded attachment bytes */
	res->summary = g_strdup_printf("%s: action=offload files=%u bytes=%llu transfer=%s class=%s%s%s%s "
		"decoded=%llu%s", r->qid, r->t->files->len, (unsigned long long)rw->offloaded_bytes, r->t->id,
		r->cls.level, rw->whole_message ? " body=offload-message" : "", r->classified ? " classified" : "",
		r->redone ? " redone" : "", (unsigned long long)(r->pre_decoded + rw->decoded_bytes), tn);
	run_audit_files(r);
	run_audit_message(r, "offload", *r->cls.reasons ? r->cls.reasons : "size");
	archive_hook_enqueue(r->p->conf, r->t, &(struct archive_hook_meta){ "outgoing", r->qid, NULL });
}

/* run_converted - nothing to offload, but winmail.dat became MIME parts (tnef_convert.h): the
 * new body leaves with the Content-Type its top level needs; a class above OFFEN is labelled as
 * in run_label_or_pass */
void
run_converted(struct run *r)
{
	struct pipeline_result *res = r->res;
	bool open = run_is_open(r), req = r->rw->request_link != NULL;
	const char *action = req ? "upload-request" : open ? "pass" : "label";

	if ((req ? rewrite_request(r->rw, &res->body_fd, &res->body_path, &r->err_text) :
	    rewrite_write(r->rw, &res->body_fd, &res->body_path, &r->err_text)) != 0) {
		run_fail(r, r->err_text ? r->err_text : "cannot write the converted body");
		return;
	}
	run_request_headers(r);
	if (open && r->rw->new_top_ct != NULL)
		run_top_headers(r, r->rw->new_top_ct, r->rw->new_top_cte);
	else if (!open)
		run_headers(r, r->rw->new_top_ct, r->rw->new_top_cte);
	run_signatures_broken(r);
	res->verdict = PIPELINE_ACCEPT;
	res->action = g_strdup(action);
	res->summary = g_strdup_printf("%s: action=%s tnef=%u%s%s", r->qid, action, r->tnef, open ? "" : " class=",
		open ? "" : r->cls.level);
	run_audit_message(r, action, req ? "upload-request" : open ? "tnef" : r->cls.reasons);
}
