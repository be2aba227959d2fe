#!/bin/bash
# test_deb.sh DEB - the package in a fresh Debian 12 chroot (make test-deb; .ci/run calls it):
# debootstrap (minbase) into build/deb-chroot, apt-get install ./DEB; files, owners, modes and
# users; systemd-analyze verify and security of the units; the units' gate on
# internal_domains; offloadctl postfix-setup --apply on the chroot's Postfix; the installed
# daemons run with their unit's user, groups and umask under setpriv --no-new-privs; one
# offloaded mail end to end through that Postfix to an smtp-sink, with the confirmation mail
# submitted through sendmail/postdrop; apt-get purge leaves only the users. Prints the time of
# each step. Needs root and the Debian mirror; caches nothing (the chroot is removed).
# TEST_DEB_NETNS=NAME runs the daemons, Postfix and the mail in that network namespace
# (loopback ports 10525, 10526, 10580); debootstrap and apt-get run outside it.
set -euo pipefail
deb=$(readlink -f "$1")
cd "$(dirname "$0")/../.."
R=$PWD/build/deb-chroot
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
T0=$(date +%s)
t=$T0
pass=0
fail=0
step() { echo "test-deb: $* ($(($(date +%s) - t)) s)"; t=$(date +%s); }
ok() { pass=$((pass + 1)); echo "  ok   $*"; }
bad() { fail=$((fail + 1)); echo "  FAIL $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
in_root() { chroot "$R" "$@"; }
NETNS=${TEST_DEB_NETNS:-}
NS=()
[ -n "$NETNS" ] && NS=(ip netns exec "$NETNS")
in_ns() { "${NS[@]}" "$@"; }
pids=()
# stop_pids: SIGTERM, then wait (libmilter takes up to 5 s), then SIGKILL
stop_pids() {
	local p i
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for i in $(seq 70); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	pids=()
}
cleanup() {
	local p
	stop_pids
	[ -x "$R/usr/sbin/postfix" ] && in_ns chroot "$R" postfix stop >/dev/null 2>&1 || true
	sleep 0.5
	for m in proc dev/pts dev sys; do mountpoint -q "$R/$m" && umount -l "$R/$m"; done
	rm -rf "$R"
}
trap cleanup EXIT
rm -rf "$R"
mkdir -p "$R"
debootstrap --variant=minbase --include=systemd bookworm "$R" "$MIRROR" >build/deb-debootstrap.log 2>&1 ||
	{ tail -20 build/deb-debootstrap.log; exit 1; }
step "debootstrap bookworm (minbase)"
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts"
mount -t sysfs sys "$R/sys"
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
echo 'postfix postfix/main_mailer_type select No configuration' | in_root debconf-set-selections
cp "$deb" "$R/tmp/"
export DEBIAN_FRONTEND=noninteractive
in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" logrotate >build/deb-install.log 2>&1 ||
	{ tail -30 build/deb-install.log; exit 1; }
grep -A3 '^offload:' build/deb-install.log | sed 's/^/  postinst: /' || true
step "apt-get install ./$(basename "$deb") (with postfix and the libraries)"

# files, owners, modes, users
mode() { chroot "$R" stat -c '%U:%G %a' "$1"; }
check "deployment key root:offload 640" [ "$(mode /etc/offload/deployment.key)" = "root:offload 640" ]
check "ticket key root:offload 640" [ "$(mode /etc/offload/ticket.key)" = "root:offload 640" ]
check "offload.conf root:offload 640 (conffile)" [ "$(mode /etc/offload/offload.conf)" = "root:offload 640" ]
check "spool offload:offload 700" [ "$(mode /var/spool/offload)" = "offload:offload 700" ]
check "store offload:offload 2770" [ "$(mode /var/lib/offload/store)" = "offload:offload 2770" ]
check "log offload:offload 2770" [ "$(mode /var/log/offload)" = "offload:offload 2770" ]
check "audit log offload:offload 660" [ "$(mode /var/log/offload/audit.log)" = "offload:offload 660" ]
check "socket dir offload:postfix 750" [ "$(mode /var/spool/postfix/offload)" = "offload:postfix 750" ]
check "binaries" [ -x "$R/usr/sbin/offload-milter" ] && [ -x "$R/usr/sbin/offload-portal" ] && [ -x "$R/usr/sbin/offload-upload" ] && [ -x "$R/usr/bin/offloadctl" ]
check "man pages" [ -f "$R/usr/share/man/man8/offloadctl.8.gz" ] && [ -f "$R/usr/share/man/man5/offload.conf.5.gz" ] && [ -f "$R/usr/share/man/man8/offload-upload.8.gz" ]
check "nginx example" [ -f "$R/usr/share/doc/offload/examples/nginx-portal.conf" ]
check "users offload, offload-portal, offload-upload" in_root getent passwd offload offload-portal offload-upload >/dev/null
check "no user has group postfix through the package; portal and upload are in group offload only" \
	bash -c "! chroot '$R' id -nG offload | grep -qw postfix && [ \"\$(chroot '$R' id -nG offload-portal)\" = offload ] && [ \"\$(chroot '$R' id -nG offload-upload)\" = offload ]"
check "conffile" grep -qx /etc/offload/offload.conf "$R/var/lib/dpkg/info/offload.conffiles"
check "systemd-analyze verify" in_root systemd-analyze verify --man=no /lib/systemd/system/offload-milter.service \
	/lib/systemd/system/offload-portal.service /lib/systemd/system/offload-upload.service \
	/lib/systemd/system/offload-purge.service /lib/systemd/system/offload-purge.timer \
	/lib/systemd/system/offload-archive.service /lib/systemd/system/offload-archive.timer
check "sample DMS hook and clamd example" [ -x "$R/usr/lib/offload/offload-archive-hook" ] && [ -f "$R/usr/share/doc/offload/examples/clamd-offload.conf" ]
check "archive timer installed, not enabled (no [archive] command yet)" \
	bash -c "[ -f '$R/lib/systemd/system/offload-archive.timer' ] && ! ls -R '$R/etc/systemd/system' 2>/dev/null | grep -q offload-archive"
for u in milter portal upload purge; do
	echo "  security offload-$u: $(in_root systemd-analyze security --offline=yes /lib/systemd/system/offload-$u.service 2>&1 | tail -1 | sed 's/.*: //')"
done
check "logrotate accepts /etc/logrotate.d/offload (logrotate -d)" \
	bash -c "chroot '$R' logrotate -d /etc/logrotate.d/offload 2>&1 | grep -q 'rotating pattern: /var/log/offload/audit.log' && ! chroot '$R' logrotate -d /etc/logrotate.d/offload 2>&1 | grep -qi 'error'"
gate=$(in_root offloadctl -c /etc/offload/offload.conf config check --daemon 2>&1 || true)
check "unit gate refuses with one line while internal_domains is unset" \
	bash -c "[ \$(printf '%s\n' \"$gate\" | wc -l) = 1 ] && printf '%s' \"$gate\" | grep -q internal_domains"
step "files, users, units"

# configuration an admin would make
sed -i -e 's/^#internal_domains =$/internal_domains = example.gov/' -e 's/^#offload_min_size = 10M$/offload_min_size = 1M/' \
	-e 's|^#url = https://files.example.gov$|url = https://files.example.gov|' -e 's/^#fallback_to =$/fallback_to = postmaster@example.gov/' -e 's/^#listen = 127.0.0.1:8025$/listen = 127.0.0.1:10580/' \
	"$R/etc/offload/offload.conf"
check "config check --daemon passes once internal_domains is set" in_root offloadctl config check --daemon
cat >"$R/etc/postfix/main.cf" <<'CF'
myhostname = mx.example.gov
mydomain = example.gov
myorigin = example.gov
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:10526
smtpd_relay_restrictions = permit_mynetworks, reject
compatibility_level = 3.6
maillog_file = /var/log/postfix.log
CF
sed -i 's/^smtp      inet  n       -       y       -       -       smtpd$/127.0.0.1:10525 inet n - y - - smtpd/' "$R/etc/postfix/master.cf"
in_root postfix-setup 2>/dev/null || true
in_root offloadctl postfix-setup --apply >build/deb-postfix-setup.log 2>&1 && ok "postfix-setup --apply" ||
	{ bad "postfix-setup --apply"; cat build/deb-postfix-setup.log; }
check "smtpd_milters names the socket relative to the chroot" \
	bash -c "chroot '$R' postconf -h smtpd_milters | grep -qx 'unix:offload/milter.sock'"
# run the daemons as the units do (User, Group, SupplementaryGroups, UMask, NoNewPrivileges)
mkdir -p "$R/var/tmp/sink"
chmod 777 "$R/var/tmp/sink"
"${NS[@]}" chroot "$R" smtp-sink -u nobody -d /var/tmp/sink/%M. 127.0.0.1:10526 10 &
pids+=($!)
"${NS[@]}" chroot "$R" sh -c 'umask 0007; exec setpriv --reuid offload --regid offload --groups postfix,postdrop \
	--no-new-privs --inh-caps=-all --bounding-set=-all -- /usr/sbin/offload-milter -c /etc/offload/offload.conf -f' \
	>build/deb-milter.log 2>&1 &
pids+=($!)
"${NS[@]}" chroot "$R" sh -c 'umask 0007; exec setpriv --reuid offload-portal --regid offload --clear-groups \
	--no-new-privs --inh-caps=-all --bounding-set=-all -- /usr/sbin/offload-portal -c /etc/offload/offload.conf -f' \
	>build/deb-portal.log 2>&1 &
pids+=($!)
for i in $(seq 50); do [ -S "$R/var/spool/postfix/offload/milter.sock" ] && break; sleep 0.1; done
check "milter socket 660 offload:postfix" [ "$(mode /var/spool/postfix/offload/milter.sock)" = "offload:postfix 660" ]
in_ns chroot "$R" postfix start >/dev/null 2>&1
for i in $(seq 50); do in_ns curl -s -o /dev/null http://127.0.0.1:10580/ && break; sleep 0.1; done
check "portal answers" in_ns curl -s -o /dev/null http://127.0.0.1:10580/
step "daemons and Postfix started"
head -c 2000000 /dev/urandom >build/deb-att.bin
in_ns swaks -s 127.0.0.1 -p 10525 -f sender@example.gov -t someone@example.com --attach @build/deb-att.bin \
	--h-Subject "test-deb" >build/deb-swaks.log 2>&1 && ok "mail accepted" || { bad "mail accepted"; tail -5 build/deb-swaks.log; }
# the confirmation goes sendmail -> postdrop -> maildrop -> pickup: allow for pickup's poll
for i in $(seq 300); do [ "$(ls "$R/var/tmp/sink" | wc -l)" -ge 2 ] && break; sleep 0.2; done
check "offloaded mail at the sink (X-Offload-Transfer, attachment gone)" \
	bash -c "grep -l '^X-Offload-Transfer:' '$R'/var/tmp/sink/* | xargs -r wc -c | awk '\$1 < 200000' | grep -q ."
check "confirmation mail submitted by the milter (postdrop under NoNewPrivileges) and delivered" \
	bash -c "grep -l '^X-Offload-Notice:' '$R'/var/tmp/sink/* | grep -q ."
check "transfer in the store, readable by group offload" bash -c "[ -n \"\$(find '$R/var/lib/offload/store' -type f -perm -040)\" ]"
check "no plaintext left in the spool" bash -c "[ -z \"\$(ls -A '$R/var/spool/offload')\" ]"
check "offloadctl as root switches to offload (purge --dry-run)" in_root offloadctl purge --dry-run
check "audit log still offload:offload 660 after milter, portal and offloadctl wrote" [ "$(mode /var/log/offload/audit.log)" = "offload:offload 660" ]
if [ "$fail" != 0 ]; then
	echo "  --- sink: $(ls "$R/var/tmp/sink" | tr '\n' ' ')"
	echo "  --- audit.log: $(mode /var/log/offload/audit.log)"
	tail -5 build/deb-milter.log | sed 's/^/  milter: /'
	tail -15 "$R/var/log/postfix.log" | sed 's/^/  postfix: /'
fi
step "one mail end to end"
stop_pids
in_ns chroot "$R" postfix stop >/dev/null 2>&1 || true
sleep 0.5
in_root apt-get purge -y -q offload >build/deb-purge.log 2>&1 && ok "apt-get purge" || { bad "apt-get purge"; tail build/deb-purge.log; }
left=$(cd "$R" && ls -d etc/offload var/lib/offload var/spool/offload var/log/offload var/spool/postfix/offload \
	lib/systemd/system/offload-* etc/logrotate.d/offload 2>/dev/null || true)
check "purge leaves nothing but the users (left: ${left:-nothing})" [ -z "$left" ]
step "purge"
rm -f build/deb-att.bin
echo "test-deb: $pass passed, $fail failed in $(($(date +%s) - T0)) s"
[ "$fail" = 0 ]
