#!/bin/bash
# test_upload_link.sh - standalone upload links and the upload-request subject marker (issue
# 13, FORMATS.md §6.11) against the real offload-upload, with `offloadctl upload`. No clamd runs
# and [scan] on_unavailable = accept-marked, so the files are accepted unscanned and the clerk's
# mail must say so. Checked: `offloadctl upload-link --for clerk@example.org --note ...` prints a
# link /u/<id>#<token> and stores <id>/l; two files sent through it become a new transfer (opened
# byte-exact with `offloadctl open` of the mailed link) and the clerk gets the "unverified
# person" mail with the note and the unscanned files named; a wrong token is refused; list shows
# the link; purge keeps it (also with --orphan-age 0) and deletes it after its expiry (faketime);
# revoke deletes a link and uploads through it fail. The marker [DATEIANFORDERUNG] through
# `offloadctl process`: without attachments the mail gets the request notice with an upload link
# for the sender and leaves without the marker in its subject; with an attachment the offload
# notice carries the request too; files sent through the request's link reach the sender.
# Port 13233.
. "$(dirname "$0")/lib.sh"
UPLOAD_BIN=$BUILD/offload-upload
need_bins "$CTL" "$UPLOAD_BIN"
command -v faketime >/dev/null || bail "faketime missing (tools/deps/storagecheck.apt)"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
PA=13233
conf_write l policy.offload_min_size=30000 upload.enabled=true upload.chunk_size=64K upload.uses=20 \
	upload.listen=127.0.0.1:$PA scan.clamd_socket=$T/no-clamd.sock scan.on_unavailable=accept-marked
