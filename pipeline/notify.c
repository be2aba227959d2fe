/*
 * notify.c - confirmation and password mails, built with GMime and
 * submitted through the sendmail command (notify_submit.c: no shell, argv
 * only, bounded by [notify] timeout, password mails several at once). Texts: German first, English second, like the notice.
 */
#include "notify.h"

#include <string.h>
#include <time.h>
#include <gmime/gmime.h>

#include "crypto.h"
#include "log.h"
#include "notice.h"
#include "notify_submit.h"
#include "transfer_digest.h"

#define NOTIFY_MAC_ID "notice" /* never a transfer id (24 base32 chars) */

static int
password_to_parse(const char *v)
{
	if (g_ascii_strcasecmp(v, "sender") == 0)
		return NOTIFY_PASSWORD_TO_SENDER;
	if (g_ascii_strcasecmp(v, "recipients") == 0)
		return NOTIFY_PASSWORD_TO_RECIPIENTS;
	return -1;
}

/* password_to_item - one "value" or "LEVEL=value" item: its level (NULL for
 * a bare value) and value; -1 when malformed */
static int
password_to_item(const char *item, char **level)
{
	const char *eq = strchr(item, '=');
	char *v;
	int r;

	*level = NULL;
	if (eq == NULL)
		return password_to_parse(item);
	*level = g_strstrip(g_strndup(item, eq - item));
	v = g_strstrip(g_strdup(eq + 1));
	r = password_to_parse(v);
	g_free(v);
	return r;
}

int
notify_check_conf(const struct conf *c, char *const *levels, GError **err)
{
	char **it;

	for (it = c->notify_password_delivery; it && *it; it++) {
		char *level = NULL;
		int r = password_to_item(*it, &level);
		bool known = level == NULL;

		for (char *const *l = levels; level && l && *l; l++)
			known = known || g_ascii_strcasecmp(*l, level) == 0;
		g_free(level);
		if (r < 0 || !known) {
			g_set_error(err, g_quark_from_static_string("offload-notify"), 1,
				"[notify] password_delivery: '%s': expected sender, recipients or "
				"LEVEL=sender|recipients with a configured level", *it);
			return -1;
		}
	}
	return 0;
}

enum notify_password_to
notify_password_to(const struct conf *c, const char *level)
{
	int def = NOTIFY_PASSWORD_TO_SENDER, own = -1;
	char **it;

	for (it = c->notify_password_delivery; it && *it; it++) {
		char *l = NULL;
		int r = password_to_item(*it, &l);

		if (r >= 0 && l == NULL)
			def = r;
		else if (r >= 0 && level && g_ascii_strcasecmp(l, level) == 0)
			own = r;
		g_free(l);
	}
	return (enum notify_password_to)(own >= 0 ? own : def);
}

/* no_reply_local - local parts of senders nobody reads */
static bool
no_reply_local(const char *addr)
{
	static const char *const names[] = { "noreply", "no-reply", "no_reply", "donotreply",
		"do-not-reply", "do_not_reply", "mailer-daemon", NULL };
	const char *at = strrchr(addr, '@');
	size_t n = at ? (size_t)(at - addr) : strlen(addr);

	for (int i = 0; names[i]; i++)
		if (n == strlen(names[i]) && g_ascii_strncasecmp(addr, names[i], n) == 0)
			return true;
	return false;
}

const char *
notify_sender_address(const struct conf *c, const char *sender)
{
	const char *fb = c->notify_fallback_to && *c->notify_fallback_to ? c->notify_fallback_to : NULL;

	if (sender == NULL || *sender == '\0' || strcmp(sender, "<>") == 0 ||
	    strchr(sender, '@') == NULL || no_reply_local(sender))
		return fb;
	return sender;
}

bool
notify_is_ours(const struct key32 *dk, const char *message_id, const unsigned char body[32],
	const char *header_value)
{
	const char *mac = header_value ? strstr(header_value, "mac=") : NULL;

	if (mac == NULL || message_id == NULL || body == NULL)
		return false;
	return transfer_header_mac_check(dk, message_id, NOTIFY_MAC_ID, body, mac + 4);
}

/* ---- texts ------------------------------------------------------------ */

static void
append_files(GString *s, const struct transfer *t, bool german)
{
	for (guint i = 0; i < t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(t->files, i);
		char *name = notice_printable(f->name);
		char *size = notice_size(f->size, german);

		g_string_append_printf(s, "  - %s (%s)\n", name, size);
		g_free(name);
		g_free(size);
	}
}

