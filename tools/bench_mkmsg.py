#!/usr/bin/env python3
"""bench_mkmsg.py OUT|- PAYLOAD - the benches' message: a short text part and PAYLOAD as a
base64 attachment (76-character lines, CRLF), written to OUT or to standard output."""
import base64
import sys


def main():
    out, payload = sys.argv[1], sys.argv[2]
    o = sys.stdout.buffer if out == "-" else open(out, "wb")
    o.write(b"From: a@example.gov\r\nTo: b@example.net\r\nSubject: bench\r\nMessage-ID: <bench@example.gov>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"bb\"\r\n\r\n--bb\r\n"
            b"Content-Type: text/plain\r\n\r\nhello\r\n--bb\r\nContent-Type: application/octet-stream; name=\"p.bin\"\r\n"
            b"Content-Disposition: attachment; filename=\"p.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
    with open(payload, "rb") as f:
        while True:
            c = f.read(57 * 20000)
            if not c:
                break
            o.write(base64.encodebytes(c).replace(b"\n", b"\r\n"))
    o.write(b"--bb--\r\n")
    o.flush()


main()
