"""Compiler step: the J-LIS relay router, its 802.1Q hand-off and the Government Cloud tenants.

    <m>-lgr ══ IPsec (UDP 500/4500) over lgwan-carrier ══╗
                                                          ▼
    lgwan-carrier rf0 ── up0 [relay-front] v<id> ── up0 [relay-<m>] vl0 ── p<id> (access, VLAN)
                             policy routing by          shared IP,          [relay-sw] OVS
                             the peer's source          IKE responder,          trunk0 (802.1Q)
                                                        DNAT/SNAT                 │
    [<m>-<system>] eth0 ── s<i> [<m>-tgw] up0 ── p<id> (access) [cloud-connect] trunk0

Addresses (design): every virtual router holds the shared global IP (IKE endpoint) and the
service range's first address (source of its tunnel route); the municipality's private transfer
range is ``transfer_pool``'s /24 number <id>: .0/29 the VLAN link (vrf .1, tenant gateway .2),
.8/30 the front link (front .9, vrf .10), and .128 onwards the 1:1 image of the municipality's
cloud pool, which is all a cloud system ever sees as a source.
"""

from __future__ import annotations

from netaddr import IPAddress, IPNetwork

from lgwan.compiler.lgwan import (CARRIER, NO_IPV6, TUNNEL_IF, cloud_pool, front_link, ike_address,
                                  lgr_name, pool_address)
from lgwan.compiler.municipality import responder
from lgwan.errors import LabInputError, Problem
from lgwan.model import Municipality, Topology
from lgwan.plan import Bridge, Daemon, IpRule, Node, Plan, Route
from lgwan.render import nftables as nft
from lgwan.topology import cloud_service_address

from . import render

FRONT = "relay-front"
RELAY_SWITCH = "relay-sw"
CLOUD_SWITCH = "cloud-connect"
RELAY_ID = "relay.jlis.example"
CHARON = "/usr/lib/ipsec/charon"
#: first policy-routing table (and rule priority) of the front; municipality id is added
TABLE_BASE = 1000


def vrf_name(m: Municipality) -> str:
    return f"relay-{m.name}"


def tgw_name(m: Municipality) -> str:
    return f"{m.name}-tgw"


def system_name(m: Municipality, system) -> str:
    return f"{m.name}-{system.name}"


def transfer_range(topo: Topology, m: Municipality) -> IPNetwork:
    pool = IPNetwork(topo.addressing.transfer_pool)
    return IPNetwork(f"{pool.network + 256 * m.id}/24")


def transfer_nat(topo: Topology, m: Municipality) -> IPNetwork:
    """The private image of the municipality's cloud pool (SNAT 1:1 by prefix)."""
    return IPNetwork(f"{transfer_range(topo, m).network + 128}/{cloud_pool(m).prefixlen}")


def lgwan_id(m: Municipality) -> str:
    return f"{m.name}.lgwan.example"


def check(topo: Topology) -> None:
    """Traffic selectors must not contain an IKE endpoint (kernel-libipsec would route the
    inner traffic to it in clear), and the NAT images must fit the transfer ranges."""
    rr = topo.relay_router
    problems = []
    svc = IPNetwork(rr.service_range)
    if IPAddress(rr.shared_ip) in svc:
        problems.append(Problem("topology", None, "relay_router.shared_ip",
                                f"{rr.shared_ip} is inside service_range {svc}: an IKE endpoint may not be in a traffic selector"))
    if svc.size < 16:
        problems.append(Problem("topology", None, "relay_router.service_range", f"{svc} is too small (at least /28)"))
    for _, m in topo.municipalities():
        if cloud_pool(m).prefixlen < 25:
            problems.append(Problem("topology", None, f"municipalities.{m.name}.lgwan_global",
                                    f"{m.lgwan_global} is larger than /24: its cloud pool has no image in the transfer /24"))
        if IPNetwork(topo.addressing.transfer_pool).prefixlen > 16 and m.id >= 2 ** (24 - IPNetwork(topo.addressing.transfer_pool).prefixlen):
            problems.append(Problem("topology", None, "addressing.transfer_pool", f"no /24 for municipality id {m.id}"))
        if len(m.cloud.systems or []) > svc.size - 11:
            problems.append(Problem("topology", None, f"municipalities.{m.name}.cloud.systems",
                                    f"more systems than service addresses in {svc}"))
    if problems:
        raise LabInputError(problems)


