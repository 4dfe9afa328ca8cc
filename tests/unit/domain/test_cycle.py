"""Cycles move forward only; playbooks are checked when they are built."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mios.domain.cron import check_cron
from mios.domain.cycle import Cycle, CycleStage, Playbook
from mios.domain.objective import Guardrail, Kpi, Objective
from mios.domain.policy import AutonomyMode
from mios.domain.proposal import ActionKind
from mios.errors import DomainError, IllegalTransition

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def cycle(**overrides: Any) -> Cycle:
    fields: dict[str, Any] = {
        "id": "c1",
        "playbook": "weekly-winback",
        "number": 1,
        "snapshot_version": 3,
        "started_at": T0,
    }
    fields.update(overrides)
    return Cycle(**fields)


def playbook(**overrides: Any) -> Playbook:
    fields: dict[str, Any] = {
        "name": "weekly-winback",
        "agents": ("crm", "content"),
        "cadence": "0 9 * * 1",
    }
    fields.update(overrides)
    return Playbook(**fields)


class TestCycle:
    def test_a_new_cycle_plans(self) -> None:
        made = cycle()
        assert made.stage is CycleStage.PLAN
        assert made.stage_times == {CycleStage.PLAN: T0}
        assert not made.is_done

    @pytest.mark.parametrize(
        ("start", "to"),
        [(a, b) for a, b in itertools.product(CycleStage, CycleStage) if a is not CycleStage.DONE],
    )
    def test_every_pair_of_stages(self, start: CycleStage, to: CycleStage) -> None:
        moving = cycle(stage=start)
        if list(CycleStage).index(to) > list(CycleStage).index(start):
            moving.advance(to, T1)
            assert moving.stage is to
            assert moving.stage_times[to] == T1
        else:
            with pytest.raises(IllegalTransition, match=f"from {start} to {to}"):
                moving.advance(to, T1)
            assert moving.stage is start

    @pytest.mark.parametrize("to", list(CycleStage))
    def test_nothing_follows_done(self, to: CycleStage) -> None:
        finished = cycle(stage=CycleStage.DONE, finished_at=T1)
        with pytest.raises(IllegalTransition):
            finished.advance(to, T1)

    def test_finishing_records_the_time(self) -> None:
        made = cycle(stage=CycleStage.OPTIMIZE)
        made.finish(T1)
        assert (made.stage, made.finished_at, made.is_done) == (CycleStage.DONE, T1, True)

    def test_a_stage_cannot_start_before_the_cycle(self) -> None:
        with pytest.raises(DomainError, match="before the cycle started"):
            cycle().advance(CycleStage.DECIDE, T0 - timedelta(seconds=1))

    def test_stage_times_must_be_aware(self) -> None:
        with pytest.raises(DomainError, match="stage time"):
            cycle().advance(CycleStage.DECIDE, datetime(2025, 3, 2))

    def test_finished_at_goes_with_done(self) -> None:
        with pytest.raises(DomainError, match="finished_at"):
            cycle(stage=CycleStage.DONE)
        with pytest.raises(DomainError, match="finished_at"):
            cycle(finished_at=T1)

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("id", "", "id and a playbook"),
            ("playbook", " ", "id and a playbook"),
            ("number", 0, "number"),
            ("snapshot_version", 0, "snapshot version"),
            ("started_at", datetime(2025, 3, 1), "started_at"),
        ],
    )
    def test_validation(self, field: str, value: object, message: str) -> None:
        with pytest.raises(DomainError, match=message):
            cycle(**{field: value})

    def test_identity_is_the_id(self) -> None:
        assert cycle() == cycle(number=2)
        assert cycle() != cycle(id="c2")


class TestCron:
    @pytest.mark.parametrize(
        "expression",
        ["* * * * *", "*/15 * * * *", "0 9 * * 1-5", "0 9,17 1 1-12/3 0", "59 23 31 12 7"],
    )
    def test_accepted(self, expression: str) -> None:
        check_cron(expression)

    @pytest.mark.parametrize(
        ("expression", "message"),
        [
            ("* * * *", "5 fields, got 4"),
            ("* * * * * *", "5 fields, got 6"),
            ("@daily", "5 fields"),
            ("60 * * * *", "minute 60 is outside 0-59"),
            ("* 24 * * *", "hour 24 is outside 0-23"),
            ("0 0 0 * *", "day of month 0 is outside 1-31"),
            ("0 0 1 13 *", "month 13 is outside 1-12"),
            ("0 0 * * 8", "day of week 8 is outside 0-7"),
            ("0 9 * * mon", "not a cron token"),
            ("0 9 * * 1,", "not a cron token"),
            ("5-1 * * * *", "runs backwards"),
            ("*/0 * * * *", "step must be >= 1"),
        ],
    )
    def test_refused(self, expression: str, message: str) -> None:
        with pytest.raises(DomainError, match=message):
            check_cron(expression)


class TestPlaybook:
    def test_a_complete_playbook(self) -> None:
        made = playbook(
            objective="revenue",
            autonomy_overrides={"send_message": "notify", "set_budget": "forbid"},
            measurement_window_days=14,
            experiment_holdout=0.1,
        )
        assert made.autonomy() == {
            ActionKind.SEND_MESSAGE: AutonomyMode.NOTIFY,
            ActionKind.SET_BUDGET: AutonomyMode.FORBID,
        }

    def test_name_is_required(self) -> None:
        with pytest.raises(DomainError, match="name"):
            playbook(name="")

    def test_at_least_one_agent(self) -> None:
        with pytest.raises(DomainError, match="at least one agent"):
            playbook(agents=())

    def test_an_agent_once(self) -> None:
        with pytest.raises(DomainError, match="listed twice"):
            playbook(agents=("crm", "crm"))

    def test_cadence_is_checked(self) -> None:
        with pytest.raises(DomainError, match="cadence"):
            playbook(cadence="weekly")

    def test_a_cadence_that_never_fires_is_refused(self) -> None:
        with pytest.raises(DomainError, match="never fires"):
            playbook(cadence="0 0 30 2 *")

    def test_objective_cannot_be_blank(self) -> None:
        with pytest.raises(DomainError, match="objective"):
            playbook(objective=" ")

    def test_objective_must_be_something_a_cycle_can_maximise(self) -> None:
        with pytest.raises(DomainError, match="objective 'cac' cannot be maximised"):
            playbook(objective="cac")

    def test_serving_puts_the_playbook_kpi_first_and_keeps_the_bounds(self) -> None:
        workspace_objective = Objective(Kpi.PROFIT, 1000.0, 30, (Guardrail(Kpi.CAC, max=40.0),))
        served = playbook(objective="conversions").serving(workspace_objective)
        assert served.primary_kpi is Kpi.CONVERSIONS
        assert (served.target, served.horizon_days) == (1000.0, 30)
        assert served.guardrails == workspace_objective.guardrails
        assert playbook().serving(workspace_objective) is workspace_objective

    def test_unknown_action_kind_in_overrides(self) -> None:
        with pytest.raises(DomainError, match="unknown action kind 'send_fax'"):
            playbook(autonomy_overrides={"send_fax": "auto"})

    def test_unknown_autonomy_in_overrides(self) -> None:
        with pytest.raises(DomainError, match="unknown autonomy 'yolo'"):
            playbook(autonomy_overrides={"send_message": "yolo"})

    def test_measurement_window_is_at_least_a_day(self) -> None:
        with pytest.raises(DomainError, match="measurement window"):
            playbook(measurement_window_days=0)

    @pytest.mark.parametrize("holdout", [-0.01, 0.51, float("nan")])
    def test_holdout_is_at_most_half(self, holdout: float) -> None:
        with pytest.raises(DomainError, match="holdout"):
            playbook(experiment_holdout=holdout)

    @pytest.mark.parametrize("holdout", [0.0, 0.5])
    def test_holdout_bounds_are_allowed(self, holdout: float) -> None:
        assert playbook(experiment_holdout=holdout).experiment_holdout == holdout
