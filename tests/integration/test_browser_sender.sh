#!/bin/bash
# test_browser_sender.sh - the sender page behind the revoke link (FORMATS.md §6.4, issue 12) in
# headless Debian Chromium (playwright-core, browser/sender_test.js): after one complete download
# the page shows the file's name, SHA-256, download count 1 and the expiry; "extend by 3 days"
# moves the expiry (checked here with `offloadctl status` and the audit log); 365 days are refused
# with the latest possible date; "revoke now" revokes. The page of an agreed-secret transfer
# before unlock says the password is the one agreed with [notify] organisation (German and
# English). No console errors or CSP violations.
# Screenshots go to $BUILD/artifacts/sender-*.png. Port 12950.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
[ -f "$BUILD/liboffload.a" ] || bail "missing $BUILD/liboffload.a"
PORT=12950
BASE=http://127.0.0.1:$PORT
UDD=$T/chromium-profile
. "$IT/browser/chromium.sh"

conf_write bs portal.listen=127.0.0.1:$PORT portal.url=$BASE portal.ticket_key_file="$T/bs/ticket.key" \
	notify.organisation="Stadt Beispiel & Co"
CONF=$(conf_path bs); STORE=$(store_path bs); AUDIT=$(audit_path bs)
san=(); [ "$(nm "$BUILD/liboffload.a" 2>/dev/null | grep -c __asan_)" != 0 ] && san=(-fsanitize=address,undefined)
PKGS="gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O1 "${san[@]}" -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" -I"$SRCDIR/transfer" \
	-I"$SRCDIR/pipeline" -I"$SRCDIR/portal" "$IT/portal_mktransfer.c" "$BUILD/liboffload.a" \
	$(pkg-config --cflags --libs $PKGS) -lpthread -o "$T/mktransfer" 2> "$T/mk.err" || { cat "$T/mk.err"; bail "build portal_mktransfer"; }
random_file "$T/f.pdf" 150000
"$T/mktransfer" make "$CONF" --revoke-out "$T/r.link" "$T/f.pdf=Bericht.pdf" > "$T/t.out" 2> "$T/mk.log" ||
	bail "helper: transfer ($(head -1 "$T/mk.log"))"
# an agreed-secret transfer (issue 12): the page before unlock names the organisation
"$T/mktransfer" make "$CONF" --password --delivery agreed "$T/f.pdf=Abrechnung.pdf" > "$T/a.out" 2> "$T/mk.log" ||
	bail "helper: agreed-secret transfer ($(head -1 "$T/mk.log"))"
ALINK=$(head -1 "$T/a.out")
LINK=$(head -1 "$T/t.out"); RLINK=$(cat "$T/r.link"); ID=$(sed -E 's|.*/t/([a-z2-7]{24})#.*|\1|' <<<"$LINK")
"$CTL" -c "$CONF" status "$ID" --json > "$T/st0.json" || bail "offloadctl status"
H0=$(date -u -d "$(jget "$T/st0.json" 'd["expires"]')" +%s)

"$PORTAL_BIN" -c "$CONF" -f >> "$T/portal.log" 2>&1 &
PORTAL_PID=$!
_BG_PIDS+=("$PORTAL_PID")
waitport $PORT 200 || { tail -5 "$T/portal.log" | sed 's/^/# /'; bail "portal did not listen on $PORT"; }

curl -s -o "$T/u.json" -H 'Content-Type: application/json' --data-binary "{\"secret\":\"${LINK##*#}\"}" \
	"$BASE/t/$ID/unlock" || bail "unlock"
TICKET=$BASE$(jget "$T/u.json" 'd["files"][0]["url"]') || bail "no ticket in the unlock answer"
checkx "a recipient downloads the file once, byte-exact" 'curl -s "$TICKET" | cmp -s - "$T/f.pdf"'
checkx "a HEAD and a half Range request of the ticket are not counted as downloads" \
	'curl -s -I "$TICKET" >/dev/null && curl -s -r 0-999 "$TICKET" >/dev/null &&
	 "$CTL" -c "$CONF" status "$ID" --json > "$T/st1.json" && [ "$(jget "$T/st1.json" "d[\"files\"][0][\"downloads\"]")" = 1 ]'

mkdir -p "$ART"; rm -f "$ART"/sender-*.png
t0=$(now)
RLINK=$RLINK ALINK=$ALINK NAME=Bericht.pdf SHA256=$(sha256 "$T/f.pdf") ARTIFACTS=$ART UDD=$UDD \
	timeout -k 5 90 node "$IT/browser/sender_test.js" > "$T/node.out" 2> "$T/node.err" &
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
EX=$(date -u -d @$((H0 + 3 * 86400)) +%Y-%m-%dT%H:%M:%SZ)
checkx "audit: one extend-link event with the expiry moved by exactly 3 days ($EX), one refused, a sender-view" \
	'[ "$(grep "event=extend" "$AUDIT" | grep "action=extend-link" | grep -c "expires=$EX")" = 1 ] &&
	 [ "$(grep "event=extend" "$AUDIT" | grep -c "action=extend-refused")" = 1 ] &&
	 grep "event=sender-view" "$AUDIT" | grep -q "action=view" && ! grep -q "${RLINK##*#}" "$AUDIT"'
checkx "revoked from the sender page: only the tombstone is left, its audit expiry the extended one" \
	'[ "$(find "$STORE" -path "*/$ID/*" -type f | sed "s|.*/||" | tr "\n" " ")" = "t " ] &&
	 grep "event=revoke" "$AUDIT" | grep "action=revoke-link" | grep -q "expires=$EX"'
for s in sender-page-de sender-limit-de; do
	checkx "screenshot $s.png is a PNG (> 5 kB)" \
		'[ "$(head -c 8 "$ART/$s.png" 2>/dev/null | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ] && [ $(stat -c %s "$ART/$s.png") -gt 5000 ]'
done
checkx "the portal is still running" 'kill -0 "$PORTAL_PID" 2>/dev/null || { tail -5 "$T/portal.log" | sed "s/^/# /"; false; }'
finish
