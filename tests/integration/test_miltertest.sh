#!/bin/bash
# test_miltertest.sh - OpenDKIM's miltertest drives the real offload-milter binary over the
# milter protocol (no Postfix), with offload.lua; threshold offload_min_size = 1k.
#   big:    base64 attachment of 20 KiB -> body replaced, X-Offload-Transfer (grammar) and
#           X-Data-Classification added for that transfer; then the audit log and the store
#           are checked from the shell.
#   small:  plain text -> no body change, no header operation.
#   broken: store replaced by a regular file -> SMFIR_TEMPFAIL at end of message.
# miltertest cannot read the replacement body back (it can only compare it for equality), so
# the link text itself is checked in the Postfix tests.
# Each run takes ~5 s: miltertest SIGTERMs the filter and waits for libmilter to exit.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
command -v miltertest >/dev/null || bail "miltertest not installed"
SOCK="inet:12730@127.0.0.1"

# run_mt NAME CASE EML: split EML, run miltertest, turn PASS/FAIL lines into ok/not ok
run_mt() {
	local name=$1 case=$2 eml=$3 out rc t l
	$MAILTOOL split "$eml" "$T/$case.hdrs" "$T/$case.body" || { not_ok "$case: split $eml"; return; }
	out=$T/mt-$case.out
	t=$(now)
	timeout 120 miltertest -s "$IT/offload.lua" -D MILTER="$MILTER_BIN" -D CONF="$(conf_path "$name")" \
		-D SOCK="$SOCK" -D HDRS="$T/$case.hdrs" -D BODY="$T/$case.body" -D CASE="$case" >"$out" 2>&1
	rc=$?
	while IFS= read -r l; do
		case "$l" in
		PASS:*) ok "miltertest ${l#PASS: }" ;;
		FAIL:*) not_ok "miltertest $case: ${l#FAIL: }" ;;
		esac
	done < "$out"
	check "miltertest $case exits 0 and reached the end ($(since "$t"))" \
		bash -c '[ "$1" = 0 ] && grep -qx DONE "$2"' _ "$rc" "$out"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$out" | grep -v 'mt_milter_' | tail -15
	check "milter log ($case) has no sanitizer report" \
		bash -c '! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$1"' _ "$out"
}

# ---- big: 20 KiB base64 attachment, threshold 1k -----------------------------------------------
conf_write mt "milter.socket=$SOCK" "policy.offload_min_size=1k"
random_file "$T/anlage.bin" 20480
make_eml "$T/big.eml" "Anlage" "Sehr geehrte Damen und Herren, siehe Anlage." "$T/anlage.bin" anlage.bin || bail "build big"
run_mt mt big "$T/big.eml"
s=$(sha256 "$T/anlage.bin")
checkx "audit log: event=attachment line with the attachment's sha256" \
	'grep "event=attachment" "$(audit_path mt)" 2>/dev/null | grep -q "sha256=$s"'
checkx "audit log: one event=message line" '[ "$(grep -c "event=message" "$(audit_path mt)" 2>/dev/null)" = 1 ]'
checkx "store holds the transfer encrypted (objects exist, none contains plaintext bytes)" \
	'$PY - "$(store_path mt)" "$T/anlage.bin" <<"EOF"
import os, sys
plain = open(sys.argv[2], "rb").read()
probes = [plain[i:i + 32] for i in range(0, len(plain) - 32, 4096)]
files = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs]
bad = [p for p in files if any(x in open(p, "rb").read() for x in probes)]
sys.exit(0 if files and not bad else 1)
EOF'

# ---- small: nothing to offload ------------------------------------------------------------------
make_eml "$T/small.eml" "Hallo" "Nur ein kurzer Text." || bail "build small"
conf_write mts "milter.socket=$SOCK" "policy.offload_min_size=1k"
run_mt mts small "$T/small.eml"
checkx "small: the store stays empty" '[ -z "$(find "$(store_path mts)" -type f)" ]'

# ---- broken store: tempfail ---------------------------------------------------------------------
conf_write mtb "milter.socket=$SOCK" "policy.offload_min_size=1k"
store_break mtb
run_mt mtb broken "$T/big.eml"
finish
