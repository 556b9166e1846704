"""Compile a validated topology into a Plan: pure, no root, no I/O.

Each step adds one part of the network to the plan, in this order; a step may read what the
steps before it added (for example the relay router needs each municipality's LGWAN router).
"""

from __future__ import annotations

from ..model import Topology
from ..plan import Plan
from . import firewall, internet, lgwan, municipality, sanitizer, security_cloud


def relay_router(plan: Plan, topo: Topology) -> None:
    """The J-LIS relay router and the Government Cloud (relay_router/compile.py)."""
    from relay_router.compile import build  # relay_router imports this package

    build(plan, topo)


STEPS = [
    municipality.build,
    internet.build,
    security_cloud.build,
    sanitizer.build,
    lgwan.build,
    relay_router,
    firewall.build,  # last: renders the firewalls' rules once all their interfaces exist
]


def compile_plan(topo: Topology, model: str | None = None, topology_file: str = "") -> Plan:
    plan = Plan(lab=topo.name, model=model or topo.model, topology_file=topology_file)
    for step in STEPS:
        step(plan, topo)
    for node in plan.nodes.values():
        # the lab is IPv4 only: no IPv6 link-local chatter in captures
        node.sysctls.setdefault("net.ipv6.conf.all.disable_ipv6", "1")
        node.sysctls.setdefault("net.ipv6.conf.default.disable_ipv6", "1")
    return plan
