"""The audit log on a real database: append-only enforcement, every kind of tampering found and
named, an edited export caught offline, and concurrent appends that never fork the chain.

Tampering is done the way an attacker with database access would: switch the append-only
triggers off (drop them on SQLite; ``session_replication_role = replica`` on PostgreSQL) and
edit the rows directly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Executable, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from mios.domain.audit import AuditRecord
from mios.domain.canonical import canonical_json
from mios.errors import StorageError
from mios.governance.audit import (
    AuditEntry,
    export_jsonl,
    read_jsonl,
    verify_log,
    verify_records,
)
from mios.persistence.audit_log import SqlAuditLog, record_row
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.tables import audit_log

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
COUNT = 30


def entry(n: int, actor: str = "system:lifecycle") -> AuditEntry:
    return AuditEntry(
        at=T0 + timedelta(seconds=n),
        actor_id=actor,
        actor_role=None if actor.startswith("system:") else "brand",
        event="action.state_changed",
        subject=f"action:act-{n:03d}",
        data={"from": "decided", "to": "approved", "n": n},
        reason=f"step {n}",
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = create_database_engine(database_url)
    migrate(made)
    yield made
    made.dispose()


@pytest.fixture
def log(engine: Engine) -> SqlAuditLog:
    filled = SqlAuditLog(engine, page=7)
    for n in range(1, COUNT + 1):
        filled.append(entry(n))
    return filled


def tamper(engine: Engine, *statements: Executable) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for name in ("audit_log_no_update", "audit_log_no_delete"):
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        for statement in statements:
            conn.execute(statement)


def row(seq: int) -> Any:
    return update(audit_log).where(audit_log.c.seq == seq)


def shift_from(seq: int) -> tuple[Executable, Executable]:
    """Move rows ``seq``.. one place up, in two steps so no two rows ever share a key."""
    return (
        update(audit_log).where(audit_log.c.seq >= seq).values(seq=-(audit_log.c.seq + 1)),
        update(audit_log).where(audit_log.c.seq < 0).values(seq=-audit_log.c.seq),
    )


def assert_broken(log: SqlAuditLog, seq: int, reason: str, head: Any = None) -> None:
    result = verify_log(log, head=head)
    assert not result.ok
    assert (result.first_bad_seq, result.reason) == (seq, reason)
    assert result.checked == seq - 1
    assert str(seq) in str(result)


# -- the database refuses -----------------------------------------------------------------------


def test_update_and_delete_are_refused_by_the_database(engine: Engine, log: SqlAuditLog) -> None:
    for statement in (
        "UPDATE audit_log SET actor_id = 'user:mallory' WHERE seq = 3",
        "DELETE FROM audit_log WHERE seq = 30",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    assert verify_log(log, head=log.head()).ok
    assert log.head()[0] == COUNT


# -- tampering is found and named ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("data", '{"from":"decided","n":17,"to":"executed"}'),
        ("actor_id", "user:mallory"),
        ("reason", "nothing to see"),
        ("at", T0 + timedelta(days=-1)),
        ("event", "action.cancelled"),
    ],
)
def test_a_changed_field_is_named(
    engine: Engine, log: SqlAuditLog, column: str, value: object
) -> None:
    tamper(engine, row(17).values({column: value}))
    assert_broken(log, 17, "record 17 was changed")


def test_a_row_changed_into_nonsense_is_named_and_cannot_be_read(
    engine: Engine, log: SqlAuditLog
) -> None:
    tamper(engine, row(5).values(data="not json {"))
    assert_broken(log, 5, "record 5 was changed")
    with pytest.raises(StorageError, match="record 5"):
        list(log.records())


def test_a_time_that_is_no_time_is_named(sqlite_url: str) -> None:
    """Only SQLite lets a time column hold any text; PostgreSQL's timestamptz refuses it."""
    engine = create_database_engine(sqlite_url)
    migrate(engine)
    log = SqlAuditLog(engine)
    for n in range(1, 11):
        log.append(entry(n))
    tamper(engine, text("UPDATE audit_log SET at = 'yesterday' WHERE seq = 9"))
    assert_broken(log, 9, "record 9 was changed")
    with pytest.raises(StorageError, match="record 9"):
        list(log.records())
    engine.dispose()


def test_a_record_resealed_after_a_change_is_named(engine: Engine, log: SqlAuditLog) -> None:
    records = list(log.records())
    forged = AuditRecord.create(
        seq=17,
        prev_hash=records[15].hash,
        at=records[16].at,
        actor_id="user:mallory",
        event=records[16].event,
        subject=records[16].subject,
        data=records[16].data,
    )
    tamper(engine, row(17).values(record_row(forged)))
    # Record 17 seals itself again; record 18 still links to what 17 was.
    assert_broken(log, 17, "record 17 was changed")


def test_a_removed_record_in_the_middle_is_named(engine: Engine, log: SqlAuditLog) -> None:
    tamper(engine, delete(audit_log).where(audit_log.c.seq == 17))
    assert_broken(log, 17, "record 17 is missing")


