"""Each prefecture's security cloud, and the municipal firewalls' internet-side uplinks.

    <m1>-fw:sc0 ──── m<id1>                           up0 ──── inet-gw:p<i>
    <m2>-fw:sc0 ──── m<id2>   <prefecture>-sc  (tinyproxy)
                             (no IP forwarding: the proxy is the only way through)

- ``<prefecture>-sc`` runs a real forward proxy (tinyproxy from Debian) with its own config,
  pid and log files in the node directory (the log at ``LogLevel Connect`` is the access log:
  one ``Request`` line per request). It accepts only the internet segments of its
  prefecture's municipalities, and CONNECT only to port 443. It resolves names with the lab DNS.
  Its host firewall drops everything else, from either side (rows 11 and 12).
- The firewall's default route points at its security cloud: the internet segment's only way
  out (row 11). Whatever tries to bypass the proxy is dropped by the firewall before it leaves.
- Local breakout (α′): the firewall also has its own internet line ``bo0`` (compiler/internet.py).
  Policy routing sends the lgwan segment's internet-bound traffic there: for packets from
  ``lg0`` the main table is used except its default route (``suppress_prefixlength 0``), and
  table ``BREAKOUT_TABLE`` supplies the default via the breakout line. So LGWAN, Government
  Cloud and the other segments keep their routes, and the internet means the local line.
  The firewall's own DNS forwarder sends its upstream queries from its ``bo0`` address, which
  selects the same table. Whether anything may use the line is the firewall's rules' business.
"""

from __future__ import annotations


from ..model import Municipality, Prefecture, Topology
from ..plan import NODE_DIR, Daemon, IpRule, Node, Plan, Route
from ..render import nftables as nft
from ..topology import TRANSIT_SECURITY_CLOUD, transit_subnet
from . import internet
from .municipality import fw_name

BREAKOUT_TABLE = 200


def sc_name(pref: Prefecture) -> str:
    return f"{pref.name}-sc"


def link_addresses(m: Municipality) -> tuple[str, str]:
    """(firewall sc0, security cloud m<id>) addresses."""
    net = transit_subnet(m, TRANSIT_SECURITY_CLOUD)
    return str(net.network + 1), str(net.network + 2)


def proxy_address(m: Municipality) -> str:
    """Where the municipality's internet segment reaches its prefecture's proxy."""
    return link_addresses(m)[1]


def tinyproxy_conf(pref: Prefecture) -> str:
    lines = [
        f"# forward proxy of the {pref.name} security cloud (tinyproxy); paths are inside the node",
        f"Port {pref.security_cloud.proxy_port}",
        "Timeout 30",
        "MaxClients 64",
        f'PidFile "{NODE_DIR}/tinyproxy.pid"',
        f'LogFile "{NODE_DIR}/tinyproxy.log"',
        "# Connect level logs one 'Request (file descriptor N): GET http://… HTTP/1.1' line per",
        "# request and one per CONNECT: that is the access log",
        "LogLevel Connect",
        "ConnectPort 443",
        "DisableViaHeader Yes",
    ]
    lines += [f"Allow {m.segments.internet.prefix}" for m in pref.municipalities]
    return "\n".join(lines) + "\n"


def host_firewall(pref: Prefecture) -> str:
    port = pref.security_cloud.proxy_port
    inp = nft.Chain("input", type="filter", hook="input", priority=0, policy="drop", rules=[
        'iifname "lo" accept',
        "ct state established,related accept",
        "ct state invalid drop",
    ])
    for m in pref.municipalities:
        inp.rules.append(f'iifname "m{m.id}" ip saddr {m.segments.internet.prefix} tcp dport {port} '
                         f'ct state new counter accept {nft.comment("row 11")}')
    inp.rules.append(f"counter {nft.comment('row 12')}")
    fwd = nft.Chain("forward", type="filter", hook="forward", priority=0, policy="drop",
                    rules=[f"counter {nft.comment('row 11')}"])
    return nft.render([nft.Table("lgwan", chains=[inp, fwd])],
                      header=f"host firewall of the {pref.name} security cloud: only the proxy port, "
                             "only from its municipalities' internet segments")


def build(plan: Plan, topo: Topology) -> None:
    dns = internet.dns_address(topo)
    for pi, pref in enumerate(topo.prefectures):
        up = internet.uplink_subnet(pi)
        sc = plan.add(Node(sc_name(pref), "security_cloud", prefecture=pref.name))
        sc.attrs["proxy_port"] = pref.security_cloud.proxy_port
        plan.connect(sc.name, "up0", internet.ROUTER, f"p{pi}",
                     a_addr=f"{up.network + 2}/{up.prefixlen}", b_addr=f"{up.network + 1}/{up.prefixlen}")
        sc.routes.append(Route("default", via=str(up.network + 1)))
        for m in pref.municipalities:
            fw = plan.nodes[fw_name(m)]
            fw_addr, sc_addr = link_addresses(m)
            plen = transit_subnet(m, TRANSIT_SECURITY_CLOUD).prefixlen
            plan.connect(fw.name, "sc0", sc.name, f"m{m.id}", a_addr=f"{fw_addr}/{plen}", b_addr=f"{sc_addr}/{plen}")
            sc.routes.append(Route(m.segments.internet.prefix, via=fw_addr))
            fw.routes.append(Route("default", via=sc_addr))
            internet.connect_breakout(plan, topo, m, fw)
            bo_addr, gw_addr = internet.breakout_addresses(m)
            fw.routes.append(Route("default", via=gw_addr, table=BREAKOUT_TABLE))
            fw.rules += [
                IpRule(100, 254, iif="lg0", suppress_prefixlength=0),
                IpRule(101, BREAKOUT_TABLE, iif="lg0"),
                IpRule(102, BREAKOUT_TABLE, src=f"{bo_addr}/32"),
            ]
        sc.files["tinyproxy.conf"] = tinyproxy_conf(pref)
        sc.files["resolv.conf"] = f"nameserver {dns}\n"
        sc.files["nftables.conf"] = host_firewall(pref)
        # the proxy resolves names through the lab DNS: its own resolv.conf, bind-mounted in
        # the daemon's private mount namespace only
        sc.daemons.append(Daemon("tinyproxy", [
            "sh", "-c", f"mount --bind {NODE_DIR}/resolv.conf /etc/resolv.conf && "
                        f"exec tinyproxy -d -c {NODE_DIR}/tinyproxy.conf"],
            ready=f"tcp:{pref.security_cloud.proxy_port}"))
