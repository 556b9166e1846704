"""The relay router and LGWAN side, compiled and rendered without root."""

import pytest
from netaddr import IPAddress, IPNetwork

from lgwan.compiler import compile_plan
from lgwan.compiler.lgwan import CARRIER, cloud_pool, ike_address, lgr_name, pool_address
from lgwan.errors import LabInputError
from lgwan.runtime import ovs
from lgwan.topology import cloud_service_address, default_topology_path, load_topology
from relay_router import render
from relay_router.compile import FRONT, RELAY_SWITCH, transfer_nat, transfer_range, vrf_name


@pytest.fixture(scope="module")
def topo():
    return load_topology(default_topology_path())


@pytest.fixture(scope="module")
def plan(topo):
    return compile_plan(topo)


def test_every_municipality_has_a_vrf_holding_the_shared_ip(plan, topo):
    shared = topo.relay_router.shared_ip
    vrfs = [n for n in plan.nodes.values() if n.role == "relay_vrf"]
    assert {n.municipality for n in vrfs} == {m.name for _, m in topo.municipalities()}
    for n in vrfs:
        assert f"{shared}/32" in n.iface("up0").addresses
    # only the vrfs hold it
    holders = {n.name for n in plan.nodes.values() for i in n.interfaces if f"{shared}/32" in i.addresses}
    assert holders == {n.name for n in vrfs}


def test_vlans_are_unique_and_each_vrf_port_is_an_access_port_on_its_vlan(plan, topo):
    sw = plan.nodes[RELAY_SWITCH]
    vlans = [m.vlan for _, m in topo.municipalities()]
    assert len(set(vlans)) == len(vlans) == 3
    assert sw.iface("trunk0").trunk == sorted(vlans)
    for _, m in topo.municipalities():
        port = sw.iface(f"p{m.id}")
        assert port.vlan == m.vlan and port.peer == f"{vrf_name(m)}:vl0"
        assert plan.nodes["cloud-connect"].iface(f"p{m.id}").vlan == m.vlan
    assert [b.ovs for b in sw.bridges] == [True]


def test_nat_ranges_are_per_municipality_and_private(plan, topo):
    images = []
    for _, m in topo.municipalities():
        img = transfer_nat(topo, m)
        assert img in transfer_range(topo, m)
        assert img in IPNetwork(topo.addressing.transfer_pool)
        assert img.size == cloud_pool(m).size  # 1:1 prefix map
        images.append(img)
        text = plan.nodes[vrf_name(m)].files["nftables.conf"]
        assert f"snat ip prefix to ip saddr map {{ {cloud_pool(m)} : {img} }}" in text
        dmap = ", ".join(f"{cloud_service_address(topo, i)} : {s.address}" for i, s in enumerate(m.cloud.systems))
        assert f"dnat ip to ip daddr map {{ {dmap} }}" in text
    assert len({str(i) for i in images}) == len(images)


def test_traffic_selectors_never_contain_an_ike_address(plan, topo):
    for n in plan.nodes.values():
        if "ipsec" not in n.attrs:
            continue
        conf = render.parse_swanctl(n.files["swanctl.conf"])
        for conn in conf["connections"].values():
            ikes = [IPAddress(conn["local_addrs"]), IPAddress(conn["remote_addrs"])]
            for child in conn["children"].values():
                for ts in (child["local_ts"], child["remote_ts"]):
                    assert not any(ip in IPNetwork(ts) for ip in ikes), (n.name, ts)


def test_router_owns_an_address_in_its_local_ts(plan, topo):
    """kernel-libipsec installs the tunnel route with a source inside local_ts."""
    for _, m in topo.municipalities():
        lgr = plan.nodes[lgr_name(m)]
        assert f"{pool_address(m, 'number_use')}/32" in lgr.iface("in0").addresses
        assert IPAddress(pool_address(m, "number_use")) in cloud_pool(m)
        assert f"{ike_address(m)}/32" in lgr.iface("wan0").addresses
        vrf = plan.nodes[vrf_name(m)]
        svc = IPNetwork(topo.relay_router.service_range)
        assert f"{svc.network + 1}/32" in vrf.iface("vl0").addresses


