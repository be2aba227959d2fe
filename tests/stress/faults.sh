#!/bin/bash
# faults.sh BUILD - fault injection through the real Postfix (issue 14, "Tests that must exist"):
#   stage 1 Postfix :12930 (no milter) -> stage 2 Postfix + offload-milter :12931 -> smtp-sink
#   :12932; milter on :12933, nginx WebDAV store on :12934, portal on :12935.
# Each fault FAULT_ROUNDS times (default 20; FAULT_ROUNDS_<fault> for one fault;
# tests/integration/test_faults.sh runs 1), at a random
# moment while two messages with attachments (2 and 5 MiB, offload_min_size 1M) pass stage 2:
#   store_down     nginx WebDAV stopped for FAULT_HOLD (2) s (in odd rounds before the messages
#                  are submitted)
#   store_slow     nginx SIGSTOPped for eom_timeout (2 s) + FAULT_HOLD s (idem)
#   milter_body    offload-milter kill -9 while it spools a message (a spool file is open)
#   milter_upload  offload-milter kill -9 once its upload began (nginx holds a PUT body or the
#                  first object of the transfer is stored; nginx SIGSTOPped then, 0-200 ms before
#                  the kill, SIGCONT after)
#   spool_full     the milter's spool (a 48 MiB tmpfs) filled up for FAULT_HOLD s (in odd
#                  rounds before the messages are submitted)
#   portal_kill    offload-portal kill -9 during `offloadctl fetch` of a 12 MiB transfer
#   store_full     file backend on a 48 MiB tmpfs, filled up for FAULT_HOLD s (idem)
# The milter runs every second (re)start with the spool's named fallback
# (OFFLOAD_TEST_SPOOL_NAMED=1), so a kill -9 leaves named plaintext that the restart must remove.
# After every round, once the fault is gone and both queues are flushed (postqueue -f):
#   every message was delivered exactly once (none lost, none twice), none bounced;
#   no delivered message has an attachment's bytes, each has a link that `offloadctl open`s to
#   the original bytes; every manifest in the store has all its file objects (store listed);
#   no file is left in the spool; the fetch killed with the portal failed or was byte-exact,
#   and after the restart the fetch is byte-exact.
# Prints a summary line per fault (rounds, how many messages went straight through, were
# deferred by stage 2 and delivered after recovery). Needs root (tmpfs mounts: the script runs
# itself again under `unshare -m`), Postfix, smtp-sink, nginx with dav-ext.
set -uo pipefail
if [ -z "${_FAULTS_NS:-}" ]; then
	_FAULTS_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
