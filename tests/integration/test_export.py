"""The containerlab export against the real thing: the files of a deployed lab, and the exported
start-up scripts run in namespaces the way containerlab would run them in containers."""

from __future__ import annotations

import subprocess
import sys

from lgwan.compiler import compile_plan
from lgwan.export import containerlab
from lgwan.runtime import netns, process
from lgwan.runtime.probes import run_probes
from lgwan.runtime.state import LabState, list_namespaces
from lgwan.topology import load_topology


def test_exported_files_equal_the_deployed_labs_files(lab):
    files = containerlab.export(lab)
    state = LabState(lab.lab)
    checked = 0
    for node in lab.nodes.values():
        prefix = f"nodes/{node.name}/run/"
        exported = {k[len(prefix):]: v for k, v in files.items() if k.startswith(prefix)}
        assert set(exported) == set(node.files)
        for name, text in exported.items():
            assert (state.node_dir(node.name) / name).read_bytes() == text.encode(), (node.name, name)
            checked += 1
    assert checked >= 1  # the firewall's nftables.conf at least


def _containerlab_by_hand(plan, files, tmp_path) -> None:
    """What containerlab does with the export, with namespaces instead of containers: a namespace
    per node (named like the runtime's, so `netns.destroy` cleans up), the links as veths, the
    node's run/ directory on /run, then `sh start.sh` in every node."""
    state = LabState(plan.lab)
    for node in plan.nodes.values():
        netns.write_node_files(node, state.node_dir(node.name))  # what the export binds on /run
        subprocess.run(["ip", "netns", "add", plan.namespace(node.name)], check=True)
    for link in plan.links:
        subprocess.run(["ip", "-n", plan.namespace(link.a), "link", "add", link.a_if, "type", "veth",
                        "peer", "name", link.b_if, "netns", plan.namespace(link.b)], check=True)
    bindir = tmp_path / "bin"  # `python3` in the scripts: the lab's python (the image has lgwan installed)
    bindir.mkdir()
    (bindir / "python3").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (bindir / "python3").chmod(0o755)
    for node in plan.nodes.values():
        script = tmp_path / "export" / f"nodes/{node.name}/start.sh"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(files[f"nodes/{node.name}/start.sh"])
        env = process.lab_env(plan.lab, node.name)
        env["PATH"] = f"{bindir}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
        r = subprocess.run(process.in_node(plan.namespace(node.name), state.node_dir(node.name),
                                           ["sh", str(script)]),
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{node.name}: {r.stderr}"
        assert r.stdout.strip().endswith(f"lgwan: {node.name} is up")


def test_exported_start_up_scripts_build_a_working_lab(topo_file, tmp_path):
    plan = compile_plan(load_topology(topo_file), topology_file=str(topo_file))
    files = containerlab.export(plan)
    try:
        _containerlab_by_hand(plan, files, tmp_path)
        # addresses as planned
        for node in plan.nodes.values():
            for iface in node.interfaces:
                out = subprocess.run(["ip", "-n", plan.namespace(node.name), "-br", "addr", "show", "dev", iface.name],
                                     capture_output=True, text=True, check=True).stdout
                assert "UP" in out.split()[1] or "LOWER_UP" in out, out
                for a in iface.addresses:
                    assert a in out.split(), (node.name, out)
        # the same packets as test_first_slice: the model's flow passes, the rest is dropped
        allowed = run_probes(plan, "yokohama-lg-term", [
            {"kind": "tcp", "dst": "10.1.30.11", "port": 3389},
            {"kind": "connect", "dst": "10.1.30.11", "port": 3389},
        ])
        assert allowed[0]["answered"], allowed
        assert allowed[1]["detail"] == "lgwan yokohama-in-vb tcp/3389 from 10.1.20.10"
        denied = run_probes(plan, "yokohama-nu-term", [
            {"kind": "tcp", "dst": "10.1.20.12", "port": 3389, "timeout": 0.5},
            {"kind": "icmp", "dst": "10.1.20.12", "timeout": 0.5},
        ])
        assert [r["answered"] for r in denied] == [False, False], denied
        # daemons wrote their pid files on the node's /run, like the runtime's
        pid = int((LabState(plan.lab).node_dir("yokohama-in-vb") / "responder.pid").read_text())
        assert process.alive(pid)
    finally:
        netns.destroy(plan.lab)
    assert list_namespaces(f"{plan.lab}.") == []


def test_exported_ovs_trunk_keeps_vlans_apart(tmp_path):
    """OVS bridges as the start-up script makes them (userspace datapath): access ports on VLAN
    101 and 102, an 802.1Q trunk between two switches; same subnet, only the same VLAN answers."""
    from lgwan.plan import Bridge, Node, Plan

    from .conftest import lab_name

    plan = Plan(lab_name(), "alpha", "")
    for name in ("sw1", "sw2", "h101", "h102", "far"):
        plan.add(Node(name, "switch" if name.startswith("sw") else "host"))
    plan.connect("h101", "eth0", "sw1", "p101", a_addr="192.0.2.1/24", b_vlan=101)
    plan.connect("h102", "eth0", "sw1", "p102", a_addr="192.0.2.2/24", b_vlan=102)
    plan.connect("sw1", "trunk0", "sw2", "trunk0")
    plan.connect("far", "eth0", "sw2", "p101", a_addr="192.0.2.9/24", b_vlan=101)
    for sw, ports in (("sw1", ["p101", "p102", "trunk0"]), ("sw2", ["trunk0", "p101"])):
        plan.nodes[sw].iface("trunk0").trunk = [101, 102]
        plan.nodes[sw].bridges.append(Bridge("br0", ports, ovs=True))
    files = containerlab.export(plan)
    try:
        _containerlab_by_hand(plan, files, tmp_path)

        def ping(node, dst):
            return subprocess.run(["ip", "netns", "exec", plan.namespace(node), "ping", "-c", "1", "-W", "1", dst],
                                  capture_output=True).returncode == 0

        assert ping("h101", "192.0.2.9") or ping("h101", "192.0.2.9")  # the first may wait for OVS to learn
        assert not ping("h102", "192.0.2.9")
        show = subprocess.run(["ip", "netns", "exec", plan.namespace("sw1"), "unshare", "--mount", "sh", "-c",
                               'mount --bind "$0" /run && ovs-vsctl --db=unix:/run/openvswitch/db.sock '
                               'get port p101 tag', str(LabState(plan.lab).node_dir("sw1"))],
                              capture_output=True, text=True)
        assert show.stdout.strip() == "101", show
    finally:
        netns.destroy(plan.lab)
    assert list_namespaces(f"{plan.lab}.") == []
