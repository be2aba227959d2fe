/*
 * upload_claim.c - one commit of a reply at a time, across the processes and
 * nodes that share the store (FORMATS.md §6.6, §6.8). Before it copies a
 * file or writes a side object, a commit creates a once marker "<id>/ocommit"
 * (generation 0) or "<id>/ocommit<k>" with create-if-absent (storage_create:
 * file link(2), S3 and WebDAV If-None-Match / Overwrite: F); only the commit
 * that created it goes on, another one answers 503 "busy" (or the sent
 * answer, once it is there). A commit that fails before its mail went
 * (incomplete, store error, mail refused) deletes its marker, so the reply
 * can be committed again; one that succeeds leaves it with the new transfer.
 *
 * The lease: a marker whose store mtime is older than a commit may take
 * ([notify] timeout + UPLOAD_COMMIT_MARGIN + 1 s per UPLOAD_COMMIT_RATE bytes
 * of the reply) is a commit that died. The holder renews it (rewrites it, so
 * its mtime is now) before each long step: each copy of a file, the
 * manifest, the mail (upload_commit_renew); so a live commit is not taken
 * over unless one step alone outlasts the lease. A commit that finds the
 * newest marker stale creates the next generation (create-if-absent, so of
 * several one wins), then looks at the stale one again: renewed meanwhile,
 * its holder is alive and it gives way (deletes its own, 503 busy). The
 * holder, after each renewal, looks for a newer generation: there is one,
 * it lost its claim and stops before its next step, so before its mail.
 * Of a renewal (write, then list) and a take-over (create, then stat) at the
 * same moment at least one sees the other, so two commits never both go on
 * to their mail on a store whose writes are seen at once by later reads
 * (file, S3, nginx WebDAV; not Swift's s3api, which also has no atomic
 * create-if-absent). See upload_int.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "transfer_notify.h"
#include "upload_int.h"

#define UPLOAD_COMMIT_RATE (4ull << 20)   /* bytes/s the lease allows for the copies */
#define UPLOAD_CLAIM_GENERATIONS 32u

static void
claim_event(char *ev, size_t cap, unsigned gen)
{
	if (gen == 0)
		snprintf(ev, cap, "commit");
	else
		snprintf(ev, cap, "commit%u", gen);
}

static void
claim_key(char *key, size_t cap, const char *id, unsigned gen)
{
	char ev[24];

	claim_event(ev, sizeof ev, gen);
	transfer_once_key(key, cap, id, ev);
}

/* gen_collect - the generation of a listed "<id>/ocommit[<k>]" into *newest */
static int
gen_collect(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	const char *p = strrchr(key, '/');
	int *newest = arg;
	unsigned k = 0;

	(void)size;
	(void)mtime;
	p = p != NULL ? p + 1 : key;
	if (strncmp(p, "ocommit", 7) != 0)
		return 0;
	p += 7;
	if (*p != '\0') {
		if (*p == '0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 2)
			return 0;
		k = (unsigned)g_ascii_strtoull(p, NULL, 10);
		if (k >= UPLOAD_CLAIM_GENERATIONS)
			return 0;
	}
	if ((int)k > *newest)
		*newest = (int)k;
	return 0;
}

/* newest_gen - the newest generation of id's commit markers (-1: none) */
static int
newest_gen(struct upload *u, const char *id, int *newest)
{
	char prefix[64];

	*newest = -1;
	claim_key(prefix, sizeof prefix, id, 0);
	return storage_list(u->st, prefix, gen_collect, newest);
}

/* take_over - create generation k over h, stale at mtime m; 1, 0 (gave way), or an error */
static int
take_over(struct upload *u, const char *id, unsigned k, int h, int64_t m, int64_t now,
	int64_t lease)
{
	char ev[24], key[64];
	int64_t m2 = 0;
	int rc;

	claim_event(ev, sizeof ev, k);
	rc = transfer_once_claim(u->st, &u->dk, id, ev, now);
	if (rc != 1 || h < 0)
		return rc; /* 0: another commit created it just now */
	claim_key(key, sizeof key, id, (unsigned)h);
	rc = storage_stat(u->st, key, NULL, &m2);
	if (rc == STORAGE_OK && m2 != m) { /* renewed meanwhile: its commit is alive */
		upload_commit_release(u, id, k);
		return 0;
	}
	if (rc != STORAGE_OK && rc != STORAGE_ENOENT) {
		upload_commit_release(u, id, k);
		return rc;
	}
	log_warning("upload %s: the commit of claim %d did not renew it for %" PRId64 " s (its "
		"lease); taken over", id, h, lease);
	return 1;
}

int
upload_commit_claim(struct upload *u, const char *id, const struct tus_group *g, unsigned *gen)
{
	int64_t now = (int64_t)time(NULL), m = 0;
	int64_t lease = (int64_t)u->c->notify_timeout + UPLOAD_COMMIT_MARGIN +
		(int64_t)(g->total / UPLOAD_COMMIT_RATE);
	int h, rc = newest_gen(u, id, &h);

	if (rc != STORAGE_OK)
		return rc;
	if (h >= 0) {
		char key[64];

		claim_key(key, sizeof key, id, (unsigned)h);
		rc = storage_stat(u->st, key, NULL, &m);
		if (rc == STORAGE_ENOENT)
			return 0; /* released just now: the client asks again */
		if (rc != STORAGE_OK)
			return rc;
		if (m > now - lease)
			return 0; /* a commit that is still running */
	}
	if (h + 1 >= (int)UPLOAD_CLAIM_GENERATIONS) {
		log_error("upload %s: %u commits died before their manifest; not committed", id,
			UPLOAD_CLAIM_GENERATIONS);
		return STORAGE_ETEMP;
	}
	rc = take_over(u, id, (unsigned)(h + 1), h, m, now, lease);
	if (rc == 1)
		*gen = (unsigned)(h + 1);
	return rc;
}

int
upload_commit_renew(struct upload *u, const char *id, unsigned gen, const char *step)
{
	unsigned char b[TRANSFER_ONCE_LEN];
	char ev[24], key[64];
	int h, rc;

	upload_hold(u, "commit-%s", step);
	claim_event(ev, sizeof ev, gen);
	claim_key(key, sizeof key, id, gen);
	if (transfer_once_encode(&u->dk, id, ev, (int64_t)time(NULL), b) != 0)
		return STORAGE_EPERM;
	rc = storage_put_buffer(u->st, key, b, sizeof b);
	if (rc == STORAGE_OK)
		rc = newest_gen(u, id, &h);
	if (rc != STORAGE_OK) {
		log_error("upload %s: the commit's claim %s not renewed before the %s (%s)", id, key, step,
			storage_strerror(rc));
		return rc;
	}
	if (h > (int)gen) {
		log_warning("upload %s: the commit of claim %u was taken over (claim %d) before the %s; "
			"it stops there, without its mail", id, gen, h, step);
		return 0;
	}
	return 1;
}

void
upload_commit_release(struct upload *u, const char *id, unsigned gen)
{
	char key[64];
	int rc;

	claim_key(key, sizeof key, id, gen);
	rc = storage_delete(u->st, key);
	if (rc != STORAGE_OK && rc != STORAGE_ENOENT)
		log_warning("upload %s: cannot delete %s (%s): the reply can be committed again once "
			"that is older than a commit may take", id, key, storage_strerror(rc));
}
