#!/bin/bash
# tools/prof_smallmail.sh [BUILD] - where offload-milter spends its work on small mail (issue 15
# "small mail"): one private Postfix with the milter (unix socket), PROF_MSGS (default 500)
# messages of 10 KB by smtp-source (10 sessions). Counts instructions, not time, so the numbers
# hold on a busy machine:
#  - instructions per message: `perf stat` attached to the milter (user and kernel, with its
#    task-clock); where perf cannot count instructions (no PMU, e.g. a VM) or PROF_CALLGRIND=1,
#    the milter runs under valgrind --tool=callgrind, dumping its counts after every
#    connection's close callback: the sum over the measured connections / their number
#    (user-space instructions; under callgrind at most PROF_CG_MSGS, default 100), with the
#    PROF_TOP (15) functions that cost the most per message (self cost);
#  - system calls per message by name: `strace -c -f` attached to the milter.
# PROF_MILTER: another offload-milter binary (A/B), or any program taking "-f -c CONF";
# PROF_FLOOR=1 (with PROF_SYSCALLS_ONLY=1): the floor, tools/bench_nullmilter.c "small" (built, a
# wrapper starts it on CONF's socket); PROF_CONF: extra offload.conf settings; PROF_PF: extra main.cf
# settings (name=value;...); PROF_SYSCALLS_ONLY=1: no callgrind (perf stat's task-clock per
# message and the system calls).
# Ports 13080-13081.
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD=${1:-build}
. tests/integration/lib.sh
MILTER_BIN=${PROF_MILTER:-$MILTER_BIN}
if [ "${PROF_FLOOR:-0}" = 1 ]; then
	cc -O2 -o "$T/nullmilter" tools/bench_nullmilter.c -lmilter -lpthread || bail "null milter build"
	printf '#!/bin/sh\nexec "%s" "$(sed -n "s/^socket = //p" "$3" | head -1)" small\n' "$T/nullmilter" > "$T/floor.sh"
	chmod +x "$T/floor.sh"; MILTER_BIN=$T/floor.sh
fi
MBIN=$MILTER_BIN
need_bins "$MILTER_BIN"
command -v perf >/dev/null && command -v strace >/dev/null || bail "perf and strace needed"
N=${PROF_MSGS:-500} SMTPD=13080 SINKP=13081
# shellcheck disable=SC2086
conf_write s ${PROF_CONF:-}
pf_setup ps "$SMTPD" "$SINKP" >/dev/null || bail "postfix setup"
postconf -c "$(pf_cf ps)" -e "smtpd_milters = $(conf_socket s)" || bail "postfix milter"
if [ -n "${PROF_PF:-}" ]; then
	IFS=';' read -r -a kv <<<"$PROF_PF"
	postconf -c "$(pf_cf ps)" -e "${kv[@]}" || bail "PROF_PF"
fi
smtp-sink -u nobody "127.0.0.1:$SINKP" 1000 2>/dev/null & _SINK_PIDS+=($!)
waitport "$SINKP"; pf_start ps || bail "postfix start"
milter_start s || bail "milter start"
send() {  # send N: N messages, wait until Postfix relayed them all
	local log before; log=$(pf_log ps)
	before=$(grep -c 'status=sent' "$log")
	smtp-source -s 10 -m "$1" -l 10240 -f s@example.org -t r@example.net "127.0.0.1:$SMTPD" 2>/dev/null
	local t0; t0=$(now)
	while [ $(($(grep -c 'status=sent' "$log") - before)) -lt "$1" ]; do
		sleep 0.1
		[ $((($(now) - t0) / 1000000000)) -gt 300 ] && bail "messages not relayed within 300 s (see $log)"
	done
}
send 20   # warm up: sessions, caches
if [ "${PROF_SYSCALLS_ONLY:-0}" = 1 ]; then
	PROF_CALLGRIND=0  # perf stat still gives the task-clock (instructions may print as 0)
elif perf stat -x, -e instructions:u true 2>&1 | grep -q '^<not'; then
	note "perf cannot count instructions here (no PMU, e.g. a VM): counting with callgrind instead"
	PROF_CALLGRIND=1
