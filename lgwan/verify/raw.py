"""Raw packet work for check cases: inject crafted frames, and watch what arrives.

These run inside a node through the same agent as the probes (kinds ``sniff``, ``sendp``,
``send``). ``sniff`` may return a record per frame (``records: true``: VLAN ids, addresses,
protocol, ports) and count frames carrying given bytes (``grep``: hex strings). A check case typically starts a ``sniff`` at the far end, injects with ``sendp`` or
``send`` at the near end, and passes when the sniffer saw nothing (or exactly what it should).
"""

from __future__ import annotations

from typing import Any

KINDS = ("sniff", "sendp", "send")


def run(p: dict[str, Any], sc) -> dict[str, Any]:
    kind = p["kind"]
    res: dict[str, Any] = {"probe": p, "answered": False, "detail": "", "reply_src": None}
    if kind == "sniff":
        ifaces = p.get("iface") or [i for i in sc.get_if_list() if i != "lo"]
        packets = sc.sniff(iface=ifaces, filter=p.get("filter"), timeout=float(p.get("timeout", 2.0)),
                           count=int(p.get("count", 0)))
        res["packets"] = [pkt.summary() for pkt in packets][:50]
        res["count"] = len(packets)
        if p.get("vlans"):
            res["vlans"] = sorted({layer.vlan for pkt in packets for layer in _dot1q_layers(pkt, sc)})
        if p.get("records"):
            res["records"] = [_record(pkt, sc) for pkt in packets][:2000]
        if p.get("grep"):  # how many packets carry each byte string (hex) anywhere in the frame
            frames = [bytes(pkt) for pkt in packets]
            res["grep"] = {h: sum(bytes.fromhex(h) in f for f in frames) for h in p["grep"]}
        res["answered"] = len(packets) > 0
        res["detail"] = f"{len(packets)} packets" + (f": {res['packets'][0]}" if packets else "")
    elif kind == "sendp":
        frame = sc.Ether(bytes.fromhex(p["frame"]))
        sc.sendp(frame, iface=p["iface"], count=int(p.get("count", 3)), inter=0.05)
        res.update(answered=True, detail=f"sent {frame.summary()} on {p['iface']}")
    elif kind == "send":
        pkt = sc.IP(bytes.fromhex(p["packet"]))
        sc.send(pkt, count=int(p.get("count", 3)), inter=0.05)
        res.update(answered=True, detail=f"sent {pkt.summary()}")
    else:
        raise ValueError(f"unknown raw kind {kind}")
    return res


def _record(pkt, sc) -> dict[str, Any]:
    """What a check needs to judge one captured frame: VLAN tags, addresses, protocol, ports."""
    rec: dict[str, Any] = {"vlans": [x.vlan for x in _dot1q_layers(pkt, sc)], "summary": pkt.summary()}
    if pkt.haslayer(sc.IP):
        ip = pkt[sc.IP]
        rec.update(src=ip.src, dst=ip.dst, proto=ip.proto)
        if ip.haslayer(sc.UDP) or ip.haslayer(sc.TCP):
            l4 = ip[sc.UDP] if ip.haslayer(sc.UDP) else ip[sc.TCP]
            rec.update(sport=l4.sport, dport=l4.dport)
    elif pkt.haslayer(sc.ARP):
        rec.update(src=pkt[sc.ARP].psrc, dst=pkt[sc.ARP].pdst, proto="arp")
    return rec


def _dot1q_layers(pkt, sc):
    layer = pkt
    while layer is not None and not isinstance(layer, sc.NoPayload):
        if isinstance(layer, sc.Dot1Q):
            yield layer
        layer = layer.payload

