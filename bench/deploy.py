"""Deploy and tear down labs of growing size; print how the cost grows.

    sudo .venv/bin/python -m bench.deploy [--sizes 1,5,20] [--repeat 1]

Each row: municipalities, nodes, links, daemons, seconds for up (with the slowest steps) and down.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from lgwan.compiler import compile_plan
from lgwan.runtime import netns
from lgwan.topology import load_topology

from .topologies import generate


def measure(n: int, repeat: int) -> dict:
    ups, downs, steps = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / f"bench{n}.yml"
        f.write_text(generate(n, lab=f"bench{n}"))
        t = time.monotonic()
        plan = compile_plan(load_topology(f), topology_file=str(f))
        compile_s = time.monotonic() - t
        for _ in range(repeat):
            report = netns.deploy(plan)
            t = time.monotonic()
            netns.destroy(plan.lab)
            downs.append(time.monotonic() - t)
            ups.append(report.seconds)
            for k, v in report.steps.items():
                steps.setdefault(k, []).append(v)
    return {"n": n, "nodes": len(plan.nodes), "links": len(plan.links), "daemons": report.daemons,
            "compile": compile_s, "up": statistics.median(ups), "down": statistics.median(downs),
            "down_max": max(downs),
            "steps": {k: statistics.median(v) for k, v in steps.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1,5,20")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/deploy.py deploys namespaces: run it as root")
    rows = [measure(int(n), args.repeat) for n in args.sizes.split(",")]
    print(f"{'munis':>5} {'nodes':>5} {'links':>5} {'daemons':>7} {'compile s':>9} {'up s':>6} "
          f"{'down s':>6} {'max':>5} {'up ms/node':>10}  slowest up steps")
    for r in rows:
        slow = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["steps"].items(), key=lambda kv: -kv[1])[:3])
        print(f"{r['n']:>5} {r['nodes']:>5} {r['links']:>5} {r['daemons']:>7} {r['compile']:>9.3f} "
              f"{r['up']:>6.2f} {r['down']:>6.2f} {r['down_max']:>5.2f} {1000 * r['up'] / r['nodes']:>10.1f}  {slow}")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"growth {a['n']}->{b['n']} municipalities: up x{b['up'] / a['up']:.1f}, "
              f"down x{b['down'] / a['down']:.1f}, nodes x{b['nodes'] / a['nodes']:.1f}")


if __name__ == "__main__":
    main()
