#!/bin/bash
# test_storage_s3.sh - the s3 backend against a real S3 implementation: a private OpenStack
# Swift + s3api on 127.0.0.1:12840-12844 (tests/integration/swift.sh), started and stopped here
# (upload daemons of 5. on 12976, 12977).
#  1. the shared storage conformance suite (build/tests/test_storage with OFFLOAD_TEST_S3_CONF)
#  2. s3 specifics (build/tests/test_storage_s3): list pages of 7, 12 MiB in 5 MiB parts,
#     aborted uploads, wrong credentials -> EPERM, virtual-host style, proxy stopped between
#     writes and killed mid-upload -> ETEMP and no visible object, a timed 200 MiB put
#  3. offloadctl process with backend = s3, then offloadctl open: byte-exact
#  3b. offloadctl purge aborts stale multipart uploads: writers killed mid-upload (storage_helper
#     crashput: initiate + a part, no complete/abort) leave uploads that ListMultipartUploads
#     (curl --aws-sigv4) shows; purge --orphan-age 4s aborts the old ones (listed in pages of
#     one upload) and keeps one started just before the purge
#  4. throughput: the backend's 200 MiB put vs curl --aws-sigv4 -T of 200 MiB to the same Swift
#  5. citizen uploads (offload-upload, `offloadctl upload`) on this Swift: upload_store.sh
# Missing Swift packages are a failure (tools/deps/s3.apt; tools/install-deps.sh installs them).
. "$(dirname "$0")/lib.sh"
need_bins "$CTL" "$BUILD/tests/test_storage" "$BUILD/tests/test_storage_s3"
PORT=12840
EP=http://127.0.0.1:$PORT
BUCKET=offload-test
SD=$T/swift
SW="bash $IT/swift.sh"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
trap '$SW stop "$SD" >/dev/null 2>&1; _lib_cleanup' EXIT
# one run at a time on these ports (e.g. CI in a clone and a developer's run): wait for the other
exec 8>/tmp/.offload-test-s3-$PORT.lock
flock -w 300 8 || bail "another run holds /tmp/.offload-test-s3-$PORT.lock for 5 minutes"

