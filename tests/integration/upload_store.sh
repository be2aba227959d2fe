# upload_store.sh - sourced by test_storage_s3.sh and test_storage_webdav.sh (their Swift s3api
# and nginx WebDAV servers, so no second server start): citizen uploads (issue 13,
# `offloadctl upload` to offload-upload) on the remote stores. upload_store_run KIND LABEL
# PORT_A PORT_B STORE_KEYS... (KIND s3: needs EP, BUCKET, $T/netrc, keys with storage.prefix=
# upload; KIND dav: needs UPS_DAVROOT, the collection of the store's URL on disk) runs two
# upload daemons on one store ([upload] chunk_size 1M, no clamd: [scan] on_unavailable =
# accept-marked; scanning is test_upload.sh's) and checks:
#  - a file of 13 MiB is uploaded to daemon A, the client killed mid-file (S3: after the
#    first multipart part, seen in ListParts; WebDAV: after a few part objects), resumed through
#    daemon B; the reply's link opens byte-exact (`offloadctl open`);
#  - S3: while it runs, the file is one multipart upload (ListMultipartUploads) with parts of
#    >= 5 MiB (ListParts) and a tail of part objects; a purge then (--orphan-age 1s, the upload
#    2 s old, its state just rewritten) leaves it; then its part 1 is sent again with other
#    bytes (its ETag no longer the state's): the resume's completion fails, the file goes back
#    to offset 0 (a new multipart upload, the old one aborted) and offloadctl sends it again;
#    after the commit no part object, no file state and no multipart upload is left (the
#    group state "u" stays as the sent record);
#  - WebDAV: after the commit no part object, no file state, no hidden temporary;
#  - an abandoned upload (killed, never resumed) is removed by `offloadctl purge
#    --orphan-age 1s`: its objects and (S3) its multipart upload;
#  - tus termination (curl): DELETE of a 6 MiB file just created (S3: its multipart upload is
#    aborted) and of its reply leaves nothing of it;
#  - S3: the tail part objects of a file deleted while its client is away (killed while daemon
#    A holds after the first PATCH that left a tail after part 1, hold point tail0p1): the next
#    part cannot be built, the file goes back to offset 0 and the resumed offloadctl sends it again;
#  - WebDAV: a part damaged on the server before the join (daemon A held there by
#    OFFLOAD_UPLOAD_TEST_HOLD): the file goes back to 0 and offloadctl sends it again.
# By hand: UPLOAD_STORES_MEASURE_MB=200 adds a timed upload of that size per store through
# daemon B, with [upload] chunk_size 8M there, and notes its time and daemon B's peak RSS.
UPLOAD_BIN=$BUILD/offload-upload
UPS_EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
ups_s3curl() { curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" -H "x-amz-content-sha256: $UPS_EMPTY" "$@"; }
s3xml() { $PY -c 'import signal, sys, xml.etree.ElementTree as E
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a reader that stops early (read -r) is no error
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
r = E.fromstring(sys.stdin.read())
for u in r.iter(ns + sys.argv[1]):
    print(" ".join(u.find(ns + f).text for f in sys.argv[2:]))' "$@"; }
s3_keys() { ups_s3curl "$EP/$BUCKET?list-type=2&prefix=upload%2F" | s3xml Contents Key; }
s3_uploads() { ups_s3curl "$EP/$BUCKET?prefix=upload%2F&uploads=" | s3xml Upload Key UploadId; }
# s3_part_sizes KEY UPLOADID: the sizes of the parts sent so far
s3_part_sizes() { ups_s3curl "$EP/$BUCKET/$1?uploadId=$2" | s3xml Part Size; }
# s3_live_tail: the tail part objects a resumed upload still needs: p0s<k> from the segments the
# multipart upload's parts hold on (those of segments already sent as a part stay until the
# file is done, and deleting them loses nothing: the part header is shorter than a segment)
s3_live_tail() {
	local k u s sum=0
	read -r k u < <(s3_uploads) || return 0
	for s in $(s3_part_sizes "$k" "$u"); do sum=$((sum + s)); done
	s3_keys | awk -F/p0s -v n=$((sum / (65536 + 16))) 'NF == 2 && $2 + 0 >= n'
}
dav_keys() { (cd "$UPS_DAVROOT" 2>/dev/null && find . -type f | sed 's,^\./[a-z0-9]*/,,; s,^\./,,'); }

# killed ARGS...: run offloadctl upload ARGS in the background, kill -9 it once the
# shell command in $WAITFOR succeeds (polled); 0 when it was killed before it ended
killed() {
	"$CTL" upload "$@" > /dev/null 2>&1 &
	local pid=$! i
	for ((i = 0; i < 400; i++)); do eval "$WAITFOR" && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
	kill -9 $pid 2>/dev/null; local r=$?
	wait $pid 2>/dev/null
	return $r
}

# ups_terminate LABEL PORT SRC REPLYLINK KIND: tus termination with curl: a reply of one 6 MiB
# file, created (S3: its multipart upload begins), then DELETE of the file (S3: the multipart
# upload is aborted) and of the reply; nothing of it is left
ups_terminate() {
	local label=$1 port=$2 src=$3 tok=${4#*#} kind=$5 x s1 s2 s3 mid left
	uc() { curl -sS -o "$T/uc.body" -w '%{http_code}' -X "$1" -H "Offload-Reply-Token: $tok" \
		-H "Tus-Resumable: 1.0.0" "${@:3}" "http://127.0.0.1:$port$2"; }
	uc POST "/u/$src" -H 'Content-Type: application/json' -d '{"count":1,"total":6291456}' > /dev/null
	x=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["upload"])' "$T/uc.body" 2>/dev/null)
	s1=$(uc POST "/u/$src/$x" -H 'Upload-Length: 6291456' \
		-H "Upload-Metadata: filename $(printf t.bin | base64),index $(printf 0 | base64)")
	[ "$kind" = s3 ] && mid=$(s3_uploads | grep -c "$x/0 ")
	s2=$(uc DELETE "/u/$src/$x/0")
	s3=$(uc DELETE "/u/$src/$x")
	left=$(if [ "$kind" = s3 ]; then s3_keys; s3_uploads; else dav_keys; fi | grep "$x/")
	check "$label: tus termination: a 6 MiB file created ($s1${mid:+, $mid multipart upload}), DELETE of it ($s2) and of the reply ($s3): nothing left" \
		[ -n "$x" -a "$s1" = 201 -a "$s2" = 204 -a "$s3" = 204 -a -z "$left" -a "${mid:-1}" = 1 ]
}

upload_store_run() {
	local kind=$1 label=$2 PA=$3 PB=$4 n=up$1 c
	shift 4
	[ -x "$UPLOAD_BIN" ] || { not_ok "$label: $UPLOAD_BIN missing"; return; }
	conf_write $n upload.enabled=true upload.chunk_size=1M upload.max_size=1G upload.uses=20 \
		scan.clamd_socket=$T/none.sock scan.on_unavailable=accept-marked policy.offload_min_size=10 \
		upload.listen=127.0.0.1:$PA "$@"
	c=$(conf_path "$n")
	random_file "$T/plan.bin" 40000
	random_file "$T/big.bin" $((13 * 1024 * 1024 + 777))
	random_file "$T/gone.bin" $((13 * 1024 * 1024))
	make_eml "$T/m.eml" "Bauantrag" "Bitte ergaenzen." "$T/plan.bin" plan.bin || { not_ok "$label: build m.eml"; return; }
	"$CTL" -c "$c" process < "$T/m.eml" > "$T/$n-m.out" 2> "$T/$n-m.err" || { not_ok "$label: process ($(tail -1 "$T/$n-m.err"))"; return; }
	local link id
	link=$(mail_link "$T/$n-m.out")
	id=$(sed 's|.*/t/||; s|#.*||' <<<"$link")
	sed "s/^listen = 127.0.0.1:$PA/listen = 127.0.0.1:$PB/" "$c" > "$T/$n/b.conf"
	[ -n "${UPLOAD_STORES_MEASURE_MB:-}" ] && sed -i 's/^chunk_size = 1M/chunk_size = 8M/' "$T/$n/b.conf"
	mkdir -p "$T/$n-hold"
	OFFLOAD_UPLOAD_TEST_HOLD=$T/$n-hold "$UPLOAD_BIN" -c "$c" -f >> "$T/$n-a.log" 2>&1 &
	local apid=$!
	_BG_PIDS+=($apid)
	"$UPLOAD_BIN" -c "$T/$n/b.conf" -f >> "$T/$n-b.log" 2>&1 &
	local bpid=$!
	_BG_PIDS+=($bpid)
	waitport $PA 200 && waitport $PB 200 || { not_ok "$label: offload-upload did not listen"; return; }
	local at_a=${link/https:\/\/files.example.test/http://127.0.0.1:$PA}
	local at_b=${link/https:\/\/files.example.test/http://127.0.0.1:$PB}
	local sd=$T/$n-state n0 t0 rc
	n0=$(find "$T/$n/notify" -name '*.eml' 2>/dev/null | wc -l)

	t0=$(now)
	if [ "$kind" = s3 ]; then
		WAITFOR='[ -n "$(s3_uploads)" ] && s3_uploads | { read -r k u && [ -n "$(s3_part_sizes "$k" "$u")" ]; }'
	else
		WAITFOR='[ "$(dav_keys | grep -c "/p0s")" -ge 6 ]'
	fi
	killed "$at_a" "$T/big.bin" --state-dir "$sd"; rc=$?
	local mid_keys mid_up sizes
	mid_keys=$(if [ "$kind" = s3 ]; then s3_keys; else dav_keys; fi)
	check "$label: offloadctl upload of 13 MiB killed mid-file ($(grep -c '/p0s' <<<"$mid_keys") part objects left)" \
		[ $rc = 0 -a -n "$(grep '/p0s' <<<"$mid_keys")" ]
	if [ "$kind" = s3 ]; then
		mid_up=$(s3_uploads)
		sizes=$(read -r k u <<<"$mid_up"; s3_part_sizes "$k" "$u" | tr '\n' ' ')
		check "$label: meanwhile the file is one multipart upload of <id>/0 with parts of >= 5 MiB (sizes $sizes)" \
			bash -c '[ "$(wc -l <<<"$1")" = 1 ] && grep -q "/0 " <<<"$1" && [ -n "$2" ] &&
				for s in $2; do [ "$s" -ge 5242880 ] || exit 1; done' _ "$mid_up" "$sizes"
		# a purge while the upload goes on: its multipart upload is older than --orphan-age,
		# its state was rewritten since (simulated: the same bytes put again)
		local u0
		u0=$(s3_keys | grep '/u0$')
		sleep 2
		ups_s3curl -o "$T/u0" "$EP/$BUCKET/$u0" && curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" \
			-H "x-amz-content-sha256: $(sha256sum < "$T/u0" | cut -c1-64)" -T "$T/u0" "$EP/$BUCKET/$u0"
		"$CTL" -c "$c" purge --orphan-age 1s > "$T/$n-purge0.out" 2>&1
		check "$label: purge leaves the multipart upload of an upload whose state is younger than --orphan-age" \
			[ "$(s3_uploads)" = "$mid_up" ]
		# part 1 sent again by someone else (garbage of its size): its ETag no longer the
		# state's, so the completion fails at the last chunk; the file starts again from 0
		local k1 u1 s1
		read -r k1 u1 <<<"$mid_up"
		s1=$(s3_part_sizes "$k1" "$u1" | head -1)
		head -c "$s1" /dev/urandom > "$T/garbage"
		curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --netrc-file "$T/netrc" \
			-H "x-amz-content-sha256: $(sha256sum < "$T/garbage" | cut -c1-64)" -T "$T/garbage" \
			"$EP/$BUCKET/$k1?partNumber=1&uploadId=$u1" > /dev/null
		rm -f "$T/garbage"
	fi
	"$CTL" upload "$at_b" "$T/big.bin" --state-dir "$sd" -v > "$T/$n-r.out" 2> "$T/$n-r.err"; rc=$?
	check "$label: resumed through daemon B, completed (exit $rc) in $(since "$t0")" \
		bash -c '[ $1 = 0 ] && grep -q "resuming reply" "$2"' _ $rc "$T/$n-r.err"
	[ "$kind" = s3 ] && check "$label: its part 1 replaced, the completion failed: the file went back to 0 (daemon B's log)" \
		grep -q 'sent again from offset 0' "$T/$n-b.log"
	local m nl
	m=$(ls -t "$T/$n/notify"/*.eml 2>/dev/null | head -1)
	nl=$(mail_link "$m")
	check "$label: one reply mail, its link opens big.bin byte-exact" bash -c '[ "$(find "$1" -name "*.eml" | wc -l)" = $(($2 + 1)) ] &&
		rm -rf "$3" && mkdir -p "$3" && "$4" -c "$5" open "$6" --output "$3" >/dev/null 2>&1 && cmp -s "$7" "$3/big.bin"' \
		_ "$T/$n/notify" "$n0" "$T/$n-open" "$CTL" "$c" "$nl" "$T/big.bin"
	local left
	if [ "$kind" = s3 ]; then
		left=$(s3_keys | grep -E '/(p[0-9]+s[0-9]+|u[0-9]+)$'; s3_uploads)
		check "$label: after the commit no part object, file state or multipart upload is left" [ -z "$left" ]
	else
		left=$(dav_keys | grep -E '(^|/)(p[0-9]+s[0-9]+|u[0-9]+|\..*)$')
		check "$label: after the commit no part object, file state or hidden temporary is left" [ -z "$left" ]
	fi

	# abandoned: killed, never resumed; purge takes it
	killed "$at_a" "$T/gone.bin" --state-dir "$T/$n-gone"; rc=$?
	local before after sent
	sent=$(sed 's|.*/t/||; s|#.*||' <<<"$nl")  # the reply above: its sent record "u" stays
	before=$(if [ "$kind" = s3 ]; then s3_keys; s3_uploads; else dav_keys; fi | grep -v "$sent/" | grep -cE '/(p0s|u)|/0 ')
	# the daemon may still finish the chunk it was storing when the client died (a 5 MiB part to
	# Swift on a loaded machine takes seconds) and so rewrite the upload state: purge rightly keeps
	# an upload with a state younger than --orphan-age, so purge again until that write is old
	local try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		sleep 2
		"$CTL" -c "$c" purge --orphan-age 1s > "$T/$n-purge.out" 2>&1
		after=$(if [ "$kind" = s3 ]; then s3_keys; s3_uploads; else dav_keys; fi | grep -v "$sent/" |
			grep -E '/(p[0-9]+s[0-9]+|u[0-9]*)$|/0 ')
		[ -z "$after" ] && break
	done
	check "$label: an abandoned upload ($before objects/uploads) is removed by offloadctl purge ($(tail -1 "$T/$n-purge.out"))" \
		[ $rc = 0 -a "$before" -gt 1 -a -z "$after" ]
	ups_terminate "$label" "$PA" "$id" "$($MAILTOOL notice "$T/$n-m.out" |
		grep -o 'https://files.example.test/u/[^ ]*' | head -1)" "$kind"
	if [ "$kind" = dav ]; then
		# a part damaged on the server before the join (daemon A held there: join0r0): the file
		# goes back to 0 (409), offloadctl sends it again and completes
		random_file "$T/dmg.bin" $((2 * 1024 * 1024 + 5))
		touch "$T/$n-hold/join0r0"
		n0=$(find "$T/$n/notify" -name '*.eml' 2>/dev/null | wc -l)
		"$CTL" upload "$at_a" "$T/dmg.bin" --state-dir "$T/$n-dmg" > /dev/null 2> "$T/$n-dmg.err" &
		local dpid=$! did="" dheld=$T/$n-hold/join0r0.held  # (wait_until has an n of its own)
		wait_until 60 '[ -e "$dheld" ] || ! kill -0 $dpid 2>/dev/null'
		[ -e "$T/$n-hold/join0r0.held" ] && did=$(cut -d' ' -f1 "$T/$n-dmg"/*) &&
			$PY -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[100] ^= 1; open(sys.argv[1], "wb").write(b)' \
				"$UPS_DAVROOT/${did:0:2}/$did/p0s0"
		rm -f "$T/$n-hold/join0r0"
		wait $dpid; rc=$?
		check "$label: a stored part damaged before the join: the file went back to 0, offloadctl sent it again, exit $rc ($(head -c 200 "$T/$n-dmg.err"))" \
			bash -c '[ -n "$1" -a $2 = 0 ] && grep -q "upload $1: file 0: .*sent again from offset 0 (1 of 3 times)" "$3"' _ "$did" "$rc" "$T/$n-a.log"
		nl=$(mail_link "$(ls -t "$T/$n/notify"/*.eml 2>/dev/null | head -1)")
		check "$label: one reply mail, its link opens dmg.bin byte-exact" bash -c '[ "$(find "$1" -name "*.eml" | wc -l)" = $(($2 + 1)) ] &&
			rm -rf "$3" && mkdir -p "$3" && "$4" -c "$5" open "$6" --output "$3" >/dev/null 2>&1 && cmp -s "$7" "$3/dmg.bin"' \
			_ "$T/$n/notify" "$n0" "$T/$n-open" "$CTL" "$c" "$nl" "$T/dmg.bin"
		rm -rf "$T/$n-dmg" "$T/dmg.bin"
	fi
	if [ "$kind" = s3 ]; then
		# the tail part objects lost while the client is away (killed after part 1 and a tail):
		# the next part cannot be built; the file goes back to 0 (a new multipart upload) and
		# offloadctl sends it again. Daemon A holds once the first PATCH after part 1 has left
		# tail part objects and stored the file's state (hold point tail0p1), the client is
		# killed there, and A let go: no timing (a kill polled for lost that race on a loaded
		# machine, the upload ending first or the kill landing where no tail was needed)
		random_file "$T/tail.bin" $((13 * 1024 * 1024))
		local tk k2 r2 back0 tpid theld=$T/$n-hold/tail0p1.held
		touch "$T/$n-hold/tail0p1"
		"$CTL" upload "$at_a" "$T/tail.bin" --state-dir "$T/$n-tail" > /dev/null 2>&1 &
		tpid=$!
		wait_until 60 '[ -e "$theld" ] || ! kill -0 $tpid 2>/dev/null'
		[ -e "$theld" ] && kill -9 $tpid 2>/dev/null; rc=$?
		wait $tpid 2>/dev/null
		rm -f "$T/$n-hold/tail0p1"
		wait_until 60 '[ -z "$(ss -Htan "( sport = :$PA )" | grep -v LISTEN)" ]' ||
			note "$label: daemon A still holds a connection 60 s after the client was killed"
		tk=$(s3_live_tail)
		for k2 in $tk; do ups_s3curl -X DELETE "$EP/$BUCKET/$k2"; done
		back0=$(grep -c 'sent again from offset 0' "$T/$n-b.log")
		n0=$(find "$T/$n/notify" -name '*.eml' 2>/dev/null | wc -l)
		"$CTL" upload "$at_b" "$T/tail.bin" --state-dir "$T/$n-tail" > /dev/null 2> "$T/$n-t.err"; r2=$?
		check "$label: killed ($rc), its $(wc -w <<<"$tk") tail part objects deleted: resumed, the file went back to 0, exit $r2 ($(head -c 200 "$T/$n-t.err"))" \
			[ $rc = 0 -a -n "$tk" -a $r2 = 0 -a "$(grep -c 'sent again from offset 0' "$T/$n-b.log")" = $((back0 + 1)) ]
		nl=$(mail_link "$(ls -t "$T/$n/notify"/*.eml 2>/dev/null | head -1)")
		check "$label: one reply mail, its link opens tail.bin byte-exact" bash -c '[ "$(find "$1" -name "*.eml" | wc -l)" = $(($2 + 1)) ] &&
			rm -rf "$3" && mkdir -p "$3" && "$4" -c "$5" open "$6" --output "$3" >/dev/null 2>&1 && cmp -s "$7" "$3/tail.bin"' \
			_ "$T/$n/notify" "$n0" "$T/$n-open" "$CTL" "$c" "$nl" "$T/tail.bin"
		rm -rf "$T/$n-tail" "$T/tail.bin"
	fi
	if [ -n "${UPLOAD_STORES_MEASURE_MB:-}" ]; then  # by hand: time and memory of a big upload
		random_file "$T/x.bin" $((UPLOAD_STORES_MEASURE_MB * 1024 * 1024))
		local rss0
		rss0=$(awk '/VmHWM/ {print $2}' /proc/$bpid/status)
		t0=$(now)
		"$CTL" upload "$at_b" "$T/x.bin" --state-dir "$T/$n-x" > /dev/null 2>&1; rc=$?
		note "$label: $UPLOAD_STORES_MEASURE_MB MiB upload through daemon B (chunk_size 8M): exit $rc in" \
			"$(since "$t0"); its peak RSS ${rss0} kB before, $(awk '/VmHWM/ {print $2}' /proc/$bpid/status) kB after"
		rm -rf "$T/x.bin" "$T/$n-x"
	fi
	# but the completion refused for the replaced part 1 (S3 only, above)
	check "$label: the daemons logged no other error ($(grep -ih error "$T/$n-a.log" "$T/$n-b.log" | grep -v InvalidPart | head -1))" \
		bash -c '! grep -ih "error" "$1" "$2" | grep -v InvalidPart' _ "$T/$n-a.log" "$T/$n-b.log"
	kill $apid $bpid 2>/dev/null
	wait $apid $bpid 2>/dev/null
	rm -rf "$sd" "$T/$n-gone" "$T/$n-open" "$T/big.bin" "$T/gone.bin" "$T/u0"
}

