/*
 * test_conf.c - conf.c: defaults, parsers, loading errors, overrides, the
 * printed defaults (round trip, packaging/offload.conf, man page coverage).
 */
#include "conf.h"
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
write_conf(const char *name, const char *text)
{
	char *path = g_build_filename(unit_tmpdir(), name, NULL);

	if (!g_file_set_contents(path, text, -1, NULL)) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
	return path;
}

/* load_text - load a config from text; returns conf or NULL, *msg = error */
static struct conf *
load_text(const char *text, char **msg)
{
	char *path = write_conf("offload.conf", text);
	GError *err = NULL;
	struct conf *c = conf_load(path, &err);

	*msg = err ? g_strdup(err->message) : NULL;
	g_clear_error(&err);
	g_free(path);
	return c;
}

static char *
defaults_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	conf_print_defaults(f);
	fclose(f);
	return buf;
}

static void
test_parsers(void)
{
	static const struct { const char *s; int rc; uint64_t v; } sizes[] = {
		{ "0", 0, 0 }, { "1234", 0, 1234 }, { "512k", 0, 512 * 1024ULL },
		{ "512K", 0, 512 * 1024ULL }, { "10M", 0, 10ULL << 20 }, { "1G", 0, 1ULL << 30 },
		{ "2T", 0, 2ULL << 40 }, { "10MB", 0, 10ULL << 20 }, { "10MiB", 0, 10ULL << 20 },
		{ "100B", 0, 100 }, { "10 M", 0, 10ULL << 20 },
		{ "", -1, 0 }, { "ten", -1, 0 }, { "-1", -1, 0 }, { "10X", -1, 0 }, { "M", -1, 0 },
		{ "1.5G", -1, 0 }, { "10MBB", -1, 0 }, { "99999999999999999999", -1, 0 },
		{ "16777216T", -1, 0 }, { " 10M", -1, 0 },
	};
	static const struct { const char *s; int rc; uint64_t v; } durs[] = {
		{ "240", 0, 240 }, { "240s", 0, 240 }, { "30m", 0, 1800 }, { "12h", 0, 43200 },
		{ "14d", 0, 14 * 86400ULL }, { "0", 0, 0 },
		{ "", -1, 0 }, { "1w", -1, 0 }, { "h", -1, 0 }, { "-5s", -1, 0 }, { "5ss", -1, 0 },
		{ "999999999999999999d", -1, 0 },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
		uint64_t v = 77;
		int rc = conf_parse_size(sizes[i].s, &v);

		CHECK(rc == sizes[i].rc && (rc < 0 || v == sizes[i].v),
			"conf_parse_size('%s') = %d, %" PRIu64, sizes[i].s, rc, v);
	}
	for (i = 0; i < G_N_ELEMENTS(durs); i++) {
		uint64_t v = 77;
		int rc = conf_parse_duration(durs[i].s, &v);

		CHECK(rc == durs[i].rc && (rc < 0 || v == durs[i].v),
			"conf_parse_duration('%s') = %d, %" PRIu64, durs[i].s, rc, v);
	}
}

static void
test_defaults(void)
{
	struct conf *c = conf_defaults();

	CHECK(strcmp(c->socket, "unix:/var/spool/postfix/offload/milter.sock") == 0, "default socket");
	CHECK(strcmp(c->spool_dir, "/var/spool/offload") == 0, "default spool_dir");
	CHECK(c->eom_timeout == 240, "default eom_timeout 240s");
	CHECK(c->max_message_size == 2ULL << 30, "default max_message_size 2G (a 1 GiB attachment fits)");
	CHECK(g_strv_length(c->trusted_networks) == 2 && strcmp(c->trusted_networks[0], "127.0.0.0/8") == 0 &&
		strcmp(c->trusted_networks[1], "::1") == 0, "default trusted_networks");
	CHECK(g_strv_length(c->trusted_daemons) == 1 && strcmp(c->trusted_daemons[0], "ORIGINATING") == 0,
		"default trusted_daemons");
	CHECK(c->internal_domains != NULL && c->internal_domains[0] == NULL, "default internal_domains empty list");
	CHECK(c->offload_min_size == 10ULL << 20, "default offload_min_size 10M");
	CHECK(c->max_outgoing_size == 0, "default max_outgoing_size 0");
	CHECK(c->on_error == CONF_ON_ERROR_TEMPFAIL, "default on_error tempfail");
	CHECK(c->retention == 14 * 86400ULL, "default retention 14d");
	CHECK(c->signed_mail == CONF_SIGNED_SKIP, "default signed_mail skip");
	CHECK(c->max_mime_depth == 32 && c->max_parts == 1000, "default mime limits");
	CHECK(!c->rewrite_internal, "default rewrite_internal false");
	CHECK(strcmp(c->policy_name, "default") == 0, "default policy_name");
	CHECK(strcmp(c->backend, "file") == 0 && strcmp(c->path, "/var/lib/offload/store") == 0,
		"default storage file");
	CHECK(strcmp(c->region, "us-east-1") == 0 && c->endpoint[0] == '\0' && c->bucket[0] == '\0' &&
		c->prefix[0] == '\0' && c->url[0] == '\0' && c->credentials_file[0] == '\0',
		"default s3/webdav strings");
	CHECK(strcmp(c->portal_url, "https://files.example.gov") == 0, "default portal url");
	CHECK(strcmp(c->portal_listen, "127.0.0.1:8025") == 0, "default portal listen");
	CHECK(strcmp(c->ticket_key_file, "/etc/offload/ticket.key") == 0, "default ticket_key_file");
	CHECK(strcmp(c->deployment_key_file, "/etc/offload/deployment.key") == 0, "default deployment key");
	CHECK(strcmp(c->audit_path, "/var/log/offload/audit.log") == 0, "default audit path");
	CHECK(c->audit_format == CONF_AUDIT_KV && c->audit_personal == CONF_AUDIT_PLAIN, "default audit format");
	conf_free(c);
	conf_free(NULL);

	c = conf_load(NULL, NULL);
	CHECK(c != NULL && c->eom_timeout == 240, "conf_load(NULL) gives defaults");
	conf_free(c);
}

