"""The lab's internet: a router, a switch, the services of ``internet.services`` and a DNS server.

    inet-web  inet-meet  inet-other-saas  inet-attacker  inet-dns      (192.0.2.0/24 by default)
         \\        |           |              |            /
                          inet-sw  (Linux bridge)
                             |
                          inet-gw  (router, 192.0.2.1)
              p<i> /                        \\ m<id>
     <prefecture>-sc:up0              <municipality>-fw:bo0      (α′ local breakout line)
     (198.51.100.0/24, a /30 each)    (transit_subnet(m, TRANSIT_BREAKOUT))

Every address is from a documentation range; nothing leaves the host. ``inet-dns`` is
authoritative for the FQDNs of ``internet.services`` and answers NXDOMAIN for anything else.
The router also routes each municipality's inside range to that municipality's breakout line,
so that unsolicited connections from the internet really reach the segment firewall and are
dropped there (matrix row 12), rather than failing for lack of a route.
"""

from __future__ import annotations

from netaddr import IPNetwork

from ..errors import LabInputError, Problem
from ..model import Topology
from ..plan import NODE_DIR, Bridge, Daemon, Node, Plan, Route
from ..topology import TRANSIT_BREAKOUT, transit_subnet

ROUTER = "inet-gw"
SWITCH = "inet-sw"
DNS = "inet-dns"
#: the security clouds' uplinks: one /30 per prefecture (router .1, security cloud .2)
UPLINK_POOL = IPNetwork("198.51.100.0/24")
#: the DNS server's host number in ``internet.prefix``
DNS_HOST = 53


def node_name(service_name: str) -> str:
    return f"inet-{service_name}"


def dns_address(topo: Topology) -> str:
    return str(IPNetwork(topo.internet.prefix).network + DNS_HOST)


def router_address(topo: Topology) -> str:
    return str(IPNetwork(topo.internet.prefix).network + 1)


def uplink_subnet(prefecture_index: int) -> IPNetwork:
    """The /30 between the internet router (.1) and prefecture number i's security cloud (.2)."""
    return IPNetwork(f"{UPLINK_POOL.network + 4 * prefecture_index}/30")


def breakout_addresses(m) -> tuple[str, str]:
    """(firewall bo0, internet router) addresses of a municipality's local-breakout line."""
    net = transit_subnet(m, TRANSIT_BREAKOUT)
    return str(net.network + 1), str(net.network + 2)


def _check(topo: Topology) -> None:
    dns = dns_address(topo)
    problems = [Problem("topology", None, f"internet.services[{i}].address",
                        f"{s.address} is the lab DNS server's address (host .{DNS_HOST} of {topo.internet.prefix})")
                for i, s in enumerate(topo.internet.services) if s.address == dns]
    if len(topo.prefectures) > UPLINK_POOL.size // 4:
        problems.append(Problem("topology", None, "prefectures", f"at most {UPLINK_POOL.size // 4} prefectures"))
    if problems:
        raise LabInputError(problems)


def dnsmasq_authoritative(topo: Topology) -> str:
    lines = [
        "# lab DNS: authoritative for the lab's internet names, NXDOMAIN for everything else",
        "no-resolv", "no-hosts", "no-poll", "bind-interfaces",
        f"listen-address={dns_address(topo)}",
        "user=root", "group=root",
        f"pid-file={NODE_DIR}/dnsmasq.pid",
        f"log-facility={NODE_DIR}/dnsmasq.log", "log-queries",
        "local-ttl=0",
        "address=/#/",
    ]
    lines += [f"host-record={s.fqdn},{s.address}" for s in topo.internet.services]
    return "\n".join(lines) + "\n"


def build(plan: Plan, topo: Topology) -> None:
    _check(topo)
    net = IPNetwork(topo.internet.prefix)
    gw = plan.add(Node(ROUTER, "router"))
    gw.sysctls["net.ipv4.ip_forward"] = "1"
    sw = plan.add(Node(SWITCH, "switch"))
    plan.connect(ROUTER, "sw0", SWITCH, "up0", a_addr=f"{router_address(topo)}/{net.prefixlen}")
    ports = ["up0"]
    hosts = [(node_name(s.name), s.address, "server" if s.services else "terminal", s) for s in topo.internet.services]
    hosts.append((DNS, dns_address(topo), "dns", None))
    for i, (name, addr, role, svc) in enumerate(hosts):
        node = plan.add(Node(name, role))
        plan.connect(name, "eth0", SWITCH, f"p{i}", a_addr=f"{addr}/{net.prefixlen}")
        ports.append(f"p{i}")
        node.routes.append(Route("default", via=router_address(topo)))
        if svc is not None:
            node.attrs.update(fqdn=svc.fqdn, allow_listed=svc.allow_listed,
                              services=[s.model_dump() for s in svc.services])
            _responder(node, svc.services)
        else:
            node.files["dnsmasq.conf"] = dnsmasq_authoritative(topo)
            node.daemons.append(Daemon("dnsmasq", ["dnsmasq", "-k", f"--conf-file={NODE_DIR}/dnsmasq.conf"],
                                       ready="udp:53"))
    sw.bridges.append(Bridge("br0", ports))


def _responder(node: Node, services) -> None:
    """The lab responder; ports of services named ``http`` answer as a minimal HTTP server."""
    if not services:
        return
    argv = ["python3", "-m", "lgwan.services.responder", "--name", node.name, "--log", f"{NODE_DIR}/responder.log"]
    for s in services:
        argv += ["--http" if s.name == "http" and s.proto == "tcp" else f"--{s.proto}", str(s.port)]
    first = services[0]
    node.daemons.append(Daemon("responder", argv, ready=f"{first.proto}:{first.port}"))


def connect_breakout(plan: Plan, topo: Topology, m, fw: Node) -> None:
    """The municipality's own internet line (α′ local breakout): <m>-fw:bo0 <-> inet-gw:m<id>.

    The firewall routes the lgwan segment's internet-bound traffic (only what no more specific
    route covers, e.g. not LGWAN) and its own DNS queries for allow-listed names over this
    line; the firewall's rules decide whether anything may use it (only α′ allows it).
    """
    fw_addr, gw_addr = breakout_addresses(m)
    plen = transit_subnet(m, TRANSIT_BREAKOUT).prefixlen
    plan.connect(fw.name, "bo0", ROUTER, f"m{m.id}", a_addr=f"{fw_addr}/{plen}", b_addr=f"{gw_addr}/{plen}")
    plan.nodes[ROUTER].routes.append(Route(m.inside, via=fw_addr))
