"""Load a topology file: parse, validate, fill defaults, plan addresses, check for conflicts.

``load_topology(path)`` returns a fully filled ``Topology`` (every optional field set) or raises
``LabInputError`` listing every problem with its file, line and document path.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from netaddr import IPAddress, IPNetwork
from pydantic import ValidationError

from .errors import LabInputError, Problem
from .model import (
    CloudSystem,
    Host,
    InternetService,
    Municipality,
    Topology,
)
from .source import PathT, Source, load_yaml

DEFAULTS: dict[str, Any] = yaml.safe_load(resources.files("lgwan").joinpath("defaults.yml").read_text())

# Third octet of each segment inside a municipality's /16, and of its transit links.
SEGMENT_OCTET = {"number_use": 10, "lgwan": 20, "internet": 30}
TRANSIT_OCTET = 255


def default_topology_path() -> Path:
    here = Path(__file__).resolve().parent.parent / "topology" / "default.yml"
    return here


def _pydantic_problems(exc: ValidationError, src: Source) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc: PathT = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            problems.append(src.problem(loc, f"unknown key '{loc[-1]}'"))
            continue
        if kind == "missing":
            problems.append(src.problem(loc[:-1], f"missing required key '{loc[-1]}'"))
            continue
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        elif kind == "literal_error":
            msg = f"{err['input']!r} is not one of: {err['ctx']['expected']}"
        else:
            msg = f"{msg} (got {err['input']!r})" if "input" in err and not isinstance(err["input"], (dict, list)) else msg
        # Annotated validators wrapped in unions add a type tag to the location; drop it.
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str", "int"))))
        problems.append(src.problem(loc, msg))
    # one problem per place is enough
    seen, unique = set(), []
    for p in problems:
        if (p.line, p.path, p.message) not in seen:
            seen.add((p.line, p.path, p.message))
            unique.append(p)
    return unique


def parse_topology(data: Any, src: Source) -> Topology:
    if not isinstance(data, dict):
        raise src.error((), "a topology file must be a mapping with at least 'name' and 'prefectures'")
    try:
        return Topology.model_validate(data)
    except ValidationError as exc:
        raise LabInputError(_pydantic_problems(exc, src)) from None


def load_topology(path: str | Path, text: str | None = None) -> Topology:
    data, src = load_yaml(path, text)
    topo = parse_topology(data, src)
    fill(topo, src)
    return topo


# --- defaults and the address plan -------------------------------------------------------


def _hosts(default: list[dict]) -> list[Host]:
    return [Host.model_validate(h) for h in default]


def fill(topo: Topology, src: Source) -> None:
    """Fill every optional field, then check the whole for conflicts (all problems at once)."""
    problems: list[Problem] = []
    a = topo.addressing
    mpath = {}
    for pi, pref in enumerate(topo.prefectures):
        for mi, m in enumerate(pref.municipalities):
            mpath[m.name] = ("prefectures", pi, "municipalities", mi)

    _check_unique(
        [(("prefectures", i, "name"), p.name) for i, p in enumerate(topo.prefectures)],
        "prefecture", src, problems,
    )
    munis = topo.municipalities()
    _check_unique([(("prefectures", pi, "municipalities", mi, "name"), m.name)
                   for pi, pref in enumerate(topo.prefectures) for mi, m in enumerate(pref.municipalities)],
                  "municipality", src, problems)
    if problems:
        raise LabInputError(problems)

    # ids: explicit ones first, the rest take the lowest free number in file order
    used: dict[int, str] = {}
    for _, m in munis:
        if m.id is not None:
            if m.id in used:
                problems.append(src.problem(mpath[m.name] + ("id",),
                                            f"id {m.id} is already used by municipality '{used[m.id]}'"))
            used[m.id] = m.name
    nxt = 1
    for _, m in munis:
        if m.id is None:
            while nxt in used:
                nxt += 1
            if nxt > 250:
                problems.append(src.problem(mpath[m.name], "more than 250 municipalities in one lab"))
                break
            m.id, used[nxt] = nxt, m.name

    vlans: dict[int, str] = {}
    for _, m in munis:
        explicit = m.vlan is not None
        if m.vlan is None:
            m.vlan = 100 + m.id if 100 + m.id not in vlans else None
        if m.vlan is None or m.vlan in vlans:
            where = mpath[m.name] + (("vlan",) if explicit else ())
            problems.append(src.problem(where, f"VLAN {m.vlan} is already used by municipality '{vlans.get(m.vlan)}'"
                                        if m.vlan is not None else "no free VLAN id; give one with 'vlan:'"))
        else:
            vlans[m.vlan] = m.name

    inside_pool = IPNetwork(a.inside_pool)
    global_pool = IPNetwork(a.lgwan_global_pool)
    global_blocks = list(global_pool.subnet(26)) if global_pool.prefixlen <= 26 else []
    globals_seen: list[tuple[IPNetwork, str]] = []
    for _, m in munis:
        base = mpath[m.name]
        if m.inside is None:
            if inside_pool.prefixlen > 16 or m.id >= 2 ** (16 - inside_pool.prefixlen):
                problems.append(src.problem(base, f"addressing.inside_pool {a.inside_pool} has no /16 for id {m.id}"))
                continue
            m.inside = str(list(inside_pool.subnet(16, count=m.id + 1))[m.id])
        if m.lgwan_global is None:
            if m.id >= len(global_blocks):
                problems.append(src.problem(base, f"addressing.lgwan_global_pool has no /26 for id {m.id}"))
            else:
                m.lgwan_global = str(global_blocks[m.id])
        if m.lgwan_global is not None:
            net = IPNetwork(m.lgwan_global)
            for other, oname in globals_seen:
                if net.first <= other.last and other.first <= net.last:
                    problems.append(src.problem(base + ("lgwan_global",),
                                                f"{net} overlaps the LGWAN global block {other} of '{oname}'"))
            globals_seen.append((net, m.name))
        if m.psk is None:
            m.psk = f"lgwan-lab-{topo.name}-{m.name}-psk"
        _fill_segments(m, base, src, problems)
        if m.lgwan_global is not None and m.segments.lgwan.hosts is not None:
            room = len(_publication_range(m))
            if len(published_servers(m)) > room:
                problems.append(src.problem(base + ("lgwan_global",),
                                            f"LGWAN global block {m.lgwan_global} has room to publish {room} lgwan "
                                            f"servers (from .{PUBLISHED_FIRST} of its lower half), not "
                                            f"{len(published_servers(m))}"))
        _fill_cloud(m, a.cloud_prefix, base, src, problems)

    topo.lgwan.asp = topo.lgwan.asp if topo.lgwan.asp is not None else [
        InternetService.model_validate(s) for s in DEFAULTS["asp"]]
    _fill_addresses([(("lgwan", "asp", i), s) for i, s in enumerate(topo.lgwan.asp)],
                    IPNetwork(topo.lgwan.asp_prefix), 10, src, problems)
    if topo.internet.services is None:
        topo.internet.services = [InternetService.model_validate(s) for s in DEFAULTS["internet"]]
    inet = IPNetwork(topo.internet.prefix)
    _fill_addresses([(("internet", "services", i), s) for i, s in enumerate(topo.internet.services)],
                    inet, 10, src, problems)
    _check_unique([(("internet", "services", i, "name"), s.name) for i, s in enumerate(topo.internet.services)],
                  "internet service", src, problems)
    if problems:
        raise LabInputError(problems)


def _check_unique(items: list[tuple[PathT, str]], what: str, src: Source, problems: list[Problem]) -> None:
    seen: dict[str, PathT] = {}
    for path, name in items:
        if name in seen:
            problems.append(src.problem(path, f"duplicate {what} name '{name}' (first at line {src.line(seen[name])})"))
        else:
            seen[name] = path


def _fill_addresses(items, prefix: IPNetwork, first: int, src: Source, problems: list[Problem],
                    reserved: dict[str, str] | None = None) -> None:
    """Give each item without an address the next free one from ``first``; check the given ones."""
    taken: dict[str, str] = dict(reserved or {})
    for path, item in items:
        if item.address is not None:
            ip = IPAddress(item.address)
            if ip not in prefix:
                problems.append(src.problem(path + ("address",), f"{ip} is outside the segment prefix {prefix}"))
            elif ip in (prefix.network, prefix.broadcast):
                problems.append(src.problem(path + ("address",), f"{ip} is the network or broadcast address of {prefix}"))
            elif str(ip) in taken:
                problems.append(src.problem(path + ("address",), f"address conflict: {ip} is already used by {taken[str(ip)]}"))
            taken[str(ip)] = item.name
    nxt = prefix.first + first
    for path, item in items:
        if item.address is None:
            while str(IPAddress(nxt)) in taken:
                nxt += 1
            if nxt >= prefix.last:
                problems.append(src.problem(path, f"no free address left in {prefix}"))
                return
            item.address = str(IPAddress(nxt))
            taken[item.address] = item.name


def _fill_segments(m: Municipality, base: PathT, src: Source, problems: list[Problem]) -> None:
    inside = IPNetwork(m.inside)
    prefixes: list[tuple[str, IPNetwork]] = []
    names: list[tuple[PathT, str]] = []
    for zone, octet in SEGMENT_OCTET.items():
        seg = getattr(m.segments, zone)
        spath = base + ("segments", zone)
        if seg.prefix is None:
            seg.prefix = str(IPNetwork(f"{inside.network + octet * 256}/24")) if inside.prefixlen <= 16 else None
            if seg.prefix is None:
                problems.append(src.problem(base + ("inside",), "must be a /16 or larger, or give each segment a prefix"))
                continue
        net = IPNetwork(seg.prefix)
        for other_zone, other in prefixes:
            if net.first <= other.last and other.first <= net.last:
                problems.append(src.problem(spath + ("prefix",), f"{net} overlaps the {other_zone} segment {other}"))
        prefixes.append((zone, net))
        if seg.hosts is None:
            seg.hosts = _hosts(DEFAULTS["segments"][zone])
        names += [(spath + ("hosts", i, "name"), h.name) for i, h in enumerate(seg.hosts)]
        # .1 is the segment firewall
        _fill_addresses([(spath + ("hosts", i), h) for i, h in enumerate(seg.hosts)], net, 10, src, problems,
                        reserved={str(net.network + 1): "the segment firewall"})
    _check_unique(names, "host", src, problems)


def _fill_cloud(m: Municipality, default_prefix: str, base: PathT, src: Source, problems: list[Problem]) -> None:
    cloud = m.cloud
    if cloud.prefix is None:
        cloud.prefix = default_prefix  # the same for every municipality: overlap on purpose
    if cloud.systems is None:
        cloud.systems = [CloudSystem.model_validate(s) for s in DEFAULTS["cloud"]]
    cpath = base + ("cloud",)
    _check_unique([(cpath + ("systems", i, "name"), s.name) for i, s in enumerate(cloud.systems)],
                  "cloud system", src, problems)
    # .1 is the tenant gateway
    net = IPNetwork(cloud.prefix)
    _fill_addresses([(cpath + ("systems", i), s) for i, s in enumerate(cloud.systems)], net, 10, src, problems,
                    reserved={str(net.network + 1): "the tenant gateway"})


def transit_subnet(m: Municipality, index: int) -> IPNetwork:
    """The index-th /30 of a municipality's transit range (10.<id>.255.0/24 by default)."""
    inside = IPNetwork(m.inside)
    block = IPNetwork(f"{inside.network + TRANSIT_OCTET * 256}/24")
    return list(block.subnet(30, count=index + 1))[index]


