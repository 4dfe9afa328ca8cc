"""Money an action holds in the budget ledger, from the moment it goes to its channel until the
channel reports it spent.

    commit     before a channel carries out an action with spend, the spend is committed on the
               action's channel; more than the channel has left refuses the attempt (it fails,
               nothing reaches the channel), so two approved actions cannot together spend
               past a budget that each fitted alone
    supersede  a ``set_budget`` replaces the channel's running budget, so what earlier
               ``set_budget`` actions on that channel still hold is released when it commits
    spend      measured spend of an action releases as much of what it holds (``book_spend``),
               and what it spent beyond that is released from the channel's running budget
    fail       a failed attempt releases what it committed; a retry commits again

Each entry is named in its note (``commit:<kind>:<action>:a<attempt>``, ``release:...``), so
a step that runs again after a crash finds its entry and writes nothing twice; every write is
based on the version it read, and a write that lost a race reads again. Spend on a channel
without a budget, or in another currency, is not the ledger's to hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from mios.context.store import ContextChange, ContextSnapshot
from mios.domain.action import Action
from mios.domain.budget import EntryKind, LedgerEntry
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind
from mios.errors import BudgetExceeded, VersionConflict
from mios.lifecycle.services import LIFECYCLE, CycleServices

_ATTEMPTS = 20  # writes lost to other writers before giving up; each loss means progress elsewhere


def commit_spend(services: CycleServices, action: Action) -> None:
    """Hold the action's spend on its channel for this attempt, once; ``BudgetExceeded`` when the
    channel has less left."""
    note = commit_note(action)
    channel, spend = action.channel, action.spend
    if channel is None or spend is None or spend.amount <= 0:
        return

    def entries(snapshot: ContextSnapshot) -> tuple[LedgerEntry, ...]:
        if not _ledger_holds(snapshot, channel, spend) or note in _notes(snapshot):
            return ()  # not the ledger's money, or committed before a crash
        now = services.clock()
        released = tuple(
            LedgerEntry(channel, EntryKind.RELEASE, held, now, earlier, f"release:{earlier}:{note}")
            for earlier, held in _superseded(snapshot, action, now)
        )
        left = snapshot.ledger.position(channel, now).available
        left = sum((r.amount for r in released), left)
        if spend > left:
            raise BudgetExceeded(
                f"{channel}: {action.id} would commit {spend} with {left} left this period"
            )
        return (*released, LedgerEntry(channel, EntryKind.COMMIT, spend, now, action.id, note))

    _write(services, entries, f"{action.id}: spend committed as it goes to {channel}")


def release_attempt(services: CycleServices, action: Action) -> None:
    """Give back what the action's current attempt committed (it failed), once."""
    note = commit_note(action)

    def entries(snapshot: ContextSnapshot) -> tuple[LedgerEntry, ...]:
        commit = next((e for e in snapshot.ledger_entries if e.note == note), None)
        if commit is None or f"release:{note}" in _notes(snapshot):
            return ()
        now = services.clock()
        amount = min(commit.amount, holding(snapshot, action.id, commit.channel, now))
        if amount.amount <= 0:
            return ()
        release = LedgerEntry(
            commit.channel, EntryKind.RELEASE, amount, now, action.id, f"release:{note}"
        )
        return (release,)

    _write(services, entries, f"{action.id}: the attempt failed; its commitment is released")


def with_releases(
    snapshot: ContextSnapshot, spent: Iterable[LedgerEntry]
) -> tuple[LedgerEntry, ...]:
    """``spent`` (spend entries, each named by its outcome) with, after each that names an
    action, a release of as much as that action still holds in the period: money spent stops
    being held, so it is not counted twice. What it spent beyond that is drawn from the
    channel's running budgets (``set_budget`` actions holding money in the period, the newest
    first): paid media report a day's spend under the action that last changed what runs (an
    ad, a bid), while the budget that pays for it holds the money."""
    out: list[LedgerEntry] = []
    released: dict[tuple[str, ChannelName], Money] = {}

    def release(entry: LedgerEntry, action_id: str, amount: Money, note: str) -> Money:
        key = (action_id, entry.channel)
        held = holding(snapshot, action_id, entry.channel, entry.at)
        held -= released.get(key, Money.zero(held.currency))
        taken = min(held, amount)
        if taken.amount <= 0:
            return Money.zero(amount.currency)
        released[key] = released.get(key, Money.zero(taken.currency)) + taken
        out.append(LedgerEntry(entry.channel, EntryKind.RELEASE, taken, entry.at, action_id, note))
        return taken

    for entry in spent:
        out.append(entry)
        if entry.action_id is None:
            continue
        left = entry.amount - release(entry, entry.action_id, entry.amount, f"release:{entry.note}")
        for budget in _running_budgets(snapshot, entry.channel, entry.at):
            if left.amount <= 0:
                break
            if budget != entry.action_id:
                left -= release(entry, budget, left, f"release:{entry.note}:{budget}")
    return tuple(out)


