/*
 * test_audit.c - audit.c: kv quoting, JSON lines, field order, personal
 * data modes, the hash chain and its verification, concurrent writers
 * (threads and a second process); forward-secure seals (vectors as in
 * offload.conf(5) AUDIT LOG), rotation across files, cut ends and rewrites.
 */
#include "audit.h"
#include "audit_int.h"
#include "crypto.h"
#include "encoding.h"
#include "unit.h"

#include <json-glib/json-glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int path_counter;

/* new_log - a conf whose audit log is a fresh file in the test directory */
static struct conf *
new_log(enum conf_audit_format fmt, enum conf_audit_personal personal)
{
	struct conf *c = conf_defaults();

	g_free(c->audit_path);
	c->audit_path = g_strdup_printf("%s/log%d/audit.log", unit_tmpdir(), ++path_counter);
	g_free(c->deployment_key_file);
	c->deployment_key_file = g_strdup_printf("%s/keys/deployment.key", unit_tmpdir());
	c->audit_format = fmt;
	c->audit_personal = personal;
	return c;
}

static char **
read_lines(const char *path, size_t *n)
{
	char *text = NULL;
	char **lines;
	size_t len;

	if (!g_file_get_contents(path, &text, &len, NULL)) {
		*n = 0;
		return g_new0(char *, 1);
	}
	/* drop the final '\n' so splitting gives exactly the lines */
	if (len > 0 && text[len - 1] == '\n')
		text[len - 1] = '\0';
	lines = len > 0 ? g_strsplit(text, "\n", -1) : g_new0(char *, 1);
	*n = g_strv_length(lines);
	g_free(text);
	return lines;
}

static void
write_one(const struct conf *c, const struct audit_event *ev)
{
	struct audit *a = audit_open(c, NULL);

	if (a == NULL || audit_write(a, ev) != 0) {
		fprintf(stderr, "audit write failed\n");
		exit(2);
	}
	audit_close(a);
}

static void
test_kv_quoting(void)
{
	struct conf *c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
	struct audit_event ev = {
		.event = "attachment", .queue_id = "4XyZ1234", .message_id = "<a\"b@x.example>",
		.from = "a\nevent=fake", .rcpt = "", .file = "Bauplan Haus.pdf", .size = 123,
		.type = "a\\b", .class_ = "M\xc3\xbcller", .reasons = "iban=3", .action = "offload\r\n",
		.client = NULL,
	};
	size_t n;
	char **lines;

	write_one(c, &ev);
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 1, "newline injection stays one line (%zu lines)", n);
	if (n >= 1) {
		const char *l = lines[0];

		CHECK(g_str_has_prefix(l, "time=") && strstr(l, " event=attachment queue_id=4XyZ1234 ") != NULL,
			"plain values unquoted: %s", l);
		CHECK(strstr(l, " message_id=\"<a\\\"b@x.example>\" ") != NULL, "quote escaped inside quotes");
		CHECK(strstr(l, " from=\"a\\x0aevent=fake\" ") != NULL, "newline escaped as \\x0a");
		CHECK(strstr(l, " event=fake") == NULL && strstr(l, " event=") == strstr(l, " event=attachment"),
			"no injected event field");
		CHECK(strstr(l, " rcpt=\"\" ") != NULL, "empty value quoted");
		CHECK(strstr(l, " file=\"Bauplan Haus.pdf\" ") != NULL, "space quoted");
		CHECK(strstr(l, " size=123 ") != NULL, "size as number");
		CHECK(strstr(l, " type=\"a\\\\b\" ") != NULL, "backslash escaped");
		CHECK(strstr(l, " class=\"M\\xc3\\xbcller\" ") != NULL, "non-ASCII escaped as \\xNN");
		CHECK(strstr(l, " reasons=\"iban=3\" ") != NULL, "'=' quoted");
		CHECK(strstr(l, " action=\"offload\\x0d\\x0a\" ") != NULL, "CR LF escaped");
		CHECK(strstr(l, "client=") == NULL, "NULL field omitted");
	}
	g_strfreev(lines);
	conf_free(c);
}

