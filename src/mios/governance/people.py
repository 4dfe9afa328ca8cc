"""People who command: users with roles, API tokens kept only as hashes, and who may do what.

A token is shown once, when it is issued, and stored as its SHA-256: tokens are 256 random bits,
so a fast hash is enough (nobody can guess one to match), and a stolen database yields no token.
Lookups compare digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from mios.domain.clock import require_utc
from mios.domain.governance import Actor, Role
from mios.errors import AccessDenied, DomainError

TOKEN_PREFIX = "mios_"
_USER_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Operation(StrEnum):
    """What a person can ask of governance, beyond answering an approval request (which the
    request's own required roles decide)."""

    MANAGE_USERS = "manage_users"
    PAUSE = "pause"
    RESUME = "resume"
    READ_AUDIT = "read_audit"
    READ_APPROVALS = "read_approvals"


#: Who may do what. Pausing is open to every role that answers for something, so anyone
#: accountable can stop the machine at once; resuming it is an admin's decision alone.
PERMISSIONS: Mapping[Operation, frozenset[Role]] = {
    Operation.MANAGE_USERS: frozenset({Role.ADMIN}),
    Operation.PAUSE: frozenset(
        {Role.ADMIN, Role.STRATEGIST, Role.BUDGET_OWNER, Role.BRAND, Role.LEGAL}
    ),
    Operation.RESUME: frozenset({Role.ADMIN}),
    Operation.READ_AUDIT: frozenset({Role.ADMIN, Role.LEGAL, Role.ANALYST}),
    Operation.READ_APPROVALS: frozenset(Role),
}


@dataclass(frozen=True)
class User:
    id: str
    name: str
    roles: frozenset[Role]
    created_at: datetime
    active: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))
        object.__setattr__(self, "created_at", require_utc(self.created_at, "created_at"))
        if not _USER_ID.match(self.id):
            raise DomainError(f"user id {self.id!r} must be lowercase letters, digits, . _ -")
        if not self.name.strip():
            raise DomainError(f"user {self.id}: a name is required")
        if not self.roles:
            raise DomainError(f"user {self.id}: at least one role is required")

    def actor(self) -> Actor:
        return Actor(self.id, "person", self.roles)


@dataclass(frozen=True)
class TokenRecord:
    digest: str  # SHA-256 hex of the token; the token itself is never stored
    user_id: str
    created_at: datetime
    revoked: bool = False
    label: str = ""


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is shown to its owner once and never again."""

    token: str = field(repr=False)
    record: TokenRecord


def issue_token(user: User, at: datetime, label: str = "") -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return IssuedToken(token, TokenRecord(token_digest(token), user.id, at, label=label))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: str, record: TokenRecord) -> bool:
    return hmac.compare_digest(token_digest(token), record.digest)


def authorize(user: User, operation: Operation) -> None:
    """Raise ``AccessDenied`` unless ``user`` is active and holds a role allowed ``operation``."""
    if not user.active:
        raise AccessDenied(f"user {user.id} has been removed", user.id)
    allowed = PERMISSIONS[operation]
    if not user.roles & allowed:
        roles = ", ".join(sorted(allowed))
        raise AccessDenied(
            f"{operation} needs one of: {roles}; {user.id} has {_roles(user.roles)}", user.id
        )


def _roles(roles: Iterable[Role]) -> str:
    return ", ".join(sorted(roles)) or "no role"
