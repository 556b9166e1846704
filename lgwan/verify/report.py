"""Reports of a verification run: terminal, JSON, JUnit XML and one self-contained HTML page."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import platform
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .model import GROUPS, Result


def ref_key(ref: str) -> tuple:
    """'row 4' before 'row 10'; other refs after the rows, alphabetically."""
    parts = ref.split()
    if len(parts) == 2 and parts[0] == "row" and parts[1].isdigit():
        return (0, int(parts[1]), "")
    return (1, 0, ref)


def summary(results: list[Result]) -> dict[str, Any]:
    failed = [r for r in results if not r.passed]
    return {"cases": len(results), "passed": len(results) - len(failed), "failed": len(failed),
            "seconds": round(sum(r.seconds for r in results), 2)}


def summary_line(results: list[Result], wall: float) -> str:
    s = summary(results)
    verdict = "PASS" if s["failed"] == 0 else "FAIL"
    return f"{verdict}: {s['passed']} passed, {s['failed']} failed ({s['cases']} cases in {wall:.1f}s)"


def _ordered(results: list[Result]) -> list[Result]:
    """Failures first, then by group and rule."""
    return sorted(results, key=lambda r: (r.passed, GROUPS.index(r.case.group), ref_key(r.case.ref), r.case.id))


def print_terminal(results: list[Result], meta: dict[str, Any], wall: float, console: Console,
                   show_passed: bool = True) -> None:
    by_rule: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in results:
        by_rule[(r.case.group, r.case.ref)].append(r)
    t = Table(title=f"lgwan verify: lab {meta['lab']}, model {meta['model']}", show_lines=False)
    for col in ("", "rule", "case", "expected", "observed"):
        t.add_column(col, overflow="fold")
    rules = sorted(by_rule.items(), key=lambda kv: (all(r.passed for r in kv[1]), GROUPS.index(kv[0][0]), ref_key(kv[0][1])))
    for (group, ref), rs in rules:
        bad = [r for r in rs if not r.passed]
        mark = "[red]FAIL[/]" if bad else "[green]ok[/]"
        label = ref if ref.startswith(group) else f"{group}: {ref}"
        t.add_row(mark, label, f"{len(rs) - len(bad)}/{len(rs)} cases pass", "", "")
        for r in _ordered(rs):
            if r.passed and not show_passed:
                continue
            t.add_row("" if r.passed else "[red]✗[/]", "", r.case.title, r.case.expected,
                      r.observed if not r.passed else "")
    console.print(t)
    line = summary_line(results, wall)
    console.print(f"[bold {'green' if 'PASS' in line else 'red'}]{line}[/]")


def to_json(results: list[Result], meta: dict[str, Any], wall: float) -> str:
    return json.dumps({"meta": meta, "summary": {**summary(results), "wall_seconds": round(wall, 2)},
                       "results": [r.to_dict() for r in _ordered(results)]}, indent=1)


def to_junit(results: list[Result], meta: dict[str, Any], wall: float) -> str:
    suites = ET.Element("testsuites", name=f"lgwan verify {meta['lab']}", tests=str(len(results)),
                        failures=str(sum(not r.passed for r in results)), time=f"{wall:.2f}")
    for group in GROUPS:
        rs = [r for r in results if r.case.group == group]
        if not rs:
            continue
        suite = ET.SubElement(suites, "testsuite", name=group, tests=str(len(rs)),
                              failures=str(sum(not r.passed for r in rs)),
                              time=f"{sum(r.seconds for r in rs):.2f}")
        for r in rs:
            tc = ET.SubElement(suite, "testcase", classname=f"{group}.{r.case.ref}", name=r.case.title,
                               time=f"{r.seconds:.3f}")
            if not r.passed:
                f = ET.SubElement(tc, "failure", message=f"expected {r.case.expected}, observed {r.observed}")
                f.text = json.dumps(r.to_dict(), indent=1)
            out = ET.SubElement(tc, "system-out")
            out.text = f"ref={r.case.ref} id={r.case.id} observed={r.observed}"
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:.25em .5em;font-size:.85em;vertical-align:top}
th{background:#f4f4f4} .pass{background:#d8f3dc} .fail{background:#ffccd5;font-weight:bold}
.allow{color:#1b5e20} .deny{color:#555} .none{background:#fafafa;color:#bbb}
.banner{padding:.6em 1em;border-radius:4px;font-weight:bold;display:inline-block}
.ok{background:#d8f3dc} .bad{background:#ffccd5} code{font-size:.9em} .small{font-size:.8em;color:#555}
"""


def _cell(rs: list[Result]) -> str:
    if not rs:
        return '<td class="none">·</td>'
    bad = [r for r in rs if not r.passed]
    allow = sum(1 for r in rs if r.case.expect_answer)
    deny = len(rs) - allow
    label = " · ".join(x for x in (f"{allow} allow" if allow else "", f"{deny} deny" if deny else "") if x)
    tip = html.escape("\n".join(f"{'PASS' if r.passed else 'FAIL'} {r.case.title} → {r.observed}" for r in rs))
    mark = f" <b>{len(bad)} FAIL</b>" if bad else ""
    return f'<td class="{"fail" if bad else "pass"}" title="{tip}">{label}{mark}</td>'


