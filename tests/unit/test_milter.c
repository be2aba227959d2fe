/*
 * test_milter.c - the shared pipeline's small modules: message intake and
 * header normaliser, header operations and their emulator, notice
 * templates, link parsing, a transfer round trip on the memory store, and
 * the notification rules and texts (notify.c); the test vectors of
 * docs/FORMATS.md §3 (header MACs, keyid object) and §5 (tombstones),
 * generated independently by tests/data/envelope-vectors/make_vectors.py,
 * byte-exactly, with one flipped byte per field, wrong keys and ids.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "crypto.h"
#include "encoding.h"
#include "hdrops.h"
#include "msg.h"
#include "notice.h"
#include "notify.h"
#include "pipeline.h"
#include "storage.h"
#include "storage_keyid.h"
#include "transfer.h"
#include "transfer_digest.h"
#include "transfer_password.h"
#include "transfer_revoke.h"
#include "transfer_stream.h"
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
	struct notice n = { .link = "https://files.example.gov/t/abc#def", .expires = 1796640000,
		.files = f, .nfiles = 2, .password = TRANSFER_DELIVERY_PHONE,
		.sender_name = "Max Muster", .sender_addr = "max@example.gov" };
	char *t = notice_text(&n), *h = notice_html(&n), *s, *flat;
	const char *p;
	bool ascii = true;

	CHECK(strstr(t, n.link) && strstr(t, "25,0 MB / 25.0 MB") && strstr(t, "SHA-256: ab"),
		"text notice: link, sizes in both languages, hash");
	CHECK(strstr(t, "Max Muster (max@example.gov) hat Ihnen Dateien geschickt.") &&
	      strstr(t, "Max Muster (max@example.gov) sent you files.") &&
	      strstr(t, "hat Ihnen") < strstr(t, "sent you"), "what happened, who sent it: German first, English second");
	CHECK(strstr(t, "Passwort: nötig. Sie bekommen es telefonisch vom Absender.") &&
	      strstr(t, "Password: needed. You get it by phone from the sender."), "password by phone, both languages");
	CHECK(strstr(t, "Dateien abholen / Collect files:\nhttps://files.example.gov/t/abc#def\n") != NULL,
		"the link on a labelled line of its own");
	CHECK(strstr(t, "Fragen? Wenden Sie sich an den Absender: Max Muster (max@example.gov).") != NULL,
		"whom to ask");
	flat = g_strdelimit(g_strdup(t), "\n", ' ');
	CHECK(strstr(flat, "Der Link führt nur zu files.example.gov.") &&
	      strstr(flat, "Wir fragen nie nach Zugangsdaten, Bank- oder Zahlungsdaten.") &&
	      strstr(flat, "The link leads only to files.example.gov.") &&
	      strstr(flat, "We never ask for login credentials, bank or payment details."),
		"authenticity hint: the portal host, never credentials or payment data");
	for (p = t, s = NULL; *p; p = strchr(p, '\n') + 1) {
		const char *e = strchr(p, '\n');

		if (e == NULL)
			break;
		if (g_utf8_strlen(p, e - p) > 76 && !g_str_has_prefix(p, "https://"))
			s = g_strndup(p, e - p);
	}
	CHECK(s == NULL, "no text line over 76 characters but the link (%s)", s ? s : "");
	g_free(s);
	CHECK(strstr(h, "Dateien abholen / Collect files</a>") && strstr(h, "<table role=\"presentation\"") &&
	      strstr(h, ">https://files.example.gov/t/abc#def</a>"), "HTML: a table, a button, the raw URL too");
	CHECK(strstr(t, "evil_X-Injected: 1") != NULL, "control characters in names cannot forge lines");
	CHECK(strstr(t, " \n") == NULL, "no trailing spaces (format=flowed safe)");
	for (p = h; *p; p++)
		if ((unsigned char)*p > 0x7e)
			ascii = false;
	CHECK(ascii, "HTML notice is pure ASCII");
	CHECK(strstr(h, "Bauplan &lt;final&gt;.pdf") && !strstr(h, "<final>"), "HTML escapes names");
	CHECK(strstr(h, "Anh&#228;nge") && strstr(h, "n&#246;tig"), "HTML umlauts as entities");
	CHECK(strstr(t, "zurücksenden") == NULL && strstr(h, "/u/") == NULL,
		"no reply link without [upload] enabled");
	CHECK(strstr(t, "benachrichtigt") == NULL && strstr(h, "sender is told") == NULL,
		"no receipt sentence without receipts");
	g_free(t);
	g_free(h);
	n.receipts = true;
	t = notice_text(&n);
	h = notice_html(&n);
	g_free(flat);
	flat = g_strdelimit(g_strdup(t), "\n", ' ');
	CHECK(strstr(flat, "Der Absender wird benachrichtigt, wenn die Dateien heruntergeladen werden.") &&
	      strstr(t, "\nThe sender is told when the files are downloaded.\n") &&
	      strstr(flat, "benachrichtigt") < strstr(flat, "sender is told") &&
	      strstr(h, "lang=\"de\" style=\"margin:0 0 10px 0;font-family:Arial,Helvetica,sans-serif;font-size:15px;"
		"line-height:21px;color:#1a1a1a\">Der Absender wird benachrichtigt") &&
	      strstr(h, ">The sender is told when the files are downloaded.</p>"),
		"receipts on: one sentence, German first, in text and HTML");
	n.receipts = false;
	g_free(t);
	g_free(h);
	n.reply_link = "https://files.example.gov/u/abc#tok";
	n.reply_to = "clerk@example.gov";
	t = notice_text(&n);
	h = notice_html(&n);
	CHECK(strstr(t, "Dateien zurücksenden an clerk@example.gov /\nSend files back to clerk@example.gov:\n"
	      "https://files.example.gov/u/abc#tok\n") && strstr(t, "/u/abc") > strstr(t, "/t/abc"),
		"reply link: send files back to the sender, after the collect link");
	CHECK(strstr(h, "href=\"https://files.example.gov/u/abc#tok\"") &&
	      strstr(h, "Dateien zur&#252;cksenden an clerk@example.gov / Send files back to clerk@example.gov</a>"),
		"HTML: the reply link below the button");
	n.reply_link = NULL;
	g_free(t);
	g_free(h);
	n.password = TRANSFER_DELIVERY_SEPARATE_MAIL;
	t = notice_text(&n);
	CHECK(strstr(t, "in einer separaten E-Mail") && strstr(t, "in a separate e-mail"), "password in a separate e-mail");
	g_free(t);
	n.password = TRANSFER_DELIVERY_AGREED;
	n.organisation = "Stadt Musterstadt";
	t = notice_text(&n);
	g_free(flat);
	flat = g_strdelimit(g_strdup(t), "\n", ' ');
	CHECK(strstr(flat, "das Sie mit Stadt Musterstadt vereinbart haben") &&
	      strstr(flat, "the password agreed with Stadt Musterstadt"), "agreed password names the organisation");
	g_free(flat);
	g_free(t);
	n.password = TRANSFER_DELIVERY_NONE;
	n.sender_name = NULL;
	n.sender_addr = NULL;
	t = notice_text(&n);
	CHECK(strstr(t, "Passwort: nicht nötig.") && strstr(t, "Der Absender hat Ihnen") &&
	      strstr(t, "The sender sent you"), "no password; unknown sender");
	g_free(t);
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
	unsigned char body[32], body2[32];
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
	memset(body, 0x11, sizeof body);
	memset(body2, 0x11, sizeof body2);
	body2[31] ^= 1;
	mac = transfer_header_mac(&dk, "<n1@example.gov>", "notice", body);
	hv = g_strdup_printf("confirm; transfer=x; mac=%s", mac);
	CHECK(notify_is_ours(&dk, "<n1@example.gov>", body, hv),
		"a notice MAC verifies for its Message-ID and body");
	CHECK(!notify_is_ours(&dk, "<n2@example.gov>", body, hv) &&
	      !notify_is_ours(&other, "<n1@example.gov>", body, hv) &&
	      !notify_is_ours(&dk, "<n1@example.gov>", body, "confirm; transfer=x") &&
	      !notify_is_ours(&dk, NULL, body, hv),
		"another Message-ID, another deployment key or no MAC: not ours");
	CHECK(!notify_is_ours(&dk, "<n1@example.gov>", body2, hv) &&
	      !notify_is_ours(&dk, "<n1@example.gov>", NULL, hv),
		"another body (digest) or an unreadable body: not ours");
	hv[strlen(hv) - 1] ^= 1;
	CHECK(!notify_is_ours(&dk, "<n1@example.gov>", body, hv), "a changed MAC is not ours");

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

/* doc_has - docs/FORMATS.md contains the string (keeps doc and test in step) */
static bool
doc_has(const char *doc, const char *s)
{
	return doc != NULL && strstr(doc, s) != NULL;
}

