#!/bin/bash
# test_browser_upload.sh - the citizen's reply in headless Debian Chromium (issue 13, browser
# acceptance): the portal (/t/, /d/) and offload-upload (/u/) on ONE origin behind real nginx
# configured from the shipped docs/nginx-portal.conf (TLS, HTTP/2; only ports, certificate and
# log paths changed, as an admin would), a private clamd whose only signature is EICAR (as
# test_upload.sh). The transfer is made by `offloadctl process` with [upload] enabled, so its
# notice carries the reply link. The browser (browser/upload_test.js) opens the notice link,
# unlocks, follows "send files back", types a message, chooses two files, loses the network
# mid-file, reloads and resumes (HEAD, then PATCH from Upload-Offset), is reloaded again while a
# chunk is on its way (upload slowed by DevTools), resumes again and gets "sent"; a reply of
# EICAR, a zip clamd cannot check (over its MaxFiles) and a clean file shows each refused file
# with its reason and is sent with the clean file; EICAR alone is refused and nothing is
# committed; a file whose first part the script damages before every join (offload-upload held
# there: OFFLOAD_UPLOAD_TEST_HOLD) is sent again from 0 three times, then refused as damaged, and
# its line says so; against a second offload-upload that sends it back up to 12 times ([upload]
# resends = 12) the page stops by itself after 10 returns and says so (no commit); a reply over
# [upload] max_size is refused before any data. Here: the clerk's mails were submitted (sendmail_capture.sh), `offloadctl
# open` of their links gives the files byte-exact, the second mail says "malware found" for
# EICAR only and "could not be checked for malware" for the zip; the proxy's access log shows
# the HEAD resume and no PATCH for the refused over-size reply. Screenshots at 360 and 1280 px go to $BUILD/artifacts/.
# Ports 12970-12974. Chromium recipe: docs/DECISIONS.md §A.7.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
UPLOAD_BIN=$BUILD/offload-upload
need_bins "$CTL" "$PORTAL_BIN" "$UPLOAD_BIN"
command -v clamd >/dev/null || bail "clamd missing (tools/deps/scan.apt: clamav-daemon)"
command -v nginx >/dev/null && command -v openssl >/dev/null || bail "nginx or openssl missing (tools/deps/browser.apt)"
NHTTP=12970 NTLS=12971 PPORT=12972 UPORT=12973
BASE=https://127.0.0.1:$NTLS
UDD=$T/chromium-profile
. "$IT/browser/chromium.sh"

# ---- clamd with the EICAR signature only ---------------------------------------------------------
CL=$T/clamd
mkdir -p "$CL/db" "$CL/tmp"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$T/eicar.com"
echo "$(md5sum < "$T/eicar.com" | cut -c1-32):68:Offload-Test-EICAR" > "$CL/db/offload-test.hdb"
cat > "$CL/clamd.conf" <<EOF
LocalSocket $CL/clamd.sock
DatabaseDirectory $CL/db
TemporaryDirectory $CL/tmp
Foreground yes
LogFile $CL/clamd.log
StreamMaxLength 64M
AlertExceedsMax yes
MaxFiles 3
EOF
clamd -c "$CL/clamd.conf" >> "$CL/clamd.out" 2>&1 &
_BG_PIDS+=($!)

# ---- offload: one config for portal, upload daemon and the CLI --------------------------------
# chunk 256K: the 3 MB file goes in 12 PATCHes, so the network can be lost half-way
conf_write w policy.offload_min_size=10 portal.listen=127.0.0.1:$PPORT portal.url=$BASE \
	portal.trusted_proxy=127.0.0.1 portal.ticket_key_file="$T/w/ticket.key" \
	upload.enabled=true upload.listen=127.0.0.1:$UPORT upload.chunk_size=256K upload.max_size=4M \
	upload.max_files=3 upload.uses=10 scan.clamd_socket=$CL/clamd.sock
CONF=$(conf_path w)
STORE=$(store_path w)
NOTIFY=$T/w/notify

random_file "$T/orig.pdf" 50000
make_eml "$T/in.eml" "Bauantrag" "Bitte die Unterlagen ergaenzen." "$T/orig.pdf" "Bescheid.pdf" application/pdf ||
	bail "make_eml"
