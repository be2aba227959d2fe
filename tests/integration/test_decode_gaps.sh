#!/bin/bash
# test_decode_gaps.sh - an encoded part with a stretch that decodes to nothing: 12 KB of
# quoted-printable soft line breaks ("=" at the end of a line), 16 KB of characters base64
# ignores. GMime's filter stream answers a read of such a stretch (4,096 encoded bytes that give
# no byte) with 0, which its readers took for the end: the offloaded file came out truncated and
# whatever followed the stretch was never classified. Through `offloadctl process` and `open`
# (the file must come back whole) and `offloadctl classify` (the IBANs after the stretch count).
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
conf_write g policy.offload_min_size=64k
CONF=$(conf_path g)

# gapmsg OUT KIND PAYLOAD-FILE: a mail with PAYLOAD as a text/plain attachment in KIND encoding
# with the empty stretch (longer than two 4,096-byte reads) after its first 40 %; it decodes to
# PAYLOAD exactly (quoted-printable: with CRLF line breaks, MIME's canonical form of text)
gapmsg() {
	$PY - "$1" "$2" "$3" <<'PY'
import base64, quopri, sys
out, kind, src = sys.argv[1:]
data = open(src, 'rb').read()
cut = len(data) * 2 // 5
if kind == 'qp':
    enc = quopri.encodestring(data).replace(b'\n', b'\r\n')
    at = enc.index(b'\r\n', len(enc) * 2 // 5) + 2
    body = enc[:at] + b'=\r\n' * 4000 + enc[at:]
    cte = 'quoted-printable'
else:
    lines = base64.encodebytes(data).replace(b'\n', b'\r\n')
    at = lines.index(b'\r\n', len(lines) * 2 // 5) + 2
    body = lines[:at] + (b'!#$%' * 19 + b'\r\n') * 200 + lines[at:]
    cte = 'base64'
with open(out, 'wb') as f:
    f.write(b'From: a@example.org\r\nTo: b@example.net\r\nSubject: gap\r\nMIME-Version: 1.0\r\n'
            b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            b'Content-Type: text/plain; charset=utf-8\r\n\r\nsee attachment\r\n--b1\r\n'
            b'Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename="ledger.txt"\r\n'
            b'Content-Transfer-Encoding: ' + cte.encode() + b'\r\n\r\n' + body + b'\r\n--b1--\r\n')
PY
}

# ---- offloaded whole ----------------------------------------------------------------------------
$PY -c 'import random, sys
r = random.Random(7)
sys.stdout.write("".join("Zeile %06d %s\n" % (i, "".join(r.choice("abcdefghij äöü=") for _ in range(60))) for i in range(4000)))' > "$T/big.txt"
sed 's/$/\r/' "$T/big.txt" > "$T/big-crlf.txt"
for kind in qp b64; do
	gapmsg "$T/$kind.eml" $kind "$T/big.txt"
	"$CTL" -c "$CONF" process --rcpt b@example.net < "$T/$kind.eml" > "$T/$kind.out" 2> "$T/$kind.err"; rc=$?
	rm -rf "$T/$kind-open"; ctl_open "$(mail_link "$T/$kind.out")" "$T/$kind-open" g > /dev/null 2>&1
	want=$T/big.txt; [ $kind = qp ] && want=$T/big-crlf.txt
	checkx "$kind attachment with an empty stretch: offloaded, and it opens whole and byte-exact ($(stat -c %s "$want") bytes; got $(stat -c %s "$T/$kind-open/ledger.txt" 2>/dev/null || echo none))" \
		'[ $rc = 0 ] && grep -q "^X-Offload-Transfer:" "$T/$kind.out" && cmp -s "$want" "$T/$kind-open/ledger.txt"'
done

# ---- classified to its end ----------------------------------------------------------------------
# valid German IBANs (mod 97), only after the stretch; a small part that stays in the mail
$PY -c 'import sys
def iban(n):
    bban = "37040044%010d" % n
    d = int("".join(str(int(c, 36)) for c in bban + "DE00")); return "DE%02d%s" % (98 - d % 97, bban)
sys.stdout.write("Bericht ohne Zahlen.\n" * 300 + "".join("Konto %s\n" % iban(532013000 + i) for i in range(30)))' > "$T/iban.txt"
for kind in qp b64; do
	gapmsg "$T/iban-$kind.eml" $kind "$T/iban.txt"
	"$CTL" -c "$CONF" classify --json "$T/iban-$kind.eml" > "$T/iban-$kind.json" 2> "$T/iban-$kind.err"
	checkx "$kind attachment: the 30 IBANs after the empty stretch are found (reasons: $(grep -o '"reasons":{[^}]*}' "$T/iban-$kind.json" | head -1))" \
		'grep -q "\"reasons\":{\"iban\":30}" "$T/iban-$kind.json"'
done
finish
