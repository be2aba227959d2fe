#!/bin/bash
# test_payroll.sh - automated senders (issue 12): payslips (a PDF with an IBAN, VERTRAULICH,
# made a password class here: [classify] action VERTRAULICH=offload+password) from
# noreply@example.gov, password_delivery = sender and no [notify] fallback_to, to employees with
# agreed secrets (offloadctl recipient set), through a private Postfix and the milter
# (ports 13170-13172). PAYROLL_N mails (default 8: Argon2id at the writer's cost dominates the time; the issue's acceptance run is
# PAYROLL_N=200 tests/run.sh test_payroll):
#  - recipient set/list/remove; a short password refused; --generate prints a strong one
#  - an employee without an agreed secret: refused at once, 550 5.7.1 (exit 69 from process)
#  - every mail offloaded, none deferred, no password mail, the notice names the organisation
#  - each employee opens their own transfer with their own password (offloadctl open and the
#    portal's unlock), and not another employee's
#  - purge and list leave the recipient secrets alone
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$CTL" "$MILTER_BIN" "$PORTAL_BIN"
N=${PAYROLL_N:-8}
SMTPD=13170 SINKP=13171 PORT=13172
SINK=$T/sink
conf_write p policy.offload_min_size=2k policy.internal_domains=example.gov \
	notify.organisation="Stadt Beispiel" \
	"classify.action=OFFEN=pass, INTERN=pass, VERTRAULICH=offload+password, STRENG-VERTRAULICH=offload+password, VS=reject" \
	"classify.body_action=OFFEN=keep, INTERN=keep, VERTRAULICH=keep, STRENG-VERTRAULICH=offload-message, VS=reject" \
	"notify.sendmail=$IT/sendmail_capture.sh $T/p/notify" \
	portal.listen=127.0.0.1:$PORT portal.ticket_key_file="$T/p/ticket.key"
CONF=$(conf_path p)
"$CTL" keygen --config "$CONF" > /dev/null 2>&1 || bail "keygen"
PDF=$SRCDIR/tests/data/classify/payslip.pdf

# ---- recipient secrets --------------------------------------------------------------------
printf 'kurz\n' > "$T/short.pw"
"$CTL" -c "$CONF" recipient set emp1@example.net --password-file "$T/short.pw" > /dev/null 2>&1; rc=$?
checkx "recipient set: a password under 12 characters is refused (65)" '[ $rc = 65 ]'
"$CTL" -c "$CONF" recipient set Gen@Example.NET --generate > "$T/gen.out" 2>&1; rc=$?
checkx "recipient set --generate prints the lower-cased address and a strong password" \
	'[ $rc = 0 ] && grep -qE "^gen@example.net	[2-9a-z]{4}(-[2-9a-z]{4}){5}$" "$T/gen.out"'
"$CTL" -c "$CONF" recipient remove gen@example.net > /dev/null 2>&1; rc=$?
"$CTL" -c "$CONF" recipient remove gen@example.net > /dev/null 2>&1; rc2=$?
checkx "recipient remove: removed (0), then not found (66)" '[ $rc = 0 ] && [ $rc2 = 66 ]'
t0=$(now)
for ((i = 1; i <= N; i++)); do
	printf 'Lohn-%04d geheim!\n' "$i" > "$T/emp$i.pw"
	"$CTL" -c "$CONF" recipient set "emp$i@example.net" --password-file "$T/emp$i.pw" > /dev/null 2>>"$T/set.err" ||
		bail "recipient set emp$i"
done
note "recipient set x $N: $(since "$t0")"
"$CTL" -c "$CONF" recipient list > "$T/list.out" 2>&1
checkx "recipient list: the $N employees, no password, nothing else" \
	'[ "$(wc -l < "$T/list.out")" = "$N" ] && grep -qx "emp1@example.net" "$T/list.out" && ! grep -q "Lohn" "$T/list.out"'
checkx "the store holds no password" '! grep -rq "Lohn-0001" "$(store_path p)"'

# ---- an employee without an agreed secret: refused at once ----------------------------------
make_eml "$T/slip0.eml" "Ihre Abrechnung" "Guten Tag, anbei Ihre Abrechnung." "$PDF" abrechnung.pdf application/pdf ||
	bail "build the payslip"
