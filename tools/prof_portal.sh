#!/bin/bash
# tools/prof_portal.sh [BUILD] - where offload-portal spends its work on a big download (issue 15
# "portal"), against nginx serving a same-size file with sendfile (what bench section 2b times).
# Offloads one PROF_MB (default 1024) MB attachment with the build's offloadctl (file backend),
# then downloads it PROF_RUNS (default 3) times with curl from each server, alternating, and
# prints per GiB: the server's CPU seconds (perf stat task-clock attached to it: user + kernel,
# all threads; holds better than wall time on a busy machine), its context switches, curl's CPU
# seconds, and the median wall time. Ports 13090-13091.
# PROF_PORTALS="A B": several offload-portal binaries (A/B of a change), each run in turn on the
#   same store (default: the build's);
# PROF_RECORD=1: also `perf record -g` (cpu-clock) of the first portal for one download and its
#   top PROF_TOP (25) symbols (self), kept in $PROF_OUT (default /tmp/prof-portal.data);
# PROF_STRACE=1: also system calls of each portal for one download (strace -c -f);
# PROF_NICE=-20: servers and curl run at that nice level, and so does this session's autogroup
#   (root; run it under setsid so the session is its own): wall times nearer those of a quiet
#   machine while other jobs keep the cores busy.
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD=${1:-build}
. tests/integration/lib.sh
need_bins "$CTL" "$BUILD/offload-portal"
command -v perf >/dev/null && command -v nginx >/dev/null || bail "perf and nginx needed"
MB=${PROF_MB:-1024} RUNS=${PROF_RUNS:-3} PPORT=13090 NPORT=13091
NICE=()
if [ -n "${PROF_NICE:-}" ]; then
	NICE=(nice -n "$PROF_NICE")
	echo "$PROF_NICE" > /proc/self/autogroup 2>/dev/null || note "autogroup nice not set"
fi
read -r -a PORTALS <<< "${PROF_PORTALS:-$BUILD/offload-portal}"
conf_write p policy.offload_min_size=1M portal.listen=127.0.0.1:$PPORT portal.url=http://127.0.0.1:$PPORT \
	"portal.ticket_key_file=$T/p/ticket.key"
mkdir -p "$T/ngx/www" "$T/ngx/logs"
head -c "${MB}M" /dev/urandom > "$T/ngx/www/p.bin"
$PY tools/bench_mkmsg.py - "$T/ngx/www/p.bin" | "$CTL" -c "$(conf_path p)" process > "$T/out.eml" || bail "offload"
link=$($PY tools/bench_link.py "$T/out.eml")
[ -n "$link" ] || bail "no link in the offloaded message"
printf 'daemon off; pid %s/ngx/nginx.pid; error_log %s/ngx/logs/error.log;
events {}
http { access_log off; sendfile on; server { listen 127.0.0.1:%s; root %s/ngx/www; } }
' "$T" "$T" "$NPORT" "$T" > "$T/ngx/nginx.conf"
"${NICE[@]}" nginx -c "$T/ngx/nginx.conf" -p "$T/ngx" 2>/dev/null & NGX=$!; _BG_PIDS+=($NGX)
waitport $NPORT 200 || bail "nginx start"
NGXP=$(pgrep -d, -P "$NGX"); NGXP=$NGX${NGXP:+,$NGXP}  # master and worker

