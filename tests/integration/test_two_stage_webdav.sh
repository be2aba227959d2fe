#!/bin/bash
# test_two_stage_webdav.sh - the same as test_two_stage_s3.sh on the webdav backend with a real
# nginx WebDAV server (tests/integration/davserver.sh):
#   stage 1 Postfix :12895 -> stage 2 Postfix + offload-milter (webdav) :12896 -> smtp-sink :12897;
#   milter on :12898, portal on :12899, nginx on :12885 (Nextcloud-style base URL).
#  1. WebDAV server stopped: stage 2 answers 4xx, stage 1 keeps the message, the sink gets
#     nothing, the server holds no object (no half object, no orphaned manifest).
#  2. Server back, stage 1 flushed: delivered offloaded; `offloadctl list` shows exactly one live
#     transfer whose objects are all there; the portal serves it (`offloadctl fetch`)
#     byte-exact; `offloadctl revoke` -> the portal answers 410 (fetch exits 69) and
#     `offloadctl purge` leaves only the tombstone.
. "$(dirname "$0")/lib.sh"
need_bins "$MILTER_BIN" "$CTL" "$BUILD/offload-portal"
DAVP=12885 P1=12895 P2=12896 SINKP=12897 MPORT=12898 PPORT=12899
DD=$T/dav DAV="bash $IT/davserver.sh" BASE=http://127.0.0.1:12885/remote.php/dav/files/davuser/offload
SINK=$T/sink
trap '$DAV stop "$DD" >/dev/null 2>&1; _lib_cleanup' EXIT

t=$(now)
$DAV start "$DD" $DAVP davuser davpass > "$T/dav.log" 2>&1 || { sed 's/^/# /' "$T/dav.log"; bail "nginx WebDAV start (packages: tools/deps/webdav.apt)"; }
bucket_keys() {  # committed objects below the base URL (hidden temporaries excluded), shard dropped
	(cd "$DD/data/remote.php/dav/files/davuser/offload" 2>/dev/null && find . -type f ! -name '.*' |
		sed 's,^\./[a-z0-9]*/,,; s,^\./,,')
}
mkdir -p "$T/m"
printf '[credentials]\nusername = davuser\npassword = davpass\n' > "$T/m/creds"; chmod 600 "$T/m/creds"
conf_write m "milter.socket=inet:$MPORT@127.0.0.1" policy.offload_min_size=1M storage.backend=webdav \
	storage.url=$BASE storage.credentials_file=$T/m/creds \
	portal.listen=127.0.0.1:$PPORT portal.url=http://127.0.0.1:$PPORT portal.ticket_key_file=$T/m/ticket.key
. "$IT/two_stage_store.sh"
STORE_LABEL="WebDAV (nginx)"
store_down() { $DAV stop "$DD" > /dev/null 2>&1; }
store_up() { $DAV start "$DD" $DAVP davuser davpass > /dev/null 2>&1; }
two_stage_store_test
finish
