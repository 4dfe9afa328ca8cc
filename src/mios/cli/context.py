"""``mios context``: show, sync, history and import the shared context."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mios.cli.output import handles_errors, print_json, progress_bar, state, stdout

if TYPE_CHECKING:
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
def sync(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Read the workspace files again and record what changed as one new version.

    Example: mios -w shop context sync
    """
    from mios.context.service import sync_workspace

    as_json = json_output or state(ctx).json
    store = _store(ctx)
    try:
        with progress_bar("Reading customers", enabled=not as_json) as update:
            record = sync_workspace(
                store, state(ctx).workspace, actor=_actor(), progress=update, parallel=True
            )
    finally:
        store.close()
    if as_json:
        print_json(
            {
                "changed": record is not None,
                "version": record and record.version,
                "parts": [] if record is None else list(record.parts),
            }
        )
    elif record is None:
        stdout.print("The context already matches the workspace files.")
    else:
        stdout.print(f"Context version {record.version}: {', '.join(record.parts)} updated.")


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
