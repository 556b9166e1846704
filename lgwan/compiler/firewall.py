"""The segment firewall's rules (three-layer separation), as nftables tables.

The rules come from the active security model; every rule carries the ``ref`` of the policy
matrix row (domain.md) it implements, as an nftables comment, so counters and reports can be
traced back to the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Municipality, Topology
from ..plan import Plan
from ..render import nftables as nft

IFACE = {"number_use": "nu0", "lgwan": "lg0", "internet": "in0"}


@dataclass(frozen=True)
class FlowRule:
    """One allowed flow between segments of a municipality."""

    ref: str
    src_zone: str
    dst_zone: str
    dst_hosts: tuple[str, ...]  # host names in dst_zone; empty = whole segment
    proto: str
    ports: tuple[int, ...]


def builtin_rules(model: str) -> list[FlowRule]:
    """Inter-segment flows allowed by each model (policy matrix rows 8 and 9)."""
    rules = []
    if model in ("alpha", "alpha_prime"):
        rules.append(FlowRule("row 8", "lgwan", "internet", ("in-vb",), "tcp", (3389,)))
    if model in ("beta", "beta_prime"):
        rules.append(FlowRule("row 9", "internet", "lgwan", ("lg-mail",), "tcp", (3389,)))
    return rules


def segment_rules(plan: Plan, topo: Topology, m: Municipality) -> list[nft.Table]:
    hosts = {z: {h.name: h.address for h in getattr(m.segments, z).hosts} for z in IFACE}
    forward = nft.Chain("forward", type="filter", hook="forward", priority=0, policy="drop", rules=[
        "ct state established,related accept",
        "ct state invalid drop",
    ])
    for r in builtin_rules(plan.model):
        daddr = [hosts[r.dst_zone][h] for h in r.dst_hosts if h in hosts[r.dst_zone]] or None
        if r.dst_hosts and not daddr:
            continue  # the topology has no such host
        m_ = nft.match(iif=IFACE[r.src_zone], oif=IFACE[r.dst_zone], daddr=daddr, proto=r.proto,
                       dports=list(r.ports))
        forward.rules.append(f"{m_} ct state new counter accept {nft.comment(r.ref)}")
    forward.rules.append(f"counter {nft.comment('default deny')}")
    inp = nft.Chain("input", type="filter", hook="input", priority=0, policy="drop", rules=[
        'iifname "lo" accept',
        "ct state established,related accept",
        f"icmp type echo-request limit rate 10/second counter accept {nft.comment('gateway ping')}",
    ])
    return [nft.Table("lgwan", chains=[forward, inp])]
