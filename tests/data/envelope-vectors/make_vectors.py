#!/usr/bin/env python3
"""make_vectors.py - an independent implementation of the offload v1
transfer format, written from docs/FORMATS.md (not from transfer/envelope.c),
using python3-cryptography. It prints the test vectors that docs/FORMATS.md
publishes and tests/unit/test_envelope.c checks byte-exactly, so two
implementations agree on every byte. The same for the other byte formats
of FORMATS.md: message header MACs and the keyid object (§3, checked by
tests/unit/test_milter.c), portal download tickets (§4,
tests/unit/test_portal.c), revocation tombstones (§5,
tests/unit/test_milter.c), the archive escrow object (§6.1,
tests/unit/test_escrow.c), the info object (§6.2, tests/unit/test_transfer_info.c),
the state object and sender view (§6.3, §6.4, tests/unit/test_state.c), and the
reply token, reply object, upload state and upload links (§6.5, §6.6, §6.11,
tests/unit/test_upload_vectors.c),
the notify object and once markers (§6.7, §6.8, tests/unit/test_notify_object.c),
agreed-secret wraps and recipient secrets (§6.9, §6.10, tests/unit/test_agreed.c;
Argon2id from python3-cryptography >= 44).

Usage: python3 tests/data/envelope-vectors/make_vectors.py
"""
import base64
import hashlib
import hmac
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEG = 65536
TAG = 16


def hkdf(ikm, salt, info, length=32):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None,
                info=info).derive(ikm)


def file_header(tid, index, prefix):
    assert len(tid) == 24 and len(prefix) == 7
    return b"OFLDF" + bytes([1]) + tid.encode() + struct.pack(">II", index, SEG) + prefix


def file_object(key, tid, index, prefix, pt):
    hdr = file_header(tid, index, prefix)
    aead = AESGCM(key)
    segs = [pt[i:i + SEG] for i in range(0, len(pt), SEG)] or [b""]
    out = [hdr]
    for i, s in enumerate(segs):
        last = 1 if i == len(segs) - 1 else 0
        nonce = prefix + struct.pack(">I", i) + bytes([last])
        out.append(aead.encrypt(nonce, s, hdr))
    return b"".join(out)


def file_size(n):
    segs = 1 if n == 0 else (n + SEG - 1) // SEG
    return 45 + n + TAG * segs


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def derive_tk(tid, secret, pwhash=b""):
    return hkdf(b64url_decode(secret) + pwhash, b"offload v1" + tid.encode(),
                b"offload v1 transfer key")


def revoke_hash(tid, revoke_secret):
    return hashlib.sha256(b"offload v1 revoke" + tid.encode()
                          + b64url_decode(revoke_secret)).digest()


def manifest(h, dk, secret, tk, js, nonce):
    tid = h["id"]
    flags = 1 if h["password"] else 0
    hdr = (b"OFLDM" + bytes([1]) + struct.pack(">H", 209) + tid.encode()
           + struct.pack(">qqBIII", h["created"], h["expires"], flags, h["m"], h["t"], h["p"])
           + h["key_id"].encode() + struct.pack(">I", len(js)))
    vkey = hkdf(b64url_decode(secret), b"offload v1" + tid.encode(), b"offload v1 verify")
    verifier = hmac.new(vkey, tid.encode(), hashlib.sha256).digest()
    commit = hkdf(tk, b"", b"offload v1 commit")
    rhash = revoke_hash(tid, h["revoke_secret"])
    hdr += verifier + commit + rhash
    assert len(hdr) == 177
    mkey = hkdf(dk, b"", b"offload v1 header mac")
    mac = hmac.new(mkey, hdr, hashlib.sha256).digest()
    hdr += mac
    assert len(hdr) == 209
    mk = hkdf(tk, b"", b"offload v1 manifest")
    ct = AESGCM(mk).encrypt(nonce, js, hdr)  # AAD = all 209 header bytes
    obj = hdr + nonce + ct
    return obj, dict(vkey=vkey, verifier=verifier, commit=commit, revoke=rhash, mackey=mkey,
                     mac=mac, mk=mk)


