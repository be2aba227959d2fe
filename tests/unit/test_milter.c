/*
 * test_milter.c - the shared pipeline's small modules: message intake and
 * header normaliser, header operations and their emulator, notice
 * templates, link parsing, a transfer round trip on the memory store, and
 * the notification rules and texts (notify.c).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "hdrops.h"
#include "msg.h"
#include "notice.h"
#include "notify.h"
#include "pipeline.h"
#include "storage.h"
#include "transfer.h"
#include "unit.h"

static struct msg *
msg_from_string(const char *s, bool *had_crlf)
{
	FILE *in = fmemopen((void *)s, strlen(s), "r");
	GError *err = NULL;
	struct msg *m = msg_new(unit_tmpdir(), 0, &err);

	CHECK(m != NULL, "msg_new in a temp dir");
	CHECK(msg_read_stream(m, in, had_crlf, &err) == 0, "msg_read_stream accepts the input");
	fclose(in);
	return m;
}

static char *
spool_text(struct msg *m)
{
	const char *path = msg_spool_file(m);
	char *s = NULL;

	if (path != NULL)
		g_file_get_contents(path, &s, NULL, NULL);
	return s;
}

static void
test_intake(void)
{
	bool crlf = true;
	struct msg *m = msg_from_string("From alice@example.org Mon Nov 23 10:00:00 2026\n"
		"Subject: one\n\ttwo\nTo: a@example.net\n\nbody line\nlast", &crlf);
	char *s = spool_text(m);

	CHECK(!crlf, "LF input is recognised as LF");
	CHECK(m->headers->len == 2, "mbox From line dropped, two headers (got %u)", m->headers->len);
	CHECK(strcmp(((struct msg_header *)g_ptr_array_index(m->headers, 0))->value, " one\r\n\ttwo") == 0,
		"folded value kept raw with CRLF and leading space");
	CHECK(s && strcmp(s, "Subject: one\r\n\ttwo\r\nTo: a@example.net\r\n\r\nbody line\r\nlast") == 0,
		"spool holds the message with CRLF line ends");
	CHECK(msg_header_count(m, "subject") == 1 && msg_header_get(m, "TO", 0) != NULL,
		"header lookup is case-insensitive");
	g_free(s);
	msg_free(m);

	m = msg_from_string("Subject: x\r\nnot a header line\r\nmore\r\n", &crlf);
	s = spool_text(m);
	CHECK(crlf, "CRLF input is recognised");
	CHECK(m->headers->len == 1, "a non-header line ends the header block");
	CHECK(s && strcmp(s, "Subject: x\r\n\r\nnot a header line\r\nmore\r\n") == 0,
		"the non-header line starts the body");
	g_free(s);
	msg_free(m);

	m = msg_from_string("", &crlf);
	CHECK(m->headers->len == 0 && m->size == 2, "empty input gives an empty message");
	msg_free(m);
}

static void
test_hdrops(void)
{
	bool crlf;
	struct msg *m = msg_from_string("A: 1\nX-T: a\nB: 2\nX-T: b\nX-T: c\n\n", &crlf);
	GPtrArray *ops = hdrops_new();
	GString *all = g_string_new(NULL);
	guint i;

	hdrops_delete_all(ops, m, "x-t");
	CHECK(ops->len == 3 && ((struct hdr_op *)g_ptr_array_index(ops, 0))->index == 3 &&
	      ((struct hdr_op *)g_ptr_array_index(ops, 2))->index == 1,
		"delete_all goes from the highest index down");
	hdrops_change(ops, "A", 1, " one");
	hdrops_add(ops, "X-T", " new");
	hdrops_change(ops, "C", 1, " added");
	hdrops_apply(ops, m);
	for (i = 0; i < m->headers->len; i++) {
		struct msg_header *h = g_ptr_array_index(m->headers, i);

		g_string_append_printf(all, "%s:%s|", h->name, h->value);
	}
	CHECK(strcmp(all->str, "A: one|B: 2|X-T: new|C: added|") == 0,
		"emulator applies deletes, change, add (got %s)", all->str);
	g_string_free(all, TRUE);
	g_ptr_array_free(ops, TRUE);
	msg_free(m);
}

static void
test_notice(void)
{
	struct notice_file f[2] = {
		{ "Bauplan <final>.pdf", 25u * 1024 * 1024, "ab" },
		{ "evil\nX-Injected: 1", 1536, "cd" },
	};
	struct notice n = { "https://files.example.gov/t/abc#def", 1796640000, f, 2, false };
	char *t = notice_text(&n), *h = notice_html(&n), *s;
	const char *p;
	bool ascii = true;

	CHECK(strstr(t, n.link) && strstr(t, "25,0 MB / 25.0 MB") && strstr(t, "SHA-256: ab"),
		"text notice: link, sizes in both languages, hash");
	CHECK(strstr(t, "Die Anhänge") && strstr(t, "The attachments") &&
	      strstr(t, "Die Anhänge") < strstr(t, "The attachments"), "German first, English second");
	CHECK(strstr(t, "evil_X-Injected: 1") != NULL, "control characters in names cannot forge lines");
	CHECK(strstr(t, " \n") == NULL, "no trailing spaces (format=flowed safe)");
	for (p = h; *p; p++)
		if ((unsigned char)*p > 0x7e)
			ascii = false;
	CHECK(ascii, "HTML notice is pure ASCII");
	CHECK(strstr(h, "Bauplan &lt;final&gt;.pdf") && !strstr(h, "<final>"), "HTML escapes names");
	CHECK(strstr(h, "Anh&auml;nge") != NULL, "HTML umlauts as entities");
	g_free(t);
	g_free(h);
	n.hide_names = true;
	t = notice_text(&n);
	CHECK(strstr(t, "Bauplan") == NULL && strstr(t, "2 Datei(en)") != NULL, "hidden names stay hidden");
	g_free(t);
	s = notice_size(1023, true);
	CHECK(strcmp(s, "1023 Bytes") == 0, "1023 bytes");
	g_free(s);
	s = notice_size(1536, false);
	CHECK(strcmp(s, "1.5 KB") == 0, "1536 bytes = 1.5 KB (1024^n)");
	g_free(s);
}

static void
test_link(void)
{
	char id[ENVELOPE_ID_TEXT_LEN + 1], sec[ENVELOPE_SECRET_TEXT_LEN + 1];

	CHECK(transfer_parse_link("https://f.example/t/abcdefghijklmnopqrstuvwx#ABCDEFGHIJ-_0123456789", id, sec) == 0 &&
	      strcmp(id, "abcdefghijklmnopqrstuvwx") == 0 && strcmp(sec, "ABCDEFGHIJ-_0123456789") == 0,
		"link parsed into id and secret");
	CHECK(transfer_parse_link("abcdefghijklmnopqrstuvwx#ABCDEFGHIJ-_0123456789", id, sec) == 0, "bare id#secret accepted");
	CHECK(transfer_parse_link("https://f.example/t/abcdefghijklmnopqrstuvw1#ABCDEFGHIJ-_0123456789", id, sec) != 0,
		"id outside base32 rejected");
	CHECK(transfer_parse_link("https://f.example/t/abcdefghijklmnopqrstuvwx#short", id, sec) != 0, "short secret rejected");
	CHECK(transfer_parse_link("https://f.example/t/abcdefghijklmnopqrstuvwx", id, sec) != 0, "missing secret rejected");
}

static int
collect(void *arg, const void *buf, size_t len)
{
	g_byte_array_append(arg, buf, len);
	return 0;
}

static int
count_keys(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)key;
	(void)size;
	(void)mtime;
	(*(int *)arg)++;
	return 0;
}

static void
test_transfer(void)
{
	struct conf c = { 0 };
	struct storage *st;
	struct key32 dk;
	struct transfer *t, *o;
	struct transfer_upload *u;
	GByteArray *out = g_byte_array_new();
	GError *err = NULL;
	char *data = g_malloc(200000), *kpath = g_build_filename(unit_tmpdir(), "dk.key", NULL);
	char wrong[ENVELOPE_SECRET_TEXT_LEN + 1];
	int e = 0, n = 0;

	memset(data, 'x', 200000);
	c.backend = "memory";
	st = storage_open(&c, &err);
	CHECK(st != NULL, "memory store opens");
	CHECK(keys_load(kpath, &dk, &err) == 0, "deployment key created");
	t = transfer_new(st, 1700000000, 3600);
	t->sender = g_strdup("clerk@example.gov");
	u = transfer_upload_begin(t, "a.bin", "application/octet-stream", &e);
	CHECK(u && transfer_upload_write(u, data, 200000) == 0 && transfer_upload_commit(u) == 0,
		"file uploaded and committed");
	CHECK(transfer_commit(t, &dk) == 0, "manifest committed");
	o = transfer_open(st, &dk, t->id, t->secret, &err);
	CHECK(o && o->files->len == 1 && g_strcmp0(o->sender, "clerk@example.gov") == 0 &&
	      o->expires == 1700003600, "manifest opens with the secret");
	CHECK(o && transfer_read_file(o, 0, collect, out, &err) == 0 && out->len == 200000 &&
	      memcmp(out->data, data, 200000) == 0, "file reads back byte-exact");
	transfer_free(o);
	memcpy(wrong, t->secret, sizeof wrong);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	g_clear_error(&err);
	o = transfer_open(st, &dk, t->id, wrong, &err);
	CHECK(o == NULL && err != NULL, "a wrong secret does not open the manifest");
	g_clear_error(&err);
	transfer_abort(t);
	storage_list(st, "", count_keys, &n);
	CHECK(n == 0, "abort deletes every committed object (left %d)", n);
	transfer_free(t);
	storage_free(st);
	keys_wipe(&dk);
	g_byte_array_free(out, TRUE);
	g_free(data);
	g_free(kpath);
}


static void
test_notify(void)
{
	struct conf *c = conf_defaults();
	char *levels[] = { "OFFEN", "INTERN", "VERTRAULICH", "STRENG-VERTRAULICH", NULL };
	char *good[] = { "recipients", "STRENG-VERTRAULICH = sender", NULL };
	char *bad_level[] = { "GEHEIM=sender", NULL };
	char *bad_value[] = { "VERTRAULICH=phone", NULL };
	char **saved = c->notify_password_delivery;
	struct key32 dk = { 0 }, other = { 0 };
	struct transfer *t;
	struct storage *st;
	struct notify_job j = { 0 };
	struct transfer_file *f = g_new0(struct transfer_file, 1);
	GPtrArray *rcpts = g_ptr_array_new();
	GError *err = NULL;
	char *mac, *hv, *text;
	const char *pw;

	CHECK(notify_check_conf(c, levels, &err) == 0 &&
	      notify_password_to(c, "STRENG-VERTRAULICH") == NOTIFY_PASSWORD_TO_SENDER,
		"default: the password goes to the sender");
	c->notify_password_delivery = good;
	CHECK(notify_check_conf(c, levels, NULL) == 0 &&
	      notify_password_to(c, "VERTRAULICH") == NOTIFY_PASSWORD_TO_RECIPIENTS &&
	      notify_password_to(c, "streng-vertraulich") == NOTIFY_PASSWORD_TO_SENDER,
		"a bare value is the default, LEVEL=value overrides one level");
	c->notify_password_delivery = bad_level;
	CHECK(notify_check_conf(c, levels, &err) != 0 && err && strstr(err->message, "GEHEIM"),
		"an unknown level is refused and named");
	g_clear_error(&err);
	c->notify_password_delivery = bad_value;
	CHECK(notify_check_conf(c, levels, NULL) != 0, "an unknown value is refused");
	c->notify_password_delivery = saved;

	CHECK(g_strcmp0(notify_sender_address(c, "alice@example.gov"), "alice@example.gov") == 0 &&
	      notify_sender_address(c, "") == NULL && notify_sender_address(c, "<>") == NULL &&
	      notify_sender_address(c, "NoReply@example.gov") == NULL &&
	      notify_sender_address(c, "do-not-reply@example.gov") == NULL &&
	      notify_sender_address(c, "MAILER-DAEMON") == NULL,
		"null and no-reply senders get no notices without fallback_to");
	g_free(c->notify_fallback_to);
	c->notify_fallback_to = g_strdup("team@example.gov");
	CHECK(g_strcmp0(notify_sender_address(c, "noreply@example.gov"), "team@example.gov") == 0 &&
	      g_strcmp0(notify_sender_address(c, "norelpy@example.gov"), "norelpy@example.gov") == 0,
		"fallback_to takes them; other local parts stay");

	memset(dk.key, 7, sizeof dk.key);
	memset(other.key, 8, sizeof other.key);
	mac = transfer_header_mac(&dk, "<n1@example.gov>", "notice");
	hv = g_strdup_printf("confirm; transfer=x; mac=%s", mac);
	CHECK(notify_is_ours(&dk, "<n1@example.gov>", hv), "a notice MAC verifies for its Message-ID");
	CHECK(!notify_is_ours(&dk, "<n2@example.gov>", hv) && !notify_is_ours(&other, "<n1@example.gov>", hv) &&
	      !notify_is_ours(&dk, "<n1@example.gov>", "confirm; transfer=x") &&
	      !notify_is_ours(&dk, NULL, hv),
		"another Message-ID, another deployment key or no MAC: not ours");
	hv[strlen(hv) - 1] ^= 1;
	CHECK(!notify_is_ours(&dk, "<n1@example.gov>", hv), "a changed MAC is not ours");

	g_free(c->backend);
	c->backend = g_strdup("memory");
	st = storage_open(c, NULL);
	t = transfer_new(st, 1764547200, 7 * 86400);
	f->name = g_strdup("Befund\r\nX-Evil: 1.pdf");
	f->size = 1536;
	g_ptr_array_add(t->files, f);
	g_ptr_array_add(rcpts, "bob@example.net");
	j.conf = c;
	j.dk = &dk;
	j.qid = "TEST";
	j.sender = "alice@example.gov";
	j.rcpts = rcpts;
	j.subject = "Befund für Frau M.";
	j.level = "STRENG-VERTRAULICH";
	j.t = t;
	text = notify_confirm_text(&j, false);
	CHECK(strstr(text, "Befund für Frau M.") && strstr(text, "bob@example.net") &&
	      strstr(text, "STRENG-VERTRAULICH") && strstr(text, "1,5 KB") && strstr(text, "1.5 KB") &&
	      strstr(text, t->id) && strstr(text, "Ihre Nachricht") && strstr(text, "Your message"),
		"confirmation: subject, recipients, class, sizes de/en, transfer id, German first");
	CHECK(strstr(text, "Befund__X-Evil: 1.pdf") != NULL, "control characters in names cannot forge lines");
	CHECK(strstr(text, "Kennwort") == NULL, "no password line without a password");
	g_free(text);
	pw = transfer_set_password(t);
	text = notify_confirm_text(&j, true);
	CHECK(pw && strstr(text, pw) && strstr(text, "telefonisch"), "with_password: the password and how to pass it on");
	g_free(text);
	text = notify_confirm_text(&j, false);
	CHECK(pw && !strstr(text, pw) && strstr(text, "eigenen E-Mail"),
		"password to the recipients: the confirmation says so and leaves it out");
	g_free(text);
	j.revoke_link = "https://files.example.test/r/abc#def";
	text = notify_confirm_text(&j, false);
	CHECK(strstr(text, "https://files.example.test/r/abc#def") != NULL, "the revoke link when there is one");
	g_free(text);
	text = notify_password_text(&j);
	CHECK(pw && strstr(text, pw) && strstr(text, "alice@example.gov") && !strstr(text, "/t/") &&
	      strstr(text, "nicht diese E-Mail"), "password mail: password and sender, no link");
	g_free(text);
	transfer_free(t);
	storage_free(st);
	g_ptr_array_free(rcpts, TRUE);
	g_free(mac);
	g_free(hv);
	conf_free(c);
}

static unsigned
files_in(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	unsigned n = 0;

	while (d && g_dir_read_name(d))
		n++;
	if (d)
		g_dir_close(d);
	return n;
}

/* the spool: in memory up to MSG_MEM_MAX, then a private file; same bytes either way */
static void
test_spool(void)
{
	char *dir = g_build_filename(unit_tmpdir(), "spool", NULL), *s;
	char *none = g_build_filename(unit_tmpdir(), "no-such-dir", NULL);
	GString *want = g_string_new("Subject: s\r\n\r\n");
	char chunk[4096];
	struct msg *m;
	const char *path;
	unsigned i, bad;

	g_mkdir_with_parents(dir, 0700);
	memset(chunk, 'x', sizeof chunk);
	chunk[sizeof chunk - 2] = '\r';
	chunk[sizeof chunk - 1] = '\n';

	m = msg_new(dir, 0, NULL);
	msg_add_header(m, "Subject", " s");
	CHECK(msg_write_body(m, "hello\r\n", 7) == 0 && msg_finish(m) == 0, "small message spooled");
	CHECK(msg_spool_mem(m) != NULL && m->spool_path == NULL && files_in(dir) == 0,
		"a small message stays in memory: no file in spool_dir (%u)", files_in(dir));
	CHECK(msg_spool_mem(m)->len == m->size && m->size == 21 && m->body_offset == 14 &&
		memcmp(msg_spool_mem(m)->data, "Subject: s\r\n\r\nhello\r\n", 21) == 0,
		"the in-memory spool holds headers, blank line and body");
	path = msg_spool_file(m);
	s = spool_text(m);
	CHECK(path != NULL && files_in(dir) == 1 && msg_spool_mem(m) == NULL && s &&
		strcmp(s, "Subject: s\r\n\r\nhello\r\n") == 0, "msg_spool_file moves it to one file, same bytes");
	g_free(s);
	msg_free(m);
	CHECK(files_in(dir) == 0, "msg_free removes the spool file");

	m = msg_new(dir, 0, NULL);
	msg_add_header(m, "Subject", " s");
	for (i = 0, bad = 0; i < MSG_MEM_MAX / sizeof chunk + 2; i++) {
		bad += msg_write_body(m, chunk, sizeof chunk) != 0;
		g_string_append_len(want, chunk, sizeof chunk);
	}
	CHECK(bad == 0 && msg_finish(m) == 0 && m->size > MSG_MEM_MAX, "a message over MSG_MEM_MAX is spooled");
	CHECK(msg_spool_mem(m) == NULL && m->spool_path != NULL && files_in(dir) == 1,
		"past MSG_MEM_MAX the spool is a file in spool_dir");
	s = spool_text(m);
	CHECK(s && strlen(s) == want->len && strcmp(s, want->str) == 0 && m->size == want->len,
		"the file holds every byte, the in-memory part included (%zu of %zu)", s ? strlen(s) : 0, want->len);
	g_free(s);
	msg_free(m);
	CHECK(files_in(dir) == 0, "msg_free removes the big spool file");

	/* a spool_dir that cannot take files: small mail still works, big mail fails at the spill */
	m = msg_new(none, 0, NULL);
	CHECK(m != NULL && msg_write_body(m, "hi\r\n", 4) == 0 && msg_finish(m) == 0,
		"small message with an unusable spool_dir: handled in memory");
	for (i = 0; i < MSG_MEM_MAX / sizeof chunk + 2; i++)
		if (msg_write_body(m, chunk, sizeof chunk) != 0)
			break;
	CHECK(i <= MSG_MEM_MAX / sizeof chunk + 1, "unusable spool_dir: the write past MSG_MEM_MAX fails (chunk %u)", i);
	msg_free(m);
	g_string_free(want, TRUE);
	g_free(none);
	g_free(dir);
}

