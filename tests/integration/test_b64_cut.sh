#!/bin/bash
# test_b64_cut.sh - base64 attachments that do not decode whole through `offloadctl process`
# (issue 15: the fast decoder reports what GMime drops silently). Data after the pad '=' or a cut
# last group would make the offloaded file a shortened one: such a part stays in the message
# unchanged, with a warning in the log; an intact one of the same size is offloaded and opens
# byte-exact.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
conf_write p policy.offload_min_size=2k
run() { "$CTL" -c "$(conf_path p)" process; }
head -c 6001 /dev/urandom > "$T/payload.bin"   # 6001 bytes: the last group is padded "=="
# mk OUT MODE: a message with payload.bin base64-encoded, then damaged as MODE says
mk() {
	$PY - "$T/payload.bin" "$1" "$2" <<'PYEOF'
import base64, sys
data = open(sys.argv[1], "rb").read()
b = base64.encodebytes(data).replace(b"\n", b"\r\n")
mode = sys.argv[3]
if mode == "after-pad":    # a second encoding appended after the first one's pad
    b += base64.encodebytes(b"more data that a decoder stopping at '=' loses").replace(b"\n", b"\r\n")
elif mode == "cut":        # the pad and one more character gone: the last group is cut
    b = b.rstrip(b"\r\n=")[:-1] + b"\r\n"
hdr = (b"From: a@example.gov\r\nTo: b@example.net\r\nSubject: b64\r\nMessage-ID: <b64-%s@example.gov>\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"bb\"\r\n\r\n--bb\r\n"
       b"Content-Type: text/plain\r\n\r\nhello\r\n--bb\r\nContent-Type: application/octet-stream; name=\"p.bin\"\r\n"
       b"Content-Disposition: attachment; filename=\"p.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n") % mode.encode()
open(sys.argv[2], "wb").write(hdr + b + b"--bb--\r\n")
PYEOF
}
for mode in after-pad cut; do
	mk "$T/$mode.eml" $mode
	run < "$T/$mode.eml" > "$T/$mode.out" 2> "$T/$mode.err"; rc=$?
	checkx "$mode: exit 0, the attachment stays in the message unchanged" \
		'[ $rc = 0 ] && ! grep -q "^X-Offload-Transfer:" "$T/$mode.out" && grep -q "filename=\"p.bin\"" "$T/$mode.out"'
	checkx "$mode: the log says why" 'grep -q "p.bin.*base64 data .*stays in the message unchanged" "$T/$mode.err"'
done
mk "$T/clean.eml" clean
run < "$T/clean.eml" > "$T/clean.out" 2> "$T/clean.err"; rc=$?
checkx "intact: offloaded" '[ $rc = 0 ] && grep -q "^X-Offload-Transfer:" "$T/clean.out"'
rm -rf "$T/open"; ctl_open "$(mail_link "$T/clean.out")" "$T/open" p > /dev/null 2>&1
checkx "intact: opens byte-exact" 'cmp -s "$T/payload.bin" "$T/open/p.bin"'
finish