static char *
joined_rcpts(const struct notify_job *j)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; j->rcpts && i < j->rcpts->len; i++) {
		char *r = notice_printable(g_ptr_array_index(j->rcpts, i));

		g_string_append_printf(s, "%s%s", i ? ", " : "", r);
		g_free(r);
	}
	return g_string_free(s, FALSE);
}

char *
notify_confirm_text(const struct notify_job *j, bool with_password)
{
	GString *s = g_string_new(NULL);
	const bool to_rcpts = j->t->password && !with_password;
	char *de, *en, *subj = notice_printable(j->subject ? j->subject : ""), *rcpts = joined_rcpts(j);

	notice_dates(j->t->expires, &de, &en);
	g_string_append(s, "Ihre Nachricht wurde versandt; die Anhänge hat das Mail-Gateway\n"
		"verschlüsselt gespeichert. Die Empfänger laden sie über den Link in\n"
		"der Nachricht herunter.\n\n");
	g_string_append_printf(s, "Betreff:        %s\nEmpfänger:      %s\nKlasse:         %s\n"
		"Verfügbar bis:  %s\nDateien:\n", subj, rcpts, j->level, de);
	append_files(s, j->t, true);
	if (with_password)
		g_string_append_printf(s, "\nKennwort:       %s\n"
			"Die Empfänger brauchen dieses Kennwort zum Öffnen. Geben Sie es auf\n"
			"einem anderen Weg weiter, zum Beispiel telefonisch - nicht per E-Mail.\n",
			j->t->password);
	else if (to_rcpts)
		g_string_append(s, "\nDas Kennwort haben die Empfänger in einer eigenen E-Mail erhalten.\n");
	else if (j->t->agreed)
		g_string_append(s, "\nDie Empfänger öffnen mit dem Kennwort, das sie mit Ihrer Organisation\n"
			"vereinbart haben; es wurde kein Kennwort verschickt.\n");
	if (j->revoke_link)
		g_string_append_printf(s, "\nZurückziehen (Download sofort sperren):\n%s\n", j->revoke_link);
	else
		g_string_append_printf(s, "\nZurückziehen: Ihre IT-Administration sperrt den Download mit\n"
			"der Transfer-ID %s.\n", j->t->id);

	g_string_append(s, "\n------------------------------------------------------------------------\n\n"
		"Your message was sent; the mail gateway stored its attachments\n"
		"encrypted. The recipients download them with the link in the message.\n\n");
	g_string_append_printf(s, "Subject:         %s\nRecipients:      %s\nClass:           %s\n"
		"Available until: %s\nFiles:\n", subj, rcpts, j->level, en);
	append_files(s, j->t, false);
	if (with_password)
		g_string_append_printf(s, "\nPassword:        %s\n"
			"The recipients need this password to open the files. Pass it on\n"
			"another way, for example by phone - not by e-mail.\n", j->t->password);
	else if (to_rcpts)
		g_string_append(s, "\nThe recipients received the password in a separate e-mail.\n");
	else if (j->t->agreed)
		g_string_append(s, "\nThe recipients open it with the password they agreed with your\n"
			"organisation; no password was sent.\n");
	if (j->revoke_link)
		g_string_append_printf(s, "\nRevoke (stop all downloads now):\n%s\n", j->revoke_link);
	else
		g_string_append_printf(s, "\nRevoke: your IT administration blocks the download with\n"
			"transfer id %s.\n", j->t->id);
	g_string_append_printf(s, "\nTransfer-ID: %s\n", j->t->id);
	g_free(de);
	g_free(en);
	g_free(subj);
	g_free(rcpts);
	return g_string_free(s, FALSE);
}

char *
notify_password_text(const struct notify_job *j)
{
	GString *s = g_string_new(NULL);
	char *de, *en, *subj = notice_printable(j->subject ? j->subject : "");
	char *from = notice_printable(j->sender);

	notice_dates(j->t->expires, &de, &en);
	g_string_append_printf(s, "%s hat Ihnen eine Nachricht mit verschlüsselt bereitgestellten\n"
		"Dateien geschickt (Betreff: %s). Zum Öffnen brauchen Sie dieses Kennwort:\n\n"
		"    %s\n\n"
		"Den Download-Link enthält die Nachricht selbst, nicht diese E-Mail.\n"
		"Verfügbar bis %s.\n", from, subj, j->t->password, de);
	g_string_append_printf(s, "\n------------------------------------------------------------------------\n\n"
		"%s sent you a message with files provided encrypted (subject: %s).\n"
		"To open them you need this password:\n\n"
		"    %s\n\n"
		"The download link is in that message, not in this e-mail.\n"
		"Available until %s.\n", from, subj, j->t->password, en);
	g_free(de);
	g_free(en);
	g_free(subj);
	g_free(from);
	return g_string_free(s, FALSE);
}

