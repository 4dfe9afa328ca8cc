"""What acting on an opportunity is worth toward the workspace objective, from the brain's
forecasts, and who an addressed channel can reach as the agent knows it (consent granted, not
suppressed). Shared by the read-stage and brief-stage agents.

    reach = reachable(ctx, "lapsed", ChannelName.EMAIL)          # customers, or None
    effect = send_effect(ctx, "lapsed", ChannelName.EMAIL, offer, "value", reach)
"""

from __future__ import annotations

import numpy as np

from mios.agents.protocol import AgentContext, Estimate
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.domain.customer_table import consent_column
from mios.domain.objective import VALUE_KPIS, Kpi
from mios.domain.offer import Offer
from mios.domain.proposal import Forecast, Interval
from mios.errors import DomainError

_GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)


def reachable(ctx: AgentContext, segment_id: str | None, channel: ChannelName) -> int | None:
    """Customers of the segment (everyone, without one) with consent granted on ``channel``
    and not suppressed; ``None`` for channels without per-customer consent or an unknown
    segment."""
    if channel not in CONSENT_CHANNELS:
        return None
    table = ctx.customers
    mask = ~table.suppressed & (table.consent_status[:, consent_column(channel)] == _GRANTED)
    if segment_id is not None:
        try:
            mask &= ctx.workspace.segment(segment_id).mask(table)
        except DomainError:
            return None
    return int(np.count_nonzero(mask))


def send_effect(
    ctx: AgentContext,
    segment_id: str | None,
    channel: ChannelName,
    offer: Offer | None,
    angle: str | None,
    audience: int | None,
) -> Forecast | None:
    """The objective KPI one send to ``audience`` customers would add, with its interval.

    The bounds multiply the bounds of the response rate and the order value, which makes the
    interval wider than 90%: cautious, never narrower than what the forecasts say.
    """
    kpi = ctx.objective.primary_kpi
    if audience is None or audience <= 0 or kpi not in VALUE_KPIS:
        return None
    rate = ctx.forecasts.response_rate(
        segment_id or "all", channel, offer.id if offer else None, angle
    )
    conversions = Estimate(rate.mean * audience, rate.low * audience, rate.high * audience)
    if kpi is Kpi.CONVERSIONS:
        return _forecast(kpi, conversions)
    value = ctx.forecasts.order_value(channel, offer.id if offer else None)
    if value is None and offer is not None:
        aov = float(offer.average_order_value.amount)
        value = Estimate(aov, aov, aov)
    if value is None:
        return None
    margin = 1.0
    if kpi is Kpi.PROFIT:
        if offer is None:
            return None
        margin = offer.margin
    scaled = (
        conversions.mean * value.mean * margin,
        conversions.low * value.low * margin,
        conversions.high * value.high * margin,
    )
    low, high = min(scaled[1], scaled[2]), max(scaled[1], scaled[2])
    return _forecast(kpi, Estimate(scaled[0], min(low, scaled[0]), max(high, scaled[0])))


def _forecast(kpi: Kpi, estimate: Estimate) -> Forecast:
    return Forecast(str(kpi), estimate.mean, Interval(estimate.low, estimate.high))


def objective_phrase(ctx: AgentContext) -> str:
    """``profit (target 1,250,000 in 90 days)``: what every rationale works toward."""
    objective = ctx.objective
    return (
        f"{objective.primary_kpi} (target {objective.target:,.0f} in {objective.horizon_days} days)"
    )
