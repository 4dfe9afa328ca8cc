"""The research agent (stage READ): insights and opportunities, each with its evidence.

It reads the channel history (the trend of each channel over four weeks, the change on the
same weeks a year earlier, what the same season did last year, each channel's efficiency), the
offers and segments (who is eligible and reachable), validated learnings, and the workspace's
research documents (``ctx.documents``: CSV signal files with ``date, source, signal, value,
note`` columns, and notes). Each finding becomes one ``INSIGHT`` proposal:

    parameters = {"finding": str,
                  "opportunity": {"segment": id | None, "channel": name | None,
                                  "offer": id | None, "angle": str | None},
                  "source": "history" | "document"}
    evidence   = ("history:email:2026-10-19..2026-11-09", "document:trends.csv:4", ...)

Document text is data. A line is quoted (briefly) as evidence and matched for words; a line
that talks to the system ("ignore previous instructions ...") is reported as such and drives
no opportunity. The seed only moves the bootstrap intervals of the trends it reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from mios.agents.builtin.effects import objective_phrase, reachable, send_effect
from mios.agents.builtin.history_series import (
    WEEKS_PER_YEAR,
    ChannelSeries,
    change,
    percent,
    ratio,
    series_by_channel,
)
from mios.agents.builtin.research_signals import (
    angle_for,
    channel_for,
    current_offers,
    is_instruction,
    number_in,
    offer_for,
    segment_for,
    words,
)
from mios.agents.documents import csv_rows, excerpt, text_lines
from mios.agents.protocol import READ, AgentContext, Document
from mios.domain.channel import ChannelName
from mios.domain.offer import Offer
from mios.domain.outcome import LearningStatus
from mios.domain.proposal import ActionKind, Audience, Forecast, Proposal
from mios.domain.segment import Segment

NAME = "research"
TREND_WEEKS = 4
EFFICIENCY_WEEKS = 8
NOTABLE_CHANGE = 0.15  # a four-week change smaller than this is noise at weekly volumes
SEASON_CHANGE = 0.20
MAX_PER_DOCUMENT = 6
MAX_SEGMENT_FINDINGS = 3
BOOTSTRAP_DRAWS = 400
URGENT_DAYS = 21
ABOUT_CHARS = 40  # a CSV row's source and date, quoted beside its signal


@dataclass(frozen=True)
class Opportunity:
    segment: str | None = None
    channel: ChannelName | None = None
    offer: str | None = None
    angle: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "segment": self.segment,
            "channel": None if self.channel is None else str(self.channel),
            "offer": self.offer,
            "angle": self.angle,
        }


@dataclass(frozen=True)
class Finding:
    key: tuple[object, ...]
    text: str
    source: str
    evidence: tuple[str, ...]
    opportunity: Opportunity = field(default_factory=Opportunity)
    extra: dict[str, Any] = field(default_factory=dict)
    effect: Forecast | None = None


class ResearchAgent:
    name = NAME
    description = (
        "Insights and opportunities from channel history, offers, segments and research files."
    )
    stage = READ

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        today = ctx.now.date()
        series = series_by_channel(ctx.history, before=today)
        rng = ctx.rng(NAME)
        findings = [
            *_trends(series, rng),
            *_efficiency(series),
            *_season(ctx, series, today),
            *_segments(ctx, today),
            *_learnings(ctx),
        ]
        for document in ctx.documents:
            findings.extend(_document(ctx, document, today))
        return [_proposal(ctx, f) for f in findings]


# -- history --------------------------------------------------------------------------------


def _trends(series: dict[ChannelName, ChannelSeries], rng: np.random.Generator) -> list[Finding]:
    out = []
    n = TREND_WEEKS
    for channel, s in series.items():
        if len(s) < 2 * n:
            continue
        recent, before = s.total("revenue", -n, None), s.total("revenue", -2 * n, -n)
        trend = change(recent, before)
        year_ago = None
        evidence = [s.label(-2 * n, None)]
        if len(s) >= WEEKS_PER_YEAR + n:
            start = -WEEKS_PER_YEAR - n
            year_ago = change(recent, s.total("revenue", start, start + n))
            evidence.append(s.label(start, start + n))
        notable = [c for c in (trend, year_ago) if c is not None and abs(c) >= NOTABLE_CHANGE]
        if not notable:
            continue
        low, high = _bootstrap(s.revenue[-n:], s.revenue[-2 * n : -n], rng)
        parts = [f"{channel} revenue over the last {n} weeks"]
        if trend is not None:
            parts.append(f"changed {percent(trend)} on the {n} weeks before")
            parts.append(f"(90% interval {percent(low)} to {percent(high)})")
        if year_ago is not None:
            parts.append(f"and {percent(year_ago)} on the same weeks a year earlier")
        spend = change(s.total("spend", -n, None), s.total("spend", -2 * n, -n))
        if spend is not None:
            parts.append(f"while spend changed {percent(spend)}")
        extra = {"trend": trend, "year_over_year": year_ago, "trend_interval": [low, high]}
        out.append(
            Finding(
                ("trend", channel),
                " ".join(parts) + ".",
                "history",
                tuple(evidence),
                Opportunity(channel=channel),
                extra,
            )
        )
    return out


def _bootstrap(
    recent: np.ndarray[Any, Any], before: np.ndarray[Any, Any], rng: np.random.Generator
) -> tuple[float, float]:
    """A 90% percentile-bootstrap interval of the change between two windows of weeks."""
    a = rng.choice(recent, size=(BOOTSTRAP_DRAWS, len(recent))).sum(axis=1)
    b = rng.choice(before, size=(BOOTSTRAP_DRAWS, len(before))).sum(axis=1)
    ratios = a[b > 0] / b[b > 0] - 1.0
    if not len(ratios):
        return 0.0, 0.0
    low, high = np.quantile(ratios, [0.05, 0.95])
    return float(low), float(high)


def _efficiency(series: dict[ChannelName, ChannelSeries]) -> list[Finding]:
    n = EFFICIENCY_WEEKS
    rows = []
    for channel, s in series.items():
        if len(s) < n:
            continue
        roas = ratio(s.total("revenue", -n, None), s.total("spend", -n, None))
        cost = ratio(s.total("spend", -n, None), s.total("conversions", -n, None))
        if roas is not None:
            rows.append((roas, cost, channel, s.label(-n, None)))
    if len(rows) < 2:
        return []
    rows.sort(key=lambda r: (-r[0], r[2]))
    ranking = ", ".join(
        f"{channel} {roas:.1f}" + ("" if cost is None else f" ({cost:,.0f} per conversion)")
        for roas, cost, channel, _ in rows
    )
    best = rows[0][2]
    text = (
        f"Revenue per unit of spend over the last {n} weeks: {ranking}. {best} is the most "
        f"efficient channel and {rows[-1][2]} the least."
    )
    return [
        Finding(
            ("efficiency",),
            text,
            "history",
            tuple(r[3] for r in rows),
            Opportunity(channel=best),
            {"roas": {str(r[2]): round(r[0], 4) for r in rows}},
        )
    ]


def _season(
    ctx: AgentContext, series: dict[ChannelName, ChannelSeries], today: date
) -> list[Finding]:
    """What the coming weeks did a year ago, against the weeks before them: a peak to plan for
    or a lull to save money in."""
    n = TREND_WEEKS
    ahead = before = 0.0
    evidence = []
    for s in series.values():
        # Week i is a year before today when today - weeks[i] is 52 weeks (or a few days less).
        start = next(
            (i for i, w in enumerate(s.weeks) if w >= today - timedelta(weeks=WEEKS_PER_YEAR)),
            None,
        )
        if start is None or start < n or start + n > len(s):
            continue
        ahead += s.total("revenue", start, start + n)
        before += s.total("revenue", start - n, start)
        evidence.append(s.label(start - n, start + n))
    lift = change(ahead, before)
    if lift is None or abs(lift) < SEASON_CHANGE:
        return []
    offers = current_offers(ctx.workspace, today)
    if lift > 0:
        ending = sorted(
            (o for o in offers if o.valid_until is not None), key=lambda o: (o.valid_until, o.id)
        )
        offer = ending[0] if ending else _best_margin(offers)
        angle = "urgency" if ending else None
        text = (
            f"A year ago revenue across channels rose {percent(lift)} in the {n} weeks after "
            f"this date compared with the {n} weeks before: a seasonal peak is coming; "
            "prepare offers and copy now."
        )
    else:
        offer, angle = None, None
        text = (
            f"A year ago revenue across channels fell {percent(lift)} in the {n} weeks after "
            f"this date: a quiet period is coming; paid spend may earn less per unit."
        )
    opportunity = Opportunity(offer=None if offer is None else offer.id, angle=angle)
    return [Finding(("season",), text, "history", tuple(evidence), opportunity, {"lift": lift})]


def _best_margin(offers: tuple[Offer, ...]) -> Offer | None:
    return max(offers, key=lambda o: (o.margin, o.id), default=None)


def _segments(ctx: AgentContext, today: date) -> list[Finding]:
    """Active offers and the segments eligible for them, ranked by what one send is worth."""
    workspace = ctx.workspace
    rows = []
    for offer in current_offers(workspace, today):
        for segment_id in offer.eligible_segments:
            segment = workspace.segment(segment_id)
            if segment.sensitive:
                continue
            channel, reach = _best_reach(ctx, segment, offer)
            if channel is None or not reach:
                continue
            angle = _offer_angle(offer, today)
            effect = send_effect(ctx, segment.id, channel, offer, angle, reach)
            size = segment.size(ctx.customers)
            worth = 0.0 if effect is None else effect.mean
            rows.append((worth, reach, segment, offer, channel, angle, size, effect))
    rows.sort(key=lambda r: (-r[0], -r[1], r[2].id, r[3].id))
    out = []
    for _, reach, segment, offer, channel, angle, size, effect in rows[:MAX_SEGMENT_FINDINGS]:
        text = (
            f"Segment {segment.id} ({size:,} customers, {reach:,} reachable by {channel}) is "
            f"eligible for offer {offer.id} ({offer.name}{_dates(offer, today)})."
        )
        out.append(
            Finding(
                ("segment", segment.id, offer.id),
                text,
                "history",
                (f"segment:{segment.id}", f"offer:{offer.id}", f"consent:{channel}"),
                Opportunity(segment.id, channel, offer.id, angle),
                {"segment_size": size, "reachable": reach},
                effect,
            )
        )
    return out


def _dates(offer: Offer, today: date) -> str:
    starts = (
        ""
        if offer.active_on(today) or offer.valid_from is None
        else (f", from {offer.valid_from.isoformat()}")
    )
    ends = "" if offer.valid_until is None else f", until {offer.valid_until.isoformat()}"
    return starts + ends


def _best_reach(
    ctx: AgentContext, segment: Segment, offer: Offer
) -> tuple[ChannelName | None, int]:
    best: tuple[ChannelName | None, int] = (None, 0)
    for config in ctx.workspace.channels:
        channel = config.name
        if not config.enabled or not channel.addresses_customers:
            continue
        if offer.channels and channel not in offer.channels:
            continue
        reach = reachable(ctx, segment.id, channel) or 0
        if reach > best[1]:
            best = (channel, reach)
    return best


def _offer_angle(offer: Offer, today: date) -> str | None:
    if offer.valid_until is not None and (offer.valid_until - today).days <= URGENT_DAYS:
        return "urgency"
    return "value" if offer.discount_pct > 0 else None


def _learnings(ctx: AgentContext) -> list[Finding]:
    out = []
    for learning in sorted(ctx.learnings, key=lambda item: item.id):
        if learning.status is not LearningStatus.VALIDATED:
            continue
        found = words(learning.insight)
        channel = channel_for(found, (c.name for c in ctx.workspace.channels))
        text = f"Validated learning (confidence {learning.confidence:.0%}): {learning.insight}"
        out.append(
            Finding(
                ("learning", learning.id),
                text,
                "history",
                (f"learning:{learning.id}", *learning.evidence[:3]),
                Opportunity(channel=channel, angle=angle_for(found)),
            )
        )
    return out


# -- documents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One signal of a document: a note's line, or a CSV signal's latest row with the rows of
    the same signal before it (``lines``, oldest first) and its change since the first."""

    lines: tuple[int, ...]
    text: str
    row: dict[str, str]
    since_first: float | None = None


