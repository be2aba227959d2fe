#!/bin/bash
# test_fuzz_replay.sh - replay the fuzz targets' inputs without libFuzzer (so their corpora
# run in `make check`): fuzz_process over tests/data/corpus and
# tests/fuzz/corpus/process, fuzz_b64dec (our base64 decoder against GMime's) over the same
# messages and tests/fuzz/corpus/b64dec, fuzz_letter (the portal's letter view) over the same
# messages and tests/fuzz/corpus/letter, fuzz_envelope over real objects written by `offloadctl process`
# plus truncated, bit-flipped and spliced variants and tests/fuzz/corpus/envelope; every other
# target (the extractors, labels, config, manifest, tickets, side objects, Range/forms, S3 and
# WebDAV XML, the early offload scanner and worker: tests/fuzz/fuzz_*.c) over its seed corpus
# tests/fuzz/corpus/<target>/.
# Under the ASan build any over-read or leak aborts the replay, which counts as a failure.
. "$(dirname "$0")/lib.sh"
RP=$BUILD/fuzz/replay_process RE=$BUILD/fuzz/replay_envelope RB=$BUILD/fuzz/replay_b64dec
RL=$BUILD/fuzz/replay_letter
need_bins "$RP" "$RE" "$RB" "$RL" "$CTL"
CORPUS=$SRCDIR/tests/data/corpus

files=$(find "$CORPUS" -maxdepth 1 -type f ! -name '*.md' ! -name '*.tsv'; find "$CORPUS/tnef-raw" "$SRCDIR/tests/fuzz/corpus/process" -type f 2>/dev/null)
n=$(echo "$files" | grep -c .)
t=$(now)
# shellcheck disable=SC2086
TMPDIR="$T" "$RP" $files > "$T/rp.out" 2> "$T/rp.err"; rc=$?
checkx "fuzz_process replays $n messages without a crash or sanitizer report ($(since "$t"))" \
	'[ $rc = 0 ] && grep -q "replayed $n inputs" "$T/rp.out" && ! grep -qE "Sanitizer|runtime error" "$T/rp.err"'
b64files=$(echo "$files"; find "$SRCDIR/tests/fuzz/corpus/b64dec" -type f)
nb=$(echo "$b64files" | grep -c .)
# shellcheck disable=SC2086
"$RB" $b64files > "$T/rb.out" 2> "$T/rb.err"; rc=$?
checkx "fuzz_b64dec: $nb inputs decode as GMime decodes them" \
	'[ $rc = 0 ] && grep -q "replayed $nb inputs" "$T/rb.out" && ! grep -qE "Sanitizer|runtime error" "$T/rb.err"'

lfiles=$(echo "$files"; find "$SRCDIR/tests/fuzz/corpus/letter" -type f)
nl=$(echo "$lfiles" | grep -c .)
t=$(now)
# shellcheck disable=SC2086
"$RL" $lfiles > "$T/rl.out" 2> "$T/rl.err"; rc=$?
checkx "fuzz_letter replays $nl messages without a crash or sanitizer report ($(since "$t"))" \
	'[ $rc = 0 ] && grep -q "replayed $nl inputs" "$T/rl.out" && ! grep -qE "Sanitizer|runtime error" "$T/rl.err"'

# real objects, then hostile variants of them
conf_write f policy.offload_min_size=1k
head -c 150000 /dev/urandom > "$T/a.bin"
make_eml "$T/in.eml" "fuzz seeds" "hello" "$T/a.bin" a.bin || bail "build seed message"
"$CTL" -c "$(conf_path f)" process < "$T/in.eml" > "$T/out.eml" 2>/dev/null || bail "create seed transfer"
mkdir -p "$T/seeds"
$PY - "$(store_path f)" "$T/seeds" <<'PYEOF'
import os, random, sys
store, out = sys.argv[1], sys.argv[2]
objs = [os.path.join(d, f) for d, _, fs in os.walk(store) for f in fs if not f.startswith(".")]
rnd = random.Random(1)
n = 0
def put(b):
    global n
    open(os.path.join(out, "s%04d" % n), "wb").write(b); n += 1
for p in objs:
    d = open(p, "rb").read()
    put(d)
    for cut in (0, 1, 8, 44, 45, 100, len(d) // 2, len(d) - 17, len(d) - 1):
        put(d[:max(0, cut)])
    for _ in range(40):
        b = bytearray(d); i = rnd.randrange(len(b)); b[i] ^= 1 << rnd.randrange(8); put(bytes(b))
    put(d + b"\0" * 17)
    put(d[:45] + d[45 + 65552:] if len(d) > 45 + 65552 else d[::-1])
print(n)
PYEOF
m=$(find "$T/seeds" "$SRCDIR/tests/fuzz/corpus/envelope" -type f | grep -c .)
t=$(now)
# shellcheck disable=SC2046
"$RE" $(find "$T/seeds" "$SRCDIR/tests/fuzz/corpus/envelope" -type f) > "$T/re.out" 2> "$T/re.err"; rc=$?
checkx "fuzz_envelope replays $m real and mutated objects without a crash ($(since "$t"))" \
	'[ $rc = 0 ] && grep -q "replayed $m inputs" "$T/re.out" && ! grep -qE "Sanitizer|runtime error" "$T/re.err"'

# the other targets over their seed corpora (tests/fuzz/make_seeds.py, inputs libFuzzer found)
for src in "$SRCDIR"/tests/fuzz/fuzz_*.c; do
	tg=$(basename "$src" .c)
	tg=${tg#fuzz_}
	case $tg in process|b64dec|letter|envelope) continue ;; esac
	rp=$BUILD/fuzz/replay_$tg
	tfiles=$(find "$SRCDIR/tests/fuzz/corpus/$tg" -type f 2>/dev/null)
	nt=$(echo "$tfiles" | grep -c .)
	t=$(now)
	# shellcheck disable=SC2086
	"$rp" $tfiles > "$T/rt.out" 2> "$T/rt.err"; rc=$?
	checkx "fuzz_$tg replays its $nt seed inputs without a crash or sanitizer report ($(since "$t"))" \
		'[ -x "$rp" ] && [ "$nt" -gt 0 ] && [ $rc = 0 ] && grep -q "replayed $nt inputs" "$T/rt.out" &&
		! grep -qE "Sanitizer|runtime error|CRITICAL" "$T/rt.err"'
done
finish
