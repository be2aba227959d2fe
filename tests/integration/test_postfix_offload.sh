#!/bin/bash
# test_postfix_offload.sh - real Postfix + offload-milter (smtpd_milters and non_smtpd_milters)
# + smtp-sink as next hop, all on 127.0.0.1:1271x.
#  1. SMTP: a message with a 25 MiB random plan.pdf is delivered without it, with both headers and
#     one link; `offloadctl open` gives back plan.pdf byte-exact; the audit log names its SHA-256.
#  2. SMTP: a small plain message passes unchanged (same body bytes, same headers, none added).
#  3. sendmail (pickup -> non_smtpd_milters): a 2 MiB attachment (threshold 1M) is offloaded.
#  4. a wrong link secret is refused by `offloadctl open`.
#  5. download receipts (issue 12), the portal on 12713: the notice of the sendmail message says
#     the sender is told about downloads; a download stopped half-way (curl --range) sends no
#     receipt; `offloadctl fetch` of the delivered link sends exactly one, to the sender
#     (receipts = first: a second fetch none).
#  6. the upload-request marker (issue 13), offload-upload on 12714: "[DATEIANFORDERUNG]
#     Unterlagen" (no attachment) leaves without the marker, its notice asks "Bitte senden Sie
#     Ihre Dateien hier" with an upload link (`offloadctl list`: an upload link); `offloadctl
#     upload` through it reaches the sender, whose mail's link opens the file. With an attachment
#     the mail is offloaded and its notice carries the download link and the request.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL" "$BUILD/offload-portal" "$BUILD/offload-upload"
SMTPD=12710 SINKP=12711 MPORT=12712 PPORT=12713 UPORT=12714
SINK=$T/sink

t=$(now)
# upload enabled (a reply link in every notice); no clamd: uploads are accepted unscanned
conf_write m "milter.socket=inet:$MPORT@127.0.0.1" "policy.offload_min_size=1M" notify.receipts=first \
	portal.listen=127.0.0.1:$PPORT "portal.ticket_key_file=$T/m/ticket.key" upload.enabled=true \
	upload.listen=127.0.0.1:$UPORT "scan.clamd_socket=$T/no-clamd.sock" scan.on_unavailable=accept-marked
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pf || bail "postfix start"
milter_start m || bail "offload-milter start (log: $(tail -3 "$T/m/milter.log"))"
pf_milter pf "inet:127.0.0.1:$MPORT" || bail "set smtpd_milters"
"$BUILD/offload-portal" -f -c "$(conf_path m)" > "$T/portal.log" 2>&1 &
_BG_PIDS+=($!)
"$BUILD/offload-upload" -f -c "$(conf_path m)" > "$T/upload.log" 2>&1 &
_BG_PIDS+=($!)
waitport $PPORT || bail "portal listens on $PPORT ($(tail -3 "$T/portal.log"))"
waitport $UPORT || bail "offload-upload listens on $UPORT ($(tail -3 "$T/upload.log"))"
ok "postfix + smtp-sink + offload-milter + portal + offload-upload up ($(since "$t"))"

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
	sm_link=$OFFLOAD_LINK sm_id=$OFFLOAD_ID
else
	not_ok "no sink file for the sendmail message"
fi

