"""Row 6 inbound: lgwan servers published 1:1 on their municipality's LGWAN global block. No root."""

import pytest
from netaddr import IPAddress, IPNetwork

from lgwan.compiler import compile_plan
from lgwan.compiler.lgwan import cloud_pool, ike_address, lgwan_address
from lgwan.errors import LabInputError
from lgwan.expect import expected_verdict
from lgwan.model import MODELS
from lgwan.policy import load_model_policy
from lgwan.topology import default_topology_path, lgwan_published_address, load_topology, published_servers

TOPO = load_topology(default_topology_path())
MUNI = {m.name: m for _, m in TOPO.municipalities()}
POLICIES = {m: load_model_policy(m, TOPO) for m in MODELS}


def test_published_addresses_are_lower_half_from_10_clear_of_snat_ike_and_cloud_pool():
    seen = set()
    for _, m in TOPO.municipalities():
        servers = published_servers(m)
        assert [h.name for h in servers] == ["lg-files", "lg-mail"]  # the lgwan hosts with services
        block = IPNetwork(m.lgwan_global)
        for i, h in enumerate(servers):
            addr = lgwan_published_address(m, h)
            assert addr == lgwan_published_address(m, h.name) == str(block.network + 10 + i)
            assert IPAddress(addr) in list(block.subnet(block.prefixlen + 1))[0]
            assert addr not in (lgwan_address(m), ike_address(m)) and IPAddress(addr) not in cloud_pool(m)
            assert addr not in seen
            seen.add(addr)
        assert lgwan_published_address(m, "lg-term") is None  # a terminal is not published
        assert lgwan_published_address(m, "nu-app") is None   # nor anything outside the lgwan segment
    assert lgwan_published_address(MUNI["kawasaki"], "lg-files") == "198.18.0.138"


def test_a_block_without_room_for_the_servers_is_a_located_error():
    servers = "\n".join(f"            - {{name: s{i}, role: server, services: [{{name: files, port: 8000}}]}}"
                        for i in range(25))
    text = f"""name: full
prefectures:
  - name: p
    municipalities:
      - name: a
        segments:
          lgwan:
            hosts:
{servers}
"""
    with pytest.raises(LabInputError, match="room to publish 21 lgwan servers"):
        load_topology("full.yml", text)


def test_lgwan_router_dnats_published_addresses_and_forwards_only_from_other_lgwan_addresses():
    plan = compile_plan(load_topology(default_topology_path()))
    text = plan.nodes["kawasaki-lgr"].files["nftables.conf"]
    lines = [line.strip() for line in text.splitlines()]
    assert 'iifname "wan0" ip daddr 198.18.0.138 dnat ip to 10.2.20.11 comment "row 6 (published lgwan server)"' in lines
    assert 'iifname "wan0" ip daddr 198.18.0.139 dnat ip to 10.2.20.12 comment "row 6 (published lgwan server)"' in lines
    assert "type nat hook prerouting priority -100;" in lines
    fwd = next(line for line in lines if line.startswith('iifname "wan0" oifname "in0"'))
    assert fwd.startswith('iifname "wan0" oifname "in0" ct status dnat ip saddr { 198.18.0.65, 198.18.0.193 } '
                          'ip daddr { 10.2.20.11, 10.2.20.12 } counter accept')
    # nothing is ever DNATed into number_use
    assert not [line for line in lines if "dnat" in line and "10.2.10." in line]


ROW6 = [
    # (src, dst, proto, port, action, ref)
    ("yokohama-lg-term", "kawasaki-lg-files", "tcp", 8000, "allow", "row 6"),
    ("yokohama-lg-term", "sakai-lg-mail", "tcp", 25, "allow", "row 6"),
    ("kawasaki-lg-files", "yokohama-lg-files", "tcp", 8000, "allow", "row 6"),
    ("yokohama-lg-term", "kawasaki-lg-files", "tcp", 25, "deny", "default deny"),   # not its service
    ("yokohama-lg-term", "kawasaki-lg-term", "tcp", 22, "deny", "default deny"),    # not published
    ("yokohama-nu-term", "kawasaki-lg-files", "tcp", 8000, "deny", "row 4"),
    ("yokohama-in-term", "kawasaki-lg-files", "tcp", 8000, "deny", "default deny"),
    ("yokohama-in-term", "kawasaki-lg-mail", "tcp", 3389, "deny", "default deny"),
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("src,dst,proto,port,action,ref", ROW6)
def test_expected_verdicts_of_row_6_both_ways(model, src, dst, proto, port, action, ref):
    v = expected_verdict(TOPO, POLICIES[model], src, dst, proto, port)
    assert (v.action, v.ref) == (action, ref), v
    if action == "allow":
        assert [(h.firewall, h.action) for h in v.hops] == [
            (f"{src.split('-')[0]}-fw", "allow"), (f"{dst.split('-')[0]}-fw", "allow")]
    if src.startswith("yokohama-in"):
        # the internet segment is stopped at its own firewall, and the other side would refuse it too
        assert all(h.action == "deny" for h in v.hops), v


def test_verify_probes_row_6_both_ways_and_row_13_from_the_backbone():
    from lgwan.verify.matrix import matrix_cases

    plan = compile_plan(load_topology(default_topology_path()))
    cases = {c.id: c for c in matrix_cases(plan, TOPO)}
    assert len(cases) == len(matrix_cases(plan, TOPO))  # ids are unique
    # every host to every other municipality's published servers, probed at the published address
    c = cases["yokohama-lg-term->kawasaki-lg-files:tcp/8000"]
    assert (c.probe["dst"], c.ref, c.expect_answer) == ("198.18.0.138", "row 6", True)
    c = cases["kawasaki-lg-mail->yokohama-lg-mail:tcp/25"]
    assert (c.probe["dst"], c.ref, c.expect_answer) == ("198.18.0.75", "row 6", True)
    assert cases["yokohama-nu-term->sakai-lg-files:tcp/8000"].expect_answer is False
    assert cases["yokohama-in-term->sakai-lg-files:tcp/8000"].expect_answer is False
    # the LGWAN backbone (the ASP host) gets nothing in: published addresses and global addresses
    backbone = [c for c in cases.values() if c.source == "lgwan-asp-portal"]
    assert backbone and not any(c.expect_answer for c in backbone)
    dsts = {c.probe["dst"] for c in backbone}
    for _, m in TOPO.municipalities():
        assert {lgwan_address(m), ike_address(m), lgwan_published_address(m, "lg-files")} <= dsts
    row13 = [c for c in backbone if c.ref == "row 13"]
    assert {c.destination for c in row13} == {f"{m.name}-nu-app" for _, m in TOPO.municipalities()}
