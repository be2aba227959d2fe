#!/bin/bash
# test_process_early.sh - `offloadctl process` reads stdin through the milter's early-offload path
# ([milter] early_offload, on by default; docs/ARCHITECTURE.md "Early offload"): config "e" has it
# on, "n" off, same settings otherwise.
#  1. the same output (rewritten message, exit code), audit lines and stored objects with early
#     offload on and off, stdin a file or a pipe: an attachment, two, a base64 text body before the
#     attachment (the early leaf is not the one stored), LF line ends with a leading mbox "From "
#     line, a single-part base64 top level (CRLF and LF), a pad '=' inside the base64 (nothing
#     stored), a small message (passed byte for byte).
#  2. the early path runs while stdin is read: the attachment's file object is in the store while
#     stdin is still open, and its transfer is the one the output names (adopted); with the test
#     hook OFFLOAD_EARLY_TEST_FAIL (an early store error) the message and the store are the same,
#     also for the single-part message (so the early path took it).
#  3. SIGTERM while stdin is read, once the early file is committed (multipart) and while the
#     single part is being stored: offloadctl ends by the signal, nothing stays in the store.
#  4. the store broken: deferred (75) as with early offload off; nothing stored.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
conf_write e "milter.early_offload=true"
conf_write n "milter.early_offload=false"

store_files() { find "$(store_path "$1")" -type f \( -regex '.*/[0-9]+' -o -name '.*' \) ! -name '.keyid*' | sort; }
nfiles() { store_files "$1" | grep -c .; }
# norm_audit NAME: the audit lines without time, transfer id, expiry and chain
norm_audit() { sed -E 's/time=[^ ]* //; s/ (transfer|expires|chain)=[^ ]*//g' "$(audit_path "$1")"; }
# sizes NAME: the sizes of the stored file objects (their ciphertext), sorted
sizes() { store_files "$1" | xargs -r stat -c %s | sort -n | tr '\n' ' '; }
proc() { "$CTL" -c "$(conf_path "$1")" process; }

