"""The segment firewalls' rules: the active model's policy file, compiled into nftables.

Runs last, once every interface of the firewall exists. For each municipality the policy's
rules are turned, in order, into rules of ``table inet lgwan`` chain ``forward`` (policy drop),
each with the ``ref`` of its matrix row as comment. The firewall's interfaces:

    nu0 / lg0 / in0  the three segments          sz0  the sanitizer (DMZ)
    sc0              the prefecture's security cloud (default route)
    bo0              the local-breakout internet line (α′)
    lgr0             the LGWAN router (LGWAN, Government Cloud, LGWAN-ASP; issue 4)

A connection lives only as long as the rule that admitted it: an accepted new connection gets
the rule's id as conntrack mark, and established traffic passes only if its mark belongs to a
rule of the *current* ruleset. After ``lgwan model set`` flows admitted by a rule the new model
does not have are cut at once, and flows the new model still allows carry on. Mark 0 is accepted
too: every compiled rule sets a non-zero mark, so a mark-0 flow was admitted by a rule someone
added by hand (``nft insert rule …``), and such a rule should work as its author expects.

``to: {fqdn: NAME}`` rules (α′ local breakout) match an nftables set per name, which the
firewall's DNS forwarder (dnsmasq ``nftset=``) fills with the addresses its answers carry. The
forwarder answers the allowed names only (exactly those names, not their subdomains; A records
only, no TXT), NXDOMAIN for everything else, and sends its queries out of the breakout line.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from netaddr import IPNetwork

from ..model import Municipality, Prefecture, Topology
from ..plan import NODE_DIR, Daemon, Node, Plan
from ..policy import LoadedPolicy, Rule, Selector, load_model_policy
from ..render import nftables as nft
from ..topology import cloud_service_address, lgwan_published_address, published_servers
from . import internet, sanitizer, security_cloud
from .lgwan import lgwan_address
from .municipality import fw_name

IFACE = {"number_use": "nu0", "lgwan": "lg0", "internet": "in0"}
LGWAN_IF = "lgr0"
SC_IF = "sc0"
BREAKOUT_IF = "bo0"
SANITIZER_IF = "sz0"
INTERNET_IFS = [SC_IF, BREAKOUT_IF]
TABLE = "lgwan"
#: how long an address the forwarder resolved stays in an FQDN set (refreshed by a new lookup
#: only once it has expired: dnsmasq does not reset the timeout of an existing element)
FQDN_TIMEOUT = "1h"
#: DNS record types (NULL, MX, TXT, SRV) the forwarder answers itself for allowed names
TUNNEL_RRTYPES = (10, 15, 16, 33)


@dataclass
class Side:
    """One end of a rule at one firewall: interfaces and addresses (None: any)."""

    ifaces: list[str] | None = None
    addrs: list[str] | None = None
    #: for ``ports: services``: per address (or set reference), its (proto, port) list
    services: dict[str, list[tuple[str, int]]] | None = None


def fqdn_set(fqdn: str) -> str:
    return "fqdn_" + re.sub(r"[^a-z0-9]", "_", fqdn.lower())


class Site:
    """What one municipality's firewall knows: its own hosts and the addresses around it."""

    def __init__(self, topo: Topology, pref: Prefecture, m: Municipality):
        self.topo, self.pref, self.m = topo, pref, m

    def hosts(self, sel: Selector):
        zones = list(IFACE) if sel.zone == "any" else [sel.zone]
        out = []
        for z in zones:
            for h in getattr(self.m.segments, z).hosts:
                if sel.role and h.role != sel.role or sel.host and h.name != sel.host:
                    continue
                svcs = [s for s in h.services if sel.offers is None or s.name == sel.offers]
                if sel.offers and not svcs:
                    continue
                out.append((h, svcs))
        return zones, out

    def others(self) -> list[Municipality]:
        return [o for _, o in self.topo.municipalities() if o.name != self.m.name]

    def side(self, sel: Selector, to: bool) -> Side | None:
        """The interfaces and addresses ``sel`` means at this firewall, or None if nothing here."""
        k = sel.kind
        if k == "any":
            return Side()
        if k == "zone":
            zones, hosts = self.hosts(sel)
            ifaces = [IFACE[z] for z in zones]
            if sel.role is None and sel.host is None and sel.offers is None:
                return Side(ifaces, None, None)
            if not hosts:
                return None
            return Side(ifaces, [h.address for h, _ in hosts],
                        {h.address: [(s.proto, s.port) for s in svcs] for h, svcs in hosts})
        if k == "cloud":
            if sel.tenant == "other":
                return None  # another tenant has no address here: the relay router maps only our own
            systems = [(i, s) for i, s in enumerate(self.m.cloud.systems) if sel.cloud in ("any", s.zone)]
            if not systems:
                return None
            addrs = {cloud_service_address(self.topo, i): [(x.proto, x.port) for x in s.services] for i, s in systems}
            return Side([LGWAN_IF], list(addrs), addrs)
        if k == "lgwan":
            if sel.lgwan == "any":
                return Side([LGWAN_IF])
            if sel.lgwan == "asp":
                addrs = {s.address: [(x.proto, x.port) for x in s.services] for s in self.topo.lgwan.asp}
                return Side([LGWAN_IF], list(addrs), addrs) if addrs else None
            # other municipalities: as a source, the LGWAN address their lgwan segments are
            # SNATed to (nothing else of theirs reaches LGWAN in clear); as a destination, their
            # published lgwan servers (row 6, DNATed by their LGWAN routers)
            if not to:
                addrs = [lgwan_address(o) for o in self.others()]
                return Side([LGWAN_IF], addrs, None) if addrs else None
            pubs = {lgwan_published_address(o, h): [(x.proto, x.port) for x in h.services]
                    for o in self.others() for h in published_servers(o)}
            return Side([LGWAN_IF], list(pubs), pubs) if pubs else None
        if k == "service":
            if sel.service == "proxy":
                addr = security_cloud.proxy_address(self.m)
                return Side([SC_IF], [addr], {addr: [("tcp", self.pref.security_cloud.proxy_port)]})
            if sanitizer.file_server(self.m) is None:
                return None
            addr = sanitizer.addresses(self.m)[1]
            return Side([SANITIZER_IF], [addr], {addr: [("tcp", sanitizer.UPLOAD_PORT)]})
        if k == "internet":
            return Side(list(INTERNET_IFS))
        if k == "fqdn":
            svc = next(s for s in self.topo.internet.services if s.fqdn == sel.fqdn)
            ref = "@" + fqdn_set(sel.fqdn)
            return Side([BREAKOUT_IF], [ref], {ref: [(x.proto, x.port) for x in svc.services]})
        raise AssertionError(k)