static void
test_field_order(void)
{
	static const char *const order[] = {
		"time", "event", "queue_id", "message_id", "from", "rcpt", "file", "size", "type",
		"sha256", "class", "reasons", "action", "transfer", "expires", "client", "chain",
	};
	struct audit_event full = {
		.event = "attachment", .queue_id = "Q1", .message_id = "<m@x>", .from = "s@example.gov",
		.rcpt = "r@example.org,t@example.net", .file = "plan.pdf", .size = 0, .type = "application/pdf",
		.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		.class_ = "VERTRAULICH", .reasons = "iban", .action = "offload", .transfer = "t1",
		.expires = "2026-12-07T09:17:21Z", .client = "2001:db8:1:2::5",
	};
	struct audit_event sparse = { .event = "purge", .transfer = "t2", .size = -1 };
	int f;

	for (f = 0; f < 2; f++) {
		struct conf *c = new_log(f ? CONF_AUDIT_JSON : CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
		char **lines;
		size_t n, i;
		const char *prev = NULL;
		bool in_order = true;

		write_one(c, &full);
		write_one(c, &sparse);
		lines = read_lines(c->audit_path, &n);
		CHECK(n == 2, "%s: two lines", f ? "json" : "kv");
		for (i = 0; n == 2 && i < G_N_ELEMENTS(order); i++) {
			char *key = f ? g_strdup_printf("\"%s\":", order[i]) : g_strdup_printf("%s=", order[i]);
			const char *at = strstr(lines[0], key);

			if (at == NULL || (prev != NULL && at <= prev))
				in_order = false;
			prev = at;
			g_free(key);
		}
		CHECK(in_order, "%s: all 17 fields present in the documented order", f ? "json" : "kv");
		if (n == 2) {
			CHECK(strstr(lines[0], f ? "\"client\":\"2001:db8:1::\"" : "client=2001:db8:1::") != NULL,
				"%s: IPv6 client truncated to /48", f ? "json" : "kv");
			CHECK(strstr(lines[0], f ? "\"size\":0," : " size=0 ") != NULL, "%s: size 0 kept", f ? "json" : "kv");
			CHECK(strstr(lines[1], "size") == NULL && strstr(lines[1], "from") == NULL &&
				strstr(lines[1], "queue_id") == NULL && strstr(lines[1], "transfer") != NULL,
				"%s: NULL fields and size -1 omitted", f ? "json" : "kv");
		}
		g_strfreev(lines);
		conf_free(c);
	}
}

static void
test_json(void)
{
	struct conf *c = new_log(CONF_AUDIT_JSON, CONF_AUDIT_PLAIN);
	struct audit_event ev = {
		.event = "download", .from = "a\nevent=fake\"}", .file = "M\xc3\xbcller \xf0\x9f\x98\x80.pdf",
		.type = "bad\xffutf8", .size = 1234567890123LL, .client = "192.0.2.77", .reasons = "tab\there\\",
	};
	JsonParser *p = json_parser_new();
	GError *err = NULL;
	char **lines;
	size_t n, i;
	bool ascii = true;

	write_one(c, &ev);
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 1, "json: one line");
	for (i = 0; n == 1 && lines[0][i] != '\0'; i++)
		if ((unsigned char)lines[0][i] >= 0x80 || (unsigned char)lines[0][i] < 0x20)
			ascii = false;
	CHECK(ascii, "json: line is printable ASCII");
	if (n == 1 && json_parser_load_from_data(p, lines[0], -1, &err)) {
		JsonObject *o = json_node_get_object(json_parser_get_root(p));

		CHECK(o != NULL, "json: line is a JSON object");
		CHECK(strcmp(json_object_get_string_member(o, "from"), "a\nevent=fake\"}") == 0,
			"json: newline and quote round-trip");
		CHECK(strcmp(json_object_get_string_member(o, "file"), "M\xc3\xbcller \xf0\x9f\x98\x80.pdf") == 0,
			"json: UTF-8 incl. non-BMP round-trips");
		CHECK(strcmp(json_object_get_string_member(o, "type"), "bad\xc3\xbfutf8") == 0,
			"json: invalid UTF-8 byte becomes its Latin-1 code point");
		CHECK(strcmp(json_object_get_string_member(o, "reasons"), "tab\there\\") == 0,
			"json: tab and backslash round-trip");
		CHECK(json_object_get_int_member(o, "size") == 1234567890123LL, "json: size is a number");
		CHECK(strcmp(json_object_get_string_member(o, "client"), "192.0.2.0") == 0,
			"json: IPv4 client truncated to /24");
		CHECK(strcmp(json_object_get_string_member(o, "event"), "download") == 0 &&
			!json_object_has_member(o, "queue_id") && json_object_get_size(o) == 9,
			"json: exactly the set fields plus time and chain (%u)", json_object_get_size(o));
		CHECK(strlen(json_object_get_string_member(o, "chain")) == 32, "json: chain of 32 hex");
	} else {
		CHECK(false, "json: line parses (%s)", err ? err->message : "no line");
	}
	g_clear_error(&err);
	g_object_unref(p);
	g_strfreev(lines);
	conf_free(c);
}

