"""Switch a running lab to another plan of the same network (``lgwan model set``), without redeploy.

Only firewall rulesets, node files and daemons may differ between the two plans; nodes, links,
addresses and routes must be the same (otherwise the lab needs ``down`` and ``up``).

Order, chosen so that no moment is more open than either model:
1. every changed node file is written (the old ones stay in force until loaded);
2. every changed ruleset is loaded with one ``nft -f`` per node: the file deletes and redefines
   its table in one transaction, so each node goes from the old rules to the new ones at once.
   Established connections are judged by the new rules too (see compiler/firewall.py: a flow
   lives only as long as the rule that admitted it);
3. daemons the new plan no longer has, or has with another command line or config, are
   stopped; new or changed ones are started (e.g. α′'s DNS forwarder, after its nftables set exists).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field

from ..errors import LabStateError
from ..plan import Node, Plan
from . import process
from .netns import specialise
from .state import LabState


@dataclass
class SwitchReport:
    lab: str
    old_model: str
    model: str
    reloaded: list[str] = field(default_factory=list)  # nodes whose ruleset was loaded
    started: list[str] = field(default_factory=list)  # "node/daemon"
    stopped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _shape(node: Node) -> tuple:
    return (node.role, node.zone, node.municipality, node.interfaces, node.routes, node.rules,
            node.sysctls, node.bridges)


def check_same_network(old: Plan, new: Plan) -> None:
    if old.nodes.keys() != new.nodes.keys() or old.links != new.links:
        raise LabStateError(f"the topology of lab '{old.lab}' changed since it was deployed "
                            f"({old.topology_file}); run 'lgwan down {old.lab}' and 'lgwan up' instead")
    for name, node in old.nodes.items():
        if _shape(node) != _shape(new.nodes[name]):
            raise LabStateError(f"node {name} of lab '{old.lab}' would change beyond its rules and daemons; "
                                f"run 'lgwan down {old.lab}' and 'lgwan up' instead")


def _daemon_key(node: Node, daemon) -> tuple:
    # a daemon is restarted when its command line or any non-ruleset file of its node changes
    files = tuple(sorted((k, v) for k, v in node.files.items() if k != "nftables.conf"))
    return (daemon.argv, tuple(sorted(daemon.env.items())), files)


def switch(new: Plan) -> SwitchReport:
    t0 = time.monotonic()
    state = LabState(new.lab)
    old = state.load_plan()
    if old is None:
        raise LabStateError(f"lab '{new.lab}' is not running on this host")
    specialise(new, state.meta()["backends"])
    check_same_network(old, new)
    report = SwitchReport(new.lab, old.model, new.model)

    for name, node in new.nodes.items():
        d = state.node_dir(name)
        for fname, content in node.files.items():
            if old.nodes[name].files.get(fname) != content:
                (d / fname).write_text(content)
    for name, node in new.nodes.items():
        if node.firewall is not None and node.firewall != old.nodes[name].firewall:
            r = subprocess.run(["ip", "netns", "exec", new.namespace(name), "nft", "-f",
                                str(state.node_dir(name) / "nftables.conf")], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{name}: loading the new ruleset failed, the old one stays: {r.stderr.strip()}")
            report.reloaded.append(name)

    for name, node in new.nodes.items():
        before = {d.name: d for d in old.nodes[name].daemons}
        after = {d.name: d for d in node.daemons}
        d = state.node_dir(name)
        for dname, daemon in before.items():
            if dname not in after or _daemon_key(old.nodes[name], daemon) != _daemon_key(node, after[dname]):
                _stop(d, dname)
                report.stopped.append(f"{name}/{dname}")
        for dname, daemon in after.items():
            if dname not in before or f"{name}/{dname}" in report.stopped:
                pid = process.start_daemon(new.lab, new.namespace(name), name, d, daemon)
                process.wait_ready(pid, d, daemon)
                report.started.append(f"{name}/{dname}")
        for fname in old.nodes[name].files.keys() - node.files.keys():
            (d / fname).unlink(missing_ok=True)

    state.save_plan(new)
    state.update_meta(model=new.model, model_switched=time.time())
    report.seconds = time.monotonic() - t0
    return report


def _stop(node_dir, daemon: str) -> None:
    pidfile = node_dir / f"{daemon}.pid"
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    if process.alive(pid):
        process.kill_all({pid})
    pidfile.unlink(missing_ok=True)
