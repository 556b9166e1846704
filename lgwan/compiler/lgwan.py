"""The LGWAN side: each municipality's LGWAN router, the LGWAN carrier (backbone) and LGWAN-ASP.

    <m>-fw:lgr0 ── in0 [<m>-lgr] wan0 ── m<id> [lgwan-carrier] rf0 ── up0 [relay-front] (relay_router/)
                     SNAT, IPsec                 │ br0 (LGWAN-ASP segment)
                                           lgwan-<asp> (responder)

The LGWAN router translates inside addresses to the municipality's LGWAN global block: ordinary
LGWAN traffic (``lgwan`` → LGWAN-ASP) leaves in clear by ``wan0``; Government Cloud traffic
(``number_use`` and ``lgwan`` → the relay router's service range) leaves only through the IPsec
tunnel (``ipsec0``, set up by the relay-router step) and is dropped otherwise (fail closed).

Layout of a municipality's LGWAN global block (design; /26 by default):

    lower half: .1  LGWAN address (ordinary LGWAN traffic is SNATed to it)
                .2  IKE endpoint of the IPsec tunnel to the relay router
                .10 …  the published lgwan servers (static 1:1 DNAT to their inside address,
                       ``topology.lgwan_published_address``): other municipalities' lgwan
                       segments reach them over LGWAN (row 6, inbound)
    upper half: the cloud pool = the tunnel's local traffic selector (it must not contain the IKE
                endpoint: kernel-libipsec would route inner traffic to it in clear); number_use
                is SNATed to pool+1 (owned by the router: the tunnel route's source), lgwan to pool+2

Inbound, the router forwards only DNATed connections from other municipalities' LGWAN addresses
(.1, where their lgwan segments are SNATed) to the published servers; which service ports are
open is the segment firewall's business (the policy's row-6 inbound rule).
"""

from __future__ import annotations

from netaddr import IPNetwork

from ..model import Municipality, Topology
from ..plan import Bridge, Node, Plan, Route
from ..render import nftables as nft
from ..topology import (TRANSIT_LGWAN_ROUTER, carrier_subnet, lgwan_published_address, published_servers,
                        transit_subnet)
from .municipality import fw_name, responder

CARRIER = "lgwan-carrier"
#: the interface a tunnel's inner traffic uses on both ends (kernel-libipsec's TUN device; with
#: kernel ESP the relay-router step routes through the same name, see relay_router/compile.py)
TUNNEL_IF = "ipsec0"
NO_IPV6 = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}


def lgr_name(m: Municipality) -> str:
    return f"{m.name}-lgr"


def asp_name(name: str) -> str:
    return f"lgwan-{name}"


def lgwan_address(m: Municipality) -> str:
    return str(IPNetwork(m.lgwan_global).network + 1)


def ike_address(m: Municipality) -> str:
    return str(IPNetwork(m.lgwan_global).network + 2)


def cloud_pool(m: Municipality) -> IPNetwork:
    block = IPNetwork(m.lgwan_global)
    return list(block.subnet(block.prefixlen + 1))[1]


def pool_address(m: Municipality, zone: str) -> str:
    return str(cloud_pool(m).network + (1 if zone == "number_use" else 2))


def publications(m: Municipality) -> list[tuple[str, str]]:
    """(published LGWAN global address, inside address) of each published lgwan server."""
    return [(lgwan_published_address(m, h), h.address) for h in published_servers(m)]


def other_lgwan_addresses(topo: Topology, m: Municipality) -> list[str]:
    """The LGWAN addresses (.1) of the other municipalities: the sources of their lgwan segments."""
    return [lgwan_address(o) for _, o in topo.municipalities() if o.name != m.name]


def front_link(topo: Topology) -> IPNetwork:
    """The /30 between the carrier (.1) and the relay router's front (.2): the carrier pool's last."""
    pool = IPNetwork(topo.addressing.carrier_pool)
    return IPNetwork(f"{pool.broadcast - 3}/30")


def build(plan: Plan, topo: Topology) -> None:
    carrier = plan.add(Node(CARRIER, "carrier"))
    carrier.sysctls.update({"net.ipv4.ip_forward": "1", **NO_IPV6})
    asp_net = IPNetwork(topo.lgwan.asp_prefix)
    ports = []
    for i, s in enumerate(topo.lgwan.asp or []):
        host = plan.add(Node(asp_name(s.name), "server"))
        host.attrs.update(fqdn=s.fqdn, services=[x.model_dump() for x in s.services])
        plan.connect(host.name, "eth0", CARRIER, f"a{i}", a_addr=f"{s.address}/{asp_net.prefixlen}")
        host.routes.append(Route("default", via=str(asp_net.network + 1)))
        responder(host, s.services)
        ports.append(f"a{i}")
    if ports:
        carrier.bridges.append(Bridge("br0", ports, address=f"{asp_net.network + 1}/{asp_net.prefixlen}"))
    carrier.files["nftables.conf"] = nft.render(carrier_rules(), header="LGWAN carrier: no source spoofing")
    for pref, m in topo.municipalities():
        build_router(plan, topo, pref.name, m)


