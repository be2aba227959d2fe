#!/bin/bash
# tools/bench_scaleout.sh [BUILD] - `make bench` section 7: throughput of two nodes against one
# for BENCH_SCALE_MB (default 20) MB attachments (issue 15, ARCHITECTURE.md "Scale-out").
# A node is a private Postfix with its own offload-milter; both write into one bucket of a
# private Swift s3api (tests/integration/swift.sh) with one deployment key. Each measurement
# submits BENCH_SCALE_MSGS (default 8) messages at once by SMTP (curl) and takes the time until
# the last 250 after DATA (the milter has stored the attachment by then): one node gets all
# of them, two nodes half each. Rounds (BENCH_SCALE_ROUNDS, default 3) alternate the order;
# medians. Each milter is pinned to one core (node A cpu 0, node B cpu 1; BENCH_SCALE_PIN=0:
# not pinned), so "one node" cannot use the second core for its milter: the nodes stand for
# machines of one core each. Postfix and Swift are not pinned, and all of it shares this
# machine's cores (and other jobs' load), so the second node's gain is bounded by them: the
# printed CPU seconds (milters, Swift) and the load average say how busy the cores were.
# Ports 13070-13077. Prints rates and the ratio; asserts nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD=${1:-build}
. tests/integration/lib.sh
need_bins "$MILTER_BIN"
SMB=${BENCH_SCALE_MB:-20} NMSG=${BENCH_SCALE_MSGS:-8} ROUNDS=${BENCH_SCALE_ROUNDS:-3} PIN=${BENCH_SCALE_PIN:-1}
SWP=13070 PFA=13075 PFB=13076 SINKP=13077
EP=http://127.0.0.1:$SWP BUCKET=offload-scale SD=$T/swift SW="bash tests/integration/swift.sh"
trap '$SW stop "$SD" $SWP >/dev/null 2>&1; _lib_cleanup' EXIT

if ! { $SW setup "$SD" $SWP && $SW start "$SD" $SWP; } > "$T/swift.log" 2>&1; then
	echo "two nodes vs one skipped: Swift did not start ($(tail -2 "$T/swift.log" | tr '\n' ' '); tools/deps/s3.apt)"
	exit 0
fi
printf 'machine 127.0.0.1 login test:tester password testing\n' > "$T/netrc"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
for i in $(seq 1 20); do
	[ "$(curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" -H "x-amz-content-sha256: $EMPTY" \
		-o /dev/null -w '%{http_code}' -X PUT "$EP/$BUCKET")" = 200 ] && break
	sleep 0.5
