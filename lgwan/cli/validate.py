from __future__ import annotations

from pathlib import Path

import typer

from .common import build_plan, console


def validate(file: Path = typer.Argument(..., help="topology file to check"),
             model: str = typer.Option(None, "--model", "-m", help="security model to check it with")) -> None:
    """Check a topology file (and compile it) without deploying anything."""
    plan = build_plan(file, model)
    console.print(f"[green]ok[/] {file}: lab '{plan.lab}', model {plan.model}, "
                  f"{len(plan.nodes)} nodes, {len(plan.links)} links")
