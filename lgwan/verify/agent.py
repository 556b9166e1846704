"""The probe agent: one per source node, for the whole verification run.

The runner imports scapy once and forks one agent per source node (``fork_agent``); the child
enters the node's network namespace and reloads scapy's view of interfaces and routes there.
(``python3 -m lgwan.verify.agent`` runs the same loop as a separate process inside a node.)

Reads one JSON request per line on stdin: ``{"id": …, "probe": {…}, "pcap": path|null}``,
runs the probe (lgwan.probe.run_one) and writes ``{"id": …, "result": {…}}``. With ``pcap``
it records the probe's packets on every interface of the node into that file. Importing scapy
costs about a second, so one long-lived agent per node makes a run of hundreds of probes fast.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

#: probes one agent runs at once (each waits mostly for answers, not for the CPU)
CONCURRENCY = 32


def handle(req: dict, sc) -> dict:
    from lgwan import probe
    from lgwan.verify import raw

    try:
        sniffer = None
        if req.get("pcap"):
            dst = req["probe"].get("dst")
            sniffer = sc.AsyncSniffer(iface=[i for i in sc.get_if_list() if i != "lo"],
                                      filter=f"host {dst} or vlan or esp or udp port 4500" if dst else None)
            sniffer.start()
            time.sleep(0.2)
        if req["probe"]["kind"] in raw.KINDS:
            result = raw.run(req["probe"], sc)
        else:
            result = probe.run_one(req["probe"])
        if sniffer is not None:
            time.sleep(0.3)
            packets = sniffer.stop()
            sc.wrpcap(req["pcap"], packets or [])
            result["pcap_packets"] = len(packets or [])
    except Exception as exc:  # report, don't die: the other probes still run
        result = {"probe": req["probe"], "answered": False, "error": f"{type(exc).__name__}: {exc}",
                  "detail": traceback.format_exc(limit=2)}
    return result


def serve(sc, reader, writer) -> None:
    """Answer requests from ``reader`` (lines of JSON) on ``writer`` until ``reader`` closes."""
    out_lock = threading.Lock()

    def reply(req: dict) -> None:
        result = handle(req, sc)
        with out_lock:
            writer.write(json.dumps({"id": req["id"], "result": result}) + "\n")
            writer.flush()

    writer.write(json.dumps({"ready": True}) + "\n")
    writer.flush()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for line in reader:
            if not line.strip():
                continue
            req = json.loads(line)
            if req.get("quit"):  # sibling agents hold copies of our pipe: EOF may never come
                break
            pool.submit(reply, req)


def fork_agent(namespace: str, log: str | None = None):
    """Fork an agent into ``namespace``; returns (pid, to_agent, from_agent) text files.

    Call from a single-threaded parent that has imported scapy (lgwan.probe._scapy())."""
    import os

    from lgwan import probe

    sc = probe._scapy()
    req_r, req_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the agent
        code = 0
        try:
            os.close(req_w)
            os.close(res_r)
            if log:  # scapy's own thread noise goes to the run's log, not the user's terminal
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                os.dup2(fd, 2)
                os.close(fd)
            from pyroute2 import netns

            netns.setns(namespace, flags=0)
            sc.conf.ifaces.reload()
            sc.conf.route.resync()
            serve(sc, os.fdopen(req_r, "r"), os.fdopen(res_w, "w"))
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    os.close(req_r)
    os.close(res_w)
    return pid, os.fdopen(req_w, "w"), os.fdopen(res_r, "r")


def main() -> int:
    from lgwan import probe

    serve(probe._scapy(), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
