"""Several DBOS workers on one PostgreSQL database executing one queue of actions, for
``tests/integration/test_two_workers.py`` and ``bench/bench_workers.py``.

    python -m tests.support.queue_workers DATABASE_URL WORKSPACE EFFECTS_FILE EXECUTOR_ID

runs one worker (the loop of ``mios worker``: ``mios.cli.lifecycle_open.serve``) whose channel
appends one line per call to ``EFFECTS_FILE`` and dedupes nothing, so an action executed twice
would show as two lines. ``Fleet`` prepares a fresh database (a workspace in it and ``n``
approved sends), starts the workers, enqueues every execution from outside them with a
``DBOSClient``, waits, stops the workers with SIGTERM, and counts.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mios.__about__ import __version__
from mios.channels.port import Receipt, admit
from mios.domain.action import Action
from mios.domain.channel import ChannelName
from mios.domain.proposal import ActionKind, Audience, Content

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "mios-email"
READY = "taking work"


class CountingChannel:
    """Serves every channel; one line per call (key, action, process), nothing deduped."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def channels(self) -> frozenset[ChannelName]:
        return frozenset(ChannelName)

    def execute(self, action: Action) -> Receipt:
        channel = admit(action, self.channels, closed=False)
        line = json.dumps({"key": action.idempotency_key, "action": action.id, "pid": os.getpid()})
        with self.path.open("a", encoding="utf-8") as out:
            fcntl.flock(out.fileno(), fcntl.LOCK_EX)
            out.write(line + "\n")
            out.flush()
        return Receipt(action.id, action.idempotency_key, channel, 1, f"count-{action.id}")

    def close(self) -> None:
        pass


def worker_main(url: str, workspace: Path, effects: Path, executor_id: str) -> None:
    from mios.bootstrap import open_lifecycle
    from mios.cli.lifecycle_open import serve
    from mios.config import Settings
    from mios.lifecycle.services import QueueSettings

    lifecycle = open_lifecycle(
        workspace,
        Settings(database_url=url),
        channels=dict.fromkeys(ChannelName, CountingChannel(effects)),
        polling_interval=0.05,
        executor_id=executor_id,
        queues={ChannelName.EMAIL: QueueSettings(worker_concurrency=8)},
    )

    def ready() -> None:
        print(f"{executor_id} {READY}", file=sys.stderr, flush=True)

    serve(lifecycle, grace=60, on_ready=ready)


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (DBOS keeps its schema ``dbos`` per database, so runs
    must not share one); dropped afterwards."""
    name = f"mios_workers_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str, workspace: Path, count: int) -> list[Action]:
    """A workspace in the database and ``count`` approved sends (each to one customer)."""
    from mios.bootstrap import human_command, open_context_store, open_governance
    from mios.config import Settings
    from mios.context.service import init_workspace

    settings = Settings(database_url=url)
    result = init_workspace(
        workspace,
        lambda root: open_context_store(root, settings),
        actor="test",
        customers=50,
        seed=1,
    )
    customer = str(result.snapshot.customers().ids[0])
    governance = open_governance(workspace, settings)
    now = datetime.now(UTC)
    actions = []
    try:
        command = human_command(governance, result.snapshot.workspace.guardrails)
        with command.transaction():
            for i in range(count):
                action = Action(
                    id=f"queued-{i:06d}",
                    proposal_id=f"p-{i:06d}",
                    kind=ActionKind.SEND_MESSAGE,
                    snapshot_version=result.snapshot.version,
                    channel=ChannelName.EMAIL,
                    audience=Audience(customer_ids=(customer,)),
                    content=Content("Hello", f"Message {i}."),
                )
                action.decide(now)
                action.approve(now, "test")
                governance.store.save_action(action)
                actions.append(action)
    finally:
        governance.close()
    return actions


def enqueue(url: str, actions: list[Action]) -> float:
    """Enqueue every execution from outside the workers; the seconds it took."""
    from dbos import DBOSClient

    from mios.lifecycle.durable import execution_id

    client = DBOSClient(system_database_url=url, application_name="mios")
    began = time.perf_counter()
    try:
        for action in actions:
            client.enqueue(
                {
                    "queue_name": QUEUE,
                    "workflow_name": "mios.execution",
                    "workflow_id": execution_id(action.id, action.version),
                    "app_version": __version__,
                },
                action.id,
                action.version,
            )
    finally:
        client.destroy()
    return time.perf_counter() - began


def finished(url: str) -> dict[str, int]:
    """Execution workflows by DBOS status."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT status, count(*) FROM dbos.workflow_status "
                    "WHERE name = 'mios.execution' GROUP BY status"
                )
            ).all()
    finally:
        engine.dispose()
    return {str(status): int(n) for status, n in rows}


