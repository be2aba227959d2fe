#!/bin/bash
# test_archive_hook.sh - the DMS hook ([archive] command, offloadctl archive run): a transfer
# made by `offloadctl process` and one made by offload-milter in a private Postfix
# (127.0.0.1:1313x) each leave one spool entry (0660 less the umask, the JSON description) and the hook runs
# once per transfer; the sample hook (packaging/offload-archive-hook) copies the encrypted
# objects and the escrow object into a drop folder that `offloadctl escrow open --from` opens
# byte-exact after the gateway removed the transfer; a failing hook (exit 1) and a hanging one
# (killed with its process group after [archive] timeout) are retried and never hold up mail;
# two runners at once run each hook once.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
SMTPD=13130 SINKP=13131
SINK=$T/sink
K=$T/keys H=$T/hook DROP=$T/drop
mkdir -p "$K" "$H" "$DROP"
(cd "$K" && "$CTL" escrow keygen escrow.priv escrow.pub >/dev/null) || bail "escrow keygen"

# the test hook: logs "<id> <mode>" to calls, then acts as $H/mode says: ok (the sample
# hook), fail (exit 1), hang (a child that outlives any timeout), slow (ok after a second)
cat > "$H/hook" <<EOF
#!/bin/bash
in=\$(mktemp "$H/in.XXXXXX")
cat > "\$in"
id=\$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "\$in")
mode=\$(cat "$H/mode")
echo "\$id \$mode \${OFFLOAD_CONFIG:-}" >> "$H/calls"
case \$mode in
fail) rm -f "\$in"; echo "hook: archive unreachable" >&2; exit 1 ;;
hang) rm -f "\$in"; sleep 600 & echo \$! > "$H/hang.pid"; wait; exit 0 ;;
slow) sleep 1 ;;
esac
OFFLOADCTL=$CTL "$SRCDIR/packaging/offload-archive-hook" "$DROP" < "\$in"; rc=\$?
rm -f "\$in"
exit \$rc
EOF
chmod +x "$H/hook"
echo ok > "$H/mode"

conf_write a policy.offload_min_size=1k "archive.escrow_public_key=$K/escrow.pub" \
	"archive.command=$H/hook" archive.timeout=2s
# the archive's view: nothing but what --from gives it
conf_write arch "storage.path=$T/arch/no-store"
SPOOL=$T/a/spool/archive
run_ctl() { "$CTL" -c "$(conf_path a)" "$@"; }
id_of() { $MAILTOOL header "$1" X-Offload-Transfer | sed -E 's/^([a-z2-7]{24});.*/\1/'; }
calls() { grep -c "^$1 " "$H/calls" 2>/dev/null; }
calls_ok() { grep -cE "^$1 (ok|slow) " "$H/calls" 2>/dev/null; }
audit_has() { grep "event=archive" "$(audit_path a)" | grep "transfer=$1" | grep -q "action=$2"; }
mkmsg() { random_file "$T/$1.bin" "$2"; make_eml "$T/$1.eml" "$3" "Anbei." "$T/$1.bin" "$1.pdf" application/pdf; }

# ---- offloadctl process: one spool entry, the hook not run yet ---------------------------------
mkmsg plan 300000 "Bauantrag Nr. 7" || bail "build plan.eml"
run_ctl process --sender alice@example.org --rcpt bob@example.net --queue-id 4AB12 \
	< "$T/plan.eml" > "$T/plan.out" 2>"$T/plan.err" || bail "process ($(cat "$T/plan.err"))"
P=$(id_of "$T/plan.out")
check "process: offloaded ($P), one spool entry named by the id, nothing for others, no temporary left" \
	bash -c '[ -n "$1" ] && [ "$(ls -A "$2")" = "$1" ] && m=$(stat -c %a "$2/$1") && [ $((8#$m & 8#707)) = $((8#600)) ]' _ "$P" "$SPOOL"
check "the hook does not run during processing" [ ! -e "$H/calls" ]
checkx "the entry describes the transfer: id, direction, sender, recipients, subject, class, file name, size, SHA-256, expiry, objects" \
	"$PY - '$SPOOL/$P' '$P' '$(sha256 "$T/plan.bin")' '$(store_path a)' <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
f = d['files'][0]
ok = (d['id'] == sys.argv[2] and d['direction'] == 'outgoing' and d['queue_id'] == '4AB12'
      and d['sender'] == 'alice@example.org' and d['recipients'] == ['bob@example.net']
      and d['subject'] == 'Bauantrag Nr. 7' and d['class'] and d['expires'].endswith('Z')
      and f['name'] == 'plan.pdf' and f['size'] == 300000 and f['sha256'] == sys.argv[3]
      and f['object']['key'] == sys.argv[2] + '/0'
      and f['object']['path'] == '%s/%s/%s/0' % (sys.argv[4], sys.argv[2][:2], sys.argv[2])
      and d['manifest']['key'] == sys.argv[2] + '/m' and d['escrow']['key'] == sys.argv[2] + '/e'
      and d['store']['backend'] == 'file' and d['store']['fetch'] == 'path')
