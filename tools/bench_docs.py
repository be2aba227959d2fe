#!/usr/bin/env python3
"""bench_docs.py OUTDIR TEXT_MB DOCX_MB - text-heavy documents for `make bench` (tools/bench.sh §4).

Writes, deterministically (fixed seed, fixed zip times), standard library only:
  OUTDIR/ledger.csv   TEXT_MB MB of a semicolon CSV (customer ledger: names, addresses,
                      amounts, dates, free text); every 97th row carries a valid German IBAN,
                      other rows order and phone numbers that look like identifiers but are not
  OUTDIR/report.txt   TEXT_MB MB of German/English prose in paragraphs, a valid IBAN in every
                      200th paragraph
  OUTDIR/report.docx  a Word document of about DOCX_MB MB: 40% deflated text (headings,
                      paragraphs of several runs, some bold/italic with rPr, tables of 7
                      columns, a header, a footer, styles, docProps; document.xml inflates
                      about 10:1, like Word's own) and 60% images (word/media/*.png); NO
                      planted identifiers and no phone numbers (a typical business
                      document: class OFFEN, so `process` passes it)
  OUTDIR/opaque.bin   random bytes of the same size as report.docx (the per-message baseline)
Prints one line per file: NAME BYTES [inflated=BYTES of document.xml] [planted=N].
"""
import os
import random
import sys
import zipfile
import zlib

OUT, TEXT_MB, DOCX_MB = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
R = random.Random(20261123)
T0 = (2026, 1, 1, 0, 0, 0)

WORDS = ("der die das und oder nicht mit von für auf bei nach über unter zwischen wegen Antrag Bescheid "
         "Verwaltung Gemeinde Landkreis Bürgerin Bürger Sachbearbeitung Frist Zahlung Gebühr Haushalt "
         "Ausschreibung Vergabe Vertrag Anlage Stellungnahme Beschluss Sitzung Protokoll Verfahren Prüfung "
         "Bearbeitung Einwohnermeldeamt Bauantrag Genehmigung Widerspruch Rechtsbehelf Zuständigkeit Behörde "
         "Förderung Zuwendung Verwendungsnachweis Kostenstelle Haushaltsjahr Mittel Auftrag Rechnung Mahnung "
         "the of and to in is for that with as on by this be are from at an which have project report "
         "budget council meeting decision application procedure review committee annex contract invoice "
         "payment deadline authority department municipality district public service citizen request "
         "Schule Straße Brücke Kanal Wasser Energie Klima Digitalisierung Personal Stelle Besoldung "
         "Tarif Fortbildung Ausstattung Beschaffung Lieferung Wartung Betrieb Sicherheit Datenschutz").split()
FIRST = "Anna Ben Clara David Elif Felix Greta Hannes Ida Jonas Katrin Lukas Mia Noah Olga Paul Rosa Sven Tom Ute".split()
LAST = "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Wolf Neumann".split()
CITY = "Berlin Hamburg München Köln Leipzig Dresden Kiel Mainz Erfurt Potsdam Bremen Hannover".split()


def sentence(n=None):
    w = [R.choice(WORDS) for _ in range(n or R.randint(6, 18))]
    if R.random() < 0.3:
        w.insert(R.randrange(len(w)), "%d,%02d EUR" % (R.randint(10, 99999), R.randint(0, 99)))
    if R.random() < 0.2:
        w.insert(R.randrange(len(w)), "%02d.%02d.%d" % (R.randint(1, 28), R.randint(1, 12), R.randint(2019, 2027)))
    s = " ".join(w)
    return s[0].upper() + s[1:] + R.choice(".!?..")


def iban_de():
    bban = "%08d%010d" % (R.randint(10000000, 89999999), R.randint(0, 9999999999))
    chk = 98 - int(bban + "131400") % 97
    s = "DE%02d%s" % (chk, bban)
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def order_no(phone=True):  # looks like an identifier, is none
    return R.choice(([] if not phone else ["+49 %d %d" % (R.randint(30, 989), R.randint(100000, 9999999))]) + ["BE-%d-%05d" % (R.randint(2020, 2027), R.randint(0, 99999)),
                     "AZ %d/%d" % (R.randint(1, 999), R.randint(2019, 2027))])


def write_text(path, limit, gen):
    n = planted = 0
    with open(path, "w", encoding="utf-8") as f:
        i = 0
        while n < limit:
            line, p = gen(i)
            planted += p
            n += len(line.encode("utf-8"))
            f.write(line)
            i += 1
    return planted


def csv_row(i):
    if i == 0:
        return "Kundennummer;Name;Straße;PLZ;Ort;Datum;Betrag;Verwendungszweck;Bankverbindung;Bemerkung\n", 0
    bank = iban_de() if i % 97 == 0 else order_no()
    return ("%07d;%s %s;%s %d;%05d;%s;%02d.%02d.%d;%d,%02d;%s;%s;%s\n" % (
        i, R.choice(FIRST), R.choice(LAST), R.choice(WORDS).capitalize() + "straße", R.randint(1, 200),
        R.randint(1000, 99999), R.choice(CITY), R.randint(1, 28), R.randint(1, 12), R.randint(2019, 2027),
        R.randint(1, 99999), R.randint(0, 99), sentence(8).rstrip(".!?"), bank, sentence(12))), int(i % 97 == 0)


