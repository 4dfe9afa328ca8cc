"""Nothing that decides may read the market's ground truth.

Agents, the brain, governance, the lifecycle and measurement learn about a market from outcomes,
as they would about a real one. The check reads every import in ``src/mios``: those layers import
nothing from ``mios.sim``, and outside the simulator nobody imports the truth modules or reaches
for a market's ``_truth``.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "mios"
DECIDING = ("agents", "brain", "governance", "lifecycle", "measure", "context", "domain")
TRUTH_MODULES = ("mios.sim.truth", "mios.sim.ground_truth", "mios.sim.population")


def imported_modules(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def violations(relative: Path, source: str) -> list[str]:
    """What ``source`` (at ``relative`` inside src/mios) must not do, one line per breach."""
    tree = ast.parse(source)
    package = relative.parts[0] if len(relative.parts) > 1 else ""
    problems: list[str] = []
    modules = imported_modules(tree)
    if package in DECIDING:
        problems += [f"{relative} imports {m}" for m in sorted(modules) if m.startswith("mios.sim")]
    if package != "sim":
        problems += [
            f"{relative} imports {m}"
            for m in sorted(modules)
            if any(m == t or m.startswith(f"{t}.") for t in TRUTH_MODULES)
        ]
        problems += [
            f"{relative}:{node.lineno} reads {node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "_truth"
        ]
    return problems


def test_no_deciding_layer_reads_the_ground_truth() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 40, "the scan must see the whole package"
    problems = [p for f in files for p in violations(f.relative_to(SRC), f.read_text())]
    assert problems == []


def test_the_check_catches_each_way_of_reaching_the_truth() -> None:
    assert violations(Path("brain/nba.py"), "from mios.sim.market import Market\n")
    assert violations(Path("agents/crm.py"), "import mios.sim\n")
    assert violations(Path("measure/x.py"), "from mios.sim import truth\n")
    assert violations(Path("channels/x.py"), "from mios.sim.ground_truth import ground_truth\n")
    assert violations(Path("lifecycle/x.py"), "def f(m):\n    return m._truth\n")
    # The simulator channel may drive a market; it may not read the truth.
    assert violations(Path("channels/simulator.py"), "from mios.sim.market import Market\n") == []
    assert (
        violations(Path("sim/policies.py"), "from mios.sim.ground_truth import ground_truth\n")
        == []
    )
