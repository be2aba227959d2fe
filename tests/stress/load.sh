#!/bin/bash
# tests/stress/load.sh BUILD - the load run of issue 14: LOAD_SESSIONS (default 20) parallel
# SMTP sessions for LOAD_MINUTES (default 10) through a real private Postfix + offload-milter
# (file backend) + smtp-sink, with a mix of small mail and 20-100 MB attachments. Then the same
# mix through a second Postfix without the milter for LOAD_BASE_MINUTES (default a fifth of
# LOAD_MINUTES, at least 1) to measure what the milter adds to the SMTP transaction.
#
# Each session sends one message per SMTP connection (curl), back to back, picking at random:
# 60 % a 2 KB text mail, 20 % a text mail with a 300 KB attachment (below offload_min_size,
# passes), 20 % a mail with a 20/40/60/80/100 MB random attachment (offloaded). The messages
# are generated in $T (nothing is committed; everything goes with $T at exit).
#
# Prints: messages sent / accepted / deferred / rejected, curl errors, deliveries, offloads,
# the milter's peak RSS (VmHWM) and CPU time, throughput (MiB/s of accepted mail), the SMTP
# transaction time per class (median / p95) with and without the milter, and the difference.
# Fails on any error (a reply other than 250, a curl failure, a message not delivered, a
# deferral or bounce in the maillog, an error line or sanitizer report in the milter's log,
# a spool file left) or on a milter VmHWM above LOAD_RSS_MB (default 256).
# Delivered transfers are removed from the store as the run goes (the disk would fill);
# the first two large ones are kept and opened byte-exact with offloadctl at the end.
# Ports 12780-12784 (run in a network namespace of its own). No timing assertions.
BUILD=${1:-${BUILD:-build}}
. "$(dirname "$0")/../integration/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
MINUTES=${LOAD_MINUTES:-10}
SESSIONS=${LOAD_SESSIONS:-20}
BASE_MINUTES=${LOAD_BASE_MINUTES:-$(( (MINUTES + 4) / 5 ))}
RSS_MB=${LOAD_RSS_MB:-256}
SMTPD=12780 SINKP=12781 MPORT=12782 BSMTPD=12783 BSINKP=12784
SINK=$T/sink
M=$T/msgs
mkdir -p "$M"
note "load: $SESSIONS sessions, $MINUTES min with the milter, $BASE_MINUTES min without; nice $(nice)"

