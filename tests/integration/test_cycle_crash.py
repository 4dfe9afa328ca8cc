"""Kill the process at several points of a durable cycle, start it again, and check that every
approved action executed exactly once and none was lost.

Each case runs ``tests.support.crash_cycle`` twice in a subprocess on a copy of a small
``mios init`` workspace: once with a crash point (it ends itself with ``os._exit``, like
``kill -9``: no cleanup runs), then without (DBOS recovers the cycle at launch). The channel
writes every call it gets to a file and dedupes nothing, so a repeated effect would show.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run
from tests.support.crash_cycle import CRASHED, SENDS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "shop"
    result = run("init", str(root), "--customers", "300", "--seed", "5")
    assert result.exit_code == 0, result.output
    return root


def cycle_process(
    workspace: Path, effects: Path, crash: str | None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MIOS_DATABASE_URL": "", "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "tests.support.crash_cycle", str(workspace), str(effects)]
    return subprocess.run(
        [*args, *([crash] if crash else [])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("crash", ["plan", "between", "after_receipt", "before_measure"])
def test_a_killed_cycle_resumes_and_executes_every_action_exactly_once(
    template: Path, tmp_path: Path, crash: str
) -> None:
    workspace = tmp_path / "shop"
    shutil.copytree(template, workspace)
    effects = tmp_path / "effects.jsonl"

    killed = cycle_process(workspace, effects, crash)
    before = effects.read_text().splitlines() if effects.exists() else []
    recovered = cycle_process(workspace, effects, None)

    assert killed.returncode == CRASHED, killed.stderr[-3000:]
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    summary: dict[str, Any] = json.loads(recovered.stdout.strip().splitlines()[-1])
    calls = Counter(json.loads(line)["key"] for line in effects.read_text().splitlines())
    actions = summary["actions"]
    assert summary["stage"] == "done"
    assert len(actions) == SENDS
    assert {a["state"] for a in actions.values()} == {"measured"}
    assert calls == Counter({a["key"]: 1 for a in actions.values()})  # once each, none lost
    assert all(summary["receipts"].values())
    expected_before = {"plan": 0, "between": 1, "after_receipt": 1, "before_measure": SENDS}
    assert len(before) == expected_before[crash]