def _short(node: str, municipality: str) -> str:
    return node[len(municipality) + 1:] if node.startswith(municipality + "-") else node


def _grids(matrix: list[Result], municipalities: dict[str, str]) -> list[str]:
    """One source × destination grid per municipality (its hosts as sources)."""
    out = []
    by_muni: dict[str, list[Result]] = defaultdict(list)
    for r in matrix:
        by_muni[municipalities.get(r.case.source or "", "")].append(r)
    for muni in sorted(by_muni):
        rs = by_muni[muni]
        sources = sorted({r.case.source for r in rs})
        dests = sorted({r.case.destination for r in rs}, key=lambda d: (not d.startswith(muni + "-"), d))
        grid: dict[tuple[str, str], list[Result]] = defaultdict(list)
        for r in rs:
            grid[(r.case.source, r.case.destination)].append(r)
        out.append(f"<h3>{html.escape(muni or 'other sources')}</h3><table><tr><th>source \\ destination</th>"
                   + "".join(f"<th>{html.escape(_short(d, muni))}</th>" for d in dests) + "</tr>")
        for src in sources:
            out.append(f"<tr><th>{html.escape(_short(src, muni))}</th>"
                       + "".join(_cell(grid.get((src, d), [])) for d in dests) + "</tr>")
        out.append("</table>")
    return out


def to_html(results: list[Result], meta: dict[str, Any], wall: float) -> str:
    s = summary(results)
    ok = s["failed"] == 0
    matrix = [r for r in results if r.case.group == "matrix"]
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>lgwan verify {html.escape(meta['lab'])}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>lgwan-lab verification report: lab <code>{html.escape(meta['lab'])}</code>, "
           f"model <code>{html.escape(meta['model'])}</code></h1>",
           f"<p class='banner {'ok' if ok else 'bad'}'>{html.escape(summary_line(results, wall))}</p>",
           "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in meta.items() if k not in ("topology_text", "municipalities")) + "</table>"]
    by_rule: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in results:
        by_rule[(r.case.group, r.case.ref)].append(r)
    out.append("<h2>Summary by rule</h2><table><tr><th>group</th><th>rule</th><th>cases</th><th>passed</th>"
               "<th>failed</th></tr>")
    for (group, ref), rs in sorted(by_rule.items(), key=lambda kv: (all(r.passed for r in kv[1]),
                                                                     GROUPS.index(kv[0][0]), ref_key(kv[0][1]))):
        bad = sum(not r.passed for r in rs)
        out.append(f"<tr class='{'fail' if bad else 'pass'}'><td>{group}</td><td>{html.escape(ref)}</td>"
                   f"<td>{len(rs)}</td><td>{len(rs) - bad}</td><td>{bad}</td></tr>")
    out.append("</table>")
    if matrix:
        out.append("<h2>Policy matrix (source × destination)</h2><p class='small'>One grid per municipality. "
                   "A cell counts the cases expected to be answered (allow) and expected to get no answer "
                   "(deny); green = every case was observed as expected, red = at least one was not. "
                   "Hover over a cell for its cases.</p>")
        out += _grids(matrix, meta.get("municipalities", {}))
    for group, title in (("wire", "Wire properties"), ("attack", "Attack probes"), ("matrix", "All matrix cases")):
        rs = _ordered([r for r in results if r.case.group == group])
        if not rs:
            continue
        out.append(f"<h2>{title}</h2><table><tr><th>result</th><th>rule</th><th>case</th><th>expected</th>"
                   "<th>observed</th><th>probe</th></tr>")
        for r in rs:
            probe = html.escape(json.dumps(r.case.probe)) if r.case.probe else ""
            out.append(f"<tr class='{'pass' if r.passed else 'fail'}'><td>{'PASS' if r.passed else 'FAIL'}</td>"
                       f"<td>{html.escape(r.case.ref)}</td><td>{html.escape(r.case.title)}</td>"
                       f"<td>{html.escape(r.case.expected)}</td><td>{html.escape(r.observed)}</td>"
                       f"<td><code>{probe}</code></td></tr>")
        out.append("</table>")
    failures = [r for r in results if not r.passed]
    if failures:
        out.append("<h2>Evidence for failures</h2>")
        for r in failures:
            out.append(f"<h3>{html.escape(r.case.ref)}: {html.escape(r.case.title)}</h3>"
                       f"<pre>{html.escape(json.dumps(r.to_dict(), indent=1))}</pre>")
            pcap = r.evidence.get("pcap")
            if pcap and Path(pcap).exists():
                data = base64.b64encode(Path(pcap).read_bytes()).decode()
                out.append(f"<p><a download='{html.escape(Path(pcap).name)}' "
                           f"href='data:application/vnd.tcpdump.pcap;base64,{data}'>download the probe's pcap</a> "
                           f"({r.evidence.get('pcap_packets')} packets)</p>")
    if meta.get("topology_text"):
        out.append("<h2>Topology</h2><pre>" + html.escape(meta["topology_text"]) + "</pre>")
    out.append(f"<p class='small'>generated {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} "
               f"on {html.escape(platform.node())} by lgwan-lab</p></body></html>")
    return "\n".join(out)
