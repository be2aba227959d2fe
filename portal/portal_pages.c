/*
 * portal_pages.c - HTML, JavaScript and CSS of offload-portal (see
 * portal_pages.h). Accessibility (WCAG 2.1 AA basics): lang attribute,
 * labels for every input, visible focus, contrast >= 4.5:1, a live region
 * for status messages, works at 320 px width, no images.
 */
#include "portal_pages.h"

#include <string.h>
#include <glib.h>

#include "page_style.h"

const char portal_css[] =
	PAGE_STYLE_FRAME
	"h2{font-size:1.2rem}\n"
	"a{color:#0b4f9c}\n"
	"a:focus,button:focus,input:focus{outline:3px solid #c25400;outline-offset:2px}\n"
	"label{display:block;font-weight:600;margin-top:1rem}\n"
	"input{font-size:1rem;padding:.5rem;width:100%;max-width:26rem;border:2px solid #555;"
	"border-radius:4px}\n"
	"button,.download,#all{display:inline-block;font-size:1rem;padding:.6rem 1.2rem;margin-top:1rem;"
	"background:#0b4f9c;color:#fff;border:0;border-radius:4px;text-decoration:none;cursor:pointer}\n"
	"button:hover,.download:hover,#all:hover{background:#083a73}\n"
	"[hidden]{display:none!important}\n"
	".files{list-style:none;padding:0}\n"
	".files li{border:1px solid #767676;border-radius:4px;padding:.75rem;margin:.75rem 0}\n"
	".name{font-weight:600;word-break:break-all}\n"
	".meta{color:#3d3d3d;font-size:.9rem}\n"
	"#s-files{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}\n"
	"#s-files th,#s-files td{text-align:left;vertical-align:top;padding:.25rem .5rem;"
	"border-bottom:1px solid #ccc}\n"
	"#s-files td.hash{font-family:monospace;font-size:.8rem;word-break:break-all}\n"
	".sha{font-family:monospace;font-size:.8rem;word-break:break-all;color:#3d3d3d}\n"
	"#status{margin-top:1rem;font-weight:600}\n"
	"#status.error{color:#a4000f}\n"
	".warn{border-left:4px solid #a4000f;padding:.25rem .75rem}\n"
	"button.danger{background:#a4000f}\n"
	"button.danger:hover{background:#7a000b}\n"
	"button:disabled{background:#767676;cursor:default}\n"
	"footer{max-width:48rem;margin:2rem auto 0;border-top:1px solid #767676;padding-top:.5rem;font-size:.9rem}\n"
	"footer a{margin-right:1rem}\n"
	/* the letter view (portal_letter_js.c) */
	"button.read{margin-left:.5rem;background:#fff;color:#0b4f9c;border:2px solid #0b4f9c}\n"
	"button.read:hover{background:#e8f0fa}\n"
	".letter{border-top:1px solid #767676;margin-top:1rem;padding-top:.5rem}\n"
	".letter h3{font-size:1.1rem;overflow-wrap:anywhere}\n"
	".letter h4{font-size:1rem;margin:1rem 0 .25rem}\n"
	".lhead{display:grid;grid-template-columns:auto 1fr;gap:.1rem .75rem;margin:0}\n"
	".lhead dt{font-weight:600}\n"
	".lhead dd{margin:0;overflow-wrap:anywhere}\n"
	".ltext{white-space:pre-wrap;overflow-wrap:anywhere;font-family:inherit;border:1px solid #767676;"
	"border-radius:4px;padding:.75rem;margin-top:.75rem;background:#fafafa}\n"
	".ltext:focus{outline:3px solid #c25400;outline-offset:2px}\n"
	".lfiles{list-style:none;padding:0}\n"
	".lfiles li{border:1px solid #767676;border-radius:4px;padding:.5rem;margin:.5rem 0}\n";