/* ---- building and submitting ----------------------------------------- */

static const char *
domain_of(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at && at[1] ? at + 1 : "localhost";
}

/* body_offset - where the body of serialized message bytes starts: after
 * the first empty line (LF or CRLF); len when there is none */
static size_t
body_offset(const guint8 *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < len && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* serialize - the message's bytes (GMime's default format: LF line ends) */
static GByteArray *
serialize(GMimeMessage *m)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *mb = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	GByteArray *out = g_byte_array_new();

	g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem);
	g_byte_array_append(out, mb->data, mb->len);
	crypto_wipe(mb->data, mb->len); /* the stream's copy may hold a password */
	g_object_unref(mem);
	return out;
}

static void
wipe_bytes(GByteArray *a)
{
	if (a) {
		crypto_wipe(a->data, a->len);
		g_byte_array_unref(a);
	}
}

/* build_mail - RFC 5322 bytes (LF line ends) of one notice, or NULL with
 * *err. The X-Offload-Notice MAC binds the notice's Message-ID and body
 * (FORMATS.md §3.5): the message is serialized once without that header,
 * the body after the first empty line is digested, then the header is
 * added and the message serialized again; the body bytes must not have
 * changed (GMime writes a part's content independently of the headers). */
static GByteArray *
build_mail(const struct notify_job *j, const char *kind, const char *to, const char *subject,
	const char *text, char **err)
{
	const struct conf *c = j->conf;
	GMimeMessage *m = g_mime_message_new(TRUE);
	GMimeTextPart *body = g_mime_text_part_new_with_subtype("plain");
	char *from = c->notify_from && *c->notify_from ? g_strdup(c->notify_from) :
		g_strdup_printf("postmaster@%s", domain_of(j->sender));
	char *rand_id = g_mime_utils_generate_message_id(domain_of(from));
	char *msgid = g_strdup_printf("<%s>", rand_id);
	char *mac = NULL, *notice = NULL;
	unsigned char digest[TRANSFER_BODY_DIGEST_LEN];
	struct body_digest d;
	GDateTime *now = g_date_time_new_now_local();
	InternetAddressList *l;
	GByteArray *first, *out;
	size_t off1, off2;

	l = internet_address_list_parse(NULL, from);
	if (l && internet_address_list_length(l) > 0)
		internet_address_list_append(g_mime_message_get_from(m), l);
	else
		g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_FROM, "offload", from);
	g_clear_object(&l);
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, NULL, to);
	g_mime_message_set_subject(m, subject, "utf-8");
	g_mime_message_set_date(m, now);
	g_mime_object_set_header(GMIME_OBJECT(m), "Message-ID", msgid, NULL);
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
	{
		/* UTF-8 as written: set_text would pick the "best" charset (Latin-1) */
		GMimeStream *ts = g_mime_stream_mem_new_with_buffer(text, strlen(text));
		GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(ts, GMIME_CONTENT_ENCODING_DEFAULT);

		g_mime_part_set_content(GMIME_PART(body), w);
		g_mime_object_set_content_type_parameter(GMIME_OBJECT(body), "charset", "utf-8");
		g_object_unref(w);
		g_object_unref(ts);
	}
	g_mime_part_set_content_encoding(GMIME_PART(body),
		g_mime_part_get_best_content_encoding(GMIME_PART(body), GMIME_ENCODING_CONSTRAINT_7BIT));
	g_mime_message_set_mime_part(m, GMIME_OBJECT(body));

	first = serialize(m);
	off1 = body_offset(first->data, first->len);
	body_digest_init(&d);
	body_digest_update(&d, first->data + off1, first->len - off1);
	body_digest_final(&d, digest);
	mac = transfer_header_mac(j->dk, msgid, NOTIFY_MAC_ID, digest);
	notice = g_strdup_printf("%s; transfer=%s; mac=%s", kind, j->t->id, mac);
	g_mime_object_set_header(GMIME_OBJECT(m), "X-Offload-Notice", notice, NULL);
	out = serialize(m);
	off2 = body_offset(out->data, out->len);
	if (first->len - off1 != out->len - off2 ||
	    memcmp(first->data + off1, out->data + off2, out->len - off2) != 0) {
		*err = g_strdup("the notice body changed when its X-Offload-Notice header was added");
		wipe_bytes(out);
		out = NULL;
	}
	wipe_bytes(first);
	g_date_time_unref(now);
	g_object_unref(body);
	g_object_unref(m);
	g_free(notice);
	g_free(mac);
	g_free(msgid);
	g_free(rand_id);
	g_free(from);
	return out;
}

