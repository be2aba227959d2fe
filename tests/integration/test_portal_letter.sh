#!/bin/bash
# test_portal_letter.sh - reading an offloaded message in the portal (issue 11, FORMATS.md §4.5)
# with curl against the real portal binary: a classified letter offloaded whole by the real
# pipeline (offloadctl process, [VERTRAULICH] -> body_action offload-message -> "<Subject>.eml"),
# GET /l/<ticket> (From, Date, Subject, text, listed leaves), its attachment by a part ticket
# byte-exact with name, type and headers; wrong part, part of a non-.eml file, part and letter
# tickets re-targeted; hostile .eml files written by the real transfer code
# (portal_mktransfer.c): nesting deeper than max_mime_depth, more parts than max_parts, an HTML
# body with script, hostile attachment names, garbage. Ports 12850-12859.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
[ -f "$BUILD/liboffload.a" ] || bail "missing $BUILD/liboffload.a"
PORT=12850
BASE=http://127.0.0.1:$PORT
ASAN=0; case "$BUILD" in *asan*) ASAN=1 ;; esac

conf_write pl policy.offload_min_size=1k portal.listen=127.0.0.1:$PORT \
	portal.ticket_key_file="$T/pl/ticket.key" policy.max_mime_depth=8 policy.max_parts=40
CONF=$(conf_path pl); AUDIT=$(audit_path pl)

SANF=(); [ $ASAN = 1 ] && SANF=(-fsanitize=address,undefined)
PKGS="gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib"
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE "${SANF[@]}" -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" -I"$SRCDIR/transfer" -I"$SRCDIR/pipeline" \
	-I"$SRCDIR/portal" $(pkg-config --cflags $PKGS) "$IT/portal_mktransfer.c" "$BUILD/liboffload.a" \
	$(pkg-config --libs $PKGS) -lpthread -o "$T/mktransfer" 2> "$T/mk.err" || { cat "$T/mk.err"; bail "build portal_mktransfer"; }
MK=$T/mktransfer

# ---- the letters ---------------------------------------------------------------------------
random_file "$T/anlage.pdf" 40000
$PY - "$T" <<'PYEOF' || bail "build the letters"
import sys, os
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email import encoders
T = sys.argv[1]
def w(name, data):
    open(os.path.join(T, name), "wb").write(data if isinstance(data, bytes) else data.encode())

# the classified letter: alternative (plain latin-1 QP, html), a PDF, an attached message
m = EmailMessage()
m["From"] = "Amt Musterstadt <alice@example.org>"
m["To"] = "bob@example.net"
m["Subject"] = "[VERTRAULICH] Bescheid über Ihren Antrag"
m["Date"] = "Tue, 05 May 2026 10:15:00 +0200"
m.set_content("Sehr geehrte Frau Müller,\n\nanbei der Bescheid vom 5. Mai.\nGrüße\nAmt Musterstadt\n",
              charset="iso-8859-1", cte="quoted-printable")
m.add_alternative("<html><body><p>Sehr geehrte Frau M&uuml;ller (HTML)</p></body></html>", subtype="html")
m.add_attachment(open(os.path.join(T, "anlage.pdf"), "rb").read(), maintype="application",
                 subtype="pdf", filename="Anlage 1 Bescheid.pdf")
inner = EmailMessage()
inner["From"] = "x@example.org"; inner["Subject"] = "Antrag vom April"; inner.set_content("der Antrag\n")
m.add_attachment(inner)
m["Content-Language"] = "de"  # after the parts: the email package drops it when it nests them
w("letter.eml", m.as_bytes())

# hostile: nesting deeper than max_mime_depth = 8
part = MIMEText("tief\n")
for i in range(12):
    mp = MIMEMultipart("mixed"); mp.attach(part); part = mp
part["Subject"] = "deep"
w("deep.eml", part.as_bytes())
# hostile: more parts than max_parts = 40
mp = MIMEMultipart("mixed"); mp["Subject"] = "many"
for i in range(60):
    mp.attach(MIMEText("p%d\n" % i))
