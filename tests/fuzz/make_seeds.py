#!/usr/bin/env python3
"""make_seeds.py - (re)build the seed corpora of the fuzz targets added for issue 14 in
tests/fuzz/corpus/<target>/ from real inputs: the classifier's test documents
(tests/data/classify), TNEF files (tests/fuzz/corpus/classify), the sample config
(packaging/offload.conf), and objects, tickets and manifests built as FORMATS.md says with
the keys the targets use (tests/data/envelope-vectors/make_vectors.py). Run from anywhere;
python3-cryptography. Existing seed files of the same name are overwritten, others kept."""
import io
import json
import os
import struct
import sys
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests/data/envelope-vectors"))
import make_vectors as mv  # noqa: E402

CORPUS = os.path.join(ROOT, "tests/fuzz/corpus")
DATA = os.path.join(ROOT, "tests/data/classify")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def files(ext):
    return sorted(f for f in os.listdir(DATA) if f.endswith(ext))


def read(path):
    with open(path, "rb") as f:
        return f.read()


OOXML_MEMBERS = ["word/document.xml", "word/header", "word/footer", "word/footnotes.xml", "word/comments.xml",
                 "xl/sharedStrings.xml", "xl/worksheets/sheet", "xl/comments", "ppt/slides/slide1.xml",
                 "ppt/slides/slide2.xml", "ppt/notesSlides/", "docProps/custom.xml",
                 "docMetadata/LabelInfo.xml", "word/embeddings/"]
ODF_MEMBERS = ["content.xml", "styles.xml", "Object 1/content.xml"]


def archives():
    for ext in (".zip", ".docx", ".xlsx", ".pptx", ".odt"):
        for f in files(ext):
            put("zip", f, read(os.path.join(DATA, f)))
    for ext, target, members in ((".docx", "ooxml", OOXML_MEMBERS), (".xlsx", "ooxml", OOXML_MEMBERS),
                                 (".pptx", "ooxml", OOXML_MEMBERS), (".odt", "odf", ODF_MEMBERS)):
        for f in files(ext):
            raw = read(os.path.join(DATA, f))
            put(target, f, raw)
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                for m in z.namelist():
                    sel = next((i for i, p in enumerate(members) if m.startswith(p)), None)
                    if sel is not None:
                        put(target, "%s__%s" % (f, m.replace("/", "_")), bytes([sel]) + z.read(m))


def pdf_tnef():
    for f in files(".pdf"):
        put("pdf", f, read(os.path.join(DATA, f)))
    cls = os.path.join(CORPUS, "classify")
    for f in sorted(os.listdir(cls)):
        if f.endswith(".pdf"):
            put("pdf", f, read(os.path.join(cls, f)))
        if f.endswith(".tnef") or f.endswith(".dat"):
            put("tnef", f, read(os.path.join(cls, f)))


RTF = [
    rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial;}}{\*\generator Msftedit 5.41;}"
    rb"\viewkind4\uc1\pard\f0\fs20 VS - NUR F\'dcR DEN DIENSTGEBRAUCH\par IBAN DE89 3704 0044 0532 0130 00\par}",
    rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}{\header\pard VS-NfD\par}\pard\plain Sehr geehrte Damen"
    rb" und Herren,\par \u8364?100 \uc2\u8220??Zitat\u8221??\par{\*\htmltag64 <p>}\tab Ende\par}",
    rb"{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}{\*\htmltag19 <html>}"
    rb"{\*\htmltag34 <body>}\htmlrtf {\htmlrtf0 Hallo\htmlrtf }\htmlrtf0 {\*\htmltag0 \par }}",
]


def lzfu_literal(rtf):
    """compressed RTF (MS-OXRTFCP) with literal runs only, and the uncompressed MELA form"""
    body = bytearray()
    for i in range(0, len(rtf), 8):
        body.append(0)
        body += rtf[i:i + 8]
    body += bytes([1]) + struct.pack(">H", ((207 + len(rtf)) & 4095) << 4)  # end marker
    lz = struct.pack("<III", len(body) + 12, len(rtf), 0x75465A4C) + b"\0\0\0\0" + bytes(body)
    mela = struct.pack("<III", len(rtf) + 12, len(rtf), 0x414C454D) + b"\0\0\0\0" + rtf
    return lz, mela


