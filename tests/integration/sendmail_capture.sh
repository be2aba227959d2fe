#!/bin/bash
# sendmail_capture.sh DIR [sendmail args...] - a stand-in for the MTA's sendmail command in
# tests that run offloadctl process without a Postfix (the Postfix tests submit through the
# real /usr/sbin/sendmail). Each call stores its arguments in DIR/N.args (one per line) and
# the mail in DIR/N.eml. DIR/fail makes it fail like a sendmail that cannot queue (exit 75,
# message on stderr); DIR/fail-RCPT fails only for that recipient. DIR/hold keeps it running
# after the mail is stored (DIR/held says so) until DIR/hold is removed, at most 60 s.
set -u
d=$1; shift
mkdir -p "$d"
rcpt=${*: -1}
if [ -e "$d/fail" ] || [ -e "$d/fail-$rcpt" ]; then
	cat > /dev/null
	echo "sendmail: fatal: queue file write error (test)" >&2
	exit 75
fi
# several run at once (password mails are submitted in parallel): N is taken under a lock
{
	flock 9
	n=$(( $(cat "$d/.n" 2>/dev/null || echo 0) + 1 ))
	echo "$n" > "$d/.n"
	printf '%s\n' "$@" > "$d/$n.args"
} 9> "$d/.lock"
cat > "$d/$n.eml"
if [ -e "$d/hold" ]; then
	touch "$d/held"
	for ((i = 0; i < 1200; i++)); do [ -e "$d/hold" ] || break; sleep 0.05; done
	rm -f "$d/held"
fi
