#!/bin/bash
# test_config_check.sh - `offloadctl config check`: one test per kind of error (exit 78) and
# warning (exit 0), every problem reported (not only the first), the units' --daemon gate on
# internal_domains; `offloadctl keygen` (creates missing keys, keeps existing ones);
# `offloadctl postfix-setup` (socket relative to the queue directory, offload before an
# existing DKIM signer, the size-limit warnings) on a private Postfix configuration directory.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
mkdir -p "$T/store" "$T/keys"
# a clean base: everything that would warn is set
base() {
	cat <<CF
[policy]
internal_domains = example.gov
[storage]
path = $T/store
[security]
deployment_key_file = $T/keys/d.key
[portal]
ticket_key_file = $T/keys/t.key
url = https://files.example.gov
[notify]
fallback_to = postmaster@example.gov
CF
}
base > "$T/base.conf"
"$CTL" keygen --config "$T/base.conf" > "$T/keygen.txt" 2>&1; rc=$?
checkx "keygen creates both keys" '[ $rc = 0 ] && [ "$(grep -c ": created (key id" "$T/keygen.txt")" = 2 ] && [ -s "$T/keys/d.key" ] && [ -s "$T/keys/t.key" ]'
id1=$(sed -n 's/.*key id \([0-9a-f]*\).*/\1/p' "$T/keygen.txt" | head -1)
"$CTL" keygen --config "$T/base.conf" > "$T/keygen2.txt" 2>&1; rc=$?
checkx "keygen keeps existing keys" '[ $rc = 0 ] && grep -q "exists (key id $id1)" "$T/keygen2.txt"'

# cc NAME EXIT PATTERN [config lines appended to the base, "group|key = value" per arg]
cc() {
	local name=$1 want=$2 pat=$3 f=$T/$1.conf
	shift 3
	base > "$f"
	local l
	for l in "$@"; do printf '[%s]\n%s\n' "${l%%|*}" "${l#*|}" >> "$f"; done
	"$CTL" config check --config "$f" > "$T/$name.out" 2>&1
	local rc=$?
	if [ $rc = "$want" ] && grep -q -- "$pat" "$T/$name.out"; then ok "config check: $name (exit $want)"
	else not_ok "config check: $name: exit $rc, want $want and /$pat/:"; sed 's/^/#   /' "$T/$name.out"; fi
}
cc clean 0 "0 errors, 0 warnings"
cc unknown-group 78 "error: \[nosuch\] x: unknown key" "nosuch|x = 1"
cc unknown-key 78 "error: \[policy\] nosuch: unknown key" "policy|nosuch = 1"
cc bad-type 78 "error: .*offload_min_size" "policy|offload_min_size = ten"
cc bad-range 78 "error: .*part_size" "storage|part_size = 1k"
cc bad-enum 78 "error: .*on_error" "policy|on_error = sometimes"
cc unknown-level 78 "error: \[classify\] action" "classify|action = OFFEN=pass, GEHEIM=offload"
chmod 000 "$T/keys/t.key"
if [ "$(id -u)" = 0 ]; then
	# root reads any file: a directory in its place is unreadable as a key for everybody
	mkdir -p "$T/keys/dir.key"
	cc unreadable-key 78 "error: .*ticket_key_previous_file .*cannot be read" "portal|ticket_key_previous_file = $T/keys/dir.key"
else
	cc unreadable-key 78 "error: .*t.key: cannot be read" 
fi
chmod 600 "$T/keys/t.key"
cc password-no-way 78 "error: .*offload+password: its password has no way out" "notify|confirm = false"
cc http-url 0 "warning: \[portal\] url http://files.example.gov: plain http" "portal|url = http://files.example.gov"
cc http-loopback 0 "0 warnings" "portal|url = http://127.0.0.1:8025"
cc storage-unreachable 0 "warning: \[storage\] path $T/nosuch" "storage|path = $T/nosuch"
cc key-not-created 0 "warning: .*$T/keys/new.key: not created yet" "security|deployment_key_file = $T/keys/new.key"
cc notify-gap 0 "warning: \[notify\] fallback_to is empty" "notify|fallback_to ="
cc payroll-gap 0 "warning: \[classify\] action STRENG-VERTRAULICH=offload+password with password_delivery = sender and no \[notify\] fallback_to: null and no-reply senders" "notify|fallback_to ="
cc payroll-gap-recipients 0 "0 errors, 1 warning$" "notify|fallback_to =" "notify|password_delivery = recipients"
cc internal-unset 0 "warning: \[policy\] internal_domains is not set" "policy|internal_domains ="
cc every-problem 78 "3 errors, 2 warnings" "policy|on_error = sometimes" "policy|nosuch = 1" \
	"classify|action = OFFEN=pass, GEHEIM=offload" "portal|url = http://files.example.gov" "notify|fallback_to ="
