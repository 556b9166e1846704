"""Security-model policy files: ``policies/<model>.yml``, validated, with located errors.

A policy is an ordered list of rules; the first rule that matches a flow decides, and a flow no
rule matches is denied (default deny). Every rule names the row of the policy matrix in
``docs/domain.md`` it implements (``ref: row 8``). The same file drives the nftables rules of
the firewalls (``compiler/firewall.py``) and the expected verdicts (``expect.py``).

A rule::

    - ref: row 8
      what: lgwan terminal -> virtual browser, screen-transfer port only   # free text
      from: {zone: lgwan, role: terminal}
      to: {zone: internet, role: virtual_browser, offers: screen}
      ports: services          # the ports of the selected services (here: "screen", tcp/3389)
      action: allow

``from`` / ``to`` are selectors; each names exactly one kind of place:

=================  ======================================================================
``zone: Z``        hosts of the municipality's segment Z (``number_use``, ``lgwan``,
                   ``internet`` or ``any``); narrowed by ``role``, ``host`` (a host name) and
                   ``offers`` (hosts offering a service of that name). In ``to`` it means the
                   *same* municipality as the source.
``cloud: Z``       (``to`` only) the municipality's Government Cloud systems of zone Z
                   (``number_use``, ``lgwan``, ``any``); ``tenant: other`` means another
                   municipality's tenant instead of its own.
``lgwan: X``       the LGWAN backbone: ``asp`` (LGWAN-ASP services), ``municipalities`` (other
                   municipalities: in ``to`` their published lgwan servers at their LGWAN global
                   addresses, in ``from`` their lgwan segments, seen at the LGWAN address they
                   are SNATed to) or ``any``.
``service: S``     a lab service outside the segments: ``proxy`` (the prefecture's security
                   cloud proxy) or ``sanitizer`` (the municipality's sanitizer).
``internet: any``  any host on the internet.
``fqdn: NAME``     (``to`` only) the internet service with that name, enforced by name: the
                   firewall resolves it for the segment and lets through only the addresses
                   its DNS answers carried (α′ local breakout).
``any``            (the plain word instead of a mapping) anything.
=================  ======================================================================

``proto`` (``tcp``, ``udp``, ``icmp``; left out: any) and ``ports`` (a list, or ``services``
for the destination's own service ports; left out: any port) narrow the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, ValidationError,
                      model_validator)

from .errors import LabInputError, Problem
from .model import MODELS, Port, Topology
from .source import Source, load_yaml

#: rows of the reference policy matrix (docs/domain.md)
MATRIX_ROWS = range(1, 14)
REF_RE = re.compile(r"^row (\d+)$")


def _ref(value: object) -> str:
    if not isinstance(value, str) or not REF_RE.match(value):
        raise ValueError(f"{value!r} is not a matrix reference such as 'row 8'")
    n = int(REF_RE.match(value).group(1))
    if n not in MATRIX_ROWS:
        raise ValueError(f"'{value}': the policy matrix has rows 1-{MATRIX_ROWS[-1]}")
    return value


Ref = Annotated[str, BeforeValidator(_ref)]

KINDS = ("zone", "cloud", "lgwan", "service", "internet", "fqdn", "any")
ZONE_ONLY = ("role", "host", "offers")


def _selector(value: object) -> object:
    if isinstance(value, str):
        if value == "any":
            return {"any": True}
        raise ValueError(f"'{value}' is not a selector (a mapping such as {{zone: lgwan}}, or 'any')")
    return value


class Selector(BaseModel):
    """Where a flow starts or ends (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    zone: Literal["number_use", "lgwan", "internet", "any"] | None = None
    role: Literal["terminal", "server", "virtual_browser"] | None = None
    host: str | None = None
    offers: str | None = None
    cloud: Literal["number_use", "lgwan", "any"] | None = None
    tenant: Literal["own", "other"] | None = None
    lgwan: Literal["asp", "municipalities", "any"] | None = None
    service: Literal["proxy", "sanitizer"] | None = None
    internet: Literal["any"] | None = None
    fqdn: str | None = None
    any: Literal[True] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Selector":
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(KINDS[:-1])} (got {', '.join(given) or 'none'})")
        if self.zone is None and any(getattr(self, k) is not None for k in ZONE_ONLY):
            raise ValueError(f"{'/'.join(ZONE_ONLY)} narrow a 'zone' selector only")
        if self.tenant is not None and self.cloud is None:
            raise ValueError("'tenant' goes with 'cloud' only")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    def describe(self) -> str:
        if self.kind == "any":
            return "any"
        parts = [f"{k}={getattr(self, k)}" for k in (*KINDS, *ZONE_ONLY, "tenant") if getattr(self, k) is not None]
        return "{" + ", ".join(parts) + "}"


