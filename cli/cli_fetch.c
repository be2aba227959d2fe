/*
 * cli_fetch.c - `offloadctl fetch LINK [--password P] [--output DIR]`: the
 * no-browser path through the portal's HTTP API (DECISIONS.md §8). GET the page
 * (status only), POST /t/<id>/unlock with the fragment secret, then download
 * every file from its /d/<ticket> URL into DIR/.<name>.part, resuming an
 * existing .part with "Range: bytes=<size>-", and rename it to DIR/<name>
 * only after size and SHA-256 match the unlock answer (fail closed: a
 * mismatch deletes the .part). The secret and password live only in this
 * process's buffers and are wiped; the ticket URLs are never printed.
 * Memory does not grow with file size (bodies are streamed; JSON is capped).
 * Single-threaded; one curl handle per run (the HTTP client: cli_fetch_http.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-glib/json-glib.h>

#include "cli.h"
#include "filename.h"
#include "crypto.h"
#include "envelope.h"
#include "transfer.h"
#include "cli_fetch.h"

/* file_sha256 - feed the rest of in to sha, its length to *len; 0 or -1 */
static int
file_sha256(FILE *in, struct crypto_sha256_ctx *sha, uint64_t *len)
{
	unsigned char buf[65536];
	size_t n;

	*len = 0;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
		crypto_sha256_update(sha, buf, n);
		*len += n;
	}
	return ferror(in) ? -1 : 0;
}

static void
hex32(const unsigned char d[32], char out[65])
{
	static const char hx[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[64] = '\0';
}

static bool
same_sha256(const char *path, const char *want)
{
	struct crypto_sha256_ctx *sha = crypto_sha256_new();
	unsigned char d[32];
	char hex[65];
	uint64_t len;
	FILE *in = fopen(path, "rb");
	bool same = false;

	if (in == NULL) {
		crypto_sha256_free(sha);
		return false;
	}
	if (file_sha256(in, sha, &len) == 0) {
		crypto_sha256_final(sha, d);
		sha = NULL;
		hex32(d, hex);
		same = strcmp(hex, want) == 0;
	}
	crypto_sha256_free(sha);
	fclose(in);
	return same;
}

/* part_open - DIR/.<name>.part for reading and appending, created 0600; never
 * through a symlink (DIR may be shared) */
static FILE *
part_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a+b");
	if (f == NULL)
		close(fd);
	return f;
}

struct fetch_file {
	unsigned index;
	const char *name, *sha256, *url;
	uint64_t size;
};

/* fetch_part_prepare - open the .part, hash what it holds (*have bytes) and
 * position at its end; a .part longer than the file is not ours and starts
 * over. 0 or an exit status. */
static int
fetch_part_prepare(struct resp *r, const char *part, uint64_t size, uint64_t *have)
{
	memset(r, 0, sizeof *r);
	r->expect = size;
	r->sha = crypto_sha256_new();
	r->out = part_open(part);
	if (r->out == NULL || fseek(r->out, 0, SEEK_SET) != 0 ||
	    file_sha256(r->out, r->sha, have) != 0 || fseek(r->out, 0, SEEK_END) != 0) {
		fprintf(stderr, "offloadctl fetch: %s: %s\n", part, g_strerror(errno));
		return EX_CANTCREAT;
	}
	if (*have > size) {
		if (ftruncate(fileno(r->out), 0) != 0 || fseek(r->out, 0, SEEK_SET) != 0)
			return EX_IOERR;
		crypto_sha256_free(r->sha);
		r->sha = crypto_sha256_new();
		*have = 0;
	}
	r->offset = *have;
	return 0;
}

/* fetch_download - bring the .part to the file's size: resume from what it
 * holds (Range), or start over once if the portal cannot serve that range
 * (416); *code is the download's HTTP status (200 when the .part was
 * already complete); 0 or an exit status (printed) */
