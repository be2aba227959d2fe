/*
 * upload_finish.c - the end of a file (join, clamd scan, at once in the
 * answer to its last PATCH) and the end of a reply (the new transfer's
 * manifest, last, then the mail to the sender, then the upload state goes).
 * See upload_int.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-glib/json-glib.h>

#include "archive_hook.h"
#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "notify_reply.h"
#include "scan_clamd.h"
#include "transfer.h"
#include "upload_int.h"

static int
scan_out(void *arg, const void *buf, size_t len)
{
	scan_clamd_write(arg, buf, len);
	return 0;
}

static void
audit_file(struct upload *u, const struct ureq *rq, const char *reasons, const char *action)
{
	struct audit_event ev = { .event = "scan", .file = rq->file.name,
		.size = (int64_t)rq->file.length, .sha256 = rq->file.sha256, .reasons = reasons,
		.action = action, .transfer = rq->id, .from = "reply-link" };

	audit_write(u->audit, &ev);
}

/* refuse - the file is out: its object goes, its state says why */
static enum MHD_Result
refuse(struct upload *u, struct MHD_Connection *conn, struct ureq *rq, const char *code,
	const char *detail)
{
	char key[64], *text;
	enum MHD_Result rc;

	snprintf(key, sizeof key, "%s/%u", rq->id, rq->file.index);
	storage_delete(u->st, key);
	rq->file.state = TUS_REFUSED;
	g_free(rq->file.detail); /* the verdict first: the clerk's mail tells malware from "not checked" */
	rq->file.detail = g_strdup_printf("%s%s%s", code, detail ? ":" : "", detail ? detail : "");
	transfer_tus_file_put(u->st, &u->dk, rq->id, &rq->file);
	text = strcmp(code, "infected") == 0 ?
		g_strdup_printf("The file was refused: malware found (the virus scanner found %s in it).",
			detail ? detail : "malware") :
		g_strdup_printf("The file was refused: it could not be checked for malware "
			"(the virus scanner could not scan it: %s).", detail ? detail : "over its limits");
	rc = upload_json_error(conn, 422, code, text);
	g_free(text);
	return rc;
}

enum MHD_Result
upload_file_complete(struct upload *u, struct MHD_Connection *conn, struct ureq *rq)
{
	const struct conf *c = u->c;
	struct scan_clamd *s = scan_clamd_begin(c->scan_clamd_socket, (unsigned)c->scan_timeout);
	enum scan_verdict v;
	char *detail = NULL, *reasons;
	enum MHD_Result rc;
	uint64_t resend = 0;
	int st;

	upload_hold(u, "join%ur%u", rq->file.index, rq->file.resent);
	st = transfer_tus_join(u->st, rq->id, &rq->file, scan_out, s, &resend);
	if (st != STORAGE_OK) {
		scan_clamd_discard(s);
		return st == STORAGE_EPERM ? upload_resend_from(u, conn, rq, resend) :
			upload_json_error(conn, 503, "unavailable", NULL);
	}
	v = scan_clamd_finish(s, &detail);
	reasons = g_strdup_printf("%s%s%s", scan_verdict_name(v), detail ? ":" : "", detail ? detail : "");
	if (v == SCAN_INFECTED) {
		audit_file(u, rq, reasons, "reject");
		log_warning("upload %s: file %u infected (%s): refused", rq->id, rq->file.index, detail);
		rc = refuse(u, conn, rq, "infected", detail);
		goto out;
	}
	if (v == SCAN_UNSCANNABLE && strcmp(c->scan_on_unscannable, "accept-marked") != 0) {
		audit_file(u, rq, reasons, "reject");
		rc = refuse(u, conn, rq, "unscannable", detail);
		goto out;
	}
	if (v == SCAN_UNAVAILABLE && strcmp(c->scan_on_unavailable, "accept-marked") != 0) {
		char key[64];

		audit_file(u, rq, reasons, "tempfail");
		snprintf(key, sizeof key, "%s/%u", rq->id, rq->file.index);
		/* the parts stay: the client sends the last chunk again; a completed
		 * multipart upload keeps its object (the join finds it again) */
		if (rq->file.mpu == NULL)
			storage_delete(u->st, key);
		rc = upload_json_error(conn, 503, "scan-unavailable",
			"The virus scanner is not available; the upload continues when you try again.");
		goto out;
	}
	audit_file(u, rq, reasons, v == SCAN_CLEAN ? "pass" : "accept-marked");
	rq->file.state = TUS_DONE;
	if (v != SCAN_CLEAN) { /* accept-marked: the clerk's mail says so (FORMATS.md §6.6 detail) */
		g_free(rq->file.detail);
		rq->file.detail = g_strdup_printf("unscanned:%s", reasons);
	}
	if (transfer_tus_file_put(u->st, &u->dk, rq->id, &rq->file) != STORAGE_OK) {
		rc = upload_json_error(conn, 503, "unavailable", NULL);
		goto out;
	}
	(void)transfer_tus_parts_delete(u->st, rq->id, rq->file.index); /* else at the commit */
	{
		char off[32];
		const char *h[] = { "Upload-Offset", off, "Offload-State", "done", NULL };

		snprintf(off, sizeof off, "%" PRIu64, rq->file.offset);
		rc = upload_send(conn, 204, NULL, "", 0, h);
	}
out:
	g_free(reasons);
	g_free(detail);
	return rc;
}

