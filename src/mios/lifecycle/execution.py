"""Executing one approved action, in three steps that may each run again after a crash.

    start    spend the approval and move the action to ``executing``, in one transaction,
             naming the run that owns the attempt (``runner``); refused while mios is paused
    deliver  the action's spend is committed in the budget ledger (``commitments``; not
             enough left fails the attempt before the channel sees it), then the channel
             carries the action out under its idempotency key; the receipt is kept in the
             receipt log, and a key already there is answered from it
    finish   ``executed`` (or ``failed`` with the channel's error, its commitment released;
             a retry runs again under the same key)

Every move is saved with an audit record (``HumanCommand.record_transition``). Only the runner
that started an attempt may deliver and finish it, so two runs of one action (a worker that
recovered it, a person who pressed retry) never both reach the channel; and an action executed
once is never started again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from mios.channels.port import Receipt
from mios.domain.action import Action, ActionState
from mios.errors import BudgetExceeded, ChannelError, DomainError, InputError
from mios.lifecycle.commitments import commit_spend, release_attempt
from mios.lifecycle.services import CycleServices
from mios.lifecycle.steps import CHANNEL_KINDS


class ExecutionStatus(StrEnum):
    EXECUTED = "executed"
    FAILED = "failed"
    PAUSED = "paused"  # mios is paused: the action stays approved and is queued again on resume
    SKIPPED = "skipped"  # not approved, executed already, or another run owns the attempt


@dataclass(frozen=True)
class Started:
    go: bool
    status: ExecutionStatus | None = None  # why not, when ``go`` is false
    note: str | None = None


@dataclass(frozen=True)
class Delivery:
    ok: bool
    receipt: Receipt | None = None
    error: str | None = None


@dataclass(frozen=True)
class ExecutionResult:
    action_id: str
    version: int
    status: ExecutionStatus
    receipt: Receipt | None = None
    note: str | None = None


def owner(action: Action) -> str | None:
    """Who started the action's current attempt."""
    starts = [t for t in action.history if t.to_state is ActionState.EXECUTING]
    return starts[-1].actor if starts else None


def start(services: CycleServices, action_id: str, version: int, runner: str) -> Started:
    command = services.command
    try:
        with command.transaction():
            stored = _stored(services, action_id, version)
            state = stored.state
            if state is ActionState.EXECUTING:
                holder = owner(stored)
                if holder == runner:
                    return Started(True)  # this run started it before a crash
                return Started(False, ExecutionStatus.SKIPPED, f"{holder} is executing it")
            if state in (ActionState.EXECUTED, ActionState.MEASURED):
                return Started(False, ExecutionStatus.SKIPPED, "it was executed already")
            if state not in (ActionState.APPROVED, ActionState.FAILED):
                return Started(False, ExecutionStatus.SKIPPED, f"it is {state}, not approved")
            paused = command.paused
            if paused is not None:
                note = f"mios is paused (by {paused.by}: {paused.reason})"
                return Started(False, ExecutionStatus.PAUSED, note)
            if state is ActionState.APPROVED:
                command.use_approval(stored)
            stored.start(services.clock(), runner)
            command.record_transition(
                stored, runner, "action.executing", {"attempt": stored.attempts}
            )
    except DomainError as exc:  # the gate refused it: not approved (any more)
        return Started(False, ExecutionStatus.SKIPPED, str(exc))
    return Started(True)


def deliver(services: CycleServices, action_id: str, version: int, runner: str) -> Delivery:
    stored = _stored(services, action_id, version)
    if stored.state is not ActionState.EXECUTING or owner(stored) != runner:
        return Delivery(False, error=f"{action_id} is {stored.state} under {owner(stored)}")
    if stored.channel is None or stored.kind not in CHANNEL_KINDS:
        return Delivery(True)  # nothing leaves mios
    seen = services.receipts.get(stored.idempotency_key)
    if seen is not None:
        return Delivery(True, replace(seen, duplicate=True))
    channel = services.channel(stored.channel)
    if channel is None:
        return Delivery(False, error=f"no channel connector serves {stored.channel}")
    try:
        commit_spend(services, stored)
    except BudgetExceeded as exc:
        return Delivery(False, error=f"not enough budget left: {exc}")
    try:
        receipt = channel.execute(stored)
    except (ChannelError, InputError) as exc:
        return Delivery(False, error=f"{type(exc).__name__}: {exc}")
    # A channel with a durable log of its own may have written the receipt already.
    if services.receipts.get(stored.idempotency_key) is None:
        services.receipts.put(replace(receipt, duplicate=False), services.clock())
    return Delivery(True, receipt)


def finish(
    services: CycleServices, action_id: str, version: int, runner: str, delivery: Delivery
) -> ExecutionResult:
    command = services.command
    with command.transaction():
        stored = _stored(services, action_id, version)
        # Not ours: finished before a crash, or another run's attempt; it is reported as it is.
        ours = stored.state is ActionState.EXECUTING and owner(stored) == runner
        if ours and delivery.ok:
            stored.succeed(services.clock(), runner)
            receipt = delivery.receipt
            details = (
                {}
                if receipt is None
                else {
                    "external_id": receipt.external_id,
                    "accepted": receipt.accepted,
                    "duplicate": receipt.duplicate,
                    "idempotency_key": receipt.idempotency_key,
                }
            )
            command.record_transition(stored, runner, "action.executed", details)
        elif ours:
            reason = delivery.error or "the channel failed"
            stored.fail(services.clock(), reason, runner)
            command.record_transition(stored, runner, "action.failed", {}, reason)
    settled = _settled(stored, delivery.receipt)
    if settled.status is ExecutionStatus.FAILED:
        # Outside the transaction, and on every run of this step: a crash after the failure
        # was saved still gives the money back when the step runs again.
        release_attempt(services, stored)
    return settled


def execute_action(
    services: CycleServices, action_id: str, version: int, runner: str
) -> ExecutionResult:
    """The three steps in one call, for callers without DBOS (tests, a one-off retry)."""
    started = start(services, action_id, version, runner)
    if not started.go:
        status = started.status or ExecutionStatus.SKIPPED
        return ExecutionResult(action_id, version, status, note=started.note)
    return finish(
        services, action_id, version, runner, deliver(services, action_id, version, runner)
    )


def _stored(services: CycleServices, action_id: str, version: int) -> Action:
    stored = services.command.store.action(action_id, version)
    if stored is None:
        raise DomainError(f"no action {action_id} version {version}")
    return stored


def _settled(action: Action, receipt: Receipt | None) -> ExecutionResult:
    if action.state in (ActionState.EXECUTED, ActionState.MEASURED):
        status = ExecutionStatus.EXECUTED
    elif action.state is ActionState.FAILED:
        status = ExecutionStatus.FAILED
    else:
        status = ExecutionStatus.SKIPPED
    note = next((t.reason for t in reversed(action.history) if t.reason), None)
    return ExecutionResult(action.id, action.version, status, receipt, note)
