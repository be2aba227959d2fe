/*
 * portal_pages.h - the portal's HTML pages (German / English), its one
 * script and one style sheet, as C strings: no external resources, no
 * inline script or style (CSP script-src/style-src 'self'). Everything
 * variable is HTML-escaped. Returned pages are g_malloc'ed; the static
 * assets are read-only. Thread-safe.
 */
#ifndef OFFLOAD_PORTAL_PAGES_H
#define OFFLOAD_PORTAL_PAGES_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "conf.h"
#include "transfer_info.h"

enum portal_lang { PORTAL_LANG_DE = 0, PORTAL_LANG_EN = 1 };

extern const char portal_js[];
extern const char portal_letter_js[]; /* /static/letter.js, the letter view (portal_letter_js.c) */
extern const char portal_revoke_js[]; /* /static/revoke.js, the revoke page's script */
extern const char portal_sender_js[]; /* /static/sender.js, the sender page (portal_sender.c) */
/* portal_sender_section - the sender view part of the /r/<id> page, hidden
 * until sender.js fills it (portal_sender.c) */
void portal_sender_section(GString *o, enum portal_lang lang);
extern const char portal_css[];
extern const char portal_favicon_svg[];

/* portal_lang_pick - ?lang= wins, else the first de/en in Accept-Language
 * (q-values honoured), else German */
enum portal_lang portal_lang_pick(const char *query_lang, const char *accept_language);
/* portal_html_escape - &<>"' escaped; g_malloc'ed */
char *portal_html_escape(const char *s);
/* portal_page_transfer - the page for a live transfer; password: a
 * TRANSFER_DELIVERY_* (NONE = no password field) or PORTAL_PASSWORD_ASK (a
 * password without an info object: an older transfer, "ask the sender") */
#define PORTAL_PASSWORD_ASK (-1)
char *portal_page_transfer(const struct conf *c, enum portal_lang lang, const char *id,
	int64_t expires, int password);
/* portal_page_revoke - the sender's revoke confirmation page for /r/<id>
 * (created and expires from the MAC-verified clear header, LIVE only);
 * REVOKED and EXPIRED give the "already revoked" / "expired" pages (410) */
enum portal_revoke_state { PORTAL_REVOKE_LIVE, PORTAL_REVOKE_REVOKED, PORTAL_REVOKE_EXPIRED };
char *portal_page_revoke(const struct conf *c, enum portal_lang lang, const char *id,
	int64_t created, int64_t expires, enum portal_revoke_state state);
/* portal_page_error - 404 / 410 / other status pages */
char *portal_page_error(const struct conf *c, enum portal_lang lang, unsigned status,
	const char *self_path);
/* portal_format_time - expiry as shown (Europe/Berlin), g_malloc'ed */
char *portal_format_time(int64_t t, enum portal_lang lang);

#endif
