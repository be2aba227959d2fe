#!/bin/bash
# test_miltertest.sh - the real offload-milter binary over the milter protocol, no Postfix.
#   miltertest (OpenDKIM's driver) + offload.lua, threshold offload_min_size = 1k:
#     small:  plain text -> no body change, no header operation.
#     broken: store replaced by a regular file -> SMFIR_TEMPFAIL at end of message.
#   milterclient.py (our minimal MTA side of the protocol), same threshold:
#     big:    20 KiB base64 attachment -> continue, body replaced, X-Offload-Transfer and
#             X-Data-Classification added with smfi_addheader; the rewritten message (actions
#             applied) has the link, `offloadctl open` returns the file, audit log lines exist,
#             the store holds only ciphertext.
# Debian 12's miltertest 2.11.0~beta2 aborts ("stack smashing detected") as soon as a filter
# sends a replacement body chunk larger than about 1 KiB (reproduced with the recipe's
# example-milter and a 1100-byte body), and it cannot return the new body; hence
# milterclient.py for the big case. MT_BIG=1 also runs offload.lua's big case in miltertest.
# Each miltertest run takes ~5 s: it SIGTERMs the filter and waits for libmilter to exit.
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
	# a crashed miltertest leaves its filter running: stop it by the pid on our port
	local p
	command -v ss >/dev/null || return 0
	for p in $(ss -ltnpH "sport = :$(sed 's/^inet:\([0-9]*\)@.*/\1/' <<<"$SOCK")" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2); do
		kill -TERM "$p" 2>/dev/null
		for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	check "milter log ($case) has no sanitizer report" \
		bash -c '! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$1"' _ "$out"
}

# ---- big: 20 KiB base64 attachment, threshold 1k (milterclient.py) -----------------------------
conf_write mt "milter.socket=inet:12731@127.0.0.1" "policy.offload_min_size=1k"
random_file "$T/anlage.bin" 20480
make_eml "$T/big.eml" "Anlage" "Sehr geehrte Damen und Herren, siehe Anlage." "$T/anlage.bin" anlage.bin || bail "build big"
milter_start mt || bail "offload-milter start (log: $(tail -3 "$T/mt/milter.log"))"
$PY "$IT/milterclient.py" "inet:12731@127.0.0.1" "$T/big.eml" "$T/big.out.eml" > "$T/mc-big.out" 2>&1
rc=$?
sed 's/^/#   /' "$T/mc-big.out"
check "milterclient big: protocol ran to the end (exit $rc)" [ "$rc" = 0 ]
check "milterclient big: end of message answered continue or accept" grep -qE '^result=(continue|accept)' "$T/mc-big.out"
check "milterclient big: body replaced" grep -q '^replbody ' "$T/mc-big.out"
check "milterclient big: X-Offload-Transfer added with smfi_addheader" grep -q '^addheader X-Offload-Transfer: ' "$T/mc-big.out"
check "milterclient big: X-Data-Classification added with smfi_addheader" grep -q '^addheader X-Data-Classification: ' "$T/mc-big.out"
check "milterclient big: no smfi_insheader (DECISIONS.md §13: addheader only)" bash -c '! grep -q "^insheader" "$1"' _ "$T/mc-big.out"
check "milterclient big: SMFIP_HDR_LEADSPC negotiated (DECISIONS.md §13)" \
	bash -c 'p=$(sed -n "s/.*protocol=0x\([0-9a-f]*\).*/\1/p" "$1"); [ -n "$p" ] && (( (16#$p & 0x100000) != 0 ))' _ "$T/mc-big.out"
# DECISIONS.md §12 (small-mail throughput): no DATA step, no reply to connect/MAIL/RCPT/header/body
# (SMFIP_NODATA 0x200, SMFIP_NR_CONN|NR_MAIL|NR_RCPT|NR_BODY|NR_HDR 0x1000|0x4000|0x8000|0x80000|0x80)
check "milterclient big: SMFIP_NODATA and the no-reply steps negotiated (DECISIONS.md §12)" \
	bash -c 'p=$(sed -n "s/.*protocol=0x\([0-9a-f]*\).*/\1/p" "$1"); [ -n "$p" ] && (( (16#$p & 0x8d280) == 0x8d280 ))' _ "$T/mc-big.out"
if [ -s "$T/big.out.eml" ]; then
	check_offloaded "milter big" "$T/big.out.eml" mt "$T/anlage.bin"
	check "milter big: the text body is still there" bash -c '$1 notice "$2" | grep -q "siehe Anlage"' _ "$MAILTOOL" "$T/big.out.eml"
fi
checkx "store holds the transfer encrypted (objects exist, none contains plaintext bytes)" \
	'$PY - "$(store_path mt)" "$T/anlage.bin" <<"EOF"
import os, sys
plain = open(sys.argv[2], "rb").read()
probes = [plain[i:i + 32] for i in range(0, len(plain) - 32, 4096)]
files = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs]
bad = [p for p in files if any(x in open(p, "rb").read() for x in probes)]
sys.exit(0 if files and not bad else 1)
EOF'
checkx "milter spool dir empty afterwards" '[ -z "$(find "$T/mt/spool" -type f)" ]'
milter_stop mt
check "offload-milter exits after SIGTERM" [ $? = 0 ]
checkx "milter log has no sanitizer report" '! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$T/mt/milter.log"'
if [ -n "${MT_BIG:-}" ]; then
	conf_write mtbig "milter.socket=$SOCK" "policy.offload_min_size=1k"
	run_mt mtbig big "$T/big.eml"
fi

# ---- small: nothing to offload ------------------------------------------------------------------
make_eml "$T/small.eml" "Hallo" "Nur ein kurzer Text." || bail "build small"
conf_write mts "milter.socket=$SOCK" "policy.offload_min_size=1k"
run_mt mts small "$T/small.eml"
checkx "small: the store stays empty" '[ -z "$(find "$(store_path mts)" -type f ! -name keyid)" ]'

# ---- broken store: tempfail ---------------------------------------------------------------------
conf_write mtb "milter.socket=$SOCK" "policy.offload_min_size=1k"
store_break mtb
run_mt mtb broken "$T/big.eml"
# the same through milterclient.py, which shows the reply code and text
conf_write mtc "milter.socket=inet:12731@127.0.0.1" "policy.offload_min_size=1k"
store_break mtc
if milter_start mtc; then
	$PY "$IT/milterclient.py" "inet:12731@127.0.0.1" "$T/big.eml" "$T/broken.out.eml" > "$T/mc-broken.out" 2>&1
	sed 's/^/#   /' "$T/mc-broken.out"
	check "milterclient broken store: end of message answered tempfail or a 4xx reply" \
		grep -qE '^result=(tempfail|replycode 4[0-9][0-9])' "$T/mc-broken.out"
	check "milterclient broken store: reply text is ASCII, German and English lines" \
		bash -c 'sed -n "/^result=/,\$p" "$1" | tr -d "\r" | LC_ALL=C grep -q "[^ -~]" && exit 1; [ "$(sed -n "/^result=/,\$p" "$1" | wc -l)" -ge 2 ]' _ "$T/mc-broken.out"
	check "milterclient broken store: body not replaced, no header added" bash -c '! grep -qE "^(replbody|addheader)" "$1"' _ "$T/mc-broken.out"
	milter_stop mtc
else
	not_ok "offload-milter did not start with a broken store"
fi
finish
