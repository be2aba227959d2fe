# tests/integration/lib.sh - shared harness for the integration tests (sourced, not run).
#
# Gives each test a private temp dir ($T, mktemp under /tmp, removed on exit), TAP-like
# counters (ok / not_ok / check / finish), private Postfix instances relaying to smtp-sink,
# offload-milter start/stop, an offload.conf writer and helpers to send and inspect mail.
# Everything started here is stopped by the EXIT trap, also when the test fails half-way.
# Set KEEP_TMP=1 to keep $T for debugging.
#
# Environment: BUILD (absolute build dir, default $SRCDIR/build), SRCDIR (repo top).
# Postfix, smtp-sink and miltertest gotchas: docs/DECISIONS.md §A.3.

set -uo pipefail
SRCDIR=${SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$SRCDIR/build}
case "$BUILD" in /*) ;; *) BUILD=$SRCDIR/$BUILD ;; esac
export SRCDIR BUILD
IT=$SRCDIR/tests/integration
# test artefacts (screenshots, MUA screens) per build directory: make check and make asan run
# side by side in CI, and each browser test deletes its old screenshots when it starts
ART=$BUILD/artifacts
MILTER_BIN=$BUILD/offload-milter
CTL=$BUILD/offloadctl
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
MAILTOOL="$PY $IT/mailtool.py"

T=$(mktemp -d /tmp/offload-it.XXXXXX)
chmod 755 "$T"                  # postfix (user postfix) and smtp-sink (nobody) work below it
PASS=0; FAIL=0
_PF_LIST=(); _SINK_PIDS=(); _MILTER_PIDS=(); _BG_PIDS=()

# ---- result counting ------------------------------------------------------------------------
ok()     { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
# check DESC CMD... : ok when CMD succeeds
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# checkx DESC 'SHELL EXPRESSION' : ok when the expression (eval'd here, lib functions usable) succeeds
checkx() { if (set +o pipefail; eval "$2"); then ok "$1"; else not_ok "$1"; fi; }
# jget FILE EXPR: print EXPR evaluated over the JSON in FILE (as d); dies quietly of SIGPIPE like
# any Unix tool when a reader such as grep -q stops early
jget() { $PY -c 'import json,signal,sys; signal.signal(signal.SIGPIPE, signal.SIG_DFL); d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$@"; }
# finish: print the count line and exit (1 if anything failed)
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; exit $?; }
# bail DESC: a setup step failed; count it and stop the test
bail()   { not_ok "$*"; finish; }
note()   { echo "# $*"; }
now()    { date +%s%N; }
since()  { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f s", (b - a) / 1e9 }'; }

need_bins() {
	local b
	for b in "$@"; do
		[ -x "$b" ] || bail "missing binary $b (build first: make B=$(basename "$BUILD"))"
	done
}

waitport() {  # waitport PORT [TRIES x 0.05 s]
	local i
	for ((i = 0; i < ${2:-200}; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# ---- cleanup --------------------------------------------------------------------------------
_lib_cleanup() {
	local n p i
	set +e
	for p in "${_MILTER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for n in "${_PF_LIST[@]}"; do postfix -c "$T/pf-$n/etc" stop >/dev/null 2>&1; done
	for p in "${_SINK_PIDS[@]}" "${_BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	# a milter sees SIGTERM only when libmilter's 5-s poll of its socket ends (5 s after the
	# last connection; gotcha in DECISIONS §A.3): the test is over and nothing is checked any
	# more, so after 0.5 s it gets SIGKILL (milter_stop, used mid-test, waits for the real exit)
	for p in "${_MILTER_PIDS[@]}"; do
		for ((i = 0; i < 5; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null  # (no "Killed" job notice)
	done
	for p in "${_MILTER_PIDS[@]}" "${_SINK_PIDS[@]}" "${_BG_PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	for n in "${_PF_LIST[@]}"; do _pf_altdir_remove "$T/pf-$n/etc"; done
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "# kept $T" >&2
	else
		chattr -R -i "$T" 2>/dev/null
		rm -rf "$T"
	fi
}
trap _lib_cleanup EXIT
trap 'exit 130' INT TERM

# ---- private Postfix ------------------------------------------------------------------------
pf_cf()  { echo "$T/pf-$1/etc"; }
pf_log() { echo "$T/pf-$1/maillog"; }

# postdrop/postqueue (setgid) accept -C DIR only when DIR is listed in the DEFAULT main.cf
# (recipe gotcha 4). Edited under flock (on /etc/postfix itself); our entry is removed again at cleanup.
_pf_altdir_add() {
	(
		flock 9
		[ -f /etc/postfix/main.cf ] || echo 'compatibility_level = 3.6' > /etc/postfix/main.cf
		local cur
		cur=$(postconf -h alternate_config_directories 2>/dev/null)
		case ", $cur," in
		*", $1,"*) ;;
		*) postconf -e "alternate_config_directories = ${cur:+$cur, }$1" ;;
		esac
	) 9</etc/postfix  # lock the directory: nothing left behind in /tmp
}
_pf_altdir_remove() {
	(
		flock 9
		[ -f /etc/postfix/main.cf ] || exit 0
		local cur new
		cur=$(postconf -h alternate_config_directories 2>/dev/null)
		new=$(tr ',' '\n' <<<"$cur" | sed 's/^ *//; s/ *$//' | grep -v -x -F "$1" | grep -v '^$' |
			paste -sd, - | sed 's/,/, /g')
		postconf -e "alternate_config_directories = $new"
	) 9</etc/postfix  # lock the directory: nothing left behind in /tmp
}

