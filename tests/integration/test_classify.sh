#!/bin/bash
# test_classify.sh - `offloadctl classify` on the generated labelled set
# (tests/data/classify, rebuilt by gen.py and compared), --json (NDJSON with
# class/reasons/action/parts), --explain masking, exit codes, a zip bomb made
# here, and the whole tests/data/corpus (exit 0, one valid JSON line per file,
# msip labels seen). No ports, no servers.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
D=$SRCDIR/tests/data/classify
CORPUS=${CORPUS:-$SRCDIR/tests/data/corpus}
conf_write c
CONF=$(conf_path c)
cls() { "$CTL" -c "$CONF" classify "$@"; }

# ---- the generated set is what gen.py makes --------------------------------------------------
mkdir -p "$T/gen"
if $PY "$D/gen.py" "$T/gen" && diff -r -x gen.py -x '__pycache__' "$T/gen" "$D" > "$T/gen.diff"; then
	ok "tests/data/classify equals the output of gen.py"
else
	not_ok "tests/data/classify differs from gen.py output (regenerate: python3 tests/data/classify/gen.py)"
	head -5 "$T/gen.diff" | sed 's/^/#   /'
fi

# ---- --json on every file of the set: NDJSON, expected class -----------------------------------
files=$(awk -F'\t' '!/^#/ && NF == 3 {print $1}' "$D/EXPECTED.tsv")
(cd "$D" && cls --json $files) > "$T/set.ndjson" 2> "$T/set.err"
rc=$?
check "classify --json on the labelled set exits 0 ($(head -c 200 "$T/set.err"))" [ $rc -eq 0 ]
$PY - "$T/set.ndjson" "$D/EXPECTED.tsv" > "$T/set.check" <<'EOF'
import json, sys
exp = {}
for line in open(sys.argv[2]):
    if line.startswith("#") or not line.strip():
        continue
    f, cls, dets = line.rstrip("\n").split("\t")
    exp[f] = (cls, [] if dets == "-" else dets.split(","))
n = bad = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    n += 1
    for k in ("class", "reasons", "action", "parts", "type"):
        if k not in o:
            print("missing key %s in %s" % (k, o.get("file"))); bad += 1
    for p in o["parts"]:
        for k in ("class", "reasons", "action"):
            if k not in p:
                print("part without %s in %s" % (k, o["file"])); bad += 1
    cls, dets = exp[o["file"]]
    got = "VS" if o["vs"] and o["action"] == "reject" else o["class"]
    if got != cls or any(d not in o["reasons"] for d in dets):
        print("%s: expected %s %s, got %s %s" % (o["file"], cls, dets, got, o["reasons_text"])); bad += 1
print("lines %d expected %d bad %d" % (n, len(exp), bad))
sys.exit(0 if bad == 0 and n == len(exp) else 1)
EOF
rc=$?
check "every file: one JSON line with class/reasons/action/parts and the expected class ($(tail -1 "$T/set.check"))" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/set.check" | head -10

# ---- text output, --explain, masking ----------------------------------------------------------
cls --explain "$D/payslip.pdf" > "$T/explain.txt"
checkx "--explain shows the IBAN masked with its place" \
	"grep -q 'iban .*payslip.pdf: page 1 (obj 4) offset [0-9]*  DE89 \*\*\*\* \*\*\*\* \*\*\*\* \*\*30 00' '$T/explain.txt'"
checkx "--explain never prints the clear IBAN or Steuer-ID" \
	"! grep -qE '3704 0044|0532 0130|957 42719|86095742719' '$T/explain.txt'"
checkx "text output: type, class, action, reasons with counts" \
	"grep -q 'type=application/pdf class=VERTRAULICH action=offload .*reasons=iban:1,steuer-id:1' '$T/explain.txt'"
cls "$D/mail_attach.eml" > "$T/eml.txt"
checkx ".eml: the message and each contained part with its class" \
	"grep -q 'mail_attach.eml: type=message/rfc822 class=VERTRAULICH' '$T/eml.txt' && grep -q '^  konto.docx: type=[a-z/.-]* class=VERTRAULICH action=offload .*reasons=iban:1' '$T/eml.txt' && grep -q '^  part 1.1 (text/plain): .*class=OFFEN' '$T/eml.txt'"
