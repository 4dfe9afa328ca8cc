"""The audit log: append-only, hash-chained records of every state change and human decision.

Each record carries the SHA-256 of the record before it over canonical JSON, so changing,
dropping, inserting or reordering a record breaks every link after it; ``verify_chain`` names
where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from mios.domain.canonical import canonical_json, sha256_hex
from mios.domain.clock import require_utc
from mios.errors import DomainError

GENESIS = "0" * 64


def audit_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """SHA-256 hex of ``prev_hash`` followed by the canonical JSON of the record body."""
    return sha256_hex(prev_hash + canonical_json(body))


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the append-only log. Build with ``create`` so ``hash`` seals the body.

    The constructor does not check ``hash``, so a tampered record loaded from storage can still
    be built and ``verify_chain`` can say where the chain breaks.
    """

    seq: int
    at: datetime
    actor_id: str
    actor_role: str | None
    event: str
    subject: str
    data: dict[str, Any]
    reason: str | None
    prev_hash: str
    hash: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "audit time"))
        object.__setattr__(self, "data", dict(self.data))
        if self.seq < 1:
            raise DomainError(f"audit seq must be >= 1, got {self.seq}")
        if not (self.actor_id.strip() and self.event.strip() and self.subject.strip()):
            raise DomainError(f"audit record {self.seq}: needs an actor, an event and a subject")
        canonical_json(self.data)  # refuses data that could not be hashed the same way again

    @classmethod
    def create(
        cls,
        *,
        seq: int,
        prev_hash: str,
        at: datetime,
        actor_id: str,
        event: str,
        subject: str,
        data: Mapping[str, Any] | None = None,
        actor_role: str | None = None,
        reason: str | None = None,
    ) -> AuditRecord:
        unsealed = cls(
            seq, at, actor_id, actor_role, event, subject, dict(data or {}), reason, prev_hash, ""
        )
        return replace(unsealed, hash=audit_hash(prev_hash, unsealed.body()))

    def body(self) -> dict[str, Any]:
        """Every field but ``hash``: what the hash covers."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "hash"}


def verify_chain(
    records: Iterable[AuditRecord],
    genesis: str = GENESIS,
    *,
    head: str | None = None,
    start_seq: int = 1,
) -> int | None:
    """The seq at which the chain first goes wrong, or ``None`` if it is intact.

    Records must be in order with consecutive seqs from ``start_seq``, each linking to the hash
    before it (``genesis`` for the first) and sealing its own body. The answer is the seq a sound
    chain has at the first bad position, so a dropped record is named by its own seq. Dropping the
    last records is only visible against a ``head`` hash kept elsewhere; give it to catch that.
    """
    prev, expected = genesis, start_seq
    for record in records:
        if (
            record.seq != expected
            or record.prev_hash != prev
            or record.hash != audit_hash(record.prev_hash, record.body())
        ):
            return expected
        prev, expected = record.hash, expected + 1
    if head is not None and prev != head:
        return expected
    return None
