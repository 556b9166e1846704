"""Relay-router benchmark: IPsec tunnel set-up time as the number of municipalities grows, and
throughput through one tunnel (iperf3), naming the IPsec backend and OVS datapath measured.

    sudo .venv/bin/python -m bench.relay [--sizes 1,5,10] [--seconds 5]

Set-up time of a tunnel = from loading the LGWAN router's connection over VICI
(``start_action = start`` initiates it) until its CHILD_SA is INSTALLED; all municipalities are
brought up concurrently, so the table shows the median and the slowest. Throughput: iperf3 from
the first municipality's LGWAN router to its first cloud system's service address (ESP in both
charons, NAT in the virtual router, two OVS switches), and the same path without IPsec
(virtual router → cloud system) as a baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from lgwan.compiler import compile_plan
from lgwan.compiler.lgwan import lgr_name
from lgwan.runtime import netns
from lgwan.runtime.state import LabState
from lgwan.topology import cloud_service_address, load_topology
from relay_router.compile import system_name, vrf_name

from .topologies import generate


def setup_times(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / f"relay{n}.yml"
        f.write_text(generate(n, lab=f"brelay{n}"))
        plan = compile_plan(load_topology(f), topology_file=str(f))
        report = netns.deploy(plan)
        t = time.monotonic()
        netns.destroy(plan.lab)
        down = time.monotonic() - t
    times = sorted(report.tunnels.values())
    return {"n": n, "nodes": len(plan.nodes), "up": report.seconds, "down": down,
            "tunnels_step": report.steps.get("tunnels", 0.0), "median": statistics.median(times),
            "max": times[-1], "backends": report.backends}


def iperf(plan, server: str, client: str, dst: str, seconds: int) -> float:
    """Mbit/s received, iperf3 client in ``client`` to a one-off server in ``server``."""
    srv = subprocess.Popen(["ip", "netns", "exec", plan.namespace(server), "iperf3", "-s", "-1", "-p", "5201"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ, "LGWAN_LAB": plan.lab})
    try:
        time.sleep(0.5)
        out = subprocess.run(["ip", "netns", "exec", plan.namespace(client), "iperf3", "-c", dst, "-p", "5201",
                              "-t", str(seconds), "-J"], capture_output=True, text=True, timeout=seconds + 30)
        data = json.loads(out.stdout)
        if "error" in data:
            raise RuntimeError(data["error"])
        return data["end"]["sum_received"]["bits_per_second"] / 1e6
    finally:
        srv.kill()
        srv.wait()


def throughput(seconds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "tput.yml"
        f.write_text(generate(1, lab="brelaytput"))
        topo = load_topology(f)
        plan = compile_plan(topo, topology_file=str(f))
        try:
            report = netns.deploy(plan)
            m = topo.prefectures[0].municipalities[0]
            system = m.cloud.systems[0]
            tunnel = iperf(plan, system_name(m, system), lgr_name(m), cloud_service_address(topo, 0), seconds)
            plain = iperf(plan, system_name(m, system), vrf_name(m), system.address, seconds)
            meta = LabState(plan.lab).meta()
        finally:
            netns.destroy(plan.lab)
    return {"tunnel": tunnel, "plain": plain, "backends": meta.get("backends", report.backends)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1,5,10")
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench/relay.py deploys namespaces: run it as root")
    rows = [setup_times(int(n)) for n in args.sizes.split(",")]
    b = rows[0]["backends"]
    print(f"IPsec backend: {b['ipsec']} ({b.get('ipsec_reason', '')}); OVS datapath: {b['ovs_datapath']}")
    print(f"{'munis':>5} {'nodes':>5} {'up s':>6} {'down s':>6} {'tunnels s':>9} {'setup median s':>14} {'setup max s':>11}")
    for r in rows:
        print(f"{r['n']:>5} {r['nodes']:>5} {r['up']:>6.2f} {r['down']:>6.2f} {r['tunnels_step']:>9.2f} "
              f"{r['median']:>14.3f} {r['max']:>11.3f}")
    t = throughput(args.seconds)
    print(f"throughput, one tunnel (iperf3 {args.seconds}s, LGWAN router -> cloud system, backend "
          f"{t['backends']['ipsec']}): {t['tunnel']:.0f} Mbit/s; same path without IPsec "
          f"(virtual router -> cloud system): {t['plain']:.0f} Mbit/s")


if __name__ == "__main__":
    main()
