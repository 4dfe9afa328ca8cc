"""The stages of a cycle as plain functions, over in-memory fakes: what each produces, and that
each can run again (after a crash) without doing anything twice."""

from __future__ import annotations

import pytest

from mios.agents.protocol import AgentContext
from mios.domain.action import ActionState
from mios.domain.channel import ChannelName
from mios.domain.cycle import CycleStage
from mios.domain.objective import Kpi
from mios.domain.policy import AutonomyMode
from mios.domain.proposal import ActionKind, DecisionStatus, Proposal, RiskTier
from mios.errors import DomainError
from mios.lifecycle import learning, steps
from mios.lifecycle.execution import execute_action
from mios.lifecycle.forecasting import forecaster_for
from mios.lifecycle.inline import run_cycle_inline
from tests.support.lifecycle import PLAYBOOK, setup, spec, two_sends_and_an_insight


def test_a_whole_cycle_runs_from_plan_to_learnings() -> None:
    s = setup()

    report = run_cycle_inline(s.services, PLAYBOOK, 1)

    assert report.cycle_id == "cycle-weekly-1"
    assert report.proposals == 3
    assert {a.state for a in report.actions} == {ActionState.APPROVED}
    assert {e.status.value for e in report.executions} == {"executed"}
    sent = [a for a in s.channel.executed if a.kind is ActionKind.SEND_MESSAGE]
    assert len(sent) == 2  # the insight reaches no channel
    assert all(a.id.startswith("cycle-weekly-1-scripted-") for a in sent)
    cycle = s.services.cycles.get(report.cycle_id)
    assert cycle is not None
    assert cycle.stage is CycleStage.DONE
    assert cycle.action_ids == [a.id for a in report.actions]
    assert set(cycle.stage_times) == set(CycleStage)
    assert sum(m.conversions for m in report.measured.actions) == 20
    learned = s.services.context.snapshot().learnings
    assert {lr.id for lr in learned} == set(report.learnings)
    assert all(lr.cycle_id == report.cycle_id for lr in learned)


def test_plan_run_again_proposes_the_same_ids_and_keeps_one_cycle() -> None:
    s = setup()
    cycle = steps.open_cycle(s.services, PLAYBOOK, 1)

    first = steps.plan(s.services, cycle)
    again = steps.plan(s.services, steps.open_cycle(s.services, PLAYBOOK, 1))

    assert [p.id for p in first.proposals] == [p.id for p in again.proposals]
    assert len(s.services.cycles.cycles()) == 1
    stored = s.services.cycles.get(cycle.id)
    assert stored is not None
    assert stored.stage is CycleStage.DECIDE
    assert stored.proposal_ids == [p.id for p in first.proposals]


def test_review_run_again_submits_nothing_twice() -> None:
    s = setup()
    cycle = steps.open_cycle(s.services, PLAYBOOK, 1)
    planned = steps.plan(s.services, cycle)
    decisions = steps.decide(s.services, cycle, planned.proposals)

    first = steps.review(s.services, cycle, planned.proposals, decisions)
    again = steps.review(s.services, cycle, planned.proposals, decisions)

    assert first == again
    verdicts = [r for r in s.command.audit.records() if r.event == "verdict"]
    assert len(verdicts) == len(first)


def test_decide_resolves_audiences_and_takes_budgets_and_caps_from_the_workspace() -> None:
    s = setup()
    cycle = steps.open_cycle(s.services, PLAYBOOK, 1)
    planned = steps.plan(s.services, cycle)
    snapshot = s.services.context.snapshot()

    audiences = steps.resolve_audiences(planned.proposals, snapshot.workspace, snapshot)
    limits = steps.budget_limits(snapshot, s.services.clock())
    caps = steps.contact_caps(snapshot.workspace)
    decisions = steps.decide(s.services, cycle, planned.proposals)

    eu = snapshot.customers().region.eq("EU")
    assert len(audiences) == 2  # the two sends; the insight has no audience
    assert len(next(iter(audiences.values()))) == int(eu.sum())
    assert str(limits.per_channel[ChannelName.EMAIL].amount) == "1000.00"
    assert caps.per_channel[ChannelName.EMAIL] == 1
    assert caps.total == 2
    assert len(decisions) == 3
    assert all(d.status is DecisionStatus.SELECTED for d in decisions)


def test_a_playbook_override_tightens_autonomy_and_the_actions_wait_for_people() -> None:
    s = setup(workspace=spec(overrides={"send_message": "approve"}))

    report = run_cycle_inline(s.services, PLAYBOOK, 1)

    sends = [a for a in report.actions if a.channel == "email"]
    assert len(sends) == 2
    assert {a.state for a in sends} == {ActionState.AWAITING_APPROVAL}
    assert not [a for a in s.channel.executed if a.kind is ActionKind.SEND_MESSAGE]


