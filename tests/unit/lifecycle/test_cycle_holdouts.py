"""A playbook's holdout inside a cycle: review puts it on every addressed message before the
gate, and measure sets each message that held some out against its holdout, with a learning."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from mios.agents.protocol import AgentContext
from mios.channels.memory import RecordingChannel
from mios.channels.port import Receipt
from mios.context.spec import WorkspaceSpec
from mios.domain.action import Action
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind, Proposal
from mios.lifecycle import learning, steps
from mios.lifecycle.inline import run_cycle_inline
from tests.support.lifecycle import (
    PLAYBOOK,
    T0,
    Market,
    Setup,
    send,
    setup,
    spec,
)

HELD_OUT = 100  # what the channel below reports held out of each message
HOLDOUT_CONVERSIONS = 2  # and what the holdout bought on its own (the market below sells 10)


def holding_out(share: float) -> WorkspaceSpec:
    """The test workspace with its playbook holding out ``share``."""
    made = spec()
    book = made.playbooks[PLAYBOOK]
    experiments = book.experiments.model_copy(update={"holdout": share})
    return made.model_copy(
        update={"playbooks": {PLAYBOOK: book.model_copy(update={"experiments": experiments})}}
    )


def reviewed(s: Setup) -> list[Action]:
    cycle = steps.open_cycle(s.services, PLAYBOOK, 1)
    planned = steps.plan(s.services, cycle)
    decisions = steps.decide(s.services, cycle, planned.proposals)
    refs = steps.review(s.services, cycle, planned.proposals, decisions)
    found = [s.command.store.action(r.id) for r in refs]
    return [a for a in found if a is not None]


def test_review_puts_the_playbooks_holdout_on_every_addressed_message() -> None:
    s = setup(workspace=holding_out(0.2))

    actions = reviewed(s)

    sends = [a for a in actions if a.kind is ActionKind.SEND_MESSAGE]
    assert len(sends) == 2
    for action in sends:
        assert action.parameters["holdout_share"] == 0.2
        assert action.parameters["experiment_id"] == action.id
    [insight] = [a for a in actions if a.kind is ActionKind.INSIGHT]
    assert insight.parameters == {}
    # The gate judged the action with its holdout: the verdict binds the hash that holds it.
    verdicts = {r.subject: r for r in s.command.audit.records() if r.event == "verdict"}
    for action in sends:
        assert verdicts[action.id].data["content_hash"] == action.content_hash()
        assert verdicts[action.id].data["effect"] == "allow"


def test_a_playbook_without_a_holdout_sets_nothing() -> None:
    s = setup(workspace=holding_out(0.0))

    actions = reviewed(s)

    assert actions
    assert all("holdout_share" not in a.parameters for a in actions)
    assert all("experiment_id" not in a.parameters for a in actions)


def test_an_agents_own_holdout_is_left_as_it_is() -> None:
    def script(ctx: AgentContext) -> list[Proposal]:
        own = send(ctx, "own", "eu")
        own = replace(own, parameters={"holdout_share": 0.3, "experiment_id": "agent-x"})
        return [own]

    s = setup(script, workspace=holding_out(0.2))
    [action] = reviewed(s)
    assert action.parameters == {"holdout_share": 0.3, "experiment_id": "agent-x"}


class HoldingChannel(RecordingChannel):
    """Takes each message as 100 sent and ``HELD_OUT`` held out."""

    def execute(self, action: Action) -> Receipt:
        receipt = super().execute(action)
        if action.kind is not ActionKind.SEND_MESSAGE or "holdout_share" not in action.parameters:
            return receipt
        return replace(receipt, accepted=100, held_out=HELD_OUT)


class HoldoutMarket(Market):
    """The test market, plus ``HOLDOUT_CONVERSIONS`` purchases of each message's holdout,
    reported under the action as the simulator does."""

    def advance_day(self) -> None:
        before = set(self.reported)
        super().advance_day()
        at = T0 + timedelta(days=self.days)
        for action in self.channel.executed:
            if action.id in before or action.id not in self.reported:
                continue
            experiment = action.parameters.get("experiment_id")
            if experiment is None:
                continue
            self.pending.append(
                Outcome(
                    f"{action.id}:h",
                    OutcomeKind.CONVERSION,
                    at,
                    action.id,
                    count=HOLDOUT_CONVERSIONS,
                    attributes={"experiment_id": experiment, "arm": "holdout"},
                )
            )


def holdout_setup(share: float = 0.2) -> Setup:
    s = setup(workspace=holding_out(share))
    channel = HoldingChannel(s.channel.channels)
    market = HoldoutMarket(channel)
    services = replace(s.services, channels=dict.fromkeys(channel.channels, channel), source=market)
    return replace(s, services=services, channel=channel, market=market)


def test_measure_sets_each_message_against_its_holdout_and_learns_it_once() -> None:
    s = holdout_setup()

    report = run_cycle_inline(s.services, PLAYBOOK, 1)

    sends = [m for m in report.measured.actions if m.kind is ActionKind.SEND_MESSAGE]
    assert len(sends) == 2
    for measured in sends:
        found = measured.incrementality
        assert found is not None
        assert measured.conversions == 10  # the holdout's purchases are not the message's
        assert measured.held_out == HELD_OUT
        assert (found.treated_size, found.holdout_size) == (100, HELD_OUT)
        assert (found.treated_conversions, found.holdout_conversions) == (10, 2)
        assert found.incremental_conversions == pytest.approx(8.0)
        low, high = found.interval
        assert 0 < low < 8 < high
    summary = s.services.cycles.summary(report.cycle_id)
    assert set(summary["incrementality"]) == {m.action_id for m in sends}
    shown = summary["incrementality"][sends[0].action_id]
    assert shown["incremental_conversions"] == 8.0
    assert shown["held_out"] == HELD_OUT

    learned = {lr.id: lr for lr in s.services.context.snapshot().learnings}
    for measured in sends:
        lr = learned[f"{report.cycle_id}:incrementality:{measured.action_id}"]
        assert lr.insight.startswith(("email to segment eu, ", "email to listed customers, "))
        assert "incremental conversions 8.0 (95% interval " in lr.insight
        assert "lift +8.00 points vs holdout (10.00% of 100 sent, 2.00% of 100 held out" in (
            lr.insight
        )
        assert lr.evidence == (f"action:{measured.action_id}", f"experiment:{measured.action_id}")
        # The interval lies above zero: the message surely added conversions.
        assert 0.975 < lr.confidence < 1
        assert lr.id in report.learnings

    cycle = s.services.cycles.get(report.cycle_id)
    assert cycle is not None
    version = s.services.context.snapshot().version
    again = learning.learn(s.services, cycle, learning.measure(s.services, cycle))
    assert again == report.learnings
    assert s.services.context.snapshot().version == version  # nothing written twice


def test_a_message_whose_channel_held_nobody_out_is_not_set_against_a_holdout() -> None:
    s = setup(workspace=holding_out(0.2))  # the recording channel reports no holdout

    report = run_cycle_inline(s.services, PLAYBOOK, 1)

    assert all(m.incrementality is None for m in report.measured.actions)
    assert not [lr for lr in report.learnings if ":incrementality:" in lr]
    assert s.services.cycles.summary(report.cycle_id)["incrementality"] == {}


def test_sign_confidence_is_a_half_on_zero_and_nears_one_off_it() -> None:
    s = holdout_setup()
    report = run_cycle_inline(s.services, PLAYBOOK, 1)
    found = report.measured.actions[0].incrementality
    assert found is not None

    centred = replace(found, interval=(-5.0, 5.0))
    assert learning.sign_confidence(centred) == pytest.approx(0.5)
    loss = replace(found, interval=(-20.0, -10.0))
    assert learning.sign_confidence(loss) > 0.999
    touching = replace(found, interval=(0.0, 10.0))
    assert learning.sign_confidence(touching) == pytest.approx(0.975, abs=1e-3)
