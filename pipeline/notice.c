/*
 * notice.c - templates of the offload notice, text and HTML (see notice.h).
 * Both are built from the same sentences (notice_para). The HTML variant is
 * pure ASCII (non-ASCII as numeric entities) so it can be inserted into an
 * HTML body of any charset; it is a table with inline styles only, which
 * Outlook, Thunderbird, Apple Mail and webmail render alike.
 */
#include "notice.h"

#include <string.h>

#include "filename.h"

char *
notice_size(uint64_t bytes, bool german)
{
	static const char *const units[] = { "Bytes", "KB", "MB", "GB", "TB" };
	double v = (double)bytes;
	int u = 0;
	char *s;

	if (bytes < 1024)
		return g_strdup_printf("%llu %s", (unsigned long long)bytes,
			bytes == 1 ? "Byte" : "Bytes");
	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	s = g_strdup_printf("%.1f %s", v, units[u]);
	if (german) {
		char *dot = strchr(s, '.');

		if (dot)
			*dot = ',';
	}
	return s;
}

void
notice_dates(int64_t expires, char **de, char **en)
{
	GTimeZone *tz = g_time_zone_new_identifier("Europe/Berlin");
	GDateTime *utc = g_date_time_new_from_unix_utc(expires);
	GDateTime *local;
	char *abbr;
	bool summer;

	if (tz == NULL)
		tz = g_time_zone_new_utc();
	local = g_date_time_to_timezone(utc, tz);
	summer = g_date_time_is_daylight_savings(local);
	abbr = g_date_time_format(local, "%Z");
	if (abbr && (strcmp(abbr, "CET") == 0 || strcmp(abbr, "CEST") == 0)) {
		*de = g_date_time_format(local, summer ? "%d.%m.%Y, %H:%M Uhr (MESZ)"
						      : "%d.%m.%Y, %H:%M Uhr (MEZ)");
	} else {
		*de = g_date_time_format(local, "%d.%m.%Y, %H:%M Uhr (%Z)");
	}
	*en = g_date_time_format(local, "%Y-%m-%d %H:%M %Z");
	g_free(abbr);
	g_date_time_unref(local);
	g_date_time_unref(utc);
	g_time_zone_unref(tz);
}

char *
notice_printable(const char *name)
{
	return filename_display(name);
}

char *
notice_host(const char *link)
{
	const char *p = link ? strstr(link, "://") : NULL;
	size_t n;
	char *h, *r;

	p = p ? p + 3 : (link ? link : "");
	n = strcspn(p, "/?#:");
	h = g_strndup(p, n);
	r = notice_printable(h);
	g_free(h);
	return r;
}

/* ---- the sentences, German and English ------------------------------------- */

enum para { P_WHAT, P_UNTIL, P_PASSWORD, P_RECEIPT, P_ASK, P_GENUINE };

/* sender_words - "Max Muster (max@example.gov)", the address alone, or NULL */
static char *
sender_words(const struct notice *n)
{
	char *name = n->sender_name && *n->sender_name ? notice_printable(n->sender_name) : NULL;
	char *addr = n->sender_addr && *n->sender_addr ? notice_printable(n->sender_addr) : NULL;
	char *s;

	if (name && addr && g_ascii_strcasecmp(name, addr) != 0)
		s = g_strdup_printf("%s (%s)", name, addr);
	else
		s = g_strdup(addr ? addr : name);
	g_free(name);
	g_free(addr);
	return s;
}

static char *
para_password(const struct notice *n, bool de)
{
	const char *org = n->organisation && *n->organisation ? n->organisation : NULL;

	switch (n->password) {
	case TRANSFER_DELIVERY_NONE:
		return g_strdup(de ? "Passwort: nicht nötig." : "Password: not needed.");
	case TRANSFER_DELIVERY_PHONE:
		return g_strdup(de ? "Passwort: nötig. Sie bekommen es telefonisch vom Absender." :
				     "Password: needed. You get it by phone from the sender.");
	case TRANSFER_DELIVERY_SEPARATE_MAIL:
		return g_strdup(de ? "Passwort: nötig. Sie bekommen es in einer separaten E-Mail." :
				     "Password: needed. You get it in a separate e-mail.");
	default:
		return de ? g_strdup_printf("Passwort: nötig. Es ist das Passwort, das Sie mit %s vereinbart haben.",
				org ? org : "dem Absender") :
			    g_strdup_printf("Password: needed. It is the password agreed with %s.",
				org ? org : "the sender");
	}
}

/* notice_para - one paragraph of the notice, UTF-8, one line (the text
 * template wraps it, the HTML one escapes it) */