def body_digest(body):
    """the body digest (FORMATS.md §3.1): CRLF and LF count as one LF, the
    line ends at the very end are dropped, a CR without LF stays"""
    return hashlib.sha256(body.replace(b"\r\n", b"\n").rstrip(b"\n")).digest()


def header_mac(dk, message_id, xid, body):
    """X-Offload-Transfer / X-Offload-Notice mac= (FORMATS.md §3.1, §3.5)"""
    kh = hkdf(dk, b"", b"offload v2 transfer header")
    full = hmac.new(kh, message_id.encode() + b"\x00" + xid.encode() + b"\x00" +
                    body_digest(body), hashlib.sha256).digest()
    return full, b64url(full[:16])


VECTOR_BODY = b"Guten Tag,\r\n\r\ndie Dateien liegen bereit.\r\n\r\n"


def keyid_object(key_id):
    """the "keyid" object (FORMATS.md §3.4)"""
    obj = b"offload keyid v1 " + key_id.encode() + b"\n"
    assert len(obj) == 34
    return obj


def ticket_kdf(key):
    return hkdf(key, b"", b"offload v1 portal ticket")


def ticket(key, nonce, tid, index, size, not_after, fkey, name):
    """portal download ticket (FORMATS.md §4): raw bytes and text form"""
    kid = hashlib.sha256(b"offload key id" + key).digest()[0]
    n = name.encode()
    assert len(n) <= 255 and len(fkey) == 32 and len(nonce) == 12
    pt = (b"d" + tid.encode() + struct.pack(">IQq", index, size, not_after) + fkey
          + bytes([len(n)]) + n)
    assert len(pt) == 78 + len(n)
    aad = b"offload v1 ticket" + bytes([1, kid])
    raw = bytes([1, kid]) + nonce + AESGCM(ticket_kdf(key)).encrypt(nonce, pt, aad)
    return raw, b64url(raw)


def ticket_v2_kdf(key, salt):
    return hkdf(key, salt, b"offload v2 portal ticket")


def ticket_v2(key, salt, nonce, tid, index, part, size, not_after, fkey, name):
    """version 2 portal download ticket (FORMATS.md §4): raw bytes and text form"""
    kid = hashlib.sha256(b"offload key id" + key).digest()[0]
    n = name.encode()
    assert len(n) <= 255 and len(fkey) == 32 and len(nonce) == 12 and len(salt) == 16
    pt = (b"d" + tid.encode() + struct.pack(">IHQq", index, part, size, not_after) + fkey
          + bytes([len(n)]) + n)
    assert len(pt) == 80 + len(n)
    aad = b"offload v2 ticket" + bytes([2, kid])
    raw = (bytes([2, kid]) + salt + nonce
           + AESGCM(ticket_v2_kdf(key, salt)).encrypt(nonce, pt, aad))
    assert len(raw) == 126 + len(n)
    return raw, b64url(raw)


def tombstone(dk, tid, revoked_at, expires):
    """revocation tombstone "<id>/t" (FORMATS.md §5)"""
    body = b"OFLDT" + bytes([1]) + tid.encode() + struct.pack(">qq", revoked_at, expires)
    assert len(body) == 46
    kt = hkdf(dk, b"", b"offload v1 tombstone")
    obj = body + hmac.new(kt, body, hashlib.sha256).digest()
    assert len(obj) == 78
    return obj


def x25519_pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def escrow_key_id(pub):
    return hashlib.sha256(b"offload escrow key id" + pub).digest()[:8]


def escrow(rcpt_pub, tid, tk, eph_priv, nonce):
    """archive escrow object "<id>/e" (FORMATS.md §6.1)"""
    eph_pub = x25519_pub(eph_priv)
    shared = X25519PrivateKey.from_private_bytes(eph_priv).exchange(
        X25519PublicKey.from_public_bytes(rcpt_pub))
    ke = hkdf(shared, eph_pub + rcpt_pub, b"offload v1 escrow")
    aad = b"OFLDE" + bytes([1]) + tid.encode() + escrow_key_id(rcpt_pub) + eph_pub
    assert len(aad) == 70
    obj = aad + nonce + AESGCM(ke).encrypt(nonce, tk, aad)
    assert len(obj) == 130
    return obj, shared, ke


