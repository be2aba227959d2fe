#!/bin/bash
# tools/bench-md/md.sh install|start|stop DIR [PORT] - MIMEDefang 3.3 (multiplexor + milter) as
# the benchmark peer of tools/bench.sh section 6, private under DIR, milter on inet:PORT@127.0.0.1
# (default 13062). No systemd, no syslogd needed. Recipe: shared recipes README §6.
#  install: apt-get install mimedefang libnet-dns-perl when missing (mimedefang.pl dies without
#     Net::DNS, which Debian does not declare). A system mimedefang service is never left
#     running: services are denied during the install (policy-rc.d, only if the machine has
#     none) and the package's units/init scripts are stopped and disabled afterwards.
#     NOT in tools/deps/*.apt on purpose: CI must not get a mimedefang service.
#  start: copies mimedefang-filter (parts dir DIR/parts), starts the multiplexor (2..8 Perl
#     workers as user defang) and the milter; stop: SIGTERM both and wait (libmilter takes up to
#     ~5 s to exit). Only the pids in DIR/run are signalled.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CMD=${1:-}; MD=${2:-}; PORT=${3:-13062}
[ -n "$MD" ] || { echo "usage: $0 install|start|stop DIR [PORT]" >&2; exit 2; }

have_md() { command -v mimedefang-multiplexor >/dev/null && command -v mimedefang >/dev/null &&
	command -v mimedefang.pl >/dev/null && perl -MNet::DNS -e 1 2>/dev/null && id defang >/dev/null 2>&1; }

quiet_services() {  # stop and disable whatever service the package may have started
	local u
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		for u in mimedefang.service mimedefang-multiplexor.service; do
			systemctl disable --now "$u" >/dev/null 2>&1
		done
	fi
	for u in mimedefang mimedefang-multiplexor; do
		[ -x "/etc/init.d/$u" ] || continue
		"/etc/init.d/$u" stop >/dev/null 2>&1
		command -v update-rc.d >/dev/null && update-rc.d "$u" disable >/dev/null 2>&1
	done
	return 0
}

case "$CMD" in
install)
	have_md && exit 0
	[ "$(id -u)" = 0 ] || { echo "mimedefang missing and not root: cannot apt-get install it" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	PRC=/usr/sbin/policy-rc.d; ours=""
	if [ ! -e "$PRC" ]; then   # deny service starts during the install (deb-systemd-invoke and invoke-rc.d obey it)
		printf '#!/bin/sh\nexit 101\n' > "$PRC" && chmod 755 "$PRC" && ours=1
	fi
	apt-get install -y --no-install-recommends mimedefang libnet-dns-perl >"$MD.apt.log" 2>&1 ||
		{ apt-get update >>"$MD.apt.log" 2>&1 &&
		  apt-get install -y --no-install-recommends mimedefang libnet-dns-perl >>"$MD.apt.log" 2>&1; }
	rc=$?
	[ -n "$ours" ] && rm -f "$PRC"
	quiet_services
	[ $rc = 0 ] || { tail -3 "$MD.apt.log" >&2; exit 1; }
	have_md || { echo "mimedefang installed but incomplete" >&2; exit 1; }
	;;
start)
	have_md || { echo "mimedefang not installed" >&2; exit 1; }
	mkdir -p "$MD/spool" "$MD/parts" "$MD/run" || exit 1  # run/: pid+lock files are written after dropping to defang
	chown defang:defang "$MD/spool" "$MD/parts" "$MD/run"; chmod 750 "$MD/spool"; chmod 755 "$MD/parts"
	# the filter must be given by absolute path
	sed "s|@PARTS@|$MD/parts|" "$HERE/mimedefang-filter" > "$MD/mimedefang-filter"
	mimedefang.pl -f "$MD/mimedefang-filter" -test >"$MD/test.log" 2>&1 || { cat "$MD/test.log" >&2; exit 1; }
	# -F = filter RULES file (-f would be the worker PROGRAM); -q/-Q queue requests instead of failing
	env LC_ALL=C HOME="$MD/spool" mimedefang-multiplexor -U defang -z "$MD/spool" -F "$MD/mimedefang-filter" \
		-s "$MD/spool/mx.sock" -p "$MD/run/mx.pid" -m 2 -x "${MX_MAX:-8}" -q 100 -Q 30 -l || exit 1
	for i in $(seq 1 100); do [ -S "$MD/spool/mx.sock" ] && break; sleep 0.05; done
	# milter: TCP towards Postfix, unix socket towards the multiplexor; -q = queue when workers are busy
	env LC_ALL=C mimedefang -q -U defang -z "$MD/spool" -m "$MD/spool/mx.sock" -p "inet:$PORT@127.0.0.1" -P "$MD/run/md.pid" || exit 1
	for i in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && exit 0; sleep 0.05; done
	echo "mimedefang did not listen on $PORT" >&2; exit 1
	;;
stop)
	for p in md mx; do
		f="$MD/run/$p.pid"; [ -s "$f" ] || continue; pid=$(cat "$f"); kill "$pid" 2>/dev/null || continue
		for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	done
	;;
*) echo "usage: $0 install|start|stop DIR [PORT]" >&2; exit 2 ;;
esac