static char *
notice_para(const struct notice *n, enum para what, bool de, const char *date)
{
	char *who = sender_words(n), *host = notice_host(n->link), *s = NULL;

	switch (what) {
	case P_WHAT:
		s = g_strdup_printf(de ? "%s hat Ihnen Dateien geschickt. Die Dateien sind nicht in dieser "
					 "E-Mail. Sie liegen verschlüsselt zum Abholen bereit. Sie brauchen "
					 "kein Konto, nur Ihren Browser." :
					 "%s sent you files. The files are not in this e-mail. They are "
					 "stored encrypted for you to collect. You need no account, only "
					 "your browser.",
			who ? who : de ? "Der Absender" : "The sender");
		break;
	case P_UNTIL:
		s = g_strdup_printf(de ? "Abholen bis: %s" : "Collect by: %s", date);
		break;
	case P_PASSWORD:
		s = para_password(n, de);
		break;
	case P_RECEIPT:
		s = g_strdup(de ? "Der Absender wird benachrichtigt, wenn die Dateien heruntergeladen werden." :
				  "The sender is told when the files are downloaded.");
		break;
	case P_ASK:
		s = who ? g_strdup_printf(de ? "Fragen? Wenden Sie sich an den Absender: %s." :
					       "Questions? Please ask the sender: %s.", who) :
			  g_strdup(de ? "Fragen? Wenden Sie sich an den Absender." :
					"Questions? Please ask the sender.");
		break;
	case P_GENUINE:
		s = g_strdup_printf(de ? "Ist diese E-Mail echt? Der Link führt nur zu %s. Wir fragen nie nach Zugangsdaten, "
					 "Bank- oder Zahlungsdaten." :
					 "Is this e-mail genuine? The link leads only to %s. We never ask for login "
					 "credentials, bank or payment details.", host);
		break;
	}
	g_free(who);
	g_free(host);
	return s;
}

/* ---- text ------------------------------------------------------------------ */

#define NOTICE_WIDTH 72

/* wrap - append para as lines of at most NOTICE_WIDTH characters (a longer
 * word stays whole), then a line end */
static void
wrap(GString *t, const char *para)
{
	char **words = g_strsplit(para, " ", -1);
	glong col = 0;
	int i;

	for (i = 0; words[i]; i++) {
		glong w = g_utf8_strlen(words[i], -1);

		if (*words[i] == '\0')
			continue;
		if (col > 0 && col + 1 + w > NOTICE_WIDTH) {
			g_string_append_c(t, '\n');
			col = 0;
		} else if (col > 0) {
			g_string_append_c(t, ' ');
			col++;
		}
		g_string_append(t, words[i]);
		col += w;
	}
	g_string_append_c(t, '\n');
	g_strfreev(words);
}

static void
text_lang(GString *t, const struct notice *n, bool de, const char *date)
{
	static const enum para order[] = { P_WHAT, P_UNTIL, P_PASSWORD, P_RECEIPT };
	size_t i, last = n->receipts ? 3 : 2;

	/* what happened; a blank line; the expiry, password and receipt lines together */
	for (i = 0; i <= last; i++) {
		char *p = notice_para(n, order[i], de, date);

		wrap(t, p);
		if (i == 0 || i == last)
			g_string_append_c(t, '\n');
		g_free(p);
	}
}

static void
text_files(GString *t, const struct notice *n)
{
	size_t i;

	if (n->hide_names) {
		g_string_append_printf(t, "%zu Datei(en) / %zu file(s)\n", n->nfiles, n->nfiles);
		return;
	}
	g_string_append(t, "Dateien / Files:\n");
	for (i = 0; i < n->nfiles; i++) {
		char *name = notice_printable(n->files[i].name);
		char *sde = notice_size(n->files[i].size, true);
		char *sen = notice_size(n->files[i].size, false);

		g_string_append_printf(t, "- %s (%s / %s)\n  SHA-256: %s\n",
			name, sde, sen, n->files[i].sha256);
		g_free(name);
		g_free(sde);
		g_free(sen);
	}
}

/* notice_reply_text - "send files back to <sender>" and the reply link (issue 13) */
static void
notice_reply_text(GString *t, const struct notice *n)
{
	char *to;

	if (n->reply_link == NULL || n->reply_to == NULL || *n->reply_to == '\0')
		return;
	to = notice_printable(n->reply_to);
	g_string_append_printf(t, "Dateien zurücksenden an %s /\nSend files back to %s:\n%s\n\n",
		to, to, n->reply_link);
	g_free(to);
}

/* notice_request_text - the upload request of the subject marker (issue 13):
 * a standalone upload link for the sender */
static void
notice_request_text(GString *t, const char *link, const char *to_addr)
{
	char *to;

	if (link == NULL)
		return;
	to = notice_printable(to_addr ? to_addr : "");
	g_string_append_printf(t, "Bitte senden Sie Ihre Dateien hier /\nPlease send your files here:\n%s\n"
		"(verschlüsselt an %s / encrypted, to %s)\n\n", link, to, to);
	g_free(to);
}

