"""Which cases a verification run contains.

Matrix cases: every host of a municipality × every service of the hosts in the other segments of
its own municipality, expected verdict from ``expected_verdict``. (Wire properties and attack
probes are added by the relay-router and security-cloud parts.)
"""

from __future__ import annotations

from ..expect import expected_verdict
from ..model import Topology
from ..plan import Plan
from ..policy import load_model_policy
from .model import Case

SEGMENTS = ("number_use", "lgwan", "internet")


def matrix_cases(plan: Plan, topo: Topology) -> list[Case]:
    cases = []
    policy = load_model_policy(plan.model, topo)
    for _, m in topo.municipalities():
        for sz in SEGMENTS:
            for src in getattr(m.segments, sz).hosts:
                for dz in SEGMENTS:
                    if dz == sz:
                        continue
                    for dst in getattr(m.segments, dz).hosts:
                        for svc in dst.services:
                            s, d = f"{m.name}-{src.name}", f"{m.name}-{dst.name}"
                            v = expected_verdict(topo, policy, s, d, svc.proto, svc.port)
                            allowed, ref = v.allowed, v.ref
                            kind = "tcp" if svc.proto == "tcp" else "udp"
                            cases.append(Case(
                                id=f"{s}->{d}:{svc.proto}/{svc.port}", ref=ref, group="matrix",
                                title=f"{s} → {d} {svc.proto}/{svc.port} ({svc.name}) is "
                                      f"{'allowed' if allowed else 'denied'}",
                                source=s, destination=d,
                                probe={"kind": kind, "dst": dst.address, "port": svc.port},
                                expect_answer=allowed))
    return cases


def build_cases(plan: Plan, topo: Topology, only: list[str] | None = None,
                from_nodes: list[str] | None = None) -> list[Case]:
    cases = matrix_cases(plan, topo)
    if only:
        wanted = {o.lower().replace(" ", "") for o in only}
        cases = [c for c in cases if c.ref.lower().replace(" ", "") in wanted or c.group in wanted]
    if from_nodes:
        cases = [c for c in cases if c.source in from_nodes]
    return cases
