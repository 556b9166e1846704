"""`lgwan verify` on a real lab: it passes on a correct lab and fails on exactly the cases a
broken rule affects (the checker must catch what it claims)."""

import json

from lgwan.runtime import process
from lgwan.runtime.state import LabState

from .conftest import lgwan


def fw(lab, *argv):
    return process.run_in_node(lab.lab, lab.namespace("yokohama-fw"), "yokohama-fw",
                               LabState(lab.lab).node_dir("yokohama-fw"), list(argv))


def test_verify_passes_then_catches_an_opened_port(lab, tmp_path):
    out = tmp_path / "r.json"
    r = lgwan("verify", "--lab", lab.lab, "--json", str(out), "--junit", str(tmp_path / "r.xml"),
              "--html", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stdout + r.stderr
    good = json.loads(out.read_text())
    assert good["summary"]["failed"] == 0 and good["summary"]["cases"] > 20
    assert {x["ref"] for x in good["results"]} >= {"row 5", "row 8"}

    # break the model: open number_use -> lgwan tcp/25 on the segment firewall
    fw(lab, "nft", "insert", "rule", "inet", "lgwan", "forward", "iifname", "nu0", "oifname", "lg0",
       "tcp", "dport", "25", "accept")
    r = lgwan("verify", "--lab", lab.lab, "--json", str(out), "--junit", str(tmp_path / "bad.xml"))
    assert r.returncode == 1, r.stdout
    bad = json.loads(out.read_text())
    failed = {x["id"] for x in bad["results"] if not x["passed"]}
    assert failed == {"yokohama-nu-term->yokohama-lg-mail:tcp/25", "yokohama-nu-app->yokohama-lg-mail:tcp/25"}
    for x in bad["results"]:
        if not x["passed"]:
            assert x["ref"] == "row 5" and x["observed"].startswith("answered")
            assert x["evidence"]["pcap"] and x["evidence"]["pcap_packets"] >= 2  # the SYN and its SYN-ACK
    assert 'failures="2"' in (tmp_path / "bad.xml").read_text()
    html = (tmp_path / "r.html").read_text()
    assert "PASS:" in html and "Policy matrix" in html


def test_verify_subsets_and_nothing_to_test(lab):
    r = lgwan("verify", "--lab", lab.lab, "--only", "row 8")
    assert r.returncode == 0
    assert "row 8" in r.stdout and "row 5" not in r.stdout
    r = lgwan("verify", "--lab", lab.lab, "--only", "row 99")
    assert r.returncode == 2
    r = lgwan("verify", "--lab", lab.lab, "--from", "yokohama-lg-term", "--json", "/dev/stdout")
    assert r.returncode == 0