def replaceable(snapshot: ContextSnapshot, channel: ChannelName, at: datetime) -> Money:
    """What the running ``set_budget`` actions on ``channel`` hold in the period holding ``at``:
    money a new budget there would take over (committing it releases theirs), so it is room for
    that new budget, not money spent."""
    currency = snapshot.ledger.budget(channel).amount.currency
    held = (holding(snapshot, a, channel, at) for a in _running_budgets(snapshot, channel, at))
    return sum((h for h in held if h.amount > 0), Money.zero(currency))


def _running_budgets(snapshot: ContextSnapshot, channel: ChannelName, at: datetime) -> list[str]:
    """The ``set_budget`` actions committed on ``channel`` in the period holding ``at``, the
    newest first."""
    budget = snapshot.ledger.budget(channel)
    start, end = budget.period.bounds(at.date())
    prefix = f"commit:{ActionKind.SET_BUDGET}:"
    commits = [
        e
        for e in snapshot.ledger_entries
        if e.kind is EntryKind.COMMIT
        and e.channel == channel
        and e.action_id is not None
        and e.note.startswith(prefix)
        and start <= e.at.date() < end
    ]
    newest = sorted(commits, key=lambda e: e.at, reverse=True)
    return list(dict.fromkeys(e.action_id for e in newest if e.action_id is not None))


def book(
    services: CycleServices,
    spent: Callable[[ContextSnapshot], tuple[LedgerEntry, ...]],
    reason: str,
) -> None:
    """Write the spend entries ``spent`` finds not yet booked in a snapshot, each with its
    releases (``with_releases``), based on the version read: a commitment or a release that
    lands meanwhile (a worker executing a new budget) makes it read again, so nothing held is
    released twice."""
    _write(services, lambda snapshot: _nonempty(snapshot, spent(snapshot)), reason)


def _nonempty(snapshot: ContextSnapshot, spent: tuple[LedgerEntry, ...]) -> tuple[LedgerEntry, ...]:
    return with_releases(snapshot, spent) if spent else ()


def holding(snapshot: ContextSnapshot, action_id: str, channel: ChannelName, at: datetime) -> Money:
    """What ``action_id`` holds on ``channel`` in the budget period holding ``at``: its
    commitments there less its releases there (a commitment of a past period holds nothing
    now: the ledger counts each period on its own)."""
    budget = snapshot.ledger.budget(channel)
    start, end = budget.period.bounds(at.date())
    total = Money.zero(budget.amount.currency)
    for entry in snapshot.ledger_entries:
        if (
            entry.action_id != action_id
            or entry.channel != channel
            or entry.kind is EntryKind.SPEND
            or not start <= entry.at.date() < end
        ):
            continue
        total = total + entry.amount if entry.kind is EntryKind.COMMIT else total - entry.amount
    return total


def commit_note(action: Action) -> str:
    """Names the commitment of the action's current attempt; the kind is in it so that a new
    budget can find the budgets it replaces in the ledger alone."""
    return f"commit:{action.kind}:{action.id}:a{action.attempts}"


def _superseded(
    snapshot: ContextSnapshot, action: Action, now: datetime
) -> list[tuple[str, Money]]:
    """Earlier ``set_budget`` actions on the channel that still hold money this period, when
    ``action`` is a ``set_budget``: the new budget replaces theirs."""
    channel = action.channel
    if action.kind is not ActionKind.SET_BUDGET or channel is None:
        return []
    budgets = f"commit:{ActionKind.SET_BUDGET}:"
    earlier = sorted(
        {
            e.action_id
            for e in snapshot.ledger_entries
            if e.kind is EntryKind.COMMIT
            and e.channel == channel
            and e.action_id is not None
            and e.action_id != action.id
            and e.note.startswith(budgets)
        }
    )
    held = ((a, holding(snapshot, a, channel, now)) for a in earlier)
    return [(a, amount) for a, amount in held if amount.amount > 0]


def _ledger_holds(snapshot: ContextSnapshot, channel: ChannelName, spend: Money) -> bool:
    """Whether ``spend`` is money the ledger keeps: its channel has a budget in its currency."""
    budgets = snapshot.ledger.budgets
    return channel in budgets and budgets[channel].amount.currency == spend.currency


def _notes(snapshot: ContextSnapshot) -> set[str]:
    return {e.note for e in snapshot.ledger_entries}


def _write(
    services: CycleServices,
    entries_for: Callable[[ContextSnapshot], tuple[LedgerEntry, ...]],
    reason: str,
) -> None:
    for _ in range(_ATTEMPTS):
        snapshot = services.context.snapshot()
        entries = entries_for(snapshot)
        if not entries:
            return
        try:
            services.context.write(
                ContextChange(ledger_entries=entries),
                actor=LIFECYCLE,
                reason=reason,
                based_on=snapshot.version,
            )
        except VersionConflict:
            continue
        return
    raise VersionConflict(f"{reason}: the ledger kept moving; {_ATTEMPTS} writes lost")
