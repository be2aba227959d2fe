/*
 * scan.c - the [scan] policy (see scan.h): verdict -> action, the SMTP
 * reply texts and the audit events.
 * Memory: the report owns its files' names and details.
 * Thread safety: one report per message.
 */
#include "scan.h"

#include <string.h>

#include "log.h"
#include "pipeline.h"

struct scan_clamd *
scan_begin(const struct conf *c)
{
	if (!c->scan_outgoing)
		return NULL;
	return scan_clamd_begin(c->scan_clamd_socket, (unsigned)c->scan_timeout);
}

static void
scan_file_free(gpointer p)
{
	struct scan_file *f = p;

	g_free(f->name);
	g_free(f->detail);
	g_free(f);
}

/* scan_decide - the action for one verdict under the configured policy */
static enum scan_action
scan_decide(const struct conf *c, enum scan_verdict v, const char **action)
{
	switch (v) {
	case SCAN_CLEAN:
		*action = "pass";
		return SCAN_GO;
	case SCAN_INFECTED:
		*action = strcmp(c->scan_on_infected, "quarantine") == 0 ? "quarantine" : "reject";
		return **action == 'q' ? SCAN_QUARANTINE : SCAN_REJECT;
	case SCAN_UNSCANNABLE:
		*action = strcmp(c->scan_on_unscannable, "accept-marked") == 0 ? "accept-marked" : "reject";
		return **action == 'a' ? SCAN_GO : SCAN_REJECT;
	case SCAN_UNAVAILABLE:
	default:
		*action = strcmp(c->scan_on_unavailable, "accept-marked") == 0 ? "accept-marked" : "tempfail";
		return **action == 'a' ? SCAN_GO : SCAN_TEMPFAIL;
	}
}

enum scan_action
scan_end(const struct conf *c, struct scan_report **rep, struct scan_clamd *s, const char *qid,
	const char *name, uint64_t size)
{
	struct scan_file *f;
	enum scan_action a;

	if (s == NULL)
		return SCAN_GO;
	if (*rep == NULL) {
		*rep = g_new0(struct scan_report, 1);
		(*rep)->files = g_ptr_array_new_with_free_func(scan_file_free);
	}
	f = g_new0(struct scan_file, 1);
	f->name = g_strdup(name);
	f->size = size;
	f->verdict = scan_clamd_finish(s, &f->detail);
	a = scan_decide(c, f->verdict, &f->action);
	g_ptr_array_add((*rep)->files, f);
	if (f->verdict != SCAN_CLEAN)
		log_warning("%s: scan of %s: %s (%s), %s", qid, name, scan_verdict_name(f->verdict),
			f->detail ? f->detail : "", f->action);
	if (a > (*rep)->action) {
		(*rep)->action = a;
		(*rep)->cause = f;
	}
	return a;
}

/* ascii_name - the file name for an SMTP reply: printable ASCII, no quotes, at most 60 */
static char *
ascii_name(const char *s)
{
	GString *o = g_string_new(NULL);

	for (; s != NULL && *s != '\0' && o->len < 60; s++)
		g_string_append_c(o, (*s > 0x20 && *s < 0x7f && *s != '"' && *s != '%') ? *s : '_');
	return g_string_free(o, FALSE);
}

void
scan_reply(const struct scan_report *rep, const char **rcode, const char **xcode, char **reply_de,
	char **reply_en, char **why)
{
	const struct scan_file *f = rep->cause;
	char *name = ascii_name(f ? f->name : "");
	char *sig = ascii_name(f && f->detail ? f->detail : "");

	if (rep->action == SCAN_TEMPFAIL) {
		*rcode = "451";
		*xcode = "4.7.1";
		*reply_de = g_strdup("Virenpruefung derzeit nicht verfuegbar, bitte spaeter erneut senden.");
		*reply_en = g_strdup("Virus scanner unavailable, please try again later.");
	} else if (f != NULL && f->verdict == SCAN_UNSCANNABLE) {
		*rcode = "550";
		*xcode = "5.7.1";
		*reply_de = g_strdup_printf("Anhang \"%s\" ist zu gross fuer die Virenpruefung und wird nicht versendet.", name);
		*reply_en = g_strdup_printf("Attachment \"%s\" is too large to be scanned for viruses and is not sent.", name);
	} else {
		*rcode = "550";
		*xcode = "5.7.1";
		*reply_de = g_strdup_printf("Anhang \"%s\" enthaelt Schadsoftware (%s) und wird nicht versendet.", name, sig);
		*reply_en = g_strdup_printf("Attachment \"%s\" contains malware (%s) and is not sent.", name, sig);
	}
	*why = g_strdup_printf("scan %s: %s", f ? scan_verdict_name(f->verdict) : "", f && f->detail ? f->detail : "");
	g_free(name);
	g_free(sig);
}

void
scan_result(struct pipeline_result *res, const struct scan_report *rep, const char *qid, char **why)
{
	g_free(*why);
	if (rep->action == SCAN_QUARANTINE) {
		res->verdict = PIPELINE_ACCEPT;
		res->quarantine = "offload: malware found in an attachment (see the audit log)";
		res->action = g_strdup("quarantine");
		*why = g_strdup_printf("scan infected: %s", rep->cause && rep->cause->detail ? rep->cause->detail : "");
	} else {
		res->verdict = rep->action == SCAN_TEMPFAIL ? PIPELINE_TEMPFAIL : PIPELINE_REJECT;
		scan_reply(rep, &res->rcode, &res->xcode, &res->reply_de, &res->reply_en, why);
		res->action = g_strdup(rep->action == SCAN_TEMPFAIL ? "tempfail" : "reject");
	}
	res->summary = g_strdup_printf("%s: action=%s reason=\"%s\"", qid, res->action, *why);
}

void
scan_audit(struct audit *a, const struct scan_report *rep, const char *qid, const char *message_id,
	const char *from)
{
	guint i;

	for (i = 0; rep != NULL && i < rep->files->len; i++) {
		const struct scan_file *f = g_ptr_array_index(rep->files, i);
		struct audit_event ev = { 0 };
		char *reasons = g_strdup_printf("%s%s%s", scan_verdict_name(f->verdict),
			f->detail ? ":" : "", f->detail ? f->detail : "");

		ev.event = "scan";
		ev.queue_id = qid;
		ev.message_id = message_id;
		ev.from = from;
		ev.file = f->name;
		ev.size = (int64_t)f->size;
		ev.reasons = reasons;
		ev.action = f->action;
		audit_write(a, &ev);
		g_free(reasons);
	}
}

char *
scan_mark(const struct scan_report *rep)
{
	bool unscannable = false, unavailable = false;
	unsigned n = 0;

	for (guint i = 0; rep != NULL && i < rep->files->len; i++) {
		const struct scan_file *f = g_ptr_array_index(rep->files, i);

		if (f->action == NULL || strcmp(f->action, "accept-marked") != 0)
			continue;
		n++;
		unscannable |= f->verdict == SCAN_UNSCANNABLE;
		unavailable |= f->verdict == SCAN_UNAVAILABLE;
	}
	if (n == 0)
		return NULL;
	return g_strdup_printf(" unscanned; files=%u; reason=%s%s%s", n, unscannable ? "unscannable" : "",
		unscannable && unavailable ? "," : "", unavailable ? "unavailable" : "");
}

void
scan_report_free(struct scan_report *rep)
{
	if (rep == NULL)
		return;
	g_ptr_array_free(rep->files, TRUE);
	g_free(rep);
}
