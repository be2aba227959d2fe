#!/usr/bin/env bash
# classify_equiv.sh BUILD [REF_OFFLOADCTL] - the fast paths of classify/ change no finding (issue 15):
# `offloadctl classify --explain` (every finding with its offset and masked value) of BUILD
# against a reference offloadctl, over tests/data (classify, classify-mail, corpus, golden) and
# adversarial texts made here: identifiers, dates, phone numbers, Art. 9 terms (also upper case,
# Ö/Ü, Σ, İ, the Kelvin sign), NBSP, tabs, invalid UTF-8 and NUL bytes, each placed across the
# 8-, 16- and 64-byte blocks of the scans and the 64 KiB lower-casing window (padding of every
# length 0..80, texts around 65,536 bytes), and a small bench set (tools/bench_docs.py). The reference is REF_OFFLOADCTL (e.g. an offloadctl
# built from the commit before a change), else BUILD-nosimd/offloadctl, built here from this
# tree with -DCLS_NO_SIMD (the portable 8-byte paths: what other architectures run).
# Exit 0 when every output is byte-identical. About a minute of CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
REF=${2:-}
if [ -z "$REF" ]; then
	make -s B="$B-nosimd" CFLAGS=-DCLS_NO_SIMD "$B-nosimd/offloadctl" >/dev/null
	REF=$B-nosimd/offloadctl
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/c/spool" "$T/c/store" "$T/adv"
cat > "$T/c/offload.conf" <<EOF
[milter]
spool_dir = $T/c/spool
[policy]
offload_min_size = 10M
[storage]
backend = file
path = $T/c/store
[portal]
url = https://files.example.test
[security]
deployment_key_file = $T/c/deployment.key
[audit]
path = $T/c/audit.log
EOF
python3 - "$T/adv" <<'PYEOF'
import random, sys
out = sys.argv[1]
R = random.Random(15)

def iban():
    bban = "%08d%010d" % (R.randint(10000000, 89999999), R.randint(0, 9999999999))
    s = "DE%02d%s" % (98 - int(bban + "131400") % 97, bban)
    return R.choice([s, " ".join(s[i:i + 4] for i in range(0, len(s), 4)), s.lower()])

def steuer():
    while True:
        d = [R.randint(1, 9)] + [R.randint(0, 9) for _ in range(9)]
        if max(d.count(x) for x in set(d)) in (2, 3) and len(set(d)) >= 7:
            break
    p = 10
    for x in d:
        s = (x + p) % 10 or 10
        p = (2 * s) % 11
    return "".join(map(str, d)) + str((11 - p) % 10)

TERMS = ["Diagnose", "KRANKHEIT", "Therapie", "Befund", "Religionszugehörigkeit", "RÖMISCH-KATHOLISCH",
         "Gewerkschaft", "ver.di", "IG Metall", "Parteimitglied", "ethnisch", "Herkunft", "Fingerabdruck",
         "Gentest", "DNA-Analyse", "sexuelle Orientierung", "schwul", "Krebs", "Patientin", "union member",
         "JÜDISCH", "Konfession", "Behandlung", "Medikation", "sick leave"]
PIECES = [lambda: iban(), steuer, lambda: "Steuer-ID " + steuer(), lambda: "Tel. 030 %d" % R.randint(1000000, 99999999),
          lambda: "+49 (0)%d %d" % (R.randint(30, 999), R.randint(100000, 9999999)),
          lambda: "geboren am %02d.%02d.%d" % (R.randint(1, 28), R.randint(1, 12), R.randint(1930, 2020)),
          lambda: "%d,%02d EUR" % (R.randint(1, 99999), R.randint(0, 99)), lambda: R.choice(TERMS),
          lambda: R.choice(TERMS).lower(), lambda: R.choice(TERMS).upper(), lambda: "a.b@example.org",
          lambda: "4111 1111 1111 1111", lambda: "L01X00T47", lambda: "Ausweis T220001293",
          lambda: "Versichertennummer A123456780", lambda: "12 345 678 901", lambda: "1234-5678-9012",
          lambda: "\u00a0", lambda: "\u202f", lambda: "\t", lambda: "\n", lambda: ". ", lambda: " - ",
          lambda: "ΣΑΣ", lambda: "İstanbul", lambda: "\u212aelvin", lambda: "Straße", lambda: "Über",
          lambda: "0" * R.randint(1, 40), lambda: "x" * R.randint(1, 40), lambda: "…", lambda: "–",
          lambda: " ", lambda: " ", lambda: "und", lambda: "Gesundheit", lambda: "\u00c0\u00de\u00d7"]

