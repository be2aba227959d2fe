#!/bin/bash
# test_replay.sh - the header MACs bind the body (FORMATS.md §3.1, §3.5), through `offloadctl
# process` (no ports; notices captured by sendmail_capture.sh):
#  1. a genuine rewritten message fed back (LF, CRLF, final line ends added or dropped, a
#     classified subject put on it) passes byte-identical as already offloaded
#  2. replay: its Message-ID and X-Offload-Transfer copied into a payslip with an IBAN ->
#     classified VERTRAULICH and offloaded into a new transfer, the IBAN not in clear (LF, CRLF)
#  3. fail-safe: the genuine message with a footer added after the gateway is processed again
#  4. a genuine confirmation fed back (LF, CRLF) passes byte-identical as our notice
#  5. replay: the confirmation's Message-ID and X-Offload-Notice copied into the payslip ->
#     classified VERTRAULICH and offloaded
#  6. real Postfix, two gateways with the milter (ports 13040-13042): the rewritten message
#     and the confirmation (real sendmail, pickup) pass the second milter as already handled,
#     the body as Postfix carried it verifies; the replay sent through them is offloaded
. "$(dirname "$0")/lib.sh"
need_bins "$CTL" "$MILTER_BIN"
CM=$SRCDIR/tests/data/classify-mail
conf_write r policy.offload_min_size=2k
CONF=$(conf_path r)
run() { "$CTL" -c "$CONF" process "$@"; }
nnotes() { find "$T/r/notify" -name '*.eml' 2>/dev/null | wc -l; }
crlf() { sed 's/$/\r/' "$1" > "$2"; }       # LF file -> CRLF file
# header NAME FILE: the first NAME: header of FILE's header block with its continuation lines
header() {
	awk -v n="$1:" '/^\r?$/ { exit } in_h && /^[ \t]/ { print; next } in_h { exit }
		index(tolower($0), tolower(n)) == 1 { in_h = 1; print }' "$2" | tr -d '\r'
}
# subject FILE NEW: set the Subject in the header block only (the body stays as it is)
subject() { sed "1,/^\r\{0,1\}\$/s/^Subject: .*/Subject: $2/" "$1"; }
# graft SRC DST OUT: OUT = DST with its Message-ID replaced by SRC's and SRC's X-Offload-*
# headers added at the top (what a clerk who received SRC can do)
graft() {
	{
		header X-Offload-Transfer "$1" | grep . || true
		header X-Offload-Notice "$1" | grep . || true
		header Message-ID "$1"
		awk 'BEGIN { IGNORECASE = 1 } !body && /^Message-ID:/ { next } /^\r?$/ { body = 1 } { print }' "$2"
	} > "$3"
}
tid() { sed -n 's/^X-Offload-Transfer: \([a-z2-7]\{24\}\);.*/\1/p' "$1" | tr -d '\r'; }

# the genuine message: an unclassified report with a 3 KB attachment (offloaded by size)
head -c 3000 /dev/urandom > "$T/data.bin"
{
	printf 'From: Sachbearbeitung <clerk@example.gov>\nTo: buerger@example.net\n'
	printf 'Subject: Ihre Unterlagen\nMessage-ID: <replay-orig.4711@example.gov>\n'
	printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
	printf -- '--b1\nContent-Type: text/plain; charset=utf-8\n\nGuten Tag, anbei die Unterlagen.\n'
	printf -- '--b1\nContent-Type: application/octet-stream; name="daten.bin"\n'
	printf 'Content-Disposition: attachment; filename="daten.bin"\nContent-Transfer-Encoding: base64\n\n'
	base64 -w 76 "$T/data.bin"
	printf -- '--b1--\n'
} > "$T/orig.eml"
run < "$T/orig.eml" > "$T/orig.out" 2> "$T/orig.err"; rc=$?
oid=$(tid "$T/orig.out")
checkx "the genuine message is offloaded (exit 0), one X-Offload-Transfer, one confirmation" \
	'[ $rc = 0 ] && [ -n "$oid" ] && [ "$(grep -c "^X-Offload-Transfer:" "$T/orig.out")" = 1 ] && [ "$(nnotes)" = 1 ]'