def rule_mark(text: str) -> int:
    """A rule's conntrack mark: stable for the same rule, different for different rules."""
    return (zlib.crc32(text.encode()) & 0x7FFFFFFF) | 1


def compile_rule(rule: Rule, site: Site) -> list[tuple[str, int | None]]:
    """nftables rule lines for one policy rule at one firewall, with their marks (accept only)."""
    src, dst = site.side(rule.from_, to=False), site.side(rule.to, to=True)
    if src is None or dst is None:
        return []
    if src.ifaces and dst.ifaces and len(src.ifaces) == 1 and src.ifaces == dst.ifaces:
        return []  # within one segment: never crosses the firewall
    matches: list[str] = []
    base = dict(iif=src.ifaces, oif=dst.ifaces, saddr=src.addrs)
    if rule.ports == "services":
        if dst.services is None:
            return []
        by: dict[tuple[str, tuple[int, ...]], list[str]] = {}
        for addr, svcs in dst.services.items():
            for proto in ("tcp", "udp"):
                ports = tuple(sorted({p for pr, p in svcs if pr == proto and rule.proto in (None, proto)}))
                if ports:
                    by.setdefault((proto, ports), []).append(addr)
        for (proto, ports), addrs in by.items():
            matches.append(nft.match(**base, daddr=addrs, proto=proto, dports=list(ports)))
    else:
        ports = list(rule.ports) if rule.ports else None
        if rule.proto == "icmp":
            matches.append(nft.match(**base, daddr=dst.addrs) + " meta l4proto icmp")
        else:
            matches.append(nft.match(**base, daddr=dst.addrs, proto=rule.proto, dports=ports))
    out = []
    for mt in matches:
        mt = mt.strip()
        if rule.action == "allow":
            mark = rule_mark(f"{rule.ref}|{mt}")
            out.append((f"{mt} ct state new ct mark set {mark:#010x} counter accept {nft.comment(rule.ref)}".strip(), mark))
        else:
            out.append((f"{mt} counter drop {nft.comment(rule.ref)}".strip(), None))
    return out


def fqdn_rules(policy: LoadedPolicy) -> list[Rule]:
    return [r for r in policy.rules if r.action == "allow" and r.to.kind == "fqdn"]


