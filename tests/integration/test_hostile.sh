#!/bin/bash
# test_hostile.sh - hostile and broken messages through `offloadctl process` (issue 14): base64
# that does not decode to its end, a full spool, MIME limits, signed mail and DKIM, the
# plaintext a crash leaves in the spool, and the smoke set (10k parts, depth 1000, 1 MB
# header line, 100k headers, missing boundaries, bad names, zip bomb): each a clear outcome.
# Messages come from hostile.py.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
H() { $PY "$IT/hostile.py" "$1" "$T/$1.eml"; }
conf_write p policy.offload_min_size=64k
CONF=$(conf_path p)
run() { "$CTL" -c "$CONF" process --rcpt bob@example.net "$@"; }

# ---- item 12: base64 that stops at a stray pad is never offloaded truncated --------------------
H b64garbage
run < "$T/b64garbage.eml" > "$T/b64.out" 2> "$T/b64.err"; rc=$?
checkx "base64 going on after a pad: exit 0, the part stays in the mail unchanged" \
	'[ $rc = 0 ] && ! grep -q "^X-Offload-Transfer:" "$T/b64.out" && cmp -s "$T/b64garbage.eml" "$T/b64.out"'
checkx "base64 going on after a pad: logged, nothing stored" \
	'grep -q "base64 data goes on after the end" "$T/b64.err" && [ -z "$(find "$(store_path p)" -type f ! -name keyid)" ]'

# ---- item 7: a full spool defers (75), also with a regular file on stdin -------------------------
# a 128 KiB tmpfs in a private mount namespace is the full disk; the message is 512 KiB
conf_write full policy.offload_min_size=64k
{ printf 'From: a@example.org\nTo: b@example.net\nSubject: full\n\n'; head -c 384000 /dev/urandom | base64; } > "$T/big.eml"
if unshare -m true 2>/dev/null; then
	for how in file pipe; do
		rc=$(unshare -m bash -c 'mount -t tmpfs -o size=128k tmpfs "$1/full/spool" || exit 99
			if [ "$3" = file ]; then "$2" -c "$1/full/offload.conf" process --rcpt b@example.net < "$1/big.eml"
			else cat "$1/big.eml" | "$2" -c "$1/full/offload.conf" process --rcpt b@example.net; fi
			echo $? >&3' _ "$T" "$CTL" "$how" 3>&1 >/dev/null 2>"$T/full-$how.err")
		checkx "full spool, $how on stdin: exit 75 (deferred), not 65" '[ "$rc" = 75 ]'
	done
else
	note "unshare -m not permitted here: full-spool test skipped"
fi

finish
