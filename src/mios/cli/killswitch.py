"""``mios pause``, ``mios resume`` and ``mios status``: the kill switch. Anyone accountable
(admin, strategist, budget owner, brand, legal) may pause; only an admin resumes."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from mios.cli.governance_session import governance_session
from mios.cli.output import handles_errors, print_json, state, stdout

killswitch_app = typer.Typer(rich_markup_mode=None)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; kept in the audit trail.")]


@killswitch_app.command("pause")
@handles_errors
def pause(ctx: typer.Context, reason: ReasonOption, json_output: JsonOption = False) -> None:
    """Stop all autonomous execution at once; queued actions stay queued, nothing is lost.

    Example: mios -w shop pause --reason 'a wrong price went out'
    """
    with governance_session(ctx) as session:
        paused = session.command.pause(session.token, reason)
    if json_output or state(ctx).json:
        print_json({"paused": True, "by": paused.by, "at": paused.at.isoformat()})
    else:
        stdout.print(Text(f"mios is paused ({paused.by}: {paused.reason}). An admin resumes it."))


@killswitch_app.command("resume")
@handles_errors
def resume(ctx: typer.Context, reason: ReasonOption, json_output: JsonOption = False) -> None:
    """Let autonomous execution run again, and execute the approved actions of cycles that
    have not run (those held by the pause). Needs an admin (exit 3 otherwise).

    Example: mios -w shop resume --reason 'price fixed and checked'
    """
    from mios.cli.lifecycle_hooks import execute_after_resume, report_started

    with governance_session(ctx) as session:
        user = session.caller()
        session.command.resume(session.token, reason)
    # What was approved while paused (or held by the pause) runs now.
    started = execute_after_resume(ctx)
    if json_output or state(ctx).json:
        print_json({"paused": False, "by": user.id, "executions": [s.as_json() for s in started]})
    else:
        stdout.print(Text(f"mios runs again (resumed by {user.id})."))
        report_started(started)


@killswitch_app.command("status")
@handles_errors
def status(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Say whether mios is paused, by whom, since when and why.

    Example: mios -w shop status --json
    """
    with governance_session(ctx) as session:
        session.caller()
        paused = session.command.paused
    if json_output or state(ctx).json:
        print_json(
            {"paused": False}
            if paused is None
            else {
                "paused": True,
                "by": paused.by,
                "since": paused.at.isoformat(),
                "reason": paused.reason,
            }
        )
    elif paused is None:
        stdout.print("mios is running: not paused.")
    else:
        since = f"{paused.at:%Y-%m-%d %H:%M} UTC"
        stdout.print(Text(f"mios is PAUSED since {since} by {paused.by}: {paused.reason}"))