def rtf():
    for i, r in enumerate(RTF):
        lz, mela = lzfu_literal(r)
        put("rtf", "doc%d.rtf" % i, r)
        put("rtf", "doc%d.lzfu" % i, lz)
        put("rtf", "doc%d.mela" % i, mela)


LABELS = [
    (0, "Vertraulich"), (0, "Company-Confidential"), (2, "VS-NfD: Haushalt 2025"),
    (2, "AW: VS - NUR FÜR DEN DIENSTGEBRAUCH Stellungnahme"), (2, "[TLP:AMBER+STRICT] Lagebild"),
    (2, "tlp: red Vorfall"), (2, "Besprechung zu VS-NfD-Dokumenten"), (2, "STRENG GEHEIM"),
    (3, 'marking="VS-VERTRAULICH"; origin=BSI'), (4, "VS-Nur für den\r\n Dienstgebrauch"), (5, "INTERN"),
    (1, "MSIP_Label_0e1f2a3b-1111-2222-3333-444455556666_Enabled=true; "
        "MSIP_Label_0e1f2a3b-1111-2222-3333-444455556666_SiteId=aaaa-bbbb; "
        "MSIP_Label_0e1f2a3b-1111-2222-3333-444455556666_Name=Vertraulich; "
        "MSIP_Label_0e1f2a3b-1111-2222-3333-444455556666_Method=Standard"),
]


def labels():
    for i, (sel, v) in enumerate(LABELS):
        put("label", "h%02d" % i, bytes([sel]) + v.encode())
    for f in sorted(os.listdir(DATA)):
        if f.startswith("mail_") and f.endswith(".eml"):
            for line in read(os.path.join(DATA, f)).split(b"\n"):
                for sel, h in ((0, b"Sensitivity:"), (1, b"msip_labels:"), (2, b"Subject:")):
                    if line.lower().startswith(h.lower()):
                        put("label", "%s_%d" % (f, sel), bytes([sel]) + line[len(h):].strip())


def conf():
    sample = read(os.path.join(ROOT, "packaging/offload.conf"))
    put("conf", "offload.conf", sample)
    full = b"\n".join(l[1:] if l.startswith(b"#") and b"=" in l and not l.startswith(b"# ") else l
                      for l in sample.split(b"\n"))
    put("conf", "defaults.conf", full)
    put("conf", "classify.conf", "[classify]\nlevels = OFFEN, INTERN, VERTRAULICH\n"
        "labels = Vertraulich=VERTRAULICH, Intern=INTERN, Streng vertraulich=VERTRAULICH\n"
        "subject_markers = [VERTRAULICH]=VERTRAULICH, TLP:RED=VERTRAULICH\n"
        "thresholds = iban=1, email=20\naction = VERTRAULICH=offload+password, VS=reject\n"
        "retention = VERTRAULICH=7d\nmax_inflated = 64M\nmax_depth = 3\n")
    put("conf", "storage.conf", "[storage]\nbackend = s3\n[s3]\nendpoint = https://s3.example.org:9000\n"
        "bucket = offload\nregion = eu-central-1\n[policy]\ninternal_domains = example.gov, .bund.example\n"
        "retention = 14d\noffload_min_size = 10M\n")


FZ_ID = "abcdefghijklmnopqrstuvwx"


