"""An in-memory ``ContextStore``: versions share unchanged parts, so a write costs its change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from mios.context.spec import WorkspaceSpec
from mios.context.store import (
    ChangeRecord,
    ContextChange,
    ContextSnapshot,
    Progress,
    apply_customers,
    check_write,
    latest_learnings,
    resolve_version,
)
from mios.domain.budget import LedgerEntry
from mios.domain.customer_table import CustomerTable
from mios.domain.history import ChannelHistory
from mios.domain.outcome import Learning


@dataclass(frozen=True)
class _Version:
    record: ChangeRecord
    spec: WorkspaceSpec
    history: ChannelHistory
    customers: CustomerTable
    ledger: tuple[LedgerEntry, ...]
    learnings: tuple[Learning, ...]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InMemoryContextStore:
    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock
        self._versions: list[_Version] = []
        self._lock = threading.Lock()

    def head(self) -> int:
        return len(self._versions)

    def snapshot(self, version: int | None = None) -> ContextSnapshot:
        head = self.head()
        version = resolve_version(version, head)
        v = self._versions[version - 1]
        customers = v.customers
        return ContextSnapshot(
            version=version,
            spec=v.spec,
            history=v.history,
            ledger_entries=v.ledger,
            learnings=latest_learnings(v.learnings),
            customer_count=len(customers),
            load_customers=lambda: customers,
        )

    def write(
        self,
        change: ContextChange,
        *,
        actor: str,
        reason: str,
        based_on: int | None = None,
        progress: Progress | None = None,
    ) -> ChangeRecord:
        with self._lock:
            head = self.head()
            check_write(head, change, actor, reason, based_on)
            previous = self._versions[-1] if self._versions else None
            customers, _ = apply_customers(
                previous.customers if previous else CustomerTable.empty(), change
            )
            spec = change.workspace or (previous.spec if previous else None)
            assert spec is not None  # check_write demands a workspace in the first version
            record = ChangeRecord(
                version=head + 1,
                at=self._clock(),
                actor=actor,
                reason=reason,
                parts=change.parts,
                summary=change.summary(),
            )
            self._versions.append(
                _Version(
                    record=record,
                    spec=spec,
                    history=change.history or (previous.history if previous else ChannelHistory()),
                    customers=customers,
                    ledger=(*(previous.ledger if previous else ()), *change.ledger_entries),
                    learnings=(*(previous.learnings if previous else ()), *change.learnings),
                )
            )
            if progress and change.customers is not None:
                progress(len(change.customers), len(change.customers))
            return record

    def changes(self, limit: int | None = None) -> list[ChangeRecord]:
        records = [v.record for v in reversed(self._versions)]
        return records if limit is None else records[:limit]

    def close(self) -> None:
        """Nothing to release; present so every store closes the same way."""
