"""Policy -> nftables for the segment firewalls, the security cloud and α′'s DNS forwarder. No root."""

import pytest

from lgwan.compiler import compile_plan
from lgwan.compiler.firewall import rule_mark
from lgwan.model import MODELS
from lgwan.topology import cloud_service_address, default_topology_path, load_topology

TOPO = load_topology(default_topology_path())


def fw(model: str, muni: str = "yokohama") -> str:
    return compile_plan(load_topology(default_topology_path()), model).nodes[f"{muni}-fw"].files["nftables.conf"]


def rules_with(text: str, ref: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().endswith(f'comment "{ref}"')]


def test_rows_1_2_and_6_go_to_the_lgwan_router_with_pinned_ports():
    text = fw("alpha")
    juki, lgsys = cloud_service_address(TOPO, 0), cloud_service_address(TOPO, 1)
    match = f'iifname "nu0" oifname "lgr0" ip daddr {juki} tcp dport 443'
    assert rules_with(text, "row 1") == [
        f'{match} ct state new ct mark set {rule_mark("row 1|" + match):#010x} counter accept comment "row 1"']
    assert rules_with(text, "row 2")[0].startswith(f'iifname "lg0" oifname "lgr0" ip daddr {lgsys} tcp dport 443 ct state new')
    asp = TOPO.lgwan.asp[0].address
    row6 = rules_with(text, "row 6")
    assert row6[0].startswith(f'iifname "lg0" oifname "lgr0" ip daddr {asp} tcp dport 443 ct state new')
    # other municipalities' LGWAN services: their published lgwan servers, their service ports
    assert row6[1].startswith('iifname "lg0" oifname "lgr0" ip daddr { 198.18.0.138, 198.18.0.202 } tcp dport 8000 ct state new')
    assert row6[2].startswith('iifname "lg0" oifname "lgr0" ip daddr { 198.18.0.139, 198.18.0.203 } '
                              'tcp dport { 25, 443, 3389 } ct state new')
    # inbound: only from the others' LGWAN addresses (their lgwan segments), to our servers' services
    assert row6[3].startswith('iifname "lgr0" oifname "lg0" ip saddr { 198.18.0.129, 198.18.0.193 } '
                              'ip daddr 10.1.20.11 tcp dport 8000 ct state new')
    assert len(row6) == 5


def test_number_use_is_default_deny_after_its_pinned_destinations():
    lines = [line.strip() for line in fw("alpha").splitlines()]
    assert 'iifname "nu0" counter drop comment "row 4"' in lines
    assert lines.index('iifname "nu0" counter drop comment "row 4"') > next(
        i for i, line in enumerate(lines) if line.endswith('"row 1"'))
    chain = fw("alpha").split("chain forward {")[1].split("\t}")[0].strip().splitlines()
    assert chain[-1].strip() == 'counter comment "default deny"'
    assert "policy drop;" in chain[0]


def test_screen_transfer_direction_follows_the_model():
    alpha, beta = fw("alpha"), fw("beta")
    assert rules_with(alpha, "row 8")[0].startswith(
        'iifname "lg0" oifname "in0" ip saddr 10.1.20.10 ip daddr 10.1.30.11 tcp dport 3389 ct state new')
    assert rules_with(alpha, "row 9") == ['iifname "in0" oifname "lg0" ip daddr 10.1.20.12 tcp dport 3389 counter drop comment "row 9"']
    assert rules_with(beta, "row 8") == []
    assert rules_with(beta, "row 9")[0].startswith(
        'iifname "in0" oifname "lg0" ip saddr 10.1.30.10 ip daddr 10.1.20.12 tcp dport 3389 ct state new')


def test_sanitizer_is_the_only_path_from_internet_to_lgwan():
    for model in MODELS:
        row10 = rules_with(fw(model), "row 10")
        assert row10[0].startswith('iifname "in0" oifname "sz0" ip daddr 10.1.255.14 tcp dport 8080 ct state new')
        assert row10[1].startswith('iifname "sz0" oifname "lg0" ip saddr 10.1.255.14 ip daddr 10.1.20.11 tcp dport 8000 ct state new')
        assert row10[2] == 'iifname "in0" oifname "lg0" counter drop comment "row 10"'


def test_internet_segment_leaves_only_through_the_proxy():
    row11 = rules_with(fw("alpha"), "row 11")
    assert row11[0].startswith('iifname "in0" oifname "sc0" ip daddr 10.1.255.6 tcp dport 8080 ct state new')
    assert row11[1] == 'iifname "in0" oifname { "sc0", "bo0" } counter drop comment "row 11"'


