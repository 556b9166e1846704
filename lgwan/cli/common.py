"""What the sub-commands share: loading a topology, the console, root checks, the running lab."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from ..compiler import compile_plan
from ..errors import LabStateError
from ..plan import Plan
from ..runtime.state import LabState, known_labs
from ..topology import default_topology_path, load_topology

console = Console()
err_console = Console(stderr=True)


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise LabStateError(f"'{what}' creates network namespaces and must run as root")


def topology_path(path: Path | None) -> Path:
    return path if path is not None else default_topology_path()


def build_plan(path: Path | None, model: str | None = None) -> Plan:
    p = topology_path(path)
    topo = load_topology(p)
    return compile_plan(topo, model, topology_file=str(p.resolve()))


def pick_lab(lab: str | None) -> str:
    """The lab a command means: the one named, or the only one on this host."""
    if lab:
        return lab
    labs = sorted(known_labs())
    if len(labs) == 1:
        return labs[0]
    if not labs:
        raise LabStateError("no lab is running on this host (start one with 'lgwan up')")
    raise LabStateError(f"several labs are running ({', '.join(labs)}); name one with --lab")


def running_plan(lab: str | None) -> Plan:
    name = pick_lab(lab)
    if name not in known_labs():
        raise LabStateError(f"no lab '{name}' on this host (start it with 'lgwan up')")
    plan = LabState(name).load_plan()
    if plan is None:
        raise LabStateError(f"lab '{name}' has no plan on this host (half-removed?); run 'lgwan down {name}'")
    return plan
