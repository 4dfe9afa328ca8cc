"""``ContextStore`` on SQLAlchemy: SQLite or PostgreSQL, one code path.

One write is one transaction: the version row, its documents, ledger entries, learnings and
customer rows commit together or not at all. Customer reads start from the newest columnar
materialization at or below the version and apply the row changes since.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from mios.bulk import paused_gc
from mios.context.codec import (
    entry_from_json,
    entry_to_json,
    history_from_json,
    history_to_json,
    learning_from_json,
    learning_to_json,
)
from mios.context.spec import WorkspaceSpec
from mios.context.store import (
    ChangeRecord,
    ContextChange,
    ContextSnapshot,
    Progress,
    check_version,
    check_write,
    latest_learnings,
    resolve_version,
)
from mios.domain.customer_table import CustomerTable
from mios.domain.history import ChannelHistory
from mios.errors import DomainError, StorageError, VersionConflict
from mios.persistence.customer_rows import pack, row_batches, table_from_rows, unpack
from mios.persistence.engine import STORAGE_ERRORS, safe_url
from mios.persistence.engine import reason as failure_reason
from mios.persistence.tables import (
    CUSTOMER_COLUMNS,
    context_documents,
    context_versions,
    customer_materializations,
    customers,
    learnings,
    ledger_entries,
)

#: A change touching at least this many customers also stores the full columnar set, so no
#: later read has to rebuild a large delta from rows.
MATERIALIZE_AT = 20_000
_WRITE_ATTEMPTS = 5
#: SQLite inserts of at least this many customers rebuild the customer indexes afterwards.
REBUILD_INDEXES_AT = 100_000
_ID_BATCH = 500  # ids per IN (...) list; well under every driver's parameter limit
_CUSTOMER_COLUMNS = [customers.c[name] for name in CUSTOMER_COLUMNS]


#: Key of the PostgreSQL advisory lock that serializes context writes across processes.
_WRITE_LOCK = 772002


def _lock_for_writing(conn: Connection) -> None:
    """Serialize context writes: each reads the head and appends the next version, so two at
    once would race for the same number. Taken before the head is read; released at commit."""
    if conn.dialect.name == "sqlite":
        # A deferred transaction that read first fails (SQLITE_BUSY) when another process
        # wrote since; IMMEDIATE waits for the write lock instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_WRITE_LOCK})")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqlContextStore:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime] = _utc_now,
        materialize_at: int = MATERIALIZE_AT,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._materialize_at = materialize_at

    # -- reading --------------------------------------------------------------------------------

    def head(self) -> int:
        with self._reading() as conn:
            return self._head(conn)

    def snapshot(self, version: int | None = None) -> ContextSnapshot:
        with self._reading() as conn:
            head = self._head(conn)
            version = resolve_version(version, head)
            spec_body = self._document(conn, "workspace", version)
            assert spec_body is not None  # the first version always carries the workspace
            history_body = self._document(conn, "history", version)
            entries = conn.execute(
                select(ledger_entries.c.body)
                .where(ledger_entries.c.version <= version)
                .order_by(ledger_entries.c.id)
            ).scalars()
            found = conn.execute(
                select(learnings.c.body)
                .where(learnings.c.version <= version)
                .order_by(learnings.c.id)
            ).scalars()
            count = conn.execute(
                select(context_versions.c.customer_count).where(
                    context_versions.c.version == version
                )
            ).scalar_one()
            pinned = version
            return ContextSnapshot(
                version=version,
                spec=WorkspaceSpec.model_validate_json(spec_body),
                history=ChannelHistory()
                if history_body is None
                else history_from_json(json.loads(history_body)),
                ledger_entries=tuple(entry_from_json(json.loads(b)) for b in entries),
                learnings=latest_learnings([learning_from_json(json.loads(b)) for b in found]),
                customer_count=int(count),
                load_customers=lambda: self.customers_at(pinned),
            )

    def customers_at(self, version: int) -> CustomerTable:
        with self._reading() as conn:
            check_version(version, self._head(conn))
            base_row = self._materialization(conn, version)
            base_version = 0 if base_row is None else base_row[0]
            base = CustomerTable.empty() if base_row is None else unpack(base_row[1])
            if base_version == version:
                return base
            removed = (
                conn.execute(
                    select(customers.c.customer_id).where(
                        customers.c.valid_from <= base_version,
                        customers.c.valid_to > base_version,
                        customers.c.valid_to <= version,
                    )
                )
                .scalars()
                .all()
            )
            added = conn.execute(
                select(*_CUSTOMER_COLUMNS).where(
                    customers.c.valid_from > base_version,
                    customers.c.valid_from <= version,
                    or_(customers.c.valid_to.is_(None), customers.c.valid_to > version),
                )
            ).all()
        table = base.without(removed) if removed else base
        return table.upsert(table_from_rows(added)) if added else table

    def changes(self, limit: int | None = None) -> list[ChangeRecord]:
        query = select(context_versions).order_by(context_versions.c.version.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [
            ChangeRecord(
                version=row.version,
                at=row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC),
                actor=row.actor,
                reason=row.reason,
                parts=tuple(json.loads(row.parts)),
                summary=json.loads(row.summary),
            )
            for row in rows
        ]

    # -- writing --------------------------------------------------------------------------------

    def write(
        self,
        change: ContextChange,
        *,
        actor: str,
        reason: str,
        based_on: int | None = None,
        progress: Progress | None = None,
    ) -> ChangeRecord:
        attempts = 1 if based_on is not None else _WRITE_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                with paused_gc(), self._engine.begin() as conn:
                    _lock_for_writing(conn)
                    return self._write(conn, change, actor, reason, based_on, progress)
            except IntegrityError as exc:
                # Another writer took the same version number between our read and our insert.
                # A change not based on a version applies as well on top of theirs: try again.
                if attempt == attempts:
                    raise VersionConflict(
                        "another change was written at the same time; retry"
                    ) from exc
            except STORAGE_ERRORS as exc:
                # Raw driver errors come from the PostgreSQL COPY path, which bypasses SQLAlchemy.
                raise StorageError(
                    f"writing to {safe_url(str(self._engine.url))} failed: {failure_reason(exc)}"
                ) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _write(
        self,
        conn: Connection,
        change: ContextChange,
        actor: str,
        reason: str,
        based_on: int | None,
        progress: Progress | None,
    ) -> ChangeRecord:
        head = self._head(conn)
        check_write(head, change, actor, reason, based_on)
        version = head + 1
        previous_count = 0 if head == 0 else self._customer_count(conn, head)
        record = ChangeRecord(
            version=version,
            at=self._clock(),
            actor=actor,
            reason=reason,
            parts=change.parts,
            summary=change.summary(),
        )
        conn.execute(
            insert(context_versions).values(
                version=version,
                at=record.at,
                actor=actor,
                reason=reason,
                parts=json.dumps(record.parts),
                summary=json.dumps(record.summary),
                customer_count=previous_count,
            )
        )
        if change.workspace is not None:
            self._put_document(conn, "workspace", version, change.workspace.model_dump_json())
        if change.history is not None:
            body = json.dumps(history_to_json(change.history))
            self._put_document(conn, "history", version, body)
        if change.ledger_entries:
            conn.execute(
                insert(ledger_entries),
                [
                    {"version": version, "body": json.dumps(entry_to_json(e))}
                    for e in change.ledger_entries
                ],
            )
        if change.learnings:
            conn.execute(
                insert(learnings),
                [
                    {
                        "version": version,
                        "learning_id": item.id,
                        "body": json.dumps(learning_to_json(item)),
                    }
                    for item in change.learnings
                ],
            )
        if "customers" in change.parts:
            count = self._write_customers(conn, change, version, head, previous_count, progress)
            conn.execute(
                update(context_versions)
                .where(context_versions.c.version == version)
                .values(customer_count=count)
            )
        return record

    def _write_customers(
        self,
        conn: Connection,
        change: ContextChange,
        version: int,
        head: int,
        previous_count: int,
        progress: Progress | None,
    ) -> int:
        current = customers.c.valid_to.is_(None)
        if change.replace_customers:
            conn.execute(update(customers).where(current).values(valid_to=version))
            count = 0
        else:
            count = previous_count
        incoming = change.customers
        if incoming is not None and not change.replace_customers and previous_count:
            count -= self._close(conn, incoming.ids.tolist(), version)
        if change.remove_customers:
            closed = self._close(conn, list(change.remove_customers), version)
            if closed != len(set(change.remove_customers)):
                raise DomainError("cannot remove customer ids that are not in the context")
            count -= closed
        if incoming is not None:
            self._insert_rows(conn, incoming, version, progress)
            count += len(incoming)
        touched = (0 if incoming is None else len(incoming)) + len(change.remove_customers)
        if change.replace_customers or touched >= self._materialize_at:
            if change.replace_customers and incoming is not None:
                full = incoming
            else:
                full = self._customers_in(conn, head, change)
            conn.execute(
                insert(customer_materializations).values(
                    version=version, row_count=len(full), payload=pack(full)
                )
            )
        return count

    def _customers_in(self, conn: Connection, head: int, change: ContextChange) -> CustomerTable:
        """The full set after ``change``: read the head before this transaction's rows land."""
        del conn  # the head's customers are committed; a separate read sees exactly them
        table = self.customers_at(head) if head else CustomerTable.empty()
        if change.customers is not None:
            table = table.upsert(change.customers)
        return table.without(list(change.remove_customers)) if change.remove_customers else table

    def _close(self, conn: Connection, ids: list[str], version: int) -> int:
        """End the current row of each id at ``version``; returns how many rows were closed."""
        closed = 0
        statement = (
            update(customers)
            .where(customers.c.valid_to.is_(None))
            .where(customers.c.customer_id.in_(bindparam("ids", expanding=True)))
            .values(valid_to=version)
        )
        for start in range(0, len(ids), _ID_BATCH):
            result = conn.execute(statement, {"ids": ids[start : start + _ID_BATCH]})
            closed += result.rowcount
        return closed

    def _insert_rows(
        self, conn: Connection, table: CustomerTable, version: int, progress: Progress | None
    ) -> None:
        done = 0
        if conn.dialect.name == "postgresql":
            raw: Any = conn.connection.driver_connection
            names = ", ".join(CUSTOMER_COLUMNS)
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY customers ({names}) FROM STDIN") as copy,
            ):
                for batch in row_batches(table, version):
                    for row in batch:
                        copy.write_row(row)
                    done += len(batch)
                    if progress:
                        progress(done, len(table))
            return
        marks = ", ".join("?" for _ in CUSTOMER_COLUMNS)
        sql = f"INSERT INTO customers ({', '.join(CUSTOMER_COLUMNS)}) VALUES ({marks})"
        # Building an index once over sorted rows is about twice as fast as keeping it up to date
        # through a million inserts. The drop and rebuild happen inside this write transaction:
        # WAL readers keep seeing the committed table, and a rollback restores the indexes.
        rebuild = len(table) >= REBUILD_INDEXES_AT
        if rebuild:
            for index in customers.indexes:
                index.drop(conn)
        for batch in row_batches(table, version):
            conn.exec_driver_sql(sql, batch)
            done += len(batch)
            if progress:
                progress(done, len(table))
        if rebuild:
            for index in customers.indexes:
                index.create(conn)

    # -- helpers --------------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for reads; database failures become one ``StorageError`` line."""
        try:
            with self._engine.connect() as conn:
                yield conn
        except STORAGE_ERRORS as exc:
            where = safe_url(str(self._engine.url))
            raise StorageError(f"reading from {where} failed: {failure_reason(exc)}") from exc

    @staticmethod
    def _materialization(conn: Connection, version: int) -> tuple[int, bytes] | None:
        """The newest columnar blob at or below ``version``."""
        query = (
            select(customer_materializations.c.version, customer_materializations.c.payload)
            .where(customer_materializations.c.version <= bindparam("version"))
            .order_by(customer_materializations.c.version.desc())
            .limit(1)
        )
        if conn.dialect.name == "postgresql":
            # Fetched in binary: the default text protocol sends bytea as hex and decoding
            # that took longer than the whole rest of loading a million customers.
            raw: Any = conn.connection.driver_connection
            compiled = query.compile(dialect=conn.dialect)
            with raw.cursor(binary=True) as cursor:
                params = {**compiled.params, "version": version}
                found = cursor.execute(str(compiled), params).fetchone()
        else:
            found = conn.execute(query, {"version": version}).first()
        return None if found is None else (int(found[0]), bytes(found[1]))

    @staticmethod
    def _head(conn: Connection) -> int:
        return int(conn.execute(select(func.max(context_versions.c.version))).scalar() or 0)

    @staticmethod
    def _customer_count(conn: Connection, version: int) -> int:
        return int(
            conn.execute(
                select(context_versions.c.customer_count).where(
                    context_versions.c.version == version
                )
            ).scalar_one()
        )

    @staticmethod
    def _document(conn: Connection, part: str, version: int) -> str | None:
        body = conn.execute(
            select(context_documents.c.body)
            .where(and_(context_documents.c.part == part, context_documents.c.version <= version))
            .order_by(context_documents.c.version.desc())
            .limit(1)
        ).scalar()
        return None if body is None else str(body)

    @staticmethod
    def _put_document(conn: Connection, part: str, version: int, body: str) -> None:
        conn.execute(insert(context_documents).values(part=part, version=version, body=body))

    def close(self) -> None:
        self._engine.dispose()
