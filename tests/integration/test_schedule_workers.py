"""Two ``mios worker`` loops with schedulers, in two processes on one PostgreSQL database, reach
the same fire of ``weekly-growth`` within a tick of each other: one fire workflow, one cycle.

Needs ``MIOS_TEST_DATABASE_URL``; the run gets a database of its own, dropped afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_ENV, PG_SKIP
from tests.support.queue_workers import ROOT, fresh_database
from tests.support.schedule_workers import READY

PLAYBOOK = "weekly-growth"
pytestmark = pytest.mark.slow


def start(url: str, workspace: Path, name: str, go: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MIOS_DATABASE_URL": "", "PYTHONPATH": str(ROOT)}
    args = ["-m", "tests.support.schedule_workers", url, str(workspace), name, str(go)]
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + 120
    while READY not in seen:
        line = process.stderr.readline()
        if (not line and process.poll() is not None) or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"a worker did not start: {seen}{process.stderr.read()}")
        seen += line
    return seen


def workflows(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT name, count(*) FROM dbos.workflow_status GROUP BY name")
            ).all()
    finally:
        engine.dispose()
    return {str(name): int(n) for name, n in rows}


def test_two_workers_start_one_cycle_per_fire(tmp_path: Path) -> None:
    admin = os.environ.get(PG_ENV)
    if not admin:
        pytest.skip(PG_SKIP)
    from mios.bootstrap import open_context_store, open_governance
    from mios.config import Settings
    from mios.context.service import init_workspace
    from mios.persistence.cycle_store import SqlCycleStore

    with fresh_database(admin) as url:
        workspace = tmp_path / "shop"
        settings = Settings(database_url=url)
        init_workspace(
            workspace,
            lambda root: open_context_store(root, settings),
            actor="test",
            customers=50,
            seed=1,
        )
        go = tmp_path / "go"
        workers = [start(url, workspace, f"worker-{i}", go) for i in (1, 2)]
        outputs = []
        try:
            for worker in workers:
                wait_ready(worker)
            go.touch()
            governance = open_governance(workspace, settings)
            try:
                cycles = SqlCycleStore(governance.engine)
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    found = cycles.get(f"cycle-{PLAYBOOK}-1")
                    if found is not None and found.is_done:
                        break
                    time.sleep(0.2)
                time.sleep(2)  # twenty more ticks each, after the cycle finished
                numbers = [c.number for c in cycles.cycles(PLAYBOOK)]
            finally:
                governance.close()
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                _, err = worker.communicate(timeout=120)
                outputs.append(err)
        counts = workflows(url)

    assert [w.returncode for w in workers] == [0, 0], outputs
    assert numbers == [1]
    assert counts.get("mios.schedule.fire") == 1, counts
    assert counts.get("mios.cycle") == 1, counts
    reports = [line for out in outputs for line in out.splitlines() if line.startswith("fired")]
    # Each worker that enqueued the fire heard its one outcome; none heard another.
    assert 1 <= len(reports) <= 2, outputs
    assert set(reports) == {f"fired cycle-{PLAYBOOK}-1"}, outputs
