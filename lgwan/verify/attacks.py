"""Attack probes: things an attacker would try, each expected to fail to get through.

Every case is derived from the topology and the plan (no node names are written here):

- ``attack: vlan hopping``: 802.1Q frames injected from a tenant gateway's cloud-connection port
  toward another municipality's VLAN, double-tagged (outer: its own VLAN, inner: the target's)
  and single-tagged with the target's VLAN. Broadcast frames: if they reached the target VLAN,
  both the target's virtual router and its tenant gateway would see them; sniffers there must
  see nothing.
- ``attack: spoofed source``: a number_use host sends SYNs with an lgwan host's source address to
  destinations only lgwan may reach (LGWAN-ASP, the lgwan-zone cloud systems); the internet
  (its router, which may forge anything) sends with LGWAN sources into a municipality's LGWAN servers (over the breakout
  line's route), to the security cloud's proxy and to the relay router's IKE port. Watched at
  the destination (nothing arrives, or no reply leaves it).
- ``attack: plaintext to the shared IP``: from positions that are not a municipality (each
  LGWAN-ASP host, the carrier itself), plaintext TCP/UDP to the relay router's shared IP and
  service addresses: no answer, and nothing reaches any virtual router. (The wire group covers
  the municipalities' own routers.)
- ``attack: unsolicited from the internet`` (matrix row 12): the internet attacker opens
  connections to every public or NAT'd address of the lab (breakout lines, security-cloud
  uplinks, LGWAN global addresses, the relay's shared IP and service addresses) and to every
  inside server the internet router can route to: nothing answers.
- ``attack: α′ allow-list bypass`` (only with FQDN rules): not-allowed names and subdomains of
  allowed ones get NXDOMAIN from the firewall's forwarder; the allow-listed SaaS's address is
  unreachable without a lookup (the firewall's FQDN sets are flushed first); a long random
  subdomain and a TXT query of an allowed name never leave the firewall (sniffed at the lab DNS).
- ``attack: cross-tenant``: a municipality's number_use host probes another municipality's
  transfer range and private tenant addresses, and forges the other's LGWAN source toward the
  shared service addresses: nothing answers, nothing reaches either tenant.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from netaddr import IPNetwork

from ..compiler import internet as inet
from ..compiler import security_cloud
from ..compiler.firewall import fqdn_rules, fqdn_set
from ..compiler.lgwan import CARRIER, asp_name, ike_address, lgwan_address, pool_address
from ..compiler.municipality import fw_name, host_name
from ..expect import expected_verdict
from ..model import Municipality, Topology
from ..plan import Plan
from ..policy import load_model_policy
from ..topology import cloud_service_address
from .model import Case, CheckContext

GROUP = "attack"
REF_VLAN = "attack: vlan hopping"
REF_SPOOF = "attack: spoofed source"
REF_PLAIN = "attack: plaintext to the shared IP"
REF_UNSOLICITED = "attack: unsolicited from the internet"
REF_ALPHA = "attack: α′ allow-list bypass"
REF_TENANT = "attack: cross-tenant"

#: sniffers get this long to open their sockets before anything is injected
SETTLE = 0.7
#: how long the far end is watched
WATCH = 2.0
#: injected packets: this many, this far apart (covers a sniffer that starts late)
BURST, GAP = 4, 0.15

Check = Any  # (ctx) -> (passed, observed, evidence)


def _marker() -> int:
    return random.randint(0x10000000, 0x7FFFFFFF)


def _has_relay(plan: Plan) -> bool:
    return any(n.role == "relay_front" for n in plan.nodes.values())


def _has_carrier(plan: Plan) -> bool:
    return CARRIER in plan.nodes


def _neighbours(plan: Plan, topo: Topology) -> list[tuple[int, Municipality, Municipality]]:
    """(i, municipality, the next one round the list): who attacks whom across the relay router
    (nothing without a relay router or with a single municipality)."""
    munis = [m for _, m in topo.municipalities()]
    if not _has_relay(plan) or len(munis) < 2:
        return []
    return [(i, m, munis[(i + 1) % len(munis)]) for i, m in enumerate(munis)]


def _attackers(plan: Plan, topo: Topology) -> list[str]:
    """Internet hosts without services: the ones that play the attacker."""
    if inet.ROUTER not in plan.nodes:
        return []
    return [inet.node_name(s.name) for s in topo.internet.services
            if not s.services and inet.node_name(s.name) in plan.nodes]


def _hosts(m: Municipality, zone: str, role: str | None = None):
    return [h for h in getattr(m.segments, zone).hosts if role is None or h.role == role]


def _first(m: Municipality, zone: str):
    hosts = _hosts(m, zone, "terminal") or _hosts(m, zone)
    return hosts[0] if hosts else None


# --- the packet work -----------------------------------------------------------------------------

def _watch(ctx: CheckContext, watches: list[tuple[str, dict[str, Any]]], inject: list[tuple[str, dict[str, Any]]],
           seen=None) -> tuple[list[dict], list[dict]]:
    """Start the sniffers, inject, collect: (sniff results, inject results).

    ``seen(sniff_result) -> bool`` decides whether a sniffer saw the attack (default: any packet)."""
    with ThreadPoolExecutor(max(1, len(watches))) as pool:
        futs = [pool.submit(ctx.probe, node, {"kind": "sniff", "timeout": WATCH, **p}) for node, p in watches]
        time.sleep(SETTLE)
        sent = [ctx.probe(node, p) for node, p in inject]
        got = [f.result() for f in futs]
    return got, sent


def _verdict(watches, got, sent, seen=None) -> tuple[bool, str, dict[str, Any]]:
    seen = seen or (lambda r: r.get("count", 0) > 0)
    errors = [r["error"] for r in [*got, *sent] if r.get("error")]
    hits = [(node, r) for (node, _), r in zip(watches, got) if seen(r)]
    evidence = {"watched": [{"node": n, "filter": p.get("filter"), "iface": p.get("iface"), "count": r.get("count"),
                             "packets": r.get("packets", [])[:5]} for (n, p), r in zip(watches, got)],
                "injected": [r.get("detail") for r in sent]}
    if errors:
        return False, f"probe error: {errors[0]}", evidence
    if hits:
        node, r = hits[0]
        return False, f"arrived at {node}: {(r.get('packets') or ['?'])[0]}", evidence
    return True, f"nothing arrived ({', '.join(sorted({n for n, _ in watches}))} watched)", evidence


def _inject_check(watches, inject, seen=None) -> Check:
    def check(ctx: CheckContext):
        got, sent = _watch(ctx, watches, inject)
        return _verdict(watches, got, sent, seen)
    return check


def _sc():
    from ..probe import _scapy

    return _scapy()


def _syn(src: str, dst: str, port: int, seq: int, sport: int | None = None) -> str:
    sc = _sc()
    return bytes(sc.IP(src=src, dst=dst) / sc.TCP(sport=sport or random.randint(20000, 60000), dport=port,
                                                 flags="S", seq=seq)).hex()


def _udp(src: str, dst: str, port: int, sport: int, payload: bytes = b"lgwan-attack") -> str:
    sc = _sc()
    return bytes(sc.IP(src=src, dst=dst) / sc.UDP(sport=sport, dport=port) / sc.Raw(payload)).hex()


def _send(packet_hex: str) -> dict[str, Any]:
    return {"kind": "send", "packet": packet_hex, "count": BURST, "inter": GAP}


def _seq_filter(port: int, seq: int) -> str:
    return f"tcp dst port {port} and tcp[4:4] = {seq}"


# --- VLAN hopping ----------------------------------------------------------------------------------

def _vlan_frame(tags: list[int], dst_ip: str, sport: int) -> str:
    sc = _sc()
    frame = sc.Ether(src="02:00:5e:00:00:66", dst="ff:ff:ff:ff:ff:ff")
    for t in tags:
        frame = frame / sc.Dot1Q(vlan=t)
    frame = frame / sc.IP(src="169.254.66.66", dst=dst_ip) / sc.UDP(sport=sport, dport=9) / sc.Raw(b"vlan-hop")
    return bytes(frame).hex()


def vlan_cases(plan: Plan, topo: Topology) -> list[Case]:
    from relay_router.compile import tgw_name, transfer_range, vrf_name

    cases = []
    for i, m, target in _neighbours(plan, topo):
        for variant, tags in (("double-tagged", [m.vlan, target.vlan]), ("tagged", [target.vlan])):
            sport = 40000 + 100 * (i % 100) + (1 if variant == "tagged" else 0)
            flt = f"udp src port {sport} or (vlan and udp src port {sport}) or (vlan and vlan and udp src port {sport})"
            watches = [(vrf_name(target), {"iface": "vl0", "filter": flt}),
                       (tgw_name(target), {"iface": "up0", "filter": flt})]

            def check(ctx, m=m, target=target, tags=tags, sport=sport, watches=watches):
                frame = _vlan_frame(tags, str(transfer_range(topo, target).network + 1), sport)
                inject = [(tgw_name(m), {"kind": "sendp", "iface": "up0", "frame": frame, "count": BURST,
                                         "inter": GAP})]
                got, sent = _watch(ctx, watches, inject)
                return _verdict(watches, got, sent)

            cases.append(Case(
                id=f"attack:vlan-hop:{variant}:{m.name}->{target.name}", ref=REF_VLAN, group=GROUP,
                title=f"{variant} 802.1Q frames (VLAN {'/'.join(map(str, tags))}) from {tgw_name(m)}'s "
                      f"cloud-connection port never reach {target.name}'s VLAN {target.vlan}",
                source=None, destination=f"VLAN {target.vlan}", check=check,
                nodes=(tgw_name(m), vrf_name(target), tgw_name(target))))
    return cases


# --- spoofed sources ----------------------------------------------------------------------------

def spoof_cases(plan: Plan, topo: Topology) -> list[Case]:
    from relay_router.compile import system_name, vrf_name

    policy = load_model_policy(plan.model, topo)
    cases = []
    munis = [(p, m) for p, m in topo.municipalities()]
    for pi, (pref, m) in enumerate(munis):
        nu, lg = _first(m, "number_use"), _first(m, "lgwan")
        # number_use posing as lgwan, toward what only lgwan may reach
        if nu and lg:
            targets = []
            if _has_carrier(plan):
                targets += [(f"asp:{s.name}", asp_name(s.name), s.address, v) for s in topo.lgwan.asp or []
                            for v in s.services if v.proto == "tcp"]
            if _has_relay(plan):
                targets += [(f"cloud:{m.name}:{s.name}", system_name(m, s), cloud_service_address(topo, i), v)
                            for i, s in enumerate(m.cloud.systems) for v in s.services if v.proto == "tcp"]
            for dst, node, addr, v in targets:
                if not (expected_verdict(topo, policy, host_name(m, lg), dst, "tcp", v.port).allowed
                        and not expected_verdict(topo, policy, host_name(m, nu), dst, "tcp", v.port).allowed):
                    continue
                seq = _marker()
                watches = [(node, {"iface": "eth0", "filter": _seq_filter(v.port, seq)})]
                inject = [(host_name(m, nu), _send(_syn(lg.address, addr, v.port, seq)))]
                cases.append(Case(
                    id=f"attack:spoof:{host_name(m, nu)}-as-{host_name(m, lg)}->{dst}:tcp/{v.port}", ref=REF_SPOOF,
                    group=GROUP, title=f"{host_name(m, nu)} posing as {host_name(m, lg)} ({lg.address}) does not "
                                       f"reach {dst} (tcp/{v.port}), which only lgwan may reach",
                    destination=dst, check=_inject_check(watches, inject), nodes=(host_name(m, nu), node)))
        # the internet posing as LGWAN: injected at the internet router itself (the last internet hop
        # before the lab, which sees and may forge anything; a host behind it would be stopped by
        # the router's own reverse-path filter, which is not the lab's defence)
        for attacker in [inet.ROUTER] if _attackers(plan, topo) else []:
            others = [o for _, o in munis if o.name != m.name]
            lg_src = lgwan_address(others[0]) if others else (topo.lgwan.asp[0].address if topo.lgwan.asp else None)
            if lg_src and _has_carrier(plan):
                for h in _hosts(m, "lgwan"):
                    for v in [v for v in h.services if v.proto == "tcp"][:1]:
                        seq = _marker()
                        watches = [(host_name(m, h), {"iface": "eth0", "filter": _seq_filter(v.port, seq)})]
                        inject = [(attacker, _send(_syn(lg_src, h.address, v.port, seq)))]
                        cases.append(Case(
                            id=f"attack:spoof:{attacker}-as-{lg_src}->{host_name(m, h)}:tcp/{v.port}", ref=REF_SPOOF,
                            group=GROUP, title=f"{attacker} posing as the LGWAN address {lg_src} does not reach "
                                               f"{host_name(m, h)} (tcp/{v.port}) over the internet",
                            destination=host_name(m, h), check=_inject_check(watches, inject),
                            nodes=(attacker, host_name(m, h))))
            own = lgwan_address(m) if _has_carrier(plan) else None
            sc = security_cloud.sc_name(pref)
            pref_index = topo.prefectures.index(pref)
            if own and sc in plan.nodes and m is pref.municipalities[0]:
                up = str(inet.uplink_subnet(pref_index).network + 2)
                port = pref.security_cloud.proxy_port
                watches = [(sc, {"iface": "up0", "filter": f"src host {up} and dst host {own}"})]
                inject = [(attacker, _send(_syn(own, up, port, _marker())))]
                cases.append(Case(
                    id=f"attack:spoof:{attacker}-as-{own}->{sc}:tcp/{port}", ref=REF_SPOOF, group=GROUP,
                    title=f"{attacker} posing as {m.name}'s LGWAN address {own} gets no answer from the "
                          f"{pref.name} security cloud's proxy port ({up}:{port})",
                    destination=sc, check=_inject_check(watches, inject), nodes=(attacker, sc)))
            if own and _has_relay(plan):
                shared = topo.relay_router.shared_ip
                sport = 30000 + m.id
                watches = [(vrf_name(m), {"iface": "up0", "filter": f"udp src port {sport}"})]
                inject = [(attacker, _send(_udp(ike_address(m), shared, 500, sport)))]
                cases.append(Case(
                    id=f"attack:spoof:{attacker}-as-{ike_address(m)}->{shared}:udp/500", ref=REF_SPOOF, group=GROUP,
                    title=f"{attacker} posing as {m.name}'s IKE address {ike_address(m)} does not reach "
                          f"{m.name}'s virtual router on the shared IP {shared} (udp/500)",
                    destination=vrf_name(m), check=_inject_check(watches, inject), nodes=(attacker, vrf_name(m))))
    return cases


# --- plaintext to the shared IP from non-municipality positions ---------------------------------

def plaintext_cases(plan: Plan, topo: Topology) -> list[Case]:
    from relay_router.compile import vrf_name

    if not (_has_relay(plan) and _has_carrier(plan)):
        return []
    rr = topo.relay_router
    vrfs = [vrf_name(m) for _, m in topo.municipalities()]
    positions = [(asp_name(s.name), s.address) for s in topo.lgwan.asp or []]
    carrier_addr = plan.nodes[CARRIER].iface("rf0").addresses[0].split("/")[0]
    positions.append((CARRIER, carrier_addr))
    targets = [(rr.shared_ip, "tcp", 443), (rr.shared_ip, "udp", 500), (rr.shared_ip, "udp", 4500),
               (cloud_service_address(topo, 0), "tcp", 443)]
    cases = []
    for node, addr in positions:
        for dst, proto, port in targets:
            watches = [(v, {"iface": "up0", "filter": f"src host {addr}"}) for v in vrfs]

            def check(ctx, node=node, dst=dst, proto=proto, port=port, watches=watches):
                with ThreadPoolExecutor(len(watches)) as pool:
                    futs = [pool.submit(ctx.probe, n, {"kind": "sniff", "timeout": WATCH, **p}) for n, p in watches]
                    time.sleep(SETTLE)
                    res = ctx.probe(node, {"kind": proto, "dst": dst, "port": port, "timeout": 1.0, "retry": 0})
                    got = [f.result() for f in futs]
                ok, observed, evidence = _verdict(watches, got, [res])
                evidence["probe_result"] = {k: v for k, v in res.items() if k != "probe"}
                if res.get("answered"):
                    return False, f"answered: {res.get('detail')}", evidence
                return ok, ("no answer; " + observed) if ok else observed, evidence

            cases.append(Case(
                id=f"attack:plaintext:{node}->{dst}:{proto}/{port}", ref=REF_PLAIN, group=GROUP,
                title=f"plaintext {proto}/{port} from {node} ({addr}) to the relay router's {dst} gets no answer "
                      "and reaches no virtual router",
                source=None, destination=dst, check=check, nodes=(node, *vrfs)))
    return cases


# --- unsolicited connections from the internet (row 12) -----------------------------------------

def public_addresses(plan: Plan, topo: Topology) -> list[tuple[str, str]]:
    """(address, what) of everything the lab shows to the internet or to LGWAN."""
    out = []
    for pi, pref in enumerate(topo.prefectures):
        if security_cloud.sc_name(pref) in plan.nodes:
            out.append((str(inet.uplink_subnet(pi).network + 2), f"{pref.name} security cloud uplink"))
    for _, m in topo.municipalities():
        if f"{fw_name(m)}" in plan.nodes and any(i.name == "bo0" for i in plan.nodes[fw_name(m)].interfaces):
            out.append((inet.breakout_addresses(m)[0], f"{m.name} breakout line"))
        if _has_carrier(plan):
            out += [(lgwan_address(m), f"{m.name} LGWAN address"), (ike_address(m), f"{m.name} IKE address")]
            if _has_relay(plan):
                out += [(pool_address(m, z), f"{m.name} cloud pool ({z})") for z in ("number_use", "lgwan")]
    if _has_relay(plan):
        out.append((topo.relay_router.shared_ip, "relay router shared IP"))
        m0 = topo.municipalities()[0][1] if topo.municipalities() else None
        if m0:
            out += [(cloud_service_address(topo, i), f"service address of cloud system #{i}")
                    for i in range(len(m0.cloud.systems))]
    return out


def unsolicited_cases(plan: Plan, topo: Topology) -> list[Case]:
    cases = []
    for attacker in _attackers(plan, topo)[:1]:
        probes: list[tuple[str, str, str, int | None]] = []
        for addr, what in public_addresses(plan, topo):
            ports = [("tcp", 443), ("udp", 500), ("icmp", None)]
            if "security cloud" in what:
                ports.append(("tcp", next(p for p in topo.prefectures).security_cloud.proxy_port))
            probes += [(addr, what, proto, port) for proto, port in ports]
        for _, m in topo.municipalities():
            for zone in ("number_use", "lgwan", "internet"):
                for h in _hosts(m, zone):
                    probes += [(h.address, host_name(m, h), v.proto, v.port) for v in h.services]
        for addr, what, proto, port in probes:
            cases.append(Case(
                id=f"attack:unsolicited:{attacker}->{addr}:{proto}" + (f"/{port}" if port else ""),
                ref=REF_UNSOLICITED, group=GROUP,
                title=(f"{attacker} opening {proto}/{port}" if port else f"{attacker} pinging")
                + f" {what} ({addr}) gets no answer (row 12)",
                source=attacker, destination=what,
                probe={"kind": proto, "dst": addr, "port": port, "timeout": 1.0, "retry": 0}, expect_answer=False))
    return cases


# --- α′ allow-list bypass ---------------------------------------------------------------------------

def _fw_nft(ctx: CheckContext, node: str, *argv: str) -> str:
    from ..runtime import process
    from ..runtime.state import LabState

    r = process.run_in_node(ctx.plan.lab, ctx.plan.namespace(node), node, LabState(ctx.plan.lab).node_dir(node),
                            ["nft", *argv], check=False)
    return (r.stdout + r.stderr).strip()


def alpha_cases(plan: Plan, topo: Topology) -> list[Case]:
    policy = load_model_policy(plan.model, topo)
    rules = fqdn_rules(policy)
    if not rules or inet.DNS not in plan.nodes:
        return []
    allowed = list(dict.fromkeys(r.to.fqdn for r in rules))
    services = {s.fqdn: s for s in topo.internet.services}
    dns_addr = inet.dns_address(topo)
    cases = []
    for _, m in topo.municipalities():
        fw = fw_name(m)
        forwarder = str(IPNetwork(m.segments.lgwan.prefix).network + 1)
        srcs = [h for h in _hosts(m, "lgwan") if any(
            expected_verdict(topo, policy, host_name(m, h), f, v.proto, v.port).allowed
            for f in allowed for v in services[f].services)]
        if not srcs:
            continue
        src = host_name(m, srcs[0])
        src_addr = srcs[0].address
        # not-allowed names (and subdomains of allowed ones) through the forwarder
        names = [s.fqdn for s in topo.internet.services if s.fqdn not in allowed]
        names += [f"verify-sub.{f}" for f in allowed]
        for name in names:
            def check(ctx, name=name, src=src, forwarder=forwarder):
                res = ctx.probe(src, {"kind": "dns", "server": forwarder, "name": name, "timeout": 1.5})
                ev = {"probe_result": {k: v for k, v in res.items() if k != "probe"}}
                if res.get("error"):
                    return False, f"probe error: {res['error']}", ev
                if not res.get("answered"):
                    return False, "the forwarder did not answer (expected NXDOMAIN)", ev
                if res.get("addresses"):
                    return False, f"resolved: {name} -> {' '.join(res['addresses'])}", ev
                return res.get("rcode") in ("NXDOMAIN", "REFUSED"), f"{res.get('rcode')} from {forwarder}", ev

            cases.append(Case(
                id=f"attack:alpha-prime:not-allowed-name:{src}->{name}", ref=REF_ALPHA, group=GROUP,
                title=f"{src} cannot resolve the not allow-listed name {name} through {fw}'s forwarder (NXDOMAIN)",
                source=None, destination=name, check=check, nodes=(src,)))
        # the allow-listed SaaS by address, without a lookup (sets flushed first)
        for f in allowed:
            svc = services[f]
            for v in svc.services:
                def check(ctx, f=f, v=v, svc=svc, src=src, fw=fw):
                    for s in dict.fromkeys(fqdn_set(x) for x in allowed):
                        out = _fw_nft(ctx, fw, "flush", "set", "inet", "lgwan", s)
                        if out:
                            return False, f"could not flush {s} on {fw}: {out}", {}
                    res = ctx.probe(src, {"kind": v.proto, "dst": svc.address, "port": v.port, "timeout": 1.0,
                                          "retry": 0})
                    ev = {"probe_result": {k: x for k, x in res.items() if k != "probe"}}
                    if res.get("error"):
                        return False, f"probe error: {res['error']}", ev
                    if res.get("answered"):
                        return False, f"answered: {res.get('detail')}", ev
                    return True, "no answer (no lookup, no entry in the FQDN set)", ev

                cases.append(Case(
                    id=f"attack:alpha-prime:direct-ip:{src}->{svc.address}:{v.proto}/{v.port}", ref=REF_ALPHA,
                    group=GROUP, title=f"{src} cannot reach the allow-listed {f} by its address {svc.address} "
                                       f"({v.proto}/{v.port}) without a lookup",
                    source=None, destination=f, check=check, nodes=(src,)))
        # DNS tunnelling: a long random subdomain and a TXT query of an allowed name must not leave
        for f in allowed:
            label = "t" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(50))
            qname_len = len(f.rstrip(".")) + 2
            for kind, name, qtype, flt, seen in (
                    ("random-subdomain", f"{label}.{f}", "A", "udp dst port 53",
                     lambda r, label=label: any(label in p for p in r.get("packets", []))),
                    ("txt", f, "TXT", f"udp dst port 53 and udp[{20 + qname_len}:2] = 16", None)):
                sport = random.randint(20000, 60000)
                watches = [(inet.DNS, {"iface": "eth0", "filter": flt, "count": 0})]

                def check(ctx, name=name, qtype=qtype, sport=sport, watches=watches, seen=seen, src=src,
                          src_addr=src_addr, forwarder=forwarder):
                    sc = _sc()
                    q = bytes(sc.IP(src=src_addr, dst=forwarder) / sc.UDP(sport=sport, dport=53) /
                              sc.DNS(rd=1, qd=sc.DNSQR(qname=name, qtype=qtype))).hex()
                    got, sent = _watch(ctx, watches, [(src, _send(q))])
                    return _verdict(watches, got, sent, seen)

                cases.append(Case(
                    id=f"attack:alpha-prime:dns-tunnel:{kind}:{src}->{f}", ref=REF_ALPHA, group=GROUP,
                    title=f"a {qtype} query for {name if kind == 'txt' else '<50 random characters>.' + f} from {src} "
                          f"to {fw}'s forwarder never reaches the lab DNS ({dns_addr})",
                    source=None, destination=inet.DNS, check=check, nodes=(src, inet.DNS)))
    return cases


# --- one municipality probing another's tenant --------------------------------------------------------

def tenant_cases(plan: Plan, topo: Topology) -> list[Case]:
    from relay_router.compile import system_name, tgw_name, transfer_nat, transfer_range, vrf_name

    cases = []
    for i, m, other in _neighbours(plan, topo):
        nu = _first(m, "number_use")
        if nu is None:
            continue
        src = host_name(m, nu)
        xfer = transfer_range(topo, other)
        targets = [(str(xfer.network + 1), f"{vrf_name(other)} (transfer range)"),
                   (str(xfer.network + 2), f"{tgw_name(other)} (transfer range)"),
                   (str(transfer_nat(topo, other).network + 1), f"{other.name}'s NAT image (transfer range)")]
        targets += [(s.address, f"{system_name(other, s)} (private address)") for s in other.cloud.systems]
        for addr, what in targets:
            cases.append(Case(
                id=f"attack:cross-tenant:{src}->{addr}:tcp/443", ref=REF_TENANT, group=GROUP,
                title=f"{src} gets no answer from {what} at {addr} (tcp/443)",
                source=src, destination=what,
                probe={"kind": "tcp", "dst": addr, "port": 443, "timeout": 1.0, "retry": 0}, expect_answer=False))
        # forged source of the other municipality's LGWAN block toward the shared service addresses
        forged = pool_address(other, "number_use")
        for si, s in enumerate(m.cloud.systems):
            v = next((x for x in s.services if x.proto == "tcp"), None)
            if v is None:
                continue
            seq = _marker()
            addr = cloud_service_address(topo, si)
            watches = [(system_name(x, x.cloud.systems[si]), {"iface": "eth0", "filter": _seq_filter(v.port, seq)})
                       for x in (m, other) if si < len(x.cloud.systems)]
            inject = [(src, _send(_syn(forged, addr, v.port, seq)))]
            cases.append(Case(
                id=f"attack:cross-tenant:{src}-as-{forged}->{addr}:tcp/{v.port}", ref=REF_TENANT, group=GROUP,
                title=f"{src} forging {other.name}'s LGWAN source {forged} toward the service address {addr} "
                      f"(tcp/{v.port}) reaches neither tenant",
                destination=addr, check=_inject_check(watches, inject), nodes=(src, *[n for n, _ in watches])))
    return cases


def attack_cases(plan: Plan, topo: Topology) -> list[Case]:
    return [*vlan_cases(plan, topo), *spoof_cases(plan, topo), *plaintext_cases(plan, topo),
            *unsolicited_cases(plan, topo), *alpha_cases(plan, topo), *tenant_cases(plan, topo)]
