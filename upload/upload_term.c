/*
 * upload_term.c - the end of a reply that is not the commit: the files of a
 * sent reply as its group state's sent form records them (what HEAD, PATCH
 * and creation answer once it is sent), and tus termination (DELETE) of one
 * file or of the whole reply while it is not sent. See upload_int.h.
 * A terminated reply still counts as a use of its link (its marker
 * "<src>/y<n>" stays).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "upload_int.h"

bool
upload_sent_file(const struct tus_group *g, uint32_t n, struct tus_file *f)
{
	memset(f, 0, sizeof *f);
	if (g->sent == NULL || n >= g->count)
		return false;
	f->index = n;
	f->length = f->offset = g->sent[n].length;
	f->state = g->sent[n].state;
	if (g->sent[n].why[0] != '\0') /* HEAD's Offload-Refused */
		f->detail = g_strdup(g->sent[n].why);
	return true;
}

/* remove_file - file n of id (its state may be missing: then only what it
 * left); 0, 404 (no state and not all) or 503 */
static unsigned
remove_file(struct upload *u, const char *id, uint32_t n, bool all)
{
	struct tus_file f;
	int st = transfer_tus_file_get(u->st, &u->dk, id, n, &f);

	if (st == STORAGE_ENOENT && !all)
		return 404;
	if (st != STORAGE_OK && st != STORAGE_ENOENT)
		return 503;
	f.index = n; /* a missing state: no multipart upload, objects and parts alone */
	st = transfer_tus_file_remove(u->st, id, &f);
	transfer_tus_file_clear(&f);
	return st == STORAGE_OK ? 0 : 503;
}

enum MHD_Result
upload_handle_delete(struct upload *u, struct MHD_Connection *conn, const char *src,
	const char *id, bool all, uint32_t n)
{
	struct tus_group g = { 0 };
	enum MHD_Result rc = MHD_YES;
	int64_t expires;
	unsigned status = 0;

	if (upload_auth(u, conn, src, &expires, &rc) != 0 || !upload_group(u, conn, src, id, &g, &rc))
		goto out;
	if (g.sent != NULL) {
		rc = upload_json_error(conn, 409, "sent", "This reply has been sent already.");
		goto out;
	}
	if (!all)
		status = n < g.count ? remove_file(u, id, n, false) : 404;
	for (uint32_t i = 0; all && status == 0 && i < g.count; i++)
		status = remove_file(u, id, i, true);
	if (all && status == 0 && transfer_tus_cleanup(u->st, id, TUS_CLEAN_ALL) != STORAGE_OK)
		status = 503;
	if (status != 0) {
		rc = upload_json_error(conn, status, status == 404 ? "not-found" : "unavailable", NULL);
		goto out;
	}
	if (all)
		log_info("upload %s: reply to %s withdrawn by the client", id, src);
	else
		log_info("upload %s: file %u withdrawn by the client", id, n);
	rc = upload_send(conn, 204, NULL, "", 0, NULL);
out:
	transfer_tus_group_clear(&g);
	return rc;
}
