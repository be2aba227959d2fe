/*
 * pipeline.c - end-of-message processing (see pipeline.h): direction and
 * trust, the offload decision per leaf part, the transfer, the audit trail
 * and the failure policy. The MIME tree surgery lives in rewrite.c.
 * Memory: GMime parses with a persistent stream, so part contents stay in
 * the spool file; every copy of attachment data is streamed.
 */
#include "pipeline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gmime/gmime.h>

#include "classify.h"
#include "notify.h"
#include "storage_keyid.h"
#include "crypto.h"
#include "hdrops.h"
#include "log.h"
#include "rewrite.h"
#include "transfer.h"
#include "transfer_digest.h"
#include "transfer_password.h"

/* pipeline_nets - trusted_networks as bytes + prefix, parsed by GInetAddressMask
 * once (conf.c has validated them; an entry it cannot parse never matches) */
GArray *
pipeline_nets(char *const *nets)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct pipeline_net));

	for (; nets && *nets; nets++) {
		GInetAddressMask *mask = g_inet_address_mask_new_from_string(*nets, NULL);
		struct pipeline_net n = { 0 };
		GInetAddress *ma;

		if (mask == NULL)
			continue;
		ma = g_inet_address_mask_get_address(mask);
		n.family = g_inet_address_get_family(ma) == G_SOCKET_FAMILY_IPV6 ? AF_INET6 : AF_INET;
		memcpy(n.addr, g_inet_address_to_bytes(ma), g_inet_address_get_native_size(ma));
		n.len = g_inet_address_mask_get_length(mask);
		g_array_append_val(a, n);
		g_object_unref(mask);
	}
	return a;
}

int
pipeline_init(struct pipeline *p, const struct conf *conf, GError **err)
{
	GError *st_err = NULL;

	memset(p, 0, sizeof *p);
	p->conf = conf;
	if (g_mkdir_with_parents(conf->spool_dir, 0700) != 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			"spool_dir %s: %s", conf->spool_dir, g_strerror(errno));
		return -1;
	}
	if (keys_load(conf->deployment_key_file, &p->dk, err) != 0)
		return -1;
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
	if (res->body_path) {
		unlink(res->body_path);
		g_free(res->body_path);
	}
	if (res->hdr_ops)
		g_ptr_array_free(res->hdr_ops, TRUE);
	g_free(res->reply_de);
	g_free(res->reply_en);
	g_free(res->summary);
	g_free(res->action);
	memset(res, 0, sizeof *res);
}

/* ---- direction and trust (DECISIONS.md §4, §13) ------------------------ */

/* pipeline_nets_match - like g_inet_address_mask_matches() over the list:
 * same family and the first len bits equal (no GObject per message) */