def manifest():
    def m(files, **kw):
        d = {"v": 1, "id": FZ_ID, "created": "2025-01-02T03:04:05Z", "expires": "2025-01-16T03:04:05Z",
             "sender": "a@example.gov", "recipients": ["b@example.org", "c@example.net"],
             "subject": "Unterlagen", "message_id": "<1@example.gov>", "class": "VERTRAULICH", "files": files}
        d.update(kw)
        return json.dumps(d, ensure_ascii=False).encode()
    f = lambda i, n: {"index": i, "name": n, "type": "application/pdf", "size": 5 * 1024 * 1024 + i,  # noqa: E731
                      "key": mv.b64url(bytes([i]) * 32), "sha256": "%064x" % (i + 1)}
    put("manifest", "one", m([f(0, "Bericht.pdf")]))
    put("manifest", "three", m([f(0, "a.pdf"), f(1, "Grüße ✓.docx"), f(2, "Rechnung\u202efdp.exe")]))
    put("manifest", "empty", m([], recipients=[]))


def ticket():
    key = bytes([1, 2, 3]) + bytes(29)
    kid = 0x01
    for i, (idx, part, size, name) in enumerate([(0, 0, 1234, "a.pdf"), (0xFFFFFFFF, 0, 0, ""),
                                                 (2, 3, 1 << 33, "Grüße.txt")]):
        pt2 = (b"d" + FZ_ID.encode() + struct.pack(">IHQq", idx, part, size, 1800000000) + bytes([7]) * 32
               + bytes([len(name.encode())]) + name.encode())
        pt1 = (b"d" + FZ_ID.encode() + struct.pack(">IQq", idx, size, 1800000000) + bytes([7]) * 32
               + bytes([len(name.encode())]) + name.encode())
        put("ticket", "v2pt%d" % i, bytes([1]) + pt2)
        put("ticket", "v1pt%d" % i, bytes([2]) + pt1)
        salt, nonce = bytes([i]) * 16, bytes([i + 1]) * 12
        aad = b"offload v2 ticket" + bytes([2, kid])
        raw = bytes([2, kid]) + salt + nonce + mv.AESGCM(mv.ticket_v2_kdf(key, salt)).encrypt(nonce, pt2, aad)
        put("ticket", "v2text%d" % i, bytes([0]) + mv.b64url(raw).encode())


def objects():
    dk = bytes([9, 8, 7]) + bytes(29)
    put("objects", "tombstone", bytes([0]) + mv.tombstone(dk, FZ_ID, 1700000000, 1800000000))
    put("objects", "info", bytes([2]) + mv.info_object(dk, FZ_ID, "separate-mail", True))
    body = b"OFLDX\x01" + FZ_ID.encode() + struct.pack(">qqII", 1900000000, 1800000000, 1, 2)
    body += struct.pack(">IIqq", 3, 1, 1700000100, 1700000200) + struct.pack(">IIqq", 0, 0, 0, 0)
    kx = mv.hkdf(dk, b"", b"offload v1 state")
    put("objects", "state", bytes([1]) + body + mv.hmac.new(kx, body, mv.hashlib.sha256).digest())
    put("objects", "state_remac", bytes([0x81]) + body + bytes(32))
    priv = bytes([0x40, 1, 2, 3]) + bytes(28)
    put("objects", "escrow", bytes([3]) + mv.escrow(mv.x25519_pub(priv), FZ_ID, bytes([4]) * 32,
                                                   bytes([5]) * 32, bytes([6]) * 12)[0])


def request():
    for i, r in enumerate(["bytes=0-99", "bytes=-500", "bytes=100-", "bytes = 5 - 9", "bytes=0-0,5-9",
                           "bytes=18446744073709551615-", "items=0-1"]):
        put("request", "range%d" % i, bytes([0]) + struct.pack(">Q", 10 ** 6) + r.encode())
    for i, b in enumerate(['{"secret":"AAAAAAAAAAAAAAAAAAAAAA"}',
                           '{"secret":"AAAAAAAAAAAAAAAAAAAAAA","password":"correct horse"}',
                           '{"secret":"AAAAAAAAAAAAAAAAAAAAAA","days":7}']):
        put("request", "form%d" % i, bytes([1]) + b.encode())


