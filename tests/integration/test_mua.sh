#!/bin/bash
# test_mua.sh - what a person sees in a real text mail client (issue 11): mails rewritten by the
# real pipeline (offloadctl process) are shown in neomutt inside a detached tmux (private
# socket in $T), the screen is read with `tmux capture-pane -p` and must show the German and
# English notice with its umlauts, the labelled link line with the whole link, the expiry lines,
# the file name, the authenticity hint and (multipart) the sender's own Latin-1 text, with no
# quoted-printable left ("=E4") and no mojibake. Two mails: an attachment-only mail (the notice
# replaces the top-level part: UTF-8 quoted-printable) and a multipart one with a Latin-1 body
# (the notice goes into it, in Latin-1). A control mail with the old bug (Latin-1 bytes labelled
# UTF-8) must fail the same screen check, so the check can fail. The screens are saved as test
# artefacts: $BUILD/artifacts/mua-*.txt. Skipped (with a note) only when neomutt or tmux
# cannot start (tools/deps/mua.apt). No ports.
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
HOST=files.example.test   # what mail_link finds
if ! command -v tmux > /dev/null || ! neomutt -v > /dev/null 2>&1; then
	note "skip: neomutt or tmux cannot start (install tools/deps/mua.apt)"
	finish
fi

conf_write m policy.offload_min_size=1k portal.url=https://$HOST
CONF=$(conf_path m)
random_file "$T/a.pdf" 5000
$PY - "$T" <<'PYEOF' || bail "write the mails"
import sys
from email.message import EmailMessage
T = sys.argv[1]
pdf = open(T + "/a.pdf", "rb").read()
m = EmailMessage()
m["From"] = "Jörg Müller <joerg@example.org>"; m["To"] = "bob@example.net"; m["Subject"] = "Bescheid"
m.set_content(pdf, maintype="application", subtype="pdf", filename="Bescheid März.pdf")
open(T + "/single.eml", "wb").write(bytes(m))
m = EmailMessage()
m["From"] = "Jörg Müller <joerg@example.org>"; m["To"] = "bob@example.net"; m["Subject"] = "Unterlagen für Sie"
m.set_content("Sehr geehrte Frau Höß,\n\nanbei die Unterlagen.\nGrüße aus Gießen\n", charset="iso-8859-1",
              cte="quoted-printable")
m.add_attachment(pdf, maintype="application", subtype="pdf", filename="Übersicht Änderungen.pdf")
open(T + "/multi.eml", "wb").write(bytes(m))
PYEOF
for n in single multi; do
	"$CTL" -c "$CONF" process < "$T/$n.eml" > "$T/$n.out" 2> "$T/$n.err" || bail "offloadctl process $n: $(cat "$T/$n.err")"
done
# the control: the single-part notice as it was before issue 11 (Latin-1 quoted-printable, charset=utf-8)
$PY - "$T/single.out" "$T/control.out" <<'PYEOF' || bail "write the control mail"
import sys, quopri, re
raw = open(sys.argv[1], "rb").read()
head, body = raw.split(b"\n\n", 1) if b"\r\n\r\n" not in raw else raw.split(b"\r\n\r\n", 1)
text = quopri.decodestring(body).decode("utf-8")
open(sys.argv[2], "wb").write(head + b"\n\n" + quopri.encodestring(text.encode("latin-1")))
PYEOF

