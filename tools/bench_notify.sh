#!/bin/bash
# tools/bench_notify.sh [BUILD] - the time `offloadctl process` takes for one
# STRENG-VERTRAULICH message with password_delivery = recipients (one password mail per
# recipient, issue 14 item 10), with a do-nothing sendmail (reads the mail, exits 0).
#   BENCH_RCPTS ("500 5000")  recipient counts, one run each
# Prints one line per count: recipients, wall and CPU seconds, mails submitted.
set -uo pipefail
cd "$(dirname "$0")/.."
export BUILD=${1:-build}
. tests/integration/lib.sh
need_bins "$CTL"
printf '#!/bin/sh\necho >> "$1/n"; exec cat > /dev/null\n' > "$T/null-sendmail.sh"
chmod +x "$T/null-sendmail.sh"
printf 'Befund\n' > "$T/a.txt"
make_eml "$T/m.eml" "[STRENG VERTRAULICH] Befund" "Anbei." "$T/a.txt" a.txt text/plain || bail "build the message"
for n in ${BENCH_RCPTS:-500 5000}; do
	conf_write "b$n" policy.offload_min_size=1k notify.password_delivery=recipients \
		"notify.sendmail=$T/null-sendmail.sh $T/b$n"
	args=(); for ((i = 0; i < n; i++)); do args+=(--rcpt "r$i@example.net"); done
	/usr/bin/time -f '%e %U %S' -o "$T/b$n.time" "$CTL" -c "$(conf_path "b$n")" process "${args[@]}" \
		< "$T/m.eml" > /dev/null 2> "$T/b$n.err" || { echo "# process failed:"; tail -3 "$T/b$n.err"; }
	read -r el us sy < "$T/b$n.time"
	printf '%s recipients: %s s wall, %s s user + %s s sys (with the sendmail runs), %s mails submitted\n' \
		"$n" "$el" "$us" "$sy" "$(wc -l < "$T/b$n/n" 2>/dev/null)"
done
