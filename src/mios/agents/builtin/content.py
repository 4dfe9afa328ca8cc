"""The content agent (stage BRIEF): message and ad-copy variants other agents send or publish.

It answers research briefs (``ctx.handoffs_from("research", INSIGHT)`` whose opportunity names
an offer, or a segment with an offer of its own) with variants for the brief's segment, channel,
offer and angle, then covers every current offer no brief reached. One ``CREATE_CONTENT``
proposal per variant:

    content    = Content(subject, body, headline, claims=<claim ids>, angle, offer_id)
    parameters = {"format": "email" | "sms" | "push" | "ad", "channels": [...],
                  "segment": id | None, "brief": <research proposal id> | None,
                  "reading_grade": float}

What the copy may say: claims from the claims library only, word for word, cleared for every
channel of the variant; the offer's required disclaimer; the brand's sender, postal address and
``{{unsubscribe_url}}`` in email; "Reply STOP to opt out" in SMS; no banned term (a variant
holding one is dropped); at most the voice's exclamation marks; urgency only for an offer with a
real end date. The angle of a brief is kept when the claims library supports it (or it is value
or urgency, which the offer itself supports); otherwise the offer's own angle is used.
The seed picks the phrasing (subject lines, openings, calls to action) of each variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from mios.agents.builtin.content_copy import (
    CALLS,
    OPENERS,
    SUBJECTS,
    Copy,
    exclamations,
    fill,
    offer_line,
    reading_grade,
    render_ad,
    render_email,
    render_push,
    render_sms,
)
from mios.agents.builtin.effects import objective_phrase, reachable, send_effect
from mios.agents.builtin.research_signals import VALUE_TYPES, current_offers, words
from mios.agents.protocol import BRIEF, AgentContext
from mios.domain.brand import Claim
from mios.domain.channel import ChannelName
from mios.domain.offer import Offer
from mios.domain.proposal import ActionKind, Audience, Content, Proposal
from mios.domain.workspace import Workspace
from mios.errors import DomainError

NAME = "content"
MAX_BRIEFS = 8
EMAIL_VARIANTS = 2  # an A/B pair of subject lines and openings
URGENT_DAYS = 21
AD_CHANNELS = (ChannelName.PAID_SEARCH, ChannelName.PAID_SOCIAL, ChannelName.DISPLAY)
_FORMAT_CHANNEL = {"email": ChannelName.EMAIL, "sms": ChannelName.SMS, "push": ChannelName.PUSH}

#: Which claims serve which angle, by the words of the claim.
_CLAIM_ANGLES: dict[str, frozenset[str]] = {
    angle: words(text)
    for angle, text in {
        "warmth": "waterproof breathable warm insulated thermal layers",
        "durability": "repair repairs lifetime return returns refund durable uptime",
        "sustainability": "recycled bluesign fair trade organic renewable",
        "value": "charge free credit",
        "trust": "rated verified audited audit leader report",
        "speed": "faster connects",
    }.items()
}


@dataclass(frozen=True)
class Job:
    """One set of variants to write: an offer, an angle, a segment, the formats, a brief."""

    offer: Offer
    angle: str
    segment: str | None
    formats: tuple[str, ...]
    brief: str | None


class ContentAgent:
    name = NAME
    description = "Email, SMS, push and ad copy from the claims library, voice and offers."
    stage = BRIEF

    def propose(self, ctx: AgentContext) -> list[Proposal]:
        today = ctx.now.date()
        rng = ctx.rng(NAME)
        proposals: list[Proposal] = []
        for job in _jobs(ctx, today):
            proposals.extend(_variants(ctx, job, today, rng))
        return proposals


# -- what to write --------------------------------------------------------------------------


def _jobs(ctx: AgentContext, today: date) -> list[Job]:
    workspace = ctx.workspace
    offers = {o.id: o for o in current_offers(workspace, today)}
    jobs: list[Job] = []
    seen: set[tuple[object, ...]] = set()
    for brief in ctx.handoffs_from("research", ActionKind.INSIGHT):
        if len(jobs) >= MAX_BRIEFS:
            break
        opportunity = brief.parameters.get("opportunity")
        if not isinstance(opportunity, dict):
            continue
        segment = _known_segment(workspace, opportunity.get("segment"))
        offer = offers.get(str(opportunity.get("offer")))
        if offer is None and segment is not None:
            offer = next((o for o in offers.values() if segment in o.eligible_segments), None)
        if offer is None:
            continue
        if (
            segment is not None
            and offer.eligible_segments
            and segment not in offer.eligible_segments
        ):
            segment = None
        angle = _angle(ctx, offer, opportunity.get("angle"), today)
        formats = _formats(ctx, offer, opportunity.get("channel"))
        key = (offer.id, angle, segment, formats)
        if not formats or key in seen:
            continue
        seen.add(key)
        jobs.append(
            Job(offer, angle, segment or _first_segment(workspace, offer), formats, brief.id)
        )
    covered = {job.offer.id for job in jobs}
    for offer in offers.values():
        formats = _formats(ctx, offer, None)
        if offer.id in covered or not formats:
            continue
        angle = _angle(ctx, offer, None, today)
        jobs.append(Job(offer, angle, _first_segment(workspace, offer), formats, None))
    return jobs


def _known_segment(workspace: Workspace, segment_id: object) -> str | None:
    if not isinstance(segment_id, str):
        return None
    try:
        segment = workspace.segment(segment_id)
    except DomainError:
        return None
    return None if segment.sensitive else segment.id


def _first_segment(workspace: Workspace, offer: Offer) -> str | None:
    return next((s for s in offer.eligible_segments if not workspace.segment(s).sensitive), None)


def _angle(ctx: AgentContext, offer: Offer, wanted: object, today: date) -> str:
    """The brief's angle if the offer and claims can carry it, else the offer's own."""
    ends_soon = offer.valid_until is not None and (offer.valid_until - today).days <= URGENT_DAYS
    if isinstance(wanted, str) and wanted in SUBJECTS:
        if wanted == "urgency":
            if offer.valid_until is not None:
                return wanted
        elif wanted == "value" or _claims_for(ctx, wanted, ()):
            return wanted
    if ends_soon:
        return "urgency"
    own = words(offer.name)
    for angle, angle_words in _CLAIM_ANGLES.items():
        if own & angle_words and _claims_for(ctx, angle, ()):
            return angle
    if offer.type in VALUE_TYPES or offer.discount_pct > 0:
        return "value"
    with_claims = [a for a in _CLAIM_ANGLES if _claims_for(ctx, a, ())]
    return with_claims[0] if with_claims else "value"


def _formats(ctx: AgentContext, offer: Offer, wanted: object) -> tuple[str, ...]:
    usable = {
        c.name
        for c in ctx.workspace.channels
        if c.enabled and (not offer.channels or c.name in offer.channels)
    }
    found = []
    for fmt, channel in _FORMAT_CHANNEL.items():
        if channel in usable:
            found.append(fmt)
    if any(c in usable for c in AD_CHANNELS):
        found.append("ad")
    if wanted in {c.value for c in _FORMAT_CHANNEL.values()}:
        fmt = next(f for f, c in _FORMAT_CHANNEL.items() if c.value == wanted)
        return (fmt,) if fmt in found else ()
    if wanted in {c.value for c in AD_CHANNELS}:
        return ("ad",) if "ad" in found else ()
    # No channel named: every format the workspace and the offer allow, so CRM can reach each
    # customer on every channel they consented to.
    return tuple(found)


def _channels(ctx: AgentContext, offer: Offer, fmt: str) -> tuple[ChannelName, ...]:
    if fmt in _FORMAT_CHANNEL:
        return (_FORMAT_CHANNEL[fmt],)
    configured = {c.name for c in ctx.workspace.channels if c.enabled}
    return tuple(
        c for c in AD_CHANNELS if c in configured and (not offer.channels or c in offer.channels)
    )


def _claims_for(
    ctx: AgentContext, angle: str, channels: tuple[ChannelName, ...]
) -> tuple[Claim, ...]:
    """Library claims that serve ``angle`` and are cleared for every one of ``channels``."""
    angle_words = _CLAIM_ANGLES.get(angle, frozenset())
    return tuple(
        claim
        for claim in ctx.workspace.brand.claims
        if words(claim.text) & angle_words
        and all(not claim.channels or str(c) in claim.channels for c in channels)
    )


# -- writing --------------------------------------------------------------------------------


def _variants(ctx: AgentContext, job: Job, today: date, rng: np.random.Generator) -> list[Proposal]:
    brand = ctx.workspace.brand
    out = []
    for fmt in job.formats:
        channels = _channels(ctx, job.offer, fmt)
        claims = _claims_for(ctx, job.angle, channels)
        if not claims and fmt == "email":
            # Value and urgency rest on the offer; email has room for one proof point too.
            claims = (
                _claims_for(ctx, "durability", channels)[:1]
                or _claims_for(ctx, "trust", channels)[:1]
            )
        count = EMAIL_VARIANTS if fmt == "email" else 1
        subjects = _pick(rng, _usable(SUBJECTS[job.angle], job.offer), count)
        openers = _pick(rng, _usable(OPENERS[job.angle], job.offer), count)
        calls = _pick(rng, CALLS, count)
        for n in range(count):
            copy = Copy(
                subject=fill(subjects[n], brand, job.offer),
                opener=fill(openers[n], brand, job.offer),
                call=calls[n],
                offer_line=offer_line(job.offer, today),
                claims=claims[: 2 if fmt == "email" else 1],
                disclaimer=brand.disclaimer_for(job.offer.type),
            )
            proposal = _proposal(ctx, job, fmt, channels, copy, n)
            if proposal is not None:
                out.append(proposal)
    return out


def _usable(templates: tuple[str, ...], offer: Offer) -> tuple[str, ...]:
    fitting = tuple(t for t in templates if "{end}" not in t or offer.valid_until is not None)
    return fitting or templates


def _pick(rng: np.random.Generator, options: tuple[str, ...], count: int) -> list[str]:
    order = rng.permutation(len(options))
    return [options[int(order[i % len(options)])] for i in range(count)]


def _proposal(
    ctx: AgentContext,
    job: Job,
    fmt: str,
    channels: tuple[ChannelName, ...],
    copy: Copy,
    n: int,
) -> Proposal | None:
    brand = ctx.workspace.brand
    subject: str | None = None
    headline: str | None = None
    if fmt == "email":
        subject, body = render_email(copy, brand)
    elif fmt == "sms":
        body = render_sms(copy, brand)
    elif fmt == "push":
        headline, body = render_push(copy)
    else:
        headline, body = render_ad(copy, job.offer)
    text = "\n".join(t for t in (subject, headline, body) if t)
    if brand.banned_terms_in(text):
        return None  # an offer name or template the brand does not allow: never drafted
    limit = brand.voice.max_exclamation_marks
    if limit is not None and exclamations(subject, headline, body) > limit:
        return None
    used = tuple(c.id for c in copy.claims if c.text in body)
    message = " ".join((copy.subject, copy.opener, copy.offer_line, copy.call))
    grade = round(reading_grade(message), 1)
    parameters: dict[str, Any] = {
        "format": fmt,
        "channels": [str(c) for c in channels],
        "segment": job.segment,
        "brief": job.brief,
        "reading_grade": grade,
    }
    evidence = [f"offer:{job.offer.id}", *(f"claim:{c}" for c in used)]
    if job.brief is not None:
        evidence.insert(0, f"brief:{job.brief}")
    primary = channels[0] if channels else None
    effect = None
    if primary is not None and primary.addresses_customers and job.segment is not None:
        reach = reachable(ctx, job.segment, primary)
        effect = send_effect(ctx, job.segment, primary, job.offer, job.angle, reach)
    answering = f", answering research brief {job.brief}" if job.brief else ""
    rationale = (
        f"A {fmt} variant for offer {job.offer.id} with the {job.angle} angle"
        f"{f' for segment {job.segment}' if job.segment else ''}{answering}. It cites "
        f"{', '.join(used) if used else 'no claim'} from the claims library, carries the "
        f"offer's disclaimer and reads at grade {grade}. Copy that converts the segment "
        f"serves the objective, {objective_phrase(ctx)}."
    )
    return Proposal(
        id=ctx.proposal_id(NAME, job.offer.id, job.angle, job.segment, fmt, n, job.brief),
        agent_id=NAME,
        kind=ActionKind.CREATE_CONTENT,
        snapshot_version=ctx.snapshot_version,
        rationale=rationale,
        created_at=ctx.now,
        channel=primary,
        audience=None if job.segment is None else Audience(segment_id=job.segment),
        content=Content(
            subject=subject,
            body=body,
            headline=headline,
            claims=used,
            angle=job.angle,
            offer_id=job.offer.id,
        ),
        expected_effect=effect,
        evidence=tuple(evidence),
        parameters=parameters,
    )
