/*
 * upload_tus.c - starting a reply and the tus 1.0 core (HEAD, PATCH) and
 * creation extension of offload-upload (see upload_int.h). A PATCH body is
 * encrypted as it streams in (transfer_tus_chunk_*); the state object is
 * rewritten after the part is committed, so a crash between the two only
 * makes the client send that chunk again (same bytes, same part name).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-glib/json-glib.h>

#include "crypto.h"
#include "encoding.h"
#include "filename.h"
#include "log.h"
#include "transfer.h"
#include "upload_int.h"

/* client_addr - the peer, or the last X-Forwarded-For hop when the peer is
 * listed (as a plain address) in [portal] trusted_proxy */
static char *
client_addr(struct upload *u, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	char buf[INET6_ADDRSTRLEN] = "unknown";

	if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
			buf, sizeof buf);
	for (size_t i = 0; xff && u->c->trusted_proxy && u->c->trusted_proxy[i]; i++) {
		const char *p = u->c->trusted_proxy[i];
		size_t l = strcspn(p, "/");

		if (strlen(buf) == l && strncmp(buf, p, l) == 0) {
			const char *last = strrchr(xff, ',');

			return g_strstrip(g_strdup(last ? last + 1 : xff));
		}
	}
	return g_strdup(buf);
}

/* count_uses - replies already started through src's reply link ("<src>/y<n>") */
static int
count_use(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)key;
	(void)size;
	(void)mtime;
	(*(unsigned *)arg)++;
	return 0;
}

/* use_claim - spend one use of src's reply link for the reply id: the first
 * free use slot "<src>/y<n>", n from the count listed (slots are never given
 * back, so those below it are taken) to [upload] uses - 1, created with
 * create-if-absent (storage_create), so of starts at once on any node each
 * slot goes to one. STORAGE_OK, STORAGE_EEXIST when every slot is taken, or
 * a storage code */
static int
use_claim(struct upload *u, const char *src, const char *id, unsigned from)
{
	for (unsigned n = from; n < u->c->upload_uses; n++) {
		char key[64];
		int rc;

		snprintf(key, sizeof key, "%s/y%u", src, n);
		rc = storage_create(u->st, key, id, strlen(id));
		if (rc != STORAGE_EEXIST)
			return rc;
	}
	return STORAGE_EEXIST;
}

/* start_parse - message, count, total of the start request; FALSE when answered */
static bool
start_parse(struct upload *u, struct MHD_Connection *conn, struct ureq *rq, struct tus_group *g,
	enum MHD_Result *rc)
{
	JsonParser *jp = json_parser_new();
	JsonObject *o;
	int64_t count, total;

	if (rq->body == NULL || rq->body->len == 0 || !json_parser_load_from_data(jp, (const char *)rq->body->data,
	    (gssize)rq->body->len, NULL) || json_parser_get_root(jp) == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		g_object_unref(jp);
		*rc = upload_json_error(conn, 400, "request", NULL);
		return false;
	}
	o = json_node_get_object(json_parser_get_root(jp));
	count = json_object_get_int_member_with_default(o, "count", 0);
	total = json_object_get_int_member_with_default(o, "total", -1);
	g->message = g_strdup(json_object_get_string_member_with_default(o, "message", ""));
	g_object_unref(jp);
	if (count < 1 || total < 0) {
		*rc = upload_json_error(conn, 400, "request", NULL);
		return false;
	}
	if ((uint64_t)count > u->c->upload_max_files) {
		*rc = upload_json_error(conn, 413, "too-many-files",
			"Too many files for one reply.");
		return false;
	}
	if ((uint64_t)total > u->c->upload_max_size) {
		*rc = upload_json_error(conn, 413, "too-large", "The files are larger than a reply may be.");
		return false;
	}
	g->count = (uint32_t)count;
	g->total = (uint64_t)total;
	return true;
}

