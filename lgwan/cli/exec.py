from __future__ import annotations

import os

import typer

from ..errors import LabStateError
from ..runtime import process
from ..runtime.state import LabState
from .common import require_root, running_plan


def _exec(node: str, argv: list[str], lab: str | None) -> None:
    require_root("exec")
    plan = running_plan(lab)
    if node not in plan.nodes:
        raise LabStateError(f"no node '{node}' in lab '{plan.lab}' (see 'lgwan inspect')")
    cmd = process.in_node(plan.namespace(node), LabState(plan.lab).node_dir(node), argv)
    os.execvpe(cmd[0], cmd, process.lab_env(plan.lab, node))


def exec_(node: str = typer.Argument(..., help="node name"),
          cmd: list[str] = typer.Argument(..., help="command (after --)"),
          lab: str = typer.Option(None, "--lab")) -> None:
    """Run a command inside a node (its namespace, with the node's /run)."""
    _exec(node, cmd, lab)


def shell(node: str = typer.Argument(..., help="node name"), lab: str = typer.Option(None, "--lab")) -> None:
    """Open a shell inside a node."""
    _exec(node, [os.environ.get("SHELL", "/bin/bash"), "-i"], lab)