"$CTL" -c "$CONF" process < "$T/in.eml" > "$T/out.eml" 2> "$T/process.err" || bail "offloadctl process: $(cat "$T/process.err")"
# the links of a mail on this test's portal origin (mail_link knows files.example.test only)
link_in() { $MAILTOOL notice "$1" | grep -oE "$BASE/t/[a-z2-7]{24}#[A-Za-z0-9_-]{22}" | head -1; }
LINK=$(link_in "$T/out.eml")
ID=$(sed 's|.*/t/||; s|#.*||' <<<"$LINK")
$MAILTOOL notice "$T/out.eml" > "$T/notice.txt"
RLINK=$(grep -o "$BASE/u/[^ ]*" "$T/notice.txt" | head -1)
check "the notice carries the portal link ($BASE/t/$ID) and the reply link /u/$ID#<token>" \
	[ "${LINK%#*}" = "$BASE/t/$ID" -a "${RLINK%#*}" = "$BASE/u/$ID" ]

# ---- nginx from docs/nginx-portal.conf -----------------------------------------------------------
N=$T/nginx; mkdir -p "$N/logs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=files.example.gov \
	-keyout "$N/key.pem" -out "$N/cert.pem" >/dev/null 2>&1 || bail "openssl req"
sed -e "s|127.0.0.1:8025|127.0.0.1:$PPORT|; s|127.0.0.1:8444|127.0.0.1:$UPORT|" \
	-e "s|listen 80;|listen 127.0.0.1:$NHTTP;|; s|listen 443 ssl|listen 127.0.0.1:$NTLS ssl|" -e '/listen \[::\]/d' \
	-e "s|/etc/ssl/certs/files.example.gov.pem|$N/cert.pem|; s|/etc/ssl/private/files.example.gov.key|$N/key.pem|" \
	-e "s|/var/log/nginx/|$N/logs/|" "$SRCDIR/docs/nginx-portal.conf" > "$N/portal.conf"
grep -q "server 127.0.0.1:$UPORT;" "$N/portal.conf" && grep -q 'location /u/' "$N/portal.conf" ||
	bail "docs/nginx-portal.conf has no offload-upload upstream 127.0.0.1:8444 and /u/ location"
cat > "$N/nginx.conf" <<NGX
pid $N/nginx.pid;
error_log $N/logs/error.log info;
events { worker_connections 64; }
http {
  client_body_temp_path $N/body; proxy_temp_path $N/proxy; fastcgi_temp_path $N/fcgi;
  uwsgi_temp_path $N/uwsgi; scgi_temp_path $N/scgi;
  include $N/portal.conf;
}
NGX
nginx -t -p "$N" -c "$N/nginx.conf" > "$N/t.log" 2>&1 || bail "nginx -t: $(tail -3 "$N/t.log")"
nginx -p "$N" -c "$N/nginx.conf" -g 'daemon off;' 2>> "$N/logs/error.log" &
_BG_PIDS+=($!)
"$PORTAL_BIN" -c "$CONF" -f >> "$T/portal.log" 2>&1 &
_BG_PIDS+=($!)
mkdir -p "$T/hold"
OFFLOAD_UPLOAD_TEST_HOLD=$T/hold "$UPLOAD_BIN" -c "$CONF" -f >> "$T/upload.log" 2>&1 &
UPLOAD_PID=$!
_BG_PIDS+=($UPLOAD_PID)
# a second daemon on the same store that sends a damaged file back up to 12 times (more than
# the page's own limit of 10), reached straight on its port
UPORT2=12974
sed "s|^listen = 127.0.0.1:$UPORT\$|listen = 127.0.0.1:$UPORT2\nresends = 12|" "$CONF" > "$T/w/upload2.conf"
mkdir -p "$T/hold2"
OFFLOAD_UPLOAD_TEST_HOLD=$T/hold2 "$UPLOAD_BIN" -c "$T/w/upload2.conf" -f >> "$T/upload2.log" 2>&1 &
_BG_PIDS+=($!)
waitport $PPORT 200 && waitport $UPORT 200 && waitport $UPORT2 200 && waitport $NTLS 200 ||
	bail "portal, upload daemon or nginx did not listen ($(tail -1 "$T/portal.log") $(tail -1 "$T/upload.log") $(tail -1 "$N/logs/error.log"))"
for ((i = 0; i < 300; i++)); do [ -S "$CL/clamd.sock" ] && break; sleep 0.1; done
[ -S "$CL/clamd.sock" ] || bail "clamd start"

