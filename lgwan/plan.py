"""The compiled plan: everything the runtime must create, as plain data.

A ``Plan`` is what the compiler produces and what every back end consumes: the netns runtime
realises it on this host, the containerlab exporter writes it out, ``inspect`` prints it.
It is pure data (dataclasses) and serialises to JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Inside a node, every per-node file lives under this directory. The runtime bind-mounts the
#: node's state directory here for the node's daemons; the containerlab export binds it too.
NODE_DIR = "/run"


@dataclass
class Interface:
    name: str
    addresses: list[str] = field(default_factory=list)  # "10.1.10.1/24"
    peer: str | None = None  # "node:ifname"
    vlan: int | None = None  # access VLAN on a switch port, or None
    trunk: list[int] | None = None  # VLANs carried tagged, on a trunk port


@dataclass
class Route:
    dst: str  # "default" or a CIDR
    via: str | None = None
    dev: str | None = None
    table: int | None = None


@dataclass
class IpRule:
    priority: int
    table: int
    src: str | None = None
    iif: str | None = None
    #: skip routes of this prefix length or shorter (0: ignore the default route of ``table``)
    suppress_prefixlength: int | None = None


@dataclass
class Bridge:
    """A switch inside a node: a Linux bridge, or an Open vSwitch bridge when ``ovs`` is set."""

    name: str
    ports: list[str]
    ovs: bool = False
    address: str | None = None


@dataclass
class Daemon:
    """A process started inside the node, with the node directory mounted on NODE_DIR.

    ``ready`` says how the runtime knows it is up: "tcp:PORT", "udp:PORT", "file:PATH" or
    "unix:PATH" (a socket that accepts; PATH inside the node, under NODE_DIR), or None to not wait.
    """

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ready: str | None = None


@dataclass
class Node:
    name: str
    role: str
    zone: str | None = None
    municipality: str | None = None
    prefecture: str | None = None
    interfaces: list[Interface] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    rules: list[IpRule] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    bridges: list[Bridge] = field(default_factory=list)
    #: Files written to the node directory (name relative to NODE_DIR -> content).
    files: dict[str, str] = field(default_factory=dict)
    daemons: list[Daemon] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)

    def iface(self, name: str) -> Interface:
        for i in self.interfaces:
            if i.name == name:
                return i
        raise KeyError(f"{self.name} has no interface {name}")

    @property
    def firewall(self) -> str | None:
        return self.files.get("nftables.conf")


@dataclass
class Link:
    a: str  # node
    a_if: str
    b: str
    b_if: str

    def endpoints(self) -> list[str]:
        return [f"{self.a}:{self.a_if}", f"{self.b}:{self.b_if}"]


@dataclass
class Plan:
    lab: str
    model: str
    topology_file: str
    nodes: dict[str, Node] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)

    def add(self, node: Node) -> Node:
        if node.name in self.nodes:
            raise ValueError(f"node {node.name} defined twice")
        self.nodes[node.name] = node
        return node

    def connect(self, a: str, a_if: str, b: str, b_if: str,
                a_addr: str | None = None, b_addr: str | None = None,
                a_vlan: int | None = None, b_vlan: int | None = None) -> Link:
        """Add a veth link and the interfaces at both ends."""
        for node, ifname, addr, vlan, peer in ((a, a_if, a_addr, a_vlan, f"{b}:{b_if}"),
                                              (b, b_if, b_addr, b_vlan, f"{a}:{a_if}")):
            if len(ifname) > 15:
                raise ValueError(f"interface name {ifname} longer than 15 characters")
            self.nodes[node].interfaces.append(
                Interface(ifname, [addr] if addr else [], peer=peer, vlan=vlan))
        link = Link(a, a_if, b, b_if)
        self.links.append(link)
        return link

    def ovs_peer_interfaces(self) -> list[tuple[str, str]]:
        """(node, ifname) of every veth end attached to an Open vSwitch port from a non-OVS node.
        With the userspace datapath these must not leave TCP/UDP checksums to offload (OVS
        netdev never completes them): the runtime and the export's start-up scripts turn tx
        checksum offload off there."""
        ovs_ports = {f"{n.name}:{p}" for n in self.nodes.values() for b in n.bridges if b.ovs for p in b.ports}
        out = []
        for port in sorted(ovs_ports):
            node, ifname = port.split(":")
            peer = self.nodes[node].iface(ifname).peer
            if peer and peer not in ovs_ports:
                peer_node, peer_if = peer.split(":")
                out.append((peer_node, peer_if))
        return out

    def namespace(self, node: str) -> str:
        return namespace_name(self.lab, node)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Plan":
        nodes = {}
        for name, n in data["nodes"].items():
            n = dict(n)
            n["interfaces"] = [Interface(**i) for i in n["interfaces"]]
            n["routes"] = [Route(**r) for r in n["routes"]]
            n["rules"] = [IpRule(**r) for r in n["rules"]]
            n["bridges"] = [Bridge(**b) for b in n["bridges"]]
            n["daemons"] = [Daemon(**d) for d in n["daemons"]]
            nodes[name] = Node(**n)
        return cls(data["lab"], data["model"], data["topology_file"], nodes,
                   [Link(**link) for link in data["links"]])


def namespace_name(lab: str, node: str) -> str:
    """Every namespace of a lab is ``<lab>.<node>``; names never contain dots, so the prefix is exact."""
    return f"{lab}.{node}"
