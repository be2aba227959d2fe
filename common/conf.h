/*
 * conf.h - the configuration of all offload programs (DECISIONS.md §10).
 * Every key is declared once in the table in conf.c (group, name, type,
 * default, doc); that table also prints `offloadctl config --defaults` and
 * the man page section. A loaded struct conf is read-only afterwards and
 * may be shared between threads.
 */
#ifndef OFFLOAD_CONF_H
#define OFFLOAD_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>

#define CONF_DEFAULT_PATH "/etc/offload/offload.conf"

enum conf_on_error { CONF_ON_ERROR_TEMPFAIL, CONF_ON_ERROR_ACCEPT, CONF_ON_ERROR_REJECT };
enum conf_signed_mail { CONF_SIGNED_SKIP, CONF_SIGNED_OFFLOAD, CONF_SIGNED_REJECT };
enum conf_audit_format { CONF_AUDIT_KV, CONF_AUDIT_JSON };
enum conf_audit_personal { CONF_AUDIT_PLAIN, CONF_AUDIT_PSEUDONYMISE, CONF_AUDIT_OMIT };

struct conf {
	/* [milter] */
	char *socket;              /* unix:/path or inet:port@host */
	char *spool_dir;
	uint64_t eom_timeout;      /* seconds */
	uint64_t max_message_size; /* bytes spooled per message; over it: on_error policy */
	bool early_offload;        /* store a big base64 leaf while the body arrives (early.h) */
	char **trusted_networks;   /* CIDR list; NULL-terminated */
	char **trusted_daemons;    /* Postfix {daemon_name} values that count as trusted */
	/* [policy] */
	char **internal_domains;   /* lower-case; ".example.gov" = subdomains */
	uint64_t offload_min_size; /* bytes */
	uint64_t max_outgoing_size;/* bytes, 0 = no limit */
	enum conf_on_error on_error;
	uint64_t retention;        /* seconds */
	uint64_t max_retention;    /* seconds: latest expiry an extension may set */
	enum conf_signed_mail signed_mail;
	uint64_t max_mime_depth;
	uint64_t max_parts;
	bool rewrite_internal;     /* also offload internal-only mail */
	char *policy_name;         /* shown in X-Data-Classification policy= */
	/* [storage] */
	char *backend;             /* file | s3 | webdav | memory */
	char *path;                /* file */
	char *endpoint, *region, *bucket, *prefix, *url, *credentials_file; /* s3, webdav */
	char *addressing;          /* s3: "path" | "virtual" (host) style */
	uint64_t part_size;        /* s3: multipart part size, bytes */
	char *ca_file;             /* s3, webdav: CA bundle, "" = system CAs */
	uint64_t orphan_age;       /* purge: seconds after which unfinished uploads are stale */
	/* [portal] */
	char *portal_url;          /* public base URL, no trailing slash */
	char *portal_listen;
	char *ticket_key_file;
	char *ticket_key_previous_file; /* "" = none */
	uint64_t ticket_lifetime;  /* seconds */
	char **trusted_proxy;      /* CIDR list; NULL-terminated */
	char *portal_contact, *accessibility_url, *privacy_url, *imprint_url;
	uint64_t max_kdf_concurrency;
	uint64_t unlock_failures_per_ip; /* per 10 minutes */
	uint64_t password_failures;      /* per transfer and per client, per hour */
	uint64_t max_connections;
	/* [security] */
	char *deployment_key_file;
	/* [audit] */
	char *audit_path;          /* "" = no audit log */
	enum conf_audit_format audit_format;
	enum conf_audit_personal audit_personal;
	/* [notify] (pipeline/notify.c) */
	bool notify_confirm;
	char **notify_password_delivery; /* "sender" | "recipients" | LEVEL=value items */
	char *notify_sendmail, *notify_from, *notify_fallback_to, *notify_organisation;
	uint64_t notify_timeout;   /* seconds */
	int notify_receipts;       /* 0 none, 1 first, 2 every (enum transfer_receipts) */
	uint64_t notify_reminder;  /* seconds before expiry; 0 = no reminders */
	/* [classify] (classify/classify_conf.c parses the LEVEL=value lists) */
	char **classify_levels;
	char *classify_identifier_level, *classify_art9_level;
	char **classify_labels, **classify_subject_markers, **classify_thresholds, **classify_findings;
	char **classify_action, **classify_body_action, **classify_notice_filenames, **classify_retention;
	char **classify_max_retention, **classify_receipts;
	uint64_t classify_max_inflated, classify_max_text, classify_max_ratio, classify_max_depth;
	uint64_t classify_max_entries;
	/* [archive] (transfer/transfer_escrow.c) */
	char *archive_escrow_public_key; /* "" = no escrow */
	/* [archive] DMS hook (transfer/archive_hook*.c) */
	char *archive_command;     /* "" = no hook; argv words, no shell */
	char *archive_spool_dir;   /* "" = <[milter] spool_dir>/archive */
	uint64_t archive_timeout;  /* seconds per hook run */
	/* [scan] (pipeline/scan.c, pipeline/scan_clamd.c) */
	bool scan_outgoing;
	char *scan_clamd_socket;
	uint64_t scan_timeout;     /* seconds */
	char *scan_on_infected, *scan_on_unavailable, *scan_on_unscannable;
	/* [upload] (upload/, transfer/transfer_tus.c, transfer/transfer_reply.c) */
	bool upload_enabled;
	char *upload_listen;
	uint64_t upload_max_size, upload_max_files, upload_uses, upload_chunk_size, upload_per_client,
		upload_resends;
	char *upload_request_marker; /* "" = off (pipeline/pipeline_request.c) */
};

/* conf_defaults - a struct conf holding the compiled-in defaults */
struct conf *conf_defaults(void);
/*
 * conf_load - read a GKeyFile; unknown groups/keys and bad values are errors
 * (message in *err, naming file, group and key). NULL path = defaults only.
 */
struct conf *conf_load(const char *path, GError **err);
/* conf_load_data - the same from text in memory (len bytes); origin names it in errors */
struct conf *conf_load_data(const char *data, size_t len, const char *origin, GError **err);
/* conf_set - set one key from text ("group.key", value), same checks as a file */
int conf_set(struct conf *c, const char *group_key, const char *value, GError **err);
void conf_free(struct conf *c);
/* conf_print_defaults - the whole key table as a commented config file */
void conf_print_defaults(FILE *out);

/* conf_parse_size - "10M", "512k", "1G", "1234" (1024^n) */
int conf_parse_size(const char *s, uint64_t *out);
/* conf_parse_duration - "14d", "12h", "30m", "240s", "240" (seconds) */
int conf_parse_duration(const char *s, uint64_t *out);

#endif
