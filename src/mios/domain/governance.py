"""Human command: verdicts, people and roles, and approval requests (the audit log is ``audit``).

An approval request is bound to one action's content hash. It is approved when every required
role is covered by a different person and at least ``quorum`` people approved; so roles
``{brand, legal}`` always need a brand person *and* a legal person, whatever the quorum. Approvers
are people, never agents or the system, never the proposer, and each person decides once.
Anything that breaks these rules raises an ``ApprovalRefused``, and a late answer never counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from mios.domain.clock import require_utc
from mios.errors import DomainError


class Role(StrEnum):
    ADMIN = "admin"
    STRATEGIST = "strategist"
    BUDGET_OWNER = "budget_owner"
    BRAND = "brand"
    LEGAL = "legal"
    ANALYST = "analyst"
    VIEWER = "viewer"


class VerdictEffect(StrEnum):
    ALLOW = "allow"
    APPROVE = "approve"
    DENY = "deny"


class FindingSeverity(StrEnum):
    INFO = "info"
    WARN = "warn"
    DENY = "deny"
    APPROVE = "approve"


class ApprovalRefused(DomainError):
    """An answer to an approval request that must not count."""


class SeparationOfDuties(ApprovalRefused):
    """An agent, the proposer, or a person who already answered tried to approve."""


class WrongRole(ApprovalRefused):
    """The role is not one the request needs, or the approver does not hold it."""


class StaleApproval(ApprovalRefused):
    """The answer is for other content (an edit voids approvals) or another request."""


class ApprovalClosed(ApprovalRefused):
    """The request no longer takes answers: decided, expired, or already used."""


@dataclass(frozen=True)
class Finding:
    """One thing a rule found: which rule, what, and the offending span or value if any."""

    rule_id: str
    message: str
    severity: FindingSeverity
    span: str | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        if not self.rule_id.strip():
            raise DomainError("a finding needs the id of the rule that made it")
        if not self.message.strip():
            raise DomainError(f"finding of {self.rule_id}: message must not be empty")


@dataclass(frozen=True)
class Verdict:
    """Governance's answer for one action's exact content: allow, approve (by whom), or deny."""

    action_id: str
    content_hash: str
    effect: VerdictEffect
    findings: tuple[Finding, ...] = ()
    required_roles: frozenset[Role] = frozenset()
    quorum: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "required_roles", frozenset(self.required_roles))
        where = f"verdict on {self.action_id}"
        if not self.action_id.strip() or not self.content_hash.strip():
            raise DomainError("a verdict needs an action id and a content hash")
        denied = any(f.severity is FindingSeverity.DENY for f in self.findings)
        if self.effect is VerdictEffect.DENY and not denied:
            raise DomainError(f"{where}: deny needs at least one deny finding")
        if self.effect is not VerdictEffect.DENY and denied:
            raise DomainError(f"{where}: a deny finding makes the verdict deny")
        if self.effect is VerdictEffect.APPROVE:
            if not self.required_roles or self.quorum < 1:
                raise DomainError(f"{where}: approve needs at least one role and a quorum >= 1")
        elif self.required_roles or self.quorum:
            raise DomainError(f"{where}: only an approve verdict names roles and a quorum")
        asks = any(f.severity is FindingSeverity.APPROVE for f in self.findings)
        if self.effect is VerdictEffect.ALLOW and asks:
            raise DomainError(f"{where}: an approve finding needs roles to approve it")

    @classmethod
    def from_findings(
        cls,
        action_id: str,
        content_hash: str,
        findings: Iterable[Finding],
        required_roles: Iterable[Role] = (),
        quorum: int = 0,
    ) -> Verdict:
        """Deny if anything denies, else approve if any role must, else allow (worst wins)."""
        found = tuple(findings)
        roles = frozenset(required_roles)
        if any(f.severity is FindingSeverity.DENY for f in found):
            return cls(action_id, content_hash, VerdictEffect.DENY, found)
        if not roles:
            return cls(action_id, content_hash, VerdictEffect.ALLOW, found)
        return cls(action_id, content_hash, VerdictEffect.APPROVE, found, roles, max(quorum, 1))


@dataclass(frozen=True)
class Actor:
    """Someone or something that acts. Only ``person`` actors may approve."""

    id: str
    kind: Literal["person", "agent", "system"]
    roles: frozenset[Role] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))
        if not self.id.strip():
            raise DomainError("an actor needs an id")
        if self.kind not in ("person", "agent", "system"):
            raise DomainError(f"actor {self.id}: kind must be person, agent or system")


@dataclass(frozen=True)
class Approval:
    """One person's answer, in one role, to one request, for one content hash."""

    request_id: str
    approver: Actor
    role: Role
    content_hash: str
    at: datetime
    decision: Literal["approve", "reject", "request_changes"]
    reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "approval time"))
        if self.decision not in ("approve", "reject", "request_changes"):
            raise DomainError(f"unknown approval decision {self.decision!r}")
        # Rejections are data the agents learn from, so they must say why.
        if self.decision != "approve" and not (self.reason and self.reason.strip()):
            raise DomainError(f"{self.decision} needs a reason")


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    EXPIRED = "expired"
    ESCALATED = "escalated"
    SUPERSEDED = "superseded"  # an edit made a new version with a request of its own
    USED = "used"