cls --json --explain "$D/mail_nested.eml" > "$T/nested.json"
checkx "--json --explain: findings with where and masked value inside a forwarded message" \
	"$PY -c 'import json,sys; o=json.load(open(sys.argv[1])); f=[x for p in o[\"parts\"] for x in p[\"findings\"] if x[\"reason\"]==\"card\"]; sys.exit(0 if f and f[0][\"value\"]==\"4111 **** **** 1111\" else 1)' '$T/nested.json'"
cls --json "$D/mail_vsnfd.eml" > "$T/vs.json"
checkx "VS-NfD subject: vs true, action reject, body_action reject" \
	"grep -q '\"vs\":true' '$T/vs.json' && grep -q '\"action\":\"reject\",\"body_action\":\"reject\"' '$T/vs.json'"

# VS markings in the marking positions (issue 14): class=VS; prose that mentions them: not VS
cls "$D/mail_vs_body_top.eml" "$D/vs_header.docx" "$D/vs_page_bottom.pdf" > "$T/vsm.txt"
checkx "VS marking in a body's first line, a docx header, a PDF page footer: class=VS action=reject (text output)" \
	"[ \$(grep -c '^[^ ].*: type=[^ ]* class=VS action=reject ' '$T/vsm.txt') -eq 3 ] && ! grep -q 'vs=yes' '$T/vsm.txt'"
cls --json "$D/vs_prose.docx" "$D/vs_prose.pdf" "$D/mail_vs_prose.eml" "$D/mail_vs_prose_html.eml" > "$T/vsp.json"
checkx "prose mentioning VS-NfD outside the marking positions: no VS, action pass (4 files)" \
	"[ \$(grep -c '\"class\":\"OFFEN\",\"vs\":false' '$T/vsp.json') -eq 4 ] && ! grep -q 'vs:VS' '$T/vsp.json'"

# ---- exit codes ----------------------------------------------------------------------------------
cls > /dev/null 2>&1; check "no file: usage, exit 64" [ $? -eq 64 ]
cls "$T/does-not-exist" > /dev/null 2>&1; check "missing file: exit 66" [ $? -eq 66 ]
conf_write bad classify.levels="A, VS"
"$CTL" -c "$(conf_path bad)" classify "$D/invoice.txt" > /dev/null 2> "$T/bad.err"
rc=$?
check "bad [classify] config: exit 78 naming the key ($(head -c 120 "$T/bad.err"))" \
	[ $rc -eq 78 -a -n "$(grep -F 'levels' "$T/bad.err")" ]
conf_write strict classify.findings="bomb-limit=VS, executable=VS" classify.action="OFFEN=pass, INTERN=pass, VERTRAULICH=label, STRENG-VERTRAULICH=offload, VS=reject"
"$CTL" -c "$(conf_path strict)" classify --json "$D/iban.html" > "$T/strict.json"
checkx "per-class action from config (VERTRAULICH=label)" "grep -q '\"action\":\"label\"' '$T/strict.json'"

# ---- a zip bomb made here: bounded time, bomb-limit -----------------------------------------------
$PY - "$T/bomb.zip" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(3):
        z.writestr("zeros%d.bin" % i, b"\0" * (100 << 20))
EOF
t0=$(now)
cls --json "$T/bomb.zip" > "$T/bomb.json"
rc=$?
took=$(since "$t0")
checkx "3 x 100 MiB zip bomb ($(stat -c %s "$T/bomb.zip") bytes): bomb-limit, VERTRAULICH, exit $rc, $took" \
	"[ $rc -eq 0 ] && grep -q '\"bomb-limit\":1' '$T/bomb.json' && grep -q '\"class\":\"VERTRAULICH\"' '$T/bomb.json'"
"$CTL" -c "$(conf_path strict)" classify --json "$T/bomb.zip" > "$T/bomb2.json"
checkx "bomb-limit=VS in [classify] findings: rejected" "grep -q '\"action\":\"reject\"' '$T/bomb2.json'"

