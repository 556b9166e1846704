"""``lgwan model show|set``: the security model of a running lab."""

from __future__ import annotations

import typer

from ..compiler import compile_plan
from ..model import MODELS
from ..runtime import reload
from ..runtime.state import LabState
from ..topology import load_topology
from .common import console, require_root, running_plan

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Show or switch the security model (α, β, β′, α′) of a running lab.")


@app.command("show")
def show(lab: str = typer.Option(None, "--lab")) -> None:
    """Print the active model of the running lab."""
    plan = running_plan(lab)
    console.print(LabState(plan.lab).meta().get("model", plan.model))


@app.command("set")
def set_(name: str = typer.Argument(..., help=f"security model: {', '.join(MODELS)}"),
         lab: str = typer.Option(None, "--lab")) -> None:
    """Switch a running lab to another model: re-render and atomically reload its rulesets."""
    require_root("model set")
    if name not in MODELS:
        raise typer.BadParameter(f"'{name}' is not one of: {', '.join(MODELS)}", param_hint="NAME")
    plan = running_plan(lab)
    topo = load_topology(plan.topology_file)
    new = compile_plan(topo, name, topology_file=plan.topology_file)
    report = reload.switch(new)
    extra = ""
    if report.started or report.stopped:
        extra = f"; daemons started {', '.join(report.started) or '-'}, stopped {', '.join(report.stopped) or '-'}"
    console.print(f"[green]lab '{report.lab}' switched[/] from {report.old_model} to {report.model}: "
                  f"{len(report.reloaded)} rulesets reloaded{extra} in {report.seconds:.2f}s")
