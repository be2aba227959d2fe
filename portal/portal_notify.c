/*
 * portal_notify.c - the sender's mails that the portal sends (issue 12):
 * a download receipt when a download counts ([notify] receipts of the
 * transfer's class, recorded in its notify object "<id>/n", FORMATS.md
 * §6.7; "first" = once per file across nodes through the once marker
 * "<id>/oreceipt<n>", §6.8) and the notice that a transfer's password limit
 * tripped (once, "<id>/obruteforce"). The mail is submitted on a detached
 * thread, so a slow sendmail never holds a connection thread; a failed mail
 * releases its marker, so a later download may send it.
 * Memory: each job owns its strings. Threads: one job per thread.
 */
#include <string.h>
#include <glib.h>

#include "audit.h"
#include "log.h"
#include "notify_lifecycle.h"
#include "portal_int.h"
#include "transfer_notify.h"

enum job_kind { JOB_RECEIPT, JOB_BRUTEFORCE };

struct job {
	struct portal *p;
	enum job_kind kind;
	char id[ENVELOPE_ID_TEXT_LEN + 1];
	uint32_t index;  /* PORTAL_TICKET_ALL = the ZIP of nfiles files */
	uint32_t nfiles;
	char *name;      /* the file's name, "" for the ZIP */
	char *client;
	int64_t when;
};

static void
job_audit(struct job *j, const char *action, const char *reason)
{
	struct audit_event ev = { 0 };

	ev.event = "notify";
	ev.size = -1;
	ev.action = action;
	ev.reasons = reason;
	ev.transfer = j->id;
	ev.file = j->kind == JOB_RECEIPT && *j->name ? j->name : NULL;
	ev.client = j->client;
	audit_write(j->p->audit, &ev);
}

/* job_claim_receipts - receipts = first: the markers of the file (or of
 * every file of the ZIP); TRUE when at least one was new */
static gboolean
job_claim_receipts(struct job *j, GPtrArray *claimed)
{
	uint32_t i, from = j->index == PORTAL_TICKET_ALL ? 0 : j->index;
	uint32_t to = j->index == PORTAL_TICKET_ALL ? j->nfiles : j->index + 1;

	for (i = from; i < to; i++) {
		char *ev = g_strdup_printf("receipt%u", i);
		int r = transfer_once_claim(j->p->st, &j->p->dk, j->id, ev, j->when);

		if (r == 1)
			g_ptr_array_add(claimed, ev);
		else
			g_free(ev);
		if (r < 0)
			log_warning("portal: transfer %s: receipt marker: %s", j->id, storage_strerror(r));
	}
	return claimed->len > 0;
}

static void
job_receipt(struct job *j, const struct transfer_notify *n)
{
	GPtrArray *claimed = g_ptr_array_new_with_free_func(g_free);
	char *net = notify_client_network(j->p->c, j->client), *err = NULL;
	const char *file = *j->name ? j->name : "alle Dateien / all files (.zip)";

	if (n->receipts == TRANSFER_RECEIPTS_NONE ||
	    (n->receipts == TRANSFER_RECEIPTS_FIRST && !job_claim_receipts(j, claimed)))
		goto out;
	if (notify_receipt_send(j->p->c, &j->p->dk, j->id, n->to, file, j->when, net, &err) != 0) {
		log_warning("portal: transfer %s: receipt not sent: %s", j->id, err);
		job_audit(j, "receipt-failed", err);
		for (guint i = 0; i < claimed->len; i++)
			transfer_once_release(j->p->st, j->id, g_ptr_array_index(claimed, i));
		goto out;
	}
	log_info("portal: transfer %s: download receipt sent", j->id);
	job_audit(j, "receipt", transfer_receipts_name(n->receipts));
out:
	g_free(err);
	g_free(net);
	g_ptr_array_free(claimed, TRUE);
}

static void
job_bruteforce(struct job *j, const struct transfer_notify *n)
{
	char *net = notify_client_network(j->p->c, j->client), *err = NULL;
	int r = transfer_once_claim(j->p->st, &j->p->dk, j->id, "bruteforce", j->when);

	if (r < 0)
		log_warning("portal: transfer %s: brute-force marker: %s", j->id, storage_strerror(r));
	if (r != 1)
		goto out;
	if (notify_bruteforce_send(j->p->c, &j->p->dk, j->id, n->to, j->when, net, &err) != 0) {
		log_warning("portal: transfer %s: brute-force notice not sent: %s", j->id, err);
		transfer_once_release(j->p->st, j->id, "bruteforce");
		goto out;
	}
	log_info("portal: transfer %s: password limit notice sent to the sender", j->id);
	job_audit(j, "bruteforce", NULL);
out:
	g_free(err);
	g_free(net);
}

static gpointer
job_main(gpointer arg)
{
	struct job *j = arg;
	struct transfer_notify n;
	int r = transfer_notify_read(j->p->st, &j->p->dk, j->id, &n);

	if (r < 0)
		log_warning("portal: transfer %s: notify object: %s", j->id, storage_strerror(r));
	if (r == 1 && j->kind == JOB_RECEIPT)
		job_receipt(j, &n);
	else if (r == 1)
		job_bruteforce(j, &n);
	transfer_notify_clear(&n);
	g_free(j->name);
	g_free(j->client);
	g_free(j);
	return NULL;
}

static void
job_start(struct job *j)
{
	GError *err = NULL;
	GThread *th = g_thread_try_new("notify", job_main, j, &err);

	if (th == NULL) {
		log_warning("portal: transfer %s: no thread for the sender's mail: %s", j->id, err->message);
		g_error_free(err);
		job_main(j);
		return;
	}
	g_thread_unref(th);
}

void
portal_notify_download(struct portal *p, const char *id, uint32_t index, uint32_t nfiles,
	const char *name, const char *client)
{
	struct job *j = g_new0(struct job, 1);

	j->p = p;
	j->kind = JOB_RECEIPT;
	g_strlcpy(j->id, id, sizeof j->id);
	j->index = index;
	j->nfiles = nfiles;
	j->name = g_strdup(name ? name : "");
	j->client = g_strdup(client);
	j->when = portal_now();
	job_start(j);
}

void
portal_notify_bruteforce(struct portal *p, const char *id, const char *client)
{
	struct job *j = g_new0(struct job, 1);

	j->p = p;
	j->kind = JOB_BRUTEFORCE;
	g_strlcpy(j->id, id, sizeof j->id);
	j->name = g_strdup("");
	j->client = g_strdup(client);
	j->when = portal_now();
	job_start(j);
}
