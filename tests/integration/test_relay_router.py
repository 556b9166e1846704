"""The relay router on the wire: the seven properties of issue 4, with real packets.

One lab for the module (the default topology: three municipalities in two prefectures, one relay
router), captures with tcpdump inside the nodes, read back with scapy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from netaddr import IPAddress, IPNetwork

from lgwan.compiler.lgwan import CARRIER, cloud_pool, ike_address, lgr_name, lgwan_address, pool_address
from lgwan.runtime import ipsec, process
from lgwan.runtime.probes import run_probes
from lgwan.runtime.state import LabState
from lgwan.topology import cloud_service_address
from relay_router.compile import FRONT, RELAY_SWITCH, transfer_nat, transfer_range, vrf_name

from .conftest import LGWAN, default_topology_template, deployed


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with deployed(tmp_path_factory, default_topology_template()) as lab:
        yield lab


def munis(topo):
    return {m.name: m for _, m in topo.municipalities()}


def node_dir(plan, node) -> Path:
    return LabState(plan.lab).node_dir(node)


def in_node(plan, node, argv, timeout=60, check=True):
    return process.run_in_node(plan.lab, plan.namespace(node), node, node_dir(plan, node), argv,
                               timeout=timeout, check=check)


def scapy_in(plan, node, code, timeout=60):
    prelude = ("import logging; logging.getLogger('scapy.runtime').setLevel(logging.ERROR)\n"
               "from scapy.all import *\nconf.verb = 0\n")
    return in_node(plan, node, ["python3", "-c", prelude + code], timeout=timeout).stdout


class Capture:
    """tcpdump on one interface of one node, read back with scapy."""

    def __init__(self, plan, node, iface, tmp_path, name):
        self.path = tmp_path / f"{name}.pcap"
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", plan.namespace(node), "tcpdump", "-i", iface, "-U", "--immediate-mode", "-n", "-Z", "root",
             "-w", str(self.path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "LGWAN_LAB": plan.lab})
        line = self.proc.stderr.readline()
        assert "listening on" in line, line

    def stop(self):
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)
        from scapy.all import rdpcap

        return list(rdpcap(str(self.path)))


def ipv4(frames):
    from scapy.layers.inet import IP

    return [f[IP] for f in frames if f.haslayer(IP)]


def rule_packets(plan, node, table, chain, comment):
    out = in_node(plan, node, ["nft", "list", "chain", "inet", table, chain]).stdout
    line = next(x for x in out.splitlines() if f'comment "{comment}"' in x)
    return int(line.split("packets ")[1].split()[0])


def connect(plan, node, dst, port=443, timeout=2.0):
    return run_probes(plan, node, [{"kind": "connect", "dst": dst, "port": port, "timeout": timeout}])[0]


# --- 1. on the carrier link, Government Cloud traffic is only IKE/ESP ------------------------


def test_1_cloud_traffic_on_the_carrier_link_is_only_ike_and_esp(lab, tmp_path):
    plan, topo = lab
    y = munis(topo)["yokohama"]
    cap = Capture(plan, CARRIER, f"m{y.id}", tmp_path, "carrier")
    juki = connect(plan, "yokohama-nu-term", cloud_service_address(topo, 0))
    lgsys = connect(plan, "yokohama-lg-term", cloud_service_address(topo, 1))
    asp = connect(plan, "yokohama-lg-term", topo.lgwan.asp[0].address)   # ordinary LGWAN, in clear
    frames = cap.stop()
    assert juki["detail"].startswith("lgwan yokohama-juki tcp/443"), juki
    assert lgsys["detail"].startswith("lgwan yokohama-lgsys tcp/443"), lgsys
    assert asp["detail"] == f"lgwan lgwan-asp-portal tcp/443 from {lgwan_address(y)}", asp

    packets = ipv4(frames)
    svc = IPNetwork(topo.relay_router.service_range)
    cloud, lgwan_clear = [], []
    for p in packets:
        if topo.lgwan.asp[0].address in (p.src, p.dst):
            lgwan_clear.append(p)
        else:
            cloud.append(p)
    # the ordinary LGWAN traffic is there in clear (the capture sees TCP), from the LGWAN address
    assert any(p.proto == 6 for p in lgwan_clear), [p.summary() for p in packets]
    # everything else: UDP 500/4500 between the router's IKE address and the shared IP, nothing more
    assert len(cloud) >= 6, [p.summary() for p in cloud]
    for p in cloud:
        assert p.proto == 17 and {p.sport, p.dport} & {500, 4500}, p.summary()
        assert {p.src, p.dst} == {ike_address(y), topo.relay_router.shared_ip}, p.summary()
        assert IPAddress(p.src) not in svc and IPAddress(p.dst) not in svc
    raw = b"".join(bytes(p) for p in cloud)
    for secret in (b"yokohama-juki", b"yokohama-lgsys", b"lgwan "):
        assert secret not in raw


# --- 2. on the trunk, a municipality's frames carry its VLAN only ------------------------------


def test_2_trunk_frames_carry_only_their_municipalitys_vlan(lab, tmp_path):
    plan, topo = lab
    ms = munis(topo)
    cap = Capture(plan, RELAY_SWITCH, "trunk0", tmp_path, "trunk")
    for m in ms.values():
        assert connect(plan, f"{m.name}-nu-term", cloud_service_address(topo, 0))["answered"]
        assert connect(plan, f"{m.name}-lg-term", cloud_service_address(topo, 1))["answered"]
    frames = cap.stop()
    from scapy.layers.inet import IP
    from scapy.layers.l2 import Dot1Q

    seen = {m.name: 0 for m in ms.values()}
    for f in frames:
        if not f.haslayer(IP):
            continue
        assert f.haslayer(Dot1Q), f"untagged IP frame on the trunk: {f.summary()}"
        ip = f[IP]
        owners = [m for m in ms.values()
                  if IPAddress(ip.src) in transfer_range(topo, m) or IPAddress(ip.dst) in transfer_range(topo, m)]
        assert len(owners) == 1, f.summary()
        assert f[Dot1Q].vlan == owners[0].vlan, f"{owners[0].name} on VLAN {f[Dot1Q].vlan}: {f.summary()}"
        seen[owners[0].name] += 1
    assert all(n >= 4 for n in seen.values()), seen


# --- 3. cloud systems see only private sources from the municipality's own range -------------


def test_3_cloud_systems_see_only_private_sources_from_their_own_range(lab):
    plan, topo = lab
    for m in munis(topo).values():
        for i, s in enumerate(m.cloud.systems):
            zone = s.zone
            r = connect(plan, f"{m.name}-{'nu' if zone == 'number_use' else 'lg'}-term", cloud_service_address(topo, i))
            assert r["answered"], r
            log = (node_dir(plan, f"{m.name}-{s.name}") / "responder.log").read_text().splitlines()
            sources = {json.loads(line)["src"] for line in log}
            assert sources, f"{m.name}-{s.name} saw no contact"
            for src in sources:
                assert IPAddress(src) in transfer_nat(topo, m), (m.name, s.name, src)
            # the 1:1 image of the zone's pool address: number_use and lgwan stay distinguishable
            offset = int(IPAddress(pool_address(m, zone))) - int(cloud_pool(m).network)
            assert sources == {str(transfer_nat(topo, m).network + offset)}, (m.name, s.name, sources)


# --- 4. every IKE SA ends on the one shared global IP --------------------------------------------


def test_4_all_ike_sas_end_on_the_shared_global_ip(lab):
    plan, topo = lab
    shared = topo.relay_router.shared_ip
    for m in munis(topo).values():
        vrf = ipsec.list_sas(node_dir(plan, vrf_name(m)))
        assert [(s["state"], s["local"], s["remote"]) for s in vrf] == [("ESTABLISHED", shared, ike_address(m))]
        assert [c["state"] for c in vrf[0]["children"]] == ["INSTALLED"]
        lgr = ipsec.list_sas(node_dir(plan, lgr_name(m)))
        assert [(s["local"], s["remote"]) for s in lgr] == [(ike_address(m), shared)]
    # and status says so, per municipality, with the backend
    st = json.loads(subprocess.run([*LGWAN, "status", "--json"], capture_output=True, text=True, check=True).stdout)
    mine = next(s for s in st if s["lab"] == plan.lab)
    assert {t["municipality"]: (t["ike"], t["child"], t["remote"]) for t in mine["tunnels"]} == {
        m: ("ESTABLISHED", "INSTALLED", shared) for m in munis(topo)}
    assert mine["backends"]["ipsec"] in ("kernel-libipsec", "kernel")
    assert {t["backend"] for t in mine["tunnels"]} == {mine["backends"]["ipsec"]}


# --- 5. A cannot reach B's tenant although the address plans overlap ----------------------------


def test_5_no_municipality_reaches_another_tenant(lab):
    plan, topo = lab
    ms = munis(topo)
    a, b = ms["yokohama"], ms["kawasaki"]
    assert a.cloud.prefix == b.cloud.prefix  # the overlap is real
    # the same service address lands in each one's own tenant
    for m in (a, b):
        r = connect(plan, f"{m.name}-nu-term", cloud_service_address(topo, 0))
        assert r["detail"].startswith(f"lgwan {m.name}-juki "), r
    # from A's LGWAN router itself (past the segment firewall): B's private transfer range and
    # unmapped service addresses lead nowhere
    xb = transfer_range(topo, b)
    probes = [{"kind": "connect", "dst": str(xb.network + k), "port": 443, "timeout": 0.7} for k in (1, 2, 129)]
    probes.append({"kind": "icmp", "dst": str(IPNetwork(topo.relay_router.service_range).network + 40), "timeout": 0.7})
    for r in run_probes(plan, lgr_name(a), probes):
        assert not r["answered"], r
    # forged source: A's router sends as B's IKE endpoint; the carrier's reverse-path check drops it
    before = rule_packets(plan, CARRIER, "carrier", "pre", "anti-spoofing")
    scapy_in(plan, lgr_name(a), f"""