static void
test_load_ok(void)
{
	char *msg = NULL;
	struct conf *c = load_text(
		"# comment\n"
		"[milter]\n"
		"socket = inet:8890@127.0.0.1\n"
		"trusted_networks = 10.0.0.0/8 , 2001:db8::/32,, 192.0.2.7\n"
		"[policy]\n"
		"internal_domains =  Example.GOV , .Example.gov ,\n"
		"offload_min_size = 512k\n"
		"max_outgoing_size = 20MB\n"
		"on_error = reject\n"
		"retention = 30d\n"
		"signed_mail = offload\n"
		"rewrite_internal = yes\n"
		"max_parts = 50\n"
		"[storage]\n"
		"backend = s3\n"
		"bucket = offload-store\n"
		"[portal]\n"
		"url = https://dl.example.gov/offload//\n"
		"[audit]\n"
		"path =\n"
		"format = json\n"
		"personal = pseudonymise\n", &msg);

	CHECK(c != NULL, "valid file loads (%s)", msg ? msg : "no error");
	if (c == NULL)
		goto out;
	CHECK(strcmp(c->socket, "inet:8890@127.0.0.1") == 0, "socket set");
	CHECK(g_strv_length(c->trusted_networks) == 3 && strcmp(c->trusted_networks[1], "2001:db8::/32") == 0 &&
		strcmp(c->trusted_networks[2], "192.0.2.7") == 0, "list trimmed, empty items dropped");
	CHECK(g_strv_length(c->internal_domains) == 2 && strcmp(c->internal_domains[0], "example.gov") == 0 &&
		strcmp(c->internal_domains[1], ".example.gov") == 0, "internal_domains lower-cased and trimmed");
	CHECK(c->offload_min_size == 512 * 1024ULL && c->max_outgoing_size == 20ULL << 20, "sizes set");
	CHECK(c->on_error == CONF_ON_ERROR_REJECT && c->signed_mail == CONF_SIGNED_OFFLOAD, "enums set");
	CHECK(c->retention == 30 * 86400ULL, "duration set");
	CHECK(c->rewrite_internal, "bool set");
	CHECK(c->max_parts == 50 && c->max_mime_depth == 32, "number set, other keeps default");
	CHECK(strcmp(c->backend, "s3") == 0 && strcmp(c->bucket, "offload-store") == 0, "storage set");
	CHECK(strcmp(c->portal_url, "https://dl.example.gov/offload") == 0, "portal url trailing slashes stripped");
	CHECK(c->audit_path[0] == '\0', "empty audit path");
	CHECK(c->audit_format == CONF_AUDIT_JSON && c->audit_personal == CONF_AUDIT_PSEUDONYMISE, "audit enums");
	CHECK(strcmp(c->spool_dir, "/var/spool/offload") == 0, "unset key keeps default");
out:
	conf_free(c);
	g_free(msg);
}

