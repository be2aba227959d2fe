#!/usr/bin/env python3
"""golden_norm.py OUT.eml - print a rewritten message with its random and
time-dependent values replaced, so it can be compared with a golden file:
transfer id, link secret, header MAC, expiry timestamps and notice dates.
Quoted-printable soft line breaks are joined first (the link may be split).
"""
import re
import sys

d = open(sys.argv[1], "rb").read()
m = re.search(rb"X-Offload-Transfer: ([a-z2-7]{24});", d)
d = re.sub(rb"=\r?\n", b"", d)
if m:
    d = d.replace(m.group(1), b"TRANSFERID")
d = re.sub(rb"TRANSFERID#[A-Za-z0-9_-]{22}", b"TRANSFERID#SECRET", d)
d = re.sub(rb"mac=[A-Za-z0-9_-]{22}", b"mac=MAC", d)
d = re.sub(rb"expires=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"expires=EXPIRES", d)
d = re.sub(rb"\d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr \(ME?S?Z\)", b"DATE_DE", d)
d = re.sub(rb"\d{4}-\d\d-\d\d \d\d:\d\d CES?T", b"DATE_EN", d)
sys.stdout.buffer.write(d)
