"""Budgets per channel and period, and the ledger of what is committed and spent against them.

Money moves in three entry kinds: ``commit`` reserves budget for a decided action, ``release``
returns an unused reservation, ``spend`` records money actually gone. What a channel still has:

    available = budget - (commits - releases) - spend       (within the budget's period)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.errors import BudgetExceeded, DomainError


class BudgetPeriod(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    def bounds(self, day: date) -> tuple[date, date]:
        """First day of the period holding ``day``, and the first day after it."""
        if self is BudgetPeriod.WEEKLY:
            start = day - timedelta(days=day.weekday())
            return start, start + timedelta(days=7)
        months = 1 if self is BudgetPeriod.MONTHLY else 3
        first_month = day.month if months == 1 else 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first_month, 1)
        month_index = start.month - 1 + months
        end = date(start.year + month_index // 12, month_index % 12 + 1, 1)
        return start, end


@dataclass(frozen=True)
class Budget:
    channel: ChannelName
    period: BudgetPeriod
    amount: Money
    max_change_pct: float | None = None  # a guardrail on how far one change may move it

    def __post_init__(self) -> None:
        if self.amount.is_negative():
            raise DomainError(f"budget for {self.channel} must not be negative")


class EntryKind(StrEnum):
    COMMIT = "commit"
    RELEASE = "release"
    SPEND = "spend"


@dataclass(frozen=True)
class LedgerEntry:
    channel: ChannelName
    kind: EntryKind
    amount: Money
    at: datetime
    action_id: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.amount.is_negative():
            raise DomainError("ledger amounts are positive; the entry kind gives the direction")
        if self.at.tzinfo is None:
            raise DomainError("ledger timestamps must be timezone-aware")


@dataclass(frozen=True)
class ChannelPosition:
    budget: Money
    committed: Money
    spent: Money

    @property
    def available(self) -> Money:
        return self.budget - self.committed - self.spent


@dataclass(frozen=True)
class BudgetLedger:
    """An append-only list of entries; every method that adds returns a new ledger."""

    budgets: Mapping[ChannelName, Budget]
    entries: tuple[LedgerEntry, ...] = field(default=())

    @classmethod
    def for_budgets(cls, budgets: Iterable[Budget]) -> BudgetLedger:
        table: dict[ChannelName, Budget] = {}
        for budget in budgets:
            if budget.channel in table:
                raise DomainError(f"channel {budget.channel} has two budgets")
            table[budget.channel] = budget
        return cls(table)

    def budget(self, channel: ChannelName) -> Budget:
        try:
            return self.budgets[channel]
        except KeyError:
            raise DomainError(f"no budget for channel {channel}") from None

    def position(self, channel: ChannelName, at: datetime) -> ChannelPosition:
        budget = self.budget(channel)
        start, end = budget.period.bounds(at.date())
        zero = Money.zero(budget.amount.currency)
        sums = dict.fromkeys(EntryKind, zero)
        for entry in self.entries:
            if entry.channel == channel and start <= entry.at.date() < end:
                sums[entry.kind] = sums[entry.kind] + entry.amount
        return ChannelPosition(
            budget=budget.amount,
            committed=sums[EntryKind.COMMIT] - sums[EntryKind.RELEASE],
            spent=sums[EntryKind.SPEND],
        )

    def commit(
        self, channel: ChannelName, amount: Money, at: datetime, action_id: str | None = None
    ) -> BudgetLedger:
        """Reserve ``amount``; raises ``BudgetExceeded`` rather than overdraw (exactly at the
        cap is allowed, one cent above is not)."""
        available = self.position(channel, at).available
        if amount > available:
            raise BudgetExceeded(
                f"{channel}: committing {amount} would exceed the {available} still available"
            )
        return self._append(LedgerEntry(channel, EntryKind.COMMIT, amount, at, action_id))

    def release(
        self, channel: ChannelName, amount: Money, at: datetime, action_id: str | None = None
    ) -> BudgetLedger:
        if amount > self.position(channel, at).committed:
            raise DomainError(f"{channel}: cannot release more than is committed")
        return self._append(LedgerEntry(channel, EntryKind.RELEASE, amount, at, action_id))

    def spend(
        self, channel: ChannelName, amount: Money, at: datetime, action_id: str | None = None
    ) -> BudgetLedger:
        """Record money gone. Spend is a fact, so it is recorded even when it overdraws."""
        return self._append(LedgerEntry(channel, EntryKind.SPEND, amount, at, action_id))

    def _append(self, entry: LedgerEntry) -> BudgetLedger:
        if entry.amount.currency != self.budget(entry.channel).amount.currency:
            raise DomainError(f"{entry.channel}: ledger currency differs from the budget's")
        return BudgetLedger(self.budgets, (*self.entries, entry))
