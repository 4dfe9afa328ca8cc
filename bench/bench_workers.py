"""Two workers on PostgreSQL, the Marketing OS issue's target:

    a queue of 10,000 approved actions executed by two worker processes     0 duplicates, 0 losses

Each worker is ``mios worker``'s loop (``mios.cli.lifecycle_open.serve``) with its own executor
id, on one fresh PostgreSQL database (DBOS's queues and checkpoints in its schema ``dbos``,
mios's tables beside them). The executions are enqueued from outside the workers with a
``DBOSClient`` on the queue ``mios-email``; each runs the three execution steps (spend the
approval and start, deliver under the idempotency key, finish) against a channel that writes one
line per call and dedupes nothing, so a duplicate would show. Timed: from the first enqueue to
the last execution finished. No peer: exactly-once delivery is the figure, the rate is context.

    python bench/bench_workers.py --actions 10000 --workers 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from tests.support.queue_workers import run_fleet

    try:
        engine = create_engine(args.pg_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except OperationalError as exc:
        print(f"skipped: PostgreSQL at {args.pg_url} cannot be reached ({exc.orig})")
        return
    with tempfile.TemporaryDirectory() as folder:
        result = run_fleet(args.pg_url, Path(folder), args.actions, workers=args.workers)
    rate = result.actions / result.seconds
    print(f"workers: {args.workers} on PostgreSQL, actions: {result.actions:,}")
    print(f"executions/s: {rate:,.1f} ({result.seconds:.1f} s from first enqueue to last done)")
    print(f"channel calls: {result.calls:,}; per worker: {sorted(result.by_worker.values())}")
    print(f"duplicates: {result.duplicates} (target 0)")
    print(f"losses: {result.losses} (target 0)")
    print(f"action states: {result.states}; receipts kept: {result.receipts:,}")
    print(f"DBOS workflows: {result.workflows}")
    ok = result.duplicates == 0 and result.losses == 0 and result.calls == result.actions
    print("target met" if ok else "TARGET MISSED")


if __name__ == "__main__":
    main()
