"""The one objective every agent and the brain serve, with the guardrails it may not break."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mios.errors import DomainError


class Kpi(StrEnum):
    PROFIT = "profit"
    REVENUE = "revenue"
    CONVERSIONS = "conversions"
    PIPELINE = "pipeline"
    RETENTION = "retention"
    CAC = "cac"
    ROAS = "roas"
    UNSUBSCRIBE_RATE = "unsubscribe_rate"
    COMPLAINT_RATE = "complaint_rate"
    CONTACTS_PER_CUSTOMER_WEEK = "contacts_per_customer_week"


#: The KPIs a cycle can maximise: a send's conversions translate into each, so proposals have
#: values the brain can add up. A playbook's ``objective`` is one of them. Retention would need a
#: churn model the agents and the brain do not have (better no estimate than a wrong one); CAC,
#: ROAS and the rates are bounds, watched as guardrails.
VALUE_KPIS = frozenset({Kpi.PROFIT, Kpi.REVENUE, Kpi.PIPELINE, Kpi.CONVERSIONS})


@dataclass(frozen=True)
class Guardrail:
    """A KPI bound: ``max`` for costs and harms (CAC, unsubscribes), ``min`` for floors (ROAS)."""

    kpi: Kpi
    max: float | None = None
    min: float | None = None

    def __post_init__(self) -> None:
        if (self.max is None) == (self.min is None):
            raise DomainError(f"guardrail {self.kpi}: give exactly one of max or min")

    def breached_by(self, value: float) -> bool:
        if self.max is not None:
            return value > self.max
        assert self.min is not None
        return value < self.min


@dataclass(frozen=True)
class Objective:
    primary_kpi: Kpi
    target: float
    horizon_days: int
    guardrails: tuple[Guardrail, ...] = ()

    def __post_init__(self) -> None:
        if self.horizon_days < 1:
            raise DomainError("objective horizon must be at least one day")
        kpis = [g.kpi for g in self.guardrails]
        if len(kpis) != len(set(kpis)):
            raise DomainError("each guardrail KPI may appear once")

    def breached(self, observed: dict[Kpi, float]) -> tuple[Guardrail, ...]:
        return tuple(
            g for g in self.guardrails if g.kpi in observed and g.breached_by(observed[g.kpi])
        )