static int
fetch_download(struct fetch *f, const struct fetch_file *ff, const char *url, const char *part,
	struct resp *r, long *code, bool *resumed)
{
	char range[40];
	uint64_t have = 0;
	int rc, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		rc = fetch_part_prepare(r, part, ff->size, &have);
		if (rc != 0)
			return rc;
		*resumed = have > 0;
		*code = have < ff->size ? 0 : 200;
		if (have < ff->size) {
			snprintf(range, sizeof range, "%llu-", (unsigned long long)have);
			rc = fetch_perform(f, url, NULL, NULL, r, have > 0 ? range : NULL, code);
			if (rc != 0) {
				fprintf(stderr, "offloadctl fetch: file %u: %llu of %llu bytes kept in %s; run again to resume\n",
					ff->index, (unsigned long long)(r->offset + r->received),
					(unsigned long long)ff->size, part);
				return rc;
			}
		}
		if (f->verbose && have == ff->size)
			fprintf(stderr, "offloadctl fetch: file %u: .part complete (%llu bytes), no request\n",
				ff->index, (unsigned long long)have);
		else if (f->verbose)
			fprintf(stderr, "offloadctl fetch: file %u: resume_from=%llu status=%ld received=%llu%s\n",
				ff->index, (unsigned long long)have, *code,
				(unsigned long long)r->received, r->restarted ? " (server sent the whole file)" : "");
		if (*code != 416 || attempt > 0)
			break;
		/* our .part does not fit what the server has: start over once */
		fclose(r->out);
		r->out = NULL;
		crypto_sha256_free(r->sha);
		r->sha = NULL;
		unlink(part);
	}
	return 0;
}

/* fetch_part_check - after the download: status, the .part on disk, its
 * length and SHA-256 against the unlock answer (fail closed: a .part that
 * cannot be the file is deleted); 0 or an exit status (printed) */
static int
fetch_part_check(struct resp *r, const struct fetch_file *ff, const char *part, const char *name,
	long code, bool resumed)
{
	unsigned char d[32];
	char hex[65];

	if (code != 200 && code != 206) {
		fetch_status_report(name, r, code);
		return fetch_status_exit(code);
	}
	if (r->write_failed || fflush(r->out) != 0 || fsync(fileno(r->out)) != 0) {
		fprintf(stderr, "offloadctl fetch: %s: %s\n", part, g_strerror(errno ? errno : EIO));
		return EX_IOERR;
	}
	if (r->bad_range) {
		fprintf(stderr, "offloadctl fetch: file %u: the portal answered a different range (%s); .part deleted\n",
			ff->index, r->content_range);
		unlink(part);
		return EX_PROTOCOL;
	}
	if (r->too_long) {
		fprintf(stderr, "offloadctl fetch: file %u: more data than the announced %llu bytes; .part deleted\n",
			ff->index, (unsigned long long)ff->size);
		unlink(part);
		return EX_DATAERR;
	}
	if (r->offset + r->received < ff->size) {
		fprintf(stderr, "offloadctl fetch: file %u: connection ended after %llu of %llu bytes; run again to resume\n",
			ff->index, (unsigned long long)(r->offset + r->received), (unsigned long long)ff->size);
		return EX_TEMPFAIL;
	}
	crypto_sha256_final(r->sha, d);
	r->sha = NULL;
	hex32(d, hex);
	if (strcmp(hex, ff->sha256) != 0) {
		fprintf(stderr, "offloadctl fetch: file %u: SHA-256 mismatch (%s%s); .part deleted\n",
			ff->index, hex, resumed && !r->restarted ? ", after resuming a partial download" : "");
		unlink(part);
		return EX_DATAERR;
	}
	return 0;
}

/* fetch_file - download one file into outdir as name (or name-2 ... when
 * taken): DIR/.<name>.part, verified, then renamed; sysexits code */