# ---- 5. receipts: the delivered link through the portal ---------------------------------------
t5=$(now)
N=$T/m/notify P=http://127.0.0.1:$PPORT
receipts() { grep -l "^X-Offload-Notice: receipt; transfer=$1;" "$N"/*.eml 2>/dev/null | wc -l; }
downloads() { "$CTL" -c "$(conf_path m)" status "$1" --json 2>/dev/null |
	$PY -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["downloads"])'; }
if [ -n "${sm_link:-}" ]; then
	checkx "the notice tells the recipient that the sender is told about downloads (de and en)" \
		'$MAILTOOL notice "$T/sm.out.eml" | tr "\n" " " | grep -q "Der Absender wird benachrichtigt, wenn" &&
		 $MAILTOOL notice "$T/sm.out.eml" | tr "\n" " " | grep -q "The sender is told when"'
	plink=$P${sm_link#https://files.example.test}    # the proxy's view: the portal itself
	curl -s -o "$T/u.json" -H 'Content-Type: application/json' \
		--data-binary "{\"secret\":\"${sm_link##*#}\"}" "$P/t/$sm_id/unlock"
	secrets_from_json "$T/u.json"
	turl=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["url"])' "$T/u.json" 2>/dev/null)
	half=$(curl -s -r 0-1048575 "$P$turl" | wc -c)
	checkx "a download stopped half-way (Range 0-1048575: $half bytes): not counted, no receipt" \
		'[ "$half" = 1048576 ] && [ "$(downloads "$sm_id")" = 0 ] && [ "$(receipts "$sm_id")" = 0 ]'
	"$CTL" fetch "$plink" --output "$T/fetched" > /dev/null 2> "$T/fetch.err"; rc=$?
	for _ in $(seq 1 600); do [ "$(receipts "$sm_id")" -ge 1 ] && break; sleep 0.05; done
	R=$(grep -l "^X-Offload-Notice: receipt; transfer=$sm_id;" "$N"/*.eml 2>/dev/null | head -1)
	checkx "offloadctl fetch of the delivered link: byte-exact, one receipt, to the sender carol@example.org, naming scan.bin" \
		'[ $rc = 0 ] && cmp -s "$T/fetched/scan.bin" "$T/scan.bin" && [ "$(receipts "$sm_id")" = 1 ] &&
		 grep -q "^To: carol@example.org" "$R" && grep -qx carol@example.org "${R%.eml}.args" && grep -q scan.bin "$R"'
	rm -rf "$T/fetched"
	"$CTL" fetch "$plink" --output "$T/fetched" > /dev/null 2>&1
	checkx "receipts = first: a second complete fetch is counted but sends none" \
		'[ "$(downloads "$sm_id")" = 2 ] && [ "$(receipts "$sm_id")" = 1 ]'
fi

# ---- 6. the upload-request marker ---------------------------------------------------------------
make_eml "$T/req.eml" "[DATEIANFORDERUNG] Unterlagen" "Bitte schicken Sie uns die Unterlagen." || bail "build req.eml"
sed -i 's/^From: .*/From: dora@example.org/' "$T/req.eml"
smtp_send "$SMTPD" "$T/req.eml" dora@example.org bob@example.net
check "request message accepted ($SMTP_REPLY)" is250
wait_removed pf "$SMTP_QID" 30
f=$(sink_find "$SINK" dora@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/req.out.eml"
	$MAILTOOL notice "$T/req.out.eml" > "$T/req.txt"
	ul=$(grep -oE 'https://files\.example\.test/u/[a-z2-7]{24}#[A-Za-z0-9_-]{43}' "$T/req.txt" | head -1)
	checkx "delivered: Subject 'Unterlagen' without the marker ($($MAILTOOL header "$T/req.out.eml" Subject)), no transfer made" \
		'[ "$($MAILTOOL header "$T/req.out.eml" Subject)" = Unterlagen ] && ! grep -qiF "[DATEIANFORDERUNG]" "$T/req.out.eml" &&
		 ! grep -qi "^X-Offload-Transfer:" "$T/req.out.eml"'
	checkx "its notice: 'Bitte senden Sie Ihre Dateien hier' with an upload link (${ul%#*})" \
		'tr "\n" " " < "$T/req.txt" | grep -q "Bitte senden Sie Ihre Dateien hier" && [ -n "$ul" ]'
	uid=${ul#*/u/}; uid=${uid%#*}
	"$CTL" -c "$(conf_path m)" list > "$T/list.out" 2>&1
	checkx "offloadctl list shows the link ${uid:-?} as an upload link" 'grep -q "^$uid .* upload-link$" "$T/list.out"'
	n0=$(find "$N" -name '*.eml' | wc -l)
	printf 'Bauantrag, Seite 1\n' > "$T/antrag.txt"
	"$CTL" upload "http://127.0.0.1:$UPORT${ul#https://files.example.test}" "$T/antrag.txt" --state-dir "$T/sd" \
		> /dev/null 2> "$T/up.err"; rc=$?
	newest=$(ls -t "$N"/*.eml | head -1)
	checkx "offloadctl upload through the link: exit 0; the sender dora@example.org gets the files' link, with the note ($(head -c 200 "$T/up.err"))" \
		'[ $rc = 0 ] && [ "$(find "$N" -name "*.eml" | wc -l)" = $((n0 + 1)) ] && grep -qx dora@example.org "${newest%.eml}.args" &&
		 grep -q Unterlagen "$newest" && rm -rf "$T/o6" && ctl_open "$(mail_link "$newest")" "$T/o6" m > /dev/null 2>&1 &&
		 cmp -s "$T/o6/antrag.txt" "$T/antrag.txt"'
else
	not_ok "no sink file for the request message"
fi
random_file "$T/bescheid.pdf" 1200000
make_eml "$T/req2.eml" "Nachforderung [dateianforderung]" "Anbei der Bescheid." "$T/bescheid.pdf" bescheid.pdf || bail "build req2.eml"
smtp_send "$SMTPD" "$T/req2.eml" erik@example.org bob@example.net
check "request message with an attachment accepted ($SMTP_REPLY)" is250
wait_removed pf "$SMTP_QID" 30
f=$(sink_find "$SINK" erik@example.org)
[ -n "$f" ] && sink_eml "$f" "$T/req2.out.eml" && $MAILTOOL notice "$T/req2.out.eml" | tr "\n" " " > "$T/req2.txt"
checkx "marker with an attachment: offloaded, Subject 'Nachforderung', the notice has the download link and the request" \
	'[ -n "$f" ] && grep -q "^X-Offload-Transfer:" "$T/req2.out.eml" && [ "$($MAILTOOL header "$T/req2.out.eml" Subject)" = Nachforderung ] &&
	 grep -q "files.example.test/t/" "$T/req2.txt" && grep -q "Bitte senden Sie Ihre Dateien hier" "$T/req2.txt" &&
	 grep -qE "files.example.test/u/[a-z2-7]{24}#" "$T/req2.txt"'
note "receipts and upload request (5, 6): $(since "$t5")"

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
