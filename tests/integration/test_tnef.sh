#!/bin/bash
# test_tnef.sh - winmail.dat to an external recipient becomes ordinary MIME parts (issue 11,
# pipeline/tnef_convert.c). Every TNEF of the corpus (tests/data/corpus/tnef-raw, and the mails
# tagged tnef in its MANIFEST) goes through `offloadctl process` (offload_min_size 2k, so larger
# inner files are offloaded on their own) and is compared with an independent extraction by
# Debian's `tnef` (tnef_check.py): each inner file arrives byte-exact with its name, as a part of
# the rewritten mail or in the transfer (`offloadctl open`), and no winmail.dat is left. Streams
# with nothing to convert stay as they are; internal-only mail is not touched. Then three of them
# through the real Postfix + offload-milter to smtp-sink, compared the same way.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL" "$MILTER_BIN"
command -v tnef >/dev/null || bail "tnef not installed (tools/deps/tnef.apt)"
C=$SRCDIR/tests/data/corpus
CHK="$PY $IT/tnef_check.py"
SMTPD=12760 SINKP=12761 MPORT=12762
conf_write p policy.offload_min_size=2k "milter.socket=inet:$MPORT@127.0.0.1"
CONF=$(conf_path p)
# kept: properties only (a distribution list; a stream followed by garbage holding no file)
KEEP=" MimeKit__garbage-at-end tnefparse__IPM-DistList "

# tnef_mail TNEF OUT: a mail with a text body and TNEF as winmail.dat
tnef_mail() {
	$PY - "$1" "$2" <<'PYEOF'
import sys, email.message, email.policy
m = email.message.EmailMessage()
m["From"] = "Alice <alice@example.org>"; m["To"] = "bob@example.net"; m["Subject"] = "TNEF " + sys.argv[1].split("/")[-1]
m.set_content("Guten Tag, anbei die Dateien.\n")
m.add_attachment(open(sys.argv[1], "rb").read(), maintype="application", subtype="ms-tnef", filename="winmail.dat")
open(sys.argv[2], "wb").write(m.as_bytes(policy=email.policy.SMTP))
PYEOF
}

# check_mail NAME OUTEML CONFNAME: open its link (if any), compare with tnef's extraction of $T/$NAME.dat
check_mail() {
	local n=$1 out=$2 link
	rm -rf "$T/open-$n" "$T/ref-$n"; mkdir -p "$T/open-$n" "$T/ref-$n"
	(cd "$T/ref-$n" && tnef -f "$T/$n.dat" --number-backups >/dev/null 2>&1)
	if link=$(mail_link "$out" 2>/dev/null); then
		ctl_open "$link" "$T/open-$n" "$3" > /dev/null 2>&1 || not_ok "$n: offloadctl open failed"
	fi
	$CHK compare "$out" "$T/open-$n" "$T/ref-$n" > "$T/$n.cmp"
}