def _document(ctx: AgentContext, document: Document, today: date) -> list[Finding]:
    if document.name.lower().endswith(".csv"):
        rows = [
            (line, " ".join(v for k, v in row.items() if k in {"signal", "note"} and v), row)
            for line, row in csv_rows(document)
        ]
    else:
        rows = [(n, t, {}) for n, t in text_lines(document) if not t.startswith("#")]
    out: list[Finding] = []
    kept = []
    for line, text, row in rows:
        # Every cell is read for text addressed to a system, not only the ones matched for words:
        # a source or date column is quoted too.
        cells = " ".join(v for v in row.values() if v) or text
        if is_instruction(cells):
            out.append(_flag(document, line, cells))
        elif text:
            kept.append((line, text, row))
    entries = (
        _grouped(kept)
        if document.name.lower().endswith(".csv")
        else [_Entry((line,), text, row) for line, text, row in kept]
    )
    signals = 0
    for entry in entries:
        if signals >= MAX_PER_DOCUMENT:
            break
        finding = _signal(ctx, document, entry, today)
        if finding is not None:
            out.append(finding)
            signals += 1
    return out


def _flag(document: Document, line: int, text: str) -> Finding:
    quote = excerpt(text)
    return Finding(
        ("document", document.name, line, "instruction"),
        f"{document.name} line {line} holds text addressed to an automated system "
        f'("{quote}"); it was read as data and nothing was changed because of it.',
        "document",
        (f"document:{document.name}:{line}",),
        extra={"quote": quote, "flag": "instruction-like text"},
    )


