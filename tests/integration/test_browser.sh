#!/bin/bash
# test_browser.sh - the portal page in headless Debian Chromium (playwright-core): open the link
# from a mail written by the real pipeline, the fragment disappears, click "show files", click the
# download, the file's SHA-256 equals the original; German/English by Accept-Language; keyboard
# only (Tab to #show, Enter); the access-code field; the password flow when the pipeline can make
# a password transfer; no console errors and no CSP violations; the HTML notice of a rewritten mail
# at 360 and 1280 px (button, raw link, no horizontal scrolling); the downloads send the sender one
# receipt (issue 12). Screenshots go to
# $BUILD/artifacts/ (test artefacts). Chromium recipe: docs/DECISIONS.md §A.7.
# Ports 12830-12839. Chromium is stopped by the EXIT trap also when node dies half-way.
. "$(dirname "$0")/lib.sh"
. "$IT/browser/password_transfer.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
PORT=12830
BASE=http://127.0.0.1:$PORT
UDD=$T/chromium-profile    # fresh --user-data-dir; also how the trap finds this run's chromium
. "$IT/browser/chromium.sh"

conf_write b policy.offload_min_size=1k portal.listen=127.0.0.1:$PORT portal.url=$BASE \
	portal.ticket_key_file="$T/b/ticket.key"
CONF=$(conf_path b)
PCONF=$T/b/process.conf    # the same config, links to files.example.test (what mail_link finds)
sed "s|^url = $BASE\$|url = https://files.example.test|" "$CONF" > "$PCONF"

NAME="Bericht März 2026.pdf"
random_file "$T/orig.pdf" $((1024 * 1024 + 777))
make_eml "$T/in.eml" "browser test" "see link" "$T/orig.pdf" "$NAME" application/pdf || bail "make_eml"
"$CTL" -c "$PCONF" process < "$T/in.eml" > "$T/out.eml" 2> "$T/process.err" || bail "offloadctl process: $(cat "$T/process.err")"
LINK=$(mail_link "$T/out.eml" | sed "s|^https://files.example.test|$BASE|")
[ -n "$LINK" ] || bail "no link in the rewritten mail"

# the HTML notice as a recipient's mail client shows it: a mail with an HTML body through the
# pipeline, its text/html part saved as a page (screenshots at 360 and 1280 px)
$PY - "$T/orig.pdf" "$T/html.eml" <<'PYEOF' || bail "write html.eml"
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Max Muster <alice@example.org>"; m["To"] = "bob@example.net"; m["Subject"] = "Bericht"
m.set_content("Guten Tag,\nanbei der Bericht.\n")
m.add_alternative("<html><body><p>Guten Tag,</p><p>anbei der Bericht.</p></body></html>", subtype="html")
m.add_attachment(open(sys.argv[1], "rb").read(), maintype="application", subtype="pdf", filename="Bericht März 2026.pdf")
open(sys.argv[2], "wb").write(bytes(m))
PYEOF
"$CTL" -c "$PCONF" process < "$T/html.eml" > "$T/html.out" 2> "$T/html.err" || bail "process html.eml: $(cat "$T/html.err")"
$PY - "$T/html.out" "$T/notice.html" <<'PYEOF' || bail "no HTML part in the rewritten mail"
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
open(sys.argv[2], "w", encoding="utf-8").write(m.get_body(("html",)).get_content())
PYEOF

# a second transfer, revoked before the browser opens it (410 page)
make_eml "$T/in2.eml" "gone" "see link" "$T/orig.pdf" "x.pdf" application/pdf &&
	"$CTL" -c "$PCONF" process < "$T/in2.eml" > "$T/out2.eml" 2>/dev/null || bail "process in2.eml"
GONE_LINK=$(mail_link "$T/out2.eml" | sed "s|^https://files.example.test|$BASE|")
"$CTL" -c "$CONF" revoke "$(sed -E 's|.*/t/([a-z2-7]{24})#.*|\1|' <<<"$GONE_LINK")" > /dev/null 2> "$T/revoke.err" ||
	{ note "skip: 410 page (offloadctl revoke: $(head -1 "$T/revoke.err"))"; GONE_LINK=; }