portal_start() {  # portal_start BIN: start it, unlock the transfer; sets PPID_ and URL
	"${NICE[@]}" "$1" -c "$(conf_path p)" -f >> "$T/portal.log" 2>&1 & PPID_=$!; _BG_PIDS+=($PPID_)
	waitport $PPORT 200 || bail "portal start"
	local id=${link##*/t/} sec; sec=${id#*#}; id=${id%%#*}
	curl -s -X POST -H 'Content-Type: application/json' --data "{\"secret\":\"$sec\"}" \
		"http://127.0.0.1:$PPORT/t/$id/unlock" > "$T/unlock.json"
	URL=http://127.0.0.1:$PPORT$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["url"])' "$T/unlock.json")
}
portal_stop() { kill "$PPID_"; wait "$PPID_" 2>/dev/null; }
# measure NAME PID URL: one download of URL under perf stat attached to PID; appends
# "cpu_s cs wall_s curl_cpu_s" to $T/m-NAME
measure() {
	perf stat -x, -e task-clock,context-switches -p "$2" -o "$T/perf.out" & local P=$! t0
	sleep 0.3; t0=$(now)
	"${NICE[@]}" /usr/bin/time -f "%U %S" -o "$T/curl.time" curl -s -o /dev/null "$3"
	local w; w=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	sleep 0.2; kill -INT $P; wait $P 2>/dev/null
	awk -F, -v w="$w" -v c="$(awk '{ print $1 + $2 }' "$T/curl.time")" '$3 ~ /task-clock/ { t = $1 / 1000 }
		$3 ~ /context-switches/ { cs = $1 } END { printf "%.3f %d %s %s\n", t, cs, w, c }' "$T/perf.out" >> "$T/m-$1"
}
med() { sort -n | awk '{ v[NR] = $1 } END { printf "%s %s", v[int((NR + 1) / 2)], v[1] }'; }  # median min
report() {  # report NAME LABEL: medians (and minima) per GiB
	local g c w u s
	g=$(awk -v mb="$MB" 'BEGIN { print mb / 1024 }')
	c=$(cut -d' ' -f1 "$T/m-$1" | med) s=$(cut -d' ' -f2 "$T/m-$1" | med)
	w=$(cut -d' ' -f3 "$T/m-$1" | med) u=$(cut -d' ' -f4 "$T/m-$1" | med)
	echo "$2 (median/min of $(wc -l < "$T/m-$1") per GiB):"
	awk -v g="$g" -v c="$c" -v s="$s" -v w="$w" -v u="$u" 'BEGIN { split(c, C, " "); split(s, S, " ")
		split(w, W, " "); split(u, U, " ")
		printf "  wall %.3f/%.3f s, server CPU %.3f/%.3f s, %d/%d context switches, curl CPU %.3f/%.3f s\n",
			W[1] / g, W[2] / g, C[1] / g, C[2] / g, S[1] / g, S[2] / g, U[1] / g, U[2] / g }'
}
curl -s -o /dev/null "http://127.0.0.1:$NPORT/p.bin"  # page cache warm
for ((r = 0; r < RUNS; r++)); do
	measure nginx "$NGXP" "http://127.0.0.1:$NPORT/p.bin"
	for i in "${!PORTALS[@]}"; do
		portal_start "${PORTALS[$i]}"
		[ "$r" = 0 ] && curl -s -o /dev/null "$URL"  # warm
		measure "portal$i" "$PPID_" "$URL"
		portal_stop
	done
done
echo "${MB} MB download, $RUNS runs alternating, load average $(cut -d' ' -f1 /proc/loadavg):"
report nginx "nginx (sendfile)"
for i in "${!PORTALS[@]}"; do report "portal$i" "portal ${PORTALS[$i]}"; done
if [ "${PROF_RECORD:-0}" = 1 ]; then
	portal_start "${PORTALS[0]}"
	perf record -e cpu-clock -g -o "${PROF_OUT:-/tmp/prof-portal.data}" -p "$PPID_" 2>/dev/null & P=$!
	sleep 0.3; curl -s -o /dev/null "$URL"; kill -INT $P; wait $P 2>/dev/null
	portal_stop
	perf report -i "${PROF_OUT:-/tmp/prof-portal.data}" --no-children --stdio --sort symbol 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -"${PROF_TOP:-25}"
fi
if [ "${PROF_STRACE:-0}" = 1 ]; then
	for i in "${!PORTALS[@]}"; do
		portal_start "${PORTALS[$i]}"
		strace -c -f -p "$PPID_" -o "$T/strace.out" & P=$!
		sleep 0.5; curl -s -o /dev/null "$URL"; sleep 0.2; kill -INT $P; wait $P 2>/dev/null
		portal_stop
		echo "system calls of portal ${PORTALS[$i]} for one download:"
		sed -n '1,/^---.*total/p' "$T/strace.out" | head -20
	done
fi
