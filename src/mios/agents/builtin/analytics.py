"""The analytics agent (stage READ): anomalies, underperformers, experiments and cuts.

- **Anomalies**: each of the last ``SCAN_WEEKS`` weeks of each channel against the
  ``REFERENCE_WEEKS`` before it, by the modified z-score (median and MAD) of revenue,
  conversions and conversion rate; ``|z| >= ANOMALY_Z`` (3.5, Iglewicz and Hoaglin) is an
  ``INSIGHT``, one per channel and metric (its most extreme week).
- **Underperformers**: a paid channel whose revenue per unit of spend over the last
  ``RECENT_WEEKS`` is below the objective's ROAS floor, or below ``SHORTFALL`` of the other
  paid channels' median or of its own past (the same weeks a year earlier); any channel whose
  conversion rate fell below ``SHORTFALL`` of its own past. Each is an ``INSIGHT``.
- **Cuts**: a ``SET_BUDGET`` lower than the current budget for an underperforming paid channel,
  never further than the budget's ``max_change_pct`` (the whole step when the brain's marginal
  ROAS is below 1 or the channel is far below the floor, half of it otherwise).
- **Experiments**: a ``LAUNCH_EXPERIMENT`` per underperformer (a conversion-rate test of new
  creative before cutting deeper) and one on the largest addressed channel, each sized by the
  two-proportion power calculation (``analytics_power``) at the smallest lift that a test of
  at most ``MAX_TEST_DAYS`` can detect with the channel's weekly volume.

The seed picks each experiment's assignment salt (which customers or clicks land in which arm).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from statistics import median
from typing import Any

from mios.agents.builtin.analytics_power import ALPHA, POWER, duration_days, sample_size_per_arm
from mios.agents.builtin.effects import objective_phrase
from mios.agents.builtin.history_series import (
    WEEKS_PER_YEAR,
    ChannelSeries,
    percent,
    ratio,
    robust_z,
    series_by_channel,
)
from mios.agents.protocol import READ, AgentContext, Estimated
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.objective import Kpi
from mios.domain.proposal import ActionKind, Forecast, Interval, Proposal
from mios.types import FloatArray

NAME = "analytics"
ANOMALY_Z = 3.5
SCAN_WEEKS = 4
REFERENCE_WEEKS = 13
RECENT_WEEKS = 8
SHORTFALL = 0.75
FAR_BELOW = 0.75  # of the ROAS floor: cut the whole allowed step
DEFAULT_MAX_CHANGE_PCT = 20.0
HOLDOUT = 0.1
MAX_TEST_DAYS = 56
LIFTS = (0.10, 0.15, 0.20, 0.30, 0.50)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Under:
    channel: ChannelName
    reasons: tuple[str, ...]
    roas: float | None
    evidence: tuple[str, ...]
    paid: bool


class AnalyticsAgent:
    name = NAME
    description = "Anomalies and underperformers in channel history, sized experiments, cuts."
    stage = READ

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        series = series_by_channel(ctx.history, before=ctx.now.date())
        proposals = [_anomaly(ctx, *found) for found in _anomalies(series)]
        unders = _underperformers(ctx, series)
        rng = ctx.rng(NAME)
        for under in unders:
            proposals.append(_under_insight(ctx, under))
            cut = _cut(ctx, under)
            if cut is not None:
                proposals.append(cut)
        tests = [u.channel for u in unders if u.paid]
        addressed = [
            s for s in series.values() if s.channel.addresses_customers and s.channel not in tests
        ]
        if addressed:
            tests.append(
                max(
                    addressed, key=lambda s: (s.impressions[-RECENT_WEEKS:].sum(), s.channel)
                ).channel
            )
        for channel in tests:
            salt = f"{int(rng.integers(0, 2**32)):08x}"
            experiment = _experiment(ctx, series[channel], salt)
            if experiment is not None:
                proposals.append(experiment)
        return proposals


# -- anomalies ------------------------------------------------------------------------------

_METRICS = ("revenue", "conversions", "conversion_rate")


def _metric(s: ChannelSeries, metric: str) -> FloatArray:
    if metric == "conversion_rate":
        clicks = s.clicks
        rate: FloatArray = s.conversions / clicks.clip(min=1.0)
        return rate
    values: FloatArray = getattr(s, metric)
    return values


def _anomalies(
    series: dict[ChannelName, ChannelSeries],
) -> list[tuple[ChannelSeries, str, int, float, float]]:
    found = []
    for s in series.values():
        for metric in _METRICS:
            values = _metric(s, metric)
            best: tuple[float, int, float] | None = None
            for i in range(max(REFERENCE_WEEKS, len(s) - SCAN_WEEKS), len(s)):
                reference = values[i - REFERENCE_WEEKS : i]
                z = robust_z(float(values[i]), reference)
                if (
                    z is not None
                    and abs(z) >= ANOMALY_Z
                    and (best is None or abs(z) > abs(best[0]))
                ):
                    best = (z, i, float(median(reference.tolist())))
            if best is not None:
                found.append((s, metric, best[1], best[0], best[2]))
    return found


def _anomaly(
    ctx: AgentContext, s: ChannelSeries, metric: str, i: int, z: float, typical: float
) -> Proposal:
    value = float(_metric(s, metric)[i])
    week = s.weeks[i].isoformat()
    direction = "above" if z > 0 else "below"

    def shown(x: float) -> str:
        return f"{x:.2%}" if metric == "conversion_rate" else f"{x:,.0f}"

    finding = (
        f"{s.channel} {metric.replace('_', ' ')} in the week of {week} was {shown(value)}, far "
        f"{direction} its typical {shown(typical)} over the {REFERENCE_WEEKS} weeks before "
        f"(robust z-score {z:+.1f})."
    )
    year = i - WEEKS_PER_YEAR
    evidence = [f"history:{s.channel}:{week}", s.label(i - REFERENCE_WEEKS, i)]
    if year >= 0:
        finding += f" The same week a year earlier was {shown(float(_metric(s, metric)[year]))}."
        evidence.append(f"history:{s.channel}:{s.weeks[year].isoformat()}")
    return _insight(
        ctx,
        ("anomaly", s.channel, metric, week),
        finding,
        s.channel,
        tuple(evidence),
        {"anomaly": {"metric": metric, "week": week, "value": value, "z": round(z, 3)}},
        "Finding the cause (tracking, a competitor, a stock-out) before the next decision protects",
    )


# -- underperformers ------------------------------------------------------------------------


def _roas(s: ChannelSeries, start: int, stop: int | None) -> float | None:
    return ratio(s.total("revenue", start, stop), s.total("spend", start, stop))


def _conversion_rate(s: ChannelSeries, start: int, stop: int | None) -> float | None:
    return ratio(s.total("conversions", start, stop), s.total("clicks", start, stop))


def _past(s: ChannelSeries) -> tuple[int, int] | None:
    """The slice to compare the recent weeks with: the same weeks a year earlier, or else the
    weeks just before them."""
    n = RECENT_WEEKS
    if len(s) >= WEEKS_PER_YEAR + n:
        return len(s) - WEEKS_PER_YEAR - n, len(s) - WEEKS_PER_YEAR
    if len(s) >= 2 * n:
        return len(s) - 2 * n, len(s) - n
    return None


def _underperformers(ctx: AgentContext, series: dict[ChannelName, ChannelSeries]) -> list[Under]:
    n = RECENT_WEEKS
    floor = next((g.min for g in ctx.objective.guardrails if g.kpi is Kpi.ROAS), None)
    paid = {c: _roas(s, -n, None) for c, s in series.items() if c.is_paid_media and len(s) >= n}
    out = []
    for channel, s in series.items():
        if len(s) < n:
            continue
        reasons: list[str] = []
        evidence = [s.label(-n, None)]
        past = _past(s)
        roas = paid.get(channel)
        if roas is not None:
            if floor is not None and roas < floor:
                reasons.append(f"revenue per unit of spend {roas:.2f} is below the floor {floor}")
            peers = [r for c, r in paid.items() if c != channel and r is not None]
            if peers and roas < SHORTFALL * median(peers):
                reasons.append(
                    f"ROAS {roas:.2f} is under {SHORTFALL:.0%} of the other paid channels' "
                    f"median {median(peers):.2f}"
                )
            before = None if past is None else _roas(s, *past)
            if before is not None and roas < SHORTFALL * before:
                reasons.append(
                    f"ROAS {roas:.2f} fell from {before:.2f} ({percent(roas / before - 1)})"
                )
            marginal = ctx.forecasts.marginal_roas(channel)
            if reasons and marginal is not None:
                reasons.append(f"the brain puts its marginal ROAS at {marginal.mean:.2f}")
        rate = _conversion_rate(s, -n, None)
        rate_before = None if past is None else _conversion_rate(s, *past)
        if rate is not None and rate_before is not None and rate < SHORTFALL * rate_before:
            reasons.append(f"conversion rate {rate:.2%} fell from {rate_before:.2%}")
        if past is not None:
            evidence.append(s.label(*past))
        if reasons:
            out.append(Under(channel, tuple(reasons), roas, tuple(evidence), roas is not None))
    return out


def _under_insight(ctx: AgentContext, under: Under) -> Proposal:
    finding = f"{under.channel} underperforms over the last {RECENT_WEEKS} weeks: " + "; ".join(
        under.reasons
    )
    return _insight(
        ctx,
        ("underperformer", under.channel),
        finding + ".",
        under.channel,
        under.evidence,
        {"underperformer": {"channel": str(under.channel), "roas": under.roas}},
        "Moving money and attention away from it serves",
    )


def _cut(ctx: AgentContext, under: Under) -> Proposal | None:
    channel = under.channel
    if not under.paid or channel not in ctx.ledger.budgets:
        return None
    budget = ctx.ledger.budget(channel)
    current = budget.amount
    if current.amount <= 0:
        return None
    step = budget.max_change_pct if budget.max_change_pct is not None else DEFAULT_MAX_CHANGE_PCT
    # Money already committed or spent this period stays in the budget: a cut below it is not
    # a cut but an overdraft.
    used = current - ctx.ledger.position(channel, ctx.now).available
    floor = next((g.min for g in ctx.objective.guardrails if g.kpi is Kpi.ROAS), None)
    marginal = ctx.forecasts.marginal_roas(channel)
    severe = (marginal is not None and marginal.mean < 1.0) or (
        floor is not None and under.roas is not None and under.roas < FAR_BELOW * floor
    )
    pct = Decimal(str(step)) if severe else Decimal(str(step)) / 2
    new_amount = (current.amount * (1 - pct / 100)).quantize(_CENT, ROUND_HALF_EVEN)
    new_amount = max(new_amount, used.amount.quantize(_CENT, ROUND_CEILING))
    if new_amount >= current.amount:
        return None  # no room to cut: a step of 0% or the period's money already used
    pct = ((current.amount - new_amount) / current.amount * 100).quantize(Decimal("0.1"))
    new = Money(new_amount, current.currency)
    saved = float(current.amount - new_amount)
    effect = _cut_effect(ctx, saved, marginal)
    rationale = (
        f"Lower the {budget.period} {channel} budget from {current} to {new} (-{pct}%, within "
        f"the {step}% a change may move it): {'; '.join(under.reasons)}. The {saved:,.2f} freed "
        f"can go where the next unit of spend earns more, which serves the objective, "
        f"{objective_phrase(ctx)}."
    )
    return Proposal(
        id=ctx.proposal_id(NAME, "cut", channel, str(new_amount)),
        agent_id=NAME,
        kind=ActionKind.SET_BUDGET,
        snapshot_version=ctx.snapshot_version,
        rationale=rationale,
        created_at=ctx.now,
        channel=channel,
        spend=new,
        expected_effect=effect,
        evidence=(*under.evidence, f"budget:{channel}"),
        parameters={
            "current": str(current.amount),
            "new": str(new_amount),
            "change_pct": float(-pct),
            "max_change_pct": step,
            "period": str(budget.period),
        },
    )


def _cut_effect(ctx: AgentContext, saved: float, marginal: Estimated | None) -> Forecast | None:
    """What cutting ``saved`` per period does to the objective KPI, from the brain's marginal
    ROAS (revenue lost) and, for profit, the offers' median margin (the spend comes back)."""
    if marginal is None:
        return None
    kpi = ctx.objective.primary_kpi
    lost = [saved * marginal.mean, saved * marginal.high, saved * marginal.low]
    if kpi in (Kpi.REVENUE, Kpi.PIPELINE):
        values = [-x for x in lost]
    elif kpi is Kpi.PROFIT:
        margins = [o.margin for o in ctx.workspace.offers]
        margin = median(margins) if margins else 0.4
        values = [saved - x * margin for x in lost]
    else:
        return None
    return Forecast(str(kpi), values[0], Interval(min(values), max(values)))