/* ---- commit ----------------------------------------------------------------- */

/* refused_into - a refused file f: its name into ri by its verdict (malware
 * found, not checked, damaged), its verdict into its sent record s */
static void
refused_into(struct notify_reply_info *ri, struct tus_sent *s, const struct tus_file *f)
{
	const char *why = transfer_tus_refused_why(f->detail);

	g_ptr_array_add(strcmp(why, "damaged") == 0 ? ri->damaged :
		strcmp(why, "infected") == 0 ? ri->refused : ri->unchecked, g_strdup(f->name));
	s->state = TUS_REFUSED;
	g_strlcpy(s->why, why, sizeof s->why);
}

/* take_file - f (done) into t; with a claim (gen >= 0) copied to its
 * position's object, the claim renewed first. 0, UPLOAD_DAMAGED (f is lost
 * for good: out of t again, refused as "damaged" in its state, so a
 * repeated commit knows), UPLOAD_LOST (the claim was taken over), or 503 */
static unsigned
take_file(struct upload *u, const char *id, struct transfer *t, struct tus_file *f, int gen)
{
	struct transfer_file *tf = g_new0(struct transfer_file, 1);
	char step[24];
	int st;

	tf->index = t->files->len; /* = f->index unless a file before was refused */
	tf->name = g_strdup(f->name);
	tf->type = g_strdup("application/octet-stream");
	tf->size = f->length;
	g_strlcpy(tf->sha256, f->sha256, sizeof tf->sha256);
	memcpy(tf->key, f->key, sizeof tf->key);
	g_ptr_array_add(t->files, tf);
	if (gen < 0 || tf->index == f->index)
		return 0;
	snprintf(step, sizeof step, "copy%u", tf->index);
	st = upload_commit_renew(u, id, (unsigned)gen, step);
	if (st != 1)
		return st == 0 ? UPLOAD_LOST : 503;
	st = upload_renumber(u->st, id, f, tf->index, tf->key);
	if (st != UPLOAD_DAMAGED)
		return st == STORAGE_OK ? 0 : 503; /* logged */
	g_ptr_array_remove_index(t->files, t->files->len - 1);
	f->state = TUS_REFUSED;
	g_free(f->detail);
	f->detail = g_strdup("damaged");
	return transfer_tus_file_put(u->st, &u->dk, id, f) == STORAGE_OK ? UPLOAD_DAMAGED : 503;
}

/* collect - the files of the reply into t (done), the names refused (malware
 * found, not checked, damaged) and accepted unscanned into ri, g->sent (the
 * answer's record); with the commit's claim gen (>= 0) the files after a
 * refused one copied to their positions' objects; 0 or the status */
