#!/bin/bash
# test_keyid.sh - the deployment-key fingerprint object in storage (DECISIONS.md §13): the first
# node to write creates "keyid"; a node with another deployment key refuses the store
# (offloadctl process/open/list/purge/revoke exit 78, offload-milter and offload-portal do
# not start) instead of writing or serving transfers the others cannot verify. The object
# is never mistaken for a transfer by list/purge. Port 13010 (portal, never bound).
. "$(dirname "$0")/lib.sh"
need_bins "$CTL" "$MILTER_BIN" "$BUILD/offload-portal"
G=$SRCDIR/tests/data/golden

conf_write a policy.offload_min_size=2k
"$CTL" -c "$(conf_path a)" process < "$G/mixed-ascii.in.eml" > "$T/a.out" 2>/dev/null; rc=$?
kf=$(find "$(store_path a)" -type f -name keyid)
checkx "the first offload creates the keyid object with this node's key id" \
	'[ $rc = 0 ] && [ -n "$kf" ] && grep -qx "offload keyid v1 [0-9a-f]\{16\}" "$kf"'
# node b: same store, another deployment key
conf_write b policy.offload_min_size=2k "storage.path=$(store_path a)" portal.listen=127.0.0.1:13010 \
	"portal.ticket_key_file=$T/b/ticket.key"
"$CTL" -c "$(conf_path b)" process < "$G/mixed-ascii.in.eml" > "$T/b.out" 2> "$T/b.err"; rc=$?
checkx "another deployment key: offloadctl process exits 78 and names both key ids" \
	'[ $rc = 78 ] && [ ! -s "$T/b.out" ] && grep -q "belongs to deployment key [0-9a-f]\{16\}, this node has key [0-9a-f]\{16\}" "$T/b.err"'
checkx "... and writes nothing into the store" '! find "$(store_path a)" -type f -newer "$T/a.out" | grep -q .'
"$MILTER_BIN" -f -c "$(conf_path b)" > "$T/bm.log" 2>&1 & mp=$!
for _ in $(seq 50); do kill -0 $mp 2>/dev/null || break; sleep 0.1; done
wait $mp 2>/dev/null; rc=$?
checkx "offload-milter with another key does not start (exit 78, the reason logged)" '[ $rc = 78 ] && grep -q "this node has key" "$T/bm.log"'
"$BUILD/offload-portal" -f -c "$(conf_path b)" > "$T/bp.log" 2>&1 & pp=$!
for _ in $(seq 50); do kill -0 $pp 2>/dev/null || break; sleep 0.1; done
if kill -0 $pp 2>/dev/null; then kill $pp; rc=running; else wait $pp; rc=$?; fi
checkx "offload-portal with another key does not start (exit $rc)" '[ "$rc" != running ] && [ "$rc" != 0 ] && grep -q "this node has key" "$T/bp.log"'
for cmd in list purge; do
	"$CTL" -c "$(conf_path b)" $cmd > /dev/null 2> "$T/$cmd.err"; rc=$?
	checkx "offloadctl $cmd with another key: exit 78" '[ $rc = 78 ] && grep -q "this node has key" "$T/$cmd.err"'
done
rm -rf "$T/ob"; ctl_open "$(mail_link "$T/a.out")" "$T/ob" b > /dev/null 2> "$T/ob.err"; rc=$?
checkx "offloadctl open with another key: exit 78" '[ $rc = 78 ]'
# the right node: list and purge ignore the fingerprint, it survives purge
"$CTL" -c "$(conf_path a)" list > "$T/list.out" 2>&1; rc=$?
checkx "offloadctl list: one live transfer, the keyid object is not listed" \
	'[ $rc = 0 ] && [ "$(grep -c " live$" "$T/list.out")" = 1 ] && ! grep -q keyid "$T/list.out"'
"$CTL" -c "$(conf_path a)" purge --orphan-age 0s > "$T/purge.out" 2>&1; rc=$?
checkx "offloadctl purge keeps the keyid object and the live transfer" \
	'[ $rc = 0 ] && [ -f "$kf" ] && grep -q "0 orphaned" "$T/purge.out"'
echo "offload keyid v1 0000000000000000" > "$kf"
"$CTL" -c "$(conf_path a)" process < "$G/mixed-ascii.in.eml" > /dev/null 2> "$T/a2.err"; rc=$?
checkx "a changed fingerprint makes even the first node refuse (78)" '[ $rc = 78 ]'
finish
