#!/usr/bin/env python3
"""gen.py - build the labelled classification test set (tests/data/classify/).

Writes generated docx/xlsx/pptx/odt/pdf/csv/txt/html/zip/eml files and TNEF
streams (winmail.dat, raw and inside .eml) with and without planted personal
data, plus look-alike negatives, and EXPECTED.tsv:
file, expected class (VS = the VS rule), detectors that must fire ("-" none).
Only the Python standard library; deterministic output (fixed zip times).
Usage: gen.py [OUTDIR]   (default: the directory of this script)
"""
import os
import struct
import sys
import uuid
import zipfile
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
EXPECTED = []
T0 = (2026, 1, 1, 0, 0, 0)


def put(name, data, cls, dets):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    EXPECTED.append((name, cls, ",".join(dets) if dets else "-"))


def zipbytes(members):
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in members:
            zi = zipfile.ZipInfo(n, T0)
            zi.compress_type = zipfile.ZIP_STORED if n == "mimetype" else zipfile.ZIP_DEFLATED
            z.writestr(zi, d)
    return buf.getvalue()


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx(paras, custom=None, table=None):
    """paras: lists of runs; table: rows of cells, a cell is a string or a list of runs"""
    body = ""
    for runs in paras:
        body += "<w:p>" + "".join(
            '<w:r><w:t xml:space="preserve">%s</w:t></w:r>' % r for r in runs) + "</w:p>"
    if table:
        body += "<w:tbl>"
        for row in table:
            body += "<w:tr>" + "".join(
                "<w:tc><w:p>%s</w:p></w:tc>" % ("<w:r><w:t>%s</w:t></w:r>" % c if isinstance(c, str) else "".join(
                    '<w:r><w:t xml:space="preserve">%s</w:t></w:r>' % r for r in c))
                for c in row) + "</w:tr>"
        body += "</w:tbl>"
    doc = '<?xml version="1.0" encoding="UTF-8"?><w:document %s><w:body>%s</w:body></w:document>' % (W, body)
    members = [("[Content_Types].xml", '<?xml version="1.0"?><Types/>'), ("word/document.xml", doc)]
    if custom:
        props = "".join(
            '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="%d" name="%s"><vt:lpwstr>%s</vt:lpwstr></property>'
            % (i + 2, k, v) for i, (k, v) in enumerate(custom))
        members.append(("docProps/custom.xml",
                        '<?xml version="1.0"?><Properties xmlns:vt="x">%s</Properties>' % props))
    return zipbytes(members)


def xlsx(shared, sheet_rows):
    """cells: ("s", index into shared), ("n", number) or ("i", inline string)"""
    sst = "<sst>" + "".join("<si><t>%s</t></si>" % s for s in shared) + "</sst>"
    rows = ""
    for r, cells in enumerate(sheet_rows, 1):
        rows += '<row r="%d">' % r
        for c, (kind, v) in enumerate(cells):
            ref = "%s%d" % ("ABCDEFGH"[c], r)
            if kind == "s":
                rows += '<c r="%s" t="s"><v>%d</v></c>' % (ref, v)
            elif kind == "i":
                rows += '<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, v)
            else:
                rows += '<c r="%s"><v>%s</v></c>' % (ref, v)
        rows += "</row>"
    sheet = "<worksheet><sheetData>%s</sheetData></worksheet>" % rows
    return zipbytes([("[Content_Types].xml", "<Types/>"), ("xl/sharedStrings.xml", sst),
                     ("xl/worksheets/sheet1.xml", sheet)])


def pptx(texts):
    sp = "".join("<a:p><a:r><a:t>%s</a:t></a:r></a:p>" % t for t in texts)
    slide = '<p:sld xmlns:a="a" xmlns:p="p"><p:cSld><p:spTree><p:sp><p:txBody>%s</p:txBody></p:sp></p:spTree></p:cSld></p:sld>' % sp
    return zipbytes([("[Content_Types].xml", "<Types/>"), ("ppt/slides/slide1.xml", slide)])