# postfix errors go only to syslog or a tty: give it a tty to show why it failed (gotcha 2)
_pf_cmd() {
	local cf=$1; shift
	postfix -c "$cf" "$@" >/dev/null 2>&1 && return 0
	script -qec "postfix -c $cf $*" /dev/null >&2
	return 1
}

# pf_setup NAME SMTPD_PORT NEXTHOP_PORT: config + queue under $T/pf-NAME, smtpd on
# 127.0.0.1:SMTPD_PORT, everything relayed to [127.0.0.1]:NEXTHOP_PORT, no milter yet.
pf_setup() {
	local name=$1 port=$2 next=$3
	local pf=$T/pf-$name
	local cf=$pf/etc
	mkdir -p "$cf" "$pf/spool" "$pf/data" || return 1
	_pf_altdir_add "$cf"
	cp /etc/postfix/master.cf "$cf/master.cf"
	: > "$cf/main.cf"
	# distinct myhostname per instance: the same name on both stages = "mail loops back to myself"
	postconf -c "$cf" -e \
		"compatibility_level = 3.6" "config_directory = $cf" \
		"queue_directory = $pf/spool" "data_directory = $pf/data" \
		"myhostname = $name.offload.test" "mydomain = offload.test" "myorigin = \$myhostname" \
		"syslog_name = postfix-$name" \
		"inet_interfaces = loopback-only" "inet_protocols = ipv4" "mynetworks = 127.0.0.0/8" \
		"mydestination =" "relay_domains =" "relayhost = [127.0.0.1]:$next" \
		"smtp_dns_support_level = disabled" "alias_maps =" "alias_database =" "biff = no" \
		"maillog_file_prefixes = /var, /dev/stdout, $pf" "maillog_file = $pf/maillog" \
		"smtpd_relay_restrictions = permit_mynetworks, reject" \
		"message_size_limit = 209715200" "mailbox_size_limit = 0" \
		"smtpd_milters =" "non_smtpd_milters =" \
		"milter_default_action = tempfail" "milter_protocol = 6" \
		"smtp_connect_timeout = 5s" \
		"queue_run_delay = 300s" "minimal_backoff_time = 300s" || return 1
	postconf -c "$cf" -M# smtp/inet                                 # no port 25 (gotcha 6)
	postconf -c "$cf" -M "127.0.0.1:$port/inet = 127.0.0.1:$port inet n - n - - smtpd" || return 1
	postconf -c "$cf" -F '*/*/chroot = n'                            # gotcha 5
	postfix -c "$cf" set-permissions >/dev/null 2>&1                 # queue dirs + owners (gotcha 9)
	_pf_cmd "$cf" check || return 1
	_PF_LIST+=("$name")
	eval "_PF_PORT_$name=$port"
}

