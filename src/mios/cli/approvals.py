"""``mios approvals``: see what waits for people, and answer it (approve, reject, request changes,
edit). Every command first expires what is overdue, so a late answer fails closed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from mios.cli.approvals_view import (
    action_json,
    render_list,
    render_show,
    request_json,
    verdict_json,
)
from mios.cli.governance_session import GovernanceSession, governance_session
from mios.cli.output import handles_errors, print_json, state, stdout
from mios.domain.governance import Role

if TYPE_CHECKING:
    from mios.domain.action import Action
    from mios.domain.audit import AuditRecord
    from mios.domain.governance import ApprovalRequest
    from mios.domain.proposal import RiskTier
    from mios.governance.command import Decision, Submission

approvals_app = typer.Typer(
    help="See and answer approval requests. Your token is read from MIOS_TOKEN.\n\n"
    "Example:\n\n    mios -w shop approvals approve req-a1-v1 --role legal",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
RequestArgument = Annotated[str, typer.Argument(help="The request id (see: approvals list).")]
RoleOption = Annotated[Role, typer.Option("--role", help="The role you answer in.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]


# -- reading ---------------------------------------------------------------------------------------


@approvals_app.command("list")
@handles_errors
def list_requests(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Closed requests too.")] = False,
    json_output: JsonOption = False,
) -> None:
    """List open approval requests (or every request with --all), oldest first.

    Example: mios -w shop approvals list --all --json
    """
    from mios.bootstrap import utc_now
    from mios.governance.people import Operation

    with governance_session(ctx) as session:
        session.caller(Operation.READ_APPROVALS)
        session.command.expire_due()
        requests = session.governance.store.requests(open_only=not show_all)
    now = utc_now()
    if json_output or state(ctx).json:
        print_json([request_json(r, now) for r in requests])
        return
    if not requests:
        stdout.print("No approval requests are open." if not show_all else "No approval requests.")
        return
    render_list(requests, now)


@approvals_app.command("show")
@handles_errors
def show(ctx: typer.Context, request_id: RequestArgument, json_output: JsonOption = False) -> None:
    """Show one request: who must decide, the action's exact content, and its latest verdict.

    Example: mios -w shop approvals show req-a1-v1
    """
    from mios.bootstrap import utc_now
    from mios.governance.people import Operation

    with governance_session(ctx) as session:
        session.caller(Operation.READ_APPROVALS)
        session.command.expire_due()
        request, newest = _request_and_action(session, request_id)
        action = _version_asked(session, request, newest)
        verdict = latest_verdict(session, action)
    now = utc_now()
    shown = {
        "request": request_json(request, now),
        "action": action_json(action),
        "verdict": None if verdict is None else verdict_json(verdict),
    }
    if json_output or state(ctx).json:
        print_json(shown)
    else:
        render_show(request, action, verdict, now)


# -- answering -------------------------------------------------------------------------------------


@approvals_app.command("approve")
@handles_errors
def approve(
    ctx: typer.Context,
    request_id: RequestArgument,
    role: RoleOption,
    seen_hash: Annotated[
        str,
        typer.Option(
            "--hash",
            help="The content hash you reviewed, as 'approvals show' prints it (12+ characters):"
            " the approval counts only for that content.",
        ),
    ],
    reason: Annotated[str | None, typer.Option("--reason", help="Optional note.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Approve the exact content you reviewed, in one of your roles.

    Example: mios -w shop approvals approve req-a1-v1 --role legal --hash 9a7d13f8382a
    """
    _answer(ctx, request_id, role, "approve", reason, json_output, seen_hash)


@approvals_app.command("reject")
@handles_errors
def reject(
    ctx: typer.Context,
    request_id: RequestArgument,
    role: RoleOption,
    reason: ReasonOption,
    json_output: JsonOption = False,
) -> None:
    """Reject the request; the action is blocked. A reason is required: agents learn from it.

    Example: mios -w shop approvals reject req-a1-v1 --role legal --reason 'unsupported claim'
    """
    _answer(ctx, request_id, role, "reject", reason, json_output)


@approvals_app.command("request-changes")
@handles_errors
def request_changes(
    ctx: typer.Context,
    request_id: RequestArgument,
    role: RoleOption,
    reason: ReasonOption,
    json_output: JsonOption = False,
) -> None:
    """Ask for changes instead of deciding; someone then edits the action (approvals edit).

    Example: mios -w shop approvals request-changes req-a1-v1 --role brand --reason 'too loud'
    """
    _answer(ctx, request_id, role, "request_changes", reason, json_output)


