"""Render nftables rulesets.

A ruleset is a list of ``Table``; each chain holds rule statements in nft syntax, built by the
compiler with the small helpers below. The rendered file replaces the node's tables atomically:
for each table it first declares it (so the delete cannot fail), deletes it, and defines it
again, all in one ``nft -f`` transaction, so there is never a moment with no rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Chain:
    name: str
    rules: list[str] = field(default_factory=list)
    type: str | None = None  # "filter", "nat"
    hook: str | None = None  # "forward", "input", "output", "prerouting", "postrouting"
    priority: int | str | None = None
    policy: str | None = None  # "drop" or "accept"


@dataclass
class NftSet:
    name: str
    type: str  # "ipv4_addr"
    elements: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # "interval", "timeout"
    timeout: str | None = None


@dataclass
class Table:
    name: str
    family: str = "inet"
    chains: list[Chain] = field(default_factory=list)
    sets: list[NftSet] = field(default_factory=list)


def comment(text: str) -> str:
    safe = text.replace('"', "'")
    return f'comment "{safe}"'


def addr_set(addrs: list[str]) -> str:
    return addrs[0] if len(addrs) == 1 else "{ " + ", ".join(addrs) + " }"


def port_set(ports: list[int]) -> str:
    return str(ports[0]) if len(ports) == 1 else "{ " + ", ".join(str(p) for p in ports) + " }"


def match(*, iif: str | list[str] | None = None, oif: str | list[str] | None = None,
          saddr: list[str] | None = None, daddr: list[str] | None = None,
          proto: str | None = None, dports: list[int] | None = None) -> str:
    """Build the match part of a rule: ``iifname "nu0" ip daddr 10.1.20.0/24 tcp dport 3389``."""
    parts = []
    for key, val in (("iifname", iif), ("oifname", oif)):
        if val:
            names = [val] if isinstance(val, str) else val
            quoted = [f'"{n}"' for n in names]
            parts.append(f"{key} {quoted[0] if len(quoted) == 1 else '{ ' + ', '.join(quoted) + ' }'}")
    if saddr:
        parts.append(f"ip saddr {addr_set(saddr)}")
    if daddr:
        parts.append(f"ip daddr {addr_set(daddr)}")
    if proto in ("tcp", "udp"):
        parts.append(f"{proto} dport {port_set(dports)}" if dports else f"meta l4proto {proto}")
    elif proto == "icmp":
        parts.append("icmp type echo-request" if dports is None else "meta l4proto icmp")
    return " ".join(parts)


def _render_set(s: NftSet, indent: str) -> list[str]:
    out = [f"{indent}set {s.name} {{", f"{indent}\ttype {s.type}"]
    if s.flags:
        out.append(f"{indent}\tflags {', '.join(s.flags)}")
    if s.timeout:
        out.append(f"{indent}\ttimeout {s.timeout}")
    if s.elements:
        out.append(f"{indent}\telements = {{ {', '.join(s.elements)} }}")
    out.append(f"{indent}}}")
    return out


def render(tables: list[Table], header: str = "") -> str:
    lines = ["#!/usr/sbin/nft -f"]
    if header:
        lines += [f"# {h}" if h else "#" for h in header.splitlines()]
    for t in tables:
        lines += [f"table {t.family} {t.name} {{}}", f"delete table {t.family} {t.name}",
                  f"table {t.family} {t.name} {{"]
        for s in t.sets:
            lines += _render_set(s, "\t")
        for c in t.chains:
            lines.append(f"\tchain {c.name} {{")
            if c.type:
                pol = f" policy {c.policy};" if c.policy else ""
                lines.append(f"\t\ttype {c.type} hook {c.hook} priority {c.priority};{pol}")
            lines += [f"\t\t{r}" for r in c.rules]
            lines.append("\t}")
        lines.append("}")
    return "\n".join(lines) + "\n"
