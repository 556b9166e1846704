"""Each municipality's sanitizer (無害化), in a DMZ of the segment firewall, and the lgwan file server.

    in-term ──in0── <m>-fw ──sz0──── <m>-san   (one leg, no IP forwarding)
                       └──lg0── lg-files (file server, accepts PUT only from the sanitizer)

The internet segment uploads a file (HTTP POST) to the sanitizer; the sanitizer renders it
harmless (``lgwan/services/sanitizer.py``: plain text and images pass, images rebuilt without
metadata, everything with active content rejected) and delivers the result by HTTP PUT to the
lgwan file server. The firewall carries exactly those two flows (matrix row 10, both in the
policy files), so no IP path from ``internet`` to ``lgwan`` exists except through the service.
A one-legged sanitizer behind the firewall (rather than a host with a leg in each segment) has
no weak-host-model bypass to guard against, and both of its flows are visible firewall rules.

The file server is the lgwan host offering a service named ``files``; a municipality without
one gets no sanitizer.
"""

from __future__ import annotations

from ..model import Host, Municipality, Topology
from ..plan import NODE_DIR, Daemon, Node, Plan, Route
from ..topology import TRANSIT_SANITIZER, transit_subnet
from .municipality import fw_name, host_name, responder

UPLOAD_PORT = 8080
FILES_SERVICE = "files"


def san_name(m: Municipality) -> str:
    return f"{m.name}-san"


def addresses(m: Municipality) -> tuple[str, str]:
    """(firewall sz0, sanitizer) addresses."""
    net = transit_subnet(m, TRANSIT_SANITIZER)
    return str(net.network + 1), str(net.network + 2)


def file_server(m: Municipality) -> tuple[Host, int] | None:
    for h in m.segments.lgwan.hosts:
        for s in h.services:
            if s.name == FILES_SERVICE and s.proto == "tcp":
                return h, s.port
    return None


def build(plan: Plan, topo: Topology) -> None:
    for pref, m in topo.municipalities():
        found = file_server(m)
        if found is None:
            continue
        files_host, files_port = found
        fw_addr, san_addr = addresses(m)
        plen = transit_subnet(m, TRANSIT_SANITIZER).prefixlen
        san = plan.add(Node(san_name(m), "sanitizer", municipality=m.name, prefecture=pref.name))
        san.attrs["services"] = [{"name": "upload", "proto": "tcp", "port": UPLOAD_PORT}]
        plan.connect(fw_name(m), "sz0", san.name, "eth0", a_addr=f"{fw_addr}/{plen}", b_addr=f"{san_addr}/{plen}")
        san.routes.append(Route("default", via=fw_addr))
        san.daemons.append(Daemon("sanitizer", [
            "python3", "-m", "lgwan.services.sanitizer", "--bind", san_addr, "--port", str(UPLOAD_PORT),
            "--deliver", f"http://{files_host.address}:{files_port}", "--log", f"{NODE_DIR}/decisions.jsonl"],
            ready=f"tcp:{UPLOAD_PORT}"))
        # the file server replaces the plain responder on its "files" port
        fs = plan.nodes[host_name(m, files_host)]
        fs.daemons = [d for d in fs.daemons if d.name != "responder"]
        responder(fs, [s for s in files_host.services if not (s.name == FILES_SERVICE and s.port == files_port)])
        fs.daemons.append(Daemon("fileserver", [
            "python3", "-m", "lgwan.services.fileserver", "--bind", files_host.address, "--port", str(files_port),
            "--dir", f"{NODE_DIR}/files", "--log", f"{NODE_DIR}/fileserver.jsonl", "--allow-put", san_addr],
            ready=f"tcp:{files_port}"))
