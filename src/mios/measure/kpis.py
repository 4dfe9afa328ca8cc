"""Outcomes rolled up into the objective's KPIs over a window, overall and per channel, against
the objective's target (pro-rated to the window) and its guardrails.

The formulas (docs/measurement.md), all over outcomes with ``start <= at < end``:

    revenue                     sum of money on conversion and revenue outcomes (refunds < 0)
    gross margin                sum of revenue x margin (the offer's, else the default margin)
    spend                       sum of money on spend outcomes
    incident cost               sum of attributes["cost"] x count on incident outcomes
    profit                      gross margin - spend - incident cost
    conversions                 sum of counts of conversion outcomes
    roas                        revenue / spend                      (none without spend)
    cac                         spend / conversions                  (none without conversions)
    unsubscribe_rate            unsubscribes / delivered             (none without deliveries)
    complaint_rate              complaints / delivered               (none without deliveries)
    contacts_per_customer_week  delivered on addressed channels / customers / (days / 7)

Organic outcomes count toward every total (a business's revenue and CAC are blended), and
appear per channel under ``unattributed``. ``pipeline`` and ``retention`` are not measured
from outcomes. Money in another currency than the report's is left out and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from mios.domain.clock import require_utc
from mios.domain.objective import Guardrail, Kpi, Objective
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import DomainError

UNATTRIBUTED = "unattributed"
#: KPIs that add up over time: their target is for the horizon, so a window gets its share.
ADDITIVE = frozenset({Kpi.PROFIT, Kpi.REVENUE, Kpi.CONVERSIONS, Kpi.PIPELINE})
#: KPIs where less is better: on track means at or below target.
LOWER_IS_BETTER = frozenset(
    {Kpi.CAC, Kpi.UNSUBSCRIBE_RATE, Kpi.COMPLAINT_RATE, Kpi.CONTACTS_PER_CUSTOMER_WEEK}
)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Window:
    """A half-open span of time, ``start <= at < end``, in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_utc(self.start, "window start"))
        object.__setattr__(self, "end", require_utc(self.end, "window end"))
        if self.end <= self.start:
            raise DomainError(f"window ends ({self.end}) at or before it starts ({self.start})")

    @classmethod
    def ending(cls, end: datetime, days: float) -> Window:
        return cls(end - timedelta(days=days), end)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86_400

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Economics:
    """What turns outcomes into money KPIs: the report's currency, each offer's margin (a share
    of revenue), the margin of revenue naming no known offer, and the customer count."""

    currency: str
    margins: Mapping[str, Decimal] = field(default_factory=dict)
    default_margin: Decimal = Decimal(1)
    customers: int | None = None

    def margin(self, outcome: Outcome) -> Decimal:
        offer = outcome.attributes.get("offer")
        if isinstance(offer, str) and offer in self.margins:
            return self.margins[offer]
        return self.default_margin


@dataclass
class Rollup:
    """Sums of one set of outcomes; ``kpis`` turns them into the KPIs."""

    revenue: Decimal = _ZERO
    gross_margin: Decimal = _ZERO
    spend: Decimal = _ZERO
    incident_cost: Decimal = _ZERO
    conversions: int = 0
    delivered: int = 0
    addressed_deliveries: int = 0
    opens: int = 0
    clicks: int = 0
    unsubscribes: int = 0
    complaints: int = 0
    outcomes: int = 0
    foreign_currency: int = 0  # outcomes whose money is in another currency, left out

    @property
    def profit(self) -> Decimal:
        return self.gross_margin - self.spend - self.incident_cost

    def add(self, outcome: Outcome, economics: Economics) -> None:
        self.outcomes += 1
        kind, count, value = outcome.kind, outcome.count, outcome.value
        amount = _ZERO
        if value is not None:
            if value.currency != economics.currency:
                self.foreign_currency += 1
            else:
                amount = value.amount
        if kind in (OutcomeKind.CONVERSION, OutcomeKind.REVENUE):
            self.revenue += amount
            self.gross_margin += amount * economics.margin(outcome)
            if kind is OutcomeKind.CONVERSION:
                self.conversions += count
        elif kind is OutcomeKind.SPEND:
            self.spend += amount
        elif kind is OutcomeKind.DELIVERED:
            self.delivered += count
            if outcome.channel is not None and outcome.channel.addresses_customers:
                self.addressed_deliveries += count
        elif kind is OutcomeKind.OPEN:
            self.opens += count
        elif kind is OutcomeKind.CLICK:
            self.clicks += count
        elif kind is OutcomeKind.UNSUBSCRIBE:
            self.unsubscribes += count
        elif kind is OutcomeKind.COMPLAINT:
            self.complaints += count
        elif kind is OutcomeKind.INCIDENT:
            self.incident_cost += _cost(outcome) * count

    def kpis(self, days: float, customers: int | None) -> dict[Kpi, float | None]:
        weeks = days / 7
        contacts = None
        if customers and weeks > 0:
            contacts = self.addressed_deliveries / customers / weeks
        return {
            Kpi.PROFIT: float(self.profit),
            Kpi.REVENUE: float(self.revenue),
            Kpi.CONVERSIONS: float(self.conversions),
            Kpi.ROAS: _ratio(self.revenue, self.spend),
            Kpi.CAC: _ratio(self.spend, Decimal(self.conversions)),
            Kpi.UNSUBSCRIBE_RATE: _ratio(Decimal(self.unsubscribes), Decimal(self.delivered)),
            Kpi.COMPLAINT_RATE: _ratio(Decimal(self.complaints), Decimal(self.delivered)),
            Kpi.CONTACTS_PER_CUSTOMER_WEEK: contacts,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "revenue": _money(self.revenue),
            "gross_margin": _money(self.gross_margin),
            "spend": _money(self.spend),
            "incident_cost": _money(self.incident_cost),
            "profit": _money(self.profit),
            "conversions": self.conversions,
            "delivered": self.delivered,
            "opens": self.opens,
            "clicks": self.clicks,
            "unsubscribes": self.unsubscribes,
            "complaints": self.complaints,
            "outcomes": self.outcomes,
            "foreign_currency_outcomes": self.foreign_currency,
        }


