"""``lgwan export containerlab``: write a topology's Plan as a containerlab lab (see lgwan/export/)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import LabInputError, LabStateError
from ..export import containerlab
from ..model import MODELS
from ..source import load_yaml
from .common import build_plan, console, topology_path

app = typer.Typer(no_args_is_help=True, help="Write a lab out for other tools (containerlab, clabernetes).")


@app.command("containerlab")
def containerlab_(
        output: Path = typer.Option(..., "--output", "-o", help="directory to write (created if missing; files of an earlier export are overwritten)"),
        topology: Path = typer.Option(None, "--topology", "-t", help="topology file (default: topology/default.yml)"),
        model: str = typer.Option(None, "--model", "-m", help=f"security model: {', '.join(MODELS)}"),
        image: str = typer.Option(containerlab.IMAGE, "--image", help="node image name (e.g. in your registry)"),
        ovs_datapath: str = typer.Option("netdev", "--ovs-datapath",
                                         help="Open vSwitch datapath: netdev (userspace, any kernel) or system")) -> None:
    """Write DIR/<lab>.clab.yml, per-node files and start-up scripts, a Dockerfile and a README."""
    if model is not None and model not in MODELS:
        raise typer.BadParameter(f"'{model}' is not one of: {', '.join(MODELS)}", param_hint="--model")
    if ovs_datapath not in containerlab.OVS_DATAPATHS:
        raise typer.BadParameter(f"'{ovs_datapath}' is not one of: {', '.join(containerlab.OVS_DATAPATHS)}",
                                 param_hint="--ovs-datapath")
    path = topology_path(topology)
    plan = build_plan(path, model)
    if any(n.attrs.get("ipsec", {}).get("auth") == "x509" for n in plan.nodes.values()):
        # the certificates are made by the netns runtime at deploy time; the start-up scripts
        # have no such step yet, and a lab without working tunnels must not be exported
        _, src = load_yaml(path)
        raise LabInputError([src.problem(("relay_router", "auth"),
                                         "auth x509 is not supported by the containerlab export yet (use psk)")])
    files = containerlab.export(plan, image=image, ovs_datapath=ovs_datapath)
    try:
        files.update(containerlab.source_files())
    except FileNotFoundError as exc:
        raise LabStateError(str(exc)) from exc
    if output.exists() and not output.is_dir():
        raise LabStateError(f"{output} exists and is not a directory")
    for rel, text in files.items():
        f = output / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
        if rel.endswith(".sh"):
            f.chmod(0o755)
    console.print(f"[green]exported[/] lab '{plan.lab}' (model {plan.model}): {len(plan.nodes)} nodes, "
                  f"{len(plan.links)} links -> {output}/{plan.lab}.clab.yml (see {output}/README.md)")
