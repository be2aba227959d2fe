#!/usr/bin/env python3
"""milterclient.py - minimal MTA side of the milter protocol (version 6), for tests.

  milterclient.py SOCKET IN.eml OUT.eml [--from ADDR] [--rcpt ADDR]... [--queue-id ID] [--times]

SOCKET is offload syntax: inet:PORT@HOST or unix:/path. Sends connect (localhost/127.0.0.1),
helo, MAIL, RCPT, DATA, the headers, EOH, the body in 64 KiB chunks and end-of-body, honouring
the SMFIP_NO*/NR* flags and SMFIP_HDR_LEADSPC the filter negotiated. It then applies the
filter's end-of-message actions (add/insert/change header, body replacement) to the message
the way Postfix would and writes the result to OUT.eml (CRLF). Prints one line per action and
a final "result=<continue|accept|tempfail|reject|discard|replycode> <text>". Exit 0 when the
protocol ran to the end (whatever the verdict), 1 on a protocol error.

Why not only miltertest: Debian 12's miltertest (2.11.0~beta2) aborts with "stack smashing
detected" when a filter sends a replacement body chunk larger than about 1 KiB, and it cannot
return the new body anyway. This client lets the tests read the rewritten message.

The body is streamed from IN.eml (and, when not replaced, copied to OUT.eml) in 64 KiB
pieces, so multi-GB messages (make bench) cost no more client memory than small ones.
--times adds "# seconds body=S eom=S total=S": the time from the first body chunk to the end
of the body, from end-of-body to the filter's final reply, and of the whole session.
--abort-after BYTES stops after the body chunks that reach BYTES (a number above the body size:
the whole body), then, once the shell command of --abort-when (if given) succeeds (tried for up
to 60 s), sends ABORT instead of end-of-body and closes the connection: the MTA's side of a
client that went away; prints "result=aborted".
--before-eob CMD runs the shell command CMD after the last body chunk, before end-of-body.
--chunk BYTES sends the body in pieces of BYTES (default 65535), e.g. smaller than the filter's
stdio buffer, so that each of its spool writes happens in a flush of its own.
"""
import subprocess
import socket
import struct
import sys
import time

NOCONNECT, NOHELO, NOMAIL, NORCPT, NOBODY, NOHDRS, NOEOH, NR_HDR = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80
NODATA, SKIP = 0x200, 0x400
NR_CONN, NR_HELO, NR_MAIL, NR_RCPT, NR_DATA, NR_EOH, NR_BODY = 0x1000, 0x2000, 0x4000, 0x8000, 0x10000, 0x40000, 0x80000
HDR_LEADSPC = 0x100000
FINAL = {b"c": "continue", b"a": "accept", b"t": "tempfail", b"r": "reject", b"d": "discard", b"y": "replycode"}


