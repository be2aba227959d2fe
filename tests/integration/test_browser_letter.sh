#!/bin/bash
# test_browser_letter.sh - read an offloaded letter in the portal page in headless Debian
# Chromium (issue 11): a [VERTRAULICH] mail with an attachment, offloaded whole as
# "<Subject>.eml" by the real pipeline (offloadctl process, body_action offload-message), is
# unlocked at 360 px width; the letter is opened with the keyboard, its text read in the page, its
# attachment downloaded byte-exact (browser/letter_test.js). Screenshots letter-phone-de.png and
# letter-desktop-en.png go to $BUILD/artifacts/. Ports 12855-12859.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
PORT=12855
BASE=http://127.0.0.1:$PORT
UDD=$T/chromium-profile
. "$IT/browser/chromium.sh"

conf_write bl policy.offload_min_size=1k portal.listen=127.0.0.1:$PORT portal.url=$BASE \
	portal.ticket_key_file="$T/bl/ticket.key"
CONF=$(conf_path bl)
PCONF=$T/bl/process.conf    # the same config, links to files.example.test (what mail_link finds)
sed "s|^url = $BASE\$|url = https://files.example.test|" "$CONF" > "$PCONF"
ATT="Anlage 1 Bescheid.pdf"
random_file "$T/att.pdf" 250000
SUBJECT="[VERTRAULICH] Bescheid über Ihren Antrag"
$PY - "$T" "$SUBJECT" <<'PYEOF' || bail "build the letter"
import sys, os
from email.message import EmailMessage
T, subj = sys.argv[1], sys.argv[2]
m = EmailMessage()
m["From"] = "Amt Musterstadt <alice@example.org>"; m["To"] = "bob@example.net"; m["Subject"] = subj
m["Date"] = "Tue, 05 May 2026 10:15:00 +0200"
m.set_content("Sehr geehrte Frau Müller,\n\nanbei erhalten Sie den Bescheid über Ihren Antrag vom 2. April 2026 "
              "mit allen Anlagen. Bitte prüfen Sie die Angaben und melden Sie sich bei Fragen.\n\n"
              "Mit freundlichen Grüßen\nAmt Musterstadt\nhttps://www.example.org/ein/sehr/langer/pfad/ohne/leerzeichen/der/umbrechen/muss\n")
m.add_alternative("<p>Sehr geehrte Frau M&uuml;ller (HTML)</p>", subtype="html")
m.add_attachment(open(os.path.join(T, "att.pdf"), "rb").read(), maintype="application", subtype="pdf",
                 filename="Anlage 1 Bescheid.pdf")
m["Content-Language"] = "de"
open(os.path.join(T, "letter.eml"), "wb").write(m.as_bytes())
PYEOF
"$CTL" -c "$PCONF" process < "$T/letter.eml" > "$T/out.eml" 2> "$T/process.err" || bail "offloadctl process: $(cat "$T/process.err")"
grep -q "body=offload-message" "$T/process.err" || bail "not offloaded whole: $(cat "$T/process.err")"
LINK=$(mail_link "$T/out.eml" | sed "s|^https://files.example.test|$BASE|"); secret "$LINK"
[ -n "$LINK" ] || bail "no link in the rewritten mail"

"$PORTAL_BIN" -c "$CONF" -f >> "$T/portal.log" 2>&1 &
PORTAL_PID=$!
_BG_PIDS+=("$PORTAL_PID")
waitport $PORT 200 || { tail -5 "$T/portal.log" | sed 's/^/# /'; bail "portal did not listen on $PORT"; }

rm -f "$ART"/letter-*.png
mkdir -p "$ART"
t0=$(now)
LINK=$LINK SUBJECT=$SUBJECT TEXT="Sehr geehrte Frau Müller," ATT_NAME=$ATT ATT_SHA256=$(sha256 "$T/att.pdf") \
ARTIFACTS=$ART UDD=$UDD DLDIR=$T/downloads \
	timeout -k 5 90 node "$IT/browser/letter_test.js" > "$T/node.out" 2> "$T/node.err" &
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
checkx "no chromium process of this run is left" '[ -z "$(browser_pids)" ]'
for s in letter-phone-de letter-desktop-en; do
	checkx "screenshot $s.png is a PNG of a real page (> 5 kB)" \
		'[ "$(head -c 8 "$ART/$s.png" 2>/dev/null | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ] && [ $(stat -c %s "$ART/$s.png") -gt 5000 ]'
done
checkx "audit: the letter was read and its attachment downloaded" \
	'grep -q "reasons=\"index=0,view=letter\" action=read" "$(audit_path bl)" && grep -q "file=\"$ATT\" size=250000 reasons=\"index=0,part=3\" action=complete" "$(audit_path bl)"'
checkx "the portal is still running" 'kill -0 "$PORTAL_PID" 2>/dev/null'
finish
