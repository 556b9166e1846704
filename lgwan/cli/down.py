from __future__ import annotations

import typer

from ..runtime import netns
from .common import console, pick_lab, require_root


def down(lab: str = typer.Argument(None, help="lab name (default: the only lab on this host)")) -> None:
    """Remove everything of a lab, also after a crash or kill -9 during 'up'."""
    require_root("down")
    name = pick_lab(lab)
    removed = netns.destroy(name)
    console.print(f"lab '{name}' removed: {removed['namespaces']} namespaces, "
                  f"{removed['processes']} processes")
