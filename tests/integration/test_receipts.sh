#!/bin/bash
# test_receipts.sh - the sender's mails over a transfer's life (issue 12, FORMATS.md §6.7, §6.8)
# through the real offload-portal and `offloadctl purge`, with the sendmail sink of lib.sh:
# download receipts (receipts = first: one after a complete download, none for GET/HEAD of the
# page, a half download or a tampered segment, one when a stopped download is resumed to the
# end, no second one; every: one per completed download), the brute-force notice (once when the
# transfer's password limit trips), reminders under faketime (one when nothing was downloaded,
# none after a download, none twice). Transfers come from portal_mktransfer.c (--receipts writes
# the notify object as the pipeline does); the pipeline writing "n" is checked with `process`.
# Port 12947.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$PORTAL_BIN"
command -v faketime >/dev/null || bail "faketime missing (tools/deps/storagecheck.apt)"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
[ -f "$BUILD/liboffload.a" ] || bail "missing $BUILD/liboffload.a"
PORT=12947
BASE=http://127.0.0.1:$PORT

conf_write rc portal.listen=127.0.0.1:$PORT portal.url=$BASE portal.ticket_key_file="$T/rc/ticket.key" \
	portal.password_failures=3 notify.reminder=2d
CONF=$(conf_path rc); STORE=$(store_path rc); AUDIT=$(audit_path rc); SINK=$T/rc/notify
SANF=(); case "$BUILD" in *asan*) SANF=(-fsanitize=address,undefined) ;; esac
PKGS="gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib"
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE "${SANF[@]}" -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" -I"$SRCDIR/transfer" \
	-I"$SRCDIR/pipeline" -I"$SRCDIR/portal" $(pkg-config --cflags $PKGS) "$IT/portal_mktransfer.c" \
	"$BUILD/liboffload.a" $(pkg-config --libs $PKGS) -lpthread -o "$T/mktransfer" 2> "$T/mk.err" ||
	{ cat "$T/mk.err"; bail "build portal_mktransfer"; }
