#!/usr/bin/env python3
"""mailtool.py - small helpers for the integration tests to look into delivered mail.

  strip SINKFILE            message without smtp-sink's pseudo-headers and its Received line
  links EML                 every offload link in the decoded text parts, one per line
  link EML                  the first link (exit 1 if none)
  header EML NAME           values of header NAME (unfolded), one per line
  leaves EML                one line per leaf part: decoded-size sha256 content-type filename
  notice EML                decoded text of the first text/plain part (first 60 lines)
  split EML HDRS BODY       for miltertest: HDRS "Name<TAB>value" per header (unfolded), BODY (CRLF)
  summary EML               human summary: headers, parts, link (for the demo)
  strict EML                what a recipient's client meets: every text part decodes strictly
                            under its declared charset; a part carrying the offload link has
                            no Content-Disposition attachment and no file name (one problem a
                            line, exit 1 if any)

Parsing uses the standard library `email` package with policy=email.policy.default, so
quoted-printable/base64 and RFC 2047/2231 are decoded before anything is searched.
"""
import email
import email.policy
import hashlib
import re
import signal
import sys

LINK_RE = re.compile(rb"https://files\.example\.test/t/[a-z2-7]{24}#[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")
PSEUDO = (b"X-Client-Addr:", b"X-Client-Proto:", b"X-Helo-Args:", b"X-Mail-Args:",
          b"X-Rcpt-Args:", b"X-Client-Name:")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def strip_sink(data):
    pos = 0
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            break
        line = data[pos:end + 1]
        if not line.startswith(PSEUDO):
            break
        pos = end + 1
    # smtp-sink also prepends its own "Received: ... by smtp-sink (smtp-sink) ..." header
    if data.startswith(b"Received:", pos):
        end = pos
        while True:
            nl = data.find(b"\n", end)
            if nl < 0:
                break
            end = nl + 1
            if not data.startswith((b" ", b"\t"), end):
                break
        if b"by smtp-sink (smtp-sink)" in data[pos:end]:
            pos = end
    return data[pos:]


def parse(path):
    return email.message_from_bytes(read(path), policy=email.policy.default)


def part_bytes(part):
    """decoded payload bytes of a leaf part (never raises)"""
    try:
        b = part.get_payload(decode=True)
    except Exception:
        b = None
    if b is None:
        p = part.get_payload()
        if isinstance(p, str):
            b = p.encode("utf-8", "surrogateescape")
        else:
            b = b""
    return b


def part_text(part):
    try:
        c = part.get_content()
        if isinstance(c, bytes):
            return c.decode("utf-8", "replace")
        return str(c)
    except Exception:
        return part_bytes(part).decode("utf-8", "replace")


def leaves(msg):
    for part in msg.walk():
        if part.is_multipart():
            continue
        yield part


def safe_filename(part):
    try:
        return part.get_filename()
    except Exception:
        return None


def links(msg):
    found = []
    for part in leaves(msg):
        if part.get_content_maintype() != "text":
            continue
        for m in LINK_RE.finditer(part_text(part).encode("utf-8", "replace")):
            s = m.group(0).decode()
            if s not in found:
                found.append(s)
    return found


def strict_problems(msg):
    """problems a recipient meets in a rewritten message (see `strict` above)"""
    probs = []
    for i, part in enumerate(leaves(msg)):
        if part.get_content_maintype() != "text":
            continue
        b = part_bytes(part)
        cs = part.get_content_charset("us-ascii")
        try:
            t = b.decode(cs, "strict")
        except (UnicodeDecodeError, LookupError) as e:
            probs.append("part %d (%s): does not decode as %s: %s" % (i, part.get_content_type(), cs, e))
            t = b.decode("utf-8", "replace")
        if LINK_RE.search(t.encode("utf-8", "replace")):
            if part.get_content_disposition() == "attachment" or safe_filename(part):
                probs.append("part %d (%s) carries the notice but looks like a file: %s; filename=%s" %
                             (i, part.get_content_type(), part.get("Content-Disposition"), safe_filename(part)))
    return probs


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 64
    cmd, path = argv[1], argv[2]
    out = sys.stdout
    if cmd == "strip":
        sys.stdout.buffer.write(strip_sink(read(path)))
        return 0
    if cmd == "split":
        data = read(path).replace(b"\r\n", b"\n")
        i = data.find(b"\n\n")
        head, body = (data[:i + 1], data[i + 2:]) if i >= 0 else (data, b"")
        fields = []
        for line in head.split(b"\n"):
            if not line:
                continue
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1] += b"\n" + line
            else:
                fields.append(line)
        with open(argv[3], "wb") as f:
            for fl in fields:
                name, _, value = fl.partition(b":")
                f.write(name + b"\t" + b" ".join(value.split()) + b"\n")
        with open(argv[4], "wb") as f:
            f.write(body.replace(b"\n", b"\r\n"))
        return 0
    msg = parse(path)
    if cmd in ("links", "link"):
        ls = links(msg)
        if cmd == "link":
            ls = ls[:1]
        for l in ls:
            print(l)
        return 0 if ls else 1
    if cmd == "header":
        vals = msg.get_all(argv[3]) or []
        for v in vals:
            print(" ".join(str(v).split()))
        return 0 if vals else 1
    if cmd == "leaves":
        for part in leaves(msg):
            b = part_bytes(part)
            print(len(b), hashlib.sha256(b).hexdigest(), part.get_content_type(),
                  safe_filename(part) or "-")
        return 0
    if cmd == "notice":
        for part in leaves(msg):
            if part.get_content_type() == "text/plain":
                print("\n".join(part_text(part).splitlines()[:60]))
                return 0
        return 1
    if cmd == "strict":
        probs = strict_problems(msg)
        for p in probs:
            print(p)
        return 1 if probs else 0
    if cmd == "summary":
        raw = read(path)
        print("size on the wire: %d bytes" % len(raw))
        print("headers:")
        for k, v in msg.items():
            v = " ".join(str(v).split())
            print("  %s: %s" % (k, v if len(v) < 160 else v[:157] + "..."))
        print("MIME parts (decoded sizes):")
        for part in leaves(msg):
            b = part_bytes(part)
            print("  %-28s %10d bytes  %s" % (part.get_content_type(), len(b),
                                               safe_filename(part) or ""))
        return 0
    sys.stderr.write("mailtool: unknown command %s\n" % cmd)
    return 64


if __name__ == "__main__":
    # a filter in a pipe: a reader that stops early (grep -q) ends it quietly, as it would cat
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main(sys.argv))
