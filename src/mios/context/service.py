"""Handlers for the context commands: plain functions taking what they need. The CLI and the
API call these; they never build stores themselves."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from mios.context.customers_csv import CsvImport, Progress, parse_workers, read_customers_csv
from mios.context.examples import EXAMPLES, write_example
from mios.context.store import ChangeRecord, ContextChange, ContextSnapshot, ContextStore
from mios.context.workspace_files import load_workspace
from mios.domain.channel import CONSENT_CHANNELS
from mios.domain.customer import CONSENT_CODES, ConsentStatus
from mios.errors import ContextError, InputError, WorkspaceError

StoreFactory = Callable[[Path], ContextStore]


@dataclass(frozen=True)
class InitResult:
    root: Path
    record: ChangeRecord
    snapshot: ContextSnapshot


def init_workspace(
    root: Path,
    open_store: StoreFactory,
    *,
    actor: str,
    example: str = "retail",
    customers: int = 50_000,
    seed: int = 7,
) -> InitResult:
    """Write an example workspace into ``root`` and load it as context version 1.

    Everything is built in a hidden sibling folder and moved into place only when the files
    loaded and the context was written, so a failure leaves no half-made workspace.
    """
    if example not in EXAMPLES:
        raise InputError.at(
            f"unknown example {example!r}; choose {' or '.join(EXAMPLES)}", field="--example"
        )
    if customers < 1:
        raise InputError.at("needs at least one customer", field="--customers")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise WorkspaceError.at(
            "already exists and is not empty; choose a new folder", file=str(root)
        )
    parent = root.resolve().parent
    if not parent.is_dir():
        raise WorkspaceError.at("the parent folder does not exist", file=str(parent))
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=parent))
    try:
        write_example(staging, example, customers=customers, seed=seed)
        loaded = load_workspace(staging)
        store = open_store(staging)
        try:
            if store.head():
                raise ContextError(
                    f"the database already holds a context (version {store.head()}); "
                    "use an empty database, or `mios context sync` to update it"
                )
            record = store.write(
                ContextChange(
                    workspace=loaded.spec,
                    history=loaded.history,
                    customers=loaded.customers,
                    replace_customers=True,
                ),
                actor=actor,
                reason=f"mios init --example {example}",
            )
        finally:
            store.close()
        if root.exists():
            root.rmdir()  # checked empty above; os.replace needs the name free
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    reopened = open_store(root)
    try:
        snapshot = reopened.snapshot(record.version)
        snapshot.customers()  # load while the store is open; callers describe it afterwards
        return InitResult(root, record, snapshot)
    finally:
        reopened.close()


def sync_workspace(
    store: ContextStore,
    root: Path,
    *,
    actor: str,
    progress: Progress | None = None,
    parallel: bool = False,
) -> ChangeRecord | None:
    """Read the workspace files again; write one new version with what differs, or ``None``
    when the context already matches them."""
    loaded = load_workspace(root, progress=progress, parallel=parallel)
    head = store.head()
    if head == 0:
        change = ContextChange(
            workspace=loaded.spec,
            history=loaded.history,
            customers=loaded.customers,
            replace_customers=loaded.customers is not None,
        )
        return store.write(change, actor=actor, reason="load workspace files", based_on=0)
    current = store.snapshot(head)
    customers_differ = loaded.customers is not None and not loaded.customers.equals(
        current.customers()
    )
    change = ContextChange(
        workspace=None if loaded.spec == current.spec else loaded.spec,
        history=None if loaded.history == current.history else loaded.history,
        customers=loaded.customers if customers_differ else None,
        replace_customers=customers_differ,
    )
    if not change.parts:
        return None
    return store.write(change, actor=actor, reason="sync workspace files", based_on=head)


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
    change = ContextChange(customers=result.table, replace_customers=replace)
    reason = f"import customers from {path.name}" + (" (replace)" if replace else "")
    record = store.write(change, actor=actor, reason=reason, based_on=head, progress=write_progress)
    return result, record


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
