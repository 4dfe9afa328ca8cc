"""The audit trail port: an append-only, hash-chained log of every state change and decision.

``AuditLog.append`` takes an ``AuditEntry`` and returns the sealed ``AuditRecord`` (next ``seq``,
the previous record's hash, its own hash over canonical JSON). Implementations: the in-memory log
here and ``mios.persistence.audit_log.SqlAuditLog``; both pass ``tests/contracts``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mios.domain.audit import AuditRecord


@dataclass(frozen=True)
class AuditEntry:
    """What happened, before the log numbers and seals it."""

    at: datetime
    actor_id: str
    event: str
    subject: str
    data: Mapping[str, Any] = field(default_factory=dict)
    actor_role: str | None = None
    reason: str | None = None


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> AuditRecord: ...

    def records(self, start_seq: int = 1) -> Iterator[AuditRecord]: ...

    def head(self) -> tuple[int, str]:
        """The last record's seq and hash; ``(0, GENESIS)`` when the log is empty."""
        ...
