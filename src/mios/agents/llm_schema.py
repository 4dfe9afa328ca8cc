"""What a model may answer, and what mios keeps of it.

A model returns ``Drafts``: proposal drafts with only the fields a model may set (kind, channel,
segment, content, spend, rationale, evidence, expected effect, parameters). Everything else is
set by mios, never by the model: the id, the agent, the snapshot version, the time. Each draft
is then checked against the context it was made on, and refused (with the reason) if it

- asks to change policies or autonomy, or to approve, bypass or override anything;
- names a channel, segment, offer or claim the workspace does not have (claims come from the
  claims library only), in its fields or in the conventional parameters (``segment``,
  ``channel``, ``channels``, ``offer``, and the same inside ``opportunity``);
- spends money the channel's budget does not have left, or sets a budget past its guardrail;
- cites a brief or a variant that no earlier agent proposed (as evidence or as the parameter
  ``brief``/``variant``), a segment the workspace does not have, or a document line that is
  not there;
- breaks a rule of the domain (a send without a segment, an interval that misses its mean).

A model that obeys an instruction smuggled into data therefore gets nothing through here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from mios.agents.planner import FORBIDDEN_KINDS, HANDOFF_PREFIXES, governance_reach
from mios.agents.protocol import AgentContext
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content, Forecast, Interval, Proposal
from mios.errors import DomainError

#: Most drafts one run may return; more would be a model out of control, not a plan.
MAX_DRAFTS = 20
#: Parameters that name an earlier proposal, by the handoff conventions.
_PROPOSAL_KEYS = ("brief", "variant")
#: ``<name>:<line>`` in ``document:`` evidence; a name alone cites the whole document.
_DOCUMENT_LINE = re.compile(r"(.+):(\d+)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftContent(_Strict):
    subject: str | None = None
    body: str = Field(min_length=1)
    headline: str | None = None
    claims: list[str] = Field(
        default_factory=list, description="ids from the claims library that the copy relies on"
    )
    angle: str | None = None
    offer_id: str | None = None


class DraftEffect(_Strict):
    kpi: str = Field(description="the KPI moved, e.g. the objective's primary KPI")
    mean: float
    low: float = Field(description="lower end of the 90% interval")
    high: float = Field(description="upper end of the 90% interval")


class ProposalDraft(_Strict):
    kind: ActionKind
    channel: ChannelName | None = None
    segment_id: str | None = Field(None, description="the audience: a segment id")
    content: DraftContent | None = None
    spend: Decimal | None = Field(None, ge=0, description="in the workspace currency")
    rationale: str = Field(
        min_length=1, description="why, and the expected effect toward the workspace objective"
    )
    evidence: list[str] = Field(
        min_length=1,
        description="what it rests on: document:<name>:<line>, history:<channel>:<weeks>, "
        "segment:<id>, brief:<proposal id>, variant:<proposal id>",
    )
    expected_effect: DraftEffect | None = None
    parameters: dict[str, JsonValue] = Field(default_factory=dict)


class Drafts(_Strict):
    """The structured output of a model-backed agent."""

    proposals: list[ProposalDraft] = Field(default_factory=list, max_length=MAX_DRAFTS)


@dataclass(frozen=True)
class Refusal:
    index: int  # the draft's position in the model's answer
    kind: str
    reason: str


@dataclass(frozen=True)
class Admission:
    proposals: tuple[Proposal, ...]
    refused: tuple[Refusal, ...]


def admit(drafts: Sequence[ProposalDraft], ctx: AgentContext, agent: str) -> Admission:
    """The proposals ``drafts`` make on ``ctx`` for ``agent``, and the drafts refused."""
    kept: list[Proposal] = []
    refused: list[Refusal] = []
    for index, draft in enumerate(drafts):
        try:
            kept.append(_proposal(draft, ctx, agent, index))
        except DomainError as exc:
            refused.append(Refusal(index, str(draft.kind), str(exc)))
    return Admission(tuple(kept), tuple(refused))


def _proposal(draft: ProposalDraft, ctx: AgentContext, agent: str, index: int) -> Proposal:
    ws = ctx.workspace
    if draft.kind in FORBIDDEN_KINDS:
        raise DomainError(f"{draft.kind} is for people, never for agents")
    reach = governance_reach(draft.parameters)
    if reach:
        raise DomainError(f"parameter {reach} reaches for governance; agents only propose")
    _check_references(draft.parameters, ctx)
    if draft.channel is not None:
        ws.channel(draft.channel)  # raises when the workspace has no such channel
    audience = None
    if draft.segment_id is not None:
        ws.segment(draft.segment_id)
        audience = Audience(segment_id=draft.segment_id)
    content = _content(draft.content, ctx) if draft.content else None
    spend = _spend(draft, ctx) if draft.spend is not None else None
    _check_evidence(draft.evidence, ctx)
    effect = None
    if draft.expected_effect is not None:
        e = draft.expected_effect
        if not e.low <= e.mean <= e.high:
            raise DomainError(f"expected effect {e.mean} lies outside [{e.low}, {e.high}]")
        effect = Forecast(e.kpi, e.mean, Interval(e.low, e.high, 0.9))
    digest = hashlib.sha256(draft.model_dump_json().encode()).hexdigest()[:12]
    return Proposal(
        id=ctx.proposal_id(agent, "llm", index, digest),
        agent_id=agent,
        kind=draft.kind,
        snapshot_version=ctx.snapshot_version,
        rationale=draft.rationale,
        created_at=ctx.now,
        channel=draft.channel,
        audience=audience,
        content=content,
        spend=spend,
        expected_effect=effect,
        evidence=tuple(e.strip() for e in draft.evidence if e.strip()),
        parameters=dict(draft.parameters),
    )


def _content(draft: DraftContent, ctx: AgentContext) -> Content:
    library = {c.id for c in ctx.workspace.brand.claims}
    unknown = [c for c in draft.claims if c not in library]
    if unknown:
        raise DomainError(f"claims {unknown} are not in the claims library")
    if draft.offer_id is not None:
        ctx.workspace.offer(draft.offer_id)
    return Content(
        draft.subject, draft.body, draft.headline, tuple(draft.claims), draft.angle, draft.offer_id
    )


def _spend(draft: ProposalDraft, ctx: AgentContext) -> Money:
    assert draft.spend is not None
    if draft.channel is None:
        raise DomainError("spend without a channel")
    spend = Money(draft.spend, ctx.workspace.currency)
    if draft.kind is ActionKind.SET_BUDGET:
        budget = ctx.ledger.budget(draft.channel)  # raises when the channel has no budget
        pct = Decimal(str(budget.max_change_pct or 0))
        ceiling = Money(budget.amount.amount * (1 + pct / 100), budget.amount.currency)
        if spend > ceiling:
            raise DomainError(
                f"a {draft.channel} budget of {spend} passes the {ceiling} its guardrail allows; "
                "larger budgets are for people"
            )
        return spend
    available = ctx.constraints.available.get(draft.channel)
    if available is None:
        raise DomainError(f"{draft.channel} has no budget to spend from")
    if spend > available:
        raise DomainError(f"spend {spend} exceeds the {available} left in {draft.channel}")
    per_action = ctx.workspace.guardrails.budget.per_action_max
    if per_action is not None and spend.amount > per_action:
        raise DomainError(f"spend {spend} exceeds the per-action maximum of {per_action}")
    return spend


def _check_evidence(evidence: Sequence[str], ctx: AgentContext) -> None:
    if not any(e.strip() for e in evidence):
        raise DomainError("no evidence: every proposal names what it rests on")
    earlier = {p.id for p in ctx.handoffs}
    documents = {d.name: len(d.text.splitlines()) for d in ctx.documents}
    for ref in (e.strip() for e in evidence):
        kind, _, rest = ref.partition(":")
        if ref.startswith(HANDOFF_PREFIXES) and rest not in earlier:
            raise DomainError(f"evidence {ref!r} names no proposal of an earlier stage")
        if kind == "segment":
            ctx.workspace.segment(rest)
        if kind == "document":
            cited = _DOCUMENT_LINE.fullmatch(rest)
            name, line = (cited.group(1), cited.group(2)) if cited else (rest, "")
            if name not in documents:
                raise DomainError(f"evidence {ref!r}: no document {name!r}")
            if line and not 1 <= int(line) <= documents[name]:
                raise DomainError(f"evidence {ref!r}: {name} has {documents[name]} lines")


def _check_references(parameters: Mapping[str, JsonValue], ctx: AgentContext) -> None:
    """The segments, channels, offers and earlier proposals the conventional parameters name
    exist (at the top level and in research's ``opportunity``)."""
    ws = ctx.workspace
    earlier = {p.id for p in ctx.handoffs}
    for place in (parameters, parameters.get("opportunity")):
        if not isinstance(place, Mapping):
            continue
        for key, value in place.items():
            if value is None:
                continue
            if key == "segment":
                ws.segment(str(value))
            elif key == "offer":
                ws.offer(str(value))
            elif key in ("channel", "channels"):
                for name in value if isinstance(value, list) else [value]:
                    ws.channel(_channel(name))
            elif key in _PROPOSAL_KEYS and str(value) not in earlier:
                raise DomainError(
                    f"parameter {key}={value!r} names no proposal of an earlier stage"
                )


def _channel(name: JsonValue) -> ChannelName:
    try:
        return ChannelName(str(name))
    except ValueError:
        raise DomainError(f"no channel {name!r}") from None