def charon(node: Node, conn: dict, secret: dict, tunnel_route: tuple[str, str], auth: str = "psk") -> None:
    """Give a node its charon: rendered configs (default backend; the runtime re-renders them for
    the backend it detects, from ``attrs['ipsec']``) and the daemon. With ``auth="x509"`` the
    node gets no PSK; the runtime issues it a certificate from the lab's CA at deploy time."""
    conn = {**conn, "auth": auth}
    node.attrs["ipsec"] = {"conn": conn, "secret": secret if auth == "psk" else {},
                           "tunnel_route": list(tunnel_route), "auth": auth, "id": conn["local_id"]}
    render_ipsec(node, "kernel-libipsec")
    node.daemons.append(Daemon("strongswan", [CHARON], env={"STRONGSWAN_CONF": "/run/strongswan.conf"},
                               ready="unix:/run/charon.vici"))


def render_ipsec(node: Node, backend: str) -> None:
    spec = node.attrs["ipsec"]
    node.files["strongswan.conf"] = render.strongswan_conf(node.name, backend, spec.get("auth", "psk"))
    node.files["swanctl.conf"] = render.swanctl_conf(
        render.connection(**spec["conn"], backend=backend), spec["secret"],
        header=f"IPsec of {node.name} (backend {backend}), generated by lgwan-lab")
    node.attrs["ipsec_backend"] = backend


