#!/bin/bash
# test_two_stage.sh - the DECISIONS.md §4 reference setup: when storage fails, mail is deferred
# (4xx), never lost and never sent in clear.
#   stage 1 Postfix (no milter, queues) :12720 -> stage 2 Postfix (offload-milter) :12721
#   -> smtp-sink :12722;  offload-milter on 127.0.0.1:12723, offload_min_size = 1M.
#  A. SMTP: store broken -> stage 2 answers 4xx at end of DATA, stage 1 defers and keeps the
#     message, the sink gets nothing; store fixed + `postqueue -f` on stage 1 -> delivered
#     offloaded, `offloadctl open` gives the 12 MiB file byte-exact.
#  B. sendmail into stage 2 (non_smtpd_milters): store broken -> cleanup tempfails, the file
#     stays in maildrop, the sink gets nothing; store fixed -> delivered offloaded.
#     Pickup would retry by itself about every 60 s (master.cf wakeup); `postqueue -f` also
#     triggers pickup (it flushes the deferred queue AND wakes pickup for maildrop), so the
#     retry happens at once. Each retry is a new transfer.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL"
P1=12720 P2=12721 SINKP=12722 MPORT=12723
SINK=$T/sink

t=$(now)
conf_write m "milter.socket=inet:$MPORT@127.0.0.1" "policy.offload_min_size=1M"
pf_setup s1 "$P1" "$P2" || bail "stage 1 setup"
pf_setup s2 "$P2" "$SINKP" || bail "stage 2 setup"
# stage 2: alias expansion happens on stage 1, before the milter decides (DECISIONS.md §13)
postconf -c "$(pf_cf s2)" -e "receive_override_options = no_address_mappings"
sink_start "$SINKP" "$SINK" || bail "smtp-sink start"
pf_start s1 || bail "stage 1 start"
pf_start s2 || bail "stage 2 start"
milter_start m || bail "offload-milter start (log: $(tail -3 "$T/m/milter.log"))"
pf_milter s2 "inet:127.0.0.1:$MPORT" || bail "stage 2 smtpd_milters"
ok "two Postfix stages + smtp-sink + offload-milter up ($(since "$t"))"

# ---- A. SMTP through stage 1 ------------------------------------------------------------------
random_file "$T/akte.pdf" $((12 * 1024 * 1024))
make_eml "$T/a.eml" "Akte 2024-17" "Die Akte im Anhang." "$T/akte.pdf" akte.pdf application/pdf || bail "build message"
store_break m
smtp_send "$P1" "$T/a.eml" alice@example.org bob@example.net
check "stage 1 accepts the 12 MiB message ($SMTP_REPLY)" is250
q1=$SMTP_QID
wait_log s1 "$q1: .*status=deferred" 60
dline=$(grep -E "$q1: .*status=deferred" "$(pf_log s1)" | head -1)
check "stage 1 defers it while the store is broken" [ -n "$dline" ]
check "stage 2 answered 4xx ($(sed -n 's/.*status=deferred (\(.*\))/\1/p' <<<"$dline" | cut -c1-120))" \
	bash -c 'grep -qE "said: 4[0-9][0-9][ -].*in reply to end of DATA" <<<"$1"' _ "$dline"
check "stage 2 logged a milter tempfail at END-OF-MESSAGE" \
	grep -qE "milter-reject: END-OF-MESSAGE from [^:]*: (4[0-9][0-9] )?4\.[0-9]+\.[0-9]+ " "$(pf_log s2)"
checkx "the message is still in stage 1's queue (postqueue -p)" 'queue_ids s1 | grep -qx "$q1"' 
check "nothing reached the sink" [ "$(sink_count "$SINK")" = 0 ]
store_fix m
t=$(now)
postqueue -c "$(pf_cf s1)" -f
wait_removed s1 "$q1" 120
check "after the store is fixed and stage 1 flushed, it is delivered to stage 2 ($(since "$t"))" delivered s1 "$q1"
q2=$(qid_of s2 alice@example.org)
[ -n "$q2" ] && wait_removed s2 "$q2" 60
checkx "stage 2 relayed it to the sink" '[ -n "$q2" ] && delivered s2 "$q2"' 
f=$(sink_find "$SINK" alice@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/a.out.eml"
	sz=$(stat -c %s "$T/a.out.eml")
	check "delivered message is small ($sz bytes)" [ "$sz" -lt 1048576 ]
	check_offloaded "two-stage SMTP" "$T/a.out.eml" m "$T/akte.pdf"
else
	not_ok "no sink file for the two-stage message"
fi
check "exactly one message at the sink" [ "$(sink_count "$SINK")" = 1 ]

# ---- B. sendmail into stage 2 (non_smtpd_milters) ---------------------------------------------
random_file "$T/liste.xlsx" $((2 * 1024 * 1024))
make_eml "$T/b.eml" "Liste" "Liste anbei." "$T/liste.xlsx" liste.xlsx \
	application/vnd.openxmlformats-officedocument.spreadsheetml.sheet || bail "build message B"
store_break m
n0=$(grep -c "milter-reject" "$(pf_log s2)")
/usr/sbin/sendmail -C "$(pf_cf s2)" -f erin@example.org frank@example.net < "$T/b.eml"
rc=$?
check "sendmail into stage 2 exits 0 (queued in maildrop; exit $rc)" [ "$rc" = 0 ]
wait_log s2 "from=<erin@example.org>" 30
for ((i = 0; i < 200; i++)); do [ "$(grep -c "milter-reject" "$(pf_log s2)")" -gt "$n0" ] && break; sleep 0.05; done
rej=$(grep "milter-reject" "$(pf_log s2)" | tail -n +$((n0 + 1)) | head -1)
check "cleanup got a milter tempfail for the sendmail message ($(cut -c1-160 <<<"${rej#*: }"))" \
	bash -c 'grep -qE "from=<erin@example.org>" <<<"$1" && grep -qE ": 4\.[0-9]+\.[0-9]+ " <<<"$1"' _ "$rej"
sleep 1
md=$(find "$T/pf-s2/spool/maildrop" -type f | wc -l)
check "the message stays in stage 2's maildrop ($md file)" [ "$md" -ge 1 ]
check "still only one message at the sink" [ "$(sink_count "$SINK")" = 1 ]
store_fix m
t=$(now)
postqueue -c "$(pf_cf s2)" -f          # wakes pickup as well as flushing the deferred queue
for ((i = 0; i < 1200; i++)); do      # up to 60 s
	q3=$(qid_of s2 erin@example.org)
	[ -n "$q3" ] && delivered s2 "$q3" && break
	sleep 0.05
done
checkx "after the fix the sendmail message goes out ($(since "$t"))" '[ -n "$q3" ] && delivered s2 "$q3"' 
check "maildrop is empty again" [ "$(find "$T/pf-s2/spool/maildrop" -type f | wc -l)" = 0 ]
f=$(sink_find "$SINK" erin@example.org)
if [ -n "$f" ]; then
	sink_eml "$f" "$T/b.out.eml"
	check_offloaded "two-stage sendmail" "$T/b.out.eml" m "$T/liste.xlsx"
else
	not_ok "no sink file for the sendmail message"
fi
check "milter log has no sanitizer report" bash -c '! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$1"' _ "$T/m/milter.log"
milter_stop m
check "offload-milter exits after SIGTERM" [ $? = 0 ]
finish