conv=0 files=0
for f in "$C"/tnef-raw/*.tnef $(awk -F'\t' '$7 ~ /(^|,)tnef(,|$)/ && $1 !~ /^tnef-raw/ {print "'"$C"'/" $1}' "$C/MANIFEST"*); do
	n=$(basename "$f"); n=${n%.*}
	case $f in
	*.tnef) cp "$f" "$T/$n.dat"; tnef_mail "$f" "$T/$n.eml" ;;
	*) cp "$f" "$T/$n.eml"; $CHK winmail "$f" "$T/$n.dat" || { not_ok "$n: no TNEF part"; continue; } ;;
	esac
	"$CTL" -c "$CONF" process --rcpt bob@example.net < "$T/$n.eml" > "$T/$n.out" 2> "$T/$n.err" ||
		{ not_ok "$n: offloadctl process failed: $(cat "$T/$n.err")"; continue; }
	if [[ $KEEP == *" $n "* ]]; then
		want=$(sha256 "$T/$n.dat")
		checkx "$n: nothing to convert, winmail.dat kept byte-exact ($(cat "$T/$n.err"))" \
			'$MAILTOOL leaves "$T/$n.out" | grep -q "^[0-9]* $want " ||
			 { check_mail "$n" "$T/$n.out" p; sha256sum "$T/open-$n"/* 2>/dev/null | grep -q "^$want "; }'
		continue
	fi
	check_mail "$n" "$T/$n.out" p
	checkx "$n: every file of tnef's extraction arrives byte-exact with its name, no winmail.dat left ($(cat "$T/$n.cmp" | head -3 | tr '\n' ' '); $(cat "$T/$n.err"))" \
		'grep -q "^ok" "$T/$n.cmp"'
	conv=$((conv + 1)); files=$((files + $(sed -n 's/^ok //p' "$T/$n.cmp")))
done
note "$conv streams converted, $files inner files compared"
checkx "MimeKit__missing-filenames: its four Word files (160 KB) are offloaded on their own, named, in the audit log with their SHA-256" \
	'grep -q "files=4" "$T/MimeKit__missing-filenames.err" &&
	 grep "event=attachment" "$(audit_path p)" | grep -q "TechlibDEC99.doc.*$(sha256 "$T/open-MimeKit__missing-filenames/TechlibDEC99.doc")"'
checkx "MimeKit__rich-text: the two embedded Outlook items arrive as attached .eml with their subjects (as a part or in the transfer)" \
	'{ grep -q "filename=\"Build a train table.eml\"" "$T/MimeKit__rich-text.out" || [ -f "$T/open-MimeKit__rich-text/Build a train table.eml" ]; } &&
	 [ -f "$T/open-MimeKit__rich-text/Christmas Celebration!.eml" ]'
checkx "MimeKit__body: the HTML body of the TNEF is a text/html part" \
	'$MAILTOOL leaves "$T/MimeKit__body.out" | grep -q " text/html -$"'
# an RTF body (no HTML body, not an RTF that only wraps the plain text: \fromtext) stays whole as
# message.rtf (text/rtf) next to the readable text body; reference: tnef --save-body --body-pref=r
for n in MimeKit__rtf MimeKit__winmail; do
	mkdir -p "$T/body-$n"; (cd "$T/body-$n" && tnef --save-body --body-pref=r -f "$T/$n.dat" > /dev/null 2>&1)
	want=$(sha256 "$T/body-$n/message.rtf" 2>/dev/null)
	checkx "$n: the RTF body arrives as message.rtf (text/rtf, as a part or in the transfer) byte-exact against tnef --save-body, and a readable text body too" \
		'[ -n "$want" ] && { $MAILTOOL leaves "$T/$n.out" | grep -q " $want text/rtf message.rtf$" ||
		   [ "$(sha256 "$T/open-$n/message.rtf" 2>/dev/null)" = "$want" ]; } &&
		 [ "$($MAILTOOL leaves "$T/$n.out" | grep -c " text/plain -$")" -ge 2 ]'
done
checkx "MimeKit__missing-filenames: its RTF only wraps the text (\\fromtext): no message.rtf" \
	'! $MAILTOOL leaves "$T/MimeKit__missing-filenames.out" | grep -q "message.rtf" && [ ! -e "$T/open-MimeKit__missing-filenames/message.rtf" ]'
checkx "MimeKit__body: an HTML body, so no message.rtf" \
	'! $MAILTOOL leaves "$T/MimeKit__body.out" | grep -q "message.rtf" && [ ! -e "$T/open-MimeKit__body/message.rtf" ]'
checkx "converted mails decode strictly" '$MAILTOOL strict "$T/MimeKit__two-files.out" && $MAILTOOL strict "$T/MimeKit__ukr.out"'

# body_action offload-message (a [VERTRAULICH] subject): the whole message is stored as one .eml,
# and that .eml holds the converted parts, not the winmail.dat (what the citizen opens); also a
# mail whose top-level part is the TNEF (its stored .eml gets the new multipart Content-Type)
mkdir -p "$T/empty"
$PY - "$T/MimeKit__two-files.dat" "$T/om-top.eml" <<'PYEOF'
import sys, email.message, email.policy
m = email.message.EmailMessage()
m["From"] = "Alice <alice@example.org>"; m["To"] = "bob@example.net"; m["Subject"] = "TNEF top"
m.set_content(open(sys.argv[1], "rb").read(), maintype="application", subtype="ms-tnef", filename="winmail.dat")
open(sys.argv[2], "wb").write(m.as_bytes(policy=email.policy.SMTP))
PYEOF
cp -r "$T/ref-MimeKit__two-files" "$T/ref-top"
for n in MimeKit__two-files MimeKit__rich-text top; do
	[ -f "$T/om-$n.eml" ] || cp "$T/$n.eml" "$T/om-$n.eml"
	sed -i '0,/^Subject: /s//Subject: [VERTRAULICH] /' "$T/om-$n.eml"
	"$CTL" -c "$CONF" process --rcpt bob@example.net < "$T/om-$n.eml" > "$T/om-$n.out" 2> "$T/om-$n.err" ||
		{ not_ok "offload-message $n: offloadctl process failed: $(cat "$T/om-$n.err")"; continue; }
	rm -rf "$T/om-open-$n"; ctl_open "$(mail_link "$T/om-$n.out")" "$T/om-open-$n" p > /dev/null 2>&1
	eml=$(find "$T/om-open-$n" -name '*.eml' | head -1)
	[ -n "$eml" ] && $CHK compare "$eml" "$T/empty" "$T/ref-$n" > "$T/om-$n.cmp" 2>&1
	checkx "offload-message $n: the stored .eml (only file) holds every file of tnef's extraction byte-exact and no winmail.dat ($(grep -o 'body=[a-z-]*' "$T/om-$n.err"); $(head -3 "$T/om-$n.cmp" 2>/dev/null | tr '\n' ' '))" \
		'grep -q "body=offload-message" "$T/om-$n.err" && [ "$(ls "$T/om-open-$n" | wc -l)" = 1 ] && [ -n "$eml" ] &&
		 grep -q "^ok" "$T/om-$n.cmp"'
	checkx "offload-message $n: the stored .eml decodes strictly; the mail itself carries no winmail.dat" \
		'$MAILTOOL strict "$eml" && $CHK compare "$T/om-$n.out" "$T/empty" "$T/empty" | grep -q "^ok"'
done
checkx "offload-message top: the stored .eml's top level is the converted multipart/mixed (no base64 CTE, no winmail.dat disposition)" \
	'eml=$(find "$T/om-open-top" -name "*.eml" | head -1) &&
	 $MAILTOOL header "$eml" Content-Type | grep -q "^multipart/mixed" &&
	 [ -z "$($MAILTOOL header "$eml" Content-Transfer-Encoding)" ] && [ -z "$($MAILTOOL header "$eml" Content-Disposition)" ]'

# a forwarded Outlook mail: winmail.dat inside an attached message/rfc822 (as its attachment,
# and as the inner message's top-level part) is converted there too, nested messages up to
# the limit of the classifier, which counts each attached message and the TNEF as a container:
# converted while messages + 1 <= [classify] max_depth (3 here), deeper it stays as it is
conf_write fwd policy.offload_min_size=10M classify.max_depth=3
$PY - "$T" <<'PYEOF'
import sys, email.message, email.policy
T = sys.argv[1]
def mail(subject, text, tnef=None, top=False):
    m = email.message.EmailMessage()
    m["From"] = "Alice <alice@example.org>"; m["To"] = "bob@example.net"; m["Subject"] = subject
    if top:
        m.set_content(open(tnef, "rb").read(), maintype="application", subtype="ms-tnef", filename="winmail.dat")
        return m
    m.set_content(text)
    if tnef:
        m.add_attachment(open(tnef, "rb").read(), maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return m
def fwd(subject, inner):
    m = mail(subject, "Weitergeleitet, siehe Anhang.\n")
    m.add_attachment(inner)
    return m
inner = mail("Outlook innen", "Die Dateien anbei.\n", T + "/MimeKit__two-files.dat")
top = mail("Outlook innen oben", None, T + "/MimeKit__one-file.dat", top=True)
m = fwd("WG: Outlook", inner); m.add_attachment(top)
open(T + "/fwd.eml", "wb").write(m.as_bytes(policy=email.policy.SMTP))
# two messages deep (converted) and three (over max_depth = 3: kept)
l2 = fwd("WG: WG: Outlook", fwd("WG: Outlook", mail("tief", "x\n", T + "/MimeKit__two-files.dat")))
open(T + "/fwd2.eml", "wb").write(l2.as_bytes(policy=email.policy.SMTP))
l3 = fwd("WG: WG: WG: Outlook", fwd("WG: WG: Outlook", fwd("WG: Outlook", mail("zu tief", "x\n", T + "/MimeKit__two-files.dat"))))
open(T + "/fwd3.eml", "wb").write(l3.as_bytes(policy=email.policy.SMTP))
PYEOF
for n in fwd fwd2 fwd3; do
	"$CTL" -c "$(conf_path fwd)" process --rcpt bob@example.net < "$T/$n.eml" > "$T/$n.out" 2> "$T/$n.err" ||
		not_ok "$n: offloadctl process failed: $(cat "$T/$n.err")"
done
{ $CHK compare "$T/fwd.out" "$T/empty" "$T/ref-MimeKit__two-files"; $CHK compare "$T/fwd.out" "$T/empty" "$T/ref-MimeKit__one-file"; } > "$T/fwd.cmp" 2>&1
checkx "forwarded Outlook mail: the winmail.dat in the attached message and the one that is an attached message's top part are converted, each file byte-exact, none left ($(head -3 "$T/fwd.cmp" | tr '\n' ' '); $(cat "$T/fwd.err"))" \
	'[ "$(grep -c "^ok" "$T/fwd.cmp")" = 2 ] && [ "$(wc -l < "$T/fwd.cmp")" = 2 ] && grep -q "tnef=2" "$T/fwd.err"'
checkx "forwarded Outlook mail: both attached messages keep their subjects and decode strictly; the top-level one is multipart/mixed now" \
	'$MAILTOOL strict "$T/fwd.out" && $PY - "$T/fwd.out" <<'"'"'PYEOF'"'"'
import sys, email, email.policy
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
inner = [p.get_payload()[0] for p in m.walk() if p.get_content_type() == "message/rfc822"]
assert [i["Subject"] for i in inner] == ["Outlook innen", "Outlook innen oben"], [i["Subject"] for i in inner]
assert inner[1].get_content_type() == "multipart/mixed" and inner[1]["Content-Transfer-Encoding"] is None
assert inner[1].get_content_disposition() is None
PYEOF'
$CHK compare "$T/fwd2.out" "$T/empty" "$T/ref-MimeKit__two-files" > "$T/fwd2.cmp" 2>&1
checkx "winmail.dat two attached messages deep ([classify] max_depth 3): converted ($(head -2 "$T/fwd2.cmp" | tr '\n' ' '))" \
	'grep -q "^ok" "$T/fwd2.cmp"'
ctl_open "$(mail_link "$T/fwd3.out")" "$T/open-fwd3" fwd > /dev/null 2>&1
checkx "winmail.dat three attached messages deep (over max_depth 3): left as it is (the classifier cannot look in: offloaded whole), byte-exact in the stored .eml ($(cat "$T/fwd3.err"))" \
	'grep -q "body=offload-message" "$T/fwd3.err" && ! grep -q "tnef=" "$T/fwd3.err" &&
	 $MAILTOOL leaves "$T/open-fwd3"/*.eml | grep -q " $(sha256 "$T/MimeKit__two-files.dat") application/ms-tnef winmail.dat$"'

# internal-only recipients: not touched
conf_write int policy.offload_min_size=2k policy.internal_domains=example.net
"$CTL" -c "$(conf_path int)" process --rcpt bob@example.net < "$T/MimeKit__two-files.eml" > "$T/int.out" 2>/dev/null
checkx "internal-only recipient: the mail passes byte-identical, winmail.dat and all" 'cmp -s "$T/MimeKit__two-files.eml" "$T/int.out"'

# ---- the real Postfix ------------------------------------------------------------------------
SINK=$T/sink
pf_setup pf "$SMTPD" "$SINKP" || bail "postfix setup"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start pf || bail "postfix start"
milter_start p || bail "offload-milter start (log: $(tail -3 "$T/p/milter.log"))"
pf_milter pf "inet:127.0.0.1:$MPORT" || bail "set smtpd_milters"
for n in MimeKit__missing-filenames MimeKit__two-files MimeKit__rich-text; do
	sed -i "s/^From: .*/From: $n@example.org/" "$T/$n.eml"
	smtp_send "$SMTPD" "$T/$n.eml" "$n@example.org" bob@example.net
	check "postfix $n: accepted ($SMTP_REPLY)" is250
	wait_removed pf "$SMTP_QID" 60 && delivered pf "$SMTP_QID" || { not_ok "postfix $n: not delivered"; continue; }
	f=$(sink_find "$SINK" "$n@example.org")
	[ -n "$f" ] || { not_ok "postfix $n: no sink file"; continue; }
	sink_eml "$f" "$T/pf-$n.out"
	cp "$T/$n.dat" "$T/pf-$n.dat"; check_mail "pf-$n" "$T/pf-$n.out" p
	checkx "postfix $n: every file arrives byte-exact (part or transfer), no winmail.dat ($(head -3 "$T/pf-$n.cmp" | tr '\n' ' '))" \
		'grep -q "^ok" "$T/pf-$n.cmp"'
done
finish