random_file "$T/a.bin" 100000
mk() {  # mk NAME MODE [EXPIRES-IN] [more options]: link in $T/NAME.link
	local n=$1 m=$2 e=${3:-3600}; shift 3 2>/dev/null || shift $#
	"$T/mktransfer" make "$CONF" --expires-in "$e" --receipts "$m" "$@" "$T/a.bin=Bericht.bin" \
		> "$T/$n.out" && head -1 "$T/$n.out" > "$T/$n.link"
}
id_of() { sed -E 's|.*/t/([a-z2-7]{24})#.*|\1|' "$1"; }
sec_of() { sed -E 's|.*#||' "$1"; }
body() { $PY -c 'import signal; signal.signal(signal.SIGPIPE, signal.SIG_DFL); import email,sys; print(email.message_from_binary_file(open(sys.argv[1],"rb")).get_payload(decode=True).decode())' "$1"; }
mails() { grep -l "^X-Offload-Notice: $1; transfer=$2;" "$SINK"/*.eml 2>/dev/null | wc -l; }
wait_mails() { local i; for i in $(seq 1 600); do [ "$(mails "$1" "$2")" -ge "$3" ] && return 0; sleep 0.05; done; return 1; }
objs() { find "$STORE" -path "*$1*" -type f ! -name '.*' | sed 's|.*/||' | sort | tr '\n' ' '; }
unlock() {  # unlock NAME -> the first file's download URL in $TURL
	curl -s -o "$T/u.json" -H 'Content-Type: application/json' -H "Origin: $BASE" \
		--data-binary "{\"secret\":\"$(sec_of "$T/$1.link")\"}" "$BASE/t/$(id_of "$T/$1.link")/unlock"
	TURL=$BASE$(jget "$T/u.json" 'd["files"][0]["url"]' 2>/dev/null)
}
downloads() { "$CTL" -c "$CONF" status "$1" --json > "$T/st.json" 2>/dev/null && jget "$T/st.json" 'd["files"][0]["downloads"]'; }

mk first first || bail "helper: transfer (receipts first)"
mk every every || bail "helper: transfer (receipts every)"
mk tamper first || bail "helper: transfer to tamper"
mk quiet first 432000 || bail "helper: transfer expiring in 5 days"
mk pw first 3600 --password || bail "helper: transfer with a password"
ID=$(id_of "$T/first.link"); EID=$(id_of "$T/every.link"); XID=$(id_of "$T/tamper.link")
QID=$(id_of "$T/quiet.link"); PWID=$(id_of "$T/pw.link")
checkx "the notify object n is written at commit ($(objs "$ID"))" '[ "$(objs "$ID")" = "0 m n s x " ]'

# the pipeline writes n too (offloadctl process, the sender's address)
conf_write pl policy.offload_min_size=10k
make_eml "$T/in.eml" "Bericht" "Anbei." "$T/a.bin" a.bin application/octet-stream || bail "build the message"
"$CTL" -c "$(conf_path pl)" process < "$T/in.eml" > "$T/pl.out" 2>"$T/pl.err"
checkx "offloadctl process writes the notify object n with the transfer" \
	'[ -n "$(find "$(store_path pl)" -path "*/n" -type f)" ]'

"$PORTAL_BIN" -f -c "$CONF" > "$T/portal.log" 2>&1 &
PORTAL_PID=$!; _BG_PIDS+=($PORTAL_PID)
waitport $PORT || bail "portal listens on $PORT ($(tail -3 "$T/portal.log"))"

# ---- receipts = first --------------------------------------------------------------------------
curl -sf -o /dev/null "$BASE/t/$ID"; curl -sfI -o /dev/null "$BASE/t/$ID"
unlock first
checkx "GET and HEAD of the page, unlock, HEAD of the file, a half download: not counted, no receipt" \
	'curl -sfI "$TURL" >/dev/null && curl -sf -r 0-49999 "$TURL" > "$T/part1" &&
	 [ "$(downloads "$ID")" = 0 ] && [ "$(mails receipt "$ID")" = 0 ]'
checkx "the stopped download resumed to the end (Range 50000-): bytes exact, one receipt" \
	'curl -sf -r 50000- "$TURL" > "$T/part2" && cat "$T/part1" "$T/part2" | cmp -s - "$T/a.bin" &&
	 wait_mails receipt "$ID" 1 && [ "$(mails receipt "$ID")" = 1 ]'
R=$(grep -l "^X-Offload-Notice: receipt; transfer=$ID;" "$SINK"/*.eml | head -1)
checkx "the receipt goes to the sender, names the file, the time (Europe/Berlin) and the network" \
	'grep -q "^To: alice@example.org" "$R" && grep -q "alice@example.org" "${R%.eml}.args" &&
	 grep -q "Bericht.bin" "$R" && grep -qE "Uhr \(MES?Z\)" "$R" && grep -q "127.0.0.0/24" "$R" &&
	 ! grep -q "$(sec_of "$T/first.link")" "$R"'
checkx "receipt marker oreceipt0 stored; audit event=notify action=receipt" \
	'[ "$(objs "$ID")" = "0 m n oreceipt0 s x " ] && grep "event=notify" "$AUDIT" | grep "action=receipt" | grep -q "$ID"'
curl -sf "$TURL" | cmp -s - "$T/a.bin" || not_ok "second complete download"

# ---- a tampered segment --------------------------------------------------------------------------
unlock tamper
flip_byte "$(find "$STORE" -path "*/$XID/0" -type f)" 70000
checkx "a download failing on a tampered segment: not counted" \
	'! curl -sf "$TURL" 2>/dev/null | cmp -s - "$T/a.bin" && [ "$(downloads "$XID")" = 0 ]'

# ---- receipts = every ----------------------------------------------------------------------------
unlock every
curl -sf -o /dev/null "$TURL"; curl -sf -o /dev/null "$TURL"
checkx "receipts = every: two complete downloads, two receipts" \
	'wait_mails receipt "$EID" 2 && [ "$(mails receipt "$EID")" = 2 ] && [ "$(downloads "$EID")" = 2 ]'
checkx "receipts = first: the second complete download sent none (still 1); the tampered one none" \
	'[ "$(downloads "$ID")" = 2 ] && [ "$(mails receipt "$ID")" = 1 ] && [ "$(mails receipt "$XID")" = 0 ]'

# ---- brute force ---------------------------------------------------------------------------------
for i in 1 2 3 4 5; do
	curl -s -o /dev/null -H 'Content-Type: application/json' -H "Origin: $BASE" \
		--data-binary "{\"secret\":\"$(sec_of "$T/pw.link")\",\"password\":\"wrong$i\"}" "$BASE/t/$PWID/unlock"
done
checkx "the password limit (3) tripped: the sender is told once, though tried 5 times" \
	'wait_mails bruteforce "$PWID" 1 && [ "$(mails bruteforce "$PWID")" = 1 ] && [ "$(objs "$PWID" | grep -c obruteforce)" = 1 ]'
kill "$PORTAL_PID" 2>/dev/null; wait "$PORTAL_PID" 2>/dev/null

# ---- reminders -----------------------------------------------------------------------------------
"$CTL" -c "$CONF" purge > "$T/p0.out" 2>&1
checkx "purge now: no reminder for the transfer expiring in 5 days (outside [notify] reminder = 2d)" \
	'[ "$(mails reminder "$QID")" = 0 ]'
checkx "purge now: none for the downloaded transfer expiring within the hour; one for the untouched one" \
	'[ "$(mails reminder "$ID")" = 0 ] && [ "$(mails reminder "$EID")" = 0 ] && [ "$(mails reminder "$XID")" = 1 ]'
faketime -f "+4d" "$CTL" -c "$CONF" purge > "$T/p1.out" 2>&1
R=$(grep -l "^X-Offload-Notice: reminder; transfer=$QID;" "$SINK"/*.eml 2>/dev/null | head -1)
checkx "purge 4 days later (faketime): one reminder, to the sender, pointing to the confirmation mail, no link" \
	'[ "$(mails reminder "$QID")" = 1 ] && grep -q "^To: alice@example.org" "$R" &&
	 body "$R" | grep -q "use the link in your confirmation mail" && ! body "$R" | grep -q "$BASE"'
faketime -f "+4d" "$CTL" -c "$CONF" purge > "$T/p2.out" 2>&1
checkx "purge again: no second reminder" '[ "$(mails reminder "$QID")" = 1 ]'
checkx "audit: event=notify action=reminder; the log verifies" \
	'grep "event=notify" "$AUDIT" | grep "action=reminder" | grep -q "$QID" && "$CTL" audit verify "$AUDIT" >/dev/null'
finish
