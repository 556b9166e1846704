"""Wire-property cases: what the J-LIS relay router promises, seen on the wire of a running lab.

Seven properties, derived from the Plan/Topology (every municipality, no names or addresses
written here); each case names the property in its ``ref`` ("wire 1 …" … "wire 7 …"):

1. on a municipality's carrier link, its Government Cloud traffic is only IKE/ESP between its
   IKE address and the shared global IP (sniffed while its terminals reach their cloud systems;
   no service-range address and no answer banner in clear);
2. on the 802.1Q trunk, the municipality's frames carry its own VLAN id and no other;
3. its cloud systems have only ever seen private sources from its own transfer range (the
   responder log in each system's node directory), zone by zone the 1:1 image of its pool;
4. its IKE SA ends on the one shared global IP at both ends (VICI, lgwan/runtime/ipsec.py);
5. the shared service addresses land in its own tenant (the answering system's banner names it),
   although every tenant uses the same addresses (the attack group probes the cross-tenant side);
6. plaintext (non-ESP) packets to the shared IP, sent on the backbone with its IKE address as
   source, reach the relay router (seen at its front) and never the cloud side (trunk, VLAN link,
   tenant gateway);
7. fail closed (exclusive: it kills a charon): with the first municipality's charon killed, its
   cloud traffic gets no answer and nothing of it crosses the carrier in clear, the others still
   reach their tenants, status shows its tunnel down; restarting the charon (start, load, the
   connection initiates) brings the traffic back. The case restores the charon whatever happens.

A check returns (passed, observed, evidence); evidence keeps what the sniffers saw.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from netaddr import IPAddress, IPNetwork

from ..compiler.lgwan import CARRIER, cloud_pool, ike_address, lgr_name, pool_address
from ..compiler.municipality import host_name
from ..model import Municipality, Topology
from ..plan import Plan
from ..runtime import ipsec, process
from ..runtime.state import LabState
from ..topology import cloud_service_address
from .model import Case, CheckContext

REFS = {
    1: "wire 1 ESP only on the carrier",
    2: "wire 2 one VLAN per municipality",
    3: "wire 3 private sources at the cloud",
    4: "wire 4 one shared global IP",
    5: "wire 5 own tenant only",
    6: "wire 6 no plaintext to the cloud side",
    7: "wire 7 fail closed",
}
#: time a sniffer gets to open its socket before the traffic it should see is sent
SETTLE = 1.0
SNIFF_SECONDS = 2.5
IKE_PORTS = (500, 4500)

Check = Callable[[CheckContext], tuple[bool, str, dict[str, Any]]]


# --- what every check derives from the topology ----------------------------------------------


def terminal(m: Municipality, zone: str) -> str:
    """The municipality's terminal in a segment (the first host with role terminal)."""
    hosts = getattr(m.segments, zone).hosts
    h = next((h for h in hosts if h.role == "terminal"), hosts[0])
    return host_name(m, h)


def cloud_flows(topo: Topology, m: Municipality) -> list[dict[str, Any]]:
    """Each cloud system of the municipality: who reaches it (its zone's terminal), where (the
    shared service address) and on which port, and the node name its banner must carry."""
    out = []
    for i, s in enumerate(m.cloud.systems):
        svc = next((v for v in s.services if v.proto == "tcp"), None)
        if svc is None:
            continue
        out.append({"system": f"{m.name}-{s.name}", "zone": s.zone, "src": terminal(m, s.zone),
                    "dst": cloud_service_address(topo, i), "port": svc.port})
    return out


def transfer_range(topo: Topology, m: Municipality) -> IPNetwork:
    from relay_router.compile import transfer_range as tr

    return tr(topo, m)


def transfer_nat(topo: Topology, m: Municipality) -> IPNetwork:
    from relay_router.compile import transfer_nat as tn

    return tn(topo, m)


def _node_dir(plan: Plan, node: str):
    return LabState(plan.lab).node_dir(node)


