"""Drive each node's strongSwan (charon) over VICI, from the host, through the node's socket
``<node dir>/charon.vici``: load the rendered swanctl.conf (connections and secrets), wait for
the tunnels, list SAs, restart a charon.

Nodes with ``attrs['ipsec']`` (set by relay_router/compile.py) run charon: the responders are
the relay router's virtual routers, the initiators the LGWAN routers (``start_action = start``:
loading the connection initiates it; DPD and ``close_action`` bring it back after a failure).
"""

from __future__ import annotations

import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import vici

from relay_router import render
from relay_router.compile import render_ipsec

from ..plan import Node, Plan
from . import process
from .state import LabState


def ipsec_nodes(plan: Plan) -> list[Node]:
    return [n for n in plan.nodes.values() if "ipsec" in n.attrs]


def specialise(plan: Plan, backend: str) -> None:
    """Render every charon's configuration for the IPsec backend this host has."""
    for node in ipsec_nodes(plan):
        render_ipsec(node, backend)


@contextmanager
def session(node_dir: Path, timeout: float = 10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(node_dir / "charon.vici"))
        yield vici.Session(s)
    finally:
        s.close()


def _pki(*args: str, stdin: bytes | None = None) -> bytes:
    r = subprocess.run(["pki", *args], input=stdin, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"pki {' '.join(args[:2])} failed: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def issue_certificates(plan: Plan, lifetime_days: int = 30) -> int:
    """X.509 authentication: create the lab's CA (``<state>/ca``) and give every charon node a key
    and a certificate for its IKE identity (subjectAltName), in ``<node dir>/x509/``. Returns the
    number of certificates issued (0 with pre-shared keys)."""
    nodes = [n for n in ipsec_nodes(plan) if n.attrs["ipsec"].get("auth") == "x509"]
    if not nodes:
        return 0
    state = LabState(plan.lab)
    ca = state.dir / "ca"
    ca.mkdir(parents=True, exist_ok=True)
    (ca / "ca.key").write_bytes(_pki("--gen", "--type", "ed25519", "--outform", "der"))
    (ca / "ca.der").write_bytes(_pki("--self", "--ca", "--lifetime", str(lifetime_days), "--in", str(ca / "ca.key"),
                                     "--type", "ed25519", "--dn", f"O=lgwan-lab, CN=lab {plan.lab} CA",
                                     "--outform", "der"))

    def one(node: Node) -> None:
        d = state.node_dir(node.name) / "x509"
        d.mkdir(parents=True, exist_ok=True)
        key = _pki("--gen", "--type", "ed25519", "--outform", "der")
        (d / "key.der").write_bytes(key)
        ident = node.attrs["ipsec"]["id"]
        pub = _pki("--pub", "--in", str(d / "key.der"), "--type", "priv", "--outform", "der")
        (d / "cert.der").write_bytes(_pki(
            "--issue", "--cacert", str(ca / "ca.der"), "--cakey", str(ca / "ca.key"), "--type", "pub",
            "--dn", f"O=lgwan-lab, CN={ident}", "--san", ident, "--lifetime", str(lifetime_days),
            "--outform", "der", stdin=pub))
        (d / "ca.der").write_bytes((ca / "ca.der").read_bytes())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, nodes))
    return len(nodes)


def load(node_dir: Path) -> None:
    """Load the node's credentials and swanctl.conf into its charon: the lab CA, the node's own
    certificate and key (X.509) or its pre-shared keys, then the connections."""
    conns, shared = render.vici_messages(render.parse_swanctl((node_dir / "swanctl.conf").read_text()))
    x509 = node_dir / "x509"
    with session(node_dir) as v:
        if x509.is_dir():
            v.load_cert({"type": "X509", "flag": "CA", "data": (x509 / "ca.der").read_bytes()})
            v.load_cert({"type": "X509", "flag": "NONE", "data": (x509 / "cert.der").read_bytes()})
            v.load_key({"type": "ed25519", "data": (x509 / "key.der").read_bytes()})
        for s in shared:
            v.load_shared(s)
        v.load_conn(conns)


def _s(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_s(x) for x in value]
    if isinstance(value, dict):
        return {k: _s(v) for k, v in value.items()}
    return value


def list_sas(node_dir: Path, timeout: float = 2) -> list[dict[str, Any]]:
    """The node's IKE SAs: name, state, local/remote host, and their CHILD SAs."""
    out = []
    with session(node_dir, timeout) as v:
        for sa in v.list_sas():
            for name, ike in sa.items():
                ike = _s(ike)
                out.append({"name": name, "state": ike.get("state"), "local": ike.get("local-host"),
                            "remote": ike.get("remote-host"),
                            "children": [{"name": c.get("name"), "state": c.get("state"),
                                          "local_ts": c.get("local-ts"), "remote_ts": c.get("remote-ts"),
                                          "bytes_in": int(c.get("bytes-in", 0)), "bytes_out": int(c.get("bytes-out", 0))}
                                         for c in ike.get("child-sas", {}).values()]})
    return out


