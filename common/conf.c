/*
 * conf.c - offload.conf: one static table of keys drives the defaults,
 * loading (GKeyFile), conf_set() overrides and `config --defaults`.
 * Memory: a struct conf owns all its strings and string lists (g_malloc'ed,
 * lists NULL-terminated g_strv); conf_free() releases them.
 * Thread safety: the table is read-only; a loaded struct conf is read-only
 * afterwards and may be shared. conf_set() must not race with readers.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum conf_type {
	CONF_T_STRING,   /* char * */
	CONF_T_LIST,     /* char ** (comma-separated in the file) */
	CONF_T_SIZE,     /* uint64_t bytes, conf_parse_size() */
	CONF_T_DURATION, /* uint64_t seconds, conf_parse_duration() */
	CONF_T_UINT,     /* uint64_t plain number */
	CONF_T_BOOL,     /* bool */
	CONF_T_ENUM,     /* C enum (int sized), index into choices */
	CONF_T_CHOICE,   /* char *, one of choices */
};

/* per-key normalisation / validation of text values, beyond the type */
enum conf_flag {
	CONF_F_LOWER = 1 << 0,        /* list items lower-cased */
	CONF_F_NO_TRAIL_SLASH = 1 << 1, /* trailing '/' stripped */
	CONF_F_CIDR = 1 << 2,         /* list items must be address[/prefix] */
	CONF_F_SOCKET = 1 << 3,       /* milter socket spec */
};

struct conf_key {
	const char *group;
	const char *key;
	enum conf_type type;
	const char *def;          /* default as config text */
	const char *doc;          /* one line */
	size_t off;               /* offsetof(struct conf, field) */
	const char *const *choices; /* ENUM / CHOICE: NULL-terminated */
	uint64_t min, max;        /* SIZE / DURATION / UINT; max 0 = unbounded */
	unsigned flags;
};

/* Enum names in the order of the C enums in conf.h. */
static const char *const conf_on_error_names[] = { "tempfail", "accept", "reject", NULL };
static const char *const conf_signed_names[] = { "skip", "offload", "reject", NULL };
static const char *const conf_backend_names[] = { "file", "s3", "webdav", "memory", NULL };
static const char *const conf_addressing_names[] = { "path", "virtual", NULL };
static const char *const conf_format_names[] = { "kv", "json", NULL };
static const char *const conf_personal_names[] = { "plain", "pseudonymise", "omit", NULL };
static const char *const conf_receipts_names[] = { "none", "first", "every", NULL };
static const char *const conf_infected_names[] = { "reject", "quarantine", NULL };
static const char *const conf_unavailable_names[] = { "tempfail", "accept-marked", NULL };
static const char *const conf_unscannable_names[] = { "reject", "accept-marked", NULL };

_Static_assert(sizeof(enum conf_on_error) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_signed_mail) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_audit_format) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_audit_personal) == sizeof(int), "enum size");

#define OFF(f) offsetof(struct conf, f)

