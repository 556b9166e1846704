"""Time ``lgwan verify`` as the lab grows: cases, probes per second, wall time.

    sudo .venv/bin/python -m bench.verify [--sizes 1,3,10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from lgwan.compiler import compile_plan
from lgwan.runtime import netns
from lgwan.topology import load_topology
from lgwan.verify.cases import build_cases
from lgwan.verify.runner import Runner

from .topologies import generate


def measure(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / f"bv{n}.yml"
        f.write_text(generate(n, lab=f"bv{n}"))
        topo = load_topology(f)
        plan = compile_plan(topo, topology_file=str(f))
        netns.deploy(plan)
        try:
            cases = build_cases(plan, topo)
            t = time.monotonic()
            runner = Runner(plan)
            runner.start(cases)
            started = time.monotonic() - t
            results = runner.run(cases)
            wall = time.monotonic() - t
        finally:
            netns.destroy(plan.lab)
    return {"n": n, "cases": len(cases), "sources": len({c.source for c in cases}), "agents_s": started,
            "wall": wall, "failed": sum(not r.passed for r in results),
            "allowed": sum(bool(c.expect_answer) for c in cases)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1,3,10")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/verify.py deploys namespaces: run it as root")
    rows = [measure(int(n)) for n in args.sizes.split(",")]
    print(f"{'munis':>5} {'cases':>5} {'allowed':>7} {'sources':>7} {'agents s':>8} {'verify s':>8} "
          f"{'probes/s':>8} {'failed':>6}")
    for r in rows:
        print(f"{r['n']:>5} {r['cases']:>5} {r['allowed']:>7} {r['sources']:>7} {r['agents_s']:>8.2f} "
              f"{r['wall']:>8.2f} {r['cases'] / r['wall']:>8.1f} {r['failed']:>6}")


if __name__ == "__main__":
    main()