@dataclass(frozen=True)
class TargetCheck:
    """The primary KPI against its target for this window (pro-rated when it adds up)."""

    kpi: Kpi
    target: float
    actual: float | None
    prorated: bool

    @property
    def attainment(self) -> float | None:
        """Actual as a share of target (1.0: exactly on target)."""
        if self.actual is None or self.target == 0:
            return None
        return self.actual / self.target

    @property
    def on_track(self) -> bool | None:
        if self.actual is None:
            return None
        if self.kpi in LOWER_IS_BETTER:
            return self.actual <= self.target
        return self.actual >= self.target


@dataclass(frozen=True)
class Breach:
    """A guardrail broken, overall (``channel`` None) or on one channel."""

    guardrail: Guardrail
    value: float
    channel: str | None = None

    def __str__(self) -> str:
        bound = f"max {self.guardrail.max}" if self.guardrail.max is not None else None
        bound = bound or f"min {self.guardrail.min}"
        where = f" on {self.channel}" if self.channel else ""
        return f"{self.guardrail.kpi} {self.value:.4g} breaks its {bound}{where}"


@dataclass(frozen=True)
class KpiReport:
    window: Window
    currency: str
    totals: Rollup
    kpis: dict[Kpi, float | None]
    by_channel: dict[str, dict[Kpi, float | None]]
    channel_totals: dict[str, Rollup]
    target: TargetCheck
    breaches: tuple[Breach, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: KPIs by name, money as decimal strings, breaches spelled out."""
        return {
            "window": {
                "start": self.window.start.isoformat(),
                "end": self.window.end.isoformat(),
                "days": round(self.window.days, 4),
            },
            "currency": self.currency,
            "kpis": _named(self.kpis),
            "totals": self.totals.as_dict(),
            "target": {
                "kpi": str(self.target.kpi),
                "target": self.target.target,
                "actual": self.target.actual,
                "prorated": self.target.prorated,
                "attainment": self.target.attainment,
                "on_track": self.target.on_track,
            },
            "by_channel": {
                name: {"kpis": _named(values), "totals": self.channel_totals[name].as_dict()}
                for name, values in self.by_channel.items()
            },
            "breaches": [
                {
                    "kpi": str(b.guardrail.kpi),
                    "max": b.guardrail.max,
                    "min": b.guardrail.min,
                    "value": b.value,
                    "channel": b.channel,
                    "message": str(b),
                }
                for b in self.breaches
            ],
        }


def kpi_report(
    outcomes: Iterable[Outcome], objective: Objective, window: Window, economics: Economics
) -> KpiReport:
    """Roll the outcomes inside ``window`` up into KPIs, check target and guardrails."""
    overall = Rollup()
    channels: dict[str, Rollup] = {}
    for outcome in outcomes:
        if not window.holds(outcome.at):
            continue
        overall.add(outcome, economics)
        name = UNATTRIBUTED if outcome.channel is None else str(outcome.channel)
        channels.setdefault(name, Rollup()).add(outcome, economics)
    days = window.days
    kpis = overall.kpis(days, economics.customers)
    by_channel = {name: channels[name].kpis(days, economics.customers) for name in sorted(channels)}
    breaches = [Breach(g, value, None) for g, value in _breached(objective, kpis)]
    for name, values in by_channel.items():
        if name != UNATTRIBUTED:
            breaches.extend(Breach(g, value, name) for g, value in _breached(objective, values))
    return KpiReport(
        window=window,
        currency=economics.currency,
        totals=overall,
        kpis=kpis,
        by_channel=by_channel,
        channel_totals={name: channels[name] for name in by_channel},
        target=target_check(objective, kpis, days),
        breaches=tuple(breaches),
    )


def target_check(
    objective: Objective, kpis: Mapping[Kpi, float | None], days: float
) -> TargetCheck:
    kpi = objective.primary_kpi
    prorated = kpi in ADDITIVE
    target = objective.target * days / objective.horizon_days if prorated else objective.target
    return TargetCheck(kpi, target, kpis.get(kpi), prorated)


def _breached(
    objective: Objective, kpis: Mapping[Kpi, float | None]
) -> list[tuple[Guardrail, float]]:
    observed = {k: v for k, v in kpis.items() if v is not None}
    return [(g, observed[g.kpi]) for g in objective.breached(observed)]


def _cost(outcome: Outcome) -> Decimal:
    cost = outcome.attributes.get("cost")
    if cost is None or isinstance(cost, bool):
        return _ZERO
    try:
        amount = Decimal(str(cost))
    except InvalidOperation:
        return _ZERO
    return amount if amount.is_finite() else _ZERO


def _ratio(top: Decimal, bottom: Decimal) -> float | None:
    return None if bottom == 0 else float(top / bottom)


def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def _named(kpis: Mapping[Kpi, float | None]) -> dict[str, float | None]:
    return {str(k): v for k, v in kpis.items()}
