/*
 * notify_reply.c - the sender's mail about a reply with files (see
 * notify_reply.h). German first, English second, like the other notices.
 */
#include "notify_reply.h"

#include <string.h>
#include <glib.h>

#include "crypto.h"
#include "filename.h"
#include "notice.h"
#include "notify.h"

#define REPLY_MESSAGE_MAX 4000

/* host_like - a word that a mail client may turn into a link */
static gboolean
host_like(const char *w)
{
	return strstr(w, "://") != NULL || g_str_has_prefix(w, "www.") ||
		(strchr(w, '.') != NULL && strchr(w, '@') != NULL) ||
		g_ascii_strncasecmp(w, "mailto:", 7) == 0;
}

/* defang_word - one word (no white space) into o */
static void
defang_word(GString *o, const char *w)
{
	gboolean host = host_like(w);

	for (const char *p = w; *p; p++) {
		if (g_ascii_strncasecmp(p, "http", 4) == 0) {
			g_string_append_c(o, p[0]);
			g_string_append(o, "xx");
			p += 2;
		} else if (strncmp(p, "://", 3) == 0) {
			g_string_append(o, "[://]");
			p += 2;
		} else if (host && *p == '.') {
			g_string_append(o, "[.]");
		} else if (host && *p == '@') {
			g_string_append(o, "[at]");
		} else if (host && *p == ':') {
			g_string_append(o, "[:]");
		} else {
			g_string_append_c(o, *p);
		}
	}
}

char *
notify_defang(const char *text)
{
	char *valid = g_utf8_make_valid(text ? text : "", -1);
	char **lines, *r;
	GString *o = g_string_new(NULL);

	if (g_utf8_strlen(valid, -1) > REPLY_MESSAGE_MAX) {
		char *cut = g_utf8_substring(valid, 0, REPLY_MESSAGE_MAX);

		g_free(valid);
		valid = g_strconcat(cut, " [...]", NULL);
		g_free(cut);
	}
	g_strdelimit(valid, "\r", '\n');
	lines = g_strsplit(valid, "\n", -1);
	for (char **l = lines; *l; l++) {
		/* filename_display: controls, bidi and invisible characters -> '_' */
		char *clean = filename_display(*l);
		char **words = g_strsplit(clean, " ", -1);

		for (char **w = words; *w; w++) {
			if (w != words)
				g_string_append_c(o, ' ');
			defang_word(o, *w);
		}
		g_string_append_c(o, '\n');
		g_strfreev(words);
		g_free(clean);
	}
	g_strfreev(lines);
	g_free(valid);
	r = g_string_free(o, FALSE);
	g_strchomp(r);
	return r;
}

static void
append_files(GString *s, const struct transfer *t, gboolean german)
{
	for (guint i = 0; i < t->files->len; i++) {
		const struct transfer_file *f = g_ptr_array_index(t->files, i);
		char *name = notice_printable(f->name), *size = notice_size(f->size, german);

		g_string_append_printf(s, "  - %s (%s)\n", name, size);
		g_free(name);
		g_free(size);
	}
}

static void
append_message(GString *s, const char *msg)
{
	char **lines = g_strsplit(msg, "\n", -1);

	for (char **l = lines; *l; l++)
		g_string_append_printf(s, "> %s\n", *l);
	g_strfreev(lines);
}

/* append_names - "  - <name>: <what>" per name */
static void
append_names(GString *s, GPtrArray *names, const char *what)
{
	for (guint i = 0; names && i < names->len; i++) {
		char *name = notice_printable(g_ptr_array_index(names, i));

		g_string_append_printf(s, "  - %s: %s\n", name, what);
		g_free(name);
	}
}

/* append_intro - who sent it, through which link */
static void
append_intro(GString *s, const struct notify_reply_info *ri, gboolean de)
{
	char *note = ri->note && *ri->note ? notify_defang(ri->note) : NULL;

	if (de && ri->note == NULL)
		g_string_append_printf(s, "Eine nicht verifizierte Person hat Ihnen über den Antwort-Link "
			"Ihrer Sendung %s Dateien geschickt.\n"
			"(Gesendet von einer nicht verifizierten Person über den Antwort-Link.)\n\n", ri->src_id);
	else if (de)
		g_string_append_printf(s, "Eine nicht verifizierte Person hat Ihnen über Ihren "
			"Upload-Link %s Dateien geschickt.\n"
			"(Gesendet von einer nicht verifizierten Person über Ihren Upload-Link.)\n\n", ri->src_id);
	else if (ri->note == NULL)
		g_string_append_printf(s, "Sent by an unverified person through the reply link of your "
			"transfer %s.\n\n", ri->src_id);
	else
		g_string_append_printf(s, "Sent by an unverified person through your upload link %s.\n\n",
			ri->src_id);
	if (note != NULL)
		g_string_append_printf(s, "%s:\n> %s\n\n", de ? "Notiz zum Upload-Link" : "Upload link note", note);
	g_free(note);
}

char *
notify_reply_text(const struct transfer *t, const char *link, const struct notify_reply_info *ri)
{
	GString *s = g_string_new(NULL);
	char *de = NULL, *en = NULL, *msg = notify_defang(ri->message ? ri->message : "");

	notice_dates(t->expires, &de, &en);
	append_intro(s, ri, TRUE);
	g_string_append_printf(s, "Abrufen bis %s:\n%s\n\nDateien:\n", de, link);
	append_files(s, t, TRUE);
	append_names(s, ri->refused, "abgewiesen (Schadsoftware gefunden)");
	append_names(s, ri->unchecked, "abgewiesen (konnte nicht auf Schadsoftware geprüft werden)");
	append_names(s, ri->damaged, "nicht übernommen (die gespeicherte Datei ist beschädigt)");
	if (ri->unscanned && ri->unscanned->len > 0) {
		g_string_append(s, "\nNICHT auf Viren geprüft (der Virenscanner konnte sie nicht prüfen):\n");
		append_names(s, ri->unscanned, "ungeprüft");
	}
	if (*msg) {
		g_string_append(s, "\nNachricht (als reiner Text, Links entschärft):\n");
		append_message(s, msg);
	}
	g_string_append(s, "\n-- English --\n\n");
	append_intro(s, ri, FALSE);
	g_string_append_printf(s, "Download until %s:\n%s\n\nFiles:\n", en, link);
	append_files(s, t, FALSE);
	append_names(s, ri->refused, "refused (malware found)");
	append_names(s, ri->unchecked, "refused (could not be checked for malware)");
	append_names(s, ri->damaged, "could not be taken (the stored file is damaged)");
	if (ri->unscanned && ri->unscanned->len > 0) {
		g_string_append(s, "\nNOT scanned for viruses (the virus scanner could not check them):\n");
		append_names(s, ri->unscanned, "unscanned");
	}
	if (*msg) {
		g_string_append(s, "\nMessage (plain text, links defanged):\n");
		append_message(s, msg);
	}
	g_free(msg);
	g_free(de);
	g_free(en);
	return g_string_free(s, FALSE);
}

int
notify_reply_send(const struct conf *c, const struct key32 *dk, const struct transfer *t,
	const char *to, const struct notify_reply_info *ri, char **err)
{
	struct notify_job j = { .conf = c, .dk = dk, .qid = t->id, .sender = to, .t = t };
	char *link = transfer_link(t, c->portal_url);
	char *text = notify_reply_text(t, link, ri);
	int rc;

	rc = notify_submit_text(&j, "reply", "", to,
		"Antwort mit Dateien (nicht verifiziert) / Reply with files (unverified)", text, err);
	crypto_free_string(link); /* holds the link secret */
	return rc;
}
