"""A third-party agent, installed for real: the plug-in docs/agents.md shows is packed into a
wheel, installed by pip into a folder on ``sys.path``, found through its entry point, listed with
its distribution, and run by the planner. The test reads the code from the doc, so the two stay
the same."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mios.agents.planner import run_agents
from mios.agents.protocol import READ, AgentContext, Estimate
from mios.agents.registry import AgentRegistry, AgentSpec
from mios.context.translate import build_workspace
from mios.domain.budget import BudgetLedger
from mios.domain.history import ChannelHistory
from mios.domain.proposal import ActionKind
from tests.support.forecasts import FlatForecasts
from tests.support.workspaces import minimal_spec, random_customers

DOC = Path(__file__).resolve().parents[2] / "docs" / "agents.md"


def code_block(marker: str) -> tuple[str, str]:
    """The fenced block after ``<!-- marker... -->`` in the doc, and the marker's argument."""
    match = re.search(
        rf"<!-- {marker}:?\s*(\S*)\s*-->\n```\w+\n(.*?)```", DOC.read_text(), re.DOTALL
    )
    assert match, f"docs/agents.md lost its {marker} block"
    return match.group(1), match.group(2)


def wheel(folder: Path) -> tuple[Path, str, str]:
    """The doc's plug-in as a wheel: (path, distribution name, module name)."""
    module_file, source = code_block("plugin-module")
    project = tomllib.loads(code_block("plugin-pyproject")[1])["project"]
    name, version = project["name"], project["version"]
    stem = f"{name.replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    points = "".join(f"{k} = {v}\n" for k, v in project["entry-points"]["mios.agents"].items())
    files = {
        module_file: source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: mios-tests\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[mios.agents]\n{points}",
    }
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    path = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in files.items():
            zf.writestr(member, text)
    return path, name, module_file.removesuffix(".py")


def _digest(text: str) -> str:
    raw = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """pip-installs the plug-in into a folder put first on ``sys.path``; yields its distribution
    name. Undone afterwards: the folder leaves ``sys.path``, the module leaves ``sys.modules``."""
    path, distribution, module = wheel(tmp_path)
    site = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index"]
    command += ["--no-cache-dir", "--disable-pip-version-check", "--quiet"]
    done = subprocess.run(
        [*command, "--target", str(site), str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    monkeypatch.syspath_prepend(str(site))
    yield distribution
    sys.modules.pop(module, None)


def context() -> AgentContext:
    workspace = build_workspace(minimal_spec())
    return AgentContext(
        snapshot_version=2,
        workspace=workspace,
        customers=random_customers(500),
        history=ChannelHistory(),
        ledger=BudgetLedger.for_budgets(workspace.budgets),
        learnings=(),
        forecasts=FlatForecasts(Estimate(0.02, 0.01, 0.03)),
        now=datetime(2026, 11, 24, 9, tzinfo=UTC),
        seed=1,
    )


def test_an_installed_plug_in_is_listed_with_its_distribution(installed: str) -> None:
    registry = AgentRegistry.discover()
    assert "segment-watch" in registry.names()
    description = "Reports how many customers each segment holds."
    assert AgentSpec("segment-watch", description, READ, installed) in registry.available()


def test_an_installed_plug_in_runs_in_the_planner(installed: str) -> None:
    ctx = context()
    agent = AgentRegistry.discover().create("segment-watch")
    plan = run_agents([agent], ctx)
    [run] = plan.runs
    assert run.error is None
    assert run.refused == ()
    sizes = {s.id: s.size(ctx.customers) for s in ctx.workspace.segments}
    assert {p.parameters["segment"]: p.parameters["finding"] for p in plan.proposals} == {
        seg: f"{size} customers" for seg, size in sizes.items()
    }
    for proposal in plan.proposals:
        assert proposal.kind is ActionKind.INSIGHT
        assert proposal.agent_id == "segment-watch"
        assert proposal.snapshot_version == ctx.snapshot_version
        assert proposal.evidence == (f"segment:{proposal.parameters['segment']}",)


def test_uninstalled_it_is_gone() -> None:
    assert "segment-watch" not in AgentRegistry.discover().names()
