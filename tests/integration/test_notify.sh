#!/bin/bash
# test_notify.sh - the mails offload sends itself (DECISIONS.md §1, §6, §13): the sender's
# confirmation and the password delivery, through `offloadctl process` (sendmail_capture.sh
# stands in for the MTA's sendmail there) and through a real Postfix, whose own
# /usr/sbin/sendmail submits the notices (ports 13000-13002).
#  1. a classified small attachment: one confirmation to the sender, null envelope sender,
#     X-Offload-Notice, Auto-Submitted, files and expiry, no password
#  2. the confirmation fed back through the pipeline passes byte-identical; with a forged MAC
#     it is classified and offloaded like any mail
#  3. offload+password (STRENG-VERTRAULICH): the password is in the confirmation only, the
#     transfer opens with it and not without it
#  4. password_delivery = recipients: one password mail per recipient, without the link; the
#     confirmation names no password; 500 recipients (submitted several at once): one mail
#     each with the password, a failure for one of them gives on_error
#  5. failures: sendmail fails -> with a password: deferred (75), nothing stored; without: sent,
#     warning; null sender -> fallback_to or refused (5.7.1); confirm = false; bad config -> 78
#  6. Postfix + milter + real sendmail: the confirmation reaches the sink, passes the milter
#     untouched, and its password opens the delivered transfer
. "$(dirname "$0")/lib.sh"
need_bins "$CTL" "$MILTER_BIN"
CM=$SRCDIR/tests/data/classify-mail

hdr() { $PY - "$1" "$2" <<'PYEOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
v = m.get(sys.argv[2]); print("" if v is None else str(v))
PYEOF
}
text_of() { $PY - "$1" <<'PYEOF'
import email, email.policy, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # grep -q may stop reading early
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m.get_body(("plain",)).get_content())
PYEOF
}
arg_line() { sed -n "${2}p" "$1"; }   # arg_line ARGSFILE N
password_of() {  # the generated password (xxxx-xxxx-xxxx-xxxx) in a notice's text, if any
	text_of "$1" > "$T/pwtext"
	grep -oE '(^|[ :])[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}$' "$T/pwtext" | tr -d ' :' | sed -n 1p
}
nnotes() { find "$T/$1/notify" -name '*.eml' 2>/dev/null | wc -l; }

# a STRENG-VERTRAULICH message (subject marker) with a small attachment
printf 'Befund: Patientin mit Diagnose, vertraulich.\n' > "$T/befund.txt"
make_eml "$T/streng.eml" "[STRENG VERTRAULICH] Befund" "Anbei der Befund." "$T/befund.txt" befund.txt text/plain ||
	bail "build the message"
sed -i 's/^To: .*/To: bob@example.net, carol@example.org/' "$T/streng.eml"

# ---- 1. confirmation ---------------------------------------------------------------------------
conf_write c policy.offload_min_size=2k
"$CTL" -c "$(conf_path c)" process < "$CM/payslip.eml" > "$T/pay.out" 2> "$T/pay.err"; rc=$?
checkx "payslip offloaded (exit 0) and exactly one notice submitted" '[ $rc = 0 ] && [ "$(nnotes c)" = 1 ]'
N=$T/c/notify
checkx "confirmation: submitted with -i, null envelope sender, -- before the recipient" \
	'[ "$(cat "$N/1.args" | tr "\n" " ")" = "-i -f  -- lohn@example.gov " ]'
checkx "confirmation: To the sender, Auto-Submitted, a MACed X-Offload-Notice" \
	'[ "$(hdr "$N/1.eml" To)" = lohn@example.gov ] && [ "$(hdr "$N/1.eml" Auto-Submitted)" = auto-generated ] && hdr "$N/1.eml" X-Offload-Notice | grep -q "^confirm; transfer=[a-z2-7]\{24\}; mac="'