SELF_DIR=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-${BUILD:-build}}
SRCDIR=$(cd "$SELF_DIR/../.." && pwd)
case "$BUILD" in /*) ;; *) BUILD=$SRCDIR/$BUILD ;; esac
export BUILD SRCDIR
. "$SRCDIR/tests/integration/lib.sh"
need_bins "$MILTER_BIN" "$CTL" "$BUILD/offload-portal"
ROUNDS=${FAULT_ROUNDS:-20}
MSGS=${FAULT_MSGS:-2}      # messages per round (1: the 2 MiB one only)
HOLD=${FAULT_HOLD:-2}      # seconds a fault lasts (store slow: HOLD + eom_timeout)
FAULTS=${FAULTS:-store_down store_slow milter_body milter_upload spool_full portal_kill store_full}
P1=12930 P2=12931 SINKP=12932 MPORT=12933 DAVP=12934 PPORT=12935
DD=$T/dav DAV="bash $IT/davserver.sh" SINK=$T/sink
BASE=http://127.0.0.1:$DAVP/remote.php/dav/files/davuser/offload
DAVROOT=$DD/data/remote.php/dav/files/davuser/offload
_MOUNTS=()
trap '$DAV stop "$DD" >/dev/null 2>&1; for m in "${_MOUNTS[@]}"; do umount -l "$m"; done; _lib_cleanup' EXIT

# ---- setup -------------------------------------------------------------------------------------
t0=$(now)
$DAV start "$DD" $DAVP davuser davpass > "$T/dav.log" 2>&1 || { sed 's/^/# /' "$T/dav.log"; bail "nginx WebDAV start"; }
mkdir -p "$T/m/spool" "$T/mf"
printf '[credentials]\nusername = davuser\npassword = davpass\n' > "$T/m/creds"; chmod 600 "$T/m/creds"
mount -t tmpfs -o size=48m,mode=0700 tmpfs "$T/m/spool" 2>/dev/null && _MOUNTS+=("$T/m/spool") || bail "tmpfs on the spool"
common=("milter.socket=inet:$MPORT@127.0.0.1" policy.offload_min_size=1M milter.eom_timeout=2s
	portal.listen=127.0.0.1:$PPORT portal.ticket_key_file=$T/m/ticket.key
	security.deployment_key_file=$T/m/deployment.key)
conf_write m "${common[@]}" storage.backend=webdav storage.url=$BASE storage.credentials_file=$T/m/creds
mkdir -p "$T/mf/store"
mount -t tmpfs -o size=48m,mode=0700 tmpfs "$T/mf/store" && _MOUNTS+=("$T/mf/store") || bail "tmpfs on the file store"
conf_write mf "${common[@]}" "milter.spool_dir=$T/m/spool" storage.backend=file
pf_setup s1 "$P1" "$P2" || bail "stage 1 setup"
pf_setup s2 "$P2" "$SINKP" || bail "stage 2 setup"
postconf -c "$(pf_cf s2)" -e "receive_override_options = no_address_mappings"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
postconf -c "$(pf_cf s2)" -e "smtpd_milters = inet:127.0.0.1:$MPORT"
pf_start s1 || bail "stage 1 start"
pf_start s2 || bail "stage 2 start"
CONF=m NAMED=0 STARTS=0
# mstart: start the milter with config $CONF, every second start with the named spool fallback
mstart() {
	STARTS=$((STARTS + 1))
	if [ $((STARTS % 2)) = 0 ]; then NAMED=1; else NAMED=0; fi
	OFFLOAD_TEST_SPOOL_NAMED=$NAMED milter_start "$CONF"
}
mkill() { local v="_MILTER_PID_$CONF"; kill -9 "${!v}" 2>/dev/null; wait "${!v}" 2>/dev/null; }
mstart || bail "offload-milter start ($(tail -3 "$T/m/milter.log"))"
"$BUILD/offload-portal" -f -c "$(conf_path m)" >> "$T/portal.log" 2>&1 &
PORTAL_PID=$!; _BG_PIDS+=($PORTAL_PID)
waitport $PPORT || bail "portal listens ($(tail -3 "$T/portal.log"))"
ok "two Postfix stages, smtp-sink, offload-milter, nginx WebDAV, portal up ($(since "$t0"))"

# ---- helpers -----------------------------------------------------------------------------------
rnd_ms() { echo "scale=3; $((RANDOM % $1)) / 1000" | bc; }   # rnd_ms N: 0..N ms as seconds
nginx_pids() { local m; m=$(cat "$DD/nginx.pid" 2>/dev/null) && echo "$m" $(ps -o pid= --ppid "$m"); }
spool_files() { find "$T/m/spool" -type f ! -name filler | wc -l; }
# wait_for SECONDS CMD...: poll CMD every 10 ms
wait_for() { local i n=$(($1 * 100)); shift; for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.01; done; return 1; }
milter_spooling() { local v="_MILTER_PID_$CONF"; ls -l "/proc/${!v}/fd" 2>/dev/null | grep -q -e "$T/m/spool/" -e "$T/m/spool (deleted)"; }
# uploading: nginx holds a PUT body, or the first object of a transfer is in the store
uploading() { [ -n "$(find "$DD/tmp" -type f 2>/dev/null | head -1)$(find "$DAVROOT" -mindepth 2 -type f 2>/dev/null | head -1)" ]; }
fill() { head -c 64m /dev/zero > "$1/filler" 2>/dev/null; }

# send ROUND: MSGS messages, built first, then submitted into stage 1 one right after the other;
# senders in SENT, attachment files in $T/att/
SENT=()
send() {
	local k s f
	mkdir -p "$T/att"
	for ((k = 1; k <= MSGS; k++)); do
		s="f$1m$k@example.org"
		f=$T/att/$s.bin
		random_file "$f" $(((k == 1 ? 2 : 5) * 1024 * 1024))
		make_eml "$T/att/$s.eml" "Runde $1" "Anbei." "$f" "anlage$k.pdf" application/pdf &&
			sed -i "s/^From: .*/From: $s/" "$T/att/$s.eml"
		SENT+=("$s")
	done
	for s in "${SENT[@]}"; do
		smtp_send "$P1" "$T/att/$s.eml" "$s" bob@example.net
		is250 || not_ok "stage 1 accepted $s ($SMTP_REPLY)"
	done
}
# drain: flush both stages until both queues are empty (up to ~120 s)
empty() { [ -z "$(queue_ids s1)$(queue_ids s2)" ]; }
drain() {
	local i j
	for ((i = 0; i < 30; i++)); do
		postqueue -c "$(pf_cf s1)" -f 2>/dev/null; postqueue -c "$(pf_cf s2)" -f 2>/dev/null
		for ((j = 0; j < 12; j++)); do
			sleep 0.3
			empty && sleep 0.3 && empty && return 0
		done
	done
	return 1
}
# store_ok NAME: every transfer `offloadctl list` shows is live and has files 0..files-1
# (non-empty); every manifest object in the store is one of them
store_ok() {
	local root=$1 conf=$2
	"$CTL" -c "$conf" list --json > "$T/list.json" 2> "$T/list.err" || return 1
	$PY - "$root" "$T/list.json" <<'PYEOF'
import json, os, sys
root, lst = sys.argv[1], sys.argv[2]
dirs = {}
for d, _, files in os.walk(root):
    if "m" in files:
        dirs[os.path.basename(d)] = (d, set(files))
txt = open(lst).read().strip()
listed = json.loads(txt) if txt.startswith("[") else [json.loads(l) for l in txt.splitlines() if l.strip()]
bad = []
ids = set()
for t in listed:
    ids.add(t["id"])
    d = dirs.get(t["id"])
    if t["state"] != "live" or d is None:
        bad.append("%s: state %s" % (t["id"], t["state"])); continue
    for n in range(int(t["files"])):
        p = os.path.join(d[0], str(n))
        if str(n) not in d[1] or os.path.getsize(p) == 0:
            bad.append("%s: file object %d missing" % (t["id"], n))
for i in dirs:
    if i not in ids:
        bad.append("%s: manifest not listed" % i)
print("; ".join(bad))
sys.exit(1 if bad else 0)
PYEOF
}
STRAIGHT=0 DEFERRED=0 LOST=0 DUP=0 CLEAR=0 NOOPEN=0
# verify FAULT ROUND STOREROOT CONF: the per-round assertions for the messages in SENT
verify() {
	local fault=$1 r=$2 root=$3 conf=$4 s n f q bad=0 d
	drain || { not_ok "$fault #$r: deferred mail delivered after recovery (still queued: $(queue_ids s1) $(queue_ids s2))"; bad=1; }
	for s in "${SENT[@]}"; do
		n=$(grep -l -F "X-Mail-Args: <$s>" "$SINK"/* 2>/dev/null | wc -l)
		if [ "$n" = 0 ]; then LOST=$((LOST + 1)); not_ok "$fault #$r: $s lost (not delivered, not queued)"; bad=1; continue; fi
		[ "$n" -gt 1 ] && { DUP=$((DUP + 1)); not_ok "$fault #$r: $s delivered $n times"; bad=1; }
		q=$(qid_of s1 "$s")
		if grep -qE "$q: .*status=deferred" "$(pf_log s1)"; then DEFERRED=$((DEFERRED + 1)); else STRAIGHT=$((STRAIGHT + 1)); fi
		f=$(sink_find "$SINK" "$s")
		sink_eml "$f" "$T/out.eml"
		if $MAILTOOL leaves "$T/out.eml" | grep -q " $(sha256 "$T/att/$s.bin") "; then
			CLEAR=$((CLEAR + 1)); not_ok "$fault #$r: $s delivered with the attachment in clear"; bad=1
		fi
		d=$(mktemp -d "$T/open.XXXXXX")
		if ! ctl_open "$(mail_link "$T/out.eml")" "$d" "$conf" >/dev/null 2>&1 ||
			[ "$(sha256sum "$d"/* 2>/dev/null | cut -c1-64)" != "$(sha256 "$T/att/$s.bin")" ]; then
			NOOPEN=$((NOOPEN + 1)); not_ok "$fault #$r: $s: the link does not open to the original"; bad=1
		fi
		rm -rf "$d"
	done
	grep -q "status=bounced" "$(pf_log s1)" "$(pf_log s2)" && { not_ok "$fault #$r: a message bounced"; bad=1; }
	n=$(store_ok "$root" "$(conf_path "$conf")") || { not_ok "$fault #$r: every manifest in the store has its files ($n)"; bad=1; }
	n=$(spool_files)
	[ "$n" = 0 ] || { not_ok "$fault #$r: no file left in the spool ($n: $(ls -A "$T/m/spool"))"; bad=1; }
	rm -f "$T"/att/*
	SENT=()
	# the next round starts from an empty store (the tmpfs and /tmp stay small)
	find "$root" -mindepth 1 -maxdepth 1 ! -name keyid -exec rm -rf {} +
	return $bad
}

# ---- the faults (each: inject at a random moment after send, recover) --------------------------
# moment: once stage 2's milter spools the first message, a random 0-400 ms more (so the fault
# falls before, during or after the upload of either message)
moment() { wait_for 10 milter_spooling; sleep "$(rnd_ms 400)"; }
# early: a random 0-400 ms after stage 1 took the messages (before, while or after stage 2
# gets them; a full disk lasts, so it also meets messages that arrive later)
early() { sleep "$(rnd_ms 400)"; }
# store faults: in odd rounds already in place when the messages are submitted (pre_*), in even
# rounds at moment
PRE=0
pre_store_down() { PRE=$((r % 2)); [ "$PRE" = 0 ] || $DAV stop "$DD" >/dev/null 2>&1; }
f_store_down() {
	[ "$PRE" = 1 ] || { moment; $DAV stop "$DD" >/dev/null 2>&1; }
	sleep "$HOLD"; $DAV start "$DD" $DAVP davuser davpass >/dev/null 2>&1
}
pre_store_slow() { PRE=$((r % 2)); [ "$PRE" = 0 ] || { STOPPED=$(nginx_pids); kill -STOP $STOPPED; }; }
f_store_slow() {
	[ "$PRE" = 1 ] || { moment; STOPPED=$(nginx_pids); kill -STOP $STOPPED; }
	sleep $((HOLD + 2)); kill -CONT $STOPPED
}
f_milter_body() {
	wait_for 10 milter_spooling && sleep "$(rnd_ms 150)"
	mkill; mstart || not_ok "milter restart"
}
f_milter_upload() {
	local p
	# nginx is stopped at once, so the upload cannot finish before the kill lands
	wait_for 10 uploading && p=$(nginx_pids) && kill -STOP $p
	sleep "$(rnd_ms 200)"
	mkill; kill -CONT $p; mstart || not_ok "milter restart"
}
# full disks: in odd rounds already full when the messages are submitted (pre_*, run before
# send), in even rounds filled 0-400 ms after
FILLED=0
PREFILLED=0
pre_full() { FILLED=0; [ $((r % 2)) = 1 ] || return 0; fill "$1"; FILLED=1 PREFILLED=$((PREFILLED + 1)); }
f_full() { [ "$FILLED" = 1 ] || { early; fill "$1"; }; sleep "$HOLD"; rm -f "$1/filler"; }
pre_spool_full() { pre_full "$T/m/spool"; }
pre_store_full() { pre_full "$T/mf/store"; }
f_spool_full() { f_full "$T/m/spool"; }
f_store_full() { f_full "$T/mf/store"; }
FETCH_BAD=0 FETCH_PARTIAL=0 FETCH_DONE=0
f_portal_kill() {  # not a send round: kill the portal during a fetch of BIG_LINK
	local d=$T/fetch rc
	rm -rf "$d"; mkdir -p "$d"
	"$CTL" fetch "$BIG_LINK" --output "$d" > /dev/null 2>&1 &
	local fp=$!
	sleep "$(rnd_ms "$FETCH_MS")"
	kill -9 "$PORTAL_PID"; wait "$PORTAL_PID" 2>/dev/null
	wait "$fp"; rc=$?
	if [ $rc = 0 ]; then
		FETCH_DONE=$((FETCH_DONE + 1))
		[ "$(sha256 "$d/big.pdf")" = "$BIG_SHA" ] || { FETCH_BAD=$((FETCH_BAD + 1)); not_ok "portal_kill: fetch said success with wrong bytes"; }
	else
		FETCH_PARTIAL=$((FETCH_PARTIAL + 1))
		# a failed fetch must not leave a file that looks complete
		[ -f "$d/big.pdf" ] && [ "$(sha256 "$d/big.pdf")" != "$BIG_SHA" ] && [ "$(stat -c %s "$d/big.pdf")" = "$BIG_SIZE" ] &&
			{ FETCH_BAD=$((FETCH_BAD + 1)); not_ok "portal_kill: failed fetch left a full-size wrong file"; }
	fi
	"$BUILD/offload-portal" -f -c "$(conf_path m)" >> "$T/portal.log" 2>&1 &
	PORTAL_PID=$!; _BG_PIDS+=($PORTAL_PID)
	waitport $PPORT || not_ok "portal restart"
	rm -rf "$d"; mkdir -p "$d"
	"$CTL" fetch "$BIG_LINK" --output "$d" > /dev/null 2>&1 && [ "$(sha256 "$d/big.pdf")" = "$BIG_SHA" ]
}

declare -A SUMMARY
for fault in $FAULTS; do
	t=$(now)
	STRAIGHT=0 DEFERRED=0 LOST=0 DUP=0 CLEAR=0 NOOPEN=0 failed=0 PREFILLED=0
	root=$DAVROOT conf=m
	if [ "$fault" = store_full ]; then
		milter_stop "$CONF"; CONF=mf; mstart || bail "milter with the file store"
		root=$T/mf/store conf=mf
	fi
	if [ "$fault" = portal_kill ]; then
		random_file "$T/big.pdf" $((12 * 1024 * 1024))
		make_eml "$T/big.eml" "Gross" "Anbei." "$T/big.pdf" big.pdf application/pdf
		smtp_send "$P1" "$T/big.eml" big@example.org bob@example.net
		drain; f=$(sink_find "$SINK" big@example.org); [ -n "$f" ] && sink_eml "$f" "$T/big.out.eml"
		BIG_LINK=$(mail_link "$T/big.out.eml" | sed "s|https://files.example.test|http://127.0.0.1:$PPORT|")
		BIG_SHA=$(sha256 "$T/big.pdf") BIG_SIZE=$(stat -c %s "$T/big.pdf")
		t1=$(now); "$CTL" fetch "$BIG_LINK" --output "$T/fetch0" > /dev/null 2>&1 ||
			bail "portal_kill: the 12 MiB transfer fetches before any fault ($BIG_LINK)"
		FETCH_MS=$(( ($(now) - t1) / 1000000 + 1 ))
		rv=FAULT_ROUNDS_$fault; R=${!rv:-$ROUNDS}
		for ((r = 1; r <= R; r++)); do
			f_portal_kill || { failed=$((failed + 1)); not_ok "portal_kill #$r: fetch byte-exact after the portal restart"; }
		done
		SUMMARY[$fault]="$R rounds (fetch of 12 MiB takes ~${FETCH_MS} ms unkilled): killed fetch failed $FETCH_PARTIAL, completed before the kill $FETCH_DONE, wrong bytes $FETCH_BAD; fetch after restart failed $failed ($(since "$t"))"
		note "$fault: ${SUMMARY[$fault]}"
		[ "$failed" = 0 ] && ok "portal_kill: $R rounds held"
		continue
	fi
	rv=FAULT_ROUNDS_$fault; R=${!rv:-$ROUNDS}
	for ((r = 1; r <= R; r++)); do
		! declare -F "pre_$fault" >/dev/null || "pre_$fault"
		send "$fault$r"
		"f_$fault"
		verify "$fault" "$r" "$root" "$conf" || failed=$((failed + 1))
	done
	SUMMARY[$fault]="$R rounds, $((R * MSGS)) messages: $STRAIGHT straight, $DEFERRED deferred by stage 2 and delivered after recovery; lost $LOST, twice $DUP, in clear $CLEAR, link not opening $NOOPEN; rounds failed $failed$([ "$PREFILLED" = 0 ] || echo "; full before submission in $PREFILLED rounds") ($(since "$t"))"
	note "$fault: ${SUMMARY[$fault]}"
	[ "$failed" = 0 ] && ok "$fault: $R rounds held"
	if [ "$fault" = store_full ]; then milter_stop "$CONF"; CONF=m; mstart || bail "milter back on WebDAV"; fi
done
n=$(grep -c "spool files\? left by a crash" "$T/m/milter.log" "$T/mf/milter.log" 2>/dev/null | awk -F: '{ s += $2 } END { print s + 0 }')
note "milter restarts: $STARTS (every second one with the named spool fallback); restarts that removed named leftovers: $n"
check "no sanitizer report in the milter and portal logs" bash -c '! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$@"' _ "$T/m/milter.log" "$T/portal.log"
note "total $(since "$t0")"
finish