def _reach(ctx: CheckContext, flows: list[dict[str, Any]], timeout: float = 2.0) -> list[dict[str, Any]]:
    """Connect to each flow's service from its terminal (concurrently); banner per flow."""
    results: list[dict[str, Any]] = [{}] * len(flows)

    def one(k: int) -> None:
        f = flows[k]
        try:
            results[k] = ctx.probe(f["src"], {"kind": "connect", "dst": f["dst"], "port": f["port"],
                                              "timeout": timeout})
        except Exception as exc:  # noqa: BLE001 - reported as no answer
            results[k] = {"answered": False, "detail": f"{type(exc).__name__}: {exc}"}

    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(flows))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _lands_home(f: dict[str, Any], r: dict[str, Any]) -> bool:
    return bool(r.get("answered")) and str(r.get("detail", "")).startswith(f"lgwan {f['system']} ")


def _while_sniffing(ctx: CheckContext, sniffs: list[tuple[str, dict[str, Any]]], action: Callable[[], Any]):
    """Start the sniffers (node, sniff probe), let them open, run ``action``; returns
    (action's result, sniff results in order). The sniffers stop on their own timeout."""
    out: list[dict[str, Any]] = [{}] * len(sniffs)

    def one(k: int) -> None:
        node, p = sniffs[k]
        try:
            out[k] = ctx.probe(node, {"kind": "sniff", "timeout": SNIFF_SECONDS, **p})
        except Exception as exc:  # noqa: BLE001
            out[k] = {"error": f"{type(exc).__name__}: {exc}", "records": [], "count": 0}

    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(sniffs))]
    for t in threads:
        t.start()
    time.sleep(SETTLE)
    try:
        result = action()
    finally:
        for t in threads:
            t.join()
    return result, out


def _in(addr: str | None, net: IPNetwork) -> bool:
    try:
        return addr is not None and IPAddress(addr) in net
    except Exception:  # noqa: BLE001 - not an IPv4 address
        return False


def classify_carrier(records: list[dict[str, Any]], ike: str, shared: str, svc: IPNetwork) -> dict[str, list[str]]:
    """Split carrier-link frames into IKE/ESP between the two IKE endpoints and everything else
    that concerns the Government Cloud (a service-range address, or the shared IP not as IKE/ESP)."""
    tunnel, clear = [], []
    for r in records:
        if "src" not in r or r.get("proto") == "arp":
            continue
        touches_svc = _in(r["src"], svc) or _in(r["dst"], svc)
        endpoints = {r["src"], r["dst"]} == {ike, shared}
        ike_esp = r.get("proto") == 50 or (r.get("proto") == 17 and {r.get("sport"), r.get("dport")} & set(IKE_PORTS))
        if endpoints and ike_esp and not touches_svc:
            tunnel.append(r["summary"])
        elif touches_svc or shared in (r["src"], r["dst"]):
            clear.append(r["summary"])
    return {"tunnel": tunnel, "clear": clear}


# --- 1. ESP only on the carrier ------------------------------------------------------------------


def check_esp_only(plan: Plan, topo: Topology, m: Municipality) -> Check:
    shared = topo.relay_router.shared_ip
    svc = IPNetwork(topo.relay_router.service_range)
    flows = cloud_flows(topo, m)
    banners = [f"lgwan {f['system']}".encode().hex() for f in flows]

    def check(ctx: CheckContext):
        reached, (sn,) = _while_sniffing(
            ctx, [(CARRIER, {"iface": [f"m{m.id}"], "filter": f"host {shared} or net {svc}", "records": True,
                             "grep": banners})],
            lambda: _reach(ctx, flows))
        if sn.get("error"):
            return False, f"sniffer failed: {sn['error']}", {"sniff": sn}
        c = classify_carrier(sn.get("records", []), ike_address(m), shared, svc)
        leaked = {bytes.fromhex(h).decode(): n for h, n in sn.get("grep", {}).items() if n}
        ev = {"carrier_iface": f"{CARRIER}:m{m.id}", "ike_esp_frames": len(c["tunnel"]), "in_clear": c["clear"][:20],
              "banners_in_clear": leaked, "reached": [r.get("detail") for r in reached]}
        home = [_lands_home(f, r) for f, r in zip(flows, reached)]
        if c["clear"] or leaked:
            return False, (f"{len(c['clear'])} Government Cloud frames in clear on the carrier link"
                           + (f", banners {sorted(leaked)}" if leaked else "")
                           + (f": {c['clear'][0]}" if c["clear"] else "")), ev
        if not all(home):
            return False, f"{home.count(False)} of {len(flows)} cloud systems did not answer: nothing to judge", ev
        if not c["tunnel"]:
            return False, "the cloud traffic got through but no IKE/ESP was seen on the carrier link", ev
        return True, (f"{len(flows)} cloud systems answered; the carrier link carried {len(c['tunnel'])} "
                      f"IKE/ESP frames {ike_address(m)} <-> {shared}, nothing in clear"), ev

    return check


