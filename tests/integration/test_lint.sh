#!/bin/bash
# test_lint.sh - self-test of tools/lint-layout.py (the layout half of `make lint`): synthetic trees under
# $T show that a clean tree passes and that each rule fires: a 1,001-line .c file, an 81-line
# function in both brace styles (with a multi-line parameter list), an upward include, a peer
# include, an include of a header in no product folder, and that an allowlisted function
# passes. Needs python3 only, no build.
. "$(dirname "$0")/lib.sh"
LINT=$SRCDIR/tools/lint-layout.py
[ -f "$LINT" ] || bail "missing $LINT"

# body N: N lines of statements
body() { local i; for ((i = 0; i < $1; i++)); do printf '\tx += %d; /* { */\n' "$i"; done; }
# fn_bsd NAME N: return type on its own line, braces alone at column 0; N lines from NAME to }
fn_bsd() { printf 'int\n%s(int x)\n{\n' "$1"; body $(($2 - 4)); printf '\treturn x;\n}\n\n'; }
# fn_kr NAME N: K&R braces, two-line parameter list; N lines from NAME to }
fn_kr() { printf 'static int %s(int x,\n    const char *s) {\n' "$1"; body $(($2 - 4)); printf '\treturn x + (s[0] == %s);\n}\n\n' "'}'"; }

# base tree: every layer present, legal includes only, an 80-line function, a 1,000-line file
base() {
	local d=$1 f
	rm -rf "$d"; mkdir -p "$d"
	for f in common storage-backend transfer classify pipeline milter cli portal tests tools build; do
		mkdir -p "$d/$f"
	done
	printf '#ifndef A_H\n#define A_H\nint a_fn(int x);\n#endif\n' > "$d/common/a.h"
	{ printf '#include "a.h"\n#include <stdio.h>\n#define OPEN {\n'
	  printf 'static const char *s = "}{";\n/* } */\n'
	  fn_bsd a_fn 80; } > "$d/common/a.c"
	printf 'int s_fn(int x);\n' > "$d/storage-backend/s.h"
	{ printf '#include "s.h"\n#include "a.h"\n'; fn_kr s_fn 80
	  printf 'static const int tab[] = {\n'; body 10 | sed 's/x += //; s/;/,/'; printf '};\n'; } \
		> "$d/storage-backend/s.c"
	printf 'int p_fn(int x);\n' > "$d/pipeline/p.h"
	{ printf '#include "p.h"\n#include "s.h"\n'; fn_bsd p_fn 20; } > "$d/pipeline/p.c"
	f=$(wc -l < "$d/pipeline/p.c"); yes '/* pad */' | head -n $((1000 - f)) >> "$d/pipeline/p.c"
	printf 'int c_fn(int x);\n' > "$d/cli/c.h"
	{ printf '#include "c.h"\n#include "p.h"\n#include "a.h"\n'; fn_bsd c_fn 10; } > "$d/cli/c.c"
	{ printf '#include "p.h"\n'; fn_bsd q_fn 10; } > "$d/portal/q.c"
	{ printf '#include "p.h"\n'; fn_bsd m_fn 10; } > "$d/milter/m.c"
	# not product code: ignored whatever they hold
	{ printf '#include "nowhere.h"\n#include "c.h"\n'; fn_bsd t_fn 200; body 1000; } > "$d/tests/t.c"
	cp "$d/tests/t.c" "$d/tools/t.c"; cp "$d/tests/t.c" "$d/build/t.c"
}
# lint DIR [PY]: run the checker on DIR, output in $T/out, status in $rc
lint() { "$PY" "${2:-$LINT}" --root "$1" > "$T/out" 2>&1; rc=$?; }
has() { grep -qF -- "$1" "$T/out"; }
nviol() { grep -c '^[^l]' "$T/out"; }
# lcheck DESC EXPR: checkx, and on failure show the checker's output
lcheck() { local f=$FAIL; checkx "$@"; [ "$FAIL" = "$f" ] || sed 's/^/# /' "$T/out"; }

D=$T/tree
base "$D"
lint "$D"
lcheck "clean tree passes: 80-line functions in both styles, a 1,000-line file, legal includes" \
	'[ $rc = 0 ] && grep -qx "lint: ok (10 files, 6 functions)" "$T/out"'

