#!/bin/bash
# test_two_stage_s3.sh - issue 5 fault injection and end to end on the s3 backend (flow in
# two_stage_store.sh), in the
# DECISIONS.md §4 two-stage reference setup, with a real Swift + s3api:
#   stage 1 Postfix :12890 -> stage 2 Postfix + offload-milter (s3) :12891 -> smtp-sink :12892;
#   milter on :12893, portal on :12894, Swift on 12880-12884.
#  1. S3 proxy stopped: stage 2 answers 4xx, stage 1 keeps the message, the sink gets nothing,
#     the bucket holds no object (no half object, no orphaned manifest).
#  2. S3 back, stage 1 flushed: delivered offloaded; `offloadctl list` shows exactly one live
#     transfer whose objects are all there; the portal serves it (`offloadctl fetch`)
#     byte-exact; `offloadctl revoke` -> the portal answers 410 (fetch exits 69) and
#     `offloadctl purge` leaves only the tombstone.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL" "$BUILD/offload-portal"
SWP=12880 P1=12890 P2=12891 SINKP=12892 MPORT=12893 PPORT=12894
EP=http://127.0.0.1:$SWP BUCKET=offload-2stage SD=$T/swift SW="bash $IT/swift.sh"
SINK=$T/sink
trap '$SW stop "$SD" $SWP >/dev/null 2>&1; _lib_cleanup' EXIT

t=$(now)
$SW setup "$SD" $SWP > "$T/swift.log" 2>&1 && $SW start "$SD" $SWP >> "$T/swift.log" 2>&1 ||
	{ sed 's/^/# /' "$T/swift.log" | tail -20; bail "Swift start (packages: tools/deps/s3.apt)"; }
printf 'machine 127.0.0.1 login test:tester password testing\n' > "$T/netrc"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3curl() { curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" -H "x-amz-content-sha256: $EMPTY" "$@"; }
for i in $(seq 1 20); do
	[ "$(s3curl -o /dev/null -w '%{http_code}' -X PUT "$EP/$BUCKET")" = 200 ] && break; sleep 0.5
done
bucket_keys() { s3curl "$EP/$BUCKET?list-type=2" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'; }
mkdir -p "$T/m"
printf '[credentials]\naccess_key = test:tester\nsecret_key = testing\n' > "$T/m/creds"; chmod 600 "$T/m/creds"
conf_write m "milter.socket=inet:$MPORT@127.0.0.1" policy.offload_min_size=1M storage.backend=s3 \
	storage.endpoint=$EP storage.bucket=$BUCKET storage.credentials_file=$T/m/creds \
	portal.listen=127.0.0.1:$PPORT portal.url=http://127.0.0.1:$PPORT portal.ticket_key_file=$T/m/ticket.key
. "$IT/two_stage_store.sh"
STORE_LABEL="S3 (Swift s3api)"
store_down() { $SW stop-proxy "$SD" $SWP > /dev/null 2>&1; }
store_up() { $SW start-proxy "$SD" $SWP > /dev/null 2>&1; }
two_stage_store_test
finish
