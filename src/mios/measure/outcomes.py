"""Where measured outcomes are kept: the ``OutcomeStore`` port and its in-memory fake.

Ingestion is idempotent by outcome id: ``add`` keeps the first outcome with a given id and
ignores every later one (the same webhook delivered twice, the same CSV imported twice), and
returns how many were new. Queries filter by action ids, a time window (``since`` inclusive,
``until`` exclusive) and channel, all combined; results come in ``(at, id)`` order.
``totals`` sums counts and money per action, kind and currency; money is never summed across
currencies.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from mios.domain.channel import ChannelName
from mios.domain.clock import require_utc
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind


@dataclass(frozen=True)
class OutcomeFilter:
    """Which outcomes a query wants; ``None`` means "any". ``action_ids`` never matches
    organic outcomes (those without an action)."""

    action_ids: frozenset[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    channel: ChannelName | None = None

    @classmethod
    def of(
        cls,
        action_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        channel: ChannelName | None = None,
    ) -> OutcomeFilter:
        return cls(
            None if action_ids is None else frozenset(action_ids),
            None if since is None else require_utc(since, "since"),
            None if until is None else require_utc(until, "until"),
            channel,
        )

    def matches(self, outcome: Outcome) -> bool:
        if self.action_ids is not None and outcome.action_id not in self.action_ids:
            return False
        if self.since is not None and outcome.at < self.since:
            return False
        if self.until is not None and outcome.at >= self.until:
            return False
        return self.channel is None or outcome.channel == self.channel


@dataclass(frozen=True)
class OutcomeTotal:
    """What one action (``None``: organic) produced of one kind: the summed ``count`` of its
    outcomes, how many outcome rows that was, and their summed money in one currency."""

    action_id: str | None
    kind: OutcomeKind
    count: int
    outcomes: int
    value: Money | None = None


class OutcomeStore(Protocol):
    """Measured outcomes, each kept once by id."""

    def add(self, outcomes: Iterable[Outcome]) -> int:
        """Keep every outcome whose id is new; return how many were new."""
        ...

    def get(self, outcome_id: str) -> Outcome | None: ...

    def query(
        self,
        *,
        action_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        channel: ChannelName | None = None,
    ) -> list[Outcome]:
        """The outcomes matching every given filter, in ``(at, id)`` order."""
        ...

    def totals(
        self,
        *,
        action_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        channel: ChannelName | None = None,
    ) -> list[OutcomeTotal]:
        """Sums per (action, kind, currency), ordered by action (organic first), kind, currency."""
        ...

    def count(self) -> int:
        """How many outcomes are kept."""
        ...


class InMemoryOutcomeStore:
    def __init__(self) -> None:
        self._outcomes: dict[str, Outcome] = {}

    def add(self, outcomes: Iterable[Outcome]) -> int:
        before = len(self._outcomes)
        for outcome in outcomes:
            self._outcomes.setdefault(outcome.id, outcome)
        return len(self._outcomes) - before

    def get(self, outcome_id: str) -> Outcome | None:
        return self._outcomes.get(outcome_id)

    def query(
        self,
        *,
        action_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        channel: ChannelName | None = None,
    ) -> list[Outcome]:
        wanted = OutcomeFilter.of(action_ids, since, until, channel)
        found = [o for o in self._outcomes.values() if wanted.matches(o)]
        return sorted(found, key=lambda o: (o.at, o.id))

    def totals(
        self,
        *,
        action_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        channel: ChannelName | None = None,
    ) -> list[OutcomeTotal]:
        wanted = OutcomeFilter.of(action_ids, since, until, channel)
        return sum_totals(
            (
                o.action_id,
                o.kind,
                o.count,
                None if o.value is None else o.value.amount,
                None if o.value is None else o.value.currency,
            )
            for o in self._outcomes.values()
            if wanted.matches(o)
        )

    def count(self) -> int:
        return len(self._outcomes)


#: (action id, kind, count, amount, currency) of one outcome, as ``sum_totals`` reads them.
TotalRow = tuple[str | None, OutcomeKind | str, int, Decimal | None, str | None]


def sum_totals(rows: Iterable[TotalRow]) -> list[OutcomeTotal]:
    """Group outcome rows into ``OutcomeTotal`` per (action, kind, currency), exactly."""
    sums: dict[tuple[str | None, OutcomeKind, str | None], list[int | Decimal]] = {}
    for action_id, kind, count, amount, currency in rows:
        key = (action_id, OutcomeKind(kind), currency)
        slot = sums.setdefault(key, [0, 0, Decimal(0)])
        slot[0] += count
        slot[1] += 1
        if amount is not None:
            slot[2] += amount
    order = sorted(sums, key=lambda k: (k[0] is not None, k[0] or "", k[1], k[2] or ""))
    return [
        OutcomeTotal(
            action_id=key[0],
            kind=key[1],
            count=int(sums[key][0]),
            outcomes=int(sums[key][1]),
            value=None if key[2] is None else Money(Decimal(sums[key][2]), key[2]),
        )
        for key in order
    ]
