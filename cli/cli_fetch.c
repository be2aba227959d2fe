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
 * Single-threaded; one curl handle per run.
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

/* name_variant - "a.txt" -> "a-2.txt" */
static char *
name_variant(const char *name, int n)
{
	const char *dot = strrchr(name, '.');

	return dot && dot != name ? g_strdup_printf("%.*s-%d%s", (int)(dot - name), name, n, dot) :
				    g_strdup_printf("%s-%d", name, n);
}

/* file_sha256_hex - hash of an existing file, or -1 */
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

/* fetch_file - download one file into outdir; sysexits code */
static int
fetch_file(struct fetch *f, const struct fetch_file *ff, const char *outdir, const char *name)
{
	char *url = NULL, *part = NULL, *final = NULL, *partname = NULL;
	struct resp r = { 0 };
	unsigned char d[32];
	char hex[65], range[40];
	uint64_t have = 0;
	long code = 0;
	int rc = EX_PROTOCOL, n, attempt;
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
		rc = 0;
		goto done;
	}
	partname = g_strdup_printf(".%s.part", name);
	part = g_build_filename(outdir, partname, NULL);
	for (attempt = 0; attempt < 2; attempt++) {
		memset(&r, 0, sizeof r);
		r.expect = ff->size;
		r.sha = crypto_sha256_new();
		r.out = part_open(part);
		if (r.out == NULL || fseek(r.out, 0, SEEK_SET) != 0 ||
		    file_sha256(r.out, r.sha, &have) != 0 || fseek(r.out, 0, SEEK_END) != 0) {
			fprintf(stderr, "offloadctl fetch: %s: %s\n", part, g_strerror(errno));
			rc = EX_CANTCREAT;
			goto out;
		}
		if (have > ff->size) {  /* longer than the file: not ours, start over */
			if (ftruncate(fileno(r.out), 0) != 0 || fseek(r.out, 0, SEEK_SET) != 0) {
				rc = EX_IOERR;
				goto out;
			}
			crypto_sha256_free(r.sha);
			r.sha = crypto_sha256_new();
			have = 0;
		}
		r.offset = have;
		resumed = have > 0;
		code = have < ff->size ? 0 : 200;
		if (have < ff->size) {
			snprintf(range, sizeof range, "%llu-", (unsigned long long)have);
			rc = fetch_perform(f, url, NULL, NULL, &r, have > 0 ? range : NULL, &code);
			if (rc != 0) {
				fprintf(stderr, "offloadctl fetch: file %u: %llu of %llu bytes kept in %s; run again to resume\n",
					ff->index, (unsigned long long)(r.offset + r.received),
					(unsigned long long)ff->size, part);
				goto out;
			}
		}
		if (f->verbose && have == ff->size)
			fprintf(stderr, "offloadctl fetch: file %u: .part complete (%llu bytes), no request\n",
				ff->index, (unsigned long long)have);
		else if (f->verbose)
			fprintf(stderr, "offloadctl fetch: file %u: resume_from=%llu status=%ld received=%llu%s\n",
				ff->index, (unsigned long long)have, code,
				(unsigned long long)r.received, r.restarted ? " (server sent the whole file)" : "");
		if (code == 416 && attempt == 0) {
			/* our .part does not fit what the server has: start over once */
			fclose(r.out);
			r.out = NULL;
			crypto_sha256_free(r.sha);
			r.sha = NULL;
			unlink(part);
			continue;
		}
		break;
	}
	if (code != 200 && code != 206) {
		fetch_status_report(name, &r, code);
		rc = fetch_status_exit(code);
		goto out;
	}
	if (r.write_failed || fflush(r.out) != 0 || fsync(fileno(r.out)) != 0) {
		fprintf(stderr, "offloadctl fetch: %s: %s\n", part, g_strerror(errno ? errno : EIO));
		rc = EX_IOERR;
		goto out;
	}
	if (r.bad_range) {
		fprintf(stderr, "offloadctl fetch: file %u: the portal answered a different range (%s); .part deleted\n",
			ff->index, r.content_range);
		unlink(part);
		rc = EX_PROTOCOL;
		goto out;
	}
	if (r.too_long) {
		fprintf(stderr, "offloadctl fetch: file %u: more data than the announced %llu bytes; .part deleted\n",
			ff->index, (unsigned long long)ff->size);
		unlink(part);
		rc = EX_DATAERR;
		goto out;
	}
	if (r.offset + r.received < ff->size) {
		fprintf(stderr, "offloadctl fetch: file %u: connection ended after %llu of %llu bytes; run again to resume\n",
			ff->index, (unsigned long long)(r.offset + r.received), (unsigned long long)ff->size);
		rc = EX_TEMPFAIL;
		goto out;
	}
	crypto_sha256_final(r.sha, d);
	r.sha = NULL;
	hex32(d, hex);
	if (strcmp(hex, ff->sha256) != 0) {
		fprintf(stderr, "offloadctl fetch: file %u: SHA-256 mismatch (%s%s); .part deleted\n",
			ff->index, hex, resumed && !r.restarted ? ", after resuming a partial download" : "");
		unlink(part);
		rc = EX_DATAERR;
		goto out;
	}
	for (n = 2; g_file_test(final, G_FILE_TEST_EXISTS); n++) {
		char *alt = name_variant(name, n);

		g_free(final);
		final = g_build_filename(outdir, alt, NULL);
		g_free(alt);
	}
	if (rename(part, final) != 0) {
		fprintf(stderr, "offloadctl fetch: %s: %s\n", final, g_strerror(errno));
		rc = EX_CANTCREAT;
		goto out;
	}
	rc = 0;
