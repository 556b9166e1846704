"""A node of a Plan as shell commands: the one place that says how a node is brought up.

The netns runtime realises a node with pyroute2, ``sysctl``, ``nft`` and daemon processes on
this host; every other back end (the containerlab export today) runs :func:`node_script`, a
POSIX ``sh`` script that does the same inside the node, in the same order:

1. wait for the node's links (another program creates them: containerlab, or a test);
2. ``lo`` up, Linux bridges and their ports;
3. Open vSwitch bridges: a private ``ovsdb-server``/``ovs-vswitchd`` under NODE_DIR, bridges
   with ``datapath_type`` netdev (userspace; ``LGWAN_OVS_DATAPATH=system`` on a host with the
   openvswitch module), ports with ``tag=`` (``Interface.vlan``) or ``trunks=`` (``Interface.trunk``);
4. addresses, links up; ip rules; routes;
5. sysctls; the firewall (``nft -f NODE_DIR/nftables.conf``);
6. daemons, each with the node directory on NODE_DIR, its log in ``NODE_DIR/<name>.log`` and
   pid in ``NODE_DIR/<name>.pid``, waited for by its ``ready`` condition before the next starts.

Pure: text in, text out. What the netns runtime and this script share (how a daemon's argv and
environment are formed) lives here and both use it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from ..plan import NODE_DIR, Bridge, Daemon, Node, Plan, Route

#: argv[0] of a daemon that means "the lab's python" (the runtime substitutes its interpreter)
PYTHON = "python3"

#: how long the script waits for a link, and for a daemon to be ready (seconds)
LINK_TIMEOUT = 120
READY_TIMEOUT = 20

#: Open vSwitch's files inside the node (NODE_DIR is private to the node)
OVS_DIR = f"{NODE_DIR}/openvswitch"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


#: Every Plan field this module realises, or knowingly leaves alone (metadata, or files that the
#: export binds as they are). A unit test fails when the Plan gains a field not listed here, so a
#: new Plan feature cannot silently go missing from the start-up scripts.
HANDLED_FIELDS = {
    "Node": {"name", "role", "zone", "municipality", "prefecture", "interfaces", "routes", "rules",
             "sysctls", "bridges", "files", "daemons", "attrs"},
    "Interface": {"name", "addresses", "peer", "vlan", "trunk"},
    "Route": {"dst", "via", "dev", "table"},
    "IpRule": {"priority", "table", "src", "iif", "suppress_prefixlength"},
    "Bridge": {"name", "ports", "ovs", "address"},
    "Daemon": {"name", "argv", "env", "ready"},
    "Link": {"a", "a_if", "b", "b_if"},
}


def daemon_argv(argv: list[str], python: str = PYTHON) -> list[str]:
    """The argv to execute: a leading ``python3`` is the lab's interpreter ``python``."""
    return [python if i == 0 and a == PYTHON else a for i, a in enumerate(argv)]


def node_env(lab: str, node: str) -> dict[str, str]:
    """Environment every process of a node carries (``lgwan down`` finds processes by it)."""
    return {"LGWAN_LAB": lab, "LGWAN_NODE": node}


def link_interfaces(plan: Plan, node: str) -> list[str]:
    """The node's interfaces that are link ends (created from outside the node), in plan order."""
    ends = []
    for link in plan.links:
        if link.a == node:
            ends.append(link.a_if)
        if link.b == node:
            ends.append(link.b_if)
    return ends


def _q(words: Iterable[str]) -> str:
    return " ".join(shlex.quote(str(w)) for w in words)


def route_argv(r: Route) -> list[str]:
    argv = ["ip", "route", "add", r.dst if r.dst != "default" else "0.0.0.0/0"]
    if r.via:
        argv += ["via", r.via]
    if r.dev:
        argv += ["dev", r.dev]
    if r.table:
        argv += ["table", str(r.table)]
    return argv


def sysctl_argv(key: str, value: str) -> list[str]:
    return ["sysctl", "-q", "-w", f"{key}={value}"]


def firewall_argv() -> list[str]:
    return ["nft", "-f", f"{NODE_DIR}/nftables.conf"]