def build(plan: Plan, topo: Topology) -> None:
    check(topo)
    rr = topo.relay_router
    svc = IPNetwork(rr.service_range)
    svc_src = str(svc.network + 1)
    munis = [(p, m) for p, m in topo.municipalities()]

    link = front_link(topo)
    front = plan.add(Node(FRONT, "relay_front"))
    front.sysctls.update({"net.ipv4.ip_forward": "1", **NO_IPV6})
    plan.connect(CARRIER, "rf0", FRONT, "up0", a_addr=f"{link.network + 1}/30", b_addr=f"{link.network + 2}/30")
    plan.nodes[CARRIER].routes.append(Route(f"{rr.shared_ip}/32", via=str(link.network + 2)))
    front.routes.append(Route("default", via=str(link.network + 1)))
    front.files["nftables.conf"] = nft.render(
        render.front_rules(rr.shared_ip), header="relay router front: IKE/ESP-in-UDP to the shared IP only, "
                                                 "handed to a virtual router by the peer's source address")

    sw = plan.add(Node(RELAY_SWITCH, "switch"))
    cc = plan.add(Node(CLOUD_SWITCH, "switch"))
    for n in (sw, cc):
        n.sysctls.update(NO_IPV6)
    vlans = sorted(m.vlan for _, m in munis)
    plan.connect(RELAY_SWITCH, "trunk0", CLOUD_SWITCH, "trunk0")
    sw.iface("trunk0").trunk = vlans
    cc.iface("trunk0").trunk = vlans
    sw_ports, cc_ports = ["trunk0"], ["trunk0"]

    for pref, m in munis:
        common = {"municipality": m.name, "prefecture": pref.name}
        xfer = transfer_range(topo, m)
        pool = cloud_pool(m)
        table = TABLE_BASE + m.id

        # the virtual router: shared IP, IKE responder for this municipality only, NAT, VLAN
        vrf = plan.add(Node(vrf_name(m), "relay_vrf", **common))
        vrf.sysctls.update({"net.ipv4.ip_forward": "1", **NO_IPV6})
        plan.connect(FRONT, f"v{m.id}", vrf.name, "up0", a_addr=f"{xfer.network + 9}/30",
                     b_addr=f"{xfer.network + 10}/30")
        vrf.iface("up0").addresses.append(f"{rr.shared_ip}/32")
        front.rules.append(IpRule(priority=table, table=table, src=m.lgwan_global, iif="up0"))
        front.routes.append(Route(f"{rr.shared_ip}/32", via=str(xfer.network + 10), dev=f"v{m.id}", table=table))
        vrf.routes.append(Route("default", via=str(xfer.network + 9)))
        plan.connect(vrf.name, "vl0", RELAY_SWITCH, f"p{m.id}", a_addr=f"{xfer.network + 1}/29", b_vlan=m.vlan)
        vrf.iface("vl0").addresses.append(f"{svc_src}/32")
        vrf.routes.append(Route(m.cloud.prefix, via=str(xfer.network + 2)))
        sw_ports.append(f"p{m.id}")
        dnat = {cloud_service_address(topo, i): s.address for i, s in enumerate(m.cloud.systems)}
        vrf.files["nftables.conf"] = nft.render(
            render.vrf_rules(shared_ip=rr.shared_ip, uplink="up0", vlan_if="vl0", tunnel_if=TUNNEL_IF,
                             peer_pool=str(pool), transfer_pool=str(transfer_nat(topo, m)), dnat=dnat),
            header=f"relay router virtual router of {m.name}: VLAN {m.vlan}, {pool} <-> {transfer_nat(topo, m)}")
        vrf.attrs.update(vlan=m.vlan, transfer_range=str(xfer), dnat=dnat)
        charon(vrf, dict(name=f"gc-{m.name}", local_addr=rr.shared_ip, remote_addr=ike_address(m),
                         local_id=RELAY_ID, remote_id=lgwan_id(m), local_ts=str(svc), remote_ts=str(pool),
                         initiator=False),
               {f"ike-{m.name}": {"id-1": RELAY_ID, "id-2": lgwan_id(m), "secret": m.psk}},
               (str(pool), svc_src), rr.auth)

        # the LGWAN router's side of the tunnel (the node comes from lgwan/compiler/lgwan.py)
        lgr = plan.nodes[lgr_name(m)]
        charon(lgr, dict(name="gc", local_addr=ike_address(m), remote_addr=rr.shared_ip, local_id=lgwan_id(m),
                         remote_id=RELAY_ID, local_ts=str(pool), remote_ts=str(svc), initiator=True),
               {"ike-gc": {"id-1": lgwan_id(m), "id-2": RELAY_ID, "secret": m.psk}},
               (str(svc), pool_address(m, "number_use")), rr.auth)

        # the Government Cloud tenant: gateway on the VLAN, systems behind it (overlapping plans)
        tgw = plan.add(Node(tgw_name(m), "cloud_gateway", **common))
        tgw.sysctls.update({"net.ipv4.ip_forward": "1", **NO_IPV6})
        plan.connect(CLOUD_SWITCH, f"p{m.id}", tgw.name, "up0", a_vlan=m.vlan, b_addr=f"{xfer.network + 2}/29")
        cc_ports.append(f"p{m.id}")
        tgw.routes.append(Route(str(transfer_nat(topo, m)), via=str(xfer.network + 1)))
        cnet = IPNetwork(m.cloud.prefix)
        ports = []
        for i, s in enumerate(m.cloud.systems):
            host = plan.add(Node(system_name(m, s), "cloud_app", **common))
            host.attrs.update(cloud_zone=s.zone, service_address=cloud_service_address(topo, i),
                              services=[x.model_dump() for x in s.services])
            plan.connect(host.name, "eth0", tgw.name, f"s{i}", a_addr=f"{s.address}/{cnet.prefixlen}")
            host.routes.append(Route("default", via=str(cnet.network + 1)))
            responder(host, s.services)
            ports.append(f"s{i}")
        tgw.bridges.append(Bridge("br0", ports, address=f"{cnet.network + 1}/{cnet.prefixlen}"))

    sw.bridges.append(Bridge("br0", sw_ports, ovs=True))
    cc.bridges.append(Bridge("br0", cc_ports, ovs=True))
