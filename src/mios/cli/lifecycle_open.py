"""What the lifecycle commands share: the workspace's channels wired from its ``channels``
section, the checks a playbook passes before anything starts, the durable lifecycle opened for
one command, and the hooks that start executions after an approval or a resume.

Connectors (``mios.yaml`` ``channels.<name>.connector``):

- ``simulator``: the simulated market exists only inside ``mios demo`` and the Python API
  (it needs a market behind it). A CLI run on a plain workspace never pretends to reach one:
  its actions are written to the **outbox**, ``<workspace>/.mios/outbox/<channel>-<day>.jsonl``
  (the export channel), so nothing leaves the machine;
- ``export``: the CSV/JSONL export channel; settings ``folder`` (relative to the workspace,
  default ``exports``) and ``format`` (``csv`` or ``jsonl``, default ``csv``);
- ``smtp`` and ``webhook`` need credentials and addresses the CLI does not wire yet: a run
  refuses them (exit 2) rather than send anything unexpected.

Nothing here reaches a network.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mios.config import DATA_DIR

if TYPE_CHECKING:
    from mios.bootstrap import Lifecycle
    from mios.channels.port import Channel
    from mios.config import Settings
    from mios.context.store import ContextSnapshot
    from mios.domain.channel import ChannelName
    from mios.domain.cycle import Playbook
    from mios.domain.workspace import Workspace
    from mios.lifecycle.schedule import Scheduler

#: Where actions on ``connector: simulator`` channels go when no market is behind them.
OUTBOX = "outbox"
CONNECTORS = ("simulator", "export", "smtp", "webhook")
_EXPORT_SETTINGS = frozenset({"folder", "format"})
#: How often the CLI's queues are polled (DBOS's default, 1 s, would add a second per step).
POLLING_INTERVAL = 0.1
_DBOS_CONSOLE = "__dbos_console_log_handler__"
_FINISHED = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


@dataclass(frozen=True)
class Wiring:
    """The channels of a workspace and, per channel, where its actions go (for people)."""

    channels: dict[ChannelName, Channel]
    where: dict[str, str]


def outbox(workspace: Path) -> Path:
    return workspace / DATA_DIR / OUTBOX


def workspace_channels(workspace: Path, shop: Workspace) -> Wiring:
    """One connector per enabled channel of ``shop``, as its ``channels`` section says.
    Raises ``InputError`` naming the field for an unknown connector or setting."""
    from mios.channels.export import ExportChannel
    from mios.errors import InputError

    groups: dict[tuple[Path, str], list[ChannelName]] = {}
    where: dict[str, str] = {}
    for config in shop.channels:
        if not config.enabled:
            where[str(config.name)] = "disabled"
            continue
        field = f"channels.{config.name}.connector"
        if config.connector == "simulator":
            folder, fmt = outbox(workspace), "jsonl"
            where[str(config.name)] = f"outbox {folder} (jsonl; no simulated market here)"
        elif config.connector == "export":
            folder, fmt = _export_settings(workspace, config.name, config.settings)
            where[str(config.name)] = f"export {folder} ({fmt})"
        elif config.connector in CONNECTORS:
            raise InputError.at(
                f"connector {config.connector!r} is not wired into the CLI yet (it needs "
                "credentials and addresses); use connector: export, or wire it in Python "
                "(docs/channels.md)",
                file="mios.yaml",
                field=field,
            )
        else:
            raise InputError.at(
                f"unknown connector {config.connector!r}; connectors: {', '.join(CONNECTORS)}",
                file="mios.yaml",
                field=field,
            )
        groups.setdefault((folder, fmt), []).append(config.name)
    channels: dict[ChannelName, Channel] = {}
    for (folder, fmt), names in groups.items():
        export = ExportChannel(folder, "csv" if fmt == "csv" else "jsonl", channels=names)
        channels.update(dict.fromkeys(names, export))
    return Wiring(channels, where)


def _export_settings(
    workspace: Path, name: ChannelName, settings: dict[str, Any]
) -> tuple[Path, str]:
    from mios.errors import InputError

    for key in settings:
        if key not in _EXPORT_SETTINGS:
            raise InputError.at(
                f"unknown setting {key!r} of the export connector; settings: folder, format",
                file="mios.yaml",
                field=f"channels.{name}.settings.{key}",
            )
    fmt = str(settings.get("format", "csv"))
    if fmt not in ("csv", "jsonl"):
        raise InputError.at(
            f'must be "csv" or "jsonl", got {fmt!r}',
            file="mios.yaml",
            field=f"channels.{name}.settings.format",
        )
    folder = Path(str(settings.get("folder", "exports")))
    return (folder if folder.is_absolute() else workspace / folder), fmt


def check_playbook(workspace: Path, snapshot: ContextSnapshot, name: str) -> None:
    """Refuse, before anything starts: invalid workspace files, a playbook the context does
    not know, a playbook file changed since the last sync, or an agent nobody provides."""
    from mios.agents.registry import AgentRegistry
    from mios.context.workspace_files import load_workspace
    from mios.errors import InputError

    if (workspace / "mios.yaml").is_file():
        files = load_workspace(workspace, with_customers=False).spec.playbooks
        stored = snapshot.spec.playbooks
        on_disk = next((f"playbooks/{s}.yaml" for s, b in files.items() if b.name == name), None)
        in_context = next((b for b in stored.values() if b.name == name), None)
        in_files = next((b for b in files.values() if b.name == name), None)
        if on_disk is not None and in_files != in_context:
            raise InputError.at(
                f"playbook {name!r} changed since the context was last synced (version "
                f"{snapshot.version}); record it first with: mios -w {workspace} context sync",
                file=on_disk,
            )
    known = [b.name for b in snapshot.workspace.playbooks]
    book = next((b for b in snapshot.workspace.playbooks if b.name == name), None)
    if book is None:
        raise InputError.at(
            f"no playbook named {name!r}; playbooks: {', '.join(known) or 'none'}",
            field="PLAYBOOK",
        )
    registry = AgentRegistry.discover()
    for agent in book.agents:
        try:
            registry.create(agent)
        except InputError as exc:
            raise InputError.at(f"playbook {name!r}: {exc}", field="agents") from exc


def open_workspace_lifecycle(
    workspace: Path,
    settings: Settings,
    *,
    executor_id: str | None = None,
    wiring: Wiring | None = None,
) -> tuple[Lifecycle, Wiring]:
    """The workspace's durable lifecycle on its configured channels; not launched yet."""
    from mios.bootstrap import open_context_store, open_lifecycle

    if wiring is None:
        store = open_context_store(workspace, settings)
        try:
            wiring = workspace_channels(workspace, store.snapshot().workspace)
        finally:
            store.close()
    _log_to_this_stderr()
    lifecycle = open_lifecycle(
        workspace,
        settings,
        channels=wiring.channels,
        polling_interval=POLLING_INTERVAL,
        executor_id=executor_id,
    )
    return lifecycle, wiring


