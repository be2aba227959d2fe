#!/bin/bash
# test_postfix_offload.sh - real Postfix + offload-milter (smtpd_milters and non_smtpd_milters)
# + smtp-sink as next hop, all on 127.0.0.1:1271x.
#  1. SMTP: a message with a 25 MiB random plan.pdf is delivered without it, with both headers and
#     one link; `offloadctl open` gives back plan.pdf byte-exact; the audit log names its SHA-256.
#  2. SMTP: a small plain message passes unchanged (same body bytes, same headers, none added).
#  3. sendmail (pickup -> non_smtpd_milters): a 2 MiB attachment (threshold 1M) is offloaded.
#  4. a wrong link secret is refused by `offloadctl open`.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
SMTPD=12710 SINKP=12711 MPORT=12712
SINK=$T/sink

t=$(now)
conf_write m "milter.socket=inet:$MPORT@127.0.0.1" "policy.offload_min_size=1M"
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pf || bail "postfix start"
milter_start m || bail "offload-milter start (log: $(tail -3 "$T/m/milter.log"))"
pf_milter pf "inet:127.0.0.1:$MPORT" || bail "set smtpd_milters"
ok "postfix + smtp-sink + offload-milter up ($(since "$t"))"

# ---- 1. 25 MiB attachment through smtpd ----------------------------------------------------
random_file "$T/plan.pdf" $((25 * 1024 * 1024))
make_eml "$T/big.eml" "Bauplan Rathaus" "Guten Tag, anbei der Plan." "$T/plan.pdf" plan.pdf application/pdf ||
	bail "build the 25 MiB message"
t=$(now)
smtp_send "$SMTPD" "$T/big.eml" alice@example.org bob@example.net
check "25 MiB message accepted by smtpd with 250 ($SMTP_REPLY, $(since "$t"))" is250
wait_removed pf "$SMTP_QID" 120
check "25 MiB message relayed to the sink (status=sent, $(since "$t"))" delivered pf "$SMTP_QID"
f=$(sink_find "$SINK" alice@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/big.out.eml"
	sz=$(stat -c %s "$T/big.out.eml")
	check "delivered message is small ($sz bytes < 1 MiB; original $(stat -c %s "$T/big.eml"))" [ "$sz" -lt 1048576 ]
	check "delivered message has no part >= 1 MiB" \
		bash -c '! $1 leaves "$2" | awk "\$1 >= 1048576 { bad = 1 } END { exit !bad }"' _ "$MAILTOOL" "$T/big.out.eml"
	check "original Subject kept" grep -q '^Subject: Bauplan Rathaus' "$T/big.out.eml"
	check "text body still there (decoded)" bash -c '$1 notice "$2" | grep -q "anbei der Plan"' _ "$MAILTOOL" "$T/big.out.eml"
	check_offloaded "smtpd 25 MiB" "$T/big.out.eml" m "$T/plan.pdf"
	big_link=$OFFLOAD_LINK
	# ---- 4. wrong secret ----
	if [ -n "$big_link" ]; then
		sec=${big_link#*#}
		bad="${big_link%#*}#$(printf '%s' "$sec" | tr 'A-Za-z' 'B-ZaB-Za' | cut -c1-22)"
		[ "$bad" = "$big_link" ] && bad="${big_link%#*}#AAAAAAAAAAAAAAAAAAAAAA"
		mkdir -p "$T/open-bad"
		"$CTL" -c "$(conf_path m)" open "$bad" --output "$T/open-bad" >/dev/null 2>&1
		rc=$?
		check "offloadctl open with a wrong secret fails (exit $rc) and writes no file" \
			bash -c '[ "$1" != 0 ] && [ -z "$(find "$2" -type f -size +0)" ]' _ "$rc" "$T/open-bad"
	fi
else
	not_ok "no sink file for the 25 MiB message"
fi

# ---- 2. small plain message passes unchanged -------------------------------------------------
make_eml "$T/small.eml" "kurze Nachricht" "Nur Text, kein Anhang. Umlaute: äöü ß." || bail "build small message"
sed -i 's/^From: .*/From: small@example.org/' "$T/small.eml"
smtp_send "$SMTPD" "$T/small.eml" small@example.org bob@example.net
check "small message accepted ($SMTP_REPLY)" is250
wait_removed pf "$SMTP_QID" 30
check "small message relayed" delivered pf "$SMTP_QID"
f=$(sink_find "$SINK" small@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/small.out.eml"
	check "small message: body byte-identical to what was sent (CRLF/LF aside)" \
		cmp -s <(body_of "$T/small.eml") <(body_of "$T/small.out.eml")
	check "small message: no X-Offload-Transfer header" bash -c '! grep -qi "^X-Offload-Transfer:" "$1"' _ "$T/small.out.eml"
	check "small message: no X-Data-Classification header" bash -c '! grep -qi "^X-Data-Classification:" "$1"' _ "$T/small.out.eml"
	# headers: what was sent must follow Postfix's Received line unchanged and in order
	check "small message: original header block unchanged after Postfix's Received line" \
		bash -c 'diff <(tr -d "\r" < "$1" | sed "/^\$/q") <(tr -d "\r" < "$2" | sed "/^\$/q" | awk "f || (/^[^ \t]/ && !/^Received:/) { f = 1 } f")' _ \
		"$T/small.eml" "$T/small.out.eml"
else
	not_ok "no sink file for the small message"
fi

# ---- 3. sendmail (non_smtpd_milters via pickup) ----------------------------------------------
random_file "$T/scan.bin" $((2 * 1024 * 1024))
make_eml "$T/sm.eml" "per sendmail" "Scan anbei." "$T/scan.bin" scan.bin || bail "build sendmail message"
t=$(now)
/usr/sbin/sendmail -C "$(pf_cf pf)" -f carol@example.org dave@example.net < "$T/sm.eml"
rc=$?
check "sendmail -C CF accepted the message (exit $rc)" [ "$rc" = 0 ]
wait_log pf 'from=<carol@example.org>' 30
qid=$(qid_of pf carol@example.org)
wait_removed pf "$qid" 60
check "sendmail message $qid relayed to the sink ($(since "$t"))" delivered pf "$qid"
f=$(sink_find "$SINK" carol@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/sm.out.eml"
	check_offloaded "sendmail 2 MiB" "$T/sm.out.eml" m "$T/scan.bin"
else
	not_ok "no sink file for the sendmail message"
fi

leftover=$(find "$(sed -n 's/^spool_dir = //p' "$(conf_path m)")" -type f | wc -l)
check "milter spool dir is empty after all messages ($leftover files)" [ "$leftover" = 0 ]
check "milter log has no sanitizer report" bash -c '! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$1"' _ "$T/m/milter.log"
t=$(now)
milter_stop m
rc=$?
check "offload-milter exits after SIGTERM within 15 s ($(since "$t"))" [ "$rc" = 0 ]
# every link and revoke secret, ticket, password and key this test produced, in no log
secrets_harvest
check_no_secrets
finish
