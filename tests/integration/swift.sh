#!/bin/bash
# swift.sh setup|start|stop|stop-proxy|start-proxy DIR [PORT_BASE] - a private single-node
# OpenStack Swift 2.30 (Debian) with the s3api middleware under DIR: a real S3 implementation
# that checks SigV4 signatures and payload hashes (docs/DECISIONS.md §A.4).
#   ports (127.0.0.1): PORT_BASE proxy (S3 endpoint), +1 object, +2 container, +3 account,
#   +4 memcached; default PORT_BASE 12840.
#   S3 credentials: access key "test:tester", secret "testing"; region us-east-1; a second
#   user "test:reader" (secret "readerpw", not admin: sees only containers whose ACL names it);
#   virtual-host-style requests work for BUCKET.localhost (storage_domain = localhost).
#   SWIFT_VERSIONING=1 at setup adds object versioning (versioned_writes + symlink), so S3
#   PUT ?versioning works (test_storage_check.sh); without it s3api answers 501 there.
# Packages: tools/deps/s3.apt (swift swift-proxy swift-object swift-container swift-account
# memcached; the rings are written with python3-swift's RingBuilder). Pid files live in DIR/run; `stop` kills exactly those processes.
#
# Gotchas (recipe):
# - Swift reads /etc/swift/swift.conf from that fixed path (hash prefix/suffix + storage
#   policy); the Debian package ships one ("changeme" hashes: fine for a throwaway node).
# - a one-device ring: `swift-ring-builder ... rebalance` exits 1 with a warning (ignore it); the
#   RingBuilder API used here warns (silenced) and writes the same ring.
# - mount_check = false, workers = 0 (one process each, no forking), one replica.
# - the `slo` middleware is needed for multipart uploads; s3api must sit before tempauth.
# - S3 keys contain ':' ("test:tester"): curl --user splits there; use a netrc file or
#   CURLOPT_USERNAME + CURLOPT_PASSWORD.
set -euo pipefail
exec 8>&- # test_storage_s3.sh holds its run lock on fd 8: our daemons must not inherit it
S=${2:?usage: swift.sh setup|start|stop|stop-proxy|start-proxy DIR [PORT_BASE]}
P=${3:-12840}
E=$S/etc; RUN=$S/run
PROXY=$P; OBJ=$((P + 1)); CONT=$((P + 2)); ACC=$((P + 3)); MEMC=$((P + 4))

healthy() { [ "$(curl -s --max-time 1 "http://127.0.0.1:$PROXY/healthcheck" 2>/dev/null)" = OK ]; }

start_proxy() {
	swift-proxy-server "$E/proxy-server.conf" >> "$RUN/proxy.log" 2>&1 &
	echo $! > "$RUN/proxy.pid"
	local i
	for i in $(seq 1 400); do healthy && return 0; sleep 0.05; done
	echo "swift.sh: proxy not healthy on :$PROXY (see $RUN/proxy.log)" >&2
	return 1
}

stop_pid() {
	local f=$RUN/$1.pid p i
	[ -f "$f" ] || return 0
	p=$(cat "$f"); rm -f "$f"
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.05; done
	kill -KILL "$p" 2>/dev/null || true
}

case "${1:-}" in
setup)
	for b in swift-ring-builder swift-proxy-server swift-object-server swift-container-server \
		swift-account-server memcached; do
		command -v "$b" >/dev/null || { echo "swift.sh: $b missing (tools/install-deps.sh installs tools/deps/s3.apt)" >&2; exit 1; }
	done
	mkdir -p "$E" "$RUN" "$S/srv/d1"
	[ -f /etc/swift/swift.conf ] || { mkdir -p /etc/swift; printf '[swift-hash]\nswift_hash_path_suffix = offload\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' > /etc/swift/swift.conf; }
	cd "$E"
	# the three rings (2^6 partitions, 1 replica, one device) in one Python process: what
	# `swift-ring-builder NAME.builder create 6 1 1; add r1z1-127.0.0.1:PORT/d1 1; rebalance`
	# writes, without nine interpreter starts (~5 s of CPU)
	# (the interpreter python3-swift is installed for: swift-ring-builder's)
	SWPY=$(sed -n '1s/^#! *//p' "$(command -v swift-ring-builder)")
	${SWPY:-/usr/bin/python3} - object:$OBJ container:$CONT account:$ACC <<'PY' || exit 1
import sys, warnings
from swift.common.ring import RingBuilder
warnings.simplefilter("ignore")
for spec in sys.argv[1:]:
    name, port = spec.split(":")
    b = RingBuilder(6, 1, 1)
    b.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port), "device": "d1",
               "weight": 1, "meta": "", "replication_ip": "127.0.0.1", "replication_port": int(port)})
    b.rebalance()
    b.save(name + ".builder")
    b.get_ring().save(name + ".ring.gz")
PY
	for t in object:$OBJ container:$CONT account:$ACC; do
		n=${t%%:*}; p=${t##*:}
		cat > $n-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
devices = $S/srv
mount_check = false
swift_dir = $E
log_facility = LOG_LOCAL0
log_level = WARNING
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
[${n}-replicator]
[${n}-updater]
[${n}-auditor]
CONF
	done
	VW=; VWCONF=
	if [ "${SWIFT_VERSIONING:-0}" = 1 ]; then
		VW="versioned_writes symlink "
		VWCONF=$(printf '[filter:versioned_writes]\nuse = egg:swift#versioned_writes\nallow_object_versioning = true\n[filter:symlink]\nuse = egg:swift#symlink\n')
	fi
	cat > proxy-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PROXY
workers = 0
swift_dir = $E
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo ${VW}proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
storage_domain = localhost
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
user_test_reader = readerpw
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMC
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
$VWCONF
CONF
	chown -R swift:swift "$S/srv" 2>/dev/null || true ;;
start)
	# a server of another run on our ports would answer in our place: refuse
	for p in $PROXY $OBJ $CONT $ACC $MEMC; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "swift.sh: 127.0.0.1:$p is already in use (another run of the s3 tests?)" >&2; exit 1
		fi
	done
	memcached -u memcache -l 127.0.0.1 -p "$MEMC" -U 0 -m 64 > "$RUN/memcached.log" 2>&1 &
	echo $! > "$RUN/memcached.pid"
	for n in object container account; do
		swift-$n-server "$E/$n-server.conf" > "$RUN/$n.log" 2>&1 &
		echo $! > "$RUN/$n.pid"
	done
	# the proxy's healthcheck says nothing about the back ends: wait for their ports too
	for p in $OBJ $CONT $ACC $MEMC; do
		for i in $(seq 1 400); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.05; done
	done
	start_proxy ;;
stop-proxy) stop_pid proxy ;;
start-proxy) start_proxy ;;
kill-proxy)   # abrupt: connections in flight break
	[ -f "$RUN/proxy.pid" ] && kill -KILL "$(cat "$RUN/proxy.pid")" 2>/dev/null; rm -f "$RUN/proxy.pid" ;;
stop)	# all at once: each takes ~2 s to exit on SIGTERM
	for n in proxy account container object memcached; do stop_pid $n & done
	wait ;;
*) echo "usage: swift.sh setup|start|stop|stop-proxy|start-proxy|kill-proxy DIR [PORT_BASE]" >&2; exit 2 ;;
esac
