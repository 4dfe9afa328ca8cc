"""The contact history a cycle reads: what earlier cycles sent, counted per customer, so the
contact policy's weekly caps and unsubscribe cooldown hold from one cycle to the next."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from mios.agents.protocol import AgentContext
from mios.domain.action import ActionState
from mios.domain.channel import ChannelName
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import Decision, DecisionStatus, Proposal
from mios.governance.checkers.contact_policy import ContactPolicyChecker
from mios.lifecycle import steps
from mios.lifecycle.contacts import contact_history
from mios.lifecycle.inline import run_cycle_inline
from mios.lifecycle.services import CycleServices
from tests.support.lifecycle import PLAYBOOK, T0, Clock, Setup, send, setup, spec

#: One email a week per customer, no daily cap, no cap across channels.
WEEKLY_EMAIL_ONE: dict[str, Any] = {
    "contact": {"per_channel": {"email": {"week": 1}}, "all_channels": {}}
}


def eu_only(ctx: AgentContext) -> list[Proposal]:
    return [send(ctx, "eu", "eu")]


def eu_and_listed(ctx: AgentContext) -> list[Proposal]:
    """The EU segment, and three customers each of Canada (Toronto) and the US (UTC) listed."""
    region = ctx.customers.region
    listed = [*ctx.customers.ids[region.eq("CA")][:3], *ctx.customers.ids[region.eq("US")][:3]]
    return [send(ctx, "eu", "eu"), send(ctx, "listed", None, customers=tuple(listed))]


def governed(
    script: Any = eu_only, governance: dict[str, Any] | None = WEEKLY_EMAIL_ONE
) -> tuple[Setup, CycleServices, Clock]:
    """A setup whose reviews run the contact-policy checker."""
    s = setup(script, workspace=spec(governance=governance))
    clock = s.services.clock
    assert isinstance(clock, Clock)
    return s, replace(s.services, checkers=(ContactPolicyChecker(),)), clock


def the_send(decisions: tuple[Decision, ...]) -> Decision:
    (decision,) = decisions
    return decision


def findings_of(s: Setup, action_id: str) -> set[str]:
    (record,) = [
        r for r in s.command.audit.records() if r.event == "verdict" and r.subject == action_id
    ]
    return {f["rule"] for f in record.data["findings"]}


def test_a_second_cycle_in_the_week_drops_the_send_to_whom_the_first_reached() -> None:
    s, services, clock = governed()
    first = run_cycle_inline(services, PLAYBOOK, 1)
    (sent,) = first.actions
    assert sent.state is ActionState.APPROVED
    # The first cycle was reviewed with a history (empty), not without one.
    assert "contact-policy/no-history" not in findings_of(s, sent.id)
    clock.now += timedelta(days=2)

    cycle = steps.open_cycle(services, PLAYBOOK, 2)
    planned = steps.plan(services, cycle)
    decision = the_send(steps.decide(services, cycle, planned.proposals))
    refs = steps.review(services, cycle, planned.proposals, (decision,))

    assert decision.status is DecisionStatus.DROPPED
    assert decision.forecast is None
    assert any("contact-policy/channel-week" in r for r in decision.reasons)
    assert refs == ()
    assert len(s.channel.executed) == 1


def test_the_review_denies_a_send_past_the_weekly_cap_from_the_history() -> None:
    s, services, clock = governed()
    run_cycle_inline(services, PLAYBOOK, 1)
    clock.now += timedelta(days=2)
    cycle = steps.open_cycle(services, PLAYBOOK, 2)
    planned = steps.plan(services, cycle)
    # Decided without the checker, as the brain did before it read the history.
    decisions = steps.decide(replace(services, checkers=()), cycle, planned.proposals)
    assert the_send(decisions).status is DecisionStatus.SELECTED

    (ref,) = steps.review(services, cycle, planned.proposals, decisions)

    assert ref.state is ActionState.BLOCKED
    found = findings_of(s, ref.id)
    assert "contact-policy/channel-week" in found
    assert "contact-policy/no-history" not in found


def test_a_send_older_than_seven_days_does_not_count() -> None:
    s, services, clock = governed()
    run_cycle_inline(services, PLAYBOOK, 1)
    clock.now += timedelta(days=8)
    snapshot = services.context.snapshot()

    history = contact_history(services, snapshot, clock.now)
    second = run_cycle_inline(services, PLAYBOOK, 2)

    assert history.week == {}
    assert history.today == {}
    assert [a.state for a in second.actions] == [ActionState.APPROVED]
    assert len(s.channel.executed) == 2
    after = contact_history(services, services.context.snapshot(), clock.now)
    eu = snapshot.customers().region.eq("EU")
    assert np.array_equal(after.week[ChannelName.EMAIL], eu.astype(np.int64))


def test_week_counts_every_customer_reached_and_today_their_local_day() -> None:
    s, services, _clock = governed(eu_and_listed, governance=None)
    run_cycle_inline(services, PLAYBOOK, 1)
    customers = services.context.snapshot().customers()
    (named,) = [a for a in s.channel.executed if a.audience and a.audience.customer_ids]
    assert named.audience is not None
    listed = customers.positions(list(named.audience.customer_ids))
    reached = customers.region.eq("EU").copy()
    reached[listed] = True
    # Sent on 2026-11-23 around 09:00 UTC; at 03:00 UTC the next day it is still that day in
    # Toronto (22:00), and no longer in UTC or Berlin.
    now = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)

    history = contact_history(services, services.context.snapshot(), now)

    assert np.array_equal(history.week[ChannelName.EMAIL], reached.astype(np.int64))
    toronto = customers.time_zone.eq("America/Toronto")
    expected_today = np.zeros(len(customers), dtype=np.int64)
    expected_today[listed[toronto[listed]]] = 1
    assert toronto[listed].sum() == 3
    assert np.array_equal(history.today[ChannelName.EMAIL], expected_today)
    assert np.isnat(history.last_unsubscribe).all()
    assert not history.ignored_in_row.any()


def test_an_unsubscribe_sets_last_unsubscribe_and_the_cooldown_drops_the_next_send() -> None:
    s, services, clock = governed(governance=None)
    first = run_cycle_inline(services, PLAYBOOK, 1)
    (sent,) = first.actions
    customers = services.context.snapshot().customers()
    who = str(customers.ids[customers.region.eq("EU")][0])
    said = T0 + timedelta(days=1)
    s.outcomes.add(
        [
            Outcome("u1", OutcomeKind.UNSUBSCRIBE, said, sent.id, who, ChannelName.EMAIL),
            # Gone from the table since: passed over.
            Outcome("u2", OutcomeKind.UNSUBSCRIBE, said, sent.id, "nobody", ChannelName.EMAIL),
            # A count with no customer names nobody.
            Outcome("u3", OutcomeKind.UNSUBSCRIBE, said, sent.id, None, ChannelName.EMAIL),
        ]
    )
    clock.now += timedelta(days=8)

    history = contact_history(services, services.context.snapshot(), clock.now)
    cycle = steps.open_cycle(services, PLAYBOOK, 2)
    planned = steps.plan(services, cycle)
    decision = the_send(steps.decide(services, cycle, planned.proposals))

    row = int(customers.positions([who])[0])
    assert history.last_unsubscribe[row] == np.datetime64("2026-11-24T09:00:00", "s")
    assert np.isnat(np.delete(history.last_unsubscribe, row)).all()
    assert decision.status is DecisionStatus.DROPPED
    assert any("contact-policy/unsubscribe-cooldown" in r for r in decision.reasons)