static int
fetch_file(struct fetch *f, const struct fetch_file *ff, const char *outdir, const char *name)
{
	char *url = NULL, *part = NULL, *final = NULL, *partname = NULL;
	struct resp r = { 0 };
	long code = 0;
	int rc = EX_PROTOCOL;
	bool resumed = false;

	url = fetch_resolve(f, ff->url);
	if (url == NULL) {
		fprintf(stderr, "offloadctl fetch: file %u: bad download URL in the unlock answer\n", ff->index);
		goto out;
	}
	final = g_build_filename(outdir, name, NULL);
	if (g_file_test(final, G_FILE_TEST_EXISTS) && same_sha256(final, ff->sha256)) {
		if (f->verbose)
			fprintf(stderr, "offloadctl fetch: file %u: %s already present\n", ff->index, final);
		goto done;
	}
	partname = g_strdup_printf(".%s.part", name);
	part = g_build_filename(outdir, partname, NULL);
	rc = fetch_download(f, ff, url, part, &r, &code, &resumed);
	if (rc == 0)
		rc = fetch_part_check(&r, ff, part, name, code, resumed);
	if (rc != 0)
		goto out;
	g_free(final);
	final = cli_unique_path(outdir, name);
	if (rename(part, final) != 0) {
		fprintf(stderr, "offloadctl fetch: %s: %s\n", final, g_strerror(errno));
		rc = EX_CANTCREAT;
		goto out;
	}
done:
	rc = 0;
	printf("%s\t%llu\t%s\n", final, (unsigned long long)ff->size, ff->sha256);
	fflush(stdout);
out:
	if (r.out)
		fclose(r.out);
	crypto_sha256_free(r.sha);
	g_free(partname);
	g_free(part);
	g_free(final);
	if (url)
		crypto_wipe(url, strlen(url));  /* the ticket is a bearer token */
	g_free(url);
	return rc;
}

static bool
is_sha256_hex(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 64)
		return false;
	for (i = 0; i < 64; i++)
		if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* fetch_unlock_body - {"secret":..,"password":..} (caller wipes and frees) */
static char *
fetch_unlock_body(const char *secret, const char *password)
{
	JsonBuilder *b = json_builder_new();
	char *s;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "secret");
	json_builder_add_string_value(b, secret);
	if (password) {
		json_builder_set_member_name(b, "password");
		json_builder_add_string_value(b, password);
	}
	json_builder_end_object(b);
	s = cli_json_text(b);
	g_object_unref(b);
	return s;
}

struct fetch_args {
	const char *conf_path, *link, *outdir, *pwfile;
	char *pw;  /* --password (copied, the argument blanked) or the file's line; wiped */
};

/* fetch_parse_args - -1 on usage */
static int
fetch_parse_args(struct fetch_args *a, struct fetch *f, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			a->conf_path = argv[++i];
		else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
			a->outdir = argv[++i];
		else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc && a->pw == NULL) {
			/* keep a copy and blank the argument (it shows in /proc/PID/cmdline) */
			a->pw = g_strdup(argv[++i]);
			crypto_wipe(argv[i], strlen(argv[i]));
		} else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
			a->pwfile = argv[++i];
		else if (strcmp(argv[i], "--ca-file") == 0 && i + 1 < argc)
			f->ca_file = argv[++i];
		else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
			f->verbose = true;
		else if (argv[i][0] != '-' && a->link == NULL)
			a->link = argv[i];
		else
			return -1;
	}
	return a->link == NULL || (a->pw && a->pwfile) ? -1 : 0;
}

/* fetch_setup - the link's id and secret, the optional config (only
 * checked: the portal comes from the link), the password file, libcurl;
 * 0 or an exit status (printed) */
static int
fetch_setup(struct fetch_args *a, struct fetch *f, struct conf **c, char *id, char *secret)
{
	if (transfer_parse_link(a->link, id, secret) != 0 || fetch_page_setup(f, a->link) != 0) {
		fprintf(stderr, "offloadctl fetch: not a transfer link (http(s)://…/t/<id>#<secret>)\n");
		return EX_USAGE;
	}
	if (a->conf_path) {
		*c = cli_load_conf(a->conf_path);
		if (*c == NULL)
			return EX_CONFIG;
	}
	if (a->pwfile) {
		a->pw = cli_read_password_file("fetch", a->pwfile);
		if (a->pw == NULL)
			return EX_NOINPUT;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "offloadctl fetch: cannot initialise libcurl\n");
		return EX_SOFTWARE;
	}
	f->curl = curl_easy_init();
	if (f->curl == NULL) {
		fprintf(stderr, "offloadctl fetch: cannot initialise libcurl\n");
		return EX_SOFTWARE;
	}
	return 0;
}

