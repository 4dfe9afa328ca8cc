"""The forecasting port of ``decide``: what the brain needs to know about one proposal.

A ``Forecaster`` turns a proposal (and the size of its resolved audience) into a
``ProposalForecast``: the KPI forecast with its 90% interval, the expected value toward the
workspace objective with its interval, a confidence in [0, 1] and the top signals behind it.
The Bayesian response models plug in here; ``AgentEstimateForecaster`` is the built-in stand-in
that works from the agent's own estimate, discounted and widened, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from mios.domain.proposal import Forecast, Interval, Proposal
from mios.errors import DomainError

LEVEL = 0.9


@dataclass(frozen=True)
class ProposalForecast:
    """What a forecaster knows about one proposal. ``forecast`` is ``None`` when there is no
    KPI forecast at all (then ``value`` is 0 and ``confidence`` 0)."""

    forecast: Forecast | None
    value: float
    value_interval: Interval
    confidence: float
    signals: tuple[str, ...]
    method: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "signals", tuple(self.signals))
        if not 0 <= self.confidence <= 1:
            raise DomainError(f"forecast confidence must be in [0, 1], got {self.confidence}")
        if not self.value_interval.low <= self.value <= self.value_interval.high:
            raise DomainError("expected value must lie inside its interval")


class Forecaster(Protocol):
    """Forecast one proposal; ``audience_size`` is its resolved reach (``None`` if unknown)."""

    def forecast(self, proposal: Proposal, audience_size: int | None) -> ProposalForecast: ...


@dataclass(frozen=True)
class AgentEstimateForecaster:
    """The agent's own ``expected_effect``, discounted and widened: agents overstate.

    mean = discount x the agent's mean; each side of the interval = widen x discount x the
    agent's side. value = unit_value[kpi] x KPI - cost_weight x spend (set ``cost_weight=1`` when
    the objective is profit and unit values are margins). confidence = 0.5 / (1 + relative width
    of the value interval): a self-estimate never earns more than 0.5.
    """

    discount: float = 0.8
    widen: float = 1.5
    unit_value: Mapping[str, float] = field(default_factory=dict)
    cost_weight: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit_value", dict(self.unit_value))
        if not 0 < self.discount <= 1:
            raise DomainError(f"discount must be in (0, 1], got {self.discount}")
        if self.widen < 1:
            raise DomainError(f"widen must be >= 1, got {self.widen}")

    def forecast(self, proposal: Proposal, audience_size: int | None) -> ProposalForecast:
        effect = proposal.expected_effect
        method = f"agent estimate x {self.discount:g}, interval x {self.widen:g}"
        if effect is None:
            return ProposalForecast(
                None,
                0.0,
                Interval(0.0, 0.0, LEVEL),
                0.0,
                ("no forecast: the agent gave no expected effect",),
                method,
            )
        mean = self.discount * effect.mean
        below = self.widen * self.discount * max(effect.mean - effect.interval.low, 0.0)
        above = self.widen * self.discount * max(effect.interval.high - effect.mean, 0.0)
        kpi = Forecast(effect.kpi, mean, Interval(mean - below, mean + above, LEVEL))
        unit = self.unit_value.get(effect.kpi, 1.0)
        cost = self.cost_weight * float(proposal.spend.amount) if proposal.spend else 0.0
        ends = sorted((unit * kpi.interval.low - cost, unit * kpi.interval.high - cost))
        value = unit * mean - cost
        width = (ends[1] - ends[0]) / max(abs(value), 1e-9)
        signals = [
            f"{proposal.agent_id}'s own estimate of {effect.mean:.4g} {effect.kpi}, "
            f"discounted to {self.discount:.0%}"
        ]
        if audience_size is not None:
            signals.append(f"audience of {audience_size:,} customers")
        signals.extend(f"evidence: {e}" for e in proposal.evidence[:2])
        return ProposalForecast(
            kpi,
            value,
            Interval(ends[0], ends[1], LEVEL),
            min(0.5, 0.5 / (1.0 + width)),
            tuple(signals),
            method,
        )