DELIVERY = {"none": 0, "phone": 1, "separate-mail": 2, "agreed": 3}


def info_object(dk, tid, delivery, reply_allowed):
    """info object "<id>/i" (FORMATS.md §6.2)"""
    body = b"OFLDI" + bytes([1]) + tid.encode() + bytes([DELIVERY[delivery], 1 if reply_allowed else 0])
    assert len(body) == 32
    ki = hkdf(dk, b"", b"offload v1 info")
    obj = body + hmac.new(ki, body, hashlib.sha256).digest()
    assert len(obj) == 64
    return obj


def state_object(dk, tid, limit, expires, flags, files):
    """state object "<id>/x" (FORMATS.md §6.3); files: (count, flags, first, last)"""
    body = b"OFLDX" + bytes([1]) + tid.encode() + struct.pack(">qqII", limit, expires, flags,
                                                             len(files))
    assert len(body) == 54
    for f in files:
        body += struct.pack(">IIqq", *f)
    kx = hkdf(dk, b"", b"offload v1 state")
    return body + hmac.new(kx, body, hashlib.sha256).digest()


def sender_view(tid, revoke_secret, nonce, js):
    """sender view "<id>/s" (FORMATS.md §6.4)"""
    raw = b64url_decode(revoke_secret)
    k = hkdf(raw, b"offload v1" + tid.encode(), b"offload v1 sender view")
    hdr = b"OFLDS" + bytes([1]) + tid.encode()
    return k, hdr + nonce + AESGCM(k).encrypt(nonce, js, hdr)


def reply_token(tid, secret):
    """reply token = K_verify of §2.4 (FORMATS.md §6.5)"""
    return hkdf(b64url_decode(secret), b"offload v1" + tid.encode(), b"offload v1 verify")


def reply_object(tid, token, nonce, js):
    """reply object "<id>/r" (FORMATS.md §6.5)"""
    k = hkdf(token, b"", b"offload v1 reply info")
    hdr = b"OFLDR" + bytes([1]) + tid.encode()
    return k, hdr + nonce + AESGCM(k).encrypt(nonce, js, hdr)


def upload_link(dk, tid, token, created, expires, nonce, js):
    """standalone upload link "<id>/l" (FORMATS.md §6.11)"""
    kl = hkdf(token, b"", b"offload v1 upload link")
    km = hkdf(dk, b"", b"offload v1 upload link mac")
    hdr = b"OFLDL" + bytes([1]) + tid.encode() + struct.pack(">qq", created, expires)
    body = hdr + nonce + AESGCM(kl).encrypt(nonce, js, hdr)
    return kl, km, body + hmac.new(km, body, hashlib.sha256).digest()


def upload_state(dk, tid, index, nonce, js):
    """upload state "<id>/u" (index 0xffffffff) and "<id>/u<n>" (FORMATS.md §6.6)"""
    k = hkdf(dk, b"", b"offload v1 upload state")
    hdr = b"OFLDU" + bytes([1]) + tid.encode() + struct.pack(">I", index)
    return k, hdr + nonce + AESGCM(k).encrypt(nonce, js, hdr)


def argon2id(password, salt, m, t, p):
    return Argon2id(salt=salt, length=32, iterations=t, lanes=p, memory_cost=m).derive(password)


def recipient_name(dk, address):
    """object name of a recipient secret "recipients/<h>" (FORMATS.md §6.10)"""
    kn = hkdf(dk, b"", b"offload v1 recipient name")
    return "recipients/" + hmac.new(kn, address.lower().encode(), hashlib.sha256).digest()[:16].hex()


