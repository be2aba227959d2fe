/*
 * pipeline.h - end-of-message processing shared by offload-milter and
 * `offloadctl process` (DECISIONS.md §2, §4): parse the spooled message,
 * decide, offload (decode + hash + encrypt + store, streaming), rewrite.
 * The output is exactly a verdict, a list of header operations and an
 * optional new body file; the milter sends them with smfi_*, offloadctl
 * applies them to the original bytes.
 *
 * struct pipeline is created once in main() and read-only afterwards except
 * for the storage handle, which is opened lazily under st_lock when the
 * store was unavailable at start; any number of threads may call
 * pipeline_run() concurrently on their own msg.
 */
#ifndef OFFLOAD_PIPELINE_H
#define OFFLOAD_PIPELINE_H

#include <stdbool.h>
#include <glib.h>

#include "audit.h"
#include "conf.h"
#include "keys.h"
#include "msg.h"
#include "storage.h"
#include "transfer_escrow.h"

enum pipeline_verdict {
	PIPELINE_ACCEPT,   /* deliver (rewritten or unchanged) */
	PIPELINE_TEMPFAIL, /* 4xx: the previous hop keeps the message */
	PIPELINE_REJECT,   /* 5xx */
};

struct classify_ctx;

struct pipeline {
	const struct conf *conf;
	struct storage *st;  /* NULL while the store cannot be opened (retried per message) */
	GMutex st_lock;
	struct audit *audit;
	struct key32 dk; /* deployment key */
	struct classify_ctx *cls; /* classification settings (classify.h), read-only */
	int confidential_index;   /* level index of VERTRAULICH (Sensitivity header), -1 none */
	GArray *trusted;          /* struct pipeline_net: trusted_networks, parsed once */
	struct transfer_escrow_key escrow; /* [archive] escrow_public_key */
};

/* one trusted_networks entry as address bytes and prefix length */
struct pipeline_net {
	int family; /* AF_INET or AF_INET6 */
	guint8 addr[16];
	guint len;
};

/* pipeline_nets - parse a trusted_networks list (entries GInetAddressMask
 * cannot parse are left out); pipeline_nets_match - addr (textual IP) lies
 * in one of them. Exported for the unit test. */
GArray *pipeline_nets(char *const *nets);
bool pipeline_nets_match(const GArray *nets, const char *addr);

struct pipeline_result {
	enum pipeline_verdict verdict;
	const char *rcode, *xcode;  /* SMTP reply code and enhanced code */
	char *reply_de, *reply_en;  /* ASCII reply lines (smfi_setmlreply) */
	GPtrArray *hdr_ops;         /* struct hdr_op * (hdrops.h) */
	char *body_path;            /* new body with CRLF line ends, NULL = unchanged; a
	                             * nameless spool file (/proc/self/fd/N, spool_tmp.h) */
	int body_fd;                /* keeps it alive; valid while body_path != NULL */
	char *summary;              /* one line for syslog / stderr, no secrets */
	char *action;               /* pass | label | offload | skip-signed | tempfail | reject | accept-on-error */
	unsigned nfiles;
	const char *quarantine;     /* static reason: the MTA holds the message (smfi_quarantine) */
};

/* pipeline_init - 0; -1 (*err) when spool, keys or audit log cannot be set
 * up; PIPELINE_ECONFIG (*err) for invalid [classify]/[notify] settings */
#define PIPELINE_ECONFIG (-2)
int pipeline_init(struct pipeline *p, const struct conf *conf, GError **err);
void pipeline_fini(struct pipeline *p);
/* pipeline_run - never fails: every error ends in the configured policy */
void pipeline_run(struct pipeline *p, struct msg *m, struct pipeline_result *res);
void pipeline_result_clear(struct pipeline_result *res); /* drops the new body */

#endif
