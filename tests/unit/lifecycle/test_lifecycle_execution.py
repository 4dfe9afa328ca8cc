"""Executing approved actions: once, on the record, never while paused, retried under the same
key, and rejections turned into learnings."""

from __future__ import annotations

from decimal import Decimal

from mios.domain.action import ActionState
from mios.domain.budget import EntryKind
from mios.domain.channel import ChannelName
from mios.domain.governance import Role
from mios.domain.money import Money
from mios.domain.outcome import Outcome, OutcomeKind
from mios.domain.proposal import ActionKind
from mios.lifecycle import execution, learning, steps
from mios.lifecycle.execution import ExecutionStatus, execute_action
from mios.lifecycle.inline import run_cycle_inline
from mios.lifecycle.learning import book_spend
from tests.support.lifecycle import PLAYBOOK, Setup, setup, spec

RUNNER = "lifecycle:test-run"


def reviewed(s: Setup) -> list[steps.ActionRef]:
    cycle = steps.open_cycle(s.services, PLAYBOOK, 1)
    planned = steps.plan(s.services, cycle)
    decisions = steps.decide(s.services, cycle, planned.proposals)
    refs = steps.review(s.services, cycle, planned.proposals, decisions)
    return [r for r in refs if r.channel == "email"]


def events(s: Setup, subject: str) -> list[str]:
    return [r.event for r in s.command.audit.records() if r.subject == subject]


def test_an_approved_action_executes_once_and_every_move_is_audited() -> None:
    s = setup()
    ref = reviewed(s)[0]

    first = execute_action(s.services, ref.id, ref.version, RUNNER)
    again = execute_action(s.services, ref.id, ref.version, RUNNER)

    assert first.status is ExecutionStatus.EXECUTED
    assert first.receipt is not None
    assert again.status is ExecutionStatus.SKIPPED
    assert [a.id for a in s.channel.executed] == [ref.id]
    stored = s.command.store.action(ref.id)
    assert stored is not None
    assert stored.state is ActionState.EXECUTED
    assert s.receipts.get(stored.idempotency_key) == first.receipt
    assert events(s, ref.id)[-2:] == ["action.executing", "action.executed"]


def test_a_step_that_runs_again_after_a_crash_reaches_the_channel_once() -> None:
    s = setup()
    ref = reviewed(s)[0]

    assert execution.start(s.services, ref.id, ref.version, RUNNER).go
    assert execution.start(s.services, ref.id, ref.version, RUNNER).go  # the same run again
    first = execution.deliver(s.services, ref.id, ref.version, RUNNER)
    second = execution.deliver(s.services, ref.id, ref.version, RUNNER)  # crashed before finish
    done = execution.finish(s.services, ref.id, ref.version, RUNNER, second)

    assert first.receipt is not None
    assert second.receipt is not None
    assert second.receipt.duplicate
    assert done.status is ExecutionStatus.EXECUTED
    assert len(s.channel.executed) == 1


def test_another_run_of_the_same_action_is_turned_away() -> None:
    s = setup()
    ref = reviewed(s)[0]
    assert execution.start(s.services, ref.id, ref.version, RUNNER).go

    other = execute_action(s.services, ref.id, ref.version, "lifecycle:other")

    assert other.status is ExecutionStatus.SKIPPED
    assert other.note is not None
    assert RUNNER in other.note
    assert not s.channel.executed


def test_while_paused_nothing_runs_and_the_action_stays_approved() -> None:
    s = setup()
    ref = reviewed(s)[0]
    s.command.pause(s.tokens["ada"], "incident")

    paused = execute_action(s.services, ref.id, ref.version, RUNNER)
    stored = s.command.store.action(ref.id)
    s.command.resume(s.tokens["ada"], "fixed")
    resumed = execute_action(s.services, ref.id, ref.version, RUNNER + "-2")

    assert paused.status is ExecutionStatus.PAUSED
    assert stored is not None
    assert stored.state is ActionState.APPROVED
    assert resumed.status is ExecutionStatus.EXECUTED
    assert len(s.channel.executed) == 1


def test_an_action_people_approved_spends_its_approval_once() -> None:
    s = setup(workspace=spec(overrides={"send_message": "approve"}))
    ref = reviewed(s)[0]
    assert ref.state is ActionState.AWAITING_APPROVAL
    request_id = f"req-{ref.id}-v{ref.version}"

    s.command.answer(request_id, s.tokens["sam"], Role.STRATEGIST, "approve", "fine")
    done = execute_action(s.services, ref.id, ref.version, RUNNER)

    request = s.command.store.request(request_id)
    assert done.status is ExecutionStatus.EXECUTED
    assert request is not None
    assert request.status.value == "used"
    assert "approval.used" in [r.event for r in s.command.audit.records()]


