"""The CRM agent: sends for every segment it may lawfully reach, on the copy content drafted.

Every segment that is not sensitive and not mostly suppressed is messaged, on every addressed
channel (email, SMS, push) where some of its members may lawfully be reached. Journeys name what
a send is for (read from each segment's id and name, and from the offers that name a segment as
eligible); a send that fits none of its segment's journeys is a ``promotion``:

- welcome: new customers and sign-ups;
- win-back: lapsed, dormant or at-risk customers;
- cross-sell: VIPs, accounts ready to expand, and any segment an offer of a bundle kind names;
- retention: loyal customers and members, and any segment an offer of a loyalty, trade-in,
  referral or event kind names.

For each segment and channel the variants it may use (``CREATE_CONTENT`` from ``content`` in the
channel's format, aimed at no other segment, with an offer the segment may receive on that
channel and on this day, not rejected before) are valued by the brain's response model: the
forecast conversions per message times the value of one toward the workspace objective (for
profit: order value x the offer's margin, less the cost of the message). A segment hears one
offer on every channel: the one whose best sends, summed over the channels' audiences, are
worth most (where it may not go, the channel's own best). Its best variant goes to the
segment's reachable members; variants whose 90% interval reaches above that one's mean (cells
the model knows little about, or that may well be better) are tried on a random slice of them
(``EXPLORE_SHARE``), so the next cycle's forecasts know more. Nothing is sent whose forecast
value per message is not above zero. The agent keeps what it knows of the rules:

- consent: a send goes, by id, to the segment's members who granted consent for the channel,
  with a lawful basis in the EU and an opt-in for SMS, not suppressed, and in no sensitive
  segment (the segment is named in ``parameters["segment"]``); never a segment whose members
  are mostly suppressed; never a sensitive one;
- caps: no customer planned more sends than the channel's cap, or than the cap across
  channels; a run's sends go out on one day, so the lower of the day's and the week's cap
  binds (the context holds no contact history yet, so the day starts at zero). A customer in
  several segments gets the most valuable send first; a send loses the members the caps
  leave no room for;
- money: spend = recipients x the channel's cost per contact, within what the channel's
  budget still has (less what this run already proposed), the per-action and daily maxima.

Candidates are taken greedily, the highest value per message first, while caps and money hold.
Deterministic for a seed: the slices tried are drawn from a generator seeded by the context's
seed, the segment and the channel; ties are broken by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from mios.agents.protocol import ACT, AgentContext, Estimated
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

#: Share of a segment suppressed at or above which the segment is not messaged at all.
MAX_SUPPRESSED_SHARE = 0.5
#: Share of a segment's reachable members on a channel that tries the challengers (variants
#: that may beat the best-valued one), split evenly between them.
EXPLORE_SHARE = 0.1
#: The most challengers tried at once for one segment on one channel.
MAX_CHALLENGERS = 3
#: The fewest recipients a challenger is tried on: fewer tell the model next to nothing.
MIN_TRIAL = 200
#: What a send is for when it fits none of its segment's journeys.
PROMOTION = "promotion"
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
class _Option:
    """One variant a segment may get on one channel, valued per message."""

    journey: str
    variant: Proposal
    offer: Offer | None
    rate: Estimated  # conversions per message
    value: float  # toward the objective's KPI, per message, at the mean rate
    high: float  # the same at the top of the rate's 90% interval
    fit: int  # how well it fits its journey (ties only)

    @property
    def cell(self) -> tuple[str | None, str | None]:
        content = self.variant.content
        assert content is not None  # checked by _allowed
        return content.offer_id, content.angle


@dataclass(frozen=True)
class _Candidate:
    option: _Option
    segment: Segment
    channel: ChannelName
    reach: BoolArray
    consent_share: float
    segment_size: int
    cost: Money  # per message
    explore: bool  # a challenger tried on a slice, or the best-valued send

    @property
    def recipients(self) -> int:
        return int(self.reach.sum())

    @property
    def spend(self) -> Money:
        return (self.cost * self.recipients).rounded()

    @property
    def conversions(self) -> tuple[float, float, float]:  # mean, low, high
        rate, n = self.option.rate, self.recipients
        return (rate.mean * n, rate.low * n, rate.high * n)

    @property
    def value(self) -> float:
        return self.option.value * self.recipients

    @property
    def key(self) -> tuple[float, bool, str, str, str]:
        return (
            -self.option.value,
            self.explore,
            self.segment.id,
            self.channel.value,
            self.variant.id,
        )

    @property
    def variant(self) -> Proposal:
        return self.option.variant


class CrmAgent:
    name = NAME
    description = "Welcome, win-back, cross-sell, retention and promotion sends for segments."
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
        if segment.sensitive:
            continue
        members = segment.mask(customers)
        size = int(members.sum())
        if size == 0 or customers.suppressed[members].mean() >= MAX_SUPPRESSED_SHARE:
            continue
        reachable = members & ~customers.suppressed & ~sensitive
        if not reachable.any():
            continue
        per_channel: dict[ChannelName, tuple[BoolArray, list[_Option]]] = {}
        for channel in channels:
            consented = reachable & customers.granted(channel) & _lawful(customers, channel, in_eu)
            if consented.any():
                per_channel[channel] = (consented, _options(ctx, variants, segment, channel))
        lead = _lead_offer(per_channel)
        for channel, (consented, found_here) in per_channel.items():
            options = _leading(found_here, lead)
            if not options or options[0].value <= 0:
                continue  # nothing this segment may get here is worth what it costs
            share = float(consented.sum() / reachable.sum())
            cost = ctx.workspace.channel(channel).cost_per_contact or Money.zero(
                ctx.workspace.currency
            )
            arms = _arms(ctx, segment, channel, options, consented)
            for option, reach in arms:
                found.append(
                    _Candidate(
                        option,
                        segment,
                        channel,
                        reach,
                        share,
                        size,
                        cost,
                        explore=option is not options[0],
                    )
                )
    return found


def _lead_offer(
    per_channel: Mapping[ChannelName, tuple[BoolArray, list[_Option]]],
) -> str | None:
    """The offer a segment hears on every channel today: the one whose best send on each
    channel where it may go, summed over the channels' audiences, is worth most (one customer
    reached on two channels should not be offered two different things)."""
    totals: dict[str | None, float] = {}
    for reach, options in per_channel.values():
        best: dict[str | None, float] = {}
        for option in options:
            offer = option.offer.id if option.offer else None
            best[offer] = max(best.get(offer, option.value), option.value)
        for offer, value in best.items():
            if value > 0:
                totals[offer] = totals.get(offer, 0.0) + value * int(reach.sum())
    if not totals:
        return None
    return max(sorted(totals, key=str), key=lambda o: totals[o])


def _leading(options: list[_Option], lead: str | None) -> list[_Option]:
    """``options`` with the best one of the lead offer first (where it may go at all)."""
    first = next((o for o in options if (o.offer.id if o.offer else None) == lead), None)
    if first is None:
        return options
    return [first, *(o for o in options if o is not first)]


def _options(
    ctx: AgentContext, variants: tuple[Proposal, ...], segment: Segment, channel: ChannelName
) -> list[_Option]:
    """What ``segment`` may get on ``channel``, one variant per (offer, angle), the most
    valuable first (the best journey fit, then the id, break ties)."""
    workspace, day = ctx.workspace, ctx.now.date()
    journeys = [j for j in JOURNEYS if j.name in journeys_of(workspace, segment)]
    options: list[_Option] = []
    for variant in variants:
        if not _allowed(workspace, variant, segment, channel, day) or _refused(
            ctx, channel, segment, variant
        ):
            continue
        assert variant.content is not None  # checked by _allowed
        offer = None
        if variant.content.offer_id is not None:
            offer = _offer(workspace, variant.content.offer_id)
        fits = sorted(
            ((_fit(workspace, variant, j, segment), j.name) for j in journeys),
            key=lambda f: -f[0],
        )
        fit, journey = fits[0] if fits and fits[0][0] > 0 else (0, PROMOTION)
        rate = ctx.forecasts.response_rate(
            segment.id, channel, offer.id if offer else None, variant.content.angle
        )
        cost = workspace.channel(channel).cost_per_contact
        per_message = float(cost.amount) if cost is not None else 0.0
        options.append(
            _Option(
                journey,
                variant,
                offer,
                rate,
                _value(ctx, channel, offer, rate.mean, per_message),
                _value(ctx, channel, offer, rate.high, per_message),
                fit,
            )
        )
    options.sort(key=lambda o: (-o.value, -o.fit, o.variant.id))
    unique: dict[tuple[str | None, str | None], _Option] = {}
    for option in options:
        unique.setdefault(option.cell, option)  # A/B copies of one cell: one model cell
    return list(unique.values())


def _arms(
    ctx: AgentContext,
    segment: Segment,
    channel: ChannelName,
    options: list[_Option],
    reach: BoolArray,
) -> list[tuple[_Option, BoolArray]]:
    """The best option for most of ``reach``; challengers (options whose interval reaches above
    the best one's mean) each on a slice drawn at random, while slices of ``MIN_TRIAL`` fit."""
    best = options[0]
    challengers = [o for o in options[1:] if o.high > best.value][:MAX_CHALLENGERS]
    positions = np.flatnonzero(reach)
    trial = int(len(positions) * EXPLORE_SHARE / max(len(challengers), 1))
    while challengers and trial < MIN_TRIAL:
        challengers.pop()
        trial = int(len(positions) * EXPLORE_SHARE / max(len(challengers), 1))
    if not challengers:
        return [(best, reach)]
    digest = hashlib.sha256(f"{ctx.seed}:{NAME}:{segment.id}:{channel}".encode()).digest()
    shuffled = np.random.default_rng(int.from_bytes(digest[:8], "big")).permutation(positions)
    arms: list[tuple[_Option, BoolArray]] = []
    for n, option in enumerate(challengers):
        slice_ = np.zeros(len(reach), dtype=np.bool_)
        slice_[shuffled[n * trial : (n + 1) * trial]] = True
        arms.append((option, slice_))
    rest = np.zeros(len(reach), dtype=np.bool_)
    rest[shuffled[len(challengers) * trial :]] = True
    return [(best, rest), *arms]


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


def _allowed(
    workspace: Workspace, variant: Proposal, segment: Segment, channel: ChannelName, day: date
) -> bool:
    """A variant may go to ``segment`` on ``channel`` today: in the channel's format, aimed at
    no other segment, with an offer that may go to the segment on the channel today."""
    params: Mapping[str, object] = variant.parameters
    content = variant.content
    if content is None or params.get("format") != channel.value:
        return False
    allowed = params.get("channels")
    if isinstance(allowed, list | tuple) and allowed and channel.value not in map(str, allowed):
        return False
    aimed = params.get("segment")
    if aimed is not None and aimed != segment.id:
        return False
    if content.offer_id is not None:
        offer = _offer(workspace, content.offer_id)
        if offer is None or not _offer_allowed(offer, segment, channel, day):
            return False
    return True


def _fit(workspace: Workspace, variant: Proposal, journey: Journey, segment: Segment) -> int:
    """How well an allowed variant fits a journey (0: not at all). It must fit the journey (an
    offer of the journey's kind, or an angle in its words); aiming at the segment, or an offer
    that names it, counts on top."""
    content = variant.content
    assert content is not None  # checked by _allowed
    angle = (content.angle or "").lower().replace("-", "_").replace(" ", "_")
    fits = int(any(w in angle for w in (*journey.words, journey.name.replace("-", "_"))))
    named = False
    offer = _offer(workspace, content.offer_id) if content.offer_id is not None else None
    if offer is not None:
        fits += int(offer.type in journey.offer_types)
        named = segment.id in offer.eligible_segments
    if not fits:
        return 0
    return fits + 2 * named + 4 * (variant.parameters.get("segment") == segment.id)


def _offer(workspace: Workspace, offer_id: str) -> Offer | None:
    return next((o for o in workspace.offers if o.id == offer_id), None)


def _offer_allowed(offer: Offer, segment: Segment, channel: ChannelName, day: date) -> bool:
    """An offer goes only to its eligible segments, on its channels, within its dates."""
    eligible = not offer.eligible_segments or segment.id in offer.eligible_segments
    on_channel = not offer.channels or channel in offer.channels
    return eligible and on_channel and offer.active_on(day)


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
    """Greedily, the highest value per message first, while caps and money hold: a send loses
    the members the caps leave no room for, and is dropped when its money does not fit."""
    contact = ctx.workspace.guardrails.contact
    budget_rules = ctx.workspace.guardrails.budget
    available = ctx.constraints.available
    every = _cap(contact.all_channels)
    planned: dict[ChannelName, IntArray] = {}
    total = np.zeros(len(ctx.customers), dtype=np.int64)
    committed: dict[ChannelName, Money] = {}
    proposals: list[Proposal] = []
    for candidate in candidates:
        channel = candidate.channel
        counts = planned.setdefault(channel, np.zeros(len(ctx.customers), dtype=np.int64))
        room = candidate.reach.copy()
        cap = _cap(contact.per_channel.get(channel))
        if cap is not None:
            room &= counts < cap
        if every is not None:
            room &= total < every
        if not room.any():
            continue
        c = candidate if np.array_equal(room, candidate.reach) else replace(candidate, reach=room)
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
    audience = c.recipients
    objective = ctx.objective
    option = c.option
    offer = f" with offer {option.offer.id}" if option.offer else ""
    angle = option.variant.content.angle if option.variant.content else None
    trial = (
        f" A trial of this offer and angle ({angle or 'none'}) on a random slice of the "
        f"segment: its forecast could beat the best-valued send's (up to {option.high:,.3f} "
        "per message), and what it does sharpens the next forecast."
        if c.explore
        else ""
    )
    rationale = (
        f"{option.journey} send for {c.segment.name} on {c.channel}{offer}: {audience} of "
        f"{c.segment_size} members reachable with consent ({c.consent_share:.0%} of those not "
        f"suppressed), about {mean:.1f} conversions (90% interval {low:.1f}-{high:.1f}) for "
        f"{c.spend}; expected {objective.primary_kpi} contribution {c.value:,.2f} "
        f"({option.value:,.3f} per message) toward the objective of {objective.target:,.0f} "
        f"{objective.primary_kpi} in {objective.horizon_days} days, within the daily and weekly "
        f"contact caps.{trial}"
    )
    evidence = [f"variant:{c.variant.id}", f"segment:{c.segment.id}", f"history:{c.channel}"]
    if option.offer is not None:
        evidence.append(f"offer:{option.offer.id}")
    return Proposal(
        id=ctx.proposal_id(NAME, option.journey, c.segment.id, c.channel, c.variant.id),
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
            "journey": option.journey,
            "segment": c.segment.id,
            "variant": c.variant.id,
            "offer": option.offer.id if option.offer else None,
            "reachable": audience,
            "consent_share": round(c.consent_share, 4),
            "expected_value": round(c.value, 2),
            "value_per_message": round(option.value, 4),
            "trial": c.explore,
            **(EMAIL_HEADERS if c.channel is ChannelName.EMAIL else {}),
        },
    )