/* ---- test vectors of docs/FORMATS.md §3 and §5 --------------------------- */

#define FV_ID "offloadtestvectorid23456"
#define FV_KEYID "397ad72805226887"
#define FV_KH "a42128718c71fafcdc2406be3c26c07cbce063166f03cfab59d650be2f36f084"
#define FV_MID "<20231114.4711@mail.example.gov>"
#define FV_BODY "Guten Tag,\r\n\r\ndie Dateien liegen bereit.\r\n\r\n"
#define FV_BODY_DIGEST "0288e7c027162c001589d2e1412eac6048518d895b5b3bc26e6d7c7dcb47d753"
#define FV_EMPTY_DIGEST "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define FV_CR_DIGEST "95214dcabd7c592744f2ed461262a22b05fc1b2fd6f332bc83d0acf23193f15b"
#define FV_MAC "NZwXgCUXNQbx-wfQ03Iocg"
#define FV_MAC_NOMID "ACwcbpydpCULadahwIWERw"
#define FV_MAC_EMPTY "z_DxODZlUjhyFAPNwy4TyA"
#define FV_NOTICE_MID "<notice.0815@gw.example.gov>"
#define FV_NOTICE_MAC "KUuCHj3-2Ec_7kTp-WafTg"
#define FV_KEYID_OBJ "6f66666c6f6164206b6579696420763120333937616437323830353232363838370a"
#define FV_KT "adad8f565b5b4c8055d1d67d059c84f9c1a40e40c9b5a18710b1879ad7542b92"
#define FV_TOMB "4f464c4454016f66666c6f616474657374766563746f7269643233343536000000006553f164" \
	"00000000657b7e00237250b5e962b8be342eafb3e7b1876baa6db8ad3b37a9c8aa361da3a58d2e2d"

