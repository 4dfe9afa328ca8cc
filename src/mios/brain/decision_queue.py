"""The human decision queue: selected actions that need a person, most important first.

An entry joins the queue when governance's verdict on it is ``approve``. Entries with the same
content hash are one decision (the same thing proposed twice, or again in a later cycle): they
merge into one item that lists every action and proposal, worth the most valuable of them, open
since the earliest and due by the earliest deadline.

Rank = value at stake x urgency. Urgency is 1 without a deadline or with one at least
``horizon`` away, rises linearly to ``1 + max_boost`` as the deadline comes, and stays there
once it has passed (the item is then *overdue*). Ties go to the earlier deadline, then the
older item, then the content hash, so the order is deterministic.

Decision debt: how many items are open, the age of the oldest and the median item, the total
value waiting and how many are overdue.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mios.domain.clock import require_utc
from mios.domain.governance import Role, Verdict, VerdictEffect
from mios.errors import DomainError


@dataclass(frozen=True)
class PendingDecision:
    """One selected action and governance's verdict on it; ``value`` is its expected value."""

    action_id: str
    proposal_id: str
    content_hash: str
    verdict: Verdict
    value: float
    opened_at: datetime
    deadline: datetime | None = None
    summary: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "opened_at", require_utc(self.opened_at, "opened_at"))
        if self.deadline is not None:
            object.__setattr__(self, "deadline", require_utc(self.deadline, "deadline"))
        if self.verdict.action_id != self.action_id:
            raise DomainError(f"verdict is on {self.verdict.action_id}, not {self.action_id}")
        if self.verdict.content_hash != self.content_hash:
            raise DomainError(f"action {self.action_id}: the verdict is for other content")


@dataclass(frozen=True)
class Urgency:
    horizon: timedelta = timedelta(days=7)
    max_boost: float = 3.0

    def __post_init__(self) -> None:
        if self.horizon <= timedelta(0) or self.max_boost < 0:
            raise DomainError("urgency needs a positive horizon and a boost >= 0")

    def __call__(self, deadline: datetime | None, now: datetime) -> float:
        if deadline is None:
            return 1.0
        left = (deadline - now) / self.horizon
        return 1.0 + self.max_boost * min(1.0, max(0.0, 1.0 - left))


@dataclass(frozen=True)
class QueueItem:
    content_hash: str
    action_ids: tuple[str, ...]
    proposal_ids: tuple[str, ...]
    value: float
    urgency: float
    score: float
    opened_at: datetime
    deadline: datetime | None
    required_roles: frozenset[Role]
    quorum: int
    findings: tuple[str, ...]
    summary: str
    overdue: bool

    def age(self, now: datetime) -> timedelta:
        return now - self.opened_at


@dataclass(frozen=True)
class DecisionDebt:
    open_items: int
    oldest_age: timedelta | None
    median_age: timedelta | None
    value_waiting: float
    overdue: int


def build_queue(
    pending: Iterable[PendingDecision], *, now: datetime, urgency: Urgency | None = None
) -> tuple[QueueItem, ...]:
    """The items that need a person, merged by content hash, highest score first."""
    now = require_utc(now, "now")
    urgency = urgency or Urgency()
    groups: dict[str, list[PendingDecision]] = {}
    for entry in pending:
        if entry.verdict.effect is VerdictEffect.APPROVE:
            groups.setdefault(entry.content_hash, []).append(entry)
    items = [_merge(entries, now, urgency) for entries in groups.values()]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    items.sort(key=lambda i: (-i.score, i.deadline or far, i.opened_at, i.content_hash))
    return tuple(items)


def _merge(entries: Sequence[PendingDecision], now: datetime, urgency: Urgency) -> QueueItem:
    entries = sorted(entries, key=lambda e: (e.opened_at, e.action_id))
    deadlines = [e.deadline for e in entries if e.deadline is not None]
    deadline = min(deadlines) if deadlines else None
    value = max(e.value for e in entries)
    boost = urgency(deadline, now)
    roles = frozenset(r for e in entries for r in e.verdict.required_roles)
    findings = tuple(dict.fromkeys(f.message for e in entries for f in e.verdict.findings))
    return QueueItem(
        content_hash=entries[0].content_hash,
        action_ids=tuple(dict.fromkeys(e.action_id for e in entries)),
        proposal_ids=tuple(dict.fromkeys(e.proposal_id for e in entries)),
        value=value,
        urgency=boost,
        score=value * boost,
        opened_at=entries[0].opened_at,
        deadline=deadline,
        required_roles=roles,
        quorum=max(e.verdict.quorum for e in entries),
        findings=findings,
        summary=next((e.summary for e in entries if e.summary), ""),
        overdue=deadline is not None and deadline <= now,
    )


def decision_debt(items: Sequence[QueueItem], *, now: datetime) -> DecisionDebt:
    now = require_utc(now, "now")
    ages = [i.age(now) for i in items]
    median = timedelta(seconds=statistics.median(a.total_seconds() for a in ages)) if ages else None
    return DecisionDebt(
        open_items=len(items),
        oldest_age=max(ages) if ages else None,
        median_age=median,
        value_waiting=float(sum(i.value for i in items)),
        overdue=sum(1 for i in items if i.overdue),
    )
