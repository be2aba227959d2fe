#!/bin/bash
# test_scaleout.sh - scale-out (issue 15, ARCHITECTURE.md "Scale-out"): two nodes, each a private
# Postfix with its own offload-milter, and two offload-portal processes behind one real nginx
# (upstream with both, configured from docs/nginx-portal.conf), sharing one S3 bucket (a private
# Swift s3api, tests/integration/swift.sh) and one deployment key and ticket key. Checks:
#  - both milters write into the bucket; one keyid object; a transfer written through node A
#    is unlocked and downloaded through portal B (its port directly) and through nginx (both
#    portals serve requests), a ticket from B downloads through A, and A's transfer through B;
#  - download counts and receipts (receipts = first): a download split between the portals
#    counts nowhere (the served ranges are per portal process); complete downloads on B, then
#    A, then nginx: one receipt in all (the once marker oreceipt0), count 4 in the state object;
#  - rate limits are per portal process: unlock_failures_per_ip trips on A, B still answers 403;
#    password_failures = 1 trips on both portals, yet the sender gets one brute-force notice
#    (obruteforce);
#  - revoked through B (the revoke link of A's confirmation mail): A, B and nginx answer 410,
#    A's ticket too; `offloadctl purge` on A deletes an expired transfer B wrote and leaves only
#    the tombstone of the revoked one.
# Ports: Swift 12970-12974, Postfix A 12975, B 12976, smtp-sink 12977, portals 12978 (A) and
# 12979 (B), nginx 12965 (TLS) and 12966.
. "$(dirname "$0")/lib.sh"
PORTAL_BIN=$BUILD/offload-portal
need_bins "$MILTER_BIN" "$CTL" "$PORTAL_BIN"
[ -f "$BUILD/liboffload.a" ] || bail "missing $BUILD/liboffload.a"
command -v nginx >/dev/null || bail "nginx missing (tools/deps)"
SWP=12970 PFA=12975 PFB=12976 SINKP=12977 PA=12978 PB=12979 NGX=12965 NGX80=12966
EP=http://127.0.0.1:$SWP BUCKET=offload-scale SD=$T/swift SW="bash $IT/swift.sh"
PUB=https://127.0.0.1:$NGX          # [portal] url of every node: the nginx in front
SINK=$T/sink
trap '$SW stop "$SD" $SWP >/dev/null 2>&1; _lib_cleanup' EXIT

t0=$(now)
# Swift starts in the background while the two Postfix instances are set up
($SW setup "$SD" $SWP && $SW start "$SD" $SWP) > "$T/swift.log" 2>&1 &
SWPID=$!

