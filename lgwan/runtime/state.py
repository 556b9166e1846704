"""Where a lab's files live on this host: ``/run/lgwan/<lab>/`` (tmpfs: gone at reboot, like
the namespaces themselves). ``LGWAN_STATE_ROOT`` moves it (tests use that)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..plan import Plan


def state_root() -> Path:
    return Path(os.environ.get("LGWAN_STATE_ROOT", "/run/lgwan"))


class LabState:
    def __init__(self, lab: str):
        self.lab = lab
        self.dir = state_root() / lab

    def node_dir(self, node: str) -> Path:
        return self.dir / "nodes" / node

    @property
    def plan_file(self) -> Path:
        return self.dir / "plan.json"

    @property
    def meta_file(self) -> Path:
        return self.dir / "meta.json"

    def exists(self) -> bool:
        return self.dir.exists()

    def save_plan(self, plan: Plan) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        _write_json(self.plan_file, plan.to_dict())

    def load_plan(self) -> Plan | None:
        try:
            return Plan.from_dict(json.loads(self.plan_file.read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            # missing, half-written, or written by another version of lgwan-lab
            return None

    def meta(self) -> dict[str, Any]:
        try:
            return json.loads(self.meta_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def update_meta(self, **values: Any) -> None:
        meta = self.meta()
        meta.update(values)
        self.dir.mkdir(parents=True, exist_ok=True)
        _write_json(self.meta_file, meta)


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def known_labs() -> set[str]:
    """Labs with a state directory or at least one namespace on this host."""
    labs = set()
    root = state_root()
    if root.exists():
        labs |= {p.name for p in root.iterdir() if p.is_dir()}
    labs |= {ns.split(".", 1)[0] for ns in list_namespaces() if "." in ns}
    return labs


def list_namespaces(prefix: str = "") -> list[str]:
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix))
