#!/bin/bash
# test_filename_bidi.sh - invisible and reordering characters in file names (issue 14 item 9):
# an attachment named "Rechnung<U+202E>fdp.exe" (shown as "Rechnungexe.pdf" where bidi applies),
# plus U+200B, U+2066, U+200F, U+FEFF, U+0085 (C1) and U+061C in a second name, through
# `offloadctl process`: the notice (text and HTML), the sender's confirmation mail, the portal's
# unlock answer (what the page shows) and download header, the ZIP of all files, and the files
# written by `offloadctl open` and `offloadctl fetch` all carry "_" in their place, never the
# characters. Ports 12890-12899.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
PORT=12890
BASE=http://127.0.0.1:$PORT

conf_write b policy.offload_min_size=1k portal.listen=127.0.0.1:$PORT portal.url=$BASE \
	portal.ticket_key_file="$T/b/ticket.key"
CONF=$(conf_path b)
PCONF=$T/b/process.conf
sed "s|^url = $BASE\$|url = https://files.example.test|" "$CONF" > "$PCONF"
local_link() { sed "s|^https://files.example.test|$BASE|" <<<"$1"; }

# the message: text and HTML body, two attachments with hostile names (RFC 2231 UTF-8)
$PY - "$T/bidi.eml" <<'EOF'
import os, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "lohn@example.gov"
m["To"] = "bob@example.net"
m["Subject"] = "Rechnung"
m.set_content("Anbei die Rechnung.\n")
m.add_alternative("<p>Anbei die Rechnung.</p>\n", subtype="html")
m.add_attachment(os.urandom(4000),
                 maintype="application", subtype="octet-stream", filename="Rechnung\u202efdp.exe")
m.add_attachment(os.urandom(3000), maintype="application", subtype="octet-stream",
                 filename="a\u200bb\u2066c\u2069d\u200fe\ufefff\u0085g\u061ch.pdf")
open(sys.argv[1], "wb").write(bytes(m))
EOF
WANT1=Rechnung_fdp.exe
WANT2=a_b_c_d_e_f_g_h.pdf
# no_bidi FILE: none of the characters' UTF-8 bytes (and no C1 U+0085) in FILE
no_bidi() { ! LC_ALL=C grep -qaP '\xe2\x80[\x8b-\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]|\xef\xbb\xbf|\xc2\x85|\xd8\x9c' "$1"; }

"$CTL" -c "$PCONF" process < "$T/bidi.eml" > "$T/out.eml" 2> "$T/out.err"; rc=$?
checkx "process: offloaded, exit 0 ($(head -c 160 "$T/out.err"))" '[ $rc = 0 ] && grep -q "^X-Offload-Transfer:" "$T/out.eml"'
$PY - "$T/out.eml" "$T/notice" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
open(sys.argv[2] + ".txt", "w").write(m.get_body(("plain",)).get_content())
h = m.get_body(("html",))
open(sys.argv[2] + ".html", "w").write(h.get_content() if h is not None else "")
EOF
checkx "notice text: the names with '_' for the invisible characters" \
	'grep -qF "$WANT1" "$T/notice.txt" && grep -qF "$WANT2" "$T/notice.txt" && no_bidi "$T/notice.txt"'
checkx "notice HTML: the names with '_', no numeric entity of a bidi or format character" \
	'grep -qF "$WANT1" "$T/notice.html" && grep -qF "$WANT2" "$T/notice.html" && ! grep -qE "&#(8203|8206|8207|8238|8294|8297|65279|133|1564);" "$T/notice.html"'
checkx "the rewritten mail holds none of the characters (decoded parts)" 'no_bidi "$T/notice.txt" && no_bidi "$T/notice.html"'

# the sender's confirmation
CONFIRM=$(find "$T/b/notify" -name '*.eml' 2>/dev/null | head -1)
if [ -n "$CONFIRM" ]; then
	$PY - "$CONFIRM" > "$T/confirm.txt" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m.get_body(("plain",)).get_content())
EOF
	checkx "confirmation mail: the names with '_'" 'grep -qF "$WANT1" "$T/confirm.txt" && grep -qF "$WANT2" "$T/confirm.txt" && no_bidi "$T/confirm.txt"'
