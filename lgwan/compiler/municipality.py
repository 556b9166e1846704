"""A municipality's premises: three segments, their hosts, and the segment firewall.

    nu-term  nu-app          lg-term lg-files lg-mail        in-term  in-vb
        \\     /                  \\     |     /                 \\     /
       <m>-nu-sw               <m>-lg-sw                      <m>-in-sw      (Linux bridges)
             \\                        |                           /
              nu0 -------------- <m>-fw (nftables) -------------- in0
                                     lg0

Each segment is an L2 switch node; the firewall routes between segments and applies the
security model's rules (default deny).
"""

from __future__ import annotations

from netaddr import IPNetwork

from ..model import Host, Municipality, Prefecture, Topology
from ..plan import NODE_DIR, Bridge, Daemon, Node, Plan, Route

#: short names used in node and interface names
ZONE_SHORT = {"number_use": "nu", "lgwan": "lg", "internet": "in"}


def fw_name(m: Municipality) -> str:
    return f"{m.name}-fw"


def switch_name(m: Municipality, zone: str) -> str:
    return f"{m.name}-{ZONE_SHORT[zone]}-sw"


def host_name(m: Municipality, host: Host) -> str:
    return f"{m.name}-{host.name}"


def responder(node: Node, services) -> None:
    """Start the lab's responder for a host's services (TCP accept / UDP echo, logged)."""
    if not services:
        return
    argv = ["python3", "-m", "lgwan.services.responder", "--name", node.name,
            "--log", f"{NODE_DIR}/responder.log"]
    for s in services:
        argv += [f"--{s.proto}", str(s.port)]
    first = services[0]
    node.daemons.append(Daemon("responder", argv, ready=f"{first.proto}:{first.port}"))


def build(plan: Plan, topo: Topology) -> None:
    for pref, m in topo.municipalities():
        build_municipality(plan, topo, pref, m)


def build_municipality(plan: Plan, topo: Topology, pref: Prefecture, m: Municipality) -> None:
    common = {"municipality": m.name, "prefecture": pref.name}
    fw = plan.add(Node(fw_name(m), "firewall", **common))
    fw.sysctls["net.ipv4.ip_forward"] = "1"
    for zone in ("number_use", "lgwan", "internet"):
        seg = getattr(m.segments, zone)
        net = IPNetwork(seg.prefix)
        gw = str(net.network + 1)
        sw = plan.add(Node(switch_name(m, zone), "switch", zone=zone, **common))
        ports = ["up0"]
        plan.connect(fw.name, f"{ZONE_SHORT[zone]}0", sw.name, "up0", a_addr=f"{gw}/{net.prefixlen}")
        for i, h in enumerate(seg.hosts):
            host = plan.add(Node(host_name(m, h), h.role, zone=zone, **common))
            plan.connect(host.name, "eth0", sw.name, f"p{i}", a_addr=f"{h.address}/{net.prefixlen}")
            ports.append(f"p{i}")
            host.routes.append(Route("default", via=gw))
            for attr in ("two_factor", "removable_media"):
                if getattr(h, attr) is not None:
                    host.attrs[attr] = getattr(h, attr)
            if h.services:
                host.attrs["services"] = [s.model_dump() for s in h.services]
            responder(host, h.services)
        sw.bridges.append(Bridge("br0", ports))
    # the firewall's rules are rendered by the last compiler step (firewall.py), once every
    # interface of the firewall exists
