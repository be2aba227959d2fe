#!/bin/bash
# test_portal_revoke.sh - the sender's revoke link (DECISIONS.md §6) over HTTP with curl, against
# the real offload-portal binary and transfers written by the real transfer code
# (portal_mktransfer.c --revoke-out, built here against $BUILD/liboffload.a). Ports 12980-12989.
# Covers: GET /r/<id> (page, headers, languages, no side effect), the POST /r/<id>/revoke
# refusals (wrong/foreign/malformed secret, foreign or missing Origin, cross-site
# Sec-Fetch-Site, wrong Content-Type, GET) each leaving no tombstone, the revoke itself
# (tombstone, objects gone, /t/ and unlock 410, live tickets 410, audit line without the
# secret, audit chain intact), idempotence, expired/unknown/malformed ids, the per-client rate
# limit, a password transfer (revoked without its password), and `offloadctl revoke REVOKE-LINK`.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
[ -f "$BUILD/liboffload.a" ] || bail "missing $BUILD/liboffload.a"
PORT=12981
BASE=http://127.0.0.1:$PORT
ASAN=0; case "$BUILD" in *asan*) ASAN=1 ;; esac

conf_write rv portal.listen=127.0.0.1:$PORT portal.url=$BASE portal.ticket_key_file="$T/rv/ticket.key" \
	portal.trusted_proxy=127.0.0.1/32 portal.unlock_failures_per_ip=5
CONF=$(conf_path rv); STORE=$(store_path rv); AUDIT=$(audit_path rv)

SANF=(); [ $ASAN = 1 ] && SANF=(-fsanitize=address,undefined)
PKGS="gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib"
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE "${SANF[@]}" -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" -I"$SRCDIR/transfer" -I"$SRCDIR/pipeline" \
	-I"$SRCDIR/portal" $(pkg-config --cflags $PKGS) "$IT/portal_mktransfer.c" "$BUILD/liboffload.a" \
	$(pkg-config --libs $PKGS) -lpthread -o "$T/mktransfer" 2> "$T/mk.err" || { cat "$T/mk.err"; bail "build portal_mktransfer"; }
MK=$T/mktransfer

random_file "$T/a.bin" 200000; random_file "$T/b.bin" 70000
mk() {  # mk NAME [mktransfer options]: link in $T/NAME.link, revoke link in $T/NAME.rlink
	local n=$1; shift
	"$MK" make "$CONF" --revoke-out "$T/$n.rlink" "$@" > "$T/$n.out" && head -1 "$T/$n.out" > "$T/$n.link" &&
		[ -s "$T/$n.rlink" ] && secret "$(cat "$T/$n.link")" "$(cat "$T/$n.rlink")" "$(sed -n 2p "$T/$n.out")"
}
mk main "$T/a.bin=Bericht.bin" "$T/b.bin=Anlage.bin" || bail "helper: main transfer"
mk other "$T/b.bin" || bail "helper: other transfer"
mk cli "$T/b.bin" || bail "helper: transfer for offloadctl"
mk rate "$T/b.bin" || bail "helper: transfer for the rate limit"
mk pw --password "$T/b.bin" || bail "helper: password transfer"
mk exp --expires-in -60 "$T/b.bin" || bail "helper: expired transfer"
id_of() { sed -E 's|.*/[tr]/([a-z2-7]{24})#.*|\1|' "$1"; }
sec_of() { sed -E 's|.*#||' "$1"; }
ID=$(id_of "$T/main.link"); SEC=$(sec_of "$T/main.link"); RSEC=$(sec_of "$T/main.rlink")
checkx "revoke link: $BASE/r/<id>#<22 characters>, same id as the download link, another secret" \
	'grep -qE "^$BASE/r/$ID#[A-Za-z0-9_-]{22}\$" "$T/main.rlink" && [ "$RSEC" != "$SEC" ]'

"$PORTAL_BIN" -f -c "$CONF" > "$T/portal.log" 2>&1 &
PORTAL_PID=$!; _BG_PIDS+=($PORTAL_PID)
waitport $PORT || bail "portal listens on $PORT ($(tail -3 "$T/portal.log"))"