def tunnel_state(node_dir: Path) -> dict[str, str]:
    """{"ike": ESTABLISHED|CONNECTING|…|down, "child": INSTALLED|…|none|down} for one charon."""
    try:
        sas = list_sas(node_dir)
    except OSError:
        return {"ike": "down", "child": "down"}
    if not sas:
        return {"ike": "none", "child": "none"}
    ike = next((s for s in sas if s["state"] == "ESTABLISHED"), sas[0])
    child = next((c["state"] for c in ike["children"] if c["state"] == "INSTALLED"),
                 ike["children"][0]["state"] if ike["children"] else "none")
    return {"ike": ike["state"], "child": child, "local": ike["local"], "remote": ike["remote"]}


def installed(node_dir: Path) -> bool:
    return tunnel_state(node_dir)["child"] == "INSTALLED"


def _kernel_interface(plan: Plan, node: Node) -> None:
    """With kernel ESP: the XFRM interface ipsec0 and the tunnel route (charon installs none)."""
    ns = plan.namespace(node.name)
    dst, src = node.attrs["ipsec"]["tunnel_route"]
    for args in (["link", "add", "ipsec0", "type", "xfrm", "if_id", str(render.IF_ID)],
                 ["link", "set", "ipsec0", "up"],
                 ["route", "add", dst, "dev", "ipsec0", "src", src]):
        r = subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True)
        if r.returncode != 0 and "File exists" not in r.stderr:
            raise RuntimeError(f"{node.name}: ip {' '.join(args)}: {r.stderr.strip()}")


def wait_installed(node_dir: Path, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if installed(node_dir):
            return time.monotonic() - t0
        time.sleep(0.02)
    raise RuntimeError(f"no CHILD_SA installed in {node_dir.name} after {timeout:.0f}s; "
                       f"see {node_dir / 'charon.log'}")


def establish(plan: Plan, backend: str, timeout: float = 60) -> dict[str, float]:
    """Load every responder, then every initiator, and wait until each initiator's CHILD_SA is
    installed. Returns seconds from load to CHILD_SA INSTALLED per initiator node."""
    state = LabState(plan.lab)
    nodes = ipsec_nodes(plan)
    if backend == "kernel":
        for n in nodes:
            _kernel_interface(plan, n)
    responders = [n for n in nodes if n.role != "lgwan_router"]
    initiators = [n for n in nodes if n.role == "lgwan_router"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: load(state.node_dir(n.name)), responders))

        def up(n: Node) -> tuple[str, float]:
            t0 = time.monotonic()
            load(state.node_dir(n.name))
            wait_installed(state.node_dir(n.name), timeout)
            return n.name, time.monotonic() - t0

        return dict(pool.map(up, initiators))


def initiate(node_dir: Path, child: str, timeout_ms: int = 10000) -> None:
    with session(node_dir, timeout_ms / 1000 + 5) as v:
        for _ in v.initiate({"child": child, "timeout": str(timeout_ms), "init-limits": "no"}):
            pass


def charon_pid(node_dir: Path) -> int | None:
    try:
        return int((node_dir / "charon.pid").read_text())
    except (OSError, ValueError):
        return None


def restart(plan: Plan, node_name: str, timeout: float = 30) -> float:
    """Start a node's charon again (after it died), load its configuration and, for an LGWAN
    router, wait for the tunnel. Returns the seconds until the CHILD_SA was installed."""
    state = LabState(plan.lab)
    node = plan.nodes[node_name]
    d = state.node_dir(node_name)
    pid = charon_pid(d)
    if pid and process.alive(pid):
        raise RuntimeError(f"charon of {node_name} is still running (pid {pid})")
    t0 = time.monotonic()
    for stale in ("charon.pid", "charon.vici"):
        (d / stale).unlink(missing_ok=True)
    daemon = next(x for x in node.daemons if x.name == "strongswan")
    pid = process.start_daemon(plan.lab, plan.namespace(node_name), node_name, d, daemon)
    process.wait_ready(pid, d, daemon)
    load(d)
    if node.role == "lgwan_router":
        wait_installed(d, timeout)
    return time.monotonic() - t0


def tunnels(plan: Plan) -> list[dict[str, Any]]:
    """Per municipality: the LGWAN router's and the virtual router's view of the tunnel."""
    state = LabState(plan.lab)
    rows = []
    for node in ipsec_nodes(plan):
        if node.role != "lgwan_router":
            continue
        vrf = next((n for n in ipsec_nodes(plan) if n.role == "relay_vrf" and n.municipality == node.municipality), None)
        row = {"municipality": node.municipality, "node": node.name,
               "backend": node.attrs.get("ipsec_backend"), "auth": node.attrs["ipsec"].get("auth", "psk"),
               **tunnel_state(state.node_dir(node.name))}
        if vrf is not None:
            v = tunnel_state(state.node_dir(vrf.name))
            row["relay"] = {"node": vrf.name, **v}
        rows.append(row)
    return rows