static unsigned
collect(struct upload *u, const char *id, struct tus_group *g, struct transfer *t,
	struct notify_reply_info *ri, int gen)
{
	for (uint32_t i = 0; i < g->count; i++) {
		struct tus_file f;
		int st = transfer_tus_file_get(u->st, &u->dk, id, i, &f);
		unsigned status = 0;

		if (st != STORAGE_OK)
			return st == STORAGE_ENOENT ? 409 : 503;
		g->sent[i] = (struct tus_sent){ f.length, f.state, "" };
		if (f.state == TUS_OPEN)
			status = 409;
		else if (f.state == TUS_DONE)
			status = take_file(u, id, t, &f, gen);
		if (f.state == TUS_REFUSED)
			refused_into(ri, &g->sent[i], &f);
		else if (status == 0 && f.detail != NULL && g_str_has_prefix(f.detail, "unscanned"))
			g_ptr_array_add(ri->unscanned, g_strdup(f.name));
		transfer_tus_file_clear(&f);
		if (status != 0 && status != UPLOAD_DAMAGED)
			return status;
	}
	return t->files->len > 0 ? 0 : 422;
}

/* reply_address - the sender of src from "<src>/r", opened with the request's
 * token, or the clerk of a standalone upload link "<src>/l" (*note set) */
static char *
reply_address(struct upload *u, struct MHD_Connection *conn, const char *src, char **note)
{
	const char *t = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Offload-Reply-Token");
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN];
	char *to = NULL;
	int st = STORAGE_EPERM;

	*note = NULL;
	if (t != NULL && enc_b64url_decode(t, tok, sizeof tok) == (long)sizeof tok)
		st = transfer_reply_to(u->st, src, tok, &to);
	crypto_wipe(tok, sizeof tok);
	if (st == STORAGE_ENOENT)
		to = upload_link_address(u, src, t, note);
	return to;
}

/* damaged_list - ',"damaged":[n,...]' for the files of g refused as damaged, nothing if none */
static void
damaged_list(GString *s, const struct tus_group *g)
{
	bool any = false;

	for (uint32_t i = 0; i < g->count; i++) {
		if (g->sent[i].state != TUS_REFUSED || strcmp(g->sent[i].why, "damaged") != 0)
			continue;
		g_string_append_printf(s, "%s%" PRIu32, any ? "," : ",\"damaged\":[", i);
		any = true;
	}
	if (any)
		g_string_append_c(s, ']');
}

/* commit_answer - {"state":"sent","files":F,"refused":R} from the sent record,
 * and "damaged":[n,...] when files were refused as damaged at the commit */
static enum MHD_Result
commit_answer(struct MHD_Connection *conn, const struct tus_group *g)
{
	unsigned files = 0, refused = 0;
	GString *s = g_string_new(NULL);
	enum MHD_Result rc;

	for (uint32_t i = 0; i < g->count; i++)
		g->sent[i].state == TUS_DONE ? files++ : refused++;
	g_string_printf(s, "{\"state\":\"sent\",\"files\":%u,\"refused\":%u", files, refused);
	damaged_list(s, g);
	g_string_append_c(s, '}');
	rc = upload_send(conn, 200, "application/json", s->str, s->len, NULL);
	g_string_free(s, TRUE);
	return rc;
}

/* commit_record - the reply is sent: the group state becomes its sent form
 * (the answer to a repeated commit), then parts and file states go. A
 * failure keeps the full state: a repeated commit finds the manifest. */
static void
commit_record(struct upload *u, const char *id, const struct tus_group *g)
{
	uint32_t done = 0;

	if (transfer_tus_group_put(u->st, &u->dk, id, g) != STORAGE_OK) {
		log_error("upload %s: sent, but the sent record was not stored; the state stays", id);
		transfer_tus_cleanup(u->st, id, TUS_CLEAN_PARTS);
		return;
	}
	transfer_tus_cleanup(u->st, id, TUS_CLEAN_FILES);
	for (uint32_t i = 0; i < g->count; i++)
		done += g->sent[i].state == TUS_DONE;
	for (uint32_t i = done; i < g->count; i++) { /* the sources of renumbered files (upload_renumber.c) */
		char key[64];

		snprintf(key, sizeof key, "%s/%" PRIu32, id, i);
		(void)storage_delete(u->st, key);
	}
}

/* commit_transfer - t from the group, manifest last, then the mail, the claim
 * gen renewed before each; 0 or the status (UPLOAD_LOST: taken over, no mail) */
