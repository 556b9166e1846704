"""The expected-verdict function against the policy matrix of docs/domain.md, row by row."""

import json

import pytest

from lgwan.expect import UnknownEndpoint, expected_verdict, resolve
from lgwan.model import MODELS
from lgwan.policy import load_model_policy
from lgwan.topology import default_topology_path, load_topology

TOPO = load_topology(default_topology_path())
POLICIES = {m: load_model_policy(m, TOPO) for m in MODELS}

# (row, src, dst, proto, port) -> verdict per model: (alpha, beta, beta_prime, alpha_prime)
A, D = "allow", "deny"
MATRIX = [
    ("row 1", "yokohama-nu-term", "cloud:yokohama:juki", "tcp", 443, (A, A, A, A)),
    ("row 4", "yokohama-nu-term", "cloud:yokohama:juki", "tcp", 22, (D, D, D, D)),   # not a pinned port
    ("row 2", "yokohama-lg-term", "cloud:yokohama:lgsys", "tcp", 443, (A, A, A, A)),
    ("row 3", "yokohama-nu-term", "cloud:kawasaki:juki", "tcp", 443, (D, D, D, D)),
    ("row 3", "yokohama-lg-term", "cloud:sakai:lgsys", "tcp", 443, (D, D, D, D)),
    ("row 4", "yokohama-nu-term", "inet-web", "tcp", 80, (D, D, D, D)),
    ("row 4", "yokohama-nu-term", "yokohama-in-vb", "tcp", 3389, (D, D, D, D)),
    ("row 4", "yokohama-nu-term", "asp:asp-portal", "tcp", 443, (D, D, D, D)),
    ("row 5", "yokohama-nu-term", "yokohama-lg-files", "tcp", 8000, (D, D, D, D)),
    ("row 5", "yokohama-lg-term", "yokohama-nu-app", "tcp", 443, (D, D, D, D)),
    ("row 6", "yokohama-lg-term", "asp:asp-portal", "tcp", 443, (A, A, A, A)),
    ("row 6", "yokohama-lg-term", "portal.asp.lgwan.example", "tcp", 443, (A, A, A, A)),
    ("row 6", "yokohama-lg-term", "kawasaki-lg-mail", "tcp", 25, (A, A, A, A)),
    ("row 7", "yokohama-lg-term", "meet.saas.example", "tcp", 443, (D, D, D, A)),
    ("row 7", "yokohama-lg-term", "meet.saas.example", "udp", 3478, (D, D, D, A)),
    ("row 7", "yokohama-lg-term", "meet.saas.example", "tcp", 80, (D, D, D, D)),
    ("row 7", "yokohama-lg-term", "other.saas.example", "tcp", 443, (D, D, D, D)),
    ("row 7", "yokohama-lg-term", "inet-web", "tcp", 443, (D, D, D, D)),
    ("row 7", "yokohama-lg-mail", "meet.saas.example", "tcp", 443, (D, D, D, D)),  # terminals only
    ("row 8", "yokohama-lg-term", "yokohama-in-vb", "tcp", 3389, (A, D, D, A)),
    ("row 9", "yokohama-in-term", "yokohama-lg-mail", "tcp", 3389, (D, A, A, D)),
    ("row 10", "yokohama-in-term", "yokohama-san", "tcp", 8080, (A, A, A, A)),
    ("row 10", "yokohama-san", "yokohama-lg-files", "tcp", 8000, (A, A, A, A)),
    ("row 10", "yokohama-in-term", "yokohama-lg-files", "tcp", 8000, (D, D, D, D)),
    ("row 10", "yokohama-in-term", "yokohama-lg-mail", "tcp", 25, (D, D, D, D)),
    ("row 11", "yokohama-in-term", "kanagawa-sc", "tcp", 8080, (A, A, A, A)),
    ("row 11", "yokohama-in-term", "inet-web", "tcp", 80, (D, D, D, D)),
    ("row 11", "yokohama-in-term", "meet.saas.example", "udp", 3478, (D, D, D, D)),
    ("row 12", "inet-attacker", "yokohama-lg-mail", "tcp", 25, (D, D, D, D)),
    ("row 12", "inet-attacker", "yokohama-san", "tcp", 8080, (D, D, D, D)),
    ("row 12", "inet-attacker", "kanagawa-sc", "tcp", 8080, (D, D, D, D)),
    ("row 13", "cloud:yokohama:juki", "yokohama-nu-term", "tcp", 22, (D, D, D, D)),
    ("row 13", "kawasaki-lg-term", "yokohama-nu-app", "tcp", 443, (D, D, D, D)),
]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("row,src,dst,proto,port,want", MATRIX, ids=[f"{r[0]}:{r[1]}->{r[2]}:{r[4]}" for r in MATRIX])
def test_policy_matrix(model, row, src, dst, proto, port, want):
    v = expected_verdict(TOPO, POLICIES[model], src, dst, proto, port)
    assert v.action == want[MODELS.index(model)], v
    if v.action == "allow":
        assert v.ref == row, v  # an allow always comes from the row's own rule
    else:
        assert row in [h.ref for h in v.hops] or v.ref == "default deny", v