static void
test_load_errors(void)
{
	static const struct { const char *text; const char *msg; } cases[] = {
		{ "[policy]\noffload_min_size = ten\n", "offload.conf: [policy] offload_min_size: invalid size 'ten'" },
		{ "[policy]\nretention = 2w\n", "[policy] retention: invalid duration '2w'" },
		{ "[policy]\non_error = bounce\n", "[policy] on_error: invalid value 'bounce' (one of tempfail|accept|reject)" },
		{ "[policy]\nrewrite_internal = maybe\n", "[policy] rewrite_internal: invalid bool" },
		{ "[policy]\nmax_parts = 0\n", "[policy] max_parts: '0' out of range" },
		{ "[policy]\nmax_mime_depth = 3x\n", "[policy] max_mime_depth: invalid number '3x'" },
		{ "[policy]\nretention = 10s\n", "[policy] retention: '10s' out of range" },
		{ "[policy]\nbogus = 1\n", "[policy] bogus: unknown key" },
		{ "[nonsense]\nx = 1\n", "[nonsense]: unknown group" },
		{ "[storage]\nbackend = ftp\n", "[storage] backend: invalid value 'ftp' (one of file|s3|webdav|memory)" },
		{ "[milter]\ntrusted_networks = 10.0.0.0/8, localhost\n",
		  "[milter] trusted_networks: invalid network 'localhost'" },
		{ "[milter]\ntrusted_networks = 10.0.0.0/33\n", "invalid network '10.0.0.0/33'" },
		{ "[milter]\nsocket = /tmp/sock\n", "[milter] socket: invalid socket" },
		{ "[audit]\nformat = xml\n", "[audit] format: invalid value 'xml'" },
		{ "[audit]\npersonal = hide\n", "[audit] personal: invalid value 'hide'" },
		{ "[policy\nx\n", "offload.conf: " },
		{ "socket = x\n", "offload.conf: " },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *msg = NULL;
		struct conf *c = load_text(cases[i].text, &msg);

		CHECK(c == NULL && msg != NULL && strstr(msg, cases[i].msg) != NULL,
			"bad config %zu rejected: %s", i, msg ? msg : "(accepted)");
		conf_free(c);
		g_free(msg);
	}

	{
		GError *err = NULL;
		char *missing = g_build_filename(unit_tmpdir(), "missing.conf", NULL);
		struct conf *c = conf_load(missing, &err);

		CHECK(c == NULL && err != NULL && strstr(err->message, missing) != NULL,
			"missing file is an error naming it: %s", err ? err->message : "(none)");
		g_clear_error(&err);
		g_free(missing);
	}
}

static void
test_set(void)
{
	struct conf *c = conf_defaults();
	GError *err = NULL;

	CHECK(conf_set(c, "policy.offload_min_size", "1M", &err) == 0 && c->offload_min_size == 1ULL << 20,
		"conf_set size");
	CHECK(conf_set(c, "policy.internal_domains", "A.example, B.EXAMPLE", NULL) == 0 &&
		g_strv_length(c->internal_domains) == 2 && strcmp(c->internal_domains[1], "b.example") == 0,
		"conf_set list replaces and lower-cases");
	CHECK(conf_set(c, "storage.backend", "memory", NULL) == 0 && strcmp(c->backend, "memory") == 0,
		"conf_set choice");
	CHECK(conf_set(c, "audit.path", "/tmp/x.log", NULL) == 0 && strcmp(c->audit_path, "/tmp/x.log") == 0,
		"conf_set audit.path (struct field audit_path)");
	CHECK(conf_set(c, "portal.url", "https://x.example/", NULL) == 0 &&
		strcmp(c->portal_url, "https://x.example") == 0, "conf_set portal.url strips slash");
	CHECK(conf_set(c, "policy.offload_min_size", "lots", &err) == -1 && err != NULL &&
		strstr(err->message, "[policy] offload_min_size: invalid size 'lots'") != NULL,
		"conf_set bad value: %s", err ? err->message : "");
	g_clear_error(&err);
	CHECK(c->offload_min_size == 1ULL << 20, "failed conf_set leaves value");
	CHECK(conf_set(c, "policy.nokey", "1", &err) == -1 && err != NULL, "conf_set unknown key");
	g_clear_error(&err);
	CHECK(conf_set(c, "nodot", "1", &err) == -1 && err != NULL, "conf_set without group");
	g_clear_error(&err);
	conf_free(c);
}

