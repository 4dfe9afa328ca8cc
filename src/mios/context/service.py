"""Handlers for the context commands: plain functions taking what they need. The CLI and the
API call these; they never build stores themselves."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mios.context.customers_csv import CsvImport, Progress, parse_workers, read_customers_csv
from mios.context.examples import EXAMPLES, write_example
from mios.context.spec import WorkspaceSpec
from mios.context.store import ChangeRecord, ContextChange, ContextSnapshot, ContextStore
from mios.context.translate import build_workspace
from mios.context.workspace_files import load_workspace
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.domain.customer_table import CustomerTable
from mios.errors import ContextError, DomainError, InputError, VersionConflict, WorkspaceError

StoreFactory = Callable[[Path], ContextStore]

#: Decides whether a change to the rules people are governed by (policy packs, the autonomy
#: matrix, the ``governance:`` settings) takes effect: given the current parts (``None`` on the
#: first load) and the proposed ones, ``True`` applies them and ``False`` keeps the current
#: ones while the rest of the files sync. Human Command answers it (an admin approves).
GovernanceGate = Callable[[Mapping[str, Any] | None, Mapping[str, Any]], bool]


def governance_parts(spec: WorkspaceSpec) -> dict[str, Any]:
    """The parts of a workspace that govern actions, as plain JSON (what a change is judged
    on: formatting and comments in the files do not count)."""
    return {
        "policies": {name: pack.model_dump(mode="json") for name, pack in spec.policies.items()},
        "autonomy": spec.config.autonomy.model_dump(mode="json"),
        "guardrails": spec.config.governance.model_dump(mode="json"),
    }


def with_governance_of(spec: WorkspaceSpec, source: WorkspaceSpec) -> WorkspaceSpec:
    """``spec`` with the policy packs, autonomy matrix and governance settings of ``source``."""
    config = spec.config.model_copy(
        update={"autonomy": source.config.autonomy, "governance": source.config.governance}
    )
    return spec.model_copy(update={"config": config, "policies": source.policies})


@dataclass(frozen=True)
class InitResult:
    root: Path
    record: ChangeRecord
    snapshot: ContextSnapshot


STAGING_PREFIX = ".mios-init-"


def init_workspace(
    root: Path,
    open_store: StoreFactory,
    *,
    actor: str,
    example: str = "retail",
    customers: int = 50_000,
    seed: int = 7,
) -> InitResult:
    """Write an example workspace into ``root`` (new, or an empty folder) and load it as
    context version 1.

    The files are built and checked in a hidden sibling folder, moved into place, and only then
    written to the context; if anything fails, what was moved is taken out again, so there is
    never a half-made workspace, and a database never holds a context whose folder is missing.
    """
    if example not in EXAMPLES:
        raise InputError.at(
            f"unknown example {example!r}; choose {' or '.join(EXAMPLES)}", field="--example"
        )
    if customers < 1:
        raise InputError.at("needs at least one customer", field="--customers")
    target = root.expanduser().resolve()  # ".", a symlink and "a/../a" all name one folder
    if target.exists():
        if not target.is_dir():
            raise WorkspaceError.at("exists and is a file; choose a folder", file=str(root))
        if any(target.iterdir()):
            raise WorkspaceError.at(
                "already exists and is not empty; choose a new folder", file=str(root)
            )
    if not target.parent.is_dir():
        raise WorkspaceError.at("the parent folder does not exist", file=str(target.parent))
    _remove_abandoned_staging(target.parent)
    try:
        staging = Path(
            tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=target.parent)
        )
        _apply_umask(staging)
    except OSError as exc:
        raise WorkspaceError.at(
            f"cannot create a folder here: {exc.strerror or exc}", file=str(target.parent)
        ) from exc
    moved = False
    try:
        write_example(staging, example, customers=customers, seed=seed)
        loaded = load_workspace(staging)
        created = not target.exists()
        _move_into_place(staging, target)
        moved = True
        store = open_store(target)
        try:
            record = store.write(
                ContextChange(
                    workspace=loaded.spec,
                    history=loaded.history,
                    customers=loaded.customers,
                    replace_customers=True,
                ),
                actor=actor,
                reason=f"mios init --example {example}",
                based_on=0,  # refuse, atomically, a database that already holds a context
            )
            snapshot = store.snapshot(record.version)
            snapshot.customers()  # load while the store is open; callers describe it later
        except VersionConflict as exc:
            raise ContextError(
                "the database already holds a context; use an empty database, or "
                "`mios context sync` to update that one"
            ) from exc
        finally:
            store.close()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if moved:
            # The target was new, or checked empty: everything in it now is ours to take back.
            _take_back(target, created)
        raise
    return InitResult(target, record, snapshot)


def _move_into_place(staging: Path, target: Path) -> None:
    """Move the built workspace to ``target``."""
    try:
        if not target.exists():
            os.replace(staging, target)  # atomic: the workspace appears whole
            return
        # An empty folder people made (perhaps their shell's current folder): fill it rather
        # than replace it, which would leave the shell in a deleted folder.
        for child in sorted(staging.iterdir()):
            os.replace(child, target / child.name)
        staging.rmdir()
    except OSError as exc:
        raise WorkspaceError.at(
            f"cannot move the workspace into place: {exc.strerror or exc}", file=str(target)
        ) from exc


def _take_back(target: Path, created: bool) -> None:
    if created:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _apply_umask(folder: Path) -> None:
    """``mkdtemp`` makes a private (0700) folder; a workspace gets the usual permissions."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)