def odt(paras, table=None):
    body = "".join("<text:p>%s</text:p>" % p for p in paras)
    if table:
        body += "<table:table>" + "".join("<table:table-row>" + "".join(
            "<table:table-cell><text:p>%s</text:p></table:table-cell>" % c for c in row) + "</table:table-row>"
            for row in table) + "</table:table>"
    content = ('<office:document-content xmlns:office="o" xmlns:text="t"%s><office:body><office:text>%s'
               '</office:text></office:body></office:document-content>' % (' xmlns:table="b"' if table else "", body))
    return zipbytes([("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", content)])


def pdf(content_ops, cid=None):
    """content_ops: PDF content stream text; cid: dict char->code for a ToUnicode CMap font"""
    objs = []
    stream = zlib.compress(content_ops.encode("latin-1"))
    objs.append("<< /Type /Catalog /Pages 2 0 R >>")
    objs.append("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    objs.append("<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>")
    objs.append(("<< /Length %d /Filter /FlateDecode >>" % len(stream), stream))
    if cid:
        objs.append("<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /ToUnicode 6 0 R >>")
        lines = "".join("<%04X> <%04X>\n" % (code, ord(ch)) for ch, code in sorted(cid.items()))
        cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange\n"
                "<0000> <FFFF>\nendcodespacerange\n%d beginbfchar\n%sendbfchar\nendcmap end end\n"
                % (len(cid), lines))
        cz = zlib.compress(cmap.encode())
        objs.append(("<< /Length %d /Filter /FlateDecode >>" % len(cz), cz))
    else:
        objs.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    return pdf_objects(objs)


def pdf_differences(lines, glyphs, inline=False, tounicode=None):
    """a simple Type1 font whose /Encoding has a /Differences array: each character of the
    lines gets a code from 1 up, named by glyphs[ch] (AGL names, uniXXXX, uXXXX); the
    content shows hex codes. inline: the encoding dictionary inside the font object (with
    /BaseEncoding /MacRomanEncoding) instead of its own object. tounicode: a dict ch->ch2
    that a /ToUnicode CMap maps to (it must win over the encoding)."""
    codes = {}
    for ln in lines:
        for ch in ln:
            if ch not in codes:
                codes[ch] = 1 + len(codes)
    diffs = "[ 1 " + " ".join("/" + glyphs.get(ch, ch) for ch, _ in sorted(codes.items(), key=lambda kv: kv[1])) + " ]"
    ops = "BT /F1 10 Tf 50 700 Td " + " 0 -14 Td ".join(
        "<" + "".join("%02X" % codes[ch] for ch in ln) + "> Tj" for ln in lines) + " ET"
    stream = zlib.compress(ops.encode("latin-1"))
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            ("<< /Length %d /Filter /FlateDecode >>" % len(stream), stream)]
    tu = " /ToUnicode 7 0 R" if tounicode else ""
    if inline:
        objs.append("<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding << /Type /Encoding "
                    "/BaseEncoding /MacRomanEncoding /Differences %s >>%s >>" % (diffs, tu))
        objs.append("<< >>")
    else:
        objs.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding 6 0 R%s >>" % tu)
        objs.append("<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences %s >>" % diffs)
    if tounicode:
        body = "".join("<%02X> <%04X>\n" % (codes[ch], ord(tounicode[ch])) for ch in sorted(codes, key=codes.get))
        cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange\n"
                "<00> <FF>\nendcodespacerange\n%d beginbfchar\n%sendbfchar\nendcmap end end\n" % (len(codes), body))
        cz = zlib.compress(cmap.encode())
        objs.append(("<< /Length %d /Filter /FlateDecode >>" % len(cz), cz))
    return pdf_objects(objs)


def pdf_objects(objs):
    out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        if isinstance(o, tuple):
            out += b"%d 0 obj\n%s\nstream\n" % (i, o[0].encode()) + o[1] + b"\nendstream\nendobj\n"
        else:
            out += b"%d 0 obj\n%s\nendobj\n" % (i, o.encode())
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


