"""What happened after an action (``Outcome``) and what was learned from it (``Learning``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from mios.domain.channel import ChannelName
from mios.domain.clock import require_utc
from mios.domain.money import Money
from mios.errors import DomainError


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"
    OPEN = "open"
    CLICK = "click"
    CONVERSION = "conversion"
    REVENUE = "revenue"
    SPEND = "spend"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    INCIDENT = "incident"


#: Kinds that must carry money, and kinds that may; the rest are counts only.
_NEEDS_VALUE = frozenset({OutcomeKind.REVENUE, OutcomeKind.SPEND})
_MAY_HAVE_VALUE = _NEEDS_VALUE | {OutcomeKind.CONVERSION}


@dataclass(frozen=True)
class Outcome:
    """One measured event, attributed to an action when it can be.

    ``action_id`` is ``None`` for events nobody caused on purpose (organic conversions), which
    experiments need as their baseline. Revenue may be negative (a refund); spend may not.
    ``count`` lets a channel report an aggregate (``delivered`` x 5000) as one row.
    """

    id: str
    kind: OutcomeKind
    at: datetime
    action_id: str | None = None
    customer_id: str | None = None
    channel: ChannelName | None = None
    value: Money | None = None
    count: int = 1
    tracking_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "outcome time"))
        object.__setattr__(self, "attributes", dict(self.attributes))
        if not self.id.strip():
            raise DomainError("an outcome needs an id")
        where = f"outcome {self.id}"
        if self.count < 1:
            raise DomainError(f"{where}: count must be >= 1, got {self.count}")
        if self.kind in _NEEDS_VALUE and self.value is None:
            raise DomainError(f"{where}: a {self.kind} outcome needs a value")
        if self.kind not in _MAY_HAVE_VALUE and self.value is not None:
            raise DomainError(f"{where}: a {self.kind} outcome carries no money")
        if self.kind is OutcomeKind.SPEND and self.value is not None and self.value.is_negative():
            raise DomainError(f"{where}: spend must be >= 0, got {self.value}")


class LearningStatus(StrEnum):
    PROPOSED = "proposed"
    VALIDATED = "validated"
    REFUTED = "refuted"


@dataclass(frozen=True)
class Learning:
    """An insight with its evidence and confidence, and the model updates it caused.

    A learning starts ``proposed``. New evidence validates or refutes it; a validated learning can
    still be refuted later, but a refuted one is final (an insight that comes back is a new
    learning with its own evidence). Each review returns a new ``Learning``, keeping the old one.
    """

    id: str
    insight: str
    evidence: tuple[str, ...]
    confidence: float
    created_at: datetime
    status: LearningStatus = LearningStatus.PROPOSED
    cycle_id: str | None = None
    model_updates: tuple[str, ...] = ()
    reviewed_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", tuple(self.evidence))
        object.__setattr__(self, "model_updates", tuple(self.model_updates))
        object.__setattr__(self, "created_at", require_utc(self.created_at, "created_at"))
        if self.reviewed_at is not None:
            object.__setattr__(self, "reviewed_at", require_utc(self.reviewed_at, "reviewed_at"))
        if not self.id.strip():
            raise DomainError("a learning needs an id")
        where = f"learning {self.id}"
        if not self.insight.strip():
            raise DomainError(f"{where}: insight must not be empty")
        if not self.evidence or any(not e.strip() for e in self.evidence):
            raise DomainError(f"{where}: needs evidence (ids of outcomes, experiments, reports)")
        if not (math.isfinite(self.confidence) and 0 <= self.confidence <= 1):
            raise DomainError(f"{where}: confidence must be in [0, 1], got {self.confidence}")
        if (self.status is LearningStatus.PROPOSED) != (self.reviewed_at is None):
            raise DomainError(f"{where}: reviewed_at is set exactly when it was reviewed")
        if self.reviewed_at is not None and self.reviewed_at < self.created_at:
            raise DomainError(f"{where}: reviewed before it was created")

    def validated(
        self, at: datetime, evidence: Iterable[str], confidence: float | None = None
    ) -> Learning:
        return self._reviewed(LearningStatus.VALIDATED, at, evidence, confidence)

    def refuted(
        self, at: datetime, evidence: Iterable[str], confidence: float | None = None
    ) -> Learning:
        return self._reviewed(LearningStatus.REFUTED, at, evidence, confidence)

    def with_model_updates(self, *updates: str) -> Learning:
        """Record which models this learning changed (ids of fits, posteriors, curves)."""
        return replace(self, model_updates=(*self.model_updates, *updates))

    def _reviewed(
        self,
        status: LearningStatus,
        at: datetime,
        evidence: Iterable[str],
        confidence: float | None,
    ) -> Learning:
        if self.status is LearningStatus.REFUTED:
            raise DomainError(f"learning {self.id} is refuted; record a new learning instead")
        new = tuple(e for e in evidence if e not in self.evidence)
        if not new:
            raise DomainError(f"learning {self.id}: {status} needs new evidence")
        return replace(
            self,
            status=status,
            evidence=(*self.evidence, *dict.fromkeys(new)),
            confidence=self.confidence if confidence is None else confidence,
            reviewed_at=at,
        )


#: The id prefix of a learning that records what people rejected (see ``rejection_id``).
REJECTED = "rejected"


def rejection_id(kind: str, channel: str, segment: str, offer: str) -> str:
    """The id of the learning that people rejected proposals of ``kind`` on ``channel`` for
    ``segment`` with ``offer`` (``-`` for what a proposal leaves unnamed); agents read it back
    with ``rejection_of`` to propose less of what people reject."""
    return ":".join((REJECTED, kind, channel, segment, offer))


def rejection_of(learning_id: str) -> tuple[str, str, str, str] | None:
    """``(kind, channel, segment, offer)`` of a rejection learning's id, else ``None``."""
    parts = learning_id.split(":")
    if len(parts) != 5 or parts[0] != REJECTED:
        return None
    return parts[1], parts[2], parts[3], parts[4]
