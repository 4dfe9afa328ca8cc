"""Outcome events out of arrays: one event per action, kind and segment (with a count and a
summed value), or one per customer; ids that never repeat; brand incidents of content."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import Content
from mios.sim.population import Population
from mios.sim.totals import BRAND, Totals
from mios.types import FloatArray, IntArray

ORGANIC = "organic"
#: Amounts keep six decimals, so a fraction of a cent per message still adds up in the totals.
_MICROS = ".6f"


@dataclass(frozen=True)
class Execution:
    """What one action did: how many units the market took and the events it caused."""

    action_id: str
    day: int
    accepted: int  # messages sent, budget settings or pieces taken; 0 when nothing happened
    outcomes: tuple[Outcome, ...]
    note: str | None = None  # why less happened than asked (an outage, capacity, a spend cap)
    unavailable: bool = False  # nothing happened: the channel is down or full today; retry later
    held_out: int = 0  # audience members an experiment's holdout kept out


@dataclass(frozen=True)
class Books:
    """What every event of one day needs: who the customers are, the day's time stamp, the
    running totals, and how content is judged."""

    population: Population
    per_customer: bool
    currency: str
    at: datetime
    totals: Totals
    brand_findings: Callable[[Content], list[str]]
    brand_incident_cost: float


def incident(kind: str, cost: float) -> dict[str, Any]:
    return {"incident": kind, "cost": f"{cost:.2f}"}


class Emitter:
    """Turns arrays of who-did-what into Outcome events for one action (or for nobody's)."""

    def __init__(
        self,
        books: Books,
        prefix: str,
        action_id: str | None,
        channel: ChannelName | None,
        attributes: dict[str, Any],
    ) -> None:
        self._books = books
        self._prefix = prefix
        self._action_id = action_id
        self._channel = channel
        self._attributes = attributes
        self.outcomes: list[Outcome] = []

    def _outcome(
        self,
        kind: OutcomeKind,
        key: str,
        count: int,
        value: float | None,
        attributes: dict[str, Any],
        customer_id: str | None = None,
    ) -> None:
        money = None
        if value is not None:
            money = Money(Decimal(format(value, _MICROS)), self._books.currency)
        self.outcomes.append(
            Outcome(
                id=f"{self._prefix}/{kind}/{key}",
                kind=kind,
                at=self._books.at,
                action_id=self._action_id,
                customer_id=customer_id,
                channel=self._channel,
                value=money,
                count=count,
                attributes={**self._attributes, **attributes},
            )
        )

    def money(self, kind: OutcomeKind, amount: float) -> None:
        if amount > 0:
            self._outcome(kind, "total", 1, amount, {})

    def count(
        self,
        kind: OutcomeKind,
        count: int,
        value: float | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        if count > 0:
            self._outcome(kind, "total", count, value, attributes or {})

    def brand(self, content: Content) -> None:
        findings = self._books.brand_findings(content)
        if findings:
            attributes = {**incident(BRAND, self._books.brand_incident_cost), "findings": findings}
            self._outcome(OutcomeKind.INCIDENT, "brand", 1, None, attributes)

    def events(
        self,
        kind: OutcomeKind,
        positions: IntArray,
        *,
        values: FloatArray | None = None,
        attributes: dict[str, Any] | None = None,
        per_customer: bool = False,
    ) -> None:
        """One outcome per segment with a count (and summed value), or one per customer."""
        if not len(positions):
            return
        extra = attributes or {}
        population = self._books.population
        segment_ids = population.segment_ids
        segments = population.segment[positions]
        if per_customer or self._books.per_customer:
            ids = population.ids(positions)
            for i, customer_id in enumerate(ids):
                value = None if values is None else float(values[i])
                segment = {"segment": segment_ids[segments[i]]}
                self._outcome(kind, customer_id, 1, value, {**segment, **extra}, customer_id)
            return
        counts = np.bincount(segments, minlength=len(segment_ids))
        sums = None
        if values is not None:
            sums = np.bincount(segments, weights=values, minlength=len(segment_ids))
        for index, count in enumerate(counts.tolist()):
            if count:
                value = None if sums is None else float(sums[index])
                segment_id = segment_ids[index]
                self._outcome(kind, segment_id, count, value, {"segment": segment_id, **extra})

    def done(self, day: int, accepted: int, note: str | None, held_out: int = 0) -> Execution:
        self._books.totals.record(self.outcomes)
        return Execution(
            self._action_id or ORGANIC,
            day,
            accepted,
            tuple(self.outcomes),
            note,
            held_out=held_out,
        )
