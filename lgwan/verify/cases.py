"""Which cases a verification run contains.

- matrix.py: the policy matrix, every segment host against every destination it could try;
- wire properties and attack probes (relay router, VLANs, spoofing, α′ bypass).
"""

from __future__ import annotations

from ..model import Topology
from ..plan import Plan
from .attacks import attack_cases
from .matrix import matrix_cases
from .model import Case


def build_cases(plan: Plan, topo: Topology, only: list[str] | None = None,
                from_nodes: list[str] | None = None) -> list[Case]:
    cases = matrix_cases(plan, topo)
    cases += attack_cases(plan, topo)
    if only:
        wanted = {o.lower().replace(" ", "") for o in only}
        cases = [c for c in cases if c.ref.lower().replace(" ", "") in wanted or c.group in wanted]
    if from_nodes:
        cases = [c for c in cases if c.source in from_nodes]
    return cases