bool
pipeline_nets_match(const GArray *nets, const char *addr)
{
	guint8 b[16];
	int family;
	guint i;

	if (addr == NULL || nets == NULL)
		return false;
	if (inet_pton(AF_INET, addr, b) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, b) == 1)
		family = AF_INET6;
	else
		return false;
	for (i = 0; i < nets->len; i++) {
		const struct pipeline_net *n = &g_array_index(nets, struct pipeline_net, i);
		guint full = n->len / 8, rest = n->len % 8;

		if (n->family != family || memcmp(b, n->addr, full) != 0)
			continue;
		if (rest == 0 || ((b[full] ^ n->addr[full]) & (guint8)(0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

/* domain_is_internal - compare lower-cased IDNA A-labels; ".x" = subdomains */
static bool
domain_is_internal(const char *rcpt, char *const *internal)
{
	const char *at = strrchr(rcpt, '@');
	char *ascii, *dom;
	bool hit = false;

	if (internal == NULL || at == NULL)
		return false;
	ascii = g_hostname_to_ascii(at + 1);
	dom = g_ascii_strdown(ascii ? ascii : at + 1, -1);
	for (; *internal && !hit; internal++) {
		const char *d = *internal;

		if (d[0] == '.') {
			size_t dl = strlen(dom), il = strlen(d);

			hit = dl > il && strcmp(dom + dl - il, d) == 0;
		} else {
			hit = strcmp(dom, d) == 0;
		}
	}
	g_free(ascii);
	g_free(dom);
	return hit;
}

static bool
msg_is_trusted(const struct pipeline *p, const struct msg *m)
{
	const struct conf *c = p->conf;
	char *const *d;

	if (m->env.local_submission || (m->env.auth_authen && *m->env.auth_authen))
		return true;
	for (d = c->trusted_daemons; d && *d && m->env.daemon_name; d++)
		if (strcmp(*d, m->env.daemon_name) == 0)
			return true;
	return pipeline_nets_match(p->trusted, m->env.client_addr);
}

static bool
msg_has_external_rcpt(const struct conf *c, const struct msg *m)
{
	guint i;

	for (i = 0; i < m->env.rcpts->len; i++)
		if (!domain_is_internal(g_ptr_array_index(m->env.rcpts, i), c->internal_domains))
			return true;
	return false;
}

/* ---- helpers -------------------------------------------------------- */

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

static char *
rfc3339(int64_t t)
{
	GDateTime *d = g_date_time_new_from_unix_utc(t);
	char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%SZ");

	g_date_time_unref(d);
	return s;
}

struct run {
	struct pipeline *p;
	struct msg *m;
	struct pipeline_result *res;
	const char *qid;
	char *message_id;
	char *rcpts;
	struct classify_result cls;
	struct transfer *t;
	GMimeMessage *message;
	bool classified; /* the class demands offloading: never out in clear */
	int body_in_state;  /* 0 not computed, 1 body_in valid, -1 unreadable */
	unsigned char body_in[TRANSFER_BODY_DIGEST_LEN];  /* digest of the spooled body */
	unsigned char body_out[TRANSFER_BODY_DIGEST_LEN]; /* digest of the new body */
	bool outgoing;
	bool signed_top; /* signed or encrypted top level (REWRITE_SIGNED) */
	struct rewrite *rw; /* once the leaves are known */
	uint64_t pre_decoded; /* attachment bytes decoded by classification before the decision */
};

static bool
run_is_reject(const struct run *r)
{
	return r->cls.vs || r->cls.action == CLASSIFY_REJECT || r->cls.body_action == CLASSIFY_BODY_REJECT;
}

enum run_change {
	RUN_SAME,  /* the decision in rw stands */
	RUN_MORE,  /* force_all became true: the attachments not stored yet go too */
	RUN_REDO,  /* whole_message changed (or force_all became false): start over */
};

/* run_decide - what the class decides, into rw; how that differs from
 * the decision that was in rw */
static enum run_change
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
static void
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
static bool
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

/* run_level - the class the auditor sees: a VS marking is its own rule
 * above the levels (the level index may still say OFFEN) */
static const char *
run_level(const struct run *r)
{
	return r->cls.vs ? "VS" : r->cls.level;
}

static void
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

/* run_reject - the class rejects the message (VS marking, reject policy):
 * the same 550 text wherever the marking was found; whatever was stored
 * for the message is deleted */
static void
run_reject(struct run *r)
{
	struct pipeline_result *res = r->res;
	const char *t = classify_reject_text(), *sep = strstr(t, " / ");

	if (r->t)
		transfer_abort(r->t);
	if (res->body_path)
		unlink(res->body_path);
	g_clear_pointer(&res->body_path, g_free);
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
static void
run_fail(struct run *r, const char *why)
{
	const struct conf *c = r->p->conf;
	struct pipeline_result *res = r->res;

	if (r->t)
		transfer_abort(r->t);
	if (res->body_path)
		unlink(res->body_path); /* a rewrite that will not be used */
	g_clear_pointer(&res->body_path, g_free);
	if (r->rw != NULL) {
		run_classify_rest(r);
		if (run_is_reject(r)) {
			log_warning("%s: %s; the message is rejected by its class", r->qid, why);
			run_reject(r);
			return;
		}
		run_decide(r);
	}
	g_clear_pointer(&res->body_path, g_free);
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

static void
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

/* run_body_digest - the body digest (FORMATS.md §3.1) of the spooled
 * message, computed once and only when a header of ours needs it; NULL
 * when the spool cannot be read (then no header of ours verifies) */
static const unsigned char *
run_body_digest(struct run *r)
{
	const GByteArray *mem = msg_spool_mem(r->m);

	if (r->body_in_state == 0 && mem != NULL) {
		/* a small message spooled in memory (msg.h) */
		struct body_digest d;

		body_digest_init(&d);
		if (mem->len > r->m->body_offset)
			body_digest_update(&d, mem->data + r->m->body_offset, mem->len - r->m->body_offset);
		body_digest_final(&d, r->body_in);
		r->body_in_state = 1;
	} else if (r->body_in_state == 0) {
		if (body_digest_file(r->m->spool_path, r->m->body_offset, r->body_in) == 0) {
			r->body_in_state = 1;
		} else {
			log_warning("%s: cannot read the spool %s for the body digest: %s", r->qid,
				r->m->spool_path, g_strerror(errno));
			r->body_in_state = -1;
		}
	}
	return r->body_in_state > 0 ? r->body_in : NULL;
}

/* already_offloaded - a valid X-Offload-Transfer of ours (any gateway of
 * this deployment) over this Message-ID and this very body means the
 * message was handled before; copied into other content it does not verify */
static bool
already_offloaded(struct run *r)
{
	int i, n = msg_header_count(r->m, "X-Offload-Transfer");

	for (i = 0; i < n; i++) {
		char *v = msg_strip_value(msg_header_get(r->m, "X-Offload-Transfer", i));
		char *semi = strchr(v, ';'), *mac = strstr(v, "mac=");
		bool ok = false;

		if (semi && mac) {
			char *id = g_strndup(v, semi - v);

			g_strstrip(id);
			ok = transfer_header_mac_check(&r->p->dk, r->message_id, id, run_body_digest(r),
				mac + 4);
			g_free(id);
		}
		g_free(v);
		if (ok)
			return true;
	}
	return false;
}

/* is_our_notice - our own confirmation or password mail (its Message-ID and
 * its body as built) passes untouched */
static bool
is_our_notice(struct run *r)
{
	int i, n = msg_header_count(r->m, "X-Offload-Notice");

	for (i = 0; i < n; i++) {
		char *v = msg_strip_value(msg_header_get(r->m, "X-Offload-Notice", i));
		bool ok = r->message_id && strstr(v, "mac=") &&
			notify_is_ours(&r->p->dk, r->message_id, run_body_digest(r), v);

		g_free(v);
		if (ok)
			return true;
	}
	return false;
}

static GMimeMessage *
run_parse(struct run *r)
{
	GMimeStream *fs;
	GMimeParser *parser;
	GMimeMessage *message;
	const GByteArray *mem = msg_spool_mem(r->m);

	if (mem != NULL) {
		/* a small message is parsed where it is; r->m outlives r->message */
		fs = g_mime_stream_mem_new_with_byte_array((GByteArray *)mem);
		g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(fs), FALSE);
	} else {
		int fd = open(r->m->spool_path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			log_error("%s: cannot reopen spool %s: %s", r->qid, r->m->spool_path, g_strerror(errno));
			return NULL;
		}
		fs = g_mime_stream_fs_new(fd);
	}
	parser = g_mime_parser_new_with_stream(fs);
	g_mime_parser_set_persist_stream(parser, TRUE);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	message = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(fs);
	return message;
}

static void
run_headers(struct run *r, const char *new_ct, const char *new_cte)
{
	const struct conf *c = r->p->conf;
	GPtrArray *ops = r->res->hdr_ops;
	char *expires = r->t ? rfc3339(r->t->expires) : NULL;
	char *mac = r->t ? transfer_header_mac(&r->p->dk, r->message_id, r->t->id, r->body_out) : NULL;
	char *v;

	if (new_ct) {
		/* the top-level structure changed (DECISIONS.md §4) */
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
	}
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
	/* RFC 2156 Sensitivity for VERTRAULICH and above, only when absent */
	if (r->cls.level_index >= r->p->confidential_index && r->p->confidential_index >= 0 &&
	    msg_header_count(r->m, "Sensitivity") == 0)
		hdrops_add(ops, "Sensitivity", " Company-Confidential");
	g_free(expires);
	g_free(mac);
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

/* pipeline_storage - the store, opened now if it was unavailable before */
static struct storage *
pipeline_storage(struct pipeline *p)
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

/* run_label_or_pass - nothing to offload: OFFEN passes byte-identical
 * (DECISIONS.md §13); a higher class gets its headers only */
static void
run_label_or_pass(struct run *r)
{
	if (r->cls.action == CLASSIFY_PASS || r->cls.level_index <= 0 ||
	    strcmp(r->cls.level, "OFFEN") == 0) {
		run_pass(r, "pass", NULL);
		return;
	}
	run_headers(r, NULL, NULL);
	r->res->verdict = PIPELINE_ACCEPT;
	r->res->action = g_strdup("label");
	r->res->summary = g_strdup_printf("%s: action=label class=%s", r->qid, r->cls.level);
	run_audit_message(r, "label", r->cls.reasons);
}

/* upload_whole_message - body_action offload-message: the original message
 * (without Bcc) becomes the one offloaded file */
static int
upload_whole_message(struct run *r, struct rewrite *rw, char **err)
{
	const char *subj = g_mime_message_get_subject(r->message);
	char *name = g_strdup_printf("%.80s.eml", subj && *subj ? subj : "message");
	struct transfer_upload *u;
	const char *path;
	char *buf = NULL;
	FILE *f = NULL;
	size_t n;
	guint i;
	int e = 0, rc = -1;

	g_strdelimit(name, "/\\\r\n\t", '_');
	u = transfer_upload_begin(r->t, name, "message/rfc822", &e);
	if (u == NULL) {
		*err = g_strdup_printf("cannot store the message: %s", storage_strerror(e));
		goto out;
	}
	for (i = 0; i < r->m->headers->len && e == 0; i++) {
		const struct msg_header *h = g_ptr_array_index(r->m->headers, i);
		char *line;

		if (g_ascii_strcasecmp(h->name, "Bcc") == 0)
			continue;
		line = g_strdup_printf("%s:%s\r\n", h->name, h->value);
		e = transfer_upload_write(u, line, strlen(line));
		g_free(line);
	}
	if (e == 0)
		e = transfer_upload_write(u, "\r\n", 2);
	if (e == 0 && (path = msg_spool_file(r->m)) != NULL)
		f = fopen(path, "rb");
	if (e != 0 || f == NULL || fseeko(f, (off_t)r->m->body_offset, SEEK_SET) != 0) {
		*err = g_strdup(e ? "cannot store the message" : "cannot reopen the spool");
		goto out;
	}
	buf = g_malloc(256 * 1024);
	while ((n = fread(buf, 1, 256 * 1024, f)) > 0) {
		e = transfer_upload_write(u, buf, n);
		if (e != 0) {
			*err = g_strdup_printf("cannot store the message: %s", storage_strerror(e));
			goto out;
		}
	}
	rw->offloaded_bytes += transfer_upload_size(u);
	e = transfer_upload_commit(u);
	u = NULL;
	if (e != 0) {
		*err = g_strdup_printf("cannot store the message: %s", storage_strerror(e));
		goto out;
	}
	rc = 0;
out:
	transfer_upload_abort(u);
	if (f)
		fclose(f);
	g_free(buf);
	g_free(name);
	return rc;
}

/* run_notify - the sender's confirmation and, per policy, the password
 * mails; a password nobody receives makes the transfer useless: fail */
static int
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
	rc = notify_send(&j, &err);
	crypto_free_string(revoke); /* holds the revoke secret */
	if (rc != 0) {
		char *why = g_strdup_printf("password not delivered: %s", err);

		run_fail(r, why);
		g_free(why);
		g_free(err);
		return -1;
	}
	return 0;
}

void
pipeline_run(struct pipeline *p, struct msg *m, struct pipeline_result *res)
{
	const struct conf *c = p->conf;
	struct run r = { 0 };
	struct rewrite rw = { 0 };
	bool outgoing;
	char *link = NULL, *err_text = NULL;
	bool redone = false;
	enum run_change ch;
	unsigned round;
	int rc, scan_rc;

	memset(res, 0, sizeof *res);
	res->hdr_ops = hdrops_new();
	r.p = p;
	r.m = m;
	r.res = res;
	r.qid = m->env.queue_id ? m->env.queue_id : "NOQUEUE";
	r.message_id = msg_header_get(m, "Message-ID", 0) ?
		msg_strip_value(msg_header_get(m, "Message-ID", 0)) : NULL;
	r.rcpts = join_rcpts(m);

	outgoing = msg_is_trusted(p, m) && msg_has_external_rcpt(c, m);
	classify_result_init(&r.cls);
	classify_message(outgoing, &r.cls);
	if (m->too_big) {
		run_fail(&r, "message larger than max_message_size");
		goto out;
	}
	if (is_our_notice(&r)) {
		run_pass(&r, "pass", "notice");
		goto out;
	}
	if (!outgoing && !c->rewrite_internal) {
		run_pass(&r, "pass", "internal");
		goto out;
	}
	if (already_offloaded(&r)) {
		run_pass(&r, "pass", "already-offloaded");
		goto out;
	}
	r.message = run_parse(&r);
	if (r.message == NULL || g_mime_message_get_mime_part(r.message) == NULL) {
		run_pass(&r, "pass", r.message ? "no-body" : "unparsable");
		goto out;
	}
	/* the leaves first (no decision yet), then classification (DESIGN.md
	 * §5): labels, body text, every part, bounded. Attachments offloaded by
	 * size (rewrite_defer, the one size rule) are only recorded here: they
	 * are classified in their offload stream, which decodes them anyway
	 * (single pass). Everything else is classified before the decision. */
	rw.conf = c;
	rw.qid = r.qid;
	rw.message = r.message;
	rw.spool_dir = c->spool_dir;
	rw.cls_ctx = p->cls;
	rw.cls = &r.cls;
	scan_rc = rewrite_scan(&rw, &err_text);
	r.rw = &rw;
	r.outgoing = outgoing;
	r.signed_top = scan_rc == REWRITE_SIGNED;
	classify_result_clear(&r.cls);
	classify_result_init(&r.cls);
	classify_message_gmime_defer(p->cls, r.message, outgoing,
		scan_rc == REWRITE_OK ? rewrite_defer : NULL, &rw, &r.cls);
	r.pre_decoded = r.cls.decoded;
	if (run_is_reject(&r)) {
		run_reject(&r);
		goto out;
	}
	run_decide(&r);
	if (scan_rc == REWRITE_SIGNED) {
		if (!r.classified && c->signed_mail == CONF_SIGNED_REJECT) {
			res->verdict = PIPELINE_REJECT;
			res->rcode = "550";
			res->xcode = "5.7.1";
			res->action = g_strdup("reject");
			res->reply_de = g_strdup("Signierte/verschluesselte Nachricht mit grossen Anhaengen wird nicht versendet.");
			res->reply_en = g_strdup("Signed or encrypted message with large attachments is refused by policy.");
			res->summary = g_strdup_printf("%s: action=reject reason=signed", r.qid);
			run_audit_message(&r, "reject", "signed");
			goto out;
		} else if (!r.classified) {
			run_pass(&r, "skip-signed", "signed");
			goto out;
		}
	} else if (scan_rc == REWRITE_LIMIT) {
		run_fail(&r, err_text);
		goto out;
	}
	/* nothing deferred here: a deferred attachment is work */
	if (!rw.whole_message && !rw.force_all && !rewrite_has_work(&rw, m->size)) {
		run_label_or_pass(&r);
		goto out;
	}

	if (pipeline_storage(p) == NULL) {
		run_fail(&r, "storage unavailable");
		goto out;
	}
	rw.deadline = g_get_monotonic_time() + (gint64)c->eom_timeout * G_USEC_PER_SEC;
	rw.stop = run_stop;
	rw.stop_arg = &r;
	/* Each round stores with the decision of the class known so far. A
	 * streamed attachment can raise the class. When the new class asks for
	 * every attachment (force_all), the ones not stored yet are added to
	 * the same transfer. When it changes whole_message (body_action
	 * offload-message), the transfer is aborted (its objects deleted) and
	 * redone with the new class. A reject deletes the transfer. The class
	 * only rises and a redo round streams no attachment a previous round
	 * classified, so this ends; the bound is a safety net. */
	for (round = 0;; round++) {
		bool force_before;

		if (rw.whole_message && classify_pending_count(&r.cls) > 0) {
			/* offload-message stores the raw message: no stream decodes
			 * the deferred attachments, they are classified first */
			run_classify_rest(&r);
			if (run_is_reject(&r)) {
				run_reject(&r);
				goto out;
			}
			run_decide(&r);
		}
		if (r.t == NULL) {
			const char *subj = g_mime_message_get_subject(r.message);
			guint i;

			r.t = transfer_new(p->st, (int64_t)time(NULL),
				r.cls.retention ? r.cls.retention : c->retention);
			if (r.t == NULL) {
				run_fail(&r, "cannot create transfer id");
				goto out;
			}
			r.t->sender = g_strdup(m->env.sender);
			r.t->message_id = g_strdup(r.message_id);
			r.t->subject = g_strdup(subj ? subj : "");
			for (i = 0; i < m->env.rcpts->len; i++)
				g_ptr_array_add(r.t->rcpts, g_strdup(g_ptr_array_index(m->env.rcpts, i)));
		}
		rw.t = r.t;
		force_before = rw.force_all;
		rc = rw.whole_message ? upload_whole_message(&r, &rw, &err_text) :
			rewrite_offload(&rw, m->size, &err_text);
		if (rc != 0 && rc != REWRITE_REDO) {
			run_fail(&r, err_text ? err_text : "storage error");
			goto out;
		}
		/* the final class: parts classified in the stream are in r.cls;
		 * parts no stream read (stopped early) are classified now unless
		 * the next round streams them */
		if (rc != REWRITE_REDO)
			run_classify_rest(&r);
		else
			classify_finish(p->cls, &r.cls, outgoing);
		if (run_is_reject(&r)) {
			run_reject(&r);
			goto out;
		}
		ch = run_decide(&r);
		if (round >= 8) {
			run_fail(&r, "classification keeps changing the decision");
			goto out;
		}
		if (rc != REWRITE_REDO && ch != RUN_REDO) {
			if (!rw.whole_message && (ch == RUN_MORE || (rw.force_all && !force_before)))
				continue; /* add the attachments passed over to this transfer */
			break;
		}
		log_info("%s: class %s found while storing the attachments changes the decision; "
			"transfer %s aborted and redone", r.qid, r.cls.level, r.t->id);
		transfer_abort(r.t);
		transfer_free(r.t);
		r.t = rw.t = NULL;
		rewrite_reset(&rw);
		redone = true;
	}
	if (r.t->files->len == 0) {
		transfer_free(r.t);
		r.t = NULL;
		run_label_or_pass(&r);
		goto out;
	}
	/* the manifest is written last: class, retention and password follow
	 * the final class, also when a streamed attachment raised it */
	g_free(r.t->class_);
	r.t->class_ = g_strdup(r.cls.level);
	r.t->expires = r.t->created + (int64_t)(r.cls.retention ? r.cls.retention : c->retention);
	r.t->max_expires = r.t->created + (int64_t)(r.cls.max_retention ? r.cls.max_retention : c->max_retention);
	if (r.cls.password && transfer_set_password(r.t) == NULL) {
		run_fail(&r, "cannot generate the transfer password");
		goto out;
	}
	rc = transfer_commit(r.t, &p->dk);
	if (rc != STORAGE_OK) {
		err_text = g_strdup_printf("cannot store manifest: %s", storage_strerror(rc));
		run_fail(&r, err_text);
		goto out;
	}
	link = transfer_link(r.t, c->portal_url);
	rc = rewrite_apply(&rw, link, &res->body_path, &err_text);
	if (rc != 0) {
		run_fail(&r, err_text ? err_text : "cannot rewrite message");
		goto out;
	}
	/* X-Offload-Transfer binds the body as it leaves (FORMATS.md §3.1) */
	if (body_digest_file(res->body_path, 0, r.body_out) != 0) {
		run_fail(&r, "cannot read the new body");
		goto out;
	}
	if (run_notify(&r) != 0)
		goto out;
	run_headers(&r, rw.new_top_ct, rw.new_top_cte);
	res->verdict = PIPELINE_ACCEPT;
	res->action = g_strdup("offload");
	res->nfiles = r.t->files->len;
	/* decoded= counts every decode of attachment content for this message
	 * (classification before the decision + offload streams): with the
	 * single pass it equals the offloaded attachment bytes */
	res->summary = g_strdup_printf("%s: action=offload files=%u bytes=%llu transfer=%s class=%s%s%s%s "
		"decoded=%llu", r.qid, r.t->files->len, (unsigned long long)rw.offloaded_bytes, r.t->id,
		r.cls.level, rw.whole_message ? " body=offload-message" : "", r.classified ? " classified" : "",
		redone ? " redone" : "", (unsigned long long)(r.pre_decoded + rw.decoded_bytes));
	run_audit_files(&r);
	run_audit_message(&r, "offload", *r.cls.reasons ? r.cls.reasons : "size");
out:
	rewrite_clear(&rw);
	if (r.message)
		g_object_unref(r.message);
	transfer_free(r.t);
	classify_result_clear(&r.cls);
	crypto_free_string(link); /* holds the link secret */
	g_free(err_text);
	g_free(r.message_id);
	g_free(r.rcpts);
}
