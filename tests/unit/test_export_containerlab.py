"""The containerlab export: schema-valid, containerlab's own rules, files byte-identical to the
netns runtime's, start-up scripts that carry the plan. No root."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from bench.topologies import generate
from lgwan.compiler import compile_plan
from lgwan.export import containerlab
from lgwan.model import MODELS
from lgwan.plan import NODE_DIR, Bridge, Daemon, Interface, IpRule, Node, Plan, Route
from lgwan.render.startup import node_script
from lgwan.runtime.netns import write_node_files
from lgwan.topology import default_topology_path, load_topology

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/data/containerlab/clab.schema.json").read_text())
# The schema is draft-07; one of its patterns (ipv6-addr) uses \p{..} classes that Python's re lacks,
# so jsonschema.validate()'s meta-schema check refuses it. Validate with the draft-07 validator
# directly: our documents carry no IPv6 field, so that pattern is never evaluated.
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def plan_of(model=None, text=None, name="x.yml"):
    if text is None:
        name = str(default_topology_path())
        return compile_plan(load_topology(name), model, topology_file=name)
    return compile_plan(load_topology(name, text), model, topology_file=name)


def clab_doc(files, plan):
    return yaml.safe_load(files[f"{plan.lab}.clab.yml"])


def containerlab_rules(doc: dict) -> list[str]:
    """What containerlab checks at deploy time that its schema does not encode."""
    problems = []
    topo = doc["topology"]
    defaults = topo.get("defaults") or {}
    nodes = topo.get("nodes") or {}
    seen: dict[str, int] = {}
    for name, spec in nodes.items():
        if not (spec or {}).get("kind") and not defaults.get("kind"):
            problems.append(f"node {name} has no kind")
    for i, link in enumerate(topo.get("links") or []):
        eps = link["endpoints"]
        if len(eps) != 2:
            problems.append(f"link {i}: {len(eps)} endpoints")
        for ep in eps:
            node, _, ifname = ep.partition(":")
            if node not in nodes:
                problems.append(f"link {i}: endpoint {ep} names no node")
                continue
            if not ifname or len(ifname) > 15 or "/" in ifname or " " in ifname:
                problems.append(f"link {i}: interface name {ifname!r} does not fit")
            if ifname == "eth0" and (nodes[node] or {}).get("network-mode") != "none":
                problems.append(f"link {i}: {ep} is the management interface of a bridged node")
            if ep in seen:
                problems.append(f"link {i}: endpoint {ep} already used by link {seen[ep]}")
            seen[ep] = i
    return problems


def check(plan: Plan) -> dict[str, str]:
    files = containerlab.export(plan)
    doc = clab_doc(files, plan)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc)]
    assert errors == []
    assert containerlab_rules(doc) == []
    # every bind source is an exported file or directory
    for name, spec in doc["topology"]["nodes"].items():
        for bind in spec["binds"]:
            src = bind.split(":")[0]
            assert src in files or any(f.startswith(src + "/") for f in files), bind
    return files


@pytest.mark.parametrize("model", MODELS)
def test_default_topology_exports_valid_containerlab_under_every_model(model):
    plan = plan_of(model)
    files = check(plan)
    doc = clab_doc(files, plan)
    assert doc["name"] == plan.lab
    assert set(doc["topology"]["nodes"]) == set(plan.nodes)
    assert [link["endpoints"] for link in doc["topology"]["links"]] == [link.endpoints() for link in plan.links]
    # the yaml file says which model it is
    assert f"model {model}" in files[f"{plan.lab}.clab.yml"].splitlines()[0]


def test_generated_50_municipalities_export_valid_containerlab():
    plan = plan_of(text=generate(50, lab="big"), name="big.yml")
    assert len(plan.nodes) > 500
    check(plan)


def test_the_schema_check_bites():
    good = {"name": "t", "topology": {"nodes": {"a": {"kind": "linux", "binds": ["x:/y"]}}}}
    assert list(VALIDATOR.iter_errors(good)) == []
    for bad in ({"name": "t", "topology": {"nodes": {"a": {"kind": "linux", "binds": "x:/y"}}}},
                {"name": "t", "topology": {"nodes": {"a": {"kind": "linux", "no-such-key": 1}}}},
                {"name": "t", "topology": {}, "links": []},
                {"name": "bad name", "topology": {}}):
        assert list(VALIDATOR.iter_errors(bad)), bad


def test_rules_catch_what_containerlab_would_refuse():
    doc = {"name": "t", "topology": {"nodes": {"a": {"kind": "linux"}, "b": {}},
                                     "links": [{"endpoints": ["a:eth1", "c:eth1"]},
                                               {"endpoints": ["a:eth1", "b:averyveryverylongname"]},
                                               {"endpoints": ["a:eth0", "b:eth2"]}]}}
    problems = containerlab_rules(doc)
    assert any("b has no kind" in p for p in problems)
    assert any("c:eth1 names no node" in p for p in problems)
    assert any("a:eth1 already used" in p for p in problems)
    assert any("does not fit" in p for p in problems)
    assert any("management interface" in p for p in problems)


@pytest.mark.parametrize("model", MODELS)
def test_node_files_are_byte_identical_to_what_the_netns_runtime_writes(model, tmp_path):
    plan = plan_of(model)
    files = containerlab.export(plan)
    assert any(n.files for n in plan.nodes.values())
    for node in plan.nodes.values():
        d = tmp_path / node.name
        write_node_files(node, d)  # what `lgwan up` puts in /run/lgwan/<lab>/nodes/<node>/
        runtime = {p.relative_to(d).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}
        prefix = f"nodes/{node.name}/run/"
        exported = {k[len(prefix):]: v.encode() for k, v in files.items() if k.startswith(prefix)}
        assert exported == runtime, node.name
        # ...and the export binds that directory where the runtime mounts it
        spec = clab_doc(files, plan)["topology"]["nodes"][node.name]
        if node.files:
            assert f"nodes/{node.name}/run:{NODE_DIR}" in spec["binds"]


def test_cli_writes_files_byte_for_byte(tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "lgwan.cli.main", "export", "containerlab", "-o", str(out),
                        "--model", "beta"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    plan = plan_of("beta")
    for rel, text in containerlab.export(plan).items():
        assert (out / rel).read_bytes() == text.encode(), rel
    assert (out / "lgwan.clab.yml").is_file() and (out / "Dockerfile").is_file() and (out / "README.md").is_file()
    # the image gets the lab's own package
    assert (out / "lgwan-lab/pyproject.toml").is_file()
    assert (out / "lgwan-lab/lgwan/services/responder.py").read_text() == (ROOT / "lgwan/services/responder.py").read_text()
    assert (out / "lgwan-lab/lgwan/defaults.yml").is_file()
    assert (out / "nodes/yokohama-fw/start.sh").stat().st_mode & 0o111


def test_cli_bad_topology_exits_2_with_location_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: t\nprefectures:\n  - name: p\n    municipalities:\n      - {name: m, vlan: 5000}\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "lgwan.cli.main", "export", "containerlab", "-t", str(bad),
                        "-o", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2
    assert re.search(rf"{re.escape(str(bad))}:5 prefectures\[0\]\.municipalities\[0\]\.vlan: ", r.stderr), r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_cli_bad_model_exits_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lgwan.cli.main", "export", "containerlab", "--model", "gamma",
                        "-o", str(tmp_path / "o")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "Traceback" not in r.stderr


# --- the start-up script, parsed ---------------------------------------------------------------

def script_commands(text: str) -> list[list[str]]:
    """The script's top-level commands (after the shell functions), as argv lists."""
    body = text.split("\n}\n")[-1]  # after the last function definition
    cmds = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cmds.append(shlex.split(line))
    return cmds


