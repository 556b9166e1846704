"""Probes: real packets sent from inside a node, and what came back.

Run inside a node's namespace (the runtime does that: ``lgwan.runtime.probes``):

    python3 -m lgwan.probe '[{"kind": "tcp", "dst": "10.1.30.11", "port": 3389}]'

prints one JSON result per probe. Kinds:

- ``tcp``: scapy SYN; passes when a SYN-ACK comes back (the handshake's answer reached us).
- ``connect``: a kernel TCP connection that reads the service's banner (names who answered).
- ``udp``: scapy datagram; passes when the responder's answer comes back.
- ``icmp``: scapy echo request; passes on an echo reply.
- ``http``: ``GET url`` (``proxy``: "addr:port" of a forward proxy); passes on status 200.
- ``tunnel``: ``CONNECT dst:port`` through ``proxy``, then reads the service's banner; passes
  when the proxy said 200 and the far end answered.
- ``upload``: ``POST url`` with ``data`` (text); passes on status 200.
- ``dns``: an A query for ``name`` to ``server``; passes when any DNS answer comes back;
  ``rcode`` and ``addresses`` say what it was.

A result is ``{"probe": …, "answered": bool, "detail": str, "reply_src": ip|None}``.
A probe with ``"resolve": {"server": ip, "name": fqdn}`` first asks that resolver for the name
and sends the probe to the answer (α′'s allow-list is enforced by name).
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
    if p.get("resolve"):
        # by name, as a user would: ask the given resolver first, then probe the answer
        r = p["resolve"]
        answer = _dns(r["server"], r["name"], float(p.get("timeout", 1.0)))
        if not answer.get("addresses"):
            return {"probe": p, "answered": False, "reply_src": None,
                    "detail": f"{r['name']} did not resolve via {r['server']}: {answer.get('detail')}"}
        inner = run_one({**{k: v for k, v in p.items() if k != "resolve"}, "dst": answer["addresses"][0]})
        inner["probe"] = p
        inner["detail"] = f"{r['name']} -> {answer['addresses'][0]}; {inner['detail']}"
        return inner
    kind = p["kind"]
    timeout = float(p.get("timeout", 1.0))
    dst = p.get("dst")
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
    if kind in ("http", "tunnel", "upload", "dns"):
        return _app_probe(kind, p, timeout, res)
    sc = _scapy()
    sport = int(p.get("sport") or random.randint(20000, 60000))
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


def _split(hostport: str) -> tuple[str, int]:
    host, _, port = hostport.rpartition(":")
    return host, int(port)


def _http(conn_to: tuple[str, int], request: bytes, timeout: float) -> tuple[int, str, bytes]:
    """Send a raw HTTP request, return (status, status line, body) of the answer."""
    with socket.create_connection(conn_to, timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, line, body


def _app_probe(kind: str, p: dict[str, Any], timeout: float, res: dict[str, Any]) -> dict[str, Any]:
    from urllib.parse import urlsplit

    try:
        if kind == "http":
            u = urlsplit(p["url"])
            target = _split(p["proxy"]) if p.get("proxy") else (u.hostname, u.port or 80)
            path = p["url"] if p.get("proxy") else (u.path or "/") + (f"?{u.query}" if u.query else "")
            req = f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode()
            status, line, body = _http(target, req, timeout)
            res.update(answered=status == 200, status=status,
                       detail=f"{line} | {body.decode(errors='replace').strip()[:200]}", reply_src=target[0])
        elif kind == "upload":
            u = urlsplit(p["url"])
            data = p["data"].encode()
            req = (f"POST {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Length: {len(data)}\r\n"
                   f"Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n").encode() + data
            status, line, body = _http((u.hostname, u.port or 80), req, timeout)
            res.update(answered=status == 200, status=status, detail=body.decode(errors="replace").strip(),
                       reply_src=u.hostname)
        elif kind == "tunnel":
            proxy = _split(p["proxy"])
            with socket.create_connection(proxy, timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall(f"CONNECT {p['dst']}:{p['port']} HTTP/1.1\r\nHost: {p['dst']}:{p['port']}\r\n\r\n".encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode(errors="replace")
                status = int(line.split()[1]) if len(line.split()) > 1 and line.split()[1].isdigit() else 0
                banner = rest
                if status == 200 and not banner.endswith(b"\n"):
                    try:
                        banner += s.recv(4096)
                    except TimeoutError:
                        pass
            res.update(answered=status == 200 and bool(banner.strip()), status=status,
                       detail=f"{line} | {banner.decode(errors='replace').strip()}", reply_src=proxy[0])
        elif kind == "dns":
            res.update(_dns(p["server"], p["name"], timeout))
    except OSError as exc:
        res["detail"] = f"{type(exc).__name__}: {exc}"
    return res


def _dns(server: str, name: str, timeout: float) -> dict[str, Any]:
    """An A query over a kernel UDP socket; the message is built and parsed by scapy."""
    sc = _scapy()
    query = sc.DNS(id=random.randint(0, 65535), rd=1, qd=sc.DNSQR(qname=name, qtype="A"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(bytes(query), (server, 53))
        while True:
            try:
                data, peer = s.recvfrom(4096)
            except TimeoutError:
                return {"answered": False, "detail": "no answer", "rcode": None, "addresses": []}
            answer = sc.DNS(data)
            if answer.id == query.id:
                break
    names = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
    rcode = names.get(answer.rcode, str(answer.rcode))
    records = answer.an or []  # scapy >= 2.6: a list of resource records
    addrs = [str(r.rdata) for r in records if getattr(r, "type", None) == 1]
    return {"answered": True, "rcode": rcode, "addresses": addrs,
            "detail": f"{rcode} {' '.join(addrs)}".strip(), "reply_src": peer[0]}

def main(argv: list[str]) -> int:
    probes = json.loads(argv[0]) if argv else json.load(sys.stdin)
    for p in probes:
        print(json.dumps(run_one(p)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