/* uncomment - turn every "#key = value" line back into "key = value" */
static char *
uncomment(const char *text)
{
	char **lines = g_strsplit(text, "\n", -1);
	GString *out = g_string_new(NULL);
	size_t i;

	for (i = 0; lines[i] != NULL; i++) {
		const char *l = lines[i];

		if (l[0] == '#' && l[1] != ' ' && l[1] != '\0' && strchr(l, '=') != NULL)
			l++;
		g_string_append(out, l);
		if (lines[i + 1] != NULL)
			g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

static bool
conf_equal(const struct conf *a, const struct conf *b)
{
#define S(f) (strcmp(a->f, b->f) == 0)
#define N(f) (a->f == b->f)
#define L(f) (g_strv_equal((const char *const *)a->f, (const char *const *)b->f))
	return S(socket) && S(spool_dir) && N(eom_timeout) && N(max_message_size) && L(trusted_networks) &&
		L(trusted_daemons) && L(internal_domains) && N(offload_min_size) && N(max_outgoing_size) &&
		N(on_error) && N(retention) && N(signed_mail) && N(max_mime_depth) && N(max_parts) &&
		N(rewrite_internal) && S(policy_name) && S(backend) && S(path) && S(endpoint) && S(region) &&
		S(bucket) && S(prefix) && S(url) && S(credentials_file) && S(portal_url) && S(portal_listen) &&
		S(ticket_key_file) && S(deployment_key_file) && S(audit_path) && N(audit_format) &&
		N(audit_personal);
#undef S
#undef N
#undef L
}

static void
test_print_defaults(void)
{
	char *text = defaults_text();
	char *active = uncomment(text);
	char *msg = NULL, *pkg = NULL, *man = NULL, *path, *group = NULL;
	struct conf *d = conf_defaults();
	struct conf *c;
	size_t nkeys = 0;
	char **lines, **l;

	CHECK(strstr(text, "[policy]\n") != NULL && strstr(text, "#offload_min_size = 10M\n") != NULL &&
		strstr(text, "(size, default: 10M)\n") != NULL, "printed defaults have group, key and doc lines");
	CHECK(strstr(text, "(enum: tempfail|accept|reject, default: tempfail)") != NULL, "enum choices printed");

	c = load_text(text, &msg);
	CHECK(c != NULL && conf_equal(c, d), "printed defaults load back (%s)", msg ? msg : "ok");
	conf_free(c);
	g_free(msg);

	c = load_text(active, &msg);
	CHECK(c != NULL && conf_equal(c, d), "uncommented defaults load back to the same values (%s)",
		msg ? msg : "ok");
	conf_free(c);
	g_free(msg);
	msg = NULL;

	/* every key once, in "#key = " form, and documented with its default in
	 * the man page, under its group's .Ss heading */
	path = g_build_filename(unit_srcdir(), "docs/man/offload.conf.5", NULL);
	g_file_get_contents(path, &man, NULL, NULL);
	g_free(path);
	CHECK(man != NULL, "docs/man/offload.conf.5 readable");
	lines = g_strsplit(active, "\n", -1);
	for (l = lines; *l != NULL; l++) {
		char *eq = strstr(*l, " =");
		char *key, *needle, *heading, *sect = NULL, *item = NULL, *end = NULL;
		const char *def;
		bool ok;

		if ((*l)[0] == '[') {
			g_free(group);
			group = g_strndup(*l + 1, strlen(*l) - 2);
			continue;
		}
		if ((*l)[0] == '#' || eq == NULL)
			continue;
		nkeys++;
		key = g_strndup(*l, (size_t)(eq - *l));
		def = eq[2] == ' ' ? eq + 3 : "";
		heading = g_strdup_printf(".Ss The [%s] group\n", group);
		needle = g_strdup_printf(".It Cm %s ", key);
		if (man != NULL)
			sect = strstr(man, heading);
		if (sect != NULL)
			item = strstr(sect, needle);
		if (item != NULL)
			end = strstr(item + 1, ".It ");
		if (item != NULL && (end == NULL || strstr(item, ".El") < end))
			end = strstr(item, ".El");
		/* the item must sit inside its group's subsection */
		ok = item != NULL && end != NULL && (strstr(sect + 1, ".Ss ") == NULL || strstr(sect + 1, ".Ss ") > item);
		if (ok) {
			char *body = g_strndup(item, (size_t)(end - item));

			ok = strstr(body, "Default:") != NULL && (def[0] == '\0' ? strstr(body, "Default: empty") != NULL :
				strstr(body, def) != NULL);
			g_free(body);
		}
		CHECK(ok, "offload.conf.5 documents [%s] %s with default '%s'", group, key, def);
		g_free(heading);
		g_free(needle);
		g_free(key);
	}
	g_strfreev(lines);
	g_free(group);
	/* every key of the table is printed; the table only grows */
	CHECK(nkeys >= 61, "at least 61 keys printed (got %zu)", nkeys);

	path = g_build_filename(unit_srcdir(), "packaging/offload.conf", NULL);
	g_file_get_contents(path, &pkg, NULL, NULL);
	g_free(path);
	CHECK(pkg != NULL && strcmp(pkg, text) == 0,
		"packaging/offload.conf equals conf_print_defaults() (regenerate with offloadctl config --defaults)");

	g_free(pkg);
	g_free(man);
	conf_free(d);
	g_free(active);
	free(text);
}

int
main(void)
{
	test_parsers();
	test_defaults();
	test_load_ok();
	test_load_errors();
	test_set();
	test_print_defaults();
	return unit_done();
}