# --- 2. one VLAN per municipality on the trunk ---------------------------------------------------


def trunk_owner(topo: Topology, rec: dict[str, Any]) -> str | None:
    for _, m in topo.municipalities():
        rng = transfer_range(topo, m)
        if _in(rec.get("src"), rng) or _in(rec.get("dst"), rng):
            return m.name
    return None


def check_vlan(plan: Plan, topo: Topology, m: Municipality) -> Check:
    from relay_router.compile import RELAY_SWITCH

    flows = cloud_flows(topo, m)

    def check(ctx: CheckContext):
        reached, (sn,) = _while_sniffing(
            ctx, [(RELAY_SWITCH, {"iface": ["trunk0"], "filter": "ip or arp or vlan", "records": True})],
            lambda: _reach(ctx, flows))
        if sn.get("error"):
            return False, f"sniffer failed: {sn['error']}", {"sniff": sn}
        mine = [r for r in sn.get("records", []) if trunk_owner(topo, r) == m.name]
        wrong = [r for r in mine if r["vlans"] != [m.vlan]]
        seen = sorted({tuple(r["vlans"]) for r in mine})
        ev = {"trunk": f"{RELAY_SWITCH}:trunk0", "frames": len(mine), "vlan_tags_seen": [list(v) for v in seen],
              "wrong": [f"{r['vlans'] or 'untagged'}: {r['summary']}" for r in wrong][:20],
              "reached": [r.get("detail") for r in reached]}
        if wrong:
            return False, (f"{len(wrong)} of {len(mine)} frames of {m.name} not on VLAN {m.vlan} only "
                           f"(tags seen: {[list(v) for v in seen]})"), ev
        if len(mine) < 2 * len(flows):
            return False, f"only {len(mine)} frames of {m.name} on the trunk: nothing to judge", ev
        return True, f"{len(mine)} frames of {m.name} on the trunk, all tagged VLAN {m.vlan} and nothing else", ev

    return check


# --- 3. private sources from the own transfer range at the cloud ---------------------------------


def check_private_sources(plan: Plan, topo: Topology, m: Municipality) -> Check:
    import json

    flows = cloud_flows(topo, m)
    nat = transfer_nat(topo, m)

    def image(zone: str) -> str:
        return str(nat.network + (int(IPAddress(pool_address(m, zone))) - int(cloud_pool(m).network)))

    def check(ctx: CheckContext):
        reached = _reach(ctx, flows)
        sources: dict[str, set[str]] = {}
        bad: list[str] = []
        for f, r in zip(flows, reached):
            log = _node_dir(plan, f["system"]) / "responder.log"
            try:
                lines = log.read_text().splitlines()
            except OSError:
                lines = []
            srcs = {json.loads(x)["src"] for x in lines if x.strip()}
            sources[f["system"]] = srcs
            for s in srcs:
                if not _in(s, nat) or IPAddress(s).is_global():
                    bad.append(f"{f['system']} saw {s}")
            # the 1:1 image keeps the zones apart: the terminal's contact shows up as its zone's image
            if _lands_home(f, r) and image(f["zone"]) not in srcs:
                bad.append(f"{f['system']} never saw {image(f['zone'])} (the image of {f['zone']})")
        ev = {"sources": {k: sorted(v) for k, v in sources.items()}, "transfer_nat": str(nat),
              "reached": [r.get("detail") for r in reached]}
        if bad:
            return False, f"sources outside {nat}: " + "; ".join(bad[:5]), ev
        missing = [f["system"] for f, r in zip(flows, reached) if not _lands_home(f, r)]
        if missing:
            return False, f"no contact with {', '.join(missing)}: nothing to judge", ev
        return True, (f"{len(flows)} cloud systems saw only {sorted(set().union(*sources.values()))}, "
                      f"inside {m.name}'s transfer range {nat}"), ev

    return check