def build_router(plan: Plan, topo: Topology, prefecture: str, m: Municipality) -> None:
    lgr = plan.add(Node(lgr_name(m), "lgwan_router", municipality=m.name, prefecture=prefecture))
    lgr.sysctls.update({"net.ipv4.ip_forward": "1", **NO_IPV6})
    transit = transit_subnet(m, TRANSIT_LGWAN_ROUTER)
    fw_ip, lgr_ip = str(transit.network + 1), str(transit.network + 2)
    plan.connect(fw_name(m), "lgr0", lgr.name, "in0", a_addr=f"{fw_ip}/30", b_addr=f"{lgr_ip}/30")
    # the router owns pool+1: kernel-libipsec's tunnel route needs a source inside local_ts
    lgr.iface("in0").addresses.append(f"{pool_address(m, 'number_use')}/32")
    wan = carrier_subnet(topo, m)
    plan.connect(lgr.name, "wan0", CARRIER, f"m{m.id}", a_addr=f"{wan.network + 2}/30",
                 b_addr=f"{wan.network + 1}/30")
    lgr.iface("wan0").addresses += [f"{lgwan_address(m)}/32", f"{ike_address(m)}/32"]
    lgr.routes += [Route("default", via=str(wan.network + 1)), Route(m.inside, via=fw_ip)]
    plan.nodes[CARRIER].routes.append(Route(m.lgwan_global, via=str(wan.network + 2)))
    # the segment firewall reaches LGWAN destinations through its LGWAN router (its default route
    # belongs to the security cloud)
    fw = plan.nodes[fw_name(m)]
    for dst in (topo.lgwan.asp_prefix, topo.addressing.lgwan_global_pool, topo.relay_router.service_range):
        fw.routes.append(Route(dst, via=lgr_ip))
    lgr.files["nftables.conf"] = nft.render(
        router_rules(topo, m), header=f"LGWAN router of {m.name}: SNAT to {m.lgwan_global}, "
                                      "Government Cloud only through IPsec (fail closed)")


def router_rules(topo: Topology, m: Municipality) -> list[nft.Table]:
    svc = topo.relay_router.service_range
    shared = topo.relay_router.shared_ip
    nu, lg = m.segments.number_use.prefix, m.segments.lgwan.prefix
    pubs, others = publications(m), other_lgwan_addresses(topo, m)
    inbound = [
        f'iifname "wan0" oifname "in0" ct status dnat ip saddr {nft.addr_set(others)} '
        f'ip daddr {nft.addr_set([inside for _, inside in pubs])} counter accept '
        f'{nft.comment("row 6 (other municipalities -> published lgwan servers)")}'] if pubs and others else []
    pre = nft.Chain("pre_nat", type="nat", hook="prerouting", priority=-100, rules=[
        f'iifname "wan0" ip daddr {pub} dnat ip to {inside} {nft.comment("row 6 (published lgwan server)")}'
        for pub, inside in pubs])
    fwd = nft.Chain("filter_fwd", type="filter", hook="forward", priority=0, policy="drop", rules=[
        # fail closed: cloud-bound traffic leaves only through the tunnel device (by name: it
        # vanishes with charon and comes back with a new index)
        f'ip daddr {svc} oifname != "{TUNNEL_IF}" counter drop {nft.comment("fail closed")}',
        f'ip saddr {svc} iifname != "{TUNNEL_IF}" counter drop {nft.comment("fail closed")}',
        "ct state established,related accept",
        f'iifname "in0" oifname "{TUNNEL_IF}" ip saddr {{ {nu}, {lg} }} ip daddr {svc} counter accept '
        f'{nft.comment("rows 1, 2")}',
        f'iifname "in0" oifname "wan0" ip saddr {lg} counter accept {nft.comment("row 6")}',
        *inbound,
        f"counter {nft.comment('default deny (row 13: nothing from the backbone into the premises)')}",
    ])
    out = nft.Chain("filter_out", type="filter", hook="output", priority=0, policy="accept", rules=[
        f'ip daddr {svc} oifname != "{TUNNEL_IF}" counter drop {nft.comment("fail closed")}',
    ])
    inp = nft.Chain("filter_in", type="filter", hook="input", priority=0, policy="drop", rules=[
        'iifname "lo" accept',
        "ct state established,related accept",
        f'iifname "wan0" ip saddr {shared} udp dport {{ 500, 4500 }} accept {nft.comment("IKE/ESP-in-UDP")}',
        'iifname "in0" icmp type echo-request limit rate 10/second accept',
        "counter",
    ])
    post = nft.Chain("post_nat", type="nat", hook="postrouting", priority=100, rules=[
        f'oifname "{TUNNEL_IF}" ip saddr {nu} snat ip to {pool_address(m, "number_use")}',
        f'oifname "{TUNNEL_IF}" ip saddr {lg} snat ip to {pool_address(m, "lgwan")}',
        f'oifname "wan0" ip saddr {m.inside} snat ip to {lgwan_address(m)}',
    ])
    return [nft.Table("lgwan_router", chains=[fwd, out, inp, pre, post])]


def carrier_rules() -> list[nft.Table]:
    pre = nft.Chain("pre", type="filter", hook="prerouting", priority="raw", rules=[
        # strict reverse-path check: nobody can send with another's source (a municipality
        # forging another's global address would otherwise be handed to that one's vrf)
        f"fib saddr . iif oif missing counter drop {nft.comment('anti-spoofing')}",
    ])
    return [nft.Table("carrier", chains=[pre])]