/* a plain blue square with a white arrow down: no image needed to read the page */
const char portal_favicon_svg[] =
	"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
	"<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#0b4f9c\"/>"
	"<path d=\"M8 3v7M4.5 7 8 10.5 11.5 7M4 13h8\" stroke=\"#fff\" stroke-width=\"1.6\" fill=\"none\"/></svg>\n";

const char portal_js[] =
	"/* offload-portal: reads the link secret from the fragment (never sent to a server\n"
	"   by the browser), removes it from the address bar, unlocks on click only. */\n"
	"'use strict';\n"
	"(function () {\n"
	"  var main = document.getElementById('main');\n"
	"  if (!main) return;\n"
	"  var de = main.getAttribute('data-lang') === 'de';\n"
	"  var id = main.getAttribute('data-id');\n"
	"  var T = de ? {\n"
	"    from: 'Absender', size: 'Größe', type: 'Typ', dl: 'Herunterladen', all: 'Alle Dateien herunterladen (ZIP)',\n"
	"    wait: 'Bitte warten …', esecret: 'Der Link ist unvollständig oder falsch. Bitte den Zugangscode aus der E-Mail eingeben.',\n"
	"    epw: 'Das Passwort ist falsch oder fehlt.', erate: 'Zu viele Versuche. Bitte später erneut versuchen.',\n"
	"    egone: 'Diese Übertragung ist abgelaufen oder wurde zurückgezogen.', enf: 'Diese Übertragung gibt es nicht.',\n"
	"    eother: 'Fehler. Bitte später erneut versuchen.', ok: 'Dateien freigeschaltet.', files: 'Dateien',\n"
	"    reply: 'Dateien zurücksenden an '\n"
	"  } : {\n"
	"    from: 'Sender', size: 'Size', type: 'Type', dl: 'Download', all: 'Download all files (ZIP)',\n"
	"    wait: 'Please wait …', esecret: 'The link is incomplete or wrong. Please enter the access code from the e-mail.',\n"
	"    epw: 'The password is wrong or missing.', erate: 'Too many attempts. Please try again later.',\n"
	"    egone: 'This transfer has expired or was revoked.', enf: 'This transfer does not exist.',\n"
	"    eother: 'Error. Please try again later.', ok: 'Files unlocked.', files: 'Files',\n"
	"    reply: 'Send files back to '\n"
	"  };\n"
	"  var secret = '';\n"
	"  if (location.hash.length > 1) {\n"
	"    secret = decodeURIComponent(location.hash.substring(1));\n"
	"    try { history.replaceState(null, '', location.pathname + location.search); } catch (e) {}\n"
	"  }\n"
	"  var codebox = document.getElementById('codebox');\n"
	"  var code = document.getElementById('code');\n"
	"  if (!secret && codebox) codebox.hidden = false;\n"
	"  var form = document.getElementById('unlock');\n"
	"  var status = document.getElementById('status');\n"
	"  var pw = document.getElementById('password');\n"
	"  function say(msg, err) { status.textContent = msg; status.className = err ? 'error' : ''; }\n"
	"  function human(n) {\n"
	"    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;\n"
	"    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }\n"
	"    return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];\n"
	"  }\n"
	"  function el(tag, cls, text) {\n"
	"    var e = document.createElement(tag);\n"
	"    if (cls) e.className = cls;\n"
	"    if (text !== undefined) e.textContent = text;\n"
	"    return e;\n"
	"  }\n"
	"  function render(d) {\n"
	"    var res = document.getElementById('result');\n"
	"    while (res.firstChild) res.removeChild(res.firstChild);\n"
	"    res.appendChild(el('h2', '', T.files));\n"
	"    res.appendChild(el('p', 'sender', T.from + ': ' + d.sender));\n"
	"    var ul = el('ul', 'files');\n"
	"    d.files.forEach(function (f) {\n"
	"      var li = el('li');\n"
	"      li.appendChild(el('div', 'name', f.name));\n"
	"      li.appendChild(el('div', 'meta', T.size + ': ' + human(f.size) + ' (' + f.size + ' B) · ' + T.type + ': ' + f.type));\n"
	"      li.appendChild(el('div', 'sha', 'SHA-256: ' + f.sha256));\n"
	"      var a = el('a', 'download', T.dl);\n"
	"      a.href = f.url; a.setAttribute('download', f.name);\n"
	"      a.setAttribute('aria-label', T.dl + ': ' + f.name);\n"
	"      li.appendChild(a);\n"
	"      if (f.letter && window.offloadLetter) window.offloadLetter(li, f);\n"
	"      ul.appendChild(li);\n"
	"    });\n"
	"    res.appendChild(ul);\n"
	"    var all = el('a', '', T.all);\n"
	"    all.id = 'all'; all.href = d.all; all.setAttribute('download', 'transfer-' + d.id + '.zip');\n"
	"    res.appendChild(all);\n"
	"    if (d.reply) {\n"
	"      var rp = el('p', 'reply'), ra = el('a', '', T.reply + d.reply.to);\n"
	"      ra.id = 'reply'; ra.href = d.reply.url; rp.appendChild(ra); res.appendChild(rp);\n"
	"    }\n"
	"    res.hidden = false;\n"
	"    form.hidden = true;\n"
	"    say(T.ok, false);\n"
	"    var h = res.querySelector('h2'); h.tabIndex = -1; h.focus();\n"
	"  }\n"
	"  form.addEventListener('submit', function (ev) {\n"
	"    ev.preventDefault();\n"
	"    var s = secret;\n"
	"    if (code && code.value.trim()) { s = code.value.trim(); var k = s.lastIndexOf('#'); if (k >= 0) s = s.substring(k + 1); }\n"
	"    var body = { secret: s };\n"
	"    if (pw) body.password = pw.value;\n"
	"    say(T.wait, false);\n"
	"    fetch('/t/' + id + '/unlock', { method: 'POST', headers: { 'Content-Type': 'application/json' },\n"
	"      body: JSON.stringify(body), credentials: 'omit', cache: 'no-store' })\n"
	"      .then(function (r) {\n"
	"        if (r.ok) return r.json().then(render);\n"
	"        var m = r.status === 403 ? T.esecret : r.status === 401 ? T.epw : r.status === 429 ? T.erate :\n"
	"          r.status === 410 ? T.egone : r.status === 404 ? T.enf : T.eother;\n"
	"        if (r.status === 403 && codebox) codebox.hidden = false;\n"
	"        say(m, true);\n"
	"      })\n"
	"      .catch(function () { say(T.eother, true); });\n"
	"  });\n"
	"})();\n";

