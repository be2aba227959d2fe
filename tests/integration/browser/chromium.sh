# chromium.sh - sourced by test_browser.sh and test_browser_revoke.sh (after lib.sh): checks that
# node, Debian's chromium and playwright-core are there, and stops what one run started. The
# caller sets UDD (a fresh --user-data-dir under $T: how this run's chromium is found) and runs
# node in the background with its pid in NODE_PID, then waits for it, so that a TERM/INT runs the
# trap at once: stop node (playwright then closes chromium), then whatever chromium is left.
NODE_PATH=$SRCDIR/tools/node_modules
export NODE_PATH
command -v node >/dev/null || bail "node missing (tools/install-deps.sh)"
[ -x /usr/bin/chromium ] || bail "/usr/bin/chromium missing (tools/deps/browser.apt; tools/install-deps.sh)"
[ -d "$NODE_PATH/playwright-core" ] || bail "playwright-core missing in $NODE_PATH (tools/deps/browser.npm; tools/install-deps.sh)"

# the pids of this run's chromium (its command line names our private profile dir); bash only,
# so that no helper process carries the pattern in its own command line
browser_pids() {
	local p c
	for p in /proc/[0-9]*; do
		c=$({ tr '\0' ' ' < "$p/cmdline"; } 2>/dev/null) || continue
		[[ $c == *"--user-data-dir=$UDD"* ]] && echo "${p#/proc/}"
	done
	return 0
}
browser_stop() {
	local pids
	pids=$(browser_pids)
	[ -n "$pids" ] || return 0
	kill -TERM $pids 2>/dev/null; sleep 0.5; kill -KILL $pids 2>/dev/null
	return 0
}
NODE_PID=
node_stop() {
	local i
	[ -n "$NODE_PID" ] || return 0
	kill -TERM "$NODE_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$NODE_PID" 2>/dev/null
	return 0
}
trap 'node_stop; browser_stop; _lib_cleanup' EXIT
