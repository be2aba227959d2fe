#!/usr/bin/env python3
"""dav_full.py PORT LOG LIMIT - a minimal WebDAV server whose store fills up mid-upload: a
chunked PUT is taken (100 Continue) until LIMIT body bytes have arrived, then answered
507 Insufficient Storage, the rest of the body read and dropped (lingering close). MKCOL makes
collections (201, 405 when it exists), DELETE answers 404 (nothing is kept). Each request is
logged to LOG as "METHOD PATH STATUS" (test_storage_webdav.sh: a streamed put whose server
runs out of space fails and deletes its temp; the writer must not hang)."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, unquote

PORT, LOG, LIMIT = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
cols = set(["/"])


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, close=False):
        with open(LOG, "a") as f:
            f.write("%s %s %d\n" % (self.command, unquote(urlsplit(self.path).path), code))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()

    def do_MKCOL(self):
        p = unquote(urlsplit(self.path).path).rstrip("/") + "/"
        if p in cols:
            return self.reply(405)
        cols.add(p)
        self.reply(201)

    def do_PUT(self):
        got = 0
        while got < LIMIT:  # chunked: size line, data, CRLF
            line = self.rfile.readline()
            if not line:
                return
            n = int(line.split(b";")[0].strip() or b"0", 16)
            if n == 0:
                self.rfile.readline()
                return self.reply(201)
            self.rfile.read(n + 2)
            got += n
        self.reply(507, close=True)
        # linger as nginx does: read and drop the rest, so the client reads the 507 rather
        # than a reset of its send
        self.connection.settimeout(10)
        try:
            while self.rfile.read(65536):
                pass
        except OSError:
            pass

    def do_DELETE(self):
        self.reply(404)


ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