class Milter:
    def __init__(self, spec):
        if spec.startswith("unix:"):
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.connect(spec[5:])
        elif spec.startswith("inet:"):
            port, _, host = spec[5:].partition("@")
            self.s = socket.create_connection((host or "127.0.0.1", int(port)))
        else:
            raise SystemExit("bad socket " + spec)
        self.s.settimeout(300)

    def send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def _recvn(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("filter closed the connection")
            buf += chunk
        return bytes(buf)

    def recv(self):
        (n,) = struct.unpack(">I", self._recvn(4))
        pkt = self._recvn(n)
        return pkt[:1], pkt[1:]

    def reply(self, what):
        """read until a final reply; return (code, data, [actions])"""
        actions = []
        while True:
            cmd, data = self.recv()
            if cmd == b"p":
                continue
            if cmd in FINAL or cmd == b"s":
                return cmd, data, actions
            actions.append((cmd, data))


def cstrings(data):
    return [x for x in data.split(b"\0")]


def read_head(f):
    """header lines of the open message file f up to the empty line (CRLF or LF, line ends
    stripped); f is left at the first byte of the body"""
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        line = line[:-2] if line.endswith(b"\r\n") else line[:-1] if line.endswith(b"\n") else line
        if not line:
            return lines
        lines.append(line)


def body_chunks(f, size=65535):
    """the rest of f with every line end as CRLF (a lone CR stays), in pieces of <= size"""
    carry = b""
    while True:
        c = f.read(size)
        eof = not c
        c = carry + c
        carry = b""
        if not eof and c.endswith(b"\r"):  # may be the first half of a CRLF
            c, carry = c[:-1], b"\r"
        c = c.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for off in range(0, len(c), size):
            yield c[off:off + size]
        if eof:
            return


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 64
    spec, inp, outp = argv[1], argv[2], argv[3]
    mfrom, rcpts, qid, times = "alice@example.org", [], "4F00DA7E5C2", False
    abort_after, abort_when, chunk, before_eob = None, None, 65535, None
    i = 4
    while i < len(argv):
        if argv[i] == "--from":
            mfrom = argv[i + 1]; i += 2
        elif argv[i] == "--rcpt":
            rcpts.append(argv[i + 1]); i += 2
        elif argv[i] == "--queue-id":
            qid = argv[i + 1]; i += 2
        elif argv[i] == "--times":
            times = True; i += 1
        elif argv[i] == "--abort-after":
            abort_after = int(argv[i + 1]); i += 2
        elif argv[i] == "--abort-when":
            abort_when = argv[i + 1]; i += 2
        elif argv[i] == "--before-eob":
            before_eob = argv[i + 1]; i += 2
        elif argv[i] == "--chunk":
            chunk = int(argv[i + 1]); i += 2
        else:
            sys.stderr.write("unknown argument %s\n" % argv[i]); return 64
    rcpts = rcpts or ["bob@example.net"]

    t_start = time.monotonic()
    fin = open(inp, "rb")
    head = read_head(fin)
    try:
        body_at = fin.tell()
    except OSError:
        body_at = None  # a FIFO (a stalled sender in tests): the body cannot be copied out
    headers = []  # [name, value] with value as on the wire after "name:" (folding kept)
    for line in head:
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1][1] += b"\r\n" + line
        else:
            n, _, v = line.partition(b":")
            headers.append([n, v])

    m = Milter(spec)
    m.send(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
    cmd, data = m.recv()
    if cmd != b"O" or len(data) < 12:
        print("protocol error: bad option negotiation reply %r" % cmd)
        return 1
    ver, act, proto = struct.unpack(">III", data[:12])
    print("negotiated version=%d actions=0x%x protocol=0x%x" % (ver, act, proto))

    def step(cmd, payload, no, nr, name):
        if proto & no:
            return True
        m.send(cmd, payload)
        if proto & nr:
            return True
        code, d, acts = m.reply(name)
        if code in (b"c", b"s"):
            return True
        print("result=%s %s (at %s)" % (FINAL.get(code, code.decode()), d.rstrip(b"\0").decode("utf-8", "replace"), name))
        return False

    def macro(c, pairs):
        m.send(b"D", c + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs))

    macro(b"C", [("j", "mx.offload.test"), ("{daemon_name}", "smtpd")])
    if not step(b"C", b"localhost\0" + b"4" + struct.pack(">H", 40000) + b"127.0.0.1\0", NOCONNECT, NR_CONN, "connect"):
        return 0
    if not step(b"H", b"client.example.org\0", NOHELO, NR_HELO, "helo"):
        return 0
    macro(b"M", [("i", qid), ("{mail_addr}", mfrom)])
    if not step(b"M", b"<" + mfrom.encode() + b">\0", NOMAIL, NR_MAIL, "mail"):
        return 0
    for r in rcpts:
        macro(b"R", [("{rcpt_addr}", r)])
        if not step(b"R", b"<" + r.encode() + b">\0", NORCPT, NR_RCPT, "rcpt"):
            return 0
    if not step(b"T", b"", NODATA, NR_DATA, "data"):
        return 0
    for n, v in headers:
        vv = v if proto & HDR_LEADSPC else v.lstrip(b" ")
        if not step(b"L", n + b"\0" + vv + b"\0", NOHDRS, NR_HDR, "header"):
            return 0
    if not step(b"N", b"", NOEOH, NR_EOH, "eoh"):
        return 0
    t_body = time.monotonic()
    if not proto & NOBODY:
        sent = 0
        for piece in body_chunks(fin, chunk):
            if not step(b"B", piece, 0, NR_BODY, "body"):
                return 0
            sent += len(piece)
            if abort_after is not None and sent >= abort_after:
                break
    if abort_after is not None:
        for _ in range(600):
            if abort_when is None or subprocess.call(["sh", "-c", abort_when]) == 0:
                break
            time.sleep(0.1)
        m.send(b"A", b"")
        m.s.close()
        print("result=aborted")
        return 0
    if before_eob is not None:
        subprocess.call(["sh", "-c", before_eob])
    t_eob = time.monotonic()
    m.send(b"E", b"")
    code, data, acts = m.reply("eom")
    t_eom = time.monotonic()
    newbody = None
    for c, d in acts:
        if c == b"h":
            n, v = cstrings(d)[:2]
            print("addheader %s: %s" % (n.decode(), v.decode("utf-8", "replace")))
            headers.append([n, v if v.startswith((b" ", b"\t")) else b" " + v])
        elif c == b"i":
            (idx,) = struct.unpack(">I", d[:4])
            n, v = cstrings(d[4:])[:2]
            print("insheader %d %s: %s" % (idx, n.decode(), v.decode("utf-8", "replace")))
            headers.insert(idx, [n, b" " + v.lstrip(b" ")])
        elif c == b"m":
            (idx,) = struct.unpack(">I", d[:4])
            n, v = cstrings(d[4:])[:2]
            print("chgheader %s[%d]: %s" % (n.decode(), idx, v.decode("utf-8", "replace")))
            seen = 0
            for k, hv in enumerate(headers):
                if hv[0].lower() == n.lower():
                    seen += 1
                    if seen == max(idx, 1):
                        if v:
                            headers[k][1] = v if v.startswith((b" ", b"\t")) else b" " + v
                        else:
                            del headers[k]
                        break
        elif c == b"b":
            newbody = (newbody or b"") + d
        else:
            print("action %r (%d bytes)" % (c, len(d)))
    if newbody is not None:
        print("replbody %d bytes" % len(newbody))
    print("result=%s %s" % (FINAL.get(code, code.decode()), data.rstrip(b"\0").decode("utf-8", "replace")))
    m.send(b"Q")
    out = b"".join(n + b":" + v.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n" for n, v in headers)
    out += b"\r\n"
    with open(outp, "wb") as f:
        f.write(out)
        if newbody is not None:
            f.write(newbody)
        else:
            fin.seek(body_at)
            for chunk in body_chunks(fin):
                f.write(chunk)
    fin.close()
    if times:
        print("# seconds body=%.3f eom=%.3f total=%.3f" % (t_eob - t_body, t_eom - t_eob, time.monotonic() - t_start))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, EOFError, struct.error) as e:
        print("protocol error: %s" % e)
        sys.exit(1)
