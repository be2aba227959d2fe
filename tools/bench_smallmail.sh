#!/bin/bash
# tools/bench_smallmail.sh [BUILD] - `make bench` section 3 alone, repeated: small-mail
# throughput through one private Postfix without a milter and with one or more
# offload-milter binaries, interleaved round by round (the order alternates), medians at the
# end. For A/B comparisons on a busy machine, where a single run means little.
#   BENCH_ROUNDS (5)  rounds; each round measures every configuration once
#   BENCH_MSGS (1000) messages per measurement (smtp-source -s 10 -l 10240, as make bench)
#   BENCH_MILTERS     space-separated offload-milter binaries (default: BUILD's)
#   BENCH_SOCKET      unix (default) | inet
#   BENCH_CONF        extra offload.conf settings (group.key=value ...)
#   BENCH_PF          extra main.cf settings for the Postfix instance (name=value;...)
#   BENCH_FLOOR=1     also measure the floor: tools/bench_nullmilter.c in its "small" mode (the
#                     same negotiated protocol steps, no work, message unchanged), unix socket
#   BENCH_TRACE       print each measurement's start and end time (CLOCK_REALTIME) on stderr
#                     (to cut a `perf record -a -k CLOCK_REALTIME` profile by configuration)
#   BENCH_PFCPU=1     also the CPU time Postfix itself used per message in each configuration
#                     (user+sys of the master's children: smtpd, cleanup, qmgr, smtp, ...; those
#                     that exit are counted through the master's cutime/cstime): the part of a
#                     milter's cost that is paid by Postfix, less load-dependent than msg/s; and
#                     that of smtp-source and smtp-sink (the same work in every configuration)
# Ports 13020-13029. Prints each rate, the medians, the ratio of the medians, the ratio within
# each round (its legs ran back to back: steadier than the medians when the machine's load
# drifts) with their median, and the CPU each milter used per message (user+sys, all rounds).
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD=${1:-build}
. tests/integration/lib.sh
ROUNDS=${BENCH_ROUNDS:-5}; MSGS=${BENCH_MSGS:-1000}
read -r -a MILTERS <<<"${BENCH_MILTERS:-$MILTER_BIN}"
need_bins "${MILTERS[@]}"
SMTPD=13020 SINKP=13021

pf_setup bs "$SMTPD" "$SINKP" >/dev/null || bail "postfix setup"
if [ -n "${BENCH_PF:-}" ]; then
	IFS=';' read -r -a kv <<<"$BENCH_PF"
	postconf -c "$(pf_cf bs)" -e "${kv[@]}" || bail "BENCH_PF"
fi
smtp-sink -u nobody "127.0.0.1:$SINKP" 1000 2>/dev/null & _SINK_PIDS+=($!); SINKPID=$!
waitport "$SINKP"; pf_start bs || bail "postfix start"

SPECS=(""); PIDS=(0)
for i in "${!MILTERS[@]}"; do
	if [ "${BENCH_SOCKET:-unix}" = inet ]; then
		port=$((13022 + i)); msock=inet:$port@127.0.0.1; mspec=inet:127.0.0.1:$port
	else
		msock=unix:$T/m$i/milter.sock; mspec=$msock
	fi
	conf_write "m$i" "milter.socket=$msock" ${BENCH_CONF:-}
	MILTER_BIN=${MILTERS[$i]} milter_start "m$i" || bail "milter start ${MILTERS[$i]}"
	SPECS+=("$mspec"); PIDS+=("$MILTER_PID")
done
if [ "${BENCH_FLOOR:-0}" = 1 ]; then
	mkdir -p "$T/null"
	cc -O2 -o "$T/nullmilter" tools/bench_nullmilter.c -lmilter -lpthread || bail "null milter build"
	(umask 0; exec "$T/nullmilter" "unix:$T/null/null.sock" small) 2>"$T/null/err" & _BG_PIDS+=($!)
	SPECS+=("unix:$T/null/null.sock"); PIDS+=($!); MILTERS+=("null milter (floor)")
	for i in $(seq 50); do [ -S "$T/null/null.sock" ] && break; sleep 0.1; done
	[ -S "$T/null/null.sock" ] || bail "null milter start: $(cat "$T/null/err")"
fi
. tools/bench_cpu.sh   # cpu, tree_cpu, tree_delta
PFMASTER=$(head -1 "$(postconf -c "$(pf_cf bs)" -h queue_directory)/pid/master.pid" | tr -d ' ')
declare -A PFC
SRCTIME=""
[ "${BENCH_PFCPU:-0}" = 1 ] && SRCTIME="/usr/bin/time -f %U+%S -o $T/src.time"

