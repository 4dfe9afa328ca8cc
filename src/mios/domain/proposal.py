"""What an agent wants done (a ``Proposal``) and the brain's judgment of it (a ``Decision``).

Agents never execute; they return proposals made on one context snapshot. The brain answers each
with a decision: a forecast with uncertainty, the expected value toward the workspace objective,
a risk tier, the proposals it conflicts with, and plain-language reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mios.domain.channel import ChannelName
from mios.domain.clock import require_utc
from mios.domain.money import Money
from mios.errors import DomainError


class ActionKind(StrEnum):
    SEND_MESSAGE = "send_message"
    PUBLISH_CONTENT = "publish_content"
    SET_BUDGET = "set_budget"
    ADJUST_BID = "adjust_bid"
    LAUNCH_EXPERIMENT = "launch_experiment"
    CREATE_SEGMENT = "create_segment"
    INSIGHT = "insight"
    #: Copy drafted for other agents to send or publish (a variant); it never runs itself.
    CREATE_CONTENT = "create_content"
    CHANGE_POLICY = "change_policy"
    CHANGE_AUTONOMY = "change_autonomy"


class RiskTier(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Interval:
    """A central interval holding the true value with probability ``level`` (inclusive bounds)."""

    low: float
    high: float
    level: float = 0.9

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise DomainError(f"interval bounds must be finite, got [{self.low}, {self.high}]")
        if self.low > self.high:
            raise DomainError(f"interval low {self.low} is above high {self.high}")
        if not 0 < self.level < 1:
            raise DomainError(f"interval level must be in (0, 1), got {self.level}")

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class Forecast:
    """A point estimate of one KPI and its interval (the mean need not be the centre)."""

    kpi: str
    mean: float
    interval: Interval

    def __post_init__(self) -> None:
        if not self.kpi.strip():
            raise DomainError("forecast needs a KPI name")
        if not math.isfinite(self.mean):
            raise DomainError(f"forecast mean for {self.kpi} must be finite, got {self.mean}")


@dataclass(frozen=True)
class Audience:
    """Whom an action reaches.

    The rule: name a segment, or list customers, or both; or, for media that reach nobody by name
    (paid search, published content), give only an ``estimated_size``. An audience with none of
    the three means nothing and is refused. ``is_addressed`` says whether consent can be checked
    per customer, which addressed channels require (see ``Proposal``).
    """

    segment_id: str | None = None
    customer_ids: tuple[str, ...] = ()
    estimated_size: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "customer_ids", tuple(self.customer_ids))
        if self.segment_id is not None and not self.segment_id.strip():
            raise DomainError("audience segment id must not be blank")
        if any(not c.strip() for c in self.customer_ids):
            raise DomainError("audience customer ids must not be blank")
        if len(set(self.customer_ids)) != len(self.customer_ids):
            raise DomainError("audience lists a customer more than once")
        if self.estimated_size is not None and self.estimated_size < 0:
            raise DomainError(f"audience estimated size must be >= 0, got {self.estimated_size}")
        if not self.is_addressed and self.estimated_size is None:
            raise DomainError("audience needs a segment id, customer ids or an estimated size")

    @property
    def is_addressed(self) -> bool:
        return self.segment_id is not None or bool(self.customer_ids)

    @property
    def size(self) -> int | None:
        """Known or estimated reach; an explicit list is exact, so it wins over an estimate."""
        return len(self.customer_ids) if self.customer_ids else self.estimated_size


@dataclass(frozen=True)
class Content:
    """Creative to be sent or published. ``claims`` are ids from the claims library it relies on."""

    subject: str | None
    body: str
    headline: str | None = None
    claims: tuple[str, ...] = ()
    angle: str | None = None
    offer_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "claims", tuple(self.claims))
        if not self.body.strip():
            raise DomainError("content body must not be empty")
        if any(not c.strip() for c in self.claims):
            raise DomainError("content claim ids must not be blank")


#: What each kind needs before it can be reviewed or executed. Kinds not listed carry their
#: specifics in ``parameters`` (an experiment design, a segment definition, a policy diff).
_REQUIRED: Mapping[ActionKind, tuple[str, ...]] = {
    ActionKind.SEND_MESSAGE: ("channel", "audience", "content"),
    ActionKind.PUBLISH_CONTENT: ("channel", "content"),
    ActionKind.SET_BUDGET: ("channel", "spend"),
    ActionKind.ADJUST_BID: ("channel",),
    ActionKind.CREATE_CONTENT: ("content",),
}


def segment_of(audience: Audience | None, parameters: Mapping[str, Any]) -> str | None:
    """The segment a message is for: its audience's segment, or, for an audience listed by id
    (the segment's members a sender may lawfully reach), ``parameters["segment"]``."""
    if audience is not None and audience.segment_id is not None:
        return audience.segment_id
    named = parameters.get("segment")
    return named if isinstance(named, str) and named.strip() else None


def check_executable(
    kind: ActionKind,
    *,
    channel: ChannelName | None,
    audience: Audience | None,
    content: Content | None,
    spend: Money | None,
    where: str,
) -> None:
    """Raise ``DomainError`` (prefixed by ``where``) if the fields cannot make a ``kind``.

    Shared by ``Proposal`` and ``Action`` so an edit cannot produce what a proposal could not.
    """
    given = {"channel": channel, "audience": audience, "content": content, "spend": spend}
    missing = [name for name in _REQUIRED.get(kind, ()) if given[name] is None]
    if missing:
        raise DomainError(f"{where}: {kind} needs {', '.join(missing)}")
    if spend is not None and spend.is_negative():
        raise DomainError(f"{where}: spend must be >= 0, got {spend}")
    # Consent is checked per customer, so an addressed channel cannot target a bare estimate.
    if (
        kind is ActionKind.SEND_MESSAGE
        and channel is not None
        and channel.addresses_customers
        and audience is not None
        and not audience.is_addressed
    ):
        raise DomainError(f"{where}: {channel} reaches named customers; give a segment or ids")


@dataclass(frozen=True)
class Proposal:
    """What one agent wants done, made on one snapshot, with its own estimate and its reasons."""

    id: str
    agent_id: str
    kind: ActionKind
    snapshot_version: int
    rationale: str
    created_at: datetime
    channel: ChannelName | None = None
    audience: Audience | None = None
    content: Content | None = None
    spend: Money | None = None
    expected_effect: Forecast | None = None
    evidence: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Copies, so a caller mutating its list or dict cannot change a frozen proposal.
        object.__setattr__(self, "evidence", tuple(self.evidence))
        object.__setattr__(self, "parameters", dict(self.parameters))
        object.__setattr__(self, "created_at", require_utc(self.created_at, "created_at"))
        if not self.id.strip():
            raise DomainError("proposal needs an id")
        where = f"proposal {self.id}"
        if not self.agent_id.strip():
            raise DomainError(f"{where}: agent id must not be empty")
        if self.snapshot_version < 1:
            raise DomainError(f"{where}: snapshot version must be >= 1")
        if not self.rationale.strip():
            raise DomainError(f"{where}: a rationale is required; every proposal says why")
        check_executable(
            self.kind,
            channel=self.channel,
            audience=self.audience,
            content=self.content,
            spend=self.spend,
            where=where,
        )


class DecisionStatus(StrEnum):
    SELECTED = "selected"
    DEFERRED = "deferred"
    DROPPED = "dropped"


@dataclass(frozen=True)
class Decision:
    """The brain's judgment on one proposal; ``reasons`` are for people, and never empty."""

    proposal_id: str
    snapshot_version: int
    status: DecisionStatus
    forecast: Forecast | None
    expected_value: float
    confidence: float
    risk: RiskTier
    reasons: tuple[str, ...]
    decided_at: datetime
    conflicts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "conflicts", tuple(self.conflicts))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "decided_at", require_utc(self.decided_at, "decided_at"))
        if not self.proposal_id.strip():
            raise DomainError("decision needs a proposal id")
        where = f"decision on {self.proposal_id}"
        if self.snapshot_version < 1:
            raise DomainError(f"{where}: snapshot version must be >= 1")
        if not math.isfinite(self.expected_value):
            raise DomainError(f"{where}: expected value must be finite")
        if not 0 <= self.confidence <= 1:
            raise DomainError(f"{where}: confidence must be in [0, 1], got {self.confidence}")
        if self.proposal_id in self.conflicts:
            raise DomainError(f"{where}: a proposal cannot conflict with itself")
        if not any(r.strip() for r in self.reasons):
            raise DomainError(f"{where}: give at least one reason; every decision is explained")