static const struct conf_key conf_keys[] = {
	{ "milter", "socket", CONF_T_STRING, "unix:/var/spool/postfix/offload/milter.sock",
	  "milter socket: unix:PATH or inet:PORT@HOST", OFF(socket), NULL, 0, 0, CONF_F_SOCKET },
	{ "milter", "spool_dir", CONF_T_STRING, "/var/spool/offload",
	  "directory for message spool files while a message is processed", OFF(spool_dir), NULL, 0, 0, 0 },
	{ "milter", "eom_timeout", CONF_T_DURATION, "240s",
	  "time budget for end-of-message processing; keep below Postfix milter_content_timeout",
	  OFF(eom_timeout), NULL, 1, 86400, 0 },
	{ "milter", "max_message_size", CONF_T_SIZE, "2G",
	  "largest message spooled; a larger message gets the on_error action", OFF(max_message_size),
	  NULL, 1, 0, 0 },
	{ "milter", "early_offload", CONF_T_BOOL, "true",
	  "store a large base64 attachment while the body arrives, also in offloadctl process (ARCHITECTURE.md, early offload)",
	  OFF(early_offload), NULL, 0, 0, 0 },
	{ "milter", "trusted_networks", CONF_T_LIST, "127.0.0.0/8, ::1",
	  "client networks (CIDR) whose mail counts as originating", OFF(trusted_networks),
	  NULL, 0, 0, CONF_F_CIDR },
	{ "milter", "trusted_daemons", CONF_T_LIST, "ORIGINATING",
	  "Postfix {daemon_name} values whose mail counts as originating", OFF(trusted_daemons),
	  NULL, 0, 0, 0 },

	{ "policy", "internal_domains", CONF_T_LIST, "",
	  "domains of this organisation (set this!); \".example.gov\" matches subdomains",
	  OFF(internal_domains), NULL, 0, 0, CONF_F_LOWER },
	{ "policy", "offload_min_size", CONF_T_SIZE, "10M",
	  "attachments of at least this size are offloaded", OFF(offload_min_size), NULL, 0, 0, 0 },
	{ "policy", "max_outgoing_size", CONF_T_SIZE, "0",
	  "offload further attachments until the message is at most this size; 0 = no limit",
	  OFF(max_outgoing_size), NULL, 0, 0, 0 },
	{ "policy", "on_error", CONF_T_ENUM, "tempfail",
	  "action when offloading fails; accept applies to size-only offloads only",
	  OFF(on_error), conf_on_error_names, 0, 0, 0 },
	{ "policy", "retention", CONF_T_DURATION, "14d",
	  "how long offloaded files stay available", OFF(retention), NULL, 60, 0, 0 },
	{ "policy", "max_retention", CONF_T_DURATION, "90d",
	  "latest expiry (from the sending) an extension may set (offloadctl extend, sender page)",
	  OFF(max_retention), NULL, 60, 0, 0 },
	{ "policy", "signed_mail", CONF_T_ENUM, "skip",
	  "S/MIME or PGP signed mail: leave it, offload anyway, or reject it",
	  OFF(signed_mail), conf_signed_names, 0, 0, 0 },
	{ "policy", "max_mime_depth", CONF_T_UINT, "32",
	  "deepest MIME nesting processed; deeper mail is rejected (554 5.6.0)",
	  OFF(max_mime_depth), NULL, 1, 1000, 0 },
	{ "policy", "max_parts", CONF_T_UINT, "1000",
	  "most MIME parts processed; mail with more is rejected (554 5.6.0)",
	  OFF(max_parts), NULL, 1, 1000000, 0 },
	{ "policy", "rewrite_internal", CONF_T_BOOL, "false",
	  "also offload mail whose recipients are all internal", OFF(rewrite_internal), NULL, 0, 0, 0 },
	{ "policy", "policy_name", CONF_T_STRING, "default",
	  "policy name shown in the X-Data-Classification header", OFF(policy_name), NULL, 0, 0, 0 },

	{ "storage", "backend", CONF_T_CHOICE, "file",
	  "object store for encrypted files", OFF(backend), conf_backend_names, 0, 0, 0 },
	{ "storage", "path", CONF_T_STRING, "/var/lib/offload/store",
	  "file backend: directory of the store", OFF(path), NULL, 0, 0, 0 },
	{ "storage", "endpoint", CONF_T_STRING, "",
	  "s3 backend: endpoint URL, e.g. https://s3.example.gov", OFF(endpoint), NULL, 0, 0, 0 },
	{ "storage", "region", CONF_T_STRING, "us-east-1",
	  "s3 backend: region used for SigV4 signing", OFF(region), NULL, 0, 0, 0 },
	{ "storage", "bucket", CONF_T_STRING, "",
	  "s3 backend: bucket name", OFF(bucket), NULL, 0, 0, 0 },
	{ "storage", "prefix", CONF_T_STRING, "",
	  "s3 backend: key prefix inside the bucket", OFF(prefix), NULL, 0, 0, 0 },
	{ "storage", "url", CONF_T_STRING, "",
	  "webdav backend: collection URL", OFF(url), NULL, 0, 0, 0 },
	{ "storage", "credentials_file", CONF_T_STRING, "",
	  "s3/webdav: root-only file with a [credentials] group", OFF(credentials_file), NULL, 0, 0, 0 },
	{ "storage", "addressing", CONF_T_CHOICE, "path",
	  "s3 backend: path-style (ENDPOINT/BUCKET/KEY) or virtual-host-style (BUCKET.HOST/KEY) URLs",
	  OFF(addressing), conf_addressing_names, 0, 0, 0 },
	{ "storage", "part_size", CONF_T_SIZE, "16M",
	  "s3 backend: multipart part size for large objects, spooled on disk (5M..5G)",
	  OFF(part_size), NULL, 5ULL << 20, 5ULL << 30, 0 },
	{ "storage", "ca_file", CONF_T_STRING, "",
	  "s3/webdav: PEM file of CAs to verify the server with (empty: system CAs)", OFF(ca_file), NULL, 0, 0, 0 },
	{ "storage", "orphan_age", CONF_T_DURATION, "1d",
	  "purge: objects without a manifest and unfinished uploads (S3 multipart, hidden temporaries) "
	  "older than this are removed; keep it above the longest upload", OFF(orphan_age), NULL, 60, 0, 0 },

	{ "portal", "url", CONF_T_STRING, "https://files.example.gov",
	  "public base URL of the download portal", OFF(portal_url), NULL, 0, 0, CONF_F_NO_TRAIL_SLASH },
	{ "portal", "listen", CONF_T_STRING, "127.0.0.1:8025",
	  "address:port the portal listens on, behind a TLS proxy", OFF(portal_listen), NULL, 0, 0, 0 },
	{ "portal", "ticket_key_file", CONF_T_STRING, "/etc/offload/ticket.key",
	  "portal download ticket key, created (0600) when missing", OFF(ticket_key_file), NULL, 0, 0, 0 },
	{ "portal", "ticket_key_previous_file", CONF_T_STRING, "",
	  "previous ticket key, still accepted after a rotation for one ticket lifetime; empty = none",
	  OFF(ticket_key_previous_file), NULL, 0, 0, 0 },
	{ "portal", "ticket_lifetime", CONF_T_DURATION, "12h",
	  "how long a download URL from an unlock stays valid (capped at the transfer's expiry)",
	  OFF(ticket_lifetime), NULL, 60, 604800, 0 },
	{ "portal", "trusted_proxy", CONF_T_LIST, "",
	  "reverse proxy addresses (CIDR) whose X-Forwarded-For names the client", OFF(trusted_proxy),
	  NULL, 0, 0, CONF_F_CIDR },
	{ "portal", "contact", CONF_T_STRING, "",
	  "contact shown on every page (e-mail address or text)", OFF(portal_contact), NULL, 0, 0, 0 },
	{ "portal", "accessibility_url", CONF_T_STRING, "",
	  "link to the accessibility statement (BITV 2.0)", OFF(accessibility_url), NULL, 0, 0, 0 },
	{ "portal", "privacy_url", CONF_T_STRING, "",
	  "link to the privacy notice", OFF(privacy_url), NULL, 0, 0, 0 },
	{ "portal", "imprint_url", CONF_T_STRING, "",
	  "link to the imprint (Impressum)", OFF(imprint_url), NULL, 0, 0, 0 },
	{ "portal", "max_kdf_concurrency", CONF_T_UINT, "2",
	  "password checks (Argon2id, 64 MiB each) running at once; more get HTTP 429",
	  OFF(max_kdf_concurrency), NULL, 1, 64, 0 },
	{ "portal", "unlock_failures_per_ip", CONF_T_UINT, "20",
	  "failed unlocks and revoke attempts per client address in 10 minutes before HTTP 429", OFF(unlock_failures_per_ip),
	  NULL, 1, 100000, 0 },
	{ "portal", "password_failures", CONF_T_UINT, "10",
	  "wrong passwords per transfer (and per client) in one hour before HTTP 429",
	  OFF(password_failures), NULL, 1, 100000, 0 },
	{ "portal", "max_connections", CONF_T_UINT, "256",
	  "concurrent HTTP connections (one thread each)", OFF(max_connections), NULL, 1, 10000, 0 },

	{ "security", "deployment_key_file", CONF_T_STRING, "/etc/offload/deployment.key",
	  "key shared by all nodes of a deployment, created (0600) when missing",
	  OFF(deployment_key_file), NULL, 0, 0, 0 },

	{ "audit", "path", CONF_T_STRING, "/var/log/offload/audit.log",
	  "audit log file; empty = no audit log", OFF(audit_path), NULL, 0, 0, 0 },
	{ "audit", "format", CONF_T_ENUM, "kv",
	  "audit line format: key=value or JSON lines", OFF(audit_format), conf_format_names, 0, 0, 0 },
	{ "audit", "personal", CONF_T_ENUM, "plain",
	  "addresses, file names and clients in the audit log: as is, keyed pseudonyms, or left out",
	  OFF(audit_personal), conf_personal_names, 0, 0, 0 },

	{ "notify", "confirm", CONF_T_BOOL, "true",
	  "send the sender a confirmation mail for every offloaded message (files, expiry, password, revoke link)",
	  OFF(notify_confirm), NULL, 0, 0, 0 },
	{ "notify", "password_delivery", CONF_T_LIST, "sender",
	  "who gets the password: sender (in the confirmation mail) or recipients (a separate mail each); "
	  "a bare value is the default, LEVEL=value sets one level", OFF(notify_password_delivery), NULL, 0, 0, 0 },
	{ "notify", "sendmail", CONF_T_STRING, "/usr/sbin/sendmail",
	  "command that submits notification mails (no shell; run as: command -i -f SENDER -- RCPT)",
	  OFF(notify_sendmail), NULL, 0, 0, 0 },
	{ "notify", "from", CONF_T_STRING, "",
	  "From: of notification mails; empty = postmaster@ the sender's domain", OFF(notify_from), NULL, 0, 0, 0 },
	{ "notify", "fallback_to", CONF_T_STRING, "",
	  "address that gets the notifications of null or no-reply senders; empty = none",
	  OFF(notify_fallback_to), NULL, 0, 0, 0 },
	{ "notify", "organisation", CONF_T_STRING, "",
	  "the organisation's name in notices of transfers opened with agreed recipient secrets "
	  "(\"use the password agreed with ...\"); empty = \"the sender\"",
	  OFF(notify_organisation), NULL, 0, 0, 0 },
	{ "notify", "timeout", CONF_T_DURATION, "30s",
	  "longest wait for the sendmail command", OFF(notify_timeout), NULL, 1, 3600, 0 },
	{ "notify", "receipts", CONF_T_ENUM, "first",
	  "download receipts to the sender: first (once per file), every (each complete download) or none; "
	  "per level in [classify] receipts", OFF(notify_receipts), conf_receipts_names, 0, 0, 0 },
	{ "notify", "reminder", CONF_T_DURATION, "2d",
	  "remind the sender this long before expiry when nothing was downloaded (purge timer); 0 = off",
	  OFF(notify_reminder), NULL, 0, 0, 0 },

	{ "classify", "levels", CONF_T_LIST, "OFFEN, INTERN, VERTRAULICH, STRENG-VERTRAULICH",
	  "classification levels, lowest first (the first is the floor of outgoing mail, the second of "
	  "internal-only mail)", OFF(classify_levels), NULL, 0, 0, 0 },
	{ "classify", "identifier_level", CONF_T_STRING, "VERTRAULICH",
	  "level of identifiers with valid check digits (IBAN, Steuer-IdNr, RVNR, KVNR, ID documents, cards)",
	  OFF(classify_identifier_level), NULL, 0, 0, 0 },
	{ "classify", "art9_level", CONF_T_STRING, "STRENG-VERTRAULICH",
	  "level of GDPR Art. 9 special categories found with context", OFF(classify_art9_level), NULL, 0, 0, 0 },
	{ "classify", "labels", CONF_T_LIST,
	  "Company-Confidential=VERTRAULICH, Private=VERTRAULICH, Personal=INTERN, Vertraulich=VERTRAULICH, "
	  "Confidential=VERTRAULICH, Streng vertraulich=STRENG-VERTRAULICH, Highly Confidential=STRENG-VERTRAULICH, "
	  "Intern=INTERN, Internal=INTERN, General=INTERN",
	  "label name (Sensitivity value, Purview label name or GUID, SIO-Label marking) = level",
	  OFF(classify_labels), NULL, 0, 0, 0 },
	{ "classify", "subject_markers", CONF_T_LIST,
	  "[VERTRAULICH]=VERTRAULICH, [STRENG VERTRAULICH]=STRENG-VERTRAULICH, [INTERN]=INTERN, "
	  "[CONFIDENTIAL]=VERTRAULICH, TLP:RED=STRENG-VERTRAULICH, TLP:AMBER+STRICT=VERTRAULICH, "
	  "TLP:AMBER=VERTRAULICH, TLP:GREEN=INTERN, TLP:CLEAR=OFFEN",
	  "subject marker = level (TLP 2.0 labels are recognised built in)", OFF(classify_subject_markers),
	  NULL, 0, 0, 0 },
	{ "classify", "thresholds", CONF_T_LIST,
	  "iban=1, steuer-id=1, rvnr=1, kvnr=1, id-document=1, card=1, email=0, phone=0, dob=0, art9=2",
	  "detector=count that raises the level (0 = reason only; art9 = distinct terms within 300 characters)",
	  OFF(classify_thresholds), NULL, 0, 0, 0 },
	{ "classify", "findings", CONF_T_LIST, "bomb-limit=VERTRAULICH",
	  "finding=level for bomb-limit, encrypted, not-inspectable, executable, type-mismatch (VS = reject)",
	  OFF(classify_findings), NULL, 0, 0, 0 },
	{ "classify", "action", CONF_T_LIST,
	  "OFFEN=pass, INTERN=pass, VERTRAULICH=offload, STRENG-VERTRAULICH=offload+password, VS=reject",
	  "per level: pass, label, offload, offload+password or reject", OFF(classify_action), NULL, 0, 0, 0 },
	{ "classify", "body_action", CONF_T_LIST,
	  "OFFEN=keep, INTERN=keep, VERTRAULICH=offload-message, STRENG-VERTRAULICH=offload-message, VS=reject",
	  "per level: keep, offload-message or reject", OFF(classify_body_action), NULL, 0, 0, 0 },
	{ "classify", "notice_filenames", CONF_T_LIST,
	  "OFFEN=show, INTERN=show, VERTRAULICH=show, STRENG-VERTRAULICH=hide",
	  "per level: show or hide file names in the notice", OFF(classify_notice_filenames), NULL, 0, 0, 0 },
	{ "classify", "retention", CONF_T_LIST, "",
	  "per level: LEVEL=duration overriding [policy] retention", OFF(classify_retention), NULL, 0, 0, 0 },
	{ "classify", "max_retention", CONF_T_LIST, "",
	  "per level: LEVEL=duration overriding [policy] max_retention", OFF(classify_max_retention), NULL,
	  0, 0, 0 },
	{ "classify", "receipts", CONF_T_LIST, "",
	  "per level: LEVEL=first|every|none overriding [notify] receipts", OFF(classify_receipts), NULL,
	  0, 0, 0 },
	{ "classify", "max_inflated", CONF_T_SIZE, "256M",
	  "bytes decompressed per attachment before bomb-limit", OFF(classify_max_inflated), NULL, 1024,
	  0, 0 },
	{ "classify", "max_text", CONF_T_SIZE, "16M",
	  "bytes of one attachment or member held in memory and scanned", OFF(classify_max_text), NULL,
	  65536, 1ULL << 30, 0 },
	{ "classify", "max_ratio", CONF_T_UINT, "100",
	  "decompression ratio over which a member is a bomb-limit", OFF(classify_max_ratio), NULL, 2, 0, 0 },
	{ "classify", "max_depth", CONF_T_UINT, "4",
	  "nesting of containers (zip in zip, attached messages) before bomb-limit", OFF(classify_max_depth),
	  NULL, 0, 32, 0 },
	{ "classify", "max_entries", CONF_T_UINT, "10000",
	  "archive members per attachment before bomb-limit", OFF(classify_max_entries), NULL, 1, 0, 0 },

	{ "archive", "escrow_public_key", CONF_T_STRING, "",
	  "X25519 public key file (offloadctl escrow keygen): every transfer also gets <id>/e, "
	  "its key wrapped for the archive; empty = no escrow", OFF(archive_escrow_public_key), NULL, 0, 0, 0 },
	{ "archive", "command", CONF_T_STRING, "",
	  "DMS hook run once per committed transfer (program and arguments, no shell; JSON description "
	  "on stdin; run by offloadctl archive run); empty = none", OFF(archive_command), NULL, 0, 0, 0 },
	{ "archive", "spool_dir", CONF_T_STRING, "",
	  "directory of the hook's queue entries; empty = [milter] spool_dir/archive",
	  OFF(archive_spool_dir), NULL, 0, 0, 0 },
	{ "archive", "timeout", CONF_T_DURATION, "5m",
	  "longest run of the hook; then its process group is killed and the entry retried",
	  OFF(archive_timeout), NULL, 1, 86400, 0 },

	{ "scan", "outgoing", CONF_T_BOOL, "false",
	  "scan attachments with clamd before they are encrypted and offloaded", OFF(scan_outgoing), NULL, 0, 0, 0 },
	{ "scan", "clamd_socket", CONF_T_STRING, "/var/run/clamav/clamd.ctl",
	  "clamd's local (unix) socket, clamd.conf LocalSocket", OFF(scan_clamd_socket), NULL, 0, 0, 0 },
	{ "scan", "timeout", CONF_T_DURATION, "60s",
	  "longest wait for clamd on one read or write", OFF(scan_timeout), NULL, 1, 3600, 0 },
	{ "scan", "on_infected", CONF_T_CHOICE, "reject",
	  "malware found: reject the message (5xx) or quarantine it (MTA hold queue, unchanged)",
	  OFF(scan_on_infected), conf_infected_names, 0, 0, 0 },
	{ "scan", "on_unavailable", CONF_T_CHOICE, "tempfail",
	  "clamd cannot be reached or fails: defer (4xx), or offload unscanned and mark it in the audit log",
	  OFF(scan_on_unavailable), conf_unavailable_names, 0, 0, 0 },
	{ "scan", "on_unscannable", CONF_T_CHOICE, "reject",
	  "a file over clamd's limits (StreamMaxLength, AlertExceedsMax): reject, or offload and mark it",
	  OFF(scan_on_unscannable), conf_unscannable_names, 0, 0, 0 },

	{ "upload", "enabled", CONF_T_BOOL, "false",
	  "offer a reply link with every transfer (<id>/r) and accept uploads through it (offload-upload)",
	  OFF(upload_enabled), NULL, 0, 0, 0 },
	{ "upload", "listen", CONF_T_STRING, "127.0.0.1:8444",
	  "offload-upload's HTTP address (behind the proxy's /u/ location)", OFF(upload_listen), NULL, 0, 0, 0 },
	{ "upload", "max_size", CONF_T_SIZE, "2G",
	  "bytes of all files of one reply", OFF(upload_max_size), NULL, 1, 0, 0 },
	{ "upload", "max_files", CONF_T_UINT, "20",
	  "files in one reply", OFF(upload_max_files), NULL, 1, 1000, 0 },
	{ "upload", "uses", CONF_T_UINT, "5",
	  "replies through one reply link", OFF(upload_uses), NULL, 1, 1000, 0 },
	{ "upload", "chunk_size", CONF_T_SIZE, "8M",
	  "largest PATCH body, a multiple of 64K (nginx client_max_body_size)", OFF(upload_chunk_size),
	  NULL, 65536, 1ULL << 30, 0 },
	{ "upload", "per_client", CONF_T_UINT, "20",
	  "replies a client address may start per hour (per upload node)", OFF(upload_per_client), NULL, 1, 0, 0 },
	{ "upload", "resends", CONF_T_UINT, "3",
	  "times a file is sent back to the client because a stored part of it was missing or damaged; "
	  "the next time it is refused as damaged", OFF(upload_resends), NULL, 0, 100, 0 },
	{ "upload", "request_marker", CONF_T_STRING, "[DATEIANFORDERUNG]",
	  "subject marker that turns an outgoing mail's notice into an upload request for the sender; empty = off",
	  OFF(upload_request_marker), NULL, 0, 0, 0 },
};

