#!/bin/bash
# test_purge.sh - `offloadctl list` and `offloadctl purge` (DECISIONS.md §6) on the file backend and
# on webdav (private nginx, tests/integration/davserver.sh, port 12870). Transfers in the past
# are made by storage_helper.c (transfer_new() with a past 'now': retention has a 60 s minimum),
# revocations by `offloadctl revoke` and by a bare tombstone. Checks: list --json states,
# list --expired, purge deletes expired and revoked transfers (manifest first) and keeps live
# ones openable, keeps tombstones until expiry + grace, removes orphans only past --orphan-age,
# leaves manifests failing the MAC alone, audit events, and two purges in parallel both exit 0.
# After purge no empty directory (file) or collection (webdav, walked with PROPFIND against nginx,
# which has LOCK enabled, so empty shard collections go too) remains; stale hidden temporaries of
# crashed puts (webdav: in a collection untouched for 2 h) are removed, fresh ones kept.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
[ -f "$BUILD/liboffload.a" ] || bail "missing $BUILD/liboffload.a (build first)"
PORT=12870
DAV=$T/dav

HELPER=$T/storage_helper
SANFLAGS=
[ "$(nm "$BUILD/liboffload.a" 2>/dev/null | grep -c __asan_)" -gt 0 ] && SANFLAGS="-fsanitize=address,undefined"
gcc $SANFLAGS -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" \
	-I"$SRCDIR/transfer" -I"$SRCDIR/pipeline" $(pkg-config --cflags glib-2.0 gmime-3.0 json-glib-1.0 openssl) \
	-o "$HELPER" "$IT/storage_helper.c" "$BUILD/liboffload.a" \
	$(pkg-config --libs gmime-3.0 glib-2.0 json-glib-1.0 openssl libcurl libargon2 libmagic zlib) \
	-lpthread 2>"$T/helper.log" || { cat "$T/helper.log"; bail "storage_helper compiles"; }

