"""Every kind of bad topology input gets one exact, located message (file:line path: reason)."""

import textwrap

import pytest

from lgwan.errors import LabInputError
from lgwan.topology import load_topology

GOOD = """\
name: t1
prefectures:
  - name: kanagawa
    municipalities:
      - {name: yokohama, vlan: 101}
      - {name: kawasaki, vlan: 102}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(LabInputError) as exc:
        load_topology("x.yml", textwrap.dedent(text))
    return [str(p) for p in exc.value.problems]


def test_good_file_loads():
    topo = load_topology("x.yml", GOOD)
    assert [m.name for _, m in topo.municipalities()] == ["yokohama", "kawasaki"]


def test_yaml_syntax_error_names_the_line():
    assert problems("name: t1\nprefectures: [\n  - a: b\n") == [
        "x.yml:3: YAML syntax error: expected the node content, but found '-'"]


def test_duplicate_yaml_key():
    assert problems("name: t1\nname: t2\nprefectures: []\n") == ["x.yml:2 name: duplicate key 'name'"]


def test_unknown_key():
    text = GOOD.replace("{name: kawasaki, vlan: 102}", "{name: kawasaki, vlan: 102, colour: blue}")
    assert problems(text) == ["x.yml:6 prefectures[0].municipalities[1].colour: unknown key 'colour'"]


def test_missing_required_key():
    text = GOOD.replace("{name: kawasaki, vlan: 102}", "{vlan: 102}")
    assert problems(text) == ["x.yml:6 prefectures[0].municipalities[1]: missing required key 'name'"]


def test_missing_top_level_key():
    assert problems("name: t1\n") == ["x.yml:1: missing required key 'prefectures'"]


def test_vlan_out_of_range():
    text = GOOD.replace("vlan: 102", "vlan: 4095")
    assert problems(text) == ["x.yml:6 prefectures[0].municipalities[1].vlan: 4095 is outside 1-4094"]


def test_vlan_reused():
    text = GOOD.replace("vlan: 102", "vlan: 101")
    assert problems(text) == [
        "x.yml:6 prefectures[0].municipalities[1].vlan: VLAN 101 is already used by municipality 'yokohama'"]


def test_duplicate_municipality_name():
    text = GOOD.replace("kawasaki", "yokohama")
    assert problems(text) == [
        "x.yml:6 prefectures[0].municipalities[1].name: duplicate municipality name 'yokohama' (first at line 5)"]


def test_duplicate_host_name():
    text = GOOD + textwrap.indent(textwrap.dedent("""\
        - name: zushi
          segments:
            lgwan:
              hosts: [{name: pc, role: terminal}, {name: pc}]
        """), "      ")
    assert problems(text) == [
        "x.yml:10 prefectures[0].municipalities[2].segments.lgwan.hosts[1].name: "
        "duplicate host name 'pc' (first at line 10)"]


def test_bad_cidr():
    text = GOOD.replace("{name: kawasaki, vlan: 102}", "{name: kawasaki, vlan: 102, inside: 10.2.0.0/33}")
    assert problems(text) == [
        "x.yml:6 prefectures[0].municipalities[1].inside: '10.2.0.0/33' is not a valid IPv4 CIDR prefix"]


def test_cidr_with_host_bits():
    text = GOOD.replace("{name: kawasaki, vlan: 102}", "{name: kawasaki, vlan: 102, inside: 10.2.3.0/16}")
    assert problems(text) == [
        "x.yml:6 prefectures[0].municipalities[1].inside: '10.2.3.0/16' has host bits set (did you mean 10.2.0.0/16?)"]


def test_global_blocks_overlap():
    text = GOOD.replace("{name: kawasaki, vlan: 102}",
                        "{name: kawasaki, vlan: 102, lgwan_global: 198.18.0.64/27}")
    assert problems(text) == [
        "x.yml:6 prefectures[0].municipalities[1].lgwan_global: "
        "198.18.0.64/27 overlaps the LGWAN global block 198.18.0.64/26 of 'yokohama'"]


def test_host_address_conflict():
    text = GOOD + textwrap.indent(textwrap.dedent("""\
        - name: zushi
          segments:
            lgwan:
              hosts:
                - {name: pc, address: 10.3.20.10}
                - {name: pc2, address: 10.3.20.10}
        """), "      ")
    assert problems(text) == [
        "x.yml:12 prefectures[0].municipalities[2].segments.lgwan.hosts[1].address: "
        "address conflict: 10.3.20.10 is already used by pc"]


def test_host_address_on_the_gateway():
    text = GOOD + textwrap.indent(textwrap.dedent("""\
        - name: zushi
          segments:
            lgwan:
              hosts: [{name: pc, address: 10.3.20.1}]
        """), "      ")
    assert problems(text) == [
        "x.yml:10 prefectures[0].municipalities[2].segments.lgwan.hosts[0].address: "
        "address conflict: 10.3.20.1 is already used by the segment firewall"]


def test_segment_prefixes_overlap():
    text = GOOD + textwrap.indent(textwrap.dedent("""\
        - name: zushi
          segments:
            lgwan: {prefix: 10.3.10.0/23}
        """), "      ")
    assert problems(text) == [
        "x.yml:9 prefectures[0].municipalities[2].segments.lgwan.prefix: "
        "10.3.10.0/23 overlaps the number_use segment 10.3.10.0/24"]


def test_name_that_cannot_be_a_namespace():
    text = GOOD.replace("kawasaki", "Kawa saki")
    assert problems(text) == [
        "x.yml:6 prefectures[0].municipalities[1].name: 'Kawa saki' cannot become a namespace or interface "
        "name (use lower-case letters, digits and single hyphens, starting with a letter)"]


def test_name_too_long():
    text = GOOD.replace("kawasaki", "k" * 21)
    assert problems(text) == [f"x.yml:6 prefectures[0].municipalities[1].name: '{'k' * 21}' is longer than 20 characters"]


def test_unknown_model():
    assert problems(GOOD + "model: gamma\n") == [
        "x.yml:7 model: 'gamma' is not one of: 'alpha', 'beta', 'beta_prime' or 'alpha_prime'"]


def test_all_problems_reported_at_once():
    text = GOOD.replace("vlan: 101", "vlan: 0").replace("vlan: 102", "vlan: 5000")
    assert len(problems(text)) == 2


def test_not_a_mapping():
    assert problems("- a\n- b\n") == [
        "x.yml:1: a topology file must be a mapping with at least 'name' and 'prefectures'"]


def test_missing_file(tmp_path):
    with pytest.raises(LabInputError) as exc:
        load_topology(tmp_path / "nope.yml")
    assert str(exc.value) == f"{tmp_path / 'nope.yml'}: file not found"