sys.exit(0 if ok else 1)
EOF"
check "the entry holds no link secret" bash -c '! grep -q "#" "$1"' _ "$SPOOL/$P"

# a spool that cannot be written costs the archive its copy, never the message
echo file > "$T/not-a-dir"
conf_write b policy.offload_min_size=1k "archive.command=$H/hook" "archive.spool_dir=$T/not-a-dir/archive"
"$CTL" -c "$(conf_path b)" process < "$T/plan.eml" > "$T/b.out" 2> "$T/b.err"; rc=$?
B=$(id_of "$T/b.out")
check "an unusable archive spool: the message is still offloaded (exit $rc, $B), the error logged" \
	bash -c '[ "$1" = 0 ] && [ -n "$2" ] && grep -q "not queued for the archive" "$3"' _ "$rc" "$B" "$T/b.err"

# ---- archive run: the sample hook fills the drop folder -----------------------------------------
run_ctl archive run > "$T/run1.out" 2>&1; rc=$?
check "archive run: exit 0, the hook ran once for $P, the entry is gone ($(cat "$T/run1.out"))" \
	bash -c '[ "$1" = 0 ] && [ "$(grep -c "^$2 ok" "$3/calls")" = 1 ] && [ -z "$(ls -A "$4")" ]' _ "$rc" "$P" "$H" "$SPOOL"
check "the hook got OFFLOAD_CONFIG" grep -q "^$P ok $(conf_path a)\$" "$H/calls"
check "drop folder $P: m, e, the file object 0 and metadata.json" \
	[ "$(ls "$DROP/$P" | tr '\n' ' ')" = "0 e m metadata.json " ]
check "audit: event=archive action=archived transfer=$P" audit_has "$P" archived
run_ctl archive run > /dev/null 2>&1
check "a second run does not run the hook again" [ "$(calls "$P")" = 1 ]

# the gateway forgets the transfer; the archive still opens its copy with the escrow key alone
# (revoke, not purge under faketime, which an ASan build cannot run under)
run_ctl revoke "$P" > /dev/null 2>&1
check "revoke removed the transfer from the store (only the tombstone is left)" \
	[ "$(ls "$(store_path a)/${P:0:2}/$P")" = t ]
"$CTL" -c "$(conf_path arch)" escrow open --key "$K/escrow.priv" --from "$DROP/$P" \
	--output "$T/o-plan" > "$T/o-plan.txt" 2>&1; rc=$?
check "escrow open --from the drop folder: exit $rc, plan.pdf byte-exact ($(head -c 200 "$T/o-plan.txt"))" \
	bash -c '[ "$1" = 0 ] && cmp -s "$2" "$3/plan.pdf"' _ "$rc" "$T/plan.bin" "$T/o-plan"
check "escrow open --from leaves only the files in the output folder" [ "$(ls -A "$T/o-plan")" = plan.pdf ]
check "escrow open --from: the SHA-256 in metadata.json matches the opened file" \
	grep -q "\"sha256\" : \"$(sha256 "$T/o-plan/plan.pdf")\"" "$DROP/$P/metadata.json"

# ---- failing and hanging hooks are retried ------------------------------------------------------
echo fail > "$H/mode"
mkmsg akte 200000 "Akte" || bail "build akte.eml"
run_ctl process < "$T/akte.eml" > "$T/akte.out" 2>/dev/null || bail "process akte"
A=$(id_of "$T/akte.out")
run_ctl archive run > "$T/run2.out" 2>&1; rc=$?
check "a failing hook: archive run exits 75, the entry stays ($(cat "$T/run2.out"))" \
	bash -c '[ "$1" = 75 ] && [ -e "$2/$3" ]' _ "$rc" "$SPOOL" "$A"
check "audit: action=failed reasons=\"exit 1\"" bash -c 'grep "transfer=$2" "$1" | grep "action=failed" | grep -q "reasons=\"exit 1\""' _ "$(audit_path a)" "$A"
run_ctl archive run > "$T/run3.out" 2>&1
check "the next run waits for the backoff: the hook is not run again ($(cat "$T/run3.out"))" [ "$(calls "$A")" = 1 ]
echo hang > "$H/mode"
run_ctl archive run --force > "$T/run4.out" 2>&1; rc=$?
check "a hanging hook: archive run returns with 75 after [archive] timeout, the entry stays" \
	bash -c '[ "$1" = 75 ] && [ -e "$2/$3" ]' _ "$rc" "$SPOOL" "$A"
