"""The content agent: variants from the claims library, the voice and the offers, answering
research briefs; each email and SMS variant passes governance's built-in checks."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

from mios.agents.builtin.content import ContentAgent
from mios.agents.builtin.content_copy import SMS_MAX_CHARS, SMS_OPT_OUT, UNSUBSCRIBE
from mios.agents.builtin.research import ResearchAgent
from mios.agents.builtin.research_signals import current_offers
from mios.agents.protocol import BRIEF, Agent, AgentContext
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.domain.customer_table import consent_column
from mios.domain.governance import FindingSeverity
from mios.domain.proposal import ActionKind, Audience, Proposal
from mios.governance.checkers import built_in_checkers
from mios.governance.review import Reviewer
from mios.governance.review_context import ReviewContext
from tests.unit.agents.read_brief_world import agent_context

GRANTED = CONSENT_CODES.index(ConsentStatus.GRANTED)
EXAMPLES = ("retail", "b2b")


def briefed(example: str = "retail", seed: int = 7) -> AgentContext:
    ctx = agent_context(example, seed=seed)
    return dataclasses.replace(ctx, handoffs=tuple(ResearchAgent().propose(ctx)))


@cache
def variants(example: str) -> tuple[Proposal, ...]:
    return tuple(ContentAgent().propose(briefed(example)))


def test_it_is_a_brief_stage_agent() -> None:
    agent = ContentAgent()
    assert isinstance(agent, Agent)
    assert (agent.name, agent.stage) == ("content", BRIEF)


@pytest.mark.parametrize("example", EXAMPLES)
def test_variants_are_valid_content_proposals(example: str) -> None:
    ctx = briefed(example)
    proposals = variants(example)
    assert len(proposals) >= 8
    assert len({p.id for p in proposals}) == len(proposals)
    library = {c.id: c for c in ctx.workspace.brand.claims}
    for p in proposals:
        assert p.kind is ActionKind.CREATE_CONTENT
        assert p.agent_id == "content"
        assert p.snapshot_version == ctx.snapshot_version
        assert p.created_at == ctx.now
        assert p.evidence
        content = p.content
        assert content is not None
        assert content.offer_id is not None
        offer = ctx.workspace.offer(content.offer_id)
        assert f"offer:{offer.id}" in p.evidence
        params = p.parameters
        assert params["format"] in {"email", "sms", "push", "ad"}
        assert params["channels"]
        for claim_id in content.claims:
            claim = library[claim_id]  # only the library's claims
            assert claim.text in content.body
            assert f"claim:{claim_id}" in p.evidence
            assert all(not claim.channels or c in claim.channels for c in params["channels"])
        text = "\n".join(t for t in (content.subject, content.headline, content.body) if t)
        assert ctx.workspace.brand.banned_terms_in(text) == ()
        limit = ctx.workspace.brand.voice.max_exclamation_marks
        assert limit is None or text.count("!") <= limit
        disclaimer = ctx.workspace.brand.disclaimer_for(offer.type)
        assert disclaimer is None or disclaimer in content.body
        if content.angle == "urgency":
            assert offer.valid_until is not None
        level = ctx.workspace.brand.voice.reading_level_max
        assert level is None or params["reading_grade"] <= level


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_format_carries_what_its_channel_requires(example: str) -> None:
    sender = briefed(example).workspace.brand.sender
    by_format: dict[str, list[Proposal]] = {}
    for p in variants(example):
        by_format.setdefault(p.parameters["format"], []).append(p)
    # Every format the workspace and the offer allow (the b2b example has no SMS channel).
    assert {"email", "ad"} | ({"sms"} if example == "retail" else set()) <= set(by_format)
    for p in by_format["email"]:
        assert p.content is not None
        assert p.content.subject
        body = p.content.body
        assert sender.name in body
        assert sender.postal_address.one_line() in body
        assert UNSUBSCRIBE in body
    for p in by_format.get("sms", []):
        assert p.content is not None
        assert p.content.body.endswith(SMS_OPT_OUT)
        assert len(p.content.body) <= SMS_MAX_CHARS
    for p in by_format["ad"]:
        assert p.content is not None
        assert p.content.headline
        assert len(p.content.headline) <= 40
        assert set(p.parameters["channels"]) <= {"paid_search", "paid_social", "display"}


def test_it_answers_research_briefs() -> None:
    ctx = briefed()
    briefs = {p.id: p for p in ctx.handoffs}
    answering = [p for p in variants("retail") if p.parameters["brief"] is not None]
    assert answering
    for p in answering:
        brief = briefs[p.parameters["brief"]]
        assert f"brief:{brief.id}" in p.evidence
        opportunity = brief.parameters["opportunity"]
        assert p.content is not None
        if opportunity["offer"] is not None:
            assert p.content.offer_id == opportunity["offer"]
        if opportunity["channel"] == "email":
            assert p.parameters["format"] == "email"
        if opportunity["segment"] is not None:
            assert p.parameters["segment"] == opportunity["segment"]
    # A brief asking for the warmth angle, which the claims library supports, keeps it.
    warmth = [p for p in answering if briefs[p.parameters["brief"]].parameters["opportunity"][
        "angle"] == "warmth"]  # fmt: skip
    assert warmth
    assert all(p.content and p.content.angle == "warmth" for p in warmth)
    assert any(p.content and "stormshell-waterproof" in p.content.claims for p in warmth)


@pytest.mark.parametrize("example", EXAMPLES)
def test_without_briefs_it_covers_every_current_offer(example: str) -> None:
    ctx = agent_context(example)
    proposals = ContentAgent().propose(ctx)
    offers = {p.content.offer_id for p in proposals if p.content}
    assert offers == {o.id for o in current_offers(ctx.workspace, ctx.now.date())}
    assert all(p.parameters["brief"] is None for p in proposals)


def test_same_seed_same_variants_and_the_seed_picks_the_phrasing() -> None:
    assert ContentAgent().propose(briefed(seed=1)) == ContentAgent().propose(briefed(seed=1))
    subjects = {
        tuple(p.content.subject or "" for p in ContentAgent().propose(briefed(seed=s)) if p.content)
        for s in range(1, 5)
    }
    assert len(subjects) > 1


def consenting(ctx: AgentContext, channel: ChannelName, n: int = 3) -> tuple[str, ...]:
    table = ctx.customers
    ok = ~table.suppressed & (table.consent_status[:, consent_column(channel)] == GRANTED)
    return tuple(str(i) for i in table.ids[np.flatnonzero(ok)[:n]])


@pytest.mark.parametrize("example", EXAMPLES)
def test_email_and_sms_variants_pass_the_built_in_checks(example: str) -> None:
    ctx = briefed(example)
    reviewer = Reviewer(ctx.workspace, built_in_checkers())
    context = ReviewContext(ctx.workspace, ctx.customers, ctx.ledger, ctx.now)
    reviewed = 0
    for p in variants(example):
        if p.parameters["format"] not in ("email", "sms") or p.channel is None:
            continue
        action = Action(
            id=f"send-{p.id}",
            proposal_id=p.id,
            kind=ActionKind.SEND_MESSAGE,
            snapshot_version=p.snapshot_version,
            channel=p.channel,
            audience=Audience(customer_ids=consenting(ctx, p.channel)),
            content=p.content,
            # The header is the sending agent's to add; the body is the variant's.
            parameters={"headers": {"List-Unsubscribe": "<https://example.test/u/1>"}},
        )
        review = reviewer.review(action, context)
        denied = [
            f
            for f in review.verdict.findings
            if f.severity is FindingSeverity.DENY
            and f.rule_id.split("/")[0] in {"brand", "commercial-email", "pii"}
        ]
        assert denied == [], (p.id, p.parameters["format"], denied)
        reviewed += 1
    assert reviewed >= 4


def test_every_offer_gets_copy_for_every_channel_it_may_go_on() -> None:
    # SMS and push are drafted for every offer that may go there, so CRM can reach each
    # customer on every channel they consented to (the retail example has both channels).
    ctx = agent_context("retail")
    proposals = ContentAgent().propose(ctx)
    enabled = {c.name for c in ctx.workspace.channels if c.enabled}
    for offer in current_offers(ctx.workspace, ctx.now.date()):
        formats = {
            p.parameters["format"]
            for p in proposals
            if p.content is not None and p.content.offer_id == offer.id
        }
        for fmt, channel in (
            ("email", ChannelName.EMAIL),
            ("sms", ChannelName.SMS),
            ("push", ChannelName.PUSH),
        ):
            allowed = channel in enabled and (not offer.channels or channel in offer.channels)
            assert (fmt in formats) == allowed, (offer.id, fmt)
