"""Which cases a verification run contains.

Matrix cases: every host of a municipality × every service of the hosts in the other segments of
its own municipality, expected verdict from ``expected_verdict``. (Wire properties and attack
probes are added by the relay-router and security-cloud parts.)
"""

from __future__ import annotations

from ..compiler.firewall import builtin_rules
from ..model import Topology
from ..plan import Plan
from .model import Case

SEGMENTS = ("number_use", "lgwan", "internet")


def expected_verdict(model: str, src_zone: str, dst_zone: str, dst_host: str, proto: str, port: int) -> tuple[bool, str]:
    """(allowed, ref) for a flow between two segments of one municipality."""
    if src_zone == dst_zone:
        return True, "same segment"
    for r in builtin_rules(model):
        if (r.src_zone, r.dst_zone, r.proto) == (src_zone, dst_zone, proto) and port in r.ports \
                and (not r.dst_hosts or dst_host in r.dst_hosts):
            return True, r.ref
    return False, "row 5" if {src_zone, dst_zone} == {"number_use", "lgwan"} else \
        "row 4" if src_zone == "number_use" else "default deny"


def matrix_cases(plan: Plan, topo: Topology) -> list[Case]:
    cases = []
    for _, m in topo.municipalities():
        for sz in SEGMENTS:
            for src in getattr(m.segments, sz).hosts:
                for dz in SEGMENTS:
                    if dz == sz:
                        continue
                    for dst in getattr(m.segments, dz).hosts:
                        for svc in dst.services:
                            allowed, ref = expected_verdict(plan.model, sz, dz, dst.name, svc.proto, svc.port)
                            s, d = f"{m.name}-{src.name}", f"{m.name}-{dst.name}"
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
