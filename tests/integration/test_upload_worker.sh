#!/bin/bash
# test_upload_worker.sh - an attachment larger than one 256 KiB pipe buffer is encrypted and
# stored on a worker thread of its own (transfer/transfer_pipe.c, issue 15). Through
# `offloadctl process`: the store filling up while that thread writes is reported (exit 75,
# deferred) and leaves no object, not even a temporary; an upload the caller abandons while the
# thread writes (base64 going on after a pad, found at the end of the one decoding pass) leaves
# none either; a multi-segment file comes back byte-exact.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
# att_msg OUT KiB [TAIL]: a message with one base64 attachment of KiB random KiB, TAIL appended
# to its base64 lines (e.g. a stray pad and more base64)
att_msg() {
	{ printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: worker\r\nMIME-Version: 1.0\r\n'
	  printf 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
	  printf -- '--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="w.bin"\r\n'
	  printf 'Content-Transfer-Encoding: base64\r\n\r\n'
	  head -c "$2K" /dev/urandom | base64 -w 76 | sed 's/$/\r/'
	  printf '%s' "${3:-}"
	  printf -- '--b--\r\n'; } > "$1"
}
stored() { find "$(store_path "$1")" -type f ! -name keyid | wc -l; }
conf_write w policy.offload_min_size=64k
run() { "$CTL" -c "$(conf_path "$1")" process --rcpt b@example.net; }

# ---- a multi-segment file through the worker comes back byte-exact ----------------------------
att_msg "$T/ok.eml" 3000
run w < "$T/ok.eml" > "$T/ok.out" 2> "$T/ok.err"; rc=$?
link=$(mail_link "$T/ok.out")
checkx "3000 KiB attachment: offloaded (exit 0)" '[ $rc = 0 ] && [ -n "$link" ]'
want=$($MAILTOOL leaves "$T/ok.eml" | awk '$1 > 1000000 {print $2}')
checkx "3000 KiB attachment: opens byte-exact from its link" \
	'ctl_open "$link" "$T/open" w > "$T/open.txt" 2>&1 && [ -n "$want" ] &&
	 [ "$(sha256sum "$T/open/w.bin" | cut -d" " -f1)" = "$want" ]'

# ---- the caller abandons the upload while the worker writes: nothing stays --------------------
rm -rf "$(store_path w)"; mkdir -p "$(store_path w)"
att_msg "$T/pad.eml" 2001 $'QUI=\r\nQUJD\r\n'
run w < "$T/pad.eml" > "$T/pad.out" 2> "$T/pad.err"; rc=$?
checkx "2001 KiB of base64, then data after a pad: exit 0, the part stays unchanged, logged" \
	'[ $rc = 0 ] && cmp -s "$T/pad.eml" "$T/pad.out" && grep -q "base64 data goes on after the end (4 characters would be lost)" "$T/pad.err"'
checkx "data after a pad: the upload the worker had begun is gone (no object, no temporary)" \
	'[ "$(stored w)" = 0 ]'

# ---- the store fills up while the worker writes: reported, nothing stays ----------------------
# a 1 MiB tmpfs in a private mount namespace is the store; the attachment is 4 MiB
if unshare -m true 2>/dev/null; then
	conf_write full policy.offload_min_size=64k
	att_msg "$T/big.eml" 4096
	rc=$(unshare -m bash -c 'mount -t tmpfs -o size=1m tmpfs "$1" || exit 99
		"$2" -c "$3" process --rcpt b@example.net < "$4" > "$5"; echo $? >&3
		find "$1" -type f ! -name keyid > "$6"' \
		_ "$(store_path full)" "$CTL" "$(conf_path full)" "$T/big.eml" "$T/full.out" "$T/full.left" \
		3>&1 >/dev/null 2>"$T/full.err")
	checkx "store full while the worker writes: exit 75 (deferred), the error is reported" \
		'[ "$rc" = 75 ] && grep -q "cannot store attachment" "$T/full.err"'
	checkx "store full while the worker writes: no object and no temporary left" \
		'[ -f "$T/full.left" ] && [ ! -s "$T/full.left" ]'
else
	note "unshare -m not permitted here: full-store test skipped"
fi

finish
