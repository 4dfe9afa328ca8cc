"""``mios context``: show, sync, history and import the shared context."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mios.cli.output import handles_errors, print_json, progress_bar, state, stdout

if TYPE_CHECKING:
    from mios.context.store import ChangeRecord
    from mios.governance.changes import GovernanceChange
    from mios.persistence.context_store import SqlContextStore

context_app = typer.Typer(
    help="Read and change the shared context.\n\nExample:\n\n    mios -w shop context show",
    no_args_is_help=True,
    rich_markup_mode=None,
)
import_app = typer.Typer(
    help="Import data into the context.\n\n"
    "Example:\n\n    mios -w shop context import customers customers.csv",
    no_args_is_help=True,
    rich_markup_mode=None,
)
context_app.add_typer(import_app, name="import")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _store(ctx: typer.Context, *, reading: bool = False) -> SqlContextStore:
    """The workspace's store. Commands that only read never create a database."""
    from mios.bootstrap import open_context_store, settings_from_environment
    from mios.config import DATA_DIR, DATABASE_FILE
    from mios.errors import WorkspaceError

    workspace = state(ctx).workspace
    settings = settings_from_environment()
    if settings.uses_workspace_file():
        if not (workspace / "mios.yaml").is_file():
            raise WorkspaceError.at(
                f"no workspace here (no mios.yaml); create one with: mios init {workspace}",
                file=str(workspace),
            )
        if reading and not (workspace / DATA_DIR / DATABASE_FILE).is_file():
            raise WorkspaceError.at(
                f"this workspace has no context yet; load it with: mios -w {workspace} "
                "context sync",
                file=str(workspace),
            )
    return open_context_store(workspace, settings)


def _actor() -> str:
    from mios.cli.app import actor

    return actor()


