"""Integration tests: real namespaces, real packets, as root.

Every lab these tests deploy is named with this session's prefix, and a session-wide check fails
the run if any namespace, process or state directory with that prefix is left at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest

from lgwan.compiler import compile_plan
from lgwan.runtime import netns, process
from lgwan.runtime.state import LabState, list_namespaces, state_root
from lgwan.topology import default_topology_path, load_topology

#: all labs of this test session start with this (lab names: letters/digits, no dots)
PREFIX = f"it{os.getpid() % 100000}"
LGWAN = [sys.executable, "-m", "lgwan.cli.main"]


def pytest_collection_modifyitems(items):
    if os.geteuid() != 0:
        raise pytest.UsageError("integration tests deploy network namespaces: run them as root (scripts/test)")


def leftovers() -> list[str]:
    found = [f"namespace {ns}" for ns in list_namespaces(PREFIX)]
    labs = {ns.split(".")[0] for ns in list_namespaces(PREFIX)}
    if state_root().exists():
        for d in state_root().iterdir():
            if d.name.startswith(PREFIX):
                found.append(f"state dir {d}")
                labs.add(d.name)
    for lab in labs:
        found += [f"process {pid} of {lab}" for pid in process.lab_processes(lab, [])]
    return found


def root_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


def plan_interface_names() -> set[str]:
    """Every interface name the default lab uses: one of these in the root namespace is a leak."""
    from lgwan.topology import default_topology_path

    plan = compile_plan(load_topology(default_topology_path()))
    return {i.name for n in plan.nodes.values() for i in n.interfaces} | {
        b.name for n in plan.nodes.values() for b in n.bridges}


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():
    before = root_links()
    yield
    left = leftovers()
    leaked_links = (root_links() - before) & plan_interface_names()
    left += [f"link {name} in the root namespace" for name in sorted(leaked_links)]
    for lab in {x.split()[1].split(".")[0].rsplit("/", 1)[-1] for x in left if not x.startswith("link")}:
        netns.destroy(lab)  # clean up for the next run, but still fail this one
    assert not left, f"the tests left these behind: {left}"


_counter = iter(range(1000))


def lab_name() -> str:
    return f"{PREFIX}x{next(_counter)}"


ONE_MUNICIPALITY = """\
name: {name}
prefectures:
  - name: kanagawa
    municipalities:
      - {{name: yokohama, vlan: 101}}
"""


TWO_MUNICIPALITIES = """\
name: {name}
prefectures:
  - name: kanagawa
    municipalities:
      - {{name: yokohama, vlan: 101}}
      - {{name: kawasaki, vlan: 102}}
"""


@pytest.fixture
def topo_file(tmp_path) -> Path:
    """A one-municipality topology with a unique lab name."""
    f = tmp_path / "one.yml"
    f.write_text(ONE_MUNICIPALITY.format(name=lab_name()))
    return f


@pytest.fixture
def lab(topo_file):
    """A deployed one-municipality lab (removed afterwards; the removal is checked)."""
    plan = compile_plan(load_topology(topo_file), topology_file=str(topo_file))
    netns.deploy(plan)
    yield plan
    netns.destroy(plan.lab)
    assert not list_namespaces(f"{plan.lab}.")
    assert not LabState(plan.lab).exists()


def lgwan(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*LGWAN, *args], capture_output=True, text=True, timeout=timeout)


def write_topology(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "t.yml"
    f.write_text(textwrap.dedent(text))
    return f


def default_topology_template() -> str:
    """topology/default.yml with its lab name as a ``{name}`` placeholder (for ``deployed``)."""
    text = default_topology_path().read_text().replace("{", "{{").replace("}", "}}")
    return text.replace("name: lgwan", "name: {name}", 1)


@contextmanager
def deployed(tmp_path_factory, template: str, model: str | None = None):
    """Deploy a lab from a topology template (``{name}`` becomes a unique lab name) for a test
    module; yields (plan, topology) and checks on the way out that nothing of it is left."""
    f = tmp_path_factory.mktemp("lab") / "lab.yml"
    f.write_text(template.format(name=lab_name()))
    topo = load_topology(f)
    plan = compile_plan(topo, model, topology_file=str(f))
    netns.deploy(plan)
    try:
        yield plan, topo
    finally:
        netns.destroy(plan.lab)
        assert not list_namespaces(f"{plan.lab}.")
        assert not LabState(plan.lab).exists()


def in_node(plan, node: str, *argv: str, check: bool = True, timeout: float = 60):
    """Run a command inside a node of a deployed lab."""
    return process.run_in_node(plan.lab, plan.namespace(node), node, LabState(plan.lab).node_dir(node),
                               list(argv), timeout=timeout, check=check)
