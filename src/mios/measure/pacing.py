"""Budget pacing: spend so far in each budget's current period against plan.

    elapsed share = (now - period start) / period length          (periods run in UTC days)
    planned       = budget x elapsed share
    status        = on_pace when |spent - planned| <= tolerance x planned, else behind or ahead

Spend comes from the budget ledger's ``spend`` entries and from ``spend`` outcomes; an outcome
whose action already has a ledger spend entry on that channel in the period is not counted
again (the ledger is what mios recorded; the outcome is the channel's report of the same money).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from mios.domain.budget import Budget, BudgetLedger, BudgetPeriod, EntryKind
from mios.domain.channel import ChannelName
from mios.domain.clock import require_utc
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import DomainError

DEFAULT_TOLERANCE = 0.10


class PaceStatus(StrEnum):
    ON_PACE = "on_pace"
    BEHIND = "behind"
    AHEAD = "ahead"


@dataclass(frozen=True)
class Pace:
    channel: ChannelName
    period: BudgetPeriod
    period_start: date
    period_end: date  # the first day after the period
    budget: Money
    spent: Money
    planned: Money
    elapsed_share: float
    status: PaceStatus

    @property
    def pace_pct(self) -> float | None:
        """Spent as a percentage of planned (100: exactly on plan); None before any plan."""
        if self.planned.amount == 0:
            return None
        return float(self.spent.amount / self.planned.amount * 100)

    @property
    def spent_pct(self) -> float | None:
        """Spent as a percentage of the whole period's budget."""
        if self.budget.amount == 0:
            return None
        return float(self.spent.amount / self.budget.amount * 100)

    @property
    def projected(self) -> Money | None:
        """Spend at the end of the period if it goes on at this rate."""
        if self.elapsed_share <= 0:
            return None
        return Money(self.spent.amount / Decimal(repr(self.elapsed_share)), self.spent.currency)

    @property
    def over_budget(self) -> bool:
        return self.spent > self.budget

    def as_dict(self) -> dict[str, Any]:
        projected = self.projected
        return {
            "channel": str(self.channel),
            "period": str(self.period),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "currency": self.budget.currency,
            "budget": str(self.budget.rounded().amount),
            "spent": str(self.spent.rounded().amount),
            "planned": str(self.planned.rounded().amount),
            "projected": None if projected is None else str(projected.rounded().amount),
            "elapsed_pct": round(self.elapsed_share * 100, 2),
            "pace_pct": _rounded(self.pace_pct),
            "spent_pct": _rounded(self.spent_pct),
            "status": str(self.status),
            "over_budget": self.over_budget,
        }


def pacing(
    budgets: Iterable[Budget],
    now: datetime,
    spent: Mapping[ChannelName, Money],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> list[Pace]:
    """Each budget's pace at ``now``; ``spent`` is each channel's spend in its current period
    (a channel missing from it spent nothing)."""
    now = require_utc(now, "pacing time")
    if not 0 <= tolerance < 1:
        raise DomainError(f"pacing tolerance must be in [0, 1), got {tolerance}")
    paces: list[Pace] = []
    for budget in budgets:
        start, end = budget.period.bounds(now.date())
        share = elapsed_share(start, end, now)
        currency = budget.amount.currency
        so_far = spent.get(budget.channel, Money.zero(currency))
        if so_far.currency != currency:
            raise DomainError(
                f"{budget.channel}: spend is in {so_far.currency}, the budget in {currency}"
            )
        planned = Money(budget.amount.amount * Decimal(repr(share)), currency)
        slack = planned.amount * Decimal(repr(tolerance))
        gap = so_far.amount - planned.amount
        if abs(gap) <= slack:
            status = PaceStatus.ON_PACE
        else:
            status = PaceStatus.AHEAD if gap > 0 else PaceStatus.BEHIND
        paces.append(
            Pace(
                budget.channel,
                budget.period,
                start,
                end,
                budget.amount,
                so_far,
                planned,
                share,
                status,
            )
        )
    return paces


def elapsed_share(start: date, end: date, now: datetime) -> float:
    """How much of the period ``[start, end)`` has passed at ``now``, from 0 to 1."""
    begin = datetime.combine(start, time(), UTC)
    finish = datetime.combine(end, time(), UTC)
    share = (now - begin) / (finish - begin)
    return min(max(share, 0.0), 1.0)


def spend_in_period(
    budgets: Iterable[Budget],
    now: datetime,
    *,
    ledger: BudgetLedger | None = None,
    outcomes: Iterable[Outcome] = (),
) -> dict[ChannelName, Money]:
    """Each budgeted channel's spend in its period holding ``now``: the ledger's spend entries,
    plus spend outcomes of actions the ledger has no spend for. Spend outcomes in another
    currency than the budget, or on no channel, are left out."""
    now = require_utc(now, "pacing time")
    table = {b.channel: b for b in budgets}
    bounds = {c: b.period.bounds(now.date()) for c, b in table.items()}
    totals = {c: Money.zero(b.amount.currency) for c, b in table.items()}
    booked: dict[ChannelName, set[str]] = {c: set() for c in table}
    for entry in () if ledger is None else ledger.entries:
        if entry.kind is not EntryKind.SPEND or entry.channel not in table:
            continue
        start, end = bounds[entry.channel]
        if start <= entry.at.astimezone(UTC).date() < end:
            totals[entry.channel] = totals[entry.channel] + entry.amount
            if entry.action_id is not None:
                booked[entry.channel].add(entry.action_id)
    for outcome in outcomes:
        channel, value = outcome.channel, outcome.value
        if outcome.kind is not OutcomeKind.SPEND or channel is None or value is None:
            continue
        if channel not in table:
            continue
        if value.currency != totals[channel].currency or outcome.action_id in booked[channel]:
            continue
        start, end = bounds[channel]
        if start <= outcome.at.date() < end:
            totals[channel] = totals[channel] + value
    return totals


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
