"""The compiler: address plan, nodes, links and firewall text, from a topology. No root."""

import json

from netaddr import IPNetwork

from lgwan.compiler import compile_plan
from lgwan.plan import Plan
from lgwan.topology import default_topology_path, load_topology


def default_plan(model=None):
    return compile_plan(load_topology(default_topology_path()), model)


def test_address_plan_is_per_municipality():
    topo = load_topology(default_topology_path())
    munis = {m.name: m for _, m in topo.municipalities()}
    assert munis["yokohama"].inside == "10.1.0.0/16"
    assert munis["sakai"].segments.number_use.prefix == "10.3.10.0/24"
    assert munis["kawasaki"].segments.lgwan.hosts[0].address == "10.2.20.10"
    # the LGWAN global blocks are distinct; the cloud tenants overlap on purpose
    blocks = [IPNetwork(m.lgwan_global) for m in munis.values()]
    assert len({b.cidr for b in blocks}) == 3
    assert {m.cloud.prefix for m in munis.values()} == {"10.100.0.0/24"}


def test_explicit_addresses_are_kept_and_others_flow_around_them():
    topo = load_topology("x.yml", """
name: t1
prefectures:
  - name: p
    municipalities:
      - name: m
        segments:
          lgwan:
            hosts: [{name: a}, {name: b, address: 10.1.20.10}, {name: c}]
""")
    hosts = {h.name: h.address for h in topo.prefectures[0].municipalities[0].segments.lgwan.hosts}
    assert hosts == {"a": "10.1.20.11", "b": "10.1.20.10", "c": "10.1.20.12"}


def test_every_link_joins_existing_interfaces_with_short_names():
    plan = default_plan()
    for link in plan.links:
        for node, ifname in ((link.a, link.a_if), (link.b, link.b_if)):
            assert node in plan.nodes
            assert len(ifname) <= 15
            assert plan.nodes[node].iface(ifname)
    for node in plan.nodes.values():
        names = [i.name for i in node.interfaces]
        assert len(names) == len(set(names)), node.name


def test_hosts_route_through_their_segment_firewall():
    plan = default_plan()
    term = plan.nodes["yokohama-nu-term"]
    assert term.zone == "number_use" and term.role == "terminal"
    assert term.iface("eth0").addresses == ["10.1.10.10/24"]
    assert term.routes[0].via == "10.1.10.1"
    fw = plan.nodes["yokohama-fw"]
    assert fw.iface("nu0").addresses == ["10.1.10.1/24"]
    assert fw.sysctls["net.ipv4.ip_forward"] == "1"


def test_firewall_is_default_deny_and_names_matrix_rows():
    text = default_plan("alpha").nodes["yokohama-fw"].files["nftables.conf"]
    assert "chain forward {\n\t\ttype filter hook forward priority 0; policy drop;" in text
    assert 'iifname "lg0" oifname "in0" ip saddr 10.1.20.10 ip daddr 10.1.30.11 tcp dport 3389 ct state new' in text
    beta = default_plan("beta").nodes["yokohama-fw"].files["nftables.conf"]
    assert 'comment "row 8"' not in beta
    assert 'iifname "in0" oifname "lg0" ip saddr 10.1.30.10 ip daddr 10.1.20.12 tcp dport 3389 ct state new' in beta


def test_firewall_file_replaces_the_table_atomically():
    text = default_plan().nodes["yokohama-fw"].files["nftables.conf"]
    lines = text.splitlines()
    i = lines.index("table inet lgwan {}")
    assert lines[i + 1] == "delete table inet lgwan"
    assert lines[i + 2] == "table inet lgwan {"


def test_plan_survives_json_round_trip():
    plan = default_plan()
    again = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan


def test_namespaces_carry_the_lab_name():
    plan = default_plan()
    assert plan.namespace("yokohama-fw") == "lgwan.yokohama-fw"
