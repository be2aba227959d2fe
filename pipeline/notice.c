/*
 * notice.c - templates of the offload notice, text and HTML.
 * The HTML variant is pure ASCII (non-ASCII as numeric entities) so it can
 * be inserted into an HTML body of any charset.
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
notice_text(const struct notice *n)
{
	GString *t = g_string_new(NULL);
	char *de, *en;
	size_t i;

	notice_dates(n->expires, &de, &en);
	g_string_append(t,
		"------------------------------------------------------------------------\n"
		"Anhänge verschlüsselt bereitgestellt / Attachments provided encrypted\n"
		"------------------------------------------------------------------------\n"
		"\n");
	g_string_append_printf(t,
		"Die Anhänge dieser Nachricht wurden vom Mail-Gateway verschlüsselt\n"
		"gespeichert. Sie können sie ohne Konto im Browser herunterladen,\n"
		"bis %s:\n\n", de);
	g_string_append_printf(t,
		"The attachments of this message were stored encrypted by the mail\n"
		"gateway. Download them in your browser, no account needed,\n"
		"until %s:\n\n", en);
	g_string_append_printf(t, "%s\n\n", n->link);
	if (n->hide_names) {
		g_string_append_printf(t, "%zu Datei(en) / %zu file(s)\n", n->nfiles, n->nfiles);
	} else {
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
	g_string_append(t,
		"------------------------------------------------------------------------\n"
		"\n");
	g_free(de);
	g_free(en);
	return g_string_free(t, FALSE);
}

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

char *
notice_html(const struct notice *n)
{
	GString *h = g_string_new(NULL);
	char *de, *en;
	size_t i;

	notice_dates(n->expires, &de, &en);
	g_string_append(h,
		"<div style=\"border:1px solid #5a5a5a;padding:10px;margin:0 0 16px 0;"
		"font-family:Arial,sans-serif;color:#1a1a1a;background:#ffffff\">\n"
		"<p style=\"margin:0 0 8px 0\"><strong>Anh&auml;nge verschl&uuml;sselt bereitgestellt"
		" / Attachments provided encrypted</strong></p>\n");
	g_string_append(h, "<p lang=\"de\" style=\"margin:0 0 8px 0\">Die Anh&auml;nge dieser "
		"Nachricht wurden vom Mail-Gateway verschl&uuml;sselt gespeichert. Sie k&ouml;nnen "
		"sie ohne Konto im Browser herunterladen, bis <strong>");
	html_ascii(h, de);
	g_string_append(h, "</strong>.</p>\n<p lang=\"en\" style=\"margin:0 0 8px 0\">The "
		"attachments of this message were stored encrypted by the mail gateway. Download "
		"them in your browser, no account needed, until <strong>");
	html_ascii(h, en);
	g_string_append(h, "</strong>.</p>\n<p style=\"margin:0 0 8px 0\"><a href=\"");
	html_ascii(h, n->link);
	g_string_append(h, "\">");
	html_ascii(h, n->link);
	g_string_append(h, "</a></p>\n");
	if (n->hide_names) {
		g_string_append_printf(h, "<p style=\"margin:0\">%zu Datei(en) / %zu file(s)</p>\n",
			n->nfiles, n->nfiles);
	} else {
		g_string_append(h, "<ul style=\"margin:0;padding-left:20px\">\n");
		for (i = 0; i < n->nfiles; i++) {
			char *sde = notice_size(n->files[i].size, true);
			char *sen = notice_size(n->files[i].size, false);
			char *name = filename_display(n->files[i].name);

			g_string_append(h, "<li>");
			html_ascii(h, name);
			g_free(name);
			g_string_append_printf(h, " (%s / %s)<br>SHA-256: <code>%s</code></li>\n",
				sde, sen, n->files[i].sha256);
			g_free(sde);
			g_free(sen);
		}
		g_string_append(h, "</ul>\n");
	}
	g_string_append(h, "</div>\n");
	g_free(de);
	g_free(en);
	return g_string_free(h, FALSE);
}