static unsigned
commit_transfer(struct upload *u, const struct tus_group *g, struct transfer *t, const char *to,
	const struct notify_reply_info *ri, unsigned gen)
{
	const char *src = ri->src_id;
	char *err = NULL;
	int st;

	g_strlcpy(t->secret, g->secret, sizeof t->secret);
	g_strlcpy(t->revoke_secret, g->revoke_secret, sizeof t->revoke_secret);
	t->expires = g->expires;
	t->subject = g_strdup(ri->note == NULL ? "Antwort über den Antwort-Link / Reply through the reply link" :
		"Dateien über Ihren Upload-Link / Files through your upload link");
	t->sender = g_strdup("");
	g_ptr_array_add(t->rcpts, g_strdup(to));
	t->escrow = &u->escrow;
	st = upload_commit_renew(u, t->id, gen, "manifest");
	if (st != 1)
		return st == 0 ? UPLOAD_LOST : 503;
	st = transfer_commit(t, &u->dk);
	if (st != STORAGE_OK)
		return 503;
	/* taken over meanwhile (the manifest outlasted the lease): the new commit sends
	 * the mail, and writes the same manifest; this one keeps it (no abort) */
	st = upload_commit_renew(u, t->id, gen, "mail");
	if (st == 0)
		return UPLOAD_LOST;
	if (st != 1) {
		transfer_abort(t);
		return 503;
	}
	if (notify_reply_send(u->c, &u->dk, t, to, ri, &err) != 0) {
		log_error("upload %s: mail to %s not sent (%s); transfer withdrawn", t->id, to, err);
		g_free(err);
		transfer_abort(t);
		return 503;
	}
	/* the DMS hook, like the pipeline's outgoing transfers (never blocks the reply) */
	archive_hook_enqueue(u->c, t, &(struct archive_hook_meta){ "incoming", NULL, src });
	return 0;
}

static void
reply_info_init(struct notify_reply_info *ri)
{
	ri->refused = g_ptr_array_new_with_free_func(g_free);
	ri->unchecked = g_ptr_array_new_with_free_func(g_free);
	ri->unscanned = g_ptr_array_new_with_free_func(g_free);
	ri->damaged = g_ptr_array_new_with_free_func(g_free);
}

static void
reply_info_clear(struct notify_reply_info *ri)
{
	g_ptr_array_free(ri->refused, TRUE);
	g_ptr_array_free(ri->unchecked, TRUE);
	g_ptr_array_free(ri->unscanned, TRUE);
	g_ptr_array_free(ri->damaged, TRUE);
}

/* commit_again - the manifest (written at mtime) is there but not the sent
 * record. Younger than the mail may take: a commit still running, whose mail
 * may yet fail and withdraw the transfer, so "ask again". Older: that commit
 * died after the manifest; the record from the file states, which stay
 * until it is stored. */
static enum MHD_Result
commit_again(struct upload *u, struct MHD_Connection *conn, const char *id, struct tus_group *g,
	struct transfer *t, int64_t mtime)
{
	struct notify_reply_info ri = { 0 };
	unsigned status;

	if (mtime > (int64_t)time(NULL) - (int64_t)u->c->notify_timeout - UPLOAD_COMMIT_MARGIN)
		return upload_json_error(conn, 503, "busy", "The reply is being sent; ask again in a minute.");
	reply_info_init(&ri);
	status = collect(u, id, g, t, &ri, -1);
	reply_info_clear(&ri);
	if (status != 0) {
		log_warning("upload %s: committed, but its file states do not say how (%u)", id, status);
		return upload_json_error(conn, 503, "unavailable", NULL);
	}
	commit_record(u, id, g);
	return commit_answer(conn, g);
}

/* commit_busy - another commit holds the reply: its answer once it is sent, else 503 busy */
static enum MHD_Result
commit_busy(struct upload *u, struct MHD_Connection *conn, const char *id)
{
	struct tus_group g = { 0 };
	enum MHD_Result rc;

	if (transfer_tus_group_get(u->st, &u->dk, id, &g) == STORAGE_OK && g.sent != NULL)
		rc = commit_answer(conn, &g);
	else
		rc = upload_json_error(conn, 503, "busy", "The reply is being sent; ask again in a minute.");
	transfer_tus_group_clear(&g);
	return rc;
}