def txt_para(i):
    s = " ".join(sentence() for _ in range(R.randint(3, 9)))
    if i % 200 == 199:
        return s + " Bitte überweisen Sie an IBAN " + iban_de() + ".\n\n", 1
    return s + "\n\n", 0


W = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
     'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')


def run(text):
    rpr = R.choice(["", "", "", "<w:rPr><w:b/></w:rPr>", "<w:rPr><w:i/></w:rPr>",
                    '<w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial"/><w:sz w:val="22"/></w:rPr>'])
    return '<w:r>%s<w:t xml:space="preserve">%s</w:t></w:r>' % (rpr, text.replace("&", "&amp;").replace("<", "&lt;"))


def para(style=None, nruns=None):
    ppr = '<w:pPr><w:pStyle w:val="%s"/></w:pPr>' % style if style else ""
    runs = "".join(run(sentence() + " ") for _ in range(nruns or R.randint(1, 4)))
    return '<w:p w:rsidR="00A1%04X">%s%s</w:p>' % (R.randrange(65536), ppr, runs)


def table(rows):
    cell = lambda t: ('<w:tc><w:tcPr><w:tcW w:w="1500" w:type="dxa"/></w:tcPr><w:p>%s</w:p></w:tc>' % run(t))
    out = '<w:tbl><w:tblPr><w:tblStyle w:val="Tabellenraster"/><w:tblW w:w="0" w:type="auto"/></w:tblPr>'
    for r in range(rows):
        out += "<w:tr>" + "".join(cell(x) for x in (
            "%d" % (r + 1), order_no(False), R.choice(WORDS).capitalize(), sentence(4),
            "%d,%02d EUR" % (R.randint(1, 99999), R.randint(0, 99)),
            "%02d.%02d.%d" % (R.randint(1, 28), R.randint(1, 12), R.randint(2019, 2027)),
            R.choice(["offen", "erledigt", "in Prüfung"]))) + "</w:tr>"
    return out + "</w:tbl>"


def document(units):
    body = []
    for u in range(units):
        if u % 25 == 0:
            body.append(para("Heading1", 1))
        body.append(table(R.randint(4, 12)) if u % 10 == 9 else para())
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document %s><w:body>%s'
            '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>' % (W, "".join(body)))


def docx(doc, media):
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/>'
          '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
          '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
          '<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>'
          '<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>'
          '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>')
    drels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
             '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
             '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header1.xml"/>'
             '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/></Relationships>')
    styles = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:styles %s><w:style w:type="paragraph" w:default="1" w:styleId="Standard">'
              '<w:name w:val="Normal"/></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/>'
              '<w:rPr><w:b/><w:sz w:val="32"/></w:rPr></w:style><w:style w:type="table" w:styleId="Tabellenraster">'
              '<w:name w:val="Table Grid"/></w:style></w:styles>' % W)
    hdr = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:hdr %s><w:p>%s</w:p></w:hdr>' % (W, run("Stadtverwaltung Musterstadt - Sachstandsbericht"))
    ftr = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:ftr %s><w:p>%s</w:p></w:ftr>' % (W, run("Seite"))
    core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Sachstandsbericht</dc:title><dc:creator>Bench</dc:creator></cp:coreProperties>')
    path = os.path.join(OUT, "report.docx")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in (("[Content_Types].xml", ct), ("_rels/.rels", rels), ("word/document.xml", doc),
                     ("word/_rels/document.xml.rels", drels), ("word/styles.xml", styles),
                     ("word/header1.xml", hdr), ("word/footer1.xml", ftr), ("docProps/core.xml", core)):
            z.writestr(zipfile.ZipInfo(n, T0), d, zipfile.ZIP_DEFLATED)
        for i, m in enumerate(media, 1):
            z.writestr(zipfile.ZipInfo("word/media/image%d.png" % i, T0), m, zipfile.ZIP_STORED)
    return path


os.makedirs(OUT, exist_ok=True)
lim = int(TEXT_MB * 1024 * 1024)
p = write_text(os.path.join(OUT, "ledger.csv"), lim, csv_row)
print("ledger.csv %d planted=%d" % (os.path.getsize(os.path.join(OUT, "ledger.csv")), p))
p = write_text(os.path.join(OUT, "report.txt"), lim, txt_para)
print("report.txt %d planted=%d" % (os.path.getsize(os.path.join(OUT, "report.txt")), p))
# size the document from a sample's deflate ratio, then correct once
want = DOCX_MB * 1024 * 1024
png = lambda n: b"\x89PNG\r\n\x1a\n" + bytes(R.getrandbits(8) for _ in range(n - 8))
media = [png(int(want * 0.6 / 4)) for _ in range(4)]
sample = document(200).encode()
units = int(200 * want * 0.4 / len(zlib.compress(sample, 6)))
for _ in range(2):
    doc = document(units).encode()
    path = docx(doc, media)
    units = int(units * (1 + (want - os.path.getsize(path)) / (want * 0.4)))
print("report.docx %d inflated=%d" % (os.path.getsize(path), len(doc)))
with open(os.path.join(OUT, "opaque.bin"), "wb") as f:
    f.write(os.urandom(os.path.getsize(path)))
print("opaque.bin %d" % os.path.getsize(os.path.join(OUT, "opaque.bin")))
