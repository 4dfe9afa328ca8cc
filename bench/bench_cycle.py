"""One durable cycle over 100,000 customers with the five agents, on SQLite; the Marketing OS
issue's target:

    one cycle (plan, decide, review, execute, measure, learn), 100,000 customers   <= 20 s

The workspace is ``mios init``'s retail example with 100,000 generated customers (written
beforehand, not timed). The cycle is what ``mios run weekly-growth`` runs: the playbook's five
agents (research, analytics, content, advertising, crm) on the newest snapshot, the brain's
decisions, the review with the built-in checkers, the executions of what is allowed (to the
outbox: the workspace's channels say ``simulator`` and no market is behind them), measuring
and learning, every step checkpointed by DBOS in ``.mios/dbos.db``. Per-step times are read
from the cycle record (the time each stage was entered). No peer runs this loop.

    python bench/bench_cycle.py --customers 100000
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

TARGET = 20.0
PLAYBOOK = "weekly-growth"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=1, help="cycles in a row (each timed)")
    args = parser.parse_args()

    from mios.bootstrap import open_context_store
    from mios.cli.lifecycle_open import open_workspace_lifecycle
    from mios.config import Settings
    from mios.context.service import init_workspace
    from mios.domain.cycle import CycleStage

    settings = Settings()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "shop"
        began = time.perf_counter()
        init_workspace(
            root,
            lambda r: open_context_store(r, settings),
            actor="bench",
            customers=args.customers,
            seed=7,
        )
        print(
            f"workspace: {args.customers:,} customers, written in "
            f"{time.perf_counter() - began:.1f} s (not timed)"
        )
        began = time.perf_counter()
        lifecycle, _ = open_workspace_lifecycle(root, settings)
        lifecycle.launch()
        print(f"open and launch DBOS: {time.perf_counter() - began:.2f} s (once per process)")
        customers = len(lifecycle.services.context.snapshot().customers())
        print(f"customers in the cycle's snapshot: {customers:,}")
        try:
            for _ in range(args.cycles):
                began = time.perf_counter()
                report = lifecycle.durable.run_cycle(PLAYBOOK)
                seconds = time.perf_counter() - began
                cycle = lifecycle.services.cycles.get(report.cycle_id)
                assert cycle is not None
                assert cycle.finished_at is not None
                times = cycle.stage_times
                order = list(CycleStage)
                print(
                    f"\n{report.cycle_id}: {seconds:.2f} s (target <= {TARGET:.0f} s)"
                    f" {'met' if seconds <= TARGET else 'MISSED'}"
                )
                labels = {
                    CycleStage.PLAN: "plan (5 agents)",
                    CycleStage.DECIDE: "decide (brain)",
                    CycleStage.REVIEW: "review (governance)",
                    CycleStage.EXECUTE: "execute",
                    CycleStage.MEASURE: "measure",
                    CycleStage.OPTIMIZE: "learn",
                }
                for stage, after in itertools.pairwise(order):
                    if stage in times and after in times:
                        spent = (times[after] - times[stage]).total_seconds()
                        print(f"  {labels[stage]:<22} {spent:6.2f} s")
                inside = (cycle.finished_at - cycle.started_at).total_seconds()
                print(f"  {'queues and checkpoints':<22} {seconds - inside:6.2f} s (outside steps)")
                print(
                    f"  proposals {report.proposals}, selected "
                    f"{sum(str(d.status) == 'selected' for d in report.decisions)}, "
                    f"executed {len(report.executions)}, awaiting approval "
                    f"{len(report.awaiting_approval)}, learnings {len(report.learnings)}"
                )
        finally:
            lifecycle.close()


if __name__ == "__main__":
    main()
