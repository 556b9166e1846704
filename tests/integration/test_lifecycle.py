"""up / down / status / inspect through the CLI, double up, bad input, and kill -9 during up."""

import json
import os
import signal
import subprocess
import time

from lgwan.runtime.state import LabState, list_namespaces

from .conftest import LGWAN, lab_name, lgwan, write_topology


def lab_of(topo_file) -> str:
    return topo_file.read_text().split("\n")[0].split(": ")[1]


def planned(topo_file) -> tuple[int, int]:
    """(nodes, daemons) of the lab the file describes."""
    from lgwan.compiler import compile_plan
    from lgwan.topology import load_topology

    from lgwan.runtime import ovs

    plan = compile_plan(load_topology(topo_file))
    ovs.prepare(plan)  # the runtime adds each OVS switch's ovsdb-server and ovs-vswitchd
    return len(plan.nodes), sum(len(n.daemons) for n in plan.nodes.values())


def test_up_status_inspect_down(topo_file):
    name = lab_of(topo_file)
    nodes, daemons = planned(topo_file)
    # municipality: fw, 3 switches, 7 hosts, sanitizer; security cloud; internet: 7; LGWAN router,
    # carrier, LGWAN-ASP host; relay front, virtual router, 2 OVS switches; tenant gateway, 2 cloud systems
    assert nodes == 30
    r = lgwan("up", "-t", str(topo_file))
    try:
        assert r.returncode == 0, r.stderr
        assert f"lab '{name}' is up" in r.stdout
        namespaces = list_namespaces(f"{name}.")
        assert len(namespaces) == nodes

        view = json.loads(lgwan("inspect", "--lab", name, "--json").stdout)
        assert view["lab"] == name
        fw = next(n for n in view["nodes"] if n["name"] == "yokohama-fw")
        assert fw["role"] == "firewall" and fw["namespace"] == f"{name}.yokohama-fw"
        nu0 = next(i for i in fw["interfaces"] if i["name"] == "nu0")
        assert nu0 == {"name": "nu0", "addresses": ["10.1.10.1/24"], "peer": "yokohama-nu-sw:up0", "vlan": None}
        # the interfaces inspect reports are the ones in the kernel
        out = subprocess.run(["ip", "-n", f"{name}.yokohama-fw", "-br", "addr"], capture_output=True, text=True).stdout
        assert any(line.split()[0] == "nu0@if" + line.split()[0].split("@if")[-1] and "10.1.10.1/24" in line
                   for line in out.splitlines()), out

        st = json.loads(lgwan("status", "--json").stdout)
        mine = next(s for s in st if s["lab"] == name)
        assert mine["status"] == "running" and mine["namespaces"] == nodes and mine["model"] == "alpha"
        assert all(d["alive"] for d in mine["daemons"]) and len(mine["daemons"]) == daemons

        again = lgwan("up", "-t", str(topo_file))
        assert again.returncode == 1
        assert f"lab '{name}' is already deployed" in again.stderr
        assert len(list_namespaces(f"{name}.")) == nodes  # nothing duplicated, nothing removed
    finally:
        d = lgwan("down", name)
    assert d.returncode == 0, d.stderr
    assert list_namespaces(f"{name}.") == []
    assert not LabState(name).exists()


def test_bad_topology_exits_2_and_deploys_nothing(tmp_path):
    name = lab_name()
    f = write_topology(tmp_path, f"""\
        name: {name}
        prefectures:
          - name: p
            municipalities:
              - {{name: a, vlan: 4095}}
        """)
    r = lgwan("up", "-t", str(f))
    assert r.returncode == 2
    assert r.stderr.strip() == f"error {f}:5 prefectures[0].municipalities[0].vlan: 4095 is outside 1-4094"
    assert "Traceback" not in r.stderr
    assert list_namespaces(f"{name}.") == [] and not LabState(name).exists()


def test_down_after_kill_9_during_up(topo_file):
    name = lab_of(topo_file)
    proc = subprocess.Popen([*LGWAN, "up", "-t", str(topo_file)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # wait until up is half way: some namespaces exist
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list_namespaces(f"{name}.")) < 3:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list_namespaces(f"{name}."), "up was killed before it created anything"
    # lose the state file too: down must still find everything by the lab's name
    (LabState(name).dir / "plan.json").unlink(missing_ok=True)
    r = lgwan("down", name)
    assert r.returncode == 0, r.stderr
    assert list_namespaces(f"{name}.") == []
    assert not LabState(name).exists()


def test_down_kills_the_labs_daemons(lab):
    from lgwan.runtime import process

    pids = process.lab_processes(lab.lab, list_namespaces(f"{lab.lab}."))
    assert len(pids) == sum(len(n.daemons) for n in lab.nodes.values())  # responders, proxy, DNS, sanitizer …
    r = lgwan("down", lab.lab)
    assert r.returncode == 0
    time.sleep(0.1)
    assert not [p for p in pids if process.alive(p)]
