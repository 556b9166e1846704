"""The expected verdict of a flow, from the topology and the policy alone (pure, no lab needed).

    >>> topo = load_topology("topology/default.yml")
    >>> policy = load_model_policy("alpha", topo)
    >>> v = expected_verdict(topo, policy, "yokohama-lg-term", "yokohama-in-vb", "tcp", 3389)
    >>> v.action, v.ref
    ('allow', 'row 8')

Input:
- ``src``, ``dst``: endpoint names (``resolve``): a node of the lab (``yokohama-lg-term``,
  ``yokohama-san``, ``kanagawa-sc``, ``inet-web``), an internet or LGWAN-ASP FQDN
  (``meet.saas.example``), ``cloud:<municipality>:<system>`` for a Government Cloud system
  (``cloud:yokohama:juki``) or ``asp:<name>`` (or its node, ``lgwan-<name>``) for an LGWAN-ASP
  service. Another municipality's lgwan server is named by its node; over LGWAN it is reached
  at its published address (``topology.lgwan_published_address``).
- ``proto``: ``tcp``, ``udp`` or ``icmp``; ``port``: the destination port (None for icmp).

Output: a ``Verdict``: ``action`` (``allow``/``deny``), ``ref`` (the matrix row of the rule
that decided, ``default deny`` if none matched, ``same segment`` when no firewall is on the
path), ``hops`` (one per segment firewall on the path, each with the rule that decided there)
and ``to_dict()`` for JSON. A flow into another municipality crosses two firewalls (over LGWAN):
the source's and the destination's; both must allow it.

The policy is evaluated as the firewalls do: rules in order, first match decides. Endpoints the
rules cannot name (e.g. the security cloud from the internet) get the same rules, where only
selectors such as ``internet`` or ``any`` can match them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .compiler import internet as inet
from .compiler.lgwan import asp_name
from .compiler.municipality import host_name
from .compiler.sanitizer import UPLOAD_PORT, file_server, san_name
from .compiler.security_cloud import sc_name
from .model import Topology
from .policy import LoadedPolicy, Rule, Selector


class UnknownEndpoint(ValueError):
    pass


@dataclass(frozen=True)
class Endpoint:
    """Something a flow starts from or goes to, as the policy sees it."""

    name: str
    kind: str  # host | sanitizer | proxy | cloud | asp | internet
    municipality: str | None = None
    prefecture: str | None = None
    zone: str | None = None  # segment hosts and cloud systems
    role: str | None = None
    host: str | None = None  # the host's name inside its segment
    services: tuple[tuple[str, str, int], ...] = ()  # (name, proto, port)
    fqdn: str | None = None


@dataclass
class Hop:
    firewall: str
    action: str
    ref: str
    rule: int | None  # index in the policy's rules, None for default deny
    what: str | None = None


@dataclass
class Verdict:
    src: str
    dst: str
    proto: str
    port: int | None
    action: str
    ref: str
    hops: list[Hop] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.action == "allow"

    def to_dict(self) -> dict:
        return asdict(self)


def _svcs(services) -> tuple[tuple[str, str, int], ...]:
    return tuple((s.name, s.proto, s.port) for s in services)


def endpoints(topo: Topology) -> dict[str, Endpoint]:
    """Every endpoint of the topology, by every name it can be given."""
    out: dict[str, Endpoint] = {}
    for pref, m in topo.municipalities():
        for zone in ("number_use", "lgwan", "internet"):
            for h in getattr(m.segments, zone).hosts:
                name = host_name(m, h)
                out[name] = Endpoint(name, "host", m.name, pref.name, zone, h.role, h.name, _svcs(h.services))
        if file_server(m) is not None:
            out[san_name(m)] = Endpoint(san_name(m), "sanitizer", m.name, pref.name,
                                        services=(("upload", "tcp", UPLOAD_PORT),))
        for s in m.cloud.systems:
            name = f"cloud:{m.name}:{s.name}"
            out[name] = Endpoint(name, "cloud", m.name, pref.name, s.zone, None, s.name, _svcs(s.services))
    for pref in topo.prefectures:
        out[sc_name(pref)] = Endpoint(sc_name(pref), "proxy", prefecture=pref.name,
                                      services=(("proxy", "tcp", pref.security_cloud.proxy_port),))
    for s in topo.lgwan.asp:
        ep = Endpoint(f"asp:{s.name}", "asp", services=_svcs(s.services), fqdn=s.fqdn)
        out[ep.name] = out[s.fqdn] = out[asp_name(s.name)] = ep  # asp_name: its node, as a source
    for s in topo.internet.services:
        ep = Endpoint(inet.node_name(s.name), "internet", services=_svcs(s.services), fqdn=s.fqdn)
        out[ep.name] = out[s.fqdn] = ep
    out[inet.DNS] = Endpoint(inet.DNS, "internet", services=(("dns", "udp", 53), ("dns", "tcp", 53)))
    return out


def resolve(topo: Topology, name: str) -> Endpoint:
    eps = endpoints(topo)
    if name not in eps:
        raise UnknownEndpoint(f"unknown endpoint '{name}' (give a node name, an FQDN, "
                              "cloud:<municipality>:<system> or asp:<name>)")
    return eps[name]


def _zone_match(sel: Selector, ep: Endpoint, site: str | None) -> bool:
    if ep.kind != "host" or ep.municipality != site:
        return False
    if sel.zone != "any" and ep.zone != sel.zone:
        return False
    if sel.role and ep.role != sel.role or sel.host and ep.host != sel.host:
        return False
    return sel.offers is None or any(n == sel.offers for n, _, _ in ep.services)


def matches(sel: Selector, ep: Endpoint, site: str | None, site_pref: str | None, to: bool = False) -> bool:
    """Does the selector, read at the firewall of municipality ``site``, mean this endpoint (the
    flow's destination if ``to``, else its source)?"""
    k = sel.kind
    if k == "any":
        return True
    if k == "zone":
        return _zone_match(sel, ep, site)
    if k == "cloud":
        own = ep.municipality == site
        return (ep.kind == "cloud" and sel.cloud in ("any", ep.zone)
                and (own if sel.tenant in (None, "own") else not own))
    if k == "lgwan":
        other_muni = ep.kind in ("host", "sanitizer") and ep.municipality != site
        if sel.lgwan == "asp":
            return ep.kind == "asp"
        if sel.lgwan == "municipalities":
            # from: any host of their lgwan segments (all SNATed to their LGWAN address);
            # to: only their published lgwan servers (the hosts offering services)
            return other_muni and ep.zone == "lgwan" and (not to or bool(ep.services))
        return ep.kind in ("asp", "cloud") or (other_muni and ep.zone == "lgwan")
    if k == "service":
        if sel.service == "proxy":
            return ep.kind == "proxy" and ep.prefecture == site_pref
        return ep.kind == "sanitizer" and ep.municipality == site
    if k == "internet":
        return ep.kind == "internet"
    if k == "fqdn":
        return ep.kind == "internet" and ep.fqdn == sel.fqdn
    raise AssertionError(k)


def _ports_match(rule: Rule, dst: Endpoint, proto: str, port: int | None) -> bool:
    if rule.proto is not None and rule.proto != proto:
        return False
    if rule.ports is None:
        return True
    if rule.ports == "services":
        offered = [(pr, pt) for name, pr, pt in dst.services
                   if rule.to.kind != "zone" or rule.to.offers is None or name == rule.to.offers]
        return (proto, port) in offered
    return port in rule.ports


def evaluate(policy: LoadedPolicy, site: str | None, site_pref: str | None, src: Endpoint, dst: Endpoint,
             proto: str, port: int | None) -> Hop:
    """The first rule of ``policy`` that matches the flow at the firewall of ``site``."""
    for i, rule in enumerate(policy.rules):
        if (matches(rule.from_, src, site, site_pref) and matches(rule.to, dst, site, site_pref, to=True)
                and _ports_match(rule, dst, proto, port)):
            return Hop(f"{site}-fw" if site else "-", rule.action, rule.ref, i, rule.what)
    return Hop(f"{site}-fw" if site else "-", "deny", "default deny", None, None)


def expected_verdict(topo: Topology, policy: LoadedPolicy, src: str, dst: str, proto: str,
                     port: int | None = None) -> Verdict:
    s, d = resolve(topo, src), resolve(topo, dst)
    verdict = Verdict(src, dst, proto, port, "allow", "", [])
    if s.kind == "host" and d.kind == "host" and s.municipality == d.municipality and s.zone == d.zone:
        verdict.ref = "same segment"
        return verdict
    if s.kind not in ("host", "sanitizer") and d.kind not in ("host", "sanitizer"):
        # outside every municipality: the internet among itself, or towards the security cloud
        hop = evaluate(policy, None, None, s, d, proto, port) if d.kind == "proxy" or s.kind != "internet" \
            else Hop("-", "allow", "internet", None, "no firewall on the path")
        verdict.hops.append(hop)
    else:
        if s.kind in ("host", "sanitizer"):
            verdict.hops.append(evaluate(policy, s.municipality, s.prefecture, s, d, proto, port))
        inside = s.kind in ("host", "sanitizer")
        if d.kind in ("host", "sanitizer") and (not inside or d.municipality != s.municipality):
            verdict.hops.append(evaluate(policy, d.municipality, d.prefecture, s, d, proto, port))
    deciding = next((h for h in verdict.hops if h.action == "deny"), verdict.hops[-1])
    verdict.action, verdict.ref = deciding.action, deciding.ref
    return verdict
