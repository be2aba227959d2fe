#!/bin/bash
# test_storage_check.sh - `offloadctl storage check` against real stores (ports 12920-12939):
#  file:   ok; store not writable for the service user (nobody) -> permission on open;
#          a shard directory it cannot write -> write denied, list works
#  s3:     Swift s3api (tests/integration/swift.sh, ports 12920-12924, object versioning on):
#          ok; versioning Enabled -> warning; wrong secret -> auth; a user with only a read
#          ACL -> write denied, with only a write ACL -> list denied; missing bucket; closed port
#          12929 -> connection refused; a .invalid host -> DNS; clock +1 h (libfaketime) ->
#          clock skew (RequestTimeTooSkewed) and the Date-header warning; clock -7 min -> works,
#          with the warning; https to the plain port -> TLS handshake; an nginx TLS proxy on
#          12925 with a self-signed certificate -> TLS certificate, ok with ca_file
#  webdav: nginx + dav-ext (tests/integration/davserver.sh, port 12926): ok on a plain URL (no
#          warning) and on a Nextcloud-style URL (trash bin/versions warning); wrong password ->
#          auth; /readonly/ -> write denied; /noread/ -> read denied; /nodelete/ -> delete denied
# Every run: exactly one line on stdout, exit 0/1, --json agrees with the text, and no secret
# appears on stdout or stderr (also with --verbose). Missing packages fail (tools/deps/*.apt).
. "$(dirname "$0")/lib.sh"
need_bins "$CTL"
SWP=12920          # Swift: 12920-12924
TLSP=12925         # nginx TLS proxy in front of Swift
DAVP=12926         # nginx WebDAV
DEADP=12929        # nothing listens here
SD=$T/swift
SW="bash $IT/swift.sh"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
SECRETS=(testing WrongSecret7x 'dav pass' WrongDavPw9 UrlPw5 readerpw)
trap '$SW stop "$SD" >/dev/null 2>&1; _lib_cleanup' EXIT
exec 8>/tmp/.offload-test-storage-check-$SWP.lock
flock -w 300 8 || bail "another run holds /tmp/.offload-test-storage-check-$SWP.lock for 5 minutes"

