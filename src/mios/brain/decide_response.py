"""The Bayesian response models behind ``decide``: a message's forecast from its cell.

A ``send_message`` proposal is one cell of the response model (its segment, channel, offer and
message angle), sent to its resolved audience. Its KPI forecast is the number of conversions
(Beta-Binomial predictive, so sampling noise is in the interval), and its value is the summed
order value times the offer's margin, less the proposal's spend, with the interval simulated
from both posteriors. Confidence falls as the value interval widens relative to the value.
Every other kind (budgets, bids, experiments, insights) has no cell, and goes to ``fallback``:
the agent's own estimate, discounted, unless media curves are plugged in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mios.brain.decide_forecast import (
    LEVEL,
    AgentEstimateForecaster,
    Forecaster,
    ProposalForecast,
)
from mios.brain.response import ResponseModel
from mios.domain.objective import VALUE_KPIS, Kpi
from mios.domain.proposal import ActionKind, Forecast, Interval, Proposal, segment_of
from mios.errors import DomainError

#: The cell key of what a proposal leaves unnamed (an audience listed by id, no offer, no angle).
UNNAMED = "-"
KPI = "conversions"


@dataclass(frozen=True)
class ResponseForecaster:
    """Forecast messages with a fitted ``ResponseModel``; other kinds with ``fallback``.

    ``margins``: the share of an order's value that is profit, per offer id (``default_margin``
    for messages without an offer). ``seed`` makes the simulated value interval repeatable.
    ``objective`` is what a proposal's value counts: ``profit`` (margin x order value, less
    the spend), ``revenue`` or ``pipeline`` (the order value), ``conversions`` (their number);
    the last three leave money to the budgets the portfolio must fit in.
    """

    model: ResponseModel
    margins: Mapping[str, float] = field(default_factory=dict)
    default_margin: float = 1.0
    fallback: Forecaster = field(default_factory=AgentEstimateForecaster)
    draws: int = 2000
    seed: int = 0
    objective: Kpi = Kpi.PROFIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "margins", dict(self.margins))
        for offer, margin in {**self.margins, "default": self.default_margin}.items():
            if not 0 <= margin <= 1:
                raise DomainError(f"margin of {offer} must be in [0, 1], got {margin}")
        if self.objective not in VALUE_KPIS:
            served = ", ".join(sorted(VALUE_KPIS))
            raise DomainError(f"a response forecast counts one of {served}, not {self.objective}")

    def forecast(self, proposal: Proposal, audience_size: int | None) -> ProposalForecast:
        if proposal.kind is not ActionKind.SEND_MESSAGE or not audience_size:
            return self.fallback.forecast(proposal, audience_size)
        cell = cell_of(proposal)
        [[low_rate, high_rate]] = self.model.predict_interval([cell]).tolist()
        rate = float(self.model.predict([cell])[0])
        responses = self.model.predict_responses([cell], audience_size)
        total = self.model.predict_total_value(
            [cell], audience_size, draws=self.draws, seed=self.seed
        )
        offer = proposal.content.offer_id if proposal.content else None
        margin = self.margins.get(offer, self.default_margin) if offer else self.default_margin
        cost = float(proposal.spend.amount) if proposal.spend else 0.0
        if self.objective is Kpi.CONVERSIONS:
            ends = (float(responses.mean[0]), float(responses.low[0]), float(responses.high[0]))
        elif self.objective is Kpi.PROFIT:
            ends = (
                margin * float(total.mean[0]) - cost,
                margin * float(total.low[0]) - cost,
                margin * float(total.high[0]) - cost,
            )
        else:  # revenue or pipeline: what the orders are worth
            ends = (float(total.mean[0]), float(total.low[0]), float(total.high[0]))
        value = ends[0]
        low, high = min(ends[1], value), max(ends[2], value)
        kpi = Forecast(
            KPI,
            float(responses.mean[0]),
            Interval(
                min(float(responses.low[0]), float(responses.mean[0])),
                max(float(responses.high[0]), float(responses.mean[0])),
                LEVEL,
            ),
        )
        width = (high - low) / max(abs(value), 1e-9)
        segment, channel, offer_key, angle = cell
        signals = (
            f"response rate {rate:.2%} (90% interval {low_rate:.2%} to {high_rate:.2%}) for "
            f"{segment} on {channel}, offer {offer_key}, angle {angle}",
            f"audience of {audience_size:,} customers, margin {margin:.0%}"
            + (f", spend {cost:,.2f}" if cost else "")
            + f"; value counted as {self.objective}",
            f"the model has seen {self.model.trials_:,.0f} sends over {self.model.n_cells_:,} "
            "cells",
        )
        return ProposalForecast(
            kpi,
            value,
            Interval(low, high, LEVEL),
            1.0 / (1.0 + width),
            signals,
            "hierarchical Bayesian response model",
        )


def cell_of(proposal: Proposal) -> tuple[str, str, str, str]:
    """The response-model cell of a message: segment, channel, offer, angle."""
    content = proposal.content
    return (
        segment_of(proposal.audience, proposal.parameters) or UNNAMED,
        str(proposal.channel) if proposal.channel else UNNAMED,
        (content.offer_id if content else None) or UNNAMED,
        (content.angle if content else None) or UNNAMED,
    )