# glyph names for /Differences: digits and letters by their AGL names, umlauts in all spellings
GLYPHS = {" ": "space", "-": "hyphen", ":": "colon", ",": "comma", ".": "period", "/": "slash",
          "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
          "7": "seven", "8": "eight", "9": "nine", "ä": "adieresis", "ö": "uni00F6", "ü": "u00FC",
          "ß": "germandbls", "Ü": "Udieresis", "f": "f.sc", "(": "parenleft", ")": "parenright"}

# ---- TNEF (MS-OXTNEF): attributes with checksums, MAPI property lists, LZFu compressed RTF ----
IID_IMESSAGE = uuid.UUID("00020307-0000-0000-C000-000000000046").bytes_le
RTF_PREBUF = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
              b"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
              b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")
assert len(RTF_PREBUF) == 207


def lzfu(raw):
    """MS-OXRTFCP compression: greedy matches against the 4 KiB history, then the end marker"""
    hist = bytearray(RTF_PREBUF)
    tokens = []
    i = 0
    while i < len(raw):
        best = None
        win0 = max(0, len(hist) - 4095)
        for ln in range(min(17, len(raw) - i), 1, -1):
            h = hist.rfind(raw[i:i + ln], win0)
            if h >= 0:
                best = (h % 4096, ln)
                break
        if best:
            tokens.append((True, (best[0] << 4) | (best[1] - 2)))
            hist += raw[i:i + best[1]]
            i += best[1]
        else:
            tokens.append((False, raw[i]))
            hist.append(raw[i])
            i += 1
    tokens.append((True, (len(hist) % 4096) << 4))   # reference to the write position: end
    body = bytearray()
    for k in range(0, len(tokens), 8):
        group = tokens[k:k + 8]
        body.append(sum(1 << b for b, (ref, _) in enumerate(group) if ref))
        for ref, v in group:
            body += struct.pack(">H", v) if ref else bytes([v])
    crc = zlib.crc32(bytes(body), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return struct.pack("<IIII", len(body) + 12, len(raw), 0x75465A4C, crc) + bytes(body)


def tnef_attr(level, attr, data):
    return struct.pack("<BII", level, attr, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def mapi_props(props):
    """[(type, id, value)]: PT_LONG ints, PT_STRING8/PT_UNICODE str, PT_BINARY/PT_OBJECT bytes"""
    out = struct.pack("<I", len(props))
    for t, i, v in props:
        out += struct.pack("<HH", t, i)
        if t == 0x0003:
            out += struct.pack("<I", v)
            continue
        if t == 0x001E:
            v = v.encode("cp1252") + b"\0"
        elif t == 0x001F:
            v = v.encode("utf-16-le") + b"\0\0"
        out += struct.pack("<II", 1, len(v)) + v + b"\0" * (-len(v) % 4)
    return out


def tnef(attachments, body=None, rtf=None):
    """attachments: dicts with title (8.3), data, long (PR_ATTACH_LONG_FILENAME, UTF-16),
    mime; or embedded (an inner TNEF stream, attached as PR_ATTACH_DATA_OBJ with IID_IMessage)"""
    out = struct.pack("<IH", 0x223E9F78, 0x4711)
    out += tnef_attr(1, 0x00089006, b"\0\0\1\0")
    out += tnef_attr(1, 0x00069007, struct.pack("<II", 1252, 0))
    out += tnef_attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")
    props = []
    if body is not None:
        props.append((0x001E, 0x1000, body))
    if rtf is not None:
        props.append((0x0102, 0x1009, lzfu(rtf)))
    if props:
        out += tnef_attr(1, 0x00069003, mapi_props(props))
    for a in attachments:
        out += tnef_attr(2, 0x00069002, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0))
        out += tnef_attr(2, 0x00018010, a["title"].encode("cp1252") + b"\0")
        if "embedded" in a:   # as Outlook: a placeholder in attAttachData, the message in the object
            out += tnef_attr(2, 0x0006800F, b"This attachment is a MAPI 1.0 embedded object and cannot be "
                                            b"rendered by this client.")
            out += tnef_attr(2, 0x00069005, mapi_props([(0x0003, 0x3705, 5), (0x001E, 0x3001, a["title"]),
                                                         (0x000D, 0x3701, IID_IMESSAGE + a["embedded"])]))
            continue
        out += tnef_attr(2, 0x0006800F, a["data"])
        props = [(0x0003, 0x3705, 1)]
        if "long" in a:
            props.append((0x001F, 0x3707, a["long"]))
        if "mime" in a:
            props.append((0x001E, 0x370E, a["mime"]))
        out += tnef_attr(2, 0x00069005, mapi_props(props))
    return out


def cid_text(s, cmap):
    for ch in s:
        if ch not in cmap:
            cmap[ch] = 3 + len(cmap)
    return "<" + "".join("%04X" % cmap[ch] for ch in s) + "> Tj"


def eml(headers, body, attachments=()):
    b = "BOUNDARY-classify-1"
    h = "".join("%s: %s\r\n" % kv for kv in headers)
    if not attachments:
        return (h + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()
    out = h + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n" % b
    out += "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" % (b, body)
    import base64
    for name, ctype, data in attachments:
        if ctype == "message/rfc822":
            out += "--%s\r\nContent-Type: message/rfc822\r\n\r\n%s\r\n" % (b, data.decode())
        else:
            enc = base64.encodebytes(data).decode().replace("\n", "\r\n")
            out += ("--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n%s" % (b, ctype, name, name, enc))
    out += "--%s--\r\n" % b
    return out.encode()


# ---- VS markings (issue 14): header/footer parts, the top of the first page, body edges ----
def wpara(text):
    """a Word paragraph; a tab in text becomes <w:tab/>"""
    return "<w:p><w:r>%s</w:r></w:p>" % "<w:tab/>".join(
        '<w:t xml:space="preserve">%s</w:t>' % t for t in text.split("\t"))


def docx_hf(paras, header=None, footer=None):
    """a docx of paragraphs with a header and a footer part (lists of lines)"""
    doc = '<?xml version="1.0" encoding="UTF-8"?><w:document %s><w:body>%s</w:body></w:document>' % (
        W, "".join(wpara(p) for p in paras))
    members = [("[Content_Types].xml", '<?xml version="1.0"?><Types/>'), ("word/document.xml", doc)]
    if header:
        members.append(("word/header1.xml", "<w:hdr %s>%s</w:hdr>" % (W, "".join(wpara(p) for p in header))))
    if footer:
        members.append(("word/footer2.xml", "<w:ftr %s>%s</w:ftr>" % (W, "".join(wpara(p) for p in footer))))
    return zipbytes(members)


def odt_styles(paras, header, footer, styles_text=""):
    """an odt whose styles.xml has a master page with header and footer; styles_text: a paragraph
    inside <office:styles> (not a master page: no marking position)"""
    styles = ('<office:document-styles xmlns:office="o" xmlns:style="s" xmlns:text="t"><office:styles>'
              '<style:style style:name="Standard"/>%s</office:styles><office:master-styles>'
              '<style:master-page style:name="Standard"><style:header><text:p>%s</text:p></style:header>'
              '<style:footer><text:p>%s</text:p></style:footer></style:master-page></office:master-styles>'
              '</office:document-styles>' % ("<text:p>%s</text:p>" % styles_text if styles_text else "",
                                            header, footer))
    z = odt(paras)
    import io
    buf = io.BytesIO(z)
    with zipfile.ZipFile(buf) as zin:
        members = [(n, zin.read(n)) for n in zin.namelist()]
    return zipbytes(members + [("styles.xml", styles)])


def pdf_lines(lines):
    """a one-page PDF, one text line per entry from the top of the page down"""
    esc = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in lines]
    return pdf("BT /F1 10 Tf 50 780 Td " + " 0 -14 Td ".join("(%s) Tj" % ln for ln in esc) + " ET")


PROSE = ["Sehr geehrte Damen und Herren,", "anbei die Unterlagen zur Sitzung am Montag.",
         "Die Tagesordnung folgt in der kommenden Woche.", "Bitte bringen Sie die Entwürfe mit.",
         "VS-NfD ist die niedrigste Stufe der Verschlusssachen und wird hier nur erklärt.",
         "Die Schulung behandelt den Umgang mit VS - Nur für den Dienstgebrauch.",
         "Raum 3.14 ist reserviert.", "Kaffee steht bereit.", "Mit freundlichen Grüßen", "Referat 12"]


HDR = [("From", "clerk@example.gov"), ("To", "someone@example.org"), ("Date", "Mon, 23 Nov 2026 10:00:00 +0100")]
DOCX_T = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def main():
    os.makedirs(OUT, exist_ok=True)
    # --- positives ---
    put("payslip.pdf", pdf("BT /F1 10 Tf 50 700 Td (Gehaltsabrechnung November) Tj 0 -14 Td "
                           "(IBAN: DE89 3704 0044 0532 0130 00) Tj 0 -14 Td [(Steuer-ID: 860)-250(957 42719)] TJ ET"),
        "VERTRAULICH", ["iban", "steuer-id"])
    cm = {}
    ops = "BT /F1 10 Tf 50 700 Td " + cid_text("Konto AT61 1904 3002 3457 3201", cm) + " ET"
    put("cid_tounicode.pdf", pdf(ops, cid=cm), "VERTRAULICH", ["iban"])
    # simple fonts with /Encoding /Differences (glyph names, uniXXXX, uXXXX, suffixes)
    lines = ["Gehaltsabrechnung für Jürgen Müller, Straße 5", "IBAN: DE89 3704 0044 0532 0130 00",
             "Steuer-ID: 86095742719"]
    put("differences.pdf", pdf_differences(lines, GLYPHS), "VERTRAULICH", ["iban", "steuer-id"])
    konto = "Konto AT61 1904 3002 3457 3201"
    put("tounicode_wins.pdf", pdf_differences([konto], dict(GLYPHS, **{d: "zero" for d in "0123456789"}),
                                              tounicode={c: c for c in konto}), "VERTRAULICH", ["iban"])
    # TNEF: winmail.dat with a docx, compressed RTF body, an embedded message inside a mail
    gehalt = docx([["Gehaltsabrechnung November"], ["IBAN DE89 3704 0044 0532 0130 00"], ["Steuer-ID: 860 957 42719"]])
    put("winmail.dat", tnef([{"title": "GEHALT~1.DOC", "long": "Gehalt.docx", "mime": DOCX_T, "data": gehalt}],
                            body="Anbei die Abrechnung."), "VERTRAULICH", ["iban", "steuer-id"])
    rtf = (b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Arial;}}{\\*\\generator Riched20;}"
           b"\\f0\\fs20 Bitte belasten Sie die Karte 4111 1111 1111 1111.\\par Gr\\'fc\\'dfe, \\u8222?Danke\\u8220?\\par}")
    put("winmail_rtf.dat", tnef([{"title": "notiz.txt", "data": b"Treffen am Montag.\n"}], body="Bitte belasten",
                                rtf=rtf), "VERTRAULICH", ["card"])
    inner_tnef = tnef([{"title": "KONTO.TXT", "long": "Konto für Überweisung.txt",
                        "data": "IBAN: GB82 WEST 1234 5698 7654 32\n".encode()}])
    put("mail_winmail.eml", eml(HDR + [("Subject", "WG: Konto")], "Siehe Anhang.", [
        ("winmail.dat", "application/ms-tnef", tnef([{"title": "Weitergeleitet", "embedded": inner_tnef}],
                                                     body="Siehe Anhang."))]), "VERTRAULICH", ["iban"])
    put("iban_runs.docx", docx([["Bitte überweisen Sie auf ", "DE89 3704 ", "0044 0532 ", "0130 00", "."]]),
        "VERTRAULICH", ["iban"])
    put("steuer_runs.docx", docx([["Steuer-ID: 860 957", "42719"]]), "VERTRAULICH", ["steuer-id"])
    put("iban_table.docx", docx([["Bankverbindung"]], table=[["Kontoinhaber", "Max Muster"],
                                                             ["IBAN", "NL91 ABNA", "0417 1643 00"]]),
        "VERTRAULICH", ["iban"])
    put("idnr_sheet.xlsx", xlsx(["Name", "Steuer-IdNr"], [[("s", 0), ("s", 1)], [("n", "Muster"), ("n", "36574261809")]]),
        "VERTRAULICH", ["steuer-id"])
    # split across runs inside one table cell (issue 4); lower-case IBAN in groups of four
    put("steuer_cell.docx", docx([["Personalbogen"]], table=[["Name", "Max Muster"],
                                                          ["Steuer-ID", ["860 957", "42719"]],
                                                          ["IBAN", ["DE89 3704 ", "0044 05", "32 0130 00"]]]),
        "VERTRAULICH", ["iban", "steuer-id"])
    put("iban_lower.txt", "Bitte überweisen an iban de89 3704 0044 0532 0130 00, Verwendungszweck Miete.\n",
        "VERTRAULICH", ["iban"])
    put("card.pptx", pptx(["Zahlung per Kreditkarte", "5555 5555 5555 4444"]), "VERTRAULICH", ["card"])
    put("rvnr.odt", odt(["Rentenversicherungsnummer:", "15 070649 C 103"]), "VERTRAULICH", ["rvnr"])
    put("kvnr.csv", "Name;Krankenkasse;Versichertennummer\nMuster;AOK;A123456780\n", "VERTRAULICH", ["kvnr"])
    put("passport.txt", "Reisepass Nr. T220001293 gültig bis 2030\n", "VERTRAULICH", ["id-document"])
    put("health.docx", docx([["Arztbrief für Frau Muster"], ["Diagnose: F32.1 mittelgradige Depression. "
                                                          "Befund vom 3. März, Therapie empfohlen."]]),
        "STRENG-VERTRAULICH", ["art9-health"])
    put("union.txt", "Mitgliedsbeitrag an die Gewerkschaft ver.di wird vom Lohn einbehalten.\n",
        "STRENG-VERTRAULICH", ["art9-union"])
    put("health_en.txt", "Patient diagnosed with chronic illness, medication adjusted, sick leave until May.\n",
        "STRENG-VERTRAULICH", ["art9-health"])
    put("label_custom.docx", docx([["Projektplan"]], custom=[
        ("MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Enabled", "true"),
        ("MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Name", "Vertraulich"),
        ("MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_SiteId", "72f988bf-86f1-41af-91ab-2d7cd011db47")]),
        "VERTRAULICH", [])
    put("iban.html", "<html><body><p>Konto:</p><table><tr><td>IBAN</td><td>GB82 WEST 1234 5698 7654 32</td></tr>"
                     "</table><script>var x='DE89370400440532013000';</script></body></html>",
        "VERTRAULICH", ["iban"])
    put("nested.zip", zipbytes([("inner/ausweis.txt", "Personalausweis Nummer L01X00T471\n")]),
        "VERTRAULICH", ["id-document"])
    put("mail_attach.eml", eml(HDR + [("Subject", "Unterlagen")], "Anbei die Unterlagen.",
                               [("konto.docx", DOCX_T, docx([["IBAN DE89 3704 0044 0532 0130 00"]]))]),
        "VERTRAULICH", ["iban"])
    inner = eml([("From", "a@example.org"), ("Subject", "fwd")], "Karte 4111 1111 1111 1111 bitte belasten.")
    put("mail_nested.eml", eml(HDR + [("Subject", "Fwd: Zahlung")], "Siehe unten.",
                               [("fwd.eml", "message/rfc822", inner)]), "VERTRAULICH", ["card"])
    put("mail_sensitivity.eml", eml(HDR + [("Subject", "Personalsache"), ("Sensitivity", "Company-Confidential")],
                                    "Bitte vertraulich behandeln."), "VERTRAULICH", [])
    put("mail_msip.eml", eml(HDR + [("Subject", "Plan"), (
        "msip_labels", "MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Enabled=True;\r\n"
                       " MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_SiteId=72f988bf-86f1-41af-91ab-2d7cd011db47;"
                       "MSIP_Label_f42aa342-8706-4288-bd11-ebb85995028c_Name=Highly\r\n Confidential")],
                             "Text."), "STRENG-VERTRAULICH", [])
    put("mail_tlp.eml", eml(HDR + [("Subject", "[TLP:AMBER+STRICT] Lagebild")], "Lage."), "VERTRAULICH", [])
    put("mail_vsnfd.eml", eml(HDR + [("Subject", "VS-NfD: Bericht")], "Bericht anbei."), "VS", [])
    # --- negatives and look-alikes ---
    put("invoice.txt", "Rechnung Nr. 2026-000123, Bestellnummer 4111 2222 3333 4444, Kundennummer 86095742718.\n"
                       "Ungültige IBAN DE89 3704 0044 0532 0130 01, Telefon +49 89 12345678, Fax 0170 12345678.\n"
                       "Artikel 12345678903 und 11123456786, Referenz A123456789, Pass T220001294.\n",
        "OFFEN", [])
    put("phones.pptx", pptx(["Kontakt: Tel. 089 86095742719", "Zentrale +49 30 36574261809"]), "OFFEN", [])
    put("history.docx", docx([["Die Religion im Mittelalter prägte das Leben der Menschen."],
                              ["Im Jahr 1350 wuchs die Stadt."]]), "OFFEN", [])
    put("orders.xlsx", xlsx(["Bestellung", "Menge"], [[("s", 0), ("s", 1)], [("n", "4711"), ("n", "12")],
                                                      [("n", "20260101"), ("n", "3")]]), "OFFEN", [])
    put("plain.odt", odt(["Einladung zum Sommerfest am 3.7.2026 um 15 Uhr."]), "OFFEN", [])
    put("report.pdf", pdf("BT /F1 12 Tf 72 700 Td (Quartalsbericht: Umsatz 1234567 EUR, Auftrag 4111-2222-3333-4444) Tj ET"),
        "OFFEN", [])
    put("differences_neg.pdf", pdf_differences(["Bestellung 4111-2222-3333-4444 für Müller",
                                                "Konto DE89 3704 0044 0532 0130 01 ungültig"], GLYPHS, inline=True),
        "OFFEN", [])
    put("winmail_plain.dat", tnef([{"title": "AGENDA.TXT", "long": "Agenda.txt",
                                    "data": b"Agenda: Bestellnummer 4111 2222 3333 4444, Kundennummer 86095742718.\n"}],
                                  body="Agenda anbei."), "OFFEN", [])
    # phone numbers whose digits pass the Steuer-IdNr check, order numbers, cells and rows (issue 4)
    put("phones.csv", "Name;Steuer-ID;Telefon;Bemerkung\n"
                      "Muster;;+49 758 355601;Rückruf\nMeier;;+49 30 0546842;\nSchulz;;0049 30 393894650;\n"
                      "Wagner;;+49 151 712280;mobil\nBecker;;+49 (0)30 987426556;\nKoch;;(030) 365 470 85 510;\n"
                      "Wolf;;030 185 323 26 245;\nRichter;;0151/35499240695;\n"
                      "Neumann;;RE-2024-2586984;Rechnung\nFischer;;18.11.2026 13590,73;Betrag\n", "OFFEN", [])
    put("orders_table.docx", docx([["Steuerakte Vorgänge"]], table=[["Aktenzeichen", "BE-2023-27690"],
                                                                    ["11", "erledigt"],
                                                                    ["Steuer-ID", "860 957", "42719"],
                                                                    ["Rechnung", "RE-2024-2586984"]]),
        "OFFEN", [])
    put("cells.xlsx", xlsx(["Bestellung"], [[("i", "Steuer-ID"), ("n", "86095"), ("n", "742719")],
                                            [("i", "Steuer-ID"), ("n", "860957")], [("n", "42719"), ("s", 0)]]),
        "OFFEN", [])
    put("cells.odt", odt(["Steuer-ID Übersicht"], table=[["860 957", "42719"], ["860"], ["957 42719"]]),
        "OFFEN", [])
    put("minutes.txt", "Committee Sitzung by 27.08.2024 the have nach. Payment Verfahren.\n"
                       "Zahlung by 10.05.2022 nicht with invoice in Protokoll it 04.02.2023 Bescheid das review.\n"
                       "Termin Do 27.09.2023 nach is bei project by, do 12.01.2024 review of the with auf.\n"
                       "Meeting mit Martin am 18.11.2026 13590,73 EUR, Kostenstelle 03.05.2025.\n", "OFFEN", [])
    put("news.html", "<html><body><h1>Newsletter</h1><p>Unsere Hotline 0800 1234567.</p></body></html>",
        "OFFEN", [])
    put("mail_plain.eml", eml(HDR + [("Subject", "Mittagessen")], "Treffen wir uns um 12?"), "OFFEN", [])
    # --- VS markings in the marking positions (issue 14) ---
    put("vs_header.docx", docx_hf(PROSE, header=["Bundesamt für Beispiele\tVS - NUR FÜR DEN DIENSTGEBRAUCH"]),
        "VS", [])
    put("vs_footer.docx", docx_hf(PROSE, footer=["Seite 1\tvs-nfd"]), "VS", [])
    put("vs_top.docx", docx_hf(["VS-Nur für den", "Dienstgebrauch"] + PROSE), "VS", [])
    put("vs_styles.odt", odt_styles(PROSE, "Amt X", "VS\u00a0\u2013\u00a0NfD"), "VS", [])
    put("vs_top.odt", odt_styles(["Einstufung: Vs-NfD"] + PROSE, "Amt X", "Seite 1"), "VS", [])
    put("vs_page_top.pdf", pdf_lines(["VS - NUR F\u00dcR DEN DIENSTGEBRAUCH"] + PROSE), "VS", [])
    put("vs_page_bottom.pdf", pdf_lines(PROSE + ["- VS-NfD -"]), "VS", [])
    put("vs_top.txt", "[VS-NfD]\n" + "\n".join(PROSE) + "\n", "VS", [])
    put("mail_vs_body_top.eml", eml(HDR + [("Subject", "Lagebericht")],
                                    "VS - Nur f\u00fcr den Dienstgebrauch\r\n\r\n" + "\r\n".join(PROSE)), "VS", [])
    put("mail_vs_body_end.eml", eml(HDR + [("Subject", "Lagebericht")], "\r\n".join(PROSE) + "\r\nVS-\r\nNfD"),
        "VS", [])
    put("mail_vs_subject.eml", eml(HDR + [("Subject", "AW: vs - nur f\u00fcr den Dienstgebrauch: Lage")], "Lage."),
        "VS", [])
    put("mail_vs_attach.eml", eml(HDR + [("Subject", "Bericht")], "\r\n".join(PROSE), [
        ("bericht.docx", DOCX_T, docx_hf(PROSE, header=["VS-NfD"]))]), "VS", [])
    # prose that mentions the marking outside the marking positions: no VS
    put("vs_prose.docx", docx_hf(PROSE, header=["Bundesamt für Beispiele"], footer=["Seite 1"]), "OFFEN", [])
    put("vs_prose_first.docx", docx_hf(["Bitte keine VS-NfD Dokumente per Mail senden."] + PROSE), "OFFEN", [])
    put("vs_prose.odt", odt_styles(PROSE, "Amt X", "Seite 1", styles_text="VS-NfD"), "OFFEN", [])
    put("vs_prose.pdf", pdf_lines(PROSE), "OFFEN", [])
    put("vs_prose.txt", "\n".join(PROSE) + "\n", "OFFEN", [])
    put("mail_vs_prose.eml", eml(HDR + [("Subject", "Schulung Verschlusssachen")],
                                 "VS-NfD-Dokumente gehen nicht per Mail.\r\n" + "\r\n".join(PROSE)), "OFFEN", [])
    html = "<html><body>%s</body></html>"
    for name, paras, cls in (("mail_vs_html.eml", ["<b>VS-NfD</b>"] + PROSE, "VS"),
                             ("mail_vs_prose_html.eml", PROSE[:3] + ["<b>VS-NfD</b> erkl&auml;rt"] + PROSE[3:], "OFFEN")):
        body = html % "".join("<p>%s</p>" % p for p in paras)
        put(name, ("".join("%s: %s\r\n" % kv for kv in HDR + [("Subject", "Lage")]) +
                   "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body + "\r\n").encode(),
            cls, [])
    with open(os.path.join(OUT, "EXPECTED.tsv"), "w") as f:
        f.write("# file\tclass\tdetectors (generated by gen.py)\n")
        for row in EXPECTED:
            f.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