# ---- fuzz target replay: every set file under every name, truncated and bit-flipped ----------
RC=$BUILD/fuzz/replay_classify
if [ -x "$RC" ]; then
	mkdir -p "$T/fz"
	$PY - "$D" "$T/fz" <<'EOF'
import os, random, sys
src, out = sys.argv[1], sys.argv[2]
rnd = random.Random(7)
n = 0
for f in sorted(os.listdir(src)):
    if f.endswith((".py", ".tsv")):
        continue
    data = open(os.path.join(src, f), "rb").read()
    for k in range(11):
        variants = [data, data[: len(data) // 2], data[: rnd.randrange(1, len(data))]]
        b = bytearray(data)
        for _ in range(8):
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        variants.append(bytes(b))
        for v in variants:
            open(os.path.join(out, "%05d" % n), "wb").write(bytes([k]) + v)
            n += 1
EOF
	[ -d "$SRCDIR/tests/fuzz/corpus/classify" ] && cp "$SRCDIR"/tests/fuzz/corpus/classify/* "$T/fz/" 2>/dev/null
	n=$(find "$T/fz" -type f | wc -l)
	t0=$(now)
	find "$T/fz" -type f -print0 | xargs -0 "$RC" > "$T/fz.out" 2> "$T/fz.err"
	rc=$?
	checkx "fuzz_classify replays $n hostile variants without a crash or sanitizer report ($(since "$t0"))" \
		'[ $rc = 0 ] && grep -q "replayed" "$T/fz.out" && ! grep -qE "Sanitizer|runtime error" "$T/fz.err"'
else
	note "no $RC: fuzz replay skipped"
fi

# ---- the whole corpus ---------------------------------------------------------------------------
if [ -d "$CORPUS" ]; then
	find "$CORPUS" -type f ! -name MANIFEST.tsv ! -path "*/LICENSES/*" | sort > "$T/corpus.list"
	n=$(wc -l < "$T/corpus.list")
	t0=$(now)
	xargs -d '\n' "$CTL" -c "$CONF" classify --json < "$T/corpus.list" > "$T/corpus.ndjson" 2> "$T/corpus.err"
	rc=$?
	check "classify --json over the corpus ($n files, $(since "$t0")): exit 0, no crash" [ $rc -eq 0 ]
	[ $rc -eq 0 ] || head -5 "$T/corpus.err" | sed 's/^/#   /'
	xargs -d '\n' "$CTL" -c "$CONF" classify --explain < "$T/corpus.list" > /dev/null 2>> "$T/corpus.err"
	check "classify --explain over the corpus: exit 0" [ $? -eq 0 ]
	$PY - "$T/corpus.ndjson" "$CORPUS/MANIFEST.tsv" "$n" > "$T/corpus.check" <<'EOF'
import json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
tags = {}
for row in open(sys.argv[2]):
    f = row.rstrip("\n").split("\t")
    if len(f) >= 7:
        tags[f[0]] = f[6].split(",")
bad = 0
for o in lines:
    t = tags.get(os.path.basename(o["file"]), [])
    if "msip" in t and not any(k.startswith("label:msip=") for k in o["reasons"]):
        print("msip label not seen in", o["file"]); bad += 1
    if "sensitivity" in t and not any(k.startswith("label:sensitivity=") for k in o["reasons"]):
        print("Sensitivity not seen in", o["file"]); bad += 1
msip = sum(1 for o in lines if any(k.startswith("label:msip=") for k in o["reasons"]))
print("lines %d of %s, msip-labelled %d, bad %d" % (len(lines), sys.argv[3], msip, bad))
sys.exit(0 if bad == 0 and len(lines) == int(sys.argv[3]) else 1)
EOF
	rc=$?
	check "corpus: one valid JSON line per file, msip/sensitivity tagged mails labelled ($(tail -1 "$T/corpus.check"))" [ $rc -eq 0 ]
	[ $rc -eq 0 ] || head -5 "$T/corpus.check" | sed 's/^/#   /'
else
	note "corpus not found at $CORPUS: skipped"
fi
finish
