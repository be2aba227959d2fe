#!/usr/bin/env python3
"""corpus_check.py - judge one `offloadctl process` run on a corpus message.

  corpus_check.py IN OUT RC STDERR CTL CONF MIN_SIZE WORKDIR [GMIME_CHECK]

Prints "ok - ..." / "not ok - ..." lines (one summary line per message plus one line per
problem found) and "# ..." notes. Checks (corpus README "What every message must survive"):
  - exit 0; 75/69 only with a policy reason in the stderr summary (recorded as a note);
  - the output parses with Python's email package without defects the input did not have,
    and (if GMIME_CHECK is given) with GMime;
  - nothing lost: every attachment of the input (leaf part with a file name, or not text/*)
    is in the output with the same decoded bytes, or in the transfer: `offloadctl open LINK`
    yields a file with the same SHA-256 (also looked for inside opened .eml files);
  - original headers, except X-Offload-Transfer, X-Data-Classification, Sensitivity,
    Content-Type, Content-Transfer-Encoding and MIME-Version, unchanged and in order; when
    the notice replaced the top-level part, its Content-Disposition, -Description, -ID,
    -Location and -MD5 are gone;
  - an output without X-Offload-Transfer/X-Data-Classification is byte-identical to the input
    (the leading mbox "From " line may be dropped); an attachment >= MIN_SIZE kept in the
    output needs a policy reason in the summary (e.g. signed mail skipped);
  - winmail.dat converted (summary "tnef=N"): the output is rewritten, the TNEF part is gone
    (test_tnef.sh compares its files with Debian's tnef) and no TNEF part is left;
  - strict charsets: every text part of a rewritten message decodes with errors='strict'
    under the charset it declares (us-ascii if none); a part that came in already broken and
    left unchanged (same bytes, same label) is a note, not a problem.
"""
import email
import email.policy
import hashlib
import os
import re
import subprocess
import sys

OWNED = {"x-offload-transfer", "x-data-classification", "sensitivity", "content-type",
         "content-transfer-encoding", "mime-version"}
# when the notice replaced the top-level part, the headers describing the part it replaced go
TOP_PART = {"content-disposition", "content-description", "content-id", "content-location",
            "content-md5"}
FIELD_RE = re.compile(rb"^[!-9;-~]+[ \t]*:")
LINK_RE = re.compile(r"https://files\.example\.test/t/[a-z2-7]{24}#[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")


def parse_bytes(b):
    return email.message_from_bytes(b, policy=email.policy.default)


def leaf_bytes(part):
    try:
        b = part.get_payload(decode=True)
    except Exception:
        b = None
    if b is None:
        p = part.get_payload()
        b = p.encode("utf-8", "surrogateescape") if isinstance(p, str) else b""
    return b


def filename(part):
    try:
        return part.get_filename()
    except Exception:
        return None


def is_tnef(part):
    return part.get_content_type() in ("application/ms-tnef", "application/vnd.ms-tnef") or \
        (filename(part) or "").lower() == "winmail.dat"


def leaves(msg):
    out = []
    try:
        for part in msg.walk():
            if part.is_multipart():
                continue
            out.append(part)
    except Exception:
        pass
    return out


def attachments(msg):
    """(name, sha256, size) for leaf parts with a file name or a non-text type"""
    res = []
    for p in leaves(msg):
        ct = p.get_content_type()
        name = filename(p)
        if name or p.get_content_maintype() not in ("text", "multipart"):
            b = leaf_bytes(p)
            res.append((name or ct, hashlib.sha256(b).hexdigest(), len(b)))
    return res


B64_RE = re.compile(rb"^[A-Za-z0-9+/=\s]+$")


def shas_of(b):
    """sha256 of the bytes, plus variants that absorb differences between two correct parsers:
    CRLF -> LF and trailing line ends stripped (7bit/QP text decodes with CRLF after the
    message is normalised to CRLF; parsers differ on the last line end before a missing or
    misplaced boundary), and base64-decoded (Python does not decode a base64 message/rfc822
    part, GMime does)"""
    lf = b.replace(b"\r\n", b"\n")
    res = {hashlib.sha256(b).hexdigest(), hashlib.sha256(lf).hexdigest(),
           hashlib.sha256(lf.rstrip(b"\n")).hexdigest()}
    if len(b) >= 16 and B64_RE.match(b):
        try:
            import base64
            d = base64.b64decode(b"".join(b.split()), validate=False)
            res |= {hashlib.sha256(d).hexdigest(), hashlib.sha256(d.replace(b"\r\n", b"\n")).hexdigest()}
        except Exception:
            pass
    return res


