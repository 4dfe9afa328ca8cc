"""Money in the budget ledger while an action runs: committed as it goes to its channel, released
as the channel reports it spent or when the attempt fails, replaced by a newer budget, and
never more than the channel has left."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from mios.agents.protocol import AgentContext
from mios.context.store import ContextChange
from mios.domain.action import Action, ActionState
from mios.domain.budget import EntryKind, LedgerEntry
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind, Audience, Content, Proposal
from mios.errors import BudgetExceeded
from mios.lifecycle import learning, steps
from mios.lifecycle.commitments import commit_spend, holding, with_releases
from mios.lifecycle.execution import execute_action
from mios.lifecycle.inline import run_cycle_inline
from tests.support.lifecycle import PLAYBOOK, Setup, send, setup

EMAIL = ChannelName.EMAIL


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def a_send_costing(amount: str) -> Callable[[AgentContext], list[Proposal]]:
    def script(ctx: AgentContext) -> list[Proposal]:
        return [replace(send(ctx, "eu", "eu"), spend=usd(amount))]

    return script


def position(s: Setup) -> tuple[Decimal, Decimal, Decimal]:
    """(committed, spent, available) on email now; the budget is 1,000 a month."""
    snapshot = s.services.context.snapshot()
    at = s.services.clock()
    p = snapshot.ledger.position(EMAIL, at)
    return p.committed.amount, p.spent.amount, p.available.amount


def entries(s: Setup) -> list[tuple[EntryKind, Decimal, str]]:
    return [(e.kind, e.amount.amount, e.note) for e in s.services.context.snapshot().ledger_entries]


def test_a_send_holds_its_spend_until_the_channel_reports_it_spent() -> None:
    s = setup(a_send_costing("600"))

    report = run_cycle_inline(s.services, PLAYBOOK, 1)

    (action,) = report.actions
    kinds = [(kind, amount) for kind, amount, _ in entries(s)]
    # Committed as it went out; the 20 the market reported spent is booked and stops being held.
    assert kinds == [
        (EntryKind.COMMIT, Decimal("600.00")),
        (EntryKind.SPEND, Decimal(20)),
        (EntryKind.RELEASE, Decimal(20)),
    ]
    assert position(s) == (Decimal("580.00"), Decimal("20"), Decimal("400.00"))
    assert entries(s)[0][2] == f"commit:send_message:{action.id}:a1"

    cycle = s.services.cycles.get(report.cycle_id)
    assert cycle is not None
    head = s.services.context.head()
    learning.measure(s.services, cycle)  # a measure run again after a crash books nothing
    assert s.services.context.head() == head


def test_a_failed_attempt_gives_its_commitment_back_and_a_retry_commits_again() -> None:
    s = setup(a_send_costing("600"))
    s.channel.outage = True

    report = run_cycle_inline(s.services, PLAYBOOK, 1)

    (ref,) = report.actions
    stored = s.command.store.action(ref.id)
    assert stored is not None
    assert stored.state is ActionState.FAILED
    assert [k for k, _, _ in entries(s)] == [EntryKind.COMMIT, EntryKind.RELEASE]
    assert position(s)[0] == 0  # nothing held for an action that did not run

    s.channel.outage = False
    again = execute_action(s.services, ref.id, stored.version, "test:retry")

    assert again.status.value == "executed"
    notes = [n for _, _, n in entries(s)]
    assert notes[-1] == f"commit:send_message:{ref.id}:a2"
    assert position(s)[0] == Decimal("600.00")


def test_more_than_is_left_is_refused_and_nothing_is_written() -> None:
    s = setup(a_send_costing("600"))
    run_cycle_inline(s.services, PLAYBOOK, 1)  # 400 left this month
    head = s.services.context.head()

    with pytest.raises(BudgetExceeded, match=r"would commit 500\.00 USD with 400\.00 USD left"):
        commit_spend(s.services, executing("big", ActionKind.SEND_MESSAGE, "500"))

    assert s.services.context.head() == head
    commit_spend(s.services, executing("fits", ActionKind.SEND_MESSAGE, "400"))
    assert position(s)[2] == 0


def test_a_commit_run_again_after_a_crash_commits_once() -> None:
    s = setup()
    action = executing("once", ActionKind.SEND_MESSAGE, "100")

    commit_spend(s.services, action)
    commit_spend(s.services, action)

    assert position(s) == (Decimal("100.00"), Decimal(0), Decimal("900.00"))


def test_a_new_budget_replaces_what_the_old_one_still_holds() -> None:
    s = setup()
    commit_spend(s.services, executing("old", ActionKind.SET_BUDGET, "700"))
    commit_spend(s.services, executing("send", ActionKind.SEND_MESSAGE, "100"))

    commit_spend(s.services, executing("new", ActionKind.SET_BUDGET, "800"))

    snapshot = s.services.context.snapshot()
    now = s.services.clock()
    assert holding(snapshot, "old", EMAIL, now).amount == 0
    assert holding(snapshot, "send", EMAIL, now).amount == 100  # not a budget: it stays
    assert position(s) == (Decimal("900.00"), Decimal(0), Decimal("100.00"))


def test_spend_in_a_later_period_releases_nothing_into_it() -> None:
    s = setup()
    commit_spend(s.services, executing("budget", ActionKind.SET_BUDGET, "700"))  # November
    snapshot = s.services.context.snapshot()
    december = datetime(2026, 12, 2, 9, tzinfo=UTC)
    spent = [LedgerEntry(EMAIL, EntryKind.SPEND, usd("50"), december, "budget", "outcome:x")]

    booked = with_releases(snapshot, spent)

    assert booked == tuple(spent)  # December's ledger owes November's commitment nothing
    s.services.context.write(ContextChange(ledger_entries=booked), actor="test", reason="spend")
    p = s.services.context.snapshot().ledger.position(EMAIL, december)
    assert (p.committed.amount, p.available.amount) == (0, Decimal("950.00"))


def executing(action_id: str, kind: ActionKind, spend: str) -> Action:
    """An action on email in state executing, first attempt, as the channel would get it."""
    now = datetime(2026, 11, 23, 9, tzinfo=UTC)
    action = Action(
        id=action_id,
        proposal_id=f"p-{action_id}",
        kind=kind,
        snapshot_version=1,
        channel=EMAIL,
        spend=usd(spend),
        **(
            {"audience": Audience(segment_id="eu"), "content": Content("Warm", "Layers.")}
            if kind is ActionKind.SEND_MESSAGE
            else {}
        ),
    )
    action.decide(now)
    action.approve(now, by="test:approver")
    action.start(now)
    return action


def test_spend_of_an_action_holding_nothing_is_drawn_from_the_running_budget() -> None:
    # On paid media the market reports the day's spend under the action that last set what
    # runs (an ad, a bid change), not under the set_budget that holds the period's money.
    s = setup()
    commit_spend(s.services, executing("budget", ActionKind.SET_BUDGET, "700"))
    snapshot = s.services.context.snapshot()
    at = s.services.clock()
    spent = [LedgerEntry(EMAIL, EntryKind.SPEND, usd("50"), at, "ad", "outcome:ad-d1")]

    booked = with_releases(snapshot, spent)

    s.services.context.write(ContextChange(ledger_entries=booked), actor="test", reason="spend")
    assert holding(s.services.context.snapshot(), "budget", EMAIL, at).amount == 650
    assert position(s) == (Decimal("650.00"), Decimal(50), Decimal("300.00"))


class _Racing:
    """The context store, with another worker's write landing just before the first write
    made through it (between that writer's read and its write)."""

    def __init__(self, inner: Any, other: Callable[[], None]) -> None:
        self._inner, self._other = inner, other

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write(self, change: ContextChange, **kwargs: Any) -> Any:
        other, self._other = self._other, lambda: None
        other()
        return self._inner.write(change, **kwargs)


def test_spend_booked_while_a_new_budget_commits_releases_nothing_twice() -> None:
    s = setup()
    commit_spend(s.services, executing("old", ActionKind.SET_BUDGET, "700"))
    at = s.services.clock()
    spend = Outcome("o1", OutcomeKind.SPEND, at, "old", channel=EMAIL, value=usd("50"))
    # A worker executing a new budget supersedes the old one while the measure step books.
    racing = replace(
        s.services,
        context=_Racing(
            s.services.context,
            lambda: commit_spend(s.services, executing("new", ActionKind.SET_BUDGET, "600")),
        ),
    )

    learning.book_spend(racing, [spend], "cycle-1")

    snapshot = s.services.context.snapshot()
    now = s.services.clock()
    assert holding(snapshot, "old", EMAIL, now).amount == 0  # released once, not below zero
    # The new budget is the period's: what the old one spent is drawn from it.
    assert holding(snapshot, "new", EMAIL, now).amount == 550
    assert position(s) == (Decimal("550.00"), Decimal(50), Decimal("400.00"))


def test_a_running_budget_leaves_room_for_the_budget_that_replaces_it() -> None:
    s = setup()
    commit_spend(s.services, executing("running", ActionKind.SET_BUDGET, "700"))
    commit_spend(s.services, executing("send", ActionKind.SEND_MESSAGE, "100"))
    snapshot = s.services.context.snapshot()

    limits = steps.budget_limits(snapshot, s.services.clock())

    # 200 unheld, plus the 700 the running budget holds (a new budget takes it over); the
    # send's 100 is spoken for.
    assert limits.per_channel[EMAIL] == usd("900.00")
    commit_spend(s.services, executing("replacing", ActionKind.SET_BUDGET, "900"))
    assert position(s) == (Decimal("1000.00"), Decimal(0), Decimal("0.00"))