pf_start() {
	local cf; cf=$(pf_cf "$1")
	_pf_cmd "$cf" start || return 1
	local v="_PF_PORT_$1"
	waitport "${!v}"
}
pf_stop() { postfix -c "$(pf_cf "$1")" stop >/dev/null 2>&1; }

# pf_reload NAME: postfix reload, and wait until the master has taken it. Reload is
# asynchronous (gotcha 8): the master logs "reload -- version" when it handles the SIGHUP and
# then closes its children's status pipes (idle children exit at once). A fixed sleep was too
# short on a loaded machine and too long on a quiet one; the log line says it happened.
pf_reload() {
	local cf _rl_log _rl_seen; cf=$(pf_cf "$1"); _rl_log=$(pf_log "$1")
	_rl_seen=$(grep -c ': reload -- ' "$_rl_log" 2>/dev/null); _rl_seen=${_rl_seen:-0}
	postfix -c "$cf" reload >/dev/null 2>&1 || return 1
	# (names unlike wait_until's own locals: its eval sees this function's variables)
	if ! wait_until 60 '[ "$(grep -c ": reload -- " "$_rl_log" 2>/dev/null)" -gt "$_rl_seen" ]'; then
		echo "# pf_reload $1: no reload line in $_rl_log after 60 s" >&2
		return 1
	fi
	sleep 0.1	# the master closes the old generation's pipes right after logging the line
}

# pf_milter NAME SPEC: smtpd_milters + non_smtpd_milters = SPEC ("" = none), then pf_reload.
# SPEC in Postfix syntax, e.g. inet:127.0.0.1:12712
pf_milter() {
	local cf; cf=$(pf_cf "$1")
	postconf -c "$cf" -e "smtpd_milters = $2" "non_smtpd_milters = $2" || return 1
	pf_reload "$1"
}