@dataclass(eq=False)
class ApprovalRequest:
    """A request for people to approve one action's exact content before it may execute.

    ``escalated`` is still open: on expiry with ``escalate_to`` left, the decision passes to the
    next role (quorum one, a fresh ``escalation_window``); answers already given stay on record but
    only count in a role still required. ``proposer_id`` is whoever made this content, so for an
    edited action it is the editor. Identity is ``id``.
    """

    id: str
    action_id: str
    content_hash: str
    proposer_id: str
    required_roles: frozenset[Role]
    quorum: int
    created_at: datetime
    expires_at: datetime
    escalate_to: tuple[Role, ...] = ()
    status: ApprovalStatus = ApprovalStatus.PENDING
    approvals: list[Approval] = field(default_factory=list)
    escalation_window: timedelta | None = None

    def __post_init__(self) -> None:
        self.required_roles = frozenset(self.required_roles)
        self.escalate_to = tuple(self.escalate_to)
        self.approvals = list(self.approvals)
        self.created_at = require_utc(self.created_at, "created_at")
        self.expires_at = require_utc(self.expires_at, "expires_at")
        where = f"approval request {self.id}"
        if not (self.id.strip() and self.action_id.strip() and self.content_hash.strip()):
            raise DomainError("an approval request needs an id, an action id and a content hash")
        if not self.proposer_id.strip():
            raise DomainError(f"{where}: proposer id must not be empty")
        if not self.required_roles or self.quorum < 1:
            raise DomainError(f"{where}: needs at least one role and a quorum >= 1")
        if self.expires_at <= self.created_at:
            raise DomainError(f"{where}: must expire after it is created")
        if self.escalation_window is None:
            self.escalation_window = self.expires_at - self.created_at
        if self.escalation_window <= timedelta(0):
            raise DomainError(f"{where}: escalation window must be positive")

    @classmethod
    def for_verdict(
        cls,
        request_id: str,
        verdict: Verdict,
        *,
        proposer_id: str,
        created_at: datetime,
        ttl: timedelta,
        escalate_to: Iterable[Role] = (),
    ) -> ApprovalRequest:
        if verdict.effect is not VerdictEffect.APPROVE:
            raise DomainError(f"verdict on {verdict.action_id} is {verdict.effect}, not approve")
        return cls(
            id=request_id,
            action_id=verdict.action_id,
            content_hash=verdict.content_hash,
            proposer_id=proposer_id,
            required_roles=verdict.required_roles,
            quorum=verdict.quorum,
            created_at=created_at,
            expires_at=created_at + ttl,
            escalate_to=tuple(escalate_to),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApprovalRequest) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def is_open(self) -> bool:
        return self.status in (ApprovalStatus.PENDING, ApprovalStatus.ESCALATED)

    @property
    def is_satisfied(self) -> bool:
        roles = self.required_roles
        counted = [a for a in self.approvals if a.decision == "approve" and a.role in roles]
        return {a.role for a in counted} == roles and len(counted) >= self.quorum

    def record(self, approval: Approval, now: datetime) -> ApprovalStatus:
        """Count ``approval`` or raise ``ApprovalRefused`` saying why it cannot count."""
        now = require_utc(now, "now")
        where = f"approval request {self.id}"
        if not self.is_open:
            raise ApprovalClosed(f"{where} is {self.status}; it takes no more answers")
        if now >= self.expires_at:
            status = self.expire(now)  # fail closed: the late answer is refused either way
            raise ApprovalClosed(f"{where} expired at {self.expires_at.isoformat()} ({status})")
        if approval.request_id != self.id:
            raise StaleApproval(f"{where}: answer is for request {approval.request_id}")
        if approval.content_hash != self.content_hash:
            raise StaleApproval(f"{where}: content changed since the request; approve it again")
        person = approval.approver
        if person.kind != "person":
            raise SeparationOfDuties(f"{where}: {person.kind} {person.id} cannot approve")
        if person.id == self.proposer_id:
            raise SeparationOfDuties(f"{where}: {person.id} proposed this and cannot approve it")
        if any(a.approver.id == person.id for a in self.approvals):
            raise SeparationOfDuties(f"{where}: {person.id} already answered; one person, one slot")
        if approval.role not in self.required_roles:
            needed = ", ".join(sorted(self.required_roles))
            raise WrongRole(f"{where}: role {approval.role} is not required (needs {needed})")
        if approval.role not in person.roles:
            raise WrongRole(f"{where}: {person.id} does not hold role {approval.role}")
        self.approvals.append(approval)
        if approval.decision == "reject":
            self.status = ApprovalStatus.REJECTED
        elif approval.decision == "request_changes":
            self.status = ApprovalStatus.CHANGES_REQUESTED
        elif self.is_satisfied:
            self.status = ApprovalStatus.APPROVED
        return self.status

    def expire(self, now: datetime) -> ApprovalStatus:
        """At or after the deadline: escalate to the next role if one is left, else expire."""
        now = require_utc(now, "now")
        if not self.is_open:
            raise ApprovalClosed(f"approval request {self.id} is {self.status}; nothing to expire")
        if now < self.expires_at:
            raise DomainError(f"approval request {self.id} is not due until {self.expires_at}")
        if not self.escalate_to:
            self.status = ApprovalStatus.EXPIRED
            return self.status
        assert self.escalation_window is not None  # set in __post_init__
        self.required_roles = frozenset({self.escalate_to[0]})
        self.escalate_to = self.escalate_to[1:]
        self.quorum = 1
        self.expires_at = now + self.escalation_window
        self.status = ApprovalStatus.ESCALATED
        return self.status

    def supersede(self) -> None:
        """Close an open request because its action was edited; the new version is asked anew."""
        if not self.is_open and self.status is not ApprovalStatus.CHANGES_REQUESTED:
            raise ApprovalClosed(f"approval request {self.id} is {self.status}; nothing to replace")
        self.status = ApprovalStatus.SUPERSEDED

    def use(self, content_hash: str | None = None) -> None:
        """Spend the approval on one execution; a second use, or other content, raises."""
        if self.status is ApprovalStatus.USED:
            raise ApprovalClosed(f"approval request {self.id} was already used (single-use)")
        if self.status is not ApprovalStatus.APPROVED:
            raise ApprovalClosed(f"approval request {self.id} is {self.status}, not approved")
        if content_hash is not None and content_hash != self.content_hash:
            raise StaleApproval(f"approval request {self.id} approved other content")
        self.status = ApprovalStatus.USED