# ---- the message pool -------------------------------------------------------------------------
# gen OUT KIND BYTES: a CRLF message; KIND text (BYTES of text) or att (a random attachment of
# BYTES named att-<MB>M.bin, its bytes also written to $M/att-<MB>M.bin for the open check)
gen() {
	$PY - "$@" <<'PYEOF'
import base64, os, sys
out, kind, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
with open(out, "wb") as f:
    f.write(b"From: alice@example.org\r\nTo: bob@example.net\r\n"
            b"Subject: load " + kind.encode() + b" " + str(size).encode() + b"\r\n"
            b"Date: Mon, 7 Dec 2026 12:00:00 +0000\r\n"
            b"Message-ID: <load-" + kind.encode() + str(size).encode() + b"@example.org>\r\n"
            b"MIME-Version: 1.0\r\n")
    if kind == "text":
        f.write(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
        f.write(line * (size // len(line) + 1))
        sys.exit(0)
    name = "att-%dM.bin" % (size // 1048576) if size >= 1048576 else "data-%dK.bin" % (size // 1024)
    f.write(b"Content-Type: multipart/mixed; boundary=\"=_load\"\r\n\r\n--=_load\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + line * 20 +
            b"--=_load\r\nContent-Type: application/octet-stream; name=\"" + name.encode() + b"\"\r\n"
            b"Content-Disposition: attachment; filename=\"" + name.encode() + b"\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    with open(os.path.join(os.path.dirname(out), name), "wb") as raw:
        left = size
        while left > 0:
            chunk = os.urandom(min(left, 57 * 16384))
            raw.write(chunk)
            left -= len(chunk)
            enc = base64.encodebytes(chunk).replace(b"\n", b"\r\n")
            f.write(enc)
    f.write(b"--=_load--\r\n")
PYEOF
}
t=$(now)
gen "$M/text.eml" text 2048 || bail "generate the text message"
gen "$M/small.eml" att $((300 * 1024)) || bail "generate the 300 KB message"
for mb in 20 40 60 80 100; do gen "$M/large$mb.eml" att $((mb * 1048576)) || bail "generate the $mb MB message"; done
ok "message pool generated ($(since "$t"), $(du -sm "$M" | cut -f1) MB)"
# pick: the pool entry for a random number 0..99
pick() {
	if [ "$1" -lt 60 ]; then echo text
	elif [ "$1" -lt 80 ]; then echo small
	else echo "large$(( (RANDOM % 5 + 1) * 20 ))"
	fi
}

# ---- one session: messages back to back until END (epoch s), one result line each ----------
# "session seq kind bytes ms curl_rc qid reply"
session() {
	local id=$1 port=$2 end=$3 out=$4 n=0 kind t0 rc reply
	RANDOM=$((id * 7919 + port))
	while [ "$(date +%s)" -lt "$end" ]; do
		kind=$(pick $((RANDOM % 100)))
		t0=$(now)
		SMTP_QID='' SMTP_REPLY=''
		smtp_send "$port" "$M/$kind.eml" "s$id-$n@load.example.org" bob@example.net
		rc=$?
		reply=${SMTP_REPLY:-none}
		echo "$id $n $kind $(stat -c %s "$M/$kind.eml") $(( ($(now) - t0) / 1000000 )) $rc ${SMTP_QID:--} ${reply// /_}" >> "$out"
		n=$((n + 1))
	done
}
# run_load PORT MINUTES OUT: SESSIONS sessions in parallel; sets RUN_SECONDS (wall, first start
# to last end)
run_load() {
	local port=$1 min=$2 out=$3 i pids=() t0
	: > "$out"
	t0=$(now)
	for ((i = 1; i <= SESSIONS; i++)); do
		session "$i" "$port" $(( $(date +%s) + min * 60 )) "$out" &
		pids+=($!)
	done
	wait "${pids[@]}"
	RUN_SECONDS=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
}
# wait_drained NAME SECONDS: the queue of NAME is empty
wait_drained() {
	local i
	for ((i = 0; i < $2; i++)); do
		[ -z "$(queue_ids "$1")" ] && return 0
		sleep 1
	done
	return 1
}
# stats OUT: per kind (text, small, large20 ... large100) "n median p95" of the ms column
stats() {
	awk '{ print $3, $5 }' "$1" | sort -k1,1 -k2,2n |
		awk '{ v[$1, ++n[$1]] = $2 }
		END { for (c in n) { m = v[c, int((n[c] + 1) / 2)]; p = v[c, int(n[c] * 0.95 + 0.999)];
			printf "%s %d %d %d\n", c, n[c], m, p } }' | sort -V
}
# count OUT: messages, accepted (250 + queue id), 4xx, 5xx, curl failures without a reply, bytes accepted
count() {
	awk '{ n++ } $8 ~ /^250/ && $7 != "-" { a++; b += $4 } $8 ~ /^4/ { d++ } $8 ~ /^5/ { r++ }
		$6 != 0 && $8 !~ /^[45]/ { e++ }
		END { printf "%d %d %d %d %d %.0f\n", n, a, d, r, e, b }' "$1"
}
# maillog_count NAME: status=sent, status=deferred, status=bounced, milter-reject lines
maillog_count() {
	local l; l=$(pf_log "$1")
	echo "$(grep -c 'status=sent' "$l") $(grep -c 'status=deferred' "$l") $(grep -c 'status=bounced' "$l") $(grep -c 'milter-reject' "$l")"
}

# ---- 1. with the milter ------------------------------------------------------------------------
t=$(now)
conf_write m "milter.socket=inet:$MPORT@127.0.0.1" "policy.offload_min_size=1M"
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pf || bail "postfix start"
milter_start m || bail "offload-milter start (log: $(tail -3 "$T/m/milter.log"))"
pf_milter pf "$(postfix_milter_spec "$(conf_socket m)")" || bail "set smtpd_milters"
MPID=$MILTER_PID
ok "postfix + smtp-sink + offload-milter up ($(since "$t"))"

# store cleaner: transfers whose mail reached the sink are complete; remove them (keep two)
STORE=$(store_path m)
cleaner() {
	local id k
	while :; do
		grep -ho '^X-Offload-Transfer: [a-z2-7]\{24\}' "$SINK"/* 2>/dev/null | cut -c21- | sort -u > "$T/ids.now"
		touch "$T/ids.done" "$T/ids.keep"
		k=$(wc -l < "$T/ids.keep")
		[ "$k" -ge 2 ] || comm -23 "$T/ids.now" "$T/ids.done" | head -n $((2 - k)) >> "$T/ids.keep"
		for id in $(comm -23 "$T/ids.now" "$T/ids.done"); do
			grep -qx "$id" "$T/ids.keep" || rm -rf "${STORE:?}/${id:0:2}/$id"
			echo "$id" >> "$T/ids.done"
		done
		sort -u -o "$T/ids.done" "$T/ids.done"
		sleep 15
	done
}
cleaner &
_BG_PIDS+=($!)
CLEANER=$!
# RSS sampler: VmRSS every 2 s (VmHWM at the end is the peak over the milter's life)
sampler() {
	while kill -0 "$MPID" 2>/dev/null; do
		awk '/^VmRSS/ { print $2 }' "/proc/$MPID/status" >> "$T/rss.samples" 2>/dev/null
		sleep 2
	done
}
sampler &
_BG_PIDS+=($!)
SAMPLER=$!

t=$(now)
run_load "$SMTPD" "$MINUTES" "$T/with.res"
W_SECONDS=$RUN_SECONDS
note "all $SESSIONS sessions ended after $W_SECONDS s ($(since "$t"))"
check "queue drained within 600 s after the last session" wait_drained pf 600
sleep 1
HWM_KB=$(awk '/^VmHWM/ { print $2 }' "/proc/$MPID/status" 2>/dev/null)
CPU_S=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$MPID/stat" 2>/dev/null)
RSS_MAX=$(sort -n "$T/rss.samples" 2>/dev/null | tail -1)
# VmHWM can lag a VmRSS sample by a few pages (per-CPU counters): the larger counts
[ "${RSS_MAX:-0}" -gt "${HWM_KB:-0}" ] && HWM_KB=$RSS_MAX
kill "$SAMPLER" "$CLEANER" 2>/dev/null
read -r W_N W_ACC W_DEF W_REJ W_ERR W_BYTES < <(count "$T/with.res")
read -r W_SENT W_LDEF W_LBOUNCE W_MREJ < <(maillog_count pf)
W_LARGE=$(awk '$3 ~ /^large/ && $8 ~ /^250/ { n++ } END { print n + 0 }' "$T/with.res")
W_OFFL=$(grep -l '^X-Offload-Transfer: ' "$SINK"/* 2>/dev/null | wc -l)
note "with milter: $W_N messages sent, $W_ACC accepted, $W_DEF deferred (4xx), $W_REJ rejected (5xx), $W_ERR curl errors; maillog: $W_SENT sent, $W_LDEF deferred, $W_LBOUNCE bounced, $W_MREJ milter-reject"
check "with milter: every message got 250 ($W_ACC of $W_N; 4xx $W_DEF, 5xx $W_REJ, curl errors $W_ERR)" \
	[ "$W_N" -gt 0 -a "$W_ACC" = "$W_N" ]
check "with milter: every accepted message relayed (status=sent $W_SENT of $W_ACC), none deferred ($W_LDEF) or bounced ($W_LBOUNCE)" \
	[ "$W_SENT" = "$W_ACC" -a "$W_LDEF" = 0 -a "$W_LBOUNCE" = 0 ]
check "with milter: every large message arrived offloaded (X-Offload-Transfer in $W_OFFL sink files, $W_LARGE large accepted)" \
	[ "$W_OFFL" = "$W_LARGE" ]
check "offload-milter still running after the run" kill -0 "$MPID"
check "milter log: no error, fatal or panic line ($(grep -cE ': (error|fatal|panic): ' "$T/m/milter.log") found; warnings: $(grep -c ': warning: ' "$T/m/milter.log"))" \
	bash -c '! grep -qE ": (error|fatal|panic): " "$1"' _ "$T/m/milter.log"
check "milter log has no sanitizer report" bash -c '! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$1"' _ "$T/m/milter.log"
check "milter peak RSS (VmHWM or a larger sample) ${HWM_KB:-?} kB <= $RSS_MB MB (largest 2 s sample VmRSS ${RSS_MAX:-?} kB)" \
	[ "${HWM_KB:-999999999}" -le $((RSS_MB * 1024)) ]
leftover=$(find "$T/m/spool" -type f | wc -l)
check "milter spool dir is empty after the run ($leftover files)" [ "$leftover" = 0 ]
# the two kept transfers open byte-exact (the offload path under load, end to end)
for id in $(cat "$T/ids.keep" 2>/dev/null); do
	f=$(grep -l "^X-Offload-Transfer: $id" "$SINK"/* | head -1)
	sink_eml "$f" "$T/kept-$id.eml"
	att=$(grep -o 'att-[0-9]*M\.bin' "$T/kept-$id.eml" | head -1)
	link=$($MAILTOOL link "$T/kept-$id.eml")
	d=$(mktemp -d "$T/open.XXXXXX")
	check "kept transfer $id: offloadctl open gives $att back byte-exact" \
		bash -c '"$1" -c "$2" open "$3" --output "$4" >/dev/null && cmp -s "$4/$5" "$6/$5"' _ \
		"$CTL" "$(conf_path m)" "$link" "$d" "$att" "$M"
	rm -rf "$d"
done
milter_stop m
pf_stop pf

# ---- 2. the same mix without the milter ---------------------------------------------------------
pf_setup base "$BSMTPD" "$BSINKP" || bail "postfix setup (no milter)"
smtp-sink -u nobody "127.0.0.1:$BSINKP" 1000 2>>"$T/sink-$BSINKP.log" &  # discards
_SINK_PIDS+=($!)
waitport "$BSINKP" || bail "smtp-sink start (no milter)"
pf_start base || bail "postfix start (no milter)"
run_load "$BSMTPD" "$BASE_MINUTES" "$T/without.res"
B_SECONDS=$RUN_SECONDS
check "queue (no milter) drained within 600 s" wait_drained base 600
read -r B_N B_ACC B_DEF B_REJ B_ERR B_BYTES < <(count "$T/without.res")
read -r B_SENT B_LDEF B_LBOUNCE _ < <(maillog_count base)
check "without milter: every message got 250 and was relayed ($B_ACC of $B_N accepted, $B_SENT sent, $B_DEF 4xx, $B_REJ 5xx, $B_ERR curl errors; maillog $B_LDEF deferred, $B_LBOUNCE bounced)" \
	[ "$B_N" -gt 0 -a "$B_ACC" = "$B_N" -a "$B_SENT" = "$B_ACC" -a "$B_LDEF" = 0 -a "$B_LBOUNCE" = 0 ]
pf_stop base

# ---- numbers ---------------------------------------------------------------------------------------
mibs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0) ? b / 1048576 / s : 0 }'; }
note "with milter:    $W_N messages ($W_LARGE large) in $W_SECONDS s, $(awk -v b="$W_BYTES" 'BEGIN { printf "%.0f", b / 1048576 }') MiB accepted, $(mibs "$W_BYTES" "$W_SECONDS") MiB/s, $(awk -v n="$W_ACC" -v s="$W_SECONDS" 'BEGIN { printf "%.1f", n / s }') msg/s"
note "without milter: $B_N messages in $B_SECONDS s, $(awk -v b="$B_BYTES" 'BEGIN { printf "%.0f", b / 1048576 }') MiB accepted, $(mibs "$B_BYTES" "$B_SECONDS") MiB/s"
note "milter: peak RSS $HWM_KB kB, CPU ${CPU_S:-?} s (user+sys) for $W_SECONDS s wall, $W_OFFL transfers, $(wc -l < "$T/ids.done" 2>/dev/null) removed from the store as delivered"
note "SMTP transaction time (connect to 250) per message kind, ms:"
stats "$T/with.res" > "$T/with.st"
stats "$T/without.res" > "$T/without.st"
while read -r c n m p; do
	read -r _ bn bm bp < <(grep "^$c " "$T/without.st" || echo "$c 0 0 0")
	note "  $c: with milter n=$n median $m p95 $p; without n=$bn median $bm p95 $bp; added median $((m - bm)) p95 $((p - bp))"
done < "$T/with.st"
finish
