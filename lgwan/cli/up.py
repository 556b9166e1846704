from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..model import MODELS
from ..runtime import netns
from .common import build_plan, console, require_root


def up(topology: Path = typer.Option(None, "--topology", "-t", help="topology file (default: topology/default.yml)"),
       model: str = typer.Option(None, "--model", "-m", help=f"security model: {', '.join(MODELS)}")) -> None:
    """Deploy a lab: namespaces, links, firewalls and daemons."""
    require_root("up")
    if model is not None and model not in MODELS:
        raise typer.BadParameter(f"'{model}' is not one of: {', '.join(MODELS)}", param_hint="--model")
    plan = build_plan(topology, model)
    with Progress(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        report = netns.deploy(plan, progress)
    console.print(f"[green]lab '{report.lab}' is up[/] (model {plan.model}): {report.nodes} nodes, "
                  f"{report.links} links, {report.daemons} daemons in {report.seconds:.1f}s")