id=$(sed -n 's/^X-Offload-Transfer: \([a-z2-7]*\);.*/\1/p' "$T/pay.out")
checkx "confirmation: names the transfer, class, expiry date (de/en) and the file, UTF-8" \
	'text_of "$N/1.eml" > "$T/conf.txt"; grep -q "Transfer-ID: $id" "$T/conf.txt" && grep -q "Klasse: *VERTRAULICH" "$T/conf.txt" && grep -q "Verfügbar bis: *[0-9][0-9]\.[0-9][0-9]\.20[0-9][0-9]" "$T/conf.txt" && grep -q "Available until: 20" "$T/conf.txt" && grep -q "Ihre Abrechnung November" "$T/conf.txt" && grep -qi "charset=.\?utf-8" "$N/1.eml"'
checkx "confirmation: no password and no download link for a class without password" \
	'! grep -qi "Kennwort:\|Password:" "$T/conf.txt" && ! grep -q "/t/$id#" "$T/conf.txt"'
rlink=$(grep -o "https://files.example.test/r/$id#[A-Za-z0-9_-]\{22\}" "$T/conf.txt" | head -1)
checkx "confirmation: the revoke link (portal /r/<id>#<revoke secret>), in both languages" \
	'[ -n "$rlink" ] && [ "$(grep -c "/r/$id#" "$T/conf.txt")" = 2 ]'
bad=${rlink%?}A; [ "$bad" = "$rlink" ] && bad=${rlink%?}B
"$CTL" -c "$(conf_path c)" revoke "$bad" > /dev/null 2>&1; rc=$?
checkx "offloadctl revoke with a wrong revoke secret: refused (65), the transfer still opens" \
	'[ $rc = 65 ] && rm -rf "$T/r0" && ctl_open "$(mail_link "$T/pay.out")" "$T/r0" c > /dev/null 2>&1'
"$CTL" -c "$(conf_path c)" revoke "$rlink" > /dev/null 2>&1; rc=$?
rm -rf "$T/r1"; ctl_open "$(mail_link "$T/pay.out")" "$T/r1" c > /dev/null 2>&1; orc=$?
checkx "the confirmation's revoke link revokes the transfer (it no longer opens)" '[ $rc = 0 ] && [ $orc != 0 ]'

# ---- 2. our notices pass untouched, forged ones do not -----------------------------------------
# classified by its subject; only the header (the body names the subject too, and the notice
# MAC binds the body: FORMATS.md §3.5)
sed -i '1,/^$/s/^Subject: .*/Subject: [VERTRAULICH] Versandbestaetigung/' "$N/1.eml"
"$CTL" -c "$(conf_path c)" process < "$N/1.eml" > "$T/again.out" 2>/dev/null; rc=$?
checkx "a confirmation fed back passes byte-identical (exit 0), no new notice" \
	'[ $rc = 0 ] && cmp -s "$N/1.eml" "$T/again.out" && [ "$(nnotes c)" = 1 ]'
sed 's/mac=\(.\)/mac=X\1/' "$N/1.eml" > "$T/forged.eml"
"$CTL" -c "$(conf_path c)" process < "$T/forged.eml" > "$T/forged.out" 2>/dev/null; rc=$?
checkx "X-Offload-Notice with a forged MAC: classified and offloaded like any mail" \
	'[ $rc = 0 ] && grep -q "^X-Data-Classification: class=VERTRAULICH" "$T/forged.out" && grep -q "^X-Offload-Transfer:" "$T/forged.out"'

# ---- 3. offload+password, password to the sender ---------------------------------------------
conf_write pw policy.offload_min_size=2k
"$CTL" -c "$(conf_path pw)" process < "$T/streng.eml" > "$T/streng.out" 2> "$T/streng.err"; rc=$?
checkx "STRENG-VERTRAULICH: offloaded (exit 0), one confirmation to the sender" \
	'[ $rc = 0 ] && grep -q "class=STRENG-VERTRAULICH" "$T/streng.out" && [ "$(nnotes pw)" = 1 ] && [ "$(hdr "$T/pw/notify/1.eml" To)" = alice@example.org ]'
pw=$(password_of "$T/pw/notify/1.eml")
checkx "the confirmation carries a generated password (xxxx-xxxx-xxxx-xxxx) and says how to pass it on" \
	'[ -n "$pw" ] && text_of "$T/pw/notify/1.eml" | grep -q "telefonisch" && text_of "$T/pw/notify/1.eml" | grep -q "by phone"'
checkx "the password appears nowhere in the outgoing message, log or audit" \
	'[ -n "$pw" ] && ! grep -q "$pw" "$T/streng.out" "$T/streng.err" "$(audit_path pw)"'