def test_denies_name_the_row_that_decided():
    alpha = POLICIES["alpha"]
    assert expected_verdict(TOPO, alpha, "yokohama-in-term", "yokohama-lg-mail", "tcp", 3389).ref == "row 9"
    assert expected_verdict(TOPO, alpha, "yokohama-in-term", "inet-web", "tcp", 80).ref == "row 11"
    assert expected_verdict(TOPO, alpha, "yokohama-lg-term", "meet.saas.example", "tcp", 443).ref == "row 7"
    assert expected_verdict(TOPO, alpha, "inet-attacker", "yokohama-lg-mail", "tcp", 25).ref == "row 12"
    assert expected_verdict(TOPO, alpha, "yokohama-nu-term", "cloud:kawasaki:juki", "tcp", 443).ref == "row 3"
    assert expected_verdict(TOPO, alpha, "yokohama-lg-term", "yokohama-san", "tcp", 8080).ref == "default deny"


def test_same_segment_has_no_firewall_and_lgwan_flows_cross_two():
    v = expected_verdict(TOPO, POLICIES["alpha"], "yokohama-lg-term", "yokohama-lg-files", "tcp", 8000)
    assert (v.action, v.ref, v.hops) == ("allow", "same segment", [])
    v = expected_verdict(TOPO, POLICIES["alpha"], "yokohama-lg-term", "kawasaki-lg-mail", "tcp", 25)
    assert [(h.firewall, h.action, h.ref) for h in v.hops] == [
        ("yokohama-fw", "allow", "row 6"), ("kawasaki-fw", "allow", "row 6")]
    v = expected_verdict(TOPO, POLICIES["alpha"], "kawasaki-lg-term", "yokohama-nu-app", "tcp", 443)
    assert v.hops[-1].firewall == "yokohama-fw" and v.hops[-1].ref == "row 13"


def test_verdict_is_plain_data():
    v = expected_verdict(TOPO, POLICIES["alpha"], "yokohama-lg-term", "yokohama-in-vb", "tcp", 3389)
    assert json.loads(json.dumps(v.to_dict())) == {
        "src": "yokohama-lg-term", "dst": "yokohama-in-vb", "proto": "tcp", "port": 3389,
        "action": "allow", "ref": "row 8",
        "hops": [{"firewall": "yokohama-fw", "action": "allow", "ref": "row 8", "rule": 10,
                  "what": "lgwan terminal -> virtual browser in the internet segment, screen-transfer port only"}],
    }


def test_endpoints_resolve_by_node_fqdn_cloud_and_asp():
    assert resolve(TOPO, "meet.saas.example") == resolve(TOPO, "inet-meet")
    assert resolve(TOPO, "cloud:sakai:juki").zone == "number_use"
    assert resolve(TOPO, "yokohama-in-vb").role == "virtual_browser"
    with pytest.raises(UnknownEndpoint, match="unknown endpoint 'nowhere'"):
        resolve(TOPO, "nowhere")
