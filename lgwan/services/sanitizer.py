"""Sanitizer (無害化): files from the internet segment, rendered harmless, to the lgwan file server.

    python3 -m lgwan.services.sanitizer --bind ADDR --port 8080 --deliver http://FILESERVER:8000 --log /run/decisions.jsonl

Standard library only. The service sits in the segment firewall's DMZ (compiler/sanitizer.py)
and does not route: it accepts ``POST /upload?name=FILE`` (raw body), runs the pure function
``sanitize()``, logs the decision as one JSON line, and delivers accepted output by HTTP PUT
to the lgwan file server (``--deliver``). Answers: 200 delivered, 422 rejected, 502 delivery
failed, 411/413 for length problems; the body is JSON ``{"verdict", "reason", "delivered"}``.

Policy of sanitize(name, data) -> (verdict, output, reason):
  verdict "pass"      output == data        (plain UTF-8 text, GIF without metadata)
          "sanitized" output is rebuilt     (PNG: critical chunks only; JPEG: APPn/COM stripped;
                                             GIF: comment/application/plain-text blocks dropped)
          "reject"    output == b""         (everything else, with a reason)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import struct
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler

from lgwan.services.httpserver import Server

MAX_SIZE = 20 * 1024 * 1024
TEXT_EXT = {".txt", ".csv", ".tsv", ".log", ".md"}
IMAGE_EXT = {"png": {".png"}, "jpeg": {".jpg", ".jpeg"}, "gif": {".gif"}}

# known dangerous or unsupported containers, recognised by magic bytes (checked first)
BAD_MAGIC = [
    (b"MZ", "executable (PE/MZ)"),
    (b"\x7fELF", "executable (ELF)"),
    (b"#!", "script (shebang)"),
    (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "ZIP archive or Office Open XML document"),
    (b"PK\x05\x06", "ZIP archive (empty)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 compound file (legacy Office)"),
    (b"{\\rtf", "RTF document"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"\xca\xfe\xba\xbe", "Java class / Mach-O fat binary"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\x00asm", "WebAssembly module"),
]
# markup / active content that must not pass as "text" (browsers and editors sniff content)
ACTIVE_TEXT = re.compile(
    rb"<\s*(script|html|iframe|object|embed|svg|body|meta|link|form|img|style)\b"
    rb"|javascript\s*:|vbscript\s*:|<\?xml|<!doctype\s+html|<%|<\?php|\bon[a-z]+\s*=",
    re.IGNORECASE,
)
# C0 controls except \t \n \r, DEL, C1 controls, and bidi/format chars that disguise content
BAD_TEXT_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]"
)
SAFE_NAME = re.compile(r"^[^\x00-\x1f\x7f/\\:*?\"<>|\u202a-\u202e\u2066-\u2069]{1,200}$")

PNG_SIG = b"\x89PNG\r\n\x1a\n"
PNG_KEEP = {b"IHDR", b"PLTE", b"IDAT", b"IEND"}


class Reject(Exception):
    pass


def _ext(name: str) -> str:
    i = name.rfind(".")
    return name[i:].lower() if i > 0 else ""


def check_name(name: str) -> str | None:
    """Return a reason string if the file name itself is unacceptable."""
    if not name or not SAFE_NAME.match(name):
        return "bad file name (empty, path separator, control or bidi character)"
    if name in (".", "..") or name.startswith(".") or name.endswith((".", " ")):
        return "bad file name (hidden or trailing dot/space)"
    if unicodedata.normalize("NFC", name) != name:
        return "bad file name (not NFC normalised)"
    return None


# ---------------------------------------------------------------- images

def sanitize_png(data: bytes) -> tuple[bytes, str]:
    if not data.startswith(PNG_SIG):
        raise Reject("not a PNG")
    pos, out, kept, dropped, first = 8, [PNG_SIG], 0, [], True
    while True:
        if pos + 8 > len(data):
            raise Reject("PNG truncated (no IEND)")
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        if length > 0x7FFFFFFF:
            raise Reject("PNG chunk length out of range")
        if pos + 12 + length > len(data):
            raise Reject(f"PNG truncated inside chunk {ctype!r}")
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            raise Reject(f"PNG chunk {ctype!r} CRC mismatch")
        if first and (ctype != b"IHDR" or length != 13):
            raise Reject("PNG does not start with a valid IHDR")
        first = False
        if ctype in PNG_KEEP:
            out.append(data[pos:pos + 12 + length]); kept += 1
        else:
            dropped.append(ctype.decode("latin-1"))
        pos += 12 + length
        if ctype == b"IEND":
            break
    trailing = len(data) - pos
    note = f"PNG kept {kept} critical chunks, dropped {sorted(set(dropped)) or 'none'}"
    if trailing:
        note += f", removed {trailing} trailing bytes"
    return b"".join(out), note


JPEG_KEEP_APP = {0xE0, 0xEE}  # APP0 (JFIF), APP14 (Adobe colour transform)


def sanitize_jpeg(data: bytes) -> tuple[bytes, str]:
    if not data.startswith(b"\xff\xd8\xff"):
        raise Reject("not a JPEG")
    out, pos, dropped, n = [b"\xff\xd8"], 2, 0, len(data)
    while True:
        # next marker (skip fill bytes 0xFF)
        if pos >= n or data[pos] != 0xFF:
            raise Reject("JPEG marker expected")
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise Reject("JPEG truncated")
        m = data[pos]; pos += 1
        if m == 0xD9:                           # EOI
            out.append(b"\xff\xd9")
            break
        if 0xD0 <= m <= 0xD7 or m == 0x01:      # standalone markers
            out.append(bytes((0xFF, m))); continue
        if pos + 2 > n:
            raise Reject("JPEG truncated segment")
        (seglen,) = struct.unpack(">H", data[pos:pos + 2])
        if seglen < 2 or pos + seglen > n:
            raise Reject("JPEG segment length out of range")
        seg = bytes((0xFF, m)) + data[pos:pos + seglen]
        pos += seglen
        if (0xE0 <= m <= 0xEF and m not in JPEG_KEEP_APP) or m == 0xFE:
            dropped += 1                        # APPn metadata (EXIF, XMP, ICC, IPTC) and COM
            continue
        out.append(seg)
        if m == 0xDA:                           # SOS: copy entropy-coded data up to next marker
            start = pos
            while True:
                j = data.find(b"\xff", pos)
                if j < 0 or j + 1 >= n:
                    raise Reject("JPEG truncated scan")
                nxt = data[j + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    pos = j + (2 if nxt != 0xFF else 1); continue
                out.append(data[start:j]); pos = j
                break
    trailing = n - pos
    note = f"JPEG stripped {dropped} metadata segments"
    if trailing:
        note += f", removed {trailing} trailing bytes"
    return b"".join(out), note


def sanitize_gif(data: bytes) -> tuple[bytes, str]:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise Reject("not a GIF")
    n = len(data)
    if n < 13:
        raise Reject("GIF truncated")
    flags = data[10]
    pos = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    out, dropped = [data[:pos]], 0

    def subblocks(p: int) -> int:
        while True:
            if p >= n:
                raise Reject("GIF truncated sub-blocks")
            size = data[p]; p += 1 + size
            if size == 0:
                return p

    while True:
        if pos >= n:
            raise Reject("GIF truncated (no trailer)")
        b = data[pos]
        if b == 0x3B:
            out.append(b"\x3b"); pos += 1
            break
        if b == 0x21:                            # extension
            if pos + 2 > n:
                raise Reject("GIF truncated extension")
            label = data[pos + 1]
            end = subblocks(pos + 2)
            if label == 0xF9:                   # graphic control: keep (animation timing, transparency)
                out.append(data[pos:end])
            else:                               # comment, application, plain text: drop
                dropped += 1
            pos = end
        elif b == 0x2C:                          # image descriptor
            if pos + 10 > n:
                raise Reject("GIF truncated image descriptor")
            iflags = data[pos + 9]
            p = pos + 10 + (3 * (2 << (iflags & 7)) if iflags & 0x80 else 0)
            end = subblocks(p + 1)              # +1: LZW minimum code size
            out.append(data[pos:end]); pos = end
        else:
            raise Reject(f"GIF unknown block 0x{b:02x}")
    trailing = n - pos
    if not dropped and not trailing:
        return data, "GIF structure valid, no metadata"
    return b"".join(out), f"GIF dropped {dropped} extension blocks, removed {trailing} trailing bytes"


# ---------------------------------------------------------------- text

def check_text(data: bytes) -> str:
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        text = body.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise Reject(f"not UTF-8 text (byte offset {e.start})")
    m = BAD_TEXT_CHARS.search(text)
    if m:
        raise Reject(f"control/format character U+{ord(m.group()):04X} in text")
    m = ACTIVE_TEXT.search(body)
    if m:
        raise Reject(f"active/markup content in text: {m.group().decode('utf-8', 'replace')!r}")
    return "plain UTF-8 text"


# ---------------------------------------------------------------- entry point

def sanitize(name: str, data: bytes) -> tuple[str, bytes, str]:
    """Pure function: decide and render harmless. Returns (verdict, output_bytes, reason)."""
    try:
        bad = check_name(name)
        if bad:
            raise Reject(bad)
        if len(data) > MAX_SIZE:
            raise Reject(f"too large ({len(data)} > {MAX_SIZE})")
        ext = _ext(name)
        for magic, what in BAD_MAGIC:
            if data.startswith(magic):
                raise Reject(f"forbidden type: {what}")
        if len(data) > 262 and data[257:262] == b"ustar":
            raise Reject("forbidden type: tar archive")
        if data.startswith(PNG_SIG):
            kind, fn = "png", sanitize_png
        elif data.startswith(b"\xff\xd8\xff"):
            kind, fn = "jpeg", sanitize_jpeg
        elif data[:6] in (b"GIF87a", b"GIF89a"):
            kind, fn = "gif", sanitize_gif
        else:
            kind, fn = "text", None
        if kind == "text":
            if ext not in TEXT_EXT:
                raise Reject(f"extension {ext or '(none)'!r} not allowed for text "
                             f"(allowed {sorted(TEXT_EXT)})")
            return "pass", data, check_text(data)
        if ext not in IMAGE_EXT[kind]:
            raise Reject(f"content is {kind} but extension is {ext or '(none)'!r}")
        out, note = fn(data)
        return ("pass" if out == data else "sanitized"), out, note
    except Reject as e:
        return "reject", b"", str(e)


# ---------------------------------------------------------------- service

class Service:
    def __init__(self, deliver: str, logpath: str, timeout: float = 5.0):
        self.deliver = deliver.rstrip("/")
        self.logf = open(logpath, "a", buffering=1, encoding="utf-8")
        self.lock = threading.Lock()
        self.timeout = timeout

    def log(self, rec: dict) -> None:
        with self.lock:
            self.logf.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")

    def push(self, name: str, data: bytes) -> tuple[bool, str]:
        url = f"{self.deliver}/{urllib.parse.quote(name, safe='')}"
        req = urllib.request.Request(url, data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return 200 <= r.status < 300, f"PUT {r.status}"
        except urllib.error.HTTPError as e:
            return False, f"PUT {e.code}"
        except OSError as e:
            return False, f"PUT failed: {e}"


def make_handler(svc: Service):
    class H(BaseHTTPRequestHandler):
        server_version = "lab-sanitizer/0.1"

        def reply(self, code: int, obj: dict) -> None:
            body = (json.dumps(obj, ensure_ascii=False) + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/health":
                return self.reply(200, {"ok": True})
            self.reply(404, {"error": "not found"})

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path != "/upload":
                return self.reply(404, {"error": "not found"})
            name = urllib.parse.parse_qs(u.query).get("name", [""])[0]
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self.reply(411, {"error": "Content-Length required"})
            if length < 0 or length > MAX_SIZE:
                return self.reply(413, {"error": "too large"})
            data = self.rfile.read(length)
            t0 = time.monotonic()
            verdict, out, reason = sanitize(name, data)
            rec = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "src": self.client_address[0],
                   "name": name, "size_in": len(data),
                   "sha256_in": hashlib.sha256(data).hexdigest(),
                   "verdict": verdict, "reason": reason,
                   "ms": round((time.monotonic() - t0) * 1000, 2)}
            code = 422
            if verdict != "reject":
                ok, how = svc.push(name, out)
                rec.update(size_out=len(out), sha256_out=hashlib.sha256(out).hexdigest(),
                           delivered=ok, delivery=how)
                code = 200 if ok else 502
            svc.log(rec)
            self.reply(code, {k: rec[k] for k in ("verdict", "reason")} |
                       ({"delivered": rec["delivered"]} if "delivered" in rec else {}))

        def log_message(self, fmt, *args):  # decisions are in the JSON log; keep stderr quiet
            pass
    return H


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--deliver", required=True, help="file server base URL (lgwan side)")
    ap.add_argument("--log", required=True, help="JSON-lines decision log")
    a = ap.parse_args(argv)
    svc = Service(a.deliver, a.log)
    srv = Server((a.bind, a.port), make_handler(svc))
    print(f"sanitizer listening on {a.bind}:{a.port} -> {a.deliver}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
