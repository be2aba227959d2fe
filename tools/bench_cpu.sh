# tools/bench_cpu.sh - CPU-time counters for the bench scripts (sourced by tools/bench.sh and
# tools/bench_smallmail.sh). All values are clock ticks (getconf CLK_TCK) of user+sys time: less
# load-dependent than wall times on a busy machine.
#   cpu PID              the process's own user+sys (all its threads)
#   tree_cpu PID         "key name ticks" lines: PID itself as "mPID <name>", the children it
#                        has reaped as "rPID reaped" (cutime+cstime), each live child as "<its
#                        pid> <its comm>" (several trees may be concatenated into one file);
#                        for a Postfix master (smtpd, cleanup, qmgr, smtp, ... incl. exited ones)
#                        or the MIMEDefang multiplexor (its Perl workers)
#   tree_delta BEFORE AFTER  ticks used in between, one "name ticks" line per name; children
#                        alive before but gone after are subtracted from "reaped", which holds
#                        their final time
#   machine_ticks        "busy total" ticks of the whole machine (/proc/stat, all CPUs)
#   shell_child_ticks VAR F  sets VAR to the user+sys ticks of this shell's waited-for children
#                        so far (bash `times`, through the scratch file F)
cpu() { local st; read -r -a st < "/proc/$1/stat"; echo $((st[13] + st[14])); }
tree_cpu() {
	local st p c
	read -r -a st < "/proc/$1/stat" || return
	read -r c < "/proc/$1/comm"
	echo "m$1 $c $((st[13] + st[14]))"
	echo "r$1 reaped $((st[15] + st[16]))"
	for p in $(pgrep -P "$1"); do
		read -r c < "/proc/$p/comm" 2>/dev/null || continue
		read -r -a st < "/proc/$p/stat" 2>/dev/null || continue
		echo "$p $c $((st[13] + st[14]))"
	done
}
tree_delta() {
	awk 'NR == FNR { b[$1] = $3; n[$1] = $2; next }
		{ d[$2] += $3 - ($1 in b ? b[$1] : 0); seen[$1] = 1 }
		END { for (p in b) if (!(p in seen)) d["reaped"] -= b[p]
			for (k in d) if (d[k] != 0) printf "%s %d\n", k, d[k] }' "$1" "$2"
}
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
shell_child_ticks() {  # shell_child_ticks VAR FILE: `times` must run in this shell, not in $(...)
	times > "$2"
	printf -v "$1" %s "$(awk -v hz="$(getconf CLK_TCK)" 'END { n = split($0, a, /[ ms]+/); s = 0
		for (i = 1; i + 1 <= n; i += 2) s += a[i] * 60 + a[i + 1]; printf "%d", s * hz + 0.5 }' "$2")"
}