def applied(cmds, *prefix):
    n = len(prefix)
    return [c[n:] for c in cmds if c[:n] == list(prefix)]


@pytest.mark.parametrize("model", MODELS)
def test_start_up_script_applies_the_plan(model):
    plan = plan_of(model)
    files = containerlab.export(plan)
    for node in plan.nodes.values():
        cmds = script_commands(files[f"nodes/{node.name}/start.sh"])
        addrs = {(a[0], a[2]) for a in applied(cmds, "ip", "address", "add")}
        assert addrs == {(a, i.name) for i in node.interfaces for a in i.addresses} | {
            (b.address, b.name) for b in node.bridges if b.address}, node.name
        ups = {a[0] for a in applied(cmds, "ip", "link", "set") if a[1:] == ["up"]}
        assert {i.name for i in node.interfaces} | {"lo"} <= ups
        routes = applied(cmds, "ip", "route", "add")
        expected = []
        for r in node.routes:
            argv = [r.dst if r.dst != "default" else "0.0.0.0/0"]
            argv += ["via", r.via] if r.via else []
            argv += ["dev", r.dev] if r.dev else []
            argv += ["table", str(r.table)] if r.table else []
            expected.append(argv)
        assert routes == expected, node.name
        waited = [c[1] for c in cmds if c[0] == "wait_link"]
        assert sorted(waited) == sorted(i.name for i in node.interfaces if i.peer), node.name
        sysctls = applied(cmds, "sysctl", "-q", "-w")
        assert sysctls == [[f"{k}={v}"] for k, v in node.sysctls.items()]
        nft = applied(cmds, "nft", "-f")
        assert nft == ([[f"{NODE_DIR}/nftables.conf"]] if node.firewall else [])
        if node.daemons:
            started = [c for c in cmds if c and c[0] == "setsid"]
            argvs = [c[1:c.index("</dev/null")] for c in started]
            # a daemon with an environment is started through env K=V ... (strongSwan, OVS)
            argvs = [a[next(i for i, x in enumerate(a) if i > 0 and "=" not in x):] if a[0] == "env" else a
                     for a in argvs]
            assert argvs == [d.argv for d in node.daemons]