def test_a_removed_last_record_needs_the_head_kept_elsewhere(
    engine: Engine, log: SqlAuditLog
) -> None:
    kept = log.head()
    tamper(engine, delete(audit_log).where(audit_log.c.seq == COUNT))
    assert verify_log(log).ok  # a shorter chain is still a sound chain
    assert_broken(log, COUNT, "the log ends before the last known head", head=kept)


def test_a_rewritten_tail_does_not_match_the_head_kept_elsewhere(
    engine: Engine, log: SqlAuditLog
) -> None:
    kept = log.head()
    records = list(log.records())
    forged = AuditRecord.create(
        seq=COUNT,
        prev_hash=records[-2].hash,
        at=records[-1].at,
        actor_id="user:mallory",
        event="action.cancelled",
        subject=records[-1].subject,
    )
    tamper(engine, row(COUNT).values(record_row(forged)))
    assert verify_log(log).ok
    assert_broken(
        log,
        COUNT,
        f"record {COUNT} does not match the last known head; the log was rewritten up to it",
        head=kept,
    )


def test_an_inserted_record_is_named(engine: Engine, log: SqlAuditLog) -> None:
    junk = {**record_row(next(log.records(16))), "seq": 17, "hash": "f" * 64}
    tamper(engine, *shift_from(17), audit_log.insert().values(junk))
    assert_broken(log, 17, "a record was inserted at 17")


def test_an_inserted_record_sealed_in_place_is_named_at_the_first_record_it_displaced(
    engine: Engine, log: SqlAuditLog
) -> None:
    before = next(log.records(16))
    forged = AuditRecord.create(
        seq=17,
        prev_hash=before.hash,
        at=before.at + timedelta(milliseconds=1),
        actor_id="user:mallory",
        actor_role="admin",
        event="approval.granted",
        subject="action:act-999",
        reason="looked fine",
    )
    tamper(engine, *shift_from(17), audit_log.insert().values(record_row(forged)))
    # The forgery links and seals; the record after it was sealed one place earlier.
    assert_broken(log, 18, "a record was inserted before 18")


def test_two_swapped_records_are_named(engine: Engine, log: SqlAuditLog) -> None:
    with engine.connect() as conn:
        rows = {
            r.seq: r._asdict()
            for r in conn.execute(select(audit_log).where(audit_log.c.seq.in_([17, 18])))
        }
    swapped = (
        row(17).values({k: v for k, v in rows[18].items() if k != "seq"}),
        row(18).values({k: v for k, v in rows[17].items() if k != "seq"}),
    )
    tamper(engine, *swapped)
    assert_broken(log, 17, "records out of order at 17")


# -- an exported file ----------------------------------------------------------------------------


def test_an_export_verifies_offline_and_an_edit_to_it_is_named(
    log: SqlAuditLog, tmp_path: Path
) -> None:
    exported = tmp_path / "audit.jsonl"
    head = log.head()
    with exported.open("w", encoding="utf-8") as out:
        assert export_jsonl(log, out) == COUNT
    lines = exported.read_text(encoding="utf-8").removesuffix("\n").split("\n")
    first = next(log.records())
    assert lines[0] == canonical_json({**first.body(), "hash": first.hash})
    assert json.loads(lines[-1])["hash"] == head[1]
    with exported.open(encoding="utf-8") as read:
        assert verify_records(read_jsonl(read), head=head).ok

    edited = json.loads(lines[16])
    edited["data"]["to"] = "executed"
    exported.write_text(
        "\n".join([*lines[:16], canonical_json(edited), *lines[17:]]) + "\n", encoding="utf-8"
    )
    with exported.open(encoding="utf-8") as read:
        result = verify_records(read_jsonl(read), head=head)
    assert (result.first_bad_seq, result.reason) == (17, "record 17 was changed")

    result = verify_records(read_jsonl(lines[:16] + lines[17:]), head=head)
    assert (result.first_bad_seq, result.reason) == (17, "record 17 is missing")
    result = verify_records(read_jsonl(lines[:-1]), head=head)
    assert (result.first_bad_seq, result.reason) == (
        COUNT,
        "the log ends before the last known head",
    )


# -- concurrency ---------------------------------------------------------------------------------

THREADS = 4
APPENDS_EACH = 50


def test_concurrent_appends_never_fork_the_chain(database_url: str, engine: Engine) -> None:
    failures: list[BaseException] = []

    def appender(number: int) -> None:
        # Each thread has its own engine, as separate processes would.
        own = create_database_engine(database_url)
        log = SqlAuditLog(own)
        try:
            for i in range(APPENDS_EACH):
                log.append(entry(i, actor=f"user:w{number}"))
        except BaseException as exc:  # reported to the main thread below
            failures.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    log = SqlAuditLog(engine)
    records = list(log.records())
    assert [r.seq for r in records] == list(range(1, THREADS * APPENDS_EACH + 1))
    assert sorted((r.actor_id, r.data["n"]) for r in records) == sorted(
        (f"user:w{n}", i) for n in range(THREADS) for i in range(APPENDS_EACH)
    )
    result = verify_log(log, head=log.head())
    assert result.ok
    assert result.checked == THREADS * APPENDS_EACH