#define CONF_NKEYS (sizeof conf_keys / sizeof conf_keys[0])

static GQuark
conf_quark(void)
{
	return g_quark_from_static_string("offload-conf");
}

static const char *
conf_type_name(const struct conf_key *k)
{
	switch (k->type) {
	case CONF_T_STRING: return "string";
	case CONF_T_LIST: return "list";
	case CONF_T_SIZE: return "size";
	case CONF_T_DURATION: return "duration";
	case CONF_T_UINT: return "number";
	case CONF_T_BOOL: return "bool";
	case CONF_T_ENUM:
	case CONF_T_CHOICE: return "enum";
	}
	return "?";
}

static void *
conf_field(struct conf *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

/* conf_digits - parse the leading decimal number of s; *end after it */
static int
conf_digits(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (!g_ascii_isdigit(*p))
		return -1;
	for (; g_ascii_isdigit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	*end = p;
	return 0;
}

static int
conf_mul(uint64_t v, uint64_t m, uint64_t *out)
{
	if (m != 0 && v > UINT64_MAX / m)
		return -1;
	*out = v * m;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;
	const char *p;

	if (s == NULL || conf_digits(s, &v, &p) < 0)
		return -1;
	while (*p == ' ')
		p++;
	switch (*p) {
	case 'k': case 'K': mult = 1ULL << 10; p++; break;
	case 'm': case 'M': mult = 1ULL << 20; p++; break;
	case 'g': case 'G': mult = 1ULL << 30; p++; break;
	case 't': case 'T': mult = 1ULL << 40; p++; break;
	default: break;
	}
	if (mult != 1 && *p == 'i' && p[1] == 'B')
		p += 2;
	else if (*p == 'B')
		p++;
	if (*p != '\0')
		return -1;
	return conf_mul(v, mult, out);
}

int
conf_parse_duration(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;
	const char *p;

	if (s == NULL || conf_digits(s, &v, &p) < 0)
		return -1;
	while (*p == ' ')
		p++;
	switch (*p) {
	case 's': mult = 1; p++; break;
	case 'm': mult = 60; p++; break;
	case 'h': mult = 3600; p++; break;
	case 'd': mult = 86400; p++; break;
	default: break;
	}
	if (*p != '\0')
		return -1;
	return conf_mul(v, mult, out);
}

static int
conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (g_ascii_strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
conf_choice_index(const struct conf_key *k, const char *s)
{
	int i;

	for (i = 0; k->choices[i] != NULL; i++)
		if (strcmp(k->choices[i], s) == 0)
			return i;
	return -1;
}

/* conf_check_cidr - "192.0.2.0/24", "2001:db8::/32", "::1", "10.1.2.3" */
static bool
conf_check_cidr(const char *s)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int maxbits;

	if (alen == 0 || alen >= sizeof addr)
		return false;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1)
		maxbits = 32;
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		maxbits = 128;
	else
		return false;
	if (slash != NULL) {
		uint64_t bits;
		const char *end;

		if (conf_digits(slash + 1, &bits, &end) < 0 || *end != '\0' || bits > (uint64_t)maxbits)
			return false;
	}
	return true;
}

static bool
conf_check_socket(const char *s)
{
	if (g_str_has_prefix(s, "unix:"))
		return s[5] == '/';
	if (g_str_has_prefix(s, "inet:") || g_str_has_prefix(s, "inet6:"))
		return g_ascii_isdigit(strchr(s, ':')[1]);
	return false;
}

/* conf_split_list - comma-separated, items trimmed, empty items dropped */
static char **
conf_split_list(const char *s, bool lower)
{
	char **parts = g_strsplit(s, ",", -1);
	GPtrArray *out = g_ptr_array_new();
	size_t i;

	for (i = 0; parts[i] != NULL; i++) {
		char *item = g_strstrip(parts[i]);

		if (*item == '\0')
			continue;
		g_ptr_array_add(out, lower ? g_ascii_strdown(item, -1) : g_strdup(item));
	}
	g_ptr_array_add(out, NULL);
	g_strfreev(parts);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* conf_bad - the error for an invalid value of k, with the allowed values
 * when k has a list of them; -1 */
static int
conf_bad(const struct conf_key *k, const char *origin, const char *what, const char *v, GError **err)
{
	if (k->choices != NULL) {
		char *allowed = g_strjoinv("|", (char **)k->choices);

		g_set_error(err, conf_quark(), 1, "%s: [%s] %s: %s '%s' (one of %s)",
			origin, k->group, k->key, what, v, allowed);
		g_free(allowed);
	} else {
		g_set_error(err, conf_quark(), 1, "%s: [%s] %s: %s '%s'",
			origin, k->group, k->key, what, v);
	}
	return -1;
}

/* conf_apply_string - a string or choice; *v moves into the field */
static int
conf_apply_string(const struct conf_key *k, char **v, const char *origin, void *field, GError **err)
{
	if (k->type == CONF_T_CHOICE && conf_choice_index(k, *v) < 0)
		return conf_bad(k, origin, "invalid value", *v, err);
	if ((k->flags & CONF_F_SOCKET) && !conf_check_socket(*v))
		return conf_bad(k, origin, "invalid socket (unix:/path or inet:port@host)", *v, err);
	if (k->flags & CONF_F_NO_TRAIL_SLASH) {
		size_t len = strlen(*v);

		while (len > 0 && (*v)[len - 1] == '/')
			(*v)[--len] = '\0';
	}
	g_free(*(char **)field);
	*(char **)field = *v;
	*v = NULL;
	return 0;
}

/* conf_apply_list - a comma-separated list; networks are checked */
static int
conf_apply_list(const struct conf_key *k, const char *v, const char *origin, void *field, GError **err)
{
	char **list = conf_split_list(v, (k->flags & CONF_F_LOWER) != 0);
	size_t i;

	for (i = 0; (k->flags & CONF_F_CIDR) && list[i] != NULL; i++) {
		if (!conf_check_cidr(list[i])) {
			g_set_error(err, conf_quark(), 1, "%s: [%s] %s: invalid network '%s'",
				origin, k->group, k->key, list[i]);
			g_strfreev(list);
			return -1;
		}
	}
	g_strfreev(*(char ***)field);
	*(char ***)field = list;
	return 0;
}

/* conf_parse_number - a size, duration or plain number into *n; NULL, or
 * what is wrong with it */
static const char *
conf_parse_number(const struct conf_key *k, const char *v, uint64_t *n)
{
	const char *end;

	if (k->type == CONF_T_SIZE && conf_parse_size(v, n) < 0)
		return "invalid size";
	if (k->type == CONF_T_DURATION && conf_parse_duration(v, n) < 0)
		return "invalid duration";
	if (k->type == CONF_T_UINT && (conf_digits(v, n, &end) < 0 || *end != '\0'))
		return "invalid number";
	return NULL;
}

/* conf_apply_number - a size, duration or number within k's range */
static int
conf_apply_number(const struct conf_key *k, const char *v, const char *origin, void *field, GError **err)
{
	const char *what;
	uint64_t n = 0;

	what = conf_parse_number(k, v, &n);
	if (what != NULL)
		return conf_bad(k, origin, what, v, err);
	if (n >= k->min && (k->max == 0 || n <= k->max)) {
		*(uint64_t *)field = n;
		return 0;
	}
	if (k->max != 0)
		g_set_error(err, conf_quark(), 1,
			"%s: [%s] %s: '%s' out of range (%" PRIu64 "..%" PRIu64 "%s)",
			origin, k->group, k->key, v, k->min, k->max,
			k->type == CONF_T_DURATION ? " seconds" : "");
	else
		g_set_error(err, conf_quark(), 1,
			"%s: [%s] %s: '%s' out of range (at least %" PRIu64 "%s)",
			origin, k->group, k->key, v, k->min,
			k->type == CONF_T_DURATION ? " seconds" : k->type == CONF_T_SIZE ? " bytes" : "");
	return -1;
}

/*
 * conf_apply - parse text for key k and store it in c. origin names the
 * file (or "override") in the error message. 0 or -1 with *err.
 */
static int
conf_apply(struct conf *c, const struct conf_key *k, const char *text, const char *origin,
	GError **err)
{
	void *field = conf_field(c, k);
	char *v = g_strstrip(g_strdup(text));
	int rc = -1, i;

	switch (k->type) {
	case CONF_T_STRING:
	case CONF_T_CHOICE:
		rc = conf_apply_string(k, &v, origin, field, err);
		break;
	case CONF_T_LIST:
		rc = conf_apply_list(k, v, origin, field, err);
		break;
	case CONF_T_SIZE:
	case CONF_T_DURATION:
	case CONF_T_UINT:
		rc = conf_apply_number(k, v, origin, field, err);
		break;
	case CONF_T_BOOL:
		rc = conf_parse_bool(v, (bool *)field) < 0 ?
			conf_bad(k, origin, "invalid bool (true or false)", v, err) : 0;
		break;
	case CONF_T_ENUM:
		i = conf_choice_index(k, v);
		if (i >= 0)
			*(int *)field = i;
		rc = i < 0 ? conf_bad(k, origin, "invalid value", v, err) : 0;
		break;
	}
	g_free(v);
	return rc;
}

static const struct conf_key *
conf_find(const char *group, const char *key)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].group, group) == 0 && strcmp(conf_keys[i].key, key) == 0)
			return &conf_keys[i];
	return NULL;
}

