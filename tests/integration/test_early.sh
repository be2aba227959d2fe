#!/bin/bash
# test_early.sh - early offload ([milter] early_offload = true; docs/ARCHITECTURE.md "Early
# offload", on by default): a large base64 attachment is stored while the body arrives and
# adopted at end of message. Milter "e" has it on, milter "n" (same settings otherwise) off;
# "r" rejects signed mail; "f" has the test hook OFFLOAD_EARLY_TEST_FAIL. Ports 13190-13191.
#  1. SMTP through Postfix: a 2 MiB attachment is offloaded by the early path (log: adopted), the
#     download is byte-identical, and the store holds that one file.
#  2. the same message, one with two attachments and one whose base64 goes on after a pad '='
#     (the part stays) give the same rewritten message with early offload on and off (random
#     values normalised); the second attachment downloads too; the cut one is not stored. So do
#     two where end of message must not parse without the leaf's bytes as it does otherwise (a
#     line in the leaf only GMime takes for a boundary) or where the scanner and GMime could
#     read a part's header differently (two Content-Type fields). And
#     a single-part message whose top level is the base64 attachment (adopted too).
#  3. the early leaf is not the one offloaded (a 3 MiB base64 text body before a 2 MiB
#     attachment): the early object is deleted, the attachment is stored the normal way.
#  4. rejected (signed_mail = reject, a multipart/signed message): 5xx and nothing in the store.
#  5. the MTA aborts: after the whole body once the early file is committed, and in the middle
#     of the body: nothing stays in the store or the spool; the milter goes on working.
#  6. an early upload error (OFFLOAD_EARLY_TEST_FAIL): the attachment is stored the normal way;
#     with the store down the message is deferred and nothing is left in the store.
#  7. the spool disk fills between two publishes and has room again at end of message (milter
#     "s": spool on a 1 MiB tmpfs in a private mount namespace, half of it taken by a file that is
#     removed before end-of-body; body chunks of 2 KiB, smaller than stdio's buffer, so every
#     spool write after the early worker started happens in a publish's fflush, the last one
#     too): the message is deferred (451), nothing is stored; the milter goes on.
#  8. classified attachments (a ledger with IBANs that raises the class while storing, a text
#     named by RFC 2231, a PDF named by RFC 2047, a docx named by Content-Type only, a PDF
#     without a name; the text again in a message labelled Company-Confidential, offloaded
#     whole, so classified before anything is stored), milters "c"/"o" on/off with max_text
#     64K besides "e"/"n": the answer, the rewritten message, the audit lines and the action
#     log lines are the same with early offload on and off; the five with a file name were
#     classified in the worker's stream.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
SMTPD=13190 SINKP=13191 SINK=$T/sink

t=$(now)
conf_write e "milter.early_offload=true"
conf_write n "milter.early_offload=false"
conf_write r "milter.early_offload=true" "policy.signed_mail=reject"
conf_write f "milter.early_offload=true"
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pf || bail "postfix start"
milter_start e || bail "milter e start"
milter_start n || bail "milter n start"
milter_start r || bail "milter r start"
OFFLOAD_EARLY_TEST_FAIL=1 milter_start f || bail "milter f start"
pf_milter pf "$(postfix_milter_spec "$(conf_socket e)")" || bail "set smtpd_milters"
ok "postfix + smtp-sink + four milters up ($(since "$t"))"

# store_files NAME: the file objects ("<id>/<n>") in NAME's store, and any temporary file
store_files() { find "$(store_path "$1")" -type f \( -regex '.*/[0-9]+' -o -name '.*' \) ! -name '.keyid*' | sort; }
nfiles() { store_files "$1" | grep -c .; }
mc() { timeout 120 $PY "$IT/milterclient.py" "$(conf_socket "$1")" "$2" "$3" "${@:4}"; }

