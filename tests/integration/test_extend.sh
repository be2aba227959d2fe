#!/bin/bash
# test_extend.sh - the expiry extension (FORMATS.md §6.3, issue 12) through the paths a user takes:
# `offloadctl extend` and `offloadctl status`, then the real offload-portal (page, unlock, download
# ticket), `offloadctl list` and `offloadctl purge` run later under faketime honour the new expiry;
# an extension beyond [policy] max_retention is refused and changes nothing; a forged state object
# (bad MAC) is ignored (the header's expiry holds, purge deletes the transfer); revoking an extended
# transfer keeps its extended expiry in the tombstone. Download counts (`status`): a complete
# download counts once, HEAD and a half download do not, the resumed rest completes it (counts),
# a download failing on a tampered segment does not. Transfers come from portal_mktransfer.c.
# Port 12945.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
command -v faketime >/dev/null || bail "faketime missing (tools/deps/storagecheck.apt)"
# libfaketime is an LD_PRELOAD library: under ASan it comes before the ASan runtime
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
[ -f "$BUILD/liboffload.a" ] || bail "missing $BUILD/liboffload.a"
PORT=12945
BASE=http://127.0.0.1:$PORT

conf_write ex portal.listen=127.0.0.1:$PORT portal.url=$BASE portal.ticket_key_file="$T/ex/ticket.key" \
	portal.trusted_proxy=127.0.0.1/32 policy.max_retention=30d
CONF=$(conf_path ex); STORE=$(store_path ex); AUDIT=$(audit_path ex)
SANF=(); case "$BUILD" in *asan*) SANF=(-fsanitize=address,undefined) ;; esac
PKGS="gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib"
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE "${SANF[@]}" -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" -I"$SRCDIR/transfer" \
	-I"$SRCDIR/pipeline" -I"$SRCDIR/portal" $(pkg-config --cflags $PKGS) "$IT/portal_mktransfer.c" \
	"$BUILD/liboffload.a" $(pkg-config --libs $PKGS) -lpthread -o "$T/mktransfer" 2> "$T/mk.err" ||
	{ cat "$T/mk.err"; bail "build portal_mktransfer"; }