def recipient_object(dk, address, salt, m, t, p, a, nonce):
    """recipient secret (FORMATS.md §6.10): sealed salt, parameters, A_r, address"""
    kr = hkdf(dk, b"", b"offload v1 recipient")
    name = recipient_name(dk, address)
    addr = address.lower().encode()
    pt = salt + struct.pack(">III", m, t, p) + a + struct.pack(">H", len(addr)) + addr
    hdr = b"OFLDR" + bytes([1])
    return kr, hdr + nonce + AESGCM(kr).encrypt(nonce, pt, hdr + name[len("recipients/"):].encode())


def agreed_wraps(tid, x, entries):
    """agreed-secret wraps "<id>/k" (FORMATS.md §6.9); entries: (salt, m, t, p, A_r, nonce)"""
    hdr = b"OFLDK" + bytes([1]) + tid.encode() + struct.pack(">H", len(entries))
    out = hdr
    for i, (salt, m, t, p, a, nonce) in enumerate(entries):
        e = salt + struct.pack(">III", m, t, p)
        w = hkdf(a, b"offload v1" + tid.encode(), b"offload v1 agreed wrap")
        out += e + nonce + AESGCM(w).encrypt(nonce, x, hdr + e + struct.pack(">H", i))
    return out


def agreed_vectors(dk, tid, secret):
    print("== recipient secrets and agreed-secret wraps (deployment key 404142..5f)")
    print("K_rn   %s" % hkdf(dk, b"", b"offload v1 recipient name").hex())
    m, t, p = 19456, 2, 1
    people = (("Anna.Beispiel@Example.ORG", b"correct horse battery", bytes(range(0x90, 0xa0)),
               bytes(range(0xd0, 0xdc)), bytes(range(0xe0, 0xec))),
              ("bert@example.net", b"Zweites Passwort!", bytes(range(0xa0, 0xb0)),
               bytes(range(0xd4, 0xe0)), bytes(range(0xf0, 0xfc))))
    entries = []
    for addr, pw, salt, rnonce, wnonce in people:
        a = argon2id(pw, salt, m, t, p)
        kr, obj = recipient_object(dk, addr, salt, m, t, p, a, rnonce)
        print("recipient %s password %r salt %s m=%d t=%d p=%d" % (addr, pw.decode(), salt.hex(), m, t, p))
        print("  name  %s" % recipient_name(dk, addr))
        print("  A_r   %s" % a.hex())
        print("  K_r   %s" % kr.hex())
        print("  object (nonce %s) %d bytes: %s" % (rnonce.hex(), len(obj), obj.hex()))
        entries.append((salt, m, t, p, a, wnonce))
    x = bytes(range(0x30, 0x50))
    k = agreed_wraps(tid, x, entries)
    print("X      %s" % x.hex())
    for i, e in enumerate(entries):
        print("W_%d    %s" % (i, hkdf(e[4], b"offload v1" + tid.encode(), b"offload v1 agreed wrap").hex()))
    print("TK (agreed X) %s" % derive_tk(tid, secret, x).hex())
    print("wraps %d bytes:" % len(k))
    for i in range(0, len(k), 32):
        print("  %04x: %s" % (i, k[i:i + 32].hex()))


def notify_object(dk, tid, nonce, js):
    """notify object "<id>/n" (FORMATS.md §6.7)"""
    k = hkdf(dk, b"", b"offload v1 notify")
    hdr = b"OFLDN" + bytes([1]) + tid.encode()
    return k, hdr + nonce + AESGCM(k).encrypt(nonce, js, hdr)


def once_marker(dk, tid, event, when):
    """once marker "<id>/o<event>" (FORMATS.md §6.8)"""
    body = b"OFLDO" + bytes([1]) + tid.encode() + event.encode().ljust(16, b"\0") + struct.pack(">q", when)
    assert len(body) == 54
    kx = hkdf(dk, b"", b"offload v1 state")
    return body + hmac.new(kx, body, hashlib.sha256).digest()


