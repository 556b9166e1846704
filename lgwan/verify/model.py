"""What a verification run is made of: cases, and their results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

GROUPS = ("matrix", "wire", "attack")


@dataclass
class Case:
    """One claim about the lab, and how to test it on the wire.

    A *probe case* has ``source`` and ``probe``: the probe is sent from inside ``source`` and the
    case passes when "answered" equals ``expect_answer``. A *check case* has ``check`` instead:
    a function that does its own packet work and returns (passed, observed, evidence).
    """

    id: str
    ref: str  # the matrix row or guideline rule it proves, e.g. "row 8"
    group: str  # "matrix", "wire" or "attack"
    title: str  # one sentence for a reviewer
    source: str | None = None
    destination: str = ""
    probe: dict[str, Any] | None = None
    expect_answer: bool | None = None
    check: Callable[["CheckContext"], tuple[bool, str, dict[str, Any]]] | None = None
    #: run alone, after every other case (for checks that disturb the lab, e.g. kill a daemon)
    exclusive: bool = False
    #: nodes a check case sends probes from or sniffs in (their agents are forked up front)
    nodes: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        if self.check is not None:
            return "holds"
        return "answered" if self.expect_answer else "no answer"


@dataclass
class Result:
    case: Case
    passed: bool
    observed: str
    seconds: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        c = self.case
        return {"id": c.id, "ref": c.ref, "group": c.group, "title": c.title, "source": c.source,
                "destination": c.destination, "probe": c.probe, "expected": c.expected,
                "observed": self.observed, "passed": self.passed, "seconds": round(self.seconds, 3),
                "evidence": self.evidence}


@dataclass
class CheckContext:
    """What a check case may use: the plan, and a way to send probes through the agents."""

    plan: Any
    probe: Callable[[str, dict[str, Any]], dict[str, Any]]  # (node, probe) -> result
    pcap_dir: Any = None
