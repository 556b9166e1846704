"""Policy-matrix cases: every segment host of every municipality against every destination it
could try, each with the verdict ``expected_verdict`` derives from the topology and the model.

Destinations of a host in municipality M:
- the services of the hosts in M's other segments (rows 4, 5, 8, 9, 10);
- M's sanitizer (row 10: an upload from the internet segment must cross, as a file);
- the prefecture's security-cloud proxy (row 11: HTTP through it to the lab web site);
- every internet service directly, by address (rows 4, 7, 11) or, where the model allows names
  (α′ local breakout), by name through the firewall's DNS forwarder (row 7);
- the lab DNS server on the internet (DNS tunnelling must not get out);
- M's own Government Cloud systems at their global service addresses (rows 1, 2), the
  LGWAN-ASP services (row 6) and the other municipalities' published lgwan servers at their
  LGWAN global addresses (row 6: allowed from lgwan, both firewalls and both LGWAN routers on
  the path), once the lab has the LGWAN side.

And from the LGWAN backbone (``backbone_cases``): each LGWAN-ASP host toward every
municipality's published addresses and, on the number_use hosts' service ports, its own LGWAN
global addresses (SNAT, IKE, cloud pool): nothing from the backbone gets in (row 13).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from netaddr import IPNetwork

from ..compiler import internet as inet
from ..compiler import sanitizer, security_cloud
from ..compiler.firewall import fqdn_rules
from ..compiler.lgwan import asp_name, ike_address, lgwan_address, pool_address
from ..compiler.municipality import host_name
from ..expect import expected_verdict
from ..model import Municipality, Prefecture, Topology
from ..plan import Plan
from ..policy import LoadedPolicy, load_model_policy
from ..topology import cloud_service_address, lgwan_published_address, published_servers
from .model import Case

ZONES = ("number_use", "lgwan", "internet")
ZONE_SHORT = {"number_use": "nu", "lgwan": "lg", "internet": "in"}


@dataclass
class Flow:
    dst: str  # endpoint name for expected_verdict
    label: str  # column of the report's grid
    proto: str
    port: int | None
    probe: dict[str, Any]
    what: str


def _svc_probe(address: str, proto: str, port: int) -> dict[str, Any]:
    return {"kind": "tcp" if proto == "tcp" else "udp", "dst": address, "port": port}


def destinations(plan: Plan, topo: Topology, policy: LoadedPolicy, pref: Prefecture, m: Municipality,
                 src_zone: str) -> Iterator[Flow]:
    # the other segments of the same municipality
    for zone in ZONES:
        if zone == src_zone:
            continue
        for h in getattr(m.segments, zone).hosts:
            for s in h.services:
                yield Flow(host_name(m, h), h.name, s.proto, s.port, _svc_probe(h.address, s.proto, s.port),
                           f"{s.name} on {h.name}")
    # the sanitizer: from the internet segment, a real file
    if sanitizer.san_name(m) in plan.nodes:
        addr = sanitizer.addresses(m)[1]
        probe = _svc_probe(addr, "tcp", sanitizer.UPLOAD_PORT)
        if src_zone == "internet":
            probe = {"kind": "upload", "url": f"http://{addr}:{sanitizer.UPLOAD_PORT}/upload?name=verify-note.txt",
                     "data": "lgwan verify: a plain-text note crossing the sanitizer\n"}
        yield Flow(sanitizer.san_name(m), "sanitizer", "tcp", sanitizer.UPLOAD_PORT, probe, "upload to the sanitizer")
    # the prefecture's security cloud proxy: HTTP through it to the lab web site
    if security_cloud.sc_name(pref) in plan.nodes:
        web = next((s for s in topo.internet.services for v in s.services if v.port == 80), None)
        port = pref.security_cloud.proxy_port
        proxy = security_cloud.proxy_address(m)
        probe = ({"kind": "http", "url": f"http://{web.fqdn}/", "proxy": f"{proxy}:{port}"} if web
                 else _svc_probe(proxy, "tcp", port))
        yield Flow(security_cloud.sc_name(pref), "security cloud proxy", "tcp", port, probe,
                   f"HTTP via the {pref.name} security cloud")
    # the internet, directly (by name where the model allow-lists names)
    by_name = {r.to.fqdn for r in fqdn_rules(policy)} if src_zone == "lgwan" else set()
    forwarder = str(IPNetwork(getattr(m.segments, src_zone).prefix).network + 1)
    if inet.ROUTER in plan.nodes:
        for s in topo.internet.services:
            for v in s.services:
                probe = _svc_probe(s.address, v.proto, v.port)
                what = f"{v.name} on {s.fqdn} directly"
                if s.fqdn in by_name:
                    probe["resolve"] = {"server": forwarder, "name": s.fqdn}
                    what = f"{v.name} on {s.fqdn} by name (local breakout)"
                yield Flow(s.fqdn, f"internet: {s.name}", v.proto, v.port, probe, what)
        yield Flow(inet.DNS, "internet: dns", "udp", 53,
                   {"kind": "dns", "server": inet.dns_address(topo), "name": topo.internet.services[0].fqdn},
                   "the lab DNS server directly")
    # the Government Cloud (own tenant, at the shared global service addresses) and LGWAN-ASP
    if any(n.role == "relay_front" for n in plan.nodes.values()):
        for i, s in enumerate(m.cloud.systems):
            for v in s.services:
                yield Flow(f"cloud:{m.name}:{s.name}", f"cloud: {s.name}", v.proto, v.port,
                           _svc_probe(cloud_service_address(topo, i), v.proto, v.port),
                           f"{v.name} on its Government Cloud system {s.name}")
    if any(n.role == "carrier" for n in plan.nodes.values()):
        for s in topo.lgwan.asp:
            for v in s.services:
                yield Flow(f"asp:{s.name}", f"asp: {s.name}", v.proto, v.port,
                           _svc_probe(s.address, v.proto, v.port), f"{v.name} on LGWAN-ASP {s.name}")
        for _, o in topo.municipalities():
            if o.name == m.name:
                continue
            for h in published_servers(o):
                pub = lgwan_published_address(o, h)
                for v in h.services:
                    yield Flow(host_name(o, h), host_name(o, h), v.proto, v.port, _svc_probe(pub, v.proto, v.port),
                               f"{v.name} on {o.name}'s {h.name}, published at {pub} over LGWAN")


def backbone_cases(plan: Plan, topo: Topology, policy: LoadedPolicy) -> list[Case]:
    """Row 13: from each LGWAN-ASP host (on the backbone) into every municipality, by the addresses
    the backbone can route there: the published lgwan servers, and the LGWAN global addresses of
    the router (SNAT, IKE, cloud pool) on the service ports of the number_use hosts."""
    if not any(n.role == "carrier" for n in plan.nodes.values()):
        return []
    targets = []  # (dst endpoint, probe address, proto, port, what)
    for _, m in topo.municipalities():
        for h in published_servers(m):
            pub = lgwan_published_address(m, h)
            targets += [(host_name(m, h), pub, v.proto, v.port, f"{v.name} on {m.name}'s published {h.name}")
                        for v in h.services]
        globals_ = dict.fromkeys([lgwan_address(m), ike_address(m), pool_address(m, "number_use"),
                                  pool_address(m, "lgwan")])
        for h in m.segments.number_use.hosts:
            for v in h.services:
                targets += [(host_name(m, h), g, v.proto, v.port,
                             f"{m.name}'s number_use {h.name} ({v.name}) via its LGWAN global address {g}")
                            for g in globals_]
    cases = []
    for s in topo.lgwan.asp:
        src = asp_name(s.name)
        if src not in plan.nodes:
            continue
        for dst, addr, proto, port, what in targets:
            v = expected_verdict(topo, policy, src, dst, proto, port)
            cases.append(Case(
                id=f"{src}->{dst}:{proto}/{port}@{addr}", ref=v.ref, group="matrix",
                title=f"LGWAN backbone: {src} → {what} ({proto}/{port}) is {'allowed' if v.allowed else 'denied'}",
                source=src, destination=dst, probe=_svc_probe(addr, proto, port), expect_answer=v.allowed))
    return cases


def matrix_cases(plan: Plan, topo: Topology) -> list[Case]:
    policy = load_model_policy(plan.model, topo)
    cases = []
    for pref, m in topo.municipalities():
        for zone in ZONES:
            for h in getattr(m.segments, zone).hosts:
                src = host_name(m, h)
                for f in destinations(plan, topo, policy, pref, m, zone):
                    v = expected_verdict(topo, policy, src, f.dst, f.proto, f.port)
                    cases.append(Case(
                        id=f"{src}->{f.dst}:{f.proto}/{f.port}" + (":by-name" if f.probe.get("resolve") else ""),
                        ref=v.ref, group="matrix",
                        title=f"{src} → {f.what} ({f.proto}/{f.port}) is {'allowed' if v.allowed else 'denied'}",
                        source=src, destination=f.label if f.dst.startswith(("cloud:", "asp:")) or "." in f.dst
                        or f.dst.startswith("inet-") or f.dst.endswith("-sc") else f.dst,
                        probe=f.probe, expect_answer=v.allowed))
    return cases + backbone_cases(plan, topo, policy)