gw = conf.route.route('{topo.relay_router.shared_ip}')[2]
sendp(Ether(dst=getmacbyip(gw))/IP(src='{ike_address(b)}', dst='{topo.relay_router.shared_ip}')/UDP(sport=4500, dport=4500)/Raw(b'x'*40), iface='wan0', count=3)
""")
    assert rule_packets(plan, CARRIER, "carrier", "pre", "anti-spoofing") >= before + 3
    # on the cloud side, A's tenant gateway cannot even resolve B's addresses (separate VLANs),
    # while its own virtual router answers
    out = scapy_in(plan, f"{a.name}-tgw", f"""
for ip in ('{transfer_range(topo, a).network + 1}', '{xb.network + 1}', '{xb.network + 2}'):
    mac = get_if_hwaddr('up0')  # explicit: left out, scapy would pick a zero MAC and poison the vrf's cache
    ans = srp1(Ether(src=mac, dst='ff:ff:ff:ff:ff:ff')/ARP(hwsrc=mac, pdst=ip, psrc='{transfer_range(topo, a).network + 2}'),
               iface='up0', timeout=1)
    print(ip, 'answered' if ans is not None else 'silent')
""")
    assert out.split() == [str(transfer_range(topo, a).network + 1), "answered",
                           str(xb.network + 1), "silent", str(xb.network + 2), "silent"], out
    # and B's systems never saw anyone from A's range
    for s in b.cloud.systems:
        log = (node_dir(plan, f"{b.name}-{s.name}") / "responder.log").read_text().splitlines()
        assert all(IPAddress(json.loads(x)["src"]) in transfer_range(topo, b) for x in log)


# --- 6. plaintext to the shared IP never reaches the cloud side ----------------------------------


def test_6_plaintext_to_the_shared_ip_never_reaches_the_cloud_side(lab, tmp_path):
    plan, topo = lab
    a = munis(topo)["yokohama"]
    shared = topo.relay_router.shared_ip
    svc0 = cloud_service_address(topo, 0)
    caps = [Capture(plan, RELAY_SWITCH, "trunk0", tmp_path, "trunk6"),
            Capture(plan, vrf_name(a), "vl0", tmp_path, "vl0"),
            Capture(plan, f"{a.name}-tgw", "up0", tmp_path, "tgw")]
    before = rule_packets(plan, FRONT, "relay_front", "filter_fwd", "plaintext or unknown peer: dropped")
    # raw frames out of the router's WAN port (past its own fail-closed rules): ICMP, TCP, UDP,
    # bare ESP (IP protocol 50), to the shared IP and, as the destination inside, the service address
    scapy_in(plan, lgr_name(a), f"""
