"""One contract for every OutcomeStore: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from mios.domain.channel import ChannelName
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.errors import DomainError
from mios.measure.outcomes import InMemoryOutcomeStore, OutcomeStore, OutcomeTotal
from mios.persistence.engine import create_database_engine, migrate
from mios.persistence.outcome_store import SqlOutcomeStore

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[OutcomeStore]:
    if request.param == "memory":
        yield InMemoryOutcomeStore()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_database_engine(url)
    migrate(engine)
    yield SqlOutcomeStore(engine, batch=3)  # a small batch, so one add crosses batches
    engine.dispose()


def outcome(n: int, **changes: Any) -> Outcome:
    fields: dict[str, Any] = {
        "id": f"out-{n:03d}",
        "kind": OutcomeKind.CLICK,
        "at": T0 + timedelta(minutes=n),
        "action_id": f"act-{n % 3}",
        "customer_id": f"C{n:05d}",
        "channel": ChannelName.EMAIL,
        **changes,
    }
    return Outcome(**fields)


def sale(n: int, amount: str, currency: str = "USD", **changes: Any) -> Outcome:
    return outcome(
        n, kind=OutcomeKind.CONVERSION, value=Money(Decimal(amount), currency), **changes
    )


def test_an_empty_store_has_nothing(store: OutcomeStore) -> None:
    assert store.count() == 0
    assert store.query() == []
    assert store.totals() == []
    assert store.get("out-001") is None


def test_add_counts_only_new_outcomes_and_the_same_id_twice_counts_once(
    store: OutcomeStore,
) -> None:
    assert store.add([outcome(n) for n in range(7)]) == 7
    assert store.add([outcome(n) for n in range(7)]) == 0
    assert store.add([outcome(n) for n in range(5, 10)]) == 3
    assert store.count() == 10


def test_within_one_add_the_first_outcome_of_an_id_wins(store: OutcomeStore) -> None:
    first = outcome(1, customer_id="first")
    again = outcome(1, customer_id="second")
    assert store.add([first, outcome(2), outcome(3), outcome(4), again]) == 4
    kept = store.get("out-001")
    assert kept is not None
    assert kept.customer_id == "first"


def test_an_outcome_reads_back_exactly(store: OutcomeStore) -> None:
    east = timezone(timedelta(hours=5))
    original = Outcome(
        id="sim/conv/eu",
        kind=OutcomeKind.CONVERSION,
        at=datetime(2026, 11, 2, 14, 0, 0, 123456, tzinfo=east),
        action_id="act-7",
        customer_id="C00042",
        channel=ChannelName.PAID_SOCIAL,
        value=Money(Decimal("1234.567891"), "EUR"),
        count=17,
        tracking_id="trk-abc",
        attributes={"offer": "winter", "findings": ["a", "b"], "nested": {"k": 1.5}},
    )
    store.add([original])
    read = store.get("sim/conv/eu")
    assert read == original
    assert read is not None
    assert read.at == datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC)
    assert read.at.tzinfo is not None
    assert read.value == Money(Decimal("1234.567891"), "EUR")
    bare = outcome(1, action_id=None, customer_id=None, channel=None)
    store.add([bare])
    assert store.get(bare.id) == bare


def test_query_filters_by_action_window_and_channel_in_time_order(store: OutcomeStore) -> None:
    store.add([outcome(n) for n in reversed(range(12))])
    store.add([outcome(20, action_id=None), outcome(21, channel=ChannelName.SMS)])
    everything = store.query()
    assert [o.id for o in everything] == sorted(o.id for o in everything)
    assert {o.action_id for o in store.query(action_ids=["act-1"])} == {"act-1"}
    assert len(store.query(action_ids=["act-1", "act-2"])) == 8
    assert store.query(action_ids=[]) == []
    window = store.query(since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=6))
    assert [o.id for o in window] == ["out-003", "out-004", "out-005"]
    assert [o.id for o in store.query(channel=ChannelName.SMS)] == ["out-021"]
    both = store.query(action_ids=["act-0"], since=T0 + timedelta(minutes=4))
    assert [o.id for o in both] == ["out-006", "out-009", "out-021"]
    assert all(o.action_id is not None for o in store.query(action_ids=["act-0", "act-1"]))


def test_ties_in_time_are_ordered_by_id(store: OutcomeStore) -> None:
    store.add([outcome(n, at=T0) for n in (5, 1, 3)])
    assert [o.id for o in store.query()] == ["out-001", "out-003", "out-005"]


def test_a_long_list_of_action_ids_is_answered_whole(store: OutcomeStore) -> None:
    store.add([outcome(n, action_id=f"act-{n}") for n in range(30)])
    wanted = [f"act-{n}" for n in range(0, 2_500)]
    assert len(store.query(action_ids=wanted)) == 30
    assert sum(t.count for t in store.totals(action_ids=wanted)) == 30


def test_totals_sum_by_action_kind_and_currency(store: OutcomeStore) -> None:
    store.add(
        [
            sale(1, "10.10", action_id="a"),
            sale(2, "0.000001", action_id="a", count=3),
            sale(3, "-5.00", action_id="a"),  # a refund
            sale(4, "7", "EUR", action_id="a"),
            outcome(5, action_id="a", count=100),
            outcome(6, action_id="b"),
            sale(7, "99.99", action_id=None),
        ]
    )
    assert store.totals() == [
        OutcomeTotal(None, OutcomeKind.CONVERSION, 1, 1, Money(Decimal("99.99"), "USD")),
        OutcomeTotal("a", OutcomeKind.CLICK, 100, 1, None),
        OutcomeTotal("a", OutcomeKind.CONVERSION, 1, 1, Money(Decimal("7"), "EUR")),
        OutcomeTotal("a", OutcomeKind.CONVERSION, 5, 3, Money(Decimal("5.100001"), "USD")),
        OutcomeTotal("b", OutcomeKind.CLICK, 1, 1, None),
    ]
    assert store.totals(action_ids=["b"]) == [OutcomeTotal("b", OutcomeKind.CLICK, 1, 1, None)]
    late = store.totals(since=T0 + timedelta(minutes=5))
    assert [t.action_id for t in late] == [None, "a", "b"]


def test_windows_must_be_timezone_aware(store: OutcomeStore) -> None:
    with pytest.raises(DomainError, match="since"):
        store.query(since=datetime(2026, 1, 1))
    with pytest.raises(DomainError, match="until"):
        store.totals(until=datetime(2026, 1, 1))


def test_adding_from_a_generator_reads_it_once(store: OutcomeStore) -> None:
    assert store.add(outcome(n) for n in range(8)) == 8
    assert store.count() == 8