def _remove_abandoned_staging(parent: Path) -> None:
    """Staging folders left by an ``init`` that was killed (their process is gone)."""
    for folder in parent.glob(f"{STAGING_PREFIX}*"):
        pid_text = folder.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        if pid_text.isdigit() and not _process_alive(int(pid_text)) and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sync_workspace(
    store: ContextStore,
    root: Path,
    *,
    actor: str,
    progress: Progress | None = None,
    parallel: bool = False,
    gate: GovernanceGate | None = None,
) -> ChangeRecord | None:
    """Read the workspace files again; write one new version with what differs, or ``None``
    when the context already matches them. With a ``gate``, a change to the governance parts
    takes effect only when the gate lets it; the other parts sync either way."""
    loaded = load_workspace(root, progress=progress, parallel=parallel)
    head = store.head()
    if head == 0:
        if gate is not None:
            gate(None, governance_parts(loaded.spec))  # the first rules: recorded, not held
        change = ContextChange(
            workspace=loaded.spec,
            history=loaded.history,
            customers=loaded.customers,
            replace_customers=loaded.customers is not None,
        )
        return store.write(change, actor=actor, reason="load workspace files", based_on=0)
    current = store.snapshot(head)
    spec = _gated(loaded.spec, current.spec, gate)
    customers_differ = loaded.customers is not None and not loaded.customers.equals(
        current.customers()
    )
    change = ContextChange(
        workspace=None if spec == current.spec else spec,
        history=None if loaded.history == current.history else loaded.history,
        customers=loaded.customers if customers_differ else None,
        replace_customers=customers_differ,
    )
    if not change.parts:
        return None
    return store.write(change, actor=actor, reason="sync workspace files", based_on=head)


def _gated(
    proposed: WorkspaceSpec, current: WorkspaceSpec, gate: GovernanceGate | None
) -> WorkspaceSpec:
    """What to store: the files as they are, or, while a governance change waits, the files
    with the current governance parts."""
    before, after = governance_parts(current), governance_parts(proposed)
    if gate is None or before == after or gate(before, after):
        return proposed
    held = with_governance_of(proposed, current)
    try:
        build_workspace(held)
    except DomainError as exc:
        raise WorkspaceError(
            "the workspace files cannot take effect while their governance change waits for "
            f"an admin's approval ({exc}); approve the change, or change the files back"
        ) from exc
    return held


def import_customers(
    store: ContextStore,
    path: Path,
    *,
    actor: str,
    skip_invalid: bool = False,
    replace: bool = False,
    read_progress: Progress | None = None,
    write_progress: Progress | None = None,
    parallel: bool = False,
) -> tuple[CsvImport, ChangeRecord | None]:
    """Validate the whole file first; only then write it as one new version."""
    head = store.head()
    if head == 0:
        raise ContextError("the context is empty; run `mios init` or `mios context sync` first")
    result = read_customers_csv(
        path,
        skip_invalid=skip_invalid,
        progress=read_progress,
        workers=parse_workers(path) if parallel else 1,
    )
    if len(result.table) == 0:
        return result, None
    _check_segments_after(store.snapshot(head), result.table, replace, path)
    change = ContextChange(customers=result.table, replace_customers=replace)
    reason = f"import customers from {path.name}" + (" (replace)" if replace else "")
    record = store.write(change, actor=actor, reason=reason, based_on=head, progress=write_progress)
    return result, record


def _check_segments_after(
    snapshot: ContextSnapshot, incoming: CustomerTable, replace: bool, path: Path
) -> None:
    """Refuse an import after which a segment of the workspace could no longer be evaluated
    (a column it names is gone, or turned from numbers into text)."""
    after = incoming if replace else snapshot.customers().upsert(incoming)
    for segment in snapshot.workspace.segments:
        try:
            segment.mask(after)
        except DomainError as exc:
            raise InputError.at(
                f"after this import, segment {segment.id!r} could not be evaluated ({exc}); "
                "nothing was imported",
                file=str(path),
            ) from exc


def describe(snapshot: ContextSnapshot, now: datetime) -> dict[str, Any]:
    """What ``mios context show`` prints: the workspace, and figures computed from the data."""
    workspace = snapshot.workspace
    table = snapshot.customers()
    n = len(table)
    regions = (
        {
            str(name): int(count)
            for name, count in zip(
                *np.unique(table.region.strings(), return_counts=True), strict=True
            )
        }
        if n
        else {}
    )
    granted = CONSENT_CODES.index(ConsentStatus.GRANTED)
    consent = {
        str(channel): round(float(np.mean(table.consent_status[:, j] == granted)), 4) if n else 0.0
        for j, channel in enumerate(CONSENT_CHANNELS)
    }
    positions = []
    for budget in workspace.budgets:
        position = snapshot.ledger.position(budget.channel, now)
        positions.append(
            {
                "channel": str(budget.channel),
                "period": str(budget.period),
                "budget": str(position.budget.amount),
                "committed": str(position.committed.amount),
                "spent": str(position.spent.amount),
                "available": str(position.available.amount),
                "currency": budget.amount.currency,
            }
        )
    span = snapshot.history.span
    return {
        "version": snapshot.version,
        "workspace": snapshot.spec.model_dump(mode="json"),
        "customers": {
            "count": n,
            "regions": regions,
            "consent_granted_share": consent,
            "suppressed": int(np.count_nonzero(table.suppressed)),
            "attributes": list(table.attribute_names),
        },
        "segments": {s.id: s.size(table) for s in workspace.segments},
        "budgets": positions,
        "history": {
            "weeks": len({w.week for w in snapshot.history.weeks}),
            "channels": [str(c) for c in snapshot.history.channels],
            "first_week": None if span is None else span[0].isoformat(),
            "last_week": None if span is None else span[1].isoformat(),
        },
        "learnings": len(snapshot.learnings),
        "policies": sum(len(p.rules) for p in workspace.policies),
        "playbooks": [p.name for p in workspace.playbooks],
    }
