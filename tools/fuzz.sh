#!/bin/bash
# tools/fuzz.sh SECONDS TARGET... - build each libFuzzer target tests/fuzz/fuzz_<target>.c
# against build-fuzz/liboffload.a (made by `make fuzz`, which passes FUZZ_CFLAGS and
# FUZZ_LIBS) and run it for SECONDS on its seed corpus tests/fuzz/corpus/<target>/ (process
# and letter also on tests/data/corpus). New inputs go to build-fuzz/corpus/<target>/, a crash
# to build-fuzz/crash-<target>-*, the log to build-fuzz/fuzz_<target>.log. Prints one line
# per target: executions, cov/ft of libFuzzer's last status line, the crash if any; exits 1
# when a target crashed (the others still run).
set -u
secs=$1
shift
cd "$(dirname "$0")/.." || exit 2
mkdir -p build-fuzz/fuzz
fail=0
for t in "$@"; do
	# shellcheck disable=SC2086
	clang $FUZZ_CFLAGS "tests/fuzz/fuzz_$t.c" build-fuzz/liboffload.a $FUZZ_LIBS \
		-o "build-fuzz/fuzz/fuzz_$t" || { echo "fuzz $t: build failed"; fail=1; continue; }
	mkdir -p "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t"
	seeds="tests/fuzz/corpus/$t"
	case $t in process|letter) seeds="$seeds tests/data/corpus" ;; esac
	log=build-fuzz/fuzz_$t.log
	start=$SECONDS
	# shellcheck disable=SC2086
	"build-fuzz/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=262144 -timeout=60 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="build-fuzz/crash-$t-" "build-fuzz/corpus/$t" $seeds \
		> "$log" 2>&1
	rc=$?
	took=$((SECONDS - start))
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	crash=$(grep -oE "Test unit written to [^ ]+" "$log" | head -n 1)
	[ $rc = 0 ] || [ -n "$crash" ] || crash="died without a test unit, see $log"
	echo "fuzz $t: ${took} s, ${execs:-?} executions, $(echo "$last" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*'), ${crash:-no crash} (rc $rc)"
	[ $rc = 0 ] || fail=1
done
exit $fail
