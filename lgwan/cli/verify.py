from __future__ import annotations

import time
from pathlib import Path

import typer

from ..errors import LabStateError
from ..topology import load_topology
from ..verify import report
from ..verify.cases import build_cases
from ..verify.runner import Runner
from .common import console, require_root, running_plan


def verify(lab: str = typer.Option(None, "--lab"),
           json_file: Path = typer.Option(None, "--json", help="write the results as JSON"),
           junit_file: Path = typer.Option(None, "--junit", help="write JUnit XML (for CI systems)"),
           html_file: Path = typer.Option(None, "--html", help="write a self-contained HTML report"),
           only: list[str] = typer.Option(None, "--only", help="run only this rule (e.g. 'row 8', 'wire'); repeatable"),
           from_: list[str] = typer.Option(None, "--from", help="run only probes sent from this node; repeatable"),
           workers: int = typer.Option(128, "--workers", help="probes in flight at once"),
           verbose: bool = typer.Option(False, "--verbose", "-v", help="list every case, not only the failing ones"),
           quiet: bool = typer.Option(False, "--quiet", "-q", help="list only failing cases (the default)")) -> None:
    """Prove the lab's isolation rules with real packets. Exit 0 all pass, 1 a failure, 2 nothing to test."""
    require_root("verify")
    plan = running_plan(lab)
    topo = load_topology(plan.topology_file)
    cases = build_cases(plan, topo, only, from_)
    if not cases:
        console.print("nothing to test (check --only / --from)")
        raise typer.Exit(2)
    unknown = set(from_ or []) - set(plan.nodes)
    if unknown:
        raise LabStateError(f"no node {', '.join(sorted(unknown))} in lab '{plan.lab}'")
    t0 = time.monotonic()
    runner = Runner(plan, workers=workers)
    runner.start(cases)  # forks the probe agents: before the spinner's thread exists
    with console.status(f"probing {len(cases)} cases …"):
        results = runner.run(cases)
    wall = time.monotonic() - t0
    meta = {"lab": plan.lab, "model": plan.model, "topology_file": plan.topology_file,
            "municipalities": {n.name: n.municipality for n in plan.nodes.values() if n.municipality},
            "topology_text": Path(plan.topology_file).read_text() if Path(plan.topology_file).exists() else ""}
    report.print_terminal(results, meta, wall, console, show_passed=verbose and not quiet)
    for path, render in ((json_file, report.to_json), (junit_file, report.to_junit), (html_file, report.to_html)):
        if path is not None:
            path.write_text(render(results, meta, wall))
            console.print(f"wrote {path}")
    raise typer.Exit(0 if all(r.passed for r in results) else 1)