link=$(mail_link "$T/streng.out")
rm -rf "$T/o1"; ctl_open "$link" "$T/o1" pw > /dev/null 2> "$T/o1.err"; rc=$?
checkx "the transfer does not open without the password" '[ $rc != 0 ] && grep -qi password "$T/o1.err"'
printf '%s\n' "$pw" | tr a-z A-Z | tr -d - > "$T/pw.txt"   # normalised: case and separators
rm -rf "$T/o2"; mkdir -p "$T/o2"
"$CTL" -c "$(conf_path pw)" open "$link" --password-file "$T/pw.txt" --output "$T/o2" > /dev/null 2>&1; rc=$?
checkx "it opens with the password from the confirmation (typed in upper case, no dashes)" \
	'[ $rc = 0 ] && grep -rq "Anbei der Befund" "$T/o2"'

# ---- 4. password to the recipients -----------------------------------------------------------
conf_write pr policy.offload_min_size=2k notify.password_delivery=STRENG-VERTRAULICH=recipients
"$CTL" -c "$(conf_path pr)" process < "$T/streng.eml" > "$T/pr.out" 2>/dev/null; rc=$?
checkx "password_delivery=recipients: exit 0, two password mails and one confirmation" \
	'[ $rc = 0 ] && [ "$(nnotes pr)" = 3 ] && [ "$(grep -l "^X-Offload-Notice: password" "$T"/pr/notify/*.eml | wc -l)" = 2 ]'