def test_alpha_prime_breakout_is_by_name_only():
    text = fw("alpha_prime")
    assert "set fqdn_meet_saas_example {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t\ttimeout 1h\n\t}" in text
    row7 = rules_with(text, "row 7")
    assert row7[0].startswith('iifname "lg0" oifname "bo0" ip saddr 10.1.20.10 ip daddr @fqdn_meet_saas_example tcp dport 443 ct state new')
    assert row7[1].startswith('iifname "lg0" oifname "bo0" ip saddr 10.1.20.10 ip daddr @fqdn_meet_saas_example udp dport 3478 ct state new')
    assert row7[2] == 'iifname "lg0" oifname { "sc0", "bo0" } counter drop comment "row 7"'
    # no internet address is written into the ruleset: 192.0.2.x only ever comes from DNS
    assert "192.0.2." not in text
    assert 'oifname "bo0" counter masquerade' in text
    assert 'iifname "lg0" ip saddr 10.1.20.10 ip daddr 10.1.20.1 udp dport 53 counter accept' in text
    for model in ("alpha", "beta", "beta_prime"):
        assert "fqdn_" not in fw(model) and "masquerade" not in fw(model)


def test_dns_forwarder_runs_only_in_alpha_prime_and_forwards_only_allowed_names():
    plans = {m: compile_plan(load_topology(default_topology_path()), m) for m in MODELS}
    for m, plan in plans.items():
        names = [d.name for d in plan.nodes["yokohama-fw"].daemons]
        assert names == (["dns-forwarder"] if m == "alpha_prime" else [])
    conf = plans["alpha_prime"].nodes["yokohama-fw"].files["dns-forwarder.conf"].splitlines()
    assert "address=/#/" in conf and "listen-address=10.1.20.1" in conf
    assert [line for line in conf if line.startswith(("server=", "nftset="))] == [
        "server=/meet.saas.example/192.0.2.53@10.1.255.9",
        "nftset=/meet.saas.example/4#inet#lgwan#fqdn_meet_saas_example",
    ]
    assert "address=/*.meet.saas.example/" in conf


def test_established_flows_live_only_as_long_as_their_rule():
    text = fw("alpha")
    marks = [line.split("ct mark set ")[1].split()[0] for line in text.splitlines() if "ct mark set" in line]
    est = next(line for line in text.splitlines() if "ct state established,related ct mark" in line)
    assert sorted(est.split("{ ")[1].split(" }")[0].split(", ")) == sorted(["0x00000000", *marks])
    # the same rule has the same mark in every model; a rule of one model only is not in another's set
    row8 = next(line for line in text.splitlines() if line.strip().endswith('"row 8"')).split("ct mark set ")[1].split()[0]
    assert row8 in fw("alpha_prime") and row8 not in fw("beta")


@pytest.mark.parametrize("model", MODELS)
def test_every_rule_of_the_forward_chain_names_its_row(model):
    text = fw(model)
    chain = text.split("chain forward {")[1].split("\t}")[0]
    lines = chain.strip().splitlines()
    assert lines[2].strip() == "ct state invalid drop"
    for line in lines[3:]:
        assert 'comment "' in line, line


def test_security_cloud_proxy_and_host_firewall():
    plan = compile_plan(load_topology(default_topology_path()))
    sc = plan.nodes["kanagawa-sc"]
    conf = sc.files["tinyproxy.conf"].splitlines()
    assert "Port 8080" in conf and 'LogFile "/run/tinyproxy.log"' in conf and "ConnectPort 443" in conf
    assert [c for c in conf if c.startswith("Allow")] == ["Allow 10.1.30.0/24", "Allow 10.2.30.0/24"]
    assert sc.files["resolv.conf"] == "nameserver 192.0.2.53\n"
    assert 'iifname "m1" ip saddr 10.1.30.0/24 tcp dport 8080 ct state new counter accept comment "row 11"' in sc.files["nftables.conf"]
    assert "net.ipv4.ip_forward" not in sc.sysctls  # the proxy is the only way through
    assert [i.name for i in sc.interfaces] == ["up0", "m1", "m2"]
    fwn = plan.nodes["yokohama-fw"]
    assert fwn.routes[0].dst == "default" and fwn.routes[0].via == "10.1.255.6"
    # local breakout: lg0's internet-bound traffic (and the forwarder's queries) use the breakout table
    assert [(r.priority, r.table, r.iif, r.src, r.suppress_prefixlength) for r in fwn.rules] == [
        (100, 254, "lg0", None, 0), (101, 200, "lg0", None, None), (102, 200, None, "10.1.255.9/32", None)]


def test_models_differ_only_in_rules_files_and_daemons():
    """``lgwan model set`` never needs a redeploy: nodes, links, addresses and routes are model-independent."""
    from lgwan.errors import LabStateError
    from lgwan.runtime.reload import check_same_network

    plans = {m: compile_plan(load_topology(default_topology_path()), m) for m in MODELS}
    for a in MODELS:
        for b in MODELS:
            check_same_network(plans[a], plans[b])
    other = compile_plan(load_topology("x.yml", "name: lgwan\nprefectures:\n  - name: p\n    municipalities: [{name: m}]\n"))
    with pytest.raises(LabStateError, match="changed since it was deployed"):
        check_same_network(plans["alpha"], other)