def text(n):
    parts, size = [], 0
    while size < n:
        p = R.choice(PIECES)()
        parts.append(p)
        parts.append(R.choice([" ", " ", "", ";", ", ", "\n"]))
        size += len(p) + 1
    return "".join(parts)

k = 0
def put(data):
    global k
    with open("%s/t%04d.txt" % (out, k), "wb") as f:
        f.write(data)
    k += 1

for pad in range(0, 81):   # every offset in 8/16/64-byte blocks
    for piece in (iban(), steuer(), "Diagnose Therapie", "KRANKHEIT und BEHANDLUNG", "Tel. 030 1234567"):
        put(("y" * pad + " " + piece + " " + "z" * R.randint(0, 20)).encode())
for _ in range(150):
    put(text(R.randint(1, 400)).encode())
for _ in range(40):   # invalid UTF-8 and NUL bytes
    b = bytearray(text(R.randint(10, 300)).encode())
    for _ in range(R.randint(1, 4)):
        b.insert(R.randrange(len(b) + 1), R.choice([0xff, 0xc3, 0x80, 0xe2, 0x00, 0xa0]))
    put(bytes(b))
for around in (65536 - 300, 65536 - 40, 65536 - 17, 65536, 65536 + 9, 131072 - 33):   # the lower-casing window
    for piece in ("Religionszugehörigkeit Konfession", "KRANKHEIT Diagnose", "İİİ Therapie Befund", iban()):
        for d in range(-24, 25, 6):
            head = text(around + d)[:around + d]
            put((head + piece + " " + text(200)).encode())
for _ in range(8):   # large mixed texts
    put(text(R.randint(100000, 400000)).encode())
PYEOF
# a small set of `make bench` section 4 (CSV ledger, prose, a docx of runs, tables, images)
python3 tools/bench_docs.py "$T/bench" 1 1 >/dev/null
# the inputs: test data (every regular file), the adversarial texts, the bench set
find tests/data/classify tests/data/classify-mail tests/data/corpus tests/data/golden "$T/adv" "$T/bench" -type f \
	-size -20M | LC_ALL=C sort > "$T/list"
n=$(wc -l < "$T/list")
fails=0
run() {  # run BIN OUT: classify --explain of every input, 50 at a time
	: > "$2"
	xargs -d '\n' -n 50 "$1" -c "$T/c/offload.conf" classify --explain < "$T/list" >> "$2" 2>&1 || true
}
run "$B/offloadctl" "$T/new.out"
run "$REF" "$T/ref.out"
[ -n "${CLS_EQUIV_KEEP:-}" ] && cp "$T/new.out" "$CLS_EQUIV_KEEP"
if ! cmp -s "$T/new.out" "$T/ref.out"; then
	echo "classify_equiv: $B/offloadctl and $REF differ:"
	diff "$T/ref.out" "$T/new.out" | head -40
	fails=1
fi
echo "classify_equiv: $n inputs, $(grep -c ' offset ' "$T/new.out") findings with offsets, $(wc -c < "$T/new.out") bytes of output; $( [ $fails = 0 ] && echo identical || echo DIFFERENT) against $REF"
exit $fails
