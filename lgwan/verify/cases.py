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
from .wire import wire_cases


def selects(only: str, case: Case) -> bool:
    """``--only`` names a group ("wire"), a rule ("row 8") or a rule by its leading words
    ("wire 2" for "wire 2 one VLAN per municipality"); whole words, case and spacing ignored."""
    want, ref = only.lower().split(), case.ref.lower().split()
    return want == [case.group] or ref[:len(want)] == want or "".join(want) == "".join(ref)


def build_cases(plan: Plan, topo: Topology, only: list[str] | None = None,
                from_nodes: list[str] | None = None) -> list[Case]:
    cases = matrix_cases(plan, topo)
    if any(n.role == "relay_front" for n in plan.nodes.values()):
        cases += wire_cases(plan, topo)
    cases += attack_cases(plan, topo)
    if only:
        cases = [c for c in cases if any(selects(o, c) for o in only)]
    if from_nodes:
        cases = [c for c in cases if c.source in from_nodes]
    return cases