# ---- a private Swift -----------------------------------------------------------------------
t0=$(now)
$SW setup "$SD" $PORT > "$T/swift-setup.log" 2>&1 || { sed 's/^/# /' "$T/swift-setup.log"; bail "swift setup (packages: tools/deps/s3.apt)"; }
$SW start "$SD" $PORT > "$T/swift-start.log" 2>&1 || { sed 's/^/# /' "$T/swift-start.log" "$SD"/run/*.log | tail -20; bail "swift start"; }
ok "Swift + s3api up on $EP in $(since "$t0")"
printf 'machine 127.0.0.1 login test:tester password testing\n' > "$T/netrc"
s3curl() { curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" "$@"; }
for i in 1 2 3 4 5 6 7 8 9 10; do   # a fresh Swift may answer 503 for a moment
	code=$(s3curl -o /dev/null -w '%{http_code}' -X PUT -H "x-amz-content-sha256: $EMPTY" "$EP/$BUCKET")
	[ "$code" = 200 ] && break; sleep 0.5
done
check "bucket $BUCKET created with curl --aws-sigv4 (HTTP $code)" [ "$code" = 200 ]

mkdir -p "$T/s3"
printf '[credentials]\naccess_key = test:tester\nsecret_key = testing\n' > "$T/s3/creds"
chmod 600 "$T/s3/creds"
S3KEYS=(storage.backend=s3 storage.endpoint=$EP storage.bucket=$BUCKET storage.credentials_file=$T/s3/creds)
conf_write s3 "${S3KEYS[@]}" storage.prefix=conformance storage.part_size=5M
conf_write e2e "${S3KEYS[@]}" storage.prefix=e2e policy.offload_min_size=100k

# run_unit NAME ENV... : run a unit binary, fold its ok/not ok lines into our counts
run_unit() {
	local bin=$1 out=$T/$1.out rc; shift
	t0=$(now)
	env "$@" "$BUILD/tests/$bin" > "$out" 2>"$T/$bin.err"; rc=$?
	grep -E '^(ok|not ok|#)' "$out" | grep -vE '^[0-9]+ passed' 
	PASS=$((PASS + $(grep -c '^ok' "$out"))); FAIL=$((FAIL + $(grep -c '^not ok' "$out")))
	note "$bin: $(grep -E '^[0-9]+ passed' "$out" | tail -1) in $(since "$t0")"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out"; then not_ok "$bin exited $rc"; tail -5 "$T/$bin.err" | sed 's/^/# /'; fi
	if grep -qiE 'testing|secret_key *=' "$T/$bin.err"; then not_ok "$bin: a secret appears in its log"; else ok "$bin: no secret in its log"; fi
}

# ---- 1. conformance, 2. s3 specifics --------------------------------------------------------
run_unit test_storage OFFLOAD_TEST_S3_CONF="$(conf_path s3)"
run_unit test_storage_s3 OFFLOAD_TEST_S3_CONF="$(conf_path s3)" OFFLOAD_TEST_S3_BENCH_MB=200 \
	OFFLOAD_TEST_S3_STOP="$SW stop-proxy $SD $PORT" OFFLOAD_TEST_S3_START="$SW start-proxy $SD $PORT" \
	OFFLOAD_TEST_S3_KILL="$SW kill-proxy $SD $PORT"
ours=$(sed -n 's/^# bench-seconds //p' "$T/test_storage_s3.out")

# ---- 3. end to end: offloadctl process -> Swift -> offloadctl open ---------------------------
random_file "$T/report.pdf" 3000000
random_file "$T/data.bin" 700000
make_eml "$T/in1.eml" "s3 e2e" "see attachment" "$T/report.pdf" report.pdf application/pdf
"$CTL" -c "$(conf_path e2e)" process < "$T/in1.eml" > "$T/out1.eml" 2> "$T/p1.err"
check "offloadctl process with backend = s3 exits 0 ($(head -c 200 "$T/p1.err"))" [ -s "$T/out1.eml" ]
check_offloaded "s3 e2e" "$T/out1.eml" e2e "$T/report.pdf"
keys=$(s3curl -H "x-amz-content-sha256: $EMPTY" "$EP/$BUCKET?list-type=2&prefix=e2e%2F" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g')
note "objects in the bucket: $(echo $keys)"
checkx "the transfer's objects are in the bucket under prefix e2e/, keys are random ids only" \
	'[ -n "$keys" ] && ! grep -vqE "^e2e/[a-z0-9/]+$" <<<"$keys" && ! grep -qi report <<<"$keys"'
make_eml "$T/in2.eml" "s3 e2e 2" "another" "$T/data.bin" data.bin
"$CTL" -c "$(conf_path e2e)" process < "$T/in2.eml" > "$T/out2.eml" 2> "$T/p2.err"
check_offloaded "s3 e2e second transfer" "$T/out2.eml" e2e "$T/data.bin"
checkx "no secret in the offloadctl logs" '! grep -qi testing "$T/p1.err" "$T/p2.err"'

# with the proxy down, process fails temporarily (exit 75) and writes nothing
$SW stop-proxy "$SD" $PORT
OFFLOAD_S3_ATTEMPTS=2 "$CTL" -c "$(conf_path e2e)" process < "$T/in1.eml" > "$T/out3.eml" 2> "$T/p3.err"; rc=$?
checkx "S3 down: offloadctl process exits 75 and writes nothing (exit $rc)" '[ $rc = 75 ] && [ ! -s "$T/out3.eml" ]'
$SW start-proxy "$SD" $PORT > /dev/null || bail "proxy restart"

# ---- 3b. purge: stale multipart uploads --------------------------------------------------------
HELPER=$T/storage_helper
SANFLAGS=
[ "$(nm "$BUILD/liboffload.a" 2>/dev/null | grep -c __asan_)" -gt 0 ] && SANFLAGS="-fsanitize=address,undefined"
gcc $SANFLAGS -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -I"$SRCDIR/common" -I"$SRCDIR/storage-backend" \
	-I"$SRCDIR/transfer" -I"$SRCDIR/pipeline" $(pkg-config --cflags glib-2.0 gmime-3.0 json-glib-1.0 openssl) \
	-o "$HELPER" "$IT/storage_helper.c" "$BUILD/liboffload.a" \
	$(pkg-config --libs gmime-3.0 glib-2.0 json-glib-1.0 openssl libcurl libargon2 libmagic zlib) \
	-lpthread 2>"$T/helper.log" || { cat "$T/helper.log"; bail "storage_helper compiles"; }
conf_write mpu "${S3KEYS[@]}" storage.prefix=mpu storage.part_size=5M
# uploads_of: "KEY UPLOADID" lines of the in-progress multipart uploads below mpu/, straight from Swift
uploads_of() {
	s3curl -H "x-amz-content-sha256: $EMPTY" "$EP/$BUCKET?prefix=mpu%2F&uploads=" |
		$PY -c 'import sys, xml.etree.ElementTree as E
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
r = E.fromstring(sys.stdin.read())
for u in r.iter(ns + "Upload"):
    print(u.find(ns + "Key").text, u.find(ns + "UploadId").text)'
}
r=ok
for i in 1 2 3; do
	o=$("$HELPER" crashput "$(conf_path mpu)" "stale${i}aaaaaaaaaaaaaaaaaaa/0" 2>>"$T/crash.err"); [ "$o" = ok ] || r="$o"
done
check "three writers died mid-upload (initiate + 5 MiB part, no complete/abort) ($r)" [ "$r" = ok ]
old=$(uploads_of)
check "ListMultipartUploads shows their 3 uploads ($(wc -l <<<"$old"))" [ "$(grep -c '^mpu/stale' <<<"$old")" = 3 ]
sleep 6   # the 3 are now older than the --orphan-age below; the next one is not
o=$("$HELPER" crashput "$(conf_path mpu)" "freshaaaaaaaaaaaaaaaaaaa/0" 2>>"$T/crash.err")
check "a fourth writer died just now ($o)" [ "$o" = ok ]
out=$("$CTL" -c "$(conf_path mpu)" purge --orphan-age 4s --dry-run 2>"$T/purge-dry.err")
n=$(uploads_of | wc -l)
check "purge --dry-run finds the 3 stale uploads and aborts none ($out; $n uploads)" \
	bash -c 'grep -q "3 stale uploads found" <<<"$1" && [ "$2" = 4 ]' _ "$out" "$n"
out=$(OFFLOAD_S3_LIST_MAX_KEYS=1 "$CTL" -c "$(conf_path mpu)" purge --orphan-age 4s 2>"$T/purge.err"); rc=$?
check "purge (ListMultipartUploads in pages of 1) exits 0 and aborts 3 ($out)" \
	bash -c '[ $1 = 0 ] && grep -q "3 stale uploads aborted" <<<"$2"' _ $rc "$out"
left=$(uploads_of)
check "ListMultipartUploads: the 3 stale uploads are gone, the fresh one is kept ($(echo $left))" \
	bash -c '[ "$(wc -l <<<"$1")" = 1 ] && grep -q "^mpu/freshaaaaaaaaaaaaaaaaaaa/0 " <<<"$1"' _ "$left"
a=$(audit_path mpu)
check "audit: 3 purge events action=stale-upload with the ids" \
	bash -c '[ "$(grep "event=purge" "$1" | grep "action=stale-upload" | grep -c "transfer=stale[123]a")" = 3 ]' _ "$a"
check "audit chain verifies" "$CTL" audit verify "$a"
fresh_id=$(awk '{print $2}' <<<"$left")
s3curl -o /dev/null -X DELETE -H "x-amz-content-sha256: $EMPTY" "$EP/$BUCKET/mpu/freshaaaaaaaaaaaaaaaaaaa/0?uploadId=$fresh_id"
check "the fresh upload aborted by hand; none left" [ -z "$(uploads_of)" ]

# ---- 4. throughput vs curl ------------------------------------------------------------------
head -c $((200 * 1024 * 1024)) /dev/zero | tr '\0' 'Z' > "$T/big.bin"
t0=$(now)
code=$(s3curl -o /dev/null -w '%{http_code}' -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$T/big.bin" "$EP/$BUCKET/curl-bench.bin")
curl_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
check "curl --aws-sigv4 -T 200 MiB: HTTP $code" [ "$code" = 200 ]
s3curl -o /dev/null -X DELETE -H "x-amz-content-sha256: $EMPTY" "$EP/$BUCKET/curl-bench.bin"
rm -f "$T/big.bin"
if [ -n "$ours" ]; then
	note "throughput 200 MiB to Swift s3api: offload s3 backend $ours s ($(awk -v s="$ours" 'BEGIN{printf "%.0f", 200/s}') MiB/s, spooled, 16 MiB parts, SHA-256 signed), curl -T $curl_s s ($(awk -v s="$curl_s" 'BEGIN{printf "%.0f", 200/s}') MiB/s, one PUT, UNSIGNED-PAYLOAD); ratio backend/curl time $(awk -v a="$ours" -v b="$curl_s" 'BEGIN{printf "%.2f", a/b}')"
fi
# ---- 5. citizen uploads on S3 (upload_store.sh; upload daemons on 12976, 12977) -------------
. "$IT/upload_store.sh"
upload_store_run s3 "uploads on S3 (Swift s3api)" 12976 12977 "${S3KEYS[@]}" storage.prefix=upload
finish