def _log_to_this_stderr() -> None:
    """DBOS's console handler keeps the stderr of the moment DBOS was imported; point it at
    this command's (a test runner swaps stderr per command and closes the old one)."""
    import logging

    for handler in logging.getLogger("dbos").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.name == _DBOS_CONSOLE:
            handler.stream = sys.stderr  # not setStream: it flushes the closed one


def next_fire_rows(playbooks: Iterable[Playbook], after: datetime) -> list[dict[str, Any]]:
    """Per playbook: its cadence and next fire time after ``after`` (UTC, ISO), or ``None``
    and the ``problem`` for a cadence that never fires."""
    from mios.domain.cron import next_fire
    from mios.errors import DomainError

    rows = []
    for book in playbooks:
        row: dict[str, Any] = {"playbook": book.name, "cadence": book.cadence}
        try:
            row["next"], row["problem"] = next_fire(book.cadence, after).isoformat(), None
        except DomainError as exc:
            row["next"], row["problem"] = None, str(exc)
        rows.append(row)
    return rows


def default_executor_id() -> str:
    """Unique per worker process: the host, the process and a random part."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def wait_all(workflows: Iterable[str], timeout: float) -> dict[str, Any]:
    """Each workflow's result once it finished, or ``None`` for one still running at the
    deadline (it stays queued; a worker or the next run carries it out)."""
    from dbos import DBOS

    deadline = time.monotonic() + timeout
    results: dict[str, Any] = {}
    for workflow in workflows:
        results[workflow] = None
        while time.monotonic() < deadline:
            status = DBOS.get_workflow_status(workflow)
            if status is not None and status.status in _FINISHED:
                results[workflow] = DBOS.retrieve_workflow(workflow).get_result()
                break
            time.sleep(0.05)
    return results


def serve(
    lifecycle: Lifecycle,
    *,
    grace: int,
    on_ready: Callable[[], None],
    scheduler: Scheduler | None = None,
    tick: float = 30.0,
) -> str:
    """Run ``lifecycle``'s queues in this process until SIGINT or SIGTERM; then stop taking
    work, let what runs finish (up to ``grace`` seconds) and stop DBOS. The signal's name.
    With a ``scheduler``, a thread ticks it every ``tick`` seconds meanwhile, from the start."""
    from dbos import DBOS

    stop = threading.Event()
    received: list[str] = []

    def handler(number: int, _frame: object) -> None:
        received.append(signal.Signals(number).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        lifecycle.launch()
        on_ready()
        ticking = None
        if scheduler is not None:
            ticking = threading.Thread(
                target=scheduler.run, args=(stop, tick), name="mios-schedule", daemon=True
            )
            ticking.start()
        while not stop.wait(0.5):
            pass
        if ticking is not None:
            ticking.join(grace)  # a tick under way finishes its fires before DBOS stops
        # Stops the queue pollers first, then waits for the workflows this process runs.
        DBOS.destroy(destroy_registry=False, workflow_completion_timeout_sec=grace)
    finally:
        lifecycle.close()
        for number, old in previous.items():
            signal.signal(number, old)
    return received[0] if received else "stopped"


# -- hooks: an approval, a resume -------------------------------------------------------------


def cycle_actions_to_run(engine: Any, store: Any, only: str | None = None) -> list[str]:
    """Actions of cycles that are approved and have not run (``only``: that one, if so).
    Read without DBOS, so a command with nothing to start stays fast."""
    from mios.domain.action import ActionState
    from mios.persistence.cycle_store import SqlCycleStore

    found = []
    for cycle in SqlCycleStore(engine).cycles():
        for action_id in cycle.action_ids:
            if only is not None and action_id != only:
                continue
            action = store.action(action_id)
            if action is not None and action.state is ActionState.APPROVED:
                found.append(action_id)
    return found


@dataclass(frozen=True)
class Started:
    action_id: str
    workflow: str | None
    status: str  # executed, failed, paused, skipped, or queued (still running at the deadline)
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action_id,
            "workflow": self.workflow,
            "status": self.status,
            "note": self.note,
        }


def start_executions(
    workspace: Path, settings: Settings, action_ids: list[str] | None, *, timeout: float = 120.0
) -> list[Started]:
    """Enqueue the execution of each of ``action_ids`` (after an approval), or of every
    approved action not yet run (``None``: after a resume), and wait for them up to
    ``timeout`` seconds; what is still running then stays queued."""
    lifecycle, _ = open_workspace_lifecycle(workspace, settings)
    with lifecycle:
        durable = lifecycle.durable
        if action_ids is None:
            pairs: list[tuple[str | None, str]] = [
                (w, _action_of(w)) for w in durable.requeue_approved()
            ]
        else:
            pairs = [(durable.on_approved(a), a) for a in action_ids]
        results = wait_all([w for w, _ in pairs if w is not None], timeout)
    started = []
    for workflow, action_id in pairs:
        result = None if workflow is None else results.get(workflow)
        if workflow is None:
            started.append(Started(action_id, None, "skipped", "not approved"))
        elif result is None:
            started.append(Started(action_id, workflow, "queued", "still running"))
        else:
            started.append(Started(action_id, workflow, str(result.status), result.note))
    return started


def _action_of(workflow: str) -> str:
    """``exec-<action>-v<version>[-a<k>]`` -> ``<action>``."""
    body = workflow.removeprefix("exec-")
    head, _, tail = body.rpartition("-v")
    return head if tail.split("-")[0].isdigit() else body