def test_front_hands_each_peer_to_its_vrf_by_source(plan, topo):
    front = plan.nodes[FRONT]
    for _, m in topo.municipalities():
        rule = next(r for r in front.rules if r.src == m.lgwan_global)
        assert rule.iif == "up0"
        route = next(r for r in front.routes if r.table == rule.table)
        assert route.dst == f"{topo.relay_router.shared_ip}/32" and route.dev == f"v{m.id}"
    assert len({r.table for r in front.rules}) == 3


def test_swanctl_conf_renders_and_parses_back_to_vici_messages(plan, topo):
    m = topo.prefectures[0].municipalities[0]
    text = plan.nodes[lgr_name(m)].files["swanctl.conf"]
    assert ";" not in text  # swanctl separates settings by newlines only
    assert f'secret = "{m.psk}"' in text
    conns, shared = render.vici_messages(render.parse_swanctl(text))
    gc = conns["gc"]
    assert gc["remote_addrs"] == [topo.relay_router.shared_ip]
    assert gc["local_addrs"] == [ike_address(m)]
    assert gc["children"]["gc"]["local_ts"] == [str(cloud_pool(m))]
    assert gc["children"]["gc"]["remote_ts"] == [topo.relay_router.service_range]
    assert gc["children"]["gc"]["start_action"] == "start"
    assert shared == [{"id": "ike-gc", "type": "IKE", "data": m.psk,
                       "owners": [f"{m.name}.lgwan.example", "relay.jlis.example"]}]
    vrf = render.parse_swanctl(plan.nodes[vrf_name(m)].files["swanctl.conf"])
    conn = vrf["connections"][f"gc-{m.name}"]
    assert conn["unique"] == "replace" and conn["remote_addrs"] == ike_address(m)


def test_strongswan_conf_per_backend():
    libipsec = render.strongswan_conf("x", "kernel-libipsec")
    load = next(line for line in libipsec.splitlines() if line.strip().startswith("load =") and "kdf" in line).split()
    assert "kdf" in load and "sha1" in load
    assert load.index("kernel-libipsec") < load.index("kernel-netlink")
    assert "unix:///run/charon.vici" in libipsec and "path = /run/charon.log" in libipsec
    kernel = render.strongswan_conf("x", "kernel")
    assert "kernel-libipsec" not in kernel and "install_routes = no" in kernel
    conn = render.connection("gc", local_addr="1.1.1.1", remote_addr="2.2.2.2", local_id="a", remote_id="b",
                             local_ts="10.0.0.0/24", remote_ts="10.1.0.0/24", initiator=True, backend="kernel")
    assert conn["gc"]["children"]["gc"]["if_id_in"] == "1"
    with pytest.raises(ValueError):
        render.strongswan_conf("x", "fast")


def test_lgwan_router_fails_closed_and_translates(plan, topo):
    m = topo.prefectures[0].municipalities[0]
    text = plan.nodes[lgr_name(m)].files["nftables.conf"]
    svc = topo.relay_router.service_range
    assert f'ip daddr {svc} oifname != "ipsec0" counter drop' in text
    assert f'oifname "ipsec0" ip saddr {m.segments.number_use.prefix} snat ip to {pool_address(m, "number_use")}' in text
    assert f'oifname "wan0" ip saddr {m.inside} snat ip to ' in text
    # the fail-closed rules come before any accept
    fwd = text.split("chain filter_fwd")[1]
    assert fwd.index("fail closed") < fwd.index("accept")


def test_front_passes_only_ike_and_esp_in_udp(plan, topo):
    text = plan.nodes[FRONT].files["nftables.conf"]
    assert "type filter hook forward priority 0; policy drop;" in text
    assert f'iifname "up0" oifname "v*" ip daddr {topo.relay_router.shared_ip} udp dport {{ 500, 4500 }}' in text
    assert "carrier" in plan.nodes[CARRIER].role and "fib saddr . iif oif missing" in plan.nodes[CARRIER].files["nftables.conf"]