static bool
conf_group_known(const char *group)
{
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].group, group) == 0)
			return true;
	return false;
}

struct conf *
conf_defaults(void)
{
	struct conf *c = g_new0(struct conf, 1);
	GError *err = NULL;
	size_t i;

	for (i = 0; i < CONF_NKEYS; i++) {
		if (conf_apply(c, &conf_keys[i], conf_keys[i].def, "defaults", &err) < 0) {
			/* a bad compiled-in default is a programming error */
			g_error("%s", err->message);
		}
	}
	return c;
}

/* conf_apply_kf - every group and key of kf into c; origin names it in errors */
static bool
conf_apply_kf(struct conf *c, GKeyFile *kf, const char *origin, GError **err)
{
	GError *e = NULL;
	char **groups = g_key_file_get_groups(kf, NULL), **keys = NULL;
	size_t g, i;
	bool ok = false;

	for (g = 0; groups[g] != NULL; g++) {
		if (!conf_group_known(groups[g])) {
			g_set_error(err, conf_quark(), 1, "%s: [%s]: unknown group", origin, groups[g]);
			goto out;
		}
		keys = g_key_file_get_keys(kf, groups[g], NULL, NULL);
		for (i = 0; keys != NULL && keys[i] != NULL; i++) {
			const struct conf_key *k = conf_find(groups[g], keys[i]);
			char *val;
			int rc;

			if (k == NULL) {
				g_set_error(err, conf_quark(), 1, "%s: [%s] %s: unknown key",
					origin, groups[g], keys[i]);
				goto out;
			}
			val = g_key_file_get_string(kf, groups[g], keys[i], &e);
			if (val == NULL) {
				g_set_error(err, conf_quark(), 1, "%s: [%s] %s: %s",
					origin, groups[g], keys[i], e->message);
				g_clear_error(&e);
				goto out;
			}
			rc = conf_apply(c, k, val, origin, err);
			g_free(val);
			if (rc < 0)
				goto out;
		}
		g_strfreev(keys);
		keys = NULL;
	}
	ok = true;
out:
	g_strfreev(keys);
	g_strfreev(groups);
	return ok;
}

