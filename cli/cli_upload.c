/*
 * cli_upload.c - `offloadctl upload LINK FILE... [--message TEXT]
 * [--state-dir DIR] [--ca-file F] [-v]`: reply with files through the reply
 * link of a transfer (LINK: the reply link .../u/<id>#<token>, or the
 * transfer link .../t/<id>#<secret>, from which the token is derived), with
 * the tus 1.0 protocol of offload-upload (upload/upload_int.h).
 * Resume: the reply's id is kept in DIR/<digest> (digest of the transfer id,
 * the files' paths, sizes and mtimes and the message), so running the same
 * command again asks HEAD for each file's offset and sends on from there.
 * A file the virus scan refuses (malware found, or it could not be checked),
 * or that the server refuses as damaged (its stored copy did not verify at
 * the commit, or its parts were damaged again after it was sent back
 * [upload] resends times; a run gives up after UP_MAX_RESENDS returns), is
 * named on stderr and the others are still sent: the reply is committed
 * with the accepted files (docs/DECISIONS.md), then the exit code is 65.
 * Exit codes like fetch: 0 sent, 64 usage, 65 token refused or a file refused
 * (the reply sent with the others, if any), 66 no such
 * transfer or file, 69 transfer gone, 75 try again (network, 429, 5xx),
 * 76 protocol.
 * Memory: one chunk ([upload] chunk_size, from the server) at a time.
 * Single-threaded; one curl handle per run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-glib/json-glib.h>

#include "cli.h"
#include "crypto.h"
#include "encoding.h"
#include "transfer_reply.h"

struct up {
	CURL *curl;
	char *base;         /* scheme://host[:port][/prefix] before /u/ or /t/ */
	char src[ENVELOPE_ID_TEXT_LEN + 1];
	char *token;        /* base64url */
	const char *ca_file;
	bool verbose;
};

struct ans {
	long code;
	GByteArray *body;
	char offset[32], location[256], state[16], refused[16];
};

/* a file the virus scan refused: not an exit code, the run goes on */
#define UP_REFUSED (-2)
/* times one run sends a file again from an earlier offset (409 "parts": a
 * stored part was lost or damaged) before it gives up; the server refuses
 * the file as damaged after its [upload] resends (default 3) first */
#define UP_MAX_RESENDS 10

static size_t
ans_header(char *buf, size_t size, size_t n, void *arg)
{
	struct ans *a = arg;
	size_t len = size * n;
	struct { const char *name; char *dst; size_t cap; } h[] = {
		{ "upload-offset:", a->offset, sizeof a->offset },
		{ "location:", a->location, sizeof a->location },
		{ "offload-state:", a->state, sizeof a->state },
		{ "offload-refused:", a->refused, sizeof a->refused },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(h); i++) {
		size_t l = strlen(h[i].name);

		if (len > l && g_ascii_strncasecmp(buf, h[i].name, l) == 0) {
			char *v = g_strstrip(g_strndup(buf + l, len - l));

			g_strlcpy(h[i].dst, v, h[i].cap);
			g_free(v);
		}
	}
	return len;
}

static size_t
ans_body(char *buf, size_t size, size_t n, void *arg)
{
	struct ans *a = arg;

	if (a->body->len < 65536)
		g_byte_array_append(a->body, (const guint8 *)buf, (guint)(size * n));
	return size * n;
}

