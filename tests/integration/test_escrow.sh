#!/bin/bash
# test_escrow.sh - archive escrow (docs/FORMATS.md §6.1): `offloadctl escrow keygen` without a
# config; transfers made by `offloadctl process` (one with a password) and by offload-milter in a
# private Postfix (127.0.0.1:1304x) opened with `offloadctl escrow open` and the escrow private
# key alone - no link, no password, no deployment key - byte-exact; a transfer made before
# escrow was configured is reported as not escrowed (69); a wrong key (65), a public key given
# as the private one (66) and an unknown id (66) fail cleanly; `list` does not count <id>/e as a
# file; revoke and purge delete <id>/e with the transfer.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
SMTPD=13040 SINKP=13041
SINK=$T/sink
K=$T/keys
mkdir -p "$K"

# ---- keygen ------------------------------------------------------------------------------------
out=$(cd "$K" && "$CTL" -c /nonexistent/offload.conf escrow keygen escrow.priv escrow.pub 2>&1); rc=$?
check "escrow keygen exits 0 without a configuration ($out)" [ $rc = 0 ]
check "private key file is mode 600, one line escrow-private:<64 hex>" \
	bash -c '[ "$(stat -c %a "$1/escrow.priv")" = 600 ] && grep -qxE "escrow-private:[0-9a-f]{64}" "$1/escrow.priv"' _ "$K"
check "public key file is one line escrow-public:<64 hex>" grep -qxE 'escrow-public:[0-9a-f]{64}' "$K/escrow.pub"
KEYID=$(sed -n 's/^escrow key id //p' <<<"$out")
(cd "$K" && "$CTL" escrow keygen escrow.priv other.pub >/dev/null 2>&1); rc=$?
check "keygen refuses to overwrite an existing key file (exit $rc = 73)" \
	bash -c '[ "$1" = 73 ] && [ ! -e "$2/other.pub" ]' _ "$rc" "$K"
(cd "$K" && "$CTL" escrow keygen other.priv other.pub >/dev/null 2>&1)

# ---- configs: "pre" has no escrow, "e" has; both share store and deployment key -----------------
conf_write e policy.offload_min_size=1k "archive.escrow_public_key=$K/escrow.pub" "milter.socket=unix:$T/e/milter.sock"
conf_write pre policy.offload_min_size=1k "storage.path=$(store_path e)" "security.deployment_key_file=$T/e/deployment.key"
# the archive's view: only the storage settings, a deployment key file that does not exist
conf_write arch "storage.path=$(store_path e)" "security.deployment_key_file=$T/arch/no-such.key"
run() { "$CTL" -c "$(conf_path "$1")" process; }
esc_open() { "$CTL" -c "$(conf_path arch)" escrow open --key "$1" "$2" --output "$3"; }
id_of() { $MAILTOOL header "$1" X-Offload-Transfer | sed -E 's/^([a-z2-7]{24});.*/\1/'; }
# every object of a transfer; objs: the file objects, the escrow object, the manifest and the
# tombstone (other side objects, FORMATS.md §6, belong to other features)
allobjs() { find "$(store_path e)/${1:0:2}/$1" -type f ! -name '.*' -printf '%f\n' 2>/dev/null | sort | tr '\n' ' '; }
objs() { allobjs "$1" | tr ' ' '\n' | grep -E '^([0-9]+|e|m|t)$' | tr '\n' ' '; }

random_file "$T/old.bin" 5000
make_eml "$T/old.eml" "vorher" "ohne Treuhand" "$T/old.bin" old.bin || bail "build old.eml"
run pre < "$T/old.eml" > "$T/old.out" 2>/dev/null || bail "process without escrow"
OLD=$(id_of "$T/old.out")

random_file "$T/plan.pdf" 300000
make_eml "$T/new.eml" "Bauplan" "mit Treuhand" "$T/plan.pdf" plan.pdf application/pdf || bail "build new.eml"
run e < "$T/new.eml" > "$T/new.out" 2>"$T/new.err"; rc=$?
NEW=$(id_of "$T/new.out")
check "process with escrow_public_key: exit 0, offloaded ($NEW)" [ $rc = 0 -a -n "$NEW" ]
check "the escrowed transfer has objects 0, e and m" [ "$(objs "$NEW")" = "0 e m " ]
check "the transfer made before escrow has no e ($(objs "$OLD"))" [ "$(objs "$OLD")" = "0 m " ]
check "list counts 1 file for the escrowed transfer, not the side object" \
	bash -c '"$1" -c "$2" list --json | grep -q "\"id\":\"$3\",[^}]*\"files\":1,"' _ "$CTL" "$(conf_path e)" "$NEW"

random_file "$T/secret.bin" 70000
make_eml "$T/pw.eml" "[STRENG VERTRAULICH] Gutachten" "mit Passwort" "$T/secret.bin" gutachten.bin || bail "build pw.eml"
run e < "$T/pw.eml" > "$T/pw.out" 2>/dev/null
PW=$(id_of "$T/pw.out")
check "a STRENG-VERTRAULICH transfer (password) is made with escrow ($PW)" [ -n "$PW" -a "$(objs "$PW")" = "0 e m " ]

# ---- open with the escrow key alone ---------------------------------------------------------------
esc_open "$K/escrow.priv" "$NEW" "$T/o-new" > "$T/o-new.txt" 2>&1; rc=$?
check "escrow open exits 0 with only the private key and the storage settings ($(head -c 200 "$T/o-new.txt"))" [ $rc = 0 ]
check "escrow open: plan.pdf byte-exact" cmp -s "$T/plan.pdf" "$T/o-new/plan.pdf"
check "escrow open needed no deployment key (none was created)" [ ! -e "$T/arch/no-such.key" ]
esc_open "$K/escrow.priv" "$PW" "$T/o-pw" > "$T/o-pw.txt" 2>&1; rc=$?
# STRENG-VERTRAULICH offloads the whole message (body_action offload-message): its .eml comes back
check "escrow open of the password transfer without the password: exit 0, the message with gutachten.bin" \
	bash -c '[ "$1" = 0 ] && f=$(ls "$2"/*.eml) && $3 leaves "$f" | grep -q " $4 "' _ "$rc" "$T/o-pw" "$MAILTOOL" "$(sha256 "$T/secret.bin")"