# wait_log NAME REGEX [SECONDS]: wait until the maillog of NAME matches REGEX (grep -E)
wait_log() {
	local log i; log=$(pf_log "$1")
	for ((i = 0; i < ${3:-30} * 20; i++)); do
		grep -qE "$2" "$log" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# wait_until SECONDS COMMAND...: run COMMAND (eval'd) every 0.1 s until it succeeds; 1 after
# SECONDS. For effects that land just after the client saw the end of a response (the portal's
# audit events and download counts are written when libmicrohttpd releases the response).
wait_until() {
	local i n=$(($1 * 10)); shift
	for ((i = 0; i < n; i++)); do eval "$*" && return 0; sleep 0.1; done
	return 1
}
# wait_removed NAME QUEUEID [SECONDS]: the message left the queue (delivered or bounced)
wait_removed() { wait_log "$1" "$2: removed" "${3:-60}"; }
# delivered NAME QUEUEID: the maillog shows status=sent for it
delivered() { grep -qE "$2: .*status=sent" "$(pf_log "$1")"; }
# queue_ids NAME: queue ids currently in the queue (postqueue -p)
queue_ids() { postqueue -c "$(pf_cf "$1")" -p 2>/dev/null | sed -n 's/^\([0-9A-F]\{6,\}\)[*!]\{0,1\} .*/\1/p'; }

# ---- smtp-sink --------------------------------------------------------------------------------
# sink_start PORT DIR: one file per message in DIR (LF line ends, pseudo-headers first;
# a file exists from the start of the transaction: wait for "removed" before reading it)
sink_start() {
	mkdir -p "$2" && chown nobody:nogroup "$2"
	smtp-sink -u nobody -d "$2/%Y%m%d%H%M%S." "127.0.0.1:$1" 1000 2>>"$T/sink-$1.log" &
	_SINK_PIDS+=($!)
	waitport "$1"
}
sink_count() { find "$1" -type f 2>/dev/null | wc -l; }
sink_newest() { ls -t "$1"/* 2>/dev/null | head -1; }
# sink_eml SINKFILE OUT: the delivered message without smtp-sink's pseudo-headers
sink_eml() { $MAILTOOL strip "$1" > "$2"; }

# ---- offload.conf writer ---------------------------------------------------------------------
# conf_write NAME [group.key=value ...]: writes $T/NAME/offload.conf with spool, store, key
# and audit log under $T/NAME; defaults: unix socket $T/NAME/milter.sock, offload_min_size 1M,
# file store, portal https://files.example.test, notices captured in $T/NAME/notify
# (sendmail_capture.sh). Paths: conf_path/store_path/audit_path NAME.
conf_path()  { echo "$T/$1/offload.conf"; }
store_path() { echo "$T/$1/store"; }
audit_path() { echo "$T/$1/audit.log"; }
conf_write() {
	local name=$1; shift
	local d=$T/$name kv g k
	mkdir -p "$d/spool" "$d/store"
	declare -A C=(
		[milter.socket]="unix:$d/milter.sock"
		[milter.spool_dir]="$d/spool"
		[policy.offload_min_size]="1M"
		[storage.backend]="file"
		[storage.path]="$d/store"
		[portal.url]="https://files.example.test"
		[security.deployment_key_file]="$d/deployment.key"
		[audit.path]="$d/audit.log"
		[notify.sendmail]="$IT/sendmail_capture.sh $d/notify"
	)
	local order=(milter.socket milter.spool_dir policy.offload_min_size storage.backend
		storage.path portal.url security.deployment_key_file audit.path notify.sendmail)
	for kv in "$@"; do
		k=${kv%%=*}
		[ -z "${C[$k]+x}" ] && order+=("$k")
		C[$k]=${kv#*=}
	done
	{
		echo "# written by tests/integration/lib.sh"
		for g in milter policy storage portal security audit notify classify; do
			local first=1
			for k in "${order[@]}"; do
				[ "${k%%.*}" = "$g" ] || continue
				[ $first = 1 ] && { echo "[$g]"; first=0; }
				echo "${k#*.} = ${C[$k]}"
			done
		done
		# any other group given by the caller
		for k in "${order[@]}"; do
			case "${k%%.*}" in milter|policy|storage|portal|security|audit|notify|classify) continue ;; esac
			echo "[${k%%.*}]"; echo "${k#*.} = ${C[$k]}"
		done
	} > "$d/offload.conf"
}
# conf_socket NAME: the [milter] socket value written into NAME's config
conf_socket() { sed -n 's/^socket = //p' "$(conf_path "$1")" | head -1; }
# postfix_milter_spec SOCKET: offload syntax (inet:PORT@HOST | unix:/p) -> Postfix syntax
postfix_milter_spec() {
	case "$1" in
	inet:*@*) local p=${1#inet:}; echo "inet:${p#*@}:${p%@*}" ;;
	*) echo "$1" ;;
	esac
}

# ---- offload-milter --------------------------------------------------------------------------
# milter_start NAME: start $MILTER_BIN -f -c $T/NAME/offload.conf in the background
# (stderr to $T/NAME/milter.log), wait for its socket. MILTER_PID is set.
milter_start() {
	local name=$1 conf sock i
	conf=$(conf_path "$name"); sock=$(conf_socket "$name")
	# umask 0: a unix socket must be connectable by Postfix (user postfix)
	(umask 0; exec "$MILTER_BIN" -f -c "$conf") >>"$T/$name/milter.log" 2>&1 &
	MILTER_PID=$!
	_MILTER_PIDS+=("$MILTER_PID")
	eval "_MILTER_PID_$name=$MILTER_PID"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$MILTER_PID" 2>/dev/null || { echo "# milter exited early:" >&2; tail -5 "$T/$name/milter.log" >&2; return 1; }
		case "$sock" in
		unix:*) [ -S "${sock#unix:}" ] && return 0 ;;
		inet:*) local p=${sock#inet:}; (exec 3<>"/dev/tcp/127.0.0.1/${p%@*}") 2>/dev/null && return 0 ;;
		esac
		sleep 0.05
	done
	echo "# milter socket $sock did not appear" >&2
	return 1
}
# milter_stop NAME: SIGTERM and WAIT for the pid (libmilter takes up to ~5 s: gotcha 11)
milter_stop() {
	local v="_MILTER_PID_$1" i
	local pid=${!v:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; echo "# milter $pid needed SIGKILL" >&2; return 1; fi
	wait "$pid" 2>/dev/null
	return 0
}

# ---- storage failure injection ---------------------------------------------------------------
# store_break NAME: replace the store directory with a regular file (works as root, where
# chmod 000 would not); store_fix NAME: give the directory back (empty).
store_break() { local s; s=$(store_path "$1"); rm -rf "$s.broken-was"; mv "$s" "$s.broken-was" && echo broken > "$s"; }
store_fix()   { local s; s=$(store_path "$1"); rm -f "$s"; mv "$s.broken-was" "$s" 2>/dev/null || mkdir -p "$s"; }

# ---- sending ---------------------------------------------------------------------------------
# smtp_send PORT FILE FROM RCPT...: send a prebuilt message with curl; sets SMTP_QID (queue id
# from "250 ... queued as X") and SMTP_REPLY (the server's last reply line). Returns curl's rc.
smtp_send() {
	local port=$1 file=$2 from=$3; shift 3
	local args=() r rc out
	for r in "$@"; do args+=(--mail-rcpt "$r"); done
	out=$(mktemp "$T/curl.XXXXXX")
	curl -sS -v --max-time 300 "smtp://127.0.0.1:$port" --mail-from "$from" "${args[@]}" -T "$file" >/dev/null 2>"$out"
	rc=$?
	SMTP_QID=$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$out" | tail -1)
	# the first 4xx/5xx reply if any (curl then says QUIT: 221), else the last 250
	SMTP_REPLY=$(grep -E '^< [45][0-9][0-9][ -]' "$out" | head -1 | sed 's/^< //; s/\r$//')
	[ -n "$SMTP_REPLY" ] || SMTP_REPLY=$(grep -E '^< 250[ -]' "$out" | tail -1 | sed 's/^< //; s/\r$//')
	rm -f "$out"
	return $rc
}
# is250 / is4xx / is5xx: classify SMTP_REPLY of the last smtp_send (is250 also needs a queue id)
is250() { [[ "$SMTP_REPLY" == 250* && -n "$SMTP_QID" ]]; }
is4xx() { [[ "$SMTP_REPLY" == 4[0-9][0-9]* ]]; }
is5xx() { [[ "$SMTP_REPLY" == 5[0-9][0-9]* ]]; }

# make_eml OUT SUBJECT BODY [ATTACHMENT_FILE [NAME [TYPE]]]: build a message with swaks
# (From alice@example.org, To bob@example.net); no attachment = a plain text message
make_eml() {
	local out=$1 subj=$2 body=$3 att=${4:-} name=${5:-} type=${6:-application/octet-stream}
	local a=()
	[ -n "$att" ] && a=(--attach-type "$type" --attach-name "${name:-$(basename "$att")}" --attach @"$att")
	# --server: never contacted with --dump-mail, but without it swaks looks up the MX of
	# example.net first, 5 s of resolver timeout in a network namespace without DNS (CI's asan)
	swaks --server 127.0.0.1 --from alice@example.org --to bob@example.net --header "Subject: $subj" \
		--body "$body" "${a[@]}" --dump-mail 2>/dev/null > "$out.tmp"
	# swaks --dump-mail ends with a lone "\r" (the start of its "\r\n.\r\n"): drop it
	$PY -c 'import sys; d=open(sys.argv[1],"rb").read()
if d.endswith(b"\r") and not d.endswith(b"\n\r\n"): d=d[:-1]
open(sys.argv[2],"wb").write(d)' "$out.tmp" "$out" && rm -f "$out.tmp"
	[ -s "$out" ]
}

# random_file PATH BYTES
random_file() { head -c "$2" /dev/urandom > "$1"; }
# flip_byte FILE OFFSET: invert one byte in place (a fixed replacement byte would leave random
# ciphertext unchanged 1 time in 256)
flip_byte() {
	$PY - "$1" "$2" <<'PYEOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))
PYEOF
}
sha256() { sha256sum "$1" | cut -c1-64; }

# ---- inspecting results ----------------------------------------------------------------------
# mail_link EML: the first https://files.example.test/t/<id>#<secret> in the decoded text parts
mail_link() { $MAILTOOL link "$1"; }
# ctl_open LINK DIR NAME: offloadctl -c <NAME's conf> open LINK --output DIR
ctl_open() { mkdir -p "$2" && "$CTL" -c "$(conf_path "$3")" open "$1" --output "$2"; }
# sink_find DIR SENDER: the sink file of the message whose envelope sender is SENDER
sink_find() { grep -l -m1 -F "X-Mail-Args: <$2>" "$1"/* 2>/dev/null | head -1; }
# qid_of NAME SENDER: the (last) queue id Postfix logged for envelope sender SENDER
# (pickup logs "QID: uid=0 from=<...>", qmgr "QID: from=<...>, size=...")
qid_of() { sed -n "s/.*: \([0-9A-F]\{6,\}\): \(uid=[0-9]* \)\{0,1\}from=<$2>.*/\1/p" "$(pf_log "$1")" | tail -1; }
# body_of EML: the body (after the first empty line), CRLF -> LF, trailing empty lines removed
# (curl's end-of-data and smtp-sink's dump add one more line end at the very end)
body_of() { $PY -c 'import signal; signal.signal(signal.SIGPIPE, signal.SIG_DFL); import sys; d=open(sys.argv[1],"rb").read().replace(b"\r\n",b"\n"); i=d.find(b"\n\n"); sys.stdout.buffer.write((d[i+2:] if i>=0 else b"").rstrip(b"\n"))' "$1"; }
# transfer_re: the grammar of X-Offload-Transfer as given by the contract
TRANSFER_RE='^([a-z2-7]{24}); files=([0-9]+); expires=([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})); mac=([^ ;]+)$'
# check_offloaded DESC EML NAME FILE...: the full set of checks for a message whose FILEs
# (paths of the originals) were offloaded by the milter/CLI running with config NAME
check_offloaded() {
	local desc=$1 eml=$2 name=$3; shift 3
	local xo xc link id f s d n=$#
	xo=$($MAILTOOL header "$eml" X-Offload-Transfer)
	xc=$($MAILTOOL header "$eml" X-Data-Classification)
	check "$desc: one X-Offload-Transfer header with the documented grammar ('${xo:0:80}')" \
		bash -c '[ "$(printf "%s\n" "$1" | grep -c .)" = 1 ] && [[ "$1" =~ $2 ]]' _ "$xo" "$TRANSFER_RE"
	id=$(sed -E 's/^([a-z2-7]{24});.*/\1/' <<<"$xo")
	check "$desc: X-Offload-Transfer says files=$n" grep -qE "; files=$n;" <<<"$xo"
	check "$desc: X-Data-Classification: class=OFFEN; policy=default; transfer=$id ('$xc')" \
		[ "$xc" = "class=OFFEN; policy=default; transfer=$id" ]
	link=$($MAILTOOL links "$eml")
	check "$desc: exactly one link https://files.example.test/t/<id>#<secret> in the text ($link)" \
		bash -c '[ "$(printf "%s\n" "$1" | grep -c .)" = 1 ]' _ "$link"
	check "$desc: the link's id equals the header's transfer id" [ "${link#*/t/}" != "$link" -a "$(sed -E 's|.*/t/([^#]*)#.*|\1|' <<<"$link")" = "$id" ]
	for f in "$@"; do
		s=$(sha256 "$f")
		check "$desc: no part of the delivered message has the bytes of $(basename "$f")" \
			bash -c '! $1 leaves "$2" | grep -q " $3 "' _ "$MAILTOOL" "$eml" "$s"
		check "$desc: audit log has event=attachment with sha256 of $(basename "$f")" \
			bash -c 'grep "event=attachment" "$1" 2>/dev/null | grep -q "sha256=$2"' _ "$(audit_path "$name")" "$s"
	done
	d=$(mktemp -d "$T/open.XXXXXX")
	check "$desc: offloadctl open LINK --output DIR exits 0" ctl_open "$link" "$d" "$name"
	for f in "$@"; do
		check "$desc: opened $(basename "$f") has the original SHA-256" \
			bash -c '[ -f "$1/$2" ] && [ "$(sha256sum < "$1/$2" | cut -c1-64)" = "$3" ]' _ "$d" "$(basename "$f")" "$(sha256 "$f")"
	done
	check "$desc: audit log has an event=message line for transfer $id" \
		bash -c 'grep "event=message" "$1" 2>/dev/null | grep -q "$2"' _ "$(audit_path "$name")" "$id"
	OFFLOAD_LINK=$link OFFLOAD_ID=$id
}

# ---- secrets never in a log -------------------------------------------------------------------
# secret VALUE...: remember link secrets, revoke secrets, tickets, passwords and keys the test
# used; check_no_secrets looks for each of them in every log. Values shorter than 8 characters
# are ignored (they would match by chance). A link "…/t/<id>#<secret>" or a URL "…/d/<ticket>"
# may be given whole: the part after '#' or '/d/' is remembered. Kept in a file, so calls in
# subshells ($(...), checkx) count too.
_SECRETS_FILE=$T/.secrets
secret() {
	local v
	for v in "$@"; do
		case "$v" in *'#'*) v=${v##*#} ;; */d/*) v=${v##*/d/} ;; esac
		[ ${#v} -ge 8 ] && printf '%s\n' "$v" >> "$_SECRETS_FILE"
	done
	return 0
}
# secrets_from_json FILE: remember every download ticket ("/d/<ticket>") in a portal answer
secrets_from_json() {
	local t
	for t in $(grep -oE '/d/[A-Za-z0-9_-]+' "$1" 2>/dev/null); do secret "$t"; done
}
# secrets_harvest: remember every secret the test produced, as found in the files below $T that
# are not logs (mails, notices, sink files, stdout captures, JSON answers; files up to 20 MB):
# link and revoke secrets (/t/<id>#S, /r/<id>#S), download tickets (/d/T), generated passwords
# of notices ("Kennwort:"/"Password:" lines, the indented line of a password mail; also
# normalised: upper case, no dashes) and key files (*.key: each line, and for 64 hex
# characters the key's base64 too). Call it before check_no_secrets.
secrets_harvest() {
	local files v
	mapfile -t files < <(find "$T" -type f -size -20M ! \( -name '*.log' -o -name '*.err' -o \
		-name maillog -o -name '*.log.*' -o -name '.secrets' -o -name '*.key' \) 2>/dev/null)
	[ ${#files[@]} -gt 0 ] || return 0
	while IFS= read -r v; do secret "$v"; done < <(printf '%s\0' "${files[@]}" |
		xargs -0 grep -haoE '/[tr]/[a-z2-7]{24}#[A-Za-z0-9_-]{16,}|/d/[A-Za-z0-9_-]{20,}' | sort -u)
	while IFS= read -r v; do secret "$v" "$(tr a-z A-Z <<<"${v//-/}")"; done < <(printf '%s\0' "${files[@]}" |
		xargs -0 grep -haoE '^((Kennwort|Password): +| {4})[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}$' |
		grep -oE '[2-9a-z-]{19}$' | sort -u)
	while IFS= read -r v; do
		secret "$v"
		[[ "$v" =~ ^[0-9a-fA-F]{64}$ ]] && secret "$(printf "$(sed 's/../\\x&/g' <<<"$v")" | base64 -w0)"
	done < <(find "$T" -type f -name '*.key' -exec cat {} + 2>/dev/null | tr -d '\r' | sort -u)
	return 0
}
# log_files: every log the test wrote below $T (portal and milter output, audit logs, Postfix
# maillogs, nginx logs, stderr captures), one per line
log_files() {
	find "$T" -type f \( -name '*.log' -o -name '*.err' -o -name 'maillog' -o -name '*.log.*' \) 2>/dev/null
}
# check_no_secrets [FILE...]: one result line: none of the remembered secrets appears in any of
# the FILEs (default: log_files); on failure names the files and the first characters of each
# secret found
check_no_secrets() {
	local files f v hits=() n
	if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(log_files); fi
	touch "$_SECRETS_FILE"
	n=$(sort -u "$_SECRETS_FILE" | wc -l)
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		while IFS= read -r v; do
			hits+=("${f#"$T"/}:${v:0:6}…")
		done < <(grep -oFf "$_SECRETS_FILE" "$f" | sort -u)
	done
	if [ "$n" -gt 0 ] && [ ${#hits[@]} = 0 ]; then
		ok "no secret in any log ($n secrets, ${#files[@]} logs: $(printf '%s\n' "${files[@]#"$T"/}" | tr '\n' ' '))"
	else
		not_ok "no secret in any log ($n secrets remembered; found: ${hits[*]:-none})"
	fi
}
