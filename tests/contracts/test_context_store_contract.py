"""One contract for every ContextStore: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from mios.context.memory import InMemoryContextStore
from mios.context.store import ContextChange, ContextStore
from mios.domain.budget import EntryKind, LedgerEntry
from mios.domain.channel import ChannelName
from mios.domain.customer_table import CustomerTable
from mios.domain.history import ChannelHistory, ChannelWeek
from mios.domain.money import Money
from mios.domain.outcome import Learning, LearningStatus
from mios.errors import (
    BudgetExceeded,
    ContextError,
    DomainError,
    UnknownVersion,
    VersionConflict,
)
from mios.persistence.context_store import SqlContextStore
from mios.persistence.engine import create_database_engine, migrate
from tests.support.workspaces import minimal_spec, random_customers

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _sql_store(url: str, materialize_at: int) -> SqlContextStore:
    engine = create_database_engine(url)
    migrate(engine)
    return SqlContextStore(engine, clock=lambda: NOW, materialize_at=materialize_at)


@pytest.fixture(params=["memory", "sqlite", "sqlite-deltas", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[ContextStore]:
    """``sqlite-deltas`` never materializes, so every read rebuilds customers from row deltas."""
    if request.param == "memory":
        made: ContextStore = InMemoryContextStore(clock=lambda: NOW)
    elif request.param == "postgresql":
        made = _sql_store(request.getfixturevalue("pg_url"), materialize_at=50)
    else:
        threshold = 10**9 if request.param == "sqlite-deltas" else 50
        made = _sql_store(request.getfixturevalue("sqlite_url"), materialize_at=threshold)
    yield made
    made.close()


def _first(store: ContextStore, customers: int = 120) -> None:
    store.write(
        ContextChange(
            workspace=minimal_spec(), customers=random_customers(customers), replace_customers=True
        ),
        actor="test:setup",
        reason="first version",
    )


def _week(day: date, spend: str) -> ChannelWeek:
    usd = lambda amount: Money(Decimal(amount), "USD")  # noqa: E731
    return ChannelWeek(day, ChannelName.EMAIL, usd(spend), 1000, 50, 5, usd("250.00"))


def test_an_empty_store_has_no_versions(store: ContextStore) -> None:
    assert store.head() == 0
    assert store.changes() == []
    with pytest.raises(ContextError, match="empty"):
        store.snapshot()
    with pytest.raises(UnknownVersion):
        store.snapshot(1)


def test_the_first_version_must_carry_the_workspace(store: ContextStore) -> None:
    with pytest.raises(ContextError, match="workspace"):
        store.write(ContextChange(customers=random_customers(3)), actor="a", reason="no workspace")
    assert store.head() == 0


def test_every_write_makes_one_version_and_records_who_and_why(store: ContextStore) -> None:
    _first(store)
    record = store.write(
        ContextChange(history=ChannelHistory((_week(date(2026, 1, 5), "10.00"),))),
        actor="agent:research",
        reason="weekly history",
    )
    assert record.version == 2 == store.head()
    changes = store.changes()
    assert [c.version for c in changes] == [2, 1]
    assert changes[0].actor == "agent:research"
    assert changes[0].reason == "weekly history"
    assert changes[0].parts == ("history",)
    assert changes[0].summary == {"history_weeks": 1}
    assert changes[1].parts == ("workspace", "customers")
    assert changes[1].summary == {"customers_replaced": 120}
    assert changes[0].at == NOW
    assert [c.version for c in store.changes(limit=1)] == [2]


@pytest.mark.parametrize(
    ("actor", "reason", "message"),
    [("", "why", "actor"), ("who", " ", "reason")],
)
def test_a_change_names_its_actor_and_reason(
    store: ContextStore, actor: str, reason: str, message: str
) -> None:
    with pytest.raises(ContextError, match=message):
        store.write(ContextChange(workspace=minimal_spec()), actor=actor, reason=reason)
    assert store.head() == 0


def test_an_empty_change_is_refused(store: ContextStore) -> None:
    _first(store)
    with pytest.raises(ContextError, match="changes nothing"):
        store.write(ContextChange(), actor="a", reason="nothing")
    assert store.head() == 1


def test_old_snapshots_never_change(store: ContextStore) -> None:
    _first(store)
    before = store.snapshot(1)
    first_customers = before.customers()
    renamed = minimal_spec(workspace={"name": "Renamed", "currency": "USD", "time_zone": "UTC"})
    store.write(
        ContextChange(
            workspace=renamed,
            customers=random_customers(30, seed=9, prefix="N"),
            history=ChannelHistory((_week(date(2026, 1, 5), "10.00"),)),
        ),
        actor="a",
        reason="second",
    )
    store.write(ContextChange(remove_customers=("C0000000",)), actor="a", reason="third")
    again = store.snapshot(1)
    assert again.workspace.name == "Test Shop"
    assert again.history == ChannelHistory()
    assert again.customer_count == 120
    assert again.customers().equals(first_customers)
    assert again.customers().equals(random_customers(120))
    latest = store.snapshot()
    assert latest.version == 3
    assert latest.workspace.name == "Renamed"
    assert latest.customer_count == 149
    assert latest.customers().equals(
        random_customers(120).upsert(random_customers(30, seed=9, prefix="N")).without(["C0000000"])
    )
    assert store.snapshot(2).customer_count == 150


def test_upserts_replace_customers_by_id(store: ContextStore) -> None:
    _first(store)
    changed = random_customers(10, seed=42)  # same ids C0000000..9, other values
    store.write(ContextChange(customers=changed), actor="a", reason="update ten")
    table = store.snapshot().customers()
    assert len(table) == 120
    assert table.take(table.positions(changed.ids)).equals(changed)
    assert store.snapshot().customer_count == 120


def test_replace_makes_the_given_customers_the_whole_set(store: ContextStore) -> None:
    _first(store)
    fresh = random_customers(7, seed=3, prefix="R")
    store.write(ContextChange(customers=fresh, replace_customers=True), actor="a", reason="r")
    assert store.snapshot().customers().equals(fresh)
    assert store.snapshot().customer_count == 7
    assert store.snapshot(1).customer_count == 120


def test_removing_an_unknown_customer_writes_nothing(store: ContextStore) -> None:
    _first(store)
    with pytest.raises(DomainError, match="customer"):
        store.write(
            ContextChange(remove_customers=("C0000001", "nobody")), actor="a", reason="remove"
        )
    assert store.head() == 1
    assert store.snapshot().customer_count == 120
    assert len(store.snapshot().customers()) == 120


def test_duplicate_ids_in_one_change_are_refused(store: ContextStore) -> None:
    _first(store)
    doubled = CustomerTable.concat([random_customers(5), random_customers(2)])
    with pytest.raises(DomainError, match="duplicate customer id"):
        store.write(ContextChange(customers=doubled), actor="a", reason="dup")
    assert store.head() == 1


def test_a_stale_write_is_a_conflict(store: ContextStore) -> None:
    _first(store)
    store.write(ContextChange(remove_customers=("C0000003",)), actor="a", reason="b")
    with pytest.raises(VersionConflict):
        store.write(
            ContextChange(remove_customers=("C0000004",)), actor="a", reason="c", based_on=1
        )
    assert store.head() == 2
    store.write(ContextChange(remove_customers=("C0000004",)), actor="a", reason="c", based_on=2)
    assert store.head() == 3


def test_an_invalid_workspace_is_never_stored(store: ContextStore) -> None:
    _first(store)
    bad = minimal_spec(budgets={"sms": {"period": "monthly", "amount": "5"}})  # no sms channel
    with pytest.raises(DomainError, match="sms"):
        store.write(ContextChange(workspace=bad), actor="a", reason="bad")
    assert store.head() == 1


def test_ledger_entries_accumulate_per_version(store: ContextStore) -> None:
    _first(store)
    ledger = store.snapshot().ledger
    ledger = ledger.commit(ChannelName.EMAIL, Money(Decimal("600.00"), "USD"), NOW, "act-1")
    store.write(ContextChange(ledger_entries=ledger.entries), actor="brain", reason="commit")
    spend = LedgerEntry(
        ChannelName.EMAIL, EntryKind.SPEND, Money(Decimal("150.25"), "USD"), NOW, "act-1"
    )
    store.write(ContextChange(ledger_entries=(spend,)), actor="lifecycle", reason="spent")
    position = store.snapshot().ledger.position(ChannelName.EMAIL, NOW)
    assert position.committed == Money(Decimal("600.00"), "USD")
    assert position.spent == Money(Decimal("150.25"), "USD")
    assert position.available == Money(Decimal("249.75"), "USD")
    with pytest.raises(BudgetExceeded):
        store.snapshot().ledger.commit(
            ChannelName.EMAIL, Money(Decimal("249.76"), "USD"), NOW, "act-2"
        )
    assert store.snapshot(2).ledger.position(ChannelName.EMAIL, NOW).spent.amount == 0


def test_learnings_read_back_in_their_latest_state(store: ContextStore) -> None:
    _first(store)
    learning = Learning(
        id="L1",
        insight="Win-back emails convert better on Tuesdays",
        evidence=("cycle-3 lift 12%",),
        confidence=0.6,
        status=LearningStatus.PROPOSED,
        cycle_id="cycle-3",
        created_at=NOW,
    )
    store.write(ContextChange(learnings=(learning,)), actor="brain", reason="learn")
    validated = learning.validated(NOW, ("cycle-4 lift 10%",))
    store.write(ContextChange(learnings=(validated,)), actor="brain", reason="validate")
    assert store.snapshot().learnings == (validated,)
    assert store.snapshot(2).learnings == (learning,)
    assert store.snapshot(1).learnings == ()


def test_history_is_replaced_as_a_whole(store: ContextStore) -> None:
    _first(store)
    one = ChannelHistory((_week(date(2026, 1, 5), "10.00"),))
    two = ChannelHistory((_week(date(2026, 1, 5), "10.00"), _week(date(2026, 1, 12), "11.50")))
    store.write(ContextChange(history=one), actor="a", reason="h1")
    store.write(ContextChange(history=two), actor="a", reason="h2")
    assert store.snapshot(2).history == one
    assert store.snapshot(3).history == two


@pytest.mark.parametrize("version", [0, -1, 2])
def test_versions_that_were_never_written_are_unknown(store: ContextStore, version: int) -> None:
    _first(store)
    with pytest.raises(UnknownVersion):
        store.snapshot(version)


def test_the_snapshot_domain_view_is_built_from_the_spec(store: ContextStore) -> None:
    _first(store)
    snapshot = store.snapshot()
    assert snapshot.spec == minimal_spec()
    assert [s.id for s in snapshot.workspace.segments] == ["eu", "big"]
    eu = snapshot.workspace.segment("eu").mask(snapshot.customers())
    assert eu.sum() == (snapshot.customers().region.strings() == "EU").sum()


def test_customers_without_attributes_read_back(store: ContextStore) -> None:
    _first(store)
    plain = random_customers(4, seed=8, prefix="P")
    bare = CustomerTable(
        plain.ids,
        plain.region,
        plain.country,
        plain.time_zone,
        plain.suppressed,
        plain.suppression_reason,
        plain.consent_status,
        plain.consent_basis,
        plain.consent_at,
    )
    store.write(ContextChange(customers=bare), actor="a", reason="no attributes")
    table = store.snapshot().customers()
    got = table.take(table.positions(bare.ids))
    assert got.customer("P0000002") == bare.customer("P0000002")
    assert np.isnan(got.numeric["ltv"]).all()
    assert not got.categorical["tier"].present().any()


def test_one_change_may_not_both_change_and_remove_a_customer(store: ContextStore) -> None:
    _first(store)
    with pytest.raises(DomainError, match="both changed and removed"):
        store.write(
            ContextChange(customers=random_customers(2), remove_customers=("C0000001",)),
            actor="a",
            reason="ambiguous",
        )
    assert store.head() == 1