const char portal_revoke_js[] =
	"/* offload-portal revoke page: reads the revoke secret from the fragment (never\n"
	"   sent to a server by the browser), removes it from the address bar, and\n"
	"   revokes only on an explicit click: a POST with the secret in the body. */\n"
	"'use strict';\n"
	"(function () {\n"
	"  var main = document.getElementById('main');\n"
	"  var form = document.getElementById('revoke');\n"
	"  if (!main || !form) return;\n"
	"  var de = main.getAttribute('data-lang') === 'de';\n"
	"  var id = main.getAttribute('data-id');\n"
	"  var T = de ? {\n"
	"    wait: 'Bitte warten …', done: 'Die Übertragung ist zurückgezogen. Die Dateien sind gelöscht.',\n"
	"    esecret: 'Der Widerrufslink ist unvollständig oder falsch. Bitte den Widerrufscode aus Ihrer Bestätigungs-E-Mail eingeben.',\n"
	"    erate: 'Zu viele Versuche. Bitte später erneut versuchen.',\n"
	"    erevoked: 'Diese Übertragung ist bereits zurückgezogen.',\n"
	"    egone: 'Diese Übertragung ist abgelaufen.', enf: 'Diese Übertragung gibt es nicht.',\n"
	"    eother: 'Fehler. Bitte später erneut versuchen.'\n"
	"  } : {\n"
	"    wait: 'Please wait …', done: 'The transfer is revoked. The files are deleted.',\n"
	"    esecret: 'The revoke link is incomplete or wrong. Please enter the revoke code from your confirmation e-mail.',\n"
	"    erate: 'Too many attempts. Please try again later.',\n"
	"    erevoked: 'This transfer is already revoked.',\n"
	"    egone: 'This transfer has expired.', enf: 'This transfer does not exist.',\n"
	"    eother: 'Error. Please try again later.'\n"
	"  };\n"
	"  var secret = '';\n"
	"  if (location.hash.length > 1) {\n"
	"    secret = decodeURIComponent(location.hash.substring(1));\n"
	"    try { history.replaceState(null, '', location.pathname + location.search); } catch (e) {}\n"
	"  }\n"
	"  var codebox = document.getElementById('codebox');\n"
	"  var code = document.getElementById('code');\n"
	"  if (!secret && codebox) codebox.hidden = false;\n"
	"  /* the language switch keeps the fragment (fragments never reach a server) */\n"
	"  var sw = document.querySelector('footer a[hreflang]');\n"
	"  if (sw && secret) sw.setAttribute('href', sw.getAttribute('href') + '#' + encodeURIComponent(secret));\n"
	"  var button = document.getElementById('confirm');\n"
	"  var status = document.getElementById('status');\n"
	"  var done = document.getElementById('done');\n"
	"  function say(msg, err) { status.textContent = msg; status.className = err ? 'error' : ''; }\n"
	"  form.addEventListener('submit', function (ev) {\n"
	"    ev.preventDefault();\n"
	"    var s = secret;\n"
	"    if (code && code.value.trim()) { s = code.value.trim(); var k = s.lastIndexOf('#'); if (k >= 0) s = s.substring(k + 1); }\n"
	"    button.disabled = true;\n"
	"    say(T.wait, false);\n"
	"    fetch('/r/' + id + '/revoke', { method: 'POST', headers: { 'Content-Type': 'application/json' },\n"
	"      body: JSON.stringify({ secret: s }), credentials: 'omit', cache: 'no-store' })\n"
	"      .then(function (r) {\n"
	"        if (r.ok) {\n"
	"          form.hidden = true; done.hidden = false; say(T.done, false);\n"
	"          var h = done.querySelector('h2'); h.tabIndex = -1; h.focus();\n"
	"          return;\n"
	"        }\n"
	"        button.disabled = r.status === 410 || r.status === 404;\n"
	"        if (r.status === 403 && codebox) codebox.hidden = false;\n"
	"        return r.json().catch(function () { return {}; }).then(function (j) {\n"
	"          say(r.status === 403 ? T.esecret : r.status === 429 ? T.erate :\n"
	"            r.status === 410 ? (j.error === 'revoked' ? T.erevoked : T.egone) :\n"
	"            r.status === 404 ? T.enf : T.eother, true);\n"
	"        });\n"
	"      })\n"
	"      .catch(function () { button.disabled = false; say(T.eother, true); });\n"
	"  });\n"
	"})();\n";