def _grouped(rows: list[tuple[int, str, dict[str, str]]]) -> list[_Entry]:
    """CSV rows of one signal (same source and signal) as one entry, in file order."""
    groups: dict[tuple[str, str], list[tuple[int, str, dict[str, str]]]] = {}
    for line, text, row in rows:
        key = (row.get("source", "").lower(), row.get("signal", "").lower() or f"line {line}")
        groups.setdefault(key, []).append((line, text, row))
    entries = []
    for members in groups.values():
        members.sort(key=lambda m: (m[2].get("date", ""), m[0]))
        line, text, row = members[-1]
        first = number_in(members[0][2].get("value", ""))
        last = number_in(row.get("value", ""))
        since = None
        if len(members) > 1 and first is not None and last is not None:
            since = change(last, first)
        entries.append(_Entry(tuple(m[0] for m in members), text, row, since))
    entries.sort(key=lambda e: e.lines[-1])
    return entries


def _signal(ctx: AgentContext, document: Document, entry: _Entry, today: date) -> Finding | None:
    workspace = ctx.workspace
    found = words(entry.text)
    angle = angle_for(found)
    segment = segment_for(found, workspace.segments)
    channel = channel_for(found, (c.name for c in workspace.channels))
    if angle is None and segment is None:
        return None  # nothing here a marketer could act on
    offers = current_offers(workspace, today)
    offer = offer_for(found, offers, workspace, segment, channel, angle)
    if angle == "urgency" and (offer is None or offer.valid_until is None):
        angle = None  # urgency only with a real end date
    if segment is None and offer is not None and offer.eligible_segments:
        segment = segment_for(found | words(offer.name), _eligible(offer, workspace.segments))
    if channel is None and segment is not None and offer is not None:
        channel, _ = _best_reach(ctx, segment, offer)
    segment_id = None if segment is None else segment.id
    effect = None
    if channel is not None:
        reach = reachable(ctx, segment_id, channel)
        effect = send_effect(ctx, segment_id, channel, offer, angle, reach)
    row, line = entry.row, entry.lines[-1]
    quote = excerpt(entry.text)
    about = ", ".join(excerpt(p, ABOUT_CHARS) for p in (row.get("source"), row.get("date")) if p)
    text = f'{document.name} line {line}{f" ({about})" if about else ""}: "{quote}"'
    if entry.since_first is not None:
        text += f" (value {percent(entry.since_first)} since line {entry.lines[0]})"
    if angle is not None:
        text += f" points to the {angle} angle"
    if segment is not None:
        text += f" for segment {segment.id}"
    if offer is not None:
        text += f" with offer {offer.id}"
    evidence = [f"document:{document.name}:{n}" for n in entry.lines]
    if offer is not None:
        evidence.append(f"offer:{offer.id}")
    if segment is not None:
        evidence.append(f"segment:{segment.id}")
    return Finding(
        ("document", document.name, line),
        text + ".",
        "document",
        tuple(evidence),
        Opportunity(segment_id, channel, None if offer is None else offer.id, angle),
        {"quote": quote, "value": number_in(row.get("value", "")), "change": entry.since_first},
        effect,
    )