char *
notice_request(const char *link, const char *to)
{
	GString *t = g_string_new("Dateianforderung / Upload request\n\n");

	notice_request_text(t, link, to);
	return g_string_free(t, FALSE);
}

char *
notice_text(const struct notice *n)
{
	static const char rule[] =
		"------------------------------------------------------------------------\n";
	GString *t = g_string_new(NULL);
	char *de, *en, *p;
	int lang;

	notice_dates(n->expires, &de, &en);
	g_string_append_printf(t, "%sAnhänge verschlüsselt bereitgestellt / Attachments provided encrypted\n%s\n",
		rule, rule);
	text_lang(t, n, true, de);
	text_lang(t, n, false, en);
	g_string_append_printf(t, "Dateien abholen / Collect files:\n%s\n\n", n->link);
	notice_reply_text(t, n);
	notice_request_text(t, n->request_link, n->request_for);
	text_files(t, n);
	g_string_append_c(t, '\n');
	for (lang = 1; lang >= 0; lang--) {
		p = notice_para(n, P_ASK, lang, NULL);
		wrap(t, p);
		g_free(p);
	}
	g_string_append_c(t, '\n');
	for (lang = 1; lang >= 0; lang--) {
		p = notice_para(n, P_GENUINE, lang, NULL);
		wrap(t, p);
		g_free(p);
	}
	g_string_append_printf(t, "%s\n", rule);
	g_free(de);
	g_free(en);
	return g_string_free(t, FALSE);
}

/* ---- HTML ------------------------------------------------------------------ */

/* html_ascii - escape for HTML text and attributes, non-ASCII as &#N; */
static void
html_ascii(GString *out, const char *utf8)
{
	char *valid = g_utf8_make_valid(utf8 ? utf8 : "", -1);
	const char *p;

	for (p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c == '&')
			g_string_append(out, "&amp;");
		else if (c == '<')
			g_string_append(out, "&lt;");
		else if (c == '>')
			g_string_append(out, "&gt;");
		else if (c == '"')
			g_string_append(out, "&quot;");
		else if (c == '\'')
			g_string_append(out, "&#39;");
		else if (c < 0x20 || c >= 0x7f)
			g_string_append_printf(out, "&#%u;", (unsigned)c);
		else
			g_string_append_c(out, (char)c);
	}
	g_free(valid);
}

#define H_FONT "font-family:Arial,Helvetica,sans-serif;"
#define H_P "<p %sstyle=\"margin:0 0 10px 0;" H_FONT "font-size:15px;line-height:21px;color:#1a1a1a\">"

/* html_para - one sentence paragraph; strong = the whole line bold */
static void
html_para(GString *h, const struct notice *n, enum para what, bool de, const char *date, bool strong)
{
	char *p = notice_para(n, what, de, date);

	g_string_append_printf(h, H_P, de ? "lang=\"de\" " : "lang=\"en\" ");
	if (strong)
		g_string_append(h, "<strong>");
	html_ascii(h, p);
	g_string_append(h, strong ? "</strong></p>\n" : "</p>\n");
	g_free(p);
}

/* html_button - the link as a button (a table cell: Outlook ignores
 * padding on links), then the raw URL for copying */
static void
html_button(GString *h, const char *link)
{
	g_string_append(h, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" "
		"style=\"margin:6px 0 10px 0;border-collapse:collapse\"><tr>"
		"<td bgcolor=\"#0b57a4\" style=\"background:#0b57a4;border-radius:4px\">"
		"<a href=\"");
	html_ascii(h, link);
	g_string_append(h, "\" style=\"display:inline-block;padding:12px 22px;" H_FONT
		"font-size:16px;font-weight:bold;color:#ffffff;text-decoration:none\">"
		"Dateien abholen / Collect files</a></td></tr></table>\n");
	g_string_append(h, "<p style=\"margin:0 0 12px 0;" H_FONT "font-size:12px;line-height:17px;"
		"color:#4a4a4a;word-break:break-all;overflow-wrap:anywhere\">Link: <a href=\"");
	html_ascii(h, link);
	g_string_append(h, "\" style=\"color:#0b57a4\">");
	html_ascii(h, link);
	g_string_append(h, "</a></p>\n");
}

/* notice_reply_html - the reply link as a plain link below the button */
static void
notice_request_html(GString *h, const struct notice *n)
{
	char *to;

	if (n->request_link == NULL)
		return;
	to = notice_printable(n->request_for ? n->request_for : "");
	g_string_append(h, "<p style=\"margin:0 0 12px 0;" H_FONT "font-size:14px;line-height:20px;"
		"color:#1a1a1a;word-break:break-all;overflow-wrap:anywhere\"><a href=\"");
	html_ascii(h, n->request_link);
	g_string_append(h, "\" style=\"color:#0b57a4\">Bitte senden Sie Ihre Dateien hier / "
		"Please send your files here</a> (");
	html_ascii(h, to);
	g_string_append(h, ")</p>\n");
	g_free(to);
}