static void
test_personal(void)
{
	struct audit_event ev = {
		.event = "message", .queue_id = "Q9", .from = "Alice@Example.GOV",
		.rcpt = "bob@example.org, carol@example.net", .file = "Gehaltsliste.xlsx", .client = "198.51.100.23",
		.size = 5, .class_ = "VERTRAULICH",
	};
	struct audit_event ev2 = { .event = "message", .from = "alice@example.gov", .size = -1 };
	struct conf *c;
	char **lines;
	size_t n;

	c = new_log(CONF_AUDIT_KV, CONF_AUDIT_OMIT);
	write_one(c, &ev);
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 1 && strstr(lines[0], "from=") == NULL && strstr(lines[0], "rcpt=") == NULL &&
		strstr(lines[0], "file=") == NULL && strstr(lines[0], "client=") == NULL &&
		strstr(lines[0], "queue_id=Q9") != NULL && strstr(lines[0], "class=VERTRAULICH") != NULL,
		"omit: from, rcpt, file, client left out, rest kept");
	g_strfreev(lines);
	conf_free(c);

	c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
	write_one(c, &ev);
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 1 && strstr(lines[0], " from=Alice@Example.GOV ") != NULL &&
		strstr(lines[0], " rcpt=\"bob@example.org, carol@example.net\" ") != NULL &&
		strstr(lines[0], " file=Gehaltsliste.xlsx ") != NULL && strstr(lines[0], " client=198.51.100.0 ") != NULL,
		"plain: addresses and file names as is, client truncated");
	g_strfreev(lines);
	conf_free(c);

	c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PSEUDONYMISE);
	write_one(c, &ev);
	write_one(c, &ev2);
	lines = read_lines(c->audit_path, &n);
	if (n == 2) {
		char *p1 = strstr(lines[0], " from=p:");
		char *p2 = strstr(lines[1], " from=p:");
		GRegex *re = g_regex_new(" from=p:[0-9a-f]{16} rcpt=p:[0-9a-f]{16},p:[0-9a-f]{16} "
			"file=p:[0-9a-f]{16} size=5 class=VERTRAULICH client=p:[0-9a-f]{16} chain=", 0, 0, NULL);

		CHECK(g_regex_match(re, lines[0], 0, NULL), "pseudonymise: p:<16 hex> per field and per rcpt: %s",
			lines[0]);
		g_regex_unref(re);
		CHECK(strstr(lines[0], "lice") == NULL && strstr(lines[0], "bob") == NULL &&
			strstr(lines[0], "Gehalt") == NULL && strstr(lines[0], "198.51") == NULL,
			"pseudonymise: no clear personal data");
		CHECK(p1 != NULL && p2 != NULL && strncmp(p1, p2, 8 + 16 + 1) == 0,
			"pseudonymise: same address (any case) gives the same pseudonym");
		{
			char *r = strstr(lines[0], " rcpt=p:");

			CHECK(r != NULL && strncmp(r + 6, r + 6 + 19, 18) != 0, "pseudonymise: recipients differ");
		}
	} else {
		CHECK(false, "pseudonymise: two lines written (%zu)", n);
	}
	g_strfreev(lines);
	{
		struct stat st;

		CHECK(stat(c->deployment_key_file, &st) == 0, "pseudonymise: deployment key loaded/created");
	}
	/* a different deployment key gives different pseudonyms */
	{
		struct conf *c2 = new_log(CONF_AUDIT_KV, CONF_AUDIT_PSEUDONYMISE);
		char **l1, **l2;
		size_t n1, n2;

		g_free(c2->deployment_key_file);
		c2->deployment_key_file = g_strdup_printf("%s/keys/other.key", unit_tmpdir());
		write_one(c2, &ev2);
		l1 = read_lines(c->audit_path, &n1);
		l2 = read_lines(c2->audit_path, &n2);
		CHECK(n1 == 2 && n2 == 1 && strstr(l1[1], " from=p:") != NULL && strstr(l2[0], " from=p:") != NULL &&
			strncmp(strstr(l1[1], " from=p:"), strstr(l2[0], " from=p:"), 25) != 0,
			"pseudonymise: keyed by the deployment key");
		g_strfreev(l1);
		g_strfreev(l2);
		conf_free(c2);
	}
	conf_free(c);
}