/* fetch_page - GET the page: only its status (a GET never unlocks anything) */
static int
fetch_page(struct fetch *f, const char *id, const char *url, struct resp *r)
{
	long code = 0;
	int rc;

	rc = fetch_perform(f, url, NULL, NULL, r, NULL, &code);
	if (rc == 0 && code != 200) {
		fetch_status_report(id, r, code);
		rc = fetch_status_exit(code);
	}
	return rc;
}

/* fetch_unlock - POST <page>/unlock with the secret (and password); the
 * answer in r->body; 0 or an exit status (printed) */
static int
fetch_unlock(struct fetch *f, const char *url, const char *secret, const char *password,
	struct resp *r)
{
	struct curl_slist *hdrs = NULL;
	char *u = g_strconcat(url, "/unlock", NULL);
	char *body = fetch_unlock_body(secret, password);
	long code = 0;
	int rc;

	g_byte_array_set_size(r->body, 0);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	rc = fetch_perform(f, u, body, hdrs, r, NULL, &code);
	g_free(u);
	crypto_free_string(body);
	curl_slist_free_all(hdrs);
	if (rc != 0)
		return rc;
	if (r->overflow) {
		fprintf(stderr, "offloadctl fetch: unlock answer larger than %u bytes\n", FETCH_JSON_MAX);
		return EX_PROTOCOL;
	}
	if (code == 403) {
		fprintf(stderr, "offloadctl fetch: the link's secret is wrong (HTTP 403)\n");
		return EX_DATAERR;
	}
	if (code == 401) {
		fprintf(stderr, "offloadctl fetch: %s (HTTP 401)\n",
			password ? "wrong password" : "this transfer needs a password: --password or --password-file");
		return EX_DATAERR;
	}
	if (code != 200) {
		fetch_status_report("unlock", r, code);
		return fetch_status_exit(code);
	}
	return 0;
}

/* fetch_unlock_files - the file list of the unlock answer (owned by the
 * parser), which must be for transfer id; 0 or EX_PROTOCOL (printed) */
static int
fetch_unlock_files(struct fetch *f, const GByteArray *body, const char *id, JsonParser *parser,
	JsonArray **files)
{
	JsonObject *obj;

	if (!json_parser_load_from_data(parser, (const char *)body->data, (gssize)body->len, NULL) ||
	    json_parser_get_root(parser) == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		fprintf(stderr, "offloadctl fetch: the unlock answer is not a JSON object\n");
		return EX_PROTOCOL;
	}
	obj = json_node_get_object(json_parser_get_root(parser));
	if (json_object_has_member(obj, "id") &&
	    g_strcmp0(json_object_get_string_member_with_default(obj, "id", ""), id) != 0) {
		fprintf(stderr, "offloadctl fetch: the unlock answer is for another transfer\n");
		return EX_PROTOCOL;
	}
	*files = json_object_has_member(obj, "files") &&
		JSON_NODE_HOLDS_ARRAY(json_object_get_member(obj, "files")) ?
		json_object_get_array_member(obj, "files") : NULL;
	if (*files == NULL) {
		fprintf(stderr, "offloadctl fetch: the unlock answer has no file list\n");
		return EX_PROTOCOL;
	}
	if (f->verbose && json_object_has_member(obj, "sender"))
		fprintf(stderr, "offloadctl fetch: sender %s, expires %s\n",
			json_object_get_string_member_with_default(obj, "sender", "?"),
			json_object_get_string_member_with_default(obj, "expires", "?"));
	return 0;
}

