"""``mios demo`` end to end, small: cycles run, actions execute on the simulated market,
outcomes are measured, the scripted reviewer is labelled, and profit is set against the
simulator's policies and sprawl mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run

pytestmark = pytest.mark.slow


def test_the_demo_runs_cycles_and_compares_profit(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    result = run("demo", "--customers", "2000", "--cycles", "2", "--keep", str(kept), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    cycles = report["cycles"]
    # Two weekly windows: the script's approvals run on their cycle's own day.
    assert (report["scenario"], report["customers"], report["days"]) == (
        "retail-holiday",
        2000,
        14,
    )
    assert [c["number"] for c in cycles] == [1, 2]
    for cycle in cycles:
        assert cycle["proposals"] > 0
        assert cycle["selected"] > 0
        assert cycle["executed"] > 0
        assert cycle["outcomes"] > 0
    assert cycles[-1]["learnings"]
    assert set(report["profit"]) == {"mios", "static", "oracle", "sprawl"}
    assert cycles[-1]["profit_so_far"] == report["profit"]["mios"]
    # The workspace was kept: its audit trail holds the scripted reviewer's answers.
    assert (kept / "mios.yaml").is_file()
    answers = run("-w", str(kept), "cycles", "list", "--json")
    assert answers.exit_code in (0, 2)  # the cycles command lands with the lifecycle CLI


def test_the_scripted_reviewer_is_named_as_such(tmp_path: Path) -> None:
    result = run("demo", "--customers", "1000", "--cycles", "1")
    assert result.exit_code == 0, result.output
    assert "scripted reviewer (stands in for people)" in result.stdout
    assert "sprawl mode" in result.stdout
    assert "oracle" in result.stdout


def test_bad_options_exit_2() -> None:
    assert run("demo", "--scenario", "nowhere").exit_code == 2
    assert run("demo", "--cycles", "0").exit_code == 2


def test_mios_and_every_comparison_are_scored_on_the_same_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mios.channels.simulator import SimulatorChannel
    from mios.demo import run as demo

    days_of_executions: dict[int, list[int]] = {}
    execute = SimulatorChannel.execute

    def spy(self: SimulatorChannel, action: Any) -> Any:
        days_of_executions.setdefault(id(self), []).append(self._market.day)
        return execute(self, action)

    compared: list[int] = []
    policy_profit = demo._policy_profit

    def spy_policy(plan: Any, policy: str, seed: int, customers: int, days: int) -> Any:
        compared.append(days)
        return policy_profit(plan, policy, seed, customers, days)

    monkeypatch.setattr(SimulatorChannel, "execute", spy)
    monkeypatch.setattr(demo, "_policy_profit", spy_policy)
    result = demo.run_demo(tmp_path / "w", customers=1000, cycles=1, history_weeks=2)

    mios_days = next(iter(days_of_executions.values()))  # the first channel is mios's
    assert result.cycles[0].approved_by_script > 0
    # What the script approved ran on the cycle's day, before its window's first day closed.
    assert set(mios_days) == {0}
    assert result.days == 7
    assert compared == [result.days, result.days]
    assert max(mios_days) < result.days  # nothing mios did falls outside the compared days
    assert result.cycles[-1].profit_so_far == result.profit["mios"]