static void
rewrite_file(const char *path, char **lines, size_t skip, const char *replace_line)
{
	GString *s = g_string_new(NULL);
	size_t i;

	for (i = 0; lines[i] != NULL; i++) {
		if (i == skip && replace_line == NULL)
			continue;
		g_string_append(s, i == skip ? replace_line : lines[i]);
		g_string_append_c(s, '\n');
	}
	g_file_set_contents(path, s->str, (gssize)s->len, NULL);
	g_string_free(s, TRUE);
}

static void
test_chain(void)
{
	struct conf *c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
	struct audit_event ev = { .event = "attachment", .queue_id = "Q1", .size = 10 };
	unsigned char md[32];
	char *hex, *want, *line1;
	char **lines;
	size_t n;
	GError *err = NULL;
	long r;
	int i;

	char q[16];

	for (i = 0; i < 3; i++) {
		snprintf(q, sizeof q, "Q%d", i + 1);
		ev.queue_id = q;
		write_one(c, &ev);
	}
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 3, "chain: 3 lines");
	crypto_sha256("offload audit v1 anchor", 23, md);
	hex = enc_hex(md, 16);
	want = g_strdup_printf(" chain=%s", hex);
	CHECK(n == 3 && g_str_has_suffix(lines[0], want), "chain: first line carries the anchor %s", hex);
	g_free(want);
	g_free(hex);
	line1 = g_strconcat(lines[0], "\n", NULL);
	crypto_sha256(line1, strlen(line1), md);
	hex = enc_hex(md, 16);
	want = g_strdup_printf(" chain=%s", hex);
	CHECK(n == 3 && g_str_has_suffix(lines[1], want), "chain: line 2 = SHA-256(line 1 + LF), 32 hex");
	g_free(want);
	g_free(hex);
	g_free(line1);

	r = audit_verify(c->audit_path, &err);
	CHECK(r == 0, "verify: intact log ok (%s)", err ? err->message : "ok");
	g_clear_error(&err);

	if (n == 3) {
		char *edited = g_strdup(lines[1]);
		char *qp = strstr(edited, "queue_id=Q2");

		if (qp != NULL)
			qp[10] = '7';
		rewrite_file(c->audit_path, lines, 1, edited);
		r = audit_verify(c->audit_path, &err);
		CHECK(r == 3 && err != NULL, "verify: edited middle line detected at line 3 (%ld: %s)", r,
			err ? err->message : "");
		g_clear_error(&err);
		g_free(edited);

		rewrite_file(c->audit_path, lines, 1, NULL);
		r = audit_verify(c->audit_path, &err);
		CHECK(r == 2, "verify: deleted middle line detected at line 2 (%ld)", r);
		g_clear_error(&err);

		rewrite_file(c->audit_path, lines, 0, NULL);
		r = audit_verify(c->audit_path, &err);
		CHECK(r == 1, "verify: deleted first line detected at line 1 (%ld)", r);
		g_clear_error(&err);

		edited = g_strdup(lines[2]);
		edited[strlen(edited) - 1] = edited[strlen(edited) - 1] == '0' ? '1' : '0';
		rewrite_file(c->audit_path, lines, 2, edited);
		r = audit_verify(c->audit_path, &err);
		CHECK(r == 3, "verify: forged chain value detected (%ld)", r);
		g_clear_error(&err);
		g_free(edited);

		/* restore; then a torn last line: the next event starts on its own line */
		rewrite_file(c->audit_path, lines, 99, NULL);
		CHECK(audit_verify(c->audit_path, NULL) == 0, "verify: restored log ok");
		{
			FILE *f = fopen(c->audit_path, "a");

			fputs("time=2026-01-01T00:00:00.000Z event=attach", f);
			fclose(f);
		}
		r = audit_verify(c->audit_path, &err);
		CHECK(r == 4 && err != NULL && strstr(err->message, "incomplete") != NULL,
			"verify: torn last line reported (%ld: %s)", r, err ? err->message : "");
		g_clear_error(&err);
		write_one(c, &ev);
		g_strfreev(lines);
		lines = read_lines(c->audit_path, &n);
		CHECK(n == 5 && g_str_has_suffix(lines[3], "event=attach") && g_str_has_prefix(lines[4], "time="),
			"after a torn line the next event starts a new line");
		CHECK(audit_verify(c->audit_path, NULL) == 4, "verify: still points at the torn line");
	}
	g_strfreev(lines);

	/* an empty file starts with the anchor again */
	g_file_set_contents(c->audit_path, "", 0, NULL);
	write_one(c, &ev);
	CHECK(audit_verify(c->audit_path, NULL) == 0, "verify: emptied (rotated) file restarts at the anchor");

	CHECK(audit_verify("/nonexistent/audit.log", &err) == -1 && err != NULL, "verify: missing file is -1");
	g_clear_error(&err);
	conf_free(c);
}