def test_segment_firewall_allows_rows_1_2_6_out_through_its_lgwan_router(plan, topo):
    m = topo.prefectures[0].municipalities[0]
    fw = plan.nodes[f"{m.name}-fw"]
    text = fw.files["nftables.conf"]
    for line in (f'iifname "nu0" oifname "lgr0" ip daddr {cloud_service_address(topo, 0)} tcp dport 443 ct state new',
                 f'iifname "lg0" oifname "lgr0" ip daddr {cloud_service_address(topo, 1)} tcp dport 443 ct state new',
                 f'iifname "lg0" oifname "lgr0" ip daddr {topo.lgwan.asp[0].address} tcp dport 443 ct state new'):
        assert line in text
    lgr_ip = plan.nodes[lgr_name(m)].iface("in0").addresses[0].split("/")[0]
    via_lgr = {r.dst for r in fw.routes if r.via == lgr_ip}
    assert via_lgr == {topo.relay_router.service_range, topo.lgwan.asp_prefix, topo.addressing.lgwan_global_pool}
    assert "default" not in via_lgr  # the security cloud owns the default route


def test_cloud_tenants_overlap_but_names_do_not(plan, topo):
    apps = [n for n in plan.nodes.values() if n.role == "cloud_app"]
    assert len(apps) == 6
    assert len({n.iface("eth0").addresses[0] for n in apps}) == 2  # the overlap
    assert all(len(n.name) <= 24 for n in plan.nodes.values())


def test_ovs_bridge_transaction():
    from lgwan.plan import Bridge, Interface, Node

    node = Node("sw", "switch", interfaces=[Interface("trunk0", trunk=[101, 102]), Interface("p1", vlan=101)],
                bridges=[Bridge("br0", ["trunk0", "p1"], ovs=True)])
    args = " ".join(ovs.vsctl_args(node, "netdev"))
    assert "add-br br0 -- set bridge br0 datapath_type=netdev" in args
    assert "add-port br0 trunk0 -- set port trunk0 vlan_mode=trunk trunks=101,102" in args
    assert "add-port br0 p1 -- set port p1 tag=101" in args
    names = [d.name for d in ovs.daemons()]
    assert names == ["ovsdb-server", "ovs-vswitchd"]


def test_shared_ip_inside_the_service_range_is_refused(tmp_path):
    f = tmp_path / "t.yml"
    f.write_text("name: t\nrelay_router: {shared_ip: 203.0.113.70}\n"
                 "prefectures: [{name: p, municipalities: [{name: m}]}]\n")
    with pytest.raises(LabInputError, match="IKE endpoint may not be in a traffic selector"):
        compile_plan(load_topology(f))


def test_x509_topology_renders_pubkey_auth_and_no_psk():
    from lgwan.compiler import compile_plan
    from lgwan.topology import load_topology

    topo = load_topology("x.yml", """
name: t1
relay_router: {auth: x509}
prefectures:
  - name: p
    municipalities: [{name: m, vlan: 101}]
""")
    plan = compile_plan(topo)
    for node in ("m-lgr", "relay-m"):
        files = plan.nodes[node].files
        assert "auth = pubkey" in files["swanctl.conf"] and "auth = psk" not in files["swanctl.conf"]
        assert "secrets" not in files["swanctl.conf"] and topo.prefectures[0].municipalities[0].psk not in files["swanctl.conf"]
        load = next(line for line in files["strongswan.conf"].splitlines() if "load =" in line).split()
        assert {"pem", "x509", "pkcs1", "pkcs8", "constraints"} <= set(load)
        assert load.index("kernel-libipsec") < load.index("kernel-netlink")
    # pre-shared keys stay the default, without the certificate plugins
    psk = compile_plan(load_topology("x.yml", "name: t1\nprefectures: [{name: p, municipalities: [{name: m}]}]\n"))
    assert "auth = psk" in psk.nodes["m-lgr"].files["swanctl.conf"]
    assert " x509 " not in psk.nodes["m-lgr"].files["strongswan.conf"]