# ---- the browser ---------------------------------------------------------------------------------
mkdir -p "$T/files"
random_file "$T/files/Lageplan.pdf" $((3 * 1024 * 1024 + 4321))
printf 'Anlage zum Bauantrag, Flurst\xc3\xbcck 12/3.\n' > "$T/files/Notiz zum Antrag.txt"
random_file "$T/files/Zu gross.bin" $((5 * 1024 * 1024))
printf 'Anlage.\n' > "$T/files/Anlage.txt"
random_file "$T/files/Teil.bin" $((2 * 262144 + 5))
# clamd cannot check a zip of more members than its MaxFiles 3 (Heuristics.Limits.Exceeded)
$PY -c 'import sys,zipfile
z = zipfile.ZipFile(sys.argv[1], "w")
for i in range(6): z.writestr("f%d.txt" % i, "x" * 100)' "$T/files/many.zip"
n0=$(find "$NOTIFY" -name '*.eml' 2>/dev/null | wc -l)   # what offloadctl process submitted
MSG="Guten Tag, anbei die fehlenden Unterlagen. Siehe auch http://evil.example/x"
rm -f "$ART"/upload-*.png
mkdir -p "$ART"
t0=$(now)
LINK=$LINK RLINK=$RLINK ID=$ID MSG=$MSG SMALL="$T/files/Notiz zum Antrag.txt" BIG=$T/files/Lageplan.pdf \
HUGE="$T/files/Zu gross.bin" EICAR=$T/eicar.com ZIP=$T/files/many.zip CLEAN=$T/files/Anlage.txt DAMAGED=$T/files/Teil.bin HOLD=$T/hold \
RLINK2="http://127.0.0.1:$UPORT2/u/${RLINK#*/u/}" HOLD2=$T/hold2 CHUNK=262144 STORE=$STORE ARTIFACTS=$ART UDD=$UDD \
	timeout -k 5 90 node "$IT/browser/upload_test.js" > "$T/node.out" 2> "$T/node.err" &
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

