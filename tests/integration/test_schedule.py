"""The scheduler on real DBOS (SQLite) over a ``mios init`` workspace, with a clock the test
moves: a fire starts one cycle, however often it is ticked or enqueued; a stop over several
fires catches up once; a playbook whose latest cycle has not finished is skipped; and the
worker's loop (``serve``) ticks it in a thread.

The example workspace's ``weekly-growth`` fires Mondays at 07:00 UTC and ``winback-retention``
Tuesdays and Thursdays at 09:30 UTC; 6 January 2025 is a Monday."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dbos import DBOS

from mios.bootstrap import Lifecycle, open_lifecycle
from mios.channels.memory import RecordingChannel
from mios.cli.lifecycle_open import serve
from mios.config import Settings
from mios.domain.channel import ChannelName
from mios.domain.cycle import Cycle, CycleStage
from mios.lifecycle.schedule import Fired, Scheduler, fire_id, pick
from tests.support.cli import run

PLAYBOOK = "weekly-growth"
MONDAY_7 = datetime(2025, 1, 6, 7, 0, tzinfo=UTC)


class Clock:
    """The lifecycle's and the scheduler's clock; the test sets it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "shop"
    result = run("init", str(root), "--customers", "300", "--seed", "5")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def workspace(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(template, root)
    return root


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_7 - timedelta(hours=1))


def opened(workspace: Path, clock: Clock) -> Lifecycle:
    return open_lifecycle(
        workspace,
        Settings(),
        channels=dict.fromkeys(ChannelName, RecordingChannel(list(ChannelName))),
        clock=clock,
        polling_interval=0.05,
    )


@pytest.fixture
def lifecycle(workspace: Path, clock: Clock) -> Iterator[Lifecycle]:
    with opened(workspace, clock) as launched:
        yield launched


def cycles_of(lifecycle: Lifecycle, playbook: str = PLAYBOOK) -> list[Cycle]:
    return lifecycle.services.cycles.cycles(playbook)


def settle(lifecycle: Lifecycle, fired: list[Fired]) -> None:
    """Wait for the cycles the fires started."""
    for fire in fired:
        if fire.cycle is not None:
            lifecycle.durable.wait(fire.cycle)


def test_a_fire_starts_one_cycle_however_often_it_is_reached(
    lifecycle: Lifecycle, clock: Clock
) -> None:
    scheduler = Scheduler(lifecycle.durable)
    clock.now = MONDAY_7 - timedelta(seconds=1)
    before = scheduler.tick()
    clock.now = MONDAY_7 + timedelta(seconds=20)
    fired = scheduler.tick()
    settle(lifecycle, fired)
    clock.now = MONDAY_7 + timedelta(seconds=50)
    again = scheduler.tick()  # the same minute, the next tick
    restarted = Scheduler(lifecycle.durable).tick()  # a worker started again
    # A second worker that reached the same fire before the cycle was recorded enqueues it
    # too: the fire's workflow id makes that a no-op with the first one's outcome.
    duplicate = lifecycle.durable.fire(PLAYBOOK, MONDAY_7)
    outcome = lifecycle.durable.wait(duplicate)

    assert before == []
    assert fired == [
        Fired(
            PLAYBOOK, MONDAY_7, "schedule-weekly-growth-2025-01-06T07:00Z", f"cycle-{PLAYBOOK}-1", 1
        )
    ]
    assert again == restarted == []
    assert duplicate == fire_id(PLAYBOOK, MONDAY_7)
    assert outcome == fired[0]
    [cycle] = cycles_of(lifecycle)
    assert cycle.id == f"cycle-{PLAYBOOK}-1"
    assert cycle.is_done
    assert cycle.started_at == MONDAY_7 + timedelta(seconds=20)
    assert cycles_of(lifecycle, "winback-retention") == []  # not its day


def test_a_stop_over_several_fires_catches_up_once(lifecycle: Lifecycle, clock: Clock) -> None:
    scheduler = Scheduler(lifecycle.durable)
    clock.now = MONDAY_7 + timedelta(minutes=1)
    settle(lifecycle, scheduler.tick())
    # No worker for three weeks and two days: three Mondays and six winback fires missed.
    clock.now = MONDAY_7 + timedelta(weeks=3, days=2, hours=5)
    restarted = Scheduler(lifecycle.durable)
    caught_up = restarted.tick()
    settle(lifecycle, caught_up)
    clock.now += timedelta(minutes=5)
    later = restarted.tick()

    weekly = [f for f in caught_up if f.playbook == PLAYBOOK]
    assert [(f.at, f.cycle) for f in weekly] == [
        (MONDAY_7 + timedelta(weeks=3), f"cycle-{PLAYBOOK}-2")
    ]
    # winback-retention never ran, so the scheduler does not catch up on fires before it
    # was made: its first cycle waits for its next fire.
    assert all(f.playbook == PLAYBOOK for f in caught_up)
    assert later == []
    assert [c.number for c in cycles_of(lifecycle)] == [1, 2]