# --- 4. every IKE SA ends on the shared global IP ------------------------------------------------


def check_shared_ip(plan: Plan, topo: Topology, m: Municipality) -> Check:
    from relay_router.compile import vrf_name

    shared = topo.relay_router.shared_ip

    def check(ctx: CheckContext):
        ev: dict[str, Any] = {}
        try:
            vrf = ipsec.list_sas(_node_dir(plan, vrf_name(m)))
            lgr = ipsec.list_sas(_node_dir(plan, lgr_name(m)))
        except OSError as exc:
            return False, f"cannot ask charon over VICI: {exc}", ev
        ev = {"relay": [(s["state"], s["local"], s["remote"], [c["state"] for c in s["children"]]) for s in vrf],
              "lgwan_router": [(s["state"], s["local"], s["remote"], [c["state"] for c in s["children"]]) for s in lgr]}
        want_vrf = [("ESTABLISHED", shared, ike_address(m), ["INSTALLED"])]
        want_lgr = [("ESTABLISHED", ike_address(m), shared, ["INSTALLED"])]
        got_vrf = [(a, b, c, d) for a, b, c, d in ev["relay"]]
        got_lgr = [(a, b, c, d) for a, b, c, d in ev["lgwan_router"]]
        if got_vrf != want_vrf or got_lgr != want_lgr:
            return False, f"IKE SAs: relay side {got_vrf}, LGWAN router {got_lgr}; expected one each on {shared}", ev
        return True, f"one IKE SA {ike_address(m)} <-> {shared} (CHILD_SA installed) at both ends", ev

    return check


# --- 5. the shared addresses land in the own tenant ----------------------------------------------


def check_own_tenant(plan: Plan, topo: Topology, m: Municipality) -> Check:
    flows = cloud_flows(topo, m)

    def check(ctx: CheckContext):
        reached = _reach(ctx, flows)
        got = {f"{f['src']} -> {f['dst']}:{f['port']}": r.get("detail") for f, r in zip(flows, reached)}
        bad = [k for (k, _), f, r in zip(got.items(), flows, reached) if not _lands_home(f, r)]
        if bad:
            return False, "not answered by its own tenant: " + "; ".join(f"{k}: {got[k]}" for k in bad[:4]), {"answers": got}
        return True, f"every shared service address answered by {m.name}'s own system", {"answers": got}

    return check


# --- 6. plaintext to the shared IP never reaches the cloud side ----------------------------------


def plaintext_frames(topo: Topology, m: Municipality, dst_mac: str, src_mac: str, marker: bytes) -> list[bytes]:
    """Plaintext aimed at the relay router as if from the municipality's IKE address: ICMP, TCP,
    UDP and bare ESP to the shared IP, a forged ESP-in-UDP datagram carrying a clear inner packet,
    and a packet straight to a service address."""
    from lgwan.probe import _scapy

    sc = _scapy()
    src, shared = ike_address(m), topo.relay_router.shared_ip
    svc0 = cloud_service_address(topo, 0)
    inner = sc.IP(src=pool_address(m, "number_use"), dst=svc0) / sc.TCP(dport=443, flags="S") / sc.Raw(marker)
    pkts = [sc.IP(src=src, dst=shared) / sc.ICMP() / sc.Raw(marker),
            sc.IP(src=src, dst=shared) / sc.TCP(dport=443, flags="S") / sc.Raw(marker),
            sc.IP(src=src, dst=shared) / sc.UDP(sport=5000, dport=53) / sc.Raw(marker),
            sc.IP(src=src, dst=shared, proto=50) / sc.Raw(b"\x11\x22\x33\x44" + b"\0" * 4 + marker),
            sc.IP(src=src, dst=shared) / sc.UDP(sport=4500, dport=4500) / sc.Raw(bytes(inner)),
            sc.IP(src=src, dst=svc0) / sc.TCP(dport=443, flags="S") / sc.Raw(marker)]
    return [bytes(sc.Ether(dst=dst_mac, src=src_mac) / p) for p in pkts]


def _read_mac(plan: Plan, node: str, iface: str) -> str:
    import subprocess

    out = subprocess.run(["ip", "-n", plan.namespace(node), "-br", "link", "show", "dev", iface],
                         capture_output=True, text=True, check=True).stdout.split()
    return out[2]


