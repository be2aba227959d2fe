/*
 * audit_rotate.c - rotation and seal lines of the audit log (offload.conf(5)
 * AUDIT LOG). `offloadctl audit rotate` (logrotate's prerotate; never a
 * signal) ends the current file with
 *   event=rotate action=close seq=N [epoch=E mac=…] chain=…
 * and records in the state that file's device and inode and the chain value
 * after that line. The next line written to a new (empty) file at the path
 * starts it with
 *   event=rotate action=open seq=N+1 previous=N chain=<hash of the close line>
 * so the chain runs on across files and `audit verify A B C` sees a missing
 * file. A writer that still finds the closed file at the path (logrotate has
 * not renamed it yet) appends its line and closes the file again, so a
 * closed file always ends with a close line.
 * With sealing set up (audit_seal.c) a seal line
 *   event=seal action=interval|manual|keygen epoch=E mac=… chain=…
 * goes before the first event once the state's interval has passed since
 * the last seal, and every close line is a seal too.
 * Called with the state and the log locked (audit.c audit_append).
 */
#include "audit_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* audit_seal_line - a line of event ev sealed under the state's key, which
 * then evolves (the old key is overwritten when the state is saved) */
static void
audit_seal_line(const struct audit *a, struct audit_state *s, struct audit_event *ev,
	char chain[AUDIT_CHAIN_HEX + 1], GString *out)
{
	char epoch[24];

	snprintf(epoch, sizeof epoch, "%" PRIu64, s->epoch);
	ev->epoch = epoch;
	audit_finish_line(a, audit_format_body(a, ev), s->key, chain, out);
	audit_seal_evolve(s->key);
	s->epoch++;
	s->sealed = (int64_t)time(NULL);
	s->dirty = s->key_changed = true;
}

void
audit_lines_before(const struct audit *a, struct audit_state *s, const struct stat *st,
	enum audit_op op, const char *seal_action, char chain[AUDIT_CHAIN_HEX + 1], GString *out,
	bool *reclose)
{
	struct audit_event ev = { .event = "seal", .size = -1 };
	char seq[24], prev[24];

	*reclose = false;
	if (s->fd < 0)
		return;
	if (s->pending && st->st_size == 0) {
		/* a new file after a rotation: continue the chain from the close line */
		struct audit_event open = { .event = "rotate", .action = "open", .size = -1 };

		snprintf(prev, sizeof prev, "%" PRIu64, s->seq);
		snprintf(seq, sizeof seq, "%" PRIu64, s->seq + 1);
		open.seq = seq;
		open.previous = prev;
		memcpy(chain, s->head, AUDIT_CHAIN_HEX + 1);
		audit_finish_line(a, audit_format_body(a, &open), NULL, chain, out);
		s->seq++;
		s->pending = false;
		s->dirty = true;
	} else if (s->pending && st->st_dev == s->closed_dev && st->st_ino == s->closed_ino) {
		*reclose = op != AUDIT_OP_ROTATE; /* still at the path: close it again after us */
	} else if (s->pending) {
		log_error("audit log %s: closed, but the next file is not empty: not continued",
			a->path);
		s->pending = false;
		s->dirty = true;
	}
	if (!s->keyed || op == AUDIT_OP_ROTATE)
		return;
	if (op == AUDIT_OP_SEAL || (s->interval > 0 && (int64_t)time(NULL) >= s->sealed + s->interval)) {
		ev.action = op == AUDIT_OP_SEAL ? seal_action : "interval";
		audit_seal_line(a, s, &ev, chain, out);
	}
}

void
audit_lines_after(const struct audit *a, struct audit_state *s, const struct stat *st,
	char chain[AUDIT_CHAIN_HEX + 1], GString *out)
{
	struct audit_event ev = { .event = "rotate", .action = "close", .size = -1 };
	char seq[24];

	snprintf(seq, sizeof seq, "%" PRIu64, s->seq);
	ev.seq = seq;
	if (s->keyed)
		audit_seal_line(a, s, &ev, chain, out);
	else
		audit_finish_line(a, audit_format_body(a, &ev), NULL, chain, out);
	s->pending = true;
	s->closed_dev = st->st_dev;
	s->closed_ino = st->st_ino;
	memcpy(s->head, chain, AUDIT_CHAIN_HEX + 1);
	s->dirty = true;
}

static int
audit_need_log(const struct audit *a, GError **err)
{
	if (a != NULL && a->path != NULL)
		return 0;
	g_set_error(err, audit_quark(), 1, "no audit log configured ([audit] path is empty)");
	return -1;
}

int
audit_rotate(struct audit *a, GError **err)
{
	if (audit_need_log(a, err) < 0)
		return -1;
	if (audit_append(a, NULL, AUDIT_OP_ROTATE, NULL) < 0) {
		g_set_error(err, audit_quark(), 1, "audit log %s: rotation failed (see the log)", a->path);
		return -1;
	}
	return 0;
}

int
audit_seal(struct audit *a, GError **err)
{
	struct audit_state s;

	if (audit_need_log(a, err) < 0)
		return -1;
	if (audit_state_read(a->state_path, &s, NULL) < 0 || !s.keyed) {
		audit_state_close(&s);
		g_set_error(err, audit_quark(), 1, "audit log %s: sealing is not set up "
			"(offloadctl audit keygen)", a->path);
		return -1;
	}
	audit_state_close(&s);
	if (audit_append(a, NULL, AUDIT_OP_SEAL, "manual") < 0) {
		g_set_error(err, audit_quark(), 1, "audit log %s: sealing failed (see the log)", a->path);
		return -1;
	}
	return 0;
}

int
audit_keygen(struct audit *a, int64_t interval, bool force, unsigned char seed[32], GError **err)
{
	struct audit_state s;
	int rc = -1;

	if (audit_need_log(a, err) < 0 || audit_state_lock(a->state_path, true, &s, err) < 0)
		return -1;
	if (s.keyed && !force) {
		g_set_error(err, audit_quark(), 1, "audit log %s: sealing is set up already "
			"(--force starts anew; seals before it then need the old seed)", a->path);
		goto out;
	}
	if (crypto_random(seed, 32) < 0) {
		g_set_error(err, audit_quark(), 1, "audit keygen: no random bytes");
		goto out;
	}
	audit_seal_key0(seed, s.key);
	s.keyed = true;
	s.epoch = 0;
	s.interval = interval;
	s.sealed = (int64_t)time(NULL);
	s.key_changed = true;
	if (audit_state_save(&s, err) < 0)
		goto out;
	audit_state_close(&s);
	/* the first seal: epoch 0, over everything written before */
	if (audit_append(a, NULL, AUDIT_OP_SEAL, "keygen") < 0) {
		g_set_error(err, audit_quark(), 1, "audit log %s: the first seal failed (see the log)",
			a->path);
		return -1;
	}
	return 0;
out:
	audit_state_close(&s);
	return rc;
}
