"""What every Human Command call shares: the store, the audit log, the clock, one transaction
per call, authentication, and audit records (refusals included)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, TypeVar

from mios.domain.governance import Role
from mios.domain.guardrails import ApprovalRules
from mios.errors import AccessDenied, DomainError
from mios.governance.audit import AuditEntry, AuditLog
from mios.governance.people import PERMISSIONS, Operation, User, token_digest
from mios.governance.store import GovernanceStore

GOVERNANCE = "governance"
T = TypeVar("T")


def atomic(method: Callable[..., T]) -> Callable[..., T]:
    """Run a Human Command call in one transaction: its writes and its audit records commit
    together, or none of them does."""

    @functools.wraps(method)
    def run(self: CommandBase, *args: Any, **kwargs: Any) -> T:
        try:
            with self.transaction():
                return method(self, *args, **kwargs)
        except AccessDenied as exc:
            self._record_refusal(method.__name__, exc)
            raise

    return run


class CommandBase:
    def __init__(
        self,
        store: GovernanceStore,
        audit: AuditLog,
        clock: Callable[[], datetime],
        rules: ApprovalRules | None = None,
        *,
        transaction: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        """``transaction``: what makes one call's store writes and audit records commit
        together (the SQL adapters' shared transaction); the in-memory default has nothing
        to commit."""
        self.store = store
        self.audit = audit
        self.clock = clock
        self.rules = rules or ApprovalRules()
        self.transaction = transaction

    def authenticate(self, token: str | None) -> User:
        """The active person a token belongs to; anything else is ``AccessDenied``."""
        if not token:
            raise AccessDenied("no token given; set MIOS_TOKEN to your API token")
        record = self.store.token(token_digest(token))
        user = self.store.user(record.user_id) if record is not None else None
        # One message for every failure, so a probe learns nothing about which tokens exist.
        if record is None or record.revoked or user is None or not user.active:
            raise AccessDenied("the token is not valid (unknown, revoked, or its user removed)")
        return user

    def _record_refusal(self, operation: str, exc: AccessDenied) -> None:
        """A refused call leaves a record of its own, in a transaction of its own: the call's
        transaction rolled back, and the refusal must stay on record anyway."""
        with self.transaction():
            self._record(
                exc.actor or "unauthenticated",
                None,
                f"refused.{operation}",
                GOVERNANCE,
                {},
                str(exc),
            )

    def _record(
        self,
        actor: str,
        role: Role | None,
        event: str,
        subject: str,
        data: Mapping[str, Any],
        reason: str | None = None,
    ) -> None:
        self.audit.append(
            AuditEntry(self.clock(), actor, event, subject, dict(data), role and str(role), reason)
        )


def role_for(user: User, operation: Operation) -> Role:
    """The role a person acted in: admin if they hold it, else their first that allows it."""
    allowed = sorted(user.roles & PERMISSIONS[operation])
    return Role.ADMIN if Role.ADMIN in allowed else allowed[0]


def require_reason(reason: str, what: str) -> None:
    """The audit trail says why people changed things; an empty reason says nothing."""
    if not reason.strip():
        raise DomainError(f"{what} needs a reason")