sed -i 's/^From: .*/From: Lohnbuero <noreply@example.gov>/; s/^To: .*/To: extern@example.org/' "$T/slip0.eml"
"$CTL" -c "$CONF" process --sender noreply@example.gov --rcpt extern@example.org < "$T/slip0.eml" \
	> "$T/p0.out" 2> "$T/p0.err"; rc=$?
checkx "no agreed secret, no-reply sender, no fallback_to: exit 69, 550 5.7.1 with a clear text, nothing stored" \
	'[ $rc = 69 ] && grep -q "^550 5.7.1 .*no-reply.*fallback_to" "$T/p0.err" && [ ! -s "$T/p0.out" ] && [ -z "$(find "$(store_path p)" -type f ! -name keyid ! -path "*/recipients/*")" ]'
"$CTL" -c "$CONF" process --sender noreply@example.gov --rcpt emp1@example.net --rcpt extern@example.org \
	< "$T/slip0.eml" > /dev/null 2>&1; rc=$?
checkx "mixed recipients (one without a secret) follow the class's rule: refused (69)" '[ $rc = 69 ]'

# ---- the payroll run through Postfix ----------------------------------------------------------
pf_setup pp "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pp || bail "postfix start"
milter_start p || bail "offload-milter start"
pf_milter pp "$(postfix_milter_spec "$(conf_socket p)")" || bail "set the milters"
t0=$(now); accepted=0
for ((i = 1; i <= N; i++)); do
	sed "s/^To: .*/To: emp$i@example.net/; s/^Subject: .*/Subject: Ihre Abrechnung Nr. $i/" "$T/slip0.eml" > "$T/slip.eml"
	smtp_send "$SMTPD" "$T/slip.eml" noreply@example.gov "emp$i@example.net" && is250 && accepted=$((accepted + 1))
done
checkx "all $N payslips accepted by Postfix (250)" '[ $accepted = "$N" ]'
for ((w = 0; w < 600; w++)); do [ "$(sink_count "$SINK")" -ge "$N" ] && break; sleep 0.1; done
note "$N payslips through Postfix and the milter: $(since "$t0")"
checkx "every payslip delivered, none deferred or bounced (queue empty, no 4xx/5xx from the milter)" \
	'[ "$(sink_count "$SINK")" = "$N" ] && [ -z "$(queue_ids pp)" ] && ! grep -qE "milter-(reject|tempfail)|status=(deferred|bounced)" "$(pf_log pp)"'
checkx "no password mail and no confirmation (no-reply sender, no fallback_to)" \
	'[ -z "$(find "$T/p/notify" -name "*.eml" 2>/dev/null)" ]'