def main():
    key = bytes(range(32))
    prefix = bytes(range(0xa0, 0xa7))
    tid = "offloadtestvectorid23456"
    index = 3
    print("== file objects: key 000102..1f, prefix a0a1a2a3a4a5a6, id %s, index %d" % (tid, index))
    print("   plaintext byte i = i mod 251")
    for n in (0, 10, 65536, 65537):
        pt = bytes(i % 251 for i in range(n))
        obj = file_object(key, tid, index, prefix, pt)
        assert len(obj) == file_size(n)
        print("size %6d  object %6d bytes  sha256 %s" % (n, len(obj), hashlib.sha256(obj).hexdigest()))
        print("  first 64 bytes: %s" % obj[:64].hex())
        if n == 10:
            print("  whole object:   %s" % obj.hex())
        if n >= SEG:
            print("  last 32 bytes:  %s" % obj[-32:].hex())

    print("== keys and manifest")
    secret = b64url(bytes(range(0x10, 0x20)))
    pwhash = bytes(range(0x70, 0x90))
    dk = bytes(range(0x40, 0x60))
    key_id = hashlib.sha256(b"offload key id" + dk).digest()[:8].hex()
    tk_nopw = derive_tk(tid, secret)
    tk = derive_tk(tid, secret, pwhash)
    print("secret %s  deployment key 404142..5f  key_id %s" % (secret, key_id))
    print("TK (no password)        %s" % tk_nopw.hex())
    print("TK (pwhash 707172..8f)  %s" % tk.hex())
    revoke_secret = b64url(bytes(range(0x20, 0x30)))
    print("revoke secret %s" % revoke_secret)
    h = dict(id=tid, created=1700000000, expires=1702592000, password=True,
             m=65536, t=3, p=1, key_id=key_id, revoke_secret=revoke_secret)
    js = b'{"v":1,"files":[{"name":"report.pdf","size":10}]}'
    nonce = bytes(range(0xc0, 0xcc))
    obj, d = manifest(h, dk, secret, tk, js, nonce)
    for k in ("vkey", "verifier", "commit", "revoke", "mackey", "mac", "mk"):
        print("%-9s %s" % (k, d[k].hex()))
    print("json (%d bytes) %s" % (len(js), js.decode()))
    print("manifest object %d bytes sha256 %s" % (len(obj), hashlib.sha256(obj).hexdigest()))
    for i in range(0, len(obj), 32):
        print("  %04x: %s" % (i, obj[i:i + 32].hex()))

    print("== message header MACs (deployment key 404142..5f)")
    kh = hkdf(dk, b"", b"offload v2 transfer header")
    print("K_h       %s" % kh.hex())
    for b in (VECTOR_BODY, VECTOR_BODY.replace(b"\r\n", b"\n").rstrip(b"\n"), b"", b"\r\n\n",
              b"a\rb\r\r\n"):
        print("body digest of %-60r %s" % (b, body_digest(b).hex()))
    for mid, xid, body in (("<20231114.4711@mail.example.gov>", tid, VECTOR_BODY),
                           ("", tid, VECTOR_BODY),
                           ("<20231114.4711@mail.example.gov>", tid, b""),
                           ("<notice.0815@gw.example.gov>", "notice", VECTOR_BODY)):
        full, text = header_mac(dk, mid, xid, body)
        print("message-id %-34s id %-24s body %-9s HMAC %s  mac=%s" % (
            '"%s"' % mid, xid, "vector" if body else "empty", full.hex(), text))
    print("keyid object: %s" % keyid_object(key_id).hex())

    print("== portal download tickets")
    ticket_key = bytes(range(0x80, 0xa0))
    prev_key = bytes(range(0xa0, 0xc0))
    tnonce = bytes(range(0xd0, 0xdc))
    for name, k in (("ticket key 808182..9f", ticket_key), ("previous key a0a1a2..bf", prev_key)):
        kid = hashlib.sha256(b"offload key id" + k).digest()[:8].hex()
        print("%s  key id %s  kid %s  K_ticket %s" % (name, kid, kid[:2], ticket_kdf(k).hex()))
    file_key = bytes(range(32))
    cases = (("file", ticket_key, dict(index=3, size=10, name="report.pdf", key=file_key)),
             ("all", ticket_key, dict(index=0xffffffff, size=0, name="", key=tk)),
             ("file, previous key", prev_key, dict(index=3, size=10, name="report.pdf", key=file_key)))
    for label, k, c in cases:
        raw, text = ticket(k, tnonce, tid, c["index"], c["size"], 1702592000, c["key"], c["name"])
        print("ticket (%s) %d bytes" % (label, len(raw)))
        for i in range(0, len(raw), 32):
            print("  %04x: %s" % (i, raw[i:i + 32].hex()))
        print("  text: %s" % text)

    print("== portal download tickets, version 2 (salt e0e1..ef)")
    tsalt = bytes(range(0xe0, 0xf0))
    print("K (ticket key, salt) %s" % ticket_v2_kdf(ticket_key, tsalt).hex())
    print("K (previous key, salt) %s" % ticket_v2_kdf(prev_key, tsalt).hex())
    cases = (("file", ticket_key, dict(index=3, part=0, size=10, name="report.pdf", key=file_key)),
             ("part 2 of file 3", ticket_key, dict(index=3, part=2, size=10, name="report.pdf",
                                                  key=file_key)),
             ("all", ticket_key, dict(index=0xffffffff, part=0, size=0, name="", key=tk)),
             ("file, previous key", prev_key, dict(index=3, part=0, size=10, name="report.pdf",
                                                   key=file_key)))
    for label, k, c in cases:
        raw, text = ticket_v2(k, tsalt, tnonce, tid, c["index"], c["part"], c["size"], 1702592000,
                              c["key"], c["name"])
        print("ticket v2 (%s) %d bytes" % (label, len(raw)))
        for i in range(0, len(raw), 32):
            print("  %04x: %s" % (i, raw[i:i + 32].hex()))
        print("  text: %s" % text)

    print("== revocation tombstone (deployment key 404142..5f)")
    kt = hkdf(dk, b"", b"offload v1 tombstone")
    tomb = tombstone(dk, tid, 1700000100, 1702592000)
    print("K_t       %s" % kt.hex())
    print("tombstone %d bytes: %s" % (len(tomb), tomb.hex()))

    print("== archive escrow (TK with pwhash, id %s)" % tid)
    rcpt_priv = bytes(range(0x60, 0x80))
    eph_priv = bytes(range(0xe0, 0x100))
    enonce = bytes(range(0xb0, 0xbc))
    rcpt_pub = x25519_pub(rcpt_priv)
    obj, shared, ke = escrow(rcpt_pub, tid, tk, eph_priv, enonce)
    print("escrow private %s" % rcpt_priv.hex())
    print("escrow public  %s" % rcpt_pub.hex())
    print("escrow key id  %s" % escrow_key_id(rcpt_pub).hex())
    print("ephemeral priv %s" % eph_priv.hex())
    print("ephemeral pub  %s" % x25519_pub(eph_priv).hex())
    print("shared         %s" % shared.hex())
    print("K_e            %s" % ke.hex())
    print("escrow object %d bytes" % len(obj))
    for i in range(0, len(obj), 32):
        print("  %04x: %s" % (i, obj[i:i + 32].hex()))
    print("== info object (deployment key 404142..5f)")
    print("K_i       %s" % hkdf(dk, b"", b"offload v1 info").hex())
    for delivery, reply in (("phone", False), ("separate-mail", False), ("agreed", True)):
        obj = info_object(dk, tid, delivery, reply)
        print("info %s%s %d bytes: %s" % (delivery, " reply" if reply else "", len(obj), obj.hex()))
    print("== state object (deployment key 404142..5f)")
    kx = hkdf(dk, b"", b"offload v1 state")
    st = state_object(dk, tid, 1707776000, 1703196800, 1,
                      [(2, 1, 1700000200, 1700003600), (0, 0, 0, 0)])
    print("K_x    %s" % kx.hex())
    print("state %d bytes: %s" % (len(st), st.hex()))

    print("== sender view (revoke secret %s)" % revoke_secret)
    svjs = (b'{"v":1,"created":1700000000,"expires":1702592000,"class":"INTERN",'
            b'"files":[{"index":0,"name":"report.pdf","size":10}]}')
    k, sv = sender_view(tid, revoke_secret, bytes(range(0xe0, 0xec)), svjs)
    print("K_s    %s" % k.hex())
    print("json (%d bytes) %s" % (len(svjs), svjs.decode()))
    print("sender view %d bytes: %s" % (len(sv), sv.hex()))

    print("== reply token and reply object (secret %s)" % secret)
    tok = reply_token(tid, secret)
    print("token  %s" % tok.hex())
    print("link   https://portal.example.gov/u/%s#%s" % (tid, b64url(tok)))
    print("HMAC(token, id) = verifier %s" % hmac.new(tok, tid.encode(), hashlib.sha256).hexdigest())
    rjs = b'{"to":"clerk@example.gov"}'
    k, robj = reply_object(tid, tok, bytes(range(0xf0, 0xfc)), rjs)
    print("K_r    %s" % k.hex())
    print("json (%d bytes) %s" % (len(rjs), rjs.decode()))
    print("reply object %d bytes: %s" % (len(robj), robj.hex()))

    print("== upload state (deployment key 404142..5f)")
    unonce = bytes(range(0x90, 0x9c))
    gjs = (b'{"v":1,"src":"offloadtestvectorid23456","secret":"' + secret.encode()
           + b'","revoke":"' + revoke_secret.encode() + b'","created":1700000000,'
           b'"expires":1702592000,"message":"Anbei die Pl\xc3\xa4ne","count":2,"total":65547}')
    fjs = (b'{"v":1,"name":"report.pdf","length":65537,"offset":65536,"segment":1,'
           b'"key":"' + b64url(key).encode() + b'","prefix":"' + prefix.hex().encode()
           + b'","state":"open"}')
    utid = "offloadreplyvectorid2345"
    for label, idx, js in (("group u", 0xffffffff, gjs), ("file u3", 3, fjs)):
        k, obj = upload_state(dk, utid, idx, unonce, js)
        print("K_u    %s" % k.hex())
        print("%s json (%d bytes) %s" % (label, len(js), js.decode()))
        print("%s %d bytes: %s" % (label, len(obj), obj.hex()))
    pt = bytes(i % 251 for i in range(65537))
    fo = file_object(key, utid, 3, prefix, pt)
    print("file 3 of %s (65537 bytes, plaintext i mod 251) sha256 %s" % (utid, hashlib.sha256(fo).hexdigest()))
    print("part p3s0 = object[45..65597) sha256 %s" % hashlib.sha256(fo[45:45 + SEG + TAG]).hexdigest())
    print("part p3s1 = object[65597..) %s" % fo[45 + SEG + TAG:].hex())
    print("== standalone upload link (deployment key 404142..5f)")
    ltid = "offloaduploadlinkid23456"
    ltok = bytes(range(0x60, 0x80))
    ljs = b'{"to":"clerk@example.org","note":"Bauantrag 2026/17"}'
    kl, km, lo = upload_link(dk, ltid, ltok, 1700000000, 1701209600, bytes(range(0xa0, 0xac)), ljs)
    print("token  %s" % ltok.hex())
    print("link   https://portal.example.gov/u/%s#%s" % (ltid, b64url(ltok)))
    print("K_l    %s" % kl.hex())
    print("K_lm   %s" % km.hex())
    print("json (%d bytes) %s" % (len(ljs), ljs.decode()))
    print("upload link object %d bytes:" % len(lo))
    for i in range(0, len(lo), 32):
        print("  %04x: %s" % (i, lo[i:i + 32].hex()))
    agreed_vectors(dk, tid, secret)


    print("== notify object (deployment key 404142..5f)")
    njs = b'{"v":1,"to":"clerk@example.org","receipts":"first"}'
    k, no = notify_object(dk, tid, bytes(range(0xd0, 0xdc)), njs)
    print("K_n    %s" % k.hex())
    print("json (%d bytes) %s" % (len(njs), njs.decode()))
    print("notify %d bytes: %s" % (len(no), no.hex()))
    print("== once marker (deployment key 404142..5f)")
    om = once_marker(dk, tid, "receipt0", 1700000200)
    print("oreceipt0 at 1700000200, %d bytes: %s" % (len(om), om.hex()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
