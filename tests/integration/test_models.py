"""The four security models on one running lab: real packets for every matrix row the lab carries.

One lab (one municipality, its prefecture's security cloud, the lab internet) is deployed for
the module and switched between models with ``lgwan model set``. For every model each flow is
probed from inside its source node and must behave as ``expected_verdict`` says: allowed flows
complete (TCP handshake or banner, UDP answer, HTTP through the proxy, a file through the
sanitizer), denied ones get no answer. Rows 1, 2, 3, 6 and 13 need the LGWAN router and the
relay router (issue 4); their compiled rules are unit-tested (tests/unit/test_firewall.py).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from lgwan.compiler.internet import uplink_subnet
from lgwan.expect import expected_verdict
from lgwan.policy import load_model_policy
from lgwan.runtime import process
from lgwan.runtime.probes import run_probes
from lgwan.runtime.state import LabState

from .conftest import ONE_MUNICIPALITY, deployed, lgwan

PROXY = "10.1.255.6:8080"       # the security cloud as the internet segment reaches it
SANITIZER = "10.1.255.14:8080"
FILES = "10.1.20.11:8000"
FW_LG = "10.1.20.1"             # the firewall on the lgwan segment (α′'s DNS forwarder)
MEET, OTHER, WEB, DNS = "192.0.2.11", "192.0.2.12", "192.0.2.10", "192.0.2.53"

# (row, source node, destination endpoint, proto, port, probe)
FLOWS = [
    ("row 4", "yokohama-nu-term", "inet-web", "tcp", 80, {"kind": "tcp", "dst": WEB, "port": 80}),
    ("row 4", "yokohama-nu-term", "yokohama-in-vb", "tcp", 3389, {"kind": "tcp", "dst": "10.1.30.11", "port": 3389}),
    ("row 4", "yokohama-nu-term", "kanagawa-sc", "tcp", 8080, {"kind": "tcp", "dst": "10.1.255.6", "port": 8080}),
    ("row 5", "yokohama-nu-term", "yokohama-lg-files", "tcp", 8000, {"kind": "tcp", "dst": "10.1.20.11", "port": 8000}),
    ("row 5", "yokohama-lg-term", "yokohama-nu-app", "tcp", 443, {"kind": "tcp", "dst": "10.1.10.11", "port": 443}),
    ("row 7", "yokohama-lg-term", "meet.saas.example", "tcp", 443, {"kind": "connect", "dst": MEET, "port": 443}),
    ("row 7", "yokohama-lg-term", "meet.saas.example", "udp", 3478, {"kind": "udp", "dst": MEET, "port": 3478}),
    ("row 7", "yokohama-lg-term", "meet.saas.example", "tcp", 80, {"kind": "tcp", "dst": MEET, "port": 80}),
    ("row 7", "yokohama-lg-term", "other.saas.example", "tcp", 443, {"kind": "tcp", "dst": OTHER, "port": 443}),
    ("row 7", "yokohama-lg-term", "inet-web", "tcp", 80, {"kind": "tcp", "dst": WEB, "port": 80}),
    ("row 7", "yokohama-lg-term", "inet-dns", "udp", 53, {"kind": "dns", "server": DNS, "name": "web.example"}),
    ("row 8", "yokohama-lg-term", "yokohama-in-vb", "tcp", 3389, {"kind": "connect", "dst": "10.1.30.11", "port": 3389}),
    ("row 8", "yokohama-lg-term", "yokohama-in-vb", "tcp", 3390, {"kind": "tcp", "dst": "10.1.30.11", "port": 3390}),
    ("row 9", "yokohama-in-term", "yokohama-lg-mail", "tcp", 3389, {"kind": "connect", "dst": "10.1.20.12", "port": 3389}),
    ("row 10", "yokohama-in-term", "yokohama-san", "tcp", 8080,
     {"kind": "upload", "url": f"http://{SANITIZER}/upload?name=notice-MODEL.txt", "data": "meeting at 15:00 (MODEL)\n"}),
    ("row 10", "yokohama-in-term", "yokohama-lg-files", "tcp", 8000, {"kind": "tcp", "dst": "10.1.20.11", "port": 8000}),
    ("row 10", "yokohama-in-term", "yokohama-lg-mail", "tcp", 25, {"kind": "tcp", "dst": "10.1.20.12", "port": 25}),
    ("row 10", "yokohama-lg-term", "yokohama-san", "tcp", 8080, {"kind": "tcp", "dst": "10.1.255.14", "port": 8080}),
    ("row 11", "yokohama-in-term", "kanagawa-sc", "tcp", 8080,
     {"kind": "http", "url": "http://web.example/", "proxy": PROXY}),
    ("row 11", "yokohama-in-term", "kanagawa-sc", "tcp", 8080,
     {"kind": "tunnel", "proxy": PROXY, "dst": "meet.saas.example", "port": 443}),
    ("row 11", "yokohama-in-term", "inet-web", "tcp", 80, {"kind": "tcp", "dst": WEB, "port": 80}),
    ("row 11", "yokohama-in-term", "meet.saas.example", "udp", 3478, {"kind": "udp", "dst": MEET, "port": 3478}),
    ("row 12", "inet-attacker", "yokohama-lg-mail", "tcp", 25, {"kind": "tcp", "dst": "10.1.20.12", "port": 25}),
    ("row 12", "inet-attacker", "yokohama-san", "tcp", 8080, {"kind": "tcp", "dst": "10.1.255.14", "port": 8080}),
    ("row 12", "inet-attacker", "kanagawa-sc", "tcp", 8080,
     {"kind": "tcp", "dst": str(uplink_subnet(0).network + 2), "port": 8080}),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with deployed(tmp_path_factory, ONE_MUNICIPALITY, "alpha") as lab:
        yield lab


def set_model(plan, model: str) -> None:
    r = lgwan("model", "set", model, "--lab", plan.lab)
    assert r.returncode == 0, r.stderr
    assert "switched from" in r.stdout and f"to {model}" in r.stdout


def probe(plan, node: str, probes: list[dict]) -> list[dict]:
    return run_probes(plan, node, probes, timeout=120)


def run_flows(plan, topo, model: str) -> dict[int, tuple[bool, bool, dict]]:
    """Probe every flow (sources in parallel); return {index: (expected, observed, result)}."""
    policy = load_model_policy(model, topo)
    expected = {i: expected_verdict(topo, policy, src, dst, proto, port).allowed
                for i, (_, src, dst, proto, port, _) in enumerate(FLOWS)}
    by_src: dict[str, list[int]] = {}
    for i, flow in enumerate(FLOWS):
        by_src.setdefault(flow[1], []).append(i)

    def one(src: str):
        probes = []
        for i in by_src[src]:
            p = json.loads(json.dumps(FLOWS[i][5]).replace("MODEL", model))
            # a denied flow must stay silent; an allowed one may be slow on a busy machine
            p.update(timeout=4.0 if expected[i] else 0.7, retry=0)
            probes.append(p)
        return dict(zip(by_src[src], probe(plan, src, probes)))

    results: dict[int, dict] = {}
    with ThreadPoolExecutor(len(by_src)) as pool:
        for out in pool.map(one, by_src):
            results.update(out)
    return {i: (expected[i], results[i]["answered"], results[i]) for i in results}


def breakout_lookup(plan, model: str) -> list[dict]:
    """α′: the lgwan terminal resolves through the firewall, which fills the allow-list set."""
    return probe(plan, "yokohama-lg-term", [
        {"kind": "dns", "server": FW_LG, "name": "meet.saas.example", "timeout": 3.0 if model == "alpha_prime" else 0.7},
        {"kind": "dns", "server": FW_LG, "name": "other.saas.example", "timeout": 3.0 if model == "alpha_prime" else 0.7},
        {"kind": "dns", "server": FW_LG, "name": "x.meet.saas.example", "timeout": 3.0 if model == "alpha_prime" else 0.7},
    ])


def test_every_model_carries_exactly_its_policy(lab):
    plan, topo = lab
    observed: dict[str, dict[int, bool]] = {}
    for model in ("alpha", "beta", "beta_prime", "alpha_prime"):
        set_model(plan, model)
        st = json.loads(lgwan("status", "--json").stdout)
        assert next(s for s in st if s["lab"] == plan.lab)["model"] == model
        if model == "alpha_prime":
            # enforced by name: before any lookup, the allow-listed SaaS is closed even by address
            before = probe(plan, "yokohama-lg-term", [{"kind": "tcp", "dst": MEET, "port": 443, "timeout": 0.7, "retry": 0}])
            assert not before[0]["answered"], before
        dns = breakout_lookup(plan, model)
        if model == "alpha_prime":
            assert [(r["rcode"], r["addresses"]) for r in dns] == [("NOERROR", [MEET]), ("NXDOMAIN", []), ("NXDOMAIN", [])]
        else:
            assert [r["answered"] for r in dns] == [False, False, False], dns
        results = run_flows(plan, topo, model)
        wrong = [(FLOWS[i][0], FLOWS[i][1], FLOWS[i][2], FLOWS[i][4], exp, r["detail"])
                 for i, (exp, got, r) in results.items() if exp != got]
        assert not wrong, f"{model}: flows that did not behave as the policy says: {wrong}"
        observed[model] = {i: got for i, (_, got, _) in results.items()}
        # each model allows some flows and denies others (the probes are not all-fail or all-pass)
        assert any(observed[model].values()) and not all(observed[model].values())
        _check_model_specifics(plan, model, results)

    # switching changes exactly the rows that differ between the models
    def changed(a, b):
        return {FLOWS[i][0] for i in observed[a] if observed[a][i] != observed[b][i]}

    assert changed("alpha", "beta") == {"row 8", "row 9"}
    assert changed("beta", "beta_prime") == set()
    assert changed("alpha", "alpha_prime") == {"row 7"}


def _check_model_specifics(plan, model: str, results) -> None:
    by_probe = {(FLOWS[i][0], FLOWS[i][5]["kind"]): r for i, (_, _, r) in results.items()}
    # the proxy fetched the page from the web server: the server saw the security cloud, not the terminal
    http = by_probe[("row 11", "http")]
    assert http["status"] == 200 and "lgwan inet-web tcp/80 from 198.51.100.2" in http["detail"], http
    tunnel = by_probe[("row 11", "tunnel")]
    assert "lgwan inet-meet tcp/443 from 198.51.100.2" in tunnel["detail"], tunnel
    # the file crossed through the sanitizer and is on the lgwan file server, unchanged (plain text)
    upload = by_probe[("row 10", "upload")]
    assert json.loads(upload["detail"]) == {"verdict": "pass", "reason": "plain UTF-8 text", "delivered": True}
    got = probe(plan, "yokohama-lg-term", [{"kind": "http", "url": f"http://{FILES}/notice-{model}.txt", "timeout": 4.0}])
    assert got[0]["status"] == 200 and got[0]["detail"].endswith(f"meeting at 15:00 ({model})"), got
    if model == "alpha_prime":
        # the breakout leaves by the municipality's own line, masqueraded to its address
        meet = by_probe[("row 7", "connect")]
        assert meet["detail"] == "lgwan inet-meet tcp/443 from 10.1.255.9", meet


def test_sanitizer_rejects_active_content_and_the_file_server_only_takes_the_sanitizer(lab):
    plan, _ = lab
    r = probe(plan, "yokohama-in-term", [
        {"kind": "upload", "url": f"http://{SANITIZER}/upload?name=setup.txt", "data": "MZ\u0090 not a text", "timeout": 4.0},
        {"kind": "upload", "url": f"http://{SANITIZER}/upload?name=page.txt", "data": "hi <script>alert(1)</script>", "timeout": 4.0},
    ])
    assert [x["status"] for x in r] == [422, 422], r
    assert json.loads(r[1]["detail"])["reason"] == "active/markup content in text: '<script'"
    files = probe(plan, "yokohama-lg-term", [{"kind": "http", "url": f"http://{FILES}/page.txt", "timeout": 4.0}])
    assert files[0]["status"] == 404
    # the lgwan terminal itself cannot write to the file server (only the sanitizer's address may)
    node_dir = LabState(plan.lab).node_dir("yokohama-lg-term")
    out = process.run_in_node(plan.lab, plan.namespace("yokohama-lg-term"), "yokohama-lg-term", node_dir,
                              ["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-T", "/etc/hostname",
                               f"http://{FILES}/x.txt"], check=False)
    assert out.stdout == "403", out


def test_switching_away_from_alpha_prime_cuts_its_established_flows(lab):
    plan, _ = lab
    set_model(plan, "alpha_prime")
    breakout_lookup(plan, "alpha_prime")
    udp = {"kind": "udp", "dst": MEET, "port": 3478, "sport": 41000, "retry": 0}
    first = probe(plan, "yokohama-lg-term", [{**udp, "timeout": 4.0}])
    assert first[0]["answered"], first
    set_model(plan, "alpha")
    again = probe(plan, "yokohama-lg-term", [{**udp, "timeout": 0.7}])
    assert not again[0]["answered"], again
    # the DNS forwarder went with the model
    assert "dns-forwarder" not in [d.name for d in LabState(plan.lab).load_plan().nodes["yokohama-fw"].daemons]


def test_proxy_access_log_names_the_requests(lab):
    plan, _ = lab
    r = probe(plan, "yokohama-in-term", [{"kind": "http", "url": "http://web.example/log-check", "proxy": PROXY, "timeout": 4.0},
                                         {"kind": "tunnel", "proxy": PROXY, "dst": "meet.saas.example", "port": 443, "timeout": 4.0}])
    assert [x["answered"] for x in r] == [True, True], r
    log = (LabState(plan.lab).node_dir("kanagawa-sc") / "tinyproxy.log").read_text()
    assert "Request (file descriptor" in log and "GET http://web.example/log-check HTTP/1.1" in log
    assert "CONNECT meet.saas.example:443 HTTP/1.1" in log


def test_switching_models_leaves_daemons_and_the_government_cloud_path_alone(lab):
    """model set changes rules and the α′ forwarder only: OVS and charon keep running (they are
    added to the plan at deploy time; a re-compiled plan must not look as if they were removed)."""
    from lgwan.runtime import ipsec
    from lgwan.topology import cloud_service_address

    plan, topo = lab
    for model in ("alpha_prime", "beta", "alpha"):
        set_model(plan, model)
        status = json.loads(lgwan("status", "--json").stdout)
        mine = next(s for s in status if s["lab"] == plan.lab)
        dead = [f"{d['node']}/{d['daemon']}" for d in mine["daemons"] if not d["alive"]]
        assert not dead, (model, dead)
        assert {d["daemon"] for d in mine["daemons"]} >= {"ovsdb-server", "ovs-vswitchd", "strongswan"}
        assert all(t["child"] == "INSTALLED" for t in ipsec.tunnels(plan))
        r = probe(plan, "yokohama-nu-term", [{"kind": "connect", "dst": cloud_service_address(topo, 0),
                                             "port": 443, "timeout": 3}])
        assert r[0]["answered"] and r[0]["detail"].startswith("lgwan yokohama-juki"), (model, r)