# ---- one deployment: shared key files, one bucket; per node its own spool, audit log, notices --
K=$T/keys; mkdir -p "$K" "$T/s3"; chmod 700 "$K"
openssl rand -hex 32 > "$K/deployment.key"; openssl rand -hex 32 > "$K/ticket.key"; chmod 600 "$K"/*.key
printf '[credentials]\naccess_key = test:tester\nsecret_key = testing\n' > "$T/s3/creds"; chmod 600 "$T/s3/creds"
COMMON=(storage.backend=s3 "storage.endpoint=$EP" "storage.bucket=$BUCKET" "storage.credentials_file=$T/s3/creds"
	"security.deployment_key_file=$K/deployment.key" "portal.ticket_key_file=$K/ticket.key" "portal.url=$PUB"
	portal.trusted_proxy=127.0.0.1/32 portal.unlock_failures_per_ip=3 portal.password_failures=1)
conf_write a "${COMMON[@]}" portal.listen=127.0.0.1:$PA
conf_write b "${COMMON[@]}" portal.listen=127.0.0.1:$PB
for n in a b; do
	p=$([ $n = a ] && echo $PFA || echo $PFB)
	pf_setup $n "$p" "$SINKP" || bail "Postfix $n setup"
	postconf -c "$(pf_cf $n)" -e "smtpd_milters = $(conf_socket $n)" "non_smtpd_milters = $(conf_socket $n)"
done
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start a || bail "Postfix A start"
pf_start b || bail "Postfix B start"
random_file "$T/a.bin" 1300000; random_file "$T/b.bin" 1200000; random_file "$T/c.bin" 1100000
make_eml "$T/a.eml" "Plan A" "Anbei." "$T/a.bin" plan-a.bin || bail "build message A"
make_eml "$T/b.eml" "Plan B" "Anbei." "$T/b.bin" plan-b.bin || bail "build message B"
make_eml "$T/c.eml" "[STRENG VERTRAULICH] Befund" "Anbei." "$T/c.bin" befund.bin || bail "build message C"
wait $SWPID || { sed 's/^/# /' "$T/swift.log" | tail -20; bail "Swift start (packages: tools/deps/s3.apt)"; }
printf 'machine 127.0.0.1 login test:tester password testing\n' > "$T/netrc"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3curl() { curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" -H "x-amz-content-sha256: $EMPTY" "$@"; }
for i in $(seq 1 20); do
	[ "$(s3curl -o /dev/null -w '%{http_code}' -X PUT "$EP/$BUCKET")" = 200 ] && break; sleep 0.5
done
keys() { s3curl "$EP/$BUCKET?list-type=2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'; }
tkeys() { keys | sed -n "s|^$1/||p" | sort | tr '\n' ' '; }   # tkeys ID: its object names
milter_start a || bail "milter A ($(tail -3 "$T/a/milter.log"))"
milter_start b || bail "milter B ($(tail -3 "$T/b/milter.log"))"
ok "Swift + 2 × (Postfix + offload-milter) up ($(since "$t0"))"

# ---- mail through both nodes --------------------------------------------------------------------
smtp_send $PFA "$T/a.eml" alice@example.org bob@example.net; QA=$SMTP_QID; is250 || not_ok "A: $SMTP_REPLY"
smtp_send $PFB "$T/b.eml" carol@example.org bob@example.net; QB=$SMTP_QID; is250 || not_ok "B: $SMTP_REPLY"
smtp_send $PFB "$T/c.eml" dave@example.org bob@example.net; QC=$SMTP_QID; is250 || not_ok "B: $SMTP_REPLY"
wait_removed a "$QA" 60; wait_removed b "$QB" 60; wait_removed b "$QC" 60
link_of() {  # link_of SENDER: the link in the delivered message of SENDER
	local f; f=$(sink_find "$SINK" "$1"); [ -n "$f" ] || return 1
	sink_eml "$f" "$T/$1.eml"
	grep -aoE "$PUB/t/[a-z2-7]{24}#[A-Za-z0-9_-]{22}" "$T/$1.eml" | head -1
}
LA=$(link_of alice@example.org); LB=$(link_of carol@example.org); LC=$(link_of dave@example.org)
secret "$LA" "$LB" "$LC"
checkx "node A's and node B's messages were delivered offloaded (links for $PUB)" '[ -n "$LA" ] && [ -n "$LB" ] && [ -n "$LC" ]'
id_of() { sed -E 's|.*/[tr]/([a-z2-7]{24})#.*|\1|' <<<"$1"; }
IA=$(id_of "$LA") SA=${LA##*#} IB=$(id_of "$LB") SB=${LB##*#} IC=$(id_of "$LC") SC=${LC##*#}
checkx "all three transfers are in the one bucket; one keyid object (one deployment key)" \
	'[ "$(tkeys "$IA")" = "0 m n s x " ] && [ "$(tkeys "$IB")" = "0 m n s x " ] && [ -n "$(tkeys "$IC")" ] &&
	 [ "$(keys | grep -cx keyid)" = 1 ]'
RL=$(grep -haoE "$PUB/r/$IA#[A-Za-z0-9_-]{22}" "$T"/a/notify/*.eml 2>/dev/null | head -1); secret "$RL"
check "node A's confirmation mail (its own notices) carries the revoke link" [ -n "$RL" ]

# ---- two portals, one nginx ---------------------------------------------------------------------
for n in a b; do
	"$PORTAL_BIN" -f -c "$(conf_path $n)" > "$T/portal-$n.log" 2>&1 &
	_BG_PIDS+=($!)
done
N=$T/nginx; mkdir -p "$N/logs"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=files.example.gov \
	-keyout "$N/key.pem" -out "$N/cert.pem" >/dev/null 2>&1
# as an admin would: docs/nginx-portal.conf with one server line per portal node in the upstream
sed -e "s|server 127.0.0.1:8025;|server 127.0.0.1:$PA;\n    server 127.0.0.1:$PB;|" \
	-e "s|listen 80;|listen 127.0.0.1:$NGX80;|; s|listen 443 ssl|listen 127.0.0.1:$NGX ssl|" -e '/listen \[::\]/d' \
	-e "s|/etc/ssl/certs/files.example.gov.pem|$N/cert.pem|; s|/etc/ssl/private/files.example.gov.key|$N/key.pem|" \
	-e "s|/var/log/nginx/|$N/logs/|" "$SRCDIR/docs/nginx-portal.conf" > "$N/portal.conf"
cat > "$N/nginx.conf" <<NGINX
pid $N/nginx.pid;
error_log $N/logs/error.log;
events { worker_connections 64; }
http {
  client_body_temp_path $N/body; proxy_temp_path $N/proxy; fastcgi_temp_path $N/fcgi;
  uwsgi_temp_path $N/uwsgi; scgi_temp_path $N/scgi;
  include $N/portal.conf;
}
NGINX
nginx -p "$N" -c "$N/nginx.conf" -g 'daemon off;' 2>>"$N/logs/error.log" &
_BG_PIDS+=($!)
waitport $PA && waitport $PB || bail "portals listen ($(tail -2 "$T"/portal-*.log))"
waitport $NGX || bail "nginx starts ($(tail -2 "$N/logs/error.log"))"

A=http://127.0.0.1:$PA B=http://127.0.0.1:$PB
unlock() {  # unlock BASE ID SECRET [PASSWORD] [curl args]: HTTP status; body in $T/u.json
	local base=$1 id=$2 sec=$3 pw=${4:-}; shift 4 2>/dev/null || shift $#
	curl -sk -o "$T/u.json" -w '%{http_code}' "$@" -H 'Content-Type: application/json' \
		--data-binary "{\"secret\":\"$sec\"${pw:+,\"password\":\"$pw\"}}" "$base/t/$id/unlock"
	secrets_from_json "$T/u.json"
}
url0() { jget "$T/u.json" 'd["files"][0]["url"]'; }
downloads() { "$CTL" -c "$(conf_path a)" status "$1" --json > "$T/st.json" 2>/dev/null && jget "$T/st.json" 'd["files"][0]["downloads"]'; }
receipts() { grep -l "^X-Offload-Notice: $1; transfer=$2;" "$T"/a/notify/*.eml "$T"/b/notify/*.eml 2>/dev/null | wc -l; }
wait_receipts() { local i; for i in $(seq 1 600); do [ "$(receipts "$1" "$2")" -ge "$3" ] && return 0; sleep 0.05; done; return 1; }
ndl() { grep "event=download" "$(audit_path "$1")" 2>/dev/null | grep -c "$2"; }

# ---- A's transfer through B; download counts and the receipt once --------------------------------
st=$(unlock $B "$IA" "$SA"); UB=$(url0)
checkx "transfer written through node A: unlock through portal B ($st)" '[ "$st" = 200 ] && [ -n "$UB" ]'
curl -s -r 0-99999 "$A$UB" > "$T/p1"; curl -s -r 100000- "$B$UB" > "$T/p2"
checkx "B's ticket works on A (shared ticket key); a download split between A and B is byte-exact but counts nowhere (ranges are per portal)" \
	'cat "$T/p1" "$T/p2" | cmp -s - "$T/a.bin" && [ "$(downloads "$IA")" = 0 ] && [ "$(receipts receipt "$IA")" = 0 ]'
checkx "complete download through portal B directly: byte-exact, one receipt (by B), count 1" \
	'curl -sf "$B$UB" | cmp -s - "$T/a.bin" && wait_receipts receipt "$IA" 1 && [ "$(receipts receipt "$IA")" = 1 ] &&
	 [ "$(downloads "$IA")" = 1 ] && [ -n "$(tkeys "$IA" | grep -w oreceipt0)" ]'
curl -sf "$A$UB" | cmp -s - "$T/a.bin" || not_ok "complete download through portal A"
a0=$(ndl a "$IA") b0=$(ndl b "$IA")
st=$(unlock $PUB "$IA" "$SA"); UN=$(url0)
curl -skf "$PUB$UN" | cmp -s - "$T/a.bin" && curl -skf "$PUB$UN" | cmp -s - "$T/a.bin"; rc=$?
checkx "through nginx (TLS, both portals upstream): unlock + two downloads byte-exact; both portals served ($((a0)),$((b0)) -> $(ndl a "$IA"),$(ndl b "$IA"))" \
	'[ "$st" = 200 ] && [ $rc = 0 ] && wait_until 5 '\''[ "$(ndl a "$IA")" -gt "$a0" ] && [ "$(ndl b "$IA")" -gt "$b0" ]'\'''
sleep 0.3   # a second receipt would come from a detached thread
checkx "receipts = first across nodes: still one receipt after complete downloads on B, A and both via nginx; count 4" \
	'wait_until 5 '\''[ "$(downloads "$IA")" = 4 ]'\'' && [ "$(receipts receipt "$IA")" = 1 ]'
st=$(unlock $A "$IB" "$SB")
checkx "transfer written through node B: unlock + download through portal A" \
	'[ "$st" = 200 ] && curl -sf "$A$(url0)" | cmp -s - "$T/b.bin"'

# ---- rate limits: per portal process ------------------------------------------------------------
bad=${SA%?}A; [ "$bad" = "$SA" ] && bad=${SA%?}B
r=""; for i in 1 2 3 4; do r="$r $(unlock $A "$IA" "$bad" "" --interface 127.0.0.2)"; done
rb=$(unlock $B "$IA" "$bad" "" --interface 127.0.0.2)
checkx "unlock_failures_per_ip = 3 counts per portal: A answers 403 ×3 then 429 ($r), B still 403 ($rb)" \
	'[ "$r" = " 403 403 403 429" ] && [ "$rb" = 403 ]'
r1=$(unlock $A "$IC" "$SC" wrong-1); r2=$(unlock $B "$IC" "$SC" wrong-2); r3=$(unlock $A "$IC" "$SC" wrong-3)
wait_receipts bruteforce "$IC" 1; sleep 0.3
checkx "password_failures = 1 trips on each portal (A 401, B 401, A again 429: $r1 $r2 $r3); the sender is told once (obruteforce)" \
	'[ "$r1 $r2 $r3" = "401 401 429" ] && [ "$(receipts bruteforce "$IC")" = 1 ] && [ -n "$(tkeys "$IC" | grep -w obruteforce)" ]'

# ---- revoke through B, purge on A -----------------------------------------------------------------
st=$(curl -s -o "$T/r.json" -w '%{http_code}' -H 'Content-Type: application/json' -H "Origin: $B" \
	--data-binary "{\"secret\":\"${RL##*#}\"}" "$B/r/$IA/revoke")
checkx "revoked through portal B with the revoke link of A's confirmation ($st $(cat "$T/r.json"))" \
	'[ "$st" = 200 ] && grep -q "\"revoked\"" "$T/r.json"'
code() { curl -sk -o /dev/null -w '%{http_code}' "$@"; }
checkx "after the revoke: A, B and nginx answer 410 for the page; A's download ticket 410" \
	'[ "$(code "$A/t/$IA")" = 410 ] && [ "$(code "$B/t/$IA")" = 410 ] && [ "$(code "$PUB/t/$IA")" = 410 ] && [ "$(code "$A$UB")" = 410 ]'
CC="-std=c11 -D_GNU_SOURCE"; case "$BUILD" in *asan*) CC="$CC -fsanitize=address,undefined" ;; esac
PKGS="gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib"
# shellcheck disable=SC2046,SC2086
gcc $CC -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" -I"$SRCDIR/transfer" -I"$SRCDIR/pipeline" \
	-I"$SRCDIR/portal" $(pkg-config --cflags $PKGS) "$IT/portal_mktransfer.c" "$BUILD/liboffload.a" \
	$(pkg-config --libs $PKGS) -lpthread -o "$T/mktransfer" 2> "$T/mk.err" || { cat "$T/mk.err"; bail "build portal_mktransfer"; }
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$T/mktransfer" make "$(conf_path b)" --expires-in -60 "$T/c.bin" > "$T/exp.out" ||
	bail "write an expired transfer with node B's config"
IE=$(id_of "$(head -1 "$T/exp.out")"); secret "$(head -1 "$T/exp.out")"
"$CTL" -c "$(conf_path a)" purge > "$T/purge.out" 2>&1; rc=$?
note "$(cat "$T/purge.out")"
checkx "offloadctl purge on node A: exit 0; B's expired transfer gone, the revoked one only its tombstone; B's live one kept" \
	'[ $rc = 0 ] && [ -z "$(tkeys "$IE")" ] && [ "$(tkeys "$IA")" = "t " ] && [ "$(tkeys "$IB")" = "0 m n oreceipt0 s x " ] &&
	 [ "$(keys | grep -cx keyid)" = 1 ]'
checkx "node A's audit log records the purge; every node's audit log verifies" \
	'grep "event=purge" "$(audit_path a)" | grep "action=expired" | grep -q "$IE" &&
	 "$CTL" audit verify "$(audit_path a)" >/dev/null && "$CTL" audit verify "$(audit_path b)" >/dev/null'
secrets_harvest
check_no_secrets
note "took $(since "$t0")"
finish
