/*
 * upload_resend.c - a file whose stored parts are lost or damaged when it
 * completes goes back to the client, the tus way (409 "parts", Upload-Offset
 * at the first part that may be bad), at most [upload] resends times; the
 * next time it is refused for good as "damaged", like a file the commit
 * finds damaged (FORMATS.md §6.6), so a store that damages every part does
 * not keep a client sending for ever. And the test hold (upload_hold).
 * See upload_int.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "log.h"
#include "upload_int.h"

void
upload_hold(struct upload *u, const char *fmt, ...)
{
	va_list ap;
	char *name, *path, *held;

	if (u->test_hold == NULL)
		return;
	va_start(ap, fmt);
	name = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	path = g_build_filename(u->test_hold, name, NULL);
	held = g_strconcat(path, ".held", NULL);
	if (g_file_test(path, G_FILE_TEST_EXISTS)) {
		(void)g_file_set_contents(held, "", 0, NULL);
		for (int i = 0; i < 3000 && g_file_test(path, G_FILE_TEST_EXISTS); i++)
			g_usleep(20000);
		(void)g_unlink(held);
	}
	g_free(held);
	g_free(path);
	g_free(name);
}

/* drop_data - the refused file's multipart upload, object and parts (its
 * state, refused, is written): nothing of it stays but that state */
static void
drop_data(struct upload *u, const char *id, uint32_t index, char *mpu)
{
	char key[64];
	int rc;

	snprintf(key, sizeof key, "%s/%" PRIu32, id, index);
	if (mpu != NULL) /* completed (the join) or not: nothing to keep; purge takes one left */
		(void)storage_mpu_abort(u->st, key, mpu);
	rc = storage_delete(u->st, key);
	if (rc == STORAGE_OK || rc == STORAGE_ENOENT)
		rc = transfer_tus_parts_delete(u->st, id, index);
	if (rc != STORAGE_OK && rc != STORAGE_ENOENT)
		log_warning("upload %s: file %" PRIu32 " refused, but its stored data is not all deleted "
			"(%s); the commit or purge deletes it", id, index, storage_strerror(rc));
}

/* refuse_damaged - the file was sent back [upload] resends times and a part
 * is bad again: refused for good, "damaged" */
static enum MHD_Result
refuse_damaged(struct upload *u, struct MHD_Connection *conn, struct ureq *rq)
{
	struct tus_file *f = &rq->file;
	char *mpu, *reasons, *body;
	const char *h[] = { "Offload-State", "refused", "Offload-Refused", "damaged", NULL };
	struct audit_event ev = { .event = "upload", .file = f->name, .size = (int64_t)f->length,
		.action = "reject", .transfer = rq->id, .from = "reply-link" };
	enum MHD_Result rc;

	mpu = transfer_tus_mpu_detach(f); /* aborted below, after the state no longer names it */
	f->state = TUS_REFUSED;
	f->offset = f->length;
	g_free(f->detail);
	f->detail = g_strdup("damaged");
	if (transfer_tus_file_put(u->st, &u->dk, rq->id, f) != STORAGE_OK) {
		g_free(mpu);
		return upload_json_error(conn, 503, "unavailable", NULL);
	}
	drop_data(u, rq->id, f->index, mpu);
	g_free(mpu);
	reasons = g_strdup_printf("damaged:parts lost or damaged %" PRIu32 " times", f->resent + 1);
	ev.reasons = reasons;
	audit_write(u->audit, &ev);
	log_warning("upload %s: file %u: a stored part is missing or damaged again, after the file "
		"was sent again %" PRIu32 " times; refused as damaged", rq->id, f->index, f->resent);
	body = g_strdup_printf("{\"error\":\"damaged\",\"message\":\"The file could not be stored: "
		"its stored parts were damaged again after it was sent %" PRIu32 " more times. It was "
		"not taken; send it again in a new reply.\"}", f->resent);
	rc = upload_send(conn, 422, "application/json", body, strlen(body), h);
	g_free(body);
	g_free(reasons);
	return rc;
}

enum MHD_Result
upload_resend_from(struct upload *u, struct MHD_Connection *conn, struct ureq *rq, uint64_t from)
{
	char off[32], *body;
	const char *h[] = { "Upload-Offset", off, NULL };
	enum MHD_Result rc;

	if (rq->file.resent >= u->c->upload_resends)
		return refuse_damaged(u, conn, rq);
	rq->file.resent++;
	if (transfer_tus_rewind(u->st, rq->id, &rq->file, from) != STORAGE_OK ||
	    transfer_tus_file_put(u->st, &u->dk, rq->id, &rq->file) != STORAGE_OK)
		return upload_json_error(conn, 503, "unavailable", NULL);
	log_warning("upload %s: file %u: a stored part is missing or damaged; the file is sent "
		"again from offset %" PRIu64 " (%" PRIu32 " of %" PRIu64 " times)", rq->id,
		rq->file.index, rq->file.offset, rq->file.resent, u->c->upload_resends);
	snprintf(off, sizeof off, "%" PRIu64, rq->file.offset);
	body = g_strdup_printf("{\"error\":\"parts\",\"message\":\"A stored part of the file was "
		"damaged; send the file again from byte %" PRIu64 " (Upload-Offset).\"}", rq->file.offset);
	rc = upload_send(conn, 409, "application/json", body, strlen(body), h);
	g_free(body);
	return rc;
}
