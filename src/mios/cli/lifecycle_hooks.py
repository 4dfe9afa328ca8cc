"""What runs after ``mios approvals approve`` and ``mios resume``: the execution of an action of
a cycle that is now approved (no thread waited for the person), and of every approved action
held by a pause."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.text import Text

from mios.cli.output import state, stderr, stdout

if TYPE_CHECKING:
    from mios.cli.lifecycle_open import Started


def execute_after_approval(ctx: typer.Context, action_id: str) -> list[Started] | None:
    """After an approval made ``action_id`` approved: when a cycle made it, start its
    execution and wait for it. ``None`` when there is nothing to start."""
    return _start(ctx, action_id)


def execute_after_resume(ctx: typer.Context) -> list[Started]:
    """After a resume: start every approved action of a cycle that has not run."""
    return _start(ctx, None) or []


def _start(ctx: typer.Context, action_id: str | None) -> list[Started] | None:
    from mios.bootstrap import open_governance, settings_from_environment
    from mios.cli.lifecycle_open import Started, cycle_actions_to_run, start_executions
    from mios.errors import MiosError

    workspace = state(ctx).workspace
    settings = settings_from_environment()
    governance = open_governance(workspace, settings)
    try:
        waiting = cycle_actions_to_run(governance.engine, governance.store, action_id)
    finally:
        governance.close()
    if not waiting:
        return None
    try:
        return start_executions(workspace, settings, None if action_id is None else waiting)
    except MiosError as exc:
        # The approval (or the resume) stands; only starting the execution failed.
        stderr.print(
            Text.assemble(
                ("warning: ", "bold yellow"),
                f"the execution could not start ({exc}); once fixed, a worker starts it: "
                f"mios -w {workspace} worker",
            )
        )
        return [Started(a, None, "not started", str(exc)) for a in waiting]


def report_started(started: list[Started] | None) -> None:
    """One line per execution started by a hook, for people."""
    for s in started or []:
        if s.status == "executed":
            line = f"{s.action_id}: executed."
        elif s.status == "paused":
            line = f"{s.action_id}: approved, held while mios is paused; resume runs it."
        elif s.status == "queued":
            line = f"{s.action_id}: queued ({s.workflow}); a worker or the next run executes it."
        else:
            line = f"{s.action_id}: {s.status}" + (f" ({s.note})" if s.note else "")
        stdout.print(Text(line))
