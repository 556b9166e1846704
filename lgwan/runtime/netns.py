"""Realise a Plan with network namespaces (pyroute2), veths, bridges, nftables and daemons.

``deploy`` is all or nothing: if any step fails, everything created so far is removed before
the error is raised. ``destroy`` removes a lab by its name, with or without its state file.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from ..errors import LabStateError
from ..plan import Node, Plan
from . import capabilities, ipsec, ovs, process
from .state import LabState, list_namespaces

Progress = Callable[[str, int, int], None]  # (step, done, total)

WORKERS = 8


def _noop(step: str, done: int, total: int) -> None:
    pass


@dataclass
class DeployReport:
    lab: str
    nodes: int
    links: int
    daemons: int
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)
    tunnels: dict[str, float] = field(default_factory=dict)  # LGWAN router -> set-up seconds


def lab_namespaces(lab: str) -> list[str]:
    return list_namespaces(f"{lab}.")


def is_running(lab: str) -> bool:
    return bool(lab_namespaces(lab)) or LabState(lab).exists()


def deploy(plan: Plan, progress: Progress = _noop) -> DeployReport:
    lab = plan.lab
    if is_running(lab):
        n = len(lab_namespaces(lab))
        raise LabStateError(
            f"lab '{lab}' is already deployed on this host ({n} namespaces); "
            f"run 'lgwan down {lab}' first")
    state = LabState(lab)
    t0 = time.monotonic()
    steps: dict[str, float] = {}
    try:
        state.dir.mkdir(parents=True)
        state.update_meta(lab=lab, status="deploying", model=plan.model,
                          topology_file=plan.topology_file, started=time.time())
        backends = _timed(steps, "backends", lambda: capabilities.detect(lab))
        state.update_meta(backends=backends)
        specialise(plan, backends)
        state.save_plan(plan)
        _timed(steps, "namespaces", lambda: _create_namespaces(plan, state, progress))
        _timed(steps, "certificates", lambda: ipsec.issue_certificates(plan))
        _timed(steps, "links", lambda: _create_links(plan, progress))
        # sysctls and firewalls before any link comes up: no window without rules, no IPv6 chatter
        _timed(steps, "firewalls", lambda: _apply_sysctls_and_firewalls(plan, state, progress))
        _timed(steps, "addresses", lambda: _configure_nodes(plan, progress))
        ndaemons = _timed(steps, "daemons", lambda: _start_daemons(plan, state, progress))
        _timed(steps, "switches", lambda: ovs.configure(plan, backends["ovs_datapath"]))
        tunnels = _timed(steps, "tunnels", lambda: ipsec.establish(plan, backends["ipsec"]))
        state.update_meta(status="running", deployed=time.time())
    except BaseException:
        destroy(lab)
        raise
    return DeployReport(lab, len(plan.nodes), len(plan.links), ndaemons,
                        time.monotonic() - t0, steps, backends, tunnels)


def specialise(plan: Plan, backends: dict) -> None:
    """What the plan becomes on this host: charon configs for its IPsec backend, and the Open
    vSwitch daemons of the switch nodes. Deploy and ``model set`` both go through here, so a
    re-compiled plan compares equal to the deployed one where nothing really changed."""
    ipsec.specialise(plan, backends["ipsec"])
    ovs.prepare(plan)


def _timed(steps: dict[str, float], name: str, fn):
    t = time.monotonic()
    out = fn()
    steps[name] = time.monotonic() - t
    return out


def _parallel(items, fn, step: str, progress: Progress):
    items = list(items)
    total = len(items)
    done = 0
    progress(step, 0, total)
    with ThreadPoolExecutor(WORKERS) as pool:
        for out in pool.map(fn, items):
            done += 1
            progress(step, done, total)
            yield out


def write_node_files(node: Node, d: Path) -> None:
    """The node's directory (mounted on NODE_DIR inside it): exactly ``node.files``."""
    d.mkdir(parents=True, exist_ok=True)
    for name, content in node.files.items():
        f = d / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(content)


def _create_namespaces(plan: Plan, state: LabState, progress: Progress) -> None:
    def one(node: Node) -> None:
        netns.create(plan.namespace(node.name))
        write_node_files(node, state.node_dir(node.name))

    list(_parallel(plan.nodes.values(), one, "namespaces", progress))