CONF=$(conf_path l); STORE=$(store_path l); NOTIFY=$T/l/notify
ctl() { "$CTL" -c "$CONF" "$@"; }
export MAILTOOL
link_at() { sed "s|^https://files.example.test|http://127.0.0.1:$PA|" <<<"$1"; }
up() { "$CTL" upload "$(link_at "$1")" "${@:2}" --state-dir "$T/sd"; }
mails() { find "$NOTIFY" -name '*.eml' 2>/dev/null | wc -l; }
newest() { ls -t "$NOTIFY"/*."$1" | head -1; }

# ---- upload-link -------------------------------------------------------------------------------
ctl upload-link --for clerk@example.org --note "Bauantrag 17/2026 (Frau Muster)" --expires 2d \
	> "$T/link.out" 2> "$T/link.err"; rc=$?
LINK=$(head -1 "$T/link.out"); LID=$(sed 's|.*/u/||; s|#.*||' <<<"$LINK")
check "upload-link prints https://files.example.test/u/<id>#<43-character token> ($(cat "$T/link.err"))" \
	bash -c '[ $1 = 0 ] && [[ "$2" =~ ^https://files\.example\.test/u/[a-z2-7]{24}#[A-Za-z0-9_-]{43}$ ]]' _ $rc "$LINK"
check "it stores the link object $LID/l, and nothing else" \
	bash -c '[ -s "$1/${2:0:2}/$2/l" ] && [ "$(find "$1" -type f ! -name keyid | wc -l)" = 1 ]' _ "$STORE" "$LID"
check "the token is not in the store" bash -c '! grep -rqF "${1#*#}" "$2"' _ "$LINK" "$STORE"
ctl upload-link --for "not an address" > /dev/null 2>&1; rc=$?
check "upload-link refuses a bad --for (exit 64)" [ $rc = 64 ]
ctl list > "$T/list.out" 2>&1
check "list shows the link ($(grep "$LID" "$T/list.out"))" grep -q "^$LID .* upload-link$" "$T/list.out"

"$UPLOAD_BIN" -c "$CONF" -f >> "$T/upload.log" 2>&1 &
_BG_PIDS+=($!)
waitport $PA 200 || bail "offload-upload did not listen ($(tail -2 "$T/upload.log"))"

random_file "$T/plan.pdf" 150000
random_file "$T/foto.jpg" 70000
up "$LINK" "$T/plan.pdf" "$T/foto.jpg" --message "Anbei, siehe www.evil.example" > "$T/u1.out" 2> "$T/u1.err"; rc=$?
check "offloadctl upload through the link: exit 0 ($(head -c 300 "$T/u1.err"))" [ $rc = 0 -a "$(mails)" = 1 ]
check "the mail goes to clerk@example.org" grep -qx 'clerk@example.org' "$(newest args)"
$MAILTOOL notice "$(newest eml)" > "$T/m1.txt"
check "the mail: 'unverified person through your upload link', with the note" \
	bash -c 'grep -q "unverified person through your upload link $2" "$1" && grep -q "Bauantrag 17/2026 (Frau Muster)" "$1"' _ "$T/m1.txt" "$LID"
check "the mail names both files as NOT scanned (accept-marked, no clamd)" \
	bash -c 'grep -q "^NOT scanned for viruses" "$1" && grep -q "plan.pdf: unscanned" "$1" && grep -q "foto.jpg: unscanned" "$1"' _ "$T/m1.txt"
check "audit: scan unavailable, action=accept-marked" \
	bash -c 'grep "event=scan" "$1" | grep "reasons=\"\{0,1\}unavailable" | grep -q "action=accept-marked"' _ "$(audit_path l)"
NL=$(mail_link "$(newest eml)")
rm -rf "$T/o1"; ctl_open "$NL" "$T/o1" l > /dev/null 2>&1
check "offloadctl open of the mailed link: both files byte-exact" \
	bash -c 'cmp -s "$1/plan.pdf" "$2/plan.pdf" && cmp -s "$1/foto.jpg" "$2/foto.jpg"' _ "$T" "$T/o1"
bad=$(sed 's/#.*/#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/' <<<"$LINK")
up "$bad" "$T/foto.jpg" > /dev/null 2> "$T/bad.err"; rc=$?
check "a wrong token is refused (exit 65, HTTP 403)" bash -c '[ $1 = 65 ] && grep -q "HTTP 403" "$2"' _ $rc "$T/bad.err"

# ---- purge and revoke --------------------------------------------------------------------------
ctl purge --orphan-age 0 > "$T/p1.out" 2>&1
check "purge --orphan-age 0 keeps the live link ($(cat "$T/p1.out"))" \
	bash -c '[ -s "$1/${2:0:2}/$2/l" ] && grep -q "1 upload links" "$3"' _ "$STORE" "$LID" "$T/p1.out"
faketime -f +3d "$CTL" -c "$CONF" purge > "$T/p2.out" 2>&1
check "purge after the link's expiry (faketime +3d) deletes it whole ($(cat "$T/p2.out"))" \
	bash -c '[ ! -e "$1/${2:0:2}/$2" ]' _ "$STORE" "$LID"
L2=$(ctl upload-link --for clerk@example.org 2>/dev/null); L2ID=$(sed 's|.*/u/||; s|#.*||' <<<"$L2")
ctl revoke "$L2" > "$T/r.out" 2>&1; rc=$?
check "revoke of an upload link deletes it ($(cat "$T/r.out"))" \
	bash -c '[ $1 = 0 ] && [ ! -e "$2/${3:0:2}/$3/l" ]' _ $rc "$STORE" "$L2ID"
up "$L2" "$T/foto.jpg" > /dev/null 2> "$T/r2.err"; rc=$?
check "an upload through the revoked link fails (exit 66, 404)" bash -c '[ $1 = 66 ] && grep -q "HTTP 404" "$2"' _ $rc "$T/r2.err"

# ---- the subject marker ------------------------------------------------------------------------
make_eml "$T/req.eml" "[DATEIANFORDERUNG] Unterlagen zum Bauantrag" "Bitte laden Sie die Plaene hoch." || bail "req.eml"
ctl process < "$T/req.eml" > "$T/req.out" 2> "$T/req.err"; rc=$?
$MAILTOOL notice "$T/req.out" > "$T/req.txt" 2> "$T/req.mt"
RL=$(grep -o 'https://files.example.test/u/[^ ]*' "$T/req.txt" | head -1)
check "marker, no attachment: exit 0, 'please send your files here' with an upload link ($(head -c 200 "$T/req.err"))" \
	bash -c '[ $1 = 0 ] && grep -qi "please send your files here" "$2" && [ -n "$3" ]' _ $rc "$T/req.txt" "$RL"
check "the subject leaves without the marker" \
	bash -c '[ "$($MAILTOOL header "$1" Subject)" = "Unterlagen zum Bauantrag" ] && ! grep -q DATEIANFORDERUNG "$1"' _ "$T/req.out"
check "no transfer was made for it (no X-Offload-Transfer)" bash -c '! grep -qi "^X-Offload-Transfer" "$1"' _ "$T/req.out"
n0=$(mails)
up "$RL" "$T/foto.jpg" > /dev/null 2> "$T/rq.err"; rc=$?
check "files through the request's link reach the sender alice@example.org ($(head -c 200 "$T/rq.err"))" \
	bash -c '[ $1 = 0 ] && [ "$(find "$2" -name "*.eml" | wc -l)" = $(($3 + 1)) ] && grep -qx alice@example.org "$4"' \
	_ $rc "$NOTIFY" "$n0" "$(newest args)"
check "its mail carries the request's subject as the note" grep -q "Unterlagen zum Bauantrag" "$(newest eml)"
random_file "$T/big.bin" 40000
make_eml "$T/req2.eml" "Nachforderung [dateianforderung]" "Anbei der Bescheid." "$T/big.bin" bescheid.pdf || bail "req2.eml"
ctl process < "$T/req2.eml" > "$T/req2.out" 2> "$T/req2.err"; rc=$?
$MAILTOOL notice "$T/req2.out" > "$T/req2.txt"
check "marker with an attachment: offloaded, the notice has the download link and the request" \
	bash -c '[ $1 = 0 ] && grep -q "^X-Offload-Transfer:" "$2" && grep -qi "please send your files here" "$3" && grep -q "files.example.test/t/" "$3"' \
	_ $rc "$T/req2.out" "$T/req2.txt"
check "its subject leaves as 'Nachforderung'" [ "$($MAILTOOL header "$T/req2.out" Subject)" = Nachforderung ]
rm -rf "$T/sd"
finish