# ---- the messages --------------------------------------------------------------------------
random_file "$T/a.bin" $((2 * 1024 * 1024))
random_file "$T/b.bin" $((1536 * 1024))
make_eml "$T/one.eml" "Plan" "Guten Tag, anbei der Plan." "$T/a.bin" plan.bin || bail "build message"
$PY - "$T" <<'PYEOF'
import base64, sys
T = sys.argv[1]
enc = lambda b: base64.encodebytes(b).replace(b"\n", b"\r\n")
a, b = open(T + "/a.bin", "rb").read(), open(T + "/b.bin", "rb").read()
d = open(T + "/one.eml", "rb").read()
i = d.rfind(b"\r\n--")
bnd = d[i + 2:].split(b"\r\n")[0][:-2]
part = (b"\r\n" + bnd + b"\r\nContent-Type: application/octet-stream; name=\"b.bin\"\r\n"
        b"Content-Disposition: attachment; filename=\"b.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + enc(b))
open(T + "/two.eml", "wb").write(d[:i] + part.rstrip(b"\r\n") + d[i:])
open(T + "/mbox-lf.eml", "wb").write(b"From alice@example.org Mon Dec  7 10:00:00 2026\n" + d.replace(b"\r\n", b"\n"))
j = d.rfind(b"\r\n", 0, i - 300000)
open(T + "/cut.eml", "wb").write(d[:j] + b"\r\nAA==" + d[j:])
text = ("Ein langer Text. " * 200 + "\n") * 200
open(T + "/body.eml", "wb").write(
    b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: body\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n" + enc(text.encode()) +
    b"--xx\r\nContent-Type: application/octet-stream; name=\"b.bin\"\r\nContent-Disposition: attachment; "
    b"filename=\"b.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + enc(b) + b"--xx--\r\n")
single = (b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: single\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: application/pdf; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n"
          b"Content-Transfer-Encoding: base64\r\n\r\n" + enc(a))
open(T + "/single.eml", "wb").write(single)
open(T + "/single-lf.eml", "wb").write(single.replace(b"\r\n", b"\n").rstrip(b"\n"))
# an epilogue after the closing boundary: the boundary line reaches offloadctl's 64 KiB reads
# while the writer still holds stdin open (section 2, 3)
open(T + "/epi.eml", "wb").write(d + b"epilogue\r\n" * 32768)
open(T + "/small.eml", "wb").write(b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: small\r\n\r\nhallo\r\n")
PYEOF
MSGS="one two body mbox-lf cut single single-lf small"

# ---- 1. the same with early offload on and off -----------------------------------------------
for m in $MSGS; do
	: > "$(audit_path e)"; : > "$(audit_path n)"
	rm -rf "$(store_path e)"/* "$(store_path n)"/*
	proc e < "$T/$m.eml" > "$T/$m.e.out" 2> "$T/$m.e.err"; rce=$?
	proc n < "$T/$m.eml" > "$T/$m.n.out" 2> "$T/$m.n.err"; rcn=$?
	check "$m: exit $rce with early offload on, $rcn off" [ "$rce" = 0 -a "$rcn" = 0 ]
	check "$m: the same output on and off" \
		cmp -s <($PY "$IT/golden_norm.py" "$T/$m.e.out") <($PY "$IT/golden_norm.py" "$T/$m.n.out")
	check "$m: the same audit lines ($(grep -c . "$(audit_path e)") on, $(grep -c . "$(audit_path n)") off)" \
		cmp -s <(norm_audit e) <(norm_audit n)
	check "$m: the same stored objects (sizes on: $(sizes e); off: $(sizes n))" [ "$(sizes e)" = "$(sizes n)" ]
	[ "$m" = single ] && check_offloaded "single part, early offload" "$T/single.e.out" e "$T/a.bin"
	cat "$T/$m.eml" | proc e > "$T/$m.p.out" 2> "$T/$m.p.err"
	check "$m: stdin a pipe gives the same output" \
		cmp -s <($PY "$IT/golden_norm.py" "$T/$m.p.out") <($PY "$IT/golden_norm.py" "$T/$m.n.out")
done
check "one, single, single-lf, mbox-lf: offloaded (one file each)" \
	bash -c 'for m in one single single-lf mbox-lf; do grep -q "^X-Offload-Transfer:.*; files=1;" "$1/$m.e.out" || exit 1; done' _ "$T"
check "single-lf, mbox-lf: the output keeps LF line ends" bash -c '! grep -q $'"'"'\r'"'"' "$1/single-lf.e.out" && ! grep -q $'"'"'\r'"'"' "$1/mbox-lf.e.out"' _ "$T"
check "cut: the part stays (nothing offloaded)" bash -c '! grep -qi "^X-Offload-Transfer:" "$1"' _ "$T/cut.e.out"
check "small: passed byte for byte" cmp -s "$T/small.eml" "$T/small.e.out"

# ---- 2. stored while stdin is read, and adopted ----------------------------------------------
rm -rf "$(store_path e)"/*
{ cat "$T/epi.eml"; wait_until 60 '[ -n "$(store_files e | grep "/0$")" ]'; store_files e > "$T/seen"; } |
	proc e > "$T/open.out" 2> "$T/open.err"
id=$($MAILTOOL header "$T/open.out" X-Offload-Transfer | sed -E 's/^([a-z2-7]{24});.*/\1/')
check "the file object was in the store before stdin ended ($(cat "$T/seen"))" grep -q "/0$" "$T/seen"
store_files e > "$T/after"
check "that transfer ($id) is the one the output names: adopted, not stored again" \
	bash -c '[ -n "$2" ] && grep -q "/$2/0$" "$1" && cmp -s "$1" "$3"' _ "$T/seen" "$id" "$T/after"
for m in one single; do
	rm -rf "$(store_path e)"/*
	OFFLOAD_EARLY_TEST_FAIL=1 proc e < "$T/$m.eml" > "$T/$m.f.out" 2> "$T/$m.f.err"
	check "$m, early store error: the early path ran (stderr: $(grep -m1 "early offload" "$T/$m.f.err"))" \
		grep -q "early offload: cannot store.*OFFLOAD_EARLY_TEST_FAIL" "$T/$m.f.err"
	check "$m, early store error: the same output as without early offload" \
		cmp -s <($PY "$IT/golden_norm.py" "$T/$m.f.out") <($PY "$IT/golden_norm.py" "$T/$m.n.out")
	check "$m, early store error: one file object ($(store_files e | tr '\n' ' '))" [ "$(nfiles e)" = 1 ]
done

# ---- 3. a signal while stdin is read -----------------------------------------------------------
# sigterm_while MSG COND: MSG written into a fifo offloadctl reads, kept open; SIGTERM once COND holds
sigterm_while() {
	local m=$1 cond=$2 pid rc
	rm -rf "$(store_path e)"/* "$T/fifo"
	mkfifo "$T/fifo"
	"$CTL" -c "$(conf_path e)" process < "$T/fifo" > "$T/$m.sig.out" 2> "$T/$m.sig.err" &
	pid=$!
	exec 3> "$T/fifo"
	cat "$T/$m.eml" >&3
	if wait_until 60 "$cond"; then ok "$m: stored while stdin is open ($(store_files e | tr '\n' ' '))"
	else not_ok "$m: nothing stored while stdin is open"; fi
	kill -TERM "$pid"
	wait "$pid"; rc=$?
	exec 3>&-
	rm -f "$T/fifo"
	check "$m: SIGTERM ends offloadctl by that signal (exit $rc)" [ "$rc" = 143 ]
	check "$m: nothing left in the store ($(store_files e | tr '\n' ' '))" [ "$(nfiles e)" = 0 ]
	check "$m: nothing on stdout" [ ! -s "$T/$m.sig.out" ]
}
sigterm_while epi '[ -n "$(store_files e | grep "/0$")" ]'
sigterm_while single '[ -n "$(store_files e)" ]'
check "the spool directory is empty ($(ls -A "$T/e/spool" | tr '\n' ' '))" [ -z "$(ls -A "$T/e/spool")" ]

# ---- 4. the store broken -----------------------------------------------------------------------
store_break e; store_break n
proc e < "$T/one.eml" > "$T/broken.e.out" 2> "$T/broken.e.err"; rce=$?
proc n < "$T/one.eml" > "$T/broken.n.out" 2> "$T/broken.n.err"; rcn=$?
store_fix e; store_fix n
check "store broken: deferred with early offload on and off (exit $rce, $rcn), nothing on stdout" \
	[ "$rce" = 75 -a "$rcn" = 75 -a ! -s "$T/broken.e.out" ]
check "store broken: nothing stored ($(store_files e | tr '\n' ' '))" [ "$(nfiles e)" = 0 ]
finish
