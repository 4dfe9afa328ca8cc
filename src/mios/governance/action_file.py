"""An action written by hand, as JSON, for ``mios policy check`` (format: docs/governance.md).

    {"id": "spring-email", "kind": "send_message", "channel": "email",
     "audience": {"segment_id": "vip"},
     "content": {"subject": "New layers", "body": "...", "claims": ["recycled-shell"]},
     "spend": "120.00 USD", "risk": "medium"}

Problems name the file, the line and the field, and nothing is checked until the whole file is
valid.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from mios.context.spec import Identifier, Spec, Text
from mios.context.yaml_source import read_yaml, validated
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content, RiskTier
from mios.errors import ActionFileError, DomainError


class AudienceFileSpec(Spec):
    segment_id: Identifier | None = None
    customer_ids: list[Text] = Field(default_factory=list)
    estimated_size: Annotated[int, Field(ge=0)] | None = None


class ContentFileSpec(Spec):
    subject: str | None = None
    body: Text
    headline: str | None = None
    claims: list[Text] = Field(default_factory=list)
    angle: Identifier | None = None
    offer_id: Identifier | None = None


class ActionFileSpec(Spec):
    id: Identifier
    kind: ActionKind
    channel: ChannelName | None = None
    audience: AudienceFileSpec | None = None
    content: ContentFileSpec | None = None
    spend: Annotated[Decimal, Field(ge=0)] | Text | None = None  # 120, "120.00" or "120.00 USD"
    parameters: dict[str, Any] = Field(default_factory=dict)
    risk: RiskTier = RiskTier.MEDIUM
    proposal_id: Identifier | None = None
    version: Annotated[int, Field(ge=1)] = 1


def read_action_file(path: Path, currency: str) -> tuple[Action, RiskTier]:
    """The action in ``path`` and the risk it is reviewed at; amounts default to ``currency``."""
    document = read_yaml(path, str(path), error=ActionFileError)
    spec = validated(document, ActionFileSpec, ActionFileError)
    try:
        spend = None
        if spec.spend is not None:
            spend = Money.parse(str(spec.spend), currency)
        audience = None
        if spec.audience is not None:
            a = spec.audience
            audience = Audience(a.segment_id, tuple(a.customer_ids), a.estimated_size)
        content = None
        if spec.content is not None:
            c = spec.content
            content = Content(c.subject, c.body, c.headline, tuple(c.claims), c.angle, c.offer_id)
        action = Action(
            id=spec.id,
            proposal_id=spec.proposal_id or spec.id,
            kind=spec.kind,
            snapshot_version=1,
            channel=spec.channel,
            audience=audience,
            content=content,
            spend=spend,
            parameters=spec.parameters,
            version=spec.version,
        )
    except DomainError as exc:
        raise ActionFileError.at(str(exc), file=str(path)) from exc
    return action, spec.risk
