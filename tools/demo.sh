#!/bin/bash
# tools/demo.sh BUILD - what `make demo` shows a mail admin: a private Postfix (loopback only,
# temp dir) with offload-milter in smtpd_milters and non_smtpd_milters and smtp-sink as the
# next hop; a 25 MiB PDF-like file is sent with swaks; the delivered message is shown (headers,
# MIME parts and the decoded notice), then `offloadctl open` fetches the file back and both
# SHA-256 sums are compared. Everything started here is stopped again (trap).
# The download portal runs too: the printed link works in a browser on this machine while the
# demo waits (interactive terminal only), and `offloadctl fetch` downloads through it.
# Ports: 127.0.0.1:12740 (smtpd), 12741 (smtp-sink), 12742 (milter), 12743 (portal).
# KEEP_TMP=1 keeps the dir.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
case "$B" in /*) ;; *) B=$TOP/$B ;; esac
export BUILD=$B SRCDIR=$TOP
. "$TOP/tests/integration/lib.sh"
trap '_lib_cleanup' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
for b in "$MILTER_BIN" "$CTL" "$BUILD/offload-portal"; do [ -x "$b" ] || die "missing $b (run: make B=$(basename "$B"))"; done
for c in postfix smtp-sink swaks; do command -v "$c" >/dev/null || die "missing $c (run: make deps)"; done

say "1. private Postfix + smtp-sink + offload-milter (in $T)"
conf_write demo "milter.socket=inet:12742@127.0.0.1" "policy.offload_min_size=10M" \
	portal.listen=127.0.0.1:12743 portal.url=http://127.0.0.1:12743 "portal.ticket_key_file=$T/demo/ticket.key" \
	"notify.sendmail=/usr/sbin/sendmail -C $(pf_cf demo)"
sed 's/^/   /' "$(conf_path demo)"
pf_setup demo 12740 12741 || die "postfix setup failed"
sink_start 12741 "$T/sink" || die "smtp-sink did not start"
pf_start demo || die "postfix did not start"
milter_start demo || die "offload-milter did not start: $(tail -3 "$T/demo/milter.log")"
pf_milter demo "inet:127.0.0.1:12742"
echo "   postfix -c $(pf_cf demo): smtpd on 127.0.0.1:12740, relayhost [127.0.0.1]:12741 (smtp-sink)"
echo "   smtpd_milters = non_smtpd_milters = $(postconf -c "$(pf_cf demo)" -h smtpd_milters)," \
	"milter_default_action = $(postconf -c "$(pf_cf demo)" -h milter_default_action)"

say "2. a 25 MiB plan (PDF-like) sent with swaks"
{ printf '%%PDF-1.7\n%% offload demo: Bauplan Rathaus, Erdgeschoss\n'; head -c $((25 * 1024 * 1024 - 64)) /dev/urandom; } > "$T/Bauplan-Rathaus.pdf"
ls -l "$T/Bauplan-Rathaus.pdf" | sed 's/^/   /'
t=$(now)
swaks --server 127.0.0.1:12740 --from sachbearbeiterin@stadt.example --to buerger@example.net \
	--header "Subject: Bauplan Rathaus" \
	--body $'Guten Tag,\n\nanbei der Bauplan fuer das Rathaus.\n\nMit freundlichen Gruessen\nIhre Stadtverwaltung' \
	--attach-type application/pdf --attach-name Bauplan-Rathaus.pdf --attach @"$T/Bauplan-Rathaus.pdf" \
	> "$T/swaks.log" 2>&1
rc=$?
grep -E '^<- *(250|4|5)' "$T/swaks.log" | tail -2 | sed 's/^/   /'
[ $rc = 0 ] || die "swaks failed (exit $rc)"
qid=$(sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' "$T/swaks.log" | tail -1)
wait_removed demo "$qid" 60 || die "message $qid was not delivered"
echo "   accepted and relayed in $(since "$t") (queue id $qid)"
grep "$qid" "$(pf_log demo)" | grep -E 'from=|status=' | sed 's/^.*\]: /   maillog: /'

say "3. the message as delivered to the next hop"
f=$(sink_find "$T/sink" sachbearbeiterin@stadt.example)
[ -n "$f" ] || die "nothing arrived at smtp-sink"
sink_eml "$f" "$T/delivered.eml"
$MAILTOOL summary "$T/delivered.eml" | sed 's/^/   /'
echo
echo "   --- notice in the text/plain part (decoded) ---"
$MAILTOOL notice "$T/delivered.eml" | sed 's/^/   | /'

say "3b. the sender's confirmation (submitted by the milter through Postfix's sendmail)"
wait_log demo "to=<sachbearbeiterin@stadt.example>.*status=sent" 30 || die "no confirmation delivered"
cf=$(grep -l "^To: sachbearbeiterin@stadt.example" "$T/sink"/* | head -1)
sink_eml "$cf" "$T/confirmation.eml"
$PY -c '
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print("Subject: " + str(m["Subject"]))
print(m.get_body(("plain",)).get_content())' "$T/confirmation.eml" | sed 's/^/   | /'

say "4. the transfer link"
link=$($PY -c '
import email, email.policy, re, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for p in m.walk():
    if p.get_content_type() == "text/plain":
        r = re.search(r"https?://\S+/t/[a-z2-7]{24}#[A-Za-z0-9_-]{22}", p.get_content())
        if r: print(r.group(0)); break' "$T/delivered.eml")
[ -n "$link" ] || die "no link in the delivered message"
echo "   $link"
echo "   (the part after # is the secret: it never reaches the portal's server or its logs)"

say "5. offloadctl open (what the portal does for the recipient)"
mkdir -p "$T/opened"
"$CTL" -c "$(conf_path demo)" open "$link" --output "$T/opened" 2>&1 | sed 's/^/   /'
a=$(sha256 "$T/Bauplan-Rathaus.pdf")
b=$(sha256 "$T/opened/Bauplan-Rathaus.pdf" 2>/dev/null || echo missing)
echo "   sent:      $a  Bauplan-Rathaus.pdf"
echo "   retrieved: $b  opened/Bauplan-Rathaus.pdf"
if [ "$a" = "$b" ]; then echo "   SHA-256 equal"; else echo "   SHA-256 NOT equal"; exit 1; fi
echo
echo "   audit log ($(audit_path demo)):"
sed 's/^/   /' "$(audit_path demo)" | cut -c1-230

say "6. the download portal (what the recipient's browser uses)"
"$BUILD/offload-portal" -c "$(conf_path demo)" -f >> "$T/portal.log" 2>&1 &
_BG_PIDS+=($!)
waitport 12743 200 || die "offload-portal did not start: $(tail -3 "$T/portal.log")"
echo "   offload-portal listens on 127.0.0.1:12743 (behind nginx with TLS in production: docs/nginx-portal.conf)"
"$CTL" fetch "$link" --output "$T/fetched" 2>&1 | sed 's/^/   fetch: /'
c=$(sha256 "$T/fetched/Bauplan-Rathaus.pdf" 2>/dev/null || echo missing)
echo "   via portal: $c  fetched/Bauplan-Rathaus.pdf"
[ "$a" = "$c" ] && echo "   SHA-256 equal" || { echo "   SHA-256 NOT equal"; exit 1; }
if [ -t 0 ]; then
	echo
	echo "   Open this link in a browser on this machine, then press Enter to stop the demo:"
	echo "   $link"
	read -r _
fi

say "7. stopping Postfix, smtp-sink, offload-milter and the portal"
