"""Open vSwitch inside a node: a private ovsdb-server and ovs-vswitchd per switch node.

Both daemons run in the switch node (its netns; the node directory mounted on /run), so every
file they make (``conf.db``, ``db.sock``, control sockets, logs, the bridge's ``.mgmt``) is in
the node directory and nothing touches the host's /var/run/openvswitch. The bridge is created
after the daemons are up, with the datapath chosen at deploy time (``capabilities.py``):
``netdev`` (userspace, works on any kernel) or ``system`` (the openvswitch kernel module).
Access ports get ``tag=<vlan>``, trunk ports ``vlan_mode=trunk trunks=<vlans>``.

The userspace datapath reads and writes veths with AF_PACKET and does not finish partial
checksums, so TCP through it breaks unless the far end of every access veth sends finished
checksums: ``configure`` turns tx checksum offload off there (``ethtool -K <if> tx off``).
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

from ..plan import NODE_DIR, Daemon, Node, Plan
from .state import LabState

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
OVS_ENV = {"OVS_RUNDIR": NODE_DIR, "OVS_LOGDIR": NODE_DIR, "OVS_DBDIR": NODE_DIR}


def has_ovs(node: Node) -> bool:
    return any(b.ovs for b in node.bridges)


def daemons() -> list[Daemon]:
    """The two daemons of a switch node, in start order (the runtime starts a node's daemons in order)."""
    db = f"{NODE_DIR}/conf.db"
    sock = f"{NODE_DIR}/db.sock"
    return [
        Daemon("ovsdb-server", ["sh", "-c",
                                f"rm -f {db} && ovsdb-tool create {db} {SCHEMA} && exec ovsdb-server {db} "
                                f"--remote=punix:{sock} --unixctl={NODE_DIR}/ovsdb-server.ctl "
                                f"--log-file={NODE_DIR}/ovsdb-server.log -vconsole:off --no-chdir"],
               env=dict(OVS_ENV), ready=f"unix:{sock}"),
        Daemon("ovs-vswitchd", ["sh", "-c",
                                f"ovs-vsctl --db=unix:{sock} --no-wait init && exec ovs-vswitchd unix:{sock} "
                                f"--unixctl={NODE_DIR}/ovs-vswitchd.ctl --log-file={NODE_DIR}/ovs-vswitchd.log "
                                f"-vconsole:off --no-chdir"],
               env=dict(OVS_ENV), ready=f"unix:{NODE_DIR}/ovs-vswitchd.ctl"),
    ]


def prepare(plan: Plan) -> None:
    """Add the OVS daemons to every node with an OVS bridge (before the plan is saved, so
    ``status`` lists them)."""
    for node in plan.nodes.values():
        if has_ovs(node) and not any(d.name == "ovs-vswitchd" for d in node.daemons):
            node.daemons[:0] = daemons()


def vsctl_args(node: Node, datapath: str) -> list[str]:
    """One ovs-vsctl transaction that creates the node's bridges and ports."""
    args: list[str] = []
    for br in node.bridges:
        if not br.ovs:
            continue
        args += ["--", "--may-exist", "add-br", br.name, "--", "set", "bridge", br.name,
                 f"datapath_type={datapath}"]
        for port in br.ports:
            iface = node.iface(port)
            args += ["--", "--may-exist", "add-port", br.name, port]
            if iface.trunk:
                args += ["--", "set", "port", port, "vlan_mode=trunk",
                         "trunks=" + ",".join(str(v) for v in iface.trunk)]
            elif iface.vlan:
                args += ["--", "set", "port", port, f"tag={iface.vlan}"]
    return args


def configure(plan: Plan, datapath: str) -> None:
    """Create the OVS bridges of every switch node, then turn tx checksum offload off on the far
    end of each port that is not itself an OVS port (``Plan.ovs_peer_interfaces``)."""
    state = LabState(plan.lab)
    nodes = [n for n in plan.nodes.values() if has_ovs(n)]

    def one(node: Node) -> None:
        sock = state.node_dir(node.name) / "db.sock"
        r = subprocess.run(["ovs-vsctl", f"--db=unix:{sock}", "--timeout=30", *vsctl_args(node, datapath)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{node.name}: ovs-vsctl failed: {r.stderr.strip()}")

    def offload_off(end: tuple[str, str]) -> None:
        peer_node, peer_if = end
        r = subprocess.run(["ip", "netns", "exec", plan.namespace(peer_node), "ethtool", "-K",
                            peer_if, "tx", "off"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{peer_node}:{peer_if}: ethtool -K tx off failed: {r.stderr.strip()}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, nodes))
        list(pool.map(offload_off, plan.ovs_peer_interfaces()))
