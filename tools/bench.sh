#!/bin/bash
# tools/bench.sh BUILD - `make bench`: performance against baselines measured in the same run
# (DECISIONS.md §12). Prints ratios; asserts nothing (timings vary ±20% on 2 shared cores).
#  1. offload of a BENCH_MB (default 200) MB attachment through `offloadctl process` (the
#     milter's end-of-message pipeline: parse, decode, SHA-256, AES-256-GCM, store + fsync)
#     vs the essential work with standard tools in their fastest honest form (issue 15):
#     base64 -d on LF lines | tee >(sha256sum) | openssl enc | dd conv=fsync; median of 5 runs
#     each, alternating, both pinned with taskset to the same cores (BENCH_CPUS, default all)
#  2. peak RSS of the same pipeline on a BENCH_BIG_MB (default 1024) MB attachment (target <= 64 MB)
#     and offload-milter's peak RSS with 8 messages of BENCH_PAR_MB (default 100) MB at once
#     (milterclient.py; target <= 256 MB)
#  2b. portal download of that BENCH_BIG_MB file vs nginx serving a same-size file from the same
#     disk (median of 5, alternating; target >= 0.8, issue 15), and the portal's peak RSS while serving 8 parallel downloads
#  3. upload of that BENCH_BIG_MB attachment to a private Swift s3api and a private nginx WebDAV
#     (tests/integration/swift.sh, davserver.sh; ports 12940-12945) through the real path:
#     offload-milter with backend s3 / webdav, fed the message by tests/integration/milterclient.py
#     over its unix socket. Measured: what the milter adds over the hand-over — its whole session
#     minus the session of the do-nothing libmilter milter (tools/bench_nullmilter.c) for the same
#     message, since early offload ([milter] early_offload) moves the decode, hash, encryption and
#     upload into the body phase — against curl uploading the plain file to the same server in the
#     same run (S3: curl --aws-sigv4 -T, UNSIGNED-PAYLOAD, one PUT; WebDAV: curl -T); the
#     end-of-message alone (its reply to end-of-body: parse, classification, what early offload
#     left, manifest) is printed beside it. Target ours/curl <= 1.3 (issue 15; it was 2.0): curl only streams
#     bytes, we also read the attachment twice (GMime's parse, then the decoding pass, which
#     classifies too), decode, hash and encrypt (on two threads) on the same 2 cores as the server, and the s3 backend spools each
#     multipart part to disk and SHA-256-signs it (SigV4 payload hash; 3 parts in flight), the
#     webdav backend streams the object as a chunked PUT while it encrypts, then MOVE
#     (ARCHITECTURE.md). Also the milter's peak RSS
#     (VmHWM; target <= 64 MB) and `offloadctl process` with backend s3 (time, peak RSS).
#     The load average and the milter's CPU seconds are printed too: our end-of-message is
#     CPU-bound (about 9 s CPU per GB), curl's upload is not, so on busy cores the ratio grows
#     with the load of other jobs.
#  4. classification (offloadctl classify) of a text-heavy set built by tools/bench_docs.py
#     (BENCH_CLASSIFY_MB, default 16, MB of CSV ledger + as much prose, planted valid IBANs, and
#     a typical 2 MB docx: 40% deflated text, 60% images) in MB/s against SHA-256 of the same
#     bytes (openssl dgst, the implementation we hash with, and sha256sum; best of 3; the ratio
#     against sha256sum's is issue 15's target, >= 0.5); and the added time per
#     message for that docx: `offloadctl process` of a message carrying it minus the same
#     message carrying same-size random bytes (libmagic: data, nothing to extract), both OFFEN
#     and passed unchanged; there is no switch that turns classification off (best of 5;
#     target <= 50 ms, issue 15; it was 100 ms: classification may at most double the ~100 ms
#     such a message costs without extractable text)
#  5. small-mail throughput through a real Postfix with and without offload-milter (smtp-source,
#     BENCH_MSGS messages of 10 KB, 10 sessions; target >= 0.95, issue 15). The floor beside it:
#     tools/bench_nullmilter.c in its "small" mode (the protocol steps offload-milter negotiates,
#     no work, message unchanged): what any libmilter milter that reads headers and body costs
#     Postfix and itself; tools/bench_smallmail.sh BENCH_FLOOR=1 repeats all three legs
#  6. added latency of a BENCH_MB (default 200) MB attachment by SMTP (curl) through a private
#     Postfix (ports 13060-13062): time from connect to the 250 after DATA (median of BENCH_PF_RUNS,
#     default 5, the variants alternating: the do-nothing milter's figure varies 0.44-0.79 s
#     between quiet runs, so one best-of-2 decided nothing) with offload-milter minus
#     without a milter, against the same for MIMEDefang 3.3 running action_replace_with_url (stores
#     the part, rewrites the mail; neither encrypts nor classifies). Target ours/MIMEDefang <= 0.20.
#     MIMEDefang + libnet-dns-perl are apt-get installed by tools/bench-md/md.sh only when missing
#     (the section is skipped when that fails; deliberately not in tools/deps/*.apt), with any
#     system mimedefang service denied/stopped/disabled; it runs privately under $T (md.sh).
#     The floor beside it (issue 15): a do-nothing libmilter milter (tools/bench_nullmilter.c,
#     built here with cc -lmilter) that receives every body chunk and replaces the body with one
#     line, on a unix socket; reported: our added latency / its added latency (target <= 1.2),
#     and / Postfix's own connect-to-250 time without a milter. The offload-milter runs with
#     [milter] early_offload = true (the attachment is stored while the body arrives;
#     BENCH_EARLY_OFFLOAD=false measures the end-of-message path alone). Beside the wall times:
#     the CPU seconds (user+sys, mean of the runs) of Postfix's processes (the master's children,
#     exited ones through its cutime/cstime), curl, the milter (MIMEDefang: multiplexor, its
#     workers and the milter) and smtp-sink from connect to the 250 and until relayed, how many
#     of the cores they kept busy, and how busy the whole machine was (tools/bench_cpu.sh)
#  7. throughput of two nodes against one for BENCH_SCALE_MB (default 20) MB attachments: two
#     private Postfix + offload-milter nodes on one Swift s3api bucket, milters pinned to one
#     core each (tools/bench_scaleout.sh, which runs alone too; ports 13070-13077)
# BENCH_ONLY="3 4" runs only those sections (2 includes 2b). About 10 minutes on 2 busy cores at
# the default sizes (section 3 alone 5, section 6 about 3, plus a first-time MIMEDefang install);
# BENCH_BIG_MB=256 about 5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD=${1:-build}
. tests/integration/lib.sh
need_bins "$CTL" "$MILTER_BIN"
MB=${BENCH_MB:-200}; BIG=${BENCH_BIG_MB:-1024}; MSGS=${BENCH_MSGS:-1000}
want() { [[ " ${BENCH_ONLY:-1 2 3 4 5 6 7} " == *" $1 "* ]]; }  # BENCH_ONLY="3 4": only those sections

