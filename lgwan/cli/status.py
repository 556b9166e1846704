from __future__ import annotations

import json

import typer
from rich.table import Table

from ..runtime import ipsec, netns, process
from ..runtime.state import LabState, known_labs
from .common import console


def lab_status(name: str) -> dict:
    state = LabState(name)
    meta = state.meta()
    plan = state.load_plan()
    daemons = []
    if plan is not None:
        for node in plan.nodes.values():
            for d in node.daemons:
                try:
                    pid = int((state.node_dir(node.name) / f"{d.name}.pid").read_text())
                except (OSError, ValueError):
                    pid = None
                daemons.append({"node": node.name, "daemon": d.name, "pid": pid,
                                "alive": bool(pid and process.alive(pid))})
    return {
        "lab": name,
        "status": meta.get("status", "unknown (no state file)"),
        "model": meta.get("model"),
        "namespaces": len(netns.lab_namespaces(name)),
        "nodes": len(plan.nodes) if plan else None,
        "daemons": daemons,
        "backends": meta.get("backends", {}),
        "tunnels": ipsec.tunnels(plan) if plan is not None and netns.lab_namespaces(name) else [],
    }


def status(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Show the labs on this host: state, model, backends, daemons."""
    labs = [lab_status(n) for n in sorted(known_labs())]
    if as_json:
        print(json.dumps(labs, indent=1))
        return
    if not labs:
        console.print("no lab on this host")
        return
    for s in labs:
        up = sum(d["alive"] for d in s["daemons"])
        console.print(f"[bold]{s['lab']}[/]: {s['status']}, model [bold]{s['model']}[/], "
                      f"{s['namespaces']} namespaces, daemons {up}/{len(s['daemons'])} running")
        for k, v in s["backends"].items():
            console.print(f"  {k}: {v}")
        for r in s["tunnels"]:
            relay = r.get("relay", {})
            ends = f" {r['local']} -> {r['remote']}," if r.get("local") else ""
            console.print(f"  tunnel [bold]{r['municipality']}[/]: IKE {_state(r['ike'])}, CHILD {_state(r['child'])},"
                          f"{ends} relay side {relay.get('node')} {_state(relay.get('ike'))}/"
                          f"{_state(relay.get('child'))}, backend {r['backend']}, auth {r.get('auth', 'psk')}", highlight=False)
        dead = [d for d in s["daemons"] if not d["alive"]]
        if dead:
            t = Table("node", "daemon", "pid", title="daemons not running")
            for d in dead:
                t.add_row(d["node"], d["daemon"], str(d["pid"]))
            console.print(t)


def _state(value: str) -> str:
    return f"[green]{value}[/]" if value in ("ESTABLISHED", "INSTALLED") else f"[red]{value}[/]"