/* one handle writing many events (the milter) while others write to the same file: the
 * handle's tail cache must notice every foreign write, torn line and rotation */
static void
test_tail_cache(void)
{
	struct conf *c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
	struct audit_event ev = { .event = "message", .queue_id = "T1", .size = 1 };
	struct audit *a = audit_open(c, NULL), *b = audit_open(c, NULL);
	char *rotated = g_strconcat(c->audit_path, ".1", NULL);
	GError *err = NULL;
	char **lines;
	size_t n;
	FILE *f;

	CHECK(a && b && audit_write(a, &ev) == 0 && audit_write(a, &ev) == 0 && audit_write(a, &ev) == 0,
		"tail cache: three events through one handle");
	CHECK(audit_verify(c->audit_path, &err) == 0, "tail cache: consecutive writes chain (%s)",
		err ? err->message : "ok");
	g_clear_error(&err);
	ev.queue_id = "OTHER";
	CHECK(audit_write(b, &ev) == 0, "tail cache: another writer appends");
	ev.queue_id = "T2";
	CHECK(audit_write(a, &ev) == 0 && audit_verify(c->audit_path, &err) == 0,
		"tail cache: the next event chains to the other writer's line (%s)", err ? err->message : "ok");
	g_clear_error(&err);
	f = fopen(c->audit_path, "a");
	fputs("time=2026-01-01T00:00:00.000Z event=torn", f);
	fclose(f);
	CHECK(audit_write(a, &ev) == 0, "tail cache: write after a torn line");
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 7 && g_str_has_suffix(lines[5], "event=torn") && g_str_has_prefix(lines[6], "time=") &&
		audit_verify(c->audit_path, NULL) == 6, "tail cache: a torn line is completed, the chain covers it");
	g_strfreev(lines);
	CHECK(rename(c->audit_path, rotated) == 0 && audit_write(a, &ev) == 0 && audit_write(a, &ev) == 0,
		"tail cache: two events after rotation");
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 2 && audit_verify(c->audit_path, &err) == 0,
		"tail cache: the rotated-to file starts at the anchor (%zu lines, %s)", n, err ? err->message : "ok");
	g_clear_error(&err);
	g_strfreev(lines);
	lines = read_lines(rotated, &n);
	CHECK(n == 7, "kept file: nothing more went to the renamed file (%zu lines)", n);
	g_strfreev(lines);
	CHECK(unlink(c->audit_path) == 0 && audit_write(a, &ev) == 0 && audit_write(b, &ev) == 0,
		"kept file: two writers after the log was deleted");
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 2 && audit_verify(c->audit_path, NULL) == 0,
		"kept file: the path is created again, both lines there, chained from the anchor (%zu lines)", n);
	g_strfreev(lines);
	g_file_set_contents(c->audit_path, "", 0, NULL);
	CHECK(audit_write(a, &ev) == 0 && audit_verify(c->audit_path, NULL) == 0,
		"tail cache: a file emptied in place restarts at the anchor");
	audit_close(a);
	audit_close(b);
	g_free(rotated);
	conf_free(c);
}

