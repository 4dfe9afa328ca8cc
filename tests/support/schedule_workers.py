"""Two schedulers in two worker processes on one PostgreSQL database reaching the same fire at
the same moment, for ``tests/integration/test_schedule_workers.py``.

    python -m tests.support.schedule_workers DATABASE_URL WORKSPACE EXECUTOR_ID GO_FILE

runs one worker (``mios.cli.lifecycle_open.serve`` with a ``Scheduler`` ticking every 0.1 s)
whose clock reads an hour before Monday 6 January 2025 07:00 UTC (when ``weekly-growth``
fires) until ``GO_FILE`` exists, and ten seconds after it from then on: the workers start
ticking the fire within a tick of each other. Each fire the worker enqueued is printed on
stderr as ``fired <cycle or skipped>``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mios.channels.memory import RecordingChannel
from mios.domain.channel import ChannelName

FIRE = datetime(2025, 1, 6, 7, 0, tzinfo=UTC)
READY = "taking work"


class GoClock:
    def __init__(self, go: Path) -> None:
        self.go = go

    def __call__(self) -> datetime:
        if self.go.exists():
            return FIRE + timedelta(seconds=10)
        return FIRE - timedelta(hours=1)


def worker_main(url: str, workspace: Path, executor_id: str, go: Path) -> None:
    from mios.bootstrap import open_lifecycle
    from mios.cli.lifecycle_open import serve
    from mios.config import Settings
    from mios.lifecycle.schedule import Fired, Scheduler

    lifecycle = open_lifecycle(
        workspace,
        Settings(database_url=url),
        channels=dict.fromkeys(ChannelName, RecordingChannel(list(ChannelName))),
        clock=GoClock(go),
        polling_interval=0.05,
        executor_id=executor_id,
    )

    def report(fire: Fired) -> None:
        print(f"fired {fire.cycle or fire.skipped}", file=sys.stderr, flush=True)

    scheduler = Scheduler(lifecycle.durable, report=report, since=FIRE - timedelta(hours=1))

    def ready() -> None:
        print(f"{executor_id} {READY}", file=sys.stderr, flush=True)

    serve(lifecycle, grace=60, on_ready=ready, scheduler=scheduler, tick=0.1)


if __name__ == "__main__":
    worker_main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
