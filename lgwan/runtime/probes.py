"""Run probes (lgwan/probe.py) inside a running lab's nodes."""

from __future__ import annotations

import json
from typing import Any

from ..plan import Plan
from . import process
from .state import LabState


def run_probes(plan: Plan, node: str, probes: list[dict[str, Any]], timeout: float = 60) -> list[dict[str, Any]]:
    """Send the probes from ``node`` (one process, probes in order); return their results."""
    state = LabState(plan.lab)
    r = process.run_in_node(plan.lab, plan.namespace(node), node, state.node_dir(node),
                            ["python3", "-m", "lgwan.probe", json.dumps(probes)], timeout=timeout, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"probe from {node} failed: {r.stderr.strip()[-500:]}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