@approvals_app.command("edit")
@handles_errors
def edit(
    ctx: typer.Context,
    request_id: RequestArgument,
    body_file: Annotated[Path, typer.Option("--body-file", help="A text file: the new body.")],
    subject: Annotated[str | None, typer.Option("--subject", help="A new subject.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Edit the action's copy. The edit is a new version, reviewed again on the current context,
    with a new request that someone other than you must approve.

    Example: mios -w shop approvals edit req-a1-v1 --body-file body.txt --subject 'New layers'
    """
    from mios.bootstrap import utc_now

    body = _read_body(body_file)
    with governance_session(ctx) as session:
        session.caller()
        session.command.expire_due()
        submission = _edit(session, request_id, body, subject)
    result = {
        "action": submission.action.id,
        "version": submission.action.version,
        "state": str(submission.action.state),
        "verdict": str(submission.review.verdict.effect),
        "request": None
        if submission.request is None
        else request_json(submission.request, utc_now()),
    }
    if json_output or state(ctx).json:
        print_json(result)
        return
    line = f"{submission.action.id} is now version {submission.action.version}: {result['verdict']}"
    if submission.request is not None:
        needed = ", ".join(sorted(submission.request.required_roles))
        line += f"; request {submission.request.id} waits for {needed}"
    stdout.print(Text(line))


# -- handlers --------------------------------------------------------------------------------------


def _answer(
    ctx: typer.Context,
    request_id: str,
    role: Role,
    decision: Decision,
    reason: str | None,
    json_output: bool,
    seen_hash: str | None = None,
) -> None:
    from mios.bootstrap import utc_now
    from mios.cli.context import governance_change_json, print_governance_change, sync_files
    from mios.cli.lifecycle_hooks import execute_after_approval, report_started
    from mios.domain.governance import ApprovalStatus
    from mios.governance.changes import CHANGE_KINDS

    with governance_session(ctx) as session:
        user = session.caller()  # a bad token is refused before anything is written
        session.command.expire_due()
        request = session.command.answer(
            request_id, session.token, role, decision, reason, seen_hash=seen_hash
        )
        action = session.governance.store.action(request.action_id)
    # An approved change of the rules takes effect now, from the files it was approved for.
    applies = action is not None and action.kind in CHANGE_KINDS
    change = None
    if applies and request.status is ApprovalStatus.APPROVED:
        _, change = sync_files(ctx)
    # An approved action of a cycle starts its execution now (no thread waited for people).
    started = None
    if action is not None and not applies and request.status is ApprovalStatus.APPROVED:
        started = execute_after_approval(ctx, action.id)
    if json_output or state(ctx).json:
        answer = request_json(request, utc_now())
        if change is not None:
            answer["governance"] = governance_change_json(change)
        if started is not None:
            answer["executions"] = [s.as_json() for s in started]
        print_json(answer)
    else:
        stdout.print(
            Text(f"{request.id}: {user.id} answered {decision} as {role}; {request.status}.")
        )
        if change is not None:
            print_governance_change(change)
        report_started(started)


def _edit(
    session: GovernanceSession, request_id: str, body: str, subject: str | None
) -> Submission:
    from dataclasses import replace

    from mios.bootstrap import utc_now
    from mios.errors import DomainError
    from mios.governance.checkers import built_in_checkers
    from mios.governance.review import Reviewer
    from mios.governance.review_context import ReviewContext

    _, action = _request_and_action(session, request_id)
    if action.content is None:
        raise DomainError(f"action {action.id} has no copy to edit")
    content = replace(action.content, body=body, subject=subject or action.content.subject)
    snapshot = session.snapshot
    workspace = snapshot.workspace
    context = ReviewContext(workspace, snapshot.customers(), snapshot.ledger, utc_now())
    return session.command.edit(
        request_id,
        session.token,
        Reviewer(workspace, built_in_checkers()),
        context,
        risk=_risk(latest_verdict(session, action)),
        content=content,
    )


def _request_and_action(
    session: GovernanceSession, request_id: str
) -> tuple[ApprovalRequest, Action]:
    from mios.errors import DomainError

    store = session.governance.store
    request = store.request(request_id)
    if request is None:
        raise DomainError(f"no approval request {request_id} (see: mios approvals list --all)")
    action = store.action(request.action_id)
    if action is None:
        raise DomainError(
            f"approval request {request_id} names action {request.action_id}, unknown"
        )
    return request, action


def _version_asked(session: GovernanceSession, request: ApprovalRequest, newest: Action) -> Action:
    """The version of the action the request asks about (same content hash), else the newest:
    after an edit, an old request still shows the copy it was made for."""
    store = session.governance.store
    for version in range(newest.version - 1, 0, -1):
        found = store.action(newest.id, version)
        if found is not None and found.content_hash() == request.content_hash:
            return found
    return newest


def latest_verdict(session: GovernanceSession, action: Action) -> AuditRecord | None:
    """The newest verdict the audit trail holds for this version of the action."""
    from mios.cli.audit import find_records

    found = None
    for record in find_records(session.governance.audit, subject=action.id, event="verdict"):
        if record.data.get("version") == action.version:
            found = record
    return found


def _risk(verdict: AuditRecord | None) -> RiskTier:
    """The risk the action was reviewed at; an edit is reviewed at the same."""
    from mios.domain.proposal import RiskTier

    return RiskTier(verdict.data["risk"]) if verdict is not None else RiskTier.MEDIUM


def _read_body(path: Path) -> str:
    from mios.errors import InputError

    try:
        body = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError.at(f"cannot read the body: {reason}", file=str(path)) from exc
    if not body.strip():
        raise InputError.at("the body is empty", file=str(path))
    return body
