#!/bin/bash
# test_spool_named.sh - the spool's named-file fallback (issue 14 item 2) where O_TMPFILE is not
# available, forced with the test hook OFFLOAD_TEST_SPOOL_NAMED=1 (pipeline/spool_tmp.c):
#  1. kill -9 of `offloadctl process` mid-input leaves its named in.XXXXXX (the kept input) and
#     msg.XXXXXX (the message spool, written as the input is parsed) (the fallback is on);
#  2. `offloadctl purge --dry-run` counts it and removes nothing; `offloadctl purge` removes it but
#     keeps the spool file of a concurrent, live `offloadctl process`, a file another process holds
#     under flock, and files not named like spool files; the live process then finishes (exit 0,
#     its attachment offloaded) and leaves nothing;
#  3. offload-milter at start removes unlocked leftovers (msg.*, body.*) and keeps a locked one.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL" "$MILTER_BIN"
export OFFLOAD_TEST_SPOOL_NAMED=1
conf_write sn
CONF=$(conf_path sn)
SP=$T/sn/spool
random_file "$T/att.bin" $((2 * 1024 * 1024))
make_eml "$T/in.eml" "Fallback" "Anbei." "$T/att.bin" att.bin || bail "build the message"
half=$(($(stat -c %s "$T/in.eml") / 2))
spool_list() { (cd "$SP" && ls -A) | sort | tr '\n' ' '; }
# feed FIFO: start `offloadctl process` reading FIFO (pid FEED_PID, output $FIFO.out), write the
# first half of the message (~1.4 MB) on fd 7 and wait until its in.* spool file holds the first
# MiB of it (the kept copy of a piped input is written a MiB at a time: cli_process_read.c
# COPY_BUF)
feed() {
	mkfifo "$1"; touch "$1.mark"
	"$CTL" -c "$CONF" process < "$1" > "$1.out" 2> "$1.err" &
	FEED_PID=$!
	exec 7> "$1"
	head -c "$half" "$T/in.eml" >&7
	local i
	for ((i = 0; i < 200; i++)); do
		[ -n "$(find "$SP" -maxdepth 1 -name 'in.??????' -newer "$1.mark" -size +1023k)" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- 1. kill -9 leaves the named file --------------------------------------------------------
feed "$T/fifo1" || bail "offloadctl process spooled the first half into a named in.* file ($(spool_list))"
stale=$(find "$SP" -maxdepth 1 -name 'in.??????' -printf '%f\n')
stale_msg=$(find "$SP" -maxdepth 1 -name 'msg.??????' -printf '%f\n')
kill -9 "$FEED_PID"; wait "$FEED_PID" 2>/dev/null; exec 7>&-
check "kill -9 of offloadctl process left its named spool files $stale and $stale_msg (fallback active)" \
	[ -f "$SP/$stale" -a -n "$stale_msg" -a -f "$SP/$stale_msg" ]
check "the leftovers are 0600" [ "$(stat -c %a "$SP/$stale")" = 600 -a "$(stat -c %a "$SP/$stale_msg")" = 600 ]

# ---- 2. purge: stale removed, live kept ------------------------------------------------------
sleep 1.1  # the live file must be newer than the stale one for find -newer above
feed "$T/fifo2" || bail "a second offloadctl process spooled into a named file"
live_pid=$FEED_PID
live=$(find "$SP" -maxdepth 1 -name 'in.??????' ! -name "$stale" -printf '%f\n')
live_msg=$(find "$SP" -maxdepth 1 -name 'msg.??????' ! -name "$stale_msg" -printf '%f\n')
echo held > "$SP/msg.HELD01"
(exec 8>> "$SP/msg.HELD01" 7>&- >/dev/null 2>&1; flock -x 8; exec sleep 60) &
_BG_PIDS+=($!); held_pid=$!
for ((i = 0; i < 100; i++)); do flock -n -x "$SP/msg.HELD01" true || break; sleep 0.05; done
echo other > "$SP/notes.txt"; echo other > "$SP/msg.toolong7"
before=$(spool_list)
out=$("$CTL" -c "$CONF" purge --dry-run 2>&1); rc=$?
check "purge --dry-run exits 0 and counts 2 spool files ($out)" \
	bash -c '[ "$1" = 0 ] && grep -q "2 spool files left by a crash found" <<<"$2"' _ "$rc" "$out"
check "purge --dry-run removed nothing ($(spool_list))" [ "$(spool_list)" = "$before" ]
out=$("$CTL" -c "$CONF" purge 2>&1); rc=$?
check "purge exits 0 and says 2 spool files removed ($out)" \
	bash -c '[ "$1" = 0 ] && grep -q "2 spool files left by a crash removed" <<<"$2"' _ "$rc" "$out"
check "purge removed the dead process's $stale and $stale_msg" [ ! -e "$SP/$stale" -a ! -e "$SP/$stale_msg" ]
check "purge kept the live offloadctl's $live and $live_msg" [ -n "$live" -a -f "$SP/$live" -a -n "$live_msg" -a -f "$SP/$live_msg" ]
check "purge kept msg.HELD01 (flock held by a live process)" [ -f "$SP/msg.HELD01" ]
check "purge kept files not named like spool files" [ -f "$SP/notes.txt" -a -f "$SP/msg.toolong7" ]
tail -c +$((half + 1)) "$T/in.eml" >&7; exec 7>&-
wait "$live_pid"; rc=$?
check "the concurrent offloadctl process finished with exit 0 after the purge (exit $rc)" [ "$rc" = 0 ]
check "its output has a link and not the attachment" \
	bash -c '[ -n "$($1 links "$2")" ] && ! $1 leaves "$2" | grep -q " $3 "' _ "$MAILTOOL" "$T/fifo2.out" "$(sha256 "$T/att.bin")"
check "it left no spool file ($(spool_list))" [ -z "$(find "$SP" -maxdepth 1 \( -name 'in.??????' -o -name 'msg.??????' \) ! -name msg.HELD01)" ]

# ---- 3. offload-milter at start --------------------------------------------------------------
echo plain > "$SP/msg.DEAD01"; echo plain > "$SP/body.DEAD02"
milter_start sn || bail "offload-milter starts"
check "offload-milter at start removed msg.DEAD01 and body.DEAD02" [ ! -e "$SP/msg.DEAD01" -a ! -e "$SP/body.DEAD02" ]
check "offload-milter at start kept the locked msg.HELD01 and notes.txt" [ -f "$SP/msg.HELD01" -a -f "$SP/notes.txt" ]
check "offload-milter logged the removal" grep -q "removed 2 spool files left by a crash" "$T/sn/milter.log"
milter_stop sn
kill "$held_pid" 2>/dev/null
finish