# sc NAME [VAR=VALUE...]: storage check with NAME's config, as text and as --json, wrapped in
# "${WRAP[@]}" (e.g. faketime); sets RC, JRC, LINE and J (the JSON file)
WRAP=()
sc() {
	local name=$1; shift
	env "$@" "${WRAP[@]}" "$CTL" storage check --config "$(conf_path "$name")" \
		> "$T/sc-$name.out" 2> "$T/sc-$name.err"; RC=$?
	env "$@" "${WRAP[@]}" "$CTL" storage check --config "$(conf_path "$name")" --json \
		> "$T/sc-$name.json" 2>> "$T/sc-$name.err"; JRC=$?
	LINE=$(cat "$T/sc-$name.out"); J=$T/sc-$name.json
	note "$name (exit $RC): $LINE"
}
# jf EXPR: a Python expression over the JSON answer d
jf() { $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$J" "$1" 2>/dev/null; }
# common NAME: one line, --json parses with the same summary and exit code, no secret anywhere
common() {
	local s f
	check "$1: exactly one line on stdout" [ "$(wc -l < "$T/sc-$1.out")" = 1 ]
	# (the two runs use different random probe keys, the server's Date header has a
	# resolution of one second: the clock offset may differ by one between them, and curl's
	# "Failed to connect ... after N ms" times each run's connect)
	local same='s|storagecheck/[0-9a-f]{16}|KEY|g; s|clock [-+][0-9]+ s|clock N s|; s|after [0-9]+ ms|after N ms|g'
	check "$1: --json has the same summary and exit code" \
		[ "$(jf 'd["summary"]' | sed -E "$same")" = "$(sed -E "$same" <<<"$LINE")" -a "$JRC" = "$RC" ]
	f=0
	for s in "${SECRETS[@]}"; do grep -qF "$s" "$T/sc-$1.out" "$T/sc-$1.json" "$T/sc-$1.err" && f=1; done
	check "$1: no credential on stdout or stderr" [ $f = 0 ]
}
# expect_ok NAME: exit 0, every operation ok
expect_ok() {
	check "$1: exit 0, all six operations ok ($LINE)" [ "$RC" = 0 -a "$(jf 'd["ok"]')" = True -a \
		"$(jf '",".join(d["operations"][k]["result"] for k in ("open","write","read","range","list","delete"))')" = ok,ok,ok,ok,ok,ok ]
	common "$1"
}
# expect_fail NAME OP CAUSE WORDS: exit 1, operation OP failed with CAUSE, the line says "<OP> FAILED: ...WORDS"
expect_fail() {
	local name=$1 op=$2 cause=$3 words=$4 tname=$2
	[ "$op" = range ] && tname="range read"
	[ "$op" = keyid ] && tname="deployment key"
	check "$name: exit 1, $op failed with cause $cause (json: $(jf 'd["operations"]["'"$op"'"]'))" \
		[ "$RC" = 1 -a "$(jf 'd["ok"]')" = False -a "$(jf 'd["operations"]["'"$op"'"]["result"]')" = failed \
		-a "$(jf 'd["operations"]["'"$op"'"]["cause"]')" = "$cause" ]
	check "$name: the line says '$tname FAILED: $words'" grep -qF "$tname FAILED: $words" "$T/sc-$name.out"
	common "$name"
}

# ---- file --------------------------------------------------------------------------------
conf_write fok
sc fok; expect_ok fok
check "fok: no probe left in the store" [ -z "$(find "$(store_path fok)" -type f)" ]
check "fok: no clock line without a server" bash -c '! grep -q clock "$1"' _ "$T/sc-fok.out"
# the service user (nobody) cannot write the store: the file backend's open probe fails
conf_write fdenied
chmod 755 "$T/fdenied"
S=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
command -v setpriv >/dev/null || bail "setpriv missing (util-linux)"
WRAP=("${S[@]}"); sc fdenied; WRAP=()
expect_fail fdenied open permission "permission denied"
check "fdenied: the line names the directory and the system's reason" \
	grep -qF "$(store_path fdenied): not writable: Permission denied" "$T/sc-fdenied.out"
# writable store, but the probe's shard directory is not: write denied, list still works
conf_write fshard
chown nobody:nogroup "$(store_path fshard)"
mkdir -m 755 "$(store_path fshard)/st"
WRAP=("${S[@]}"); sc fshard; WRAP=()
expect_fail fshard write permission "permission denied"
check "fshard: list works, read/range/delete not tried" \
	[ "$(jf 'd["operations"]["list"]["result"]')" = ok -a "$(jf 'd["operations"]["read"]["result"]')" = "not tried" ]
# the deployment key fingerprint (keyid, DECISIONS.md §13): this node's key against the store's
conf_write fkey policy.offload_min_size=2k
"$CTL" -c "$(conf_path fkey)" process < "$SRCDIR/tests/data/classify-mail/payslip.eml" > /dev/null 2>&1
sc fkey; expect_ok fkey
check "fkey: the deployment key matches the store's keyid object" [ "$(jf 'd["operations"]["keyid"]["result"]')" = ok ]
kf=$(find "$(store_path fkey)" -name keyid)
echo "offload keyid v1 0000000000000000" > "$kf"
sc fkey
expect_fail fkey keyid config "configuration (the store belongs to deployment key 0000000000000000"
check "fkey: the other operations still work" [ "$(jf 'd["operations"]["write"]["result"]')" = ok ]

# ---- s3: Swift s3api ---------------------------------------------------------------------
t0=$(now)
SWIFT_VERSIONING=1 $SW setup "$SD" $SWP > "$T/swift-setup.log" 2>&1 || { sed 's/^/# /' "$T/swift-setup.log"; bail "swift setup (packages: tools/deps/s3.apt)"; }
$SW start "$SD" $SWP > "$T/swift-start.log" 2>&1 || { sed 's/^/# /' "$T/swift-start.log" "$SD"/run/*.log | tail -20; bail "swift start"; }
ok "Swift + s3api up on 127.0.0.1:$SWP in $(since "$t0")"
printf 'machine 127.0.0.1 login test:tester password testing\n' > "$T/netrc"
s3curl() { curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" "$@"; }
for b in chk ver readonly writeonly; do
	for i in 1 2 3 4 5 6 7 8 9 10; do   # a fresh Swift may answer 503 for a moment
		code=$(s3curl -o /dev/null -w '%{http_code}' -X PUT -H "x-amz-content-sha256: $EMPTY" "http://127.0.0.1:$SWP/$b")
		[ "$code" = 200 ] && break; sleep 0.5
	done
	check "bucket $b created with curl --aws-sigv4 (HTTP $code)" [ "$code" = 200 ]
done
VB='<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'
code=$(s3curl -o /dev/null -w '%{http_code}' -X PUT -H "x-amz-content-sha256: $(printf %s "$VB" | sha256sum | cut -c1-64)" \
	--data-binary "$VB" "http://127.0.0.1:$SWP/ver?versioning=")
check "versioning enabled on bucket ver with curl (HTTP $code)" [ "$code" = 200 ]
# Swift ACLs (native API, tempauth token) for the non-admin user test:reader
tok=$(curl -sS -D - -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
	"http://127.0.0.1:$SWP/auth/v1.0" | sed -n 's/^X-Auth-Token: //ip' | tr -d '\r')
c1=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "X-Auth-Token: $tok" -H 'X-Container-Read: test:reader' \
	"http://127.0.0.1:$SWP/v1/AUTH_test/readonly")
c2=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H "X-Auth-Token: $tok" -H 'X-Container-Write: test:reader' \
	"http://127.0.0.1:$SWP/v1/AUTH_test/writeonly")
check "ACLs set: test:reader may read bucket readonly, write bucket writeonly (HTTP $c1 $c2)" [ "$c1" = 204 -a "$c2" = 204 ]
mkdir -p "$T/cred"
printf '[credentials]\naccess_key = test:reader\nsecret_key = readerpw\n' > "$T/cred/s3reader"
chmod 600 "$T/cred/s3reader"
printf '[credentials]\naccess_key = test:tester\nsecret_key = testing\n' > "$T/cred/s3"
printf '[credentials]\naccess_key = test:tester\nsecret_key = WrongSecret7x\n' > "$T/cred/s3bad"
chmod 600 "$T/cred/s3" "$T/cred/s3bad"
s3conf() {  # s3conf NAME ENDPOINT BUCKET CREDS [more keys]
	local n=$1 ep=$2 b=$3 c=$4; shift 4
	conf_write "$n" storage.backend=s3 "storage.endpoint=$ep" "storage.bucket=$b" \
		"storage.credentials_file=$T/cred/$c" "$@"
}
s3conf sok http://127.0.0.1:$SWP chk s3 storage.prefix=check/
sc sok; expect_ok sok
check "sok: no versioning warning, versioning state \"\"" \
	[ "$(jf 'd["warnings"]')" = "[]" -a "$(jf 'repr(d["versioning"])')" = "''" ]
check "sok: clock offset measured from the Date header, within 5 s" \
	[ -n "$(jf 'd["clock_offset_seconds"]')" ] && [ "$(jf 'abs(d["clock_offset_seconds"]) <= 5')" = True ]
keys=$(s3curl -H "x-amz-content-sha256: $EMPTY" "http://127.0.0.1:$SWP/chk?list-type=2" | grep -o '<Key>[^<]*</Key>')
check "sok: the probe was deleted (bucket empty: '$keys')" [ -z "$keys" ]
s3conf sver http://127.0.0.1:$SWP ver s3
sc sver
check "sver: exit 0 with a versioning warning ($LINE)" \
	[ "$RC" = 0 -a "$(jf 'd["versioning"]')" = Enabled ] && grep -qF "OK with warnings" "$T/sc-sver.out" && \
	grep -qF "warning: bucket versioning is Enabled: deleted, purged and revoked transfers stay retrievable" "$T/sc-sver.out"
common sver
s3conf sauth http://127.0.0.1:$SWP chk s3bad
sc sauth; expect_fail sauth open auth "authentication failed: wrong access_key or secret_key"
check "sauth: the line carries S3's error code" grep -qF "HTTP 403 SignatureDoesNotMatch" "$T/sc-sauth.out"
s3conf sro http://127.0.0.1:$SWP readonly s3reader
sc sro; expect_fail sro write permission "permission denied"
check "sro: HTTP 403 AccessDenied on the PUT; list works" \
	bash -c 'grep -qF "(PUT storagecheck/" "$1" && grep -qF "HTTP 403 AccessDenied" "$1" && grep -qF "list works" "$1"' _ "$T/sc-sro.out"
s3conf swo http://127.0.0.1:$SWP writeonly s3reader
sc swo; expect_fail swo open permission "permission denied"
check "swo: the denied operation is the listing done at open" grep -qF "(list bucket writeonly: HTTP 403 AccessDenied" "$T/sc-swo.out"
s3conf snob http://127.0.0.1:$SWP nosuchbucket s3
sc snob; expect_fail snob open missing-bucket "the bucket does not exist"
s3conf sport http://127.0.0.1:$DEADP chk s3
sc sport OFFLOAD_S3_ATTEMPTS=2; expect_fail sport open connection-refused "connection refused"
s3conf sdns http://offload-storage-check.invalid:$SWP chk s3
sc sdns OFFLOAD_S3_ATTEMPTS=2; expect_fail sdns open dns "DNS: the host name does not resolve"
check "sdns: plain http to a non-loopback host is warned about" \
	grep -qF "warning: plain http to offload-storage-check.invalid" "$T/sc-sdns.out"
check "sok: no plain-http warning for loopback" bash -c '! grep -q "plain http" "$1"' _ "$T/sc-sok.out"
s3conf stlsproto https://127.0.0.1:$SWP chk s3
sc stlsproto OFFLOAD_S3_ATTEMPTS=2; expect_fail stlsproto open tls "TLS handshake failed"

# clock skew: libfaketime moves this process's clock; Swift allows 15 minutes
FT_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
if ! command -v faketime >/dev/null || [ -z "$FT_LIB" ]; then
	not_ok "faketime missing (tools/deps/storagecheck.apt): clock skew not tested"
else
	# an ASan build wants its runtime first; libfaketime is preloaded before it
	FT_ENV=(FAKETIME_DONT_FAKE_MONOTONIC=1 "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	WRAP=(faketime -f +1h); sc sok "${FT_ENV[@]}"; WRAP=()
	expect_fail sok open clock-skew "clock skew"
	check "clock +1 h: RequestTimeTooSkewed and a Date-header warning of 3600 s +- 5" \
		bash -c 'grep -qF RequestTimeTooSkewed "$1" && grep -qE "this host.s clock is 3[56][09][0-9] s ahead of the server" "$1"' _ "$T/sc-sok.out"
	check "clock +1 h: json clock_offset_seconds 3595..3605" [ "$(jf '3595 <= d["clock_offset_seconds"] <= 3605')" = True ]
	WRAP=(faketime -f -7m); sc sok "${FT_ENV[@]}"; WRAP=()
	check "clock -7 min: works (exit 0) with a warning of 420 s +- 5 behind ($LINE)" \
		[ "$RC" = 0 -a "$(jf '415 <= -d["clock_offset_seconds"] <= 425')" = True ] && \
		grep -qE "OK with warnings: .*this host.s clock is 4[12][0-9] s behind the server" "$T/sc-sok.out"
	common sok
fi

# TLS: nginx terminates TLS with a self-signed certificate and passes the signed Host on
TD=$T/tls; mkdir -p "$TD/tmp"; chown nobody:nogroup "$TD/tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TD/key.pem" \
	-out "$TD/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	> "$TD/openssl.log" 2>&1 || { cat "$TD/openssl.log"; bail "self-signed certificate"; }
cat > "$TD/nginx.conf" <<CONF
pid $TD/nginx.pid;
error_log $TD/error.log warn;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $TD/tmp;
  proxy_temp_path $TD/tmp;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$TLSP ssl;
    ssl_certificate $TD/cert.pem;
    ssl_certificate_key $TD/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://127.0.0.1:$SWP;
      proxy_set_header Host \$http_host;   # SigV4 signed this Host
      proxy_http_version 1.1;
      proxy_request_buffering off;
    }
  }
}
CONF
nginx -c "$TD/nginx.conf" -p "$TD" > "$TD/start.log" 2>&1 || { cat "$TD/start.log"; bail "nginx TLS proxy starts"; }
waitport $TLSP || bail "nginx TLS proxy listens on $TLSP"
_BG_PIDS+=("$(cat "$TD/nginx.pid")")
s3conf stls https://127.0.0.1:$TLSP chk s3
sc stls OFFLOAD_S3_ATTEMPTS=2; expect_fail stls open tls-certificate "TLS certificate not trusted"
check "stls: the line has OpenSSL's reason" grep -qiF "self-signed certificate" "$T/sc-stls.out"
s3conf stlsca https://127.0.0.1:$TLSP chk s3 "storage.ca_file=$TD/cert.pem"
sc stlsca; expect_ok stlsca

# ---- webdav: nginx + dav-ext -------------------------------------------------------------
DAV=$T/dav
bash "$IT/davserver.sh" start "$DAV" $DAVP davuser 'dav pass:1' > "$T/dav.log" 2>&1 || { cat "$T/dav.log"; bail "nginx WebDAV starts (tools/deps/webdav.apt)"; }
_BG_PIDS+=("$(cat "$DAV/nginx.pid")")
printf '[credentials]\nusername = davuser\npassword = dav pass:1\n' > "$T/cred/dav"
printf '[credentials]\nusername = davuser\npassword = WrongDavPw9\n' > "$T/cred/davbad"
chmod 600 "$T/cred/dav" "$T/cred/davbad"
davconf() { conf_write "$1" storage.backend=webdav "storage.url=http://127.0.0.1:$DAVP/$2" "storage.credentials_file=$T/cred/$3"; }
davconf dok plain/ dav
sc dok; expect_ok dok
check "dok: plain WebDAV: no warning" [ "$(jf 'd["warnings"]')" = "[]" ]
check "dok: no probe left on the server" [ -z "$(find "$DAV/data/plain" -type f)" ]
davconf dnc remote.php/dav/files/davuser/offload dav
sc dnc
check "dnc: Nextcloud-style URL: exit 0 with the trash bin/versions warning ($LINE)" \
	[ "$RC" = 0 ] && grep -qF "warning: Nextcloud/ownCloud: its trash bin and file versions keep deleted" "$T/sc-dnc.out"
common dnc
davconf dauth plain/ davbad
sc dauth; expect_fail dauth write auth "authentication failed: wrong username or password"
check "dauth: HTTP 401 in the line" grep -qF "HTTP 401" "$T/sc-dauth.out"
"$CTL" storage check --config "$(conf_path dauth)" --verbose > "$T/sc-v.out" 2> "$T/sc-v.err"
check "dauth --verbose: the backend's log lines on stderr, no password in them" \
	bash -c 'grep -q "storage webdav: MKCOL" "$1" && ! grep -qE "WrongDavPw9|dav pass" "$1" "$2"' _ "$T/sc-v.err" "$T/sc-v.out"
check "dauth without --verbose: nothing on stderr" [ ! -s "$T/sc-dauth.err" ]
davconf dro readonly/ dav
sc dro; expect_fail dro write permission "permission denied"
check "dro: list works; read, range, delete not tried" \
	[ "$(jf 'd["operations"]["list"]["result"]+d["operations"]["delete"]["result"]')" = "oknot tried" ]
davconf dnr noread/ dav
sc dnr; expect_fail dnr read permission "permission denied"
check "dnr: range read denied too, write/list/delete work" \
	[ "$(jf '",".join(d["operations"][k]["result"] for k in ("write","range","list","delete"))')" = ok,failed,ok,ok ]
davconf dnd nodelete/ dav
sc dnd; expect_fail dnd delete permission "permission denied"
check "dnd: the line warns that the probe stays" grep -qF "stays in the store" "$T/sc-dnd.out"

# configuration mistakes: no request made, cause "config", still no secret in the line
conf_write durl storage.backend=webdav "storage.url=http://davuser:UrlPw5@127.0.0.1:$DAVP/plain/" \
	"storage.credentials_file=$T/cred/dav"
sc durl; expect_fail durl open config "configuration"
check "durl: the location is shown without the user info" \
	grep -qF "webdav http://127.0.0.1:$DAVP/plain/:" "$T/sc-durl.out"
s3conf s3ftp ftp://test:UrlPw5@127.0.0.1:$SWP chk s3
sc s3ftp; expect_fail s3ftp open config "configuration"
chmod 644 "$T/cred/s3bad"
s3conf s3mode http://127.0.0.1:$SWP chk s3bad
sc s3mode; expect_fail s3mode open config "configuration"
check "s3mode: the line says the credentials file is readable by others" \
	grep -qF "lets others read or change it" "$T/sc-s3mode.out"

# ---- usage ---------------------------------------------------------------------------------
"$CTL" storage check --bogus > /dev/null 2>&1; rc=$?
check "storage check --bogus: exit 64 (usage)" [ $rc = 64 ]
"$CTL" storage check --config "$T/none.conf" > /dev/null 2>&1; rc=$?
check "storage check with a missing config file: exit 78" [ $rc = 78 ]
finish