/* trusted_networks matching equals GInetAddressMask's (parsed once, no GObject per message) */
static void
test_nets(void)
{
	char *nets[] = { "10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1", "172.16.0.0/12",
		"198.51.100.128/25", "203.0.113.0/31", "2001:db8:8000::/33", "not-a-net", NULL };
	char *all[] = { "0.0.0.0/0", NULL };
	static const char *const addrs[] = { "10.1.2.3", "11.0.0.1", "9.255.255.255", "192.0.2.7", "192.0.2.8",
		"2001:db8::5", "2001:db9::1", "::1", "::2", "::ffff:10.0.0.1", "172.31.255.255", "172.32.0.0",
		"172.15.255.255", "198.51.100.200", "198.51.100.127", "203.0.113.1", "203.0.113.2", "2001:db8:8000::1",
		"2001:db8:7fff::1", "garbage", "", "10.0.0.1x", "1.2.3.4" };
	GArray *a = pipeline_nets(nets), *b = pipeline_nets(all);
	unsigned i, bad = 0;

	CHECK(a->len == 8, "pipeline_nets keeps the 8 parsable entries (%u)", a->len);
	for (i = 0; i < G_N_ELEMENTS(addrs); i++) {
		GInetAddress *ia = g_inet_address_new_from_string(addrs[i]);
		bool want = false, got = pipeline_nets_match(a, addrs[i]);
		char **n;

		for (n = nets; ia && *n; n++) {
			GInetAddressMask *mask = g_inet_address_mask_new_from_string(*n, NULL);

			if (mask && g_inet_address_mask_matches(mask, ia))
				want = true;
			if (mask)
				g_object_unref(mask);
		}
		if (got != want && bad++ < 5)
			CHECK(false, "pipeline_nets_match(%s) = %d, GInetAddressMask says %d", addrs[i], got, want);
		if (ia)
			g_object_unref(ia);
	}
	CHECK(bad == 0, "trusted_networks matching equals g_inet_address_mask_matches for %zu addresses",
		G_N_ELEMENTS(addrs));
	CHECK(pipeline_nets_match(b, "1.2.3.4") && !pipeline_nets_match(b, "::1") && !pipeline_nets_match(a, NULL),
		"0.0.0.0/0 takes every IPv4 address and no IPv6; no address never matches");
	g_array_free(a, TRUE);
	g_array_free(b, TRUE);
}

int
main(void)
{
	test_intake();
	test_spool();
	test_nets();
	test_hdrops();
	test_notice();
	test_link();
	test_transfer();
	test_notify();
	return unit_done();
}