S3 = {
    "list": '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/'
            '2006-03-01/"><Name>offload</Name><Prefix>pre/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000'
            '</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgve'
            'DS==</NextContinuationToken><Contents><Key>pre/abcdefghijklmnopqrstuvwx/m</Key><LastModified>'
            '2025-01-02T03:04:05.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;'
            '</ETag><Size>4711</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>pre/'
            'keyid</Key><LastModified>2025-01-02T03:04:05.000Z</LastModified><Size>34</Size></Contents>'
            '</ListBucketResult>',
    "uploads": '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazon'
               'aws.com/doc/2006-03-01/"><Bucket>offload</Bucket><KeyMarker></KeyMarker><NextKeyMarker>pre/ab'
               '/0</NextKeyMarker><NextUploadIdMarker>VXBsb2FkIElE</NextUploadIdMarker><MaxUploads>1000'
               '</MaxUploads><IsTruncated>true</IsTruncated><Upload><Key>pre/ab/0</Key><UploadId>VXBsb2FkIElE'
               '</UploadId><Initiated>2025-01-02T03:04:05.000Z</Initiated></Upload></ListMultipartUploadsResult>',
    "initiate": '<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult xmlns="http://s3.'
                'amazonaws.com/doc/2006-03-01/"><Bucket>offload</Bucket><Key>pre/ab/0</Key><UploadId>'
                'VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>'
                '</InitiateMultipartUploadResult>',
    "error": '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified '
             'bucket does not exist</Message><BucketName>offload</BucketName><RequestId>4442587FB7D0A2F9'
             '</RequestId></Error>',
    "versioning": '<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="http://s3.amazonaws'
                  '.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>',
}

DAV = {
    "apache": '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:"><D:response><D:href>'
              '/dav/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype>'
              '<D:getlastmodified>Thu, 02 Jan 2025 03:04:05 GMT</D:getlastmodified></D:prop><D:status>'
              'HTTP/1.1 200 OK</D:status></D:propstat></D:response><D:response><D:href>/dav/ab/</D:href>'
              '<D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop><D:status>'
              'HTTP/1.1 200 OK</D:status></D:propstat></D:response><D:response><D:href>/dav/keyid</D:href>'
              '<D:propstat><D:prop><D:resourcetype/><D:getcontentlength>34</D:getcontentlength>'
              '<D:getlastmodified>Thu, 02 Jan 2025 03:04:05 GMT</D:getlastmodified></D:prop><D:status>'
              'HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>\n',
    "nextcloud": '<?xml version="1.0"?>\n<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" '
                 'xmlns:oc="http://owncloud.org/ns"><d:response><d:href>https://cloud.example.org/remote.php/'
                 'dav/files/offload/dav/ab/abcd%20ef/</d:href><d:propstat><d:prop><d:resourcetype>'
                 '<d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>'
                 '<d:propstat><d:prop><d:getcontentlength/></d:prop><d:status>HTTP/1.1 404 Not Found'
                 '</d:status></d:propstat></d:response></d:multistatus>',
}


def xml():
    for k, v in S3.items():
        put("s3xml", k, v)
    for k, v in DAV.items():
        put("davxml", k, bytes([255]) + v.encode())
        put("davxml", k + "_pieces", bytes([6]) + v.encode())