/* the mail of one kind, text and subject for each recipient */
struct send_arg {
	const struct notify_job *j;
	const char *kind, *subject, *text;
};

static GByteArray *
send_build(void *arg, const char *rcpt, char **err)
{
	const struct send_arg *a = arg;

	return build_mail(a->j, a->kind, rcpt, a->subject, a->text, err);
}

static void
send_done(void *arg, const char *rcpt)
{
	const struct send_arg *a = arg;

	(void)rcpt;
	log_info("%s: %s notice for transfer %s submitted", a->j->qid, a->kind, a->j->t->id);
}

/* send_each - build and submit one notice per recipient (several at once,
 * notify_submit.h); takes TEXT (wiped and freed). -1 with *err_rcpt and
 * *err for the first failure. */
static int
send_each(const struct notify_job *j, const char *kind, const char *env_from, char *const *rcpts,
	guint n, const char *subject, char *text, char **err_rcpt, char **err)
{
	struct send_arg a = { j, kind, subject, text };
	struct notify_submit s = { j->conf, env_from, j->deadline, send_build, send_done, &a };
	int rc = notify_submit_each(&s, rcpts, n, err_rcpt, err);

	crypto_free_string(text); /* may hold the password; the callers pass a fresh string */
	return rc;
}

/* send_one - build and submit one notice; takes TEXT (wiped and freed) */
static int
send_one(const struct notify_job *j, const char *kind, const char *env_from, const char *to,
	const char *subject, char *text, char **err)
{
	char *r = NULL;
	int rc = send_each(j, kind, env_from, (char *const *)&to, 1, subject, text, &r, err);

	g_free(r);
	return rc;
}

int
notify_submit_text(const struct notify_job *j, const char *kind, const char *env_from, const char *to,
	const char *subject, char *text, char **err)
{
	return send_one(j, kind, env_from, to, subject, text, err);
}

static char *
short_subject(const char *prefix, const char *subject)
{
	char *s = notice_printable(subject ? subject : "");
	char *r;

	if (g_utf8_strlen(s, -1) > 60) {
		char *cut = g_utf8_substring(s, 0, 60);

		g_free(s);
		s = g_strconcat(cut, "...", NULL);
		g_free(cut);
	}
	r = g_strdup_printf("%s%s", prefix, s);
	g_free(s);
	return r;
}

int
notify_send(const struct notify_job *j, char **err)
{
	const struct conf *c = j->conf;
	const bool has_pw = j->t->password != NULL;
	const bool pw_to_sender = has_pw && notify_password_to(c, j->level) == NOTIFY_PASSWORD_TO_SENDER;
	const char *to = notify_sender_address(c, j->sender);
	char *e = NULL;

	*err = NULL;
	if (pw_to_sender && to == NULL) {
		*err = g_strdup("the password goes to the sender, but the sender is null or no-reply "
			"and [notify] fallback_to is empty");
		return -1;
	}
	if (has_pw && !pw_to_sender) {
		char *subject = short_subject("Kennwort / Password: ", j->subject);

		char *r = NULL;
		/* one mail per recipient (none sees the others); bounces go to the
		 * sender, who can then pass the password on */
		int rc = j->rcpts == NULL ? 0 : send_each(j, "password", to ? to : "",
			(char *const *)j->rcpts->pdata, j->rcpts->len, subject, notify_password_text(j), &r, &e);

		g_free(subject);
		if (rc != 0) {
			*err = g_strdup_printf("password mail to %s: %s", r, e);
			g_free(r);
			g_free(e);
			return -1;
		}
	}
	if (to != NULL && (c->notify_confirm || pw_to_sender)) {
		char *subject = short_subject("Versandbestätigung / Sent: ", j->subject);
		int rc = send_one(j, "confirm", "", to, subject, notify_confirm_text(j, pw_to_sender), &e);

		g_free(subject);
		if (rc != 0 && pw_to_sender) {
			*err = g_strdup_printf("confirmation with the password to %s: %s", to, e);
			g_free(e);
			return -1;
		}
		if (rc != 0)
			log_warning("%s: confirmation to %s not sent: %s", j->qid, to, e);
		g_free(e);
	}
	return 0;
}