rate() {  # rate: messages/s relayed for MSGS messages
	local log before t0; log=$(pf_log bs)
	before=$(grep -c 'status=sent' "$log")
	t0=$(now)
	$SRCTIME smtp-source -s 10 -m "$MSGS" -l 10240 -f s@example.org -t r@example.net "127.0.0.1:$SMTPD" 2>/dev/null
	while [ $(($(grep -c 'status=sent' "$log") - before)) -lt "$MSGS" ]; do
		sleep 0.1
		[ $((($(now) - t0) / 1000000000)) -gt 300 ] && break
	done
	awk -v n="$MSGS" -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }'
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A R CPU RR
n=${#SPECS[@]}
for ((i = 0; i < n; i++)); do R[$i]=""; CPU[$i]=0; done
for ((r = 1; r <= ROUNDS; r++)); do
	line="round $r:"
	for ((k = 0; k < n; k++)); do
		i=$(( r % 2 ? k : n - 1 - k ))
		pf_milter bs "${SPECS[$i]}"
		[ "$i" -gt 0 ] && c0=$(cpu "${PIDS[$i]}")
		if [ "${BENCH_PFCPU:-0}" = 1 ]; then tree_cpu "$PFMASTER" > "$T/pfcpu.0"; s0=$(cpu "$SINKPID"); fi
		[ -n "${BENCH_TRACE:-}" ] && echo "# leg $i start $(date +%s.%N)" >&2
		v=$(rate)
		[ -n "${BENCH_TRACE:-}" ] && echo "# leg $i end $(date +%s.%N)" >&2
		[ "$i" -gt 0 ] && CPU[$i]=$(( CPU[$i] + $(cpu "${PIDS[$i]}") - c0 ))
		if [ "${BENCH_PFCPU:-0}" = 1 ]; then
			tree_cpu "$PFMASTER" > "$T/pfcpu.1"
			PFC[$i.smtp-sink]=$(( ${PFC[$i.smtp-sink]:-0} + $(cpu "$SINKPID") - s0 ))
			PFC[$i.smtp-source]=$(( ${PFC[$i.smtp-source]:-0} + $(awk -v hz="$(getconf CLK_TCK)" -F+ '{ printf "%d", ($1 + $2) * hz }' "$T/src.time") ))
			while read -r pk pv; do PFC[$i.$pk]=$(( ${PFC[$i.$pk]:-0} + pv )); done \
				< <(tree_delta "$T/pfcpu.0" "$T/pfcpu.1")
		fi
		R[$i]="${R[$i]} $v"
		line="$line [$([ "$i" = 0 ] && echo none || echo "m$i")] $v"
	done
	echo "$line msg/s"
	for ((i = 1; i < n; i++)); do  # this round's ratio: its legs ran back to back
		RR[$i]="${RR[$i]:-} $(awk -v a="${R[0]##* }" -v b="${R[$i]##* }" 'BEGIN { printf "%.3f", b / a }')"
	done
done
m0=$(median <<<"${R[0]}")
echo "without milter: median $m0 msg/s (${R[0]# })"
for ((i = 1; i < n; i++)); do
	mi=$(median <<<"${R[$i]}")
	echo "m$i ${MILTERS[$((i - 1))]}: median $mi msg/s (${R[$i]# })"
	awk -v a="$m0" -v b="$mi" -v c="${CPU[$i]}" -v hz="$(getconf CLK_TCK)" -v n="$((MSGS * ROUNDS))" \
		'BEGIN { printf "  ratio of medians with/without = %.2f; milter CPU %.3f ms per message\n", b / a, c * 1000 / hz / n }'
	echo "  per-round ratios with/without:${RR[$i]}; median $(median <<<"${RR[$i]}")"
done
if [ "${BENCH_PFCPU:-0}" = 1 ]; then
	echo "CPU per message of Postfix's processes and of the load generators (user+sys, all rounds, ms;"
	echo "the milter's own is above; total = Postfix's):"
	for ((i = 0; i < n; i++)); do
		line="  $([ "$i" = 0 ] && echo none || echo "m$i"):"
		tot=0
		for key in "${!PFC[@]}"; do
			[ "${key%%.*}" = "$i" ] || continue
			case $key in *.smtp-sink | *.smtp-source) ;; *) tot=$((tot + PFC[$key])) ;; esac
			line="$line ${key#*.} $(awk -v c="${PFC[$key]}" -v hz="$(getconf CLK_TCK)" -v n="$((MSGS * ROUNDS))" 'BEGIN { printf "%.3f", c * 1000 / hz / n }')"
		done
		echo "$line; total $(awk -v c="$tot" -v hz="$(getconf CLK_TCK)" -v n="$((MSGS * ROUNDS))" 'BEGIN { printf "%.3f", c * 1000 / hz / n }')"
	done
fi
