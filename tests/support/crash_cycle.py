"""A process that runs one durable cycle and can kill itself (``os._exit``) at a chosen point,
for ``tests/integration/test_cycle_crash.py``. A second run without a crash point recovers.

    python -m tests.support.crash_cycle WORKSPACE EFFECTS_FILE [CRASH_POINT]

Crash points:

- ``plan``: inside the plan step, after it saved the cycle record (the step runs again);
- ``between``: at the second channel call, before it does anything (one action executed);
- ``after_receipt``: after the first action reached the channel and its receipt was kept,
  before the action is marked executed;
- ``before_measure``: when measuring starts, after every execution.

The channel appends one line per call to ``EFFECTS_FILE`` and dedupes nothing, so a second
call for a key would show as a second line. On success the process prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from mios.agents.protocol import AgentContext
from mios.bootstrap import open_lifecycle
from mios.channels.port import Receipt, admit
from mios.config import Settings
from mios.domain.action import Action
from mios.domain.channel import CONSENT_CHANNELS, ChannelName
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.domain.cycle import Cycle, CycleStage
from mios.domain.proposal import Proposal
from mios.lifecycle.cycle_store import CycleStore
from mios.lifecycle.services import QueueSettings, ReceiptLog
from tests.support.lifecycle import Agents, ScriptedAgent, send

PLAYBOOK = "weekly-growth"
SENDS = 4
CRASHED = 70  # the exit status of a process that killed itself on purpose


def consented_sends(ctx: AgentContext) -> list[Proposal]:
    """Four sends, each to five customers outside the EU who granted email consent."""
    table = ctx.customers
    granted = table.consent_status[:, CONSENT_CHANNELS.index(ChannelName.EMAIL)] == (
        CONSENT_CODES.index(ConsentStatus.GRANTED)
    )
    ok = granted & ~table.suppressed & ~table.region.eq("EU")
    ids = [str(i) for i in table.ids[ok][: SENDS * 5]]
    return [
        send(ctx, f"s{k}", None, customers=tuple(ids[5 * k : 5 * k + 5]), agent="crm")
        for k in range(SENDS)
    ]


def crash() -> None:
    sys.stdout.flush()
    os._exit(CRASHED)


class FileChannel:
    """Serves every channel; writes each call to a file and keeps nothing else."""

    def __init__(self, path: Path, crash_point: str | None) -> None:
        self.path = path
        self.crash_point = crash_point

    @property
    def channels(self) -> frozenset[ChannelName]:
        return frozenset(ChannelName)

    def execute(self, action: Action) -> Receipt:
        channel = admit(action, self.channels, closed=False)
        calls = self.lines()
        if self.crash_point == "between" and len(calls) == 1:
            crash()
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"key": action.idempotency_key, "action": action.id}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return Receipt(action.id, action.idempotency_key, channel, 5, f"file-{len(calls) + 1}")

    def lines(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def close(self) -> None:
        pass


class CrashingCycles:
    """The cycle store, killing the process when a cycle is saved at ``stage``."""

    def __init__(self, inner: CycleStore, stage: CycleStage | None) -> None:
        self.inner = inner
        self.stage = stage

    def save(self, cycle: Cycle, summary: Mapping[str, Any] | None = None) -> None:
        self.inner.save(cycle, summary)
        if self.stage is not None and cycle.stage is self.stage:
            crash()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CrashingReceipts:
    """The receipt log, killing the process once the first receipt is kept."""

    def __init__(self, inner: ReceiptLog, armed: bool) -> None:
        self.inner = inner
        self.armed = armed

    def get(self, key: str, /) -> Receipt | None:
        return self.inner.get(key)

    def put(self, receipt: Receipt, at: datetime) -> None:
        self.inner.put(receipt, at)
        if self.armed:
            crash()


def main(workspace: Path, effects: Path, crash_point: str | None) -> None:
    channel = FileChannel(effects, crash_point)
    lifecycle = open_lifecycle(
        workspace,
        Settings(),
        channels=dict.fromkeys(ChannelName, channel),
        polling_interval=0.05,
        # One execution at a time, so "the second call" is well defined.
        queues={ChannelName.EMAIL: QueueSettings(worker_concurrency=1)},
    )
    services = lifecycle.services
    services.agents = Agents(ScriptedAgent(consented_sends, name="crm"))
    services.checkers = ()  # the built-in checkers are tested elsewhere; here, sends must run
    stage = {"plan": CycleStage.DECIDE, "before_measure": CycleStage.MEASURE}.get(crash_point or "")
    services.cycles = CrashingCycles(services.cycles, stage)  # type: ignore[assignment]
    services.receipts = CrashingReceipts(services.receipts, crash_point == "after_receipt")
    with lifecycle:
        if crash_point is not None:
            lifecycle.durable.start_cycle(PLAYBOOK, 1)
        report = lifecycle.durable.wait(f"cycle-{PLAYBOOK}-1")
        store = services.command.store
        actions = {a.id: store.action(a.id) for a in report.actions}
        print(
            json.dumps(
                {
                    "cycle": report.cycle_id,
                    "stage": str(services.cycles.get(report.cycle_id).stage),  # type: ignore[union-attr]
                    "actions": {
                        i: {"state": str(a.state), "key": a.idempotency_key}
                        for i, a in actions.items()
                        if a is not None
                    },
                    "receipts": {
                        i: services.receipts.get(a.idempotency_key) is not None
                        for i, a in actions.items()
                        if a is not None
                    },
                }
            )
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
