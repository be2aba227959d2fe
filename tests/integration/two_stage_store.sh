# two_stage_store.sh - sourced by test_two_stage_s3.sh and test_two_stage_webdav.sh: the
# DECISIONS.md §4 two-stage reference setup run against one storage backend (issue 5 fault
# injection and end to end). The caller starts its storage server, writes config "m" (milter on MPORT, portal on
# PPORT, its backend), sets P1 P2 SINKP MPORT PPORT SINK STORE_LABEL and defines:
#   store_down / store_up   stop and restart the storage server
#   bucket_keys             committed object keys, one per line, as "<id>/<name>"
#  1. store down: stage 2 answers 4xx, stage 1 keeps the message, the sink gets nothing, no
#     object is visible (no half object, no orphaned manifest).
#  2. store back, stage 1 flushed: delivered offloaded; `offloadctl list` shows one live
#     transfer whose objects are all there; the portal serves it (`offloadctl fetch`) byte-exact;
#     `offloadctl revoke` -> 410 (fetch exits 69); `offloadctl purge` leaves only the tombstone.
two_stage_store_test() {
	pf_setup s1 "$P1" "$P2" || bail "stage 1 setup"
	pf_setup s2 "$P2" "$SINKP" || bail "stage 2 setup"
	postconf -c "$(pf_cf s2)" -e "receive_override_options = no_address_mappings"
	sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
	pf_start s1 || bail "stage 1 start"
	pf_start s2 || bail "stage 2 start"
	milter_start m || bail "offload-milter start ($(tail -3 "$T/m/milter.log"))"
	pf_milter s2 "inet:127.0.0.1:$MPORT" || bail "stage 2 smtpd_milters"
	ok "$STORE_LABEL + two Postfix stages + smtp-sink + offload-milter up ($(since "$t"))"

	# ---- 1. store down --------------------------------------------------------------------------------
	random_file "$T/plan.pdf" $((6 * 1024 * 1024))
	make_eml "$T/a.eml" "Plan" "Anbei der Plan." "$T/plan.pdf" plan.pdf application/pdf || bail "build message"
	transfer_keys() { bucket_keys | grep -vx keyid; }
	store_down
	smtp_send "$P1" "$T/a.eml" alice@example.org bob@example.net
	check "stage 1 accepts the message ($SMTP_REPLY)" is250
	q1=$SMTP_QID
	wait_log s1 "$q1: .*status=deferred" 90
	dline=$(grep -E "$q1: .*status=deferred" "$(pf_log s1)" | head -1)
	check "$STORE_LABEL down: stage 2 answered 4xx, stage 1 deferred" bash -c 'grep -qE "said: 4[0-9][0-9]" <<<"$1"' _ "$dline"
	checkx "the message waits in stage 1's queue" 'queue_ids s1 | grep -qx "$q1"'
	check "nothing reached the sink" [ "$(sink_count "$SINK")" = 0 ]
	store_up || bail "restart $STORE_LABEL"
	checkx "no transfer object in the store: no half object, no orphaned manifest" '[ -z "$(transfer_keys)" ]'

	# ---- 2. store back ---------------------------------------------------------------------------------
	t=$(now)
	postqueue -c "$(pf_cf s1)" -f
	wait_removed s1 "$q1" 120
	q2=$(qid_of s2 alice@example.org)
	[ -n "$q2" ] && wait_removed s2 "$q2" 60
	checkx "after $STORE_LABEL is back and stage 1 flushed: delivered ($(since "$t"))" '[ -n "$q2" ] && delivered s2 "$q2"'
	f=$(sink_find "$SINK" alice@example.org)
	[ -n "$f" ] && sink_eml "$f" "$T/a.out.eml"
	link=$($PY -c '
import email, email.policy, re, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for p in m.walk():
    if p.get_content_type() == "text/plain":
        r = re.search(r"http://127\.0\.0\.1:\d+/t/[a-z2-7]{24}#[A-Za-z0-9_-]{22}", p.get_content())
        if r: print(r.group(0)); break' "$T/a.out.eml" 2>/dev/null)
	check "the delivered message carries the link" [ -n "$link" ]
	id=$(sed 's,.*/t/\([a-z2-7]*\)#.*,\1,' <<<"$link")
	"$CTL" -c "$(conf_path m)" list --json > "$T/list.json" 2> "$T/list.err"
	checkx "offloadctl list: exactly one live transfer, the delivered one" \
		'[ "$(grep -c . "$T/list.json")" = 1 ] && grep -q "\"$id\"" "$T/list.json" && grep -q "live" "$T/list.json"'
	checkx "the store holds its file object, manifest, sender view, notify object and state, nothing else" \
		'[ "$(transfer_keys | sort | tr "\n" " ")" = "$id/0 $id/m $id/n $id/s $id/x " ]'
	checkx "... and the deployment key fingerprint (keyid), written by the milter" '[ "$(bucket_keys | grep -cx keyid)" = 1 ]'

	"$BUILD/offload-portal" -c "$(conf_path m)" -f >> "$T/portal.log" 2>&1 &
	_BG_PIDS+=($!)
	waitport $PPORT 200 || bail "portal did not listen on $PPORT ($(tail -3 "$T/portal.log"))"
	"$CTL" fetch "$link" --output "$T/got" > "$T/fetch.out" 2> "$T/fetch.err"; rc=$?
	checkx "the portal serves the transfer from $STORE_LABEL: fetch byte-exact" \
		'[ $rc = 0 ] && [ "$(sha256 "$T/got/plan.pdf")" = "$(sha256 "$T/plan.pdf")" ]'
	"$CTL" -c "$(conf_path m)" revoke "$id" > "$T/revoke.out" 2>&1; rc=$?
	check "offloadctl revoke on $STORE_LABEL exits 0" [ $rc = 0 ]
	"$CTL" fetch "$link" --output "$T/got2" > /dev/null 2>&1; rc=$?
	checkx "after revoke the portal answers 410 (fetch exits 69)" '[ $rc = 69 ]'
	"$CTL" -c "$(conf_path m)" purge > "$T/purge.out" 2>&1; rc=$?
	checkx "purge on $STORE_LABEL exits 0 and leaves only the tombstone" '[ $rc = 0 ] && [ "$(transfer_keys | tr "\n" " ")" = "$id/t " ]'
}
