"""The attack group of `lgwan verify` catches each attack it claims: on a correct α′ lab every
attack case passes; open the way for one attack at a time (a spoofed flow, an unsolicited port, a
direct IP, a trunk port, a widened allow-list) and exactly the cases of that attack fail."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from lgwan.runtime import process
from lgwan.runtime.state import LabState

from .conftest import TWO_MUNICIPALITIES, deployed, in_node, lgwan

FW = "yokohama-fw"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with deployed(tmp_path_factory, TWO_MUNICIPALITIES, "alpha_prime") as (plan, _):
        yield plan


def ovs(plan, node, *argv):
    import subprocess

    sock = LabState(plan.lab).node_dir(node) / "db.sock"
    subprocess.run(["ovs-vsctl", f"--db=unix:{sock}", *argv], check=True, capture_output=True)


def verify(plan, tmp_path, *only) -> tuple[int, set[str], dict]:
    out = tmp_path / "r.json"
    args = [a for o in only for a in ("--only", o)]
    r = lgwan("verify", "--lab", plan.lab, "-q", "--json", str(out), *args, timeout=300)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    data = json.loads(out.read_text())
    return r.returncode, {x["id"] for x in data["results"] if not x["passed"]}, data


def restart_forwarder(plan):
    node_dir = LabState(plan.lab).node_dir(FW)
    daemon = next(d for d in plan.nodes[FW].daemons if d.name == "dns-forwarder")
    os.kill(int((node_dir / "dns-forwarder.pid").read_text()), signal.SIGTERM)
    time.sleep(0.5)
    pid = process.start_daemon(plan.lab, plan.namespace(FW), FW, node_dir, daemon)
    process.wait_ready(pid, node_dir, daemon)


def reload_firewall(plan):
    in_node(plan, FW, "nft", "-f", "/run/nftables.conf")


def test_verify_passes_with_the_attack_group(lab, tmp_path):
    t0 = time.monotonic()
    rc, failed, data = verify(lab, tmp_path)
    assert rc == 0 and not failed, failed
    refs = {x["ref"] for x in data["results"] if x["group"] == "attack"}
    assert refs == {"attack: vlan hopping", "attack: spoofed source", "attack: plaintext to the shared IP",
                    "attack: unsolicited from the internet", "attack: α′ allow-list bypass", "attack: cross-tenant"}
    assert time.monotonic() - t0 < 60


def test_each_attack_case_catches_its_attack(lab, tmp_path):
    # spoofing: accept the number_use terminal posing as the lgwan terminal; an unsolicited port
    # from the breakout line; the allow-listed SaaS by address; a trunk on yokohama's tenant port
    rules = [
        ["iifname", "nu0", "ip", "saddr", "10.1.20.10", "accept"],
        ["iifname", "bo0", "ip", "daddr", "10.1.20.12", "tcp", "dport", "25", "accept"],
        ["iifname", "lg0", "oifname", "bo0", "ip", "daddr", "192.0.2.11", "tcp", "dport", "443", "accept"],
    ]
    for rule in rules:
        in_node(lab, FW, "nft", "insert", "rule", "inet", "lgwan", "forward", *rule)
    try:
        rc, failed, data = verify(lab, tmp_path, "attack")
    finally:
        reload_firewall(lab)
    assert rc == 1
    assert failed == {
        "attack:spoof:yokohama-nu-term-as-yokohama-lg-term->asp:asp-portal:tcp/443",
        "attack:spoof:yokohama-nu-term-as-yokohama-lg-term->cloud:yokohama:lgsys:tcp/443",
        "attack:unsolicited:inet-attacker->10.1.20.12:tcp/25",
        "attack:spoof:inet-gw-as-198.18.0.129->yokohama-lg-mail:tcp/25",
        "attack:alpha-prime:direct-ip:yokohama-lg-term->192.0.2.11:tcp/443",
    }, failed
    for x in data["results"]:
        if not x["passed"]:
            assert x["observed"].startswith(("arrived at", "answered")), x


def test_vlan_hopping_is_caught_on_a_trunked_tenant_port(lab, tmp_path):
    # yokohama's tenant port on the cloud connection becomes a trunk carrying kawasaki's VLAN too
    ovs(lab, "cloud-connect", "clear", "port", "p1", "tag", "--", "set", "port", "p1", "vlan_mode=trunk",
        "trunks=101,102")
    try:
        rc, failed, _ = verify(lab, tmp_path, "attack: vlan hopping")
    finally:
        ovs(lab, "cloud-connect", "clear", "port", "p1", "trunks", "vlan_mode", "--", "set", "port", "p1", "tag=101")
    assert rc == 1 and failed == {"attack:vlan-hop:tagged:yokohama->kawasaki"}, failed


def test_a_widened_allow_list_fails_exactly_its_case(lab, tmp_path):
    node_dir = LabState(lab.lab).node_dir(FW)
    conf = node_dir / "dns-forwarder.conf"
    original = conf.read_text()
    bo = lab.nodes[FW].iface("bo0").addresses[0].split("/")[0]
    conf.write_text(original + f"server=/other.saas.example/192.0.2.53@{bo}\n"
                               "nftset=/other.saas.example/4#inet#lgwan#fqdn_other_saas_example\n")
    in_node(lab, FW, "nft", "add", "set", "inet", "lgwan", "fqdn_other_saas_example",
            "{ type ipv4_addr; flags timeout; }")
    in_node(lab, FW, "nft", "insert", "rule", "inet", "lgwan", "forward", "iifname", "lg0", "oifname", "bo0",
            "ip", "daddr", "@fqdn_other_saas_example", "tcp", "dport", "443", "accept")
    restart_forwarder(lab)
    try:
        rc, failed, _ = verify(lab, tmp_path, "attack: α′ allow-list bypass")
    finally:
        conf.write_text(original)
        reload_firewall(lab)
        restart_forwarder(lab)
    assert rc == 1
    assert failed == {"attack:alpha-prime:not-allowed-name:yokohama-lg-term->other.saas.example"}
    rc, failed, _ = verify(lab, tmp_path, "attack")
    assert rc == 0 and not failed, failed
