#!/bin/bash
# davserver.sh - a private nginx WebDAV server (nginx-light + libnginx-mod-http-dav-ext) for tests.
#   davserver.sh start DIR PORT [USER [PASS]]   config, data and logs under DIR; basic auth
#   davserver.sh stop DIR                       fast shutdown (SIGTERM), waits for the exit
#   davserver.sh pid DIR                        the master pid
# nginx WebDAV gotchas: docs/DECISIONS.md §A.5. There is no create_full_put_path (PUT into a
# missing collection is 409, as on Apache and Nextcloud, so the backend's MKCOL path is
# exercised) and no autoindex. DIR/data/remote.php/dav/files/USER/
# exists so a Nextcloud-style base URL works. /fail503/ always answers 503, /forbidden/ 403
# (error classification tests). WebDAV LOCK/UNLOCK are on (dav_ext_lock; purge removes empty
# shard collections under a lock); DAV_LOCKS=0 starts a server without them. Per-operation
# permissions (storage check tests), same auth: /readonly/ allows only GET PROPFIND OPTIONS,
# /noread/ everything but GET, /nodelete/ everything but DELETE (other methods: 403).
# Exit status 1 with a message when nginx or the module is
# missing: the tests must fail, not skip (tools/deps/webdav.apt).
set -euo pipefail
MOD=/usr/lib/nginx/modules/ngx_http_dav_ext_module.so
cmd=${1:-}; D=${2:-}
[ -n "$D" ] || { echo "usage: $0 start DIR PORT [USER [PASS]] | stop DIR | pid DIR" >&2; exit 2; }
case "$cmd" in
start)
	PORT=${3:?port}; U=${4:-davuser}; P=${5:-davpass}
	command -v nginx >/dev/null || { echo "davserver: nginx missing (apt-get install nginx-light)" >&2; exit 1; }
	[ -f "$MOD" ] || { echo "davserver: $MOD missing (apt-get install libnginx-mod-http-dav-ext)" >&2; exit 1; }
	mkdir -p "$D/data/remote.php/dav/files/$U" "$D/data/readonly" "$D/data/noread" \
		"$D/data/nodelete" "$D/tmp" "$D/logs"
	chown -R nobody:nogroup "$D/data" "$D/tmp"
	chmod 755 "$D"
	printf '%s:%s\n' "$U" "$(openssl passwd -apr1 "$P")" > "$D/htpasswd"
	chmod 644 "$D/htpasswd"
	LOCKZONE= LOCKM= LOCK=
	if [ "${DAV_LOCKS:-1}" != 0 ]; then
		LOCKZONE="dav_ext_lock_zone zone=davlocks:1m timeout=30s;"
		LOCKM="LOCK UNLOCK"
		LOCK="dav_ext_lock zone=davlocks;"
	fi
	cat > "$D/nginx.conf" <<CONF
load_module $MOD;
user nobody nogroup;
worker_processes 2;
pid $D/nginx.pid;
error_log $D/logs/error.log warn;
events { worker_connections 512; }
http {
  access_log $D/logs/access.log;
  client_body_temp_path $D/tmp;      # same filesystem as root => PUT is a rename
  client_max_body_size 0;            # default 1m would reject attachments with 413
  keepalive_requests 100000;
  $LOCKZONE
  server {
    listen 127.0.0.1:$PORT;
    root $D/data;
    location /fail503/ { return 503; }
    location /forbidden/ { return 403; }
    location / {
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS $LOCKM;
      $LOCK
      dav_access user:rw;
      auth_basic "dav";
      auth_basic_user_file $D/htpasswd;
    }
$(for l in "readonly:GET PROPFIND OPTIONS" "noread:PUT DELETE MKCOL MOVE PROPFIND OPTIONS" \
	"nodelete:GET PUT MKCOL MOVE PROPFIND OPTIONS"; do
	printf '    location /%s/ {\n      dav_methods PUT DELETE MKCOL COPY MOVE;\n      dav_ext_methods PROPFIND OPTIONS;\n      dav_access user:rw;\n      auth_basic "dav";\n      auth_basic_user_file %s/htpasswd;\n      limit_except %s { deny all; }\n    }\n' "${l%%:*}" "$D" "${l#*:}"
done)
  }
}
CONF
	nginx -t -q -c "$D/nginx.conf" -p "$D" || { echo "davserver: nginx -t failed" >&2; exit 1; }
	rm -f "$D/nginx.pid"
	nginx -c "$D/nginx.conf" -p "$D" || { echo "davserver: nginx did not start" >&2; exit 1; }
	for _ in $(seq 1 200); do
		[ -s "$D/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && exit 0
		sleep 0.05
	done
	echo "davserver: nginx not listening on 127.0.0.1:$PORT" >&2; exit 1 ;;
stop)
	[ -s "$D/nginx.pid" ] || exit 0
	pid=$(cat "$D/nginx.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$D/nginx.pid" ;;
pid)
	cat "$D/nginx.pid" ;;
*)
	echo "usage: $0 start DIR PORT [USER [PASS]] | stop DIR | pid DIR" >&2; exit 2 ;;
esac
