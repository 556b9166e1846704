"""Wire-property cases built from a topology (no root, no lab)."""

from netaddr import IPNetwork

from lgwan.compiler import compile_plan
from lgwan.compiler.lgwan import ike_address
from lgwan.topology import default_topology_path, load_topology
from lgwan.verify.cases import build_cases, selects
from lgwan.verify.wire import REFS, classify_carrier, cloud_flows, trunk_owner, wire_cases


def lab():
    topo = load_topology(default_topology_path())
    return compile_plan(topo), topo


def test_one_case_per_property_and_municipality_and_one_fail_closed_case():
    plan, topo = lab()
    cases = wire_cases(plan, topo)
    munis = [m.name for _, m in topo.municipalities()]
    assert len(munis) == 3
    assert {c.id for c in cases} == {f"wire {n} {m}" for n in range(1, 7) for m in munis} | {f"wire 7 {munis[0]}"}
    assert len({c.id for c in cases}) == len(cases)
    for c in cases:
        n = int(c.id.split()[1])
        assert c.group == "wire" and c.ref == REFS[n] and c.ref.startswith(f"wire {n} ")
        assert c.check is not None and c.source is None and c.title.startswith(c.destination + ":")
        assert set(c.nodes) <= set(plan.nodes), set(c.nodes) - set(plan.nodes)
        assert c.exclusive == (n == 7)
    # each municipality's flows come from its own terminals to the shared service addresses
    for _, m in topo.municipalities():
        flows = cloud_flows(topo, m)
        assert flows and all(f["src"].startswith(f"{m.name}-") and f["system"] in plan.nodes for f in flows)


def test_only_selects_a_group_a_property_or_a_row():
    plan, topo = lab()
    wire = build_cases(plan, topo, only=["wire"])
    assert wire and {c.group for c in wire} == {"wire"}
    two = build_cases(plan, topo, only=["wire 2"])
    assert {c.ref for c in two} == {REFS[2]} and len(two) == 3
    assert {c.ref for c in build_cases(plan, topo, only=["Wire  7 fail closed"])} == {REFS[7]}
    assert {c.ref for c in build_cases(plan, topo, only=["row 1"])} == {"row 1"}  # not row 10..13
    c = wire[0]
    assert not selects("wire 1", type(c)(id="x", ref="wire 10 future", group="wire", title=""))


def test_carrier_classification():
    plan, topo = lab()
    m = next(m for _, m in topo.municipalities())
    ike, shared = ike_address(m), topo.relay_router.shared_ip
    svc = IPNetwork(topo.relay_router.service_range)
    recs = [{"src": ike, "dst": shared, "proto": 17, "sport": 4500, "dport": 4500, "summary": "esp-in-udp"},
            {"src": shared, "dst": ike, "proto": 50, "summary": "esp"},
            {"src": ike, "dst": shared, "proto": 1, "summary": "icmp to the shared ip"},
            {"src": "198.18.0.65", "dst": str(svc.network + 10), "proto": 6, "sport": 1, "dport": 443, "summary": "tcp"},
            {"src": "198.18.0.65", "dst": "192.0.2.1", "proto": 6, "sport": 1, "dport": 443, "summary": "asp"},
            {"src": "1.1.1.1", "dst": "2.2.2.2", "proto": "arp", "summary": "arp"}]
    c = classify_carrier(recs, ike, shared, svc)
    assert c == {"tunnel": ["esp-in-udp", "esp"], "clear": ["icmp to the shared ip", "tcp"]}


def test_trunk_frames_belong_to_the_municipality_of_their_transfer_range():
    plan, topo = lab()
    from relay_router.compile import transfer_range

    for _, m in topo.municipalities():
        x = transfer_range(topo, m)
        assert trunk_owner(topo, {"src": str(x.network + 129), "dst": "10.100.0.10"}) == m.name
        assert trunk_owner(topo, {"src": str(x.network + 1), "dst": str(x.network + 2), "proto": "arp"}) == m.name
    assert trunk_owner(topo, {"src": "10.100.0.10", "dst": "10.100.0.11"}) is None