def ovs_bridge_commands(node: Node, br: Bridge, links: set[str]) -> list[str]:
    """Shell lines for one OVS bridge; ports that are not link ends become internal ports.

    The datapath type is left to the shell variable LGWAN_OVS_DATAPATH (netdev by default).
    """
    vsctl = ["ovs-vsctl", f"--db=unix:{OVS_DIR}/db.sock"]
    lines = [_q([*vsctl, "--may-exist", "add-br", br.name, "--", "set", "bridge", br.name])
             + ' "datapath_type=$LGWAN_OVS_DATAPATH"']
    ifaces = {i.name: i for i in node.interfaces}
    for port in br.ports:
        argv = [*vsctl, "--may-exist", "add-port", br.name, port]
        iface = ifaces.get(port)
        if iface is not None and iface.vlan is not None:
            argv.append(f"tag={iface.vlan}")
        if iface is not None and iface.trunk:
            argv.append("trunks=" + ",".join(str(v) for v in iface.trunk))
        if port not in links:
            argv += ["--", "set", "interface", port, "type=internal"]
        lines.append(_q(argv))
    lines.append(_q(["ip", "link", "set", br.name, "up"]))
    return lines


def ovs_start_commands() -> list[str]:
    """Shell lines that start the node's own ovsdb-server and ovs-vswitchd under OVS_DIR."""
    db = f"{OVS_DIR}/conf.db"
    return [
        _q(["mkdir", "-p", OVS_DIR]),
        f"[ -e {shlex.quote(db)} ] || " + _q(["ovsdb-tool", "create", db, OVS_SCHEMA]),
        _q(["ovsdb-server", db, f"--remote=punix:{OVS_DIR}/db.sock",
            f"--pidfile={OVS_DIR}/ovsdb-server.pid", f"--log-file={OVS_DIR}/ovsdb-server.log",
            "--detach"]),
        _q(["ovs-vsctl", f"--db=unix:{OVS_DIR}/db.sock", "--no-wait", "init"]),
        _q(["ovs-vswitchd", f"unix:{OVS_DIR}/db.sock", f"--pidfile={OVS_DIR}/ovs-vswitchd.pid",
            f"--log-file={OVS_DIR}/ovs-vswitchd.log", "--detach"]),
    ]


_PRELUDE = f"""\
set -eu

wait_link() {{  # wait_link IFNAME: the link is created from outside the node
    n=0
    until ip link show dev "$1" >/dev/null 2>&1; do
        n=$((n + 1))
        if [ "$n" -gt {LINK_TIMEOUT * 10} ]; then echo "lgwan: no interface $1 after {LINK_TIMEOUT}s" >&2; exit 1; fi
        sleep 0.1
    done
}}

wait_ready() {{  # wait_ready NAME PID KIND ARG: like the runtime's process.wait_ready
    n=0
    while :; do
        if ! kill -0 "$2" 2>/dev/null; then
            echo "lgwan: daemon $1 exited:" >&2; tail -n 20 "{NODE_DIR}/$1.log" >&2 || true; exit 1
        fi
        case "$3" in
            tcp) [ -n "$(ss -Hltn "sport = :$4")" ] && return 0 ;;
            udp) [ -n "$(ss -Hlun "sport = :$4")" ] && return 0 ;;
            file) [ -e "$4" ] && return 0 ;;
            unix) python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$4" 2>/dev/null && return 0 ;;
        esac
        n=$((n + 1))
        if [ "$n" -gt {READY_TIMEOUT * 10} ]; then echo "lgwan: daemon $1 not ready after {READY_TIMEOUT}s" >&2; exit 1; fi
        sleep 0.1
    done
}}
"""


def _daemon_lines(d: Daemon) -> list[str]:
    argv = daemon_argv(d.argv)
    env = [f"{k}={v}" for k, v in d.env.items()]
    cmd = _q(["env", *env, *argv]) if env else _q(argv)
    log, pid = f"{NODE_DIR}/{d.name}.log", f"{NODE_DIR}/{d.name}.pid"
    lines = [f"setsid {cmd} </dev/null >>{shlex.quote(log)} 2>&1 &",
             f"pid=$!; echo \"$pid\" >{shlex.quote(pid)}"]
    if d.ready:
        kind, _, arg = d.ready.partition(":")
        lines.append(_q(["wait_ready", d.name]) + ' "$pid" ' + _q([kind, arg]))
    return lines