def test_a_playbook_whose_latest_cycle_is_unfinished_is_skipped(
    lifecycle: Lifecycle, clock: Clock
) -> None:
    scheduler = Scheduler(lifecycle.durable)
    # Cycle 1 started by hand an hour before the fire, still at its review.
    running = Cycle(f"cycle-{PLAYBOOK}-1", PLAYBOOK, 1, 1, started_at=clock.now)
    running.advance(CycleStage.REVIEW, clock.now)
    lifecycle.services.cycles.save(running)
    clock.now = MONDAY_7 + timedelta(seconds=5)
    skipped = scheduler.tick()
    started_meanwhile = DBOS.get_workflow_status(f"cycle-{PLAYBOOK}-2")
    running.finish(clock.now + timedelta(minutes=10))
    lifecycle.services.cycles.save(running)
    clock.now = MONDAY_7 + timedelta(minutes=20)
    after_it_finished = scheduler.tick()  # a skipped fire is not tried again
    clock.now = MONDAY_7 + timedelta(weeks=1, seconds=5)
    next_week = scheduler.tick()
    settle(lifecycle, next_week)

    assert [(f.cycle, f.skipped) for f in skipped] == [
        (None, f"cycle-{PLAYBOOK}-1 has not finished (it is at review)")
    ]
    assert started_meanwhile is None
    assert after_it_finished == []
    assert [f.cycle for f in next_week if f.playbook == PLAYBOOK] == [f"cycle-{PLAYBOOK}-2"]
    assert [c.number for c in cycles_of(lifecycle)] == [1, 2]


def test_a_next_cycle_already_queued_makes_a_fire_skip(lifecycle: Lifecycle) -> None:
    # A cycle is queued before its record is written; the fire asks DBOS about cycle n + 1.
    def first_enqueued(workflow: str) -> str | None:
        return "ENQUEUED" if workflow == f"cycle-{PLAYBOOK}-1" else None

    def none_yet(workflow: str) -> str | None:
        return None

    services = lifecycle.services
    queued = pick(services, PLAYBOOK, MONDAY_7, first_enqueued)
    free = pick(services, PLAYBOOK, MONDAY_7, none_yet)
    gone = pick(services, "no-such-playbook", MONDAY_7, none_yet)

    assert queued.skipped == f"cycle-{PLAYBOOK}-1 is already enqueued"
    assert queued.number is None
    assert (free.cycle, free.number, free.skipped) == (f"cycle-{PLAYBOOK}-1", 1, None)
    assert gone.skipped == "the playbook is no longer in the context"


def test_a_fire_after_a_cycle_that_failed_for_good_says_so(
    lifecycle: Lifecycle, clock: Clock
) -> None:
    stuck = Cycle(f"cycle-{PLAYBOOK}-1", PLAYBOOK, 1, 1, started_at=clock.now)
    stuck.advance(CycleStage.EXECUTE, clock.now)
    lifecycle.services.cycles.save(stuck)

    def failed(workflow: str) -> str | None:
        return "ERROR" if workflow == stuck.id else None

    fire = pick(lifecycle.services, PLAYBOOK, MONDAY_7, failed)

    assert fire.skipped == (
        f"cycle-{PLAYBOOK}-1 has not finished (it is at execute); its workflow ended ERROR, "
        "so no later fire starts a cycle either"
    )


def test_the_worker_loop_ticks_the_scheduler_in_a_thread(workspace: Path, clock: Clock) -> None:
    lifecycle = opened(workspace, clock)
    heard: list[Fired] = []
    scheduler = Scheduler(lifecycle.durable, report=heard.append)
    clock.now = MONDAY_7 + timedelta(seconds=10)

    def stop_when_a_cycle_is_done() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = lifecycle.services.cycles.get(f"cycle-{PLAYBOOK}-1")
            if found is not None and found.is_done:
                break
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=stop_when_a_cycle_is_done)
    watcher.start()
    stopped_by = serve(lifecycle, grace=30, on_ready=lambda: None, scheduler=scheduler, tick=0.2)
    watcher.join()

    assert stopped_by == "SIGINT"
    assert [f.cycle for f in heard] == [f"cycle-{PLAYBOOK}-1"]