pm=$(grep -l "To: carol@example.org" "$T"/pr/notify/*.eml | head -1)
checkx "each recipient gets its own mail (envelope sender = the sender), with the password, without the link" \
	'[ -n "$pm" ] && grep -qx -- "-f" "${pm%.eml}.args" && grep -qx alice@example.org "${pm%.eml}.args" && grep -qx carol@example.org "${pm%.eml}.args" && [ -n "$(password_of "$pm")" ] && ! text_of "$pm" | grep -q "/t/"'
cm=$(grep -l "^X-Offload-Notice: confirm" "$T"/pr/notify/*.eml | head -1)
checkx "the confirmation says the recipients got the password and does not contain it" \
	'[ -n "$cm" ] && text_of "$cm" | grep -q "eigenen E-Mail" && [ -z "$(password_of "$cm")" ]'
printf '%s\n' "$(password_of "$pm")" > "$T/pr.txt"
rm -rf "$T/o3"; mkdir -p "$T/o3"
"$CTL" -c "$(conf_path pr)" open "$(mail_link "$T/pr.out")" --password-file "$T/pr.txt" --output "$T/o3" > /dev/null 2>&1; rc=$?
checkx "the recipient's password opens the transfer" '[ $rc = 0 ]'

# 500 recipients: the password mails go out several at once (issue 14 item 10), still one each
R500=(); for ((i = 1; i <= 500; i++)); do R500+=(--rcpt "r$i@example.net"); done
conf_write p5 policy.offload_min_size=2k notify.password_delivery=recipients
"$CTL" -c "$(conf_path p5)" process "${R500[@]}" < "$T/streng.eml" > "$T/p5.out" 2> "$T/p5.err"; rc=$?
$PY - "$T/p5/notify" > "$T/p5.check" <<'PYEOF'
import collections, email, email.policy, glob, os, re, sys
seen, pws, bad = collections.Counter(), set(), []
for f in glob.glob(os.path.join(sys.argv[1], "*.eml")):
    m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
    if not str(m["X-Offload-Notice"]).startswith("password"):
        continue
    env = open(f[:-4] + ".args").read().split("\n")[-2]
    pw = re.findall(r"^ +([2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4})$", m.get_body(("plain",)).get_content(), re.M)
    if str(m["To"]) != env or len(set(pw)) != 1:
        bad.append(f)
    seen[env] += 1
    pws.update(pw)
want = {"r%d@example.net" % i for i in range(1, 501)}
print("ok" if set(seen) == want and set(seen.values()) == {1} and not bad and len(pws) == 1 else
      "recipients=%d max=%d bad=%d passwords=%d" % (len(seen), max(seen.values() or [0]), len(bad), len(pws)))
print(" ".join(pws))
PYEOF
checkx "500 recipients: exit 0, each gets exactly one password mail, addressed to it, all with one password ($(head -1 "$T/p5.check"))" \
	'[ $rc = 0 ] && [ "$(head -1 "$T/p5.check")" = ok ] && [ "$(nnotes p5)" = 501 ]'
sed -n 2p "$T/p5.check" > "$T/p5.txt"; secret "$(cat "$T/p5.txt")"
rm -rf "$T/o5"; mkdir -p "$T/o5"
"$CTL" -c "$(conf_path p5)" open "$(mail_link "$T/p5.out")" --password-file "$T/p5.txt" --output "$T/o5" > /dev/null 2>&1; rc=$?
checkx "500 recipients: their password opens the transfer" '[ $rc = 0 ] && grep -rq "Anbei der Befund" "$T/o5"'
R40=("${R500[@]:0:80}")   # 40 recipients: more than run at once, the failing one in the middle
for oe in tempfail:75 reject:69; do
	conf_write "p5${oe%:*}" policy.offload_min_size=2k notify.password_delivery=recipients "policy.on_error=${oe%:*}"
	mkdir -p "$T/p5${oe%:*}/notify"; touch "$T/p5${oe%:*}/notify/fail-r25@example.net"
	"$CTL" -c "$(conf_path "p5${oe%:*}")" process "${R40[@]}" < "$T/streng.eml" > "$T/p5f.out" 2> "$T/p5f.err"; rc=$?
	checkx "40 recipients, sendmail fails for r25: on_error=${oe%:*} (exit ${oe#*:}), the recipient named, nothing stored, no confirmation" \
		'[ $rc = ${oe#*:} ] && [ ! -s "$T/p5f.out" ] && grep -q "password mail to r25@example.net: .*queue file write error" "$T/p5f.err" && [ -z "$(find "$(store_path "p5${oe%:*}")" -type f ! -name keyid)" ] && ! grep -lq "^X-Offload-Notice: confirm" "$T/p5${oe%:*}"/notify/*.eml'
done

# ---- 5. failures and settings ----------------------------------------------------------------
conf_write f policy.offload_min_size=2k
mkdir -p "$T/f/notify"; touch "$T/f/notify/fail"
"$CTL" -c "$(conf_path f)" process < "$T/streng.eml" > "$T/f.out" 2> "$T/f.err"; rc=$?
checkx "sendmail fails, password to the sender: deferred (75), nothing on stdout, the reason logged" \
	'[ $rc = 75 ] && [ ! -s "$T/f.out" ] && grep -q "password not delivered" "$T/f.err"'
checkx "... and no transfer object is left in the store" '[ -z "$(find "$(store_path f)" -type f ! -name keyid)" ]'
"$CTL" -c "$(conf_path f)" process < "$CM/payslip.eml" > "$T/f2.out" 2> "$T/f2.err"; rc=$?
checkx "sendmail fails, no password: the message still goes out offloaded, a warning names the failure" \
	'[ $rc = 0 ] && grep -q "^X-Offload-Transfer:" "$T/f2.out" && grep -q "confirmation to lohn@example.gov not sent" "$T/f2.err"'
conf_write fr policy.offload_min_size=2k notify.password_delivery=recipients
mkdir -p "$T/fr/notify"; touch "$T/fr/notify/fail-carol@example.org"
"$CTL" -c "$(conf_path fr)" process < "$T/streng.eml" > "$T/fr.out" 2>/dev/null; rc=$?
checkx "a password mail to one recipient fails: deferred (75), nothing stored" \
	'[ $rc = 75 ] && [ ! -s "$T/fr.out" ] && [ -z "$(find "$(store_path fr)" -type f ! -name keyid)" ]'
conf_write nul policy.offload_min_size=2k
"$CTL" -c "$(conf_path nul)" process --sender "" < "$T/streng.eml" > "$T/nul.out" 2> "$T/nul.err"; rc=$?
checkx "null sender, password to the sender, no fallback_to: refused at once (69, 550 5.7.1), fallback_to named" \
	'[ $rc = 69 ] && grep -q "^550 5.7.1 .*fallback_to" "$T/nul.err" && [ "$(nnotes nul)" = 0 ] && [ ! -s "$T/nul.out" ]'
checkx "... and nothing is left in the store" '[ -z "$(find "$(store_path nul)" -type f ! -name keyid)" ]'
conf_write fb policy.offload_min_size=2k notify.fallback_to=lohnbuero@example.gov
sed 's/^From: .*/From: noreply@example.gov/' "$T/streng.eml" > "$T/noreply.eml"
"$CTL" -c "$(conf_path fb)" process --sender noreply@example.gov < "$T/noreply.eml" > "$T/fb.out" 2>/dev/null; rc=$?
checkx "no-reply sender with fallback_to: offloaded, the confirmation with the password goes to fallback_to" \
	'[ $rc = 0 ] && [ "$(hdr "$T/fb/notify/1.eml" To)" = lohnbuero@example.gov ] && [ -n "$(password_of "$T/fb/notify/1.eml")" ]'
conf_write off policy.offload_min_size=2k notify.confirm=false
"$CTL" -c "$(conf_path off)" process < "$CM/payslip.eml" > /dev/null 2>&1; rc=$?
checkx "confirm = false: no confirmation for a transfer without password" '[ $rc = 0 ] && [ "$(nnotes off)" = 0 ]'
"$CTL" -c "$(conf_path off)" process < "$T/streng.eml" > /dev/null 2>&1; rc=$?
checkx "confirm = false still sends the confirmation that carries the password" '[ $rc = 0 ] && [ "$(nnotes off)" = 1 ]'
conf_write bad notify.password_delivery=GEHEIM=sender
"$CTL" -c "$(conf_path bad)" process < "$CM/payslip.eml" > /dev/null 2> "$T/bad.err"; rc=$?
checkx "password_delivery with an unknown level: exit 78, the key named" '[ $rc = 78 ] && grep -q password_delivery "$T/bad.err"'

# ---- 6. real Postfix: the confirmation goes through sendmail, pickup and the milter -------------
SMTPD=13000 SINKP=13001
SINK=$T/sink
pf_setup pn "$SMTPD" "$SINKP" || bail "postfix setup"
conf_write m policy.offload_min_size=2k "notify.sendmail=/usr/sbin/sendmail -C $(pf_cf pn)"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pn || bail "postfix start"
milter_start m || bail "offload-milter start"
pf_milter pn "$(postfix_milter_spec "$(conf_socket m)")" || bail "set the milters"
smtp_send "$SMTPD" "$T/streng.eml" alice@example.org bob@example.net
check "Postfix: the STRENG-VERTRAULICH message is accepted ($SMTP_REPLY)" is250
wait_log pn "to=<alice@example.org>.*status=sent" 60
f=$(grep -l "^To: alice@example.org" "$SINK"/* 2>/dev/null | head -1)
checkx "Postfix: the confirmation was submitted with the real sendmail and reached the sink" '[ -n "$f" ]'
if [ -n "$f" ]; then
	sink_eml "$f" "$T/pconf.eml"
	checkx "Postfix: the confirmation passed the milter untouched (no X-Data-Classification added)" \
		'grep -q "^X-Offload-Notice: confirm" "$T/pconf.eml" && ! grep -q "^X-Data-Classification" "$T/pconf.eml"'
	checkx "Postfix: the milter logged the notice as passed" 'grep -q "reason=notice" "$T/m/milter.log"'
	b=$(grep -l "X-Mail-Args: <alice@example.org>" "$SINK"/* | head -1)
	sink_eml "$b" "$T/pmsg.eml"
	password_of "$T/pconf.eml" > "$T/ppw.txt"
	rm -rf "$T/o4"; mkdir -p "$T/o4"
	"$CTL" -c "$(conf_path m)" open "$(mail_link "$T/pmsg.eml")" --password-file "$T/ppw.txt" --output "$T/o4" > /dev/null 2>&1; rc=$?
	checkx "Postfix: the delivered link opens with the password from the delivered confirmation" \
		'[ $rc = 0 ] && grep -rq "Anbei der Befund" "$T/o4"'
fi
# every link and revoke secret, ticket, password and key this test produced, in no log
secrets_harvest
check_no_secrets
finish