CONFIRM=$T/r/notify/1.eml
cp "$CONFIRM" "$T/confirm.eml"

# ---- 1. genuine rewritten message fed back -------------------------------------------------------
# a classified subject: were the header not recognised, the message would be labelled/offloaded
subject "$T/orig.out" "[VERTRAULICH] Ihre Unterlagen" > "$T/g-lf.eml"
crlf "$T/g-lf.eml" "$T/g-crlf.eml"
{ cat "$T/g-lf.eml"; printf '\n\n'; } > "$T/g-more.eml"                       # line ends added
$PY -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(d.rstrip(b"\r\n"))' \
	"$T/g-crlf.eml" "$T/g-less.eml"                                          # final CRLF dropped
for v in lf crlf more less; do
	run < "$T/g-$v.eml" > "$T/g-$v.out" 2> "$T/g-$v.err"; rc=$?
	checkx "genuine rewritten message fed back ($v): passes byte-identical as already-offloaded" \
		'[ $rc = 0 ] && cmp -s "$T/g-$v.eml" "$T/g-$v.out" && grep -q "reason=already-offloaded" "$T/g-$v.err"'
done
run < "$T/orig.out" > "$T/g2.out" 2>/dev/null
run < "$T/g2.out" > "$T/g3.out" 2>/dev/null
checkx "process output fed into process twice more: still byte-identical, no new notice" \
	'cmp -s "$T/orig.out" "$T/g3.out" && [ "$(nnotes)" = 1 ]'

# ---- 2. replay of X-Offload-Transfer into other content -------------------------------------------
graft "$T/orig.out" "$CM/payslip.eml" "$T/rt-lf.eml"
crlf "$T/rt-lf.eml" "$T/rt-crlf.eml"
checkx "the replay carries the genuine Message-ID and X-Offload-Transfer header" \
	'grep -q "^Message-ID: <replay-orig.4711@example.gov>" "$T/rt-lf.eml" && [ "$(tid "$T/rt-lf.eml")" = "$oid" ] && ! grep -q "payslip-1" "$T/rt-lf.eml"'
for v in lf crlf; do
	run < "$T/rt-$v.eml" > "$T/rt-$v.out" 2> "$T/rt-$v.err"; rc=$?
	nid=$(tid "$T/rt-$v.out")
	checkx "replayed X-Offload-Transfer ($v): classified VERTRAULICH and offloaded into a new transfer" \
		'[ $rc = 0 ] && grep -q "^X-Data-Classification: class=VERTRAULICH; policy=default; transfer=$nid" "$T/rt-$v.out" && [ -n "$nid" ] && [ "$nid" != "$oid" ] && [ "$(grep -c "^X-Offload-Transfer:" "$T/rt-$v.out")" = 1 ]'
	checkx "replayed X-Offload-Transfer ($v): the IBAN does not leave in clear, not logged as already-offloaded" \
		'! grep -q "DE89" "$T/rt-$v.out" && ! grep -q already-offloaded "$T/rt-$v.err"'
done
rm -rf "$T/rt-open"; ctl_open "$(mail_link "$T/rt-lf.out")" "$T/rt-open" r > /dev/null 2>&1
checkx "the replay's new transfer opens and holds the payslip" 'grep -rq "DE89 3704 0044 0532 0130 00" "$T/rt-open"'

# ---- 3. fail-safe: a body changed after the gateway ----------------------------------------------
{ cat "$T/g-lf.eml"; printf 'Diese Nachricht wurde geprueft.\n'; } > "$T/footer.eml"
run < "$T/footer.eml" > "$T/footer.out" 2> "$T/footer.err"; rc=$?
checkx "a footer added after the gateway: the MAC fails, the message is classified again (labelled)" \
	'[ $rc = 0 ] && ! grep -q already-offloaded "$T/footer.err" && grep -q "^X-Data-Classification: class=VERTRAULICH" "$T/footer.out"'