def test_a_playbook_override_never_loosens_the_workspace_matrix() -> None:
    strict = {"default": "approve", "rules": [{"kind": "insight", "mode": "auto"}]}
    s = setup(workspace=spec(autonomy=strict, overrides={"send_message": "auto"}))
    snapshot = s.services.context.snapshot()
    book = steps.playbook_named(snapshot.workspace, PLAYBOOK)

    governed = steps.governed_workspace(snapshot.workspace, book)
    report = run_cycle_inline(s.services, PLAYBOOK, 1)

    for risk in RiskTier:
        assert governed.autonomy.mode(ActionKind.SEND_MESSAGE, risk) is AutonomyMode.APPROVE
    sends = [a for a in report.actions if a.channel == "email"]
    assert {a.state for a in sends} == {ActionState.AWAITING_APPROVAL}


def test_an_unknown_playbook_is_refused_by_name() -> None:
    s = setup()
    with pytest.raises(DomainError, match="no playbook named 'nope'; playbooks: weekly"):
        steps.open_cycle(s.services, "nope", 1)
    assert s.services.cycles.cycles() == []


def test_the_next_cycle_forecasts_from_what_the_last_one_measured() -> None:
    s = setup()
    run_cycle_inline(s.services, PLAYBOOK, 1)

    cells = s.services.cycles.cells()
    snapshot = s.services.context.snapshot()
    forecaster = forecaster_for(snapshot, cells)

    assert {(c.segment, c.trials, c.successes) for c in cells} == {
        ("eu", 100, 10),
        ("-", 100, 10),  # the audience listed by id names no segment
    }
    assert type(forecaster).__name__ == "ResponseForecaster"
    assert snapshot.learnings


def test_the_playbook_objective_is_what_agents_and_the_brain_maximise() -> None:
    seen: list[Kpi] = []

    def remembering(ctx: AgentContext) -> list[Proposal]:
        seen.append(ctx.objective.primary_kpi)
        return two_sends_and_an_insight(ctx)

    s = setup(remembering, workspace=spec(objective="conversions"))
    run_cycle_inline(s.services, PLAYBOOK, 1)
    second = run_cycle_inline(s.services, PLAYBOOK, 2)

    assert seen == [Kpi.CONVERSIONS, Kpi.CONVERSIONS]  # the workspace's objective is profit
    assert s.services.context.snapshot().workspace.objective.primary_kpi is Kpi.PROFIT
    # The market converted 10% of each send in cycle 1; cycle 2 values the EU send by its
    # conversions (10% of the segment), not by the money they bring.
    eu_size = int(s.services.context.snapshot().customers().region.eq("EU").sum())
    eu = max(second.decisions, key=lambda d: d.expected_value)
    assert eu.forecast is not None
    assert eu.forecast.kpi == "conversions"
    assert eu.expected_value == pytest.approx(0.1 * eu_size, rel=0.1)
    assert eu.expected_value == eu.forecast.mean
    assert any("value counted as conversions" in r for r in eu.reasons)


def test_measure_run_again_counts_each_outcome_once() -> None:
    s = setup()
    report = run_cycle_inline(s.services, PLAYBOOK, 1)
    cycle = s.services.cycles.get(report.cycle_id)
    assert cycle is not None

    days = s.market.days
    again = learning.measure(s.services, cycle)
    learning.learn(s.services, cycle, again)

    assert s.market.days == days == 2  # the window's two days passed once
    assert again.ingested == 0
    assert [c.trials for c in s.services.cycles.cells()] == [100, 100]
    head = s.services.context.head()
    learning.learn(s.services, cycle, again)
    assert s.services.context.head() == head  # nothing new to write


def test_a_measure_interrupted_mid_window_closes_only_the_days_left() -> None:
    s = setup(workspace=spec(window=3))
    cycle = steps.open_cycle(s.services, PLAYBOOK, 1)
    planned = steps.plan(s.services, cycle)
    decisions = steps.decide(s.services, cycle, planned.proposals)
    for ref in steps.review(s.services, cycle, planned.proposals, decisions):
        execute_action(s.services, ref.id, ref.version, "test:runner")
    closing = s.market.advance_day

    def crash_on_the_second_day() -> None:
        if s.market.days == 1:
            raise RuntimeError("killed")
        closing()

    s.market.advance_day = crash_on_the_second_day  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="killed"):
        learning.measure(s.services, cycle)
    s.market.advance_day = closing  # type: ignore[method-assign]
    measured = learning.measure(s.services, cycle)

    assert s.market.days == 3  # one window, each day closed once
    assert sum(m.conversions for m in measured.actions) == 20