src = '{ike_address(a)}'
gw = conf.route.route('{shared}')[2]
e = Ether(dst=getmacbyip(gw))
pkts = [IP(src=src, dst='{shared}')/ICMP(), IP(src=src, dst='{shared}')/TCP(dport=443, flags='S'),
        IP(src=src, dst='{shared}')/UDP(sport=5000, dport=53)/Raw(b'plain'),
        IP(src=src, dst='{shared}', proto=50)/Raw(b'\\x11\\x22\\x33\\x44' + b'\\0'*60),
        IP(src=src, dst='{shared}')/UDP(sport=4500, dport=4500)/Raw(bytes(IP(src=src, dst='{svc0}')/TCP(dport=443, flags='S')))]
sendp([e/p for p in pkts], iface='wan0', count=2)
""")
    frames = [f for c in caps for f in c.stop()]
    after = rule_packets(plan, FRONT, "relay_front", "filter_fwd", "plaintext or unknown peer: dropped")
    assert after >= before + 8, (before, after)  # ICMP, TCP, UDP/53, ESP, twice: dropped at the front
    assert ipv4(frames) == [], [f.summary() for f in frames]
    # the tunnel is still fine (the bogus ESP-in-UDP was discarded by charon)
    r = connect(plan, "yokohama-nu-term", svc0)
    assert r["answered"], (r, ipsec.tunnels(plan))


# --- 7. a dead charon fails closed; the others carry on; restoring it brings traffic back -----


def test_7_dead_charon_fails_closed_and_recovers(lab, tmp_path):
    plan, topo = lab
    ms = munis(topo)
    a, b = ms["yokohama"], ms["kawasaki"]
    d = node_dir(plan, lgr_name(a))
    pid = ipsec.charon_pid(d)
    assert pid and process.alive(pid)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while process.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    st = json.loads(subprocess.run([*LGWAN, "status", "--json"], capture_output=True, text=True, check=True).stdout)
    tunnels = {t["municipality"]: t for t in next(s for s in st if s["lab"] == plan.lab)["tunnels"]}
    assert tunnels[a.name]["ike"] == "down" and tunnels[a.name]["child"] == "down", tunnels[a.name]
    assert tunnels[b.name]["child"] == "INSTALLED"

    svc = IPNetwork(topo.relay_router.service_range)
    before = rule_packets(plan, lgr_name(a), "lgwan_router", "filter_fwd", "fail closed")
    cap = Capture(plan, CARRIER, f"m{a.id}", tmp_path, "carrier7")
    dead = run_probes(plan, f"{a.name}-nu-term", [
        {"kind": "connect", "dst": cloud_service_address(topo, 0), "port": 443, "timeout": 1.0},
        {"kind": "tcp", "dst": cloud_service_address(topo, 0), "port": 443, "timeout": 0.5}])
    other = connect(plan, f"{b.name}-nu-term", cloud_service_address(topo, 0))
    frames = cap.stop()
    assert [r["answered"] for r in dead] == [False, False], dead
    assert other["detail"].startswith(f"lgwan {b.name}-juki"), other
    assert rule_packets(plan, lgr_name(a), "lgwan_router", "filter_fwd", "fail closed") > before
    for p in ipv4(frames):  # nothing to or from the service range, no inner address: at most IKE/DPD
        assert IPAddress(p.dst) not in svc and IPAddress(p.src) not in svc, p.summary()
        assert p.proto in (1, 17), p.summary()
        if p.proto == 17:
            assert {p.sport, p.dport} & {500, 4500}, p.summary()

    seconds = ipsec.restart(plan, lgr_name(a))
    assert seconds < 20
    deadline = time.monotonic() + 20
    while True:
        r = connect(plan, f"{a.name}-nu-term", cloud_service_address(topo, 0))
        if r["answered"] or time.monotonic() > deadline:
            break
    assert r["detail"].startswith(f"lgwan {a.name}-juki"), r
    st = json.loads(subprocess.run([*LGWAN, "status", "--json"], capture_output=True, text=True, check=True).stdout)
    tunnels = {t["municipality"]: t for t in next(s for s in st if s["lab"] == plan.lab)["tunnels"]}
    assert (tunnels[a.name]["ike"], tunnels[a.name]["child"]) == ("ESTABLISHED", "INSTALLED")