static int
fv_collect(void *arg, const void *buf, size_t len)
{
	g_byte_array_append(arg, buf, (guint)len);
	return 0;
}

/* fv_dk - the vectors' deployment key 40..5f with its key id (keys.h) */
static void
fv_dk(struct key32 *dk, unsigned char first)
{
	unsigned char in[14 + 32], d[32];
	char *h;
	int i;

	for (i = 0; i < 32; i++)
		dk->key[i] = (unsigned char)(first + i);
	memcpy(in, "offload key id", 14);
	memcpy(in + 14, dk->key, 32);
	crypto_sha256(in, sizeof in, d);
	h = enc_hex(d, 8);
	memcpy(dk->id, h, 17);
	g_free(h);
}

/* fv_body_digest - the body digest of buf, whole or one byte at a time */
static void
fv_body_digest(const char *buf, size_t len, int bytewise, unsigned char out[32])
{
	struct body_digest d;
	size_t i;

	body_digest_init(&d);
	if (!bytewise)
		body_digest_update(&d, buf, len);
	else
		for (i = 0; i < len; i++)
			body_digest_update(&d, buf + i, 1);
	body_digest_final(&d, out);
}

static void
test_format_vectors(void)
{
	static const struct { const char *field; size_t off, len; int want; } tfields[] = {
		{ "magic", 0, 5, TRANSFER_TOMBSTONE_EINVAL }, { "version", 5, 1, TRANSFER_TOMBSTONE_EINVAL },
		{ "transfer id", 6, 24, TRANSFER_TOMBSTONE_EINVAL },
		{ "revoked_at", 30, 8, TRANSFER_TOMBSTONE_EAUTH }, { "expires", 38, 8, TRANSFER_TOMBSTONE_EAUTH },
		{ "MAC", 46, 32, TRANSFER_TOMBSTONE_EAUTH },
	};
	struct key32 dk, other;
	struct conf *c = conf_defaults();
	struct storage *st;
	unsigned char k[32], tomb[TRANSFER_TOMBSTONE_LEN], b[TRANSFER_TOMBSTONE_LEN + 1], bd[32];
	char *path = g_build_filename(unit_srcdir(), "docs", "FORMATS.md", NULL);
	char *doc = NULL, *hex, *mac, *hv;
	GByteArray *a;
	int64_t ra = 0, ex = 0;
	size_t i, j;
	int rejected;

	if (!g_file_get_contents(path, &doc, NULL, NULL))
		doc = NULL;
	CHECK(doc != NULL, "docs/FORMATS.md is readable (%s)", path);
	fv_dk(&dk, 0x40);
	fv_dk(&other, 0x41);
	CHECK(strcmp(dk.id, FV_KEYID) == 0, "vector deployment key id %s", dk.id);

	/* §3.1 body digest */
	fv_body_digest(FV_BODY, strlen(FV_BODY), 0, bd);
	hex = enc_hex(bd, 32);
	CHECK(strcmp(hex, FV_BODY_DIGEST) == 0 && doc_has(doc, FV_BODY_DIGEST),
		"body digest vector matches, documented");
	g_free(hex);
	{
		/* the same digest for every way a transport may carry that body,
		 * fed whole and one byte at a time (a CRLF split between pieces) */
		static const char *const same[] = { FV_BODY, "Guten Tag,\n\ndie Dateien liegen bereit.",
			"Guten Tag,\n\ndie Dateien liegen bereit.\n", "Guten Tag,\r\n\ndie Dateien liegen bereit.\r\n",
			"Guten Tag,\r\n\r\ndie Dateien liegen bereit.\r\n\r\n\n\r\n\r\n" };
		static const char *const other_bodies[] = { "Guten Tag,\n\ndie Dateien liegen bereit!",
			"Guten Tag,\n\n\ndie Dateien liegen bereit.", "Guten Tag,\n\ndie Dateien liegen bereit.\r",
			"Guten Tag,\r\rdie Dateien liegen bereit.", "\nGuten Tag,\n\ndie Dateien liegen bereit.",
			"Guten Tag,\n\ndie Dateien liegen bereit. " };
		int same_ok = 0, differ = 0;

		for (i = 0; i < G_N_ELEMENTS(same); i++)
			for (j = 0; j <= 1; j++) {
				fv_body_digest(same[i], strlen(same[i]), j, b);
				same_ok += memcmp(b, bd, 32) == 0;
			}
		for (i = 0; i < G_N_ELEMENTS(other_bodies); i++) {
			fv_body_digest(other_bodies[i], strlen(other_bodies[i]), 1, b);
			differ += memcmp(b, bd, 32) != 0;
		}
		CHECK(same_ok == 2 * (int)G_N_ELEMENTS(same) && differ == (int)G_N_ELEMENTS(other_bodies),
			"body digest: CRLF/LF and trailing line ends do not count (%d of %d), content, "
			"inner empty lines and bare CRs do (%d of %d)", same_ok, 2 * (int)G_N_ELEMENTS(same),
			differ, (int)G_N_ELEMENTS(other_bodies));
	}
	fv_body_digest("", 0, 0, b);
	hex = enc_hex(b, 32);
	fv_body_digest("\r\n\n", 3, 1, b);
	hv = enc_hex(b, 32);
	CHECK(strcmp(hex, FV_EMPTY_DIGEST) == 0 && strcmp(hv, FV_EMPTY_DIGEST) == 0 && doc_has(doc, FV_EMPTY_DIGEST),
		"body digest of an empty body (and of line ends only) = SHA-256 of nothing, documented");
	g_free(hex);
	g_free(hv);
	fv_body_digest("a\rb\r\r\n", 6, 1, b);
	hex = enc_hex(b, 32);
	CHECK(strcmp(hex, FV_CR_DIGEST) == 0 && doc_has(doc, FV_CR_DIGEST),
		"body digest vector with bare CRs matches, documented");
	g_free(hex);
	{
		char tmpl[] = "/tmp/offload-test-body.XXXXXX";
		int fd = g_mkstemp(tmpl);
		static const char file[] = "Subject: x\r\n\r\n" FV_BODY;

		CHECK(fd >= 0 && write(fd, file, sizeof file - 1) == (ssize_t)(sizeof file - 1) &&
		      body_digest_file(tmpl, 14, b) == 0 && memcmp(b, bd, 32) == 0 &&
		      body_digest_file("/nonexistent/offload-body", 0, b) != 0,
			"body_digest_file: the body from its offset in a spool file; a missing file fails");
		if (fd >= 0) {
			close(fd);
			unlink(tmpl);
		}
	}

	/* §3.1 X-Offload-Transfer mac= */
	crypto_hkdf(dk.key, 32, NULL, 0, "offload v2 transfer header", 26, k, 32);
	hex = enc_hex(k, 32);
	CHECK(strcmp(hex, FV_KH) == 0 && doc_has(doc, FV_KH),
		"K_h = HKDF(dk, \"\", \"offload v2 transfer header\"), documented");
	g_free(hex);
	mac = transfer_header_mac(&dk, FV_MID, FV_ID, bd);
	CHECK(strcmp(mac, FV_MAC) == 0 && doc_has(doc, FV_MAC), "header MAC vector (Message-ID) matches, documented");
	g_free(mac);
	mac = transfer_header_mac(&dk, NULL, FV_ID, bd);
	hv = transfer_header_mac(&dk, "", FV_ID, bd);
	CHECK(strcmp(mac, FV_MAC_NOMID) == 0 && strcmp(hv, FV_MAC_NOMID) == 0 && doc_has(doc, FV_MAC_NOMID),
		"header MAC vector (no Message-ID = empty) matches, documented");
	g_free(mac);
	g_free(hv);
	fv_body_digest("", 0, 0, b);
	mac = transfer_header_mac(&dk, FV_MID, FV_ID, b);
	CHECK(strcmp(mac, FV_MAC_EMPTY) == 0 && doc_has(doc, FV_MAC_EMPTY),
		"header MAC vector (empty body) matches, documented");
	g_free(mac);
	CHECK(transfer_header_mac_check(&dk, FV_MID, FV_ID, bd, FV_MAC) &&
	      transfer_header_mac_check(&dk, FV_MID, FV_ID, bd, FV_MAC ";x") &&
	      transfer_header_mac_check(&dk, FV_MID, FV_ID, bd, FV_MAC " "),
		"header MAC check: the vector, then end, ';' or white space");
	CHECK(!transfer_header_mac_check(&dk, FV_MID, FV_ID, bd, FV_MAC "A") &&
	      !transfer_header_mac_check(&dk, FV_MID, FV_ID, bd, "NZwXgCUXNQbx-wfQ03Ioc") &&
	      !transfer_header_mac_check(&dk, FV_MID, FV_ID, bd, "") &&
	      !transfer_header_mac_check(&dk, FV_MID, FV_ID, bd, NULL),
		"header MAC check: longer, shorter, empty or no token refused");
	CHECK(!transfer_header_mac_check(&other, FV_MID, FV_ID, bd, FV_MAC) &&
	      !transfer_header_mac_check(&dk, "<20231114.4712@mail.example.gov>", FV_ID, bd, FV_MAC) &&
	      !transfer_header_mac_check(&dk, NULL, FV_ID, bd, FV_MAC) &&
	      !transfer_header_mac_check(&dk, FV_MID, "offloadtestvectorid23457", bd, FV_MAC),
		"header MAC check: wrong key, Message-ID or transfer id refused");
	CHECK(!transfer_header_mac_check(&dk, FV_MID, FV_ID, b, FV_MAC) &&
	      !transfer_header_mac_check(&dk, FV_MID, FV_ID, NULL, FV_MAC),
		"header MAC check: another body (the replay of a copied header) or no digest refused");
	rejected = 0;
	for (i = 0; i < 32 * 8; i++) {
		memcpy(b, bd, 32);
		b[i / 8] ^= (unsigned char)(1u << (i % 8));
		if (!transfer_header_mac_check(&dk, FV_MID, FV_ID, b, FV_MAC))
			rejected++;
	}
	CHECK(rejected == 256, "header MAC check: each flipped body digest bit refused (%d of 256)", rejected);
	{
		char m[] = FV_MAC;

		rejected = 0;
		for (i = 0; i < strlen(m); i++) {
			char save = m[i];

			m[i] = m[i] == 'A' ? 'B' : 'A';
			if (!transfer_header_mac_check(&dk, FV_MID, FV_ID, bd, m))
				rejected++;
			m[i] = save;
		}
		CHECK(rejected == 22, "header MAC check: each changed character refused (%d of 22)", rejected);
	}

	/* §3.5 X-Offload-Notice mac= */
	mac = transfer_header_mac(&dk, FV_NOTICE_MID, "notice", bd);
	CHECK(strcmp(mac, FV_NOTICE_MAC) == 0 && doc_has(doc, FV_NOTICE_MAC),
		"notice MAC vector matches, documented");
	g_free(mac);
	hv = g_strdup_printf("confirm; transfer=%s; mac=%s", FV_ID, FV_NOTICE_MAC);
	fv_body_digest("", 0, 0, b);
	CHECK(notify_is_ours(&dk, FV_NOTICE_MID, bd, hv) && !notify_is_ours(&other, FV_NOTICE_MID, bd, hv) &&
	      !notify_is_ours(&dk, FV_MID, bd, hv) && !notify_is_ours(&dk, NULL, bd, hv) &&
	      !notify_is_ours(&dk, FV_NOTICE_MID, b, hv) && !notify_is_ours(&dk, FV_NOTICE_MID, NULL, hv),
		"notice vector: ours; not under another key, another or no Message-ID, another or no body");
	g_free(hv);
	hv = g_strdup_printf("confirm; transfer=%s; mac=%s", FV_ID, FV_MAC);
	CHECK(!notify_is_ours(&dk, FV_MID, bd, hv),
		"a transfer header MAC is no notice MAC (fixed id \"notice\")");
	g_free(hv);

	/* §3.4 keyid object */
	g_free(c->backend);
	c->backend = g_strdup("memory");
	st = storage_open(c, NULL);
	a = g_byte_array_new();
	CHECK(st && storage_keyid_check(st, &dk, true, NULL) == STORAGE_OK &&
	      storage_get(st, STORAGE_KEYID_OBJECT, 0, STORAGE_TO_END, fv_collect, a) == STORAGE_OK,
		"keyid object written on first use");
	hex = enc_hex(a->data, a->len);
	CHECK(a->len == 34 && strcmp(hex, FV_KEYID_OBJ) == 0 && doc_has(doc, FV_KEYID_OBJ),
		"keyid object vector (34 bytes) matches, documented");
	g_free(hex);
	CHECK(storage_keyid_check(st, &dk, false, NULL) == STORAGE_OK &&
	      storage_keyid_check(st, &other, true, NULL) == STORAGE_EPERM,
		"keyid: the same key passes, another key is refused");

	/* §5 tombstone */
	crypto_hkdf(dk.key, 32, NULL, 0, "offload v1 tombstone", 20, k, 32);
	hex = enc_hex(k, 32);
	CHECK(strcmp(hex, FV_KT) == 0 && doc_has(doc, FV_KT), "K_t = HKDF(dk, \"\", \"offload v1 tombstone\"), documented");
	g_free(hex);
	CHECK(transfer_tombstone_encode(&dk, FV_ID, 1700000100, 1702592000, tomb) == 0, "tombstone vector encodes");
	hex = enc_hex(tomb, sizeof tomb);
	CHECK(strcmp(hex, FV_TOMB) == 0 && doc_has(doc, FV_TOMB), "tombstone vector (78 bytes) matches, documented");
	g_free(hex);
	CHECK(transfer_tombstone_decode(&dk, FV_ID, tomb, sizeof tomb, &ra, &ex) == 0 &&
	      ra == 1700000100 && ex == 1702592000, "tombstone vector decodes (revoked_at, expires)");
	CHECK(transfer_tombstone_decode(&other, FV_ID, tomb, sizeof tomb, NULL, NULL) == TRANSFER_TOMBSTONE_EAUTH,
		"tombstone under another deployment key: MAC refused");
	CHECK(transfer_tombstone_decode(&dk, "offloadtestvectorid23457", tomb, sizeof tomb, NULL, NULL) ==
	      TRANSFER_TOMBSTONE_EINVAL, "tombstone of another transfer id refused");
	memcpy(b, tomb, sizeof tomb);
	b[sizeof tomb] = 0;
	CHECK(transfer_tombstone_decode(&dk, FV_ID, b, sizeof b, NULL, NULL) == TRANSFER_TOMBSTONE_EINVAL &&
	      transfer_tombstone_decode(&dk, FV_ID, tomb, sizeof tomb - 1, NULL, NULL) == TRANSFER_TOMBSTONE_EINVAL,
		"tombstone of 79 or 77 bytes refused");
	CHECK(transfer_tombstone_encode(&dk, "offloadtestvectorid2345", 0, 0, b) != 0 &&
	      transfer_tombstone_encode(&dk, "../etc/passwd/aaaaaaaaaa", 0, 0, b) != 0,
		"no tombstone for an invalid id");
	for (i = 0; i < G_N_ELEMENTS(tfields); i++) {
		rejected = 0;
		for (j = tfields[i].off; j < tfields[i].off + tfields[i].len; j++) {
			memcpy(b, tomb, sizeof tomb);
			b[j] ^= 0x01;
			ra = ex = -1;
			if (transfer_tombstone_decode(&dk, FV_ID, b, sizeof tomb, &ra, &ex) == tfields[i].want &&
			    ra == -1 && ex == -1)
				rejected++;
		}
		CHECK(rejected == (int)tfields[i].len, "tombstone: each flipped %s byte refused as %s (%d of %zu)",
			tfields[i].field, tfields[i].want == TRANSFER_TOMBSTONE_EAUTH ? "EAUTH" : "EINVAL",
			rejected, tfields[i].len);
	}
	g_byte_array_set_size(a, 0);
	CHECK(st && transfer_tombstone_write(st, &dk, FV_ID, 1700000100, 1702592000) == STORAGE_OK &&
	      storage_get(st, FV_ID "/t", 0, STORAGE_TO_END, fv_collect, a) == STORAGE_OK &&
	      a->len == sizeof tomb && memcmp(a->data, tomb, sizeof tomb) == 0,
		"the stored object \"<id>/t\" is the vector's 78 bytes");
	CHECK(transfer_tombstone_read(st, &dk, FV_ID, &ra, &ex) == 1 && ra == 1700000100 &&
	      transfer_tombstone_read(st, &other, FV_ID, NULL, NULL) == 0,
		"tombstone read: revoked under the key, \"none\" under another key");

	g_byte_array_free(a, TRUE);
	storage_free(st);
	conf_free(c);
	g_free(doc);
	g_free(path);
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

/* spool_file_in - the spool file lies in dir: a nameless one (O_TMPFILE,
 * reached by /proc/self/fd/N) or a named one */
static bool
spool_file_in(const char *path, const char *dir)
{
	char *link = path && g_str_has_prefix(path, "/proc/self/fd/") ? g_file_read_link(path, NULL) : NULL;
	bool in = link ? g_str_has_prefix(link, dir) && files_in(dir) == 0 :
		path && g_str_has_prefix(path, dir) && files_in(dir) == 1;

	g_free(link);
	return in;
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
	CHECK(path != NULL && spool_file_in(path, dir) && msg_spool_mem(m) == NULL && s &&
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
	CHECK(msg_spool_mem(m) == NULL && spool_file_in(m->spool_path, dir),
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
	test_format_vectors();
	return unit_done();
}
