"""Run verification cases: probe agents in the source nodes, bounded concurrency, honest timeouts.

- One agent process per source node (scapy imported once per node, not once per probe).
- Probes from different nodes run in parallel, and each agent runs several probes at once.
- An expected-answer case that got no answer is tried again with a longer timeout before it is
  called a failure, so a slow allowed flow on a loaded machine is not reported as "denied".
- Every failing probe case is run once more with a packet capture; the pcap is its evidence.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..plan import Plan
from ..runtime.state import LabState
from .agent import fork_agent
from .model import GROUPS, Case, CheckContext, Result

FIRST_TIMEOUT = 1.0
RETRY_TIMEOUT = 3.0


class Agent:
    """A probe agent inside one node (forked, see agent.fork_agent); thread-safe request/response."""

    def __init__(self, plan: Plan, node: str, log_dir: Path):
        self.node = node
        log_dir.mkdir(parents=True, exist_ok=True)
        self.pid, self._to, self._from = fork_agent(plan.namespace(node), str(log_dir / f"agent-{node}.log"))
        self._lock = threading.Lock()
        self._waiting: dict[int, Future] = {}
        self._next = 0
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._from:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if msg.get("ready"):
                self._ready.set()
                continue
            fut = self._waiting.pop(msg["id"], None)
            if fut is not None:
                fut.set_result(msg["result"])
        self._ready.set()
        for fut in list(self._waiting.values()):
            if not fut.done():
                fut.set_exception(RuntimeError(f"probe agent in {self.node} exited"))

    def probe(self, probe: dict[str, Any], pcap: str | None = None) -> dict[str, Any]:
        fut: Future = Future()
        with self._lock:
            self._next += 1
            rid = self._next
            self._waiting[rid] = fut
            self._to.write(json.dumps({"id": rid, "probe": probe, "pcap": pcap}) + "\n")
            self._to.flush()
        timeout = float(probe.get("timeout", FIRST_TIMEOUT)) * (1 + int(probe.get("retry", 1))) + 60
        return fut.result(timeout=timeout)

    def close(self) -> None:
        try:
            with self._lock:
                self._to.write('{"quit": true}\n')
                self._to.flush()
            self._to.close()
        except OSError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG) != (0, 0):
                return
            time.sleep(0.01)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:120]


class Runner:
    def __init__(self, plan: Plan, workers: int = 128, capture: bool = True):
        self.plan = plan
        self.workers = workers
        self.capture = capture
        self.agents: dict[str, Agent] = {}
        self._agents_lock = threading.Lock()
        self.pcap_dir = LabState(plan.lab).dir / "verify"

    def agent(self, node: str) -> Agent:
        with self._agents_lock:
            if node not in self.agents:
                self.agents[node] = Agent(self.plan, node, self.pcap_dir)
            return self.agents[node]

    def probe(self, node: str, probe: dict[str, Any], pcap_name: str | None = None) -> dict[str, Any]:
        pcap = None
        if pcap_name:
            self.pcap_dir.mkdir(parents=True, exist_ok=True)
            pcap = str(self.pcap_dir / pcap_name)
        return self.agent(node).probe(probe, pcap)

    def run_case(self, case: Case) -> Result:
        t0 = time.monotonic()
        if case.check is not None:
            try:
                passed, observed, evidence = case.check(CheckContext(self.plan, self.probe, self.pcap_dir))
            except Exception as exc:
                passed, observed, evidence = False, f"check failed to run: {type(exc).__name__}: {exc}", {}
            return Result(case, passed, observed, time.monotonic() - t0, evidence)
        probe = dict(case.probe)
        probe.setdefault("timeout", FIRST_TIMEOUT)
        res = self.probe(case.source, probe)
        if case.expect_answer and not res.get("answered"):
            # slow is not denied: once more with a longer timeout
            res = self.probe(case.source, {**probe, "timeout": RETRY_TIMEOUT})
        passed = bool(res.get("answered")) == case.expect_answer
        detail = str(res.get("detail", ""))
        observed = ("answered: " + detail) if res.get("answered") else \
            ("no answer" if detail in ("", "no answer") else f"no answer: {detail}")
        if res.get("error"):
            passed, observed = False, f"probe error: {res['error']}"
        evidence: dict[str, Any] = {"probe_result": {k: v for k, v in res.items() if k != "probe"}}
        if not passed and self.capture:
            name = _slug(case.id) + ".pcap"
            again = self.probe(case.source, probe, pcap_name=name)
            evidence["pcap"] = str(self.pcap_dir / name)
            evidence["pcap_packets"] = again.get("pcap_packets")
        return Result(case, passed, observed, time.monotonic() - t0, evidence)

    def start(self, cases: list[Case]) -> None:
        """Fork the agents of every source node (before any thread starts: fork and threads don't mix)."""
        for node in sorted({c.source for c in cases if c.source} | {n for c in cases for n in c.nodes}):
            self.agent(node)
        for a in self.agents.values():
            a._ready.wait(30)

    def run(self, cases: list[Case], on_result=None) -> list[Result]:
        """Run the cases group by group (matrix, wire, attack), each group concurrently; the
        exclusive cases last, one at a time. Results come back in the order of ``cases``."""
        results: dict[int, Result] = {}
        phases = [[i for i, c in enumerate(cases) if c.group == g and not c.exclusive] for g in GROUPS]
        phases += [[i] for i, c in enumerate(cases) if c.exclusive]
        try:
            self.start(cases)
            with ThreadPoolExecutor(self.workers) as pool:
                for phase in phases:
                    futures = {pool.submit(self.run_case, cases[i]): i for i in phase}
                    for fut, i in futures.items():
                        results[i] = fut.result()
                        if on_result:
                            on_result(results[i])
        finally:
            for a in self.agents.values():
                a.close()
        return [results[i] for i in sorted(results)]