def test_start_up_script_order_and_syntax():
    plan = plan_of()
    fw = plan.nodes["yokohama-fw"]
    text = node_script(plan, fw)
    assert text.startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n"], input=text, text=True, check=True)
    cmds = script_commands(text)
    order = [next(i for i, c in enumerate(cmds) if c[:2] == w) for w in
             (["wait_link", "nu0"], ["sysctl", "-q"], ["nft", "-f"], ["ip", "address"])]
    assert order == sorted(order)


def test_start_up_script_covers_ovs_rules_tables_and_daemon_env():
    """Plan features the default lab does not use yet (relay router): OVS trunks, ip rules, tables."""
    plan = Plan("t", "alpha", "")
    rr = plan.add(Node("relay", "relay_router"))
    plan.add(Node("vr1", "virtual_router"))
    plan.add(Node("cloud", "cloud"))
    plan.connect("vr1", "up0", "relay", "v101", a_addr="198.51.100.1/24", b_vlan=101)
    plan.connect("relay", "trunk0", "cloud", "trunk0")
    rr.iface("trunk0").trunk = [101, 102]
    rr.interfaces.append(Interface("mgmt0", ["192.0.2.1/24"], vlan=102))
    rr.bridges.append(Bridge("sw0", ["v101", "trunk0", "mgmt0"], ovs=True))
    rr.rules.append(IpRule(100, 101, src="203.0.113.0/24", iif="v101"))
    rr.routes.append(Route("10.100.0.0/24", via="198.51.100.2", dev="v101", table=101))
    rr.daemons.append(Daemon("charon", ["/usr/lib/ipsec/charon"], env={"STRONGSWAN_CONF": "/run/strongswan.conf"},
                             ready="file:/run/charon.vici"))
    rr.daemons.append(Daemon("probe", ["python3", "-m", "lgwan.probe"]))
    files = check(plan)
    doc = clab_doc(files, plan)
    assert doc["topology"]["nodes"]["relay"]["env"] == {"LGWAN_OVS_DATAPATH": "netdev"}
    assert "env" not in doc["topology"]["nodes"]["vr1"]
    text = files["nodes/relay/start.sh"]
    subprocess.run(["sh", "-n"], input=text, text=True, check=True)
    cmds = script_commands(text)
    vsctl = [c for c in cmds if c[0] == "ovs-vsctl"]
    assert any(c[-1] == "datapath_type=$LGWAN_OVS_DATAPATH" and "add-br" in c for c in vsctl)
    ports = {c[c.index("add-port") + 2]: c[c.index("add-port") + 3:] for c in vsctl if "add-port" in c}
    assert ports["v101"] == ["tag=101"]
    assert ports["trunk0"] == ["trunks=101,102"]
    assert ports["mgmt0"] == ["tag=102", "--", "set", "interface", "mgmt0", "type=internal"]
    assert ["ovsdb-server"] == [c[0] for c in cmds if c[0] == "ovsdb-server"]
    assert applied(cmds, "ip", "rule", "add") == [["priority", "100", "from", "203.0.113.0/24", "iif", "v101",
                                                   "table", "101"]]
    assert applied(cmds, "ip", "route", "add") == [["10.100.0.0/24", "via", "198.51.100.2", "dev", "v101",
                                                    "table", "101"]]
    starts = [c for c in cmds if c[0] == "setsid"]
    assert starts[0][1:4] == ["env", "STRONGSWAN_CONF=/run/strongswan.conf", "/usr/lib/ipsec/charon"]
    assert starts[1][1:4] == ["python3", "-m", "lgwan.probe"]  # the container's python3
    assert ["wait_ready", "charon", "$pid", "file", "/run/charon.vici"] in cmds
    # OVS comes before the addresses that may sit on its ports
    first = lambda pred: next(i for i, c in enumerate(cmds) if pred(c))  # noqa: E731
    assert first(lambda c: c[0] == "ovs-vsctl") < first(lambda c: c[:3] == ["ip", "address", "add"])