# ---- failures ---------------------------------------------------------------------------------------
esc_open "$K/escrow.priv" "$OLD" "$T/o-old" > /dev/null 2> "$T/o-old.err"; rc=$?
check "a transfer made before escrow: exit 69 'is not escrowed' ($(cat "$T/o-old.err"))" \
	bash -c '[ "$1" = 69 ] && grep -q "is not escrowed" "$2" && [ -z "$(find "$3" -type f 2>/dev/null)" ]' _ "$rc" "$T/o-old.err" "$T/o-old"
esc_open "$K/other.priv" "$NEW" "$T/o-wrong" > /dev/null 2> "$T/o-wrong.err"; rc=$?
check "another escrow key: exit 65, names the key id $KEYID, writes no file ($(cat "$T/o-wrong.err"))" \
	bash -c '[ "$1" = 65 ] && grep -q "escrowed for key $2" "$3" && [ -z "$(find "$4" -type f 2>/dev/null)" ]' _ "$rc" "$KEYID" "$T/o-wrong.err" "$T/o-wrong"
esc_open "$K/escrow.pub" "$NEW" "$T/o-pub" > /dev/null 2> "$T/o-pub.err"; rc=$?
check "the public key given as --key: exit 66, says so ($(cat "$T/o-pub.err"))" \
	bash -c '[ "$1" = 66 ] && grep -q "public key, not the private key" "$2"' _ "$rc" "$T/o-pub.err"
esc_open "$K/escrow.priv" aaaaaaaaaaaaaaaaaaaaaaaa "$T/o-none" > /dev/null 2> "$T/o-none.err"; rc=$?
check "an unknown transfer id: exit 66 ($(cat "$T/o-none.err"))" [ $rc = 66 ]
e=$(find "$(store_path e)/${NEW:0:2}/$NEW" -name e)
cp "$e" "$T/e.bak"
# flip every bit of byte 100 (writing a fixed value left the object intact when the byte already
# had it: 1 run in 256)
b=$(od -An -tu1 -j100 -N1 "$e" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - b)))" | dd of="$e" bs=1 seek=100 conv=notrunc 2>/dev/null
esc_open "$K/escrow.priv" "$NEW" "$T/o-bad" > /dev/null 2> "$T/o-bad.err"; rc=$?
check "a damaged escrow object: exit 65, nothing written ($(cat "$T/o-bad.err"))" \
	bash -c '[ "$1" = 65 ] && [ -z "$(find "$2" -type f 2>/dev/null)" ]' _ "$rc" "$T/o-bad"
cp "$T/e.bak" "$e"
conf_write bad "archive.escrow_public_key=$K/escrow.priv"
"$CTL" -c "$(conf_path bad)" process < "$T/new.eml" > /dev/null 2> "$T/bad.err"; rc=$?
check "escrow_public_key naming the private key file: config error 78 ($(cat "$T/bad.err"))" \
	bash -c '[ "$1" = 78 ] && grep -q "escrow_public_key" "$2"' _ "$rc" "$T/bad.err"

# ---- revoke and purge delete <id>/e ---------------------------------------------------------------
"$CTL" -c "$(conf_path e)" revoke "$PW" > /dev/null 2>&1; rc=$?
check "revoke of an escrowed transfer: exit 0, only the tombstone is left ($(allobjs "$PW"))" [ $rc = 0 -a "$(allobjs "$PW")" = "t " ]
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +30d "$CTL" -c "$(conf_path e)" purge > "$T/purge.out" 2>&1; rc=$?
check "purge 30 days later: exit 0, the expired escrowed transfer is gone with its e ($(objs "$NEW"))" \
	[ $rc = 0 -a -z "$(objs "$NEW")" ]

# ---- the milter in a private Postfix ----------------------------------------------------------------
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pf || bail "postfix start"
milter_start e || bail "offload-milter start ($(tail -3 "$T/e/milter.log"))"
pf_milter pf "$(conf_socket e)" || bail "set smtpd_milters"
random_file "$T/scan.tif" $((2 * 1024 * 1024))
make_eml "$T/m.eml" "Scan per SMTP" "Anbei." "$T/scan.tif" scan.tif image/tiff || bail "build m.eml"
smtp_send "$SMTPD" "$T/m.eml" alice@example.org bob@example.net
check "milter: message accepted ($SMTP_REPLY)" is250
wait_removed pf "$SMTP_QID" 60
f=$(sink_find "$SINK" alice@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/m.out.eml"
	MID=$(id_of "$T/m.out.eml")
	check "milter: delivered rewritten, the transfer has an escrow object ($MID: $(objs "$MID"))" \
		[ -n "$MID" -a "$(objs "$MID")" = "0 e m " ]
	esc_open "$K/escrow.priv" "$MID" "$T/o-milter" > "$T/o-milter.txt" 2>&1; rc=$?
	check "milter transfer opened with the escrow key alone: exit $rc, scan.tif byte-exact" \
		bash -c '[ "$1" = 0 ] && cmp -s "$2" "$3/scan.tif"' _ "$rc" "$T/scan.tif" "$T/o-milter"
else
	not_ok "milter: no message at the sink"
fi
milter_stop e
finish