# ---- what the clerk gets ---------------------------------------------------------------------------
mails=$(find "$NOTIFY" -name '*.eml' 2>/dev/null | wc -l)
check "three mails were submitted for replies (none for EICAR alone or the over-size reply): $((mails - n0))" [ "$mails" = $((n0 + 3)) ]
M= MX= MD=
for m in $(ls -t "$NOTIFY"/*.eml 2>/dev/null | head -3); do
	$MAILTOOL notice "$m" > "$T/x.txt" 2>/dev/null
	if grep -q "Lageplan.pdf" "$T/x.txt"; then M=$m; elif grep -q "Teil.bin" "$T/x.txt"; then MD=$m; cp "$T/x.txt" "$T/damaged.txt"
	else MX=$m; cp "$T/x.txt" "$T/mixed.txt"; fi
done
check "the mail of the reply with the damaged file names it: could not be taken, the stored file is damaged (de, en)" \
	bash -c '[ -n "$2" ] && grep -q "Teil.bin: nicht übernommen (die gespeicherte Datei ist beschädigt)" "$1" &&
		grep -q "Teil.bin: could not be taken (the stored file is damaged)" "$1" && grep -q "  - Anlage.txt (" "$1"' _ "$T/damaged.txt" "$MD"
checkx "the second daemon sent Teil.bin back 11 times, then the page stopped: no refusal, no commit, no mail" \
	'[ "$(grep -c "sent again from offset 0 (.* of 12 times)" "$T/upload2.log")" = 11 ] &&
		! grep -q "refused as damaged\|commit" "$T/upload2.log"'
checkx "the daemon sent Teil.bin back 3 times, then refused it; audit: event=upload action=reject" \
	'[ "$(grep -c "sent again from offset 0 (. of 3 times)" "$T/upload.log")" = 3 ] &&
		grep "event=upload" "$(audit_path w)" | grep "file=Teil.bin" | grep -q "action=reject"' 
rm -f "$T/x.txt"
check "the mail of the reply with refused files: EICAR 'malware found', the zip 'could not be checked for malware' (de, en), Anlage.txt as a file" \
	bash -c '[ -n "$2" ] && grep -q "eicar.com: abgewiesen (Schadsoftware gefunden)" "$1" &&
		grep -q "eicar.com: refused (malware found)" "$1" &&
		grep -q "many.zip: abgewiesen (konnte nicht auf Schadsoftware geprüft werden)" "$1" &&
		grep -q "many.zip: refused (could not be checked for malware)" "$1" &&
		! grep -q "many.zip: .*malware found" "$1" && grep -q "  - Anlage.txt (" "$1"' _ "$T/mixed.txt" "$MX"
ctl_open "$(link_in "$MX" 2>/dev/null)" "$T/opened2" w > "$T/open2.out" 2>&1
check "offloadctl open of its link: Anlage.txt byte-exact, nothing else" \
	bash -c 'cmp -s "$1" "$2/Anlage.txt" && [ "$(ls "$2" | wc -l)" = 1 ]' _ "$T/files/Anlage.txt" "$T/opened2"
check "it went to the sender alice@example.org" grep -qx 'alice@example.org' "${M%.eml}.args"
NL=$(link_in "$M" 2>/dev/null)
$MAILTOOL notice "$M" > "$T/reply.txt" 2>/dev/null
check "the mail carries a new link on the same portal ($NL)" [ -n "$NL" -a "${NL%%/t/*}" = "$BASE" -a "${NL#*/t/}" != "${LINK#*/t/}" ]
check "the mail says 'unverified person through the reply link'" grep -q "unverified person through the reply" "$T/reply.txt"
check "the mail has the typed message, defanged (hxxp[://]evil[.]example)" \
	bash -c 'grep -q "fehlenden Unterlagen" "$1" && grep -q "hxxp\[://\]evil\[.\]example/x" "$1"' _ "$T/reply.txt"
check "the mail names both files" bash -c 'grep -q "Lageplan.pdf" "$1" && grep -q "Notiz zum Antrag.txt" "$1"' _ "$T/reply.txt"
ctl_open "$NL" "$T/opened" w > "$T/open.out" 2>&1
check "offloadctl open of that link: Lageplan.pdf byte-exact" cmp -s "$T/files/Lageplan.pdf" "$T/opened/Lageplan.pdf"
check "offloadctl open of that link: 'Notiz zum Antrag.txt' byte-exact" cmp -s "$T/files/Notiz zum Antrag.txt" "$T/opened/Notiz zum Antrag.txt"
check "nothing else in it (2 files: $(ls "$T/opened" | tr '\n' ' '))" [ "$(ls "$T/opened" | wc -l)" = 2 ]

# ---- server side: the proxy's access log and the audit log -----------------------------------------
AL=$N/logs/offload-portal.access.log
sleep 0.2
checkx "through one origin: the proxy logged the portal page, the upload page and tus requests" \
	'grep -q "\"GET /t/$ID HTTP" "$AL" && grep -q "\"GET /u/$ID HTTP" "$AL" && grep -q "\"PATCH /u/$ID/" "$AL"'
checkx "the resume asked HEAD for the offset (HEAD /u/$ID/<upload>/1 200)" \
	'grep -qE "\"HEAD /u/$ID/[a-z2-7]{24}/1 HTTP/[0-9.]+\" 200 " "$AL"'
checkx "the chunk torn off by the reload reached the daemon half-way (libmicrohttpd: incomplete request), yet the file is byte-exact" \
	'grep -q "incomplete request" "$T/upload.log" && cmp -s "$T/files/Lageplan.pdf" "$T/opened/Lageplan.pdf"'
checkx "the over-size reply was refused at its start (POST /u/$ID 413) and no PATCH or file creation followed" \
	'n=$(grep -n "\"POST /u/$ID HTTP/[0-9.]*\" 413 " "$AL" | tail -1 | cut -d: -f1); [ -n "$n" ] && ! tail -n +"$n" "$AL" | grep -qE "\"(PATCH|POST /u/$ID/)"'
checkx "EICAR: audit has the scan (infected:Offload-Test-EICAR, action=reject)" \
	'grep "event=scan" "$(audit_path w)" | grep "infected:Offload-Test-EICAR" | grep -q "action=reject"'
checkx "no unlock or ticket reached the access log" '! grep -qE "/d/|/unlock" "$AL"'
checkx "the reply token never reached the access log" '! grep -qF "${RLINK#*#}" "$AL"'
checkx "the upload daemon is still running, its log has no error" \
	'kill -0 $UPLOAD_PID 2>/dev/null && ! grep -qi "error" "$T/upload.log"'
for s in upload-portal-1280 upload-page-1280 upload-resume-1280 upload-sent-1280 upload-page-360 upload-eicar-360 upload-toolarge-360; do
	checkx "screenshot $s.png is a PNG of a real page (> 5 kB)" \
		'[ "$(head -c 8 "$ART/$s.png" 2>/dev/null | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ] && [ $(stat -c %s "$ART/$s.png") -gt 5000 ]'
done
finish