enum portal_lang
portal_lang_pick(const char *q, const char *al)
{
	double best_q = -1;
	enum portal_lang best = PORTAL_LANG_DE;
	char **parts;
	size_t i;

	if (q != NULL && strcmp(q, "en") == 0)
		return PORTAL_LANG_EN;
	if (q != NULL && strcmp(q, "de") == 0)
		return PORTAL_LANG_DE;
	if (al == NULL || strlen(al) > 1024)
		return PORTAL_LANG_DE;
	parts = g_strsplit(al, ",", 32);
	for (i = 0; parts[i] != NULL; i++) {
		char *item = g_strstrip(parts[i]), *semi = strchr(item, ';');
		double qv = 1.0;
		enum portal_lang l;

		if (semi != NULL) {
			const char *qs = strstr(semi, "q=");

			*semi = '\0';
			if (qs != NULL)
				qv = g_ascii_strtod(qs + 2, NULL);
		}
		g_strstrip(item);
		if (g_ascii_strncasecmp(item, "de", 2) == 0 && (item[2] == '\0' || item[2] == '-'))
			l = PORTAL_LANG_DE;
		else if (g_ascii_strncasecmp(item, "en", 2) == 0 && (item[2] == '\0' || item[2] == '-'))
			l = PORTAL_LANG_EN;
		else
			continue;
		if (qv > best_q) {
			best_q = qv;
			best = l;
		}
	}
	g_strfreev(parts);
	return best;
}

