"""Row 6 inbound and row 13 on the wire: other municipalities' lgwan segments reach our lgwan
servers at their published LGWAN global addresses (DNAT on our LGWAN router), nothing else does.

One lab for the module (the default topology).
"""

from __future__ import annotations

import pytest

from lgwan.compiler.lgwan import ike_address, lgwan_address, pool_address
from lgwan.runtime.probes import run_probes
from lgwan.topology import lgwan_published_address

from .conftest import default_topology_template, deployed
from .test_relay_router import Capture, ipv4


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with deployed(tmp_path_factory, default_topology_template()) as (plan, topo):
        yield plan, {m.name: m for _, m in topo.municipalities()}


def denied(plan, node, targets) -> list:
    """The (address, port) targets ``node`` got a SYN-ACK from (a refusal is silence, so short)."""
    probes = [{"kind": "tcp", "dst": a, "port": p, "timeout": 0.7, "retry": 0} for a, p in targets]
    return [(r["probe"]["dst"], r["probe"]["port"]) for r in run_probes(plan, node, probes) if r["answered"]]


def connect(plan, node, dst, port, timeout=2.0):
    """A TCP SYN from ``node``: answered means a SYN-ACK came back."""
    return run_probes(plan, node, [{"kind": "tcp", "dst": dst, "port": port, "timeout": timeout}])[0]


def test_lgwan_terminal_reaches_another_municipalitys_file_server_by_its_published_address(lab, tmp_path):
    plan, munis = lab
    yokohama, kawasaki = munis["yokohama"], munis["kawasaki"]
    files = next(h for h in kawasaki.segments.lgwan.hosts if h.name == "lg-files")
    pub = lgwan_published_address(kawasaki, files)
    cap = Capture(plan, "kawasaki-lg-files", "eth0", tmp_path, "files")
    try:
        r = connect(plan, "yokohama-lg-term", pub, 8000)
    finally:
        frames = cap.stop()
    assert r["answered"], r
    syns = [p for p in ipv4(frames) if p.dst == files.address and p.proto == 6 and p["TCP"].dport == 8000]
    assert syns, "the file server saw no connection"
    # the server sees yokohama's LGWAN (SNAT) address, nothing of yokohama's inside plan
    assert {p.src for p in syns} == {lgwan_address(yokohama)}


def test_number_use_and_internet_segments_do_not_reach_published_servers(lab):
    plan, munis = lab
    kawasaki = munis["kawasaki"]
    targets = [(lgwan_published_address(kawasaki, "lg-files"), 8000), (lgwan_published_address(kawasaki, "lg-mail"), 25)]
    for src in ("yokohama-nu-term", "yokohama-nu-app", "yokohama-in-term", "sakai-nu-term"):
        assert denied(plan, src, targets) == [], src
    # a published server's other ports stay closed
    assert denied(plan, "yokohama-lg-term", [(lgwan_published_address(kawasaki, "lg-files"), 22)]) == []


def test_lgwan_backbone_gets_nothing_into_a_municipality(lab):
    """Row 13: the LGWAN-ASP host, on the backbone, toward published and global addresses."""
    plan, munis = lab
    asp = next(n for n in plan.nodes if n.startswith("lgwan-asp"))
    m = munis["sakai"]
    targets = [(lgwan_published_address(m, "lg-files"), 8000), (lgwan_published_address(m, "lg-mail"), 443)]
    targets += [(a, 443) for a in (lgwan_address(m), ike_address(m), pool_address(m, "number_use"),
                                   pool_address(m, "lgwan"))]
    assert denied(plan, asp, targets) == []
    # while sakai's own lgwan terminal does reach the ASP (the control: the path works)
    assert connect(plan, "sakai-lg-term", plan.nodes[asp].iface("eth0").addresses[0].split("/")[0], 443)["answered"]
