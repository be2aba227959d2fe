#!/bin/bash
# test_corpus.sh - every real-world message of tests/data/corpus through `offloadctl process`
# with offload_min_size = 1k (so most attachments are offloaded), judged by corpus_check.py:
# exit status, output read back by Python's email package (no new defects) and by GMime
# (gmime_check.c, compiled here), nothing lost (kept with the same decoded bytes, or in the
# transfer with the same SHA-256 via `offloadctl open`), original headers unchanged and in
# order, unchanged output byte-identical, every text part of a rewritten message decodes strictly
# under its declared charset. One ok/not ok line per message. Every rewritten
# output is processed once more: it must pass byte-identical as already offloaded (the
# X-Offload-Transfer MAC binds the body as written, FORMATS.md §3.1).
# Recipients: --rcpt corpus@recipient.example (outside any internal domain) so every message
# is outgoing; the sender is taken from the message. CORPUS=DIR overrides the corpus path.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
CORPUS=${CORPUS:-$SRCDIR/tests/data/corpus}
[ -d "$CORPUS" ] || bail "corpus not found at $CORPUS"
MIN=1024

GM=$T/gmime_check
cc -std=c11 -O1 -Wall -Wextra "$IT/gmime_check.c" -o "$GM" $(pkg-config --cflags --libs gmime-3.0) ||
	bail "compile gmime_check.c"
conf_write c "policy.offload_min_size=1k"
conf=$(conf_path c)

n=0 nre=0 rebad=()
t=$(now)
for f in "$CORPUS"/*; do
	[ -f "$f" ] || continue
	case "$(basename "$f")" in MANIFEST.tsv|README.md|*.tsv|*.md) continue ;; esac
	n=$((n + 1))
	out=$T/out.eml err=$T/err.txt
	timeout 60 "$CTL" -c "$conf" process --rcpt corpus@recipient.example < "$f" > "$out" 2> "$err"
	rc=$?
	if [ $rc = 124 ]; then
		not_ok "$(basename "$f"): offloadctl process timed out (60 s)"
		continue
	fi
	if grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$err"; then
		not_ok "$(basename "$f"): sanitizer report: $(grep -m1 -E 'ERROR|runtime error' "$err")"
		continue
	fi
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done < <($PY "$IT/corpus_check.py" "$f" "$out" "$rc" "$err" "$CTL" "$conf" "$MIN" "$T" "$GM" 2>&1 ||
		echo "not ok - $(basename "$f"): corpus_check.py crashed")
	rm -rf "$T"/open-*
	# a rewritten message fed back verifies (its MAC binds the body as written, FORMATS.md §3.1)
	if [ $rc = 0 ] && grep -q "^X-Offload-Transfer:" "$out"; then
		nre=$((nre + 1))
		timeout 60 "$CTL" -c "$conf" process --rcpt corpus@recipient.example < "$out" > "$T/again.eml" 2> "$T/again.err"
		if ! cmp -s "$out" "$T/again.eml" || ! grep -q "reason=already-offloaded" "$T/again.err"; then
			rebad+=("$(basename "$f")")
		fi
	fi
done
note "$n messages in $(since "$t")"
check "corpus has messages ($n)" [ "$n" -gt 100 ]
checkx "every rewritten message fed back passes byte-identical as already offloaded ($nre; failed: ${rebad[*]:-none})" \
	'[ "$nre" -gt 10 ] && [ ${#rebad[@]} = 0 ]'
checkx "audit log has event=attachment lines with sha256" 'grep "event=attachment" "$(audit_path c)" | grep -qE "sha256=[0-9a-f]{64}"'
note "audit log: $(wc -l < "$(audit_path c)") lines, $(grep -c "event=attachment" "$(audit_path c)") attachment events"
finish
