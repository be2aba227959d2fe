#!/usr/bin/env python3
"""bench_link.py EML - the transfer link (any portal URL) of the first text/plain part of a
rewritten message, for the benches; prints nothing when there is none."""
import email
import email.policy
import re
import sys

with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.default)
for part in msg.walk():
    if part.get_content_type() == "text/plain":
        r = re.search(r"http://\S+/t/[a-z2-7]{24}#[A-Za-z0-9_-]{22}", part.get_content())
        if r:
            print(r.group(0))
            break