hdrs() { curl -s -o /dev/null -D - "$@" | tr -d '\r'; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
unlock() {  # unlock ID SECRET -> status; body in $T/u.json
	curl -s -o "$T/u.json" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "{\"secret\":\"$2\"}" "$BASE/t/$1/unlock"
}
revoke() {  # [ORIGIN=..] [CTYPE=..] revoke ID JSON [curl args] -> status; body in $T/r.json
	local id=$1 body=$2; shift 2
	curl -s -o "$T/r.json" -D "$T/r.hdr" -w '%{http_code}' -H "Content-Type: ${CTYPE:-application/json}" \
		-H "Origin: ${ORIGIN:-$BASE}" --data-binary "$body" "$@" "$BASE/r/$id/revoke"
}
snapshot() { (cd "$STORE" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
objs() { find "$STORE" -path "*$1*" -type f | sed 's|.*/||' | sort | tr '\n' ' '; }
tomb() { [ -n "$(find "$STORE" -path "*/$1/t" -type f)" ]; }
nrev() { grep -c 'event=revoke' "$AUDIT" 2>/dev/null; }

# ---- GET /r/<id>: the confirmation page, no side effect ---------------------------------------
S0=$(snapshot); R0=$(nrev)
curl -s -D "$T/p.hdr" -o "$T/p.html" "$BASE/r/$ID"
checkx "GET /r/<id>: 200 text/html" 'grep -q "^HTTP/1.1 200" "$T/p.hdr" && grep -qi "^Content-Type: text/html" "$T/p.hdr"'
checkx "revoke page: the same strict CSP as /t/, Referrer-Policy no-referrer, no-store" \
	"grep -qF \"Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\" \"\$T/p.hdr\" &&
	 grep -qi '^Referrer-Policy: no-referrer' \"\$T/p.hdr\" && grep -qi '^Cache-Control: no-store' \"\$T/p.hdr\""
checkx "revoke page: German by default, confirm button, code field, script /static/revoke.js, expiry year" \
	'grep -q "<html lang=\"de\">" "$T/p.html" && grep -q "id=\"confirm\"[^>]*>Jetzt zurückziehen" "$T/p.html" &&
	 grep -q "id=\"code\"" "$T/p.html" && grep -q "src=\"/static/revoke.js\"" "$T/p.html" &&
	 grep -q "$(date -u -d @$(( $(date +%s) + 14*86400 )) +%Y)" "$T/p.html" && grep -q "$ID" "$T/p.html"'
checkx "revoke page: no inline script/style, no external resources, no file names or sender" \
	'! grep -qiE "<script>|<style|style=|https?://|Bericht|Anlage|alice" "$T/p.html"'
checkx "Accept-Language: en -> English revoke page; ?lang=de switch link" \
	'curl -s -H "Accept-Language: en" "$BASE/r/$ID" > "$T/p.en" && grep -q "<html lang=\"en\">" "$T/p.en" && grep -q "Revoke now" "$T/p.en" && grep -q "/r/$ID?lang=de" "$T/p.en"'
checkx "HEAD /r/<id>: 200" '[ "$(curl -s -I "$BASE/r/$ID" | head -1 | tr -d "\r")" = "HTTP/1.1 200 OK" ]'
checkx "GET /static/revoke.js: script reading location.hash, POSTing the secret in the body" \
	'hdrs "$BASE/static/revoke.js" | grep -qi "^Content-Type: text/javascript" && curl -s "$BASE/static/revoke.js" > "$T/r.js" &&
	 grep -q "location.hash" "$T/r.js" && grep -q "history.replaceState" "$T/r.js" && grep -q "/revoke" "$T/r.js" && grep -q "method: .POST." "$T/r.js"'
for i in 1 2 3; do curl -s "$BASE/r/$ID" >/dev/null; curl -s -I "$BASE/r/$ID" >/dev/null; curl -s "$BASE/r/$ID#$RSEC" >/dev/null; done
checkx "GET/HEAD /r/<id> (also with the fragment) change nothing: store identical, no tombstone, no audit event" \
	'[ "$(snapshot)" = "$S0" ] && ! tomb "$ID" && [ "$(nrev)" = "$R0" ]'
checkx "GET on /r/<id>/revoke: 405, nothing changed" '[ "$(code "$BASE/r/$ID/revoke")" = 405 ] && [ "$(snapshot)" = "$S0" ]'

# a live ticket before the revoke
[ "$(unlock "$ID" "$SEC")" = 200 ] || not_ok "unlock main"
TURL=$BASE$(jget "$T/u.json" 'd["files"][0]["url"]'); TALL=$BASE$(jget "$T/u.json" 'd["all"]')
checkx "before the revoke: the ticket downloads byte-exact" 'curl -s "$TURL" | cmp -s - "$T/a.bin"'

# ---- refusals: none of them writes a tombstone ------------------------------------------------
S1=$(snapshot)
OSEC=$(sec_of "$T/other.rlink")
checkx "POST with another transfer's revoke secret: 403 {\"error\":\"secret\"}" \
	'[ "$(revoke "$ID" "{\"secret\":\"$OSEC\"}")" = 403 ] && grep -q "\"error\":\"secret\"" "$T/r.json"'
checkx "POST with the download link's secret: 403" '[ "$(revoke "$ID" "{\"secret\":\"$SEC\"}")" = 403 ]'
checkx "POST with a malformed / missing secret: 403, 403; bad JSON: 400" \
	'[ "$(revoke "$ID" "{\"secret\":\"x\"}")" = 403 ] && [ "$(revoke "$ID" "{}")" = 403 ] && [ "$(revoke "$ID" "{nope")" = 400 ]'
checkx "POST from a foreign Origin with the right secret: 403 {\"error\":\"origin\"}" \
	'[ "$(ORIGIN=https://evil.example revoke "$ID" "{\"secret\":\"$RSEC\"}")" = 403 ] && grep -q "\"error\":\"origin\"" "$T/r.json"'
checkx "POST without Origin with the right secret: 403" \
	'[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Content-Type: application/json" --data-binary "{\"secret\":\"$RSEC\"}" "$BASE/r/$ID/revoke")" = 403 ]'
checkx "POST with Sec-Fetch-Site: cross-site (Origin spoofed ours) and the right secret: 403" \
	'[ "$(revoke "$ID" "{\"secret\":\"$RSEC\"}" -H "Sec-Fetch-Site: cross-site")" = 403 ]'
checkx "POST as a form (text/plain, no preflight) with the right secret: 415" \
	'[ "$(CTYPE=text/plain revoke "$ID" "{\"secret\":\"$RSEC\"}")" = 415 ]'
checkx "extend with days not an integer ({}, [7], \"7\", 1e300): 400 {\"error\":\"days\"}; revoke with a blank or empty body: 400; nothing changed, no library warning in the portal log" \
	'for d in "{}" "[7]" "\"7\"" "1e300"; do
		[ "$(curl -s -o "$T/x.json" -w "%{http_code}" -H "Content-Type: application/json" -H "Origin: $BASE" \
			-H "Sec-Fetch-Site: same-origin" --data-binary "{\"secret\":\"$RSEC\",\"days\":$d}" "$BASE/r/$ID/extend")" = 400 ] &&
		grep -q "\"error\":\"days\"" "$T/x.json" || exit 1
	done; [ "$(revoke "$ID" " ")" = 400 ] && [ "$(revoke "$ID" "")" = 400 ] &&
	! grep -q CRITICAL "$T/portal.log" && [ "$(snapshot)" = "$S1" ]'
checkx "after every refusal: no tombstone, store identical, the transfer still unlocks" \
	'! tomb "$ID" && [ "$(snapshot)" = "$S1" ] && [ "$(unlock "$ID" "$SEC")" = 200 ]'
checkx "audit: refused revokes logged (action=denied), never with a secret" \
	'grep -q "event=revoke .*action=denied.*transfer=$ID" "$AUDIT" && ! grep -qE "$OSEC|$RSEC|$SEC" "$AUDIT"'

# ---- the revoke ----------------------------------------------------------------------------
checkx "POST with the revoke secret (same Origin, Sec-Fetch-Site: same-origin): 200 {\"state\":\"revoked\"}" \
	'[ "$(revoke "$ID" "{\"secret\":\"$RSEC\"}" -H "Sec-Fetch-Site: same-origin")" = 200 ] &&
	 [ "$(jget "$T/r.json" "d[\"state\"]")" = revoked ] && grep -qi "^Cache-Control: no-store" "$T/r.hdr"'
checkx "revoked: tombstone written, manifest and both file objects gone ($(objs "$ID"))" '[ "$(objs "$ID")" = "t " ]'
checkx "revoked: /t/<id> 410, unlock 410" '[ "$(code "$BASE/t/$ID")" = 410 ] && [ "$(unlock "$ID" "$SEC")" = 410 ]'
checkx "revoked: the ticket issued before dies (file and ZIP: 410)" '[ "$(code "$TURL")" = 410 ] && [ "$(code "$TALL")" = 410 ]'
checkx "audit: event=revoke action=revoke-link with transfer, expiry and client, without the secret" \
	'grep -E "event=revoke .*action=revoke-link .*transfer=$ID .*expires=[0-9-]+T.*client=" "$AUDIT" | grep -q . && ! grep -q "$RSEC" "$AUDIT"'
checkx "audit chain still verifies" '"$CTL" audit verify "$AUDIT" >/dev/null 2>&1 || "$CTL" -c "$CONF" audit verify >/dev/null 2>&1'
R1=$(nrev)
checkx "second POST: 410 {\"error\":\"revoked\"} (idempotent: nothing more changes)" \
	'[ "$(revoke "$ID" "{\"secret\":\"$RSEC\"}")" = 410 ] && grep -q "\"error\":\"revoked\"" "$T/r.json" && [ "$(objs "$ID")" = "t " ] && [ "$(nrev)" = "$R1" ]'
checkx "GET /r/<id> after the revoke: 410 page 'Bereits zurückgezogen', no button" \
	'curl -s -D "$T/g.hdr" -o "$T/g.html" "$BASE/r/$ID" && grep -q "^HTTP/1.1 410" "$T/g.hdr" && grep -q "Bereits zurückgezogen" "$T/g.html" && ! grep -q "id=\"confirm\"" "$T/g.html"'
checkx "the other transfer is untouched (page 200, unlock 200)" \
	'OID=$(id_of "$T/other.link"); [ "$(code "$BASE/t/$OID")" = 200 ] && [ "$(unlock "$OID" "$(sec_of "$T/other.link")")" = 200 ]'

# ---- password transfer: the revoke secret alone suffices ------------------------------------
PID_=$(id_of "$T/pw.link")
checkx "password transfer: revoked with the revoke secret only (200), then /t/ 410" \
	'[ "$(revoke "$PID_" "{\"secret\":\"$(sec_of "$T/pw.rlink")\"}")" = 200 ] && [ "$(code "$BASE/t/$PID_")" = 410 ]'

# ---- expired, unknown, malformed --------------------------------------------------------------
EID=$(id_of "$T/exp.link")
checkx "expired transfer: GET /r/ 410 'Abgelaufen', POST 410 {\"error\":\"gone\"}, no tombstone" \
	'curl -s -o "$T/e.html" -w "%{http_code}" "$BASE/r/$EID" | grep -q 410 && grep -q "Abgelaufen" "$T/e.html" &&
	 [ "$(revoke "$EID" "{\"secret\":\"$(sec_of "$T/exp.rlink")\"}")" = 410 ] && grep -q "\"error\":\"gone\"" "$T/r.json" && ! tomb "$EID"'
checkx "unknown (well-formed) id: GET 404, POST 404" \
	'[ "$(code "$BASE/r/aaaaaaaaaaaaaaaaaaaaaaaa")" = 404 ] && [ "$(revoke aaaaaaaaaaaaaaaaaaaaaaaa "{\"secret\":\"$RSEC\"}")" = 404 ]'
for bad in "r/${ID:0:23}" "r/${ID}a" "r/../t/$ID" "r/" "r/$ID/revoke/x"; do
	checkx "malformed path /$bad: 404 or 405" 'c=$(code --path-as-is "$BASE/$bad"); [ "$c" = 404 ] || [ "$c" = 405 ]'
done

# ---- per-client rate limit (shared with unlock) ---------------------------------------------------
RTID=$(id_of "$T/rate.link"); RTSEC=$(sec_of "$T/rate.rlink")
for i in 1 2 3 4 5; do revoke "$RTID" "{\"secret\":\"$OSEC\"}" -H "X-Forwarded-For: 198.51.100.9" >/dev/null; done
checkx "after 5 wrong revoke secrets a client gets 429 with Retry-After, even with the right one" \
	'[ "$(revoke "$RTID" "{\"secret\":\"$RTSEC\"}" -H "X-Forwarded-For: 198.51.100.9")" = 429 ] && grep -qi "^Retry-After: [0-9]" "$T/r.hdr" && ! tomb "$RTID"'
checkx "another client revokes it (200)" '[ "$(revoke "$RTID" "{\"secret\":\"$RTSEC\"}" -H "X-Forwarded-For: 198.51.100.10")" = 200 ] && tomb "$RTID"'

# ---- offloadctl revoke REVOKE-LINK --------------------------------------------------------------
CID=$(id_of "$T/cli.link")
"$CTL" -c "$CONF" revoke "$BASE/r/$CID#$OSEC" > "$T/c1.out" 2> "$T/c1.err"; rc=$?
checkx "offloadctl revoke with a wrong revoke secret: exit 65, nothing changed ($(head -1 "$T/c1.err"))" \
	'[ $rc = 65 ] && ! tomb "$CID" && [ "$(code "$BASE/t/$CID")" = 200 ]'
"$CTL" -c "$CONF" revoke "$(cat "$T/cli.rlink")" > "$T/c2.out" 2> "$T/c2.err"; rc=$?
checkx "offloadctl revoke REVOKE-LINK: exit 0, only the tombstone left, /t/ 410 ($(head -1 "$T/c2.out"))" \
	'[ $rc = 0 ] && [ "$(objs "$CID")" = "t " ] && [ "$(code "$BASE/t/$CID")" = 410 ]'
checkx "offloadctl revoke ID still works on the revoked transfer (again: exit 0)" '"$CTL" -c "$CONF" revoke "$CID" >/dev/null 2>&1'
checkx "the portal is still running" 'kill -0 "$PORTAL_PID" 2>/dev/null || { tail -5 "$T/portal.log" | sed "s/^/# /"; false; }'
kill -TERM "$PORTAL_PID"; wait "$PORTAL_PID" 2>/dev/null
check_no_secrets
finish