char *
notice_request_html_only(const char *link, const char *to)
{
	struct notice n = { .request_link = link, .request_for = to };
	GString *h = g_string_new("<div>");

	notice_request_html(h, &n);
	g_string_append(h, "</div>\n");
	return g_string_free(h, FALSE);
}

static void
notice_reply_html(GString *h, const struct notice *n)
{
	char *to;

	if (n->reply_link == NULL || n->reply_to == NULL || *n->reply_to == '\0')
		return;
	to = notice_printable(n->reply_to);
	g_string_append(h, "<p style=\"margin:0 0 12px 0;" H_FONT "font-size:14px;line-height:20px;"
		"color:#1a1a1a;word-break:break-all;overflow-wrap:anywhere\"><a href=\"");
	html_ascii(h, n->reply_link);
	g_string_append(h, "\" style=\"color:#0b57a4\">Dateien zur&#252;cksenden an ");
	html_ascii(h, to);
	g_string_append(h, " / Send files back to ");
	html_ascii(h, to);
	g_string_append(h, "</a></p>\n");
	g_free(to);
}

static void
html_files(GString *h, const struct notice *n)
{
	size_t i;

	g_string_append(h, "<p style=\"margin:0 0 4px 0;" H_FONT "font-size:14px;color:#1a1a1a\">");
	if (n->hide_names) {
		g_string_append_printf(h, "%zu Datei(en) / %zu file(s)</p>\n", n->nfiles, n->nfiles);
		return;
	}
	g_string_append(h, "<strong>Dateien / Files:</strong></p>\n<ul style=\"margin:0 0 12px 0;"
		"padding-left:20px;" H_FONT "font-size:14px;line-height:19px;color:#1a1a1a\">\n");
	for (i = 0; i < n->nfiles; i++) {
		char *sde = notice_size(n->files[i].size, true);
		char *sen = notice_size(n->files[i].size, false);
		char *name = filename_display(n->files[i].name);

		g_string_append(h, "<li style=\"margin:0 0 4px 0\">");
		html_ascii(h, name);
		g_free(name);
		g_string_append_printf(h, " (%s / %s)<br><span style=\"font-size:11px;color:#4a4a4a;"
			"word-break:break-all\">SHA-256: %s</span></li>\n", sde, sen, n->files[i].sha256);
		g_free(sde);
		g_free(sen);
	}
	g_string_append(h, "</ul>\n");
}

char *
notice_html(const struct notice *n)
{
	GString *h = g_string_new(NULL);
	char *de, *en;
	int lang;

	notice_dates(n->expires, &de, &en);
	g_string_append(h, "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
		"border=\"0\" style=\"border-collapse:collapse;margin:0 0 16px 0;max-width:640px\"><tr>"
		"<td style=\"border:1px solid #8a8a8a;border-radius:4px;padding:16px;background:#ffffff\">\n"
		"<p style=\"margin:0 0 12px 0;" H_FONT "font-size:18px;line-height:24px;font-weight:bold;"
		"color:#1a1a1a\">Anh&#228;nge verschl&#252;sselt bereitgestellt / Attachments provided "
		"encrypted</p>\n");
	for (lang = 1; lang >= 0; lang--) {
		html_para(h, n, P_WHAT, lang, NULL, false);
		html_para(h, n, P_UNTIL, lang, lang ? de : en, true);
		html_para(h, n, P_PASSWORD, lang, NULL, true);
		if (n->receipts)
			html_para(h, n, P_RECEIPT, lang, NULL, false);
	}
	html_button(h, n->link);
	notice_reply_html(h, n);
	notice_request_html(h, n);
	html_files(h, n);
	for (lang = 1; lang >= 0; lang--)
		html_para(h, n, P_ASK, lang, NULL, false);
	g_string_append(h, "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" "
		"border=\"0\" style=\"border-collapse:collapse\"><tr><td style=\"background:#f2f2f2;"
		"padding:10px 12px;border-radius:4px\">\n");
	for (lang = 1; lang >= 0; lang--) {
		char *p = notice_para(n, P_GENUINE, lang, NULL);

		g_string_append_printf(h, "<p lang=\"%s\" style=\"margin:0 0 %s 0;" H_FONT "font-size:13px;"
			"line-height:18px;color:#333333\">", lang ? "de" : "en", lang ? "6px" : "0");
		html_ascii(h, p);
		g_string_append(h, "</p>\n");
		g_free(p);
	}
	g_string_append(h, "</td></tr></table>\n</td></tr></table>\n");
	g_free(de);
	g_free(en);
	return g_string_free(h, FALSE);
}