/* conf_load_kf - the defaults, then kf; not loaded: e is the load error */
static struct conf *
conf_load_kf(GKeyFile *kf, bool loaded, GError *e, const char *origin, GError **err)
{
	struct conf *c = conf_defaults();

	if (!loaded) {
		g_set_error(err, conf_quark(), 1, "%s: %s", origin, e->message);
		g_clear_error(&e);
	}
	if (!loaded || !conf_apply_kf(c, kf, origin, err)) {
		conf_free(c);
		c = NULL;
	}
	g_key_file_free(kf);
	return c;
}

struct conf *
conf_load(const char *path, GError **err)
{
	GKeyFile *kf;
	GError *e = NULL;
	bool loaded;

	if (path == NULL)
		return conf_defaults();
	kf = g_key_file_new();
	loaded = g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e);
	return conf_load_kf(kf, loaded, e, path, err);
}

struct conf *
conf_load_data(const char *data, size_t len, const char *origin, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	GError *e = NULL;
	bool loaded = g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &e);

	return conf_load_kf(kf, loaded, e, origin, err);
}

int
conf_set(struct conf *c, const char *group_key, const char *value, GError **err)
{
	const struct conf_key *k;
	const char *dot = strchr(group_key, '.');
	char *group;

	if (dot == NULL) {
		g_set_error(err, conf_quark(), 1, "override: '%s': expected group.key", group_key);
		return -1;
	}
	group = g_strndup(group_key, (size_t)(dot - group_key));
	k = conf_find(group, dot + 1);
	if (k == NULL) {
		g_set_error(err, conf_quark(), 1, "override: [%s] %s: unknown key", group, dot + 1);
		g_free(group);
		return -1;
	}
	g_free(group);
	return conf_apply(c, k, value, "override", err);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CONF_NKEYS; i++) {
		void *field = conf_field(c, &conf_keys[i]);

		if (conf_keys[i].type == CONF_T_STRING || conf_keys[i].type == CONF_T_CHOICE)
			g_free(*(char **)field);
		else if (conf_keys[i].type == CONF_T_LIST)
			g_strfreev(*(char ***)field);
	}
	g_free(c);
}

void
conf_print_defaults(FILE *out)
{
	const char *group = NULL;
	size_t i;

	fputs("# offload.conf - configuration of offload-milter, offload-portal and offloadctl.\n"
	      "# See offload.conf(5). Every key is shown with its default, commented out.\n"
	      "# Sizes use 1024^n (k, M, G, T); durations are s, m, h or d (bare number = seconds);\n"
	      "# lists are comma-separated.\n", out);
	for (i = 0; i < CONF_NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (group == NULL || strcmp(group, k->group) != 0) {
			group = k->group;
			fprintf(out, "\n[%s]\n", group);
		}
		fprintf(out, "# %s (%s", k->doc, conf_type_name(k));
		if (k->choices != NULL) {
			char *allowed = g_strjoinv("|", (char **)k->choices);

			fprintf(out, ": %s", allowed);
			g_free(allowed);
		}
		fprintf(out, ", default: %s)\n", k->def[0] ? k->def : "empty");
		if (k->def[0] != '\0')
			fprintf(out, "#%s = %s\n", k->key, k->def);
		else
			fprintf(out, "#%s =\n", k->key);
	}
}
