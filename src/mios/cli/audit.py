"""``mios audit``: verify the hash chain, export it, read it. Reading the trail needs a role
allowed ``read_audit`` (admin, legal, analyst); the token is read from MIOS_TOKEN."""

from __future__ import annotations

import os
import sys
import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from mios.cli.governance_session import governance_session
from mios.cli.output import EXIT_FAILURE, handles_errors, print_json, state, stderr, stdout

if TYPE_CHECKING:
    from mios.domain.audit import AuditRecord
    from mios.governance.audit import AuditLog

audit_app = typer.Typer(
    help="Verify, export and read the tamper-evident audit trail.\n\n"
    "Example:\n\n    mios -w shop audit verify --head 1042:5f1c...",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@audit_app.command("verify")
@handles_errors
def verify(
    ctx: typer.Context,
    head: Annotated[
        str | None,
        typer.Option("--head", help="SEQ:HASH printed by an earlier verify and kept elsewhere."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Check every record's hash and link. Exit 0 when intact; exit 1 naming the first record
    that was changed, removed, inserted or reordered.

    Without --head, dropping the newest records cannot be seen; keep the head this prints
    somewhere else and pass it next time.

    Example: mios -w shop audit verify --head 1042:5f1c0a...
    """
    from mios.governance.audit import verify_log
    from mios.governance.people import Operation

    known = _parse_head(head)
    as_json = json_output or state(ctx).json
    with governance_session(ctx) as session:
        session.caller(Operation.READ_AUDIT)
        log = session.governance.audit
        # Read before verifying: every record up to this head is then covered by the check.
        seq, digest = log.head()
        with stderr.status("Verifying the audit trail ..."):
            result = verify_log(log, known)
    current = f"{seq}:{digest}"
    if as_json:
        print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "first_bad_seq": result.first_bad_seq,
                "reason": result.reason,
                "head": current,
            }
        )
    elif result.ok:
        stdout.print(Text(str(result)))
        stdout.print(Text(f"head: {current}"))
        stdout.print("Keep the head elsewhere; pass it as --head to catch dropped records.")
    else:
        stderr.print(Text.assemble(("error: ", "bold red"), str(result)))
    if not result.ok:
        raise typer.Exit(EXIT_FAILURE)


@audit_app.command("export")
@handles_errors
def export(
    ctx: typer.Context,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="JSON lines, hashes included.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="A file (default: standard output).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Export every record as canonical JSON lines, as stored, so the file verifies away from
    the database. A file is written whole or not at all.

    Example: mios -w shop audit export --jsonl --output audit-2026-11.jsonl
    """
    from mios.errors import InputError
    from mios.governance.audit import export_jsonl
    from mios.governance.people import Operation

    if not jsonl:
        raise InputError.at("name the format: --jsonl (the one format there is)", field="--jsonl")
    with governance_session(ctx) as session:
        session.caller(Operation.READ_AUDIT)
        log = session.governance.audit
        if output is None:
            export_jsonl(log, sys.stdout)
            return
        count = _export_to_file(log, output)
    if json_output or state(ctx).json:
        print_json({"records": count, "output": str(output)})
    else:
        stdout.print(Text(f"Exported {count:,} audit records to {output}."))


@audit_app.command("show")
@handles_errors
def show(
    ctx: typer.Context,
    last: Annotated[int, typer.Option("--last", min=1, help="How many records.")] = 20,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Only this subject (an action, a request).")
    ] = None,
    event: Annotated[
        str | None,
        typer.Option("--event", help="Only this event, or a family: 'approval' for approval.*"),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Show the newest audit records, oldest of them first.

    Example: mios -w shop audit show --last 50 --event approval
    """
    from mios.governance.people import Operation

    with governance_session(ctx) as session:
        session.caller(Operation.READ_AUDIT)
        records = deque(
            find_records(session.governance.audit, subject=subject, event=event), maxlen=last
        )
    if json_output or state(ctx).json:
        print_json([_record_json(r) for r in records])
        return
    table = Table()
    table.add_column("seq", no_wrap=True, justify="right")
    table.add_column("at (UTC)", no_wrap=True)
    for column in ("actor", "role", "event", "subject"):
        table.add_column(column, overflow="fold")
    table.add_column("reason", min_width=12)
    for r in records:
        table.add_row(
            str(r.seq),
            f"{r.at:%Y-%m-%d %H:%M:%S}",
            Text(r.actor_id),
            Text(r.actor_role or ""),
            Text(r.event),
            Text(r.subject),
            Text(r.reason or ""),
        )
    stdout.print(table)


def find_records(
    log: AuditLog, *, subject: str | None = None, event: str | None = None
) -> Iterator[AuditRecord]:
    """Records in seq order whose subject is ``subject`` and whose event is ``event`` or in its
    family (``approval`` matches ``approval.requested``). Rows are matched on their stored
    text and only matches are decoded, so a search over a long trail stays fast."""
    from mios.errors import DomainError, StorageError
    from mios.governance.audit import SealedAuditLog, SealedRecord

    rows = log.sealed() if isinstance(log, SealedAuditLog) else map(SealedRecord.of, log.records())
    for row in rows:
        if subject is not None and row.subject != subject:
            continue
        if event is not None and not (row.event == event or row.event.startswith(event + ".")):
            continue
        try:
            record = row.record()
        except (ValueError, DomainError) as exc:
            raise StorageError(
                f"audit record {row.seq} cannot be read ({exc}); run: mios audit verify"
            ) from exc
        yield record


def _parse_head(text: str | None) -> tuple[int, str] | None:
    from mios.errors import InputError

    if text is None:
        return None
    seq, _, digest = text.partition(":")
    if not (seq.isdigit() and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise InputError.at(
            f"expected SEQ:HASH (a number, a colon, 64 hex digits), got {text!r}", field="--head"
        )
    return int(seq), digest


def _export_to_file(log: AuditLog, output: Path) -> int:
    """Write to a temporary file beside ``output`` and rename it into place, so a crash or a
    full disk leaves the old file, or none, never half an export."""
    from mios.errors import InputError
    from mios.governance.audit import export_jsonl

    try:
        descriptor, name = tempfile.mkstemp(
            prefix=f".{output.name}.", suffix=".partial", dir=output.parent
        )
    except OSError as exc:
        raise InputError.at(f"cannot write here: {exc.strerror or exc}", file=str(output)) from exc
    partial = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            count = export_jsonl(log, handle)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(output)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError.at(
                f"cannot write the export: {exc.strerror or exc}", file=str(output)
            ) from exc
        raise
    return count


def _record_json(record: AuditRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": record.at.isoformat(),
        "actor": record.actor_id,
        "role": record.actor_role,
        "event": record.event,
        "subject": record.subject,
        "reason": record.reason,
        "data": record.data,
        "hash": record.hash,
    }