random_file "$T/a.bin" 100000
mk() {  # mk NAME: a transfer expiring in one hour; link in $T/NAME.link, revoke link in $T/NAME.rlink
	"$T/mktransfer" make "$CONF" --expires-in 3600 --revoke-out "$T/$1.rlink" "$T/a.bin=Bericht.bin" \
		> "$T/$1.out" && head -1 "$T/$1.out" > "$T/$1.link"
}
id_of() { sed -E 's|.*/[tr]/([a-z2-7]{24})#.*|\1|' "$1"; }
sec_of() { sed -E 's|.*#||' "$1"; }
st_json() { "$CTL" -c "$CONF" status "$1" --json > "$T/st.json" 2>"$T/st.err"; }
epoch() { date -u -d "$1" +%s; }
objs() { find "$STORE" -path "*$1*" -type f ! -name '.*' | sed 's|.*/||' | sort | tr '\n' ' '; }
snapshot() { (cd "$STORE" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
state() { "$CTL" -c "$CONF" list --json 2>/dev/null |
	$PY -c 'import json,sys; print(next((t["state"] for t in json.load(sys.stdin) if t["id"]==sys.argv[1]), "absent"))' "$1"; }

mk ext || bail "helper: transfer to extend"
mk forged || bail "helper: transfer with a forged state"
mk plain || bail "helper: transfer left alone"
ID=$(id_of "$T/ext.link"); SEC=$(sec_of "$T/ext.link")
FID=$(id_of "$T/forged.link"); PID=$(id_of "$T/plain.link")
checkx "side objects at commit: manifest, file, sender view s, state x ($(objs "$ID"))" '[ "$(objs "$ID")" = "0 m s x " ]'

# ---- status and extend ---------------------------------------------------------------------
checkx "status --json: live, expires (RFC 3339) = the header's, one file with 0 downloads" \
	'st_json "$ID" && [ "$(jget "$T/st.json" "d[\"state\"]")" = live ] &&
	 [ "$(jget "$T/st.json" "d[\"expires\"]")" = "$(jget "$T/st.json" "d[\"header_expires\"]")" ] &&
	 grep -qE "\"expires\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\"" "$T/st.json" &&
	 [ "$(jget "$T/st.json" "[f[\"downloads\"] for f in d[\"files\"]]")" = "[0]" ]'
H0=$(epoch "$(jget "$T/st.json" 'd["expires"]')")
out=$("$CTL" -c "$CONF" extend "$ID" 2d 2>&1); rc=$?
checkx "offloadctl extend ID 2d: exit 0 and says the new expiry ($out)" '[ $rc = 0 ] && grep -q "expires" <<<"$out"'
checkx "status: expires moved by exactly 2 days, header_expires unchanged" \
	'st_json "$ID" && [ "$(epoch "$(jget "$T/st.json" "d[\"expires\"]")")" = $((H0 + 2*86400)) ] &&
	 [ "$(epoch "$(jget "$T/st.json" "d[\"header_expires\"]")")" = $H0 ]'
S0=$(snapshot)
out=$("$CTL" -c "$CONF" extend "$ID" 40d 2>&1); rc=$?
checkx "extend beyond [policy] max_retention (30d): refused, exit 69, clear message, nothing written ($out)" \
	'[ $rc = 69 ] && grep -q "beyond the maximum retention" <<<"$out" && [ "$(snapshot)" = "$S0" ]'
checkx "extend with a bad duration or id: usage errors (64, 65)" \
	'"$CTL" -c "$CONF" extend "$ID" soon >/dev/null 2>&1; [ $? = 64 ] &&
	 { "$CTL" -c "$CONF" extend nonsense 1d >/dev/null 2>&1; [ $? = 65 ]; }'
checkx "audit: event=extend action=extend and action=extend-refused for the transfer" \
	'grep "event=extend" "$AUDIT" | grep "action=extend " | grep -q "$ID" &&
	 grep "event=extend" "$AUDIT" | grep "action=extend-refused" | grep -q "$ID" && "$CTL" audit verify "$AUDIT"'

# ---- a forged state object: extend it, then change the stored expiry --------------------------
"$CTL" -c "$CONF" extend "$FID" 2d >/dev/null 2>&1 || not_ok "extend the transfer to forge"
X=$(find "$STORE" -path "*/$FID/x" -type f)
flip_byte "$X" 40
checkx "forged state (changed expiry byte): status shows the header's expiry again" \
	'st_json "$FID" && [ "$(jget "$T/st.json" "d[\"expires\"]")" = "$(jget "$T/st.json" "d[\"header_expires\"]")" ]'

# ---- later: 1 day on, past the header expiry, before the extended one -------------------------
# libfaketime preloaded directly (not the faketime wrapper, which forks): $! is the portal itself
LIBFT=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
[ -n "$LIBFT" ] || bail "libfaketimeMT.so.1 missing"
LD_PRELOAD=$LIBFT FAKETIME="+1d" "$PORTAL_BIN" -f -c "$CONF" > "$T/portal.log" 2>&1 &
PORTAL_PID=$!; _BG_PIDS+=($PORTAL_PID)
waitport $PORT || bail "portal listens on $PORT ($(tail -3 "$T/portal.log"))"
checkx "a day later (faketime): GET /t/<extended>: 200; the unextended and the forged one: 410" \
	'[ "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/t/$ID")" = 200 ] &&
	 [ "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/t/$PID")" = 410 ] &&
	 [ "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/t/$FID")" = 410 ]'
checkx "portal log: the forged state object was ignored (wrong MAC)" 'grep -q "$FID: state object with a wrong MAC ignored" "$T/portal.log"'
code=$(curl -s -o "$T/u.json" -w '%{http_code}' -H 'Content-Type: application/json' -H "Origin: $BASE" \
	--data-binary "{\"secret\":\"$SEC\"}" "$BASE/t/$ID/unlock")
checkx "unlock of the extended transfer a day later: 200, expires = the extended expiry" \
	'[ "$code" = 200 ] && [ "$(epoch "$(jget "$T/u.json" "d[\"expires\"]")")" = $((H0 + 2*86400)) ]'
TURL=$BASE$(jget "$T/u.json" 'd["files"][0]["url"]' 2>/dev/null)
checkx "its download ticket (not_after capped at the extended expiry) downloads byte-exact" \
	'curl -sf "$TURL" | cmp -s - "$T/a.bin"'
downloads() { st_json "$ID" && jget "$T/st.json" 'd["files"][0]["downloads"]'; }
checkx "status: the complete download counted once (downloads 1)" '[ "$(downloads)" = 1 ]'
checkx "HEAD and the first 50000 bytes of a resumed download: not counted (still 1)" \
	'curl -sfI "$TURL" >/dev/null && curl -sf -r 0-49999 "$TURL" > "$T/part1" && [ "$(downloads)" = 1 ]'
checkx "the resumed download completed with the rest (Range 50000-): counted (2), bytes exact" \
	'curl -sf -r 50000- "$TURL" > "$T/part2" && cat "$T/part1" "$T/part2" | cmp -s - "$T/a.bin" && [ "$(downloads)" = 2 ]'
flip_byte "$(find "$STORE" -path "*/$ID/0" -type f)" 70000
checkx "a download with a tampered segment fails and is not counted (still 2)" \
	'! curl -sf "$TURL" 2>/dev/null | cmp -s - "$T/a.bin" && [ "$(downloads)" = 2 ]'
checkx "list a day later: extended live, plain and forged expired" \
	'[ "$(faketime -f +1d bash -c "$(declare -f state); CTL=$CTL CONF=$CONF PY=$PY; state $ID")" = live ] &&
	 [ "$(faketime -f +1d bash -c "$(declare -f state); CTL=$CTL CONF=$CONF PY=$PY; state $PID")" = expired ] &&
	 [ "$(faketime -f +1d bash -c "$(declare -f state); CTL=$CTL CONF=$CONF PY=$PY; state $FID")" = expired ]'
out=$(faketime -f "+1d" "$CTL" -c "$CONF" purge 2>&1); rc=$?
checkx "purge a day later: exit 0, 2 expired removed, the extended one kept ($out)" \
	'[ $rc = 0 ] && grep -q "2 expired, 0 revoked" <<<"$out" && [ "$(objs "$ID")" = "0 m s x " ] &&
	 [ -z "$(objs "$PID")" ] && [ -z "$(objs "$FID")" ]'
kill "$PORTAL_PID" 2>/dev/null; wait "$PORTAL_PID" 2>/dev/null

# ---- 3 days on: past the extended expiry ---------------------------------------------------
out=$(faketime -f "+3d" "$CTL" -c "$CONF" purge 2>&1); rc=$?
checkx "purge 3 days later (past the extended expiry): the extended transfer goes too ($out)" \
	'[ $rc = 0 ] && grep -q "1 expired" <<<"$out" && [ -z "$(objs "$ID")" ]'

# ---- revoke keeps the extended expiry in the tombstone ----------------------------------------
mk rev || bail "helper: transfer to revoke"
RID=$(id_of "$T/rev.link")
st_json "$RID"; RH=$(epoch "$(jget "$T/st.json" 'd["expires"]')")
"$CTL" -c "$CONF" extend "$RID" 5d >/dev/null 2>&1 || not_ok "extend the transfer to revoke"
"$CTL" -c "$CONF" revoke "$RID" >/dev/null 2>&1 || not_ok "revoke it"
checkx "revoked extended transfer: only the tombstone left; audit expires = the extended expiry" \
	'[ "$(objs "$RID")" = "t " ] && grep "event=revoke" "$AUDIT" | grep "$RID" |
	 grep -q "expires=$(date -u -d @$((RH + 5*86400)) +%Y-%m-%dT%H:%M:%SZ)"'
out=$(faketime -f "+2d" "$CTL" -c "$CONF" purge --grace 0 2>&1)
checkx "its tombstone outlives the header expiry + grace (kept 2 days on: $out)" '[ "$(objs "$RID")" = "t " ]'
finish
