#!/usr/bin/env python3
"""slowclients.py - hold connections open to a server the way slow clients do, then probe it.

usage: slowclients.py [--tls] [--read-status] PORT N HOLD PROBE

Opens N connections to 127.0.0.1:PORT from 127.0.0.1 and sends HOLD on each (backslash
escapes allowed: an incomplete header is a slow sender; a whole GET with --read-status, which
reads only the answer's status line and then nothing more, is a slow reader). Then sends
"GET PROBE" once from 127.0.0.2 (another client) and once more from 127.0.0.1, and prints
"held=H other=S1 same=S2": H connections still open, S1/S2 the status codes or "closed".
All connections are closed at the end. No sleeps: each step waits for the server's answer.
"""
import socket
import ssl
import sys


def connect(port, src, tls):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname="files.example.gov")
    return s


def status_line(s):
    d = b""
    try:
        while b"\r\n" not in d:
            c = s.recv(1)
            if not c:
                break
            d += c
    except OSError:
        pass
    if d.startswith(b"HTTP/") and b" " in d:
        return d.split(b" ")[1].decode()
    return "closed"


def probe(port, src, path, tls):
    try:
        s = connect(port, src, tls)
        s.sendall(("GET %s HTTP/1.1\r\nHost: files.example.gov\r\nConnection: close\r\n\r\n"
                   % path).encode())
        r = status_line(s)
        s.close()
        return r
    except OSError:
        return "closed"


def main(argv):
    tls = "--tls" in argv
    rs = "--read-status" in argv
    args = [a for a in argv if not a.startswith("--")]
    port, n, hold, path = int(args[0]), int(args[1]), args[2], args[3]
    hold = hold.encode().decode("unicode_escape").encode("latin-1")
    socks = []
    for _ in range(n):
        try:
            s = connect(port, "127.0.0.1", tls)
            s.sendall(hold)
            if rs and status_line(s) == "closed":
                s.close()
                continue
            socks.append(s)
        except OSError:
            pass
    other = probe(port, "127.0.0.2", path, tls)
    same = probe(port, "127.0.0.1", path, tls)
    held = 0
    for s in socks:   # still open: a read would block (answer nothing yet) or get data
        s.setblocking(False)
        try:
            # the raw socket (under TLS too): b"" = closed by the server
            held += 1 if socket.socket.recv(s, 1, socket.MSG_PEEK) else 0
        except BlockingIOError:
            held += 1
        except OSError:
            pass
        s.close()
    print("held=%d other=%s same=%s" % (held, other, same))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
