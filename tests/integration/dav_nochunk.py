#!/usr/bin/env python3
"""dav_nochunk.py PORT LOG - a minimal in-memory WebDAV server that refuses chunked
request bodies the way some PHP-FPM setups do: a PUT without Content-Length is answered
411 Length Required before any body byte (no 100 Continue). Enough of WebDAV for the
storage put path and stat: MKCOL, PUT, MOVE, DELETE, GET, PROPFIND Depth 0.
Each request is logged to LOG as "METHOD PATH chunked|length" (test_storage_webdav.sh)."""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, unquote

objs, cols, lock = {}, set(["/"]), threading.Lock()
PORT, LOG = int(sys.argv[1]), sys.argv[2]


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def path_(self):
        return unquote(urlsplit(self.path).path)

    def note(self):
        kind = "chunked" if "chunked" in self.headers.get("Transfer-Encoding", "") else "length"
        with open(LOG, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path_(), kind))

    def reply(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_expect_100(self):
        if self.command == "PUT" and self.headers.get("Content-Length") is None:
            self.note()
            self.reply(411)
            self.close_connection = True
            return False
        return super().handle_expect_100()

    def do_PUT(self):
        self.note()
        n = self.headers.get("Content-Length")
        if n is None:
            self.close_connection = True
            return self.reply(411)
        data = self.rfile.read(int(n))
        p = self.path_()
        with lock:
            if p.rsplit("/", 1)[0] + "/" not in cols:
                return self.reply(409)
            objs[p] = data
        self.reply(201)

    def do_MKCOL(self):
        self.note()
        p = self.path_()
        p = p if p.endswith("/") else p + "/"
        with lock:
            if p in cols:
                return self.reply(405)
            if p.rstrip("/").rsplit("/", 1)[0] + "/" not in cols:
                return self.reply(409)
            cols.add(p)
        self.reply(201)

    def do_MOVE(self):
        self.note()
        dst = unquote(urlsplit(self.headers.get("Destination", "")).path)
        with lock:
            if self.path_() not in objs:
                return self.reply(404)
            objs[dst] = objs.pop(self.path_())
        self.reply(201)

    def do_DELETE(self):
        self.note()
        with lock:
            gone = objs.pop(self.path_(), None)
        self.reply(204 if gone is not None else 404)

    def do_GET(self):
        with lock:
            data = objs.get(self.path_())
        if data is None:
            return self.reply(404)
        self.reply(200, data, "application/octet-stream")

    def do_PROPFIND(self):
        n = self.headers.get("Content-Length")
        if n:
            self.rfile.read(int(n))
        p = self.path_()
        with lock:
            data = objs.get(p)
            col = (p if p.endswith("/") else p + "/") in cols
        if data is None and not col:
            return self.reply(404)
        prop = ("<D:resourcetype><D:collection/></D:resourcetype>" if col else
                "<D:resourcetype/><D:getcontentlength>%d</D:getcontentlength>" % len(data))
        body = ('<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>%s</D:href>'
                '<D:propstat><D:prop>%s<D:getlastmodified>Mon, 07 Dec 2026 12:00:00 GMT'
                '</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>'
                '</D:response></D:multistatus>' % (p, prop)).encode()
        self.reply(207, body, "application/xml")


ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