char *
portal_html_escape(const char *s)
{
	GString *o = g_string_sized_new(strlen(s ? s : "") + 16);

	for (; s && *s; s++) {
		switch (*s) {
		case '&': g_string_append(o, "&amp;"); break;
		case '<': g_string_append(o, "&lt;"); break;
		case '>': g_string_append(o, "&gt;"); break;
		case '"': g_string_append(o, "&quot;"); break;
		case '\'': g_string_append(o, "&#39;"); break;
		default: g_string_append_c(o, *s);
		}
	}
	return g_string_free(o, FALSE);
}

char *
portal_format_time(int64_t t, enum portal_lang lang)
{
	GTimeZone *tz = g_time_zone_new_identifier("Europe/Berlin");
	GDateTime *u = g_date_time_new_from_unix_utc(t), *d;
	char *s;

	if (tz == NULL)
		tz = g_time_zone_new_utc();
	d = g_date_time_to_timezone(u, tz);
	s = g_date_time_format(d, lang == PORTAL_LANG_DE ? "%d.%m.%Y, %H:%M Uhr (%Z)" :
		"%Y-%m-%d %H:%M (%Z)");
	g_date_time_unref(d);
	g_date_time_unref(u);
	g_time_zone_unref(tz);
	return s;
}

static void
page_head(GString *o, enum portal_lang lang, const char *title)
{
	g_string_append_printf(o,
		"<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<meta name=\"referrer\" content=\"no-referrer\">\n"
		"<title>%s</title>\n<link rel=\"stylesheet\" href=\"/static/portal.css\">\n"
		"<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\n",
		lang == PORTAL_LANG_DE ? "de" : "en", title);
}

static void
page_footer(GString *o, const struct conf *c, enum portal_lang lang, const char *self_path)
{
	bool de = lang == PORTAL_LANG_DE;
	struct { const char *url, *de, *en; } links[] = {
		{ c->accessibility_url, "Barrierefreiheit", "Accessibility" },
		{ c->privacy_url, "Datenschutz", "Privacy" },
		{ c->imprint_url, "Impressum", "Imprint" },
	};
	size_t i;

	g_string_append(o, "<footer>\n");
	if (c->portal_contact && *c->portal_contact) {
		char *e = portal_html_escape(c->portal_contact);

		g_string_append_printf(o, "<p>%s: %s</p>\n", de ? "Kontakt" : "Contact", e);
		g_free(e);
	}
	g_string_append(o, "<p>");
	for (i = 0; i < G_N_ELEMENTS(links); i++) {
		char *e;

		if (links[i].url == NULL || *links[i].url == '\0')
			continue;
		e = portal_html_escape(links[i].url);
		g_string_append_printf(o, "<a href=\"%s\">%s</a>", e, de ? links[i].de : links[i].en);
		g_free(e);
	}
	if (self_path != NULL) {
		char *e = portal_html_escape(self_path);

		g_string_append_printf(o, "<a href=\"%s?lang=%s\" lang=\"%s\" hreflang=\"%s\">%s</a>", e,
			de ? "en" : "de", de ? "en" : "de", de ? "en" : "de", de ? "English" : "Deutsch");
		g_free(e);
	}
	g_string_append(o, "</p>\n</footer>\n");
}