def test_an_action_awaiting_people_never_runs() -> None:
    s = setup(workspace=spec(overrides={"send_message": "approve"}))
    ref = reviewed(s)[0]

    result = execute_action(s.services, ref.id, ref.version, RUNNER)

    assert result.status is ExecutionStatus.SKIPPED
    assert not s.channel.executed


def test_an_outage_fails_the_action_and_a_retry_runs_it_under_the_same_key() -> None:
    s = setup()
    ref = reviewed(s)[0]
    s.channel.outage = True

    failed = execute_action(s.services, ref.id, ref.version, RUNNER)
    key = s.command.store.action(ref.id).idempotency_key  # type: ignore[union-attr]
    s.channel.outage = False
    retried = execute_action(s.services, ref.id, ref.version, RUNNER + "-retry")

    assert failed.status is ExecutionStatus.FAILED
    assert failed.note is not None
    assert "ChannelUnavailable" in failed.note
    assert retried.status is ExecutionStatus.EXECUTED
    stored = s.command.store.action(ref.id)
    assert stored is not None
    assert stored.idempotency_key == key
    assert stored.attempts == 2
    assert [a.idempotency_key for a in s.channel.executed] == [key]


def test_rejected_approvals_become_learnings_for_the_agents() -> None:
    s = setup(workspace=spec(overrides={"send_message": "approve"}))
    report = run_cycle_inline(s.services, PLAYBOOK, 1)
    sends = [a for a in report.actions if a.channel == "email"]
    for ref in sends:
        s.command.answer(
            f"req-{ref.id}-v{ref.version}", s.tokens["sam"], Role.STRATEGIST, "reject", "too pushy"
        )

    second = run_cycle_inline(s.services, PLAYBOOK, 2)

    # Rejections answered between cycles are in the snapshot the next cycle planned on.
    opened = s.services.cycles.get(second.cycle_id)
    assert opened is not None
    planned_on = s.services.context.snapshot(opened.snapshot_version)
    assert "rejected:send_message:email:eu:-" in {lr.id for lr in planned_on.learnings}
    learned = {lr.id: lr for lr in s.services.context.snapshot().learnings}
    rejected = learned["rejected:send_message:email:eu:-"]
    assert "too pushy" in rejected.insight
    assert rejected.evidence == (f"action:{sends[0].id}",)
    assert "rejected:send_message:email:-:-" in learned
    assert all(a.kind is not ActionKind.SEND_MESSAGE for a in s.channel.executed)


def test_an_action_approved_after_its_cycle_measured_is_measured_by_the_next() -> None:
    s = setup(workspace=spec(overrides={"send_message": "approve"}))
    first = run_cycle_inline(s.services, PLAYBOOK, 1)
    late = [a for a in first.actions if a.channel == "email"]
    for ref in late:
        s.command.answer(
            f"req-{ref.id}-v{ref.version}", s.tokens["sam"], Role.STRATEGIST, "approve", "fine"
        )
        assert execute_action(s.services, ref.id, ref.version, RUNNER).status.value == "executed"

    second = run_cycle_inline(s.services, PLAYBOOK, 2)
    cycle = s.services.cycles.get(second.cycle_id)
    assert cycle is not None
    again = learning.measure(s.services, cycle)  # the step run again after a crash

    for ref in late:
        stored = s.command.store.action(ref.id)
        assert stored is not None
        assert stored.state is ActionState.MEASURED
    measured = {m.action_id for m in second.measured.actions}
    assert {r.id for r in late} <= measured
    assert {m.action_id for m in again.actions} == measured
    assert sorted(c.trials for c in s.services.cycles.cells()) == [100, 100]


def test_measured_spend_is_booked_in_the_ledger_once() -> None:
    s = setup()
    run_cycle_inline(s.services, PLAYBOOK, 1)
    snapshot = s.services.context.snapshot()
    spent = [e for e in snapshot.ledger_entries if e.kind is EntryKind.SPEND]
    sends = [a for a in s.channel.executed if a.kind is ActionKind.SEND_MESSAGE]
    assert sends
    assert sorted(e.note for e in spent) == sorted(f"outcome:{a.id}:s" for a in sends)
    position = snapshot.ledger.position(ChannelName.EMAIL, s.services.clock())
    assert position.spent.amount == 20 * len(sends)
    # The same outcomes again (a measure step that runs again) book nothing more.
    again = [
        Outcome(f"{a.id}:s", OutcomeKind.SPEND, s.services.clock(), a.id, channel=ChannelName.EMAIL,
                value=Money(Decimal(20), "USD"))
        for a in sends
    ]  # fmt: skip
    book_spend(s.services, again, "cycle-again")
    assert len(s.services.context.snapshot().ledger_entries) == len(snapshot.ledger_entries)
