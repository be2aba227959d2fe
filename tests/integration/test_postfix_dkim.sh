#!/bin/bash
# test_postfix_dkim.sh - `offloadctl postfix-setup --apply` on a private Postfix that already
# has opendkim as its milter: the lists become offload then opendkim, `postfix check` passes,
# and an offloaded mail arrives at the sink with a DKIM signature that verifies (dkimpy, with
# the public key from opendkim-genkey instead of DNS). Ports 127.0.0.1:1272x.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
command -v opendkim >/dev/null && command -v opendkim-genkey >/dev/null || bail "opendkim missing (tools/install-deps.sh)"
SMTPD=12720 SINKP=12721 MPORT=12722 DPORT=12723
SINK=$T/sink
conf_write m "milter.socket=inet:$MPORT@127.0.0.1" "policy.offload_min_size=1M" "policy.internal_domains=offload.test"
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
mkdir -p "$T/dkim"
opendkim-genkey -D "$T/dkim" -d offload.test -s sel || bail "opendkim-genkey"
cat > "$T/dkim/opendkim.conf" <<CF
Domain offload.test
Selector sel
KeyFile $T/dkim/sel.private
Socket inet:$DPORT@127.0.0.1
Mode s
Canonicalization relaxed/relaxed
InternalHosts 127.0.0.1
RequireSafeKeys no
Background no
Syslog no
PidFile $T/dkim/opendkim.pid
CF
opendkim -x "$T/dkim/opendkim.conf" -f >"$T/dkim/opendkim.log" 2>&1 &
_BG_PIDS+=($!)
waitport "$DPORT" || bail "opendkim start ($(tail -3 "$T/dkim/opendkim.log"))"
pf_start pf || bail "postfix start"
pf_milter pf "inet:127.0.0.1:$DPORT" || bail "opendkim as the only milter"
milter_start m || bail "offload-milter start"

"$CTL" -c "$(conf_path m)" postfix-setup --postfix-dir "$(pf_cf pf)" --apply > "$T/setup.out" 2>&1; rc=$?
checkx "postfix-setup --apply and postfix check pass (exit $rc)" '[ $rc = 0 ] && grep -q "^postfix .*check" "$T/setup.out"'
checkx "smtpd_milters: offload then opendkim" \
	'[ "$(postconf -c "$(pf_cf pf)" -h smtpd_milters)" = "inet:127.0.0.1:$MPORT, inet:127.0.0.1:$DPORT" ]'
checkx "non_smtpd_milters: offload then opendkim" \
	'[ "$(postconf -c "$(pf_cf pf)" -h non_smtpd_milters)" = "inet:127.0.0.1:$MPORT, inet:127.0.0.1:$DPORT" ]'
pf_reload pf || bail "postfix reload"

random_file "$T/plan.pdf" $((2 * 1024 * 1024))
make_eml "$T/big.eml" "Plan" "Guten Tag, anbei der Plan." "$T/plan.pdf" plan.pdf application/pdf || bail "message"
sed -i 's/^From: .*/From: alice@offload.test/' "$T/big.eml"
smtp_send "$SMTPD" "$T/big.eml" alice@offload.test bob@example.net
check "accepted ($SMTP_REPLY)" is250
wait_removed pf "$SMTP_QID" 60
f=$(sink_find "$SINK" alice@offload.test)
[ -n "$f" ] || bail "no mail at the sink"
sink_eml "$f" "$T/out.eml"
check "offloaded (X-Offload-Transfer, under 1 MiB)" \
	bash -c 'grep -q "^X-Offload-Transfer:" "$1" && [ "$(stat -c %s "$1")" -lt 1048576 ]' _ "$T/out.eml"
check "DKIM-Signature by opendkim (d=offload.test, s=sel)" \
	bash -c 'grep -A3 "^DKIM-Signature:" "$1" | tr -d "\n\t " | grep -q "d=offload.test;s=sel"' _ "$T/out.eml"
$PY - "$T/out.eml" "$T/dkim/sel.txt" > "$T/verify.out" 2>&1 <<'PYEOF'
import re, sys, dkim
msg = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
txt = b"".join(re.findall(rb'"([^"]*)"', open(sys.argv[2], "rb").read()))
ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: txt)
print("verify", ok)
sys.exit(0 if ok else 1)
PYEOF
check "DKIM signature over the rewritten mail verifies ($(cat "$T/verify.out" | tail -1))" [ "$(tail -1 "$T/verify.out")" = "verify True" ]
finish