# ---- 1. through Postfix ----------------------------------------------------------------------
random_file "$T/plan.bin" $((2 * 1024 * 1024))
make_eml "$T/big.eml" "Plan" "Guten Tag, anbei der Plan." "$T/plan.bin" plan.bin || bail "build message"
smtp_send "$SMTPD" "$T/big.eml" alice@example.org bob@example.net
check "2 MiB message accepted with 250 ($SMTP_REPLY)" is250
wait_removed pf "$SMTP_QID" 120
f=$(sink_find "$SINK" alice@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/big.out.eml"
	check_offloaded "early 2 MiB" "$T/big.out.eml" e "$T/plan.bin"
else
	not_ok "no sink file for the 2 MiB message"
fi
check "the milter log says the early file was adopted" grep -q "stored while the body arrived adopted" "$T/e/milter.log"
check "the store holds exactly one file object ($(store_files e | tr '\n' ' '))" [ "$(nfiles e)" = 1 ]

# ---- 2. same rewritten message with early offload on and off ---------------------------------
random_file "$T/b.bin" $((2 * 1024 * 1024))
$PY - "$T/big.eml" "$T/two.eml" "$T/b.bin" <<'PYEOF'
import base64, sys
d = open(sys.argv[1], "rb").read()
b = base64.encodebytes(open(sys.argv[3], "rb").read()).replace(b"\n", b"\r\n")
i = d.rfind(b"\r\n--")          # the closing boundary line
bnd = d[i + 2:].split(b"\r\n")[0][:-2]
part = (b"\r\n" + bnd + b"\r\nContent-Type: application/octet-stream; name=\"b.bin\"\r\n"
        b"Content-Disposition: attachment; filename=\"b.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b)
open(sys.argv[2], "wb").write(d[:i] + part.rstrip(b"\r\n") + d[i:])
PYEOF
# base64 that goes on after a pad '=' (issue 14 item 12): the part stays, nothing is stored
$PY - "$T/big.eml" "$T/cut.eml" <<'PYEOF'
import sys
d = open(sys.argv[1], "rb").read()
i = d.rfind(b"\r\n--")
j = d.rfind(b"\r\n", 0, d.rfind(b"\r\n", 0, i) - 200000)   # a line end ~200 kB before the end
open(sys.argv[2], "wb").write(d[:j] + b"\r\nAA==" + d[j:])
PYEOF
# end of message parses the spool without the early leaf's bytes (pipeline_early.c
# run_parse_excised); two messages where that must not happen: a line in the leaf that GMime
# takes for a boundary and the early scanner does not (longer than the 256 bytes it keeps of a
# body line); and a part with a second Content-Type (multipart; GMime and the scanner both
# take the first)
$PY - "$T/big.eml" "$T/longbnd.eml" "$T/dupct.eml" <<'PYEOF'
import sys
d = open(sys.argv[1], "rb").read()
i = d.rfind(b"\r\n--")
bnd = d[i + 2:].split(b"\r\n")[0][:-2]
j = d.find(b"\r\n", 3 * len(d) // 4)
open(sys.argv[2], "wb").write(d[:j] + b"\r\n" + bnd + b" " * 300 + d[j:])
k = d.find(b"Content-Transfer-Encoding: base64\r\n", d.find(b"\r\n" + bnd + b"\r\nContent-Type: application"))
open(sys.argv[3], "wb").write(d[:k] + b"Content-Type: multipart/mixed; boundary=\"zz\"\r\n" + d[k:])
PYEOF
# a single-part message that is itself the base64 attachment (the early leaf ends with the body)
$PY - "$T/single.eml" "$T/plan.bin" <<'PYEOF'
import base64, sys
b = base64.encodebytes(open(sys.argv[2], "rb").read()).replace(b"\n", b"\r\n")
open(sys.argv[1], "wb").write(b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: single\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: application/octet-stream; name=\"plan.bin\"\r\nContent-Disposition: attachment; "
    b"filename=\"plan.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b)
PYEOF
for m in big two cut longbnd dupct single; do
	mc e "$T/$m.eml" "$T/$m.e.out" > "$T/$m.e.res" 2>&1
	mc n "$T/$m.eml" "$T/$m.n.out" > "$T/$m.n.res" 2>&1
	check "$m: both milters accept (early: $(tail -1 "$T/$m.e.res"), not: $(tail -1 "$T/$m.n.res"))" \
		bash -c 'grep -q "^result=continue" "$1" && grep -q "^result=continue" "$2"' _ "$T/$m.e.res" "$T/$m.n.res"
	check "$m: the rewritten message is the same with early offload on and off" \
		cmp -s <($PY "$IT/golden_norm.py" "$T/$m.e.out") <($PY "$IT/golden_norm.py" "$T/$m.n.out")
done
check "cut: the part stays (no X-Offload-Transfer)" bash -c '! grep -qi "^X-Offload-Transfer:" "$1"' _ "$T/cut.e.out"
check "cut: the early upload stored nothing (no log line for it)" \
	[ "$(grep -c "bytes stored as" "$T/e/milter.log")" = "$(grep -c "stored while the body arrived adopted" "$T/e/milter.log")" ]
check_offloaded "early, two attachments" "$T/two.e.out" e "$T/plan.bin" "$T/b.bin"
check_offloaded "early, single part" "$T/single.e.out" e "$T/plan.bin"
check "adopted four times more (single part too)" [ "$(grep -c "stored while the body arrived adopted" "$T/e/milter.log")" = 5 ]

# ---- 3. the early leaf stays in the message ----------------------------------------------------
random_file "$T/c.bin" $((2 * 1024 * 1024))
$PY - "$T/body.eml" "$T/c.bin" <<'PYEOF'
import base64, sys, random
text = ("Ein langer Text. " * 200 + "\n") * 1000
enc = lambda b: base64.encodebytes(b).replace(b"\n", b"\r\n")
o = (b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: body\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain; charset=utf-8\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\n" + enc(text.encode()) +
     b"--xx\r\nContent-Type: application/octet-stream; name=\"c.bin\"\r\nContent-Disposition: attachment; "
     b"filename=\"c.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + enc(open(sys.argv[2], "rb").read()) +
     b"--xx--\r\n")
open(sys.argv[1], "wb").write(o)
PYEOF
before=$(nfiles e) nla=$(grep -c "is not the one stored first" "$T/e/milter.log")
mc e "$T/body.eml" "$T/body.out" > "$T/body.res" 2>&1
check "text body first: accepted ($(tail -1 "$T/body.res"))" grep -q "^result=continue" "$T/body.res"
check_offloaded "text body first" "$T/body.out" e "$T/c.bin"
check "the early transfer of the text body was deleted (log)" \
	[ "$(grep -c "is not the one stored first" "$T/e/milter.log")" -gt "$nla" ]
check "one more file object in the store ($before -> $(nfiles e))" [ "$(nfiles e)" = $((before + 1)) ]

# ---- 4. rejected after the early store ---------------------------------------------------------
$PY - "$T/signed.eml" "$T/plan.bin" <<'PYEOF'
import base64, sys
b = base64.encodebytes(open(sys.argv[2], "rb").read()).replace(b"\n", b"\r\n")
o = (b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: signed\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"sig\"\r\n\r\n"
     b"--sig\r\nContent-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain\r\n\r\nhallo\r\n"
     b"--mix\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\n" + b + b"--mix--\r\n--sig\r\nContent-Type: application/pkcs7-signature; "
     b"name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--sig--\r\n")
open(sys.argv[1], "wb").write(o)
PYEOF
mc r "$T/signed.eml" "$T/signed.out" > "$T/signed.res" 2>&1
check "signed message rejected ($(tail -1 "$T/signed.res"))" grep -q "^result=replycode 5" "$T/signed.res"
check "nothing in the store of the rejecting milter ($(store_files r | tr '\n' ' '))" [ "$(nfiles r)" = 0 ]

# ---- 5. the MTA aborts ---------------------------------------------------------------------------
n0=$(grep -c "bytes stored as" "$T/r/milter.log")
mc r "$T/big.eml" "$T/ab.out" --abort-after 999999999 \
	--abort-when "[ \$(grep -c 'bytes stored as' '$T/r/milter.log') -gt $n0 ]" > "$T/ab.res" 2>&1
check "abort after the whole body: sent ($(tail -1 "$T/ab.res"))" grep -q "^result=aborted" "$T/ab.res"
check "abort after the whole body: the early file had been committed" \
	[ "$(grep -c "bytes stored as" "$T/r/milter.log")" -gt "$n0" ]
mc r "$T/big.eml" "$T/ab2.out" --abort-after $((2 * 1024 * 1024)) > "$T/ab2.res" 2>&1
check "abort in the middle of the body: sent ($(tail -1 "$T/ab2.res"))" grep -q "^result=aborted" "$T/ab2.res"
mc r "$T/big.eml" "$T/after.out" > "$T/after.res" 2>&1
check "the milter goes on: the next message is offloaded ($(tail -1 "$T/after.res"))" \
	bash -c 'grep -q "^result=continue" "$1" && grep -q "^X-Offload-Transfer:" "$2"' _ "$T/after.res" "$T/after.out"
check "after both aborts only the last message's file is in the store ($(store_files r | tr '\n' ' '))" [ "$(nfiles r)" = 1 ]
sp=$(find "$T/r/spool" -type f | wc -l)
check "the spool is empty ($sp files)" [ "$sp" = 0 ]

# ---- 6. early upload error: stored the normal way; the store down: deferred, nothing left ----------
nr=$(nfiles r)
store_break r
mc r "$T/big.eml" "$T/down.out" > "$T/down.res" 2>&1
store_fix r
check "store down: the message is deferred ($(tail -1 "$T/down.res"))" grep -q "^result=tempfail\|^result=replycode 4" "$T/down.res"
check "store down: the early upload failed too (log)" grep -q "early offload: cannot store" "$T/r/milter.log"
check "store down: nothing added to the store ($(store_files r | tr '\n' ' '))" [ "$(nfiles r)" = "$nr" ]
mc f "$T/big.eml" "$T/fail.out" > "$T/fail.res" 2>&1
check "early upload error: accepted ($(tail -1 "$T/fail.res"))" grep -q "^result=continue" "$T/fail.res"
check "early upload error: logged" grep -q "OFFLOAD_EARLY_TEST_FAIL" "$T/f/milter.log"
check_offloaded "early upload error" "$T/fail.out" f "$T/plan.bin"

# ---- 7. the spool disk fills between two publishes ------------------------------------------------
# glibc drops the bytes a failed fflush held; end of message's own flush then has nothing left to
# fail on: msg_finish must see the earlier failure (ferror), or a message with bytes missing from
# its spool is offloaded (found once by test_faults spool_full)
if unshare -m true 2>/dev/null; then
	conf_write s "milter.early_offload=true" "policy.offload_min_size=64k"
	printf '#!/bin/bash\nexec unshare -m bash -c '\''mount -t tmpfs -o size=1m tmpfs "$1" && shift && exec "$@"'\'' _ %q %q "$@"\n' \
		"$T/s/spool" "$MILTER_BIN" > "$T/milter-tmpfs.sh"
	chmod +x "$T/milter-tmpfs.sh"
	MILTER_BIN=$T/milter-tmpfs.sh milter_start s || bail "milter s start"
	filler=/proc/$MILTER_PID/root$T/s/spool/filler    # the milter's mount namespace
	head -c $((512 * 1024)) /dev/zero > "$filler" || bail "filler in the milter's spool"
	random_file "$T/d.bin" $((900 * 1024))
	# the spool (the message's bytes) fills the 512 KiB left exactly at the end of a base64 line,
	# so what stays in it is a clean shorter attachment (the old defect offloaded it); the closing
	# boundary lies wholly in the last 2 KiB chunk (its publish is the leaf's end)
	$PY - "$T/full.eml" "$T/d.bin" <<'PYEOF'
import base64, sys
b = base64.encodebytes(open(sys.argv[2], "rb").read()).replace(b"\n", b"\r\n")
h = (b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: full spool\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n")
for pad in range(4096):
    head = (h + b"--xx\r\nContent-Type: text/plain\r\n\r\nhallo" + b"." * pad + b"\r\n--xx\r\n"
            b"Content-Type: application/octet-stream; name=\"d.bin\"\r\nContent-Disposition: attachment; "
            b"filename=\"d.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
    body = len(head) - len(h) + len(b) + 8
    if (512 * 1024 - len(head)) % 78 == 0 and (body % 2048 == 0 or body % 2048 >= 64):
        break
open(sys.argv[1], "wb").write(head + b + b"--xx--\r\n")
PYEOF
	mc s "$T/full.eml" "$T/full.out" --chunk 2048 --before-eob "rm -f '$filler'" > "$T/full.res" 2>&1
	check "spool disk full: a publish's flush failed (the case under test: $(grep -c "early offload: spool flush" "$T/s/milter.log") times)" \
		grep -q "early offload: spool flush: No space left on device" "$T/s/milter.log"
	check "spool disk full between two publishes: deferred, 451 ($(tail -1 "$T/full.res"))" \
		grep -q "^result=tempfail\|^result=replycode 4" "$T/full.res"
	check "spool disk full: nothing offloaded ($(store_files s | tr '\n' ' '))" [ "$(nfiles s)" = 0 ]
	printf 'From: alice@example.org\r\nTo: bob@example.net\r\nSubject: small\r\n\r\nhallo\r\n' > "$T/small.eml"
	mc s "$T/small.eml" "$T/small.out" > "$T/small.res" 2>&1
	check "spool disk full: the milter goes on (next message: $(tail -1 "$T/small.res"))" \
		grep -q "^result=continue" "$T/small.res"
else
	note "unshare -m not permitted here: full spool disk test skipped"
fi

# ---- 8. classified attachments: classification in the worker's stream ----------------------------
# the worker feeds the leaf's decoded bytes to its classify job; end of message finishes it instead
# of decoding the leaf again when the part's name and type agree. Headers, the rewritten message,
# the audit lines and the action log line must be those without early offload: with the default
# max_text (whole-buffer readers: text, PDF, OOXML) and with 64K (text scanned in windows, the rest
# not inspectable); a ledger with IBANs raises the class while storing (redo as offload-message);
# file names plain, RFC 2231, RFC 2047; an attachment without a name is classified again as before.
conf_write c "milter.early_offload=true" "classify.max_text=64K"
conf_write o "milter.early_offload=false" "classify.max_text=64K"
milter_start c || bail "milter c start"
milter_start o || bail "milter o start"
$PY - "$T" <<'PYEOF'
import base64, io, random, sys, zipfile, zlib
T = sys.argv[1]
R = random.Random(8)
W = "der die das und Antrag Bescheid Frist Zahlung Vertrag report budget council Rechnung".split()
def prose(n):
    return " ".join(R.choice(W) for _ in range(n // 6))[:n]
def ledger(n):
    out, i, size = [], 0, 0
    while size < n:   # identifiers only between 200 and 400 kB: found in the middle windows
        if size < 200000 or size >= 400000:
            l = "%d;Schmidt;Rechnung vom 3. Mai;%d,50\r\n" % (i, i * 7)
        elif i % 97 == 5:
            l = "%d;Müller;Zahlung;DE89370400440532013000;%d,00\r\n" % (i, i % 100)
        else:
            l = "%d;Schmidt;Rechnung;Tel. 0301234%04d;%d,50\r\n" % (i, i % 10000, i * 7)
        out.append(l); size += len(l.encode()); i += 1
    return "".join(out).encode()
def pdf():
    ops = ("BT /F1 10 Tf 50 700 Td (" + prose(3000) + " IBAN DE89 3704 0044 0532 0130 00 " + prose(3000) + ") Tj ET").encode("latin-1")
    s, img = zlib.compress(ops), bytes(R.getrandbits(8) for _ in range(1200000))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /I 6 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(s) + s + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
            b"<< /Type /XObject /Subtype /Image /Width 1200 /Height 1000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length %d >>\nstream\n" % len(img) + img + b"\nendstream"]
    out, offs = b"%PDF-1.5\n", []
    for i, o in enumerate(objs, 1):
        offs.append(len(out)); out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offs)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
def docx():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                   + "".join("<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % prose(400) for _ in range(50))
                   + "<w:p><w:r><w:t>Konto DE89 3704 0044 0532 0130 00</w:t></w:r></w:p></w:body></w:document>", zipfile.ZIP_DEFLATED)
        z.writestr("word/media/image1.png", bytes(R.getrandbits(8) for _ in range(1200000)))
    return b.getvalue()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
msgs = {
    "cls_ledger": ('text/csv; name="ledger.csv"', 'attachment; filename="ledger.csv"', ledger(1500000)),
    "cls_text": ("text/plain; charset=utf-8", "attachment;\r\n filename*=UTF-8''Geb%C3%BChren%20%C3%BCbersicht.txt", prose(1500000).encode()),
    "cls_pdf": ("application/pdf", 'attachment; filename="=?UTF-8?B?w5xiZXJzaWNodC5wZGY=?="', pdf()),
    "cls_docx": (DOCX + '; name="Bericht 2026.docx"', None, docx()),
    "cls_noname": ("application/pdf", "attachment", pdf()),
}
msgs["cls_label"] = msgs["cls_text"]   # with a label: offload-message decided before storing
for m, (ct, cd, data) in msgs.items():
    b = base64.encodebytes(data).replace(b"\n", b"\r\n")
    lab = b"Sensitivity: Company-Confidential\r\n" if m == "cls_label" else b""
    o = (b"From: alice@example.org\r\nTo: bob@example.net\r\n" + lab + b"Subject: " + m.encode() + b"\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\nanbei\r\n"
         b"--xx\r\nContent-Type: " + ct.encode() + b"\r\n" + (b"Content-Disposition: " + cd.encode() + b"\r\n" if cd else b"")
         + b"Content-Transfer-Encoding: base64\r\n\r\n" + b + b"--xx--\r\n")
    open("%s/%s.eml" % (T, m), "wb").write(o)
PYEOF
# audit_new NAME FROM: NAME's audit lines after line FROM, times, ids and the chain left out
audit_new() { tail -n +$(($2 + 1)) "$(audit_path "$1")" | sed -E 's/time=[^ ]+ //; s/transfer=[a-z2-7]+/transfer=ID/; s/expires=[^ ]+ //; s/ chain=[0-9a-f]+//'; }
actions() { grep -o 'action=.*' "$T/$1/milter.log" | sed -E 's/transfer=[a-z2-7]+/transfer=ID/'; }
res_norm() { sed -E 's/[a-z2-7]{24}/ID/g; s/mac=[A-Za-z0-9_-]+/mac=MAC/g; s/expires=[^ ;]+/expires=E/g' "$1"; }
fast0=$(grep -c "classified while the body arrived" "$T/e/milter.log")
for pair in "e n" "c o"; do
	read -r on off <<< "$pair"
	ae=$(wc -l < "$(audit_path "$on")") an=$(wc -l < "$(audit_path "$off")")
	le=$(actions "$on" | wc -l) ln=$(actions "$off" | wc -l)
	for m in cls_ledger cls_text cls_pdf cls_docx cls_noname cls_label; do
		mc "$on" "$T/$m.eml" "$T/$m.$on.out" > "$T/$m.$on.res" 2>&1
		mc "$off" "$T/$m.eml" "$T/$m.$off.out" > "$T/$m.$off.res" 2>&1
		cl=$(grep -o 'class=[A-Z]*' "$T/$m.$on.res" | head -1)
		check "$m ($on/$off): the milter's answer is the same with early offload on and off ($cl, $(tail -1 "$T/$m.$on.res"))" \
			cmp -s <(res_norm "$T/$m.$on.res") <(res_norm "$T/$m.$off.res")
		check "$m ($on/$off): the same rewritten message" \
			cmp -s <($PY "$IT/golden_norm.py" "$T/$m.$on.out") <($PY "$IT/golden_norm.py" "$T/$m.$off.out")
	done
	check "($on/$off) the same audit lines (class, reasons, action) with early offload on and off" \
		cmp -s <(audit_new "$on" "$ae") <(audit_new "$off" "$an")
	check "($on/$off) the same action log lines (class, decoded bytes)" \
		cmp -s <(actions "$on" | tail -n +$((le + 1))) <(actions "$off" | tail -n +$((ln + 1)))
done
check "classes raised: the ledger VERTRAULICH (default max_text and 64K), the PDF and the docx too (default)" \
	bash -c 'for f in cls_ledger.e cls_ledger.c cls_pdf.e cls_docx.e; do grep -q "class=VERTRAULICH" "$1/$f.res" || exit 1; done' _ "$T"
nfast() { grep -c "classified while the body arrived" "$T/$1/milter.log"; }
check "the attachments with a file name were classified while the body arrived (log: $(($(nfast e) - fast0)) + $(nfast c) of 5 + 5)" \
	[ "$(($(nfast e) - fast0)):$(nfast c)" = 5:5 ]
check "the labelled message was offloaded whole (offload-message decided before storing)" \
	grep -q "^addheader X-Offload-Transfer" "$T/cls_label.e.res"

for m in e n r f s c o; do
	[ -f "$T/$m/milter.log" ] || continue
	check "milter $m log has no sanitizer report" bash -c '! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer|ThreadSanitizer" "$1"' _ "$T/$m/milter.log"
done
finish
