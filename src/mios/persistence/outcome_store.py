"""``OutcomeStore`` on SQLAlchemy (table ``outcomes``): SQLite or PostgreSQL, one code path.

Ingestion is a bulk ``INSERT ... ON CONFLICT (id) DO NOTHING`` in the dialect's own insert
construct, run as one executemany per batch, each batch its own transaction: a crash keeps
the batches already committed, and adding the same outcomes again stores only what is missing,
so a retry after any failure is safe. The count of new outcomes is the driver's row count,
which for DO NOTHING counts only the rows actually inserted.

Money is kept as Decimal text, so it is exact in both engines; sums are made in Python.
Times are UTC (SQLite keeps them as text without an offset, which sorts as time does).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from mios.domain.canonical import canonical_json
from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import StorageError
from mios.measure.outcomes import OutcomeFilter, OutcomeTotal, sum_totals
from mios.persistence.engine import STORAGE_ERRORS, safe_url
from mios.persistence.engine import reason as failure_reason
from mios.persistence.tables import outcomes as table

BATCH = 5_000
#: Rows fetched per round trip when reading.
_READ_CHUNK = 10_000
_EMPTY_ATTRIBUTES = "{}"
_IDS_PER_QUERY = 1_000


def outcome_row(outcome: Outcome) -> dict[str, Any]:
    """The ``outcomes`` row of one outcome."""
    value = outcome.value
    return {
        "id": outcome.id,
        "kind": outcome.kind.value,
        "at": outcome.at,
        "action_id": outcome.action_id,
        "customer_id": outcome.customer_id,
        "channel": None if outcome.channel is None else outcome.channel.value,
        "amount": None if value is None else str(value.amount),
        "currency": None if value is None else value.currency,
        "count": outcome.count,
        "tracking_id": outcome.tracking_id,
        "attributes": canonical_json(outcome.attributes)
        if outcome.attributes
        else _EMPTY_ATTRIBUTES,
    }


class SqlOutcomeStore:
    def __init__(self, engine: Engine, batch: int = BATCH) -> None:
        if batch < 1:
            raise ValueError("batch must be >= 1")
        self._engine = engine
        self._batch = batch
        dialect = engine.dialect.name
        self._insert: Insert
        if dialect == "postgresql":
            self._insert = postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"])
        elif dialect == "sqlite":
            self._insert = sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"])
        else:
            raise StorageError(f"outcomes need SQLite or PostgreSQL, not {dialect}")

    def add(self, outcomes: Iterable[Outcome]) -> int:
        added = 0
        items = iter(outcomes)
        while batch := [outcome_row(o) for o in islice(items, self._batch)]:
            added += self._insert_batch(batch)
        return added

    def _insert_batch(self, rows: list[dict[str, Any]]) -> int:
        try:
            with self._engine.begin() as conn:
                # Kept before the cursor closes: for DO NOTHING it counts the rows inserted.
                result = conn.execution_options(preserve_rowcount=True).execute(self._insert, rows)
                return int(result.rowcount)
        except STORAGE_ERRORS as exc:
            raise StorageError(
                f"storing outcomes in {safe_url(str(self._engine.url))} failed: "
                f"{failure_reason(exc)}"
            ) from exc

    def get(self, outcome_id: str) -> Outcome | None:
        with self._reading() as conn:
            row = conn.execute(select(table).where(table.c.id == outcome_id)).first()
        return None if row is None else _outcome(row._mapping)

    def query(
        self,
        *,
        action_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        channel: ChannelName | None = None,
    ) -> list[Outcome]:
        wanted = OutcomeFilter.of(action_ids, since, until, channel)
        with self._reading() as conn:
            found = [
                _outcome(row._mapping)
                for statement in _statements(select(table), wanted)
                for row in _stream(conn, statement)
            ]
        # Sorted here, not in SQL: PostgreSQL's collation may order ids unlike Python does.
        return sorted(found, key=lambda o: (o.at, o.id))

    def totals(
        self,
        *,
        action_ids: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        channel: ChannelName | None = None,
    ) -> list[OutcomeTotal]:
        wanted = OutcomeFilter.of(action_ids, since, until, channel)
        columns = (table.c.action_id, table.c.kind, table.c.count, table.c.amount)
        with self._reading() as conn:
            return sum_totals(
                (action, kind, count, None if amount is None else Decimal(amount), currency)
                for statement in _statements(select(*columns, table.c.currency), wanted)
                for action, kind, count, amount, currency in _stream(conn, statement)
            )

    def count(self) -> int:
        with self._reading() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def close(self) -> None:
        """Dispose of the engine's connections (the store was given the engine to own)."""
        self._engine.dispose()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except STORAGE_ERRORS as exc:
            raise StorageError(
                f"reading outcomes from {safe_url(str(self._engine.url))} failed: "
                f"{failure_reason(exc)}"
            ) from exc


def _statements(statement: Select[Any], wanted: OutcomeFilter) -> Iterator[Select[Any]]:
    """``statement`` filtered as ``wanted`` says; one per slice of the action ids, so a long
    list stays under the drivers' limits on bound parameters."""
    if wanted.action_ids is None:
        yield _filtered(statement, wanted, None)
        return
    ids = sorted(wanted.action_ids)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield _filtered(statement, wanted, ids[start : start + _IDS_PER_QUERY])


def _filtered(
    statement: Select[Any], wanted: OutcomeFilter, action_ids: list[str] | None
) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    if action_ids is not None:
        conditions.append(table.c.action_id.in_(action_ids))
    if wanted.since is not None:
        conditions.append(table.c.at >= wanted.since)
    if wanted.until is not None:
        conditions.append(table.c.at < wanted.until)
    if wanted.channel is not None:
        conditions.append(table.c.channel == wanted.channel.value)
    return statement.where(*conditions) if conditions else statement


def _stream(conn: Connection, statement: Select[Any]) -> Iterator[Any]:
    result = conn.execution_options(yield_per=_READ_CHUNK).execute(statement)
    yield from result


def _outcome(row: Any) -> Outcome:
    amount, currency = row["amount"], row["currency"]
    channel = row["channel"]
    attributes = row["attributes"]
    at: datetime = row["at"]
    return Outcome(
        id=row["id"],
        kind=OutcomeKind(row["kind"]),
        at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),
        action_id=row["action_id"],
        customer_id=row["customer_id"],
        channel=None if channel is None else ChannelName(channel),
        value=None if amount is None else Money(Decimal(amount), currency),
        count=row["count"],
        tracking_id=row["tracking_id"],
        attributes={} if attributes == _EMPTY_ATTRIBUTES else json.loads(attributes),
    )