def early():
    """fuzz_early: byte 0 the chunk pattern, byte 1 the flags (1 abort, 2 memory spool,
    4 early_free before msg_free), then a message (see the target)"""
    import base64
    blob = bytes((i * 7 + 3) % 256 for i in range(2100))
    b64 = base64.encodebytes(blob).decode()

    def leaf(b, name="a.bin", extra=""):
        return ("--%s\nContent-Type: application/octet-stream; name=%s\n"
                "Content-Transfer-Encoding: base64\n%s\n%s" % (b, name, extra, b64))

    top = "From: a@example.gov\nTo: b@example.net\nSubject: s\nMIME-Version: 1.0\n"
    plain = "--%s\nContent-Type: text/plain\n\nhello\n"
    msgs = {
        "simple": top + 'Content-Type: multipart/mixed; boundary="b1"\n\npre\n' + plain % "b1"
                  + leaf("b1") + "--b1--\n",
        "nested": top + 'Content-Type: multipart/mixed; boundary="o"\n\n--o\n'
                  'Content-Type: multipart/alternative; boundary="i"\n\n' + plain % "i"
                  + "--i--\n" + leaf("o") + "--o--\nepilogue\n",
        "no_close": top + "Content-Type: multipart/mixed; boundary=b2\n\n" + plain % "b2" + leaf("b2"),
        "tricks": top + 'Content-Type: multipart/mixed;\n boundary="b3"\n\n--b3x\n--b3 \n'
                  "Content-Type: text/plain\n\n--b3-- not\n--b3\nContent-Type: message/rfc822\n"
                  "Content-Transfer-Encoding: base64\n\n" + b64[:154] + leaf("b3", extra="X-A: 1\n")
                  + "--b3--  \n",
        "folded_cte": top + "Content-Type: multipart/mixed; boundary=b4\n\n--b4\n"
                      "Content-Transfer-Encoding:\n\tBASE64\n\n" + b64 + "--b4--\n",
        "padded": top + "Content-Type: multipart/mixed; boundary=b5\n\n--b5\n"
                  "Content-Transfer-Encoding: base64\n\n" + b64 + "=AAAA\n--b5--\n",
    }
    for name, m in msgs.items():
        crlf = m.replace("\n", "\r\n").encode()
        put("early", name, bytes([0 if name == "simple" else 2, 0]) + crlf)
        put("early", name + "_lf", bytes([3, 4]) + m.encode())
    put("early", "simple_bytes", bytes([1, 0]) + msgs["simple"].replace("\n", "\r\n").encode())
    put("early", "simple_cr", bytes([5, 1]) + msgs["simple"].replace("\n", "\r\n").encode())
    put("early", "nested_mem", bytes([4, 2]) + msgs["nested"].replace("\n", "\r\n").encode())
    put("early", "nested_two", bytes([2, 6]) + msgs["nested"].replace("\n", "\r\n").encode())
    # a single-part top level that is the base64 leaf (it ends with the body)
    single = (top + "Content-Type: application/pdf; name=s.pdf\nContent-Transfer-Encoding: base64\n\n" + b64)
    put("early", "single", bytes([0, 0]) + single.replace("\n", "\r\n").encode())
    put("early", "single_lf", bytes([3, 4]) + single.encode())
    put("early", "single_abort", bytes([4, 1]) + single.replace("\n", "\r\n").encode())
    put("early", "single_text", bytes([0, 0]) + (top + "Content-Transfer-Encoding: base64\n\n" + b64)
        .replace("\n", "\r\n").encode())
    # flag 8: read as `offloadctl process` does (msg_read_stream_with, LF made CRLF, mbox line dropped)
    put("early", "process_simple_lf", bytes([0, 8]) + ("From a@example.gov Mon Dec  7 10:00:00 2026\n"
        + msgs["simple"]).encode())
    put("early", "process_nested", bytes([0, 8]) + msgs["nested"].replace("\n", "\r\n").encode())
    put("early", "process_single_lf", bytes([0, 12]) + single.encode())
    put("early", "process_abort", bytes([0, 9]) + msgs["nested"].encode())
    # a leaf over two of process's 64 KiB reads: the worker starts before the leaf ends
    big = base64.encodebytes(bytes((i * 13 + 5) % 251 for i in range(75000))).decode()
    bigm = (top + 'Content-Type: multipart/mixed; boundary="b6"\n\n' + plain % "b6" + "--b6\n"
            "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" + big + "--b6--\n")
    put("early", "process_big_lf", bytes([0, 8]) + bigm.encode())
    put("early", "process_big_abort", bytes([0, 9]) + bigm.replace("\n", "\r\n").encode())


if __name__ == "__main__":
    archives()
    pdf_tnef()
    rtf()
    labels()
    conf()
    manifest()
    ticket()
    objects()
    request()
    xml()
    early()
