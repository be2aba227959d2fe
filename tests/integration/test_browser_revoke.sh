#!/bin/bash
# test_browser_revoke.sh - the sender's revoke page in headless Debian Chromium (playwright-core,
# browser/revoke_test.js): open the revoke link, the fragment disappears, opening revokes nothing,
# a wrong code (no fragment) is refused, the language switch keeps the secret, Tab + Enter on
# #confirm revokes, the done state shows; then the revoke link, the recipients' link and a ticket
# issued before all answer 410; no request carries the secret; no console errors or CSP
# violations. Afterwards the store holds only the tombstone and the audit log the revoke event.
# Screenshots go to $BUILD/artifacts/revoke-*.png. Ports 12990-12999.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
[ -f "$BUILD/liboffload.a" ] || bail "missing $BUILD/liboffload.a"
PORT=12990
BASE=http://127.0.0.1:$PORT
UDD=$T/chromium-profile    # fresh --user-data-dir; also how the trap finds this run's chromium
. "$IT/browser/chromium.sh"

conf_write br portal.listen=127.0.0.1:$PORT portal.url=$BASE portal.ticket_key_file="$T/br/ticket.key"
CONF=$(conf_path br); STORE=$(store_path br); AUDIT=$(audit_path br)
san=(); [ "$(nm "$BUILD/liboffload.a" 2>/dev/null | grep -c __asan_)" != 0 ] && san=(-fsanitize=address,undefined)
PKGS="gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O1 "${san[@]}" -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" -I"$SRCDIR/transfer" -I"$SRCDIR/pipeline" \
	-I"$SRCDIR/portal" "$IT/portal_mktransfer.c" "$BUILD/liboffload.a" $(pkg-config --cflags --libs $PKGS) \
	-lpthread -o "$T/mktransfer" 2> "$T/mk.err" || { cat "$T/mk.err"; bail "build portal_mktransfer"; }
random_file "$T/f.pdf" 150000
"$T/mktransfer" make "$CONF" --revoke-out "$T/r.link" "$T/f.pdf=Bericht.pdf" > "$T/t.out" 2> "$T/mk.log" ||
	bail "helper: transfer ($(head -1 "$T/mk.log"))"
LINK=$(head -1 "$T/t.out"); RLINK=$(cat "$T/r.link"); ID=$(sed -E 's|.*/t/([a-z2-7]{24})#.*|\1|' <<<"$LINK")

"$PORTAL_BIN" -c "$CONF" -f >> "$T/portal.log" 2>&1 &
PORTAL_PID=$!
_BG_PIDS+=("$PORTAL_PID")
waitport $PORT 200 || { tail -5 "$T/portal.log" | sed 's/^/# /'; bail "portal did not listen on $PORT"; }

# a download ticket as a recipient would hold it before the revoke
curl -s -o "$T/u.json" -H 'Content-Type: application/json' --data-binary "{\"secret\":\"${LINK##*#}\"}" \
	"$BASE/t/$ID/unlock" || bail "unlock"
TICKET=$BASE$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["url"])' "$T/u.json") ||
	bail "no ticket in the unlock answer"
checkx "before the revoke: the ticket downloads byte-exact" 'curl -s "$TICKET" | cmp -s - "$T/f.pdf"'

rm -f "$ART"/revoke-*.png
mkdir -p "$ART"
t0=$(now)
LINK=$LINK RLINK=$RLINK TICKET=$TICKET ARTIFACTS=$ART UDD=$UDD \
	timeout -k 5 90 node "$IT/browser/revoke_test.js" > "$T/node.out" 2> "$T/node.err" &
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
checkx "store: only the tombstone of the transfer is left" \
	'[ "$(find "$STORE" -path "*/$ID/*" -type f | sed "s|.*/||" | tr "\n" " ")" = "t " ]'
checkx "audit: one revoke-link event and one refused attempt, neither with the secret" \
	'[ "$(grep -c "event=revoke .*action=revoke-link .*transfer=$ID" "$AUDIT")" = 1 ] &&
	 [ "$(grep -c "event=revoke .*action=denied .*transfer=$ID" "$AUDIT")" = 1 ] && ! grep -q "${RLINK##*#}" "$AUDIT"'
for s in revoke-page-de revoke-wrong-de revoke-done-en; do
	checkx "screenshot $s.png is a PNG of a real page (> 5 kB)" \
		'[ "$(head -c 8 "$ART/$s.png" 2>/dev/null | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ] && [ $(stat -c %s "$ART/$s.png") -gt 5000 ]'
done
checkx "the portal is still running" 'kill -0 "$PORTAL_PID" 2>/dev/null || { tail -5 "$T/portal.log" | sed "s/^/# /"; false; }'
finish