# render NAME: the mail $T/NAME.out in neomutt (pager), the screen into $T/NAME.screen
MUA=$T/mua; mkdir -p "$MUA"
cat > "$MUA/muttrc" <<EOF
set charset=utf-8
set mbox_type=Maildir
set header_cache=""
set message_cachedir=""
set tmpdir="$MUA"
set folder="$MUA"
set record=""
set postponed=""
set mark_old=no
set wait_key=no
set help=no
set pager_index_lines=0
set markers=no
set allow_ansi=no
set mailcap_path=/dev/null
set implicit_autoview=no
alternative_order text/plain
ignore *
unignore From: Subject:
EOF
SOCK=$T/tmux.sock
render() {
	local n=$1 i
	rm -rf "${MUA:?}/$n"; mkdir -p "$MUA/$n/cur" "$MUA/$n/new" "$MUA/$n/tmp"
	cp "$T/$n.out" "$MUA/$n/cur/1.offload:2,S"
	env -i PATH="$PATH" LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME="$MUA" TERM=screen tmux -u -S "$SOCK" -f /dev/null \
		new-session -d -x 150 -y 70 "neomutt -n -F '$MUA/muttrc' -f '$MUA/$n' -e 'push <display-message>'" || return 1
	_BG_PIDS+=("$(tmux -S "$SOCK" display-message -p '#{pid}' 2>/dev/null)")
	for ((i = 0; i < 100; i++)); do   # until the pager shows the end of the message
		tmux -S "$SOCK" capture-pane -p > "$T/$n.screen" 2>/dev/null
		grep -q -- "-- (all)" "$T/$n.screen" && grep -q "payment details" "$T/$n.screen" && break
		sleep 0.1
	done
	tmux -S "$SOCK" kill-server 2>/dev/null && unset '_BG_PIDS[-1]'
	mkdir -p "$ART" && sed -E 's|(/t/[a-z2-7]{24})#[A-Za-z0-9_-]+|\1#…|' "$T/$n.screen" > "$ART/mua-$n.txt"
	[ $i -lt 100 ]
}
# screen_check SCREEN LINK FILENAME: what must be seen; one problem a line, exit 1 if any
screen_check() {
	$PY - "$@" <<'PYEOF'
import re, sys
s = open(sys.argv[1], encoding="utf-8", errors="replace").read()
link, fname = sys.argv[2], sys.argv[3]
lines = [l.rstrip() for l in s.splitlines()]
p = []
def need(pat, what):
    if not any(re.search(pat, l) for l in lines):
        p.append("not on the screen: " + what)
need(r"^From: Jörg Müller <joerg@example\.org>$", "From with umlauts")
need(r"^Anhänge verschlüsselt bereitgestellt / Attachments provided encrypted$", "the German/English heading")
need(r"^Jörg Müller \(joerg@example\.org\) hat Ihnen Dateien geschickt\.", "the German first sentence")
need(r"^Abholen bis: \d\d\.\d\d\.20\d\d, \d\d:\d\d Uhr \((MEZ|MESZ)\)$", "the German expiry line")
need(r"^Collect by: 20\d\d-\d\d-\d\d \d\d:\d\d (CET|CEST)$", "the English expiry line")
need(r"^Passwort: nicht nötig\.$", "the password line")
for i, l in enumerate(lines):
    if l == "Dateien abholen / Collect files:":
        if i + 1 >= len(lines) or lines[i + 1] != link:
            p.append("the labelled link line is not followed by the whole link on one line")
        break
else:
    p.append("not on the screen: the labelled link line 'Dateien abholen / Collect files:'")
need(r"^- " + re.escape(fname) + r" \(", "the file name " + fname)
flat = " ".join(" ".join(lines).split())   # paragraphs wrap where the host name ends
for hint in ("Ist diese E-Mail echt? Der Link führt nur zu files.example.test. Wir fragen nie nach "
             "Zugangsdaten, Bank- oder Zahlungsdaten.", "We never ask for login credentials, bank or payment details."):
    if hint not in flat:
        p.append("not on the screen: the authenticity hint " + hint[:20])
for l in lines:
    if re.search(r"=[0-9A-F]{2}|=\?|\ufffd|Ã|Â|â€", l):
        p.append("quoted-printable or mojibake on the screen: " + l.strip())
        break
print("\n".join(p))
sys.exit(1 if p else 0)
PYEOF
}

for n in single multi control; do
	render "$n" || not_ok "$n: neomutt showed no message within 10 s: $(head -3 "$T/$n.screen" 2>/dev/null | tr '\n' ' ')"
done
LINK1=$(mail_link "$T/single.out"); LINK2=$(mail_link "$T/multi.out"); secret "$LINK1"; secret "$LINK2"
# screen_ok DESC SCREEN LINK FILENAME
screen_ok() {
	if screen_check "$2" "$3" "$4" > "$T/check.out"; then ok "$1"; else not_ok "$1: $(tr '\n' ' ' < "$T/check.out")"; fi
}
screen_ok "neomutt, attachment-only mail (the notice is the UTF-8 top-level part): German and English text with umlauts, expiry lines, labelled link line with the whole link, file name, hint; no =E4 or mojibake" \
	"$T/single.screen" "$LINK1" "Bescheid März.pdf"
screen_ok "neomutt, multipart mail with a Latin-1 body (the notice inserted in Latin-1): the same, file name with umlauts" \
	"$T/multi.screen" "$LINK2" "Übersicht Änderungen.pdf"
checkx "neomutt, multipart mail: the sender's own Latin-1 text below the notice, umlauts and ß intact" \
	'grep -qx "Sehr geehrte Frau Höß," "$T/multi.screen" && grep -qx "Grüße aus Gießen" "$T/multi.screen"'
checkx "control: the notice as before issue 11 (Latin-1 bytes declared UTF-8) fails the same screen check" \
	'[ -s "$T/control.screen" ] && ! screen_check "$T/control.screen" "$LINK1" "Bescheid März.pdf" > /dev/null'
checkx "the screens are saved as test artefacts ($BUILD/artifacts/mua-single.txt, mua-multi.txt)" \
	'[ -s "$ART/mua-single.txt" ] && [ -s "$ART/mua-multi.txt" ]'
finish