done:
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
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	char *s;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "secret");
	json_builder_add_string_value(b, secret);
	if (password) {
		json_builder_set_member_name(b, "password");
		json_builder_add_string_value(b, password);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	s = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return s;
}

int
cli_fetch(const char *conf_path, int argc, char **argv)
{
	const char *link = NULL, *outdir = ".", *password = NULL, *pwfile = NULL;
	char id[ENVELOPE_ID_TEXT_LEN + 1] = "", secret[ENVELOPE_SECRET_TEXT_LEN + 1] = "";
	struct fetch f = { 0 };
	struct resp r = { 0 };
	struct curl_slist *hdrs = NULL;
	struct conf *c = NULL;
	JsonParser *parser = NULL;
	JsonObject *obj;
	JsonArray *files;
	GHashTable *used = NULL;
	char *pw = NULL, *body = NULL, *url = NULL;
	long code = 0;
	guint i, nfiles;
	int rc = EX_USAGE;

	for (i = 0; i < (guint)argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < (guint)argc)
			conf_path = argv[++i];
		else if (strcmp(argv[i], "--output") == 0 && i + 1 < (guint)argc)
			outdir = argv[++i];
		else if (strcmp(argv[i], "--password") == 0 && i + 1 < (guint)argc && pw == NULL) {
			/* keep a copy and blank the argument (it shows in /proc/PID/cmdline) */
			pw = g_strdup(argv[++i]);
			crypto_wipe(argv[i], strlen(argv[i]));
			password = pw;
		} else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < (guint)argc)
			pwfile = argv[++i];
		else if (strcmp(argv[i], "--ca-file") == 0 && i + 1 < (guint)argc)
			f.ca_file = argv[++i];
		else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
			f.verbose = true;
		else if (argv[i][0] != '-' && link == NULL)
			link = argv[i];
		else
			goto usage;
	}
	if (link == NULL || (password && pwfile))
		goto usage;
	if (transfer_parse_link(link, id, secret) != 0 || fetch_page_setup(&f, link) != 0) {
		fprintf(stderr, "offloadctl fetch: not a transfer link (http(s)://…/t/<id>#<secret>)\n");
		goto out;
	}
	/* the config is optional: it is only checked here; the portal comes from the link */
	if (conf_path) {
		c = cli_load_conf(conf_path);
		if (c == NULL) {
			rc = EX_CONFIG;
			goto out;
		}
	}
	if (pwfile) {
		pw = cli_read_password_file("fetch", pwfile);
		if (pw == NULL) {
			rc = EX_NOINPUT;
			goto out;
		}
		password = pw;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (f.curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "offloadctl fetch: cannot initialise libcurl\n");
		rc = EX_SOFTWARE;
		goto out;
	}

	/* 1. the page: only its status (a GET never unlocks anything) */
	curl_url_get(f.page, CURLUPART_URL, &url, 0);
	r.body = g_byte_array_new();
	rc = fetch_perform(&f, url, NULL, NULL, &r, NULL, &code);
	if (rc != 0)
		goto out;
	if (code != 200) {
		fetch_status_report(id, &r, code);
		rc = fetch_status_exit(code);
		goto out;
	}

	/* 2. unlock: POST <page>/unlock */
	g_byte_array_set_size(r.body, 0);
	{
		char *u = g_strconcat(url, "/unlock", NULL);

		body = fetch_unlock_body(secret, password);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = curl_slist_append(hdrs, "Accept: application/json");
		rc = fetch_perform(&f, u, body, hdrs, &r, NULL, &code);
		g_free(u);
	}
	if (rc != 0)
		goto out;
	if (r.overflow) {
		fprintf(stderr, "offloadctl fetch: unlock answer larger than %u bytes\n", FETCH_JSON_MAX);
		rc = EX_PROTOCOL;
		goto out;
	}
	if (code == 403) {
		fprintf(stderr, "offloadctl fetch: the link's secret is wrong (HTTP 403)\n");
		rc = EX_DATAERR;
		goto out;
	}
	if (code == 401) {
		fprintf(stderr, "offloadctl fetch: %s (HTTP 401)\n",
			password ? "wrong password" : "this transfer needs a password: --password or --password-file");
		rc = EX_DATAERR;
		goto out;
	}
	if (code != 200) {
		fetch_status_report("unlock", &r, code);
		rc = fetch_status_exit(code);
		goto out;
	}
	parser = json_parser_new();
	if (!json_parser_load_from_data(parser, (const char *)r.body->data, (gssize)r.body->len, NULL) ||
	    json_parser_get_root(parser) == NULL ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		fprintf(stderr, "offloadctl fetch: the unlock answer is not a JSON object\n");
		rc = EX_PROTOCOL;
		goto out;
	}
	obj = json_node_get_object(json_parser_get_root(parser));
	if (json_object_has_member(obj, "id") &&
	    g_strcmp0(json_object_get_string_member_with_default(obj, "id", ""), id) != 0) {
		fprintf(stderr, "offloadctl fetch: the unlock answer is for another transfer\n");
		rc = EX_PROTOCOL;
		goto out;
	}
	files = json_object_has_member(obj, "files") &&
		JSON_NODE_HOLDS_ARRAY(json_object_get_member(obj, "files")) ?
		json_object_get_array_member(obj, "files") : NULL;
	if (files == NULL) {
		fprintf(stderr, "offloadctl fetch: the unlock answer has no file list\n");
		rc = EX_PROTOCOL;
		goto out;
	}
	if (f.verbose && json_object_has_member(obj, "sender"))
		fprintf(stderr, "offloadctl fetch: sender %s, expires %s\n",
			json_object_get_string_member_with_default(obj, "sender", "?"),
			json_object_get_string_member_with_default(obj, "expires", "?"));
	if (g_mkdir_with_parents(outdir, 0700) != 0) {
		fprintf(stderr, "offloadctl fetch: %s: %s\n", outdir, g_strerror(errno));
		rc = EX_CANTCREAT;
		goto out;
	}
	used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	nfiles = json_array_get_length(files);
	rc = 0;
	for (i = 0; i < nfiles && rc == 0; i++) {
		JsonNode *node = json_array_get_element(files, i);
		JsonObject *fo = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
		struct fetch_file ff = { 0 };
		gint64 size;
		char *name;
		int n;

		if (fo == NULL) {
			rc = EX_PROTOCOL;
			break;
		}
		ff.index = (unsigned)json_object_get_int_member_with_default(fo, "index", i);
		ff.name = json_object_get_string_member_with_default(fo, "name", "");
		ff.sha256 = json_object_get_string_member_with_default(fo, "sha256", NULL);
		ff.url = json_object_get_string_member_with_default(fo, "url", NULL);
		size = json_object_get_int_member_with_default(fo, "size", -1);
		if (size < 0 || !is_sha256_hex(ff.sha256) || ff.url == NULL) {
			fprintf(stderr, "offloadctl fetch: file %u: incomplete entry in the unlock answer\n", i);
			rc = EX_PROTOCOL;
			break;
		}
		ff.size = (uint64_t)size;
		/* two files of one transfer never share a name (nor a .part) */
		name = filename_safe(ff.name, i);
		for (n = 2; g_hash_table_contains(used, name); n++) {
			char *alt = name_variant(name, n);

			g_free(name);
			name = alt;
		}
		g_hash_table_add(used, g_strdup(name));
		rc = fetch_file(&f, &ff, outdir, name);
		g_free(name);
	}
	goto out;
usage:
	fprintf(stderr, "usage: offloadctl fetch LINK [--password P | --password-file FILE] [--output DIR]\n"
			"                        [--ca-file FILE] [--config FILE] [-v]\n");
out:
	crypto_wipe(secret, sizeof secret);
	crypto_free_string(body);
	crypto_free_string(pw);
	if (r.body) {
		crypto_wipe(r.body->data, r.body->len);  /* holds the tickets */
		g_byte_array_free(r.body, TRUE);
	}
	if (parser)
		g_object_unref(parser);
	if (used)
		g_hash_table_destroy(used);
	curl_free(url);
	curl_slist_free_all(hdrs);
	if (f.curl) {
		curl_easy_cleanup(f.curl);
		curl_global_cleanup();
	}
	curl_url_cleanup(f.page);
	g_free(f.origin);
	conf_free(c);
	return rc;
}