# mk NAME TAG AGE RETENTION: a transfer in config NAME; sets LINK_<TAG>, ID_<TAG>; data in $T/NAME/tx-TAG/data.bin
mk() {
	local d=$T/$1/tx-$2 l
	mkdir -p "$d"
	l=$(cd "$d" && "$HELPER" mk "$(conf_path "$1")" "$3" "$4" 70000 2>>"$T/$1/helper.err")
	[[ "$l" == https://* ]] || return 1
	eval "LINK_$2='$l'; ID_$2='$(sed -E 's|.*/t/([^#]*)#.*|\1|' <<<"$l")'"
}
# state NAME ID: the state `list --json` gives ID ("absent" if not listed)
state() {
	"$CTL" -c "$(conf_path "$1")" list --json 2>/dev/null | $PY -c '
import json, sys
l = json.load(sys.stdin)
print(next((t["state"] for t in l if t["id"] == sys.argv[1]), "absent"))' "$2"
}
# keys NAME ID: the visible object leaves stored for ID ("0 m s x ", "t "), read from the disk below the store
keys() {
	local root
	[ -n "$2" ] || return 1
	if [ "$1" = file ]; then root=$(store_path file); else root=$DAV/data/store; fi
	find "$root/${2:0:2}/$2" -type f ! -name '.*' -printf '%f\n' 2>/dev/null | sort | tr '\n' ' '
}

# empties NAME: the empty directories (file) or collections (dav, PROPFIND Depth 1 walk) below the store
empties() {
	if [ "$1" = file ]; then
		find "$(store_path file)" -mindepth 1 -type d -empty -printf '%P\n' | sort | tr '\n' ' '
		return
	fi
	$PY - "http://127.0.0.1:$PORT/store/" <<'PYEOF'
import base64, sys, urllib.parse, urllib.request, xml.etree.ElementTree as E
auth = "Basic " + base64.b64encode(b"davuser:davpass").decode()
def members(url):
    req = urllib.request.Request(url, method="PROPFIND", headers={"Depth": "1", "Authorization": auth})
    try:
        body = urllib.request.urlopen(req).read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return []
        raise
    me = urllib.parse.urlparse(url).path
    out = []
    for r in E.fromstring(body).iter("{DAV:}response"):
        href = urllib.parse.unquote(r.find("{DAV:}href").text)
        href = urllib.parse.urlparse(href).path
        if href.rstrip("/") == me.rstrip("/"):
            continue
        iscol = r.find(".//{DAV:}collection") is not None
        out.append((href, iscol))
    return out
empty = []
def walk(url, rel):
    m = members(url)
    if not m and rel:
        empty.append(rel)
    for href, iscol in m:
        if iscol:
            name = href.rstrip("/").rsplit("/", 1)[1]
            walk(url + name + "/", rel + name + "/")
walk(sys.argv[1], "")
print(" ".join(sorted(empty)))
PYEOF
}

suite() {  # suite NAME
	local n=$1 c j out rc i a b
	c=$(conf_path "$n")
	mk "$n" live 0 3600 && mk "$n" exp1 7200 3600 && mk "$n" exp2 90000 86400 && mk "$n" rev 0 3600 &&
		mk "$n" tomb 0 3600 && mk "$n" old 7200 3600 || { not_ok "$n: transfers made"; return; }
	ok "$n: 6 transfers made (1 live, 2 expired, 3 to revoke)"
	check "$n: offloadctl revoke rev exits 0" "$CTL" -c "$c" revoke "$ID_rev"
	check "$n: a bare tombstone for 'tomb' (revoked, objects still there)" \
		bash -c '[ "$("$1" revoke "$2" "$3" 2>/dev/null)" = revoked ]' _ "$HELPER" "$c" "$ID_tomb"
	check "$n: a tombstone for 'old' that expired 30 days ago" \
		bash -c 'EXPIRES=$(( $(date +%s) - 30 * 86400 )) "$1" revoke "$2" "$3" >/dev/null 2>&1' _ "$HELPER" "$c" "$ID_old"
	orphan=$("$HELPER" orphan "$c" 2>/dev/null)
	check "$n: an orphaned file object (no manifest) written ($orphan)" [ ${#orphan} = 24 ]

	"$CTL" -c "$c" list --json > "$T/$n/list.json" 2>"$T/$n/list.err"
	check "$n: list --json exits 0 and parses as a JSON array" \
		$PY -c 'import json,sys; l=json.load(open(sys.argv[1])); assert isinstance(l, list) and all({"id","created","expires","files","bytes","state"} <= set(t) for t in l)' "$T/$n/list.json"
	j=$($PY -c 'import json,sys; l={t["id"]:t["state"] for t in json.load(open(sys.argv[1]))}; print(" ".join(l.get(i,"absent") for i in sys.argv[2:]))' \
		"$T/$n/list.json" "$ID_live" "$ID_exp1" "$ID_exp2" "$ID_rev" "$ID_tomb" "$ID_old" "$orphan")
	check "$n: states live expired expired revoked revoked revoked absent(orphan) ($j)" \
		[ "$j" = "live expired expired revoked revoked revoked absent" ]
	check "$n: list shows files=1 and the object size for the live transfer" \
		$PY -c 'import json,sys; t=[t for t in json.load(open(sys.argv[1])) if t["id"]==sys.argv[2]][0]; assert t["files"]==1 and t["bytes"]>70000, t' "$T/$n/list.json" "$ID_live"
	out=$("$CTL" -c "$c" list --expired 2>/dev/null)
	check "$n: list --expired shows exactly the 2 expired ones" \
		bash -c '[ "$(grep -c " expired$" <<<"$1")" = 2 ] && [ "$(tail -n +2 <<<"$1" | wc -l)" = 2 ] && grep -q "$2" <<<"$1" && grep -q "$3" <<<"$1"' _ "$out" "$ID_exp1" "$ID_exp2"
	out=$("$CTL" -c "$c" list 2>/dev/null)
	check "$n: plain list has a header and one line per transfer (6)" [ "$(tail -n +2 <<<"$out" | wc -l)" = 6 ]

	a=$(audit_path "$n")
	before=$(grep -c "event=purge" "$a")
	out=$("$CTL" -c "$c" purge --dry-run 2>"$T/$n/purge0.err"); rc=$?
	check "$n: purge --dry-run exits 0 and finds the 2 expired ($out)" \
		bash -c '[ $1 = 0 ] && grep -q "(dry run): 2 expired" <<<"$2"' _ $rc "$out"
	check "$n: purge --dry-run writes no event=purge audit line ($before before, $(grep -c "event=purge" "$a") after)" \
		[ "$(grep -c "event=purge" "$a")" = "$before" ]
	out=$("$CTL" -c "$c" purge 2>"$T/$n/purge1.err"); rc=$?
	check "$n: purge exits 0 ($out)" [ $rc = 0 ]
	check "$n: purge says 2 expired, 2 revoked, 0 orphaned, 0 tombstones removed, 1 live" \
		grep -q "2 expired, 2 revoked, 0 orphaned, 0 tombstones removed; 1 live" <<<"$out"
	check "$n: expired transfers: no object left ($(keys "$n" "$ID_exp1")|$(keys "$n" "$ID_exp2"))" \
		[ -z "$(keys "$n" "$ID_exp1")$(keys "$n" "$ID_exp2")" ]
	check "$n: revoked transfers keep only their tombstone ($(keys "$n" "$ID_rev")|$(keys "$n" "$ID_tomb")|$(keys "$n" "$ID_old"))" \
		[ "$(keys "$n" "$ID_rev")|$(keys "$n" "$ID_tomb")|$(keys "$n" "$ID_old")" = "t |t |t " ]
	check "$n: live transfer untouched ($(keys "$n" "$ID_live"))" [ "$(keys "$n" "$ID_live")" = "0 m s x " ]
	j=$(empties "$n")
	check "$n: no empty directory or collection left after purge (${j:-none})" [ -z "$j" ]
	check "$n: fresh orphan kept (younger than --orphan-age 1d)" [ "$(keys "$n" "$orphan")" = "0 " ]
	rm -rf "$T/$n/open"
	check "$n: offloadctl open of the live transfer still works" ctl_open "$LINK_live" "$T/$n/open" "$n"
	check "$n: ... byte-exact" cmp -s "$T/$n/tx-live/data.bin" "$T/$n/open/data.bin"
	ctl_open "$LINK_exp1" "$T/$n/open2" "$n" >/dev/null 2>&1; rc=$?
	check "$n: open of a purged transfer -> not found (66, got $rc)" [ $rc = 66 ]
	a=$(audit_path "$n")
	check "$n: audit: event=purge action=expired for both expired transfers" \
		bash -c '[ "$(grep "event=purge" "$1" | grep "action=expired" | grep -c -e "$2" -e "$3")" = 2 ]' _ "$a" "$ID_exp1" "$ID_exp2"
	check "$n: audit: event=purge action=revoked for 'tomb'" \
		bash -c 'grep "event=purge" "$1" | grep "action=revoked" | grep -q "$2"' _ "$a" "$ID_tomb"
	check "$n: audit chain still verifies" "$CTL" audit verify "$a"
	j=$(state "$n" "$ID_rev")
	check "$n: a purged revoked transfer is still listed as revoked (tombstone, $j)" [ "$j" = revoked ]

	sleep 1.1
	out=$("$CTL" -c "$c" purge --orphan-age 1s 2>"$T/$n/purge2.err"); rc=$?
	check "$n: second purge (--orphan-age 1s) exits 0 ($out)" [ $rc = 0 ]
	check "$n: ... removes the orphan and the tombstone past expiry + grace, nothing else" \
		grep -q "0 expired, 0 revoked, 1 orphaned, 1 tombstones removed; 1 live" <<<"$out"
	check "$n: 'old' tombstone gone, 'rev' and 'tomb' tombstones kept, orphan gone" \
		[ "$(keys "$n" "$ID_old")|$(keys "$n" "$ID_rev")|$(keys "$n" "$ID_tomb")|$(keys "$n" "$orphan")" = "|t |t |" ]
	check "$n: audit: action=orphan and action=tombstone events" \
		bash -c 'grep "event=purge" "$1" | grep "action=orphan" | grep -q "$2" && grep "event=purge" "$1" | grep "action=tombstone" | grep -q "$3"' _ "$a" "$orphan" "$ID_old"

	# two purges at once over 12 expired transfers
	for i in $(seq 1 12); do mk "$n" "par$i" 7200 3600 || break; done
	"$CTL" -c "$c" purge > "$T/$n/pa.out" 2>"$T/$n/pa.err" & a=$!
	"$CTL" -c "$c" purge > "$T/$n/pb.out" 2>"$T/$n/pb.err" & b=$!
	wait $a; ra=$?; wait $b; rb=$?
	check "$n: two purges in parallel both exit 0 ($ra, $rb)" [ $ra = 0 -a $rb = 0 ]
	j=$("$CTL" -c "$c" list --expired --json 2>/dev/null)
	check "$n: afterwards no expired transfer is left ($j)" [ "$j" = "[]" ]
	check "$n: the live transfer survived both" [ "$(keys "$n" "$ID_live")" = "0 m s x " ]
	j=$(empties "$n")
	check "$n: after the parallel purges no empty directory or collection is left (${j:-none})" [ -z "$j" ]
}

# ---- file backend ----
conf_write file
suite file
# a manifest failing the MAC (another deployment key, or tampering) is listed invalid and kept
bad=zzzzzzzzzzzzzzzzzzzzzzzz
mkdir -p "$(store_path file)/zz/$bad" && head -c 300 /dev/urandom > "$(store_path file)/zz/$bad/m" && chmod 600 "$(store_path file)/zz/$bad/m"
check "file: a manifest failing the MAC is listed as invalid" [ "$(state file $bad)" = invalid ]
out=$("$CTL" -c "$(conf_path file)" purge 2>/dev/null)
check "file: purge keeps it ($out)" bash -c '[ -f "$1" ] && grep -q "1 invalid kept" <<<"$2"' _ "$(store_path file)/zz/$bad/m" "$out"
# a stale temp file of a crashed put: purge audits it with its real size
stale="$(store_path file)/zz/zzstalefile"
mkdir -p "$stale" && head -c 1234 /dev/zero > "$stale/.0.Ab12Cd" && touch -d '-2 hours' "$stale/.0.Ab12Cd"
out=$("$CTL" -c "$(conf_path file)" purge --orphan-age 1h 2>/dev/null)
check "file: purge aborts the stale temp file ($out)" bash -c '[ ! -e "$1" ] && grep -q "; 1 stale uploads aborted" <<<"$2"' _ "$stale/.0.Ab12Cd" "$out"
check "file: audit: event=purge size=1234 action=stale-upload transfer=zzstalefile (the real size)" \
	grep -q "event=purge size=1234 action=stale-upload transfer=zzstalefile " "$(audit_path file)"

# the audit log through offloadctl: sealing, rotation, verification of several files
cf=$(conf_path file); al=$(audit_path file)
seed=$("$CTL" -c "$cf" audit keygen --interval 1h 2>/dev/null)
check "audit keygen prints a 64-hex seed and keeps it out of the state file" \
	bash -c '[[ "$1" =~ ^[0-9a-f]{64}$ ]] && ! grep -q "$1" "$2.state" && ! grep -rq "$1" "$(dirname "$2")"' _ "$seed" "$al"
"$CTL" -c "$cf" purge >/dev/null 2>&1
check "audit rotate, then logrotate's rename" bash -c '"$1" -c "$2" audit rotate && mv "$3" "$3.1"' _ "$CTL" "$cf" "$al"
"$CTL" -c "$cf" purge >/dev/null 2>&1; "$CTL" -c "$cf" audit seal
check "audit verify --key: both files in order, end checked against the state" \
	bash -c '"$1" audit verify --key "$2" "$3.1" "$3" | grep -q "end checked against the state"' _ "$CTL" "$seed" "$al"
head -n -1 "$al" > "$T/cut.log" && cat "$T/cut.log" > "$al"
"$CTL" audit verify "$al.1" "$al" >/dev/null 2>&1; rc1=$?
"$CTL" audit verify --key "$seed" "$al.1" "$al" >/dev/null 2>&1; rc2=$?
check "the last line (a seal) cut: the unkeyed chain passes ($rc1), --key finds it (65: $rc2)" [ $rc1 = 0 -a $rc2 = 65 ]

# ---- webdav ----
if bash "$IT/davserver.sh" start "$DAV" $PORT davuser davpass; then
	_BG_PIDS+=("$(cat "$DAV/nginx.pid")")
	ok "webdav: nginx started on 127.0.0.1:$PORT"
	printf '[credentials]\nusername = davuser\npassword = davpass\n' > "$T/cred"
	conf_write dav storage.backend=webdav "storage.url=http://127.0.0.1:$PORT/store" "storage.credentials_file=$T/cred"
	suite dav
	# stale hidden temporaries of puts that crashed between PUT and MOVE (nginx does not list them):
	# one in a collection untouched for 2 h, one fresh; purge (orphan age 1 h) takes the old one with
	# its collection and keeps the fresh one
	u="http://127.0.0.1:$PORT/store"
	for c in zz/ zz/zzstaleid/ zz/zzfreshid/; do curl -s -o /dev/null -u davuser:davpass -X MKCOL "$u/$c"; done
	printf half | curl -s -o /dev/null -u davuser:davpass -T - "$u/zz/zzstaleid/.0.0123456789abcdef"
	printf half | curl -s -o /dev/null -u davuser:davpass -T - "$u/zz/zzfreshid/.0.fedcba9876543210"
	touch -d '-2 hours' "$DAV/data/store/zz/zzstaleid/.0.0123456789abcdef" "$DAV/data/store/zz/zzstaleid"
	check "dav: a 2 h old and a fresh hidden temp planted" \
		[ -f "$DAV/data/store/zz/zzstaleid/.0.0123456789abcdef" -a -f "$DAV/data/store/zz/zzfreshid/.0.fedcba9876543210" ]
	out=$("$CTL" -c "$(conf_path dav)" purge --orphan-age 1h 2>"$T/dav/purge-stale.err"); rc=$?
	check "dav: purge --orphan-age 1h exits 0 and removes 1 stale upload ($out)" \
		bash -c '[ $1 = 0 ] && grep -q "; 1 stale uploads aborted" <<<"$2"' _ $rc "$out"
	check "dav: the old one is gone with its collection, the fresh one kept" \
		[ ! -e "$DAV/data/store/zz/zzstaleid" -a -f "$DAV/data/store/zz/zzfreshid/.0.fedcba9876543210" ]
	check "dav: audit: event=purge action=stale-upload transfer=zzstaleid" \
		bash -c 'grep "event=purge" "$1" | grep "action=stale-upload" | grep -q "zzstaleid"' _ "$(audit_path dav)"
	check "dav: ... without a made-up size=0 (nginx does not list the temp: size unknown, left out)" \
		bash -c 'grep "event=purge" "$1" | grep "action=stale-upload" | grep "zzstaleid" | grep -qv " size="' _ "$(audit_path dav)"
	bash "$IT/davserver.sh" stop "$DAV"
else
	not_ok "webdav: nginx starts (apt: tools/deps/webdav.apt)"
fi
finish