enum MHD_Result
upload_handle_start(struct upload *u, struct MHD_Connection *conn, struct ureq *rq, const char *src)
{
	struct tus_group g = { 0 };
	enum MHD_Result rc = MHD_YES;
	char id[ENVELOPE_ID_TEXT_LEN + 1], key[64], *body, *client = client_addr(u, conn);
	unsigned uses = 0;
	int64_t expires = 0;
	int st;

	if (upload_auth(u, conn, src, &expires, &rc) != 0 || !start_parse(u, conn, rq, &g, &rc))
		goto out;
	snprintf(key, sizeof key, "%s/y", src);
	st = storage_list(u->st, key, count_use, &uses);
	if (st != STORAGE_OK) {
		rc = upload_json_error(conn, 503, "unavailable", NULL);
		goto out;
	}
	if (uses >= u->c->upload_uses) {
		rc = upload_json_error(conn, 429, "uses", "This reply link has been used up.");
		goto out;
	}
	if (!upload_rl_take(u, client, (unsigned)u->c->upload_per_client)) {
		rc = upload_json_error(conn, 429, "rate", "Too many replies from your address; try later.");
		goto out;
	}
	g_strlcpy(g.src, src, sizeof g.src);
	g.created = (int64_t)time(NULL);
	g.expires = expires;
	if (envelope_new_ids(id, g.secret) != ENVELOPE_OK || envelope_new_secret(g.revoke_secret) != ENVELOPE_OK) {
		upload_rl_return(u, client);
		rc = upload_json_error(conn, 503, "unavailable", NULL);
		goto out;
	}
	/* the group state first, then the use: only a start that succeeds spends one
	 * (a crash between leaves a group state nobody knows, which purge removes) */
	st = transfer_tus_group_put(u->st, &u->dk, id, &g);
	if (st == STORAGE_OK && (st = use_claim(u, src, id, uses)) != STORAGE_OK)
		(void)transfer_tus_cleanup(u->st, id, TUS_CLEAN_ALL);
	if (st != STORAGE_OK) {
		upload_rl_return(u, client);
		rc = st == STORAGE_EEXIST ? /* the last uses went to starts at once */
			upload_json_error(conn, 429, "uses", "This reply link has been used up.") :
			upload_json_error(conn, 503, "unavailable", NULL);
		goto out;
	}
	log_info("upload %s: reply to %s started from %s (%u files, %" PRIu64 " bytes declared)",
		id, src, client, g.count, g.total);
	body = g_strdup_printf("{\"upload\":\"%s\",\"chunk\":%" PRIu64 "}", id, u->c->upload_chunk_size);
	rc = upload_send(conn, 201, "application/json", body, strlen(body), NULL);
	g_free(body);
out:
	transfer_tus_group_clear(&g);
	g_free(client);
	return rc;
}

/* meta_get - the decoded value of KEY in an Upload-Metadata header (g_malloc'ed) */
static char *
meta_get(const char *meta, const char *key)
{
	char **pairs = g_strsplit(meta ? meta : "", ",", 32), *r = NULL;

	for (char **p = pairs; *p && r == NULL; p++) {
		char *s = g_strstrip(*p), *sp = strchr(s, ' ');
		gsize len = 0;
		guchar *v;

		if (sp == NULL || (size_t)(sp - s) != strlen(key) || strncmp(s, key, strlen(key)) != 0)
			continue;
		v = g_base64_decode(sp + 1, &len);
		r = g_strndup((const char *)v, len);
		g_free(v);
	}
	g_strfreev(pairs);
	return r;
}

/* digits - s is 1 to max decimal digits */
static bool
digits(const char *s, size_t max)
{
	size_t n = s != NULL ? strspn(s, "0123456789") : 0;

	return n > 0 && n <= max && s[n] == '\0';
}

/* create_check - the new file against the group and the files before it */
static int
create_check(struct upload *u, const char *id, const struct tus_group *g, uint32_t n,
	uint64_t len, const char *name, struct tus_file *f, bool *exists)
{
	uint64_t sum = len;
	int st;

	*exists = false;
	for (uint32_t i = 0; i < g->count; i++) {
		struct tus_file o;

		st = transfer_tus_file_get(u->st, &u->dk, id, i, &o);
		if (st == STORAGE_ENOENT)
			continue;
		if (st != STORAGE_OK)
			return 503;
		if (i == n) {
			*exists = o.length == len && strcmp(o.name, name) == 0;
			transfer_tus_file_clear(&o);
			if (!*exists)
				return 409;
			continue;
		}
		sum += o.length;
		transfer_tus_file_clear(&o);
	}
	if (sum > g->total || sum > u->c->upload_max_size)
		return 413;
	return transfer_tus_file_init(f, n, name, len) == 0 ? 0 : 503;
}

