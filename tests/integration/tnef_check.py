#!/usr/bin/env python3
"""tnef_check.py - the winmail.dat conversion as a recipient meets it (tests/integration/test_tnef.sh).

  winmail EML OUT           write the decoded first application/ms-tnef part of EML to OUT (exit 1 if none)
  compare OUTEML OPENDIR REFDIR
                            every file Debian's `tnef` extracted into REFDIR arrives byte-exact as a
                            leaf of OUTEML (also inside attached messages) or as a file in OPENDIR
                            (`offloadctl open`), with the same name unless tnef had to invent one;
                            an embedded object tnef saves with its 16-byte interface id first arrives
                            without it (an OLE file), an embedded message (IID_IMessage) as an
                            attached .eml; and no application/ms-tnef or winmail.dat part is left.
                            One problem a line, exit 1 if any; "ok N" otherwise.
"""
import email
import email.policy
import hashlib
import os
import sys

IID_IMESSAGE = bytes.fromhex("0703020000000000c000000000000046")
INVENTED = ("tnef-tmp", "Untitled Attachment")


def leaves(path):
    msg = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        yield part


def compare(outeml, opendir, refdir):
    have, problems, emls = {}, [], 0
    msg = email.message_from_bytes(open(outeml, "rb").read(), policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            emls += 1
    for part in leaves(outeml):
        name = part.get_filename()
        if part.get_content_type() in ("application/ms-tnef", "application/vnd.ms-tnef") or \
           (name or "").lower() == "winmail.dat":
            problems.append("a winmail.dat part reached the recipient")
        data = part.get_payload(decode=True) or b""
        have.setdefault(hashlib.sha256(data).hexdigest(), set()).add(name)
    for name in sorted(os.listdir(opendir)) if os.path.isdir(opendir) else []:
        data = open(os.path.join(opendir, name), "rb").read()
        if name.lower().endswith(".eml"):
            emls += 1
        have.setdefault(hashlib.sha256(data).hexdigest(), set()).add(name)
    refs = sorted(os.listdir(refdir))
    for name in refs:
        data = open(os.path.join(refdir, name), "rb").read()
        if data[:16] == IID_IMESSAGE:
            if emls == 0:
                problems.append("%s: an embedded message, but no attached .eml arrived" % name)
            continue
        if len(data) >= 16 and data[8:16] == bytes.fromhex("c000000000000046"):
            data = data[16:]   # an OLE object: tnef keeps the interface id, we give the file
        h = hashlib.sha256(data).hexdigest()
        if h not in have:
            problems.append("%s (%d bytes, sha256 %s) did not arrive byte-exact" % (name, len(data), h[:16]))
        elif not name.startswith(INVENTED) and name not in have[h]:
            problems.append("%s arrived as %s" % (name, sorted(n or "-" for n in have[h])))
    for p in problems:
        print(p)
    if not problems:
        print("ok %d" % len(refs))
    return 1 if problems else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "winmail":
        msg = email.message_from_bytes(open(argv[2], "rb").read(), policy=email.policy.default)
        for part in msg.walk():
            if part.get_content_type() in ("application/ms-tnef", "application/vnd.ms-tnef"):
                open(argv[3], "wb").write(part.get_payload(decode=True))
                return 0
        return 1
    if len(argv) == 5 and argv[1] == "compare":
        return compare(argv[2], argv[3], argv[4])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