/* portal_password_how_fixed - the fixed wording per delivery mode */
static const char *
portal_password_how_fixed(int delivery, bool de)
{
	switch (delivery) {
	case TRANSFER_DELIVERY_PHONE:
		return de ? "Sie brauchen ein Passwort. Der Absender sagt es Ihnen am Telefon." :
			    "You need a password. The sender tells you the password by phone.";
	case TRANSFER_DELIVERY_SEPARATE_MAIL:
		return de ? "Sie brauchen ein Passwort. Es kommt in einer separaten E-Mail." :
			    "You need a password. It arrives in a separate e-mail.";
	case TRANSFER_DELIVERY_AGREED:
		return de ? "Sie brauchen ein Passwort: das Passwort, das Sie mit dem Absender vereinbart haben." :
			    "You need a password: the password you agreed with the sender.";
	default:
		return de ? "Sie brauchen ein Passwort. Bitte fragen Sie den Absender." :
			    "You need a password. Please ask the sender.";
	}
}

/* portal_password_how - before unlock: a password is needed, and how it
 * arrives (the info object's delivery mode); an agreed secret names
 * [notify] organisation like the notice (g_malloc'ed HTML) */
static char *
portal_password_how(const struct conf *c, int delivery, bool de)
{
	const char *org = c->notify_organisation && *c->notify_organisation ? c->notify_organisation : NULL;
	char *e, *s;

	if (delivery == TRANSFER_DELIVERY_AGREED && org != NULL) {
		e = portal_html_escape(org);
		s = g_strdup_printf(de ? "Sie brauchen ein Passwort: das Passwort, das Sie mit %s vereinbart haben." :
				       "You need a password: the password you agreed with %s.", e);
		g_free(e);
		return s;
	}
	return g_strdup(portal_password_how_fixed(delivery, de));
}

char *
portal_page_transfer(const struct conf *c, enum portal_lang lang, const char *id, int64_t expires,
	int password)
{
	bool de = lang == PORTAL_LANG_DE;
	GString *o = g_string_sized_new(4096);
	char *when = portal_format_time(expires, lang), *self, *how;
	GDateTime *u = g_date_time_new_from_unix_utc(expires);
	char *iso = g_date_time_format(u, "%Y-%m-%dT%H:%M:%SZ");

	g_date_time_unref(u);
	page_head(o, lang, de ? "Dateien abholen" : "Collect files");
	g_string_append(o, "<script src=\"/static/portal.js\" defer></script>\n"
		"<script src=\"/static/letter.js\" defer></script>\n</head>\n<body>\n");
	g_string_append_printf(o, "<main id=\"main\" data-id=\"%s\" data-lang=\"%s\">\n", id, de ? "de" : "en");
	g_string_append_printf(o, "<h1>%s</h1>\n", de ? "Dateien abholen" : "Collect files");
	g_string_append_printf(o, "<p>%s <time datetime=\"%s\">%s</time>.</p>\n",
		de ? "Diese Dateien wurden Ihnen per E-Mail geschickt. Sie sind verfügbar bis" :
		     "These files were sent to you by e-mail. They are available until", iso, when);
	g_string_append_printf(o, "<noscript><p>%s</p></noscript>\n",
		de ? "Bitte JavaScript einschalten: der Schlüssel steht im Link und wird nur in Ihrem Browser gelesen." :
		     "Please enable JavaScript: the key is part of the link and is read only in your browser.");
	g_string_append(o, "<form id=\"unlock\" action=\"#\" method=\"post\">\n");
	g_string_append_printf(o,
		"<div id=\"codebox\" hidden>\n<label for=\"code\">Zugangscode / access code</label>\n"
		"<p class=\"meta\" id=\"codehelp\">%s</p>\n"
		"<input id=\"code\" name=\"code\" type=\"text\" autocomplete=\"off\" spellcheck=\"false\" "
		"aria-describedby=\"codehelp\">\n</div>\n",
		de ? "Der Link wurde unterwegs gekürzt. Bitte den ganzen Link oder den Teil nach dem Zeichen # eingeben." :
		     "The link was shortened on its way. Please enter the whole link or the part after the # sign.");
	how = password != TRANSFER_DELIVERY_NONE ? portal_password_how(c, password, de) : NULL;
	if (how != NULL)
		g_string_append_printf(o,
			"<p id=\"pwinfo\">%s</p>\n<label for=\"password\">%s</label>\n"
			"<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"off\" "
			"aria-describedby=\"pwinfo\" required>\n",
			how, de ? "Passwort" : "Password");
	g_string_append(o, "<div><button id=\"show\" type=\"submit\">Dateien anzeigen / Show files</button></div>\n"
		"</form>\n<p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n"
		"<section id=\"result\" aria-live=\"polite\" hidden></section>\n</main>\n");
	self = g_strdup_printf("/t/%s", id);
	page_footer(o, c, lang, self);
	g_string_append(o, "</body>\n</html>\n");
	g_free(self);
	g_free(how);
	g_free(when);
	g_free(iso);
	return g_string_free(o, FALSE);
}