/* commit_error - the answer to a commit that failed with status; 422 (no
 * file accepted) names the files refused as damaged, as a sent answer does */
static enum MHD_Result
commit_error(struct MHD_Connection *conn, unsigned status, const struct tus_group *g)
{
	GString *s;
	enum MHD_Result rc;

	if (status != 422)
		return upload_json_error(conn, status, status == 409 ? "incomplete" :
			status == 404 ? "no-reply" : "unavailable",
			status == 409 ? "Not every file has arrived yet." :
			status == 404 ? "This transfer does not take replies." : NULL);
	s = g_string_new("{\"error\":\"nothing\",\"message\":\"No file was accepted.\"");
	damaged_list(s, g);
	g_string_append_c(s, '}');
	rc = upload_send(conn, 422, "application/json", s->str, s->len, NULL);
	g_string_free(s, TRUE);
	return rc;
}

/* commit_first - the first commit of reply id (no manifest yet): claim it,
 * the files into t, manifest, mail, then the sent record */
static enum MHD_Result
commit_first(struct upload *u, struct MHD_Connection *conn, const char *src, const char *id,
	struct tus_group *g, struct transfer *t)
{
	struct notify_reply_info ri = { .src_id = src };
	char *note = NULL, *to = reply_address(u, conn, src, &note);
	enum MHD_Result rc;
	unsigned status, gen = 0;
	int claim = to == NULL ? 0 : upload_commit_claim(u, id, g, &gen);

	reply_info_init(&ri);
	if (to != NULL && claim == 0) {
		rc = commit_busy(u, conn, id);
		goto out;
	}
	status = to == NULL ? 404 : claim < 0 ? 503 : collect(u, id, g, t, &ri, (int)gen);
	ri.message = g->message;
	ri.note = note;
	if (status == 0)
		status = commit_transfer(u, g, t, to, &ri, gen);
	if (status != 0) {
		if (claim == 1)
			upload_commit_release(u, id, gen);
		rc = status == UPLOAD_LOST ? commit_busy(u, conn, id) : commit_error(conn, status, g);
		goto out;
	}
	commit_record(u, id, g);
	{
		struct audit_event ev = { .event = "upload", .action = note ? "upload-link" : "reply", .transfer = id,
			.reasons = src, .from = "reply-link", .size = -1 };

		audit_write(u->audit, &ev);
	}
	log_info("upload %s: reply to %s committed (%u files, %u refused), mail to the sender submitted",
		id, src, t->files->len, ri.refused->len + ri.unchecked->len + ri.damaged->len);
	rc = commit_answer(conn, g);
out:
	reply_info_clear(&ri);
	g_free(note);
	g_free(to);
	return rc;
}

enum MHD_Result
upload_handle_commit(struct upload *u, struct MHD_Connection *conn, const char *src, const char *id)
{
	struct tus_group g = { 0 };
	struct transfer *t = NULL;
	enum MHD_Result rc = MHD_YES;
	char key[64];
	int64_t expires, mtime = 0;
	uint64_t size;

	if (upload_auth(u, conn, src, &expires, &rc) != 0 || !upload_group(u, conn, src, id, &g, &rc))
		goto out;
	if (g.sent != NULL) { /* sent before: the answer was lost */
		rc = commit_answer(conn, &g);
		goto out;
	}
	g.sent = g_new0(struct tus_sent, g.count);
	t = transfer_new(u->st, g.created, 0);
	if (t == NULL) {
		rc = commit_error(conn, 503, &g);
		goto out;
	}
	g_strlcpy(t->id, id, sizeof t->id); /* the id the files were written under */
	snprintf(key, sizeof key, "%s/m", id);
	if (storage_stat(u->st, key, &size, &mtime) == STORAGE_OK)
		rc = commit_again(u, conn, id, &g, t, mtime);
	else
		rc = commit_first(u, conn, src, id, &g, t);
out:
	transfer_free(t);
	transfer_tus_group_clear(&g);
	return rc;
}
