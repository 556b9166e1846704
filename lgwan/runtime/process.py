"""Run commands and daemons inside a node: its network namespace, plus a private mount
namespace in which the node's directory is mounted on /run (so each charon, dnsmasq or
ovsdb has its own /run/*.pid and sockets)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..plan import NODE_DIR, Daemon
from ..render.startup import daemon_argv, node_env

#: the mount step every in-node command goes through; $0 is the node directory
_MOUNT = 'mount --bind "$0" ' + NODE_DIR + ' && exec "$@"'


def in_node(namespace: str, node_dir: Path, argv: list[str]) -> list[str]:
    """The command line that runs argv inside the node (netns + private /run)."""
    argv = daemon_argv(argv, sys.executable)
    return ["ip", "netns", "exec", namespace, "unshare", "--mount", "--propagation", "private",
            "sh", "-c", _MOUNT, str(node_dir), *argv]


def lab_env(lab: str, node: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra or {})
    env.update(node_env(lab, node))
    # the lab's own python package must be importable inside nodes
    pkg_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_in_node(lab: str, namespace: str, node: str, node_dir: Path, argv: list[str],
                timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(in_node(namespace, node_dir, argv), env=lab_env(lab, node),
                          capture_output=True, text=True, timeout=timeout, check=check)


def start_daemon(lab: str, namespace: str, node: str, node_dir: Path, daemon: Daemon) -> int:
    log = open(node_dir / f"{daemon.name}.log", "ab")
    proc = subprocess.Popen(
        in_node(namespace, node_dir, daemon.argv),
        env=lab_env(lab, node, daemon.env),
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    (node_dir / f"{daemon.name}.pid").write_text(str(proc.pid))
    return proc.pid


def _listening(pid: int, proto: str, port: int) -> bool:
    hexport = f":{port:04X}"
    try:
        lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        if fields[1].endswith(hexport) and (proto == "udp" or fields[3] == "0A"):
            return True
    return False


def _accepts(path: Path) -> bool:
    """A unix socket someone listens on (the file alone can be left by a dead daemon)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_ready(pid: int, node_dir: Path, daemon: Daemon, timeout: float = 20) -> None:
    """Wait until the daemon is up, or raise RuntimeError with its log's tail."""
    if daemon.ready is None:
        return
    kind, _, arg = daemon.ready.partition(":")
    deadline = time.monotonic() + timeout
    delay = 0.005
    while time.monotonic() < deadline:
        if not alive(pid):
            break
        if kind in ("tcp", "udp") and _listening(pid, kind, int(arg)):
            return
        if kind == "file" and (node_dir / arg.removeprefix(NODE_DIR + "/")).exists():
            return
        if kind == "unix" and _accepts(node_dir / arg.removeprefix(NODE_DIR + "/")):
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    tail = ""
    try:
        tail = (node_dir / f"{daemon.name}.log").read_text(errors="replace")[-800:]
    except OSError:
        pass
    state = "exited" if not alive(pid) else f"not ready after {timeout:.0f}s"
    raise RuntimeError(f"{daemon.name} in {node_dir.name} {state}: {tail.strip()}")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def lab_processes(lab: str, namespaces: list[str]) -> set[int]:
    """Every process of a lab: inside its namespaces, or carrying LGWAN_LAB=<lab>."""
    pids: set[int] = set()
    ns_inodes = set()
    for ns in namespaces:
        try:
            ns_inodes.add(os.stat(f"/run/netns/{ns}").st_ino)
        except OSError:
            pass
    me = os.getpid()
    needle = f"LGWAN_LAB={lab}\0".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        try:
            if ns_inodes and os.stat(f"/proc/{pid}/ns/net").st_ino in ns_inodes:
                pids.add(pid)
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read() + b"\0":
                    pids.add(pid)
        except OSError:
            continue
    return pids


#: daemons that get a short grace after SIGTERM before SIGKILL, by process name (comm). charon
#: (strongSwan) now and then never finishes its SIGTERM shutdown: its main thread spins while
#: tearing down its worker threads (seen on the LGWAN routers, the IKE initiators, about one
#: teardown in ten), and a second SIGTERM does not help. It keeps nothing worth a clean exit here:
#: its SAs live in its own memory (kernel-libipsec) or in the namespace's xfrm state, both gone
#: with the node.
SHORT_GRACE = {"charon": 0.3}


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def kill_all(pids: set[int], timeout: float = 3.0) -> None:
    """SIGTERM every process, SIGKILL what is left after its grace (``timeout``, or the shorter
    ``SHORT_GRACE`` of known daemons), then wait up to 2 s more for the SIGKILLed."""
    pids = set(pids)
    grace = {pid: SHORT_GRACE.get(_comm(pid), timeout) for pid in pids}
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    start = time.monotonic()
    killed: set[int] = set()
    end = start + max(grace.values(), default=0) + 2.0
    while pids and time.monotonic() < end:
        for pid in list(pids):
            try:
                os.waitpid(pid, os.WNOHANG)  # reap our own children
            except ChildProcessError:
                pass
        pids = {p for p in pids if alive(p)}
        now = time.monotonic() - start
        for pid in pids - killed:
            if now >= grace[pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                killed.add(pid)
        if pids and killed >= pids:
            end = min(end, time.monotonic() + 2.0)
        time.sleep(0.02)
