"""A host's services, for probes to hit: accept TCP, echo UDP, log who came.

    python3 -m lgwan.services.responder --name NODE --tcp 443 --udp 3478 --log /run/responder.log

Every TCP connection gets a one-line banner ``lgwan <node> <proto>/<port> from <ip>`` and every
UDP datagram is answered with the same line. ``--http PORT`` ports read a request first and
answer it as a minimal web server (``HTTP/1.0 200``, the banner as body), so a forward proxy can
fetch from them. Each contact is logged as a JSON line with the
source address it arrived from, so tests can prove what a host saw (e.g. private addresses only).
"""

from __future__ import annotations

import argparse
import json
import selectors
import socket
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--tcp", type=int, action="append", default=[])
    ap.add_argument("--udp", type=int, action="append", default=[])
    ap.add_argument("--http", type=int, action="append", default=[])
    ap.add_argument("--log", required=True)
    args = ap.parse_args(argv)
    sel = selectors.DefaultSelector()
    for proto, ports in (("tcp", args.tcp), ("http", args.http)):
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
            s.listen(64)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, (proto, port))
    for port in args.udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("udp", port))
    log = open(args.log, "a", buffering=1, encoding="utf-8")

    def record(proto: str, port: int, peer: tuple[str, int]) -> bytes:
        log.write(json.dumps({"t": round(time.time(), 3), "proto": proto, "port": port,
                              "src": peer[0], "sport": peer[1]}) + "\n")
        return f"lgwan {args.name} {proto}/{port} from {peer[0]}\n".encode()

    while True:
        for key, _ in sel.select():
            proto, port = key.data
            sock = key.fileobj
            try:
                if proto == "tcp":
                    conn, peer = sock.accept()
                    conn.settimeout(0.5)
                    try:
                        conn.sendall(record(proto, port, peer))
                    finally:
                        conn.close()
                elif proto == "http":
                    conn, peer = sock.accept()
                    conn.settimeout(1.0)
                    try:
                        http_answer(conn, record("tcp", port, peer))
                    finally:
                        conn.close()
                else:
                    data, peer = sock.recvfrom(2048)
                    sock.sendto(record(proto, port, peer), peer)
            except OSError:
                continue


def http_answer(conn: socket.socket, body: bytes) -> None:
    """Read one request (up to the end of its headers) and answer 200 with ``body``."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 16384:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


if __name__ == "__main__":
    sys.exit(main())