offloaded=0; opened=0; foreign=0
for ((i = 1; i <= N; i++)); do
	f=$(grep -l -m1 -F "X-Rcpt-Args: <emp$i@example.net>" "$SINK"/* 2>/dev/null | head -1); [ -n "$f" ] || continue
	sink_eml "$f" "$T/got$i.eml"
	grep -q "^X-Offload-Transfer:" "$T/got$i.eml" && ! grep -q "%PDF" "$T/got$i.eml" && offloaded=$((offloaded + 1))
	mail_link "$T/got$i.eml" > "$T/link$i"
done
checkx "every payslip offloaded (the PDF is not in any delivered mail)" '[ $offloaded = "$N" ]'
$PY - "$T/got1.eml" > "$T/notice1.txt" <<'PYEOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m.get_body(("plain",)).get_content())
PYEOF
checkx "the notice says: the password agreed with the organisation" \
	'tr "\n" " " < "$T/notice1.txt" | grep -q "vereinbart haben\|mit Stadt Beispiel" && tr "\n" " " < "$T/notice1.txt" | grep -q "agreed with Stadt Beispiel"'
checkx "no receipt sentence: a no-reply sender without fallback_to gets no receipts" \
	'grep -q "agreed with" "$T/notice1.txt" && ! grep -q "benachrichtigt\|sender is told" "$T/notice1.txt"'
for ((i = 1; i <= N; i++)); do
	rm -rf "$T/o"; mkdir -p "$T/o"
	"$CTL" -c "$CONF" open "$(cat "$T/link$i")" --password-file "$T/emp$i.pw" --output "$T/o" > /dev/null 2>&1 &&
		cmp -s "$T/o/abrechnung.pdf" "$PDF" && opened=$((opened + 1))
	j=$((i % N + 1))
	if [ "$j" != "$i" ] && [ $i -le 3 ]; then
		rm -rf "$T/o"; mkdir -p "$T/o"
		"$CTL" -c "$CONF" open "$(cat "$T/link$i")" --password-file "$T/emp$j.pw" --output "$T/o" > /dev/null 2>"$T/foreign.err" ||
			foreign=$((foreign + 1))
	fi
done
checkx "each employee opens their own payslip with their own password ($opened of $N)" '[ $opened = "$N" ]'
nf=$((N < 3 ? N : 3))
checkx "another employee's password does not open it ($foreign of $nf refused, 'wrong password')" \
	'[ $foreign = $nf ] && grep -q "wrong password" "$T/foreign.err"'

# ---- the portal's unlock ------------------------------------------------------------------
"$PORTAL_BIN" -f -c "$CONF" > "$T/portal.log" 2>&1 &
PORTAL_PID=$!; _BG_PIDS+=($PORTAL_PID)
waitport $PORT || bail "portal listens on $PORT ($(tail -3 "$T/portal.log"))"
id1=$(sed -E 's|.*/t/([a-z2-7]{24})#.*|\1|' "$T/link1"); sec1=$(sed -E 's|.*#||' "$T/link1")
unlock() {  # unlock PWFILE -> HTTP status
	curl -s -o "$T/u.json" -w '%{http_code}' -H 'Content-Type: application/json' -H "Origin: http://127.0.0.1:$PORT" \
		--data-binary "{\"secret\":\"$sec1\",\"password\":\"$(head -1 "$1")\"}" "http://127.0.0.1:$PORT/t/$id1/unlock"
}
curl -s "http://127.0.0.1:$PORT/t/$id1" > "$T/page.html"
checkx "portal page: the password is the one agreed with the organisation" \
	'grep -q "the password you agreed with Stadt Beispiel\.\|das Sie mit Stadt Beispiel vereinbart haben\." "$T/page.html"'
checkx "portal unlock with another employee's password: 401" '[ "$(unlock "$T/emp2.pw")" = 401 ]'
checkx "portal unlock with the employee's own password: 200 with the file" \
	'[ "$(unlock "$T/emp1.pw")" = 200 ] && grep -q "abrechnung.pdf" "$T/u.json"'
AUDIT=$(audit_path p)
checkx "audit: the agreed-secret unlock names the employee and the wrap, never the password; the other one denied" \
	'[ "$(grep "event=unlock" "$AUDIT" | grep "action=agreed-secret" | grep -c "transfer=$id1")" = 1 ] &&
	 grep "event=unlock rcpt=emp1@example.net reasons=wrap-0 action=agreed-secret transfer=$id1 client=" "$AUDIT" | grep -q "client=127.0.0.0" &&
	 grep "event=unlock" "$AUDIT" | grep "action=denied" | grep "reasons=password" | grep -q "transfer=$id1" &&
	 ! grep -q "Lohn-" "$AUDIT" && "$CTL" audit verify "$AUDIT" > /dev/null'

# ---- purge and list leave the recipient secrets alone ---------------------------------------
"$CTL" -c "$CONF" purge --orphan-age 0s > "$T/purge.out" 2>&1; rc=$?
"$CTL" -c "$CONF" list > "$T/tlist.out" 2>&1
checkx "purge (orphan age 0) keeps every recipient secret; list shows transfers only" \
	'[ $rc = 0 ] && [ "$(ls "$(store_path p)"/re/recipients | wc -l)" = "$N" ] && ! grep -q recipients "$T/tlist.out" "$T/purge.out" && [ "$("$CTL" -c "$CONF" recipient list | wc -l)" = "$N" ]'
finish