def carrier_subnet(topo: Topology, m: Municipality) -> IPNetwork:
    """The /30 between a municipality's LGWAN router (.2) and the LGWAN carrier (.1)."""
    pool = IPNetwork(topo.addressing.carrier_pool)
    return IPNetwork(f"{pool.network + 4 * m.id}/30")


def cloud_service_address(topo: Topology, system_index: int) -> str:
    """The global address at which every municipality reaches its own cloud system number
    ``system_index`` (its order in ``cloud.systems``). The same for all municipalities: each
    relay-router virtual router DNATs it to that municipality's private tenant address."""
    return str(IPNetwork(topo.relay_router.service_range).network + 10 + system_index)


#: fixed transit /30s of every municipality (``transit_subnet(m, N)``): firewall .1, peer .2
TRANSIT_LGWAN_ROUTER = 0    # <m>-fw:lgr0  <->  <m>-lgr:in0
TRANSIT_SECURITY_CLOUD = 1  # <m>-fw:sc0   <->  <pref>-sc:m<id>
TRANSIT_BREAKOUT = 2        # <m>-fw:bo0   <->  inet-gw:m<id>   (α′ local breakout line)
TRANSIT_SANITIZER = 3       # <m>-fw:sz0   <->  <m>-san:eth0    (sanitizer DMZ)


