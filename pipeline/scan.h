/*
 * scan.h - [scan] outgoing: the policy around the clamd client
 * (scan_clamd.h). Each offloaded attachment is streamed to clamd in its
 * offload pass, before encryption; the verdict decides with on_infected,
 * on_unavailable and on_unscannable. The per-message report collects one
 * line per scanned file for the audit log and the SMTP reply.
 * One struct scan_report per message and thread.
 */
#ifndef OFFLOAD_SCAN_H
#define OFFLOAD_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "audit.h"
#include "conf.h"
#include "scan_clamd.h"

enum scan_action {
	SCAN_GO = 0,         /* clean, or accept-marked: offload it */
	SCAN_REJECT,         /* 5xx */
	SCAN_QUARANTINE,     /* the MTA holds the message unchanged */
	SCAN_TEMPFAIL,       /* 4xx */
};

struct scan_file {
	char *name;
	uint64_t size;
	enum scan_verdict verdict;
	char *detail;        /* signature or reason, NULL when clean */
	const char *action;  /* pass | accept-marked | reject | quarantine | tempfail */
};

struct scan_report {
	GPtrArray *files;    /* struct scan_file * */
	enum scan_action action; /* the strongest so far */
	struct scan_file *cause; /* the file that decided it (borrowed from files) */
};

/* scan_begin - a clamd stream for one attachment when [scan] outgoing is on, else NULL */
struct scan_clamd *scan_begin(const struct conf *c);
/* scan_end - finish the stream, record the file, apply the policy; SCAN_GO or what the
 * message must get. *rep is created on first use. s NULL: SCAN_GO. */
enum scan_action scan_end(const struct conf *c, struct scan_report **rep, struct scan_clamd *s,
	const char *qid, const char *name, uint64_t size);
/* scan_reply - the SMTP texts for rep->action (ASCII, g_malloc'ed) and the codes */
void scan_reply(const struct scan_report *rep, const char **rcode, const char **xcode,
	char **reply_de, char **reply_en, char **why);
struct pipeline_result;
/* scan_result - fill res (verdict, SMTP codes and texts, action, summary) for a message that
 * rep->action stops; *why (g_malloc'ed) is the audit reason */
void scan_result(struct pipeline_result *res, const struct scan_report *rep, const char *qid,
	char **why);
/* scan_audit - one "scan" audit event per scanned file; NULL rep ok */
void scan_audit(struct audit *a, const struct scan_report *rep, const char *qid,
	const char *message_id, const char *from);
/* scan_mark - the value of X-Offload-Scan (FORMATS.md §3.7) when files were
 * accepted unscanned (accept-marked): " unscanned; files=N; reason=..."
 * (g_malloc'ed), else NULL; NULL rep ok */
char *scan_mark(const struct scan_report *rep);
void scan_report_free(struct scan_report *rep); /* NULL ok */

#endif