base "$D"; { cat "$D/pipeline/p.c"; echo "/* one more */"; } > "$D/x" && mv "$D/x" "$D/pipeline/p.c"
lint "$D"
lcheck "a 1,001-line .c file fails" \
	'[ $rc != 0 ] && has "pipeline/p.c:1001: file is 1001 lines (max 1000)" && [ "$(nviol)" = 1 ] && has "lint: 1 violation "'

base "$D"; fn_bsd long_bsd 81 >> "$D/common/a.c"; l=$(grep -n '^long_bsd(' "$D/common/a.c" | cut -d: -f1)
lint "$D"
lcheck "an 81-line function, braces at column 0, fails at its name's line" \
	'[ $rc != 0 ] && has "common/a.c:$l: function long_bsd is 81 lines (max 80)" && [ "$(nviol)" = 1 ]'

base "$D"; fn_kr long_kr 81 >> "$D/cli/c.c"; l=$(grep -n 'long_kr(' "$D/cli/c.c" | cut -d: -f1)
lint "$D"
lcheck "an 81-line function, K&R braces and a two-line parameter list, fails" \
	'[ $rc != 0 ] && has "cli/c.c:$l: function long_kr is 81 lines (max 80)" && [ "$(nviol)" = 1 ]'

base "$D"; sed -i '1a #include "p.h"' "$D/storage-backend/s.c"
lint "$D"
lcheck "an upward include (storage-backend includes pipeline) fails" \
	'[ $rc != 0 ] && has "storage-backend/s.c:2: includes pipeline/p.h (layer 4 above 1)" && [ "$(nviol)" = 1 ]'

base "$D"; printf '#include "a.h"\n#include  "c.h"\n' > "$D/portal/q.h"
lint "$D"
lcheck "a peer include (portal includes cli) fails, also from a header" \
	'[ $rc != 0 ] && has "portal/q.h:2: includes cli/c.h (layer 5, a peer of portal" && [ "$(nviol)" = 1 ]'

base "$D"; sed -i '1a #include "nowhere.h"' "$D/milter/m.c"
lint "$D"
lcheck "an include of a header in no product folder fails" \
	'[ $rc != 0 ] && has "milter/m.c:2: includes nowhere.h, which is in no product folder" && [ "$(nviol)" = 1 ]'

# the allowlist lives in the script: a copy in the tree's tools/ checks that tree by default
base "$D"; fn_bsd long_table 81 >> "$D/classify/k.c"; fn_kr long_other 90 >> "$D/classify/k.c"
sed "/^ALLOWED_LONG = {/a\\    \"classify/k.c:long_table\": \"data table\"," "$LINT" > "$D/tools/lint-layout.py"
lint "$D" "$D/tools/lint-layout.py"
lcheck "an allowlisted 81-line function passes, the one beside it still fails" \
	'[ $rc != 0 ] && ! has long_table && has "function long_other is 90 lines" && [ "$(nviol)" = 1 ]'
sed -i '/long_other(/,$d' "$D/classify/k.c"
"$PY" "$D/tools/lint-layout.py" > "$T/out" 2>&1; rc=$?
lcheck "with only the allowlisted one left the tree passes (default --root is the script's tree)" \
	'[ $rc = 0 ] && has "lint: ok (11 files, 7 functions)"'
sed -i '/^long_table/,$d' "$D/classify/k.c"
lint "$D" "$D/tools/lint-layout.py"
lcheck "an allowlist entry that no longer matches a long function fails" \
	'[ $rc != 0 ] && has "allowlisted classify/k.c:long_table is gone" && [ "$(nviol)" = 1 ]'

base "$D"; { printf '#include "a.h"\n'; fn_bsd b1 100; fn_kr b2 81; } > "$D/transfer/big.c"
yes '/* pad */' | head -n 1001 >> "$D/transfer/big.c"
sed -i '1a #include "c.h"' "$D/transfer/big.c"
lint "$D"
lcheck "every offender is listed and counted" \
	'[ $rc != 0 ] && [ "$(nviol)" = 4 ] && has "lint: 4 violations (11 files, 8 functions)"'
lint "$T/none"
lcheck "a --root without product folders is an error, not a pass" \
	'[ $rc = 2 ] && has "no product folder"'
finish