# --- publication of lgwan servers on the LGWAN global block (matrix row 6, inbound) ------------

#: first host number of the published addresses in the lower half of a municipality's LGWAN
#: global block (.1 is the SNAT address of ordinary LGWAN traffic, .2 the IKE endpoint; the upper
#: half is the Government Cloud pool)
PUBLISHED_FIRST = 10


def _publication_range(m: Municipality) -> list[IPAddress]:
    block = IPNetwork(m.lgwan_global)
    lower = list(block.subnet(block.prefixlen + 1))[0] if block.prefixlen < 32 else block
    return [IPAddress(a) for a in range(lower.first + PUBLISHED_FIRST, lower.last)]


def published_servers(m: Municipality) -> list[Host]:
    """The municipality's lgwan servers other municipalities reach over LGWAN (row 6): the hosts of
    its lgwan segment that offer services, in file order."""
    return [h for h in (m.segments.lgwan.hosts or []) if h.services]


def lgwan_published_address(m: Municipality, host: Host | str) -> str | None:
    """The LGWAN global address on which ``host`` (a Host or its name) of the lgwan segment is
    published (static 1:1 DNAT on the LGWAN router), or None if it is not published.

    Design: the n-th published server gets .10+n of the lower half of the block (a /26 by
    default: .10 to .30), clear of .1 (SNAT), .2 (IKE) and the upper-half cloud pool."""
    name = host if isinstance(host, str) else host.name
    names = [h.name for h in published_servers(m)]
    if name not in names:
        return None
    room = _publication_range(m)
    i = names.index(name)
    if i >= len(room):
        raise ValueError(f"no published address left in {m.lgwan_global} for {name}")
    return str(room[i])