char *
portal_page_revoke(const struct conf *c, enum portal_lang lang, const char *id, int64_t created,
	int64_t expires, enum portal_revoke_state state)
{
	bool de = lang == PORTAL_LANG_DE;
	GString *o = g_string_sized_new(4096);
	char *when = portal_format_time(expires, lang), *sent = portal_format_time(created, lang);
	char *self = g_strdup_printf("/r/%s", id);
	const char *title = de ? "Übertragung zurückziehen" : "Revoke transfer";

	page_head(o, lang, title);
	if (state != PORTAL_REVOKE_LIVE) {
		bool rv = state == PORTAL_REVOKE_REVOKED;

		g_string_append_printf(o, "</head>\n<body>\n<main>\n<h1>%s</h1>\n<p>%s</p>\n</main>\n",
			rv ? (de ? "Bereits zurückgezogen" : "Already revoked") :
			     (de ? "Abgelaufen" : "Expired"),
			rv ? (de ? "Diese Übertragung ist bereits zurückgezogen; die Dateien können nicht mehr "
			           "abgeholt werden." :
			           "This transfer is already revoked; the files can no longer be collected.") :
			     (de ? "Diese Übertragung ist abgelaufen; die Dateien können nicht mehr abgeholt "
			           "werden und werden automatisch gelöscht." :
			           "This transfer has expired; the files can no longer be collected and are "
			           "deleted automatically."));
		goto footer;
	}
	/* sender.js first: it reads the fragment before revoke.js removes it */
	g_string_append(o, "<script src=\"/static/sender.js\" defer></script>\n"
		"<script src=\"/static/revoke.js\" defer></script>\n</head>\n<body>\n");
	g_string_append_printf(o, "<main id=\"main\" data-id=\"%s\" data-lang=\"%s\">\n", id, de ? "de" : "en");
	g_string_append_printf(o, "<h1>%s</h1>\n", title);
	g_string_append_printf(o, "<p>%s <code>%s</code></p>\n<p>%s %s. %s %s.</p>\n",
		de ? "Übertragung" : "Transfer", id, de ? "Gesendet am" : "Sent on", sent,
		de ? "Verfügbar bis" : "Available until", when);
	g_string_append_printf(o, "<p class=\"warn\">%s</p>\n",
		de ? "Zurückziehen löscht die Dateien sofort. Die Empfänger können sie danach nicht mehr "
		     "abholen, auch nicht über schon geöffnete Download-Links. Das lässt sich nicht rückgängig machen." :
		     "Revoking deletes the files at once. Recipients can no longer collect them afterwards, "
		     "not even through download links they already opened. This cannot be undone.");
	portal_sender_section(o, lang);
	g_string_append_printf(o, "<noscript><p>%s</p></noscript>\n",
		de ? "Bitte JavaScript einschalten: der Widerrufscode steht im Link und wird nur in Ihrem Browser gelesen." :
		     "Please enable JavaScript: the revoke code is part of the link and is read only in your browser.");
	g_string_append(o, "<form id=\"revoke\" action=\"#\" method=\"post\">\n");
	g_string_append_printf(o,
		"<div id=\"codebox\" hidden>\n<label for=\"code\">%s</label>\n"
		"<p class=\"meta\" id=\"codehelp\">%s</p>\n"
		"<input id=\"code\" name=\"code\" type=\"text\" autocomplete=\"off\" spellcheck=\"false\" "
		"aria-describedby=\"codehelp\">\n</div>\n",
		de ? "Widerrufscode" : "Revoke code",
		de ? "Der Link wurde unterwegs gekürzt. Bitte den ganzen Widerrufslink aus Ihrer Bestätigungs-E-Mail "
		     "oder den Teil nach dem Zeichen # eingeben." :
		     "The link was shortened on its way. Please enter the whole revoke link from your confirmation "
		     "e-mail or the part after the # sign.");
	g_string_append_printf(o, "<div><button id=\"confirm\" class=\"danger\" type=\"submit\">%s</button></div>\n"
		"</form>\n<p id=\"status\" role=\"status\" aria-live=\"polite\"></p>\n"
		"<section id=\"done\" hidden>\n<h2>%s</h2>\n<p>%s</p>\n</section>\n</main>\n",
		de ? "Jetzt zurückziehen und Dateien löschen" : "Revoke now and delete the files",
		de ? "Zurückgezogen" : "Revoked",
		de ? "Wer den Link jetzt öffnet, erfährt, dass die Übertragung nicht mehr verfügbar ist." :
		     "Anyone opening the link now is told that the transfer is no longer available.");
footer:
	page_footer(o, c, lang, self);
	g_string_append(o, "</body>\n</html>\n");
	g_free(self);
	g_free(when);
	g_free(sent);
	return g_string_free(o, FALSE);
}