def test_every_plan_field_is_known_to_the_start_up_script():
    """A new Plan field (say, a new kind of ip rule) must be handled in lgwan/render/startup.py."""
    import dataclasses

    from lgwan import plan as plan_module
    from lgwan.render.startup import HANDLED_FIELDS

    for cls_name, handled in HANDLED_FIELDS.items():
        fields = {f.name for f in dataclasses.fields(getattr(plan_module, cls_name))}
        assert fields == handled, f"{cls_name}: new {fields - handled}, gone {handled - fields}"


def test_dockerfile_installs_what_the_host_setup_installs():
    setup = (ROOT / "scripts/setup").read_text()
    block = setup.split("PACKAGES=(")[1].split(")")[0]
    host = set(block.split()) - {"python3-venv", "util-linux"}
    text = containerlab.dockerfile()
    assert text.startswith("# ") and "FROM debian:bookworm" in text
    for pkg in host | {"python3-scapy", "tini"}:
        assert re.search(rf"\s{re.escape(pkg)}\s", text), pkg


def test_readme_explains_build_deploy_clabverter_vlans_and_virtual_routers():
    plan = plan_of()
    text = containerlab.export(plan)["README.md"]
    for needle in ("docker build", "containerlab deploy -t lgwan.clab.yml", "clabverter", "datapath_type=netdev",
                   "trunks=", "same shared global IP", "network-mode: none"):
        assert needle in text, needle


def test_export_refuses_x509_labs_with_a_located_error(tmp_path):
    import subprocess
    import sys

    f = tmp_path / "x.yml"
    f.write_text("name: t1\nrelay_router: {auth: x509}\nprefectures: [{name: p, municipalities: [{name: m}]}]\n")
    r = subprocess.run([sys.executable, "-m", "lgwan", "export", "containerlab", "-t", str(f), "-o", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert f"{f}:2 relay_router.auth: auth x509 is not supported by the containerlab export yet" in r.stderr
    assert not (tmp_path / "o").exists()


def test_ends_facing_userspace_ovs_turn_checksum_offload_off():
    from lgwan.compiler import compile_plan
    from lgwan.render.startup import node_script
    from lgwan.topology import default_topology_path, load_topology

    plan = compile_plan(load_topology(default_topology_path()))
    ends = set(plan.ovs_peer_interfaces())
    # every municipality's virtual router and tenant gateway face an OVS access port; trunk ends don't count
    assert ends == {(f"relay-{m}", "vl0") for m in ("yokohama", "kawasaki", "sakai")} | {
        (f"{m}-tgw", "up0") for m in ("yokohama", "kawasaki", "sakai")}
    assert "ethtool -K vl0 tx off" in node_script(plan, plan.nodes["relay-sakai"])
    assert "ethtool" not in node_script(plan, plan.nodes["yokohama-fw"])