static void
test_disabled(void)
{
	struct conf *c = conf_defaults();
	struct audit_event ev = { .event = "message", .size = -1 };
	struct audit *a;

	g_free(c->audit_path);
	c->audit_path = g_strdup("");
	a = audit_open(c, NULL);
	CHECK(a != NULL && audit_write(a, &ev) == 0, "empty audit path: handle writes nothing, ok");
	audit_close(a);
	audit_close(NULL);
	conf_free(c);

	c = conf_defaults();
	g_free(c->audit_path);
	c->audit_path = g_strdup_printf("%s/notadir/x/audit.log", unit_tmpdir());
	{
		char *f = g_strdup_printf("%s/notadir", unit_tmpdir());
		GError *err = NULL;

		g_file_set_contents(f, "file", -1, NULL);
		a = audit_open(c, &err);
		CHECK(a == NULL && err != NULL, "unusable path: audit_open fails (%s)", err ? err->message : "");
		g_clear_error(&err);
		g_free(f);
	}
	conf_free(c);

	c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
	a = audit_open(c, NULL);
	{
		struct stat st;

		CHECK(a != NULL && stat(c->audit_path, &st) == 0 && (st.st_mode & 0777) == 0640,
			"log file created by audit_open, mode 0640");
	}
	audit_close(a);
	conf_free(c);
}

struct writer_arg {
	struct audit *a;
	int id;
	int failures;
};

static void *
writer_thread(void *p)
{
	struct writer_arg *w = p;
	int i;

	for (i = 0; i < 200; i++) {
		char q[32];
		struct audit_event ev = { .event = "attachment", .queue_id = q, .file = "a b.pdf", .size = i };

		snprintf(q, sizeof q, "T%d-%d", w->id, i);
		if (audit_write(w->a, &ev) != 0)
			w->failures++;
	}
	return NULL;
}

