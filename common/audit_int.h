/*
 * audit_int.h - what audit.c, audit_seal.c, audit_rotate.c and
 * audit_verify.c share (not for other modules; they use audit.h).
 */
#ifndef OFFLOAD_AUDIT_INT_H
#define OFFLOAD_AUDIT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <glib.h>

#include "audit.h"
#include "crypto.h"

#define AUDIT_CHAIN_HEX 32 /* hex characters of the chain value */
#define AUDIT_MAC_HEX 64   /* hex characters of a seal's MAC */
#define AUDIT_KEY_LEN 32   /* seed and epoch keys */

struct audit {
	char *path;                   /* NULL: audit log disabled */
	char *state_path;             /* path + ".state" */
	enum conf_audit_format format;
	enum conf_audit_personal personal;
	unsigned char pkey[CRYPTO_SHA256_LEN]; /* pseudonym key (pseudonymise only) */
	/* tail cache (audit_lock): the file as this handle left it */
	bool tail_ok;
	dev_t tail_dev;
	ino_t tail_ino;
	off_t tail_size;
	struct timespec tail_mtime;
	char tail_chain[AUDIT_CHAIN_HEX + 1];
	/* the log file kept open between events (audit_lock), -1: none; the
	 * device and inode it had when opened */
	int log_fd;
	dev_t log_dev;
	ino_t log_ino;
};

/* the state file next to the log (audit_seal.c): rotation and sealing */
struct audit_state {
	int fd;                 /* -1: no state file (sealing and rotation unused) */
	bool dirty, key_changed;
	uint64_t seq;           /* number of the current file (1 = first) */
	bool keyed;             /* sealing set up (audit keygen) */
	uint64_t epoch;         /* epoch of key */
	unsigned char key[AUDIT_KEY_LEN];
	int64_t interval;       /* seconds between interval seals */
	int64_t sealed;         /* unix time of the last seal */
	bool pending;           /* a file was closed; the next one starts with an open line */
	dev_t closed_dev;
	ino_t closed_ino;
	char head[AUDIT_CHAIN_HEX + 1]; /* chain value after the close line */
};

enum audit_op { AUDIT_OP_EVENT, AUDIT_OP_SEAL, AUDIT_OP_ROTATE };

GQuark audit_quark(void);
void audit_chain_hex(const unsigned char md[CRYPTO_SHA256_LEN], char out[AUDIT_CHAIN_HEX + 1]);
void audit_anchor(char out[AUDIT_CHAIN_HEX + 1]);
GString *audit_format_body(const struct audit *a, const struct audit_event *ev);
/* audit_append - the locked write of audit.c: ev (NULL ok) plus the lines
 * op asks for (seal_action names a SEAL's action) */
int audit_append(struct audit *a, const struct audit_event *ev, enum audit_op op,
	const char *seal_action);

/* audit_seal.c */
void audit_seal_key0(const unsigned char seed[AUDIT_KEY_LEN], unsigned char key[AUDIT_KEY_LEN]);
void audit_seal_evolve(unsigned char key[AUDIT_KEY_LEN]);
void audit_seal_mac(const unsigned char key[AUDIT_KEY_LEN], const char *prefix, size_t plen,
	const char *chain, char out[AUDIT_MAC_HEX + 1]);
/* audit_finish_line - body (every field but mac and chain) + mac (key not
 * NULL) + chain, appended to out; chain becomes the value for the next
 * line. Frees body. */
void audit_finish_line(const struct audit *a, GString *body, const unsigned char *key,
	char chain[AUDIT_CHAIN_HEX + 1], GString *out);
/* audit_state_lock - open (create: also when missing) and flock the state
 * file; s->fd = -1 when it does not exist and !create. 0 or -1 (*err) */
int audit_state_lock(const char *path, bool create, struct audit_state *s, GError **err);
int audit_state_read(const char *path, struct audit_state *s, GError **err); /* no lock */
int audit_state_save(struct audit_state *s, GError **err);
void audit_state_close(struct audit_state *s); /* unlocks, wipes the key */
void audit_own(int fd); /* root: chown to the offload user if it exists */

/* audit_rotate.c: the extra lines around an event (audit_append) */
void audit_lines_before(const struct audit *a, struct audit_state *s, const struct stat *st,
	enum audit_op op, const char *seal_action, char chain[AUDIT_CHAIN_HEX + 1], GString *out,
	bool *reclose);
void audit_lines_after(const struct audit *a, struct audit_state *s, const struct stat *st,
	char chain[AUDIT_CHAIN_HEX + 1], GString *out);

#endif