base | sed 's/^internal_domains = .*/internal_domains =/' > "$T/unset.conf"
"$CTL" config check --daemon --config "$T/unset.conf" > "$T/daemon.out" 2>&1; rc=$?
checkx "--daemon: unset internal_domains refuses with one line, exit 78" \
	'[ $rc = 78 ] && [ "$(wc -l < "$T/daemon.out")" = 1 ] && grep -q "internal_domains is not set" "$T/daemon.out"'
"$CTL" config --check --config "$T/base.conf" > /dev/null 2>&1; rc=$?
checkx "config --check stays as an alias" '[ $rc = 0 ]'

# postfix-setup on a private configuration directory with opendkim as milter
mkdir -p "$T/pf"
cp /etc/postfix/master.cf "$T/pf/" 2>/dev/null || cp /usr/share/postfix/master.cf.dist "$T/pf/master.cf"
echo "submission inet n - y - - smtpd" >> "$T/pf/master.cf"
cat > "$T/pf/main.cf" <<CF
queue_directory = /var/spool/postfix
queue_minfree = 1000000
smtpd_milters = inet:localhost:8891
non_smtpd_milters = inet:localhost:8891
compatibility_level = 3.6
CF
"$CTL" postfix-setup --config "$T/base.conf" --postfix-dir "$T/pf" > "$T/pf.out" 2>&1; rc=$?
checkx "postfix-setup: offload before opendkim, socket relative to the queue directory" \
	'[ $rc = 0 ] && grep -q "smtpd_milters = unix:offload/milter.sock, inet:localhost:8891" "$T/pf.out" && grep -q "non_smtpd_milters = unix:offload/milter.sock, inet:localhost:8891" "$T/pf.out"'
checkx "postfix-setup: tempfail, protocol 6, content timeout above eom_timeout" \
	'grep -q "milter_default_action = tempfail" "$T/pf.out" && grep -q "milter_protocol = 6" "$T/pf.out" && grep -q "milter_content_timeout = 300s" "$T/pf.out"'
checkx "postfix-setup: stock message_size_limit below offload_min_size warned" 'grep -q "warning: message_size_limit = 10240000 is below offload_min_size" "$T/pf.out"'
checkx "postfix-setup: queue_minfree set below 1.5 x the limit warned" 'grep -q "warning: queue_minfree" "$T/pf.out"'
checkx "postfix-setup: submission limit with its own cleanup service (cleanup enforces the limit too)" \
	'grep -q -- "-P .submission/inet/message_size_limit=2147483648" "$T/pf.out" && grep -q -- "-P .submission/inet/cleanup_service_name=offload-cleanup" "$T/pf.out" && grep -q -- "-M .offload-cleanup/unix = offload-cleanup unix n - y - 0 cleanup" "$T/pf.out" && grep -q -- "-P .offload-cleanup/unix/message_size_limit=2147483648" "$T/pf.out"'
checkx "postfix-setup without --apply changes nothing" 'grep -qx "smtpd_milters = inet:localhost:8891" "$T/pf/main.cf"'
"$CTL" postfix-setup --config "$T/base.conf" --postfix-dir "$T/pf" --apply > "$T/pf2.out" 2>&1; rc=$?
checkx "postfix-setup --apply: order offload then opendkim in main.cf, postfix check passes" \
	'[ $rc = 0 ] && [ "$(postconf -c "$T/pf" -h smtpd_milters)" = "unix:offload/milter.sock, inet:localhost:8891" ]'
checkx "postfix-setup --apply: submission and offload-cleanup in master.cf" \
	'[ "$(postconf -c "$T/pf" -Ph submission/inet/cleanup_service_name)" = offload-cleanup ] && [ "$(postconf -c "$T/pf" -Ph offload-cleanup/unix/message_size_limit)" = 2147483648 ]'
"$CTL" postfix-setup --config "$T/base.conf" --postfix-dir "$T/pf" > "$T/pf3.out" 2>&1
checkx "postfix-setup is idempotent (offload listed once)" \
	'[ "$(grep "^postconf.* .smtpd_milters" "$T/pf3.out" | grep -o offload/milter.sock | wc -l)" = 1 ]'
finish