def check_no_plaintext(plan: Plan, topo: Topology, m: Municipality) -> Check:
    from relay_router.compile import FRONT, RELAY_SWITCH, tgw_name, vrf_name

    marker = f"lgwan-verify-plaintext-{m.name}".encode()

    def check(ctx: CheckContext):
        frames = plaintext_frames(topo, m, _read_mac(plan, FRONT, "up0"), _read_mac(plan, CARRIER, "rf0"), marker)
        grep = {"grep": [marker.hex()], "filter": None}
        points = [(FRONT, "up0"), (RELAY_SWITCH, "trunk0"), (vrf_name(m), "vl0"), (tgw_name(m), "up0")]
        sent, sn = _while_sniffing(ctx, [(n, {**grep, "iface": [i]}) for n, i in points],
                                   lambda: [ctx.probe(CARRIER, {"kind": "sendp", "iface": "rf0", "frame": f.hex(),
                                                                "count": 2}) for f in frames])
        counts = {f"{n}:{i}": (s.get("grep") or {}).get(marker.hex(), 0) for (n, i), s in zip(points, sn)}
        ev = {"injected": [s.get("detail") for s in sent], "frames_with_marker": counts}
        errors = [s["error"] for s in [*sent, *sn] if s.get("error")]
        if errors:
            return False, f"probe error: {errors[0]}", ev
        front, *cloud = counts.items()
        leaked = {k: v for k, v in cloud if v}
        if leaked:
            return False, f"plaintext crossed to the cloud side: {leaked}", ev
        if front[1] < len(frames):
            return False, f"only {front[1]} of {2 * len(frames)} injected frames seen at {front[0]}: nothing to judge", ev
        return True, (f"{front[1]} plaintext frames from {ike_address(m)} reached {front[0]}; none on the trunk, "
                      f"{m.name}'s VLAN link or tenant gateway"), ev

    return check


# --- 7. fail closed ------------------------------------------------------------------------------


def _tunnel(plan: Plan, name: str) -> dict[str, Any]:
    return next((t for t in ipsec.tunnels(plan) if t["municipality"] == name), {})


def check_fail_closed(plan: Plan, topo: Topology, m: Municipality, others: list[Municipality]) -> Check:
    shared = topo.relay_router.shared_ip
    svc = IPNetwork(topo.relay_router.service_range)
    flows = cloud_flows(topo, m)
    other_flows = [f for o in others for f in cloud_flows(topo, o)[:1]]
    node = lgr_name(m)
    d = _node_dir(plan, node)

    def check(ctx: CheckContext):
        ev: dict[str, Any] = {}
        problems: list[str] = []
        pid = ipsec.charon_pid(d)
        if not (pid and process.alive(pid)) or not ipsec.installed(d):
            return False, f"{node}'s charon is not running with its tunnel up before the case: not touched", ev
        killed = False
        try:
            os.kill(pid, signal.SIGKILL)
            killed = True
            deadline = time.monotonic() + 5
            while process.alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            down = _tunnel(plan, m.name)
            ev["status_after_kill"] = {k: down.get(k) for k in ("ike", "child")}

            def traffic():
                return (_reach(ctx, [{**f, "timeout": 1.0} for f in flows], timeout=1.0), _reach(ctx, other_flows))

            (dead, alive), (sn,) = _while_sniffing(
                ctx, [(CARRIER, {"iface": [f"m{m.id}"], "filter": f"host {shared} or net {svc}", "records": True,
                                 "grep": [f"lgwan {f['system']}".encode().hex() for f in flows],
                                 "timeout": SNIFF_SECONDS + 1.5})], traffic)
            c = classify_carrier(sn.get("records", []), ike_address(m), shared, svc)
            # with charon dead, a DPD from the relay side may meet an ICMP unreachable: allowed
            clear = [x for x in c["clear"] if "ICMP" not in x or "IPerror" not in x]
            ev.update(dead=[r.get("detail") for r in dead], others=[r.get("detail") for r in alive],
                      in_clear=clear[:20], sniff_error=sn.get("error"))
            if (ev["status_after_kill"]["ike"], ev["status_after_kill"]["child"]) != ("down", "down"):
                problems.append(f"status shows the tunnel {ev['status_after_kill']} after charon died")
            if any(r.get("answered") for r in dead):
                problems.append("its cloud systems still answered without charon")
            if sn.get("error") or clear or any((sn.get("grep") or {}).values()):
                problems.append(f"in clear on the carrier: {clear[:2] or sn.get('error') or sn.get('grep')}")
            if not all(_lands_home(f, r) for f, r in zip(other_flows, alive)):
                problems.append(f"other municipalities affected: {ev['others']}")

            # restore: start charon, load its configuration (the connection initiates), wait
            ev["restart_seconds"] = round(ipsec.restart(plan, node), 2)
            deadline = time.monotonic() + 20
            while True:
                back = _reach(ctx, flows)
                if all(_lands_home(f, r) for f, r in zip(flows, back)) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            up = _tunnel(plan, m.name)
            ev["status_after_restart"] = {k: up.get(k) for k in ("ike", "child")} | {
                "relay": (up.get("relay") or {}).get("child")}
            ev["back"] = [r.get("detail") for r in back]
            if not all(_lands_home(f, r) for f, r in zip(flows, back)):
                problems.append(f"traffic did not come back after the restart: {ev['back']}")
            if (up.get("ike"), up.get("child")) != ("ESTABLISHED", "INSTALLED"):
                problems.append(f"status after the restart: {ev['status_after_restart']}")
        finally:
            if killed and not process.alive(ipsec.charon_pid(d) or 0):
                try:  # leave the lab as it was found, whatever went wrong above
                    ipsec.restart(plan, node)
                except Exception as exc:  # noqa: BLE001
                    ev["restore_error"] = str(exc)
        if problems:
            return False, "; ".join(problems), ev
        return True, (f"without {node}'s charon: no answer, nothing in clear, status down, "
                      f"{len(others)} other municipalities unaffected; back after {ev['restart_seconds']}s"), ev

    return check