enum MHD_Result
upload_handle_create(struct upload *u, struct MHD_Connection *conn, const char *src, const char *id)
{
	const char *ul = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upload-Length");
	const char *meta = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upload-Metadata");
	char *name = meta_get(meta, "filename"), *index = meta_get(meta, "index");
	struct tus_group g = { 0 };
	struct tus_file f = { 0 };
	enum MHD_Result rc = MHD_YES;
	char loc[128];
	uint64_t len;
	uint32_t n;
	int64_t expires;
	bool exists = false;
	int status;

	if (upload_auth(u, conn, src, &expires, &rc) != 0 || !upload_group(u, conn, src, id, &g, &rc))
		goto out;
	len = digits(ul, 20) ? g_ascii_strtoull(ul, NULL, 10) : UINT64_MAX;
	n = digits(index, 6) ? (uint32_t)g_ascii_strtoull(index, NULL, 10) : UINT32_MAX;
	if (len == UINT64_MAX || name == NULL || *name == '\0' || n >= g.count) {
		rc = upload_json_error(conn, 400, "request", "Upload-Length and Upload-Metadata "
			"filename and index are needed.");
		goto out;
	}
	exists = g.sent != NULL; /* sent: only its files, as they were */
	if (exists)
		status = upload_sent_file(&g, n, &f) && f.length == len ? 0 : 409;
	else if (len > u->c->upload_max_size)
		status = 413; /* before the sum, which must not wrap */
	else
		status = create_check(u, id, &g, n, len, name, &f, &exists);
	if (status == 0 && !exists && (transfer_tus_mpu_begin(u->st, id, &f) != STORAGE_OK ||
	    transfer_tus_file_put(u->st, &u->dk, id, &f) != STORAGE_OK))
		status = 503; /* a multipart upload begun goes with purge (orphan_age) */
	if (status != 0) {
		rc = status == 413 ? upload_json_error(conn, 413, "too-large",
			"The files are larger than declared or than a reply may be.") :
			upload_json_error(conn, status, status == 409 ? "conflict" : "unavailable", NULL);
		goto out;
	}
	snprintf(loc, sizeof loc, "/u/%s/%s/%u", src, id, n);
	{
		const char *h[] = { "Location", loc, NULL };

		rc = upload_send(conn, 201, NULL, "", 0, h);
	}
out:
	transfer_tus_file_clear(&f);
	transfer_tus_group_clear(&g);
	g_free(name);
	g_free(index);
	return rc;
}

enum MHD_Result
upload_send_offsets(struct MHD_Connection *conn, unsigned status, const struct tus_file *f)
{
	char off[32], len[32];
	const char *h[] = { "Upload-Offset", off, "Upload-Length", len, "Offload-State",
		f->state == TUS_DONE ? "done" : f->state == TUS_REFUSED ? "refused" : "open",
		f->state == TUS_REFUSED && f->detail != NULL && *f->detail != '\0' ? "Offload-Refused" : NULL,
		transfer_tus_refused_why(f->detail), NULL };

	snprintf(off, sizeof off, "%" PRIu64, f->offset);
	snprintf(len, sizeof len, "%" PRIu64, f->length);
	return upload_send(conn, status, NULL, "", 0, h);
}

enum MHD_Result
upload_handle_head(struct upload *u, struct MHD_Connection *conn, const char *src, const char *id,
	uint32_t n)
{
	struct tus_group g = { 0 };
	struct tus_file f = { 0 };
	enum MHD_Result rc = MHD_YES;
	int64_t expires;
	int st;

	if (upload_auth(u, conn, src, &expires, &rc) != 0 || !upload_group(u, conn, src, id, &g, &rc))
		goto out;
	if (g.sent != NULL) /* sent: its files as they were, so a client learns it is complete */
		st = upload_sent_file(&g, n, &f) ? STORAGE_OK : STORAGE_ENOENT;
	else
		st = transfer_tus_file_get(u->st, &u->dk, id, n, &f);
	if (st != STORAGE_OK)
		rc = upload_send(conn, st == STORAGE_ENOENT ? 404 : 503, NULL, "", 0, NULL);
	else
		rc = upload_send_offsets(conn, 200, &f);
out:
	transfer_tus_file_clear(&f);
	transfer_tus_group_clear(&g);
	return rc;
}

/* patch_headers - Tus-Resumable, Content-Type, Upload-Offset, Content-Length;
 * 0 or the status */
