/*
 * notify_lifecycle.c - receipts, reminders and brute-force notices to the
 * sender (see notify_lifecycle.h).
 */
#include "notify_lifecycle.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "notice.h"
#include "notify.h"
#include "transfer.h"

char *
notify_client_network(const struct conf *c, const char *client)
{
	unsigned char a[16];
	char buf[INET6_ADDRSTRLEN];

	if (c->audit_personal != CONF_AUDIT_PLAIN || client == NULL)
		return NULL;
	if (inet_pton(AF_INET, client, a) == 1) {
		a[3] = 0;
		inet_ntop(AF_INET, a, buf, sizeof buf);
		return g_strdup_printf("%s/24", buf);
	}
	if (inet_pton(AF_INET6, client, a) == 1) {
		memset(a + 6, 0, 10);
		inet_ntop(AF_INET6, a, buf, sizeof buf);
		return g_strdup_printf("%s/48", buf);
	}
	return NULL;
}

void
notify_when(int64_t t, char **de, char **en)
{
	notice_dates(t, de, en);
}

char *
notify_receipt_text(const char *id, const char *file, int64_t when, const char *client)
{
	GString *s = g_string_new(NULL);
	char *de = NULL, *en = NULL, *name = notice_printable(file ? file : "");

	notify_when(when, &de, &en);
	g_string_append_printf(s, "Die Datei „%s“ Ihrer Sendung %s wurde vollständig heruntergeladen.\n\n"
		"Zeitpunkt: %s\n", name, id, de);
	if (client != NULL)
		g_string_append_printf(s, "Netz des Abrufenden: %s\n", client);
	g_string_append(s, "\nDiese Bestätigung belegt einen Abruf aus diesem Netz, nicht, wer die Datei "
		"gelesen hat (auch Link-Prüfprogramme von Mailsystemen können Dateien abrufen).\n");
	g_string_append_printf(s, "\n-- English --\n\nThe file \"%s\" of your transfer %s was downloaded "
		"completely.\n\nTime: %s\n", name, id, en);
	if (client != NULL)
		g_string_append_printf(s, "Network of the downloader: %s\n", client);
	g_string_append(s, "\nThis receipt proves a download from that network, not who read the file "
		"(link scanners of mail systems can download files too).\n");
	g_free(name);
	g_free(de);
	g_free(en);
	return g_string_free(s, FALSE);
}

char *
notify_reminder_text(const char *id, int64_t created, int64_t expires)
{
	GString *s = g_string_new(NULL);
	char *cde = NULL, *cen = NULL, *ede = NULL, *een = NULL;

	notify_when(created, &cde, &cen);
	notify_when(expires, &ede, &een);
	g_string_append_printf(s, "Von Ihrer Sendung %s vom %s wurde bisher nichts heruntergeladen. "
		"Sie wird am %s gelöscht.\n\nSie können die Frist verlängern oder die Empfänger anrufen: "
		"nutzen Sie dazu den Link in Ihrer Versandbestätigung.\n", id, cde, ede);
	g_string_append_printf(s, "\n-- English --\n\nNothing of your transfer %s of %s has been "
		"downloaded yet. It will be deleted on %s.\n\nYou can extend it or call the recipients: "
		"use the link in your confirmation mail.\n", id, cen, een);
	g_free(cde);
	g_free(cen);
	g_free(ede);
	g_free(een);
	return g_string_free(s, FALSE);
}

char *
notify_bruteforce_text(const char *id, int64_t when, const char *client)
{
	GString *s = g_string_new(NULL);
	char *de = NULL, *en = NULL;

	notify_when(when, &de, &en);
	g_string_append_printf(s, "Für Ihre Sendung %s wurde am %s zu oft ein falsches Kennwort "
		"eingegeben; weitere Versuche werden vorerst abgewiesen.\n", id, de);
	if (client != NULL)
		g_string_append_printf(s, "Netz: %s\n", client);
	g_string_append(s, "Wenn das nicht die Empfänger waren, können Sie die Sendung mit dem Link in "
		"Ihrer Versandbestätigung zurückziehen.\n");
	g_string_append_printf(s, "\n-- English --\n\nOn %s a wrong password was entered too often for "
		"your transfer %s; further attempts are refused for now.\n", en, id);
	if (client != NULL)
		g_string_append_printf(s, "Network: %s\n", client);
	g_string_append(s, "If that was not the recipients, you can revoke the transfer with the link in "
		"your confirmation mail.\n");
	g_free(de);
	g_free(en);
	return g_string_free(s, FALSE);
}

/* submit - one mail about transfer id (the X-Offload-Notice names it) */
static int
submit(const struct conf *c, const struct key32 *dk, const char *id, const char *to,
	const char *kind, const char *subject, char *text, char **err)
{
	struct transfer t;
	struct notify_job j = { .conf = c, .dk = dk, .qid = id, .sender = to, .t = &t };

	memset(&t, 0, sizeof t);
	g_strlcpy(t.id, id, sizeof t.id);
	return notify_submit_text(&j, kind, "", to, subject, text, err);
}

int
notify_receipt_send(const struct conf *c, const struct key32 *dk, const char *id, const char *to,
	const char *file, int64_t when, const char *client, char **err)
{
	return submit(c, dk, id, to, "receipt", "Datei abgerufen / File downloaded",
		notify_receipt_text(id, file, when, client), err);
}

int
notify_reminder_send(const struct conf *c, const struct key32 *dk, const char *id, const char *to,
	int64_t created, int64_t expires, char **err)
{
	return submit(c, dk, id, to, "reminder", "Noch nicht abgerufen / Not downloaded yet",
		notify_reminder_text(id, created, expires), err);
}

int
notify_bruteforce_send(const struct conf *c, const struct key32 *dk, const char *id,
	const char *to, int64_t when, const char *client, char **err)
{
	return submit(c, dk, id, to, "bruteforce", "Falsche Kennwörter / Wrong passwords",
		notify_bruteforce_text(id, when, client), err);
}