char *
portal_page_error(const struct conf *c, enum portal_lang lang, unsigned status, const char *self_path)
{
	bool de = lang == PORTAL_LANG_DE;
	GString *o = g_string_sized_new(2048);
	const char *h, *p;

	switch (status) {
	case 410:
		h = de ? "Nicht mehr verfügbar" : "No longer available";
		p = de ? "Diese Übertragung ist abgelaufen oder wurde vom Absender zurückgezogen. "
		         "Bitte wenden Sie sich an den Absender, wenn Sie die Dateien noch brauchen." :
		         "This transfer has expired or was revoked by the sender. "
		         "Please contact the sender if you still need the files.";
		break;
	case 404:
		h = de ? "Nicht gefunden" : "Not found";
		p = de ? "Unter dieser Adresse gibt es keine Übertragung. Bitte prüfen Sie den Link." :
		         "There is no transfer at this address. Please check the link.";
		break;
	case 429:
		h = de ? "Zu viele Anfragen" : "Too many requests";
		p = de ? "Bitte versuchen Sie es später noch einmal." : "Please try again later.";
		break;
	default:
		h = de ? "Fehler" : "Error";
		p = de ? "Die Anfrage konnte nicht bearbeitet werden." : "The request could not be processed.";
		break;
	}
	page_head(o, lang, h);
	g_string_append_printf(o, "</head>\n<body>\n<main>\n<h1>%s</h1>\n<p>%s</p>\n</main>\n", h, p);
	page_footer(o, c, lang, self_path);
	g_string_append(o, "</body>\n</html>\n");
	return g_string_free(o, FALSE);
}
