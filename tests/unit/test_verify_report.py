"""Report renderers and case building, without root."""

import json
import xml.etree.ElementTree as ET

from lgwan.compiler import compile_plan
from lgwan.topology import default_topology_path, load_topology
from lgwan.verify import report
from lgwan.verify.cases import build_cases
from lgwan.verify.model import Case, Result

META = {"lab": "t", "model": "alpha", "topology_file": "x.yml"}


def results():
    ok = Case("a->b:tcp/1", "row 8", "matrix", "a → b allowed", source="a", destination="b",
              probe={"kind": "tcp", "dst": "10.0.0.2", "port": 1}, expect_answer=True)
    bad = Case("a->c:tcp/2", "row 5", "matrix", "a → c denied", source="a", destination="c",
               probe={"kind": "tcp", "dst": "10.0.0.3", "port": 2}, expect_answer=False)
    return [Result(ok, True, "answered: TCP SA", 0.1), Result(bad, False, "answered: TCP SA", 0.2)]


def test_json_puts_failures_first_and_counts():
    data = json.loads(report.to_json(results(), META, 1.0))
    assert data["summary"] == {"cases": 2, "passed": 1, "failed": 1, "seconds": 0.3, "wall_seconds": 1.0}
    assert [r["id"] for r in data["results"]] == ["a->c:tcp/2", "a->b:tcp/1"]
    assert data["results"][0]["expected"] == "no answer"


def test_junit_is_valid_xml_with_one_failure():
    root = ET.fromstring(report.to_junit(results(), META, 1.0).split("?>", 1)[1])
    assert root.get("tests") == "2" and root.get("failures") == "1"
    failures = root.findall(".//failure")
    assert len(failures) == 1 and "expected no answer" in failures[0].get("message")


def test_html_has_the_grid_and_the_verdict():
    page = report.to_html(results(), META, 1.0)
    assert page.startswith("<!doctype html>") and "FAIL: 1 passed, 1 failed" in page
    assert "<th>a</th>" in page and 'class="fail"' in page and "<script" not in page


def test_cases_cover_every_cross_segment_service():
    topo = load_topology(default_topology_path())
    plan = compile_plan(topo)
    cases = build_cases(plan, topo)
    assert len({c.id for c in cases}) == len(cases)
    row8 = [c for c in cases if c.ref == "row 8"]
    # every municipality's lgwan hosts reach its virtual browser's screen port
    assert {c.source.split("-")[0] for c in row8} == {"yokohama", "kawasaki", "sakai"}
    assert all(c.expect_answer for c in row8)
    assert build_cases(plan, topo, only=["row 8"]) == row8
    assert {c.source for c in build_cases(plan, topo, from_nodes=["sakai-nu-term"])} == {"sakai-nu-term"}
