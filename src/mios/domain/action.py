"""An ``Action``: a selected, concrete, executable unit with a state machine and a content hash.

    proposed ─► decided ─┬─► approved ◄──────────────┐      (decided → approved is ``auto``)
                         ├─► awaiting_approval ──────┤
                         │          └──────────► blocked  (rejected or expired)
                         └─► blocked
    approved ─► executing ─┬─► executed ─► measured
                   ▲       └─► failed
                   └───────────┘  (retry: a new attempt under the same idempotency key)

A failed action goes back to ``executing``, never to ``approved``: the approval was for this exact
content and is already used, and keeping the idempotency key lets a channel drop a duplicate of
an attempt that half-succeeded. ``blocked`` and ``measured`` are terminal.

Approvals bind to ``content_hash()``, which covers everything that would reach the outside world
plus the content version, so an edit (``edited``) always yields a new hash and voids approvals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from mios.domain.canonical import canonical_hash
from mios.domain.channel import ChannelName
from mios.domain.clock import require_utc
from mios.domain.money import Money
from mios.domain.proposal import ActionKind, Audience, Content, Proposal, check_executable
from mios.errors import DomainError, IllegalTransition


class ActionState(StrEnum):
    PROPOSED = "proposed"
    DECIDED = "decided"
    BLOCKED = "blocked"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"
    MEASURED = "measured"


_S = ActionState

#: Every edge of the state machine; anything else raises ``IllegalTransition``.
TRANSITIONS: Mapping[ActionState, frozenset[ActionState]] = {
    _S.PROPOSED: frozenset({_S.DECIDED}),
    _S.DECIDED: frozenset({_S.BLOCKED, _S.AWAITING_APPROVAL, _S.APPROVED}),
    _S.AWAITING_APPROVAL: frozenset({_S.APPROVED, _S.BLOCKED}),
    _S.APPROVED: frozenset({_S.EXECUTING}),
    _S.EXECUTING: frozenset({_S.EXECUTED, _S.FAILED}),
    _S.FAILED: frozenset({_S.EXECUTING}),
    _S.EXECUTED: frozenset({_S.MEASURED}),
    _S.BLOCKED: frozenset(),
    _S.MEASURED: frozenset(),
}

#: States in which content may still change; once anything reached a channel it may not.
_EDITABLE = frozenset({_S.PROPOSED, _S.DECIDED, _S.BLOCKED, _S.AWAITING_APPROVAL, _S.APPROVED})

SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    """One move of an action, who made it and why (an edit is recorded as one too)."""

    from_state: ActionState
    to_state: ActionState
    at: datetime
    actor: str
    reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "transition time"))


@dataclass(eq=False)
class Action:
    """An executable unit with a lifecycle. Identity is ``id``; versions of one action share it.

    ``idempotency_key`` is derived from the id and content hash when not given, so a retried
    attempt is recognisable to the channel and an edited version is not mistaken for the old one.
    """

    id: str
    proposal_id: str
    kind: ActionKind
    snapshot_version: int
    channel: ChannelName | None = None
    audience: Audience | None = None
    content: Content | None = None
    spend: Money | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = ""
    state: ActionState = ActionState.PROPOSED
    version: int = 1
    history: list[Transition] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise DomainError("action needs an id")
        where = f"action {self.id}"
        if not self.proposal_id.strip():
            raise DomainError(f"{where}: proposal id must not be empty")
        if self.snapshot_version < 1:
            raise DomainError(f"{where}: snapshot version must be >= 1")
        if self.version < 1:
            raise DomainError(f"{where}: version must be >= 1")
        check_executable(
            self.kind,
            channel=self.channel,
            audience=self.audience,
            content=self.content,
            spend=self.spend,
            where=where,
        )
        self.parameters = dict(self.parameters)
        self.history = list(self.history)
        if not self.idempotency_key:
            self.idempotency_key = idempotency_key_for(self.id, self.content_hash())

    @classmethod
    def from_proposal(cls, proposal: Proposal, action_id: str) -> Action:
        """A new action, in ``proposed``, carrying exactly what the proposal asked for."""
        return cls(
            id=action_id,
            proposal_id=proposal.id,
            kind=proposal.kind,
            snapshot_version=proposal.snapshot_version,
            channel=proposal.channel,
            audience=proposal.audience,
            content=proposal.content,
            spend=proposal.spend,
            parameters=dict(proposal.parameters),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Action) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def content_hash(self) -> str:
        """SHA-256 hex of the canonical JSON of what would be executed, plus the version."""
        return canonical_hash(
            {
                "kind": self.kind,
                "channel": self.channel,
                "audience": self.audience,
                "content": self.content,
                "spend": self.spend,
                "parameters": self.parameters,
                "version": self.version,
            }
        )

    @property
    def is_terminal(self) -> bool:
        return not TRANSITIONS[self.state]

    @property
    def attempts(self) -> int:
        """How many times execution started (the first try plus retries)."""
        return sum(1 for t in self.history if t.to_state is ActionState.EXECUTING)

    def decide(self, at: datetime, actor: str = SYSTEM) -> None:
        self._move(ActionState.DECIDED, at, actor)

    def block(self, at: datetime, actor: str, reason: str) -> None:
        self._move(ActionState.BLOCKED, at, actor, _reason(reason, "blocking"))

    def await_approval(self, at: datetime, actor: str = SYSTEM) -> None:
        self._move(ActionState.AWAITING_APPROVAL, at, actor)

    def approve(self, at: datetime, by: str) -> None:
        self._move(ActionState.APPROVED, at, by)

    def start(self, at: datetime, actor: str = SYSTEM) -> None:
        """Begin an attempt; from ``failed`` this is a retry under the same idempotency key."""
        self._move(ActionState.EXECUTING, at, actor)

    def succeed(self, at: datetime, actor: str = SYSTEM) -> None:
        self._move(ActionState.EXECUTED, at, actor)

    def fail(self, at: datetime, reason: str, actor: str = SYSTEM) -> None:
        self._move(ActionState.FAILED, at, actor, _reason(reason, "failure"))

    def measure(self, at: datetime, actor: str = SYSTEM) -> None:
        self._move(ActionState.MEASURED, at, actor)

    def edited(
        self,
        *,
        at: datetime,
        by: str,
        content: Content | None = None,
        audience: Audience | None = None,
        spend: Money | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Action:
        """A new version of this action (same id, ``version + 1``) with the given fields replaced.

        ``None`` means "unchanged". The new version goes back to ``decided`` (or stays
        ``proposed``) so governance reviews it again; its hash and idempotency key are new, so
        every approval of the old content is void. Kind and channel cannot be edited: a different
        kind or channel is a different action. This action is left untouched.
        """
        if self.state not in _EDITABLE:
            raise DomainError(f"action {self.id}: cannot edit once {self.state}")
        if content is None and audience is None and spend is None and parameters is None:
            raise DomainError(f"action {self.id}: an edit must change something")
        at = require_utc(at, "edit time")
        to = ActionState.PROPOSED if self.state is ActionState.PROPOSED else ActionState.DECIDED
        version = self.version + 1
        note = Transition(self.state, to, at, by, f"edited to version {version}")
        return replace(
            self,
            content=self.content if content is None else content,
            audience=self.audience if audience is None else audience,
            spend=self.spend if spend is None else spend,
            parameters=dict(self.parameters if parameters is None else parameters),
            version=version,
            state=to,
            idempotency_key="",
            history=[*self.history, note],
        )

    def _move(self, to: ActionState, at: datetime, actor: str, reason: str | None = None) -> None:
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"action {self.id}: cannot go from {self.state} to {to}")
        if not actor.strip():
            raise DomainError(f"action {self.id}: a transition needs an actor")
        self.history.append(Transition(self.state, to, at, actor, reason))
        self.state = to


def _reason(reason: str, what: str) -> str:
    if not reason.strip():
        raise DomainError(f"a {what} needs a reason")
    return reason


def idempotency_key_for(action_id: str, content_hash: str) -> str:
    """The key ``Action`` derives; exposed so a channel can recompute and check it."""
    return f"{action_id}:{content_hash[:16]}"