mkmsg() { $PY tools/bench_mkmsg.py "$1" "$2"; }  # mkmsg OUT PAYLOAD: PAYLOAD as a base64 attachment (CRLF)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
mbps() { awk -v mb="$1" -v t="$2" -v u="${3:-s}" 'BEGIN { printf "%.0f MB/s", mb / (u == "ms" ? t / 1000 : t) }'; }  # MB TIME [s|ms]
best_ms() {  # best_ms N CMD...: fastest wall time in milliseconds (one decimal) of N runs
	local n=$1 best="" i t0 t1; shift
	for ((i = 0; i < n; i++)); do
		t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
		if [ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ]; then best=$((t1 - t0)); fi
	done
	awk -v n="$best" 'BEGIN { printf "%.1f", n / 1e6 }'
}
CPUS=${BENCH_CPUS:-0-$(($(nproc) - 1))}
median_pair() {  # median_pair N A B: run A and B alternately N times each (pinned to CPUS); sets MED_A MED_B (s)
	local n=$1 a=$2 b=$3 i t0 ta=() tb=()
	for ((i = 0; i < n; i++)); do
		sync; t0=$(now); taskset -c "$CPUS" bash -c "$a" >/dev/null 2>&1; ta+=("$(secs "$t0" "$(now)")")
		sync; t0=$(now); taskset -c "$CPUS" bash -c "$b" >/dev/null 2>&1; tb+=("$(secs "$t0" "$(now)")")
	done
	MED_A=$(printf '%s\n' "${ta[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	MED_B=$(printf '%s\n' "${tb[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
}

# dl_cpu URL PID: "<server CPU> + curl <client CPU>" (s) of one download of URL served by PID
dl_cpu() {
	local c0 c1
	c0=$(awk '{ print $14 + $15 }' "/proc/$2/stat")
	/usr/bin/time -f '%U %S' -o "$T/ct" curl -s -o /dev/null "$1"
	c1=$(awk '{ print $14 + $15 }' "/proc/$2/stat")
	awk -v a="$c0" -v b="$c1" '{ printf "%.2f + curl %.2f", (b - a) / 100, $1 + $2 }' "$T/ct"
}

PPORT=12763 NPORT=12764
conf_write b policy.offload_min_size=10M portal.listen=127.0.0.1:$PPORT portal.url=http://127.0.0.1:$PPORT \
	"portal.ticket_key_file=$T/b/ticket.key"
if want 1; then
	head -c "${MB}M" /dev/urandom > "$T/payload.bin"
	mkmsg "$T/msg.eml" "$T/payload.bin"
	# the baseline decodes LF lines with plain base64 -d (base64 -d -i on CRLF is ~1.75x slower)
	sed -n '/^Content-Transfer-Encoding: base64/,$p' "$T/msg.eml" | tail -n +3 | head -n -1 | tr -d '\r' > "$T/part.b64"
	export KEY=$(openssl rand -hex 32) IV=$(openssl rand -hex 16) T CTL B_STORE=$(store_path b) B_CONF=$(conf_path b)
	baseline='base64 -d < "$T/part.b64" | tee >(sha256sum > "$T/base.sha") | openssl enc -aes-256-ctr -K "$KEY" -iv "$IV" | dd of="$T/base.out" bs=1M conv=fsync 2>/dev/null'
	ours='rm -rf "$B_STORE"; "$CTL" -c "$B_CONF" process < "$T/msg.eml" > "$T/out.eml"'
	median_pair 5 "$baseline" "$ours"; tb=$MED_A to=$MED_B
	echo "offload ${MB} MB attachment (median of 5, cores $CPUS, load average $(cut -d' ' -f1 /proc/loadavg)): offloadctl process ${to} s, baseline (base64 -d | tee >(sha256sum) | openssl enc | dd conv=fsync) ${tb} s"
	awk -v a="$tb" -v b="$to" 'BEGIN { printf "  ratio ours/baseline = %.2f (target <= 0.80)\n", b / a }'

	rm -f "$T/part.b64" "$T/base.out" "$T/base.sha" "$T/payload.bin" "$T/msg.eml"
fi
if want 2 || want 3; then
	head -c "${BIG}M" /dev/urandom > "$T/payload.bin"
	mkmsg "$T/big.eml" "$T/payload.bin"
fi
if want 2; then
	rm -rf "$(store_path b)"
	if command -v /usr/bin/time >/dev/null; then
		/usr/bin/time -f "%M %e" -o "$T/rss" "$CTL" -c "$(conf_path b)" process < "$T/big.eml" > "$T/out.eml" 2>/dev/null
		read -r rss el < "$T/rss"
		echo "peak RSS offloading a ${BIG} MB attachment: $((rss / 1024)) MB in ${el} s (target <= 64 MB)"
	else
		echo "peak RSS: /usr/bin/time missing (apt-get install time)"
	fi
	# portal vs nginx on the same file size, same disk
	link=$($PY tools/bench_link.py "$T/out.eml")
	if [ -x "$BUILD/offload-portal" ] && [ -n "$link" ] && command -v nginx >/dev/null; then
		"$BUILD/offload-portal" -c "$(conf_path b)" -f >> "$T/portal.log" 2>&1 &
		PPID_=$!; _BG_PIDS+=($PPID_)
		mkdir -p "$T/ngx/www" "$T/ngx/logs"; mv "$T/payload.bin" "$T/ngx/www/p.bin"
		printf 'daemon off; pid %s/ngx/nginx.pid; error_log %s/ngx/logs/error.log;
events {}
http { access_log off; sendfile on; server { listen 127.0.0.1:%s; root %s/ngx/www; } }
' \
			"$T" "$T" "$NPORT" "$T" > "$T/ngx/nginx.conf"
		nginx -c "$T/ngx/nginx.conf" -p "$T/ngx" 2>/dev/null & NGX_PID=$!; _BG_PIDS+=($NGX_PID)
		waitport $PPORT 200; waitport $NPORT 200
		id=${link##*/t/}; sec=${id#*#}; id=${id%%#*}
		curl -s -X POST -H 'Content-Type: application/json' --data "{\"secret\":\"$sec\"}" \
			"http://127.0.0.1:$PPORT/t/$id/unlock" > "$T/unlock.json"
		url=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["url"])' "$T/unlock.json")
		# median of 5, alternating (a single run moved the ratio 0.63-0.98 on a quiet machine)
		median_pair 5 "curl -s -o /dev/null http://127.0.0.1:$NPORT/p.bin" "curl -s -o /dev/null http://127.0.0.1:$PPORT$url"
		tn=$MED_A tp=$MED_B
		echo "portal download of ${BIG} MB (median of 5, alternating): ${tp} s, nginx same-size file: ${tn} s"
		awk -v a="$tn" -v b="$tp" 'BEGIN { printf "  ratio portal/nginx throughput = %.2f (target >= 0.80, issue 15)\n", a / b }'
		# where the time goes (one download each): nginx sendfile()s, so its download takes as
		# long as the client needs to receive it; the portal decrypts and copies, on the same cores
		[ -x /usr/bin/time ] && echo "  CPU of one download (s): nginx $(dl_cpu "http://127.0.0.1:$NPORT/p.bin" \
			"$(pgrep -P "$NGX_PID" | head -1)"); portal $(dl_cpu "http://127.0.0.1:$PPORT$url" "$PPID_")"
		dl=()
		for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null "http://127.0.0.1:$PPORT$url" & dl+=($!); done
		wait "${dl[@]}"
		echo "  portal peak RSS after 8 parallel downloads: $(awk '/VmHWM/ { printf "%d MB", $2 / 1024 }' /proc/$PPID_/status)"
		# the portal writes a download's state and audit event when it releases the response,
		# after curl has seen the end: stop it (and nginx) and wait before the store is removed
		kill -TERM "$PPID_" "$NGX_PID" 2>/dev/null; wait "$PPID_" "$NGX_PID" 2>/dev/null
	else
		echo "portal bench skipped (no portal binary, link or nginx)"
	fi
	rm -f "$T/out.eml"; rm -rf "$(store_path b)"
	# 8 messages of BENCH_PAR_MB (default 100) MB at once through one offload-milter (file
	# backend): its peak RSS, the issue's "8 parallel 100 MB messages" (target <= 256 MB)
	PMB=${BENCH_PAR_MB:-100}
	head -c "${PMB}M" /dev/urandom > "$T/par.bin"; mkmsg "$T/par.eml" "$T/par.bin"; rm -f "$T/par.bin"
	if milter_start b; then
		t0=$(now); mc=()
		for i in 1 2 3 4 5 6 7 8; do
			$PY tests/integration/milterclient.py "$(conf_socket b)" "$T/par.eml" /dev/null > "$T/par-$i.out" 2>&1 & mc+=($!)
		done
		wait "${mc[@]}"; el=$(secs "$t0" "$(now)")
		rss=$(awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$MILTER_PID/status")
		nok=$(grep -l '^addheader X-Offload-Transfer' "$T"/par-*.out | wc -l)
		milter_stop b
		echo "peak RSS of offload-milter with 8 parallel ${PMB} MB messages: ${rss} MB ($nok of 8 offloaded, ${el} s; target <= 256 MB, issue 15)"
	else
		echo "8 parallel messages: the milter did not start"
	fi
	rm -f "$T/par.eml" "$T"/par-*.out; rm -rf "$(store_path b)"
fi

# ---- 3. upload to Swift s3api and nginx WebDAV: offload-milter vs curl -------------------------
if want 3; then
	SWP=12940 DAVP=12945   # Swift uses SWP..SWP+4
	payload=$T/payload.bin; [ -f "$payload" ] || payload=$T/ngx/www/p.bin
	EMLMB=$(($(stat -c %s "$T/big.eml") / 1048576))
	# CPU-bound work (ours) suffers more than curl's I/O when other jobs share the cores
	echo "storage uploads (load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores):"
	SW="bash tests/integration/swift.sh" DAVSH="bash tests/integration/davserver.sh"
	trap '$SW stop "$T/swift" >/dev/null 2>&1; $DAVSH stop "$T/dav" >/dev/null 2>&1; _lib_cleanup' EXIT
	EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
	# through_milter NAME: the big message through offload-milter with config NAME (milterclient.py
	# on its socket); sets MC_EOM MC_TOTAL MC_CPU (seconds) MC_RSS (MB, VmHWM) or MC_ERR
	through_milter() {
		MC_EOM='' MC_TOTAL='' MC_RSS='' MC_CPU='' MC_ERR=''
		milter_start "$1" || { MC_ERR="milter did not start: $(tail -3 "$T/$1/milter.log")"; return 1; }
		$PY tests/integration/milterclient.py "$(conf_socket "$1")" "$T/big.eml" "$T/mc-out.eml" --times \
			> "$T/mc-$1.out" 2>&1
		MC_RSS=$(awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$MILTER_PID/status")
		read -r -a st < "/proc/$MILTER_PID/stat"   # utime + stime of all its threads, also ended ones
		MC_CPU=$(awk -v u="${st[13]}" -v s="${st[14]}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (u + s) / hz }')
		milter_stop "$1"
		if grep -qE '^result=(continue|accept)' "$T/mc-$1.out" && grep -q '^addheader X-Offload-Transfer' "$T/mc-$1.out"; then
			MC_EOM=$(sed -n 's/^# seconds .*eom=\([0-9.]*\).*/\1/p' "$T/mc-$1.out")
			MC_TOTAL=$(sed -n 's/^# seconds .*total=\([0-9.]*\).*/\1/p' "$T/mc-$1.out")
		else
			MC_ERR="not offloaded: $(grep -E '^(result|protocol)' "$T/mc-$1.out" | head -2 | tr '\n' ' ')$(tail -2 "$T/$1/milter.log" | tr '\n' ' ')"
		fi
		rm -f "$T/mc-out.eml"
	}
	# the hand-over floor: the same message through the do-nothing libmilter milter (section 6's
	# tools/bench_nullmilter.c). With early offload our work overlaps the hand-over, so the
	# end-of-message alone would understate it: what we add is our whole session minus this one.
	NULL_TOTAL=''
	if cc -O2 -o "$T/nullmilter3" tools/bench_nullmilter.c -lmilter -lpthread 2> "$T/nm3-cc.err"; then
		"$T/nullmilter3" "unix:$T/null3.sock" 2> "$T/nm3.err" & nm3=$!
		for i in $(seq 50); do [ -S "$T/null3.sock" ] && break; sleep 0.1; done
		sync
		$PY tests/integration/milterclient.py "unix:$T/null3.sock" "$T/big.eml" "$T/mc-out.eml" --times \
			> "$T/mc-null.out" 2>&1
		NULL_TOTAL=$(sed -n 's/^# seconds .*total=\([0-9.]*\).*/\1/p' "$T/mc-null.out")
		kill "$nm3" 2>/dev/null; wait "$nm3" 2>/dev/null; rm -f "$T/mc-out.eml"
	fi
	[ -n "$NULL_TOTAL" ] || echo "  (the null milter did not run: $(tail -2 "$T/nm3-cc.err" "$T/nm3.err" "$T/mc-null.out" 2>/dev/null | tr '\n' ' '))"
	report_upload() {  # report_upload WHAT CURL_SECONDS
		if [ -n "$MC_ERR" ]; then echo "  offload-milter FAILED: $MC_ERR"; return; fi
		echo "  offload-milter end-of-message ${MC_EOM} s ($(mbps "$BIG" "$MC_EOM")), whole milter session ${MC_TOTAL} s (${EMLMB} MB message over the socket into the spool, then end-of-message); $1 $2 s ($(mbps "$BIG" "$2"))"
		if [ -n "$NULL_TOTAL" ]; then
			awk -v a="$2" -v t="$MC_TOTAL" -v n="$NULL_TOTAL" -v e="$MC_EOM" 'BEGIN {
				printf "  the do-nothing milter'"'"'s session for the same message %.3f s: ours adds %.3f s over the hand-over\n", n, t - n
				printf "  ratio ours (added over the hand-over)/curl = %.2f (target <= 1.30, issue 15); end-of-message alone/curl = %.2f\n", (t - n) / a, e / a }'
		else
			awk -v a="$2" -v b="$MC_EOM" 'BEGIN { printf "  ratio ours (end-of-message only: no null milter)/curl = %.2f (target <= 1.30, issue 15)\n", b / a }'
		fi
		echo "  offload-milter peak RSS (VmHWM) = ${MC_RSS} MB (target <= 64 MB); its CPU for the session ${MC_CPU} s (user+sys)"
	}
	if $SW setup "$T/swift" $SWP > "$T/swift.log" 2>&1 && $SW start "$T/swift" $SWP >> "$T/swift.log" 2>&1; then
		EP=http://127.0.0.1:$SWP BUCKET=offload-bench
		printf 'machine 127.0.0.1 login test:tester password testing\n' > "$T/netrc"
		s3curl() { curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" "$@"; }
		for i in 1 2 3 4 5 6 7 8 9 10; do   # a fresh Swift may answer 503 for a moment
			code=$(s3curl -o /dev/null -w '%{http_code}' -X PUT -H "x-amz-content-sha256: $EMPTY" "$EP/$BUCKET")
			[ "$code" = 200 ] && break; sleep 0.5
		done
		mkdir -p "$T/s3"; printf '[credentials]\naccess_key = test:tester\nsecret_key = testing\n' > "$T/s3/creds"
		chmod 600 "$T/s3/creds"
		conf_write ms3 milter.max_message_size=4G storage.backend=s3 storage.endpoint=$EP storage.bucket=$BUCKET "storage.credentials_file=$T/s3/creds" storage.prefix=milter
		conf_write cs3 storage.backend=s3 storage.endpoint=$EP storage.bucket=$BUCKET "storage.credentials_file=$T/s3/creds" storage.prefix=ctl
		sync; t0=$(now)
		code=$(s3curl -o /dev/null -w '%{http_code}' -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$payload" "$EP/$BUCKET/curl-bench.bin")
		tc=$(secs "$t0" "$(now)")
		s3curl -o /dev/null -X DELETE -H "x-amz-content-sha256: $EMPTY" "$EP/$BUCKET/curl-bench.bin"
		sync; through_milter ms3
		echo "upload of a ${BIG} MB attachment to Swift s3api:"
		[ "$code" = 200 ] || echo "  curl PUT answered HTTP $code: the baseline is not valid"
		report_upload "curl --aws-sigv4 -T (one PUT, UNSIGNED-PAYLOAD)" "$tc"
		if command -v /usr/bin/time >/dev/null; then
			sync
			/usr/bin/time -f "%M %e %U %S" -o "$T/rss" "$CTL" -c "$(conf_path cs3)" process < "$T/big.eml" > "$T/out.eml" 2>"$T/cs3.err"
			rc=$?; read -r rss el us ss < "$T/rss"
			if [ $rc = 0 ] && grep -q '^X-Offload-Transfer:' "$T/out.eml"; then
				echo "  offloadctl process (backend s3): ${el} s ($(mbps "$BIG" "$el")), CPU $(awk -v u="$us" -v s="$ss" 'BEGIN { printf "%.1f", u + s }') s, peak RSS $((rss / 1024)) MB"
			else
				echo "  offloadctl process (backend s3) FAILED (exit $rc): $(tail -2 "$T/cs3.err" | tr '\n' ' ')"
			fi
			rm -f "$T/out.eml"
		fi
		$SW stop "$T/swift" >/dev/null 2>&1; rm -rf "$T/swift/srv"
	else
		echo "upload to Swift s3api skipped: Swift did not start ($(tail -2 "$T/swift.log" | tr '\n' ' '); tools/deps/s3.apt)"
	fi
	if $DAVSH start "$T/dav" $DAVP davuser davpass > "$T/dav.log" 2>&1; then
		DBASE=http://127.0.0.1:$DAVP/remote.php/dav/files/davuser
		printf '[credentials]\nusername = davuser\npassword = davpass\n' > "$T/dav.creds"; chmod 600 "$T/dav.creds"
		conf_write mdav milter.max_message_size=4G storage.backend=webdav "storage.url=$DBASE/offload" "storage.credentials_file=$T/dav.creds"
		sync; t0=$(now)
		code=$(curl -sS -o /dev/null -w '%{http_code}' -u davuser:davpass -T "$payload" "$DBASE/curl-bench.bin")
		tc=$(secs "$t0" "$(now)")
		curl -sS -o /dev/null -u davuser:davpass -X DELETE "$DBASE/curl-bench.bin"
		sync; through_milter mdav
		echo "upload of a ${BIG} MB attachment to nginx WebDAV:"
		[ "$code" = 201 ] || echo "  curl PUT answered HTTP $code: the baseline is not valid"
		report_upload "curl -T" "$tc"
		$DAVSH stop "$T/dav" >/dev/null 2>&1; rm -rf "$T/dav/data"
	else
		echo "upload to nginx WebDAV skipped: $(tail -2 "$T/dav.log" | tr '\n' ' ') (tools/deps/webdav.apt)"
	fi
	rm -f "$T/big.eml" "$T/payload.bin" "$T/ngx/www/p.bin"
fi

# ---- 4. classification throughput and added time per message ----------------------------------
if want 4; then
	CMB=${BENCH_CLASSIFY_MB:-16}
	$PY tools/bench_docs.py "$T/docs" "$CMB" 2 > "$T/docs.txt"
	conf_write c policy.offload_min_size=10M
	D=$T/docs
	set_files=("$D/ledger.csv" "$D/report.txt" "$D/report.docx")
	setmb=$(cat "${set_files[@]}" | wc -c | awk '{ printf "%.1f", $1 / 1048576 }')
	"$CTL" -c "$(conf_path c)" classify "${set_files[@]}" > "$T/cls.out" 2>&1
	tcl=$(best_ms 3 "$CTL" -c "$(conf_path c)" classify "${set_files[@]}")
	tsh=$(best_ms 3 openssl dgst -sha256 "${set_files[@]}")
	tss=$(best_ms 3 sha256sum "${set_files[@]}")
	echo "classification of a text-heavy set (${setmb} MB: $(awk '{ printf "%s%s %.1f MB%s", (NR > 1 ? ", " : ""), $1, $2 / 1048576, ($3 != "" ? " " $3 : "") } NR == 3 { exit }' "$T/docs.txt")):"
	sed -n 's/^[^ ]*\/\([^/ ]*\): .*class=\([^ ]*\) .*reasons=\(.*\)/  found in \1: class \2, \3/p' "$T/cls.out"
	echo "  offloadctl classify ${tcl} ms ($(mbps "$setmb" "$tcl" ms)); SHA-256 of the same bytes: openssl dgst (our hash code) ${tsh} ms ($(mbps "$setmb" "$tsh" ms)), sha256sum ${tss} ms ($(mbps "$setmb" "$tss" ms))"
	awk -v a="$tsh" -v b="$tcl" -v c="$tss" 'BEGIN { printf "  ratio ours/SHA-256 time = %.1f (openssl), %.1f (sha256sum); MB/s ours/sha256sum = %.2f (target >= 0.50, issue 15)\n", b / a, b / c, c / b }'
	dmb=$(awk '/^report.docx/ { printf "%.2f", $2 / 1048576 }' "$T/docs.txt")
	tcd=$(best_ms 5 "$CTL" -c "$(conf_path c)" classify "$D/report.docx")
	tsd=$(best_ms 5 openssl dgst -sha256 "$D/report.docx")
	echo "  the ${dmb} MB docx alone ($(sed -n 's/^report.docx [0-9]* inflated=\([0-9]*\)/\1/p' "$T/docs.txt" | awk '{ printf "%.1f", $1 / 1048576 }') MB document.xml): offloadctl classify ${tcd} ms, openssl dgst -sha256 ${tsd} ms"
	make_eml "$T/docx.eml" "Sachstandsbericht" "Anbei der Bericht." "$D/report.docx" report.docx \
		application/vnd.openxmlformats-officedocument.wordprocessingml.document
	make_eml "$T/opaque.eml" "Sachstandsbericht" "Anbei der Bericht." "$D/opaque.bin" report.dat
	proc_docx() { "$CTL" -c "$(conf_path c)" process < "$T/docx.eml"; }
	proc_opaque() { "$CTL" -c "$(conf_path c)" process < "$T/opaque.eml"; }
	proc_docx > "$T/docx.out" 2>"$T/docx.err"; r1=$?
	proc_opaque > "$T/opaque.out" 2>"$T/opaque.err"; r0=$?
	if [ $r1 = 0 ] && [ $r0 = 0 ] && cmp -s "$T/docx.eml" "$T/docx.out" && cmp -s "$T/opaque.eml" "$T/opaque.out"; then
		tp1=$(best_ms 5 proc_docx); tp0=$(best_ms 5 proc_opaque)
		echo "  offloadctl process of a message with the docx ${tp1} ms, with same-size random bytes ${tp0} ms (both OFFEN, passed unchanged)"
		awk -v a="$tp0" -v b="$tp1" 'BEGIN { printf "  added time per message for a %s MB docx = %.1f ms (target <= 50 ms, issue 15)\n", "'"$dmb"'", b - a }'
	else
		echo "  per-message measurement skipped: the messages did not pass unchanged (exit $r1/$r0; $(head -c 300 "$T/docx.err"))"
	fi
	rm -rf "$D"
fi

# ---- 5. small-mail throughput through Postfix ----------------------------------------------------
if want 5; then
	SMTPD=12760 SINKP=12761 MPORT=12762
	# the production default is a unix socket (DECISIONS.md §4); BENCH_SOCKET=inet measures TCP
	if [ "${BENCH_SOCKET:-unix}" = inet ]; then MSPEC=inet:127.0.0.1:$MPORT; MSOCK=inet:$MPORT@127.0.0.1
	else MSOCK=unix:$T/s/milter.sock; MSPEC=$MSOCK; fi
	conf_write s "milter.socket=$MSOCK" ${BENCH_CONF:-}
	pf_setup bp "$SMTPD" "$SINKP" >/dev/null || bail "postfix setup"
	smtp-sink -u nobody "127.0.0.1:$SINKP" 1000 2>/dev/null & _SINK_PIDS+=($!)
	waitport "$SINKP"; pf_start bp || bail "postfix start"
	milter_start s || bail "milter start"
	rate() {  # rate: messages/s relayed for MSGS messages
		local log; log=$(pf_log bp)
		local before; before=$(grep -c 'status=sent' "$log")
		local t0; t0=$(now)
		smtp-source -s 10 -m "$MSGS" -l 10240 -f s@example.org -t r@example.net "127.0.0.1:$SMTPD" 2>/dev/null
		while [ $(( $(grep -c 'status=sent' "$log") - before )) -lt "$MSGS" ]; do
			sleep 0.1
			[ $(( ($(now) - t0) / 1000000000 )) -gt 300 ] && break
		done
		awk -v n="$MSGS" -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }'
	}
	pf_milter bp ""; r0=$(rate)
	pf_milter bp "$MSPEC"; r1=$(rate)
	echo "small mail (10 KB, 10 sessions, $MSGS msgs) through Postfix: without milter ${r0} msg/s, with offload-milter (${MSOCK%%:*} socket) ${r1} msg/s"
	awk -v a="$r0" -v b="$r1" 'BEGIN { printf "  ratio with/without = %.2f (target >= 0.95, issue 15)\n", b / a }'
	mkdir -p "$T/n5"
	if cc -O2 -o "$T/n5/nullmilter" tools/bench_nullmilter.c -lmilter -lpthread 2> "$T/n5/cc.err"; then
		(umask 0; exec "$T/n5/nullmilter" "unix:$T/n5/null.sock" small) 2> "$T/n5/err" & _BG_PIDS+=($!)
		for i in $(seq 50); do [ -S "$T/n5/null.sock" ] && break; sleep 0.1; done
	fi
	if [ -S "$T/n5/null.sock" ]; then
		pf_milter bp "unix:$T/n5/null.sock"; r2=$(rate)
		awk -v a="$r0" -v b="$r2" -v c="$r1" 'BEGIN { printf "  floor: a do-nothing libmilter milter with the same protocol steps %d msg/s, ratio %.2f; offload-milter / it = %.2f\n", b, b / a, c / b }'
	else
		echo "  (the null milter did not build or start: $(tail -2 "$T/n5/cc.err" "$T/n5/err" 2>/dev/null | tr '\n' ' '))"
	fi
	read -r -a st < "/proc/$MILTER_PID/stat"
	awk -v u="${st[13]}" -v s="${st[14]}" -v n="$MSGS" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "  offload-milter CPU: %.2f ms per small message (user+sys)\n", (u + s) * 1000 / hz / n }'
fi

# ---- 6. a BENCH_MB attachment through Postfix: offload-milter vs MIMEDefang action_replace_with_url
if want 6; then
	SMTPD=13060 SINKP=13061 MDP=13062 MD=$T/md
	MDSH="bash tools/bench-md/md.sh"
	# MIMEDefang is installed here only (never in tools/deps/*.apt: CI must not get its service)
	if ! $MDSH install "$MD" 2>"$T/md-install.err"; then
		echo "offload vs MIMEDefang skipped: MIMEDefang 3.3 not available ($(tail -2 "$T/md-install.err" | tr '\n' ' '); apt-get install mimedefang libnet-dns-perl)"
	else
		devlog=""
		if [ ! -e /dev/log ]; then   # no syslogd: catch MIMEDefang's log (never replaces an existing /dev/log)
			$PY tools/bench-md/devlog.py "$T/syslog.log" & _BG_PIDS+=($!); devlog=1
		fi
		trap '$MDSH stop "$MD" >/dev/null 2>&1; [ -n "$devlog" ] && rm -f /dev/log; _lib_cleanup' EXIT
		head -c "${MB}M" /dev/urandom > "$T/payload.bin"
		mkmsg "$T/md.eml" "$T/payload.bin"; rm -f "$T/payload.bin"
		EMLB=$(stat -c %s "$T/md.eml")
		conf_write m6 milter.max_message_size=4G "milter.early_offload=${BENCH_EARLY_OFFLOAD:-true}"
		pf_setup md6 "$SMTPD" "$SINKP" >/dev/null || bail "postfix setup"
		postconf -c "$(pf_cf md6)" -e "message_size_limit = $((EMLB * 2))" || bail "postfix message_size_limit"
		smtp-sink -u nobody "127.0.0.1:$SINKP" 1000 2>/dev/null & _SINK_PIDS+=($!); SINK6=$!
		waitport "$SINKP"; pf_start md6 || bail "postfix start"
		PFM6=$(head -1 "$(postconf -c "$(pf_cf md6)" -h queue_directory)/pid/master.pid" | tr -d ' ')
		milter_start m6 || bail "milter start"
		modes="none offload mimedefang"
		if cc -O2 -o "$T/nullmilter" tools/bench_nullmilter.c -lmilter -lpthread 2> "$T/nm-cc.err"; then
			"$T/nullmilter" "unix:$T/null.sock" 2> "$T/nm.err" & _BG_PIDS+=($!); NMPID=$!
			for i in $(seq 50); do [ -S "$T/null.sock" ] && break; sleep 0.1; done
			[ -S "$T/null.sock" ] && modes="none null offload mimedefang"
		fi
		[ "$modes" = "none offload mimedefang" ] && echo "  (the null milter did not build or start: $(tail -2 "$T/nm-cc.err" "$T/nm.err" 2>/dev/null | tr '\n' ' '))"
		if ! $MDSH start "$MD" "$MDP" 2>"$T/md-start.err"; then
			echo "offload vs MIMEDefang: MIMEDefang did not start: $(tail -3 "$T/md-start.err" | tr '\n' ' ')"
		else
			# send_big: the message by curl; sets S6_T (seconds from connect to the reply after DATA
			# and QUIT) and S6_SIZE (the size Postfix queued and relayed), or S6_ERR
			send_big() {
				local t0 t1 rc c0 c1
				S6_T='' S6_SIZE='' S6_ERR=''
				sync; s6_snap 0 "$1"; shell_child_ticks c0 "$T/times"; t0=$(now)
				smtp_send "$SMTPD" "$T/md.eml" a@example.org b@example.net; rc=$?
				t1=$(now); shell_child_ticks c1 "$T/times"; s6_snap 1 "$1"
				if [ $rc != 0 ] || ! is250; then S6_ERR="curl $rc: $SMTP_REPLY"; return 1; fi
				S6_T=$(secs "$t0" "$t1")
				wait_removed md6 "$SMTP_QID" 300 || { S6_ERR="$SMTP_QID not relayed"; return 1; }
				s6_snap 2 "$1"; s6_cpu_add "$1" "$((c1 - c0))" "$S6_T"
				S6_SIZE=$(sed -n "s/.*$SMTP_QID: from=<[^>]*>, size=\([0-9]*\).*/\1/p" "$(pf_log md6)" | head -1)
			}
			. tools/bench_cpu.sh; : > "$T/cpu6.log"
			s6_pids() {  # s6_pids MODE: the milter's processes
				case $1 in
				offload) echo "$MILTER_PID" ;;
				null) echo "$NMPID" ;;
				mimedefang) cat "$MD/run/mx.pid" "$MD/run/md.pid" 2>/dev/null ;;
				esac
			}
			s6_snap() {  # s6_snap TAG MODE: CPU counters of Postfix, the milter, smtp-sink, the machine
				local p
				tree_cpu "$PFM6" > "$T/cpu.$1.pf"
				for p in $(s6_pids "$2"); do tree_cpu "$p"; done > "$T/cpu.$1.ml"
				cpu "$SINK6" > "$T/cpu.$1.sink"
				machine_ticks > "$T/cpu.$1.mach"
			}
			s6_cpu_add() {  # s6_cpu_add MODE CLIENT_TICKS WALL: this run's CPU into $T/cpu6.log
				local w
				{
					for w in 1 2; do
						tree_delta "$T/cpu.0.pf" "$T/cpu.$w.pf" | sed "s/^/$1 $w pf /"
						tree_delta "$T/cpu.0.ml" "$T/cpu.$w.ml" | sed "s/^/$1 $w ml /"
						echo "$1 $w sink smtp-sink $(( $(cat "$T/cpu.$w.sink") - $(cat "$T/cpu.0.sink") ))"
					done
					echo "$1 1 cl curl $2"
					paste "$T/cpu.0.mach" "$T/cpu.1.mach" | awk -v m="$1" '{ print m, 1, "mach", "busy", $3 - $1; print m, 1, "machtotal", "all", $4 - $2 }'
					echo "$1 0 wall s $3"
					echo "$1 0 runs n 1"
				} >> "$T/cpu6.log"
			}
			s6_cpu_report() {  # s6_cpu_report MODES LOG: the mean CPU per mode (ticks in LOG)
				awk -v modes="$1" -v hz="$(getconf CLK_TCK)" -v ncpu="$(nproc)" '
				{ g[$1, $2, $3] += $5; if ($2 == 1 && $3 == "pf") { pn[$1, $4] += $5; nm[$4] = 1 } }
				function c(m, w, k) { return g[m, w, k] / hz / g[m, 0, "runs"] }
				END {
					print "  CPU time (user+sys, mean of the runs; less load-dependent than the times above), from connect to the 250:"
					n = split(modes, M, " ")
					for (i = 1; i <= n; i++) {
						m = M[i]; if (!g[m, 0, "runs"]) continue
						d = ""; for (k in nm) if (pn[m, k] / hz / g[m, 0, "runs"] >= 0.005) d = d sprintf(" %s %.2f", k, pn[m, k] / hz / g[m, 0, "runs"])
						t = c(m, 1, "pf") + c(m, 1, "cl") + c(m, 1, "ml") + c(m, 1, "sink"); w = g[m, 0, "wall"] / g[m, 0, "runs"]
						printf "    %s: Postfix %.2f s (%s), curl %.2f s, milter %.2f s, smtp-sink %.2f s = %.2f s in %.2f s = %.2f of %d cores (the whole machine: %.2f busy); until relayed: Postfix %.2f s, milter %.2f s, smtp-sink %.2f s\n", m, c(m, 1, "pf"), substr(d, 2), c(m, 1, "cl"), c(m, 1, "ml"), c(m, 1, "sink"), t, w, t / w, ncpu, ncpu * g[m, 1, "mach"] / g[m, 1, "machtotal"], c(m, 2, "pf"), c(m, 2, "ml"), c(m, 2, "sink")
					}
					if (g["offload", 0, "runs"] && g["null", 0, "runs"])
						printf "  CPU offload-milter over the null milter, to the 250: milter %+.2f s, Postfix %+.2f s, curl %+.2f s\n", c("offload", 1, "ml") - c("null", 1, "ml"), c("offload", 1, "pf") - c("null", 1, "pf"), c("offload", 1, "cl") - c("null", 1, "cl")
				}' "$2"
			}
			declare -A best size err times
			S6_RUNS=${BENCH_PF_RUNS:-5}
			for ((run = 0; run < S6_RUNS; run++)); do
				for mode in $modes; do
					case $mode in
					none) pf_milter md6 "" ;;
					null) pf_milter md6 "unix:$T/null.sock" ;;
					offload) rm -rf "$(store_path m6)"/*; pf_milter md6 "$(postfix_milter_spec "$(conf_socket m6)")" ;;
					mimedefang) rm -f "$MD/parts"/*; pf_milter md6 "inet:127.0.0.1:$MDP" ;;
					esac
					if send_big "$mode"; then
						size[$mode]=$S6_SIZE; times[$mode]+=" $S6_T"
					else
						err[$mode]=$S6_ERR
					fi
				done
			done
			for mode in $modes; do  # the median of the runs that succeeded (issue 15: median of 5)
				[ -n "${times[$mode]:-}" ] && best[$mode]=$(printf '%s\n' ${times[$mode]} | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
			done
			echo "a ${MB} MB attachment ($((EMLB / 1048576)) MB message) by SMTP through Postfix, connect to 250 after DATA (median of $S6_RUNS, alternating; offload with early_offload = ${BENCH_EARLY_OFFLOAD:-true}; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
			for mode in $modes; do
				if [ -n "${best[$mode]:-}" ]; then
					echo "  $mode: ${best[$mode]} s (runs:${times[$mode]}; queued and relayed: ${size[$mode]:-?} bytes)"
				else
					echo "  $mode: FAILED (${err[$mode]:-})"
				fi
			done
			mdbin=$(find "$MD/parts" -type f 2>/dev/null | head -1)
			[ -n "${best[mimedefang]:-}" ] && [ -z "$mdbin" ] && echo "  (MIMEDefang stored no part: it did not replace the attachment)"
			if [ -n "${best[none]:-}" ] && [ -n "${best[offload]:-}" ] && [ -n "${best[mimedefang]:-}" ]; then
				awk -v n="${best[none]}" -v o="${best[offload]}" -v m="${best[mimedefang]}" 'BEGIN {
					printf "  added latency: offload-milter %.2f s, MIMEDefang action_replace_with_url %.2f s\n", o - n, m - n
					if (m - n > 0) printf "  ratio ours/MIMEDefang = %.2f (target <= 0.20)\n", (o - n) / (m - n)
					else print "  ratio ours/MIMEDefang: MIMEDefang added no latency" }'
			fi
			if [ -n "${best[none]:-}" ] && [ -n "${best[offload]:-}" ] && [ -n "${best[null]:-}" ]; then
				awk -v n="${best[none]}" -v o="${best[offload]}" -v z="${best[null]}" 'BEGIN {
					printf "  added latency of the do-nothing libmilter milter (body chunks received, body replaced by one line): %.2f s\n", z - n
					if (z - n > 0) printf "  ratio ours/null milter = %.2f (target <= 1.20)\n", (o - n) / (z - n)
					if (n > 0) printf "  ratio ours/Postfix without a milter (added / its connect-to-250 %.2f s) = %.2f\n", n, (o - n) / n }'
			fi
			s6_cpu_report "$modes" "$T/cpu6.log"
		fi
		milter_stop m6; $MDSH stop "$MD" >/dev/null 2>&1; pf_stop md6
		[ -n "$devlog" ] && rm -f /dev/log
		rm -f "$T/md.eml"; rm -rf "$MD/parts" "$MD/spool" "$(store_path m6)"
	fi
fi

# ---- 7. two nodes against one (scale-out) ------------------------------------------------------
if want 7; then
	bash tools/bench_scaleout.sh "$BUILD"
fi