fi
if [ "${PROF_CALLGRIND:-0}" = 0 ]; then
	perf stat -x, -e instructions:u,instructions:k,task-clock,context-switches,page-faults -p "$MILTER_PID" -o "$T/perf.out" & P=$!
	sleep 0.5; send "$N"; kill -INT $P; wait $P 2>/dev/null
	awk -F, -v n="$N" -v who="$([ "${PROF_FLOOR:-0}" = 1 ] && echo "null milter (floor)" || echo offload-milter)" '$3 ~ /instructions:u/ { u = $1 } $3 ~ /instructions:k/ { k = $1 } $3 ~ /task-clock/ { c = $1 }
		$3 ~ /context-switches/ { cs = $1 } $3 ~ /page-faults/ { pf = $1 }
		END { printf "%s per small message (%d messages): %.0f instructions user, %.0f kernel, %.3f ms task-clock, %.1f context switches, %.1f page faults\n", who, n, u / n, k / n, c / n, cs / n, pf / n }' "$T/perf.out"
else
	CN=${PROF_CG_MSGS:-100}; [ "$CN" -gt "$N" ] && CN=$N
	milter_stop s; mkdir -p "$T/cg"
	printf '#!/bin/sh\nexec valgrind --tool=callgrind --dump-after=mlfi_close --callgrind-out-file=%s/cg/out "%s" "$@"\n' \
		"$T" "$MBIN" > "$T/vg.sh"
	chmod +x "$T/vg.sh"
	rm -f "$(conf_socket s | sed 's/^unix://')"
	(umask 0; exec "$T/vg.sh" -f -c "$(conf_path s)") >> "$T/s/milter.log" 2>&1 &
	MILTER_PID=$!; _MILTER_PIDS+=("$MILTER_PID"); _MILTER_PID_s=$MILTER_PID
	sock=$(conf_socket s); sock=${sock#unix:}   # valgrind starts slowly: up to 2 minutes
	for i in $(seq 600); do [ -S "$sock" ] && break; sleep 0.2; done
	[ -S "$sock" ] || bail "milter under callgrind ($(tail -3 "$T/s/milter.log"))"
	send 20; sleep 1
	k0=$(find "$T/cg" -name 'out.*' | wc -l)
	send "$CN"
	for i in $(seq 100); do [ "$(find "$T/cg" -name 'out.*' | wc -l)" -ge $((k0 + CN)) ] && break; sleep 0.2; done
	$PY - "$T/cg" "$k0" "$CN" "${PROF_TOP:-15}" <<'PYEOF'
import collections, glob, re, subprocess, sys
d, k0, n, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
files = sorted(glob.glob(d + "/out.*"), key=lambda f: int(f.rsplit(".", 1)[1]))[k0:k0 + n]
tot, fn = 0, collections.Counter()
for f in files:
    for line in open(f, errors="replace"):
        if line.startswith("totals:") or line.startswith("summary:"):
            tot += int(line.split()[1]); break
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", "--auto=no", f],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"^\s*([0-9,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
        if m and ":" in m.group(2) and "PROGRAM TOTALS" not in line:
            fn[m.group(2).split(" [")[0]] += int(m.group(1).replace(",", ""))
k = max(len(files), 1)
print("offload-milter per small message (%d connections, callgrind): %.0f instructions (user space)" % (len(files), tot / k))
for name, v in fn.most_common(top):
    print("  %9.0f  %s" % (v / k, name))
au = sum(v for name, v in fn.items() if "/audit" in name)
print("  %9.0f  common/audit*.c (self, all functions)" % (au / k))
PYEOF
	milter_stop s; rm -rf "$T/cg"; rm -f "$(conf_socket s | sed 's/^unix://')"
	MILTER_BIN=$MBIN; milter_start s || bail "milter restart"
	send 20
fi
strace -c -f -p "$MILTER_PID" -o "$T/strace.out" 2>/dev/null & P=$!
sleep 0.5; send "$N"; kill -INT $P; wait $P 2>/dev/null
syscalls() { awk '$1 ~ /^[0-9.]+$/ && $NF ~ /^[a-z_0-9]+$/ && $NF != "total" { print $NF, $4 }' "$T/strace.out"; }
echo "system calls per message (strace -c -f, $N messages): $(syscalls | awk -v n="$N" '{ t += $2 } END { printf "%.1f", t / n }')"
syscalls | sort -k2 -nr | awk -v n="$N" '{ printf "  %-18s %6.2f\n", $1, $2 / n }'
