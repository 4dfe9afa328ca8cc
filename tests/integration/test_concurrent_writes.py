"""Several writers at once on one database: every change lands exactly once, in one order."""

from __future__ import annotations

import threading

from mios.context.store import ContextChange
from mios.persistence.context_store import SqlContextStore
from mios.persistence.engine import create_database_engine, migrate
from tests.support.workspaces import minimal_spec, random_customers

WRITERS = 4
WRITES_EACH = 6


def test_concurrent_writers_each_land_once(database_url: str) -> None:
    setup = create_database_engine(database_url)
    migrate(setup)
    SqlContextStore(setup).write(
        ContextChange(workspace=minimal_spec(), customers=random_customers(20)),
        actor="setup",
        reason="first",
    )
    setup.dispose()
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        # Each thread has its own engine, as separate processes would.
        store = SqlContextStore(create_database_engine(database_url))
        try:
            for i in range(WRITES_EACH):
                fresh = random_customers(3, seed=number * 100 + i, prefix=f"W{number}-{i}-")
                store.write(ContextChange(customers=fresh), actor=f"w{number}", reason=f"{i}")
        except BaseException as exc:  # reported to the main thread below
            failures.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    store = SqlContextStore(create_database_engine(database_url))
    records = store.changes()
    assert [r.version for r in records] == list(range(1 + WRITERS * WRITES_EACH, 0, -1))
    assert sorted((r.actor, r.reason) for r in records[:-1]) == sorted(
        (f"w{n}", f"{i}") for n in range(WRITERS) for i in range(WRITES_EACH)
    )
    snapshot = store.snapshot()
    assert snapshot.customer_count == 20 + WRITERS * WRITES_EACH * 3
    assert len(snapshot.customers()) == snapshot.customer_count
    store.close()