def segment_rules(topo: Topology, pref: Prefecture, m: Municipality, policy: LoadedPolicy) -> list[nft.Table]:
    site = Site(topo, pref, m)
    lines: list[str] = []
    marks: list[int] = []
    for rule in policy.rules:
        for text, mark in compile_rule(rule, site):
            lines.append(text)
            if mark is not None:
                marks.append(mark)
    forward = nft.Chain("forward", type="filter", hook="forward", priority=0, policy="drop")
    marks = [0, *marks]  # 0: admitted by a rule added by hand, not from the policy
    forward.rules.append(f"ct state established,related ct mark {{ {', '.join(f'{x:#010x}' for x in marks)} }} accept "
                         f"{nft.comment('flows of a rule of this model')}")
    forward.rules += ["ct state invalid drop", *lines, f"counter {nft.comment('default deny')}"]
    inp = nft.Chain("input", type="filter", hook="input", priority=0, policy="drop", rules=[
        'iifname "lo" accept',
        "ct state established,related accept",
        "ct state invalid drop",
        # the gateway answers pings from its own segments only, never from the internet or LGWAN
        f"{nft.match(iif=list(IFACE.values()))} icmp type echo-request limit rate 10/second counter accept "
        f"{nft.comment('gateway ping')}",
    ])
    sets, chains = [], [forward, inp]
    breakout = fqdn_rules(policy)
    if breakout:
        for r in breakout:
            name = fqdn_set(r.to.fqdn)
            if name not in [s.name for s in sets]:
                sets.append(nft.NftSet(name, "ipv4_addr", flags=["timeout"], timeout=FQDN_TIMEOUT))
            src = site.side(r.from_, to=False)
            if src is None:
                continue
            for iface in src.ifaces or list(IFACE.values()):
                zone = next(z for z, i in IFACE.items() if i == iface)
                gw = str(IPNetwork(getattr(m.segments, zone).prefix).network + 1)
                mt = nft.match(iif=iface, saddr=src.addrs, daddr=[gw])
                for proto in ("udp", "tcp"):
                    line = f"{mt} {proto} dport 53 counter accept {nft.comment(r.ref + ' (resolver for allow-listed names)')}"
                    if line not in inp.rules:
                        inp.rules.append(line)
        chains.append(nft.Chain("postrouting", type="nat", hook="postrouting", priority=100, policy="accept",
                                rules=[f'oifname "{BREAKOUT_IF}" counter masquerade {nft.comment("row 7 (local breakout)")}']))
    inp.rules.append(f"counter {nft.comment('default deny')}")
    return [nft.Table(TABLE, chains=chains, sets=sets)]


def forwarder_conf(topo: Topology, m: Municipality, policy: LoadedPolicy) -> str | None:
    """dnsmasq config of the firewall's DNS forwarder for α′ local breakout (None: no FQDN rules)."""
    rules = fqdn_rules(policy)
    if not rules:
        return None
    listen = sorted({str(IPNetwork(getattr(m.segments, z).prefix).network + 1)
                     for r in rules for z in (list(IFACE) if r.from_.kind != "zone" or r.from_.zone == "any"
                                              else [r.from_.zone])})
    bo_addr = internet.breakout_addresses(m)[0]
    dns = internet.dns_address(topo)
    lines = [
        "# DNS forwarder of the segment firewall (α′ local breakout): only allow-listed names are",
        "# resolved, and their answers fill the nftables sets the breakout rules match",
        "no-resolv", "no-hosts", "no-poll", "bind-interfaces",
        *[f"listen-address={a}" for a in listen],
        "user=root", "group=root",
        f"pid-file={NODE_DIR}/dns-forwarder.pid",
        f"log-facility={NODE_DIR}/dns-forwarder.log", "log-queries",
        "cache-size=0",          # every lookup goes upstream, so an expired set element comes back
        "address=/#/",           # every other name: NXDOMAIN here, never forwarded (no DNS tunnel)
        "filter-AAAA",           # the lab is IPv4
        "filter-rr=ANY,TXT",
    ]
    for fqdn in dict.fromkeys(r.to.fqdn for r in rules):
        lines += [
            f"server=/{fqdn}/{dns}@{bo_addr}",
            f"nftset=/{fqdn}/4#inet#{TABLE}#{fqdn_set(fqdn)}",
            f"address=/*.{fqdn}/",  # exactly the allowed name: its subdomains stay local (NXDOMAIN)
            # the record types DNS tunnels use are answered here (empty), never forwarded: without
            # these, dnsmasq forwards e.g. a TXT query upstream and only filters the answer
            *[f"dns-rr={fqdn},{rrtype}" for rrtype in TUNNEL_RRTYPES],
        ]
    return "\n".join(lines) + "\n"


def build(plan: Plan, topo: Topology) -> None:
    policy = load_model_policy(plan.model, topo)
    for pref, m in topo.municipalities():
        fw: Node = plan.nodes[fw_name(m)]
        fw.files["nftables.conf"] = nft.render(
            segment_rules(topo, pref, m, policy),
            header=f"segment firewall of {m.name} ({pref.name}), model {plan.model} (policies/{plan.model}.yml)\n"
                   "generated by lgwan-lab; default deny, every rule names the matrix row it implements",
        )
        conf = forwarder_conf(topo, m, policy)
        if conf is not None:
            fw.files["dns-forwarder.conf"] = conf
            fw.daemons.append(Daemon("dns-forwarder", ["dnsmasq", "-k", f"--conf-file={NODE_DIR}/dns-forwarder.conf"],
                                     ready="udp:53"))
