"""The lgwan segment's file server: sanitized files arrive here (standard library only).

    python3 -m lgwan.services.fileserver --bind ADDR --port 8000 --dir /run/files --log /run/fileserver.jsonl --allow-put SANITIZER

PUT /NAME   store the body as DIR/NAME (atomic: temp file + rename); only from --allow-put sources
GET /NAME   fetch a file;   GET /   list the files (JSON)
Every write attempt is logged as one JSON line.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from lgwan.services.httpserver import Server

NAME = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,200}$")
MAX_SIZE = 20 * 1024 * 1024


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--allow-put", required=True,
                    help="comma-separated source addresses allowed to PUT (the sanitizer)")
    a = ap.parse_args(argv)
    os.makedirs(a.dir, exist_ok=True)
    allow = {x.strip() for x in a.allow_put.split(",") if x.strip()}
    logf = open(a.log, "a", buffering=1, encoding="utf-8")
    lock = threading.Lock()

    def log(rec):
        with lock:
            logf.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")

    class H(BaseHTTPRequestHandler):
        server_version = "lab-fileserver/0.1"

        def reply(self, code, body: bytes, ctype="application/json"):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _name(self):
            n = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path.lstrip("/"))
            if not NAME.match(n) or n.startswith("."):
                return None
            return n

        def do_PUT(self):
            src = self.client_address[0]
            name = self._name()
            rec = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "op": "PUT", "src": src, "name": name}
            if src not in allow:
                rec["result"] = "forbidden source"; log(rec)
                return self.reply(403, b'{"error":"PUT only from the sanitizer"}\n')
            if name is None:
                rec["result"] = "bad name"; log(rec)
                return self.reply(400, b'{"error":"bad name"}\n')
            try:
                length = int(self.headers["Content-Length"])
            except (TypeError, ValueError):
                return self.reply(411, b'{"error":"Content-Length required"}\n')
            if not 0 <= length <= MAX_SIZE:
                return self.reply(413, b'{"error":"too large"}\n')
            data = self.rfile.read(length)
            fd, tmp = tempfile.mkstemp(dir=a.dir, prefix=".in-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, os.path.join(a.dir, name))
            rec.update(result="stored", size=len(data), sha256=hashlib.sha256(data).hexdigest())
            log(rec)
            self.reply(201, b'{"stored":true}\n')

        def do_GET(self):
            if self.path == "/":
                files = sorted(f for f in os.listdir(a.dir) if not f.startswith("."))
                return self.reply(200, (json.dumps(files, ensure_ascii=False) + "\n").encode())
            name = self._name()
            p = os.path.join(a.dir, name) if name else None
            if not p or not os.path.isfile(p):
                return self.reply(404, b'{"error":"not found"}\n')
            with open(p, "rb") as f:
                self.reply(200, f.read(), "application/octet-stream")

        def log_message(self, fmt, *args):
            pass

    srv = Server((a.bind, a.port), H)
    print(f"fileserver on {a.bind}:{a.port} dir={a.dir} put-from={sorted(allow)}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