done
mkdir -p "$T/keys"
openssl rand -hex 32 > "$T/keys/deployment.key"; chmod 600 "$T/keys/deployment.key"
printf '[credentials]\naccess_key = test:tester\nsecret_key = testing\n' > "$T/keys/creds"; chmod 600 "$T/keys/creds"
NODES=(a b); PFPORT=([0]=$PFA [1]=$PFB); MPID=()
for i in 0 1; do
	n=${NODES[$i]}
	conf_write "$n" storage.backend=s3 "storage.endpoint=$EP" "storage.bucket=$BUCKET" \
		"storage.credentials_file=$T/keys/creds" "security.deployment_key_file=$T/keys/deployment.key" \
		notify.confirm=false milter.max_message_size=1G
	pf_setup "$n" "${PFPORT[$i]}" "$SINKP" >/dev/null || bail "postfix $n setup"
	postconf -c "$(pf_cf "$n")" -e "smtpd_milters = $(conf_socket "$n")" || bail "postfix $n milter"
	milter_start "$n" || bail "milter $n start ($(tail -2 "$T/$n/milter.log"))"
	MPID[$i]=$MILTER_PID
	[ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && taskset -acp "$i" "$MILTER_PID" >/dev/null
done
smtp-sink -u nobody "127.0.0.1:$SINKP" 1000 2>/dev/null & _SINK_PIDS+=($!)
waitport "$SINKP"; pf_start a || bail "postfix a start"; pf_start b || bail "postfix b start"

$PY - "$T/msg.eml" "$SMB" <<'PYEOF'
import base64, os, sys
with open(sys.argv[1], "wb") as o:
    o.write(b"From: a@example.gov\r\nTo: b@example.net\r\nSubject: scale\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"bb\"\r\n\r\n--bb\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            b"--bb\r\nContent-Type: application/octet-stream; name=\"p.bin\"\r\n"
            b"Content-Disposition: attachment; filename=\"p.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
    o.write(base64.encodebytes(os.urandom(int(sys.argv[2]) << 20)).replace(b"\n", b"\r\n"))
    o.write(b"--bb--\r\n")
PYEOF
cpu() { local st; read -r -a st < "/proc/$1/stat"; echo $((st[13] + st[14])); }
swcpu() {  # CPU ticks of the Swift processes (pid files of swift.sh)
	local f s=0; for f in "$SD"/run/*.pid; do [ -f "$f" ] && s=$((s + $(cpu "$(cat "$f")" 2>/dev/null || echo 0))); done; echo $s
}
# run NODES: NMSG messages at once, spread over the first NODES nodes; prints messages/s and
# sets RUN_ERR when a message was not accepted and offloaded
run() {
	local k=$1 i pids=() t0 t1 bad=0 f
	for ((i = 0; i < NMSG; i++)); do
		curl -s --max-time 600 "smtp://127.0.0.1:${PFPORT[$((i % k))]}" --mail-from a@example.org \
			--mail-rcpt b@example.net -T "$T/msg.eml" > /dev/null 2>&1 &
		pids+=($!)
	done
	t0=$(now)
	for f in "${pids[@]}"; do wait "$f" || bad=$((bad + 1)); done
	t1=$(now)
	[ $bad = 0 ] || RUN_ERR="$bad of $NMSG messages not accepted"
	awk -v n="$NMSG" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", n / ((b - a) / 1e9) }'
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
R1="" R2="" RUN_ERR=""
c0=$(( $(cpu "${MPID[0]}") + $(cpu "${MPID[1]}") )); s0=$(swcpu); w0=$(now)
for ((r = 1; r <= ROUNDS; r++)); do
	if [ $((r % 2)) = 1 ]; then x=$(run 1); y=$(run 2); else y=$(run 2); x=$(run 1); fi
	R1="$R1 $x" R2="$R2 $y"
done
hz=$(getconf CLK_TCK)
c1=$(( $(cpu "${MPID[0]}") + $(cpu "${MPID[1]}") - c0 )); s1=$(( $(swcpu) - s0 ))
m1=$(median <<<"$R1") m2=$(median <<<"$R2")
echo "two nodes vs one: $NMSG messages with a $SMB MB attachment at once, by SMTP into Postfix + offload-milter, one Swift s3api bucket (median of $ROUNDS; milters $([ "$PIN" = 1 ] && echo "pinned to one core each" || echo "not pinned"); load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores):"
[ -n "$RUN_ERR" ] && echo "  FAILED: $RUN_ERR (maillogs: $(grep -h 'reject' "$(pf_log a)" "$(pf_log b)" | tail -1))"
awk -v a="$m1" -v b="$m2" -v mb="$SMB" 'BEGIN { printf "  one node %.2f msg/s (%.0f MB/s of attachments), two nodes %.2f msg/s (%.0f MB/s)\n  ratio two/one = %.2f\n", a, a * mb, b, b * mb, b / a }'
echo "  per round msg/s: one node${R1}; two nodes${R2}"
off=$(cat "$(audit_path a)" "$(audit_path b)" 2>/dev/null | grep -c 'event=message')
[ "$off" = $((2 * ROUNDS * NMSG)) ] || echo "  NOT VALID: the audit logs show $off offloaded messages of $((2 * ROUNDS * NMSG))"
awk -v c="$c1" -v s="$s1" -v hz="$hz" -v n="$((2 * ROUNDS * NMSG))" -v w="$w0" -v e="$(now)" \
	'BEGIN { printf "  CPU (user+sys) over all %d messages in %.0f s: milters %.1f s (%.2f s per message), Swift %.1f s\n", n, (e - w) / 1e9, c / hz, c / hz / n, s / hz }'