else
	not_ok "confirmation mail: none submitted"
fi

# offloadctl open: the files written
LINK=$(mail_link "$T/out.eml")
mkdir -p "$T/open"
"$CTL" -c "$PCONF" open "$LINK" --output "$T/open" > "$T/open.out" 2> "$T/open.err"; rc=$?
checkx "open: exit 0, files written as $WANT1 and $WANT2" '[ $rc = 0 ] && [ -f "$T/open/$WANT1" ] && [ -f "$T/open/$WANT2" ] && [ "$(ls "$T/open" | wc -l)" = 2 ]'
checkx "open: its output lines name the safe files" 'no_bidi "$T/open.out" && grep -qF "$WANT1" "$T/open.out"'

# ---- the portal ---------------------------------------------------------------------------------
"$PORTAL_BIN" -c "$CONF" -f >> "$T/portal.log" 2>&1 &
_BG_PIDS+=("$!")
waitport $PORT 200 || { tail -5 "$T/portal.log" | sed 's/^/# /'; bail "portal did not listen on $PORT"; }
L=$(local_link "$LINK")
PAGE=${L%%#*}
SECRET=${L#*#}
curl -s -o "$T/unlock.json" -w '%{http_code}' -H 'Content-Type: application/json' -H 'Accept: application/json' \
	--data "{\"secret\":\"$SECRET\"}" "$PAGE/unlock" > "$T/unlock.code"
checkx "portal unlock (curl): 200, the page's file list names $WANT1 and $WANT2" \
	'[ "$(cat "$T/unlock.code")" = 200 ] && $PY -c "import json,sys; o=json.load(open(sys.argv[1])); n=[f[\"name\"] for f in o[\"files\"]]; sys.exit(0 if sorted(n)==sorted(sys.argv[2:]) else 1)" "$T/unlock.json" "$WANT1" "$WANT2"'
checkx "portal unlock: no escaped or raw bidi character in the answer" \
	'no_bidi "$T/unlock.json" && ! grep -qiE "\\\\u(200[b-f]|202[a-e]|206[6-9]|feff|0085|061c)" "$T/unlock.json"'
URL1=$($PY -c 'import json,sys; o=json.load(open(sys.argv[1])); print([f["url"] for f in o["files"] if f["name"].startswith("Rechnung")][0])' "$T/unlock.json")
curl -s -D "$T/d1.hdr" -o "$T/d1.bin" "$BASE$URL1"
checkx "portal download: Content-Disposition names $WANT1 (filename and filename*)" \
	'grep -qiF "filename=\"$WANT1\"" "$T/d1.hdr" && grep -qiF "filename*=UTF-8'"''"'$WANT1" "$T/d1.hdr"'
URLALL=$($PY -c 'import json,sys; o=json.load(open(sys.argv[1])); print(o.get("all") or o.get("zip") or "")' "$T/unlock.json")
if [ -n "$URLALL" ]; then
	curl -s -o "$T/all.zip" "$BASE$URLALL"
	checkx "portal ZIP of all files: the member names are $WANT1 and $WANT2" \
		'$PY -c "import zipfile,sys; n=sorted(zipfile.ZipFile(sys.argv[1]).namelist()); sys.exit(0 if n==sorted(sys.argv[2:]) else 1)" "$T/all.zip" "$WANT1" "$WANT2"'
else
	not_ok "portal ZIP of all files: no ZIP URL in the unlock answer ($(head -c 200 "$T/unlock.json"))"
fi

# offloadctl fetch: the files written
mkdir -p "$T/fetch"
"$CTL" fetch "$L" --output "$T/fetch" > "$T/fetch.out" 2> "$T/fetch.err"; rc=$?
checkx "fetch: exit 0, files written as $WANT1 and $WANT2 ($(head -c 120 "$T/fetch.err"))" \
	'[ $rc = 0 ] && [ -f "$T/fetch/$WANT1" ] && [ -f "$T/fetch/$WANT2" ] && [ "$(ls "$T/fetch" | wc -l)" = 2 ] && no_bidi "$T/fetch.out"'
finish
