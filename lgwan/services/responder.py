"""A host's services, for probes to hit: accept TCP, echo UDP, log who came.

    python3 -m lgwan.services.responder --name NODE --tcp 443 --udp 3478 --log /run/responder.log

Every TCP connection gets a one-line banner ``lgwan <node> <proto>/<port> from <ip>`` and every
UDP datagram is answered with the same line. Each contact is logged as a JSON line with the
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
    ap.add_argument("--log", required=True)
    args = ap.parse_args(argv)
    sel = selectors.DefaultSelector()
    for port in args.tcp:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("tcp", port))
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
                else:
                    data, peer = sock.recvfrom(2048)
                    sock.sendto(record(proto, port, peer), peer)
            except OSError:
                continue


if __name__ == "__main__":
    sys.exit(main())