# --- the cases -----------------------------------------------------------------------------------


def wire_cases(plan: Plan, topo: Topology) -> list[Case]:
    from relay_router.compile import FRONT, RELAY_SWITCH, tgw_name, vrf_name

    munis = [m for _, m in topo.municipalities()]
    shared = topo.relay_router.shared_ip
    cases: list[Case] = []

    def add(n: int, m: Municipality, title: str, check: Check, nodes: list[str], **kw) -> None:
        cases.append(Case(id=f"wire {n} {m.name}", ref=REFS[n], group="wire", title=title,
                          destination=m.name, check=check, nodes=tuple(dict.fromkeys(nodes)), **kw))

    for m in munis:
        terms = [f["src"] for f in cloud_flows(topo, m)]
        add(1, m, f"{m.name}: on its carrier link (m{m.id}) Government Cloud traffic is only IKE/ESP "
                  f"{ike_address(m)} <-> {shared}, nothing in clear", check_esp_only(plan, topo, m), [CARRIER, *terms])
        add(2, m, f"{m.name}: its frames on the trunk carry VLAN {m.vlan} only", check_vlan(plan, topo, m),
            [RELAY_SWITCH, *terms])
        add(3, m, f"{m.name}: its cloud systems see only private sources from {transfer_nat(topo, m)}",
            check_private_sources(plan, topo, m), terms)
        add(4, m, f"{m.name}: its IKE SA ends on the shared global IP {shared} at both ends",
            check_shared_ip(plan, topo, m), [])
        add(5, m, f"{m.name}: the shared service addresses land in its own tenant", check_own_tenant(plan, topo, m),
            terms)
        add(6, m, f"{m.name}: plaintext to {shared} from its IKE address never reaches the cloud side",
            check_no_plaintext(plan, topo, m), [CARRIER, FRONT, RELAY_SWITCH, vrf_name(m), tgw_name(m)])
    if munis:
        m, others = munis[0], munis[1:]
        add(7, m, f"{m.name}: with its charon killed, its cloud traffic fails closed, the others carry on, "
                  "status shows the tunnel down; restarted, the traffic returns",
            check_fail_closed(plan, topo, m, others), [CARRIER, *[f["src"] for x in munis for f in cloud_flows(topo, x)]],
            exclusive=True)
    return cases
