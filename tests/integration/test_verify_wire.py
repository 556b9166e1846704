"""The wire group of `lgwan verify` is honest: it passes on an intact lab and, when the lab is
broken on the wire, fails on exactly the cases the break affects.

One lab for the module: two municipalities of one prefecture (overlapping tenants, VLANs 101 and
102). Breaks: (a) a municipality moved to the other's VLAN on both OVS switches; (b) ESP
disabled on one LGWAN router (charon killed, fail-closed rules gone, a plain route to the
Government Cloud), so its cloud traffic leaves in clear. The lab is restored after each.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from lgwan.plan import NODE_DIR
from lgwan.runtime import ipsec, process
from lgwan.runtime.state import LabState

from .conftest import TWO_MUNICIPALITIES, deployed, in_node, lgwan

WIRE = {f"wire {n} {m}" for n in range(1, 7) for m in ("yokohama", "kawasaki")} | {"wire 7 yokohama"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with deployed(tmp_path_factory, TWO_MUNICIPALITIES, "alpha") as lab:
        yield lab


def verify(plan, tmp_path, *args):
    out = tmp_path / "r.json"
    r = lgwan("verify", "--lab", plan.lab, "--json", str(out), "-q", *args, timeout=300)
    assert out.exists(), r.stdout + r.stderr
    return r, json.loads(out.read_text())


def failed(report):
    return {x["id"] for x in report["results"] if not x["passed"]}


def test_wire_passes_on_the_intact_lab(lab, tmp_path):
    plan, _ = lab
    t0 = time.monotonic()
    r, rep = verify(plan, tmp_path)
    assert r.returncode == 0, r.stdout
    wire = {x["id"]: x for x in rep["results"] if x["group"] == "wire"}
    assert set(wire) == WIRE
    assert all(x["ref"].startswith(x["id"].rsplit(" ", 1)[0] + " ") for x in wire.values())
    print(f"full verify of the two-municipality lab: {time.monotonic() - t0:.1f}s, {len(rep['results'])} cases")
    # the evidence is real: the sniffers saw the tunnel, the trunk and the injected plaintext
    assert wire["wire 1 yokohama"]["evidence"]["ike_esp_frames"] > 0
    assert wire["wire 2 kawasaki"]["evidence"]["vlan_tags_seen"] == [[102]]
    assert wire["wire 6 yokohama"]["evidence"]["frames_with_marker"]["relay-front:up0"] >= 6
    assert wire["wire 7 yokohama"]["evidence"]["status_after_kill"] == {"ike": "down", "child": "down"}
    # and case 7 left the tunnel as it found it
    assert ipsec.installed(LabState(plan.lab).node_dir("yokohama-lgr"))

    # subsets: one property by its leading words
    r, rep = verify(plan, tmp_path, "--only", "wire 2")
    assert r.returncode == 0
    assert failed(rep) == set() and {x["id"] for x in rep["results"]} == {"wire 2 yokohama", "wire 2 kawasaki"}


def test_a_municipality_on_the_wrong_vlan_fails_wire_2_only(lab, tmp_path):
    plan, topo = lab
    y = next(m for _, m in topo.municipalities() if m.name == "yokohama")
    switches = ("relay-sw", "cloud-connect")

    def tag(vlan):
        for sw in switches:  # both ends, so yokohama keeps working, on kawasaki's VLAN
            in_node(plan, sw, "ovs-vsctl", f"--db=unix:{NODE_DIR}/db.sock", "set", "port", f"p{y.id}", f"tag={vlan}")

    tag(102)
    try:
        r, rep = verify(plan, tmp_path, "--only", "wire")
    finally:
        tag(y.vlan)
    assert r.returncode == 1, r.stdout
    assert failed(rep) == {"wire 2 yokohama"}, [(x["id"], x["observed"]) for x in rep["results"] if not x["passed"]]
    bad = next(x for x in rep["results"] if x["id"] == "wire 2 yokohama")
    assert bad["evidence"]["vlan_tags_seen"] == [[102]], bad


def test_esp_disabled_fails_on_exactly_the_affected_cases(lab, tmp_path):
    plan, topo = lab
    lgr = "yokohama-lgr"
    d = LabState(plan.lab).node_dir(lgr)
    svc = topo.relay_router.service_range
    gw = in_node(plan, lgr, "ip", "route", "show", "default").stdout.split()[2]
    # break: no charon (no SA, no tunnel device), no fail-closed rules, a plain route to the cloud
    os.kill(ipsec.charon_pid(d), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while process.alive(ipsec.charon_pid(d) or 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        in_node(plan, lgr, "nft", "flush", "chain", "inet", "lgwan_router", "filter_fwd")
        in_node(plan, lgr, "nft", "add", "rule", "inet", "lgwan_router", "filter_fwd", "accept")
        in_node(plan, lgr, "nft", "flush", "chain", "inet", "lgwan_router", "filter_out")
        in_node(plan, lgr, "ip", "route", "add", svc, "via", gw)
        r, rep = verify(plan, tmp_path)
    finally:
        in_node(plan, lgr, "ip", "route", "del", svc, check=False)
        in_node(plan, lgr, "nft", "-f", f"{NODE_DIR}/nftables.conf")
        ipsec.restart(plan, lgr)
    assert r.returncode == 1, r.stdout
    got = failed(rep)
    # the wire: the carrier sees it in clear (1), nothing of yokohama crosses the trunk (2) or
    # reaches its systems (3, 5), no SA (4), the fail-closed case finds no tunnel to kill (7);
    # plaintext injected at the relay router is still dropped (6), kawasaki is untouched
    assert {x for x in got if x.startswith("wire")} == {f"wire {n} yokohama" for n in (1, 2, 3, 4, 5, 7)}, got
    # the matrix: yokohama's allowed Government Cloud flows, and nothing else
    cloud = {x["id"] for x in rep["results"] if x["group"] == "matrix" and x["source"].startswith("yokohama-")
             and x["destination"].startswith("cloud:") and x["expected"] == "answered"}
    assert cloud and {x for x in got if not x.startswith("wire")} == cloud
    clear = next(x for x in rep["results"] if x["id"] == "wire 1 yokohama")
    assert "in clear" in clear["observed"] and clear["evidence"]["in_clear"]

    # restored: the wire group passes again
    r, rep = verify(plan, tmp_path, "--only", "wire")
    assert r.returncode == 0, [(x["id"], x["observed"]) for x in rep["results"] if not x["passed"]]
