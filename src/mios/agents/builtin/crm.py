"""The CRM agent: sends and journeys for segments, on the copy the content agent drafted.

Journeys and the segments they serve (read from each segment's id and name, and from the offers
that name a segment as eligible):

- welcome: new customers and sign-ups;
- win-back: lapsed, dormant or at-risk customers;
- cross-sell: VIPs, accounts ready to expand, and any segment an offer of a bundle kind names;
- retention: loyal customers and members, and any segment a loyalty, trade-in, referral or
  event offer names.

For each journey, segment and addressed channel (email, SMS, push) the agent picks the content
variant (``CREATE_CONTENT`` from ``content``) whose format is the channel's, whose offer the
segment may receive on that channel and on this day, and that fits the journey best; with no such
variant the journey is skipped on that channel. It then keeps what it knows of the rules:

- consent: a send goes, by id, to the segment's members who granted consent for the channel,
  with a lawful basis in the EU and an opt-in for SMS, not suppressed, and in no sensitive
  segment (the segment is named in ``parameters["segment"]``); only on a channel where most of
  the segment's reachable members may be reached so; never a segment whose members are mostly
  suppressed; never a sensitive one;
- caps: no customer planned more sends than the channel's cap, or than the cap across
  channels; a run's sends go out on one day, so the lower of the day's and the week's cap
  binds (the context holds no contact history yet, so the day starts at zero);
- money: spend = reachable members x the channel's cost per contact, within what the channel's
  budget still has (less what this run already proposed), the per-action and daily maxima.

Candidates are ranked by their expected value toward the workspace objective and taken greedily
while the caps and the money hold. Deterministic: no randomness, ties broken by id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from mios.agents.protocol import ACT, AgentContext
from mios.agents.rejections import rejected_before
from mios.domain.channel import ChannelName
from mios.domain.customer import BASIS_CODES, EU_COUNTRIES, EU_REGIONS, LawfulBasis
from mios.domain.customer_table import CustomerTable, consent_column
from mios.domain.guardrails import ContactCaps
from mios.domain.money import Money
from mios.domain.objective import Kpi
from mios.domain.offer import Offer
from mios.domain.proposal import ActionKind, Audience, Forecast, Interval, Proposal
from mios.domain.segment import Segment
from mios.domain.workspace import Workspace
from mios.types import BoolArray, IntArray

#: One-click unsubscribe (RFC 8058) on every email: commercial email law and the mailbox
#: providers want it, and governance checks it. The channel fills in the address.
EMAIL_HEADERS = {
    "headers": {
        "List-Unsubscribe": "<{{unsubscribe_url}}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
}
NAME = "crm"
_NO_BASIS = BASIS_CODES.index(LawfulBasis.NONE)
_CONSENT_BASIS = BASIS_CODES.index(LawfulBasis.CONSENT)

#: Share of a segment's reachable members that must have granted consent for a channel.
MIN_CONSENT_SHARE = 0.5
#: Share of a segment suppressed at or above which the segment is not messaged at all.
MAX_SUPPRESSED_SHARE = 0.5
_ADDRESSED = (ChannelName.EMAIL, ChannelName.SMS, ChannelName.PUSH)


@dataclass(frozen=True)
class Journey:
    name: str
    words: tuple[str, ...]  # starts of words in a segment's id or name
    offer_types: tuple[str, ...]  # offers that suit the journey
    by_offer: bool  # a segment an offer of these types names joins the journey


JOURNEYS: tuple[Journey, ...] = (
    Journey(
        "win-back",
        ("lapsed", "dormant", "inactive", "churn", "at_risk", "winback", "win_back", "lost"),
        ("discount", "free_shipping"),
        by_offer=False,
    ),
    Journey(
        "welcome",
        ("new", "signup", "sign_up", "onboard", "welcome", "first"),
        ("discount", "trial", "free_shipping"),
        by_offer=False,
    ),
    Journey(
        "cross-sell",
        ("vip", "expansion", "expand", "upsell", "cross", "high_value"),
        ("bundle", "annual_prepay"),
        by_offer=True,
    ),
    Journey(
        "retention",
        ("loyal", "member", "retain", "retention", "vip"),
        ("loyalty", "trade_in", "referral", "event"),
        by_offer=True,
    ),
)


@dataclass(frozen=True)
class _Candidate:
    journey: str
    segment: Segment
    channel: ChannelName
    variant: Proposal
    offer: Offer | None
    reach: BoolArray
    consent_share: float
    segment_size: int
    spend: Money
    conversions: tuple[float, float, float]  # mean, low, high
    value: float  # toward the objective's KPI

    @property
    def key(self) -> tuple[float, str, str, str]:
        return (-self.value, self.journey, self.segment.id, self.channel.value)


class CrmAgent:
    name = NAME
    description = "Welcome, win-back, cross-sell and retention sends for segments."
    stage = ACT

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        variants = ctx.handoffs_from("content", ActionKind.CREATE_CONTENT)
        if not variants or not len(ctx.customers):
            return []
        candidates = sorted(_candidates(ctx, variants), key=lambda c: c.key)
        return _select(ctx, candidates)


def journeys_of(workspace: Workspace, segment: Segment) -> tuple[str, ...]:
    """The journeys a segment is in: by the words of its id and name (the first journey whose
    words match), and by the offers that name it (cross-sell and retention)."""
    text = "_" + "_".join(f"{segment.id} {segment.name}".lower().replace("-", "_").split()) + "_"
    found = [j.name for j in JOURNEYS if any(f"_{w}" in text for w in j.words)][:1]
    for journey in JOURNEYS:
        named = any(
            segment.id in o.eligible_segments and o.type in journey.offer_types
            for o in workspace.offers
        )
        if journey.by_offer and named and journey.name not in found:
            found.append(journey.name)
    return tuple(found)


def _candidates(ctx: AgentContext, variants: tuple[Proposal, ...]) -> list[_Candidate]:
    workspace, customers = ctx.workspace, ctx.customers
    day = ctx.now.date()
    channels = [c.name for c in workspace.channels if c.enabled and c.name in _ADDRESSED]
    found: list[_Candidate] = []
    # Members of a sensitive segment (minors, hardship) are left out of every ordinary send:
    # anything that reaches them is for legal to approve, and CRM does not aim at them.
    sensitive = np.zeros(len(customers), dtype=np.bool_)
    for segment in workspace.segments:
        if segment.sensitive:
            sensitive |= segment.mask(customers)
    in_eu = customers.region.isin(EU_REGIONS) | customers.country.isin(EU_COUNTRIES)
    for segment in workspace.segments:
        journeys = journeys_of(workspace, segment)
        if segment.sensitive or not journeys:
            continue
        members = segment.mask(customers)
        size = int(members.sum())
        if size == 0 or customers.suppressed[members].mean() >= MAX_SUPPRESSED_SHARE:
            continue
        reachable = members & ~customers.suppressed & ~sensitive
        if not reachable.any():
            continue
        for channel in channels:
            consented = reachable & customers.granted(channel) & _lawful(customers, channel, in_eu)
            share = float(consented.sum() / reachable.sum())
            if share <= MIN_CONSENT_SHARE:
                continue
            for journey in (j for j in JOURNEYS if j.name in journeys):
                variant = _variant(workspace, variants, journey, segment, channel, day)
                if variant is not None and not _refused(ctx, channel, segment, variant):
                    found.append(
                        _candidate(ctx, journey, segment, channel, variant, consented, share, size)
                    )
    return found


def _refused(ctx: AgentContext, channel: ChannelName, segment: Segment, variant: Proposal) -> bool:
    """People rejected this send (channel, segment, offer) before: not asked again."""
    offer = variant.content.offer_id if variant.content else None
    return rejected_before(ctx, ActionKind.SEND_MESSAGE, channel, segment.id, offer)


def _lawful(customers: CustomerTable, channel: ChannelName, in_eu: BoolArray) -> BoolArray:
    """Who may lawfully get a message on ``channel`` as far as their consent record says: in
    the EU, a recorded lawful basis; on SMS, an opt-in (consent as the basis)."""
    basis = customers.consent_basis[:, consent_column(channel)]
    lawful: BoolArray = ~in_eu | (basis != _NO_BASIS)
    if channel is ChannelName.SMS:
        lawful &= basis == _CONSENT_BASIS
    return lawful


def _variant(
    workspace: Workspace,
    variants: tuple[Proposal, ...],
    journey: Journey,
    segment: Segment,
    channel: ChannelName,
    day: date,
) -> Proposal | None:
    """The variant that fits the journey best on ``channel``; ``None`` if none fits."""
    best: tuple[int, str] | None = None
    chosen: Proposal | None = None
    for variant in variants:
        score = _fit(workspace, variant, journey, segment, channel, day)
        if score > 0 and (best is None or (-score, variant.id) < best):
            best, chosen = (-score, variant.id), variant
    return chosen


def _fit(
    workspace: Workspace,
    variant: Proposal,
    journey: Journey,
    segment: Segment,
    channel: ChannelName,
    day: date,
) -> int:
    """How well a variant fits (0: not at all, or not allowed). It must fit the journey (an
    offer of the journey's kind, or an angle in its words); aiming at the segment, or an offer
    that names it, counts on top."""
    params: Mapping[str, object] = variant.parameters
    content = variant.content
    if content is None or params.get("format") != channel.value:
        return 0
    allowed = params.get("channels")
    if isinstance(allowed, list | tuple) and allowed and channel.value not in map(str, allowed):
        return 0
    aimed = params.get("segment")
    if aimed is not None and aimed != segment.id:
        return 0
    angle = (content.angle or "").lower().replace("-", "_").replace(" ", "_")
    fits = int(any(w in angle for w in (*journey.words, journey.name.replace("-", "_"))))
    named = False
    if content.offer_id is not None:
        offer = _offer(workspace, content.offer_id)
        if offer is None or not _offer_allowed(offer, segment, channel, day):
            return 0
        fits += int(offer.type in journey.offer_types)
        named = segment.id in offer.eligible_segments
    if not fits:
        return 0
    return fits + 2 * named + 4 * (aimed == segment.id)


def _offer(workspace: Workspace, offer_id: str) -> Offer | None:
    return next((o for o in workspace.offers if o.id == offer_id), None)


def _offer_allowed(offer: Offer, segment: Segment, channel: ChannelName, day: date) -> bool:
    """An offer goes only to its eligible segments, on its channels, within its dates."""
    eligible = not offer.eligible_segments or segment.id in offer.eligible_segments
    on_channel = not offer.channels or channel in offer.channels
    return eligible and on_channel and offer.active_on(day)


def _candidate(
    ctx: AgentContext,
    journey: Journey,
    segment: Segment,
    channel: ChannelName,
    variant: Proposal,
    reach: BoolArray,
    share: float,
    size: int,
) -> _Candidate:
    assert variant.content is not None  # checked by _fit
    offer = None
    if variant.content.offer_id is not None:
        offer = _offer(ctx.workspace, variant.content.offer_id)
    audience = int(reach.sum())
    config = ctx.workspace.channel(channel)
    cost = config.cost_per_contact or Money.zero(ctx.workspace.currency)
    spend = (cost * audience).rounded()
    rate = ctx.forecasts.response_rate(
        segment.id, channel, offer.id if offer else None, variant.content.angle
    )
    conversions = (rate.mean * audience, rate.low * audience, rate.high * audience)
    value = _value(ctx, channel, offer, conversions[0], float(spend.amount))
    return _Candidate(
        journey.name,
        segment,
        channel,
        variant,
        offer,
        reach,
        share,
        size,
        spend,
        conversions,
        value,
    )


def _value(
    ctx: AgentContext, channel: ChannelName, offer: Offer | None, conversions: float, spend: float
) -> float:
    """Expected value toward the objective's KPI: profit, revenue or pipeline, or
    conversions."""
    kpi = ctx.objective.primary_kpi
    if kpi not in (Kpi.PROFIT, Kpi.REVENUE, Kpi.PIPELINE):
        return conversions
    order = ctx.forecasts.order_value(channel, offer.id if offer else None)
    if order is None:
        return conversions
    revenue = conversions * order.mean
    if kpi in (Kpi.REVENUE, Kpi.PIPELINE):  # pipeline: the value of the deals opened
        return revenue
    margins = [o.margin for o in ctx.workspace.offers]
    margin = offer.margin if offer else (float(np.mean(margins)) if margins else 1.0)
    return revenue * margin - spend


def _select(ctx: AgentContext, candidates: list[_Candidate]) -> list[Proposal]:
    """Greedily, best value first, while caps and money hold."""
    contact = ctx.workspace.guardrails.contact
    budget_rules = ctx.workspace.guardrails.budget
    available = ctx.constraints.available
    planned: dict[ChannelName, IntArray] = {}
    total = np.zeros(len(ctx.customers), dtype=np.int64)
    committed: dict[ChannelName, Money] = {}
    proposals: list[Proposal] = []
    sent: set[tuple[str, ChannelName, str]] = set()  # one variant once per segment and channel
    for c in candidates:
        if (c.segment.id, c.channel, c.variant.id) in sent:
            continue
        counts = planned.setdefault(c.channel, np.zeros(len(ctx.customers), dtype=np.int64))
        cap = _cap(contact.per_channel.get(c.channel))
        if cap is not None and np.any(counts[c.reach] + 1 > cap):
            continue
        every = _cap(contact.all_channels)
        if every is not None and np.any(total[c.reach] + 1 > every):
            continue
        spent = committed.get(c.channel, Money.zero(ctx.workspace.currency))
        if c.spend.amount > 0:
            left = available.get(c.channel)
            if left is None or spent + c.spend > left:
                continue
            limits = [budget_rules.per_action_max, budget_rules.daily_max.get(c.channel)]
            if any(limit is not None and c.spend.amount > limit for limit in limits):
                continue
            cycle = budget_rules.cycle_max.get(c.channel)
            if cycle is not None and (spent + c.spend).amount > cycle:
                continue
        sent.add((c.segment.id, c.channel, c.variant.id))
        counts[c.reach] += 1
        total[c.reach] += 1
        committed[c.channel] = spent + c.spend
        proposals.append(_proposal(ctx, c))
    return proposals


def _cap(caps: ContactCaps | None) -> int | None:
    """The most sends one run may plan per customer: a run's sends go out together, on one
    day, so the day's cap binds as well as the week's."""
    limits = [] if caps is None else [c for c in (caps.day, caps.week) if c is not None]
    return min(limits) if limits else None


def _proposal(ctx: AgentContext, c: _Candidate) -> Proposal:
    mean, low, high = c.conversions
    audience = int(c.reach.sum())
    objective = ctx.objective
    offer = f" with offer {c.offer.id}" if c.offer else ""
    rationale = (
        f"{c.journey} journey for {c.segment.name} on {c.channel}{offer}: {audience} of "
        f"{c.segment_size} members reachable with consent ({c.consent_share:.0%} of those not "
        f"suppressed), about {mean:.1f} conversions (90% interval {low:.1f}-{high:.1f}) for "
        f"{c.spend}; expected {objective.primary_kpi} contribution {c.value:,.2f} toward the "
        f"objective of {objective.target:,.0f} {objective.primary_kpi} in "
        f"{objective.horizon_days} days, within the daily and weekly contact caps."
    )
    evidence = [f"variant:{c.variant.id}", f"segment:{c.segment.id}", f"history:{c.channel}"]
    if c.offer is not None:
        evidence.append(f"offer:{c.offer.id}")
    return Proposal(
        id=ctx.proposal_id(NAME, c.journey, c.segment.id, c.channel, c.variant.id),
        agent_id=NAME,
        kind=ActionKind.SEND_MESSAGE,
        snapshot_version=ctx.snapshot_version,
        rationale=rationale,
        created_at=ctx.now,
        channel=c.channel,
        # The segment's members this send may lawfully reach, by id: governance checks every
        # recipient, so the segment as a whole (with members who never consented) would be
        # refused; the segment is named in the parameters for forecasting and learning.
        audience=Audience(customer_ids=tuple(ctx.customers.ids[c.reach].tolist())),
        content=c.variant.content,
        spend=c.spend,
        expected_effect=Forecast("conversions", mean, Interval(low, high)),
        evidence=tuple(evidence),
        parameters={
            "journey": c.journey,
            "segment": c.segment.id,
            "variant": c.variant.id,
            "offer": c.offer.id if c.offer else None,
            "reachable": audience,
            "consent_share": round(c.consent_share, 4),
            "expected_value": round(c.value, 2),
            **(EMAIL_HEADERS if c.channel is ChannelName.EMAIL else {}),
        },
    )