w("many.eml", mp.as_bytes())
# hostile: HTML only, with script, remote image, entities; hostile attachment names
mp = MIMEMultipart("mixed"); mp["Subject"] = "html\u202eevil"; mp["From"] = "h@example.org"
mp.attach(MIMEText("<html><head><title>T</title><script>alert('x')</script><style>p{}</style></head>"
                   "<body><p>Hallo&nbsp;Welt &amp; mehr &#228;&#x20AC;</p><img src=\"https://evil.example/t.gif\">"
                   "<script>document.cookie</script><p>Zeile 2</p></body></html>", "html"))
for name in ("../../etc/passwd", "Rechnung\u202efdp.exe", "a\r\nX-Evil: 1.txt"):
    b = MIMEBase("application", "octet-stream"); b.set_payload(b"payload-" + name.encode("utf-8", "replace"))
    encoders.encode_base64(b); b.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
    mp.attach(b)
w("html.eml", mp.as_bytes())
w("garbage.eml", bytes(range(256)) * 40)
w("plain.txt", "not a letter\n" * 200)
PYEOF

# through the real pipeline: VERTRAULICH offloads the whole message as "<Subject>.eml"
"$CTL" -c "$CONF" process < "$T/letter.eml" > "$T/letter.out" 2> "$T/letter.err" || bail "offloadctl process: $(cat "$T/letter.err")"
grep -q "body=offload-message" "$T/letter.err" || bail "the letter was not offloaded whole: $(cat "$T/letter.err")"
LINK=$(mail_link "$T/letter.out"); secret "$LINK"
"$MK" make "$CONF" "$T/deep.eml=deep.eml" "$T/many.eml=many.eml" "$T/html.eml=html.eml" \
	"$T/garbage.eml=garbage.EML" "$T/plain.txt=plain.txt" > "$T/h.out" || bail "helper: hostile transfer"
secret "$(sed -n 1p "$T/h.out")"
id_of() { sed -E 's|.*/t/([a-z2-7]{24})#.*|\1|' <<<"$1"; }
sec_of() { sed -E 's|.*#||' <<<"$1"; }

"$PORTAL_BIN" -f -c "$CONF" > "$T/portal.log" 2>&1 &
PORTAL_PID=$!; _BG_PIDS+=($PORTAL_PID)
waitport $PORT || bail "portal listens on $PORT ($(tail -3 "$T/portal.log"))"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
hcode() { curl -s -w '%{http_code}' "$@"; }  # with the caller's -o
unlock() {  # unlock LINK OUT
	curl -s -o "$2" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "{\"secret\":\"$(sec_of "$1")\"}" "$BASE/t/$(id_of "$1")/unlock"
	secrets_from_json "$2"
}
reseal() { local t; t=$("$MK" reseal "$CONF" "$@"); secret "$t"; echo "$t"; }
wait_audit() { wait_until 5 "grep -qE $(printf %q "$1") \"\$AUDIT\""; }