static void
test_concurrent(void)
{
	struct conf *c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
	struct writer_arg w[2];
	pthread_t t[2];
	struct audit *a;
	pid_t pid;
	int status = -1, i;
	char **lines;
	size_t n, child = 0;
	GError *err = NULL;

	/* fork before any thread exists (a child of a threaded process may inherit a held mutex) */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct audit *ca = audit_open(c, NULL);
		int bad = ca == NULL;

		for (i = 0; i < 200 && !bad; i++) {
			char q[32];
			struct audit_event ev = { .event = "message", .queue_id = q, .size = -1,
				.reasons = "child process" };

			snprintf(q, sizeof q, "C-%d", i);
			if (audit_write(ca, &ev) != 0)
				bad = 1;
		}
		audit_close(ca);
		_exit(bad);
	}
	a = audit_open(c, NULL);
	for (i = 0; i < 2; i++) {
		w[i].a = a;
		w[i].id = i;
		w[i].failures = 0;
		pthread_create(&t[i], NULL, writer_thread, &w[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	waitpid(pid, &status, 0);
	audit_close(a);
	CHECK(w[0].failures == 0 && w[1].failures == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"concurrent: all writes succeeded");
	lines = read_lines(c->audit_path, &n);
	for (i = 0; (size_t)i < n; i++)
		if (strstr(lines[i], "queue_id=C-") != NULL)
			child++;
	CHECK(n == 600 && child == 200, "concurrent: 2 threads x 200 + child x 200 = %zu lines (%zu child)", n, child);
	CHECK(audit_verify(c->audit_path, &err) == 0, "concurrent: chain verifies (%s)", err ? err->message : "ok");
	g_clear_error(&err);
	g_strfreev(lines);
	conf_free(c);
}

/* ---- seals and rotation ---- */

static void
test_seal_vectors(void)
{
	unsigned char seed[32], k[32];
	char mac[AUDIT_MAC_HEX + 1], *hex;
	static const char prefix[] = "time=2026-01-01T00:00:00.000Z event=seal action=manual epoch=1 mac=";
	size_t i;

	for (i = 0; i < sizeof seed; i++)
		seed[i] = (unsigned char)i;
	audit_seal_key0(seed, k);
	hex = enc_hex(k, sizeof k);
	CHECK(strcmp(hex, "e3688f1364e073fcb63453677ce1b2727b972b0db7251ce301423b33c55b7dbf") == 0,
		"seal vector: K_0 (%s)", hex);
	g_free(hex);
	audit_seal_evolve(k);
	hex = enc_hex(k, sizeof k);
	CHECK(strcmp(hex, "c6bc380378dd1d747ffa7e99f03ab05e093bca427bd409dacf8b3b721e15b90b") == 0,
		"seal vector: K_1 (%s)", hex);
	g_free(hex);
	audit_seal_mac(k, prefix, sizeof prefix - 1, "a4b6ef0dfb193cc94d00fc6fdf209a0f", mac);
	CHECK(strcmp(mac, "d218e3c8028b553a25ee2cd38b38aab5a9c6e0db67b05fc11a9904a943f6c4e6") == 0,
		"seal vector: MAC of an epoch-1 seal line (%s)", mac);
}

/* sealed_log - a log with sealing set up: keygen, 3 events, a seal, 2 events,
 * a seal; the seed in seed */
static struct audit *
sealed_log(struct conf *c, unsigned char seed[32])
{
	struct audit_event ev = { .event = "message", .queue_id = "Q1", .size = 10 };
	struct audit *a = audit_open(c, NULL);
	int i, rc;

	rc = audit_keygen(a, 900, false, seed, NULL);
	for (i = 0; i < 3; i++)
		rc |= audit_write(a, &ev);
	rc |= audit_seal(a, NULL);
	for (i = 0; i < 2; i++)
		rc |= audit_write(a, &ev);
	rc |= audit_seal(a, NULL);
	CHECK(rc == 0, "sealed log written");
	return a;
}

/* verify_n - audit_verify_files with the seed and the state of the log */
static int
verify_n(const struct conf *c, const char *const *paths, size_t n, const unsigned char *seed,
	char **msg)
{
	char *state = g_strconcat(c->audit_path, ".state", NULL);
	struct audit_verify_opts o = { .seed = seed, .state_path = seed ? state : NULL };
	struct audit_verify_result r;
	GError *err = NULL;
	int rc = audit_verify_files(paths, n, &o, &r, &err);

	*msg = g_strdup(err != NULL ? err->message : "");
	g_clear_error(&err);
	g_free(state);
	return rc;
}

static void
test_seal_tail(void)
{
	struct conf *c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
	const char *p[1] = { c->audit_path };
	unsigned char seed[32], other[32];
	struct audit *a = sealed_log(c, seed);
	char **lines, *msg;
	size_t n, i;
	int rc;

	rc = verify_n(c, p, 1, seed, &msg);
	CHECK(rc == 0, "sealed log verifies with the seed (%s)", msg);
	g_free(msg);
	memset(other, 7, sizeof other);
	rc = verify_n(c, p, 1, other, &msg);
	CHECK(rc == 1 && strstr(msg, "MAC") != NULL, "another seed does not verify (%s)", msg);
	g_free(msg);
	/* cut the last three lines (the last seal among them) */
	lines = read_lines(c->audit_path, &n);
	CHECK(n == 8, "keygen seal, 3 events, seal, 2 events, seal: 8 lines (%zu)", n);
	for (i = n - 3; i < n; i++) {
		g_free(lines[i]);
		lines[i] = NULL;
	}
	rewrite_file(c->audit_path, lines, (size_t)-1, NULL);
	CHECK(audit_verify(c->audit_path, NULL) == 0, "the unkeyed chain alone misses the cut");
	rc = verify_n(c, p, 1, seed, &msg);
	CHECK(rc == 1 && strstr(msg, "cut from the end") != NULL, "cut end detected with the seed (%s)", msg);
	g_free(msg);
	g_strfreev(lines);
	audit_close(a);
	conf_free(c);
}

static void
test_seal_rewrite(void)
{
	struct conf *c = new_log(CONF_AUDIT_JSON, CONF_AUDIT_PLAIN);
	struct conf *c2 = new_log(CONF_AUDIT_JSON, CONF_AUDIT_PLAIN);
	struct audit_event ev = { .event = "download", .transfer = "t1", .size = 5 };
	const char *p[1] = { c->audit_path };
	unsigned char seed[32];
	struct audit *a = sealed_log(c, seed);
	char *text = NULL, *msg;
	int rc, i;

	rc = verify_n(c, p, 1, seed, &msg);
	CHECK(rc == 0, "sealed JSON log verifies (%s)", msg);
	g_free(msg);
	/* rewrite the whole file: a consistent unkeyed chain, no seals */
	for (i = 0; i < 8; i++)
		write_one(c2, &ev);
	g_file_get_contents(c2->audit_path, &text, NULL, NULL);
	g_file_set_contents(c->audit_path, text, -1, NULL);
	g_free(text);
	CHECK(audit_verify(c->audit_path, NULL) == 0, "the rewrite has an intact unkeyed chain");
	rc = verify_n(c, p, 1, seed, &msg);
	CHECK(rc == 1, "full rewrite detected with the seed (%s)", msg);
	g_free(msg);
	/* the rewriter, holding the current key, seals its own lines: epoch gap */
	rc = audit_seal(a, NULL);
	rc |= verify_n(c, p, 1, seed, &msg) != 1;
	CHECK(rc == 0 && strstr(msg, "first seal") != NULL, "a seal with the current key after a rewrite "
		"is not epoch 0 (%s)", msg);
	g_free(msg);
	audit_close(a);
	conf_free(c);
	conf_free(c2);
}

/* rotate_to - audit rotate, then the path moves to path.N as logrotate does */
static char *
rotate_to(struct audit *a, const struct conf *c, int nr)
{
	char *to = g_strdup_printf("%s.%d", c->audit_path, nr);

	CHECK(audit_rotate(a, NULL) == 0 && rename(c->audit_path, to) == 0, "rotated to %s", to);
	return to;
}

static void
test_rotate_files(bool keyed)
{
	struct conf *c = new_log(CONF_AUDIT_KV, CONF_AUDIT_PLAIN);
	struct audit_event ev = { .event = "revoke", .transfer = "t9", .size = -1 };
	unsigned char seed[32];
	struct audit *a = keyed ? sealed_log(c, seed) : audit_open(c, NULL);
	char *f1, *f2, *msg, **lines;
	const char *p[3], *gap[2];
	size_t n;
	int rc;

	audit_write(a, &ev);
	f1 = rotate_to(a, c, 1);
	audit_write(a, &ev);
	/* rotate before logrotate renamed: a writer closes the file again */
	audit_rotate(a, NULL);
	audit_write(a, &ev);
	f2 = g_strdup_printf("%s.2", c->audit_path);
	CHECK(rename(c->audit_path, f2) == 0, "renamed late");
	audit_write(a, &ev);
	p[0] = f1, p[1] = f2, p[2] = c->audit_path;
	lines = read_lines(f2, &n);
	CHECK(n >= 4 && strstr(lines[0], "event=rotate action=open seq=2 previous=1 ") != NULL &&
		strstr(lines[n - 1], "event=rotate action=close seq=2 ") != NULL &&
		(strstr(lines[n - 1], " mac=") != NULL) == keyed,
		"file 2 opens naming file 1 and ends with a close line (sealed: %d)", keyed);
	g_strfreev(lines);
	rc = verify_n(c, p, 3, keyed ? seed : NULL, &msg);
	CHECK(rc == 0, "three rotated files verify in order (keyed %d: %s)", keyed, msg);
	g_free(msg);
	gap[0] = f1, gap[1] = c->audit_path;
	rc = verify_n(c, gap, 2, keyed ? seed : NULL, &msg);
	CHECK(rc == 1 && strstr(msg, "does not continue") != NULL, "a missing middle file is detected (%s)",
		msg);
	g_free(msg);
	/* the closed file's last line (its close) cut */
	lines = read_lines(f1, &n);
	g_free(lines[n - 1]);
	lines[n - 1] = NULL;
	rewrite_file(f1, lines, (size_t)-1, NULL);
	g_strfreev(lines);
	rc = verify_n(c, p, 3, keyed ? seed : NULL, &msg);
	CHECK(rc == 1 && strstr(msg, "close line") != NULL, "a rotated file without its close line is "
		"detected (%s)", msg);
	g_free(msg);
	g_free(f1);
	g_free(f2);
	audit_close(a);
	conf_free(c);
}

int
main(void)
{
	umask(022);
	test_kv_quoting();
	test_field_order();
	test_json();
	test_personal();
	test_chain();
	test_tail_cache();
	test_disabled();
	test_concurrent();
	test_seal_vectors();
	test_seal_tail();
	test_seal_rewrite();
	test_rotate_files(true);
	test_rotate_files(false);
	return unit_done();
}
