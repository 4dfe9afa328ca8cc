"""Real DBOS cycles on a ``mios init`` workspace (500 customers), SQLite everywhere: a cycle
runs once per id, waits for nobody, and an approval, a pause and a resume start executions."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mios.bootstrap import Lifecycle, human_command, open_governance, open_lifecycle
from mios.channels.memory import RecordingChannel
from mios.config import Settings
from mios.domain.action import ActionState
from mios.domain.channel import ChannelName
from mios.domain.cycle import CycleStage
from mios.domain.governance import Role
from mios.governance.command import HumanCommand
from mios.lifecycle.durable import execution_id
from mios.lifecycle.execution import ExecutionStatus
from tests.support.cli import run

PLAYBOOK = "weekly-growth"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "shop"
    result = run("init", str(root), "--customers", "500", "--seed", "3")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def workspace(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(template, root)
    return root


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel(list(ChannelName))


@pytest.fixture
def lifecycle(workspace: Path, channel: RecordingChannel) -> Iterator[Lifecycle]:
    opened = open_lifecycle(
        workspace,
        Settings(),
        channels=dict.fromkeys(ChannelName, channel),
        polling_interval=0.05,
    )
    with opened:
        yield opened


@pytest.fixture
def people(workspace: Path) -> Iterator[tuple[HumanCommand, dict[str, str]]]:
    """Ada (admin) and Lee (legal, budget owner, brand), with tokens, in the workspace."""
    governance = open_governance(workspace, Settings())
    command = human_command(governance, open_guardrails(workspace))
    command.add_user(None, "ada", "Ada", frozenset({Role.ADMIN}))
    tokens = {"ada": command.issue_token(None, "ada").token}
    roles = frozenset({Role.LEGAL, Role.BUDGET_OWNER, Role.BRAND, Role.STRATEGIST})
    command.add_user(tokens["ada"], "lee", "Lee", roles)
    tokens["lee"] = command.issue_token(tokens["ada"], "lee").token
    yield command, tokens
    governance.close()


def open_guardrails(workspace: Path) -> object:
    from mios.bootstrap import open_context_store

    store = open_context_store(workspace, Settings())
    try:
        return store.snapshot().workspace.guardrails
    finally:
        store.close()


def approve(command: HumanCommand, token: str, action_id: str, version: int = 1) -> None:
    request_id = f"req-{action_id}-v{version}"
    request = command.store.request(request_id)
    assert request is not None
    for role in sorted(request.required_roles):
        command.answer(request_id, token, role, "approve", "ok")


def test_a_cycle_runs_end_to_end_and_waits_for_nobody(
    lifecycle: Lifecycle, channel: RecordingChannel
) -> None:
    report = lifecycle.durable.run_cycle(PLAYBOOK)

    cycle = lifecycle.services.cycles.get(report.cycle_id)
    assert report.cycle_id == "cycle-weekly-growth-1"
    assert report.proposals > 10
    assert len(report.decisions) == report.proposals
    assert cycle is not None
    assert cycle.stage is CycleStage.DONE
    assert cycle.action_ids == [a.id for a in report.actions]
    # The example workspace asks people about most things: those are recorded, not awaited.
    assert report.awaiting_approval
    approved = [a for a in report.actions if a.state is ActionState.APPROVED]
    assert len(report.executions) == len(approved)
    assert {e.status for e in report.executions} <= {ExecutionStatus.EXECUTED}
    assert len(channel.executed) == sum(a.channel is not None for a in approved)
    summary = lifecycle.services.cycles.summary(report.cycle_id)
    assert summary["proposals"] == report.proposals


def test_starting_a_cycle_twice_runs_it_once(
    lifecycle: Lifecycle, channel: RecordingChannel
) -> None:
    first = lifecycle.durable.start_cycle(PLAYBOOK, 1)
    second = lifecycle.durable.start_cycle(PLAYBOOK, 1)
    report = lifecycle.durable.wait(first)

    assert first == second == report.cycle_id
    assert len(lifecycle.services.cycles.cycles()) == 1
    assert lifecycle.durable.next_number(PLAYBOOK) == 2


def test_an_approval_starts_the_execution_and_pause_and_resume_hold_it(
    lifecycle: Lifecycle,
    channel: RecordingChannel,
    people: tuple[HumanCommand, dict[str, str]],
) -> None:
    command, tokens = people
    report = lifecycle.durable.run_cycle(PLAYBOOK)
    waiting = [a for a in report.actions if a.state is ActionState.AWAITING_APPROVAL]
    first, second = waiting[0], waiting[1]
    before = len(channel.executed)

    approve(command, tokens["lee"], first.id)
    done = lifecycle.durable.wait(str(lifecycle.durable.on_approved(first.id)))
    command.pause(tokens["ada"], "checking a complaint")
    approve(command, tokens["lee"], second.id)
    held = lifecycle.durable.wait(str(lifecycle.durable.on_approved(second.id)))
    command.resume(tokens["ada"], "all clear")
    requeued = lifecycle.durable.requeue_approved()
    resumed = lifecycle.durable.wait(requeued[0])

    assert done.status is ExecutionStatus.EXECUTED
    assert held.status is ExecutionStatus.PAUSED
    assert requeued == [execution_id(second.id, 1, attempt=1)]
    assert resumed.status is ExecutionStatus.EXECUTED
    assert lifecycle.durable.on_approved(second.id) is None  # executed: nothing to start
    states = [command.store.action(a.id) for a in (first, second)]
    assert [s.state for s in states if s is not None] == [ActionState.EXECUTED] * 2
    reached = sum(a.channel is not None for a in (first, second))
    assert len(channel.executed) == before + reached
