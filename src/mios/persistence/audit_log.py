"""``AuditLog`` on SQLAlchemy: SQLite or PostgreSQL, one code path.

Appends are serialized across threads and processes: each reads the head and writes the next
seq in one transaction that holds the write lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL
advisory lock), so two appends can never both link to the same record. Reads walk the table in
keyset pages of ``seq``, so a million records stream in constant memory and no connection is
held between pages. The table is append-only in the database (migration 0002).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, text

from mios.domain.audit import GENESIS, AuditRecord
from mios.domain.canonical import canonical_json
from mios.errors import DomainError, StorageError
from mios.governance.audit import (
    AuditEntry,
    SealedRecord,
    check_start,
    refuse_secrets,
    seal,
)
from mios.persistence.engine import STORAGE_ERRORS, safe_url
from mios.persistence.engine import reason as failure_reason
from mios.persistence.shared_transaction import SharedTransaction
from mios.persistence.tables import audit_log

#: Key of the PostgreSQL advisory lock that serializes audit appends across processes
#: (772001 is migrations', 772002 the context store's).
_APPEND_LOCK = 772003
PAGE = 10_000

_HEAD = text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
# Plain text() so the drivers' own values come back: SQLite's stored time text, which may be
# anything after tampering, and PostgreSQL's aware datetime.
_PAGE = text(
    "SELECT seq, at, actor_id, actor_role, event, subject, data, reason, prev_hash, hash "
    "FROM audit_log WHERE seq >= :start ORDER BY seq LIMIT :limit"
)


def record_row(record: AuditRecord) -> dict[str, Any]:
    """The ``audit_log`` row of a sealed record."""
    return {
        "seq": record.seq,
        "at": record.at,
        "actor_id": record.actor_id,
        "actor_role": record.actor_role,
        "event": record.event,
        "subject": record.subject,
        "data": canonical_json(record.data),
        "reason": record.reason,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


class SqlAuditLog:
    """``shared``: inside its transaction, appends and reads use that transaction's connection,
    so a record commits together with the change it records."""

    def __init__(
        self, engine: Engine, page: int = PAGE, shared: SharedTransaction | None = None
    ) -> None:
        self._engine = engine
        self._page = page
        self._shared = shared

    def append(self, entry: AuditEntry) -> AuditRecord:
        refuse_secrets(entry.data)
        lent = self._shared.connection if self._shared is not None else None
        if lent is not None:
            # The shared transaction holds the append lock and commits (or rolls back) this.
            seq, prev = _head(lent)
            record = seal(entry, seq + 1, prev)
            lent.execute(insert(audit_log).values(record_row(record)))
            return record
        try:
            with self._engine.begin() as conn:
                _lock_for_appending(conn)
                seq, prev = _head(conn)
                record = seal(entry, seq + 1, prev)
                conn.execute(insert(audit_log).values(record_row(record)))
        except STORAGE_ERRORS as exc:
            where = safe_url(str(self._engine.url))
            raise StorageError(
                f"appending to the audit log in {where} failed: {failure_reason(exc)}"
            ) from exc
        return record

    def head(self) -> tuple[int, str]:
        with self._reading() as conn:
            return _head(conn)

    def records(self, start_seq: int = 1) -> Iterator[AuditRecord]:
        """Records in seq order. A row that cannot be read back (changed behind mios's back)
        is a ``StorageError``; ``verify_log`` names it instead."""
        return map(self._record, self.sealed(start_seq))

    def sealed(self, start_seq: int = 1) -> Iterator[SealedRecord]:
        check_start(start_seq)
        return self._pages(start_seq)

    def _pages(self, start: int) -> Iterator[SealedRecord]:
        while True:
            with self._reading() as conn:
                rows = conn.execute(_PAGE, {"start": start, "limit": self._page}).all()
            for seq, at, actor_id, role, event, subject, data, reason, prev, sealed in rows:
                yield SealedRecord(
                    seq, _time_text(at), actor_id, role, event, subject, data, reason, prev, sealed
                )
            if len(rows) < self._page:
                return
            start = rows[-1][0] + 1

    def _record(self, row: SealedRecord) -> AuditRecord:
        try:
            return row.record()
        except (ValueError, DomainError) as exc:
            where = safe_url(str(self._engine.url))
            raise StorageError(
                f"audit record {row.seq} in {where} cannot be read ({exc}); it was changed "
                "outside mios: verify the log"
            ) from exc

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        lent = self._shared.connection if self._shared is not None else None
        if lent is not None:
            yield lent
            return
        try:
            with self._engine.connect() as conn:
                yield conn
        except STORAGE_ERRORS as exc:
            where = safe_url(str(self._engine.url))
            raise StorageError(
                f"reading the audit log from {where} failed: {failure_reason(exc)}"
            ) from exc


def _lock_for_appending(conn: Connection) -> None:
    """Taken before the head is read; released at commit."""
    if conn.dialect.name == "sqlite":
        # A deferred transaction that read first fails (SQLITE_BUSY) when another process
        # wrote since; IMMEDIATE waits for the write lock instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")


def _head(conn: Connection) -> tuple[int, str]:
    found = conn.execute(_HEAD).first()
    return (0, GENESIS) if found is None else (int(found[0]), str(found[1]))


def _time_text(value: object) -> str:
    """Canonical UTC ISO 8601 of a stored time. SQLite keeps UTC as naive text; text that is no
    time is passed on as it is, so its record fails verification rather than the read."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    elif isinstance(value, datetime):
        moment = value
    else:
        return str(value)
    if moment.tzinfo is None:
        # What isoformat() gives for the same time in UTC, at half the cost of attaching it.
        return moment.isoformat() + "+00:00"
    return moment.astimezone(UTC).isoformat()
