"""One contract for every AuditLog: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mios.domain.audit import GENESIS, audit_hash
from mios.errors import DomainError
from mios.governance.audit import AuditEntry, AuditLog, InMemoryAuditLog, verify_log
from mios.persistence.audit_log import SqlAuditLog
from mios.persistence.engine import create_database_engine, migrate

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def log(request: pytest.FixtureRequest) -> Iterator[AuditLog]:
    if request.param == "memory":
        yield InMemoryAuditLog()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_database_engine(url)
    migrate(engine)
    yield SqlAuditLog(engine, page=4)  # a small page, so reading crosses page boundaries
    engine.dispose()


def entry(n: int, **changes: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "at": T0 + timedelta(minutes=n, microseconds=n * 7),
        "actor_id": f"user:ana-{n}",
        "event": "action.state_changed",
        "subject": f"action:act-{n:03d}",
        "data": {"from": "decided", "to": "approved", "spend": Decimal("12.50"), "n": n},
        "actor_role": "brand" if n % 2 else None,
        "reason": "within budget" if n % 3 else None,
        **changes,
    }
    return AuditEntry(**fields)


def fill(log: AuditLog, count: int) -> None:
    for n in range(1, count + 1):
        log.append(entry(n))


def test_an_empty_log_has_the_genesis_head_and_verifies(log: AuditLog) -> None:
    assert log.head() == (0, GENESIS)
    assert list(log.records()) == []
    result = verify_log(log, head=(0, GENESIS))
    assert result.ok
    assert result.checked == 0


def test_seqs_run_from_one_and_each_record_links_to_the_one_before(log: AuditLog) -> None:
    fill(log, 11)
    records = list(log.records())
    assert [r.seq for r in records] == list(range(1, 12))
    assert records[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
    for record in records:
        assert record.hash == audit_hash(record.prev_hash, record.body())
    assert log.head() == (11, records[-1].hash)


def test_append_returns_the_record_as_it_reads_back(log: AuditLog) -> None:
    appended = [log.append(entry(n)) for n in (1, 2, 3)]
    read = list(log.records())
    assert [r.hash for r in read] == [r.hash for r in appended]
    assert read[2].at == T0 + timedelta(minutes=3, microseconds=21)
    assert read[0].actor_role == "brand"
    assert read[1].actor_role is None
    assert read[2].reason is None
    assert read[0].reason == "within budget"
    # Money is kept as its canonical text, which is what the hash covers.
    assert read[0].data == {"from": "decided", "to": "approved", "spend": "12.5", "n": 1}


def test_records_can_start_at_any_seq(log: AuditLog) -> None:
    fill(log, 9)
    assert [r.seq for r in log.records(5)] == [5, 6, 7, 8, 9]
    assert [r.seq for r in log.records(9)] == [9]
    assert list(log.records(10)) == []
    with pytest.raises(DomainError, match="seq 1"):
        log.records(0)


def test_an_intact_log_verifies_with_and_without_its_head(log: AuditLog) -> None:
    fill(log, 10)
    result = verify_log(log, head=log.head())
    assert result.ok
    assert result.checked == 10
    assert result.first_bad_seq is None
    assert verify_log(log).ok
    assert "10 records" in str(result)


def test_a_head_kept_earlier_still_matches_after_more_appends(log: AuditLog) -> None:
    fill(log, 4)
    kept = log.head()
    log.append(entry(5))
    assert verify_log(log, head=kept).ok


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"token": "abc"}, "token"),
        ({"API_KEY": "abc"}, "API_KEY"),
        ({"X-Api-Key": "abc"}, "X-Api-Key"),
        (
            {"request": {"headers": {"Authorization": "Bearer abc"}}},
            "request.headers.Authorization",
        ),
        ({"users": [{"name": "ana"}, {"name": "bo", "Password": "pw"}]}, "users[1].Password"),
        ({"client_secret": "abc"}, "client_secret"),
        ({"refreshToken": "abc"}, "refreshToken"),
    ],
)
def test_data_with_secret_keys_is_refused_and_nothing_is_appended(
    log: AuditLog, data: dict[str, Any], key: str
) -> None:
    fill(log, 2)
    head = log.head()
    with pytest.raises(DomainError, match="secret") as caught:
        log.append(entry(3, data=data))
    assert repr(key) in str(caught.value)
    assert log.head() == head
    assert len(list(log.records())) == 2


def test_an_entry_the_domain_refuses_appends_nothing(log: AuditLog) -> None:
    fill(log, 1)
    with pytest.raises(DomainError):
        log.append(entry(2, actor_id=" "))
    with pytest.raises(DomainError, match="naive"):
        log.append(entry(2, at=datetime(2026, 11, 2, 9, 30)))
    assert log.head()[0] == 1
    assert log.append(entry(2)).seq == 2