/* fetch_entry - entry i of the file list; 0 or EX_PROTOCOL */
static int
fetch_entry(JsonArray *files, guint i, struct fetch_file *ff)
{
	JsonNode *node = json_array_get_element(files, i);
	JsonObject *fo = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	gint64 size;

	if (fo == NULL)
		return EX_PROTOCOL;
	ff->index = (unsigned)json_object_get_int_member_with_default(fo, "index", i);
	ff->name = json_object_get_string_member_with_default(fo, "name", "");
	ff->sha256 = json_object_get_string_member_with_default(fo, "sha256", NULL);
	ff->url = json_object_get_string_member_with_default(fo, "url", NULL);
	size = json_object_get_int_member_with_default(fo, "size", -1);
	if (size < 0 || !is_sha256_hex(ff->sha256) || ff->url == NULL) {
		fprintf(stderr, "offloadctl fetch: file %u: incomplete entry in the unlock answer\n", i);
		return EX_PROTOCOL;
	}
	ff->size = (uint64_t)size;
	return 0;
}

/* fetch_all - every file of the list into outdir, stopping at the first
 * failure; two files of one transfer never share a name (nor a .part) */
static int
fetch_all(struct fetch *f, JsonArray *files, const char *outdir)
{
	GHashTable *used;
	guint i, nfiles = json_array_get_length(files);
	int n, rc = 0;

	if (g_mkdir_with_parents(outdir, 0700) != 0) {
		fprintf(stderr, "offloadctl fetch: %s: %s\n", outdir, g_strerror(errno));
		return EX_CANTCREAT;
	}
	used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (i = 0; i < nfiles && rc == 0; i++) {
		struct fetch_file ff = { 0 };
		char *name;

		rc = fetch_entry(files, i, &ff);
		if (rc != 0)
			break;
		name = filename_safe(ff.name, i);
		for (n = 2; g_hash_table_contains(used, name); n++) {
			char *alt = cli_name_variant(name, n);

			g_free(name);
			name = alt;
		}
		g_hash_table_add(used, g_strdup(name));
		rc = fetch_file(f, &ff, outdir, name);
		g_free(name);
	}
	g_hash_table_destroy(used);
	return rc;
}

int
cli_fetch(const char *conf_path, int argc, char **argv)
{
	struct fetch_args a = { .conf_path = conf_path, .outdir = "." };
	char id[ENVELOPE_ID_TEXT_LEN + 1] = "", secret[ENVELOPE_SECRET_TEXT_LEN + 1] = "";
	struct fetch f = { 0 };
	struct resp r = { 0 };
	struct conf *c = NULL;
	JsonParser *parser = NULL;
	JsonArray *files = NULL;
	char *url = NULL;
	int rc;

	if (fetch_parse_args(&a, &f, argc, argv) != 0) {
		fprintf(stderr, "usage: offloadctl fetch LINK [--password P | --password-file FILE] [--output DIR]\n"
				"                        [--ca-file FILE] [--config FILE] [-v]\n");
		rc = EX_USAGE;
		goto out;
	}
	rc = fetch_setup(&a, &f, &c, id, secret);
	if (rc != 0)
		goto out;
	curl_url_get(f.page, CURLUPART_URL, &url, 0);
	r.body = g_byte_array_new();
	parser = json_parser_new();
	rc = fetch_page(&f, id, url, &r);
	if (rc == 0)
		rc = fetch_unlock(&f, url, secret, a.pw, &r);
	if (rc == 0)
		rc = fetch_unlock_files(&f, r.body, id, parser, &files);
	if (rc == 0)
		rc = fetch_all(&f, files, a.outdir);
out:
	crypto_wipe(secret, sizeof secret);
	crypto_free_string(a.pw);
	if (r.body) {
		crypto_wipe(r.body->data, r.body->len);  /* holds the tickets */
		g_byte_array_free(r.body, TRUE);
	}
	if (parser)
		g_object_unref(parser);
	curl_free(url);
	if (f.curl) {
		curl_easy_cleanup(f.curl);
		curl_global_cleanup();
	}
	curl_url_cleanup(f.page);
	g_free(f.origin);
	conf_free(c);
	return rc;
}