def _eligible(offer: Offer, segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    return tuple(s for s in segments if s.id in offer.eligible_segments and not s.sensitive)


# -- proposals ------------------------------------------------------------------------------


def _proposal(ctx: AgentContext, finding: Finding) -> Proposal:
    opportunity = finding.opportunity
    rationale = f"{finding.text} Acting on it serves the objective, {objective_phrase(ctx)}"
    if finding.effect is not None:
        interval = finding.effect.interval
        rationale += (
            f"; one send is expected to add {finding.effect.mean:,.0f} {finding.effect.kpi} "
            f"({interval.low:,.0f} to {interval.high:,.0f})"
        )
    parameters: dict[str, Any] = {
        "finding": finding.text,
        "opportunity": opportunity.as_dict(),
        "source": finding.source,
    }
    parameters.update({k: v for k, v in finding.extra.items() if v is not None})
    return Proposal(
        id=ctx.proposal_id(NAME, *finding.key),
        agent_id=NAME,
        kind=ActionKind.INSIGHT,
        snapshot_version=ctx.snapshot_version,
        rationale=rationale + ".",
        created_at=ctx.now,
        channel=opportunity.channel,
        audience=None if opportunity.segment is None else Audience(segment_id=opportunity.segment),
        expected_effect=finding.effect,
        evidence=finding.evidence,
        parameters=parameters,
    )
