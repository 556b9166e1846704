"""The sanitizer's pure decision function: what passes, what is rebuilt, what is rejected."""
import struct
import zlib

import pytest

from lgwan.services.sanitizer import sanitize


def chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png(extra=(), trailing=b"") -> bytes:
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    idat = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + ihdr + b"".join(extra) + idat + chunk(b"IEND", b"") + trailing


def jpeg(meta=True, trailing=b"") -> bytes:
    seg = lambda m, body: bytes((0xFF, m)) + struct.pack(">H", len(body) + 2) + body
    parts = [b"\xff\xd8", seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")]
    if meta:
        parts += [seg(0xE1, b"Exif\x00\x00" + b"GPS" * 10), seg(0xFE, b"a comment")]
    parts += [seg(0xDB, b"\x00" + bytes(64)), seg(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00"),
              seg(0xC4, b"\x00" + bytes(16) + b"\x00"), seg(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
              b"\x12\xff\x00\x34\xff\xd0\x56", b"\xff\xd9", trailing]
    return b"".join(parts)


def gif(comment=True, trailing=b"") -> bytes:
    hdr = b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    ext = b"\x21\xfe\x05hello\x00" if comment else b""
    gce = b"\x21\xf9\x04\x00\x00\x00\x00\x00"
    img = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00"
    return hdr + ext + gce + img + b"\x3b" + trailing


# ---- text
@pytest.mark.parametrize("name,data", [
    ("memo.txt", "会議は15時から。\n資料は共有フォルダ。\r\n\tend\n".encode()),
    ("list.csv", b"a,b,c\n1,2,3\n"),
    ("bom.txt", b"\xef\xbb\xbfhello\n"),
    ("empty.txt", b""),
])
def test_plain_text_passes_unchanged(name, data):
    verdict, out, reason = sanitize(name, data)
    assert verdict == "pass" and out == data, reason


@pytest.mark.parametrize("name,data,why", [
    ("a.txt", b"hello\x00world", "U+0000"),
    ("a.txt", b"ring\x07", "U+0007"),
    ("a.txt", b"\xff\xfe h\x00i\x00", "UTF-8"),                      # UTF-16 / binary
    ("a.txt", "abc\u202etxt.exe".encode(), "U+202E"),               # bidi override
    ("a.txt", b"hi <script>alert(1)</script>", "active"),
    ("a.txt", b"<a href='javascript:x()'>", "active"),
    ("page.html", b"<html><body>hi</body></html>", "extension"),
    ("page.html", b"just words", "extension"),                        # html never passes
    ("x.svg", b"<svg onload=alert(1)>", "extension"),
    ("run.bat", b"del /q *\r\n", "extension"),
    ("noext", b"plain", "extension"),
])
def test_bad_text_rejected(name, data, why):
    verdict, out, reason = sanitize(name, data)
    assert verdict == "reject" and out == b""
    assert why.lower() in reason.lower(), reason


# ---- forbidden types by magic, whatever the name says
@pytest.mark.parametrize("data,why", [
    (b"MZ\x90\x00\x03" + bytes(100), "executable"),
    (b"\x7fELF\x02\x01\x01" + bytes(50), "ELF"),
    (b"%PDF-1.7\n%...", "PDF"),
    (b"PK\x03\x04\x14\x00" + bytes(30), "ZIP"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(30), "OLE2"),
    (b"\x1f\x8b\x08\x00" + bytes(10), "gzip"),
    (b"#!/bin/sh\nrm -rf /\n", "script"),
    (bytes(257) + b"ustar\x0000" + bytes(100), "tar"),
])
@pytest.mark.parametrize("name", ["report.txt", "setup.exe", "photo.png"])
def test_forbidden_magic(name, data, why):
    verdict, out, reason = sanitize(name, data)
    assert verdict == "reject" and why.lower() in reason.lower(), reason


# ---- images
def test_png_clean_passes():
    data = png()
    assert sanitize("a.png", data)[:2] == ("pass", data)


def test_png_metadata_and_trailing_stripped():
    text = chunk(b"tEXt", b"Comment\x00<script>evil</script>")
    data = png(extra=[text, chunk(b"eXIf", b"MM\x00*")], trailing=b"PK\x03\x04zip-polyglot")
    verdict, out, reason = sanitize("a.png", data)
    assert verdict == "sanitized", reason
    assert out == png() and b"evil" not in out and b"PK" not in out
    assert "tEXt" in reason and "trailing" in reason


@pytest.mark.parametrize("mutate,why", [
    (lambda d: d[:-1], "truncated"),                                 # cut IEND crc
    (lambda d: d[:20] + b"X" + d[21:], "CRC"),                        # flipped byte in IHDR
    (lambda d: d[:8] + chunk(b"IDAT", b"x") + d[8:], "IHDR"),          # IHDR not first
    (lambda d: d[:33], "truncated"),
])
def test_png_broken_rejected(mutate, why):
    verdict, _, reason = sanitize("a.png", mutate(png()))
    assert verdict == "reject" and why.lower() in reason.lower(), reason


def test_png_wrong_extension():
    verdict, _, reason = sanitize("a.txt", png())
    assert verdict == "reject" and "extension" in reason


def test_jpeg_metadata_stripped():
    verdict, out, reason = sanitize("p.jpg", jpeg(meta=True, trailing=b"MZtrailer"))
    assert verdict == "sanitized", reason
    assert out == jpeg(meta=False)
    assert b"Exif" not in out and b"comment" not in out and b"MZtrailer" not in out


def test_jpeg_clean_passes():
    data = jpeg(meta=False)
    assert sanitize("p.jpeg", data)[:2] == ("pass", data)


def test_jpeg_truncated_rejected():
    assert sanitize("p.jpg", jpeg(meta=False)[:-2])[0] == "reject"


def test_gif():
    clean = gif(comment=False)
    assert sanitize("a.gif", clean)[:2] == ("pass", clean)
    verdict, out, reason = sanitize("a.gif", gif(comment=True, trailing=b"junk"))
    assert verdict == "sanitized" and out == clean, reason
    assert sanitize("a.gif", gif()[:-3])[0] == "reject"


# ---- names and size
@pytest.mark.parametrize("name", ["", "../etc/passwd", "a/b.txt", "a\\b.txt", ".bashrc",
                                  "x.txt ", "x.txt.", "a\x00.txt", "inv\u202etxt.exe"])
def test_bad_names(name):
    verdict, _, reason = sanitize(name, b"hello")
    assert verdict == "reject" and "name" in reason, reason


def test_too_large():
    from lgwan.services import sanitizer
    verdict, _, reason = sanitize("big.txt", b"a" * (sanitizer.MAX_SIZE + 1))
    assert verdict == "reject" and "large" in reason


def test_pure():
    data = png(extra=[chunk(b"tEXt", b"k\x00v")])
    assert sanitize("a.png", data) == sanitize("a.png", data)
