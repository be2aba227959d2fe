#!/bin/bash
# test_scan.sh - [scan] outgoing with the real ClamAV daemon. The official signature database is
# not downloaded: the test starts its own clamd (private process, private unix socket under $T)
# whose only signature is an .hdb line with the MD5 and size of the 68-byte EICAR string, with
# StreamMaxLength 1M and AlertExceedsMax. Through `offloadctl process` and offload-milter in a
# private Postfix (127.0.0.1:1305x): an EICAR attachment is rejected with a clear text (550, the
# file name and the signature) and nothing is stored; a clean one is offloaded and opens
# byte-exact; a 2 MB attachment (over StreamMaxLength) is unscannable -> reject, or offloaded
# with on_unscannable = accept-marked; clamd stopped -> tempfail (451 4.7.1), or offloaded with
# on_unavailable = accept-marked; on_infected = quarantine -> Postfix hold queue; audit events.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
command -v clamd >/dev/null || bail "clamd missing (tools/deps/scan.apt: clamav-daemon)"
SMTPD=13050 SINKP=13051
SINK=$T/sink
CL=$T/clamd
mkdir -p "$CL/db" "$CL/tmp"

# ---- a private clamd with one signature ---------------------------------------------------------
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$T/eicar.com"
[ "$(stat -c %s "$T/eicar.com")" = 68 ] || bail "EICAR string is not 68 bytes"
echo "$(md5sum < "$T/eicar.com" | cut -c1-32):68:Offload-Test-EICAR" > "$CL/db/offload-test.hdb"
cat > "$CL/clamd.conf" <<EOF
LocalSocket $CL/clamd.sock
DatabaseDirectory $CL/db
TemporaryDirectory $CL/tmp
Foreground yes
LogFile $CL/clamd.log
StreamMaxLength 1M
AlertExceedsMax yes
EOF
clamd_start() {
	local i
	clamd -c "$CL/clamd.conf" >> "$CL/clamd.out" 2>&1 &
	CLAMD_PID=$!
	_BG_PIDS+=("$CLAMD_PID")
	for ((i = 0; i < 300; i++)); do
		[ -S "$CL/clamd.sock" ] && return 0
		kill -0 "$CLAMD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
clamd_stop() {
	local i
	kill "$CLAMD_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$CLAMD_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$CLAMD_PID" 2>/dev/null
}
clamd_start || bail "clamd start ($(tail -3 "$CL/clamd.out" "$CL/clamd.log" 2>/dev/null))"
ok "private clamd up with one signature (EICAR by MD5 and size)"

S="scan.outgoing=true scan.clamd_socket=$CL/clamd.sock"
conf_write s policy.offload_min_size=10 $S "milter.socket=unix:$T/s/milter.sock"
conf_write um policy.offload_min_size=10 $S scan.on_unscannable=accept-marked scan.on_unavailable=accept-marked
conf_write q policy.offload_min_size=10 $S scan.on_infected=quarantine "milter.socket=unix:$T/q/milter.sock"
run() { "$CTL" -c "$(conf_path "$1")" process; }
export MAILTOOL
files_in() { find "$(store_path "$1")" -type f ! -name keyid ! -name '.*' | wc -l; }

random_file "$T/clean.bin" 50000
random_file "$T/big.bin" 2000000
make_eml "$T/eicar.eml" "Rechnung" "Anbei die Rechnung." "$T/eicar.com" rechnung.com || bail "build eicar.eml"
make_eml "$T/clean.eml" "Plan" "Anbei." "$T/clean.bin" plan.bin || bail "build clean.eml"
make_eml "$T/big.eml" "Gross" "Anbei." "$T/big.bin" gross.bin || bail "build big.eml"

# ---- offloadctl process -------------------------------------------------------------------------
run s < "$T/eicar.eml" > "$T/eicar.out" 2> "$T/eicar.err"; rc=$?
check "process: EICAR attachment rejected (exit 69), nothing on stdout" [ $rc = 69 -a ! -s "$T/eicar.out" ]
check "process: the reply names the attachment and the signature ($(grep ^550 "$T/eicar.err"))" \
	grep -q '^550 5.7.1 .*"rechnung.com" contains malware (Offload-Test-EICAR' "$T/eicar.err"
check "process: nothing stored for the rejected message" [ "$(files_in s)" = 0 ]
check "audit: event=scan infected with the signature, action=reject" \
	bash -c 'grep "event=scan" "$1" | grep "file=rechnung.com" | grep "reasons=infected:Offload-Test-EICAR" | grep -q "action=reject"' _ "$(audit_path s)"
run s < "$T/clean.eml" > "$T/clean.out" 2>/dev/null; rc=$?
check "process: clean attachment offloaded (exit 0)" bash -c '[ "$1" = 0 ] && grep -q "^X-Offload-Transfer:" "$2"' _ "$rc" "$T/clean.out"
rm -rf "$T/o-clean"; ctl_open "$(mail_link "$T/clean.out")" "$T/o-clean" s > /dev/null 2>&1
check "process: the clean attachment opens byte-exact" cmp -s "$T/clean.bin" "$T/o-clean/plan.bin"
check "audit: event=scan clean, action=pass" \
	bash -c 'grep "event=scan" "$1" | grep "file=plan.bin" | grep "reasons=clean" | grep -q "action=pass"' _ "$(audit_path s)"
run s < "$T/big.eml" > /dev/null 2> "$T/big.err"; rc=$?
check "process: 2 MB over StreamMaxLength 1M -> unscannable, rejected (69) ($(grep ^550 "$T/big.err"))" \
	bash -c '[ "$1" = 69 ] && grep -q "too large to be scanned" "$2"' _ "$rc" "$T/big.err"
run um < "$T/big.eml" > "$T/big-um.out" 2>/dev/null; rc=$?
check "process: on_unscannable = accept-marked offloads it, marked in the audit log" \
	bash -c '[ "$1" = 0 ] && grep -q "^X-Offload-Transfer:" "$2" && grep "event=scan" "$3" | grep "reasons=\"\{0,1\}unscannable" | grep -q "action=accept-marked"' \
	_ "$rc" "$T/big-um.out" "$(audit_path um)"
check "process: the accept-marked mail carries X-Offload-Scan: unscanned; files=1; reason=unscannable" \
	bash -c '[ "$($MAILTOOL header "$1" X-Offload-Scan)" = "unscanned; files=1; reason=unscannable" ]' _ "$T/big-um.out"
# body_action offload-message ([VERTRAULICH]): the stored message is scanned, attachments included
make_eml "$T/vs-eicar.eml" "[VERTRAULICH] Rechnung" "Anbei die Rechnung." "$T/eicar.com" rechnung.com || bail "build vs-eicar.eml"
make_eml "$T/vs-clean.eml" "[VERTRAULICH] Plan" "Anbei." "$T/clean.bin" plan.bin || bail "build vs-clean.eml"
n0=$(files_in s)
run s < "$T/vs-eicar.eml" > "$T/vs-eicar.out" 2> "$T/vs-eicar.err"; rc=$?
check "process, whole message (offload-message): EICAR inside is rejected (69, $(grep ^550 "$T/vs-eicar.err"))" \
	bash -c '[ "$1" = 69 ] && grep -q "^550 5.7.1 .*Offload-Test-EICAR" "$2" && [ ! -s "$3" ]' _ "$rc" "$T/vs-eicar.err" "$T/vs-eicar.out"
check "process, whole message: nothing stored for it" [ "$(files_in s)" = "$n0" ]
run s < "$T/vs-clean.eml" > "$T/vs-clean.out" 2> "$T/vs-clean.err"; rc=$?
check "process, whole message clean: offloaded, audit scan clean for the .eml" \
	bash -c '[ "$1" = 0 ] && grep -q "body=offload-message" "$2" && grep "event=scan" "$3" | grep "Plan.eml" | grep -q "reasons=clean"' \
	_ "$rc" "$T/vs-clean.err" "$(audit_path s)"
run q < "$T/eicar.eml" > /dev/null 2> "$T/q.err"; rc=$?
check "process: on_infected = quarantine -> exit 69, 'quarantine' ($(grep ^quarantine "$T/q.err"))" \
	bash -c '[ "$1" = 69 ] && grep -q "^quarantine:" "$2"' _ "$rc" "$T/q.err"

# ---- the milter in a private Postfix ------------------------------------------------------------
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pf || bail "postfix start"
milter_start s || bail "offload-milter start ($(tail -3 "$T/s/milter.log"))"
pf_milter pf "$(conf_socket s)" || bail "set smtpd_milters"
smtp_send "$SMTPD" "$T/eicar.eml" alice@example.org bob@example.net
check "milter: EICAR refused with 550 5.7.1 and a clear text ($SMTP_REPLY)" \
	bash -c '[[ "$1" == 550* ]] && [[ "$1" == *rechnung.com* ]] && [[ "$1" == *Schadsoftware* ]]' _ "$SMTP_REPLY"
smtp_send "$SMTPD" "$T/clean.eml" alice@example.org bob@example.net
check "milter: clean attachment accepted ($SMTP_REPLY)" is250
wait_removed pf "$SMTP_QID" 60
f=$(sink_find "$SINK" alice@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/m-clean.eml"
	rm -rf "$T/o-m"; ctl_open "$(mail_link "$T/m-clean.eml")" "$T/o-m" s > /dev/null 2>&1
	check "milter: the clean attachment was offloaded and opens byte-exact" cmp -s "$T/clean.bin" "$T/o-m/plan.bin"
else
	not_ok "milter: no clean message at the sink"
fi
clamd_stop
smtp_send "$SMTPD" "$T/clean.eml" alice@example.org bob@example.net
check "milter: clamd stopped -> tempfail 451 4.7.1 ($SMTP_REPLY)" bash -c '[[ "$1" == 451[-\ ]4.7.1* ]]' _ "$SMTP_REPLY"
check "audit: event=scan unavailable, action=tempfail" \
	bash -c 'grep "event=scan" "$1" | grep "reasons=\"\{0,1\}unavailable" | grep -q "action=tempfail"' _ "$(audit_path s)"
run um < "$T/clean.eml" > "$T/um.out" 2>/dev/null; rc=$?
check "process: clamd stopped, on_unavailable = accept-marked -> offloaded unscanned (exit 0)" \
	bash -c '[ "$1" = 0 ] && grep -q "^X-Offload-Transfer:" "$2"' _ "$rc" "$T/um.out"
check "process: ... and marked X-Offload-Scan: unscanned; files=1; reason=unavailable" \
	bash -c '[ "$($MAILTOOL header "$1" X-Offload-Scan)" = "unscanned; files=1; reason=unavailable" ]' _ "$T/um.out"
clamd_start || bail "clamd restart"
milter_stop s
milter_start q || bail "offload-milter (quarantine) start"
pf_milter pf "$(conf_socket q)" || bail "set smtpd_milters (quarantine)"
smtp_send "$SMTPD" "$T/eicar.eml" carol@example.org bob@example.net
check "milter, on_infected = quarantine: accepted ($SMTP_REPLY)" is250
held=$(postqueue -c "$(pf_cf pf)" -p 2>/dev/null | grep -c "^${SMTP_QID}!")
check "milter, on_infected = quarantine: Postfix holds $SMTP_QID" [ "$held" = 1 ]
milter_stop q
clamd_stop
finish