SelectorT = Annotated[Selector, BeforeValidator(_selector)]
# a port list or the word "services"; the tags keep pydantic from reporting both alternatives
# (tags with "[" are dropped from error locations, see topology._pydantic_problems)
PortsT = Annotated[
    Annotated[list[Port], Tag("list[port]")] | Annotated[Literal["services"], Tag("Literal[services]")],
    Discriminator(lambda v: "Literal[services]" if isinstance(v, str) else "list[port]"),
]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: Ref
    what: str | None = None
    from_: SelectorT = Field(alias="from")
    to: SelectorT
    proto: Literal["tcp", "udp", "icmp"] | None = None
    ports: PortsT | None = None
    action: Literal["allow", "deny"]

    @model_validator(mode="after")
    def _check(self) -> "Rule":
        if isinstance(self.ports, list):
            if self.proto not in ("tcp", "udp"):
                raise ValueError("a port list needs 'proto: tcp' or 'proto: udp'")
            if not self.ports:
                raise ValueError("'ports' is empty (leave it out for any port)")
        if self.proto == "icmp" and self.ports is not None:
            raise ValueError("icmp has no ports")
        if self.from_.kind in ("cloud", "fqdn"):
            raise ValueError(f"'{self.from_.kind}' can only be a destination ('to')")
        if self.ports == "services" and self.to.kind in ("any", "internet"):
            raise ValueError(f"'ports: services' needs a destination with services (not {self.to.describe()})")
        return self

    def summary(self) -> str:
        what = f"{self.proto or 'any'}"
        if self.ports == "services":
            what += " services"
        elif self.ports:
            what += "/" + ",".join(str(p) for p in self.ports)
        return f"{self.ref}: {self.action} {self.from_.describe()} -> {self.to.describe()} {what}"


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal["alpha", "beta", "beta_prime", "alpha_prime"]
    title: str | None = None
    rules: list[Rule]


@dataclass
class LoadedPolicy:
    """A validated policy with the file it came from (for located messages)."""

    policy: Policy
    source: Source

    @property
    def model(self) -> str:
        return self.policy.model

    @property
    def rules(self) -> list[Rule]:
        return self.policy.rules

    def line(self, index: int) -> int | None:
        return self.source.line(("rules", index))


def policies_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "policies"


def policy_path(model: str) -> Path:
    return policies_dir() / f"{model}.yml"


def parse_policy(data: Any, src: Source) -> Policy:
    from .topology import _pydantic_problems  # the same messages as for topology files

    if not isinstance(data, dict):
        raise src.error((), "a policy file must be a mapping with 'model' and 'rules'")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc, src)
        # the rule field is called 'from' in the file
        problems = [Problem(p.file, p.line, p.path.replace(".from_", ".from"), p.message) for p in problems]
        raise LabInputError(_dedupe(problems)) from None


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        # a union selector reports one problem per member; keep the most specific one per place
        key = (p.line, p.path)
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out


def load_policy(path: str | Path, topo: Topology | None = None, text: str | None = None,
                model: str | None = None) -> LoadedPolicy:
    """Load and validate a policy file; with ``topo``, also check the names it uses exist."""
    data, src = load_yaml(path, text)
    policy = parse_policy(data, src)
    problems: list[Problem] = []
    if model is not None and policy.model != model:
        problems.append(src.problem(("model",), f"this file is for model '{policy.model}', not '{model}'"))
    if topo is not None:
        problems += _check_names(policy, topo, src)
    if problems:
        raise LabInputError(problems)
    return LoadedPolicy(policy, src)


def load_model_policy(model: str, topo: Topology | None = None) -> LoadedPolicy:
    if model not in MODELS:
        raise LabInputError([Problem("--model", None, "", f"'{model}' is not one of: {', '.join(MODELS)}")])
    return load_policy(policy_path(model), topo, model=model)


def _check_names(policy: Policy, topo: Topology, src: Source) -> list[Problem]:
    """Names in selectors must exist in the topology (a typo must not silently match nothing)."""
    problems = []
    fqdns = {s.fqdn: s for s in topo.internet.services}
    hosts, offers = set(), set()
    for _, m in topo.municipalities():
        for zone in ("number_use", "lgwan", "internet"):
            for h in getattr(m.segments, zone).hosts:
                hosts.add(h.name)
                offers |= {s.name for s in h.services}
    for i, r in enumerate(policy.rules):
        for side, sel in (("from", r.from_), ("to", r.to)):
            here = ("rules", i, side)
            if sel.fqdn is not None and sel.fqdn not in fqdns:
                problems.append(src.problem(here + ("fqdn",),
                                            f"no internet service is named '{sel.fqdn}' "
                                            f"(known: {', '.join(sorted(fqdns))})"))
            elif sel.fqdn is not None and r.action == "allow" and not fqdns[sel.fqdn].allow_listed:
                problems.append(src.problem(here + ("fqdn",),
                                            f"'{sel.fqdn}' is not allow-listed in the topology "
                                            "(internet.services[].allow_listed)"))
            if sel.host is not None and sel.host not in hosts:
                problems.append(src.problem(here + ("host",), f"no segment host is named '{sel.host}'"))
            if sel.offers is not None and sel.offers not in offers:
                problems.append(src.problem(here + ("offers",), f"no segment host offers a service named '{sel.offers}'"))
    return problems
