"""One contract for every CycleStore: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mios.domain.cycle import Cycle, CycleStage
from mios.errors import DomainError
from mios.lifecycle.cycle_store import CellCount, CycleStore, InMemoryCycleStore
from mios.persistence.cycle_store import SqlCycleStore
from mios.persistence.engine import create_database_engine, migrate

T0 = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[CycleStore]:
    if request.param == "memory":
        yield InMemoryCycleStore()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = create_database_engine(url)
    migrate(engine)
    yield SqlCycleStore(engine)
    engine.dispose()


def cycle(playbook: str = "weekly", number: int = 1) -> Cycle:
    return Cycle(f"cycle-{playbook}-{number}", playbook, number, 3, T0)


def test_a_cycle_reads_back_whole_after_every_stage(store: CycleStore) -> None:
    c = cycle()
    store.save(c, {"playbook": "weekly"})
    c.proposal_ids = ["p1", "p2"]
    c.advance(CycleStage.DECIDE, T0 + timedelta(seconds=1))
    c.action_ids = ["a1"]
    c.advance(CycleStage.EXECUTE, T0 + timedelta(seconds=2))
    c.finish(T0 + timedelta(seconds=3))
    store.save(c, {"proposals": 2})

    found = store.get(c.id)

    assert found is not None
    assert found is not c
    assert (found.stage, found.finished_at) == (CycleStage.DONE, T0 + timedelta(seconds=3))
    assert (found.proposal_ids, found.action_ids) == (["p1", "p2"], ["a1"])
    assert found.stage_times == c.stage_times
    assert found.snapshot_version == 3
    assert store.summary(c.id) == {"playbook": "weekly", "proposals": 2}
    assert store.summary("nope") == {}
    assert store.get("nope") is None


def test_what_a_caller_holds_is_a_copy(store: CycleStore) -> None:
    c = cycle()
    store.save(c)
    c.action_ids.append("changed later")
    found = store.get(c.id)
    assert found is not None
    found.proposal_ids.append("x")
    again = store.get(c.id)
    assert again is not None
    assert (again.action_ids, again.proposal_ids) == ([], [])


def test_cycles_are_listed_by_playbook_then_number(store: CycleStore) -> None:
    for playbook, number in [("weekly", 2), ("daily", 1), ("weekly", 1), ("weekly", 10)]:
        store.save(cycle(playbook, number))

    assert [c.id for c in store.cycles()] == [
        "cycle-daily-1",
        "cycle-weekly-1",
        "cycle-weekly-2",
        "cycle-weekly-10",
    ]
    assert [c.number for c in store.cycles("weekly")] == [1, 2, 10]
    assert store.last_number("weekly") == 10
    assert store.last_number("never") == 0


def test_two_cycles_cannot_share_a_playbook_and_number(store: CycleStore) -> None:
    store.save(cycle())
    clash = Cycle("another-id", "weekly", 1, 3, T0)
    with pytest.raises(DomainError, match="cycle 1 of playbook weekly"):
        store.save(clash)
    assert store.get("another-id") is None


def test_cells_are_replaced_per_cycle(store: CycleStore) -> None:
    a = CellCount("eu", "email", "-", "value", 100, 7, Decimal("210.50"))
    b = CellCount("big", "email", "pct-20", "-", 50, 2, Decimal("60"))
    store.save_cells("cycle-weekly-1", [a, b])
    store.save_cells("cycle-weekly-2", [a])
    store.save_cells("cycle-weekly-1", [b])  # the measure step ran again

    assert store.cells() == [b, a]
    store.save_cells("cycle-weekly-2", [])
    assert store.cells() == [b]


def test_a_cell_refuses_impossible_counts() -> None:
    with pytest.raises(DomainError, match="3 conversions from 2 sends"):
        CellCount("eu", "email", "-", "-", 2, 3)
    with pytest.raises(DomainError, match="revenue"):
        CellCount("eu", "email", "-", "-", 2, 1, Decimal(-1))