# ---- 4. genuine confirmation fed back ---------------------------------------------------------------
checkx "the confirmation carries a MACed X-Offload-Notice" \
	'header X-Offload-Notice "$T/confirm.eml" | tr -d "\n" | grep -q "^X-Offload-Notice: confirm; transfer=$oid; *mac=[A-Za-z0-9_-]\{22\}$"'
subject "$T/confirm.eml" "[VERTRAULICH] Versandbestaetigung" > "$T/n-lf.eml"
crlf "$T/n-lf.eml" "$T/n-crlf.eml"
for v in lf crlf; do
	n0=$(nnotes)
	run < "$T/n-$v.eml" > "$T/n-$v.out" 2> "$T/n-$v.err"; rc=$?
	checkx "genuine confirmation fed back ($v): passes byte-identical as our notice, no new notice" \
		'[ $rc = 0 ] && cmp -s "$T/n-$v.eml" "$T/n-$v.out" && grep -q "reason=notice" "$T/n-$v.err" && [ "$(nnotes)" = $n0 ]'
done
# the confirmation names the subject in its body ("Subject:   Ihre Unterlagen"): change it there
sed 's/^\(Subject: *\)Ihre Unterlagen$/\1[VERTRAULICH] Ihre Unterlagen/' "$T/n-lf.eml" > "$T/n-body.eml"
run < "$T/n-body.eml" > "$T/n-body.out" 2> "$T/n-body.err"; rc=$?
checkx "the confirmation with a line of its body changed: not our notice, classified and labelled" \
	'! cmp -s "$T/n-lf.eml" "$T/n-body.eml" && [ $rc = 0 ] && ! grep -q "reason=notice" "$T/n-body.err" && grep -q "^X-Data-Classification: class=VERTRAULICH" "$T/n-body.out"'

# ---- 5. replay of X-Offload-Notice into other content ---------------------------------------------
graft "$T/confirm.eml" "$CM/payslip.eml" "$T/rn-lf.eml"
crlf "$T/rn-lf.eml" "$T/rn-crlf.eml"
checkx "the replay carries the confirmation's Message-ID and X-Offload-Notice header" \
	'[ "$(header Message-ID "$T/rn-lf.eml")" = "$(header Message-ID "$T/confirm.eml")" ] && [ "$(header X-Offload-Notice "$T/rn-lf.eml")" = "$(header X-Offload-Notice "$T/confirm.eml")" ]'
for v in lf crlf; do
	n0=$(nnotes)
	run < "$T/rn-$v.eml" > "$T/rn-$v.out" 2> "$T/rn-$v.err"; rc=$?
	nid=$(tid "$T/rn-$v.out")
	checkx "replayed X-Offload-Notice ($v): classified VERTRAULICH and offloaded, the IBAN not in clear" \
		'[ $rc = 0 ] && [ -n "$nid" ] && [ "$nid" != "$oid" ] && grep -q "^X-Data-Classification: class=VERTRAULICH; policy=default; transfer=$nid" "$T/rn-$v.out" && ! grep -q "DE89" "$T/rn-$v.out" && ! grep -q "reason=notice" "$T/rn-$v.err"'
	checkx "replayed X-Offload-Notice ($v): a confirmation of the new transfer goes to the sender" \
		'[ "$(nnotes)" = $((n0 + 1)) ]'
done
checkx "audit log: the four replayed payslips are offload events with class VERTRAULICH" \
	'[ "$(grep "event=message" "$(audit_path r)" | grep "from=lohn@example.gov" | grep "action=offload" | grep -c "class=VERTRAULICH")" = 4 ]'

