"""The shared context: one versioned truth that every agent, the brain and people read.

A ``ContextStore`` holds a chain of versions. Each write (a ``ContextChange``) makes exactly
one new version and records who or what made it (``ChangeRecord``). ``snapshot(v)`` returns an
immutable ``ContextSnapshot`` of exactly what was true at version ``v``, forever.

Parts of the context:

    workspace   what people author (brand, goals, budgets, channels, segments, offers,
                policies, playbooks), stored as the validated ``WorkspaceSpec``
    customers   every customer, read as a columnar ``CustomerTable``
    history     weekly channel performance
    ledger      budget commitments and spend, append-only
    learnings   insights, the latest state of each by id
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from mios.context.spec import WorkspaceSpec
from mios.context.translate import build_workspace
from mios.domain.budget import BudgetLedger, LedgerEntry
from mios.domain.customer_table import CustomerTable
from mios.domain.history import ChannelHistory
from mios.domain.outcome import Learning
from mios.domain.workspace import Workspace
from mios.errors import ContextError, DomainError, UnknownVersion, VersionConflict

Progress = Callable[[int, int], None]
PARTS = ("workspace", "customers", "history", "ledger", "learnings")


@dataclass(frozen=True)
class ChangeRecord:
    version: int
    at: datetime
    actor: str
    reason: str
    parts: tuple[str, ...]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContextChange:
    """One write. ``customers`` rows are upserted by id (or, with ``replace_customers``, become
    the whole customer set); ``remove_customers`` ids must exist."""

    workspace: WorkspaceSpec | None = None
    history: ChannelHistory | None = None
    customers: CustomerTable | None = None
    replace_customers: bool = False
    remove_customers: tuple[str, ...] = ()
    ledger_entries: tuple[LedgerEntry, ...] = ()
    learnings: tuple[Learning, ...] = ()

    @property
    def parts(self) -> tuple[str, ...]:
        touched = {
            "workspace": self.workspace is not None,
            "customers": self.customers is not None or bool(self.remove_customers),
            "history": self.history is not None,
            "ledger": bool(self.ledger_entries),
            "learnings": bool(self.learnings),
        }
        return tuple(part for part in PARTS if touched[part])

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.customers is not None:
            key = "customers_replaced" if self.replace_customers else "customers_upserted"
            out[key] = len(self.customers)
        if self.remove_customers:
            out["customers_removed"] = len(self.remove_customers)
        if self.history is not None:
            out["history_weeks"] = len(self.history.weeks)
        if self.ledger_entries:
            out["ledger_entries"] = len(self.ledger_entries)
        if self.learnings:
            out["learnings"] = len(self.learnings)
        return out


@dataclass(frozen=True, eq=False)
class ContextSnapshot:
    """What was true at one version. Customers load on first use and are then kept."""

    version: int
    spec: WorkspaceSpec
    history: ChannelHistory
    ledger_entries: tuple[LedgerEntry, ...]
    learnings: tuple[Learning, ...]
    customer_count: int
    load_customers: Callable[[], CustomerTable] = field(repr=False)

    @cached_property
    def workspace(self) -> Workspace:
        return build_workspace(self.spec)

    @cached_property
    def ledger(self) -> BudgetLedger:
        return BudgetLedger(self.workspace.empty_ledger().budgets, self.ledger_entries)

    @cached_property
    def _customers(self) -> CustomerTable:
        return self.load_customers()

    def customers(self) -> CustomerTable:
        return self._customers


class ContextStore(Protocol):
    """The port. Implementations: ``InMemoryContextStore`` (tests, one process) and
    ``mios.persistence.SqlContextStore`` (SQLite or PostgreSQL)."""

    def head(self) -> int:
        """The newest version; ``0`` for an empty store."""
        ...

    def snapshot(self, version: int | None = None) -> ContextSnapshot:
        """Exactly what was true at ``version`` (default: the head)."""
        ...

    def write(
        self,
        change: ContextChange,
        *,
        actor: str,
        reason: str,
        based_on: int | None = None,
        progress: Progress | None = None,
    ) -> ChangeRecord:
        """Apply ``change`` as one new version. With ``based_on``, refuse (``VersionConflict``)
        if the head has moved past it since the caller read it. ``progress`` hears
        (customers written, customers to write) on large writes."""
        ...

    def changes(self, limit: int | None = None) -> list[ChangeRecord]:
        """Change records, newest first."""
        ...

    def close(self) -> None: ...


def check_write(
    head: int, change: ContextChange, actor: str, reason: str, based_on: int | None
) -> None:
    """Rules every implementation enforces before it writes anything."""
    if not actor.strip():
        raise ContextError("every change names its actor")
    if not reason.strip():
        raise ContextError("every change gives a reason")
    if not change.parts:
        raise ContextError("an empty change would make a version that changes nothing")
    if based_on is not None and based_on != head:
        raise VersionConflict(
            f"the change was based on version {based_on}, but the context is at {head}"
        )
    if head == 0 and change.workspace is None:
        raise ContextError("the first version of a context must include the workspace")
    if change.replace_customers and change.customers is None:
        raise ContextError("replace_customers needs the customers that replace them")
    if change.customers is not None:
        duplicates = change.customers.duplicate_ids()
        if len(duplicates):
            raise DomainError(f"duplicate customer id {str(duplicates[0])!r} in the change")
        both = change.customers.positions(list(change.remove_customers)) >= 0
        if both.any():
            first = change.remove_customers[int(np.flatnonzero(both)[0])]
            raise DomainError(f"customer {first!r} is both changed and removed in one change")
    if change.workspace is not None:
        build_workspace(change.workspace)  # the domain's own checks must pass before it is stored


def resolve_version(version: int | None, head: int) -> int:
    """The version a snapshot call means: the head by default; an existing one otherwise."""
    if version is None:
        if head == 0:
            raise ContextError(
                "the context is empty; load the workspace files with: mios context sync"
            )
        return head
    check_version(version, head)
    return version


def check_version(version: int, head: int) -> None:
    if not 1 <= version <= head:
        span = f"1..{head}" if head else "none yet"
        raise UnknownVersion(f"no context version {version} (versions: {span})")


def apply_customers(
    current: CustomerTable, change: ContextChange
) -> tuple[CustomerTable, Sequence[str]]:
    """The customer set after ``change``; also the removed ids, which must all exist."""
    table = current
    if change.customers is not None:
        table = change.customers if change.replace_customers else table.upsert(change.customers)
    removed = list(change.remove_customers)
    if removed:
        missing = table.positions(removed) < 0
        if missing.any():
            unknown = [r for r, m in zip(removed, missing, strict=True) if m]
            raise DomainError(f"cannot remove unknown customer id {unknown[0]!r}")
        table = table.without(removed)
    return table, removed


def latest_learnings(items: Sequence[Learning]) -> tuple[Learning, ...]:
    """The newest state of every learning id, in first-seen order."""
    latest: dict[str, Learning] = {}
    for item in items:
        latest[item.id] = item
    return tuple(latest.values())
