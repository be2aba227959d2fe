#!/bin/bash
# tests/run.sh [--build DIR] [--unit-only] [--timeout SECONDS] [PATTERN...]
# Runs every DIR/tests/test_* unit binary, then (unless --unit-only) every
# tests/integration/test_*.sh. Each prints "ok ..."/"not ok ..." lines and one closing
# "N passed, N failed" line. Counts are summed; failing lines are repeated at the end; the last
# line is "N passed, N failed". Exit 1 if anything failed. A program that crashes, times out or
# exits non-zero without a count line counts as one failure. PATTERN (optional) limits the run to
# tests whose name contains one of the patterns.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=build
UNIT_ONLY=0
TMO=${TEST_TIMEOUT:-600}
PATS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--build=*) BUILD=${1#--build=}; shift ;;
	--unit-only) UNIT_ONLY=1; shift ;;
	--timeout) TMO=$2; shift 2 ;;
	-h|--help) sed -n '2,8p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 64 ;;
	*) PATS+=("$1"); shift ;;
	esac
done
case "$BUILD" in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export BUILD SRCDIR=$TOP OFFLOAD_SRCDIR=$TOP

total_pass=0; total_fail=0
FAILS=()
OUT=$(mktemp); trap 'rm -f "$OUT"' EXIT

selected() {
	[ ${#PATS[@]} -eq 0 ] && return 0
	local p; for p in "${PATS[@]}"; do [[ "$1" == *"$p"* ]] && return 0; done
	return 1
}

# run_one NAME CMD... : run with a timeout in $TOP, stream the output, parse the count line
run_one() {
	local name=$1; shift
	local t0 t1 rc p f line l
	echo "### $name"
	t0=$(date +%s.%N)
	(cd "$TOP" && exec timeout -k 10 "$TMO" "$@") 2>&1 </dev/null | tee "$OUT"
	rc=${PIPESTATUS[0]}
	t1=$(date +%s.%N)
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT" | tail -1)
	if [ -n "$line" ]; then
		p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
	else
		p=0; f=0
	fi
	while IFS= read -r l; do FAILS+=("$name: $l"); done < <(grep -E '^not ok' "$OUT")
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		FAILS+=("$name: not ok - timed out after ${TMO}s"); f=$((f + 1))
	elif [ -z "$line" ]; then
		FAILS+=("$name: not ok - exited $rc without a count line"); f=$((f + 1))
	elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		FAILS+=("$name: not ok - exited $rc although it reported no failure"); f=$((f + 1))
	fi
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	awk -v a="$t0" -v b="$t1" -v n="$name" -v p="$p" -v f="$f" \
		'BEGIN { printf "### %s: %d passed, %d failed (%.1f s)\n", n, p, f, b - a }'
}

T0=$(date +%s.%N)
nunit=0
for t in "$BUILD"/tests/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	nunit=$((nunit + 1))
	selected "$(basename "$t")" || continue
	run_one "unit/$(basename "$t")" "$t"
done
if [ $nunit -eq 0 ]; then
	echo "run.sh: no unit test binaries in $BUILD/tests"
	FAILS+=("run.sh: not ok - no unit test binaries in $BUILD/tests (build first)")
	total_fail=$((total_fail + 1))
fi

if [ $UNIT_ONLY = 0 ]; then
	for t in "$TOP"/tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		selected "$(basename "$t")" || continue
		run_one "integration/$(basename "$t")" bash "$t"
	done
fi

echo
echo "=== summary ($(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f s", b-a}'))"
if [ ${#FAILS[@]} -gt 0 ]; then
	echo "failures:"
	for l in "${FAILS[@]}"; do echo "  $l"; done
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
