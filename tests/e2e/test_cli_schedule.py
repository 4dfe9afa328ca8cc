"""``mios cycles next`` and the scheduling options of ``mios worker`` on a ``mios init``
workspace: each playbook's next fire (UTC) and latest cycle, bad times refused with exit 2,
and a worker that says when each playbook fires next, or that its schedule is off."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import ok, run

ROOT = Path(__file__).resolve().parents[2]
# 6 January 2025 is a Monday: weekly-growth fires at 07:00, winback-retention on Tuesday 09:30.
AFTER = "2025-01-06T06:00Z"


def test_cycles_next_lists_each_playbook_with_its_next_fire(shop: Path) -> None:
    w = str(shop)
    before = ok("-w", w, "cycles", "next", "--after", AFTER)
    ok("-w", w, "run", "weekly-growth")
    after_a_run = ok("-w", w, "cycles", "next", "--after", "2025-01-06T08:00+01:00")
    table = run("-w", w, "cycles", "next", "--after", AFTER)

    assert before == {
        "after": "2025-01-06T06:00:00+00:00",
        "playbooks": [
            {
                "playbook": "weekly-growth",
                "cadence": "0 7 * * 1",
                "next": "2025-01-06T07:00:00+00:00",
                "problem": None,
                "latest_cycle": None,
                "latest_stage": None,
            },
            {
                "playbook": "winback-retention",
                "cadence": "30 9 * * 2,4",
                "next": "2025-01-07T09:30:00+00:00",
                "problem": None,
                "latest_cycle": None,
                "latest_stage": None,
            },
        ],
    }
    weekly = after_a_run["playbooks"][0]
    # 08:00 at +01:00 is 07:00 UTC: strictly after it, the next Monday.
    assert weekly["next"] == "2025-01-13T07:00:00+00:00"
    assert (weekly["latest_cycle"], weekly["latest_stage"]) == ("cycle-weekly-growth-1", "done")
    assert table.exit_code == 0, table.output
    assert "2025-01-06 07:00" in table.stdout
    assert "cycle-weekly-growth-1 (done)" in table.stdout


@pytest.mark.parametrize(
    ("after", "message"),
    [("yesterday", "not an ISO 8601 time"), ("2025-01-06T06:00", "add Z for UTC")],
)
def test_cycles_next_refuses_a_bad_time(shop: Path, after: str, message: str) -> None:
    result = run("-w", str(shop), "cycles", "next", "--after", after)

    assert result.exit_code == 2, result.output
    assert "--after" in result.stderr
    assert message in result.stderr


def test_the_help_shows_the_schedule_options() -> None:
    worker = run("worker", "--help")
    listing = run("cycles", "next", "--help")

    assert worker.exit_code == 0, worker.output
    for option in ("--tick", "--no-schedule"):
        assert option in worker.stdout
    assert listing.exit_code == 0, listing.output
    assert "Example" in listing.stdout
    assert "--json" in listing.stdout


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), ["schedule: weekly-growth (0 7 * * 1) next ", "schedule: winback-retention"]),
        (("--no-schedule",), ["schedule: off (--no-schedule)"]),
    ],
)
def test_a_worker_says_when_each_playbook_fires_next(
    shop: Path, options: tuple[str, ...], expected: list[str]
) -> None:
    env = {**os.environ, "MIOS_DATABASE_URL": "", "PYTHONPATH": str(ROOT / "src")}
    args = ["-m", "mios.cli.app", "-w", str(shop), "worker", "--grace", "5", "--tick", "1"]
    process = subprocess.Popen(
        [sys.executable, *args, *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    seen = ""
    while not all(line in seen for line in expected) and time.monotonic() < deadline:
        seen += process.stderr.readline()
        assert process.poll() is None, seen
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)

    assert process.returncode == 0, err
    for line in expected:
        assert line in seen
