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
from mios.domain.customer_table import CustomerTable
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import Decision, DecisionStatus, Proposal
from mios.governance.checkers.contact_policy import ContactPolicyChecker
from mios.lifecycle import steps
from mios.lifecycle.contacts import LEFT_OUT, contact_history
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


def three_eu_listed(ctx: AgentContext) -> list[Proposal]:
    return [send(ctx, "three", None, customers=eu_ids(ctx.customers)[:3])]


def first_eu_listed(ctx: AgentContext) -> list[Proposal]:
    return [send(ctx, "one", None, customers=eu_ids(ctx.customers)[:1])]


def eu_ids(customers: CustomerTable) -> tuple[str, ...]:
    return tuple(str(i) for i in customers.ids[customers.region.eq("EU")])


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


def unsubscribe_the_first(s: Setup, services: CycleServices, clock: Clock) -> str:
    """Cycle 1 to the listed customers, the first of whom then unsubscribes; eight days on."""
    (ref,) = run_cycle_inline(services, PLAYBOOK, 1).actions
    sent = services.command.store.action(ref.id)
    assert sent is not None
    assert sent.audience is not None
    who = sent.audience.customer_ids[0]
    s.outcomes.add(
        [
            Outcome(
                "u1",
                OutcomeKind.UNSUBSCRIBE,
                T0 + timedelta(days=1),
                sent.id,
                who,
                ChannelName.EMAIL,
            )
        ]
    )
    clock.now += timedelta(days=8)
    return who


def test_a_send_listing_an_unsubscribed_customer_goes_ahead_without_them() -> None:
    s, services, clock = governed(three_eu_listed, governance=None)
    who = unsubscribe_the_first(s, services, clock)
    listed = eu_ids(services.context.snapshot().customers())[:3]

    (ref,) = run_cycle_inline(services, PLAYBOOK, 2).actions
    action = services.command.store.action(ref.id)

    assert action is not None
    assert ref.state is ActionState.APPROVED
    assert action.audience is not None
    assert action.audience.customer_ids == tuple(listed[1:])
    assert who not in action.audience.customer_ids
    assert action.parameters[LEFT_OUT] == 1
    assert "contact-policy/unsubscribe-cooldown" not in findings_of(s, action.id)
    (second,) = s.channel.executed[1:]
    assert second.audience is not None
    assert second.audience.customer_ids == tuple(listed[1:])


def test_a_send_listing_only_unsubscribed_customers_is_dropped() -> None:
    s, services, clock = governed(first_eu_listed, governance=None)
    unsubscribe_the_first(s, services, clock)
    cycle = steps.open_cycle(services, PLAYBOOK, 2)
    planned = steps.plan(services, cycle)

    decision = the_send(steps.decide(services, cycle, planned.proposals))

    assert decision.status is DecisionStatus.DROPPED
    assert any("contact-policy/unsubscribe-cooldown" in r for r in decision.reasons)
    assert steps.review(services, cycle, planned.proposals, (decision,)) == ()
    assert len(s.channel.executed) == 1


def test_listed_customers_past_a_weekly_cap_are_left_out_and_a_segment_is_not() -> None:
    # Cycle 1 reaches the EU segment and three each of CA and the US; cycle 2 sends the segment
    # again (denied whole: a segment is the platform's to target) and lists two of the EU and
    # three other US customers, of whom the EU ones are past the cap of one email a week.
    _s, services, clock = governed(eu_and_listed)
    run_cycle_inline(services, PLAYBOOK, 1)
    clock.now += timedelta(days=2)
    cycle = steps.open_cycle(services, PLAYBOOK, 2)
    planned = steps.plan(services, cycle)
    customers = services.context.snapshot().customers()
    eu = set(eu_ids(customers))
    others = tuple(str(i) for i in customers.ids[customers.region.eq("US")][3:6])
    listed = planned.proposals[1]
    assert listed.audience is not None
    mixed = replace(
        listed, audience=replace(listed.audience, customer_ids=(*sorted(eu)[:2], *others))
    )
    proposals = (planned.proposals[0], mixed)

    decisions = steps.decide(services, cycle, proposals)
    refs = steps.review(services, cycle, proposals, decisions)

    assert [d.status for d in decisions] == [DecisionStatus.DROPPED, DecisionStatus.SELECTED]
    (ref,) = refs
    action = services.command.store.action(ref.id)
    assert action is not None
    assert action.audience is not None
    assert action.parameters[LEFT_OUT] == 2
    assert action.audience.customer_ids == others
    assert ref.state is ActionState.APPROVED