@dataclass
class Tally:
    actions: int
    calls: int
    duplicates: int  # calls beyond the first for a key
    losses: int  # actions whose key never reached the channel
    by_worker: dict[int, int]
    states: dict[str, int]
    receipts: int
    seconds: float  # from the first enqueue to the last execution finished
    workflows: dict[str, int] = field(default_factory=dict)


def tally(url: str, workspace: Path, actions: list[Action], effects: Path, seconds: float) -> Tally:
    from mios.bootstrap import open_governance
    from mios.config import Settings
    from mios.persistence.receipt_log import SqlReceiptLog

    lines = [json.loads(line) for line in effects.read_text().splitlines() if line]
    calls = Counter(line["key"] for line in lines)
    keys = {a.idempotency_key for a in actions}
    governance = open_governance(workspace, Settings(database_url=url))
    try:
        states = Counter(
            str(found.state)
            for found in (governance.store.action(a.id) for a in actions)
            if found is not None
        )
        receipts = SqlReceiptLog(governance.engine)
        kept = sum(receipts.get(k) is not None for k in keys)
    finally:
        governance.close()
    return Tally(
        actions=len(actions),
        calls=len(lines),
        duplicates=sum(n - 1 for n in calls.values() if n > 1),
        losses=len(keys - set(calls)),
        by_worker=dict(Counter(int(line["pid"]) for line in lines)),
        states=dict(states),
        receipts=kept,
        seconds=seconds,
        workflows=finished(url),
    )


def start_worker(url: str, workspace: Path, effects: Path, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MIOS_DATABASE_URL": "", "PYTHONPATH": str(ROOT)}
    args = ["-m", "tests.support.queue_workers", url, str(workspace), str(effects), name]
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + 120
    while READY not in seen:
        line = process.stderr.readline()
        if (not line and process.poll() is not None) or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"worker {name} did not start: {seen}{process.stderr.read()}")
        seen += line
    return process


def run_fleet(admin_url: str, folder: Path, count: int, workers: int = 2) -> Tally:
    """Everything above, end to end, on a fresh database; the workers stop with SIGTERM."""
    with fresh_database(admin_url) as url:
        workspace = folder / "shop"
        effects = folder / "effects.jsonl"
        effects.touch()
        actions = prepare(url, workspace, count)
        # One at a time: the first launch creates DBOS's schema, the next ones find it.
        processes = [
            start_worker(url, workspace, effects, f"worker-{k + 1}") for k in range(workers)
        ]
        try:
            began = time.perf_counter()
            enqueue(url, actions)
            deadline = time.monotonic() + max(120.0, count / 5)
            while time.monotonic() < deadline:
                done = finished(url)
                if sum(done.values()) == count and set(done) <= {"SUCCESS", "ERROR"}:
                    break
                if any(p.poll() is not None for p in processes):
                    break
                time.sleep(0.2)
            seconds = time.perf_counter() - began
        finally:
            errors = _stop(processes)
        result = tally(url, workspace, actions, effects, seconds)
    if errors:
        raise RuntimeError("a worker did not stop cleanly:\n" + "\n".join(errors))
    return result


def _stop(processes: list[subprocess.Popen[str]]) -> list[str]:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    errors = []
    for process in processes:
        try:
            _, err = process.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        if process.returncode != 0:
            errors.append(f"exit {process.returncode}: {err[-2000:]}")
    return errors


def as_dict(result: Tally) -> dict[str, Any]:
    return {**result.__dict__, "by_worker": list(result.by_worker.values())}


if __name__ == "__main__":
    worker_main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
