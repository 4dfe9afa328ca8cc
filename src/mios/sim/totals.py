"""Totals of a market run, summed from its outcome events (money stays decimal throughout).

    profit = sum(revenue x offer margin) - spend - incident costs

Revenue counts every sale in the market, organic sales too (``organic_revenue`` shows how much of
it nobody caused), so two policies run on one scenario compare on the same footing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from mios.domain.outcome import Outcome, OutcomeKind
from mios.types import IntArray

COMPLIANCE = "compliance"
BRAND = "brand"
_ZERO = Decimal(0)


@dataclass
class Totals:
    currency: str
    margins: Mapping[str, Decimal]  # offer id -> contribution margin share
    days: int = 0
    customers: int = 0
    spend: Decimal = _ZERO
    revenue: Decimal = _ZERO
    organic_revenue: Decimal = _ZERO
    gross_margin: Decimal = _ZERO
    incident_cost: Decimal = _ZERO
    delivered: int = 0
    opens: int = 0
    clicks: int = 0
    conversions: int = 0
    organic_conversions: int = 0
    unsubscribes: int = 0
    complaints: int = 0
    compliance_incidents: int = 0
    brand_incidents: int = 0
    #: customer-weeks by how many messages the customer got in that week (index = contacts)
    contact_weeks: IntArray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    def record(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self._record(outcome)

    def _record(self, outcome: Outcome) -> None:
        kind, count = outcome.kind, outcome.count
        amount = outcome.value.amount if outcome.value is not None else _ZERO
        if kind is OutcomeKind.SPEND:
            self.spend += amount
        elif kind is OutcomeKind.CONVERSION:
            self.conversions += count
            self.revenue += amount
            self.gross_margin += amount * self.margins[outcome.attributes["offer"]]
            if outcome.action_id is None or outcome.attributes.get("arm") == "holdout":
                self.organic_conversions += count
                self.organic_revenue += amount
        elif kind is OutcomeKind.INCIDENT:
            self.incident_cost += Decimal(outcome.attributes["cost"]) * count
            if outcome.attributes["incident"] == BRAND:
                self.brand_incidents += count
            else:
                self.compliance_incidents += count
        elif kind is OutcomeKind.DELIVERED:
            self.delivered += count
        elif kind is OutcomeKind.OPEN:
            self.opens += count
        elif kind is OutcomeKind.CLICK:
            self.clicks += count
        elif kind is OutcomeKind.UNSUBSCRIBE:
            self.unsubscribes += count
        elif kind is OutcomeKind.COMPLAINT:
            self.complaints += count

    def add_contact_weeks(self, contacts: IntArray) -> None:
        """Count one finished week: ``contacts[i]`` messages reached customer i."""
        counts = np.bincount(contacts.astype(np.int64))
        if len(counts) > len(self.contact_weeks):
            grown = np.zeros(len(counts), dtype=np.int64)
            grown[: len(self.contact_weeks)] = self.contact_weeks
            self.contact_weeks = grown
        self.contact_weeks[: len(counts)] += counts

    @property
    def profit(self) -> Decimal:
        return self.gross_margin - self.spend - self.incident_cost

    def contacts_per_week(self, quantile: float) -> int:
        """The ``quantile`` of messages per customer per week, over every customer-week."""
        weeks = int(self.contact_weeks.sum())
        if weeks == 0:
            return 0
        cumulative = np.cumsum(self.contact_weeks)
        return int(np.searchsorted(cumulative, quantile * weeks, side="left"))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: money as decimal strings in ``currency``, counts as integers."""

        def money(amount: Decimal) -> str:
            return str(amount.quantize(Decimal("0.01")))

        return {
            "currency": self.currency,
            "days": self.days,
            "customers": self.customers,
            "spend": money(self.spend),
            "revenue": money(self.revenue),
            "organic_revenue": money(self.organic_revenue),
            "gross_margin": money(self.gross_margin),
            "incident_cost": money(self.incident_cost),
            "profit": money(self.profit),
            "delivered": self.delivered,
            "opens": self.opens,
            "clicks": self.clicks,
            "conversions": self.conversions,
            "organic_conversions": self.organic_conversions,
            "unsubscribes": self.unsubscribes,
            "complaints": self.complaints,
            "compliance_incidents": self.compliance_incidents,
            "brand_incidents": self.brand_incidents,
            "contacts_per_customer_week_p50": self.contacts_per_week(0.5),
            "contacts_per_customer_week_p99": self.contacts_per_week(0.99),
        }
