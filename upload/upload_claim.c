/*
 * upload_claim.c - one commit of a reply at a time, across the processes and
 * nodes that share the store (FORMATS.md §6.6, §6.8). Before it copies a
 * file or writes a side object, a commit creates the once marker
 * "<id>/ocommit" with create-if-absent (storage_create: file link(2), S3 and
 * WebDAV If-None-Match / Overwrite: F); only the commit that created it goes
 * on, another one answers 503 "busy" (or the sent answer, once it is there).
 * A commit that fails before its mail went (incomplete, store error, mail
 * refused) deletes its marker, so the reply can be committed again; one
 * that succeeds leaves it with the new transfer.
 *
 * A commit that died before its manifest leaves its marker: once the
 * marker is older than a commit may take (the lease: [notify] timeout +
 * UPLOAD_COMMIT_MARGIN + 1 s per UPLOAD_COMMIT_RATE bytes of the reply, for
 * the copies), the next commit creates the next generation "<id>/ocommit1",
 * 2, ... instead, again create-if-absent, so of several that find it stale
 * one takes over. A commit still running after its lease may be taken over
 * (two mails, the bound of this scheme). See upload_int.h.
 */
#include <inttypes.h>
#include <stdio.h>
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

int
upload_commit_claim(struct upload *u, const char *id, const struct tus_group *g, unsigned *gen)
{
	int64_t now = (int64_t)time(NULL);
	int64_t lease = (int64_t)u->c->notify_timeout + UPLOAD_COMMIT_MARGIN +
		(int64_t)(g->total / UPLOAD_COMMIT_RATE);

	for (unsigned k = 0; k < UPLOAD_CLAIM_GENERATIONS; k++) {
		char ev[24], key[64];
		int64_t mtime = 0;
		int rc;

		claim_event(ev, sizeof ev, k);
		rc = transfer_once_claim(u->st, &u->dk, id, ev, now);
		if (rc == 1) {
			*gen = k;
			if (k > 0)
				log_warning("upload %s: the commit of claim %u died before its manifest "
					"(older than %" PRId64 " s); taken over", id, k - 1, lease);
			return 1;
		}
		if (rc < 0)
			return rc;
		transfer_once_key(key, sizeof key, id, ev);
		rc = storage_stat(u->st, key, NULL, &mtime);
		if (rc == STORAGE_ENOENT)
			return 0; /* released just now: the client asks again */
		if (rc != STORAGE_OK)
			return rc;
		if (mtime > now - lease)
			return 0; /* a commit that is still running */
	}
	log_error("upload %s: %u commits died before their manifest; not committed", id,
		UPLOAD_CLAIM_GENERATIONS);
	return STORAGE_ETEMP;
}

void
upload_commit_release(struct upload *u, const char *id, unsigned gen)
{
	char ev[24], key[64];
	int rc;

	claim_event(ev, sizeof ev, gen);
	transfer_once_key(key, sizeof key, id, ev);
	rc = storage_delete(u->st, key);
	if (rc != STORAGE_OK && rc != STORAGE_ENOENT)
		log_warning("upload %s: cannot delete %s (%s): the reply can be committed again once "
			"that is older than a commit may take", id, key, storage_strerror(rc));
}
