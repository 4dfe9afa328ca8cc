"""The advertising agent: budget shifts and bids for paid channels, and ads to publish.

- Budget shift (``SET_BUDGET`` x 2): the paid channels with a budget and a marginal ROAS (the
  brain's response curves) are ranked by it; when the best one's interval lies above the worst
  one's mean, money moves from the worst to the best: as much as both budgets' ``max_change_pct``
  allow (20% where a budget sets none) and no more than the worst still has available in its
  period. ``spend`` is the channel's new budget for the period.
- Start (``SET_BUDGET`` at the planned amount, ``parameters["move"] = "start"``): a paid
  channel with nothing committed or spent this period whose recent spend returned more than it
  cost is run at its planned budget: money planned and left idle earns nothing. What a unit of
  spend returned is the lower end of its ROAS interval, counted as the objective counts it: for
  profit, times the margin of the offer the channel's ad carries (the offers' mean margin
  without an ad), so a channel whose sales pay back less than its spend is left idle. Not when
  people rejected running that budget before.
- Pacing (``ADJUST_BID``): spend so far in the budget period (the ledger's spend; not its
  commitments, which a running budget holds for the rest of the period) against the share of
  the period gone. Behind by more than a tenth: raise bids (unless the
  channel's marginal ROAS is below 1, where more spend loses money); ahead: lower them. The
  change is what brings the pace back, within the budget's ``max_change_pct``. Parameters:
  ``bid_change_pct`` and the same as a ``multiplier``. A channel the ledger holds nothing for
  is not paced: an empty ledger means nothing is tracked yet, not that nothing was spent.
- Ads (``PUBLISH_CONTENT``): per paid search, paid social and display channel, of the ad
  variants (content's ``CREATE_CONTENT`` with format ``ad``) that fit it (an offer allowed on
  the channel and active today), the one worth most toward the objective: forecast conversions
  (response rate x audience) times the value of one (for profit, order value x the offer's
  margin). A variant aimed at a segment runs as a customer-list audience (the segment, if most
  of its unsuppressed members consent to the channel and the offer allows the segment); one
  aimed at no segment runs as prospecting to an estimated audience (the channel's recent weekly
  impressions), and then only with an offer open to everyone. The ad rides on the channel's
  budget, so what the budget buys carries the offer worth most.

Deterministic: no randomness; ties broken by channel name and variant id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from mios.agents.protocol import ACT, AgentContext, Estimated
from mios.agents.rejections import rejected_before
from mios.domain.budget import Budget
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.money import Money
from mios.domain.objective import Kpi
from mios.domain.offer import Offer
from mios.domain.proposal import ActionKind, Audience, Forecast, Interval, Proposal
from mios.domain.segment import Segment

NAME = "advertising"
DEFAULT_MAX_CHANGE_PCT = 20.0
PACE_TOLERANCE = 0.1  # a pace within 10% of the period gone is on pace
RECENT_WEEKS = 4  # weeks of history that size a prospecting audience
AD_CHANNELS = (ChannelName.PAID_SEARCH, ChannelName.PAID_SOCIAL, ChannelName.DISPLAY)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class _Ranked:
    channel: ChannelName
    budget: Budget
    marginal: Estimated


class AdvertisingAgent:
    name = NAME
    description = "Budget shifts and bids for paid channels; ad variants to publish."
    stage = ACT

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        paid = [
            c.name
            for c in ctx.workspace.channels
            if c.enabled and c.name.is_paid_media and c.name in ctx.ledger.budgets
        ]
        ads = _ads(ctx)
        carried = {p.channel: _offer(ctx, p.content.offer_id if p.content else None) for p in ads}
        proposals = _shift(ctx, paid)
        shifted = {p.channel for p in proposals}
        proposals += [
            p
            for channel in paid
            if channel not in shifted and (p := _start(ctx, channel, carried.get(channel)))
        ]
        proposals += [p for channel in paid if (p := _pace(ctx, channel)) is not None]
        return proposals + ads


def max_change(budget: Budget) -> Decimal:
    """The most one change may move ``budget``, as a share (0.2 for 20%)."""
    pct = DEFAULT_MAX_CHANGE_PCT if budget.max_change_pct is None else budget.max_change_pct
    return Decimal(str(pct)) / 100


# -- budget shift -------------------------------------------------------------------------------


def _shift(ctx: AgentContext, paid: list[ChannelName]) -> list[Proposal]:
    ranked = []
    for channel in sorted(paid):
        marginal = ctx.forecasts.marginal_roas(channel)
        if marginal is not None:
            ranked.append(_Ranked(channel, ctx.ledger.budget(channel), marginal))
    if len(ranked) < 2:
        return []
    ranked.sort(key=lambda r: (r.marginal.mean, r.channel.value))
    low, high = ranked[0], ranked[-1]
    if not high.marginal.low > low.marginal.mean:
        return []  # not sure enough that the best returns more than the worst
    available = ctx.constraints.available.get(low.channel)
    room = min(
        low.budget.amount.amount * max_change(low.budget),
        high.budget.amount.amount * max_change(high.budget),
        available.amount if available is not None else Decimal(0),
    )
    moved = room.quantize(_CENT, rounding=ROUND_DOWN)
    if moved <= 0:
        return []
    amount = Money(moved, low.budget.amount.currency)
    gain = (high.marginal.mean - low.marginal.mean) * float(moved)
    why = (
        f"the next {high.budget.amount.currency} on {high.channel} returns "
        f"{_est(high.marginal)} in revenue, on {low.channel} {_est(low.marginal)}: moving "
        f"{amount} from {low.channel} to {high.channel} this {low.budget.period} period adds "
        f"about {gain:,.0f} in revenue toward the objective ({_objective(ctx)}), within both "
        f"budgets' limits on one change"
    )
    evidence = (
        f"history:{low.channel}",
        f"history:{high.channel}",
        f"budget:{low.channel}",
        f"budget:{high.channel}",
    )
    return [
        _budget(ctx, low, low.budget.amount - amount, -float(moved), why, evidence),
        _budget(ctx, high, high.budget.amount + amount, float(moved), why, evidence),
    ]


def _budget(
    ctx: AgentContext,
    ranked: _Ranked,
    new: Money,
    delta: float,
    why: str,
    evidence: tuple[str, ...],
) -> Proposal:
    m = ranked.marginal
    old = ranked.budget.amount
    change_pct = delta / float(old.amount) * 100 if old.amount else 0.0
    return Proposal(
        id=ctx.proposal_id(NAME, "budget", ranked.channel, new.amount),
        agent_id=NAME,
        kind=ActionKind.SET_BUDGET,
        snapshot_version=ctx.snapshot_version,
        rationale=f"Set the {ranked.channel} budget from {old} to {new}: {why}.",
        created_at=ctx.now,
        channel=ranked.channel,
        spend=new,
        expected_effect=_revenue(delta, m),
        evidence=evidence,
        parameters={
            "previous_budget": str(old.amount),
            "change_pct": round(change_pct, 2),
            "max_change_pct": float(max_change(ranked.budget) * 100),
            "marginal_roas": {"mean": m.mean, "low": m.low, "high": m.high},
        },
    )


def _revenue(delta: float, m: Estimated) -> Forecast:
    """Revenue that ``delta`` more (or, negative, less) spend brings at marginal ROAS ``m``."""
    ends = sorted((delta * m.low, delta * m.high))
    return Forecast("revenue", delta * m.mean, Interval(ends[0], ends[1]))


# -- a budget that is not running --------------------------------------------------------------


def _start(ctx: AgentContext, channel: ChannelName, offer: Offer | None) -> Proposal | None:
    """Run a paid channel at its planned budget when nothing of it is committed or spent this
    period and its recent spend returned more than it cost (for profit: its revenue times the
    margin of ``offer``, the offer its ad carries): money planned and left idle earns nothing.
    ``None`` when it runs already, or when its returns are unknown or below cost."""
    position = ctx.ledger.position(channel, ctx.now)
    if position.committed.amount > 0 or position.spent.amount > 0:
        return None
    if rejected_before(ctx, ActionKind.SET_BUDGET, channel, None, None):
        return None  # people said no to running it; not asked again
    roas = ctx.forecasts.roas(channel)
    kpi = ctx.objective.primary_kpi
    kept = _margin(ctx, offer, kpi) if kpi is Kpi.PROFIT else 1.0
    if roas is None or roas.low * kept <= 1.0:
        return None
    budget = ctx.ledger.budget(channel)
    planned = budget.amount
    margin = (
        f"; at the {kept:.0%} margin of {f'offer {offer.id}' if offer else 'the offers'} its "
        f"ads carry, each unit of spend returns {roas.low * kept:.2f} or more in profit"
        if kpi is Kpi.PROFIT
        else ""
    )
    why = (
        f"nothing of the {channel} budget is committed or spent this {budget.period} period, and "
        f"its recent spend returned {_est(roas)} per unit{margin}: running it at the planned "
        f"{planned} returns about {roas.mean * float(planned.amount):,.0f} in revenue toward "
        f"the objective ({_objective(ctx)})"
    )
    return Proposal(
        id=ctx.proposal_id(NAME, "start", channel, planned.amount),
        agent_id=NAME,
        kind=ActionKind.SET_BUDGET,
        snapshot_version=ctx.snapshot_version,
        rationale=f"Run {channel} at its planned budget of {planned}: {why}.",
        created_at=ctx.now,
        channel=channel,
        spend=planned,
        expected_effect=_revenue(float(planned.amount), roas),
        evidence=(f"history:{channel}", f"budget:{channel}"),
        parameters={
            "move": "start",
            "previous_budget": str(planned.amount),
            "change_pct": 0.0,
            "roas": {"mean": roas.mean, "low": roas.low, "high": roas.high},
        },
    )


# -- pacing -------------------------------------------------------------------------------------


def _pace(ctx: AgentContext, channel: ChannelName) -> Proposal | None:
    budget = ctx.ledger.budget(channel)
    if not any(e.channel == channel for e in ctx.ledger.entries) or not budget.amount.amount:
        return None
    start, end = budget.period.bounds(ctx.now.date())
    begun = datetime.combine(start, time(), tzinfo=UTC)
    length = timedelta(days=(end - start).days)
    elapsed = (ctx.now - begun) / length
    # Spend alone: a running budget holds the rest of its period until it is spent, so
    # commitments plus spend would read as the whole budget used on every day of the period.
    spent = ctx.ledger.position(channel, ctx.now).spent
    used = float(spent.amount / budget.amount.amount)
    if elapsed <= 0.05:
        return None  # too early in the period to read a pace
    pace = used / elapsed
    if abs(pace - 1.0) <= PACE_TOLERANCE:
        return None
    limit = float(max_change(budget)) * 100
    wanted = (1.0 / pace - 1.0) * 100 if pace > 0 else limit
    change = round(max(-limit, min(limit, wanted)), 1)
    marginal = ctx.forecasts.marginal_roas(channel)
    if change > 0 and marginal is not None and marginal.mean < 1.0:
        return None  # behind, but each more unit of spend returns less than it costs
    remaining_days = (1.0 - elapsed) * length.days
    daily = float(spent.amount) / (elapsed * length.days)
    extra = daily * remaining_days * change / 100
    direction = "speed up" if change > 0 else "slow down"
    rationale = (
        f"{channel} has used {used:.0%} of its {budget.period} budget of {budget.amount} with "
        f"{elapsed:.0%} of the period gone: {direction}, bids {change:+.1f}%, to land on the "
        f"budget by the period's end (about {extra:+,.0f} spend over the rest of it) toward "
        f"the objective ({_objective(ctx)})"
    )
    return Proposal(
        id=ctx.proposal_id(NAME, "pace", channel, start, change),
        agent_id=NAME,
        kind=ActionKind.ADJUST_BID,
        snapshot_version=ctx.snapshot_version,
        rationale=rationale + ".",
        created_at=ctx.now,
        channel=channel,
        expected_effect=None if marginal is None else _revenue(extra, marginal),
        evidence=(f"ledger:{channel}:{start.isoformat()}", f"budget:{channel}"),
        parameters={
            "bid_change_pct": change,
            "multiplier": round(1.0 + change / 100, 4),
            "pace": round(pace, 3),
            "period_elapsed": round(elapsed, 3),
            "budget_used": round(used, 3),
        },
    )


# -- ads ----------------------------------------------------------------------------------------


def _ads(ctx: AgentContext) -> list[Proposal]:
    variants = [
        v
        for v in ctx.handoffs_from("content", ActionKind.CREATE_CONTENT)
        if v.parameters.get("format") == "ad" and v.content is not None
    ]
    enabled = {c.name for c in ctx.workspace.channels if c.enabled}
    proposals = []
    for channel in (c for c in AD_CHANNELS if c in enabled):
        fits = [
            (a, v) for v in sorted(variants, key=lambda v: v.id) if (a := _fit(ctx, v, channel))
        ]
        if fits:
            # The most valuable first; sorted() keeps the id order among equals.
            audience, variant = sorted(fits, key=lambda f: -_worth(ctx, channel, f[1], f[0]))[0]
            proposals.append(_publish(ctx, channel, variant, audience))
    return proposals


def _worth(ctx: AgentContext, channel: ChannelName, variant: Proposal, audience: Audience) -> float:
    """What running ``variant`` to ``audience`` on ``channel`` is forecast to bring toward the
    objective: conversions (response rate x audience) times the value of one."""
    content = variant.content
    assert content is not None
    assert audience.size is not None
    offer = _offer(ctx, content.offer_id)
    rate = ctx.forecasts.response_rate(
        audience.segment_id or "*", channel, content.offer_id, content.angle
    )
    conversions = rate.mean * audience.size
    kpi = ctx.objective.primary_kpi
    if kpi not in (Kpi.PROFIT, Kpi.REVENUE, Kpi.PIPELINE):
        return conversions
    order = ctx.forecasts.order_value(channel, content.offer_id)
    if order is None and offer is not None:
        return conversions * float(offer.average_order_value.amount) * _margin(ctx, offer, kpi)
    if order is None:
        return conversions
    return conversions * order.mean * _margin(ctx, offer, kpi)


def _margin(ctx: AgentContext, offer: Offer | None, kpi: Kpi) -> float:
    """The share of an order's value the objective counts: the offer's margin for profit (the
    offers' mean without one), all of it for revenue and pipeline."""
    if kpi is not Kpi.PROFIT:
        return 1.0
    if offer is not None:
        return offer.margin
    margins = [o.margin for o in ctx.workspace.offers]
    return sum(margins) / len(margins) if margins else 1.0


def _fit(ctx: AgentContext, variant: Proposal, channel: ChannelName) -> Audience | None:
    """The audience ``variant`` may run to on ``channel``; ``None`` if it may not run there."""
    assert variant.content is not None
    allowed = variant.parameters.get("channels")
    if isinstance(allowed, list | tuple) and allowed and channel.value not in map(str, allowed):
        return None
    offer = _offer(ctx, variant.content.offer_id)
    if variant.content.offer_id is not None and offer is None:
        return None
    if offer is not None and not (
        offer.active_on(ctx.now.date()) and (not offer.channels or channel in offer.channels)
    ):
        return None
    aimed = variant.parameters.get("segment")
    segment_id = aimed if isinstance(aimed, str) else None
    if rejected_before(
        ctx, ActionKind.PUBLISH_CONTENT, channel, segment_id, variant.content.offer_id
    ):
        return None  # people said no to this ad on this channel; not asked again
    if aimed is None:
        if offer is not None and offer.eligible_segments:
            return None  # prospecting cannot keep an offer to its eligible segments
        size = _prospects(ctx, channel)
        return None if size is None else Audience(estimated_size=size)
    segment = next((s for s in ctx.workspace.segments if s.id == aimed), None)
    if segment is None or segment.sensitive:
        return None
    if offer is not None and offer.eligible_segments and segment.id not in offer.eligible_segments:
        return None
    listed = _customer_list(ctx, segment, channel)
    return None if listed is None else Audience(segment_id=segment.id, estimated_size=listed)


def _offer(ctx: AgentContext, offer_id: str | None) -> Offer | None:
    return next((o for o in ctx.workspace.offers if o.id == offer_id), None)


def _customer_list(ctx: AgentContext, segment: Segment, channel: ChannelName) -> int | None:
    """Members who may be uploaded: unsuppressed, consented; only if most of them consent, and
    only on a channel that takes a customer list (one with per-customer consent)."""
    customers = ctx.customers
    if not len(customers) or channel not in CONSENT_CHANNELS:
        return None
    reachable = segment.mask(customers) & ~customers.suppressed
    consented = reachable & customers.granted(channel)
    if not reachable.any() or consented.sum() / reachable.sum() <= 0.5:
        return None
    return int(consented.sum())


def _prospects(ctx: AgentContext, channel: ChannelName) -> int | None:
    weeks = ctx.history.for_channel(channel)[-RECENT_WEEKS:]
    if not weeks:
        return None
    return round(sum(w.impressions for w in weeks) / len(weeks))


def _publish(
    ctx: AgentContext, channel: ChannelName, variant: Proposal, audience: Audience
) -> Proposal:
    content = variant.content
    assert content is not None
    assert audience.size is not None
    rate = ctx.forecasts.response_rate(
        audience.segment_id or "*", channel, content.offer_id, content.angle
    )
    size = audience.size
    who = (
        f"segment {audience.segment_id} as a customer list ({size} consented members)"
        if audience.segment_id
        else f"an estimated {size:,} impressions a week"
    )
    rationale = (
        f"Publish ad variant {variant.id} on {channel} to {who}: about "
        f"{rate.mean * size:,.1f} conversions a week (90% interval {rate.low * size:,.1f}-"
        f"{rate.high * size:,.1f}) toward the objective ({_objective(ctx)})."
    )
    evidence = [f"variant:{variant.id}", f"history:{channel}"]
    if audience.segment_id:
        evidence.append(f"segment:{audience.segment_id}")
    return Proposal(
        id=ctx.proposal_id(NAME, "ad", channel, variant.id, audience.segment_id),
        agent_id=NAME,
        kind=ActionKind.PUBLISH_CONTENT,
        snapshot_version=ctx.snapshot_version,
        rationale=rationale,
        created_at=ctx.now,
        channel=channel,
        audience=audience,
        content=content,
        expected_effect=Forecast(
            "conversions", rate.mean * size, Interval(rate.low * size, rate.high * size)
        ),
        evidence=tuple(evidence),
        parameters={"variant": variant.id, "format": "ad"},
    )


def _est(e: Estimated) -> str:
    return f"{e.mean:.2f} (90% interval {e.low:.2f}-{e.high:.2f})"


def _objective(ctx: AgentContext) -> str:
    o = ctx.objective
    return f"{o.primary_kpi} {o.target:,.0f} in {o.horizon_days} days"