# ---- the letter ------------------------------------------------------------------------------
checkx "unlock: 200" '[ "$(unlock "$LINK" "$T/u.json")" = 200 ]'
checkx "unlock JSON: one file '[VERTRAULICH] Bescheid über Ihren Antrag.eml' with a letter URL (/l/ + its ticket)" \
	'[ "$(jget "$T/u.json" "len(d[\"files\"])")" = 1 ] &&
	 [ "$(jget "$T/u.json" "d[\"files\"][0][\"name\"]")" = "[VERTRAULICH] Bescheid über Ihren Antrag.eml" ] &&
	 [ "$(jget "$T/u.json" "d[\"files\"][0][\"letter\"][3:] == d[\"files\"][0][\"url\"][3:] and d[\"files\"][0][\"letter\"][:3]")" = /l/ ]'
LURL=$BASE$(jget "$T/u.json" 'd["files"][0]["letter"]'); EURL=$BASE$(jget "$T/u.json" 'd["files"][0]["url"]')
curl -s -D "$T/l.hdr" -o "$T/l.json" "$LURL"; secrets_from_json "$T/l.json"
checkx "GET /l/<ticket>: 200 application/json, no-store, nosniff" \
	'grep -q "^HTTP/1.1 200" "$T/l.hdr" && grep -qi "^Content-Type: application/json" "$T/l.hdr" &&
	 grep -qi "^Cache-Control: no-store" "$T/l.hdr" && grep -qi "^X-Content-Type-Options: nosniff" "$T/l.hdr"'
checkx "letter: From, To, Subject (decoded), Date with offset, lang de" \
	'[ "$(jget "$T/l.json" "d[\"from\"]")" = "Amt Musterstadt <alice@example.org>" ] &&
	 [ "$(jget "$T/l.json" "d[\"to\"]")" = "bob@example.net" ] &&
	 [ "$(jget "$T/l.json" "d[\"subject\"]")" = "[VERTRAULICH] Bescheid über Ihren Antrag" ] &&
	 [ "$(jget "$T/l.json" "d[\"date\"]")" = "2026-05-05T10:15:00+02:00" ] && [ "$(jget "$T/l.json" "d[\"lang\"]")" = de ]'
checkx "letter: the text/plain body as UTF-8 text (latin-1 quoted-printable decoded), not the HTML alternative" \
	'jget "$T/l.json" "d[\"text\"]" | grep -q "^Sehr geehrte Frau Müller,$" && jget "$T/l.json" "d[\"text\"]" | grep -q "^Grüße$" &&
	 [ "$(jget "$T/l.json" "d[\"html\"]")" = False ] && ! grep -q "(HTML)" "$T/l.json"'
checkx "letter: attachments are leaf 3 'Anlage 1 Bescheid.pdf' (application/pdf, 40000 B) and leaf 4 'Antrag vom April.eml'" \
	'[ "$(jget "$T/l.json" "[(a[\"part\"], a[\"name\"], a[\"type\"], a[\"size\"]) for a in d[\"attachments\"]]")" = \
	   "[(3, '"'Anlage 1 Bescheid.pdf'"', '"'application/pdf'"', 40000), (4, '"'Antrag vom April.eml'"', '"'message/rfc822'"', $(jget "$T/l.json" "d[\"attachments\"][1][\"size\"]"))]" ]'
PURL=$BASE$(jget "$T/l.json" 'd["attachments"][0]["url"]'); MURL=$BASE$(jget "$T/l.json" 'd["attachments"][1]["url"]')
curl -s -D "$T/p.hdr" -o "$T/p.bin" "$PURL"
checkx "part 3 download: byte-exact (40000 bytes)" 'cmp -s "$T/p.bin" "$T/anlage.pdf"'
checkx "part 3 download: application/pdf, attachment 'Anlage 1 Bescheid.pdf', nosniff, sandbox CSP, no-store" \
	'grep -qi "^Content-Type: application/pdf" "$T/p.hdr" &&
	 grep -qF "Content-Disposition: attachment; filename=\"Anlage 1 Bescheid.pdf\"" "$T/p.hdr" &&
	 grep -qi "^X-Content-Type-Options: nosniff" "$T/p.hdr" && grep -qF "Content-Security-Policy: sandbox; default-src '"'none'"'" "$T/p.hdr" &&
	 grep -qi "^Cache-Control: no-store" "$T/p.hdr"'
# Range on a part, as on a file download (RFC 9110 §14: one range, 206 / 416)
checkx "part 3: Accept-Ranges: bytes on the whole answer" 'grep -qi "^Accept-Ranges: bytes" "$T/p.hdr"'
checkx "part 3, Range bytes=100-4195: 206, Content-Range bytes 100-4195/40000, the 4096 bytes byte-exact" \
	'[ "$(hcode -D "$T/r1.hdr" -o "$T/r1.bin" -r 100-4195 "$PURL")" = 206 ] &&
	 grep -qi "^Content-Range: bytes 100-4195/40000" "$T/r1.hdr" && grep -qi "^Content-Length: 4096" "$T/r1.hdr" &&
	 cmp -s "$T/r1.bin" <(tail -c +101 "$T/anlage.pdf" | head -c 4096)'
checkx "part 3, Range bytes=39990- (open end): 206, the last 10 bytes" \
	'[ "$(hcode -D "$T/r2.hdr" -o "$T/r2.bin" -r 39990- "$PURL")" = 206 ] &&
	 grep -qi "^Content-Range: bytes 39990-39999/40000" "$T/r2.hdr" && cmp -s "$T/r2.bin" <(tail -c 10 "$T/anlage.pdf")'
checkx "part 3, Range bytes=-7 (suffix): 206, the last 7 bytes" \
	'[ "$(hcode -o "$T/r3.bin" -H "Range: bytes=-7" "$PURL")" = 206 ] && cmp -s "$T/r3.bin" <(tail -c 7 "$T/anlage.pdf")'
checkx "part 3, Range bytes=40000- (beyond the end): 416 with Content-Range bytes */40000" \
	'[ "$(hcode -D "$T/r4.hdr" -o /dev/null -r 40000- "$PURL")" = 416 ] && grep -qi "^Content-Range: bytes \*/40000" "$T/r4.hdr"'
checkx "part 3, two ranges (not served as such): 200 with the whole part" \
	'[ "$(hcode -o "$T/r5.bin" -r 0-9,20-29 "$PURL")" = 200 ] && cmp -s "$T/r5.bin" "$T/anlage.pdf"'
checkx "part 3 resumed after 12345 bytes (curl -C -): the whole part byte-exact" \
	'head -c 12345 "$T/anlage.pdf" > "$T/r6.bin" && curl -s -C - -o "$T/r6.bin" "$PURL" && cmp -s "$T/r6.bin" "$T/anlage.pdf"'
checkx "audit: the 206 answer is 'index=0,part=3,range=100-4196', complete, 4096 B" \
	'wait_audit "event=download file=\"Anlage 1 Bescheid.pdf\" size=4096 reasons=\"index=0,part=3,range=100-4196\" action=complete"'
checkx "part 4: the attached message, message/rfc822, with its Subject" \
	'curl -s -D "$T/m.hdr" -o "$T/m.eml" "$MURL" && grep -qi "^Content-Type: message/rfc822" "$T/m.hdr" && grep -q "^Subject: Antrag vom April" "$T/m.eml"'
curl -s -o "$T/e.eml" "$EURL"
checkx "the .eml itself still downloads (part 0), and it is the original message" \
	'grep -q "^Subject: =?utf-8?q?=5BVERTRAULICH=5D_Bescheid" "$T/e.eml" || grep -qi "^Subject: .*VERTRAULICH" "$T/e.eml"'
checkx "audit: letter read (view=letter) and part 3 download (part=3, complete, 40000 B)" \
	'wait_audit "event=download .*reasons=\"index=0,view=letter\" action=read" && wait_audit "event=download file=\"Anlage 1 Bescheid.pdf\" size=40000 reasons=\"index=0,part=3\" action=complete"'

# ---- wrong tickets -----------------------------------------------------------------------------
T0=${EURL##*/d/}; P3=${PURL##*/d/}
checkx "part 99 of the letter (no such leaf): 404" '[ "$(code "$BASE/d/$(reseal "$T0" --part 99)")" = 404 ]'
checkx "part 1 = the shown body text is served too (text/plain)" \
	'curl -s -D "$T/p1.hdr" -o "$T/p1.txt" "$BASE/d/$(reseal "$T0" --part 1)" && grep -qi "^Content-Type: text/plain" "$T/p1.hdr" && grep -q "Frau M" "$T/p1.txt"'
checkx "a part ticket given to /l/: 404" '[ "$(code "$BASE/l/$P3")" = 404 ]'
checkx "a part ticket with a foreign key: 403" '[ "$(code "$BASE/d/$(reseal "$P3" --foreign-key)")" = 403 ]'
checkx "a part ticket with the wrong size (object version): 410" '[ "$(code "$BASE/d/$(reseal "$P3" --size 12345)")" = 410 ]'
ALLT=$(jget "$T/u.json" 'd["all"]'); ALLT=${ALLT#/d/}
checkx "a part ticket of the ZIP of all files: 404" '[ "$(code "$BASE/d/$(reseal "$ALLT" --part 1)")" = 404 ]'

checkx "hostile transfer: unlock 200, letter URLs for the four .eml/.EML files, none for plain.txt" \
	'[ "$(unlock "$(sed -n 1p "$T/h.out")" "$T/h.json")" = 200 ] &&
	 [ "$(jget "$T/h.json" "[\"letter\" in f for f in d[\"files\"]]")" = "[True, True, True, True, False]" ]'
hurl() { echo "$BASE$(jget "$T/h.json" "d[\"files\"][$1][\"$2\"]")"; }
TXT=$(hurl 4 url); TXT=${TXT##*/d/}
checkx "part 1 of a file that is no .eml (plain.txt): 404; its ticket on /l/: 404" \
	'[ "$(code "$BASE/d/$(reseal "$TXT" --part 1)")" = 404 ] && [ "$(code "$BASE/l/$TXT")" = 404 ]'
checkx "nesting deeper than max_mime_depth (8): /l/ 422 unreadable, part 1 404" \
	'[ "$(code -o "$T/deep.json" "$(hurl 0 letter)")" = 422 ] &&
	 D=$(hurl 0 url) && [ "$(code "$BASE/d/$(reseal "${D##*/d/}" --part 1)")" = 404 ]'
checkx "more parts than max_parts (40): /l/ 422" '[ "$(code "$(hurl 1 letter)")" = 422 ]'
curl -s -o "$T/html.json" "$(hurl 2 letter)"; secrets_from_json "$T/html.json"
# the text is read whole before grep -q looks at it (grep -q leaving early broke jget's pipe)
HTML_TEXT=$(jget "$T/html.json" 'd["text"]')
checkx "HTML-only letter: shown as text 'Hallo Welt & mehr ä€' and 'Zeile 2', html true" \
	'grep -qx "Hallo Welt & mehr ä€" <<<"$HTML_TEXT" && grep -qx "Zeile 2" <<<"$HTML_TEXT" &&
	 [ "$(jget "$T/html.json" "d[\"html\"]")" = True ]'
checkx "HTML-only letter: no script, style, title or remote address in the text" \
	'[ -n "$HTML_TEXT" ] && ! grep -qE "alert|cookie|p\{|evil.example|^T$" <<<"$HTML_TEXT"'
checkx "subject with a bidi override shown with it replaced (html_evil)" '[ "$(jget "$T/html.json" "d[\"subject\"]")" = "html_evil" ]'
checkx "hostile attachment names sanitised: passwd, Rechnung_fdp.exe, no CR/LF" \
	'[ "$(jget "$T/html.json" "[a[\"name\"] for a in d[\"attachments\"]][:2]")" = "['"'passwd', 'Rechnung_fdp.exe'"']" ] &&
	 [ "$(jget "$T/html.json" "any(c in d[\"attachments\"][2][\"name\"] for c in chr(13) + chr(10))")" = False ]'
HP=$BASE$(jget "$T/html.json" 'd["attachments"][2]["url"]')
checkx "the CR/LF name gives no extra response header" \
	'curl -s -D "$T/hp.hdr" -o /dev/null "$HP" && ! grep -qi "^X-Evil" "$T/hp.hdr" && grep -qi "^Content-Disposition: attachment" "$T/hp.hdr"'
checkx "garbage .EML: answered (200 or 422), portal alive" \
	'c=$(code "$(hurl 3 letter)"); { [ "$c" = 200 ] || [ "$c" = 422 ]; } && kill -0 $PORTAL_PID'
checkx "a malformed letter ticket: 403; /l/ without a ticket: 403" \
	'[ "$(code "$BASE/l/AAAA")" = 403 ] && [ "$(code "$BASE/l/")" = 403 ]'

# ---- the store goes away -------------------------------------------------------------------------
"$CTL" -c "$CONF" revoke "$(id_of "$LINK")" > /dev/null 2>&1
checkx "after revocation: /l/ 410, part 410" '[ "$(code "$LURL")" = 410 ] && [ "$(code "$PURL")" = 410 ]'
checkx "portal log holds no ticket (GET /l/ and /d/ URLs not logged)" '! grep -qF "${P3:0:40}" "$T/portal.log" && ! grep -qF "${T0:0:40}" "$T/portal.log"'
checkx "the portal is still running" 'kill -0 "$PORTAL_PID"'
finish