/* request - one exchange; 0, or EX_TEMPFAIL (printed) on a transport error */
static int
request(struct up *u, const char *method, const char *path, struct curl_slist *extra,
	const void *body, size_t len, struct ans *a)
{
	char *url = g_strconcat(u->base, path, NULL), *tok = g_strconcat("Offload-Reply-Token: ", u->token, NULL);
	struct curl_slist *h = extra;
	CURLcode cc;

	memset(a, 0, sizeof *a);
	a->body = g_byte_array_new();
	h = curl_slist_append(h, tok);
	h = curl_slist_append(h, "Tus-Resumable: 1.0.0");
	h = curl_slist_append(h, "Expect:");
	curl_easy_reset(u->curl);
	curl_easy_setopt(u->curl, CURLOPT_URL, url);
	curl_easy_setopt(u->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(u->curl, CURLOPT_USERAGENT, "offloadctl-upload/1");
	curl_easy_setopt(u->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(u->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(u->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(u->curl, CURLOPT_LOW_SPEED_TIME, 120L);
	if (u->ca_file)
		curl_easy_setopt(u->curl, CURLOPT_CAINFO, u->ca_file);
	curl_easy_setopt(u->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(u->curl, CURLOPT_HEADERFUNCTION, ans_header);
	curl_easy_setopt(u->curl, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(u->curl, CURLOPT_WRITEFUNCTION, ans_body);
	curl_easy_setopt(u->curl, CURLOPT_WRITEDATA, a);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(u->curl, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0) {
		curl_easy_setopt(u->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(u->curl, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(u->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(u->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	cc = curl_easy_perform(u->curl);
	curl_easy_getinfo(u->curl, CURLINFO_RESPONSE_CODE, &a->code);
	if (u->verbose)
		fprintf(stderr, "offloadctl upload: %s %s -> %ld\n", method, path, a->code);
	curl_slist_free_all(h);
	crypto_free_string(tok);
	g_free(url);
	if (cc != CURLE_OK) {
		fprintf(stderr, "offloadctl upload: %s\n", curl_easy_strerror(cc));
		return EX_TEMPFAIL;
	}
	return 0;
}

static void
ans_free(struct ans *a)
{
	if (a->body)
		g_byte_array_free(a->body, TRUE);
	a->body = NULL;
}

/* ans_member - a string or number member of a JSON answer (g_malloc'ed) */
static char *
ans_member(const struct ans *a, const char *name)
{
	JsonParser *jp = json_parser_new();
	char *r = NULL;

	if (a->body->len > 0 &&
	    json_parser_load_from_data(jp, (const char *)a->body->data, (gssize)a->body->len, NULL) &&
	    json_parser_get_root(jp) != NULL && JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp))) {
		JsonNode *n = json_object_get_member(json_node_get_object(json_parser_get_root(jp)), name);

		if (n && json_node_get_value_type(n) == G_TYPE_STRING)
			r = g_strdup(json_node_get_string(n));
		else if (n && json_node_get_value_type(n) == G_TYPE_INT64)
			r = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
	}
	g_object_unref(jp);
	return r;
}

/* fail - say what an unwanted answer means; the exit code */
static int
fail(const char *what, const struct ans *a)
{
	char *msg = ans_member(a, "message"), *err = ans_member(a, "error");
	int rc;

	fprintf(stderr, "offloadctl upload: %s: HTTP %ld%s%s%s%s\n", what, a->code, err ? " " : "",
		err ? err : "", msg ? ": " : "", msg ? msg : "");
	if (a->code == 403 || a->code == 401 || a->code == 422 || a->code == 413)
		rc = EX_DATAERR;
	else if (a->code == 404)
		rc = EX_NOINPUT;
	else if (a->code == 410)
		rc = EX_UNAVAILABLE;
	else if (a->code == 408 || a->code == 429 || a->code >= 500)
		rc = EX_TEMPFAIL;
	else
		rc = EX_PROTOCOL;
	g_free(msg);
	g_free(err);
	return rc;
}

/* ---- the run ------------------------------------------------------------------- */

struct ufile {
	const char *path;
	char *name;
	uint64_t size;
	int64_t mtime;
};

/* state_path - DIR/<digest of src, files and message> */
static char *
state_path(const char *dir, const char *src, struct ufile *f, int n, const char *msg)
{
	struct crypto_sha256_ctx *c = crypto_sha256_new();
	unsigned char d[32];
	char *hex, *p;

	crypto_sha256_update(c, src, strlen(src));
	for (int i = 0; i < n; i++) {
		char *abs = realpath(f[i].path, NULL);
		char *s = g_strdup_printf("\n%s\n%" PRIu64 "\n%" PRId64, abs ? abs : f[i].path, f[i].size, f[i].mtime);

		crypto_sha256_update(c, s, strlen(s));
		g_free(s);
		free(abs);
	}
	crypto_sha256_update(c, "\n", 1);
	crypto_sha256_update(c, msg, strlen(msg));
	crypto_sha256_final(c, d);
	hex = enc_hex(d, 16);
	p = g_build_filename(dir, hex, NULL);
	g_free(hex);
	return p;
}

/* start - POST /u/<src>: the reply's id and chunk size; 0 or exit code */
static int
start(struct up *u, struct ufile *f, int n, const char *msg, char **id, uint64_t *chunk)
{
	JsonBuilder *b = json_builder_new();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	uint64_t total = 0;
	char *body, *path = g_strdup_printf("/u/%s", u->src), *c = NULL;
	struct ans a;
	int rc;

	for (int i = 0; i < n; i++)
		total += f[i].size;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, msg);
	json_builder_set_member_name(b, "count");
	json_builder_add_int_value(b, n);
	json_builder_set_member_name(b, "total");
	json_builder_add_int_value(b, (gint64)total);
	json_builder_end_object(b);
	body = cli_json_text(b);
	g_object_unref(b);
	rc = request(u, "POST", path, h, body, strlen(body), &a);
	if (rc == 0 && a.code != 201)
		rc = fail("start", &a);
	if (rc == 0) {
		*id = ans_member(&a, "upload");
		c = ans_member(&a, "chunk");
		*chunk = c ? g_ascii_strtoull(c, NULL, 10) : 0;
		if (*id == NULL || strlen(*id) != ENVELOPE_ID_TEXT_LEN || *chunk < 65536 || *chunk % 65536) {
			fprintf(stderr, "offloadctl upload: start: unexpected answer\n");
			rc = EX_PROTOCOL;
		}
	}
	ans_free(&a);
	g_free(c);
	g_free(body);
	g_free(path);
	return rc;
}

/* say_refused - the same words as the clerk's mail (pipeline/notify_reply.c);
 * why: the verdict of Offload-Refused or a 422 ("infected", "unscannable", or
 * "damaged": the stored file was found damaged at the commit) */
static void
say_refused(const char *path, const char *why)
{
	fprintf(stderr, "offloadctl upload: %s: %s\n", path,
		strcmp(why, "infected") == 0 ? "refused (malware found)" :
		strcmp(why, "damaged") == 0 ?
		"could not be taken (the stored file is damaged; send it again in a new reply)" :
		"refused (could not be checked for malware)");
}

/* patch_fail - an unwanted answer to a PATCH: UP_REFUSED when the file was
 * refused (422 infected or unscannable, or damaged: its stored parts were
 * damaged again after it was sent again [upload] resends times), else fail() */
static int
patch_fail(const char *path, const struct ans *a)
{
	char *err = a->code == 422 ? ans_member(a, "error") : NULL;
	int rc = UP_REFUSED;

	if (err != NULL && (strcmp(err, "infected") == 0 || strcmp(err, "unscannable") == 0 ||
	    strcmp(err, "damaged") == 0)) {
		char *msg = ans_member(a, "message");

		say_refused(path, err);
		if (msg != NULL)
			fprintf(stderr, "offloadctl upload: %s: %s\n", path, msg);
		g_free(msg);
	} else {
		rc = fail(path, a);
	}
	g_free(err);
	return rc;
}

/* locate - the file's offset: HEAD, or tus creation when it does not exist yet;
 * *done when the server has it all; 0 or exit code */
static int
locate(struct up *u, const char *id, int i, const struct ufile *f, uint64_t *off, bool *done)
{
	char *path = g_strdup_printf("/u/%s/%s/%d", u->src, id, i), *cpath, *hdr, *meta, *nb, *ib;
	struct curl_slist *h;
	struct ans a;
	int rc = request(u, "HEAD", path, NULL, NULL, 0, &a);

	*done = false;
	if (rc == 0 && a.code == 200) {
		*off = g_ascii_strtoull(a.offset, NULL, 10);
		*done = strcmp(a.state, "done") == 0;
		if (strcmp(a.state, "refused") == 0) {
			say_refused(f->path, a.refused);
			rc = UP_REFUSED;
		}
		goto out;
	}
	if (rc != 0 || a.code != 404) {
		rc = rc ? rc : fail(f->path, &a);
		goto out;
	}
	ans_free(&a);
	nb = g_base64_encode((const guchar *)f->name, strlen(f->name));
	ib = g_strdup_printf("%d", i);
	meta = g_base64_encode((const guchar *)ib, strlen(ib));
	hdr = g_strdup_printf("Upload-Metadata: filename %s,index %s", nb, meta);
	h = curl_slist_append(NULL, hdr);
	g_free(hdr);
	hdr = g_strdup_printf("Upload-Length: %" PRIu64, f->size);
	h = curl_slist_append(h, hdr);
	cpath = g_strdup_printf("/u/%s/%s", u->src, id);
	rc = request(u, "POST", cpath, h, NULL, 0, &a);
	if (rc == 0 && a.code != 201)
		rc = fail(f->path, &a);
	*off = 0;
	g_free(cpath);
	g_free(hdr);
	g_free(nb);
	g_free(ib);
	g_free(meta);
out:
	ans_free(&a);
	g_free(path);
	return rc;
}

/* patch_answer - the offset a 204 or 409 answer to a PATCH at *off sends on
 * from into *off; UP_REFUSED when a 409 says the file is refused, EX_TEMPFAIL
 * when it was sent back (a 409 not ahead of *off) more than UP_MAX_RESENDS
 * times (*back counts) */
static int
patch_answer(const struct ans *a, const struct ufile *f, uint64_t *off, unsigned *back)
{
	uint64_t to = g_ascii_strtoull(a->offset, NULL, 10);

	if (a->code == 409 && strcmp(a->state, "refused") == 0) {
		say_refused(f->path, a->refused);
		return UP_REFUSED;
	}
	if (a->code == 409 && to <= *off && ++*back > UP_MAX_RESENDS) {
		fprintf(stderr, "offloadctl upload: %s: the server asked for the file again %u times "
			"(its stored parts were lost or damaged each time); giving up, try again later\n",
			f->path, *back - 1);
		return EX_TEMPFAIL;
	}
	*off = to;
	return 0;
}

/* send_file - PATCH chunks from the offset to the end; 0 or exit code */
static int
send_file(struct up *u, const char *id, int i, const struct ufile *f, uint64_t chunk)
{
	char *path = g_strdup_printf("/u/%s/%s/%d", u->src, id, i), *buf = g_malloc(chunk);
	uint64_t off = 0;
	unsigned back = 0;
	bool done = false;
	int fd = -1, rc = locate(u, id, i, f, &off, &done);

	if (rc != 0 || done)
		goto out;
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "offloadctl upload: %s: %s\n", f->path, g_strerror(errno));
		rc = EX_NOINPUT;
		goto out;
	}
	do {
		size_t want = (size_t)MIN(chunk, f->size - off);
		ssize_t got = pread(fd, buf, want, (off_t)off);
		char hdr[64];
		struct curl_slist *h;
		struct ans a;

		if (got < 0 || (size_t)got != want) {
			fprintf(stderr, "offloadctl upload: %s: short read (file changed?)\n", f->path);
			rc = EX_IOERR;
			break;
		}
		snprintf(hdr, sizeof hdr, "Upload-Offset: %" PRIu64, off);
		h = curl_slist_append(NULL, hdr);
		h = curl_slist_append(h, "Content-Type: application/offset+octet-stream");
		rc = request(u, "PATCH", path, h, buf, want, &a);
		if (rc == 0 && (a.code == 204 || a.code == 409) && a.offset[0])
			rc = patch_answer(&a, f, &off, &back);
		else if (rc == 0)
			rc = patch_fail(f->path, &a);
		ans_free(&a);
	} while (rc == 0 && off < f->size);
out:
	if (fd >= 0)
		close(fd);
	g_free(buf);
	g_free(path);
	return rc;
}

/* say_damaged - the files the commit's answer names as damaged ("damaged":
 * [n, ...]: their stored copy did not verify, or their parts, sent again,
 * were damaged again) and not named yet (said[n]); how many */
static int
say_damaged(const struct ans *a, const struct ufile *f, int n, bool *said)
{
	JsonParser *jp = json_parser_new();
	JsonNode *m = NULL;
	JsonArray *arr = NULL;
	int k = 0;

	if (a->body->len > 0 &&
	    json_parser_load_from_data(jp, (const char *)a->body->data, (gssize)a->body->len, NULL) &&
	    json_parser_get_root(jp) != NULL && JSON_NODE_HOLDS_OBJECT(json_parser_get_root(jp)))
		m = json_object_get_member(json_node_get_object(json_parser_get_root(jp)), "damaged");
	if (m != NULL && JSON_NODE_HOLDS_ARRAY(m))
		arr = json_node_get_array(m);
	for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
		gint64 x = json_array_get_int_element(arr, i);

		if (x >= 0 && x < n && !said[x]) {
			say_refused(f[x].path, "damaged");
			said[x] = true;
			k++;
		}
	}
	g_object_unref(jp);
	return k;
}

/* commit - POST .../commit; 0 or exit code; *damaged = files the answer
 * names as damaged (sent without them, or 422 when no file is left) */
static int
commit(struct up *u, const char *id, const struct ufile *f, int n, bool *said, int *damaged)
{
	char *path = g_strdup_printf("/u/%s/%s/commit", u->src, id), *files = NULL, *refused = NULL;
	struct ans a;
	int rc = request(u, "POST", path, NULL, NULL, 0, &a);

	*damaged = rc == 0 && (a.code == 200 || a.code == 422) ? say_damaged(&a, f, n, said) : 0;
	if (rc == 0 && a.code != 200)
		rc = fail("commit", &a);
	if (rc == 0) {
		files = ans_member(&a, "files");
		refused = ans_member(&a, "refused");
		printf("sent\t%s\t%s files", id, files ? files : "?");
		if (refused != NULL && strcmp(refused, "0") != 0)
			printf(", %s refused", refused);
		printf("\n");
	}
	ans_free(&a);
	g_free(files);
	g_free(refused);
	g_free(path);
	return rc;
}

/* link_setup - src, token and base URL of LINK; 0 or -1 */
static int
link_setup(struct up *u, const char *link)
{
	unsigned char tok[TRANSFER_REPLY_TOKEN_LEN];
	const char *p = strstr(link, "/u/");

	if (transfer_parse_reply_link(link, u->src, tok) != 0)
		return -1;
	if (p == NULL)
		p = strstr(link, "/t/");
	if (p == NULL || (!g_str_has_prefix(link, "http://") && !g_str_has_prefix(link, "https://")))
		return -1;
	u->base = g_strndup(link, (size_t)(p - link));
	u->token = enc_b64url(tok, sizeof tok);
	crypto_wipe(tok, sizeof tok);
	return 0;
}

static char *
default_state_dir(void)
{
	const char *x = g_getenv("XDG_STATE_HOME");

	if (x && *x)
		return g_build_filename(x, "offloadctl", "uploads", NULL);
	return g_build_filename(g_get_home_dir(), ".local", "state", "offloadctl", "uploads", NULL);
}

/* run - one attempt with the state file; *stale when the saved reply is gone */
static int
run(struct up *u, struct ufile *f, int n, const char *msg, const char *sp, bool *stale)
{
	char *text = NULL, *id = NULL, **parts = NULL;
	bool *said = g_new0(bool, (size_t)n); /* refused and named on stderr */
	uint64_t chunk = 0;
	int rc = 0, refused = 0, damaged = 0;

	*stale = false;
	if (g_file_get_contents(sp, &text, NULL, NULL)) {
		parts = g_strsplit(g_strstrip(text), " ", 2);
		if (g_strv_length(parts) == 2 && strlen(parts[0]) == ENVELOPE_ID_TEXT_LEN) {
			id = g_strdup(parts[0]);
			chunk = g_ascii_strtoull(parts[1], NULL, 10);
		}
	}
	if (id == NULL || chunk < 65536 || chunk % 65536) {
		g_free(id);
		id = NULL;
		rc = start(u, f, n, msg, &id, &chunk);
		if (rc == 0) {
			char *s = g_strdup_printf("%s %" PRIu64 "\n", id, chunk);

			if (!g_file_set_contents(sp, s, -1, NULL))
				fprintf(stderr, "offloadctl upload: %s: cannot save the state (no resume)\n", sp);
			g_free(s);
		}
	} else if (u->verbose) {
		fprintf(stderr, "offloadctl upload: resuming reply %s\n", id);
	}
	for (int i = 0; (rc == 0 || rc == UP_REFUSED) && i < n; i++) {
		int r = send_file(u, id, i, &f[i], chunk);

		refused += r == UP_REFUSED;
		said[i] = r == UP_REFUSED;
		rc = r == UP_REFUSED ? 0 : r;
	}
	if (rc == 0)
		rc = commit(u, id, f, n, said, &damaged); /* with the accepted files (422 when none was) */
	refused += damaged;
	if (rc == 0 || (rc == EX_DATAERR && refused == n))
		unlink(sp);
	if (rc == 0 && refused > 0)
		rc = EX_DATAERR; /* sent, but not every file */
	else if (rc == EX_NOINPUT && text != NULL)
		*stale = true;
	g_strfreev(parts);
	g_free(text);
	g_free(id);
	g_free(said);
	return rc;
}

static int
usage(void)
{
	fprintf(stderr, "usage: offloadctl upload LINK FILE... [--message TEXT] [--state-dir DIR] "
		"[--ca-file F] [-v]\n");
	return EX_USAGE;
}

int
cli_upload(const char *conf_path, int argc, char **argv)
{
	struct up u = { 0 };
	const char *link = NULL, *msg = "";
	char *dir = NULL, *sp = NULL;
	struct ufile *f = g_new0(struct ufile, (size_t)argc);
	int n = 0, rc = EX_USAGE;
	bool stale = false;

	(void)conf_path;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--message") == 0 && i + 1 < argc)
			msg = argv[++i];
		else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc)
			dir = g_strdup(argv[++i]);
		else if (strcmp(argv[i], "--ca-file") == 0 && i + 1 < argc)
			u.ca_file = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			u.verbose = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			goto out_usage;
		else if (link == NULL)
			link = argv[i];
		else
			f[n++].path = argv[i];
	}
	if (link == NULL || n == 0)
		goto out_usage;
	if (link_setup(&u, link) != 0) {
		fprintf(stderr, "offloadctl upload: not a reply or transfer link "
			"(http(s)://…/u/<id>#<token> or …/t/<id>#<secret>)\n");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct stat sb;

		if (stat(f[i].path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			fprintf(stderr, "offloadctl upload: %s: not a readable file\n", f[i].path);
			rc = EX_NOINPUT;
			goto out;
		}
		f[i].size = (uint64_t)sb.st_size;
		f[i].mtime = (int64_t)sb.st_mtime;
		f[i].name = g_path_get_basename(f[i].path);
	}
	if (dir == NULL)
		dir = default_state_dir();
	if (g_mkdir_with_parents(dir, 0700) != 0) {
		fprintf(stderr, "offloadctl upload: %s: %s\n", dir, g_strerror(errno));
		rc = EX_CANTCREAT;
		goto out;
	}
	sp = state_path(dir, u.src, f, n, msg);
	u.curl = curl_easy_init();
	if (u.curl == NULL) {
		rc = EX_SOFTWARE;
		goto out;
	}
	rc = run(&u, f, n, msg, sp, &stale);
	if (stale) {
		fprintf(stderr, "offloadctl upload: the saved reply is gone; starting again\n");
		unlink(sp);
		rc = run(&u, f, n, msg, sp, &stale);
	}
	goto out;
out_usage:
	rc = usage();
out:
	if (u.curl)
		curl_easy_cleanup(u.curl);
	for (int i = 0; i < n; i++)
		g_free(f[i].name);
	g_free(f);
	g_free(sp);
	g_free(dir);
	crypto_free_string(u.token);
	g_free(u.base);
	return rc;
}