# -- experiments ----------------------------------------------------------------------------


def _experiment(ctx: AgentContext, s: ChannelSeries, salt: str) -> Proposal | None:
    n = RECENT_WEEKS
    if len(s) < n:
        return None
    # Addressed channels count sends (impressions); paid media count clicks.
    if s.channel.addresses_customers:
        unit, volume_metric, what = "send", "impressions", "message"
    else:
        unit, volume_metric, what = "click", "clicks", "creative and landing page"
    volume = s.total(volume_metric, -n, None)
    baseline = ratio(s.total("conversions", -n, None), volume)
    weekly = volume / n
    if baseline is None or not 0 < baseline < 1:
        return None
    # The smallest lift a test of at most MAX_TEST_DAYS detects; none when even the largest
    # would need longer, or the treated rate would pass 1.
    sized = None
    for lift in LIFTS:
        if baseline * (1 + lift) >= 1:
            break
        per_arm = sample_size_per_arm(baseline, lift)
        days = duration_days(per_arm, 2, HOLDOUT, weekly)
        if days is not None and days <= MAX_TEST_DAYS:
            sized = (lift, per_arm, days)
            break
    if sized is None:
        return None
    lift, per_arm, days = sized
    hypothesis = (
        f"A new {what} on {s.channel} lifts conversions per {unit} by at least {lift:.0%} "
        f"over the current {baseline:.3%}."
    )
    rationale = (
        f"{hypothesis} {per_arm:,} {unit}s per arm (alpha {ALPHA}, power {POWER}) at about "
        f"{weekly:,.0f} {unit}s a week, with {HOLDOUT:.0%} held out, take {days} days. Knowing "
        f"which {what} converts better before moving budget serves the objective, "
        f"{objective_phrase(ctx)}."
    )
    return Proposal(
        id=ctx.proposal_id(NAME, "experiment", s.channel),
        agent_id=NAME,
        kind=ActionKind.LAUNCH_EXPERIMENT,
        snapshot_version=ctx.snapshot_version,
        rationale=rationale,
        created_at=ctx.now,
        channel=s.channel,
        evidence=(s.label(-n, None),),
        parameters={
            "hypothesis": hypothesis,
            "arms": [
                {"name": "control", "description": f"the current {what}"},
                {"name": "treatment", "description": f"a new {what}"},
            ],
            "metric": f"conversions per {unit}",
            "unit": unit,
            "baseline_rate": baseline,
            "minimum_detectable_effect": lift,
            "effect_type": "relative",
            "treatment_rate": baseline * (1 + lift),
            "alpha": ALPHA,
            "power": POWER,
            "sample_size_per_arm": per_arm,
            "weekly_volume": weekly,
            "duration_days": days,
            "holdout": HOLDOUT,
            "assignment_salt": salt,
        },
    )


def _insight(
    ctx: AgentContext,
    key: tuple[object, ...],
    finding: str,
    channel: ChannelName,
    evidence: tuple[str, ...],
    extra: dict[str, Any],
    why: str,
) -> Proposal:
    return Proposal(
        id=ctx.proposal_id(NAME, *key),
        agent_id=NAME,
        kind=ActionKind.INSIGHT,
        snapshot_version=ctx.snapshot_version,
        rationale=f"{finding} {why} the objective, {objective_phrase(ctx)}.",
        created_at=ctx.now,
        channel=channel,
        evidence=evidence,
        parameters={
            "finding": finding,
            "opportunity": {"segment": None, "channel": str(channel), "offer": None, "angle": None},
            "source": "history",
            **extra,
        },
    )