def _create_links(plan: Plan, progress: Progress) -> None:
    by_node: dict[str, list] = {}
    for link in plan.links:
        by_node.setdefault(link.a, []).append(link)

    def make(item):
        node, links = item
        with IPRoute(netns=plan.namespace(node)) as ipr:
            for link in links:
                ipr.link("add", ifname=link.a_if, kind="veth",
                         peer={"ifname": link.b_if, "net_ns_fd": plan.namespace(link.b)})
        return len(links)

    list(_parallel(by_node.items(), make, "links", progress))


def _configure_node(plan: Plan, node: Node) -> None:
    with IPRoute(netns=plan.namespace(node.name)) as ipr:
        idx = {link.get_attr("IFLA_IFNAME"): link["index"] for link in ipr.get_links()}

        def index(name: str) -> int:
            if name not in idx:
                idx[name] = ipr.link_lookup(ifname=name)[0]
            return idx[name]

        ipr.link("set", index=index("lo"), state="up")
        for br in node.bridges:
            if br.ovs:
                continue  # Open vSwitch bridges are made by the OVS daemons (runtime/ovs.py)
            ipr.link("add", ifname=br.name, kind="bridge")
            for port in br.ports:
                ipr.link("set", index=index(port), master=index(br.name))
            if br.address:
                ip, plen = br.address.split("/")
                ipr.addr("add", index=index(br.name), address=ip, prefixlen=int(plen))
            ipr.link("set", index=index(br.name), state="up")
        for iface in node.interfaces:
            for addr in iface.addresses:
                ip, plen = addr.split("/")
                ipr.addr("add", index=index(iface.name), address=ip, prefixlen=int(plen))
            ipr.link("set", index=index(iface.name), state="up")
        for rule in node.rules:
            kw = {"priority": rule.priority, "table": rule.table}
            if rule.src:
                ip, _, plen = rule.src.partition("/")
                kw.update(src=ip, src_len=int(plen or 32))
            if rule.iif:
                kw["iifname"] = rule.iif
            if rule.suppress_prefixlength is not None:
                kw["suppress_prefixlen"] = rule.suppress_prefixlength
            ipr.rule("add", **kw)
        for r in node.routes:
            kw = {}
            if r.dst != "default":
                kw["dst"] = r.dst
            else:
                kw["dst"] = "0.0.0.0/0"
            if r.via:
                kw["gateway"] = r.via
            if r.dev:
                kw["oif"] = index(r.dev)
            if r.table:
                kw["table"] = r.table
            ipr.route("add", **kw)


def _configure_nodes(plan: Plan, progress: Progress) -> None:
    def one(node: Node):
        try:
            _configure_node(plan, node)
        except (NetlinkError, IndexError) as exc:
            raise RuntimeError(f"configuring {node.name}: {exc}") from exc

    list(_parallel(plan.nodes.values(), one, "addresses", progress))


def _apply_sysctls_and_firewalls(plan: Plan, state: LabState, progress: Progress) -> None:
    def one(node: Node):
        cmds = [f"sysctl -q -w {k}={v}" for k, v in node.sysctls.items()]
        if node.firewall is not None:
            cmds.append(f"nft -f {state.node_dir(node.name)}/nftables.conf")
        if not cmds:
            return
        r = subprocess.run(["ip", "netns", "exec", plan.namespace(node.name), "sh", "-ec",
                            " && ".join(cmds)], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{node.name}: {r.stderr.strip()}")

    list(_parallel([n for n in plan.nodes.values() if n.sysctls or n.firewall], one, "firewalls", progress))


def _start_daemons(plan: Plan, state: LabState, progress: Progress) -> int:
    """Nodes in parallel; a node's daemons in order, each ready before the next starts."""
    nodes = [n for n in plan.nodes.values() if n.daemons]

    def one(node: Node):
        d = state.node_dir(node.name)
        for daemon in node.daemons:
            pid = process.start_daemon(plan.lab, plan.namespace(node.name), node.name, d, daemon)
            process.wait_ready(pid, d, daemon)

    list(_parallel(nodes, one, "daemons", progress))
    return sum(len(n.daemons) for n in nodes)


def destroy(lab: str) -> dict[str, int]:
    """Remove every namespace, process and file of the lab; safe to call on a half-built lab."""
    namespaces = lab_namespaces(lab)
    pids = process.lab_processes(lab, namespaces)
    process.kill_all(pids)
    for ns in namespaces:
        try:
            netns.remove(ns)
        except OSError:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
    state = LabState(lab)
    existed = state.exists()
    shutil.rmtree(state.dir, ignore_errors=True)
    return {"namespaces": len(namespaces), "processes": len(pids), "state": int(existed)}