# gone or a zombie (SIGKILL is delivered asynchronously; the orphan's reaper may be slow)
dead() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
HP=$(cat "$H/hang.pid" 2>/dev/null)
for ((i = 0; i < 100; i++)); do [ -n "$HP" ] && dead "$HP" && break; sleep 0.05; done
check "the hanging hook's whole process group was killed (its child $HP too)" \
	bash -c '[ -n "$1" ] && { ! kill -0 "$1" 2>/dev/null || [ "$(awk "{print \$3}" "/proc/$1/stat")" = Z ]; }' _ "$HP"
check "audit: action=timeout" audit_has "$A" timeout
echo ok > "$H/mode"
run_ctl archive run --force > /dev/null 2>&1; rc=$?
check "once the hook works: exit 0, archived, the entry is gone, the drop folder has it" \
	bash -c '[ "$1" = 0 ] && [ ! -e "$2/$3" ] && [ -s "$4/$3/0" ]' _ "$rc" "$SPOOL" "$A" "$DROP"
check "3 attempts for $A (fail, hang, ok), one of them successful" [ "$(calls "$A")" = 3 -a "$(calls_ok "$A")" = 1 ]

# ---- two runners at once ---------------------------------------------------------------------------
echo slow > "$H/mode"
IDS=()
for n in 1 2 3; do
	mkmsg "c$n" 50000 "Parallel $n" || bail "build c$n.eml"
	run_ctl process < "$T/c$n.eml" > "$T/c$n.out" 2>/dev/null || bail "process c$n"
	IDS+=("$(id_of "$T/c$n.out")")
done
run_ctl archive run > "$T/r1.out" 2>&1 & p1=$!
run_ctl archive run > "$T/r2.out" 2>&1 & p2=$!
wait $p1; wait $p2
once=1
for id in "${IDS[@]}"; do [ "$(calls "$id")" = 1 ] || once=0; done
check "two runners at once: each of 3 transfers archived exactly once ($(cat "$T/r1.out") / $(cat "$T/r2.out"))" \
	bash -c '[ "$1" = 1 ] && [ -z "$(ls -A "$2")" ]' _ "$once" "$SPOOL"

# ---- the milter: mail is delivered while the hook fails ------------------------------------------
echo fail > "$H/mode"
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pf || bail "postfix start"
milter_start a || bail "offload-milter start ($(tail -3 "$T/a/milter.log"))"
pf_milter pf "$(conf_socket a)" || bail "set smtpd_milters"
random_file "$T/scan.tif" $((2 * 1024 * 1024))
make_eml "$T/m.eml" "Scan per SMTP" "Anbei." "$T/scan.tif" scan.tif image/tiff || bail "build m.eml"
smtp_send "$SMTPD" "$T/m.eml" alice@example.org bob@example.net
check "milter: message accepted while the hook fails ($SMTP_REPLY)" is250
wait_removed pf "$SMTP_QID" 60
f=$(sink_find "$SINK" alice@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/m.out.eml"
	M=$(id_of "$T/m.out.eml")
	check "milter: delivered rewritten ($M), one spool entry for it with the queue id" \
		bash -c '[ -n "$1" ] && [ "$(ls -A "$2")" = "$1" ] && grep -q "\"queue_id\" : \"$3\"" "$2/$1"' _ "$M" "$SPOOL" "$SMTP_QID"
	run_ctl archive run > /dev/null 2>&1; rc=$?
	check "the failing hook: 75, the entry stays" bash -c '[ "$1" = 75 ] && [ -e "$2/$3" ]' _ "$rc" "$SPOOL" "$M"
	echo ok > "$H/mode"
	run_ctl archive run --force > /dev/null 2>&1; rc=$?
	check "retried: archived once ($(calls "$M") attempts)" \
		bash -c '[ "$1" = 0 ] && [ "$2" = 1 ] && [ ! -e "$3/$4" ]' _ "$rc" "$(calls_ok "$M")" "$SPOOL" "$M"
	"$CTL" -c "$(conf_path arch)" escrow open --key "$K/escrow.priv" --from "$DROP/$M" \
		--output "$T/o-milter" > /dev/null 2>&1; rc=$?
	check "the milter transfer's drop folder opens with the escrow key: scan.tif byte-exact" \
		bash -c '[ "$1" = 0 ] && cmp -s "$2" "$3/scan.tif"' _ "$rc" "$T/scan.tif" "$T/o-milter"
else
	not_ok "milter: no message at the sink"
fi
milter_stop a
finish