static unsigned
patch_headers(struct upload *u, struct MHD_Connection *conn, const struct tus_file *f)
{
	const char *tr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Tus-Resumable");
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *uo = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upload-Offset");
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	char *end = NULL;
	uint64_t off, len;

	if (tr == NULL || strcmp(tr, "1.0.0") != 0)
		return 412;
	if (ct == NULL || strcmp(ct, "application/offset+octet-stream") != 0)
		return 415;
	if (cl == NULL)
		return 411;
	len = g_ascii_strtoull(cl, NULL, 10);
	if (len > u->c->upload_chunk_size)
		return 413;
	off = uo ? g_ascii_strtoull(uo, &end, 10) : UINT64_MAX;
	if (uo == NULL || *end != '\0' || off != f->offset || f->state != TUS_OPEN)
		return 409;
	if (off + len > f->length)
		return 400;
	return 0;
}

enum MHD_Result
upload_patch_begin(struct upload *u, struct MHD_Connection *conn, struct ureq *rq, uint32_t n,
	bool *answered)
{
	struct tus_group g = { 0 };
	enum MHD_Result rc = MHD_YES;
	int64_t expires;
	unsigned status;
	int st;

	*answered = true;
	if (upload_auth(u, conn, rq->src, &expires, &rc) != 0 ||
	    !upload_group(u, conn, rq->src, rq->id, &g, &rc))
		return rc;
	if (g.sent != NULL) { /* sent: every file is complete */
		bool known = upload_sent_file(&g, n, &rq->file);

		transfer_tus_group_clear(&g);
		return known ? upload_send_offsets(conn, 409, &rq->file) :
			upload_json_error(conn, 404, "not-found", NULL);
	}
	transfer_tus_group_clear(&g);
	st = transfer_tus_file_get(u->st, &u->dk, rq->id, n, &rq->file);
	if (st != STORAGE_OK)
		return upload_json_error(conn, st == STORAGE_ENOENT ? 404 : 503,
			st == STORAGE_ENOENT ? "not-found" : "unavailable", NULL);
	status = patch_headers(u, conn, &rq->file);
	if (status == 409)
		return upload_send_offsets(conn, 409, &rq->file);
	if (status != 0)
		return upload_json_error(conn, status, status == 413 ? "chunk" : "request", NULL);
	rq->chunk = transfer_tus_chunk_begin(u->st, rq->id, &rq->file, &st);
	if (rq->chunk == NULL)
		return upload_json_error(conn, 503, "unavailable", NULL);
	rq->kind = UR_PATCH;
	*answered = false;
	return MHD_YES;
}

void
upload_patch_data(struct ureq *rq, const char *data, size_t len)
{
	if (rq->err == 0 && rq->chunk != NULL)
		rq->err = transfer_tus_chunk_write(rq->chunk, data, len);
}

enum MHD_Result
upload_patch_end(struct upload *u, struct MHD_Connection *conn, struct ureq *rq)
{
	struct transfer_tus_chunk *c = rq->chunk;
	uint64_t end = 0;
	int st;

	rq->chunk = NULL;
	if (rq->err != 0) {
		transfer_tus_chunk_abort(c);
		return upload_json_error(conn, rq->err == STORAGE_EPERM ? 400 : 503,
			rq->err == STORAGE_EPERM ? "request" : "unavailable", NULL);
	}
	st = transfer_tus_chunk_commit(c, &end);
	if (st == STORAGE_ENOENT) /* a multipart file's stored parts lost: from 0 */
		return upload_resend_from(u, conn, rq, 0);
	if (st == STORAGE_EPERM)
		return upload_json_error(conn, 400, "segments",
			"A chunk must be whole 64 KiB segments, unless it ends the file.");
	if (st != STORAGE_OK)
		return upload_json_error(conn, 503, "unavailable", NULL);
	rq->file.offset = end;
	if (end == rq->file.length)
		return upload_file_complete(u, conn, rq);
	if (transfer_tus_file_put(u->st, &u->dk, rq->id, &rq->file) != STORAGE_OK)
		return upload_json_error(conn, 503, "unavailable", NULL);
	if (rq->file.etags != NULL && end > rq->file.mpu_segs * (uint64_t)ENVELOPE_SEGMENT_SIZE)
		/* a multipart file with tail part objects, its state stored */
		upload_hold(u, "tail%up%u", rq->file.index, rq->file.etags->len);
	return upload_send_offsets(conn, 204, &rq->file);
}
