"""Durable cycles on DBOS Transact: every stage a checkpointed step, every execution a workflow
of its own on its channel's queue.

    lifecycle = DurableLifecycle(services, DurableConfig("sqlite:///shop/.mios/dbos.db"))
    lifecycle.launch()                       # recovers what a crash interrupted
    report = lifecycle.run_cycle("weekly-growth")
    lifecycle.on_approved("cycle-weekly-growth-1-crm-...")   # after a person approved it
    lifecycle.requeue_approved()             # after ``mios resume``
    lifecycle.destroy()

A cycle of playbook ``P`` numbered ``n`` is the workflow ``cycle-P-n`` on the queue
``mios-cycles``; starting it twice runs it once. Its steps: open (the cycle record), plan,
decide, review; then every approved action's execution workflow ``exec-<action>-v<version>``
is enqueued on the queue of its channel (``mios-<channel>``, with that channel's concurrency and
rate limit) and awaited; then measure and learn. Actions awaiting approval are recorded and not
waited for: no thread is held for a person. ``on_approved`` enqueues the same execution
workflow when the approval lands. A fire of a playbook's cadence is the workflow
``schedule-P-<minute>`` on the queue ``mios-schedule`` (``fire``; ``mios.lifecycle.schedule``).

An execution workflow's steps are ``execution.start`` / ``deliver`` / ``finish``. While mios is
paused, ``start`` refuses and the workflow ends ``paused`` with the action still approved;
``requeue_approved`` enqueues a new attempt (``exec-<action>-v<version>-a<k>``) for every
approved action that has not run. Steps are at least once (a crash in a step runs it again at
the next launch); each is idempotent, and the channel's effect carries the action's idempotency
key with its receipt kept in the durable receipt log, so no action executes twice.

DBOS is one per process: ``launch`` takes the process's DBOS, ``destroy`` gives it back (the
registered workflows stay, so a test can launch again on another database).
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbos import DBOS, Queue, SetWorkflowID

from mios.__about__ import __version__
from mios.domain.action import Action, ActionState
from mios.domain.channel import ChannelName
from mios.domain.cycle import Cycle
from mios.domain.proposal import Decision, Proposal
from mios.errors import DomainError
from mios.lifecycle import execution, learning, schedule, steps
from mios.lifecycle.execution import Delivery, ExecutionResult, ExecutionStatus, Started
from mios.lifecycle.learning import Measured, record_rejections
from mios.lifecycle.services import LIFECYCLE, CycleServices, QueueSettings
from mios.lifecycle.steps import ActionRef, PlanResult

CYCLE_QUEUE = "mios-cycles"
#: Fires of playbook cadences (``mios.lifecycle.schedule``).
SCHEDULE_QUEUE = "mios-schedule"
#: Actions that reach no channel (insights, drafts) run here.
INTERNAL_QUEUE = "mios-internal"
_UNFINISHED = frozenset({"PENDING", "ENQUEUED", "DELAYED"})


@dataclass(frozen=True)
class DurableConfig:
    """``system_database_url``: where DBOS keeps its checkpoints (SQLite in the workspace by
    default, or the PostgreSQL database, in a schema of its own). ``executor_id`` names this
    worker among several; ``polling_interval`` is how often a queue is polled, in seconds."""

    system_database_url: str
    application_version: str = __version__
    executor_id: str | None = None
    polling_interval: float = 1.0
    cycle_concurrency: int = 1
    log_level: str = "WARNING"


@dataclass(frozen=True)
class CycleReport:
    cycle_id: str
    playbook: str
    number: int
    snapshot_version: int
    proposals: int
    decisions: tuple[Decision, ...]
    actions: tuple[ActionRef, ...]
    executions: tuple[ExecutionResult, ...]
    awaiting_approval: tuple[str, ...]
    measured: Measured
    learnings: tuple[str, ...]


def _log_to_the_current_stderr() -> None:
    """DBOS logs through a handler bound to ``sys.stderr`` as it was when DBOS first started in
    this process; a later launch (a second command in one process, as in tests) would write to
    a stream that may be closed by then, so the handler follows the current one."""
    for handler in logging.getLogger("dbos").handlers:
        if type(handler) is logging.StreamHandler and handler.stream is not sys.stderr:
            handler.stream = sys.stderr  # not setStream: it flushes the old, maybe closed, one


def queue_name(channel: str | None) -> str:
    return INTERNAL_QUEUE if channel is None else f"mios-{channel}"


def execution_id(action_id: str, version: int, attempt: int = 0) -> str:
    base = f"exec-{action_id}-v{version}"
    return base if attempt == 0 else f"{base}-a{attempt}"


# -- the process's services and queues --------------------------------------------------------


class _Runtime:
    """What the workflows of this process run against; set by ``DurableLifecycle.launch``."""

    def __init__(self) -> None:
        self.services: CycleServices | None = None
        self.config: DurableConfig | None = None
        self.queues: dict[str, Queue] = {}
        self.lock = threading.Lock()

    def require(self) -> CycleServices:
        if self.services is None:
            raise DomainError("the durable lifecycle is not launched in this process")
        return self.services

    def queue(self, name: str) -> Queue:
        """The queue called ``name``, registered with its settings on first use (recovery may
        need one before ``launch`` has registered them all)."""
        with self.lock:
            found = self.queues.get(name)
            if found is None:
                found = self.queues[name] = _register(name, self._settings(name))
            return found

    def _settings(self, name: str) -> QueueSettings:
        config = self.config
        services = self.require()
        if name == CYCLE_QUEUE:
            return QueueSettings(config.cycle_concurrency if config else 1)
        channel = name.removeprefix("mios-")
        if channel in set(ChannelName):
            return services.queues.get(ChannelName(channel), QueueSettings())
        return QueueSettings()


_RUNTIME = _Runtime()


def _register(name: str, settings: QueueSettings) -> Queue:
    config = _RUNTIME.config
    limiter: Any = (
        None if settings.limit is None else {"limit": settings.limit, "period": settings.period}
    )
    return DBOS.register_queue(
        name,
        worker_concurrency=settings.worker_concurrency,
        limiter=limiter,
        polling_interval_sec=config.polling_interval if config else 1.0,
        on_conflict="always_update",
    )


# -- the cycle workflow -----------------------------------------------------------------------


@DBOS.step(name="mios.cycle.open")
def _open(playbook: str, number: int) -> Cycle:
    services = _RUNTIME.require()
    if services.cycles.get(steps.cycle_id(playbook, number)) is None:
        record_rejections(services, playbook)
    return steps.open_cycle(services, playbook, number)


@DBOS.step(name="mios.cycle.plan")
def _plan(cycle_id: str) -> PlanResult:
    services = _RUNTIME.require()
    return steps.plan(services, _cycle(services, cycle_id))


@DBOS.step(name="mios.cycle.decide")
def _decide(cycle_id: str, proposals: tuple[Proposal, ...]) -> tuple[Decision, ...]:
    services = _RUNTIME.require()
    return steps.decide(services, _cycle(services, cycle_id), proposals)


@DBOS.step(name="mios.cycle.review")
def _review(
    cycle_id: str, proposals: tuple[Proposal, ...], decisions: tuple[Decision, ...]
) -> tuple[ActionRef, ...]:
    services = _RUNTIME.require()
    return steps.review(services, _cycle(services, cycle_id), proposals, decisions)


@DBOS.step(name="mios.cycle.measure")
def _measure(cycle_id: str) -> Measured:
    services = _RUNTIME.require()
    return learning.measure(services, _cycle(services, cycle_id))


@DBOS.step(name="mios.cycle.learn")
def _learn(cycle_id: str, measured: Measured) -> tuple[str, ...]:
    services = _RUNTIME.require()
    return learning.learn(services, _cycle(services, cycle_id), measured)


@DBOS.workflow(name="mios.cycle")
def cycle_workflow(playbook: str, number: int) -> CycleReport:
    cycle = _open(playbook, number)
    planned = _plan(cycle.id)
    decisions = _decide(cycle.id, planned.proposals)
    refs = _review(cycle.id, planned.proposals, decisions)
    handles = []
    for ref in refs:
        if ref.state is ActionState.APPROVED:
            with SetWorkflowID(execution_id(ref.id, ref.version)):
                queue = _RUNTIME.queue(queue_name(ref.channel))
                handles.append(queue.enqueue(execution_workflow, ref.id, ref.version))
    executions = tuple(handle.get_result() for handle in handles)
    measured = _measure(cycle.id)
    learnings = _learn(cycle.id, measured)
    return CycleReport(
        cycle.id,
        playbook,
        number,
        cycle.snapshot_version,
        len(planned.proposals),
        decisions,
        refs,
        executions,
        tuple(r.id for r in refs if r.state is ActionState.AWAITING_APPROVAL),
        measured,
        learnings,
    )


def _cycle(services: CycleServices, cycle_id: str) -> Cycle:
    found = services.cycles.get(cycle_id)
    if found is None:
        raise DomainError(f"no cycle {cycle_id}")
    return found


# -- the execution workflow -------------------------------------------------------------------


@DBOS.step(name="mios.execution.start")
def _start(action_id: str, version: int, runner: str) -> Started:
    return execution.start(_RUNTIME.require(), action_id, version, runner)


@DBOS.step(name="mios.execution.deliver")
def _deliver(action_id: str, version: int, runner: str) -> Delivery:
    return execution.deliver(_RUNTIME.require(), action_id, version, runner)


@DBOS.step(name="mios.execution.finish")
def _finish(action_id: str, version: int, runner: str, delivery: Delivery) -> ExecutionResult:
    return execution.finish(_RUNTIME.require(), action_id, version, runner, delivery)


@DBOS.workflow(name="mios.execution")
def execution_workflow(action_id: str, version: int) -> ExecutionResult:
    runner = f"{LIFECYCLE}:{DBOS.workflow_id}"
    started = _start(action_id, version, runner)
    if not started.go:
        status = started.status or ExecutionStatus.SKIPPED
        return ExecutionResult(action_id, version, status, note=started.note)
    delivery = _deliver(action_id, version, runner)
    return _finish(action_id, version, runner, delivery)


# -- a fire of a playbook's cadence (mios.lifecycle.schedule) ----------------------------------


@DBOS.step(name="mios.schedule.pick")
def _pick(playbook: str, at: datetime) -> schedule.Fired:
    return schedule.pick(_RUNTIME.require(), playbook, at, _workflow_status)


def _workflow_status(workflow_id: str) -> str | None:
    found = DBOS.get_workflow_status(workflow_id)
    return None if found is None else found.status


@DBOS.workflow(name="mios.schedule.fire")
def fire_workflow(playbook: str, at: datetime) -> schedule.Fired:
    # The pick is checkpointed, so a fire recovered after a crash starts the cycle number it
    # picked the first time, whose id makes a second enqueue a no-op.
    fired = _pick(playbook, at)
    if fired.number is not None:
        with SetWorkflowID(steps.cycle_id(playbook, fired.number)):
            _RUNTIME.queue(CYCLE_QUEUE).enqueue(cycle_workflow, playbook, fired.number)
    return fired


# -- the process's handle ---------------------------------------------------------------------


class DurableLifecycle:
    """Launches DBOS for this process over ``services`` and runs cycles on it."""

    def __init__(self, services: CycleServices, config: DurableConfig) -> None:
        self.services = services
        self.config = config

    def launch(self) -> None:
        with _RUNTIME.lock:
            if _RUNTIME.services is not None:
                raise DomainError("a durable lifecycle is already launched in this process")
            _RUNTIME.services, _RUNTIME.config, _RUNTIME.queues = self.services, self.config, {}
        settings: dict[str, Any] = {
            "name": "mios",
            "system_database_url": self.config.system_database_url,
            "application_version": self.config.application_version,
            "log_level": self.config.log_level,
        }
        if self.config.executor_id is not None:
            settings["executor_id"] = self.config.executor_id
        try:
            _log_to_the_current_stderr()
            DBOS(config=settings)  # type: ignore[arg-type]
            DBOS.launch()
            for name in self._queue_names():
                _RUNTIME.queue(name)
        except BaseException:
            self.destroy()
            raise

    @property
    def launched(self) -> bool:
        """Whether this lifecycle is the one DBOS runs in this process now."""
        return _RUNTIME.services is self.services

    def destroy(self) -> None:
        """Stop this process's DBOS; workflows it left unfinished resume at the next launch."""
        DBOS.destroy(destroy_registry=False)
        with _RUNTIME.lock:
            _RUNTIME.services, _RUNTIME.config, _RUNTIME.queues = None, None, {}

    def __enter__(self) -> DurableLifecycle:
        self.launch()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def _queue_names(self) -> list[str]:
        names = {CYCLE_QUEUE, INTERNAL_QUEUE, SCHEDULE_QUEUE}
        names |= {queue_name(str(c)) for c in self.services.channels}
        names |= {queue_name(str(c)) for c in self.services.queues}
        return sorted(names)

    # -- cycles ---------------------------------------------------------------------------

    def next_number(self, playbook: str) -> int:
        return self.services.cycles.last_number(playbook) + 1

    def start_cycle(self, playbook: str, number: int | None = None) -> str:
        """Enqueue cycle ``number`` (the next one by default) and return its workflow id. A
        cycle already started is not started again."""
        snapshot = self.services.context.snapshot()
        steps.playbook_named(snapshot.workspace, playbook)  # an unknown name fails here
        n = self.next_number(playbook) if number is None else number
        if n < 1:
            raise DomainError(f"a cycle number must be >= 1, got {n}")
        workflow = steps.cycle_id(playbook, n)
        with SetWorkflowID(workflow):
            _RUNTIME.queue(CYCLE_QUEUE).enqueue(cycle_workflow, playbook, n)
        return workflow

    def fire(self, playbook: str, at: datetime) -> str:
        """Enqueue the fire of ``playbook``'s cadence at ``at`` and return its workflow id; the
        same fire enqueued again, by any worker, runs once."""
        workflow = schedule.fire_id(playbook, at)
        with SetWorkflowID(workflow):
            _RUNTIME.queue(SCHEDULE_QUEUE).enqueue(fire_workflow, playbook, at)
        return workflow

    def run_cycle(self, playbook: str, number: int | None = None) -> CycleReport:
        """Start a cycle and wait for it (its executions included, its approvals not)."""
        workflow = self.start_cycle(playbook, number)
        result: CycleReport = DBOS.retrieve_workflow(workflow).get_result()
        return result

    # -- executions after the cycle -------------------------------------------------------

    def on_approved(self, action_id: str) -> str | None:
        """Enqueue the execution of an action a person approved; the workflow id, or ``None``
        when the action is not (or no longer) approved."""
        action = self.services.command.store.action(action_id)
        if action is None:
            raise DomainError(f"no action {action_id}")
        if action.state is not ActionState.APPROVED:
            return None
        return self._enqueue(action)

    def retry(self, action_id: str) -> str | None:
        """Run a failed action again, under the same idempotency key."""
        action = self.services.command.store.action(action_id)
        if action is None:
            raise DomainError(f"no action {action_id}")
        if action.state is not ActionState.FAILED:
            return None
        return self._enqueue(action)

    def requeue_approved(self) -> list[str]:
        """After a resume: an execution for every approved action of every cycle that has not
        run (a paused attempt ended; a new one is queued)."""
        started = []
        store = self.services.command.store
        for cycle in self.services.cycles.cycles():
            for action_id in cycle.action_ids:
                action = store.action(action_id)
                if action is not None and action.state is ActionState.APPROVED:
                    started.append(self._enqueue(action))
        return started

    def wait(self, workflow_id: str) -> Any:
        return DBOS.retrieve_workflow(workflow_id).get_result()

    def _enqueue(self, action: Action) -> str:
        """The attempt of this action version that is queued or running, or a new one."""
        attempt = 0
        while True:
            workflow = execution_id(action.id, action.version, attempt)
            status = DBOS.get_workflow_status(workflow)
            if status is None:
                break
            if status.status in _UNFINISHED:
                return workflow
            attempt += 1
        with SetWorkflowID(workflow):
            queue = _RUNTIME.queue(queue_name(steps.queue_channel(action)))
            queue.enqueue(execution_workflow, action.id, action.version)
        return workflow
