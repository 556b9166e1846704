"""Probes: real packets sent from inside a node, and what came back.

Run inside a node's namespace (the runtime does that: ``lgwan.runtime.probes``):

    python3 -m lgwan.probe '[{"kind": "tcp", "dst": "10.1.30.11", "port": 3389}]'

prints one JSON result per probe. Kinds:

- ``tcp``: scapy SYN; passes when a SYN-ACK comes back (the handshake's answer reached us).
- ``connect``: a kernel TCP connection that reads the service's banner (names who answered).
- ``udp``: scapy datagram; passes when the responder's answer comes back.
- ``icmp``: scapy echo request; passes on an echo reply.

A result is ``{"probe": …, "answered": bool, "detail": str, "reply_src": ip|None}``.
"""

from __future__ import annotations

import json
import random
import socket
import sys
from typing import Any


def _scapy():
    import logging

    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy import all as scapy

    scapy.conf.verb = 0
    return scapy


def run_one(p: dict[str, Any]) -> dict[str, Any]:
    kind = p["kind"]
    timeout = float(p.get("timeout", 1.0))
    dst = p["dst"]
    res: dict[str, Any] = {"probe": p, "answered": False, "detail": "", "reply_src": None}
    if kind == "connect":
        try:
            with socket.create_connection((dst, p["port"]), timeout=timeout) as s:
                s.settimeout(timeout)
                banner = s.recv(256).decode(errors="replace").strip()
            res.update(answered=True, detail=banner, reply_src=dst)
        except OSError as exc:
            res["detail"] = f"{type(exc).__name__}: {exc}"
        return res
    sc = _scapy()
    sport = random.randint(20000, 60000)
    if kind == "tcp":
        pkt = sc.IP(dst=dst) / sc.TCP(sport=sport, dport=p["port"], flags="S", seq=random.randint(0, 2**31))
        ans = sc.sr1(pkt, timeout=timeout, retry=int(p.get("retry", 1)))
        if ans is not None and ans.haslayer(sc.TCP):
            flags = str(ans[sc.TCP].flags)
            res.update(answered="S" in flags and "A" in flags, detail=f"TCP {flags} from {ans[sc.IP].src}",
                       reply_src=ans[sc.IP].src)
        elif ans is not None:
            res["detail"] = ans.summary()
        else:
            res["detail"] = "no answer"
    elif kind == "udp":
        pkt = sc.IP(dst=dst) / sc.UDP(sport=sport, dport=p["port"]) / sc.Raw(b"lgwan-probe")
        ans = sc.sr1(pkt, timeout=timeout, retry=int(p.get("retry", 1)))
        if ans is not None and ans.haslayer(sc.UDP):
            res.update(answered=True, detail=bytes(ans[sc.UDP].payload).decode(errors="replace").strip(),
                       reply_src=ans[sc.IP].src)
        else:
            res["detail"] = ans.summary() if ans is not None else "no answer"
    elif kind == "icmp":
        ans = sc.sr1(sc.IP(dst=dst) / sc.ICMP(id=sport), timeout=timeout, retry=int(p.get("retry", 1)))
        if ans is not None and ans.haslayer(sc.ICMP) and ans[sc.ICMP].type == 0:
            res.update(answered=True, detail=f"echo reply from {ans[sc.IP].src}", reply_src=ans[sc.IP].src)
        else:
            res["detail"] = ans.summary() if ans is not None else "no answer"
    else:
        raise ValueError(f"unknown probe kind {kind}")
    return res


def main(argv: list[str]) -> int:
    probes = json.loads(argv[0]) if argv else json.load(sys.stdin)
    for p in probes:
        print(json.dumps(run_one(p)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