def all_leaf_shas(msg):
    res = set()
    for p in leaves(msg):
        res |= shas_of(leaf_bytes(p))
    return res


def text_of(part):
    try:
        t = part.get_content()
        return t if isinstance(t, str) else t.decode("utf-8", "replace")
    except Exception:
        return leaf_bytes(part).decode("utf-8", "replace")


def norm_lines(t):
    return [" ".join(l.split()) for l in t.replace("\r", "").split("\n") if l.strip()]


def text_kept(part, out_texts):
    """the lines of text part are, in order, in one output text part (a notice was inserted);
    compared as decoded text and as raw decoded bytes (a us-ascii label on UTF-8 bytes is
    relabelled utf-8, which changes Python's text but not the bytes)"""
    return (subseq(norm_lines(text_of(part)), [t for t, _ in out_texts]) or
            subseq(norm_lines(leaf_bytes(part).decode("utf-8", "replace")), [b for _, b in out_texts]))


def subseq(want, candidates):
    if not want:
        return True
    for have in candidates:
        i, misses = 0, 0
        for line in want:
            j = i
            while j < len(have) and have[j] != line:
                j += 1
            if j < len(have):
                i = j + 1
            else:
                misses += 1
        if misses <= 2:
            return True
    return False


def header_fields(raw):
    """[(lower name, value with line ends normalised)] of the top-level header block"""
    data = raw.replace(b"\r\n", b"\n")
    if data.startswith(b"From "):
        data = data[data.find(b"\n") + 1:]
    end = data.find(b"\n\n")
    head = data if end < 0 else data[:end + 1]
    fields = []
    for line in head.split(b"\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\n" + line
        elif FIELD_RE.match(line):
            n, _, v = line.partition(b":")
            fields.append([n.strip().lower(), v])
        else:
            break  # a non-header line ends the header block (as Postfix cleanup does)
    return [(n, v.rstrip()) for n, v in fields]


def links(msg):
    found = []
    for p in leaves(msg):
        if p.get_content_maintype() != "text":
            continue
        try:
            t = p.get_content()
            t = t if isinstance(t, str) else t.decode("utf-8", "replace")
        except Exception:
            t = leaf_bytes(p).decode("utf-8", "replace")
        for m in LINK_RE.findall(t):
            if m not in found:
                found.append(m)
    return found


def opened_blobs(directory):
    """LF-normalised bytes of each opened file and of the leaves of opened messages"""
    blobs = []
    for d, _, fs in os.walk(directory):
        for f in fs:
            b = open(os.path.join(d, f), "rb").read()
            blobs.append(b.replace(b"\r\n", b"\n"))
            try:
                blobs += [leaf_bytes(p).replace(b"\r\n", b"\n") for p in leaves(parse_bytes(b))]
            except Exception:
                pass
    return blobs


def opened_shas(directory):
    """sha256 of each opened file, plus the leaves of opened .eml/message files"""
    shas = set()
    for d, _, fs in os.walk(directory):
        for f in fs:
            b = open(os.path.join(d, f), "rb").read()
            shas |= shas_of(b)
            if f.lower().endswith((".eml", ".msg")) or b[:4096].lower().find(b"content-type:") >= 0:
                try:
                    shas |= all_leaf_shas(parse_bytes(b))
                except Exception:
                    pass
    return shas


def strict_decode(part):
    """None if the text part decodes strictly under its declared charset, else the error"""
    cs = part.get_content_charset("us-ascii")
    try:
        leaf_bytes(part).decode(cs, "strict")
        return None
    except (UnicodeDecodeError, LookupError) as e:
        return "%s: %s" % (cs, str(e)[:80])


def strict_check(msg_in, msg_out, problems, notes):
    """every text part of the output decodes strictly (see the module doc)"""
    came_broken = {(hashlib.sha256(leaf_bytes(p)).hexdigest(), p.get_content_charset("us-ascii"))
                   for p in leaves(msg_in) if p.get_content_maintype() == "text" and strict_decode(p)}
    for i, p in enumerate(leaves(msg_out)):
        if p.get_content_maintype() != "text":
            continue
        err = strict_decode(p)
        if err is None:
            continue
        key = (hashlib.sha256(leaf_bytes(p)).hexdigest(), p.get_content_charset("us-ascii"))
        if key in came_broken:
            notes.append("text part %d came in not decoding strictly and is unchanged (%s)" % (i, err))
        else:
            problems.append("text part %d (%s) does not decode strictly under %s" % (i, p.get_content_type(), err))


def main(argv):
    inp, outp, rc, errf, ctl, conf, minsize, work = argv[1:9]
    gmime = argv[9] if len(argv) > 9 else None
    name = os.path.basename(inp)
    rc = int(rc)
    minsize = int(minsize)
    summary = open(errf, "rb").read().decode("utf-8", "replace").strip().splitlines()
    summary = summary[-1] if summary else ""
    problems, notes = [], []
    raw_in = open(inp, "rb").read()
    raw_out = open(outp, "rb").read()
    policy_reason = re.search(r"reason=\S+", summary)

    if rc in (69, 75):
        if policy_reason and "storage" not in summary and "error" not in summary:
            notes.append("exit %d with policy reason: %s" % (rc, summary))
            if raw_out:
                problems.append("exit %d but %d bytes on stdout" % (rc, len(raw_out)))
            print("ok - %s: exit %d (%s)" % (name, rc, policy_reason.group(0)))
            for n in notes:
                print("# %s: %s" % (name, n))
            return 0
        problems.append("exit %d without a policy reason (summary: %s)" % (rc, summary[:200]))
    elif rc != 0:
        problems.append("exit %d (summary: %s)" % (rc, summary[:200]))
    if rc != 0:
        print("not ok - %s: %s" % (name, "; ".join(problems)))
        return 0

    msg_in = parse_bytes(raw_in)
    msg_out = parse_bytes(raw_out)
    ours = msg_out.get("X-Offload-Transfer") is not None or msg_out.get("X-Data-Classification") is not None
    # winmail.dat converted into MIME parts (summary "tnef=N"): the body changed without our
    # headers; the TNEF part itself is gone (its files are compared with Debian's tnef by
    # test_tnef.sh), and none may be left
    tnef = re.search(r"\btnef=[1-9]", summary) is not None
    ours = ours or tnef
    if tnef and any(is_tnef(p) for p in leaves(msg_out)):
        problems.append("winmail.dat converted, but a TNEF part is still in the output")

    # 1. output parses without new defects (Python), and with GMime
    def defect_names(m):
        names = set()
        for p in [m] + leaves(m):
            names |= {type(d).__name__ for d in getattr(p, "defects", [])}
        return names
    new_defects = defect_names(msg_out) - defect_names(msg_in)
    if new_defects:
        problems.append("output has new parser defects: %s" % ",".join(sorted(new_defects)))
    if gmime:
        g = subprocess.run([gmime, outp], capture_output=True)
        # an input GMime cannot read either (e.g. leading blank padding) passes unchanged
        if g.returncode != 0 and subprocess.run([gmime, inp], capture_output=True).returncode == 0:
            problems.append("GMime cannot read the output: %s" % g.stderr.decode(errors="replace").strip()[:200])

    # 1b. strict charsets in what we rewrote
    if ours:
        strict_check(msg_in, msg_out, problems, notes)

    # 2. headers except ours unchanged and in order
    owned = OWNED
    top_ct = lambda raw: [v for n, v in header_fields(raw) if n == b"content-type"]
    if ours and top_ct(raw_out) != top_ct(raw_in):
        owned = OWNED | TOP_PART
        if any(n.decode(errors="replace") in TOP_PART for n, _ in header_fields(raw_out)):
            problems.append("the notice replaced the top-level part but kept its Content-Disposition/-ID/...")
    hin = [(n, v) for n, v in header_fields(raw_in) if n.decode(errors="replace") not in owned]
    hout = [(n, v) for n, v in header_fields(raw_out) if n.decode(errors="replace") not in owned]
    if any(n.lower() == b"x-offload-transfer" for n, _ in header_fields(raw_out)):
        # the body changed: a DKIM signature over it is removed (issue 14 item 3)
        if any(n.lower() == b"dkim-signature" for n, _ in hout):
            problems.append("DKIM-Signature kept over a changed body")
        # and so is a Content-Length header (it counted the old body)
        if any(n.lower() == b"content-length" for n, _ in hout):
            problems.append("Content-Length kept over a changed body")
        hin = [(n, v) for n, v in hin if n.lower() not in (b"dkim-signature", b"content-length")]
    if hin != hout:
        for i, (a, b) in enumerate(zip(hin + [None] * len(hout), hout + [None] * len(hin))):
            if a != b:
                problems.append("header #%d differs: in %r, out %r" % (i, a and (a[0], a[1][:60]), b and (b[0], b[1][:60])))
                break

    # 3. unchanged output must be byte-identical
    if not ours:
        same = raw_out == raw_in
        if not same and raw_in.startswith(b"From ") and raw_out == raw_in[raw_in.find(b"\n") + 1:]:
            same = True
            notes.append("mbox From line dropped")
        if not same:
            if raw_out.replace(b"\r\n", b"\n") == raw_in.replace(b"\r\n", b"\n"):
                problems.append("output without our headers differs from the input in line endings only")
            else:
                problems.append("output without our headers is not byte-identical to the input")

    # 4. nothing lost: every leaf of the input is in the output (same decoded bytes), or is a
    #    text part that got the notice (its lines still there, in order), or is in the transfer
    att_in = attachments(msg_in)
    out_shas = all_leaf_shas(msg_out)
    out_texts = [(norm_lines(text_of(p)), norm_lines(leaf_bytes(p).decode("utf-8", "replace")))
                 for p in leaves(msg_out) if p.get_content_maintype() == "text"]
    missing = []
    for p in leaves(msg_in):
        b = leaf_bytes(p)
        if shas_of(b) & out_shas or (tnef and is_tnef(p)):
            continue
        is_att = bool(filename(p)) or p.get_content_maintype() not in ("text", "multipart")
        if not is_att and text_kept(p, out_texts):
            continue
        missing.append((filename(p) or p.get_content_type(), shas_of(b), len(b), b))
    kept_big = [a for a in att_in if a[1] in out_shas and a[2] >= minsize]
    lk = links(msg_out)
    if not lk:
        # Python may not see the notice part at all when the input's structure is ambiguous
        # (e.g. two Content-Type headers: GMime takes the last, Python the first)
        import quopri
        lk = list(dict.fromkeys(LINK_RE.findall(quopri.decodestring(raw_out).decode("utf-8", "replace"))))
        if lk and missing:
            notes.append("link found only in the raw output (Python does not see the notice part)")
    if missing:
        if not lk:
            problems.append("%d part(s) gone and no link: %s" % (len(missing), ", ".join(a[0] for a in missing)[:200]))
        else:
            if len(lk) != 1:
                problems.append("%d different links in the output (want one)" % len(lk))
            d = os.path.join(work, "open-" + re.sub(r"[^A-Za-z0-9._-]", "_", name))
            os.makedirs(d, exist_ok=True)
            r = subprocess.run([ctl, "-c", conf, "open", lk[0], "--output", d], capture_output=True)
            if r.returncode != 0:
                problems.append("offloadctl open failed (exit %d): %s" % (r.returncode, r.stderr.decode(errors="replace").strip()[-200:]))
            else:
                got = opened_shas(d)
                lost = [a for a in missing if not (a[1] & got)]
                if lost:
                    # parsers disagree on malformed structure (misplaced boundaries): accept a
                    # part whose text is contained in an opened file, and say so
                    blobs = opened_blobs(d)
                    found = [a for a in lost if a[3].replace(b"\r\n", b"\n").strip() and
                             any(a[3].replace(b"\r\n", b"\n").strip() in x for x in blobs)]
                    if found:
                        notes.append("found by containment, not by SHA-256 (parsers split the structure differently): %s" %
                                     ", ".join("%s (%d bytes)" % (a[0], a[2]) for a in found)[:200])
                    lost = [a for a in lost if a not in found]
                if lost and defect_names(msg_in):
                    notes.append("malformed input (%s): parts Python sees but the transfer does not hold as such: %s" %
                                 (",".join(sorted(defect_names(msg_in))),
                                  ", ".join("%s (%d bytes)" % (a[0], a[2]) for a in lost)[:200]))
                    lost = []
                if lost:
                    problems.append("part(s) neither in the output nor in the transfer: %s" %
                                    ", ".join("%s (%d bytes)" % (a[0], a[2]) for a in lost)[:300])
        texts = [a for a in missing if a[0].startswith("text/")]
        if texts:
            notes.append("text part(s) without file name offloaded: %s" % ", ".join("%s (%d bytes)" % (a[0], a[2]) for a in texts)[:200])
    what = "offloaded %d part(s), %d attachment(s) in the input" % (len(missing), len(att_in)) if ours else "unchanged"
    if problems:
        print("not ok - %s: %s: %s" % (name, what, problems[0]))
        for p in problems[1:]:
            print("#   %s" % p)
    else:
        print("ok - %s: %s%s" % (name, what, " (%s)" % summary.split(": ", 1)[-1][:80] if summary else ""))
    for n in notes:
        print("# %s: %s" % (name, n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
