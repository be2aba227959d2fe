#!/usr/bin/env python3
"""hostile.py KIND OUT - write one hostile test message (issue 14) to OUT.

Kinds: b64garbage, parts10k, depth1000, hdrline1m, headers100k, noboundary,
badnames, zipbomb, pdfbomb, signed, signed-small, dkim. Every message goes to
bob@example.net from alice@example.org; attachments are over 64 KiB, so a
config with offload_min_size=64k offloads them.
"""
import base64
import io
import os
import random
import sys
import zipfile
import zlib

HEAD = (b"From: alice@example.org\r\nTo: bob@example.net\r\n"
        b"Message-ID: <%s@example.org>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n")


def b64(data):
    s = base64.b64encode(data)
    return b"\r\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + b"\r\n"


def head(kind, subject, extra=b""):
    return HEAD % kind.encode() + b"Subject: " + subject + b"\r\n" + extra + b"MIME-Version: 1.0\r\n"


def mixed(kind, parts, extra=b"", subject=None):
    out = head(kind, subject or kind.encode(), extra)
    out += b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    out += b"--B\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
    for p in parts:
        out += b"--B\r\n" + p
    return out + b"--B--\r\n"


def attach(name, body, cte=b"base64", ctype=b"application/octet-stream"):
    return (b"Content-Type: " + ctype + b'\r\nContent-Disposition: attachment; filename="'
            + name + b'"\r\nContent-Transfer-Encoding: ' + cte + b"\r\n\r\n" + body)


def rnd(n, seed=14):
    return random.Random(seed).randbytes(n)


def b64garbage():
    # valid base64 for 96 KiB, a stray pad, then 150 KiB more base64: GMime
    # stops at the pad, so an offload would store 96 KiB of 246
    body = b64(rnd(96 * 1024)) + b"=\r\n" + b64(rnd(150 * 1024, 2))
    return mixed("b64garbage", [attach(b"garbage.bin", body)])


def parts10k():
    return mixed("parts10k", [b"Content-Type: text/plain\r\n\r\nx\r\n"] * 10000)


def depth1000():
    out = head("depth1000", b"depth1000") + b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
    tail = b""
    for i in range(1, 1000):
        out += b"--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n" % (i - 1, i)
        tail = b"--b%d--\r\n" % (i - 1) + tail
    out += b"--b999\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--b999--\r\n"
    return out + tail


def hdrline1m():
    return mixed("hdrline1m", [attach(b"a.bin", b64(rnd(100 * 1024)))],
                 extra=b"X-Long: " + b"a" * (1024 * 1024) + b"\r\n")


def headers100k():
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(100000))
    return mixed("headers100k", [attach(b"a.bin", b64(rnd(100 * 1024)))], extra=extra)


def noboundary():
    # the closing and even the opening boundary are missing
    out = head("noboundary", b"noboundary") + b'Content-Type: multipart/mixed; boundary="NOPE"\r\n\r\n'
    return out + b"--OTHER\r\nContent-Type: application/octet-stream\r\n\r\n" + b64(rnd(100 * 1024))


def badnames():
    names = [b"nul\x00name.bin", b"ctl\x01\x07\x1b[31mred.bin", b"bidi\xe2\x80\xaefdp.exe"]
    return mixed("badnames", [attach(n, b64(rnd(80 * 1024, i))) for i, n in enumerate(names)])


def zipbomb():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(4):
            z.writestr("zero%d.txt" % i, b"\0" * (64 * 1024 * 1024))
    return mixed("zipbomb", [attach(b"bomb.zip", b64(buf.getvalue()), ctype=b"application/zip")])


def pdfbomb():
    # four pages whose content streams each inflate (FlateDecode) to 256 MiB of
    # text operators: 1 GiB behind a ~2 MB file
    z = zlib.compressobj(9)
    chunk = b"BT (aaaa) Tj ET\n" * 65536
    blob = b"".join(z.compress(chunk) for _ in range(256)) + z.flush()
    n = 4
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(n))
            + b"] /Count %d >>" % n]
    for i in range(n):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>" % (4 + 2 * i))
        objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(blob) + blob + b"\nendstream")
    pdf, offs = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offs.append(len(pdf))
        pdf += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % o for o in offs)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return mixed("pdfbomb", [attach(b"bomb.pdf", b64(pdf), ctype=b"application/pdf")])


def signed_body(kind, payload_parts, extra=b""):
    inner = b'Content-Type: multipart/mixed; boundary="I"\r\n\r\n--I\r\nContent-Type: text/plain\r\n\r\nSigned hello.\r\n'
    for p in payload_parts:
        inner += b"--I\r\n" + p
    inner += b"--I--\r\n"
    out = head(kind, kind.encode(), extra)
    out += (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
            b'micalg=sha-256; boundary="S"\r\n\r\n--S\r\n' + inner +
            b'--S\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(rnd(300, 9)) + b"--S--\r\n")
    return out


def signed():
    return signed_body("signed", [attach(b"big.bin", b64(rnd(100 * 1024)))])


def signed_small():
    return signed_body("signed-small", [attach(b"small.bin", b64(rnd(1024)))])


def dkim():
    sig = (b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel;\r\n"
           b"\th=from:to:subject; bh=AAAA; b=BBBB\r\n")
    return mixed("dkim", [attach(b"big.bin", b64(rnd(100 * 1024)))], extra=sig)


KINDS = {"b64garbage": b64garbage, "parts10k": parts10k, "depth1000": depth1000,
         "hdrline1m": hdrline1m, "headers100k": headers100k, "noboundary": noboundary,
         "badnames": badnames, "zipbomb": zipbomb, "pdfbomb": pdfbomb, "signed": signed,
         "signed-small": signed_small, "dkim": dkim}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit("usage: hostile.py {%s} OUT" % ",".join(KINDS))
    with open(sys.argv[2], "wb") as f:
        f.write(KINDS[sys.argv[1]]())
