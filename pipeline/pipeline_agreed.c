/*
 * pipeline_agreed.c - how the password of a password class reaches the
 * recipients (issue 12, automated senders): when every external recipient
 * has an agreed secret (`offloadctl recipient set`, FORMATS.md §6.10), a
 * random X is the password hash and "<id>/k" wraps it per recipient
 * (§6.9): no password is generated or mailed. Otherwise the class's normal
 * rule: a generated password to the sender or to each recipient. A
 * password that nobody could receive (it goes to the sender, the sender is
 * null or no-reply, and [notify] fallback_to is empty) refuses the message
 * at once with a permanent 5.7.1: a retry would meet the same sender.
 */
#include "pipeline_int.h"

#include <string.h>

#include "crypto.h"
#include "log.h"
#include "notify.h"
#include "transfer_agreed.h"

/* agreed_add - the recipient secret of RCPT into ag; 1 added (or already
 * there), 0 none, negative storage error */
static int
agreed_add(struct run *r, struct transfer_agreed *ag, const char *rcpt)
{
	struct transfer_recipient rec;
	int rc = transfer_recipient_get(r->t->st, &r->p->dk, rcpt, &rec);

	if (rc != 1)
		return rc;
	for (unsigned i = 0; i < ag->n; i++)
		if (strcmp(ag->r[i].address, rec.address) == 0) {
			transfer_recipient_clear(&rec);
			return 1;
		}
	if (ag->n >= TRANSFER_AGREED_MAX) {
		transfer_recipient_clear(&rec);
		return 0;
	}
	ag->r[ag->n++] = rec;
	return 1;
}

/* agreed_collect - 1 when every external recipient has an agreed secret
 * (at most TRANSFER_AGREED_MAX wraps; internal recipients with one get a
 * wrap too), ag filled; 0 when not; negative storage error */
static int
agreed_collect(struct run *r, struct transfer_agreed *ag)
{
	const struct conf *c = r->p->conf;
	GPtrArray *rcpts = r->m->env.rcpts;
	unsigned internal_without = 0;
	bool external = false;

	for (guint i = 0; i < rcpts->len; i++) {
		const char *rcpt = g_ptr_array_index(rcpts, i);
		bool in = domain_is_internal(rcpt, c->internal_domains);
		int rc = agreed_add(r, ag, rcpt);

		if (rc < 0)
			return rc;
		external = external || !in;
		if (rc == 0 && !in)
			return 0;
		internal_without += rc == 0;
	}
	if (!external || ag->n == 0)
		return 0;
	if (internal_without > 0)
		log_info("%s: agreed secrets: %u internal recipient%s without one cannot open transfer %s",
			r->qid, internal_without, internal_without == 1 ? "" : "s", r->t->id);
	return 1;
}

/* run_agreed - 1 the transfer uses agreed secrets (t->agreed set), 0 not,
 * -1 the result is set (storage error: on_error) */
static int
run_agreed(struct run *r)
{
	struct transfer_agreed *ag = g_new0(struct transfer_agreed, 1);
	int rc = agreed_collect(r, ag);

	if (rc == 1 && crypto_random(ag->x, sizeof ag->x) != 0)
		rc = STORAGE_ETEMP;
	if (rc != 1) {
		transfer_agreed_free(ag);
		if (rc == 0)
			return 0;
		r->err_text = g_strdup_printf("cannot read the agreed recipient secrets: %s",
			storage_strerror(rc));
		run_fail(r, r->err_text);
		return -1;
	}
	r->t->agreed = ag;
	r->t->kdf_m = TRANSFER_KDF_M_KIB; /* in the clear header; the wraps carry their own */
	r->t->kdf_t = TRANSFER_KDF_T;
	r->t->kdf_p = TRANSFER_KDF_P;
	r->t->info.delivery = TRANSFER_DELIVERY_AGREED;
	log_info("%s: transfer %s opens with the agreed secrets of %u recipient%s; no password mail",
		r->qid, r->t->id, ag->n, ag->n == 1 ? "" : "s");
	return 1;
}

/* run_undeliverable - the password would go nowhere: refuse now, permanently */
static void
run_undeliverable(struct run *r)
{
	struct pipeline_result *res = r->res;
	static const char why[] = "password-undeliverable";

	transfer_abort(r->t);
	res->verdict = PIPELINE_REJECT;
	res->rcode = "550";
	res->xcode = "5.7.1";
	res->action = g_strdup("reject");
	res->reply_de = g_strdup("Die Anhaenge brauchen ein Kennwort, das niemand erhalten kann: der "
		"Absender ist leer oder eine No-Reply-Adresse und [notify] fallback_to ist nicht gesetzt. "
		"Bitte von einer persoenlichen Adresse senden oder Kennwoerter mit den Empfaengern "
		"vereinbaren (offloadctl recipient set).");
	res->reply_en = g_strdup("The attachments need a password that nobody could receive: the "
		"sender is null or a no-reply address and [notify] fallback_to is not set. Send from a "
		"personal address, or agree passwords with the recipients (offloadctl recipient set).");
	res->summary = g_strdup_printf("%s: action=reject reason=%s class=%s", r->qid, why, r->cls.level);
	log_warning("%s: class %s needs a password for the sender, but the sender <%s> is null or "
		"no-reply and [notify] fallback_to is empty; rejected (5.7.1)", r->qid, r->cls.level,
		r->m->env.sender ? r->m->env.sender : "");
	run_audit_message(r, "reject", why);
}

bool
run_password_route(struct run *r)
{
	const struct conf *c = r->p->conf;
	const bool to_sender = notify_password_to(c, r->cls.level) == NOTIFY_PASSWORD_TO_SENDER;
	int ag = run_agreed(r);

	if (ag != 0)
		return ag > 0;
	if (to_sender && notify_sender_address(c, r->m->env.sender) == NULL) {
		run_undeliverable(r);
		return false;
	}
	if (transfer_set_password(r->t) == NULL) {
		run_fail(r, "cannot generate the transfer password");
		return false;
	}
	r->t->info.delivery = to_sender ? TRANSFER_DELIVERY_PHONE : TRANSFER_DELIVERY_SEPARATE_MAIL;
	return true;
}
