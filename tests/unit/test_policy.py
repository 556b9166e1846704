"""Policy files: the four shipped ones load, and every kind of mistake gets one exact, located message."""

import textwrap

import pytest

from lgwan.errors import LabInputError
from lgwan.model import MODELS
from lgwan.policy import load_model_policy, load_policy, policy_path
from lgwan.topology import default_topology_path, load_topology

TOPO = load_topology(default_topology_path())


def problems(text: str, topo=TOPO) -> list[str]:
    with pytest.raises(LabInputError) as exc:
        load_policy("p.yml", topo, text=textwrap.dedent(text))
    return [str(p) for p in exc.value.problems]


@pytest.mark.parametrize("model", MODELS)
def test_shipped_policies_load_and_every_rule_names_a_matrix_row(model):
    policy = load_model_policy(model, TOPO)
    assert policy.model == model
    assert policy.rules and all(r.ref.startswith("row ") for r in policy.rules)
    # default deny: rows that are "deny" in every model are explicit deny rules
    assert {r.ref for r in policy.rules if r.action == "deny"} >= {"row 3", "row 4", "row 5", "row 12", "row 13"}


def test_models_differ_only_where_the_matrix_says():
    rules = {m: {(r.ref, r.action, r.summary()) for r in load_model_policy(m, TOPO).rules} for m in MODELS}
    assert rules["beta"] == rules["beta_prime"]  # the matrix gives β and β′ one column
    only_alpha = {x[0] for x in rules["alpha"] - rules["beta"]}
    assert only_alpha == {"row 8", "row 9"}
    assert {x[0] for x in rules["alpha_prime"] - rules["alpha"]} == {"row 7"}
    assert {(x[0], x[1]) for x in rules["alpha_prime"] - rules["alpha"]} == {("row 7", "allow")}


def test_policy_file_must_be_for_the_model_it_is_loaded_as(tmp_path):
    f = tmp_path / "alpha.yml"
    f.write_text(policy_path("beta").read_text())
    with pytest.raises(LabInputError) as exc:
        load_policy(f, model="alpha")
    assert [str(p) for p in exc.value.problems] == [f"{f}:6 model: this file is for model 'beta', not 'alpha'"]


@pytest.mark.parametrize("rule,message", [
    ("{ref: row 14, from: {zone: lgwan}, to: any, action: deny}",
     "p.yml:3 rules[0].ref: 'row 14': the policy matrix has rows 1-13"),
    ("{ref: eight, from: {zone: lgwan}, to: any, action: deny}",
     "p.yml:3 rules[0].ref: 'eight' is not a matrix reference such as 'row 8'"),
    ("{ref: row 8, from: {zone: lgwan, internet: any}, to: any, action: allow}",
     "p.yml:3 rules[0].from: give exactly one of zone, cloud, lgwan, service, internet, fqdn (got zone, internet)"),
    ("{ref: row 8, from: {zone: lgwan}, to: {zone: internet, colour: blue}, action: allow}",
     "p.yml:3 rules[0].to.colour: unknown key 'colour'"),
    ("{ref: row 8, from: {zone: lgwn}, to: any, action: allow}",
     "p.yml:3 rules[0].from.zone: 'lgwn' is not one of: 'number_use', 'lgwan', 'internet' or 'any'"),
    ("{ref: row 8, from: {zone: lgwan}, to: any, ports: [3389], action: allow}",
     "p.yml:3 rules[0]: a port list needs 'proto: tcp' or 'proto: udp'"),
    ("{ref: row 8, from: {zone: lgwan}, to: any, proto: tcp, ports: [70000], action: allow}",
     "p.yml:3 rules[0].ports[0]: 70000 is not a port number 1-65535"),
    ("{ref: row 8, from: {zone: lgwan}, to: any, proto: tcp, ports: servces, action: allow}",
     "p.yml:3 rules[0].ports: 'servces' is not one of: 'services'"),
    ("{ref: row 8, from: {zone: lgwan}, to: any}",
     "p.yml:3 rules[0]: missing required key 'action'"),
    ("{ref: row 8, from: {zone: lgwan}, to: any, action: permit}",
     "p.yml:3 rules[0].action: 'permit' is not one of: 'allow' or 'deny'"),
    ("{ref: row 7, from: {fqdn: meet.saas.example}, to: any, action: deny}",
     "p.yml:3 rules[0]: 'fqdn' can only be a destination ('to')"),
    ("{ref: row 7, from: lgwan, to: any, action: deny}",
     "p.yml:3 rules[0].from: 'lgwan' is not a selector (a mapping such as {zone: lgwan}, or 'any')"),
    ("{ref: row 7, from: {internet: any, role: terminal}, to: any, action: deny}",
     "p.yml:3 rules[0].from: role/host/offers narrow a 'zone' selector only"),
    ("{ref: row 7, from: {zone: lgwan}, to: {fqdn: meat.saas.example}, action: allow}",
     "p.yml:3 rules[0].to.fqdn: no internet service is named 'meat.saas.example' "
     "(known: attacker.example, meet.saas.example, other.saas.example, web.example)"),
    ("{ref: row 7, from: {zone: lgwan}, to: {fqdn: other.saas.example}, action: allow}",
     "p.yml:3 rules[0].to.fqdn: 'other.saas.example' is not allow-listed in the topology "
     "(internet.services[].allow_listed)"),
    ("{ref: row 8, from: {zone: lgwan}, to: {zone: internet, host: in-bv}, action: allow}",
     "p.yml:3 rules[0].to.host: no segment host is named 'in-bv'"),
    ("{ref: row 8, from: {zone: lgwan}, to: {internet: any}, ports: services, action: allow}",
     "p.yml:3 rules[0]: 'ports: services' needs a destination with services (not {internet=any})"),
])
def test_bad_rule(rule, message):
    assert problems(f"model: alpha\nrules:\n  - {rule}\n") == [message]


def test_all_problems_at_once_with_their_lines():
    text = """\
        model: alpha
        rules:
          - ref: row 8
            from: {zone: lgwan}
            to: any
            action: allow
          - ref: row 99
            from: {zone: lgwan}
            to: any
            action: maybe
        """
    assert problems(text) == [
        "p.yml:7 rules[1].ref: 'row 99': the policy matrix has rows 1-13",
        "p.yml:10 rules[1].action: 'maybe' is not one of: 'allow' or 'deny'",
    ]


def test_unknown_model_and_top_level_mistakes():
    assert problems("model: gamma\nrules: []\n") == [
        "p.yml:1 model: 'gamma' is not one of: 'alpha', 'beta', 'beta_prime' or 'alpha_prime'"]
    assert problems("model: alpha\n") == ["p.yml:1: missing required key 'rules'"]
    assert problems("- a\n") == ["p.yml:1: a policy file must be a mapping with 'model' and 'rules'"]
    assert problems("model: alpha\nrules: [\n") == ["p.yml:3: YAML syntax error: expected the node content, but found '<stream end>'"]