# a password transfer: the pipeline cannot deliver passwords yet, so a small helper writes one
# with the real transfer code (browser/make_password_transfer.c, compiled here)
PW_LINK= PASSWORD= PW_SHA256=
random_file "$T/pw.pdf" 300000
if password_transfer "$CONF" "$T/pw.pdf" "Vertraulich.pdf" "$BASE"; then
	PW_LINK=$PT_LINK PASSWORD=$PT_PASSWORD PW_SHA256=$(sha256 "$T/pw.pdf")
else
	note "skip: password flow ($PT_ERR)"
fi

"$PORTAL_BIN" -c "$CONF" -f >> "$T/portal.log" 2>&1 &
PORTAL_PID=$!
_BG_PIDS+=("$PORTAL_PID")
waitport $PORT 200 || { tail -5 "$T/portal.log" | sed 's/^/# /'; bail "portal did not listen on $PORT"; }

rm -f "$ART"/portal-*.png "$ART"/notice-*.png
mkdir -p "$ART"
t0=$(now)
LINK=$LINK SHA256=$(sha256 "$T/orig.pdf") NAME=$NAME PW_LINK=$PW_LINK PW_SHA256=$PW_SHA256 \
PASSWORD=$PASSWORD GONE_LINK=$GONE_LINK NOTICE_HTML=$T/notice.html ARTIFACTS=$ART UDD=$UDD DLDIR=$T/downloads \
	timeout -k 5 90 node "$IT/browser/portal_test.js" > "$T/node.out" 2> "$T/node.err" &
NODE_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=
cat "$T/node.out"
PASS=$((PASS + $(grep -c '^ok - ' "$T/node.out")))
FAIL=$((FAIL + $(grep -c '^not ok - ' "$T/node.out")))
checkx "browser script ran to its end (exit $rc, $(since "$t0"))" \
	'grep -q "^# node: " "$T/node.out" || { tail -5 "$T/node.err" | sed "s/^/# /"; false; }'
browser_stop
checkx "no chromium process of this run is left" \
	'[ -z "$(browser_pids)" ]'
for s in portal-page-de portal-files-de portal-files-en portal-phone-de notice-html-360 notice-html-1280 $([ -n "$PW_LINK" ] && echo portal-password-files); do
	checkx "screenshot $s.png is a PNG of a real page (> 5 kB)" \
		'[ "$(head -c 8 "$ART/$s.png" 2>/dev/null | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ] && [ $(stat -c %s "$ART/$s.png") -gt 5000 ]'
done
if [ -f "$T/downloads/all.zip" ]; then
	checkx "\"download all\" ZIP holds the file byte-exact" \
		'$PY -c "import zipfile,hashlib,sys; z=zipfile.ZipFile(sys.argv[1]); n=[i for i in z.namelist() if i.endswith(\".pdf\")]; sys.exit(0 if n and hashlib.sha256(z.read(n[0])).hexdigest()==sys.argv[2] else 1)" "$T/downloads/all.zip" "$(sha256 "$T/orig.pdf")"'
fi
# download receipts (issue 12, receipts = first by default): the browser's complete downloads of
# the pipeline's transfer send the sender exactly one; its notice said the sender is told
RID=$(sed -E 's|.*/t/([a-z2-7]{24})#.*|\1|' <<<"$LINK")
receipts() { grep -l "^X-Offload-Notice: receipt; transfer=$RID;" "$T/b/notify"/*.eml 2>/dev/null | wc -l; }
for ((i = 0; i < 600; i++)); do [ "$(receipts)" -ge 1 ] && break; sleep 0.05; done
checkx "the browser's downloads sent the sender one receipt (receipts = first), as the notice says" \
	'[ "$(receipts)" = 1 ] && $MAILTOOL notice "$T/out.eml" | grep -q "The sender is told when the files are downloaded"'
checkx "the portal is still running" 'kill -0 "$PORTAL_PID" 2>/dev/null || { tail -5 "$T/portal.log" | sed "s/^/# /"; false; }'
finish
