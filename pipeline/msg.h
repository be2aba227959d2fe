/*
 * msg.h - one message as the pipeline sees it: envelope, the header list in
 * arrival order, and a private spool file holding the whole message
 * (headers, blank line, body) with CRLF line ends: in memory up to
 * MSG_MEM_MAX bytes, beyond that in a private file. The milter fills it
 * callback by callback; offloadctl fills it from a file. Both go through
 * the same header normaliser (msg_add_header) so both paths are one.
 * A struct msg belongs to one thread; msg_free() unlinks the spool.
 */
#ifndef OFFLOAD_MSG_H
#define OFFLOAD_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>

struct msg_header {
	char *name;
	char *value; /* raw value after the colon (leading space kept), folds as "\r\n\t" etc. */
};

struct msg_env {
	char *queue_id;
	char *client_addr;  /* textual IP, NULL for local submission */
	char *client_name;
	char *auth_authen;  /* {auth_authen}, NULL if not authenticated */
	char *daemon_name;  /* {daemon_name} */
	char *sender;       /* envelope sender without <> */
	GPtrArray *rcpts;   /* char *, envelope recipients without <> */
	bool local_submission; /* non_smtpd_milters path or offloadctl */
};

/* cap on the header block (offloadctl: exit 65; the milter: 552 5.3.4) */
#define MSG_MAX_HEADER_BLOCK (1024 * 1024)

/* a message up to this size is spooled in memory only (DECISIONS.md §12) */
#define MSG_MEM_MAX (256 * 1024)

struct early;

struct msg {
	struct msg_env env;
	GPtrArray *headers;   /* struct msg_header * */
	char *spool_dir;
	GByteArray *mem;      /* the spool while in memory; NULL once in a file */
	char *spool_path;     /* NULL while in memory (see msg_spool_file) */
	FILE *spool;          /* open for writing while receiving */
	uint64_t body_offset; /* offset of the body in the spool */
	uint64_t size;        /* bytes in the spool */
	uint64_t max_size;    /* 0 = unlimited */
	bool too_big;         /* max_size exceeded: body no longer spooled */
	bool body_started;
	struct early *early;  /* early offload (early.h), NULL = none; msg_free ends it */
};

/* msg_new - empty message; its spool file in spool_dir (0600) is created
 * when the message outgrows MSG_MEM_MAX (a write error then), so this does
 * not fail today; err is kept for the callers' error paths */
struct msg *msg_new(const char *spool_dir, uint64_t max_size, GError **err);
/* msg_spool_file - path of the spool file, written and flushed; an
 * in-memory spool is moved to a file first. NULL (logged) on I/O error */
const char *msg_spool_file(struct msg *m);
/* msg_spool_mem - the whole spooled message while it is in memory, else NULL */
const GByteArray *msg_spool_mem(const struct msg *m);
void msg_free(struct msg *m); /* unlinks the spool; NULL ok */
void msg_env_clear(struct msg_env *e);
void msg_add_rcpt(struct msg *m, const char *addr); /* strips <> */
/* msg_add_header - normalises line ends inside the value to CRLF */
void msg_add_header(struct msg *m, const char *name, const char *value);
/* msg_write_body - append body bytes (CRLF already, as libmilter gives them);
 * writes the header block first on the first call; 0 or -1 (I/O error) */
int msg_write_body(struct msg *m, const void *buf, size_t len);
/* msg_finish - flush the spool (writes the header block for empty bodies) */
int msg_finish(struct msg *m);
/* msg_read_stream - offloadctl's intake: read a whole message from in,
 * drop a leading mbox "From " line, LF -> CRLF; *had_crlf tells whether the
 * input already used CRLF (so the output can follow the input) */
int msg_read_stream(struct msg *m, FILE *in, bool *had_crlf, GError **err);
/* msg_intake - where msg_read_stream_with hands on what it reads */
struct msg_intake {
	/* the header block is in m->headers: called once, before any body byte */
	void (*headers)(struct msg *m, void *arg);
	/* body bytes (CRLF), in blocks: msg_write_body when NULL (or early_body) */
	int (*body)(struct msg *m, const void *buf, size_t len, void *arg);
	void *arg;
};
/* msg_read_stream_with - msg_read_stream through mi (NULL: as msg_read_stream) */
int msg_read_stream_with(struct msg *m, FILE *in, const struct msg_intake *mi, bool *had_crlf,
	GError **err);
/* msg_header_get - value of the n-th (0-based) header called name, or NULL */
const char *msg_header_get(const struct msg *m, const char *name, int n);
/* msg_header_count - how many headers are called name (case-insensitive) */
int msg_header_count(const struct msg *m, const char *name);
/* msg_strip_value - a header value without leading/trailing white space and
 * with folding removed; g_malloc'ed */
char *msg_strip_value(const char *raw);

#endif