@context_app.command("show")
@handles_errors
def show(
    ctx: typer.Context,
    version: Annotated[
        int | None, typer.Option("--version", "-v", help="A past version (default: newest).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Show the shared context: workspace, customers, segments, budgets, history.

    Example: mios -w shop context show --version 1 --json
    """
    from mios.bootstrap import utc_now
    from mios.cli.render import render_context
    from mios.context.service import describe
    from mios.errors import InputError

    store = _store(ctx, reading=True)
    try:
        head = store.head()
        if version is not None and not 1 <= version <= head:
            raise InputError.at(
                f"no context version {version} (versions: 1..{head})", field="--version"
            )
        snapshot = store.snapshot(version)
        summary = describe(snapshot, utc_now())
        record = next(r for r in store.changes() if r.version == snapshot.version)
    finally:
        store.close()
    if json_output or state(ctx).json:
        print_json(summary)
    else:
        render_context(summary, record)


@context_app.command("sync")
@handles_errors
def sync(
    ctx: typer.Context,
    ask_again: Annotated[
        bool,
        typer.Option(
            "--ask-again",
            help="Ask the admins again for a change of policies or autonomy they rejected.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Read the workspace files again and record what changed as one new version.

    A change to policies/, to autonomy: or to governance: takes effect only once an admin
    approves it (mios approvals approve ...); until then the rest of the files sync and the
    current rules stay. Before any admin is enrolled, changes take effect and are audited.

    Example: mios -w shop context sync
    """
    as_json = json_output or state(ctx).json
    record, change = sync_files(ctx, ask_again=ask_again, progress=not as_json)
    if as_json:
        print_json(
            {
                "changed": record is not None,
                "version": record and record.version,
                "parts": [] if record is None else list(record.parts),
                "governance": None if change is None else governance_change_json(change),
            }
        )
        return
    if record is None:
        stdout.print("The context already matches the workspace files.")
    else:
        stdout.print(f"Context version {record.version}: {', '.join(record.parts)} updated.")
    if change is not None:
        print_governance_change(change)


def sync_files(
    ctx: typer.Context, *, ask_again: bool = False, progress: bool = False
) -> tuple[ChangeRecord | None, GovernanceChange | None]:
    """Sync the workspace files, with Human Command judging any change of the rules."""
    from mios.bootstrap import human_command, open_governance, settings_from_environment
    from mios.context.service import sync_workspace
    from mios.domain.guardrails import Guardrails

    workspace = state(ctx).workspace
    store = _store(ctx)
    governance = open_governance(workspace, settings_from_environment())
    outcome: list[GovernanceChange] = []
    try:
        head = store.head()
        current = store.snapshot(head).workspace.guardrails if head else Guardrails()
        command = human_command(governance, current)

        def gate(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
            change = command.admit_governance_change(
                _actor(), before, after, head + 1, ask_again=ask_again
            )
            outcome.append(change)
            return change.takes_effect

        with progress_bar("Reading customers", enabled=progress) as update:
            record = sync_workspace(
                store, workspace, actor=_actor(), progress=update, parallel=True, gate=gate
            )
    finally:
        governance.close()
        store.close()
    return record, (outcome[-1] if outcome else None)


def governance_change_json(change: GovernanceChange) -> dict[str, Any]:
    request = change.request
    return {
        "outcome": change.outcome,
        "action": change.action_id,
        "changes": list(change.changes),
        "request": None if request is None else request.id,
        "content_hash": None if request is None else request.content_hash,
    }


def print_governance_change(change: GovernanceChange) -> None:
    from rich.text import Text

    request = change.request
    what = "; ".join(change.changes) or "the first policies, autonomy and governance settings"
    if change.outcome == "loaded":
        stdout.print(Text(f"Governance rules loaded and recorded in the audit trail: {what}."))
    elif change.outcome == "applied":
        stdout.print(Text(f"Governance change applied, as approved: {what}."))
    elif change.outcome == "awaiting" and request is not None:
        stdout.print(
            Text(
                f"Governance change awaits an admin ({request.id}): {what}. The current rules "
                f"stay until: mios approvals approve {request.id} --role admin "
                f"--hash {request.content_hash[:12]}"
            )
        )
    else:
        stdout.print(
            Text(
                f"Governance change refused earlier ({change.action_id}): {what}. The current "
                "rules stay; change the files, or ask again with: mios context sync --ask-again"
            )
        )


@context_app.command("history")
@handles_errors
def history(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many changes.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """List the context's versions, newest first: when, who, why and what changed.

    Example: mios -w shop context history --limit 5
    """
    from mios.cli.render import render_history

    store = _store(ctx, reading=True)
    try:
        records = store.changes(limit)
    finally:
        store.close()
    if json_output or state(ctx).json:
        print_json(
            [
                {
                    "version": r.version,
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "reason": r.reason,
                    "parts": list(r.parts),
                    "summary": r.summary,
                }
                for r in records
            ]
        )
    else:
        render_history(records)


@import_app.command("customers")
@handles_errors
def import_customers(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A customers CSV (see docs/workspace.md).")],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows; report the rest.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="The file becomes the whole customer set.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Import customers from a CSV as one new context version (upsert by customer_id).

    Every row is checked first; any invalid row (named by its line) stops the import and
    nothing is written, unless --skip-invalid.

    Example: mios -w shop context import customers new_customers.csv --skip-invalid
    """
    from mios.context.service import import_customers as run_import

    as_json = json_output or state(ctx).json
    store = _store(ctx)
    try:
        with (
            progress_bar("Checking rows", enabled=not as_json) as read_update,
            progress_bar("Writing customers", enabled=not as_json) as write_update,
        ):
            result, record = run_import(
                store,
                file,
                actor=_actor(),
                skip_invalid=skip_invalid,
                replace=replace,
                read_progress=read_update,
                write_progress=write_update,
                parallel=True,  # the mios command's __main__ is guarded, so workers may spawn
            )
    finally:
        store.close()
    imported = len(result.table)
    if as_json:
        print_json(
            {
                "imported": imported,
                "skipped": result.rows_skipped,
                "version": None if record is None else record.version,
                "problems": [str(p) for p in result.problems],
            }
        )
        return
    for problem in result.problems[:20]:
        stdout.print(f"skipped {problem}", markup=False)
    if result.problem_count > 20:
        stdout.print(f"... and {result.problem_count - 20} more problems", markup=False)
    if record is None:
        stdout.print("No valid customers in the file; nothing was written.")
    else:
        stdout.print(
            f"Imported {imported:,} customers ({result.rows_skipped:,} rows skipped) "
            f"as context version {record.version}."
        )
