"""Random sequences of customer writes read back the same from SQL as from memory, at every
version, whatever mix of materializations and row deltas the SQL store used."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mios.context.memory import InMemoryContextStore
from mios.context.store import ContextChange
from mios.persistence.context_store import SqlContextStore
from mios.persistence.engine import create_database_engine, migrate
from tests.support.workspaces import minimal_spec, random_customers

operation = st.one_of(
    st.tuples(st.just("upsert"), st.integers(1, 40), st.integers(0, 10_000)),
    st.tuples(st.just("replace"), st.integers(1, 40), st.integers(0, 10_000)),
    st.tuples(st.just("remove"), st.integers(1, 5), st.integers(0, 10_000)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=8), threshold=st.integers(1, 60))
def test_sql_and_memory_agree_at_every_version(
    operations: list[tuple[str, int, int]], threshold: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_database_engine(f"sqlite:///{Path(folder) / 'm.db'}")
        migrate(engine)
        stores = [InMemoryContextStore(), SqlContextStore(engine, materialize_at=threshold)]
        first = ContextChange(
            workspace=minimal_spec(), customers=random_customers(30), replace_customers=True
        )
        for store in stores:
            store.write(first, actor="t", reason="first")
        for kind, size, seed in operations:
            current = stores[0].snapshot().customers()
            if kind == "remove":
                if len(current) == 0:
                    continue
                rng = np.random.default_rng(seed)
                picked = rng.choice(current.ids, size=min(size, len(current)), replace=False)
                change = ContextChange(remove_customers=tuple(str(i) for i in picked))
            else:
                # Ids C0000000.. overlap the existing ones, so upserts both update and add.
                fresh = random_customers(size, seed=seed)
                change = ContextChange(customers=fresh, replace_customers=kind == "replace")
            for store in stores:
                store.write(change, actor="t", reason=kind)
        memory, sql = stores
        assert memory.head() == sql.head()
        for version in range(1, memory.head() + 1):
            expected = memory.snapshot(version)
            got = sql.snapshot(version)
            assert got.customer_count == expected.customer_count
            assert got.customers().equals(expected.customers()), f"version {version}"
        sql.close()
