"""Attack cases are derived from the topology: which exist, what they target, what they expect."""

from lgwan.compiler import compile_plan
from lgwan.topology import default_topology_path, load_topology
from lgwan.verify.attacks import attack_cases, public_addresses
from lgwan.verify.cases import build_cases

REFS = {"attack: vlan hopping", "attack: spoofed source", "attack: plaintext to the shared IP",
        "attack: unsolicited from the internet", "attack: cross-tenant"}


def cases(model: str):
    topo = load_topology(default_topology_path())
    plan = compile_plan(topo, model)
    return plan, topo, attack_cases(plan, topo)


def test_every_attack_is_expected_to_fail_and_names_its_nodes():
    plan, _, cs = cases("alpha")
    assert {c.ref for c in cs} == REFS  # no α′ cases without FQDN rules
    assert len({c.id for c in cs}) == len(cs)
    for c in cs:
        assert c.group == "attack" and c.id.startswith("attack:")
        if c.check is None:
            assert c.expect_answer is False and c.source in plan.nodes
        else:
            assert c.nodes and set(c.nodes) <= set(plan.nodes)


def test_alpha_prime_adds_the_allow_list_bypass():
    _, _, cs = cases("alpha_prime")
    alpha = [c for c in cs if c.ref == "attack: α′ allow-list bypass"]
    ids = {c.id for c in alpha}
    assert "attack:alpha-prime:not-allowed-name:yokohama-lg-term->other.saas.example" in ids
    assert "attack:alpha-prime:not-allowed-name:yokohama-lg-term->verify-sub.meet.saas.example" in ids
    assert "attack:alpha-prime:direct-ip:yokohama-lg-term->192.0.2.11:tcp/443" in ids
    assert "attack:alpha-prime:dns-tunnel:txt:sakai-lg-term->meet.saas.example" in ids
    assert not any("meet.saas.example" == c.destination for c in alpha if "not-allowed-name" in c.id)


def test_vlan_hopping_and_cross_tenant_cover_every_municipality_and_its_neighbour():
    _, topo, cs = cases("alpha")
    hops = [c for c in cs if c.ref == "attack: vlan hopping"]
    munis = [m.name for _, m in topo.municipalities()]
    assert len(hops) == 2 * len(munis)
    assert {c.destination for c in hops} == {f"VLAN {m.vlan}" for _, m in topo.municipalities()}
    forged = [c for c in cs if c.ref == "attack: cross-tenant" and c.check is not None]
    assert {c.nodes[0] for c in forged} == {f"{m}-nu-term" for m in munis}


def test_unsolicited_covers_every_public_address():
    plan, topo, cs = cases("alpha")
    targets = {c.probe["dst"] for c in cs if c.ref == "attack: unsolicited from the internet"}
    addrs = {a for a, _ in public_addresses(plan, topo)}
    assert addrs <= targets
    assert {"203.0.113.1", "198.51.100.2", "198.51.100.6", "10.1.255.9", "198.18.0.65"} <= addrs
    assert all(c.source == "inet-attacker" for c in cs if c.ref == "attack: unsolicited from the internet")


def test_only_selects_the_attack_group_or_one_attack():
    topo = load_topology(default_topology_path())
    plan = compile_plan(topo, "alpha")
    assert {c.group for c in build_cases(plan, topo, only=["attack"])} == {"attack"}
    assert {c.ref for c in build_cases(plan, topo, only=["attack: vlan hopping"])} == {"attack: vlan hopping"}


def test_one_municipality_has_no_neighbour_to_hop_to(tmp_path):
    f = tmp_path / "one.yml"
    f.write_text("name: one\nprefectures:\n  - name: kanagawa\n    municipalities:\n      - {name: yokohama, vlan: 101}\n")
    topo = load_topology(f)
    cs = attack_cases(compile_plan(topo), topo)
    refs = {c.ref for c in cs}
    assert "attack: vlan hopping" not in refs and "attack: cross-tenant" not in refs
    assert "attack: spoofed source" in refs and "attack: unsolicited from the internet" in refs