# ---- 6. real Postfix: gateway 1 -> gateway 2 -> sink, the same milter on both --------------------
G1=13040 G2=13041 SINKP=13042
SINK=$T/sink
pf_setup gw1 "$G1" "$G2" || bail "gateway 1 setup"
pf_setup gw2 "$G2" "$SINKP" || bail "gateway 2 setup"
conf_write m policy.offload_min_size=2k "notify.sendmail=/usr/sbin/sendmail -C $(pf_cf gw1)"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start gw1 || bail "gateway 1 start"
pf_start gw2 || bail "gateway 2 start"
milter_start m || bail "offload-milter start"
pf_milter gw1 "$(postfix_milter_spec "$(conf_socket m)")" || bail "gateway 1 milters"
pf_milter gw2 "$(postfix_milter_spec "$(conf_socket m)")" || bail "gateway 2 milters"
smtp_send "$G1" "$T/orig.eml" clerk@example.gov buerger@example.net
check "Postfix: gateway 1 accepts the genuine message ($SMTP_REPLY)" is250
wait_log gw2 "to=<buerger@example.net>.*status=sent" 60
wait_log gw2 "to=<clerk@example.gov>.*status=sent" 60
f=$(sink_find "$SINK" clerk@example.gov)
[ -n "$f" ] && sink_eml "$f" "$T/p-orig.eml"
pid=$(tid "$T/p-orig.eml" 2>/dev/null)
checkx "Postfix: offloaded at gateway 1, passed gateway 2 as already offloaded: one X-Offload-Transfer" \
	'[ -n "$pid" ] && [ "$(grep -c "^X-Offload-Transfer:" "$T/p-orig.eml")" = 1 ] && grep -q "action=offload .*transfer=$pid" "$T/m/milter.log" && grep -q "action=pass reason=already-offloaded" "$T/m/milter.log"'
checkx "Postfix: one offload event in the audit log, no second transfer" \
	'[ "$(grep "event=message" "$(audit_path m)" | grep -c "action=offload")" = 1 ] && [ "$(find "$(store_path m)" -name m | wc -l)" = 1 ]'
cf=$(grep -l "^X-Offload-Notice: confirm; transfer=$pid" "$SINK"/* 2>/dev/null | head -1)
checkx "Postfix: the confirmation (real sendmail, pickup, both milters) passed both as our notice" \
	'[ -n "$cf" ] && ! grep -q "^X-Data-Classification" "$cf" && [ "$(grep -c "action=pass reason=notice" "$T/m/milter.log")" = 2 ]'
"$CTL" -c "$(conf_path m)" process < "$T/p-orig.eml" > "$T/p-orig.out" 2> "$T/p-orig.err"
checkx "Postfix-delivered message fed to offloadctl process: recognised, byte-identical" \
	'cmp -s "$T/p-orig.eml" "$T/p-orig.out" && grep -q already-offloaded "$T/p-orig.err"'
graft "$T/p-orig.eml" "$CM/payslip.eml" "$T/p-replay.eml"
smtp_send "$G1" "$T/p-replay.eml" lohn@example.gov mitarbeiter@example.net
check "Postfix: gateway 1 accepts the replay ($SMTP_REPLY)" is250
wait_log gw2 "to=<mitarbeiter@example.net>.*status=sent" 60
f=$(sink_find "$SINK" lohn@example.gov)
[ -n "$f" ] && sink_eml "$f" "$T/p-replay.out"
rid=$(tid "$T/p-replay.out" 2>/dev/null)
checkx "Postfix: the replay is classified VERTRAULICH and offloaded into a new transfer, no IBAN in clear" \
	'[ -n "$rid" ] && [ "$rid" != "$pid" ] && grep -q "^X-Data-Classification: class=VERTRAULICH; policy=default; transfer=$rid" "$T/p-replay.out" && ! grep -q DE89 "$T/p-replay.out"'
finish
