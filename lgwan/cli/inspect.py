from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ..plan import Plan
from ..runtime.state import known_labs
from .common import build_plan, console, running_plan


def plan_view(plan: Plan) -> dict:
    """The documented shape of ``lgwan inspect --json`` (README, "inspect")."""
    return {
        "lab": plan.lab,
        "model": plan.model,
        "nodes": [
            {
                "name": n.name,
                "role": n.role,
                "municipality": n.municipality,
                "zone": n.zone,
                "namespace": plan.namespace(n.name),
                "interfaces": [
                    {"name": i.name, "addresses": list(i.addresses), "peer": i.peer, "vlan": i.vlan}
                    for i in n.interfaces
                ],
            }
            for n in plan.nodes.values()
        ],
        "links": [{"endpoints": link.endpoints()} for link in plan.links],
    }


def inspect(topology: Path = typer.Option(None, "--topology", "-t",
                                          help="show this topology's plan instead of the running lab"),
            model: str = typer.Option(None, "--model", "-m"),
            lab: str = typer.Option(None, "--lab"),
            as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Show the nodes, interfaces and links of the running lab (or of a topology file)."""
    if topology is not None or (lab is None and not known_labs()):
        plan = build_plan(topology, model)
    else:
        plan = running_plan(lab)
    view = plan_view(plan)
    if as_json:
        print(json.dumps(view, indent=1))
        return
    t = Table("node", "role", "municipality", "zone", "interfaces", title=f"lab {plan.lab} (model {plan.model})")
    for n in view["nodes"]:
        ifs = ", ".join(f"{i['name']} {' '.join(i['addresses'])}".strip()
                        + (f" vlan {i['vlan']}" if i["vlan"] else "") for i in n["interfaces"])
        t.add_row(n["name"], n["role"], n["municipality"] or "", n["zone"] or "", ifs)
    console.print(t)