def node_script(plan: Plan, node: Node) -> str:
    """The start-up script of one node: everything ``lgwan up`` does inside it."""
    links = link_interfaces(plan, node.name)
    out = [
        "#!/bin/sh",
        f"# Start-up script of node {node.name} (role {node.role}) of lab {plan.lab}, model {plan.model}.",
        "# Generated by lgwan-lab (lgwan/render/startup.py) from the same Plan `lgwan up` deploys;",
        f"# the node's files are on {NODE_DIR}, as in the netns runtime.",
        _PRELUDE,
    ]
    env = node_env(plan.lab, node.name)
    out.append("export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()))
    out.append(": \"${LGWAN_OVS_DATAPATH:=netdev}\"")

    def section(title: str, cmds: list[str]) -> None:
        if cmds:
            out.append(f"\n# {title}")
            out.extend(cmds)

    section("links", [_q(["wait_link", i]) for i in links])
    section("checksums (this end faces a userspace Open vSwitch port)",
            [_q(["ethtool", "-K", ifname, "tx", "off"]) for n, ifname in plan.ovs_peer_interfaces() if n == node.name])
    # as in the netns runtime: sysctls and firewall before any link comes up
    section("sysctls", [_q(sysctl_argv(k, v)) for k, v in node.sysctls.items()])
    if node.firewall is not None:
        section("firewall", [_q(firewall_argv())])
    cmds = [_q(["ip", "link", "set", "lo", "up"])]
    for br in node.bridges:
        if br.ovs:
            continue
        cmds.append(_q(["ip", "link", "add", br.name, "type", "bridge"]))
        cmds += [_q(["ip", "link", "set", p, "master", br.name]) for p in br.ports]
        cmds.append(_q(["ip", "link", "set", br.name, "up"]))
    section("loopback and Linux bridges", cmds)

    ovs = [br for br in node.bridges if br.ovs]
    if ovs:
        cmds = ovs_start_commands()
        for br in ovs:
            cmds += ovs_bridge_commands(node, br, set(links))
        section("Open vSwitch (the node's own ovsdb-server and ovs-vswitchd)", cmds)

    cmds = []
    for br in node.bridges:
        own = any(i.name == br.name and br.address in i.addresses for i in node.interfaces)
        if br.address and not own:
            cmds.append(_q(["ip", "address", "add", br.address, "dev", br.name]))
    for iface in node.interfaces:
        cmds += [_q(["ip", "address", "add", a, "dev", iface.name]) for a in iface.addresses]
        cmds.append(_q(["ip", "link", "set", iface.name, "up"]))
    section("addresses", cmds)

    cmds = []
    for rule in node.rules:
        argv = ["ip", "rule", "add", "priority", str(rule.priority)]
        if rule.src:
            argv += ["from", rule.src]
        if rule.iif:
            argv += ["iif", rule.iif]
        argv += ["table", str(rule.table)]
        if rule.suppress_prefixlength is not None:
            argv += ["suppress_prefixlength", str(rule.suppress_prefixlength)]
        cmds.append(_q(argv))
    section("policy routing rules", cmds)
    section("routes", [_q(route_argv(r)) for r in node.routes])
    cmds = []
    for d in node.daemons:
        cmds += _daemon_lines(d)
    section("daemons", cmds)
    if "ipsec" in node.attrs:  # the relay router's tunnels: load the rendered swanctl.conf into charon
        section("IPsec connections and secrets", [
            _q(["env", f"STRONGSWAN_CONF={NODE_DIR}/strongswan.conf", "swanctl", "--load-all", "--file",
                f"{NODE_DIR}/swanctl.conf", "--uri", f"unix://{NODE_DIR}/charon.vici"]) + " >/dev/null"])
    out.append(f"\necho {shlex.quote(f'lgwan: {node.name} is up')}")
    return "\n".join(out) + "\n"
